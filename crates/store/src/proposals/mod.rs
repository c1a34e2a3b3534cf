//! Proposals from the people's congress and the CPPCC and their handling (建议提案办理),
//! in a county: the office registers a proposal as it was assigned, with its lead unit
//! (主办) and co-units (协办); the co-units send the lead unit their opinions; the lead unit
//! replies with an implementation class (A/B/C); the office reviews the reply (通过, or 退回
//! with a reason) and records the proposer's rating, where 不满意 sends it back to be
//! handled again. The rules of the steps are the domain's (weibao_domain::proposals).
//!
//! The reply's deadline is a work item of the lead unit (WorkKind::ProposalReply: three
//! calendar months from assignment, or the county's own span), in its inbox; handling it
//! again is another (WorkKind::ProposalRework). The office supervises either through the
//! engine (督办, 挂牌督办, 限时整改) like any work item, and a late one is listed overdue.
//!
//! Who: the office of the county does it all; a member unit's liaison (or a township's
//! supervisor, for its township's unit) sees the proposals its unit leads or works on,
//! replies to those it leads and sends opinions on those it works on.

mod reply;

pub use reply::{ReplyDraft, MAX_REPLY_FILES};

use chrono::NaiveDate;
use weibao_domain::access::{Action, Role, Scope};
use weibao_domain::proposals::{
    reply_due, CheckedProposal, ImplementationClass, ProposalInput, ProposalState, Satisfaction,
    Step, DEFAULT_REPLY_MONTHS,
};
use weibao_domain::work::calendar::{end_of_day_ms, start_of_day_ms};
use weibao_domain::work::{Deadline, UnitKind, WorkKind};
use weibao_domain::{DivisionCode, Invalid};

use crate::audit::{append, AuditEvent};
use crate::committee::date_text;
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::work::{add_work, close_work, exec, locate_in, new_id, notify, NewWork, WorkOwner};

/// A proposal, with its current work item's deadline and supervision.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Proposal {
    pub county_code: String,
    pub id: String,
    pub kind: String,
    pub year: i64,
    pub session: String,
    pub number: String,
    pub category: String,
    pub title: String,
    pub body: String,
    pub proposer: String,
    /// JSON list, as stored; see [`Proposal::co_signer_names`].
    pub co_signers: String,
    pub key_item: bool,
    pub assigned_on: String,
    pub supervisor: String,
    pub lead_unit_id: String,
    /// JSON list of unit ids; see [`Proposal::co_units`].
    pub co_unit_ids: String,
    pub state: String,
    pub class: Option<String>,
    pub reply: String,
    pub replied_at: Option<i64>,
    pub satisfaction: Option<String>,
    pub work_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub due_at: Option<i64>,
    /// The work item's: 0 none, 1 督办, 2 挂牌督办, 3 限时整改.
    pub supervision: i32,
    pub supervision_due_at: Option<i64>,
    pub supervision_note: String,
    pub escalated_at: Option<i64>,
}

impl Proposal {
    pub fn co_units(&self) -> Vec<String> {
        serde_json::from_str(&self.co_unit_ids).unwrap_or_default()
    }

    pub fn co_signer_names(&self) -> Vec<String> {
        serde_json::from_str(&self.co_signers).unwrap_or_default()
    }

    pub fn state(&self) -> ProposalState {
        ProposalState::parse(&self.state).unwrap_or(ProposalState::Assigned)
    }

    /// The lead unit owes a reply and its deadline (or its supervision's) has passed.
    pub fn overdue(&self, now: i64) -> bool {
        self.state().awaits_reply()
            && (self.due_at.is_some_and(|d| d < now)
                || self.supervision_due_at.is_some_and(|d| d < now))
    }

    fn involves(&self, units: &[String]) -> bool {
        units.contains(&self.lead_unit_id) || self.co_units().iter().any(|u| units.contains(u))
    }
}

const SELECT: &str = "SELECT p.county_code, p.id, p.kind, p.year, p.session, p.number,
        p.category, p.title, p.body, p.proposer, p.co_signers, p.key_item, p.assigned_on,
        p.supervisor, p.lead_unit_id, p.co_unit_ids, p.state, p.class, p.reply, p.replied_at,
        p.satisfaction, p.work_id, p.created_at, p.updated_at,
        CASE WHEN w.state = 'open' THEN w.due_at END AS due_at,
        COALESCE(CASE WHEN w.state = 'open' THEN w.supervision END, 0) AS supervision,
        CASE WHEN w.state = 'open' THEN w.supervision_due_at END AS supervision_due_at,
        COALESCE(w.supervision_note, '') AS supervision_note, w.escalated_at
    FROM proposals p LEFT JOIN work_items w ON w.county_code = p.county_code AND w.id = p.work_id";

/// A step of a proposal's handling.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProposalStep {
    pub id: String,
    /// opinion, reply, passed, returned, rated
    pub step: String,
    pub unit_id: Option<String>,
    pub class: Option<String>,
    pub satisfaction: Option<String>,
    pub note: String,
    pub by_user: String,
    pub at: i64,
}

/// A proposal to register: as typed, with its handling units.
#[derive(Debug, Clone, Default)]
pub struct NewProposal {
    pub input: ProposalInput,
    /// 督办部门及领导 (区政府督查室 / 张副区长).
    pub supervisor: String,
    pub lead_unit_id: String,
    pub co_unit_ids: Vec<String>,
}

/// Which proposals to list.
#[derive(Debug, Clone, Default)]
pub struct ProposalFilter {
    pub year: Option<i32>,
    pub state: Option<ProposalState>,
    /// Only those past their reply's deadline.
    pub overdue: bool,
}

/// Most proposals a county lists at once.
const MAX_LISTED: i64 = 2000;

fn conflict(code: &'static str, message: String) -> StoreError {
    StoreError::Conflict {
        field: "state",
        code,
        message,
    }
}

fn refused(e: Invalid) -> StoreError {
    conflict("proposal_state", e.message)
}

fn note(
    field: &'static str,
    text: &str,
    max: usize,
    required: Option<&str>,
) -> Result<String, StoreError> {
    let sent = text.chars().count();
    let text = text.trim();
    if sent > max || (required.is_some() && text.is_empty()) {
        let message = match required {
            Some(what) => format!("请填写{what}（{max} 字以内）"),
            None => format!("不能超过 {max} 字"),
        };
        return Err(StoreError::invalid(
            field,
            Invalid::new("text_length", message),
        ));
    }
    Ok(text.to_string())
}

impl Store {
    /// The reply is the lead unit's (the office may enter it for the unit).
    async fn check_lead(&self, scope: &Scope, p: &Proposal) -> Result<(), StoreError> {
        if scope.role == Role::Office
            || scope.is_system()
            || self.acting_units(scope).await?.contains(&p.lead_unit_id)
        {
            Ok(())
        } else {
            Err(conflict(
                "lead_replies",
                "答复由主办单位提交；协办单位请提出协办意见".into(),
            ))
        }
    }

    /// When a proposal assigned on `assigned_on` must be answered in `county`: the county's
    /// own span for proposal_reply, counted from the assignment's morning, else three
    /// calendar months (the end of that day).
    async fn proposal_due(
        &self,
        county: &str,
        assigned_on: NaiveDate,
    ) -> Result<Deadline, StoreError> {
        match self
            .deadline_rules(county)
            .await?
            .local(WorkKind::ProposalReply)
        {
            Some(span) => {
                self.deadline_after(start_of_day_ms(assigned_on), span)
                    .await
            }
            None => Ok(Deadline {
                at_ms: end_of_day_ms(reply_due(assigned_on, DEFAULT_REPLY_MONTHS)),
                guessed_years: vec![],
            }),
        }
    }

    /// Registers a proposal as assigned: the lead unit gets it in its inbox with its
    /// deadline, the co-units hear of it.
    pub async fn add_proposal(
        &self,
        scope: &Scope,
        county: DivisionCode,
        p: NewProposal,
        ip: &str,
    ) -> Result<Proposal, StoreError> {
        self.check_committee(scope, Action::ManageCommittee, county)?;
        let today = self.clock().today();
        let checked = p
            .input
            .check(today)
            .map_err(|(f, e)| StoreError::invalid(f, e))?;
        let supervisor = note("supervisor", &p.supervisor, 100, None)?;
        let lead = self
            .committee_unit(county, &p.lead_unit_id, "lead_unit_id")
            .await?;
        if p.co_unit_ids.len() > 40 {
            return Err(StoreError::invalid(
                "co_unit_ids",
                Invalid::new("too_many", "协办单位最多 40 个"),
            ));
        }
        let mut co: Vec<String> = Vec::new();
        for u in &p.co_unit_ids {
            let unit = self.committee_unit(county, u, "co_unit_ids").await?;
            if unit.id != lead.id && !co.contains(&unit.id) {
                co.push(unit.id);
            }
        }
        let county_code = county.county_code();
        let due = self.proposal_due(&county_code, checked.assigned_on).await?;
        let now = self.now_ms();
        let id = new_id();
        let mut tx = self.begin().await?;
        let work_id = proposal_work(
            &mut tx,
            &county_code,
            &id,
            &checked,
            &lead.id,
            WorkKind::ProposalReply,
            due,
            now,
        )
        .await?;
        let inserted = exec(
            &mut tx,
            "INSERT INTO proposals (county_code, id, kind, year, session, number, category,
                 title, body, proposer, co_signers, key_item, assigned_on, supervisor,
                 lead_unit_id, co_unit_ids, state, class, reply, replied_at, satisfaction,
                 work_id, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 'assigned', NULL, '', NULL, NULL, $17, $18, $19, $19)
             ON CONFLICT DO NOTHING",
            vec![
                county_code.clone().into(),
                id.clone().into(),
                checked.kind.code().into(),
                i64::from(checked.year).into(),
                checked.session.clone().into(),
                checked.number.clone().into(),
                checked.category.clone().into(),
                checked.title.clone().into(),
                checked.text.clone().into(),
                checked.proposer.clone().into(),
                serde_json::to_string(&checked.co_signers)
                    .expect("names serialise")
                    .into(),
                checked.key.into(),
                date_text(checked.assigned_on).into(),
                supervisor.into(),
                lead.id.clone().into(),
                serde_json::to_string(&co).expect("ids serialise").into(),
                work_id.into(),
                scope.user_id.clone().into(),
                now.into(),
            ],
        )
        .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict {
                field: "number",
                code: "proposal_number_taken",
                message: format!(
                    "{} 年已登记编号为 {} 的{}，请核对编号",
                    checked.year,
                    checked.number,
                    checked.kind.label()
                ),
            });
        }
        let mut s = Script::default();
        locate_in(&mut s, &id, &county_code, "proposal");
        let link = format!("/proposals/{id}");
        for u in &co {
            notify(
                &mut s,
                &county_code,
                Some(u),
                None,
                &format!(
                    "{}“{}”由{}主办、本单位协办，请向主办单位提出协办意见",
                    checked.kind.label(),
                    checked.title,
                    lead.name
                ),
                &link,
                now,
                None,
            );
        }
        s.run(tx.conn()).await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "proposal.add", &id)
                .in_county(&county_code)
                .from_ip(ip)
                .detail(format!("{} {}", checked.year, checked.number)),
        )
        .await?;
        tx.commit().await?;
        Ok(self.proposal(&Scope::system(), &id).await?.0)
    }

    /// The county's proposals: the office sees all, a unit those it leads or works on.
    pub async fn proposals(
        &self,
        scope: &Scope,
        county: DivisionCode,
        filter: &ProposalFilter,
    ) -> Result<Vec<Proposal>, StoreError> {
        self.check_committee(scope, Action::ViewCommittee, county)?;
        let sql = format!(
            "{SELECT} WHERE p.county_code = $1 AND ($2 = 0 OR p.year = $2)
               AND ($3 = '' OR p.state = $3)
             ORDER BY p.year DESC, p.assigned_on DESC, p.created_at DESC LIMIT $4"
        );
        let mut rows: Vec<Proposal> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(county.county_code())
                .bind(i64::from(filter.year.unwrap_or(0)))
                .bind(filter.state.map(|s| s.code()).unwrap_or(""))
                .bind(MAX_LISTED)
                .fetch_all(&mut *c)
                .await)?
        };
        if scope.role != Role::Office && !scope.is_system() {
            let mine = self.acting_units(scope).await?;
            rows.retain(|p| p.involves(&mine));
        }
        if filter.overdue {
            let now = self.now_ms();
            rows.retain(|p| p.overdue(now));
        }
        Ok(rows)
    }

    /// A proposal and its steps, for the office of its county or a unit on it.
    pub async fn proposal(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<(Proposal, Vec<ProposalStep>), StoreError> {
        scope.check_role(Action::ViewCommittee)?;
        let county = self
            .locate_record(id, "proposal")
            .await?
            .ok_or(StoreError::NotFound)?;
        let sql = format!("{SELECT} WHERE p.county_code = $1 AND p.id = $2");
        let (found, steps) = {
            let mut c = self.read().await?;
            let found: Option<Proposal> = on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&county)
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?;
            let steps: Vec<ProposalStep> = on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, step, unit_id, class, satisfaction, note, by_user, at
                 FROM proposal_steps WHERE county_code = $1 AND proposal_id = $2
                 ORDER BY at, id LIMIT 500"
            )
            .bind(&county)
            .bind(id)
            .fetch_all(&mut *c)
            .await)?;
            (found, steps)
        };
        let p = found.ok_or(StoreError::NotFound)?;
        let county_code = DivisionCode::parse(&county).map_err(|_| StoreError::NotFound)?;
        let office =
            scope.is_system() || (scope.role == Role::Office && scope.reaches(county_code));
        if !office && !p.involves(&self.acting_units(scope).await?) {
            return Err(StoreError::NotFound);
        }
        Ok((p, steps))
    }

    /// A co-unit's opinion to the lead unit, while the reply is owed.
    pub async fn proposal_opinion(
        &self,
        scope: &Scope,
        id: &str,
        text: &str,
        ip: &str,
    ) -> Result<Proposal, StoreError> {
        let (p, _) = self.proposal(scope, id).await?;
        let text = note("note", text, 5000, Some("协办意见"))?;
        let mine = self.acting_units(scope).await?;
        let Some(unit) = p.co_units().into_iter().find(|u| mine.contains(u)) else {
            return Err(conflict(
                "not_co_unit",
                "协办意见由协办单位提出；主办单位请直接答复".into(),
            ));
        };
        p.state().after(Step::Opinion).map_err(refused)?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        add_step(
            &mut tx,
            &p,
            "opinion",
            Some(&unit),
            None,
            None,
            &text,
            scope,
            now,
        )
        .await?;
        let mut s = Script::default();
        notify(
            &mut s,
            &p.county_code,
            Some(&p.lead_unit_id),
            None,
            &format!("协办单位对“{}”提出了协办意见，请在答复中吸收", p.title),
            &format!("/proposals/{id}"),
            now,
            None,
        );
        s.run(tx.conn()).await?;
        self.finish(tx, scope, &p, "proposal.opinion", "", ip, now)
            .await
    }

    /// The lead unit's reply (the office may enter it for the unit): its class and text.
    /// The work item is done; the office reviews the reply.
    pub async fn reply_proposal(
        &self,
        scope: &Scope,
        id: &str,
        class: &str,
        text: &str,
        ip: &str,
    ) -> Result<Proposal, StoreError> {
        let (p, _) = self.proposal(scope, id).await?;
        let class = ImplementationClass::parse(class).ok_or_else(|| {
            StoreError::invalid(
                "class",
                Invalid::new(
                    "choice",
                    "办理结果分类应为 A（已解决或基本解决）、B（正在解决或列入计划）或 C（因条件限制暂不能解决）",
                ),
            )
        })?;
        let text = note("reply", text, 20_000, Some("答复内容"))?;
        self.check_lead(scope, &p).await?;
        let next = p.state().after(Step::Reply(class)).map_err(refused)?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        move_state(&mut tx, &p, next, now).await?;
        exec(
            &mut tx,
            "UPDATE proposals SET class = $3, reply = $4, replied_at = $5
             WHERE county_code = $1 AND id = $2",
            vec![
                p.county_code.clone().into(),
                id.into(),
                class.code().into(),
                text.clone().into(),
                now.into(),
            ],
        )
        .await?;
        close_work(
            &mut tx,
            &p.county_code,
            &p.id,
            &[WorkKind::ProposalReply, WorkKind::ProposalRework],
            now,
        )
        .await?;
        add_step(
            &mut tx,
            &p,
            "reply",
            Some(&p.lead_unit_id),
            Some(class.code()),
            None,
            &text,
            scope,
            now,
        )
        .await?;
        let office = office_unit(&mut tx, &p, now).await?;
        let mut s = Script::default();
        notify(
            &mut s,
            &p.county_code,
            Some(&office),
            None,
            &format!("“{}”已答复（{} 类），请审核", p.title, class.code()),
            &format!("/proposals/{id}"),
            now,
            None,
        );
        s.run(tx.conn()).await?;
        self.finish(tx, scope, &p, "proposal.reply", class.code(), ip, now)
            .await
    }

    /// The office's review of the reply: passed (the proposer rates it next), or sent
    /// back with a reason (the lead unit handles it again, with a new deadline).
    pub async fn review_proposal(
        &self,
        scope: &Scope,
        id: &str,
        passed: bool,
        reason: &str,
        ip: &str,
    ) -> Result<Proposal, StoreError> {
        office_only(scope)?;
        let (p, _) = self.proposal(scope, id).await?;
        let county = DivisionCode::parse(&p.county_code).map_err(|_| StoreError::NotFound)?;
        self.check_committee(scope, Action::ManageCommittee, county)?;
        let reason = note("reason", reason, 2000, (!passed).then_some("退回理由"))?;
        let next = p.state().after(Step::Review { passed }).map_err(refused)?;
        let now = self.now_ms();
        let rework = if passed {
            None
        } else {
            Some(
                self.due(&p.county_code, WorkKind::ProposalRework, None, now)
                    .await?,
            )
        };
        let mut tx = self.begin().await?;
        move_state(&mut tx, &p, next, now).await?;
        add_step(
            &mut tx,
            &p,
            if passed { "passed" } else { "returned" },
            None,
            None,
            None,
            &reason,
            scope,
            now,
        )
        .await?;
        if let Some(due) = rework {
            self.rework(&mut tx, &p, due, &format!("答复被审核退回：{reason}"), now)
                .await?;
        }
        self.finish(
            tx,
            scope,
            &p,
            "proposal.review",
            if passed { "passed" } else { "returned" },
            ip,
            now,
        )
        .await
    }

    /// The proposer's rating, as the office records it: 满意 or 基本满意 closes the
    /// proposal; 不满意 (with the proposer's feedback) sends it back to the lead unit.
    pub async fn rate_proposal(
        &self,
        scope: &Scope,
        id: &str,
        satisfaction: &str,
        feedback: &str,
        ip: &str,
    ) -> Result<Proposal, StoreError> {
        office_only(scope)?;
        let (p, _) = self.proposal(scope, id).await?;
        let county = DivisionCode::parse(&p.county_code).map_err(|_| StoreError::NotFound)?;
        self.check_committee(scope, Action::ManageCommittee, county)?;
        let rating = Satisfaction::parse(satisfaction).ok_or_else(|| {
            StoreError::invalid(
                "satisfaction",
                Invalid::new(
                    "choice",
                    "满意度应为 satisfied（满意）、basic（基本满意）或 dissatisfied（不满意）",
                ),
            )
        })?;
        let dissatisfied = rating == Satisfaction::Dissatisfied;
        let feedback = note(
            "feedback",
            feedback,
            2000,
            dissatisfied.then_some("代表（委员）的意见"),
        )?;
        let next = p.state().after(Step::Rate(rating)).map_err(refused)?;
        let now = self.now_ms();
        let rework = if dissatisfied {
            Some(
                self.due(&p.county_code, WorkKind::ProposalRework, None, now)
                    .await?,
            )
        } else {
            None
        };
        let mut tx = self.begin().await?;
        move_state(&mut tx, &p, next, now).await?;
        exec(
            &mut tx,
            "UPDATE proposals SET satisfaction = $3 WHERE county_code = $1 AND id = $2",
            vec![
                p.county_code.clone().into(),
                id.into(),
                rating.code().into(),
            ],
        )
        .await?;
        add_step(
            &mut tx,
            &p,
            "rated",
            None,
            None,
            Some(rating.code()),
            &feedback,
            scope,
            now,
        )
        .await?;
        if let Some(due) = rework {
            self.rework(
                &mut tx,
                &p,
                due,
                &format!("代表（委员）不满意：{feedback}"),
                now,
            )
            .await?;
        }
        self.finish(tx, scope, &p, "proposal.rate", rating.code(), ip, now)
            .await
    }

    /// The lead unit handles `p` again: a new work item, and word of why.
    async fn rework(
        &self,
        tx: &mut Tx,
        p: &Proposal,
        due: Deadline,
        why: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let work_id = add_work(
            tx,
            &NewWork {
                county: p.county_code.clone(),
                kind: WorkKind::ProposalRework,
                subject_kind: "proposal",
                subject_id: p.id.clone(),
                title: format!("重新办理：{}", p.title),
                owner: WorkOwner::Unit(p.lead_unit_id.clone()),
                urgency: 0,
                due,
                sealed: false,
            },
            now,
        )
        .await?;
        exec(
            tx,
            "UPDATE proposals SET work_id = $3 WHERE county_code = $1 AND id = $2",
            vec![
                p.county_code.clone().into(),
                p.id.clone().into(),
                work_id.into(),
            ],
        )
        .await?;
        let mut s = Script::default();
        notify(
            &mut s,
            &p.county_code,
            Some(&p.lead_unit_id),
            None,
            &format!("“{}”需重新办理。{why}", p.title),
            &format!("/proposals/{}", p.id),
            now,
            None,
        );
        s.run(tx.conn()).await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        mut tx: Tx,
        scope: &Scope,
        p: &Proposal,
        action: &str,
        detail: &str,
        ip: &str,
        now: i64,
    ) -> Result<Proposal, StoreError> {
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, action, &p.id)
                .in_county(&p.county_code)
                .from_ip(ip)
                .detail(detail.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(self.proposal(&Scope::system(), &p.id).await?.0)
    }
}

/// Reviews and ratings are the office's: anyone else is refused before the proposal is
/// looked up (403, whether or not they could see it).
fn office_only(scope: &Scope) -> Result<(), StoreError> {
    scope.check_role(Action::ManageCommittee)?;
    if scope.is_system() || scope.role == Role::Office {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

/// The lead unit's work item for a proposal's reply.
#[allow(clippy::too_many_arguments)]
async fn proposal_work(
    tx: &mut Tx,
    county: &str,
    id: &str,
    p: &CheckedProposal,
    lead: &str,
    kind: WorkKind,
    due: Deadline,
    now: i64,
) -> Result<String, StoreError> {
    let work_id = add_work(
        tx,
        &NewWork {
            county: county.to_string(),
            kind,
            subject_kind: "proposal",
            subject_id: id.to_string(),
            title: format!("{} {}：{}", p.kind.label(), p.number, p.title),
            owner: WorkOwner::Unit(lead.to_string()),
            urgency: i32::from(p.key),
            due,
            sealed: false,
        },
        now,
    )
    .await?;
    let mut s = Script::default();
    notify(
        &mut s,
        county,
        Some(lead),
        None,
        &format!("{}“{}”交由本单位主办，请按期答复", p.kind.label(), p.title),
        &format!("/proposals/{id}"),
        now,
        None,
    );
    s.run(tx.conn()).await?;
    Ok(work_id)
}

/// Moves `p` from the state it was read in to `next`; a proposal another step moved in
/// the meantime is refused (409), nothing changed.
async fn move_state(
    tx: &mut Tx,
    p: &Proposal,
    next: ProposalState,
    now: i64,
) -> Result<(), StoreError> {
    let moved = exec(
        tx,
        "UPDATE proposals SET state = $4, updated_at = $5
         WHERE county_code = $1 AND id = $2 AND state = $3",
        vec![
            p.county_code.clone().into(),
            p.id.clone().into(),
            p.state.clone().into(),
            next.code().into(),
            now.into(),
        ],
    )
    .await?;
    if moved == 0 {
        return Err(conflict(
            "proposal_moved",
            "这件建议（提案）刚被他人办理过，请刷新后再试".into(),
        ));
    }
    Ok(())
}

async fn office_unit(tx: &mut Tx, p: &Proposal, now: i64) -> Result<String, StoreError> {
    let county = DivisionCode::parse(&p.county_code).map_err(|_| StoreError::NotFound)?;
    Ok(
        crate::work::units::unit_for(tx, county, UnitKind::Office, now)
            .await?
            .id,
    )
}

#[allow(clippy::too_many_arguments)]
async fn add_step(
    tx: &mut Tx,
    p: &Proposal,
    step: &str,
    unit: Option<&str>,
    class: Option<&str>,
    satisfaction: Option<&str>,
    note: &str,
    scope: &Scope,
    now: i64,
) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO proposal_steps (county_code, id, proposal_id, step, unit_id, class,
             satisfaction, note, by_user, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        vec![
            p.county_code.clone().into(),
            new_id().into(),
            p.id.clone().into(),
            step.into(),
            unit.map(String::from).into(),
            class.map(String::from).into(),
            satisfaction.map(String::from).into(),
            note.into(),
            scope.user_id.clone().into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}
