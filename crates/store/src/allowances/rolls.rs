//! Monthly rolls (发放名册): generated per county and month from the confirmed cases and the
//! standards in force, reviewed with the differences from the month before, then locked
//! for good; corrections of past months are adjustment lines of a later roll. Handing a
//! case over when its child moved to another county happens here too.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::QueryBuilder;
use weibao_domain::access::{Action, Scope};
use weibao_domain::allowances::rolls::{adjustments, changes, Change};
use weibao_domain::allowances::{
    age_ending, parse_text, payable, qualifies, AllowanceRules, EndCause, Ending, Status, TypeBook,
};
use weibao_domain::record::FieldChange;
use weibao_domain::{DivisionCode, Fen, Invalid, Level, Month};

use super::cases::{changed_meanwhile, insert_step};
use super::{account_aad, beijing_date, date_of, id_number_aad, month_of, standing};
use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;

/// A roll, as its pages and the API show it (its lines are paged apart).
#[derive(Debug, Clone, Serialize)]
pub struct StoredRoll {
    pub id: String,
    #[serde(skip)]
    pub county_code: String,
    pub division: DivisionCode,
    pub month: Month,
    /// draft or locked.
    pub status: String,
    pub lines: i64,
    pub people: i64,
    pub total: Fen,
    pub regular: Fen,
    pub adjustment: Fen,
    /// Budget warnings ("would exceed the year's budget").
    pub warnings: Vec<String>,
    pub generated_at: i64,
    pub generated_by: String,
    pub generation: i64,
    pub locked_at: Option<i64>,
    pub locked_by: Option<String>,
    pub by_type: Vec<TypeSum>,
    pub changes: Vec<RollChange>,
}

impl StoredRoll {
    pub fn locked(&self) -> bool {
        self.status == "locked"
    }
}

/// A roll's sum for one type.
#[derive(Debug, Clone, Serialize)]
pub struct TypeSum {
    pub type_code: String,
    pub people: i64,
    pub lines: i64,
    pub amount: Fen,
}

/// One line of a roll.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RollLine {
    pub line_no: i64,
    pub case_id: String,
    pub child_id: String,
    pub type_code: String,
    /// regular, adjustment (found by reconciling past months) or manual.
    pub kind: String,
    pub for_month: String,
    pub amount_fen: i64,
    pub reason: String,
    pub division_code: String,
    pub child_name: String,
    pub id_masked: String,
    pub bank_name: String,
    pub account_holder: String,
    pub account_masked: String,
    pub sensitive: bool,
}

/// How a case's payment differs from the month before.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RollChange {
    pub case_id: String,
    /// new, stopped or changed.
    pub kind: String,
    pub old_fen: i64,
    pub new_fen: i64,
    pub reason: String,
    pub child_name: String,
    pub division_code: String,
    pub type_code: String,
    pub sensitive: bool,
}

/// A page of a roll's lines.
#[derive(Debug, Clone)]
pub struct RollPage {
    pub roll: StoredRoll,
    pub lines: Vec<RollLine>,
    pub page: u32,
    pub per_page: u32,
}

/// One payee of a bank file: a case's net amount in the roll, with the account in full.
#[derive(Debug, Clone, Serialize)]
pub struct Payee {
    pub seq: usize,
    pub case_id: String,
    pub child_id: String,
    pub child_name: String,
    /// Full when asked and allowed, masked otherwise.
    pub id_number: String,
    pub bank_name: String,
    pub account_holder: String,
    pub account: String,
    pub amount: Fen,
    pub type_code: String,
    pub division_code: String,
    /// The lines' reasons (adjustments), joined.
    pub note: String,
}

#[derive(sqlx::FromRow)]
struct RollRow {
    county_code: String,
    id: String,
    month: String,
    status: String,
    lines: i64,
    people: i64,
    total_fen: i64,
    regular_fen: i64,
    adjustment_fen: i64,
    warnings: String,
    generated_at: i64,
    generated_by: String,
    generation: i64,
    locked_at: Option<i64>,
    locked_by: Option<String>,
}

const ROLL_COLUMNS: &str = "county_code, id, month, status, lines, people, total_fen, \
     regular_fen, adjustment_fen, warnings, generated_at, generated_by, generation, locked_at, \
     locked_by";

impl RollRow {
    fn into_roll(self, by_type: Vec<TypeSum>, changes: Vec<RollChange>) -> StoredRoll {
        StoredRoll {
            division: DivisionCode::parse(&self.county_code).expect("a county code"),
            month: month_of(Some(&self.month)).expect("a stored month"),
            warnings: serde_json::from_str(&self.warnings).unwrap_or_default(),
            id: self.id,
            county_code: self.county_code,
            status: self.status,
            lines: self.lines,
            people: self.people,
            total: Fen(self.total_fen),
            regular: Fen(self.regular_fen),
            adjustment: Fen(self.adjustment_fen),
            generated_at: self.generated_at,
            generated_by: self.generated_by,
            generation: self.generation,
            locked_at: self.locked_at,
            locked_by: self.locked_by,
            by_type,
            changes,
        }
    }
}

/// A case as a roll reads it, with its child's columns (none when the child is no longer
/// in this county's ledger).
#[derive(sqlx::FromRow)]
struct PayRow {
    id: String,
    child_id: String,
    type_code: String,
    status: String,
    case_sensitive: bool,
    bank_name: String,
    account_holder: String,
    bank_account: String,
    account_masked: String,
    confirmed_at: Option<i64>,
    start_month: Option<String>,
    end_month: Option<String>,
    end_cause: Option<String>,
    end_on: Option<String>,
    end_reason: String,
    from_case: Option<String>,
    reconcile_at: Option<i64>,
    version: i64,
    case_division: String,
    division_code: Option<String>,
    name: Option<String>,
    id_masked: Option<String>,
    id_number: Option<String>,
    birth_date: Option<NaiveDate>,
    category_bits: Option<i64>,
    school_status: Option<String>,
    sensitive: Option<bool>,
}

/// A line about to be written.
struct NewLine {
    case_id: String,
    child_id: String,
    type_code: String,
    kind: &'static str,
    for_month: Month,
    amount: Fen,
    reason: String,
    division_code: String,
    child_name: String,
    id_masked: String,
    id_number: String,
    bank_name: String,
    account_holder: String,
    account_masked: String,
    bank_account: String,
    sensitive: bool,
}

/// A case's end found while generating (the age limit reached, the category lost), to be
/// recorded on the case with the roll.
struct FoundEnd {
    case_id: String,
    version: i64,
    ending: Ending,
    reconcile: bool,
}

/// Rows per multi-row INSERT of lines (19 values each: under both databases' limits).
const LINE_ROWS: usize = 400;

/// How far back accepted transfers are looked at for cases to hand over.
const HANDOVER_DAYS: i64 = 400;

fn locked_error(month: Month) -> StoreError {
    StoreError::Conflict {
        field: "month",
        code: "roll_locked",
        message: format!(
            "{month} 的发放名册已锁定，不能再修改：漏发或多发请在以后月份的名册中以调整行处理"
        ),
    }
}

impl Store {
    async fn roll_row(&self, county: &str, id: &str) -> Result<Option<RollRow>, StoreError> {
        let mut conn = self.read().await?;
        Ok(on!(conn.conn(), |c| sqlx::query_as(&format!(
            "SELECT {ROLL_COLUMNS} FROM allowance_rolls WHERE county_code = $1 AND id = $2"
        ))
        .bind(county)
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?)
    }

    /// A roll the caller may see (or, with `action`, act on).
    async fn roll_for(
        &self,
        scope: &Scope,
        id: &str,
        action: Action,
    ) -> Result<RollRow, StoreError> {
        scope.check_role(action)?;
        let Some(county) = self.locate_allowance(id).await? else {
            return Err(StoreError::NotFound);
        };
        let Some(row) = self.roll_row(&county, id).await? else {
            return Err(StoreError::NotFound);
        };
        let at = DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        scope.check(action, at)?;
        Ok(row)
    }

    async fn roll_details(&self, row: RollRow, scope: &Scope) -> Result<StoredRoll, StoreError> {
        let mut conn = self.read().await?;
        let sums: Vec<(String, i64, i64, i64)> = on!(conn.conn(), |c| {
            sqlx::query_as(
                "SELECT type_code, CAST(SUM(people) AS BIGINT), CAST(SUM(lines) AS BIGINT),
                 CAST(SUM(amount_fen) AS BIGINT) FROM allowance_roll_totals
             WHERE county_code = $1 AND roll_id = $2 GROUP BY type_code ORDER BY type_code",
            )
            .bind(&row.county_code)
            .bind(&row.id)
            .fetch_all(&mut *c)
            .await
        })?;
        let mut changes: Vec<RollChange> = on!(conn.conn(), |c| {
            sqlx::query_as(
            "SELECT case_id, kind, old_fen, new_fen, reason, child_name, division_code, type_code,
                 sensitive
             FROM allowance_roll_changes WHERE county_code = $1 AND roll_id = $2 ORDER BY seq"
        )
        .bind(&row.county_code)
        .bind(&row.id)
        .fetch_all(&mut *c)
        .await
        })?;
        for ch in changes
            .iter_mut()
            .filter(|c| c.sensitive && !scope.designated)
        {
            ch.child_name = "（受保护记录）".into();
            ch.reason = String::new();
        }
        // People of a type: distinct children, not the sum over villages (a child paid
        // in two villages of a month is one person) — equal in practice; the roll's own
        // count is exact.
        Ok(row.into_roll(
            sums.into_iter()
                .map(|(type_code, people, lines, amount)| TypeSum {
                    type_code,
                    people,
                    lines,
                    amount: Fen(amount),
                })
                .collect(),
            changes,
        ))
    }

    /// A roll with a page of its lines (audited as a read of personal data). Lines of
    /// records hidden from the caller show their amount only. A roll is the county
    /// office's: townships and villages see totals, not the county's list of payees.
    pub async fn roll(
        &self,
        scope: &Scope,
        id: &str,
        page: u32,
        per_page: u32,
        ip: &str,
    ) -> Result<RollPage, StoreError> {
        let row = self.roll_for(scope, id, Action::ManageRolls).await?;
        let county = row.county_code.clone();
        let roll = self.roll_details(row, scope).await?;
        let per_page = per_page.clamp(1, 200);
        let offset = (i64::from(page.max(1)) - 1) * i64::from(per_page);
        let mut lines: Vec<RollLine> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT line_no, case_id, child_id, type_code, kind, for_month, amount_fen, reason,
                     division_code, child_name, id_masked, bank_name, account_holder,
                     account_masked, sensitive
                 FROM allowance_roll_lines WHERE county_code = $1 AND roll_id = $2
                 ORDER BY line_no LIMIT $3 OFFSET $4"
            )
            .bind(&county)
            .bind(id)
            .bind(i64::from(per_page))
            .bind(offset)
            .fetch_all(&mut *c)
            .await)?
        };
        redact(&mut lines, scope);
        self.audit(
            AuditEvent::by(scope, "allowance.roll.read", id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("page={page} lines={}", lines.len())),
        )
        .await?;
        Ok(RollPage {
            roll,
            lines,
            page: page.max(1),
            per_page,
        })
    }

    /// The rolls of the caller's subtree (a county's, or every county's of a city),
    /// newest first; `year` filters.
    pub async fn list_rolls(
        &self,
        scope: &Scope,
        division: DivisionCode,
        year: Option<i32>,
    ) -> Result<Vec<StoredRoll>, StoreError> {
        scope.check(Action::ManageRolls, division)?;
        let (lo, hi) = super::standards::county_range(division);
        let (from, to) = match year {
            Some(y) => (format!("{y:04}-01"), format!("{y:04}-12")),
            None => ("0000-00".into(), "9999-99".into()),
        };
        let rows: Vec<RollRow> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(&format!(
                "SELECT {ROLL_COLUMNS} FROM allowance_rolls
                 WHERE county_code BETWEEN $1 AND $2 AND month BETWEEN $3 AND $4
                 ORDER BY month DESC, county_code LIMIT 500"
            ))
            .bind(&lo)
            .bind(&hi)
            .bind(&from)
            .bind(&to)
            .fetch_all(&mut *c)
            .await)?
        };
        Ok(rows
            .into_iter()
            .map(|r| r.into_roll(Vec::new(), Vec::new()))
            .collect())
    }

    /// Generates (or generates again) the draft roll of `division` (a county) for `month`.
    /// A locked month is never generated again (409), nor a month before the latest locked
    /// one; a month more than one ahead is refused (422).
    pub async fn generate_roll(
        &self,
        scope: &Scope,
        division: DivisionCode,
        month: Month,
        ip: &str,
    ) -> Result<StoredRoll, StoreError> {
        scope.check(Action::ManageRolls, division)?;
        if !self.division_exists(division).await? {
            return Err(StoreError::NotFound);
        }
        if division.level() != Level::County {
            return Err(StoreError::invalid(
                "division",
                Invalid::new(
                    "division_level",
                    format!("发放名册按县（区）生成：{division} 不是县级区划，请填写 6 位县级代码"),
                ),
            ));
        }
        let today = self.clock.today();
        let this = Month::of(today);
        if month > this.next() {
            return Err(StoreError::invalid(
                "month",
                Invalid::new(
                    "month_ahead",
                    format!("最多提前生成下月（{}）的名册，{month} 太早", this.next()),
                ),
            ));
        }
        let county = division.county_code();
        let existing: Option<(String, String)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT id, status FROM allowance_rolls WHERE county_code = $1 AND month = $2"
            )
            .bind(&county)
            .bind(month.to_string())
            .fetch_optional(&mut *c)
            .await)?
        };
        if existing.as_ref().is_some_and(|(_, s)| s == "locked") {
            return Err(locked_error(month));
        }
        let locked = self.latest_locked_month(&county).await?;
        if let Some(last) = locked.filter(|l| *l >= month) {
            return Err(StoreError::Conflict {
                field: "month",
                code: "month_before_locked",
                message: format!(
                    "已锁定 {last} 的名册，不能再生成更早的 {month}：漏发的月份会在以后名册中自动以调整行补发"
                ),
            });
        }
        self.hand_over_moves(scope, division, ip).await?;

        let rules_book = self.allowance_rules(Some(division)).await?;
        let rules_now = rules_book.on(month.first_day()).clone();
        let types = TypeBook::new(&rules_now.local_types);
        let book = self.standard_book().await?;
        let rows = self.pay_rows(&county, month).await?;
        let need: Vec<String> = rows
            .iter()
            .filter(|r| {
                r.birth_date.is_some()
                    && types
                        .get(&r.type_code)
                        .is_some_and(|t| t.orphan_care.is_some() || t.disability)
            })
            .map(|r| r.child_id.clone())
            .collect();
        let details = self.sealed_facts(&county, &need).await?;
        let reconciling: Vec<String> = rows
            .iter()
            .filter(|r| r.reconcile_at.is_some())
            .map(|r| r.id.clone())
            .collect();
        let paid = self.paid_by_month(&county, &reconciling).await?;
        let prev = self.regular_lines_of(&county, month.prev()).await?;

        let now = self.now_ms();
        let mut lines: Vec<NewLine> = Vec::new();
        let mut found: Vec<FoundEnd> = Vec::new();
        let mut now_paid: BTreeMap<String, Fen> = BTreeMap::new();
        let mut why: HashMap<String, String> = HashMap::new();
        let mut missing: Vec<String> = Vec::new();
        let mut amounts: HashMap<(String, DivisionCode, Month), Result<Fen, String>> =
            HashMap::new();
        let mut amount_of = |type_code: &str, place: DivisionCode, m: Month| {
            amounts
                .entry((type_code.to_string(), place, m))
                .or_insert_with(|| {
                    book.amount(type_code, place, m)
                        .map(|r| r.amount)
                        .map_err(|u| u.message(|c| types.label(c), m))
                })
                .clone()
        };
        for r in &rows {
            let Some(start) = month_of(r.start_month.as_deref()) else {
                continue;
            };
            let recorded = match (
                month_of(r.end_month.as_deref()),
                date_of(r.end_on.as_deref()),
            ) {
                (Some(last_month), Some(on)) => Some(Ending {
                    last_month,
                    cause: r
                        .end_cause
                        .as_deref()
                        .and_then(EndCause::parse)
                        .unwrap_or(EndCause::Other),
                    on,
                    reason: r.end_reason.clone(),
                }),
                _ => None,
            };
            let Some(village) = r
                .division_code
                .as_deref()
                .or(Some(r.case_division.as_str()))
                .and_then(|d| DivisionCode::parse(d).ok())
            else {
                continue;
            };
            let ending = match (r.birth_date, r.category_bits) {
                (Some(birth), Some(bits)) => {
                    let facts = standing(
                        birth,
                        bits,
                        r.school_status.as_deref().unwrap_or(""),
                        details.get(&r.child_id),
                    );
                    let Some(def) = types.get(&r.type_code) else {
                        why.insert(
                            r.id.clone(),
                            format!("保障类型 {} 已不在本地配置中", r.type_code),
                        );
                        continue;
                    };
                    let mut ending =
                        age_ending(&r.type_code, &facts, &rules_now).earlier(recorded.clone());
                    if let Err(lost) = qualifies(def, &facts) {
                        if recorded.is_none() {
                            let on = self
                                .ledger_change_date(&county, &r.child_id)
                                .await?
                                .unwrap_or(today)
                                .max(start.first_day().pred_opt().unwrap_or(today));
                            let lost_end = Ending::new(
                                EndCause::CategoryLost,
                                on.min(today),
                                &format!("台账变更，不再符合条件（{lost}）"),
                            );
                            ending = lost_end.earlier(Some(ending));
                        }
                    }
                    ending
                }
                // No longer in this county's ledger: what was recorded (the hand-over's
                // end) settles it; without it, nothing is paid here.
                _ => match recorded.clone() {
                    Some(e) => e,
                    None => {
                        why.insert(r.id.clone(), "儿童已不在本县台账中，本月未列入".into());
                        continue;
                    }
                },
            };
            // An end found now (not recorded on the case) that stops payment this month.
            if Status::parse(&r.status) == Some(Status::Confirmed) && ending.last_month < month {
                found.push(FoundEnd {
                    case_id: r.id.clone(),
                    version: r.version,
                    reconcile: locked.is_some_and(|l| ending.last_month < l),
                    ending: ending.clone(),
                });
            }
            let name = r.name.clone().unwrap_or_default();
            let snapshot =
                |kind: &'static str, for_month: Month, amount: Fen, reason: String| NewLine {
                    case_id: r.id.clone(),
                    child_id: r.child_id.clone(),
                    type_code: r.type_code.clone(),
                    kind,
                    for_month,
                    amount,
                    reason,
                    division_code: village.full(),
                    child_name: name.clone(),
                    id_masked: r.id_masked.clone().unwrap_or_default(),
                    id_number: r.id_number.clone().unwrap_or_default(),
                    bank_name: r.bank_name.clone(),
                    account_holder: r.account_holder.clone(),
                    account_masked: r.account_masked.clone(),
                    bank_account: r.bank_account.clone(),
                    sensitive: r.case_sensitive || r.sensitive.unwrap_or(false),
                };
            if payable(start, Some(&ending), month) {
                match amount_of(&r.type_code, village, month) {
                    Ok(amount) => {
                        now_paid.insert(r.id.clone(), amount);
                        lines.push(snapshot("regular", month, amount, String::new()));
                    }
                    Err(message) => missing.push(format!("{}（{}）", message, village.full())),
                }
            } else if ending.last_month < month {
                why.insert(r.id.clone(), ending.reason.clone());
            } else {
                why.insert(r.id.clone(), format!("自 {start} 起发放"));
            }
            // Past months to settle: a start or an end that moved before the latest lock.
            if let (Some(through), Some(_)) = (locked, r.reconcile_at) {
                let mut owed = BTreeMap::new();
                if start <= through {
                    for m in start.through(through) {
                        if payable(start, Some(&ending), m) {
                            match amount_of(&r.type_code, village, m) {
                                Ok(a) => {
                                    owed.insert(m, a);
                                }
                                Err(message) => missing.push(message),
                            }
                        }
                    }
                }
                let empty = BTreeMap::new();
                let got = paid.get(&r.id).unwrap_or(&empty);
                for a in adjustments(&owed, got, through, start, Some(&ending)) {
                    lines.push(snapshot("adjustment", a.for_month, a.amount, a.reason));
                }
            }
        }
        if !missing.is_empty() {
            missing.sort();
            missing.dedup();
            return Err(StoreError::invalid(
                "month",
                Invalid::new(
                    "standard_missing",
                    format!(
                        "无法生成名册：{}{}",
                        missing
                            .iter()
                            .take(5)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("；"),
                        if missing.len() > 5 {
                            format!("等 {} 处", missing.len())
                        } else {
                            String::new()
                        }
                    ),
                ),
            ));
        }
        lines.sort_by(|a, b| {
            (
                &a.division_code,
                &a.child_name,
                &a.child_id,
                &a.type_code,
                a.kind != "regular",
                a.for_month,
            )
                .cmp(&(
                    &b.division_code,
                    &b.child_name,
                    &b.child_id,
                    &b.type_code,
                    b.kind != "regular",
                    b.for_month,
                ))
        });
        // Changes from the month before (when there was a roll).
        let mut change_rows = Vec::new();
        if let Some(prev) = &prev {
            let before: BTreeMap<String, Fen> = prev
                .iter()
                .map(|(k, p)| (k.clone(), Fen(p.amount_fen)))
                .collect();
            let by_case: HashMap<&str, &PayRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
            for (case_id, kind, old, new) in changes(&before, &now_paid) {
                let r = by_case.get(case_id);
                let p = prev.get(case_id);
                let reason = match kind {
                    Change::New => match r {
                        Some(r) if r.from_case.is_some() => format!(
                            "自外县迁入接续，自 {} 起发放",
                            r.start_month.clone().unwrap_or_default()
                        ),
                        Some(r) => match (r.confirmed_at, month_of(r.start_month.as_deref())) {
                            (Some(at), Some(s)) if s == month => {
                                format!("{} 县级确认，自 {s} 起发放", beijing_date(at))
                            }
                            _ => "本月恢复发放".into(),
                        },
                        None => "本月新增".into(),
                    },
                    Change::Stopped => why.get(case_id).cloned().unwrap_or_else(|| "已停发".into()),
                    Change::Amount => {
                        let village = r
                            .and_then(|r| r.division_code.as_deref())
                            .and_then(|d| DivisionCode::parse(d).ok());
                        let basis = village
                            .and_then(|v| book.amount(&r.expect("a case").type_code, v, month).ok())
                            .and_then(|res| {
                                book.all().find(|s| s.id == res.standard_id).map(|s| {
                                    format!("{} 自 {} 起执行的标准", s.division.full(), s.from)
                                })
                            })
                            .unwrap_or_else(|| "标准变化".into());
                        format!("{} → {}（{basis}）", old.yuan_grouped(), new.yuan_grouped())
                    }
                };
                let (child_name, division_code, type_code, sensitive) = match (r, p) {
                    (Some(r), _) if r.name.is_some() => (
                        r.name.clone().unwrap_or_default(),
                        r.division_code.clone().unwrap_or_default(),
                        r.type_code.clone(),
                        r.case_sensitive || r.sensitive.unwrap_or(false),
                    ),
                    (_, Some(p)) => (
                        p.child_name.clone(),
                        p.division_code.clone(),
                        p.type_code.clone(),
                        p.sensitive,
                    ),
                    (Some(r), None) => (
                        String::new(),
                        String::new(),
                        r.type_code.clone(),
                        r.case_sensitive,
                    ),
                    (None, None) => continue,
                };
                change_rows.push((
                    case_id.to_string(),
                    kind,
                    old,
                    new,
                    reason,
                    child_name,
                    division_code,
                    type_code,
                    sensitive,
                ));
            }
        }
        self.write_roll(
            scope,
            &county,
            month,
            existing.map(|(id, _)| id),
            lines,
            change_rows,
            found,
            &types,
            &rules_now,
            now,
            ip,
        )
        .await
    }

    /// The cases a roll of `month` reads: confirmed, ended last month or later, or with
    /// past months to settle; with their children's columns.
    async fn pay_rows(&self, county: &str, month: Month) -> Result<Vec<PayRow>, StoreError> {
        let mut conn = self.read().await?;
        Ok(on!(conn.conn(), |c| sqlx::query_as(
            "SELECT c.id, c.child_id, c.type_code, c.status, c.sensitive AS case_sensitive,
                 c.bank_name, c.account_holder, c.bank_account, c.account_masked, c.confirmed_at,
                 c.start_month, c.end_month, c.end_cause, c.end_on, c.end_reason, c.from_case,
                 c.reconcile_at, c.version, c.division_code AS case_division, ch.division_code,
                 COALESCE(ch.name, (SELECT l.child_name FROM allowance_roll_lines l
                     WHERE l.county_code = c.county_code AND l.case_id = c.id
                     ORDER BY l.line_no DESC LIMIT 1)) AS name,
                 COALESCE(ch.id_masked, (SELECT l.id_masked FROM allowance_roll_lines l
                     WHERE l.county_code = c.county_code AND l.case_id = c.id
                     ORDER BY l.line_no DESC LIMIT 1)) AS id_masked,
                 COALESCE(ch.id_number, (SELECT l.id_number FROM allowance_roll_lines l
                     WHERE l.county_code = c.county_code AND l.case_id = c.id
                     ORDER BY l.line_no DESC LIMIT 1)) AS id_number,
                 ch.birth_date, ch.category_bits, ch.school_status, ch.sensitive
             FROM allowance_cases c LEFT JOIN children ch
               ON ch.county_code = c.county_code AND ch.id = c.child_id
             WHERE c.county_code = $1 AND c.status IN ('confirmed', 'ended')
               AND (c.end_month IS NULL OR c.end_month >= $2 OR c.reconcile_at IS NOT NULL)
             ORDER BY c.child_id"
        )
        .bind(county)
        .bind(month.prev().to_string())
        .fetch_all(&mut *c)
        .await)?)
    }

    /// What locked rolls paid each of `cases`, by month (adjustments included).
    async fn paid_by_month(
        &self,
        county: &str,
        cases: &[String],
    ) -> Result<HashMap<String, BTreeMap<Month, Fen>>, StoreError> {
        let mut out: HashMap<String, BTreeMap<Month, Fen>> = HashMap::new();
        for chunk in cases.chunks(500) {
            let rows: Vec<(String, String, i64)> = {
                let mut conn = self.read().await?;
                on!(conn.conn(), |c| {
                    let mut qb = QueryBuilder::new(
                        "SELECT l.case_id, l.for_month, CAST(SUM(l.amount_fen) AS BIGINT)
                         FROM allowance_roll_lines l
                         JOIN allowance_rolls r ON r.county_code = l.county_code AND r.id = l.roll_id
                         WHERE r.status = 'locked' AND l.county_code = ",
                    );
                    qb.push_bind(county).push(" AND l.case_id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id.as_str());
                    }
                    qb.push(") GROUP BY l.case_id, l.for_month");
                    qb.build_query_as().fetch_all(&mut *c).await
                })?
            };
            for (case, m, amount) in rows {
                if let Some(m) = month_of(Some(&m)) {
                    *out.entry(case).or_default().entry(m).or_default() += Fen(amount);
                }
            }
        }
        Ok(out)
    }

    /// The regular lines of a county's roll of `month`, by case (None: no roll that month).
    async fn regular_lines_of(
        &self,
        county: &str,
        month: Month,
    ) -> Result<Option<HashMap<String, PrevLine>>, StoreError> {
        let mut conn = self.read().await?;
        let roll: Option<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT id FROM allowance_rolls WHERE county_code = $1 AND month = $2"
        )
        .bind(county)
        .bind(month.to_string())
        .fetch_optional(&mut *c)
        .await)?;
        let Some((roll,)) = roll else {
            return Ok(None);
        };
        let rows: Vec<PrevLine> = on!(conn.conn(), |c| {
            sqlx::query_as(
            "SELECT case_id, amount_fen, child_name, division_code, type_code, sensitive
             FROM allowance_roll_lines WHERE county_code = $1 AND roll_id = $2 AND kind = 'regular'"
        )
        .bind(county)
        .bind(&roll)
        .fetch_all(&mut *c)
        .await
        })?;
        Ok(Some(
            rows.into_iter().map(|p| (p.case_id.clone(), p)).collect(),
        ))
    }

    /// The day of the child's latest ledger change (what a lost category dates from).
    async fn ledger_change_date(
        &self,
        county: &str,
        child_id: &str,
    ) -> Result<Option<NaiveDate>, StoreError> {
        let keys = self.keys()?;
        let rows: Vec<(i64, i64, String)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT version, at, changes FROM child_versions
                 WHERE county_code = $1 AND child_id = $2 ORDER BY version DESC LIMIT 50"
            )
            .bind(county)
            .bind(child_id)
            .fetch_all(&mut *c)
            .await)?
        };
        for (version, at, sealed) in rows {
            let text = keys.open(
                &format!("child_versions.changes:{child_id}:{version}"),
                &sealed,
            )?;
            let changes: Vec<FieldChange> = serde_json::from_str(&text).unwrap_or_default();
            if changes.iter().any(|c| {
                matches!(
                    c.field.as_str(),
                    "categories" | "orphan_care" | "disability" | "school_status" | "id_number"
                )
            }) {
                return Ok(Some(beijing_date(at)));
            }
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_roll(
        &self,
        scope: &Scope,
        county: &str,
        month: Month,
        existing: Option<String>,
        mut lines: Vec<NewLine>,
        change_rows: Vec<ChangeRow>,
        found: Vec<FoundEnd>,
        types: &TypeBook,
        _rules: &AllowanceRules,
        now: i64,
        ip: &str,
    ) -> Result<StoredRoll, StoreError> {
        // Adjustments added by hand to a draft stay through a new generation.
        if let Some(id) = &existing {
            let manual: Vec<ManualLine> = {
                let mut conn = self.read().await?;
                on!(conn.conn(), |c| sqlx::query_as(
                    "SELECT case_id, child_id, type_code, for_month, amount_fen, reason,
                         division_code, child_name, id_masked, id_number, bank_name,
                         account_holder, account_masked, bank_account, sensitive
                     FROM allowance_roll_lines
                     WHERE county_code = $1 AND roll_id = $2 AND kind = 'manual' ORDER BY line_no"
                )
                .bind(county)
                .bind(id)
                .fetch_all(&mut *c)
                .await)?
            };
            lines.extend(manual.into_iter().map(|m| NewLine {
                for_month: month_of(Some(&m.for_month)).unwrap_or(month),
                case_id: m.case_id,
                child_id: m.child_id,
                type_code: m.type_code,
                kind: "manual",
                amount: Fen(m.amount_fen),
                reason: m.reason,
                division_code: m.division_code,
                child_name: m.child_name,
                id_masked: m.id_masked,
                id_number: m.id_number,
                bank_name: m.bank_name,
                account_holder: m.account_holder,
                account_masked: m.account_masked,
                bank_account: m.bank_account,
                sensitive: m.sensitive,
            }));
        }
        let total: Fen = lines.iter().map(|l| l.amount).sum();
        let regular: Fen = lines
            .iter()
            .filter(|l| l.kind == "regular")
            .map(|l| l.amount)
            .sum();
        let people = lines
            .iter()
            .map(|l| l.child_id.as_str())
            .collect::<HashSet<_>>()
            .len() as i64;
        // Sums by village and type.
        let mut sums: BTreeMap<(String, String), (HashSet<&str>, i64, Fen)> = BTreeMap::new();
        for l in &lines {
            let e = sums
                .entry((l.division_code.clone(), l.type_code.clone()))
                .or_default();
            e.0.insert(l.child_id.as_str());
            e.1 += 1;
            e.2 += l.amount;
        }
        let warnings = self.budget_warnings(county, month, &lines, types).await?;
        let mut tx = self.begin().await?;
        let fresh = uuid::Uuid::new_v4().to_string();
        let upserted: Option<(String, i64)> = on!(tx.conn(), |c| {
            sqlx::query_as(
            "INSERT INTO allowance_rolls (county_code, id, month, status, lines, people, total_fen,
                 regular_fen, adjustment_fen, warnings, generated_at, generated_by, generation)
             VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $8, $9, $10, $11, 1)
             ON CONFLICT (county_code, month) DO UPDATE SET lines = excluded.lines,
                 people = excluded.people, total_fen = excluded.total_fen,
                 regular_fen = excluded.regular_fen, adjustment_fen = excluded.adjustment_fen,
                 warnings = excluded.warnings, generated_at = excluded.generated_at,
                 generated_by = excluded.generated_by,
                 generation = allowance_rolls.generation + 1
             WHERE allowance_rolls.status = 'draft'
             RETURNING id, generation"
        )
        .bind(county)
        .bind(&fresh)
        .bind(month.to_string())
        .bind(lines.len() as i64)
        .bind(people)
        .bind(total.0)
        .bind(regular.0)
        .bind((total - regular).0)
        .bind(serde_json::to_string(&warnings).expect("texts serialise"))
        .bind(now)
        .bind(&scope.username)
        .fetch_optional(&mut *c)
        .await
        })?;
        let Some((id, generation)) = upserted else {
            return Err(locked_error(month));
        };
        if id == fresh {
            on!(tx.conn(), |c| sqlx::query(
                "INSERT INTO allowance_locator (id, county_code) VALUES ($1, $2)"
            )
            .bind(&id)
            .bind(county)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        } else {
            for sql in [
                "DELETE FROM allowance_roll_lines WHERE county_code = $1 AND roll_id = $2",
                "DELETE FROM allowance_roll_changes WHERE county_code = $1 AND roll_id = $2",
                "DELETE FROM allowance_roll_totals WHERE county_code = $1 AND roll_id = $2",
            ] {
                on!(tx.conn(), |c| sqlx::query(sql)
                    .bind(county)
                    .bind(&id)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
        }
        for (n, chunk) in lines.chunks(LINE_ROWS).enumerate() {
            let first = (n * LINE_ROWS) as i64 + 1;
            on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO allowance_roll_lines (county_code, roll_id, line_no, case_id,
                         child_id, type_code, kind, for_month, amount_fen, reason, division_code,
                         child_name, id_masked, id_number, bank_name, account_holder,
                         account_masked, bank_account, sensitive) ",
                );
                qb.push_values(chunk.iter().enumerate(), |mut b, (i, l)| {
                    b.push_bind(county)
                        .push_bind(id.as_str())
                        .push_bind(first + i as i64)
                        .push_bind(l.case_id.as_str())
                        .push_bind(l.child_id.as_str())
                        .push_bind(l.type_code.as_str())
                        .push_bind(l.kind)
                        .push_bind(l.for_month.to_string())
                        .push_bind(l.amount.0)
                        .push_bind(l.reason.as_str())
                        .push_bind(l.division_code.as_str())
                        .push_bind(l.child_name.as_str())
                        .push_bind(l.id_masked.as_str())
                        .push_bind(l.id_number.as_str())
                        .push_bind(l.bank_name.as_str())
                        .push_bind(l.account_holder.as_str())
                        .push_bind(l.account_masked.as_str())
                        .push_bind(l.bank_account.as_str())
                        .push_bind(l.sensitive);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for (n, chunk) in change_rows.chunks(LINE_ROWS).enumerate() {
            let first = (n * LINE_ROWS) as i64 + 1;
            on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO allowance_roll_changes (county_code, roll_id, seq, case_id, kind,
                         old_fen, new_fen, reason, child_name, division_code, type_code,
                         sensitive) ",
                );
                qb.push_values(chunk.iter().enumerate(), |mut b, (i, ch)| {
                    b.push_bind(county)
                        .push_bind(id.as_str())
                        .push_bind(first + i as i64)
                        .push_bind(ch.0.as_str())
                        .push_bind(ch.1.as_str())
                        .push_bind(ch.2 .0)
                        .push_bind(ch.3 .0)
                        .push_bind(ch.4.as_str())
                        .push_bind(ch.5.as_str())
                        .push_bind(ch.6.as_str())
                        .push_bind(ch.7.as_str())
                        .push_bind(ch.8);
                });
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        let sums: Vec<_> = sums.into_iter().collect();
        for chunk in sums.chunks(LINE_ROWS) {
            on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO allowance_roll_totals (county_code, roll_id, division_code,
                         type_code, month, people, lines, amount_fen) ",
                );
                qb.push_values(
                    chunk,
                    |mut b, ((division, type_code), (people, n, amount))| {
                        b.push_bind(county)
                            .push_bind(id.as_str())
                            .push_bind(division.as_str())
                            .push_bind(type_code.as_str())
                            .push_bind(month.to_string())
                            .push_bind(people.len() as i64)
                            .push_bind(*n)
                            .push_bind(amount.0);
                    },
                );
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
        }
        for f in &found {
            let n = on!(tx.conn(), |c| {
                sqlx::query(
                "UPDATE allowance_cases SET status = 'ended', end_month = $3, end_cause = $4,
                     end_on = $5, end_reason = $6,
                     reconcile_at = CASE WHEN $7 THEN COALESCE(reconcile_at, $8) ELSE reconcile_at END,
                     version = version + 1, updated_at = $8
                 WHERE county_code = $1 AND id = $2 AND version = $9 AND status = 'confirmed'"
            )
            .bind(county)
            .bind(&f.case_id)
            .bind(f.ending.last_month.to_string())
            .bind(f.ending.cause.as_str())
            .bind(f.ending.on.to_string())
            .bind(&f.ending.reason)
            .bind(f.reconcile)
            .bind(now)
            .bind(f.version)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
            })?;
            if n == 0 {
                return Err(changed_meanwhile());
            }
            insert_step(
                &mut tx,
                county,
                &f.case_id,
                f.version + 1,
                "end",
                "",
                &format!("{}（{month} 名册核查）", f.ending.reason),
                scope,
                now,
            )
            .await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "allowance.roll.generate", &id)
                .in_county(county)
                .from_ip(ip)
                .detail(format!(
                    "month={month} generation={generation} lines={} people={people} total_fen={} ended={}",
                    lines.len(),
                    total.0,
                    found.len()
                )),
        )
        .await?;
        tx.commit().await?;
        let row = self
            .roll_row(county, &id)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.roll_details(row, scope).await
    }

    /// Warnings for the types whose year's budget this roll would exceed.
    async fn budget_warnings(
        &self,
        county: &str,
        month: Month,
        lines: &[NewLine],
        types: &TypeBook,
    ) -> Result<Vec<String>, StoreError> {
        let year = month.year();
        let budgets: Vec<(String, i64)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT type_code, amount_fen FROM allowance_budgets
                 WHERE county_code = $1 AND year = $2"
            )
            .bind(county)
            .bind(year)
            .fetch_all(&mut *c)
            .await)?
        };
        if budgets.is_empty() {
            return Ok(Vec::new());
        }
        let spent: Vec<(String, i64)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT t.type_code, CAST(SUM(t.amount_fen) AS BIGINT)
                 FROM allowance_roll_totals t
                 JOIN allowance_rolls r ON r.county_code = t.county_code AND r.id = t.roll_id
                 WHERE t.county_code = $1 AND r.status = 'locked' AND t.month BETWEEN $2 AND $3
                 GROUP BY t.type_code"
            )
            .bind(county)
            .bind(format!("{year:04}-01"))
            .bind(format!("{year:04}-12"))
            .fetch_all(&mut *c)
            .await)?
        };
        let mut out = Vec::new();
        for (type_code, budget) in budgets {
            let before = spent
                .iter()
                .find(|(t, _)| *t == type_code)
                .map(|(_, a)| Fen(*a))
                .unwrap_or_default();
            let this: Fen = lines
                .iter()
                .filter(|l| l.type_code == type_code)
                .map(|l| l.amount)
                .sum();
            let after = before + this;
            if after.0 > budget {
                out.push(format!(
                    "{year} 年{}预算 {} 万元，已发放 {} 万元，本月 {} 万元，合计将超出预算 {} 万元",
                    types.label(&type_code),
                    Fen(budget).wan(),
                    before.wan(),
                    this.wan(),
                    (after - Fen(budget)).wan()
                ));
            }
        }
        Ok(out)
    }

    /// Locks a draft roll for good. Refused (409) when locked already, when a case or a
    /// standard changed after it was generated (generate it again first), or when it
    /// would exceed a budget and that was not acknowledged.
    pub async fn lock_roll(
        &self,
        scope: &Scope,
        id: &str,
        acknowledge_over_budget: bool,
        ip: &str,
    ) -> Result<StoredRoll, StoreError> {
        let row = self.roll_for(scope, id, Action::ManageRolls).await?;
        let month = month_of(Some(&row.month)).expect("a stored month");
        if row.status == "locked" {
            return Err(locked_error(month));
        }
        let county = row.county_code.clone();
        let changed: i64 = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_scalar(
                "SELECT COUNT(*) FROM allowance_cases WHERE county_code = $1 AND updated_at > $2"
            )
            .bind(&county)
            .bind(row.generated_at)
            .fetch_one(&mut *c)
            .await)?
        };
        let standards: i64 = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_scalar(
                "SELECT COUNT(*) FROM allowance_standards WHERE created_at > $1"
            )
            .bind(row.generated_at)
            .fetch_one(&mut *c)
            .await)?
        };
        if changed > 0 || standards > 0 {
            return Err(StoreError::Conflict {
                field: "roll",
                code: "roll_stale",
                message: format!(
                    "名册生成后{}{}发生了变化：请重新生成名册、核对后再锁定",
                    if changed > 0 {
                        format!(" {changed} 个保障对象")
                    } else {
                        String::new()
                    },
                    if standards > 0 { " 保障标准" } else { "" }
                ),
            });
        }
        let warnings: Vec<String> = serde_json::from_str(&row.warnings).unwrap_or_default();
        if !warnings.is_empty() && !acknowledge_over_budget {
            return Err(StoreError::Conflict {
                field: "acknowledge_over_budget",
                code: "budget_exceeded",
                message: format!(
                    "{}。确认仍要锁定，请勾选“已知悉超出预算”（acknowledge_over_budget）",
                    warnings.join("；")
                ),
            });
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let n = on!(tx.conn(), |c| sqlx::query(
            "UPDATE allowance_rolls SET status = 'locked', locked_at = $3, locked_by = $4
             WHERE county_code = $1 AND id = $2 AND status = 'draft' AND generation = $5"
        )
        .bind(&county)
        .bind(id)
        .bind(now)
        .bind(&scope.username)
        .bind(row.generation)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::Conflict {
                field: "roll",
                code: "roll_stale",
                message: "名册刚被重新生成或锁定，请刷新后核对".into(),
            });
        }
        // Past months settled by this roll stay settled.
        on!(tx.conn(), |c| sqlx::query(
            "UPDATE allowance_cases SET reconcile_at = NULL
             WHERE county_code = $1 AND reconcile_at IS NOT NULL AND reconcile_at <= $2"
        )
        .bind(&county)
        .bind(row.generated_at)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        on!(tx.conn(), |c| {
            sqlx::query(
                "INSERT INTO allowance_recipients (county_code, year, child_id, type_code,
                 division_code, amount_fen)
             SELECT county_code, $3, child_id, type_code, MAX(division_code),
                 CAST(SUM(amount_fen) AS BIGINT)
             FROM allowance_roll_lines WHERE county_code = $1 AND roll_id = $2
             GROUP BY county_code, child_id, type_code
             ON CONFLICT (county_code, year, child_id, type_code) DO UPDATE SET
                 amount_fen = allowance_recipients.amount_fen + excluded.amount_fen,
                 division_code = excluded.division_code",
            )
            .bind(&county)
            .bind(id)
            .bind(month.year())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "allowance.roll.lock", id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!(
                    "month={month} lines={} total_fen={}{}",
                    row.lines,
                    row.total_fen,
                    if warnings.is_empty() {
                        ""
                    } else {
                        " over_budget_acknowledged"
                    }
                )),
        )
        .await?;
        tx.commit().await?;
        let row = self
            .roll_row(&county, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.roll_details(row, scope).await
    }

    /// Adds an adjustment line by hand to a draft roll (a correction the ledger cannot
    /// show: a payment the bank returned, an amount decided apart), with its reason.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_adjustment(
        &self,
        scope: &Scope,
        roll_id: &str,
        case_id: &str,
        for_month: Month,
        amount: Fen,
        reason: &str,
        ip: &str,
    ) -> Result<StoredRoll, StoreError> {
        let row = self.roll_for(scope, roll_id, Action::ManageRolls).await?;
        let month = month_of(Some(&row.month)).expect("a stored month");
        if row.status == "locked" {
            return Err(locked_error(month));
        }
        let reason =
            parse_text("调整原因", reason, true).map_err(|e| StoreError::invalid("reason", e))?;
        if amount.is_zero() {
            return Err(StoreError::invalid(
                "amount_fen",
                Invalid::new(
                    "amount_zero",
                    "调整金额不能为 0：补发填正数，追回填负数（单位：分）",
                ),
            ));
        }
        if for_month > month {
            return Err(StoreError::invalid(
                "for_month",
                Invalid::new(
                    "month_after_roll",
                    format!("调整的所属月份 {for_month} 不能晚于名册月份 {month}"),
                ),
            ));
        }
        let (case, name) = self
            .allowance_case_row(scope, case_id, &[Action::ManageRolls])
            .await?;
        if case.county_code != row.county_code {
            return Err(StoreError::NotFound);
        }
        let child: Option<(String, String, String, bool)> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| sqlx::query_as(
                "SELECT division_code, id_masked, id_number, sensitive FROM children
                 WHERE county_code = $1 AND id = $2"
            )
            .bind(&case.county_code)
            .bind(&case.child_id)
            .fetch_optional(&mut *c)
            .await)?
        };
        let (division_code, id_masked, id_number, child_sensitive) = child.unwrap_or((
            case.division_code.clone(),
            String::new(),
            String::new(),
            false,
        ));
        let now = self.now_ms();
        let county = row.county_code.clone();
        let mut tx = self.begin().await?;
        let next: i64 = on!(tx.conn(), |c| sqlx::query_scalar(
            "SELECT COALESCE(MAX(line_no), 0) + 1 FROM allowance_roll_lines
             WHERE county_code = $1 AND roll_id = $2"
        )
        .bind(&county)
        .bind(roll_id)
        .fetch_one(&mut *c)
        .await)?;
        let n = on!(tx.conn(), |c| sqlx::query(
            "UPDATE allowance_rolls SET lines = lines + 1, total_fen = total_fen + $3,
                 adjustment_fen = adjustment_fen + $3
             WHERE county_code = $1 AND id = $2 AND status = 'draft'"
        )
        .bind(&county)
        .bind(roll_id)
        .bind(amount.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(locked_error(month));
        }
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO allowance_roll_lines (county_code, roll_id, line_no, case_id, child_id,
                 type_code, kind, for_month, amount_fen, reason, division_code, child_name,
                 id_masked, id_number, bank_name, account_holder, account_masked, bank_account,
                 sensitive)
             VALUES ($1, $2, $3, $4, $5, $6, 'manual', $7, $8, $9, $10, $11, $12, $13, $14, $15,
                 $16, $17, $18)"
        )
        .bind(&county)
        .bind(roll_id)
        .bind(next)
        .bind(case_id)
        .bind(&case.child_id)
        .bind(&case.type_code)
        .bind(for_month.to_string())
        .bind(amount.0)
        .bind(&reason)
        .bind(&division_code)
        .bind(&name)
        .bind(&id_masked)
        .bind(&id_number)
        .bind(&case.bank_name)
        .bind(&case.account_holder)
        .bind(&case.account_masked)
        .bind(&case.bank_account)
        .bind(case.sensitive || child_sensitive)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO allowance_roll_totals (county_code, roll_id, division_code, type_code,
                 month, people, lines, amount_fen)
             VALUES ($1, $2, $3, $4, $5, 1, 1, $6)
             ON CONFLICT (county_code, roll_id, division_code, type_code) DO UPDATE SET
                 lines = allowance_roll_totals.lines + 1,
                 amount_fen = allowance_roll_totals.amount_fen + excluded.amount_fen"
        )
        .bind(&county)
        .bind(roll_id)
        .bind(&division_code)
        .bind(&case.type_code)
        .bind(month.to_string())
        .bind(amount.0)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "allowance.roll.adjust", roll_id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!(
                    "case={case_id} for={for_month} amount_fen={}",
                    amount.0
                )),
        )
        .await?;
        tx.commit().await?;
        let row = self
            .roll_row(&county, roll_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.roll_details(row, scope).await
    }

    /// The payees of a roll for a bank file: each case's net amount, in line order, with
    /// the account in full and the 身份证号 in full when `full_id` (and the caller may see
    /// it) or masked. Cases whose net is not positive (money to recover) are left out; so
    /// are records hidden from the caller (their count is returned). Audited.
    pub async fn roll_payees(
        &self,
        scope: &Scope,
        id: &str,
        full_id: bool,
        ip: &str,
    ) -> Result<(StoredRoll, Vec<Payee>, usize), StoreError> {
        let row = self.roll_for(scope, id, Action::ManageRolls).await?;
        let county = row.county_code.clone();
        if full_id {
            let at = DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
            scope.check(Action::RevealChild, at)?;
        }
        let keys = self.keys()?;
        #[derive(sqlx::FromRow)]
        struct Line {
            case_id: String,
            child_id: String,
            type_code: String,
            amount_fen: i64,
            reason: String,
            division_code: String,
            child_name: String,
            id_masked: String,
            id_number: String,
            bank_name: String,
            account_holder: String,
            bank_account: String,
            sensitive: bool,
        }
        let lines: Vec<Line> = {
            let mut conn = self.read().await?;
            on!(conn.conn(), |c| {
                sqlx::query_as(
                "SELECT case_id, child_id, type_code, amount_fen, reason, division_code, child_name,
                     id_masked, id_number, bank_name, account_holder, bank_account, sensitive
                 FROM allowance_roll_lines WHERE county_code = $1 AND roll_id = $2
                 ORDER BY line_no"
            )
            .bind(&county)
            .bind(id)
            .fetch_all(&mut *c)
            .await
            })?
        };
        let mut order: Vec<String> = Vec::new();
        let mut by_case: HashMap<String, (Line, Fen, Vec<String>)> = HashMap::new();
        for l in lines {
            match by_case.get_mut(&l.case_id) {
                Some(e) => {
                    e.1 += Fen(l.amount_fen);
                    if !l.reason.is_empty() {
                        e.2.push(l.reason);
                    }
                }
                None => {
                    order.push(l.case_id.clone());
                    let amount = Fen(l.amount_fen);
                    let reasons = if l.reason.is_empty() {
                        Vec::new()
                    } else {
                        vec![l.reason.clone()]
                    };
                    by_case.insert(l.case_id.clone(), (l, amount, reasons));
                }
            }
        }
        let mut payees = Vec::new();
        let mut withheld = 0;
        for case_id in order {
            let (l, amount, reasons) = by_case.remove(&case_id).expect("listed");
            if amount.0 <= 0 {
                continue;
            }
            if l.sensitive && !scope.designated {
                withheld += 1;
                continue;
            }
            let account = if l.bank_account.is_empty() {
                String::new()
            } else {
                keys.open(&account_aad(&l.case_id), &l.bank_account)?
            };
            let id_number = if full_id && !l.id_number.is_empty() {
                keys.open(&id_number_aad(&l.child_id), &l.id_number)?
            } else {
                l.id_masked.clone()
            };
            payees.push(Payee {
                seq: payees.len() + 1,
                case_id: l.case_id,
                child_id: l.child_id,
                child_name: l.child_name,
                id_number,
                bank_name: l.bank_name,
                account_holder: l.account_holder,
                account,
                amount,
                type_code: l.type_code,
                division_code: l.division_code,
                note: reasons.join("；"),
            });
        }
        self.audit(
            AuditEvent::by(scope, "allowance.roll.export", id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!(
                    "payees={} full_id={full_id} withheld={withheld}",
                    payees.len()
                )),
        )
        .await?;
        let roll = self.roll_details(row, scope).await?;
        Ok((roll, payees, withheld))
    }

    /// The cases whose net in a roll is negative (money to recover), for the summary.
    pub async fn roll_recoveries(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<Vec<(String, String, String, Fen)>, StoreError> {
        let row = self.roll_for(scope, id, Action::ManageRolls).await?;
        let mut conn = self.read().await?;
        let rows: Vec<(String, String, String, i64, bool)> = on!(conn.conn(), |c| {
            sqlx::query_as(
                "SELECT case_id, MAX(child_name), MAX(division_code),
                 CAST(SUM(amount_fen) AS BIGINT),
                 MAX(CASE WHEN sensitive THEN 1 ELSE 0 END) = 1
             FROM allowance_roll_lines WHERE county_code = $1 AND roll_id = $2
             GROUP BY case_id HAVING CAST(SUM(amount_fen) AS BIGINT) < 0 ORDER BY MAX(line_no)",
            )
            .bind(&row.county_code)
            .bind(id)
            .fetch_all(&mut *c)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(case, name, division, amount, sensitive)| {
                let name = if sensitive && !scope.designated {
                    "（受保护记录）".into()
                } else {
                    name
                };
                (case, name, division, Fen(amount))
            })
            .collect())
    }

    /// Hands over the cases of children who moved between counties: the old county's case
    /// ends with the month of the move, the new county's starts the month after (both
    /// recorded). Looks at the cases of `division`'s county whose child left, and at the
    /// children who came in.
    pub(crate) async fn hand_over_moves(
        &self,
        scope: &Scope,
        division: DivisionCode,
        ip: &str,
    ) -> Result<usize, StoreError> {
        let county = division.county_code();
        let mut moves: Vec<(String, String)> = Vec::new(); // (old county, child id)
        {
            let mut conn = self.read().await?;
            let gone: Vec<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
                "SELECT c.child_id FROM allowance_cases c
                 WHERE c.county_code = $1 AND c.status = 'confirmed'
                   AND NOT EXISTS (SELECT 1 FROM children ch
                                   WHERE ch.county_code = c.county_code AND ch.id = c.child_id)
                 ORDER BY c.child_id"
            )
            .bind(&county)
            .fetch_all(&mut *c)
            .await)?;
            moves.extend(gone.into_iter().map(|(child,)| (county.clone(), child)));
            let (lo, hi) = division.subtree_bounds();
            let since = self.now_ms() - HANDOVER_DAYS * 86_400_000;
            let came: Vec<(String, String)> = on!(conn.conn(), |c| sqlx::query_as(
                "SELECT county_code, child_id FROM child_transfers
                 WHERE status = 'accepted' AND to_division BETWEEN $1 AND $2
                   AND county_code <> $3 AND decided_at > $4"
            )
            .bind(&lo)
            .bind(&hi)
            .bind(&county)
            .bind(since)
            .fetch_all(&mut *c)
            .await)?;
            moves.extend(came);
        }
        moves.sort();
        moves.dedup();
        let mut done = 0;
        for (old, child) in moves {
            done += self.hand_over_child(scope, &old, &child, ip).await?;
        }
        Ok(done)
    }

    /// Hands over every confirmed case of `child` in `old` county, if the child now lives
    /// in another county and the move is recorded.
    async fn hand_over_child(
        &self,
        scope: &Scope,
        old: &str,
        child: &str,
        ip: &str,
    ) -> Result<usize, StoreError> {
        let keys = self.keys()?;
        let Some(new) = self.locate(child).await? else {
            return Ok(0);
        };
        if new == old {
            return Ok(0);
        }
        let (cases, moved, village): (Vec<super::CaseRow>, Option<(i64, String)>, Option<String>) = {
            let mut conn = self.read().await?;
            let cases = on!(conn.conn(), |c| sqlx::query_as(&format!(
                "SELECT {} FROM allowance_cases c
                 WHERE c.county_code = $1 AND c.child_id = $2 AND c.status = 'confirmed'",
                super::CASE_COLUMNS
            ))
            .bind(old)
            .bind(child)
            .fetch_all(&mut *c)
            .await)?;
            let moved = on!(conn.conn(), |c| sqlx::query_as(
                "SELECT decided_at, to_division FROM child_transfers
                 WHERE county_code = $1 AND child_id = $2 AND status = 'accepted'
                   AND decided_at IS NOT NULL
                 ORDER BY decided_at DESC LIMIT 1"
            )
            .bind(old)
            .bind(child)
            .fetch_optional(&mut *c)
            .await)?;
            let village = on!(conn.conn(), |c| sqlx::query_scalar(
                "SELECT division_code FROM children WHERE county_code = $1 AND id = $2"
            )
            .bind(&new)
            .bind(child)
            .fetch_optional(&mut *c)
            .await)?;
            (cases, moved, village)
        };
        let (Some((moved_at, to_division)), Some(village)) = (moved, village) else {
            return Ok(0);
        };
        if cases.is_empty() {
            return Ok(0);
        }
        let moved_on = beijing_date(moved_at);
        let place = DivisionCode::parse(&to_division)
            .ok()
            .map(|d| self.place_name(d));
        let place = match place {
            Some(f) => f.await.unwrap_or(to_division.clone()),
            None => to_division.clone(),
        };
        let ending = Ending::new(
            EndCause::MovedOut,
            moved_on,
            &format!("迁出本县（迁至{place}）"),
        );
        let start = ending.last_month.next();
        let old_locked = self.latest_locked_month(old).await?;
        let new_locked = self.latest_locked_month(&new).await?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let mut done = 0;
        for case in cases {
            let open_there: Option<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
                "SELECT id FROM allowance_cases WHERE county_code = $1 AND child_id = $2
                   AND type_code = $3 AND status IN ('filed', 'checked', 'confirmed')"
            )
            .bind(&new)
            .bind(child)
            .bind(&case.type_code)
            .fetch_optional(&mut *c)
            .await)?;
            let n = on!(tx.conn(), |c| sqlx::query(
                "UPDATE allowance_cases SET status = 'ended', end_month = $3, end_cause = $4,
                     end_on = $5, end_reason = $6, reconcile_at = COALESCE(reconcile_at, $7),
                     version = version + 1, updated_at = $8
                 WHERE county_code = $1 AND id = $2 AND version = $9 AND status = 'confirmed'"
            )
            .bind(old)
            .bind(&case.id)
            .bind(ending.last_month.to_string())
            .bind(EndCause::MovedOut.as_str())
            .bind(moved_on.to_string())
            .bind(&ending.reason)
            .bind(
                old_locked
                    .is_some_and(|l| ending.last_month < l)
                    .then_some(now)
            )
            .bind(now)
            .bind(case.version)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            if n == 0 {
                continue;
            }
            let new_id = uuid::Uuid::new_v4().to_string();
            let handed = open_there.is_none();
            insert_step(
                &mut tx,
                old,
                &case.id,
                case.version + 1,
                "handover_out",
                "",
                &if handed {
                    format!(
                        "{}；由迁入地自 {start} 起接续发放（{new_id}）",
                        ending.reason
                    )
                } else {
                    format!("{}；迁入地已有同类申请", ending.reason)
                },
                scope,
                now,
            )
            .await?;
            append(
                &mut tx,
                now,
                &AuditEvent::by(scope, "allowance.handover_out", &case.id)
                    .in_county(old)
                    .from_ip(ip)
                    .detail(format!("to={new} case={new_id}")),
            )
            .await?;
            if handed {
                let account = if case.bank_account.is_empty() {
                    String::new()
                } else {
                    let plain = keys.open(&account_aad(&case.id), &case.bank_account)?;
                    keys.seal(&account_aad(&new_id), &plain)
                };
                on!(tx.conn(), |c| sqlx::query(
                    "INSERT INTO allowance_cases (county_code, id, child_id, division_code,
                         type_code, status, sensitive, filed_as, applicant, bank_name,
                         account_holder, bank_account, account_masked, documents, note,
                         eligibility, filed_by, filed_by_name, filed_at, confirmed_at,
                         start_month, from_case, reconcile_at, version, updated_at)
                     VALUES ($1, $2, $3, $4, $5, 'confirmed', $6, $7, $8, $9, $10, $11, $12, $13,
                         $14, $15, $16, $17, $18, $19, $20, $21, $22, 1, $23)"
                )
                .bind(&new)
                .bind(&new_id)
                .bind(child)
                .bind(&village)
                .bind(&case.type_code)
                .bind(case.sensitive)
                .bind(&case.filed_as)
                .bind(&case.applicant)
                .bind(&case.bank_name)
                .bind(&case.account_holder)
                .bind(&account)
                .bind(&case.account_masked)
                .bind(&case.documents)
                .bind(&case.note)
                .bind(&case.eligibility)
                .bind(&scope.user_id)
                .bind(&scope.username)
                .bind(case.filed_at)
                .bind(case.confirmed_at)
                .bind(start.to_string())
                .bind(&case.id)
                .bind(new_locked.is_some_and(|l| start <= l).then_some(now))
                .bind(now)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
                on!(tx.conn(), |c| sqlx::query(
                    "INSERT INTO allowance_locator (id, county_code) VALUES ($1, $2)"
                )
                .bind(&new_id)
                .bind(&new)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
                insert_step(
                    &mut tx,
                    &new,
                    &new_id,
                    1,
                    "handover_in",
                    "",
                    &format!(
                        "自原县（{old}）迁入，原保障对象 {}；自 {start} 起发放",
                        case.id
                    ),
                    scope,
                    now,
                )
                .await?;
                append(
                    &mut tx,
                    now,
                    &AuditEvent::by(scope, "allowance.handover_in", &new_id)
                        .in_county(&new)
                        .from_ip(ip)
                        .detail(format!("from={old} case={}", case.id)),
                )
                .await?;
            }
            done += 1;
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// A regular line of the month before, for the differences.
#[derive(sqlx::FromRow)]
struct PrevLine {
    case_id: String,
    amount_fen: i64,
    child_name: String,
    division_code: String,
    type_code: String,
    sensitive: bool,
}

/// A manual line kept through a new generation.
#[derive(sqlx::FromRow)]
struct ManualLine {
    case_id: String,
    child_id: String,
    type_code: String,
    for_month: String,
    amount_fen: i64,
    reason: String,
    division_code: String,
    child_name: String,
    id_masked: String,
    id_number: String,
    bank_name: String,
    account_holder: String,
    account_masked: String,
    bank_account: String,
    sensitive: bool,
}

/// (case, change, old, new, reason, name, village, type, sensitive)
type ChangeRow = (
    String,
    Change,
    Fen,
    Fen,
    String,
    String,
    String,
    String,
    bool,
);

/// Hides what a caller who is not designated may not see of 受艾滋病影响 records.
fn redact(lines: &mut [RollLine], scope: &Scope) {
    for l in lines
        .iter_mut()
        .filter(|l| l.sensitive && !scope.designated)
    {
        l.child_name = "（受保护记录）".into();
        l.id_masked = "******".into();
        l.account_masked = String::new();
        l.account_holder = String::new();
        l.reason = String::new();
    }
}
