//! Cases (个案), opened from a report or a visit's finding: their states (guarded by the
//! domain's rules), the assessment and the reply, measures taken as events, a plan of
//! tasks for units (work items with their due dates), case conferences whose decisions
//! become tasks, and closing with the office head's approval.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use weibao_domain::access::{Action, Role, Scope};
use weibao_domain::reports::case::{transition, CaseFacts, CaseState, Measure, TransitionRefused};
use weibao_domain::work::{UnitKind, WorkKind};
use weibao_domain::{DivisionCode, Invalid};

use super::referrals::ReferralTarget;
use super::report_number;
use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::work::units::unit_for;
use crate::work::{
    add_work, close_work, exec, grant, locate_in, new_id, notify, record_step, NewWork,
    TimelineEntry, WorkItem, WorkOwner,
};

/// The locator's kind of a case.
pub const CASE_KIND: &str = "case";

/// The sealed part of a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct CaseDetails {
    #[serde(default)]
    assessment: String,
    #[serde(default)]
    reply: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CaseRow {
    pub county_code: String,
    pub id: String,
    pub number: String,
    pub report_id: Option<String>,
    pub child_id: Option<String>,
    pub visit_id: Option<String>,
    pub division_code: String,
    pub state: String,
    pub lead_unit_id: String,
    pub details: String,
    pub assessed_at: Option<i64>,
    pub replied_at: Option<i64>,
    pub sealed: bool,
    pub opened_by: String,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub updated_at: i64,
    pub version: i64,
}

const CASE_COLUMNS: &str = "county_code, id, number, report_id, child_id, visit_id,
    division_code, state, lead_unit_id, details, assessed_at, replied_at, sealed, opened_by,
    opened_at, closed_at, updated_at, version";

/// A case as its reader may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCase {
    pub county_code: String,
    pub id: String,
    pub number: String,
    pub report_id: Option<String>,
    pub child_id: Option<String>,
    /// The visit whose finding led to it.
    pub visit_id: Option<String>,
    pub division_code: String,
    pub state: CaseState,
    pub lead_unit_id: String,
    pub lead_unit_name: String,
    /// Empty when withheld.
    pub assessment: String,
    pub reply: String,
    pub assessed_at: Option<i64>,
    pub replied_at: Option<i64>,
    pub sealed: bool,
    pub opened_by: String,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub updated_at: i64,
    pub version: i64,
    /// Sealed, and the reader may not read it.
    pub withheld: bool,
}

/// A case in a list.
pub type CaseSummary = StoredCase;

/// A task for a unit in a case plan.
#[derive(Debug, Clone)]
pub struct CaseTaskInput {
    pub unit: ReferralTarget,
    /// What is to be done; no names (it shows in inboxes and group robots' links).
    pub title: String,
    /// Default: the rule for case tasks (10 working days).
    pub due_on: Option<NaiveDate>,
}

/// A case conference (个案会商) as recorded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConferenceInput {
    pub held_on: Option<NaiveDate>,
    /// The units present (names as written).
    pub units: Vec<String>,
    /// The people present.
    pub people: Vec<String>,
    /// The facts shown.
    pub facts: String,
    pub minutes: String,
    /// Each decision: what, by which unit (its id), by when.
    pub decisions: Vec<ConferenceDecision>,
}

/// A decision of a conference; it becomes a task.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConferenceDecision {
    pub text: String,
    pub unit_id: String,
    pub due_on: Option<NaiveDate>,
}

/// A recorded conference.
#[derive(Debug, Clone)]
pub struct StoredConference {
    pub id: String,
    pub held_on: NaiveDate,
    pub convening_unit: String,
    pub record: ConferenceInput,
    pub recorded_by: String,
}

/// A measure as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMeasure {
    pub id: String,
    pub kind: Measure,
    pub taken_on: NaiveDate,
    pub detail: String,
    pub recorded_by: String,
}

impl Store {
    pub(crate) async fn case_row(&self, county: &str, id: &str) -> Result<CaseRow, StoreError> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE county_code = $1 AND id = $2");
        let mut c = self.read().await?;
        let row: Option<CaseRow> = on!(c.conn(), |c| sqlx::query_as(&sql)
            .bind(county)
            .bind(id)
            .fetch_optional(&mut *c)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    async fn located_case(&self, id: &str) -> Result<CaseRow, StoreError> {
        let county = self
            .locate_record(id, CASE_KIND)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.case_row(&county, id).await
    }

    /// Whether the caller may read a case: the office of its county, its lead unit and the
    /// units it was referred to or given tasks, the township's supervisor and the
    /// village's director; None when not at all.
    async fn may_read_case(&self, scope: &Scope, row: &CaseRow) -> Result<bool, StoreError> {
        if scope.is_system() {
            return Ok(true);
        }
        let division = DivisionCode::parse(&row.division_code).map_err(|_| StoreError::NotFound)?;
        Ok(match scope.role {
            Role::Office | Role::Supervisor | Role::Director => scope.reaches(division),
            Role::Unit => {
                let units = self.units_of(scope).await?;
                units.contains(&row.lead_unit_id)
                    || self
                        .unit_has_referral(scope, &row.county_code, &row.id)
                        .await?
                    || self
                        .unit_has_task(&units, &row.county_code, &row.id)
                        .await?
            }
            _ => false,
        })
    }

    async fn unit_has_task(
        &self,
        units: &[String],
        county: &str,
        case_id: &str,
    ) -> Result<bool, StoreError> {
        let mut c = self.read().await?;
        for unit in units {
            let row: Option<(i32,)> = on!(c.conn(), |c| {
                sqlx::query_as(
                "SELECT 1 FROM work_items WHERE county_code = $1 AND subject_id = $2 AND owner_unit_id = $3 LIMIT 1"
            )
            .bind(county)
            .bind(case_id)
            .bind(unit)
            .fetch_optional(&mut *c)
            .await
            })?;
            if row.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn case_view(&self, scope: &Scope, row: CaseRow) -> Result<StoredCase, StoreError> {
        let withheld = row.sealed
            && !self
                .may_read_sealed(scope, &row.county_code, &row.id, None)
                .await?;
        let details: CaseDetails = if withheld {
            CaseDetails::default()
        } else {
            let plain = self
                .keys()?
                .open(&format!("cases.details:{}", row.id), &row.details)?;
            serde_json::from_str(&plain).unwrap_or_default()
        };
        let lead = self.unit_by_id(&row.lead_unit_id).await?;
        Ok(StoredCase {
            state: CaseState::parse(&row.state).unwrap_or(CaseState::Accepted),
            lead_unit_name: lead.map(|u| u.name).unwrap_or_default(),
            assessment: details.assessment,
            reply: details.reply,
            withheld,
            county_code: row.county_code,
            id: row.id,
            number: row.number,
            report_id: row.report_id,
            child_id: row.child_id,
            visit_id: row.visit_id,
            division_code: row.division_code,
            lead_unit_id: row.lead_unit_id,
            assessed_at: row.assessed_at,
            replied_at: row.replied_at,
            sealed: row.sealed,
            opened_by: row.opened_by,
            opened_at: row.opened_at,
            closed_at: row.closed_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }

    /// Opens a case from a report (or for a ledger child directly), led by a unit (the
    /// office by default).
    pub async fn open_case(
        &self,
        scope: &Scope,
        report_id: Option<&str>,
        child_id: Option<&str>,
        lead: Option<ReferralTarget>,
        ip: &str,
    ) -> Result<StoredCase, StoreError> {
        scope.check_role(Action::ManageCases)?;
        let (division, child, sealed, report) = match (report_id, child_id) {
            (Some(r), _) => {
                // A report the caller cannot read answers as one that does not exist.
                let unknown = || {
                    StoreError::invalid(
                        "report_id",
                        Invalid::new("report_unknown", "report_id 不是已登记的报告"),
                    )
                };
                let row = self.report_row(r).await.map_err(|_| unknown())?;
                if self.report_reading(scope, &row).await?.is_none() {
                    return Err(unknown());
                }
                let at = DivisionCode::parse(&row.division_code).map_err(|_| unknown())?;
                scope.check(Action::ManageCases, at)?;
                if !weibao_domain::reports::ReportState::parse(&row.state)
                    .is_some_and(|s| s.is_open())
                {
                    return Err(StoreError::Conflict {
                        field: "report_id",
                        code: "report_closed",
                        message: "该报告已办结或已合并，不能立案".into(),
                    });
                }
                let existing: Option<(String,)> = {
                    let mut c = self.read().await?;
                    on!(c.conn(), |c| {
                        sqlx::query_as(
                        "SELECT number FROM cases WHERE county_code = $1 AND report_id = $2 LIMIT 1"
                    )
                    .bind(&row.county_code)
                    .bind(r)
                    .fetch_optional(&mut *c)
                    .await
                    })?
                };
                if let Some((number,)) = existing {
                    return Err(StoreError::Conflict {
                        field: "report_id",
                        code: "case_exists",
                        message: format!("该报告已立案（{number}）"),
                    });
                }
                (
                    row.division_code.clone(),
                    row.child_id.clone(),
                    row.sealed,
                    Some(row),
                )
            }
            (None, Some(c)) => {
                let child = self
                    .child_by_id(scope, c, weibao_domain::access::Action::ViewChildren)
                    .await?;
                (
                    child.record.division().full(),
                    Some(c.to_string()),
                    false,
                    None,
                )
            }
            (None, None) => {
                return Err(StoreError::invalid(
                    "report_id",
                    Invalid::new(
                        "subject_required",
                        "立案请给出 report_id（由报告立案）或 child_id",
                    ),
                ))
            }
        };
        let division_code = DivisionCode::parse(&division).map_err(|_| StoreError::NotFound)?;
        scope.check(Action::ManageCases, division_code)?;
        let county = division_code.county_code();
        let county_code =
            DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        let now = self.now_ms();
        let id = new_id();
        let number = report_number("A", now);
        let mut tx = self.begin().await?;
        let lead_unit = match lead {
            None => unit_for(&mut tx, county_code, UnitKind::Office, now).await?,
            Some(ReferralTarget::Unit(u)) => self
                .unit_by_id(&u)
                .await?
                .filter(|x| x.county_code == county)
                .ok_or_else(|| {
                    StoreError::invalid(
                        "lead_unit_id",
                        Invalid::new("unit_unknown", "牵头单位须为本县（区）登记的单位"),
                    )
                })?,
            Some(ReferralTarget::Kind(k)) if k.one_per_county() => {
                unit_for(&mut tx, county_code, k, now).await?
            }
            Some(ReferralTarget::Township(t)) => {
                unit_for(&mut tx, t, UnitKind::Township, now).await?
            }
            Some(ReferralTarget::Kind(_)) => {
                return Err(StoreError::invalid(
                    "lead_unit_id",
                    Invalid::new("unit_kind_named", "请按单位选择牵头单位"),
                ))
            }
        };
        let details = self.keys()?.seal(&format!("cases.details:{id}"), "{}");
        let mut s = Script::default();
        s.push(
            "INSERT INTO cases (county_code, id, number, report_id, child_id, visit_id, division_code,
                 state, lead_unit_id, details, sealed, opened_by, opened_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'accepted', $8, $9, $10, $11, $12, $12, 1)",
            vec![
                county.clone().into(),
                id.clone().into(),
                number.clone().into(),
                report_id.map(String::from).into(),
                child.clone().into(),
                report.as_ref().and_then(|r| r.visit_id.clone()).into(),
                division.clone().into(),
                lead_unit.id.clone().into(),
                details.into(),
                sealed.into(),
                scope.username.clone().into(),
                now.into(),
            ],
        );
        locate_in(&mut s, &id, &county, CASE_KIND);
        if let Some(r) = report_id {
            s.push(
                "UPDATE reports SET state = 'in_case', updated_at = $3 WHERE county_code = $1 AND id = $2",
                vec![county.clone().into(), r.into(), now.into()],
            );
        }
        if lead_unit.kind != UnitKind::Office {
            notify(
                &mut s,
                &county,
                Some(&lead_unit.id),
                None,
                "您单位牵头的 1 个个案已立案",
                &format!("/cases/{id}"),
                now,
                None,
            );
        }
        s.run(tx.conn()).await?;
        if let Some(r) = report_id {
            close_work(&mut tx, &county, r, &[WorkKind::Triage], now).await?;
        }
        if let (Some(c), true) = (&child, lead_unit.kind != UnitKind::Office) {
            grant(&mut tx, &county, c, &lead_unit.id, &id).await?;
        }
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &county,
            &id,
            scope,
            &unit,
            "受理立案",
            &format!("牵头单位：{}", lead_unit.name),
            now,
        )
        .await?;
        if let Some(r) = report_id {
            record_step(
                self,
                &mut tx,
                &county,
                r,
                scope,
                &unit,
                "立案",
                &format!("个案 {number}"),
                now,
            )
            .await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "case.open", &id)
                .in_county(&county)
                .from_ip(ip)
                .detail(report_id.unwrap_or_default()),
        )
        .await?;
        tx.commit().await?;
        let row = self.case_row(&county, &id).await?;
        self.case_view(scope, row).await
    }

    /// A case as the caller may see it (404 otherwise), the read audited.
    pub async fn case(&self, scope: &Scope, id: &str, ip: &str) -> Result<StoredCase, StoreError> {
        scope.check_role(Action::ViewCases)?;
        let row = self.located_case(id).await?;
        if !self.may_read_case(scope, &row).await? {
            return Err(StoreError::NotFound);
        }
        let county = row.county_code.clone();
        let case = self.case_view(scope, row).await?;
        self.audit(
            AuditEvent::by(
                scope,
                if case.withheld {
                    "case.read_withheld"
                } else {
                    "case.read"
                },
                id,
            )
            .in_county(&county)
            .from_ip(ip),
        )
        .await?;
        Ok(case)
    }

    /// Cases the caller may see, newest first, optionally only those in a state.
    pub async fn list_cases(
        &self,
        scope: &Scope,
        state: Option<CaseState>,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<StoredCase>, StoreError> {
        scope.check_role(Action::ViewCases)?;
        let Some(home) = scope.home() else {
            return Ok(vec![]);
        };
        let (lo, hi) = home.subtree_bounds();
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE county_code >= $1 AND county_code <= $2
               AND ($3 = '' OR state = $3) AND ($4 = 0 OR state NOT IN ('closed', 'declined', 'transferred_out'))
             ORDER BY opened_at DESC LIMIT $5"
        );
        let rows: Vec<CaseRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&lo[..6])
                .bind(&hi[..6])
                .bind(state.map(|s| s.code()).unwrap_or(""))
                .bind(i64::from(open_only))
                .bind(limit * 4)
                .fetch_all(&mut *c)
                .await)?
        };
        let mut out = Vec::new();
        for row in rows {
            if out.len() as i64 >= limit {
                break;
            }
            if self.may_read_case(scope, &row).await? {
                out.push(self.case_view(scope, row).await?);
            }
        }
        Ok(out)
    }

    /// The cases of a ledger child the caller may see (for the child's page).
    pub async fn child_cases(
        &self,
        scope: &Scope,
        child_id: &str,
    ) -> Result<Vec<StoredCase>, StoreError> {
        scope.check_role(Action::ViewCases)?;
        let child = self
            .child_by_id(scope, child_id, Action::ViewChildren)
            .await?;
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE county_code = $1 AND child_id = $2 ORDER BY opened_at DESC");
        let rows: Vec<CaseRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&child.county_code)
                .bind(child_id)
                .fetch_all(&mut *c)
                .await)?
        };
        let mut out = Vec::new();
        for row in rows {
            if self.may_read_case(scope, &row).await? {
                out.push(self.case_view(scope, row).await?);
            }
        }
        Ok(out)
    }

    /// A case for a change by the office of its county (the lead unit too, where `lead`).
    async fn case_for_change(
        &self,
        scope: &Scope,
        id: &str,
        lead_may: bool,
    ) -> Result<CaseRow, StoreError> {
        scope.check_role(Action::ViewCases)?;
        let row = self.located_case(id).await?;
        if !self.may_read_case(scope, &row).await? {
            return Err(StoreError::NotFound);
        }
        let division = DivisionCode::parse(&row.division_code).map_err(|_| StoreError::NotFound)?;
        let office = scope.is_system() || (scope.role == Role::Office && scope.reaches(division));
        let lead = lead_may && self.units_of(scope).await?.contains(&row.lead_unit_id);
        if !office && !lead {
            return Err(StoreError::Forbidden);
        }
        if row.sealed
            && !self
                .may_read_sealed(scope, &row.county_code, &row.id, None)
                .await?
        {
            return Err(StoreError::Forbidden);
        }
        Ok(row)
    }

    /// Moves a case to another state, as the rules allow (409 otherwise); closing needs an
    /// assessment, a reply and the office head.
    pub async fn transition_case(
        &self,
        scope: &Scope,
        id: &str,
        to: CaseState,
        reason: &str,
        ip: &str,
    ) -> Result<StoredCase, StoreError> {
        let row = self.case_for_change(scope, id, false).await?;
        let from = CaseState::parse(&row.state).unwrap_or(CaseState::Accepted);
        let facts = CaseFacts {
            assessed: row.assessed_at.is_some(),
            replied: row.replied_at.is_some(),
            by_head: scope.head,
        };
        transition(from, to, reason, facts).map_err(|e| match e {
            TransitionRefused::Forbidden(m) => StoreError::Conflict {
                field: "to",
                code: "transition_forbidden",
                message: m,
            },
            TransitionRefused::HeadOnly => StoreError::Conflict {
                field: "to",
                code: "head_approval",
                message: "结案须由未保办主任批准：请先提交结案申请".into(),
            },
            TransitionRefused::Reason(i) => StoreError::invalid("reason", i),
        })?;
        let now = self.now_ms();
        let county = row.county_code.clone();
        let mut tx = self.begin().await?;
        let changed = exec(
            &mut tx,
            "UPDATE cases SET state = $3, updated_at = $4, version = version + 1,
                 closed_at = CASE WHEN $5 THEN $4 ELSE closed_at END
             WHERE county_code = $1 AND id = $2 AND version = $6",
            vec![
                county.clone().into(),
                id.into(),
                to.code().into(),
                now.into(),
                to.is_final().into(),
                row.version.into(),
            ],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::Conflict {
                field: "id",
                code: "case_changed",
                message: "个案刚刚已被他人修改，请刷新后再试".into(),
            });
        }
        if to.is_final() {
            close_work(&mut tx, &county, id, &[WorkKind::ClosureApproval], now).await?;
            if let Some(r) = &row.report_id {
                if to == CaseState::Closed {
                    exec(
                        &mut tx,
                        "UPDATE reports SET state = 'closed', updated_at = $3 WHERE county_code = $1 AND id = $2 AND state = 'in_case'",
                        vec![county.clone().into(), r.clone().into(), now.into()],
                    )
                    .await?;
                }
            }
        }
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &county,
            id,
            scope,
            &unit,
            &format!("{} → {}", from.label(), to.label()),
            reason.trim(),
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "case.transition", id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("{} -> {}", from.code(), to.code())),
        )
        .await?;
        tx.commit().await?;
        let row = self.case_row(&county, id).await?;
        self.case_view(scope, row).await
    }

    /// Asks the office head to approve closing a case (the head is told; it waits in the
    /// head's inbox).
    pub async fn request_closure(
        &self,
        scope: &Scope,
        id: &str,
        note: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        let row = self.case_for_change(scope, id, false).await?;
        let facts_ok = row.assessed_at.is_some() && row.replied_at.is_some();
        if !facts_ok {
            return Err(StoreError::Conflict {
                field: "id",
                code: "transition_forbidden",
                message: "结案前须记录调查评估和答复意见".into(),
            });
        }
        if CaseState::parse(&row.state).is_none_or(|s| s.is_final()) {
            return Err(StoreError::Conflict {
                field: "id",
                code: "case_final",
                message: "个案已结束".into(),
            });
        }
        let now = self.now_ms();
        let county = row.county_code.clone();
        let county_code =
            DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        let due = self
            .due(&county, WorkKind::ClosureApproval, None, now)
            .await?;
        let mut tx = self.begin().await?;
        close_work(&mut tx, &county, id, &[WorkKind::ClosureApproval], now).await?;
        let office = unit_for(&mut tx, county_code, UnitKind::Office, now).await?;
        add_work(
            &mut tx,
            &NewWork {
                county: county.clone(),
                kind: WorkKind::ClosureApproval,
                subject_kind: CASE_KIND,
                subject_id: id.into(),
                title: "个案结案待审批".into(),
                owner: WorkOwner::Unit(office.id),
                urgency: 0,
                due,
                sealed: row.sealed,
            },
            now,
        )
        .await?;
        let heads: Vec<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT id FROM users WHERE role = 'office' AND head AND division_code LIKE $1"
        )
        .bind(format!("{county}%"))
        .fetch_all(&mut *c)
        .await)?;
        let mut s = Script::default();
        for (head,) in heads {
            notify(
                &mut s,
                &county,
                None,
                Some(&head),
                "有 1 个个案申请结案，待您审批",
                &format!("/cases/{id}"),
                now,
                None,
            );
        }
        s.run(tx.conn()).await?;
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &county,
            id,
            scope,
            &unit,
            "申请结案",
            note.trim(),
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "case.request_closure", id)
                .in_county(&county)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await
    }

    /// Records the assessment (调查评估) or the handling reply of a case.
    pub async fn record_case_text(
        &self,
        scope: &Scope,
        id: &str,
        assessment: Option<&str>,
        reply: Option<&str>,
        ip: &str,
    ) -> Result<StoredCase, StoreError> {
        let row = self.case_for_change(scope, id, false).await?;
        if CaseState::parse(&row.state).is_none_or(|s| s.is_final()) {
            return Err(StoreError::Conflict {
                field: "id",
                code: "case_final",
                message: "个案已结束，不能再修改".into(),
            });
        }
        let plain = self
            .keys()?
            .open(&format!("cases.details:{id}"), &row.details)?;
        let mut d: CaseDetails = serde_json::from_str(&plain).unwrap_or_default();
        let mut what = Vec::new();
        for (field, label, value, slot) in [
            ("assessment", "调查评估", assessment, &mut d.assessment),
            ("reply", "答复意见", reply, &mut d.reply),
        ] {
            if let Some(v) = value {
                // Counted as sent: the API document's maxLength says the same.

                let v_sent = v.chars().count();

                let v = v.trim();
                if v.is_empty() || v_sent > 5000 {
                    return Err(StoreError::invalid(
                        field,
                        Invalid::new("text_required", format!("请填写{label}（5000 字以内）")),
                    ));
                }
                *slot = v.to_string();
                what.push(label);
            }
        }
        if what.is_empty() {
            return Err(StoreError::invalid(
                "assessment",
                Invalid::new("text_required", "请填写调查评估或答复意见"),
            ));
        }
        let now = self.now_ms();
        let county = row.county_code.clone();
        let sealed = self.keys()?.seal(
            &format!("cases.details:{id}"),
            &serde_json::to_string(&d).expect("details serialise"),
        );
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "UPDATE cases SET details = $3, updated_at = $4, version = version + 1,
                 assessed_at = CASE WHEN $5 THEN $4 ELSE assessed_at END,
                 replied_at = CASE WHEN $6 THEN $4 ELSE replied_at END
             WHERE county_code = $1 AND id = $2",
            vec![
                county.clone().into(),
                id.into(),
                sealed.into(),
                now.into(),
                assessment.is_some().into(),
                reply.is_some().into(),
            ],
        )
        .await?;
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &county,
            id,
            scope,
            &unit,
            &format!("记录{}", what.join("、")),
            "",
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "case.record", id)
                .in_county(&county)
                .from_ip(ip)
                .detail(what.join(",")),
        )
        .await?;
        tx.commit().await?;
        let row = self.case_row(&county, id).await?;
        self.case_view(scope, row).await
    }

    /// Records a measure taken for the child (带离, 临时监护, 训诫 …).
    pub async fn add_measure(
        &self,
        scope: &Scope,
        id: &str,
        kind: Measure,
        taken_on: NaiveDate,
        detail: &str,
        ip: &str,
    ) -> Result<StoredMeasure, StoreError> {
        let row = self.case_for_change(scope, id, false).await?;
        let today = self.clock.today();
        if taken_on > today {
            return Err(StoreError::invalid(
                "taken_on",
                Invalid::new("date_future", "措施日期不能晚于今天"),
            ));
        }
        // Counted as sent: the API document's maxLength says the same.

        let detail_sent = detail.chars().count();

        let detail = detail.trim();
        if detail_sent > 2000 {
            return Err(StoreError::invalid(
                "detail",
                Invalid::new("too_long", "措施说明最多 2000 字"),
            ));
        }
        let now = self.now_ms();
        let county = row.county_code.clone();
        let mid = new_id();
        let sealed = self
            .keys()?
            .seal(&format!("case_measures.detail:{mid}"), detail);
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "INSERT INTO case_measures (county_code, case_id, id, kind, taken_on, unit_id, detail, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            vec![
                county.clone().into(),
                id.into(),
                mid.clone().into(),
                kind.code().into(),
                taken_on.into(),
                scope.unit_id.clone().into(),
                sealed.into(),
                scope.username.clone().into(),
                now.into(),
            ],
        )
        .await?;
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &county,
            id,
            scope,
            &unit,
            &format!("措施：{}", kind.label()),
            detail,
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "case.measure", id)
                .in_county(&county)
                .from_ip(ip)
                .detail(kind.code()),
        )
        .await?;
        tx.commit().await?;
        Ok(StoredMeasure {
            id: mid,
            kind,
            taken_on,
            detail: detail.into(),
            recorded_by: scope.username.clone(),
        })
    }

    /// The measures of a case (for a reader of it).
    pub async fn case_measures(&self, case: &StoredCase) -> Result<Vec<StoredMeasure>, StoreError> {
        if case.withheld {
            return Ok(vec![]);
        }
        let rows: Vec<(String, String, NaiveDate, String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, kind, taken_on, detail, recorded_by FROM case_measures
                 WHERE county_code = $1 AND case_id = $2 ORDER BY taken_on, recorded_at"
            )
            .bind(&case.county_code)
            .bind(&case.id)
            .fetch_all(&mut *c)
            .await)?
        };
        let keys = self.keys()?;
        rows.into_iter()
            .map(|(id, kind, taken_on, detail, recorded_by)| {
                Ok(StoredMeasure {
                    detail: keys.open(&format!("case_measures.detail:{id}"), &detail)?,
                    id,
                    kind: Measure::parse(&kind).unwrap_or(Measure::Counselling),
                    taken_on,
                    recorded_by,
                })
            })
            .collect()
    }

    /// Adds a task of the case plan for a unit, due by its date (or the rule's).
    pub async fn add_case_task(
        &self,
        scope: &Scope,
        id: &str,
        task: CaseTaskInput,
        ip: &str,
    ) -> Result<WorkItem, StoreError> {
        let row = self.case_for_change(scope, id, false).await?;
        let title = task.title.trim();
        if title.is_empty() || task.title.chars().count() > 100 {
            return Err(StoreError::invalid(
                "title",
                Invalid::new("title_required", "请写明任务（100 字以内，不要写儿童姓名）"),
            ));
        }
        let county = row.county_code.clone();
        let county_code =
            DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        let now = self.now_ms();
        let due = match task.due_on {
            Some(d) => {
                if d < self.clock.today() {
                    return Err(StoreError::invalid(
                        "due_on",
                        Invalid::new("date_past", "任务期限不能早于今天"),
                    ));
                }
                let cal = self.calendar().await?;
                weibao_domain::work::Deadline {
                    at_ms: weibao_domain::work::calendar::end_of_day_ms(d),
                    guessed_years: if cal.has_year(chrono::Datelike::year(&d)) {
                        vec![]
                    } else {
                        vec![chrono::Datelike::year(&d)]
                    },
                }
            }
            None => self.due(&county, WorkKind::CaseTask, None, now).await?,
        };
        let mut tx = self.begin().await?;
        let unit = match &task.unit {
            ReferralTarget::Unit(u) => self
                .unit_by_id(u)
                .await?
                .filter(|x| x.county_code == county && x.active)
                .ok_or_else(|| {
                    StoreError::invalid(
                        "unit_id",
                        Invalid::new("unit_unknown", "任务单位须为本县（区）登记的单位"),
                    )
                })?,
            ReferralTarget::Kind(k) if k.one_per_county() => {
                unit_for(&mut tx, county_code, *k, now).await?
            }
            ReferralTarget::Township(t) => unit_for(&mut tx, *t, UnitKind::Township, now).await?,
            ReferralTarget::Kind(_) => {
                return Err(StoreError::invalid(
                    "unit_id",
                    Invalid::new("unit_kind_named", "请按单位选择"),
                ))
            }
        };
        let work = add_work(
            &mut tx,
            &NewWork {
                county: county.clone(),
                kind: WorkKind::CaseTask,
                subject_kind: CASE_KIND,
                subject_id: id.into(),
                title: title.into(),
                owner: WorkOwner::Unit(unit.id.clone()),
                urgency: 0,
                due,
                sealed: row.sealed,
            },
            now,
        )
        .await?;
        if let Some(child) = &row.child_id {
            grant(&mut tx, &county, child, &unit.id, id).await?;
        }
        let mut s = Script::default();
        notify(
            &mut s,
            &county,
            Some(&unit.id),
            None,
            "您单位有 1 项新的个案任务",
            &format!("/cases/{id}"),
            now,
            None,
        );
        s.run(tx.conn()).await?;
        let actor = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &county,
            id,
            scope,
            &actor,
            "布置任务",
            &format!("{}：{title}", unit.name),
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "case.task", id)
                .in_county(&county)
                .from_ip(ip)
                .detail(&work),
        )
        .await?;
        tx.commit().await?;
        self.work_item(&Scope::system(), &work).await
    }

    /// The tasks of a case (done and open).
    pub async fn case_tasks(&self, case: &StoredCase) -> Result<Vec<WorkItem>, StoreError> {
        let sql = format!(
            "SELECT {} FROM work_items WHERE county_code = $1 AND subject_id = $2 AND kind = 'case_task'
             ORDER BY created_at",
            crate::work::WORK_COLUMNS
        );
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(&sql)
            .bind(&case.county_code)
            .bind(&case.id)
            .fetch_all(&mut *c)
            .await)?)
    }

    /// The unit that owns a task (or the office) marks it done, saying what was done.
    pub async fn complete_task(
        &self,
        scope: &Scope,
        work_id: &str,
        note: &str,
        ip: &str,
    ) -> Result<WorkItem, StoreError> {
        scope.check_role(Action::HandleReferrals)?;
        let item = self.work_item(scope, work_id).await?;
        if item.kind != WorkKind::CaseTask.as_str() && item.kind != WorkKind::Supervision.as_str() {
            return Err(StoreError::Conflict {
                field: "id",
                code: "not_a_task",
                message: "该事项由转介或报告的办理流程结束，不能直接标记完成".into(),
            });
        }
        if item.state != "open" {
            return Err(StoreError::Conflict {
                field: "id",
                code: "work_closed",
                message: "该任务已完成".into(),
            });
        }
        // Counted as sent: the API document's maxLength says the same.

        let note_sent = note.chars().count();

        let note = note.trim();
        if note.is_empty() || note_sent > 2000 {
            return Err(StoreError::invalid(
                "note",
                Invalid::new("note_required", "请写明完成情况（2000 字以内）"),
            ));
        }
        let now = self.now_ms();
        let county = item.county_code.clone();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "UPDATE work_items SET state = 'done', done_at = $3 WHERE county_code = $1 AND id = $2 AND state = 'open'",
            vec![county.clone().into(), work_id.into(), now.into()],
        )
        .await?;
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &county,
            &item.subject_id,
            scope,
            &unit,
            &format!("完成任务：{}", item.title),
            note,
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "work.complete", work_id)
                .in_county(&county)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await?;
        self.work_item(&Scope::system(), work_id).await
    }

    /// Records a case conference; each decision becomes a task for its unit.
    pub async fn hold_conference(
        &self,
        scope: &Scope,
        id: &str,
        input: ConferenceInput,
        ip: &str,
    ) -> Result<StoredConference, StoreError> {
        let row = self.case_for_change(scope, id, false).await?;
        let today = self.clock.today();
        let held_on = input.held_on.unwrap_or(today);
        if held_on > today {
            return Err(StoreError::invalid(
                "held_on",
                Invalid::new("date_future", "会商日期不能晚于今天"),
            ));
        }
        if input.minutes.trim().is_empty() || input.minutes.chars().count() > 10_000 {
            return Err(StoreError::invalid(
                "minutes",
                Invalid::new("minutes_required", "请填写会商纪要（10000 字以内）"),
            ));
        }
        if input.facts.chars().count() > 10_000 {
            return Err(StoreError::invalid(
                "facts",
                Invalid::new("too_long", "会商的事实情况请写在 10000 字以内"),
            ));
        }
        for (field, names, what) in [
            ("units", &input.units, "参加单位"),
            ("people", &input.people, "参加人员"),
        ] {
            if names.len() > 50 || names.iter().any(|n| n.chars().count() > 100) {
                return Err(StoreError::invalid(
                    field,
                    Invalid::new("too_long", format!("{what}最多 50 个，每个 100 字以内")),
                ));
            }
        }
        if input.units.is_empty() && input.people.is_empty() {
            return Err(StoreError::invalid(
                "units",
                Invalid::new("attendees_required", "请填写参加会商的单位或人员"),
            ));
        }
        if input.decisions.len() > 30 {
            return Err(StoreError::invalid(
                "decisions",
                Invalid::new("too_many", "一次会商最多 30 项决定"),
            ));
        }
        for d in &input.decisions {
            if d.text.trim().is_empty() || d.text.chars().count() > 100 {
                return Err(StoreError::invalid(
                    "decisions",
                    Invalid::new(
                        "decision_text",
                        "每项决定请写明要做什么（100 字以内，不要写儿童姓名）",
                    ),
                ));
            }
            if d.unit_id.trim().is_empty() {
                return Err(StoreError::invalid(
                    "decisions",
                    Invalid::new("decision_unit", "每项决定请选择负责单位"),
                ));
            }
        }
        let county = row.county_code.clone();
        let county_code =
            DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        let now = self.now_ms();
        let cid = new_id();
        let mut tx = self.begin().await?;
        let convening = match &scope.unit_id {
            Some(u) => u.clone(),
            None => {
                unit_for(&mut tx, county_code, UnitKind::Office, now)
                    .await?
                    .id
            }
        };
        let sealed = self.keys()?.seal(
            &format!("case_conferences.record:{cid}"),
            &serde_json::to_string(&input).expect("record serialises"),
        );
        let mut s = Script::default();
        s.push(
            "INSERT INTO case_conferences (county_code, id, case_id, held_on, convening_unit_id, record, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![county.clone().into(), cid.clone().into(), id.into(), held_on.into(), convening.clone().into(), sealed.into(), scope.username.clone().into(), now.into()],
        );
        locate_in(&mut s, &cid, &county, "conference");
        s.run(tx.conn()).await?;
        tx.commit().await?;
        for d in &input.decisions {
            self.add_case_task(
                scope,
                id,
                CaseTaskInput {
                    unit: ReferralTarget::Unit(d.unit_id.clone()),
                    title: d.text.clone(),
                    due_on: d.due_on,
                },
                ip,
            )
            .await?;
        }
        let mut tx = self.begin().await?;
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &county,
            id,
            scope,
            &unit,
            "个案会商",
            &format!("{held_on}，决定 {} 项", input.decisions.len()),
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "case.conference", id)
                .in_county(&county)
                .from_ip(ip)
                .detail(&cid),
        )
        .await?;
        tx.commit().await?;
        let name = self
            .unit_by_id(&convening)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        Ok(StoredConference {
            id: cid,
            held_on,
            convening_unit: name,
            record: input,
            recorded_by: scope.username.clone(),
        })
    }

    /// The conferences of a case.
    pub async fn case_conferences(
        &self,
        case: &StoredCase,
    ) -> Result<Vec<StoredConference>, StoreError> {
        if case.withheld {
            return Ok(vec![]);
        }
        let rows: Vec<(String, NaiveDate, String, String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, held_on, convening_unit_id, record, recorded_by FROM case_conferences
                 WHERE county_code = $1 AND case_id = $2 ORDER BY held_on, recorded_at"
            )
            .bind(&case.county_code)
            .bind(&case.id)
            .fetch_all(&mut *c)
            .await)?
        };
        let keys = self.keys()?;
        let mut out = Vec::new();
        for (id, held_on, unit, record, recorded_by) in rows {
            let plain = keys.open(&format!("case_conferences.record:{id}"), &record)?;
            out.push(StoredConference {
                convening_unit: self
                    .unit_by_id(&unit)
                    .await?
                    .map(|u| u.name)
                    .unwrap_or_default(),
                record: serde_json::from_str(&plain).unwrap_or_default(),
                id,
                held_on,
                recorded_by,
            });
        }
        Ok(out)
    }

    /// The timeline of a case and its referrals.
    pub async fn case_timeline(
        &self,
        scope: &Scope,
        case: &StoredCase,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        if case.withheld {
            return Ok(vec![]);
        }
        let mut subjects = vec![case.id.clone()];
        subjects.extend(
            self.referrals_of(scope, &case.county_code, &case.id)
                .await?
                .into_iter()
                .map(|r| r.id),
        );
        self.timeline_of(&case.county_code, &subjects).await
    }
}
