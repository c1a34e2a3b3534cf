//! Referrals over the API: the unit's incoming list, and the steps on one (accept, return,
//! pass on, revoke, complete with the reply).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::reports::referral::ReferralStep;
use weibao_store::ReferralTarget;

use super::reports::{target_of, ReferralView};
use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncomingQuery {
    /// Only referrals still to accept or answer.
    pub open: Option<bool>,
}

/// The referrals sent to the caller's units.
#[derive(Serialize, ToSchema)]
pub struct ReferralList {
    pub items: Vec<ReferralView>,
}

#[utoipa::path(get, path = "/api/v1/referrals", tag = "referrals", params(IncomingQuery),
    responses((status = 200, description = "转介给本单位的事项，待办的在前", body = ReferralList)))]
pub async fn list_referrals(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<IncomingQuery>,
) -> Result<Json<ReferralList>, ApiError> {
    let items = state
        .store
        .incoming_referrals(caller.scope(), q.open.unwrap_or(false))
        .await?;
    Ok(Json(ReferralList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/referrals/{id}", tag = "referrals", params(("id" = String, Path)),
    responses((status = 200, body = ReferralView), (status = 404, body = ErrorBody)))]
pub async fn get_referral(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<ReferralView>, ApiError> {
    Ok(Json(
        state.store.referral(caller.scope(), &id).await?.into(),
    ))
}

async fn step(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: &str,
    what: ReferralStep,
    text: &str,
    to: Option<ReferralTarget>,
) -> Result<Json<ReferralView>, ApiError> {
    Ok(Json(
        state
            .store
            .referral_step(caller.scope(), id, what, text, to, &caller.ip)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/accept", tag = "referrals", params(("id" = String, Path)),
    responses((status = 200, description = "已接收：答复期限开始计算", body = ReferralView),
              (status = 404, body = ErrorBody),
              (status = 409, description = "已被接收或已结束（两人同时接收只成功一次）", body = ErrorBody)))]
pub async fn accept_referral(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<ReferralView>, ApiError> {
    step(&state, &caller, &id, ReferralStep::Accept, "", None).await
}

/// A reason (return, revoke, pass on) — what the other side needs to know.
#[derive(Deserialize, ToSchema)]
pub struct ReasonRequest {
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/return", tag = "referrals", params(("id" = String, Path)),
    request_body = ReasonRequest,
    responses((status = 200, description = "已退回发起方", body = ReferralView),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn return_referral(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ReasonRequest>,
) -> Result<Json<ReferralView>, ApiError> {
    step(
        &state,
        &caller,
        &id,
        ReferralStep::Return,
        &req.reason,
        None,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/revoke", tag = "referrals", params(("id" = String, Path)),
    request_body = ReasonRequest,
    responses((status = 200, description = "已撤回", body = ReferralView),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_referral(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ReasonRequest>,
) -> Result<Json<ReferralView>, ApiError> {
    step(
        &state,
        &caller,
        &id,
        ReferralStep::Revoke,
        &req.reason,
        None,
    )
    .await
}

/// Pass a referral on to the unit that should handle it.
#[derive(Deserialize, ToSchema)]
pub struct ForwardRequest {
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
    pub to_unit_id: Option<String>,
    #[schema(schema_with = unit_kinds)]
    pub to_unit_kind: Option<String>,
    pub to_township: Option<String>,
}

fn unit_kinds() -> utoipa::openapi::Object {
    super::schema::one_of_or_null(weibao_domain::work::UnitKind::ALL.iter().map(|k| k.code()))
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/forward", tag = "referrals", params(("id" = String, Path)),
    request_body = ForwardRequest,
    responses((status = 200, description = "已转交：新的转介见 forwarded_to", body = ReferralView),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, description = "接收单位不存在或不在本县", body = ErrorBody)))]
pub async fn forward_referral(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ForwardRequest>,
) -> Result<Json<ReferralView>, ApiError> {
    let to = target_of(
        req.to_unit_id.as_deref(),
        req.to_unit_kind.as_deref(),
        req.to_township.as_deref(),
    )?;
    step(
        &state,
        &caller,
        &id,
        ReferralStep::Forward,
        &req.reason,
        Some(to),
    )
    .await
}

/// The handling opinion and reply (答复).
#[derive(Deserialize, ToSchema)]
pub struct CompleteRequest {
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reply: String,
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/complete", tag = "referrals", params(("id" = String, Path)),
    request_body = CompleteRequest,
    responses((status = 200, description = "已办结答复", body = ReferralView),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn complete_referral(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<CompleteRequest>,
) -> Result<Json<ReferralView>, ApiError> {
    step(
        &state,
        &caller,
        &id,
        ReferralStep::Complete,
        &req.reply,
        None,
    )
    .await
}
