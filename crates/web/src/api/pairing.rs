//! One-to-one pairing (结对帮扶) over the API: helpers registered by each level, a child of
//! the caller's division paired with one, contacts logged, pairings ended with a reason;
//! the overview lists the children with no helper, the helpers silent this quarter, and the
//! figures by division one level down.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::finding::pairing::{ContactKind, HelperInput, HelperKind};
use weibao_domain::DivisionCode;
use weibao_store::{HelperRecord, PairingCount, PairingRecord};

use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

fn helper_kinds() -> utoipa::openapi::Object {
    super::schema::one_of(HelperKind::codes())
}

fn contact_kinds() -> utoipa::openapi::Object {
    super::schema::one_of(ContactKind::codes())
}

/// A helper.
#[derive(Serialize, ToSchema)]
pub struct HelperView {
    pub id: String,
    pub name: String,
    /// teacher, volunteer, cadre, social_worker, other
    pub kind: String,
    pub kind_label: String,
    pub workplace: String,
    pub phone: String,
    /// Where the helper was registered.
    pub division_code: String,
}

impl From<HelperRecord> for HelperView {
    fn from(h: HelperRecord) -> HelperView {
        HelperView {
            kind_label: HelperKind::parse(&h.kind)
                .map(|k| k.label())
                .unwrap_or_default()
                .into(),
            id: h.id,
            name: h.name,
            kind: h.kind,
            workplace: h.workplace,
            phone: h.phone,
            division_code: h.division_code,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct HelperList {
    pub items: Vec<HelperView>,
}

/// A helper to register.
#[derive(Deserialize, ToSchema)]
pub struct HelperRequest {
    #[schema(min_length = 1, max_length = 30, pattern = r"\S")]
    pub name: String,
    #[schema(schema_with = helper_kinds)]
    pub kind: String,
    #[schema(max_length = 60)]
    pub workplace: Option<String>,
    /// A mobile (11 digits) or a landline with its area code.
    #[schema(max_length = 20)]
    pub phone: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/helpers", tag = "pairing", request_body = HelperRequest,
    responses((status = 201, body = HelperView), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_helper(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<HelperRequest>,
) -> Result<(StatusCode, Json<HelperView>), ApiError> {
    let h = state
        .store
        .add_helper(
            caller.scope(),
            &HelperInput {
                name: req.name,
                kind: req.kind,
                workplace: req.workplace.unwrap_or_default(),
                phone: req.phone.unwrap_or_default(),
            },
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(h.into())))
}

#[utoipa::path(get, path = "/api/v1/helpers", tag = "pairing",
    responses((status = 200, body = HelperList), (status = 403, body = ErrorBody)))]
pub async fn list_helpers(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<HelperList>, ApiError> {
    let found = state.store.helpers(caller.scope()).await?;
    Ok(Json(HelperList {
        items: found.into_iter().map(Into::into).collect(),
    }))
}

/// A pairing.
#[derive(Serialize, ToSchema)]
pub struct PairingView {
    pub id: String,
    pub child_id: String,
    pub child_name: String,
    pub helper_id: String,
    pub helper_name: String,
    pub helper_kind: String,
    /// The child's village.
    pub division_code: String,
    pub starts_on: String,
    pub ends_on: Option<String>,
    pub ended: bool,
    pub last_contact_on: Option<String>,
    pub contacts: i64,
}

impl From<PairingRecord> for PairingView {
    fn from(p: PairingRecord) -> PairingView {
        PairingView {
            ended: p.ended_at.is_some(),
            id: p.id,
            child_id: p.child_id,
            child_name: p.child_name,
            helper_id: p.helper_id,
            helper_name: p.helper_name,
            helper_kind: p.helper_kind,
            division_code: p.division_code,
            starts_on: p.starts_on,
            ends_on: p.ends_on,
            last_contact_on: p.last_contact_on,
            contacts: p.contacts,
        }
    }
}

/// A child paired with a helper.
#[derive(Deserialize, ToSchema)]
pub struct PairingRequest {
    pub child_id: String,
    pub helper_id: String,
    /// Default today; not later than today.
    pub starts_on: Option<NaiveDate>,
    /// Not before the start; none: until ended.
    pub ends_on: Option<NaiveDate>,
}

#[utoipa::path(post, path = "/api/v1/pairings", tag = "pairing", request_body = PairingRequest,
    responses((status = 201, body = PairingView), (status = 403, body = ErrorBody),
              (status = 404, description = "儿童不在辖区内", body = ErrorBody),
              (status = 409, description = "该儿童已有帮扶人", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_pairing(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<PairingRequest>,
) -> Result<(StatusCode, Json<PairingView>), ApiError> {
    let p = state
        .store
        .pair(
            caller.scope(),
            &req.child_id,
            &req.helper_id,
            req.starts_on,
            req.ends_on,
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// A contact of a helper with the child.
#[derive(Deserialize, ToSchema)]
pub struct ContactRequest {
    #[schema(schema_with = contact_kinds)]
    pub kind: String,
    /// Default today; within the pairing, not later than today.
    pub contacted_on: Option<NaiveDate>,
    /// What was done.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/pairings/{id}/contacts", tag = "pairing",
    params(("id" = String, Path)), request_body = ContactRequest,
    responses((status = 201, body = PairingView), (status = 404, body = ErrorBody),
              (status = 409, description = "结对已结束", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn log_contact(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ContactRequest>,
) -> Result<(StatusCode, Json<PairingView>), ApiError> {
    let p = state
        .store
        .log_contact(
            caller.scope(),
            &id,
            &req.kind,
            req.contacted_on,
            &req.note,
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

/// Why a pairing ends.
#[derive(Deserialize, ToSchema)]
pub struct EndPairingRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/pairings/{id}/end", tag = "pairing",
    params(("id" = String, Path)), request_body = EndPairingRequest,
    responses((status = 200, body = PairingView), (status = 404, body = ErrorBody),
              (status = 409, description = "结对已结束", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn end_pairing(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<EndPairingRequest>,
) -> Result<Json<PairingView>, ApiError> {
    let p = state
        .store
        .end_pairing(caller.scope(), &id, &req.reason, &caller.ip)
        .await?;
    Ok(Json(p.into()))
}

/// A child with no helper.
#[derive(Serialize, ToSchema)]
pub struct UnpairedView {
    pub child_id: String,
    pub name: String,
    pub division_code: String,
}

/// The figures of one division.
#[derive(Serialize, ToSchema)]
pub struct PairingCountView {
    pub division_code: String,
    pub name: String,
    /// Minors in the ledger.
    pub children: i64,
    /// Of them, paired with a helper now.
    pub paired: i64,
    /// Of them, whose helper was in touch this quarter.
    pub contacted: i64,
}

impl From<PairingCount> for PairingCountView {
    fn from(c: PairingCount) -> PairingCountView {
        PairingCountView {
            division_code: c.division_code,
            name: c.name,
            children: c.children,
            paired: c.paired,
            contacted: c.contacted,
        }
    }
}

/// Where pairing stands.
#[derive(Serialize, ToSchema)]
pub struct PairingOverviewView {
    /// The quarter "this quarter" means (its first day).
    pub quarter_start: String,
    /// Children with no helper (at most 500).
    pub unpaired: Vec<UnpairedView>,
    /// Pairings with no contact this quarter (at most 500).
    pub silent: Vec<PairingView>,
    pub by_division: Vec<PairingCountView>,
    pub total: PairingCountView,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// Within the caller's division; default the caller's.
    #[param(pattern = r"^(\d{6,12})?$")]
    pub division: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/pairings/overview", tag = "pairing", params(OverviewQuery),
    responses((status = 200, body = PairingOverviewView), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn pairing_overview(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<OverviewQuery>,
) -> Result<Json<PairingOverviewView>, ApiError> {
    let division = match q.division.as_deref().filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(DivisionCode::parse(d).map_err(|e| ApiError::invalid("division", e))?),
    };
    let o = state
        .store
        .pairing_overview(caller.scope(), division)
        .await?;
    Ok(Json(PairingOverviewView {
        quarter_start: o.quarter_start,
        unpaired: o
            .unpaired
            .into_iter()
            .map(|u| UnpairedView {
                child_id: u.child_id,
                name: u.name,
                division_code: u.division_code,
            })
            .collect(),
        silent: o.silent.into_iter().map(Into::into).collect(),
        by_division: o.by_division.into_iter().map(Into::into).collect(),
        total: o.total.into(),
    }))
}
