//! Cases over the API: open (from a report or for a ledger child), read, move through the
//! states the rules allow, record the assessment and the reply, measures, tasks,
//! conferences, a closure request, and referrals of the case.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::reports::case::{CaseState, Measure};
use weibao_store::{CaseTaskInput, ConferenceInput, StoredCase, WorkItem};

use super::reports::{target_of, ReferralRequest, ReferralView, TimelineView};
use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::time::rfc3339;
use crate::AppState;

fn case_states() -> utoipa::openapi::Object {
    super::schema::one_of(CaseState::ALL.iter().map(|s| s.code()))
}

fn case_state_filter() -> utoipa::openapi::Object {
    super::schema::one_of_or_empty(CaseState::ALL.iter().map(|s| s.code()))
}

fn measures() -> utoipa::openapi::Object {
    super::schema::one_of(Measure::ALL.iter().map(|m| m.code()))
}

fn unit_kinds() -> utoipa::openapi::Object {
    super::schema::one_of_or_null(weibao_domain::work::UnitKind::ALL.iter().map(|k| k.code()))
}

/// A task of a case plan, or any work item.
#[derive(Serialize, ToSchema)]
pub struct WorkItemView {
    pub id: String,
    /// triage, urgent_ack, referral_response, referral_reply, case_task, supervision,
    /// closure_approval
    pub kind: String,
    pub kind_label: String,
    /// report, referral or case
    pub subject_kind: String,
    pub subject_id: String,
    pub title: String,
    pub owner_unit_id: Option<String>,
    pub owner_user_id: Option<String>,
    /// 2 urgent, 1 priority, 0 normal
    pub urgency: i32,
    pub due_at: Option<String>,
    /// The deadline ran into a year whose holiday notice is not loaded (weekends only).
    pub due_guessed: bool,
    pub overdue: bool,
    /// open, done or cancelled
    pub state: String,
    /// supervised (督办), listed (挂牌督办), or null
    pub supervision: Option<String>,
    pub supervision_due_at: Option<String>,
    pub supervision_note: String,
    pub escalated_at: Option<String>,
    pub created_at: String,
    pub done_at: Option<String>,
}

impl WorkItemView {
    pub fn new(w: WorkItem, now: i64) -> WorkItemView {
        WorkItemView {
            overdue: w.overdue(now),
            kind_label: w.work_kind().map(|k| k.label()).unwrap_or("").into(),
            supervision: weibao_store::Supervision::from_level(w.supervision)
                .map(|s| s.code().into()),
            id: w.id,
            kind: w.kind,
            subject_kind: w.subject_kind,
            subject_id: w.subject_id,
            title: w.title,
            owner_unit_id: w.owner_unit_id,
            owner_user_id: w.owner_user_id,
            urgency: w.urgency,
            due_at: w.due_at.map(rfc3339),
            due_guessed: w.due_guessed,
            state: w.state,
            supervision_due_at: w.supervision_due_at.map(rfc3339),
            supervision_note: w.supervision_note,
            escalated_at: w.escalated_at.map(rfc3339),
            created_at: rfc3339(w.created_at),
            done_at: w.done_at.map(rfc3339),
        }
    }
}

/// A measure taken.
#[derive(Serialize, ToSchema)]
pub struct MeasureView {
    pub id: String,
    pub kind: String,
    pub kind_label: String,
    pub taken_on: String,
    pub detail: String,
    pub recorded_by: String,
}

/// A case conference.
#[derive(Serialize, ToSchema)]
pub struct ConferenceView {
    pub id: String,
    pub held_on: String,
    pub convening_unit: String,
    pub units: Vec<String>,
    pub people: Vec<String>,
    pub facts: String,
    pub minutes: String,
    pub decisions: Vec<String>,
    pub recorded_by: String,
}

/// A case, as its reader may see it.
#[derive(Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    pub number: String,
    pub report_id: Option<String>,
    pub child_id: Option<String>,
    pub visit_id: Option<String>,
    /// 12-digit code.
    pub division: String,
    /// accepted, assessing, helping, follow_up, closed, declined, transferred_out
    pub state: String,
    pub state_label: String,
    pub lead_unit_id: String,
    pub lead_unit: String,
    pub sealed: bool,
    /// Sealed and not readable by the caller.
    pub withheld: bool,
    pub assessment: Option<String>,
    pub reply: Option<String>,
    pub assessed_at: Option<String>,
    pub replied_at: Option<String>,
    pub opened_by: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub version: i64,
    pub measures: Vec<MeasureView>,
    pub tasks: Vec<WorkItemView>,
    pub conferences: Vec<ConferenceView>,
    pub referrals: Vec<ReferralView>,
    pub timeline: Vec<TimelineView>,
}

impl CaseView {
    pub async fn build(
        state: &AppState,
        scope: &weibao_domain::access::Scope,
        c: StoredCase,
    ) -> Result<CaseView, ApiError> {
        let now = state.store.clock().now_ms();
        let measures = state.store.case_measures(&c).await?;
        let tasks = if c.withheld {
            vec![]
        } else {
            state.store.case_tasks(&c).await?
        };
        let conferences = state.store.case_conferences(&c).await?;
        let referrals = if c.withheld {
            vec![]
        } else {
            state
                .store
                .referrals_of(scope, &c.county_code, &c.id)
                .await?
        };
        let timeline = state.store.case_timeline(scope, &c).await?;
        Ok(CaseView {
            id: c.id.clone(),
            number: c.number.clone(),
            report_id: c.report_id.clone(),
            child_id: if c.withheld { None } else { c.child_id.clone() },
            visit_id: if c.withheld { None } else { c.visit_id.clone() },
            division: c.division_code.clone(),
            state: c.state.code().into(),
            state_label: c.state.label().into(),
            lead_unit_id: c.lead_unit_id.clone(),
            lead_unit: c.lead_unit_name.clone(),
            sealed: c.sealed,
            withheld: c.withheld,
            assessment: (!c.withheld).then(|| c.assessment.clone()),
            reply: (!c.withheld).then(|| c.reply.clone()),
            assessed_at: c.assessed_at.map(rfc3339),
            replied_at: c.replied_at.map(rfc3339),
            opened_by: c.opened_by.clone(),
            opened_at: rfc3339(c.opened_at),
            closed_at: c.closed_at.map(rfc3339),
            version: c.version,
            measures: measures
                .into_iter()
                .map(|m| MeasureView {
                    id: m.id,
                    kind: m.kind.code().into(),
                    kind_label: m.kind.label().into(),
                    taken_on: m.taken_on.to_string(),
                    detail: m.detail,
                    recorded_by: m.recorded_by,
                })
                .collect(),
            tasks: tasks
                .into_iter()
                .map(|w| WorkItemView::new(w, now))
                .collect(),
            conferences: conferences
                .into_iter()
                .map(|f| ConferenceView {
                    id: f.id,
                    held_on: f.held_on.to_string(),
                    convening_unit: f.convening_unit,
                    units: f.record.units,
                    people: f.record.people,
                    facts: f.record.facts,
                    minutes: f.record.minutes,
                    decisions: f.record.decisions.into_iter().map(|d| d.text).collect(),
                    recorded_by: f.recorded_by,
                })
                .collect(),
            referrals: referrals.into_iter().map(Into::into).collect(),
            timeline: timeline.into_iter().map(Into::into).collect(),
        })
    }
}

/// A case to open: from a report, or for a ledger child.
#[derive(Deserialize, ToSchema)]
pub struct CaseRequest {
    pub report_id: Option<String>,
    pub child_id: Option<String>,
    /// The unit that leads it (default: the office).
    pub lead_unit_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CaseRequest,
    responses((status = 201, description = "已受理立案", body = CaseView), (status = 404, body = ErrorBody),
              (status = 409, description = "该报告已立案或已办结", body = ErrorBody),
              (status = 422, description = "报告或儿童不存在、牵头单位不在本县", body = ErrorBody)))]
pub async fn create_case(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<CaseRequest>,
) -> Result<(StatusCode, Json<CaseView>), ApiError> {
    let lead = req
        .lead_unit_id
        .filter(|u| !u.trim().is_empty())
        .map(weibao_store::ReferralTarget::Unit);
    let c = state
        .store
        .open_case(
            caller.scope(),
            req.report_id.as_deref().filter(|s| !s.is_empty()),
            req.child_id.as_deref().filter(|s| !s.is_empty()),
            lead,
            &caller.ip,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CaseView::build(&state, caller.scope(), c).await?),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    #[param(schema_with = case_state_filter)]
    pub state: Option<String>,
    /// Only cases not yet ended.
    pub open: Option<bool>,
}

/// Cases the caller may see.
#[derive(Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseSummaryView>,
}

/// A case in a list.
#[derive(Serialize, ToSchema)]
pub struct CaseSummaryView {
    pub id: String,
    pub number: String,
    pub state: String,
    pub state_label: String,
    pub division: String,
    pub lead_unit: String,
    pub sealed: bool,
    pub withheld: bool,
    pub opened_at: String,
}

#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseQuery),
    responses((status = 200, body = CaseList)))]
pub async fn list_cases(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<CaseQuery>,
) -> Result<Json<CaseList>, ApiError> {
    let filter = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            super::schema::exact(CaseState::ALL, CaseState::code, s).ok_or_else(|| {
                ApiError::invalid(
                    "state",
                    weibao_domain::Invalid::new(
                        "choice",
                        format!(
                            "个案状态“{s}”无法识别，可选：{}",
                            CaseState::codes().join("、")
                        ),
                    ),
                )
            })?,
        ),
    };
    let items = state
        .store
        .list_cases(caller.scope(), filter, q.open.unwrap_or(false), 200)
        .await?;
    Ok(Json(CaseList {
        items: items
            .into_iter()
            .map(|c| CaseSummaryView {
                id: c.id,
                number: c.number,
                state: c.state.code().into(),
                state_label: c.state.label().into(),
                division: c.division_code,
                lead_unit: c.lead_unit_name,
                sealed: c.sealed,
                withheld: c.withheld,
                opened_at: rfc3339(c.opened_at),
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<CaseView>, ApiError> {
    let c = state.store.case(caller.scope(), &id, &caller.ip).await?;
    Ok(Json(CaseView::build(&state, caller.scope(), c).await?))
}

/// A move to another state.
#[derive(Deserialize, ToSchema)]
pub struct TransitionRequest {
    #[schema(schema_with = case_states)]
    pub to: String,
    /// Needed for 不予受理 and 转出.
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/transitions", tag = "cases", params(("id" = String, Path)),
    request_body = TransitionRequest,
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody),
              (status = 409, description = "规则不允许：如未评估即帮扶、未答复即结案、结案需主任批准", body = ErrorBody),
              (status = 422, description = "不予受理或转出须写明理由", body = ErrorBody)))]
pub async fn transition_case(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<TransitionRequest>,
) -> Result<Json<CaseView>, ApiError> {
    let to = super::schema::exact(CaseState::ALL, CaseState::code, &req.to).ok_or_else(|| {
        ApiError::invalid(
            "to",
            weibao_domain::Invalid::new(
                "choice",
                format!(
                    "状态“{}”无法识别，可选：{}",
                    req.to,
                    CaseState::codes().join("、")
                ),
            ),
        )
    })?;
    let reason = req.reason.unwrap_or_default();
    if reason.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "reason",
            weibao_domain::Invalid::new("too_long", "理由最多 2000 字"),
        ));
    }
    let c = state
        .store
        .transition_case(caller.scope(), &id, to, &reason, &caller.ip)
        .await?;
    Ok(Json(CaseView::build(&state, caller.scope(), c).await?))
}

/// A note to the head with a closure request.
#[derive(Deserialize, ToSchema)]
pub struct NoteRequest {
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/closure-request", tag = "cases", params(("id" = String, Path)),
    request_body = NoteRequest,
    responses((status = 204, description = "已提交未保办主任审批"), (status = 404, body = ErrorBody),
              (status = 409, description = "尚未记录评估与答复，或个案已结束", body = ErrorBody)))]
pub async fn request_case_closure(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<NoteRequest>,
) -> Result<StatusCode, ApiError> {
    let note = req.note.unwrap_or_default();
    if note.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "note",
            weibao_domain::Invalid::new("too_long", "说明最多 2000 字"),
        ));
    }
    state
        .store
        .request_closure(caller.scope(), &id, &note, &caller.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The assessment (调查评估) and/or the handling reply.
#[derive(Deserialize, ToSchema)]
pub struct CaseRecordRequest {
    #[schema(min_length = 1, max_length = 5000, pattern = r"\S")]
    pub assessment: Option<String>,
    #[schema(min_length = 1, max_length = 5000, pattern = r"\S")]
    pub reply: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/record", tag = "cases", params(("id" = String, Path)),
    request_body = CaseRecordRequest,
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody),
              (status = 409, description = "个案已结束", body = ErrorBody)))]
pub async fn record_case(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<CaseRecordRequest>,
) -> Result<Json<CaseView>, ApiError> {
    let c = state
        .store
        .record_case_text(
            caller.scope(),
            &id,
            req.assessment.as_deref(),
            req.reply.as_deref(),
            &caller.ip,
        )
        .await?;
    Ok(Json(CaseView::build(&state, caller.scope(), c).await?))
}

/// A measure taken for the child.
#[derive(Deserialize, ToSchema)]
pub struct MeasureRequest {
    #[schema(schema_with = measures)]
    pub kind: String,
    /// The day it was taken (not later than today).
    pub taken_on: NaiveDate,
    #[schema(max_length = 2000)]
    pub detail: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/measures", tag = "cases", params(("id" = String, Path)),
    request_body = MeasureRequest,
    responses((status = 201, body = MeasureView), (status = 404, body = ErrorBody),
              (status = 422, description = "日期晚于今天", body = ErrorBody)))]
pub async fn add_case_measure(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<MeasureRequest>,
) -> Result<(StatusCode, Json<MeasureView>), ApiError> {
    let kind = super::schema::exact(Measure::ALL, Measure::code, &req.kind).ok_or_else(|| {
        ApiError::invalid(
            "kind",
            weibao_domain::Invalid::new(
                "choice",
                format!(
                    "措施“{}”无法识别，可选：{}",
                    req.kind,
                    Measure::codes().join("、")
                ),
            ),
        )
    })?;
    let m = state
        .store
        .add_measure(
            caller.scope(),
            &id,
            kind,
            req.taken_on,
            req.detail.as_deref().unwrap_or(""),
            &caller.ip,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MeasureView {
            id: m.id,
            kind: m.kind.code().into(),
            kind_label: m.kind.label().into(),
            taken_on: m.taken_on.to_string(),
            detail: m.detail,
            recorded_by: m.recorded_by,
        }),
    ))
}

/// A task for a unit.
#[derive(Deserialize, ToSchema)]
pub struct TaskRequest {
    pub unit_id: Option<String>,
    #[schema(schema_with = unit_kinds)]
    pub unit_kind: Option<String>,
    pub township: Option<String>,
    /// What is to be done (no names: it shows in inboxes).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub title: String,
    /// Default: 10 working days.
    pub due_on: Option<NaiveDate>,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/tasks", tag = "cases", params(("id" = String, Path)),
    request_body = TaskRequest,
    responses((status = 201, body = WorkItemView), (status = 404, body = ErrorBody),
              (status = 422, description = "单位不在本县、期限早于今天", body = ErrorBody)))]
pub async fn add_case_task(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<TaskRequest>,
) -> Result<(StatusCode, Json<WorkItemView>), ApiError> {
    let unit = target_of(
        req.unit_id.as_deref(),
        req.unit_kind.as_deref(),
        req.township.as_deref(),
    )?;
    let w = state
        .store
        .add_case_task(
            caller.scope(),
            &id,
            CaseTaskInput {
                unit,
                title: req.title,
                due_on: req.due_on,
            },
            &caller.ip,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WorkItemView::new(w, state.store.clock().now_ms())),
    ))
}

/// A decision of a conference: what, by which unit, by when.
#[derive(Deserialize, ToSchema)]
pub struct DecisionRequest {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub text: String,
    pub unit_id: String,
    pub due_on: Option<NaiveDate>,
}

/// A case conference (个案会商).
#[derive(Deserialize, ToSchema)]
pub struct ConferenceRequest {
    /// Default today.
    pub held_on: Option<NaiveDate>,
    #[schema(max_items = 50)]
    pub units: Option<Vec<String>>,
    #[schema(max_items = 50)]
    pub people: Option<Vec<String>>,
    #[schema(max_length = 10000)]
    pub facts: Option<String>,
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub minutes: String,
    #[schema(max_items = 30)]
    pub decisions: Option<Vec<DecisionRequest>>,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/conferences", tag = "cases", params(("id" = String, Path)),
    request_body = ConferenceRequest,
    responses((status = 201, body = ConferenceView), (status = 404, body = ErrorBody),
              (status = 422, description = "缺少参加单位或人员、决定的单位不在本县", body = ErrorBody)))]
pub async fn add_case_conference(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ConferenceRequest>,
) -> Result<(StatusCode, Json<ConferenceView>), ApiError> {
    let input = ConferenceInput {
        held_on: req.held_on,
        units: req.units.unwrap_or_default(),
        people: req.people.unwrap_or_default(),
        facts: req.facts.unwrap_or_default(),
        minutes: req.minutes,
        decisions: req
            .decisions
            .unwrap_or_default()
            .into_iter()
            .map(|d| weibao_store::ConferenceDecision {
                text: d.text,
                unit_id: d.unit_id,
                due_on: d.due_on,
            })
            .collect(),
    };
    let f = state
        .store
        .hold_conference(caller.scope(), &id, input, &caller.ip)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ConferenceView {
            id: f.id,
            held_on: f.held_on.to_string(),
            convening_unit: f.convening_unit,
            units: f.record.units,
            people: f.record.people,
            facts: f.record.facts,
            minutes: f.record.minutes,
            decisions: f.record.decisions.into_iter().map(|d| d.text).collect(),
            recorded_by: f.recorded_by,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/referrals", tag = "referrals", params(("id" = String, Path)),
    request_body = ReferralRequest,
    responses((status = 201, body = ReferralView), (status = 404, body = ErrorBody),
              (status = 422, description = "接收单位不存在或不在本县、给社会组织的转介缺少同意", body = ErrorBody)))]
pub async fn refer_case(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ReferralRequest>,
) -> Result<(StatusCode, Json<ReferralView>), ApiError> {
    super::reports::refer(&state, &caller, &id, req).await
}
