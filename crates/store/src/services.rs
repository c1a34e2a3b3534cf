//! Purchased services and volunteers: agencies, contracts, social workers and volunteers,
//! and the services they give, in hours. The rules are the domain's
//! (weibao_domain::services).
//!
//! An agency is a unit of the registry (kind 社工机构, so referrals and tasks can go to it)
//! with its 统一社会信用代码 checked. Who: the county office keeps agencies, contracts and
//! workers; the office and the townships' supervisors record services (a township: to the
//! children of its villages, at its activities) and see the figures of what they reach.

use chrono::NaiveDate;
use weibao_domain::access::{Action, Scope};
use weibao_domain::services::{
    progress, AgencyInput, ContractInput, Progress, ServiceInput, WorkerInput,
};
use weibao_domain::work::UnitKind;
use weibao_domain::{DivisionCode, Invalid, Level};

use crate::audit::{append, AuditEvent};
use crate::committee::date_text;
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::work::{insert_unit, new_id};

/// An agency with its unit's name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AgencyRecord {
    pub id: String,
    pub county_code: String,
    pub name: String,
    pub credit_code: String,
    pub override_reason: String,
    pub contact: String,
    pub phone: String,
}

/// A contract with what has been delivered on it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContractRecord {
    pub id: String,
    pub agency_id: String,
    pub agency_name: String,
    pub project: String,
    pub amount_fen: i64,
    pub starts_on: String,
    pub ends_on: String,
    pub target_children: i64,
    pub required_minutes: i64,
    pub delivered_minutes: i64,
    pub children_served: i64,
    pub workers: i64,
}

impl ContractRecord {
    /// Where the contract stands on `today`.
    pub fn progress(&self, today: NaiveDate) -> Progress {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(today);
        progress(
            d(&self.starts_on),
            d(&self.ends_on),
            self.required_minutes,
            self.delivered_minutes,
            today,
        )
    }
}

/// A social worker or volunteer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WorkerRecord {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub qualification: String,
    pub agency_id: Option<String>,
    pub active: bool,
}

/// A service given.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ServiceRecord {
    pub id: String,
    pub worker_id: String,
    pub worker_name: String,
    pub contract_id: Option<String>,
    pub child_id: Option<String>,
    pub activity_id: Option<String>,
    pub division_code: String,
    pub kind: String,
    pub served_on: String,
    pub minutes: i64,
    pub note: String,
}

/// A service to record: who gave it, under which contract, to whom.
#[derive(Debug, Clone, Default)]
pub struct NewService {
    pub input: ServiceInput,
    pub worker_id: String,
    pub contract_id: Option<String>,
    pub child_id: Option<String>,
    pub activity_id: Option<String>,
}

/// The figures the seeds quote ("980名社工和志愿者'点对点'帮扶1900多名困境未成年人"), for
/// what the caller reaches in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct ServiceTotals {
    pub records: i64,
    pub minutes: i64,
    /// Workers who gave at least one service.
    pub workers: i64,
    pub social_workers: i64,
    pub volunteers: i64,
    pub children_served: i64,
}

/// Most rows listed at once.
const MAX_LISTED: i64 = 2000;

impl Store {
    /// The county the caller keeps or follows services in, and the division whose
    /// services it reaches.
    fn service_reach(
        &self,
        scope: &Scope,
        action: Action,
    ) -> Result<(String, DivisionCode), StoreError> {
        scope.check_role(action)?;
        let home = scope.home().ok_or(StoreError::Forbidden)?;
        if home.level() < Level::County {
            return Err(StoreError::invalid(
                "county",
                Invalid::new("division_level", "购买服务按县管理：请用县级或以下账号"),
            ));
        }
        Ok((home.county_code(), home))
    }

    /// Registers an agency: a unit of kind 社工机构 in the caller's county, with its credit
    /// code (a code failing its check character only with a reason).
    pub async fn add_agency(
        &self,
        scope: &Scope,
        input: AgencyInput,
        ip: &str,
    ) -> Result<AgencyRecord, StoreError> {
        let (county, _) = self.service_reach(scope, Action::ManageServices)?;
        let a = input.check().map_err(|(f, e)| StoreError::invalid(f, e))?;
        let division = DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let taken: Option<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT id FROM service_agencies WHERE county_code = $1 AND credit_code = $2"
        )
        .bind(&county)
        .bind(a.credit_code.as_str())
        .fetch_optional(&mut *c)
        .await)?;
        if taken.is_some() {
            return Err(StoreError::Conflict {
                field: "credit_code",
                code: "agency_registered",
                message: format!(
                    "统一社会信用代码 {} 的机构已登记，请在机构列表中查看",
                    a.credit_code.as_str()
                ),
            });
        }
        let unit = insert_unit(
            &mut tx,
            &county,
            division,
            UnitKind::Agency,
            &a.name,
            &[],
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { message, .. } => StoreError::Conflict {
                field: "name",
                code: "unit_name_taken",
                message,
            },
            other => other,
        })?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO service_agencies (county_code, id, credit_code, override_reason,
                 contact, phone, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(&county)
        .bind(&unit.id)
        .bind(a.credit_code.as_str())
        .bind(a.credit_code.override_reason().unwrap_or(""))
        .bind(&a.contact)
        .bind(&a.phone)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "service.agency", &unit.id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!(
                    "{} {}{}",
                    a.credit_code.as_str(),
                    a.name,
                    if a.credit_code.override_reason().is_some() {
                        " (check overridden)"
                    } else {
                        ""
                    }
                )),
        )
        .await?;
        tx.commit().await?;
        self.agencies(scope)
            .await?
            .into_iter()
            .find(|x| x.id == unit.id)
            .ok_or(StoreError::NotFound)
    }

    /// The county's agencies.
    pub async fn agencies(&self, scope: &Scope) -> Result<Vec<AgencyRecord>, StoreError> {
        let (county, _) = self.service_reach(scope, Action::ViewServices)?;
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT a.id, a.county_code, u.name, a.credit_code, a.override_reason, a.contact,
                    a.phone
             FROM service_agencies a JOIN units u ON u.county_code = a.county_code AND u.id = a.id
             WHERE a.county_code = $1 ORDER BY u.name LIMIT $2"
        )
        .bind(&county)
        .bind(MAX_LISTED)
        .fetch_all(&mut *c)
        .await)?)
    }

    async fn agency_in(&self, county: &str, id: &str) -> Result<(), StoreError> {
        let mut c = self.read().await?;
        let found: Option<(String,)> = on!(c.conn(), |c| sqlx::query_as(
            "SELECT id FROM service_agencies WHERE county_code = $1 AND id = $2"
        )
        .bind(county)
        .bind(id.trim())
        .fetch_optional(&mut *c)
        .await)?;
        found.map(|_| ()).ok_or_else(|| {
            StoreError::invalid(
                "agency_id",
                Invalid::new(
                    "agency_unknown",
                    "机构不在本县的服务机构名录中，请先登记机构",
                ),
            )
        })
    }

    /// Signs a contract with an agency.
    pub async fn add_contract(
        &self,
        scope: &Scope,
        agency_id: &str,
        input: ContractInput,
        ip: &str,
    ) -> Result<ContractRecord, StoreError> {
        let (county, _) = self.service_reach(scope, Action::ManageServices)?;
        self.agency_in(&county, agency_id).await?;
        let c = input.check().map_err(|(f, e)| StoreError::invalid(f, e))?;
        let id = new_id();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |x| sqlx::query(
            "INSERT INTO service_contracts (county_code, id, agency_id, project, amount_fen,
                 starts_on, ends_on, target_children, required_minutes, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )
        .bind(&county)
        .bind(&id)
        .bind(agency_id.trim())
        .bind(&c.project)
        .bind(c.amount.fen())
        .bind(date_text(c.starts_on))
        .bind(date_text(c.ends_on))
        .bind(c.target_children)
        .bind(c.required_minutes)
        .bind(&scope.user_id)
        .bind(now)
        .execute(&mut *x)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "service.contract", &id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!(
                    "agency={} amount_fen={}",
                    agency_id.trim(),
                    c.amount.fen()
                )),
        )
        .await?;
        tx.commit().await?;
        self.contracts(scope)
            .await?
            .into_iter()
            .find(|x| x.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// The county's contracts with their hours delivered, children served and workers.
    pub async fn contracts(&self, scope: &Scope) -> Result<Vec<ContractRecord>, StoreError> {
        let (county, _) = self.service_reach(scope, Action::ViewServices)?;
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT k.id, k.agency_id, u.name AS agency_name, k.project, k.amount_fen,
                    k.starts_on, k.ends_on, k.target_children, k.required_minutes,
                    CAST(COALESCE(SUM(r.minutes), 0) AS BIGINT) AS delivered_minutes,
                    COUNT(DISTINCT r.child_id) AS children_served,
                    COUNT(DISTINCT r.worker_id) AS workers
             FROM service_contracts k
             JOIN units u ON u.county_code = k.county_code AND u.id = k.agency_id
             LEFT JOIN service_records r
               ON r.county_code = k.county_code AND r.contract_id = k.id
             WHERE k.county_code = $1
             GROUP BY k.id, k.agency_id, u.name, k.project, k.amount_fen, k.starts_on,
                      k.ends_on, k.target_children, k.required_minutes
             ORDER BY k.starts_on DESC, k.project LIMIT $2"
        )
        .bind(&county)
        .bind(MAX_LISTED)
        .fetch_all(&mut *c)
        .await)?)
    }

    /// Registers a social worker or volunteer (of an agency, or of none).
    pub async fn add_worker(
        &self,
        scope: &Scope,
        input: WorkerInput,
        agency_id: Option<&str>,
        ip: &str,
    ) -> Result<WorkerRecord, StoreError> {
        let (county, _) = self.service_reach(scope, Action::ManageServices)?;
        let w = input.check().map_err(|(f, e)| StoreError::invalid(f, e))?;
        let agency = agency_id.map(str::trim).filter(|a| !a.is_empty());
        if let Some(a) = agency {
            self.agency_in(&county, a).await?;
        }
        let id = new_id();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO service_workers (county_code, id, kind, name, qualification,
                 agency_id, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7)"
        )
        .bind(&county)
        .bind(&id)
        .bind(w.kind.code())
        .bind(&w.name)
        .bind(w.qualification.code())
        .bind(agency)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "service.worker", &id)
                .in_county(&county)
                .from_ip(ip)
                .detail(w.kind.code()),
        )
        .await?;
        tx.commit().await?;
        Ok(WorkerRecord {
            id,
            kind: w.kind.code().into(),
            name: w.name,
            qualification: w.qualification.code().into(),
            agency_id: agency.map(Into::into),
            active: true,
        })
    }

    /// The county's social workers and volunteers.
    pub async fn workers(&self, scope: &Scope) -> Result<Vec<WorkerRecord>, StoreError> {
        let (county, _) = self.service_reach(scope, Action::ViewServices)?;
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT id, kind, name, qualification, agency_id, active FROM service_workers
             WHERE county_code = $1 ORDER BY kind, name LIMIT $2"
        )
        .bind(&county)
        .bind(MAX_LISTED)
        .fetch_all(&mut *c)
        .await)?)
    }

    /// Records a service: to a child of the caller's reach, or at an activity it sees
    /// (one of the two), by a worker of the county, under one of its contracts or none.
    pub async fn add_service(
        &self,
        scope: &Scope,
        new: NewService,
        ip: &str,
    ) -> Result<ServiceRecord, StoreError> {
        let (county, _) = self.service_reach(scope, Action::RecordServices)?;
        let s = new
            .input
            .check(self.clock().today())
            .map_err(|(f, e)| StoreError::invalid(f, e))?;
        let child_id = new.child_id.filter(|c| !c.trim().is_empty());
        let activity_id = new.activity_id.filter(|c| !c.trim().is_empty());
        let division = match (&child_id, &activity_id) {
            (Some(child), None) => {
                let child = self
                    .child_by_id(scope, child, Action::ViewChildren)
                    .await
                    .map_err(|_| {
                        StoreError::invalid(
                            "child_id",
                            Invalid::new("child_unknown", "服务对象不在您管辖的儿童台账中，请核对"),
                        )
                    })?;
                child.record.division()
            }
            (None, Some(activity)) => {
                let (a, _) = self.activity(scope, activity).await.map_err(|_| {
                    StoreError::invalid(
                        "activity_id",
                        Invalid::new("activity_unknown", "活动不存在或不在您的管辖范围内"),
                    )
                })?;
                DivisionCode::parse(&a.division_code).map_err(|e| StoreError::Config(e.message))?
            }
            _ => return Err(StoreError::invalid(
                "child_id",
                Invalid::new(
                    "service_target",
                    "请选择服务对象：一名台账儿童（child_id）或一次活动（activity_id），二者选一",
                ),
            )),
        };
        if division.county_code() != county {
            return Err(StoreError::NotFound);
        }
        let worker: Option<(String,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT name FROM service_workers WHERE county_code = $1 AND id = $2 AND active"
            )
            .bind(&county)
            .bind(new.worker_id.trim())
            .fetch_optional(&mut *c)
            .await)?
        };
        let Some((worker_name,)) = worker else {
            return Err(StoreError::invalid(
                "worker_id",
                Invalid::new(
                    "worker_unknown",
                    "服务人员不在本县的社工和志愿者名录中，请先登记",
                ),
            ));
        };
        let contract_id = new.contract_id.filter(|c| !c.trim().is_empty());
        if let Some(k) = &contract_id {
            let found = self
                .contracts(scope)
                .await?
                .into_iter()
                .find(|c| &c.id == k)
                .ok_or_else(|| {
                    StoreError::invalid(
                        "contract_id",
                        Invalid::new("contract_unknown", "服务合同不存在，请从本县合同中选择"),
                    )
                })?;
            let served = date_text(s.served_on);
            if served < found.starts_on || served > found.ends_on {
                return Err(StoreError::invalid(
                    "served_on",
                    Invalid::new(
                        "outside_contract",
                        format!(
                            "服务日期不在合同期（{} 至 {}）内；合同外的服务请不选合同",
                            found.starts_on, found.ends_on
                        ),
                    ),
                ));
            }
        }
        let id = new_id();
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO service_records (county_code, id, worker_id, contract_id, child_id,
                 activity_id, division_code, kind, served_on, minutes, note, created_by,
                 created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )
        .bind(&county)
        .bind(&id)
        .bind(new.worker_id.trim())
        .bind(&contract_id)
        .bind(&child_id)
        .bind(&activity_id)
        .bind(division.full())
        .bind(s.kind.code())
        .bind(date_text(s.served_on))
        .bind(s.minutes)
        .bind(&s.note)
        .bind(&scope.user_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "service.record", &id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("minutes={} kind={}", s.minutes, s.kind.code())),
        )
        .await?;
        tx.commit().await?;
        Ok(ServiceRecord {
            id,
            worker_id: new.worker_id.trim().into(),
            worker_name,
            contract_id,
            child_id,
            activity_id,
            division_code: division.full(),
            kind: s.kind.code().into(),
            served_on: date_text(s.served_on),
            minutes: s.minutes,
            note: s.note,
        })
    }

    /// The services given within the caller's reach in a period, newest first.
    pub async fn services(
        &self,
        scope: &Scope,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<ServiceRecord>, StoreError> {
        let (county, home) = self.service_reach(scope, Action::ViewServices)?;
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT r.id, r.worker_id, w.name AS worker_name, r.contract_id, r.child_id,
                    r.activity_id, r.division_code, r.kind, r.served_on, r.minutes, r.note
             FROM service_records r
             JOIN service_workers w ON w.county_code = r.county_code AND w.id = r.worker_id
             WHERE r.county_code = $1 AND r.division_code LIKE $2
               AND r.served_on >= $3 AND r.served_on <= $4
             ORDER BY r.served_on DESC, r.created_at DESC LIMIT $5"
        )
        .bind(&county)
        .bind(format!("{}%", home.prefix()))
        .bind(from.map(date_text).unwrap_or_default())
        .bind(to.map(date_text).unwrap_or_else(|| "9999-12-31".into()))
        .bind(MAX_LISTED)
        .fetch_all(&mut *c)
        .await)?)
    }

    /// The figures of the services within the caller's reach in a period.
    pub async fn service_totals(
        &self,
        scope: &Scope,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<ServiceTotals, StoreError> {
        let (county, home) = self.service_reach(scope, Action::ViewServices)?;
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT COUNT(*) AS records, CAST(COALESCE(SUM(r.minutes), 0) AS BIGINT) AS minutes,
                    COUNT(DISTINCT r.worker_id) AS workers,
                    COUNT(DISTINCT CASE WHEN w.kind = 'social_worker' THEN r.worker_id END)
                        AS social_workers,
                    COUNT(DISTINCT CASE WHEN w.kind = 'volunteer' THEN r.worker_id END)
                        AS volunteers,
                    COUNT(DISTINCT r.child_id) AS children_served
             FROM service_records r
             JOIN service_workers w ON w.county_code = r.county_code AND w.id = r.worker_id
             WHERE r.county_code = $1 AND r.division_code LIKE $2
               AND r.served_on >= $3 AND r.served_on <= $4"
        )
        .bind(&county)
        .bind(format!("{}%", home.prefix()))
        .bind(from.map(date_text).unwrap_or_default())
        .bind(to.map(date_text).unwrap_or_else(|| "9999-12-31".into()))
        .fetch_one(&mut *c)
        .await)?)
    }
}
