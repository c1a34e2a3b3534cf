//! Offline visits over the API: a phone registers after sign-in and gets the key it
//! encrypts its data under, downloads the worklist for the road, asks whether it must wipe,
//! and says when it did; the office lists the phones that hold data and revokes them.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use weibao_domain::child::Risk;
use weibao_domain::visit::{Finding, Present, VisitMethod, MAX_PHOTOS};
use weibao_store::{DeviceState, OfflineChild, OfflineDevice};

use super::{JsonBody, PathParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
pub struct DeviceRequest {
    /// What the phone calls itself (its browser), shown to the office; empty: the
    /// request's User-Agent.
    pub label: String,
}

/// A phone that holds (or held) downloaded data.
#[derive(Serialize, ToSchema)]
pub struct DeviceView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub label: String,
    pub registered_at: i64,
    pub last_sync_at: i64,
    /// Children in its last download.
    pub children: i64,
    /// active, revoked (by the office) or wiped (signed out)
    pub state: String,
}

impl DeviceView {
    pub fn new(d: &OfflineDevice) -> DeviceView {
        DeviceView {
            id: d.id.clone(),
            username: d.username.clone(),
            display_name: d.display_name.clone(),
            label: d.label.clone(),
            registered_at: d.created_at,
            last_sync_at: d.last_sync_at,
            children: d.children,
            state: if d.wiped_at.is_some() {
                "wiped"
            } else if d.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            }
            .into(),
        }
    }
}

/// A registered phone and its data key.
#[derive(Serialize, ToSchema)]
pub struct DeviceRegistered {
    pub device: DeviceView,
    /// AES-256-GCM key (base64 of 32 bytes) for what the phone keeps; handed out once and
    /// not kept by the server.
    pub key: String,
    /// Days the phone keeps its data without contact (setting `offline_days`).
    pub offline_days: i64,
}

fn label_of(req: &DeviceRequest, headers: &HeaderMap) -> String {
    if !req.label.trim().is_empty() {
        return req.label.clone();
    }
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[utoipa::path(post, path = "/api/v1/offline/devices", tag = "offline", request_body = DeviceRequest,
    responses((status = 201, body = DeviceRegistered), (status = 403, body = ErrorBody)))]
pub async fn register_device(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    JsonBody(req): JsonBody<DeviceRequest>,
) -> Result<(StatusCode, Json<DeviceRegistered>), ApiError> {
    let (device, key) = state
        .store
        .register_device(caller.scope(), &label_of(&req, &headers), &caller.ip)
        .await?;
    let offline_days = state.store.offline_days(caller.scope().home()).await?;
    Ok((
        StatusCode::CREATED,
        Json(DeviceRegistered {
            device: DeviceView::new(&device),
            key,
            offline_days,
        }),
    ))
}

/// The last visit's findings.
#[derive(Serialize, ToSchema)]
pub struct LastVisitView {
    pub on: String,
    pub risk_after: String,
    /// Items not found normal ("item：finding（note）").
    pub findings: Vec<String>,
    pub needs: String,
}

/// One child of the downloaded worklist.
#[derive(Serialize, ToSchema)]
pub struct OfflineChildView {
    pub id: String,
    /// The record's version when downloaded: a visit sent later says if it changed.
    pub version: i64,
    pub name: String,
    pub division: String,
    pub place: String,
    pub risk: String,
    pub categories: Vec<String>,
    pub left_behind: bool,
    pub caregiver: String,
    pub due_date: String,
    pub overdue: bool,
    /// The check items of this child's visit form, in order.
    pub checks: Vec<String>,
    /// SHA-256 (lowercase hex) of the child's card token; null before a card is printed.
    pub card_hash: Option<String>,
    pub last_visit: Option<LastVisitView>,
}

impl OfflineChildView {
    fn new(c: OfflineChild) -> OfflineChildView {
        OfflineChildView {
            id: c.id,
            version: c.version,
            name: c.name,
            division: c.division_code,
            place: c.place,
            risk: c.risk.into(),
            categories: c.categories.into_iter().map(str::to_string).collect(),
            left_behind: c.left_behind,
            caregiver: c.caregiver,
            due_date: c.due_date.to_string(),
            overdue: c.overdue,
            checks: c.checks.into_iter().map(str::to_string).collect(),
            card_hash: c.card_hash,
            last_visit: c.last_visit.map(|v| LastVisitView {
                on: v.on.to_string(),
                risk_after: v.risk_after.into(),
                findings: v.findings,
                needs: v.needs,
            }),
        }
    }
}

/// The choices of the visit form, so the phone draws it offline.
#[derive(Serialize, ToSchema)]
pub struct FormChoices {
    pub methods: Vec<String>,
    pub durations: Vec<u32>,
    pub presents: Vec<String>,
    pub findings: Vec<String>,
    pub risks: Vec<String>,
    pub max_photos: usize,
    /// The largest photo the server takes, in bytes.
    pub max_photo_bytes: usize,
}

impl FormChoices {
    fn new() -> FormChoices {
        FormChoices {
            methods: VisitMethod::ALL.iter().map(|m| m.label().into()).collect(),
            durations: vec![15, 30, 45, 60, 90],
            presents: Present::ALL.iter().map(|p| p.label().into()).collect(),
            findings: Finding::ALL.iter().map(|f| f.label().into()).collect(),
            risks: Risk::ALL.iter().map(|r| r.label().into()).collect(),
            max_photos: MAX_PHOTOS,
            max_photo_bytes: weibao_store::MAX_PHOTO_BYTES,
        }
    }
}

/// What a phone keeps for the road.
#[derive(Serialize, ToSchema)]
pub struct Worklist {
    pub device_id: String,
    /// Server time of the download (unix ms).
    pub downloaded_at: i64,
    pub offline_days: i64,
    pub form: FormChoices,
    /// Due within 7 days and overdue, most urgent first.
    pub children: Vec<OfflineChildView>,
}

#[utoipa::path(get, path = "/api/v1/offline/devices/{id}/worklist", tag = "offline",
    params(("id" = String, Path)),
    responses((status = 200, body = Worklist), (status = 404, body = ErrorBody),
              (status = 409, description = "设备已被收回：清除本机数据", body = ErrorBody)))]
pub async fn offline_worklist(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<Worklist>, ApiError> {
    let children = state
        .store
        .offline_worklist(caller.scope(), &id, &caller.ip)
        .await?;
    Ok(Json(Worklist {
        device_id: id,
        downloaded_at: state.store.clock().now_ms(),
        offline_days: state.store.offline_days(caller.scope().home()).await?,
        form: FormChoices::new(),
        children: children.into_iter().map(OfflineChildView::new).collect(),
    }))
}

/// Whether a phone may keep its data.
#[derive(Serialize, ToSchema)]
pub struct DeviceStateView {
    /// active, or wipe (revoked, signed out, account disabled, unknown)
    pub state: String,
}

#[utoipa::path(get, path = "/api/v1/offline/devices/{id}/state", tag = "offline",
    params(("id" = String, Path)),
    responses((status = 200, body = DeviceStateView)))]
pub async fn device_state(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<DeviceStateView>, ApiError> {
    let s = state.store.device_state(&id).await?;
    Ok(Json(DeviceStateView {
        state: match s {
            DeviceState::Active => "active",
            DeviceState::Revoked => "wipe",
        }
        .into(),
    }))
}

#[utoipa::path(post, path = "/api/v1/offline/devices/{id}/contact", tag = "offline",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn device_contact(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.store.device_contact(caller.scope(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/offline/devices/{id}/wiped", tag = "offline",
    params(("id" = String, Path)),
    responses((status = 200, body = DeviceView), (status = 404, body = ErrorBody)))]
pub async fn device_wiped(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<DeviceView>, ApiError> {
    let d = state
        .store
        .end_device(caller.scope(), &id, true, &caller.ip)
        .await?;
    Ok(Json(DeviceView::new(&d)))
}

#[derive(Serialize, ToSchema)]
pub struct DeviceList {
    pub items: Vec<DeviceView>,
}

#[utoipa::path(get, path = "/api/v1/offline/devices", tag = "offline",
    responses((status = 200, description = "本辖区账号持有离线数据的设备", body = DeviceList),
              (status = 403, body = ErrorBody)))]
pub async fn list_devices(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<DeviceList>, ApiError> {
    let items = state.store.offline_devices(caller.scope()).await?;
    Ok(Json(DeviceList {
        items: items.iter().map(DeviceView::new).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/offline/devices/{id}/revoke", tag = "offline",
    params(("id" = String, Path)),
    responses((status = 200, body = DeviceView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn revoke_device(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<DeviceView>, ApiError> {
    let d = state
        .store
        .end_device(caller.scope(), &id, false, &caller.ip)
        .await?;
    Ok(Json(DeviceView::new(&d)))
}
