//! Proposals of the people's congress and the CPPCC and their handling (建议提案办理) over
//! the API, in the caller's county: the office registers them as assigned, the lead unit
//! replies, co-units send opinions, the office reviews the reply and records the
//! proposer's rating (不满意 sends it back). The reply's deadline is the lead unit's work
//! item: supervise it at POST /api/v1/work/{work_id}/supervision, like any other.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::proposals::{
    ImplementationClass, ProposalInput, ProposalKind, ProposalState, Satisfaction,
};
use weibao_store::Supervision;
use weibao_store::{committee_county, NewProposal, Proposal, ProposalFilter, ProposalStep};

use super::committee::{unit_names, UnitRef};
use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::time::rfc3339;
use crate::AppState;

fn kinds() -> utoipa::openapi::Object {
    super::schema::one_of(ProposalKind::codes())
}

fn states() -> utoipa::openapi::Object {
    super::schema::one_of_or_empty(ProposalState::codes())
}

fn classes() -> utoipa::openapi::Object {
    super::schema::one_of(ImplementationClass::codes())
}

fn ratings() -> utoipa::openapi::Object {
    super::schema::one_of(Satisfaction::codes())
}

fn unit(names: &HashMap<String, String>, id: String) -> UnitRef {
    UnitRef {
        name: names.get(&id).cloned().unwrap_or_else(|| id.clone()),
        id,
    }
}

/// A proposal and where its handling stands.
#[derive(Serialize, ToSchema)]
pub struct DeputyProposalView {
    pub id: String,
    /// suggestion (人大代表建议) or proposal (政协提案)
    pub kind: String,
    pub kind_label: String,
    pub year: i64,
    /// 届次会次
    pub session: String,
    pub number: String,
    pub category: String,
    pub title: String,
    pub text: String,
    /// 领衔代表（委员）
    pub proposer: String,
    /// 附议人
    pub co_signers: Vec<String>,
    /// 重点建议（提案）
    pub key: bool,
    /// YYYY-MM-DD
    pub assigned_on: String,
    /// 督办部门及领导
    pub supervisor: String,
    /// 主办单位
    pub lead_unit: UnitRef,
    /// 协办单位
    pub co_units: Vec<UnitRef>,
    /// assigned, replied, returned, passed, rated, reopened
    pub state: String,
    pub state_label: String,
    /// The last reply's class: A, B or C.
    pub class: Option<String>,
    pub class_label: Option<String>,
    pub reply: String,
    pub replied_at: Option<String>,
    /// satisfied, basic, dissatisfied: the last rating.
    pub satisfaction: Option<String>,
    pub satisfaction_label: Option<String>,
    /// When the reply owed is due (null once replied).
    pub due_at: Option<String>,
    /// A reply is owed and its deadline has passed.
    pub overdue: bool,
    /// The lead unit's work item: supervise it at /api/v1/work/{work_id}/supervision.
    pub work_id: String,
    /// supervised (督办), listed (挂牌督办), rectify (限时整改) or null
    pub supervision: Option<String>,
    pub supervision_due_at: Option<String>,
    pub escalated_at: Option<String>,
}

impl DeputyProposalView {
    pub fn new(p: Proposal, names: &HashMap<String, String>, now: i64) -> DeputyProposalView {
        let kind = ProposalKind::parse(&p.kind);
        let class = p.class.as_deref().and_then(ImplementationClass::parse);
        let rating = p.satisfaction.as_deref().and_then(Satisfaction::parse);
        DeputyProposalView {
            overdue: p.overdue(now),
            kind_label: kind.map(|k| k.label()).unwrap_or_default().into(),
            state_label: p.state().label().into(),
            class_label: class.map(|c| c.label().into()),
            satisfaction_label: rating.map(|r| r.label().into()),
            co_signers: p.co_signer_names(),
            co_units: p.co_units().into_iter().map(|u| unit(names, u)).collect(),
            lead_unit: unit(names, p.lead_unit_id.clone()),
            replied_at: p.replied_at.map(rfc3339),
            due_at: p.due_at.map(rfc3339),
            supervision: Supervision::from_level(p.supervision).map(|s| s.code().into()),
            supervision_due_at: p.supervision_due_at.map(rfc3339),
            escalated_at: p.escalated_at.map(rfc3339),
            state: p.state,
            id: p.id,
            kind: p.kind,
            year: p.year,
            session: p.session,
            number: p.number,
            category: p.category,
            title: p.title,
            text: p.body,
            proposer: p.proposer,
            key: p.key_item,
            assigned_on: p.assigned_on,
            supervisor: p.supervisor,
            class: p.class,
            reply: p.reply,
            satisfaction: p.satisfaction,
            work_id: p.work_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeputyProposalList {
    pub items: Vec<DeputyProposalView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalQuery {
    /// All years when absent.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    #[param(schema_with = states)]
    pub state: Option<String>,
    /// Only those whose reply is overdue.
    pub overdue: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/proposals", tag = "proposals", params(ProposalQuery),
    responses((status = 200, body = DeputyProposalList), (status = 422, body = ErrorBody)))]
pub async fn list_proposals(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ProposalQuery>,
) -> Result<Json<DeputyProposalList>, ApiError> {
    let county = committee_county(caller.scope())?;
    if q.year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        return Err(ApiError::invalid(
            "year",
            weibao_domain::Invalid::new("year_range", "年度应为 4 位年份，如 2026"),
        ));
    }
    let st = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ProposalState::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "state",
                weibao_domain::Invalid::new(
                    "choice",
                    format!("state 应为 {} 之一", ProposalState::codes().join("、")),
                ),
            )
        })?),
    };
    let found = state
        .store
        .proposals(
            caller.scope(),
            county,
            &ProposalFilter {
                year: q.year,
                state: st,
                overdue: q.overdue.unwrap_or(false),
            },
        )
        .await?;
    let names = unit_names(&state, &caller).await?;
    let now = state.store.clock().now_ms();
    Ok(Json(DeputyProposalList {
        items: found
            .into_iter()
            .map(|p| DeputyProposalView::new(p, &names, now))
            .collect(),
    }))
}

/// A proposal as assigned.
#[derive(Deserialize, ToSchema)]
pub struct ProposalRequest {
    #[schema(schema_with = kinds)]
    pub kind: String,
    /// Default this year.
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    /// 届次会次 (区十届人大三次会议)
    #[schema(max_length = 60)]
    pub session: Option<String>,
    #[schema(min_length = 1, max_length = 30, pattern = r"\S")]
    pub number: String,
    #[schema(max_length = 30)]
    pub category: Option<String>,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    #[schema(max_length = 20000)]
    pub text: Option<String>,
    #[schema(min_length = 1, max_length = 30, pattern = r"\S")]
    pub proposer: String,
    #[schema(max_items = 100)]
    pub co_signers: Option<Vec<String>>,
    pub key: Option<bool>,
    /// Default today; not later than today.
    pub assigned_on: Option<NaiveDate>,
    /// 督办部门及领导
    #[schema(max_length = 100)]
    pub supervisor: Option<String>,
    pub lead_unit_id: String,
    #[schema(max_items = 40)]
    pub co_unit_ids: Option<Vec<String>>,
}

impl ProposalRequest {
    pub fn into_new(self, today: NaiveDate) -> NewProposal {
        NewProposal {
            input: ProposalInput {
                kind: self.kind,
                year: self.year.unwrap_or(today.year()),
                session: self.session.unwrap_or_default(),
                number: self.number,
                category: self.category.unwrap_or_default(),
                title: self.title,
                text: self.text.unwrap_or_default(),
                proposer: self.proposer,
                co_signers: self.co_signers.unwrap_or_default(),
                key: self.key.unwrap_or(false),
                assigned_on: self.assigned_on,
            },
            supervisor: self.supervisor.unwrap_or_default(),
            lead_unit_id: self.lead_unit_id,
            co_unit_ids: self.co_unit_ids.unwrap_or_default(),
        }
    }
}

/// A step of the handling.
#[derive(Serialize, ToSchema)]
pub struct ProposalStepView {
    /// opinion (协办意见), reply (答复), passed (审核通过), returned (审核退回), rated (评价)
    pub step: String,
    pub step_label: String,
    pub unit: Option<UnitRef>,
    pub class: Option<String>,
    pub satisfaction: Option<String>,
    pub note: String,
    pub at: String,
}

/// A proposal with its steps, oldest first.
#[derive(Serialize, ToSchema)]
pub struct ProposalDetail {
    pub proposal: DeputyProposalView,
    pub steps: Vec<ProposalStepView>,
}

pub fn step_label(step: &str) -> &'static str {
    match step {
        "opinion" => "协办意见",
        "reply" => "答复",
        "passed" => "审核通过",
        "returned" => "审核退回",
        "rated" => "代表（委员）评价",
        _ => "办理",
    }
}

fn detail(
    (p, steps): (Proposal, Vec<ProposalStep>),
    names: &HashMap<String, String>,
    now: i64,
) -> ProposalDetail {
    ProposalDetail {
        proposal: DeputyProposalView::new(p, names, now),
        steps: steps
            .into_iter()
            .map(|s| ProposalStepView {
                step_label: step_label(&s.step).into(),
                unit: s.unit_id.map(|u| unit(names, u)),
                step: s.step,
                class: s.class,
                satisfaction: s.satisfaction,
                note: s.note,
                at: rfc3339(s.at),
            })
            .collect(),
    }
}

async fn answer(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: &str,
) -> Result<ProposalDetail, ApiError> {
    let found = state.store.proposal(caller.scope(), id).await?;
    let names = unit_names(state, caller).await?;
    Ok(detail(found, &names, state.store.clock().now_ms()))
}

#[utoipa::path(post, path = "/api/v1/proposals", tag = "proposals", request_body = ProposalRequest,
    responses((status = 201, body = ProposalDetail),
              (status = 409, description = "同年同类已有此编号", body = ErrorBody),
              (status = 422, description = "字段缺失或过长、单位不在本县名录、交办日期晚于今天", body = ErrorBody)))]
pub async fn create_proposal(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<ProposalRequest>,
) -> Result<(StatusCode, Json<ProposalDetail>), ApiError> {
    let county = committee_county(caller.scope())?;
    let today = state.store.clock().today();
    let p = state
        .store
        .add_proposal(caller.scope(), county, req.into_new(today), &caller.ip)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(answer(&state, &caller, &p.id).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/proposals/{id}", tag = "proposals",
    params(("id" = String, Path)),
    responses((status = 200, body = ProposalDetail), (status = 404, body = ErrorBody)))]
pub async fn get_proposal(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<ProposalDetail>, ApiError> {
    Ok(Json(answer(&state, &caller, &id).await?))
}

/// A co-unit's opinion.
#[derive(Deserialize, ToSchema)]
pub struct OpinionRequest {
    #[schema(min_length = 1, max_length = 5000, pattern = r"\S")]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/proposals/{id}/opinions", tag = "proposals",
    params(("id" = String, Path)), request_body = OpinionRequest,
    responses((status = 201, body = ProposalDetail), (status = 404, body = ErrorBody),
              (status = 409, description = "不是协办单位，或已答复", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn add_opinion(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<OpinionRequest>,
) -> Result<(StatusCode, Json<ProposalDetail>), ApiError> {
    state
        .store
        .proposal_opinion(caller.scope(), &id, &req.note, &caller.ip)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(answer(&state, &caller, &id).await?),
    ))
}

/// The lead unit's reply.
#[derive(Deserialize, ToSchema)]
pub struct ProposalReplyRequest {
    /// A 已解决或基本解决, B 正在解决或列入计划, C 因条件限制暂不能解决
    #[schema(schema_with = classes)]
    pub class: String,
    #[schema(min_length = 1, max_length = 20000, pattern = r"\S")]
    pub reply: String,
}

#[utoipa::path(post, path = "/api/v1/proposals/{id}/reply", tag = "proposals",
    params(("id" = String, Path)), request_body = ProposalReplyRequest,
    responses((status = 200, body = ProposalDetail), (status = 404, body = ErrorBody),
              (status = 409, description = "不是主办单位，或不在待答复状态", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn reply_proposal(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ProposalReplyRequest>,
) -> Result<Json<ProposalDetail>, ApiError> {
    state
        .store
        .reply_proposal(caller.scope(), &id, &req.class, &req.reply, &caller.ip)
        .await?;
    Ok(Json(answer(&state, &caller, &id).await?))
}

/// The office's review of the reply.
#[derive(Deserialize, ToSchema)]
pub struct ReviewRequest {
    /// true 通过; false 退回 (a reason required)
    pub passed: bool,
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/proposals/{id}/review", tag = "proposals",
    params(("id" = String, Path)), request_body = ReviewRequest,
    responses((status = 200, body = ProposalDetail), (status = 404, body = ErrorBody),
              (status = 409, description = "没有待审核的答复", body = ErrorBody),
              (status = 422, description = "退回未写理由", body = ErrorBody)))]
pub async fn review_proposal(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ReviewRequest>,
) -> Result<Json<ProposalDetail>, ApiError> {
    state
        .store
        .review_proposal(
            caller.scope(),
            &id,
            req.passed,
            req.reason.as_deref().unwrap_or(""),
            &caller.ip,
        )
        .await?;
    Ok(Json(answer(&state, &caller, &id).await?))
}

/// The proposer's rating, as the office records it.
#[derive(Deserialize, ToSchema)]
pub struct RatingRequest {
    /// satisfied 满意, basic 基本满意, dissatisfied 不满意 (feedback required; handled again)
    #[schema(schema_with = ratings)]
    pub satisfaction: String,
    #[schema(max_length = 2000)]
    pub feedback: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/proposals/{id}/rating", tag = "proposals",
    params(("id" = String, Path)), request_body = RatingRequest,
    responses((status = 200, body = ProposalDetail), (status = 404, body = ErrorBody),
              (status = 409, description = "答复尚未审核通过，或已评价办结", body = ErrorBody),
              (status = 422, description = "不满意未写意见", body = ErrorBody)))]
pub async fn rate_proposal(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<RatingRequest>,
) -> Result<Json<ProposalDetail>, ApiError> {
    state
        .store
        .rate_proposal(
            caller.scope(),
            &id,
            &req.satisfaction,
            req.feedback.as_deref().unwrap_or(""),
            &caller.ip,
        )
        .await?;
    Ok(Json(answer(&state, &caller, &id).await?))
}
