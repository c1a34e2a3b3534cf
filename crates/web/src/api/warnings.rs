//! Early warnings (预警) over the API: the active warnings of the caller's division (a
//! village's director, a township's supervisor, the county office), one warning, and a
//! person's decision on it (raise the child's risk level, or keep it, with the reason).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::finding::warnings::{WarningDecision, WarningRule};
use weibao_domain::DivisionCode;
use weibao_store::{StoredWarning, WarningFilter};

use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::time::rfc3339;
use crate::AppState;

fn rules() -> utoipa::openapi::Object {
    super::schema::one_of(WarningRule::codes())
}

/// A warning: the rule that fired and the facts that fired it.
#[derive(Serialize, ToSchema)]
pub struct WarningView {
    pub id: String,
    pub child_id: String,
    pub child_name: String,
    /// The child's village.
    pub division: String,
    /// visit_overdue, repeated_attention, open_report, dropout, parent_changed,
    /// guardian_frail, parent_silent
    pub rule: String,
    pub rule_label: String,
    /// Why it fired, in words ("应于 2026-11-01 探访，已逾期 35 天（超过 15 天）").
    pub facts: String,
    pub raised_at: String,
    pub updated_at: String,
    /// The rule stopped firing.
    pub ended: bool,
    pub decided: bool,
    /// raise or keep, once decided.
    pub decision: Option<String>,
    /// The level the child's risk was raised to (中 or 高).
    pub risk_to: Option<String>,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

impl From<StoredWarning> for WarningView {
    fn from(w: StoredWarning) -> WarningView {
        let decided = w.decided_at.is_some();
        WarningView {
            id: w.id,
            child_id: w.child_id,
            child_name: w.child_name,
            division: w.division_code,
            rule: w.rule.code().into(),
            rule_label: w.rule.label().into(),
            facts: w.facts,
            raised_at: rfc3339(w.raised_at),
            updated_at: rfc3339(w.updated_at),
            ended: w.ended_at.is_some(),
            decided,
            decision: decided.then_some(w.decision),
            risk_to: Some(w.risk_to).filter(|r| !r.is_empty()),
            reason: decided.then_some(w.reason),
            decided_by: decided.then_some(w.decided_name),
            decided_at: w.decided_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WarningList {
    pub items: Vec<WarningView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WarningQuery {
    /// Only under this division (within the caller's; a county or below).
    #[param(pattern = r"^(\d{6,12})?$")]
    pub division: Option<String>,
    /// Only this rule.
    #[param(schema_with = rules)]
    pub rule: Option<String>,
    /// Only those no one has decided on yet.
    pub undecided: Option<bool>,
    /// Only this child's.
    #[param(max_length = 40)]
    pub child_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/warnings", tag = "finding", params(WarningQuery),
    responses((status = 200, body = WarningList), (status = 403, body = ErrorBody),
              (status = 404, description = "区划不在您的管辖范围内", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn list_warnings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<WarningQuery>,
) -> Result<Json<WarningList>, ApiError> {
    let division = match q.division.as_deref().filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(DivisionCode::parse(d).map_err(|e| ApiError::invalid("division", e))?),
    };
    let rule = match q.rule.as_deref().filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(WarningRule::parse(r).ok_or_else(|| {
            ApiError::invalid(
                "rule",
                weibao_domain::Invalid::new(
                    "rule_unknown",
                    format!("预警规则应为 {} 之一", WarningRule::codes().join("、")),
                ),
            )
        })?),
    };
    if q.child_id.as_ref().is_some_and(|c| c.chars().count() > 40) {
        return Err(ApiError::invalid(
            "child_id",
            weibao_domain::Invalid::new("child_id_too_long", "child_id 应为台账中儿童的编号（id）"),
        ));
    }
    let found = state
        .store
        .list_warnings(
            caller.scope(),
            &WarningFilter {
                division,
                rule,
                undecided: q.undecided.unwrap_or(false),
                child_id: q.child_id.filter(|c| !c.is_empty()),
            },
        )
        .await?;
    Ok(Json(WarningList {
        items: found.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/warnings/{id}", tag = "finding",
    params(("id" = String, Path)),
    responses((status = 200, body = WarningView), (status = 404, body = ErrorBody)))]
pub async fn get_warning(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<WarningView>, ApiError> {
    Ok(Json(state.store.warning(caller.scope(), &id).await?.into()))
}

fn decisions() -> utoipa::openapi::Object {
    super::schema::one_of(["raise", "keep"])
}

fn raised_levels() -> utoipa::openapi::Object {
    super::schema::one_of(["medium", "high"])
}

/// A person's decision on a warning.
#[derive(Deserialize, ToSchema)]
pub struct WarningDecisionRequest {
    /// raise (提高儿童的风险等级, to `risk`) or keep (维持)
    #[schema(schema_with = decisions)]
    pub decision: String,
    /// With raise: medium (中) or high (高), above the child's level now.
    #[schema(schema_with = raised_levels)]
    pub risk: Option<String>,
    /// What was checked and done (2 to 500 characters).
    #[schema(min_length = 2, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/warnings/{id}/decision", tag = "finding",
    params(("id" = String, Path)), request_body = WarningDecisionRequest,
    responses((status = 200, body = WarningView), (status = 404, body = ErrorBody),
              (status = 409, description = "已研判，或情形已消除", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn decide_warning(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<WarningDecisionRequest>,
) -> Result<Json<WarningView>, ApiError> {
    let decision = WarningDecision::parse(&req.decision, req.risk.as_deref(), &req.reason)
        .map_err(|(field, e)| ApiError::invalid(field, e))?;
    let w = state
        .store
        .decide_warning(caller.scope(), &id, &decision, &caller.ip)
        .await?;
    Ok(Json(w.into()))
}
