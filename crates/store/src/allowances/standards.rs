//! Standards: versions of an amount per month for a type at a division (a reference table:
//! small, read by every county's roll).

use weibao_domain::access::{Action, Scope};
use weibao_domain::allowances::standards::NewStandardRefused;
use weibao_domain::allowances::{Amount, Standard, StandardBook};
use weibao_domain::{DivisionCode, Fen, Invalid, Month};

use super::{month_of, StoredStandard};
use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// A standard to add: a fixed amount or a share of another type's standard.
#[derive(Debug, Clone)]
pub struct NewStandard {
    pub type_code: String,
    pub division: DivisionCode,
    pub amount: Option<Fen>,
    pub follows_type: Option<String>,
    /// Default 100.
    pub follows_percent: Option<u32>,
    pub from: Month,
    pub to: Option<Month>,
    pub note: String,
}

#[derive(sqlx::FromRow)]
struct StandardRow {
    id: String,
    type_code: String,
    division_code: String,
    from_month: String,
    to_month: Option<String>,
    amount_fen: Option<i64>,
    follows_type: Option<String>,
    follows_percent: Option<i32>,
    note: String,
    created_at: i64,
    created_by: String,
}

impl StandardRow {
    fn stored(self) -> Option<StoredStandard> {
        Some(StoredStandard {
            division: DivisionCode::parse(&self.division_code).ok()?,
            from: month_of(Some(&self.from_month))?,
            to: month_of(self.to_month.as_deref()),
            amount: self.amount_fen.map(Fen),
            follows_type: self.follows_type,
            follows_percent: self.follows_percent.map(|p| p.max(0) as u32),
            id: self.id,
            type_code: self.type_code,
            note: self.note,
            created_at: self.created_at,
            created_by: self.created_by,
        })
    }
}

impl StoredStandard {
    pub fn standard(&self) -> Standard {
        Standard {
            id: self.id.clone(),
            type_code: self.type_code.clone(),
            division: self.division,
            from: self.from,
            to: self.to,
            amount: match (&self.follows_type, self.amount) {
                (Some(t), _) => Amount::Follows {
                    type_code: t.clone(),
                    percent: self.follows_percent.unwrap_or(100),
                },
                (None, a) => Amount::Fixed(a.unwrap_or_default()),
            },
        }
    }
}

const STANDARD_COLUMNS: &str = "id, type_code, division_code, from_month, to_month, amount_fen, \
     follows_type, follows_percent, note, created_at, created_by";

/// The county-code range of a division's subtree (the county itself for a county or below).
pub(crate) fn county_range(division: DivisionCode) -> (String, String) {
    let (lo, hi) = division.subtree_bounds();
    (lo[..6].to_string(), hi[..6].to_string())
}

impl Store {
    /// Every standard version (a short list: a few per type and division).
    pub(crate) async fn all_standards(&self) -> Result<Vec<StoredStandard>, StoreError> {
        let mut conn = self.read().await?;
        let rows: Vec<StandardRow> = on!(conn.conn(), |c| {
            sqlx::query_as(&format!(
            "SELECT {STANDARD_COLUMNS} FROM allowance_standards ORDER BY division_code, type_code, from_month"
        ))
        .fetch_all(&mut *c)
        .await
        })?;
        Ok(rows.into_iter().filter_map(StandardRow::stored).collect())
    }

    pub(crate) async fn standard_book(&self) -> Result<StandardBook, StoreError> {
        Ok(StandardBook::new(
            self.all_standards()
                .await?
                .iter()
                .map(StoredStandard::standard)
                .collect(),
        ))
    }

    /// The versions that apply at `division` (set there or above it) and those set below
    /// it, for a caller who may see allowances there.
    pub async fn standards_at(
        &self,
        scope: &Scope,
        division: DivisionCode,
    ) -> Result<Vec<StoredStandard>, StoreError> {
        scope.check(Action::ViewAllowances, division)?;
        Ok(self
            .all_standards()
            .await?
            .into_iter()
            .filter(|s| s.division.contains(division) || division.contains(s.division))
            .collect())
    }

    /// Adds a standard version. A version never changes a month that a locked roll has
    /// paid: it must start after the latest locked roll of every county it reaches.
    pub async fn create_standard(
        &self,
        scope: &Scope,
        new: NewStandard,
        ip: &str,
    ) -> Result<StoredStandard, StoreError> {
        scope.check(Action::ManageAllowanceStandards, new.division)?;
        if !self.division_exists(new.division).await? {
            return Err(StoreError::NotFound);
        }
        let types = self.allowance_types(Some(new.division)).await?;
        types
            .require("保障类型", &new.type_code)
            .map_err(|e| StoreError::invalid("type", e))?;
        let amount = match (new.amount, &new.follows_type) {
            (Some(fen), None) => Amount::Fixed(fen),
            (None, Some(base)) => {
                types
                    .require("参照的保障类型", base)
                    .map_err(|e| StoreError::invalid("follows_type", e))?;
                Amount::Follows {
                    type_code: base.clone(),
                    percent: new.follows_percent.unwrap_or(100),
                }
            }
            (Some(_), Some(_)) => {
                return Err(StoreError::invalid(
                    "amount_fen",
                    Invalid::new(
                        "amount_or_follows",
                        "amount_fen（固定金额）和 follows_type（参照其他标准）只能填一个",
                    ),
                ))
            }
            (None, None) => return Err(StoreError::invalid(
                "amount_fen",
                Invalid::new(
                    "amount_missing",
                    "请填写每月金额 amount_fen（单位：分），或用 follows_type 参照其他类型的标准",
                ),
            )),
        };
        if new.follows_type.is_none() && new.follows_percent.is_some() {
            return Err(StoreError::invalid(
                "follows_percent",
                Invalid::new(
                    "percent_without_follows",
                    "follows_percent 只用于参照其他标准（须同时填写 follows_type）",
                ),
            ));
        }
        let standard = Standard {
            id: uuid::Uuid::new_v4().to_string(),
            type_code: new.type_code.clone(),
            division: new.division,
            from: new.from,
            to: new.to,
            amount,
        };
        match self.standard_book().await?.check_new(&standard) {
            Ok(()) => {}
            Err(NewStandardRefused::Invalid { field, invalid }) => {
                return Err(StoreError::invalid(field, invalid))
            }
            Err(NewStandardRefused::Duplicate) => {
                return Err(StoreError::Conflict {
                    field: "from_month",
                    code: "standard_exists",
                    message: format!(
                        "该区划已有自 {} 起的{}标准：标准只增不改，请从以后的月份起设新标准",
                        new.from,
                        types.label(&new.type_code)
                    ),
                })
            }
        }
        // A locked month is never paid again: the new version starts after all of them.
        let (lo, hi) = county_range(new.division);
        let locked: Option<(Option<String>,)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT MAX(month) FROM allowance_rolls
                 WHERE status = 'locked' AND county_code BETWEEN $1 AND $2"
            )
            .bind(&lo)
            .bind(&hi)
            .fetch_optional(&mut *c)
            .await)?
        };
        if let Some(last) = month_of(locked.and_then(|(m,)| m).as_deref()) {
            if new.from <= last {
                return Err(StoreError::Conflict {
                    field: "from_month",
                    code: "month_locked",
                    message: format!(
                        "{last} 的发放名册已锁定：新标准不能改写已发放的月份，请从 {} 起执行；已发月份的差额请在以后的名册中以调整行补发",
                        last.next()
                    ),
                });
            }
        }
        let now = self.now_ms();
        let (amount_fen, follows_type, follows_percent) = match &standard.amount {
            Amount::Fixed(f) => (Some(f.0), None, None),
            Amount::Follows { type_code, percent } => {
                (None, Some(type_code.clone()), Some(*percent as i32))
            }
        };
        let note = weibao_domain::allowances::parse_text("说明", &new.note, false)
            .map_err(|e| StoreError::invalid("note", e))?;
        let mut tx = self.begin().await?;
        let inserted = on!(tx.conn(), |c| {
            sqlx::query(
            "INSERT INTO allowance_standards (id, type_code, division_code, from_month, to_month,
                 amount_fen, follows_type, follows_percent, note, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
        )
        .bind(&standard.id)
        .bind(&standard.type_code)
        .bind(standard.division.full())
        .bind(standard.from.to_string())
        .bind(standard.to.map(|m| m.to_string()))
        .bind(amount_fen)
        .bind(&follows_type)
        .bind(follows_percent)
        .bind(&note)
        .bind(now)
        .bind(&scope.username)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if inserted == 0 {
            return Err(StoreError::Conflict {
                field: "from_month",
                code: "standard_exists",
                message: format!(
                    "该区划已有自 {} 起的同类标准：请从以后的月份起设新标准",
                    new.from
                ),
            });
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "allowance.standard.create", &standard.id)
                .in_county(new.division.county_code())
                .from_ip(ip)
                .detail(format!(
                    "type={} division={} from={} to={} {}",
                    standard.type_code,
                    standard.division.full(),
                    standard.from,
                    standard.to.map(|m| m.to_string()).unwrap_or_default(),
                    match &standard.amount {
                        Amount::Fixed(f) => format!("amount_fen={}", f.0),
                        Amount::Follows { type_code, percent } =>
                            format!("follows={type_code}:{percent}%"),
                    }
                )),
        )
        .await?;
        tx.commit().await?;
        Ok(StoredStandard {
            id: standard.id,
            type_code: standard.type_code,
            division: standard.division,
            from: standard.from,
            to: standard.to,
            amount: amount_fen.map(Fen),
            follows_type,
            follows_percent: follows_percent.map(|p| p as u32),
            note,
            created_at: now,
            created_by: scope.username.clone(),
        })
    }
}
