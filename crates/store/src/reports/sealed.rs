//! Sealed records: reports and cases of sexual harm, and records under 犯罪记录封存. Only
//! the county's named readers read them; anyone else who needs to know sees that a sealed
//! item exists and may ask for time-limited access with a reason, which the office grants
//! or refuses. Every read is audited (by the callers of these checks).

use weibao_domain::access::{Action, Scope};
use weibao_domain::{DivisionCode, Invalid};

use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::work::units::unit_for;
use crate::work::{exec, new_id, notify};

/// A request for access to a sealed item.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SealedRequest {
    pub county_code: String,
    pub id: String,
    pub subject_id: String,
    pub user_id: String,
    pub username: Option<String>,
    pub reason: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub granted: Option<bool>,
    pub until_ms: Option<i64>,
}

/// The longest a grant lasts.
pub const MAX_GRANT_HOURS: i64 = 24 * 30;

impl Store {
    /// Whether `scope` reads the sealed item `subject_id` of `county`: a named reader of
    /// the county, a holder of a grant still running, or the account that filed it.
    pub(crate) async fn may_read_sealed(
        &self,
        scope: &Scope,
        county: &str,
        subject_id: &str,
        filed_by: Option<&str>,
    ) -> Result<bool, StoreError> {
        if scope.is_system() || filed_by == Some(scope.user_id.as_str()) {
            return Ok(true);
        }
        let now = self.now_ms();
        let mut c = self.read().await?;
        let named: Option<(i32,)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT 1 FROM sealed_readers WHERE county_code = $1 AND user_id = $2"
        )
        .bind(county)
        .bind(&scope.user_id)
        .fetch_optional(&mut *c)
        .await)?;
        if named.is_some() {
            return Ok(true);
        }
        let granted: Option<(i32,)> = on!(c.conn(), |c| {
            sqlx::query_as(
            "SELECT 1 FROM sealed_access WHERE county_code = $1 AND user_id = $2 AND subject_id = $3
               AND granted AND until_ms > $4 LIMIT 1"
        )
        .bind(county)
        .bind(&scope.user_id)
        .bind(subject_id)
        .bind(now)
        .fetch_optional(&mut *c)
        .await
        })?;
        Ok(granted.is_some())
    }

    /// Names (or un-names) a reader of a county's sealed records.
    pub async fn set_sealed_reader(
        &self,
        scope: &Scope,
        county: DivisionCode,
        user_id: &str,
        reader: bool,
        ip: &str,
    ) -> Result<(), StoreError> {
        scope.check(Action::GrantSealedAccess, county)?;
        let user = self.user(scope, user_id).await?;
        if user.division.county_code() != county.county_code() {
            return Err(StoreError::invalid(
                "user_id",
                Invalid::new("user_elsewhere", "只能指定本县（区）的账户"),
            ));
        }
        let now = self.now_ms();
        let county = county.county_code();
        let mut tx = self.begin().await?;
        if reader {
            exec(
                &mut tx,
                "INSERT INTO sealed_readers (county_code, user_id, named_by, named_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (county_code, user_id) DO NOTHING",
                vec![county.clone().into(), user_id.into(), scope.username.clone().into(), now.into()],
            )
            .await?;
        } else {
            exec(
                &mut tx,
                "DELETE FROM sealed_readers WHERE county_code = $1 AND user_id = $2",
                vec![county.clone().into(), user_id.into()],
            )
            .await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(
                scope,
                if reader {
                    "sealed.name_reader"
                } else {
                    "sealed.unname_reader"
                },
                user_id,
            )
            .in_county(&county)
            .from_ip(ip),
        )
        .await?;
        tx.commit().await
    }

    /// The named readers of a county (user ids and usernames).
    pub async fn sealed_readers(
        &self,
        scope: &Scope,
        county: DivisionCode,
    ) -> Result<Vec<(String, String)>, StoreError> {
        scope.check(Action::GrantSealedAccess, county)?;
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT r.user_id, u.username FROM sealed_readers r JOIN users u ON u.id = r.user_id
             WHERE r.county_code = $1 ORDER BY u.username"
        )
        .bind(county.county_code())
        .fetch_all(&mut *c)
        .await)?)
    }

    /// Asks for time-limited access to a sealed report or case the caller may otherwise
    /// see; the office is told.
    pub async fn request_sealed_access(
        &self,
        scope: &Scope,
        subject_id: &str,
        reason: &str,
        ip: &str,
    ) -> Result<SealedRequest, StoreError> {
        scope.check_role(Action::ViewReports)?;
        // The item must be one the caller sees as withheld.
        let (county, withheld) = if let Ok(r) = self.report(scope, subject_id, ip).await {
            (r.county_code, r.withheld)
        } else {
            // A role that reads no cases learns nothing more than that no report is there.
            let c = self
                .case(scope, subject_id, ip)
                .await
                .map_err(|e| match e {
                    StoreError::Forbidden => StoreError::NotFound,
                    e => e,
                })?;
            (c.county_code, c.withheld)
        };
        if !withheld {
            return Err(StoreError::Conflict {
                field: "subject_id",
                code: "not_withheld",
                message: "您已能查看该记录，无需申请".into(),
            });
        }
        let reason = reason.trim();
        if reason.chars().count() < 4 || reason.chars().count() > 500 {
            return Err(StoreError::invalid(
                "reason",
                Invalid::new("reason_required", "请写明需要查看的理由（4 到 500 字）"),
            ));
        }
        let now = self.now_ms();
        let id = new_id();
        let county_code =
            DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "INSERT INTO sealed_access (county_code, id, subject_id, user_id, reason, requested_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                county.clone().into(),
                id.clone().into(),
                subject_id.into(),
                scope.user_id.clone().into(),
                reason.into(),
                now.into(),
            ],
        )
        .await?;
        let office = unit_for(
            &mut tx,
            county_code,
            weibao_domain::work::UnitKind::Office,
            now,
        )
        .await?;
        let mut s = Script::default();
        notify(
            &mut s,
            &county,
            Some(&office.id),
            None,
            "有 1 条查看封存记录的申请待审批",
            "/sealed",
            now,
            None,
        );
        s.run(tx.conn()).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "sealed.request", subject_id)
                .in_county(&county)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await?;
        self.sealed_request(&county, &id).await
    }

    async fn sealed_request(&self, county: &str, id: &str) -> Result<SealedRequest, StoreError> {
        let mut c = self.read().await?;
        let row: Option<SealedRequest> = on!(c.conn(), |c| {
            sqlx::query_as(
            "SELECT a.county_code, a.id, a.subject_id, a.user_id, u.username, a.reason, a.requested_at,
                    a.decided_by, a.decided_at, a.granted, a.until_ms
             FROM sealed_access a LEFT JOIN users u ON u.id = a.user_id
             WHERE a.county_code = $1 AND a.id = $2"
        )
        .bind(county)
        .bind(id)
        .fetch_optional(&mut *c)
        .await
        })?;
        row.ok_or(StoreError::NotFound)
    }

    /// The requests of a county, undecided first.
    pub async fn sealed_requests(
        &self,
        scope: &Scope,
        county: DivisionCode,
    ) -> Result<Vec<SealedRequest>, StoreError> {
        scope.check(Action::GrantSealedAccess, county)?;
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| {
            sqlx::query_as(
            "SELECT a.county_code, a.id, a.subject_id, a.user_id, u.username, a.reason, a.requested_at,
                    a.decided_by, a.decided_at, a.granted, a.until_ms
             FROM sealed_access a LEFT JOIN users u ON u.id = a.user_id
             WHERE a.county_code = $1 ORDER BY (a.decided_at IS NOT NULL), a.requested_at DESC LIMIT 200"
        )
        .bind(county.county_code())
        .fetch_all(&mut *c)
        .await
        })?)
    }

    /// Grants (for `hours`) or refuses a request.
    pub async fn decide_sealed_access(
        &self,
        scope: &Scope,
        id: &str,
        grant: bool,
        hours: i64,
        ip: &str,
    ) -> Result<SealedRequest, StoreError> {
        scope.check_role(Action::GrantSealedAccess)?;
        let home = scope.home().ok_or(StoreError::NotFound)?;
        let county = home.county_code();
        let request = self.sealed_request(&county, id).await?;
        if request.decided_at.is_some() {
            return Err(StoreError::Conflict {
                field: "id",
                code: "decided",
                message: "该申请已处理".into(),
            });
        }
        if grant && !(1..=MAX_GRANT_HOURS).contains(&hours) {
            return Err(StoreError::invalid(
                "hours",
                Invalid::new(
                    "hours_range",
                    format!("授权时长应为 1 到 {MAX_GRANT_HOURS} 小时"),
                ),
            ));
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "UPDATE sealed_access SET decided_by = $3, decided_at = $4, granted = $5, until_ms = $6
             WHERE county_code = $1 AND id = $2 AND decided_at IS NULL",
            vec![
                county.clone().into(),
                id.into(),
                scope.username.clone().into(),
                now.into(),
                grant.into(),
                (grant.then_some(now + hours * 3_600_000)).into(),
            ],
        )
        .await?;
        let mut s = Script::default();
        notify(
            &mut s,
            &county,
            None,
            Some(&request.user_id),
            if grant {
                "您查看封存记录的申请已获批准"
            } else {
                "您查看封存记录的申请未获批准"
            },
            "/inbox",
            now,
            None,
        );
        s.run(tx.conn()).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(
                scope,
                if grant {
                    "sealed.grant"
                } else {
                    "sealed.refuse"
                },
                &request.subject_id,
            )
            .in_county(&county)
            .from_ip(ip)
            .detail(format!(
                "request={id} user={} hours={hours}",
                request.user_id
            )),
        )
        .await?;
        tx.commit().await?;
        self.sealed_request(&county, id).await
    }
}
