//! Home visits over the API: cards, visits (idempotent), photos, worklists, alerts.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::visit::VisitInput;
use weibao_store::{Alert, DueItem, Progress, StoredVisit};

use super::divisions::parse_code;
use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

/// One check item's finding.
#[derive(Serialize, ToSchema)]
pub struct CheckView {
    /// 生活, 就学, 健康, 心理, 安全, 监护, 父母每周联系
    pub item: String,
    /// 正常, 关注 or 危险
    pub finding: String,
    pub note: String,
}

/// A visit as recorded.
#[derive(Serialize, ToSchema)]
pub struct VisitView {
    pub id: String,
    pub child_id: String,
    /// RFC 3339, China Standard Time.
    pub visited_at: String,
    pub method: String,
    pub duration_minutes: u32,
    pub present: Vec<String>,
    pub caregiver: String,
    pub entrustment: Option<bool>,
    pub checks: Vec<CheckView>,
    pub needs: String,
    pub help_given: String,
    pub referral: String,
    pub risk_after: String,
    pub next_visit: Option<String>,
    pub notes: String,
    /// Photo ids: `GET /api/v1/children/{child_id}/photos/{id}`.
    pub photos: Vec<String>,
    /// {lat, lon, accuracy_m}
    pub location: Option<serde_json::Value>,
    /// A finding of danger on 安全 or 监护.
    pub danger: bool,
    pub author_name: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl VisitView {
    pub fn new(v: &StoredVisit) -> VisitView {
        let r = &v.record;
        VisitView {
            id: v.id.clone(),
            child_id: v.child_id.clone(),
            visited_at: r.visited_at.to_rfc3339(),
            method: r.method.label().into(),
            duration_minutes: r.duration_minutes,
            present: r.present.iter().map(|p| p.label().to_string()).collect(),
            caregiver: r.caregiver.clone(),
            entrustment: r.entrustment,
            checks: r
                .checks
                .iter()
                .map(|c| CheckView {
                    item: c.item.label().into(),
                    finding: c.finding.label().into(),
                    note: c.note.clone(),
                })
                .collect(),
            needs: r.needs.clone(),
            help_given: r.help_given.clone(),
            referral: r.referral.clone(),
            risk_after: r.risk_after.label().into(),
            next_visit: r.next_visit.map(|d| d.to_string()),
            notes: r.notes.clone(),
            photos: r.photos.clone(),
            location: r
                .location
                .map(|l| serde_json::to_value(l).expect("locations serialise")),
            danger: r.danger(),
            author_name: v.author_name.clone(),
            version: v.version,
            created_at: crate::time::rfc3339(v.created_at),
            updated_at: crate::time::rfc3339(v.updated_at),
        }
    }
}

/// One check item of a visit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct CheckInputDoc {
    #[schema(schema_with = check_items)]
    pub item: String,
    #[schema(schema_with = findings)]
    pub finding: String,
    pub note: Option<String>,
}

fn labels(values: impl IntoIterator<Item = &'static str>) -> utoipa::openapi::Object {
    super::schema::one_of(values)
}

fn check_items() -> utoipa::openapi::Object {
    use weibao_domain::visit::CheckItem;
    labels(CheckItem::ALL.iter().map(|c| c.label()))
}

fn findings() -> utoipa::openapi::Object {
    use weibao_domain::visit::Finding;
    labels(Finding::ALL.iter().map(|c| c.label()))
}

/// A new visit. `duration_minutes` and `checks` are needed; the rest default (now, 入户,
/// the child's current risk). The checks must cover 生活, 就学, 健康, 心理, 安全 and 监护,
/// and 父母每周联系 for a left-behind child (refused with 422 otherwise).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct VisitInputDoc {
    /// RFC 3339, or "YYYY-MM-DD HH:MM" in China Standard Time; default now.
    pub visited_at: Option<String>,
    /// 入户 (default), 电话, 视频, 到校, 其他
    pub method: Option<String>,
    #[schema(minimum = 1, maximum = 600)]
    pub duration_minutes: u32,
    /// 儿童本人, 监护人, 实际照料人, 父母, 老师, 其他
    pub present: Option<Vec<String>>,
    pub caregiver: Option<String>,
    /// Written entrustment of care (书面委托) exists.
    pub entrustment: Option<bool>,
    pub checks: Vec<CheckInputDoc>,
    pub needs: Option<String>,
    pub help_given: Option<String>,
    pub referral: Option<String>,
    /// 低, 中 or 高; default the child's current risk.
    pub risk_after: Option<String>,
    pub next_visit: Option<String>,
    pub notes: Option<String>,
    /// Ids from `POST /api/v1/children/{id}/photos`, at most 6.
    pub photos: Option<Vec<String>>,
    /// {lat, lon, accuracy_m}
    pub location: Option<serde_json::Value>,
}

/// A correction of a visit: only the fields that change; the rest stay as recorded.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct VisitCorrectionDoc {
    pub visited_at: Option<String>,
    pub method: Option<String>,
    #[schema(minimum = 1, maximum = 600)]
    pub duration_minutes: Option<u32>,
    pub present: Option<Vec<String>>,
    pub caregiver: Option<String>,
    pub entrustment: Option<bool>,
    pub checks: Option<Vec<CheckInputDoc>>,
    pub needs: Option<String>,
    pub help_given: Option<String>,
    pub referral: Option<String>,
    pub risk_after: Option<String>,
    pub next_visit: Option<String>,
    pub notes: Option<String>,
    pub photos: Option<Vec<String>>,
    pub location: Option<serde_json::Value>,
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => v.to_str().map(|s| Some(s.trim().to_string())).map_err(|_| {
            ApiError::invalid(
                "Idempotency-Key",
                weibao_domain::Invalid::new(
                    "idempotency_key",
                    "Idempotency-Key 只能包含 ASCII 字符（如 UUID）",
                ),
            )
        }),
    }
}

#[utoipa::path(post, path = "/api/v1/children/{id}/visits", tag = "visits",
    params(("id" = String, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "重复提交同一个键只产生一条探访记录")),
    request_body = VisitInputDoc,
    responses((status = 201, body = VisitView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_visit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<VisitInput>,
) -> Result<(StatusCode, Json<VisitView>), ApiError> {
    let key = idempotency_key(&headers)?;
    let (visit, _) = state
        .store
        .record_visit(caller.scope(), &id, input, key.as_deref(), &caller.ip)
        .await?;
    Ok((StatusCode::CREATED, Json(VisitView::new(&visit))))
}

#[derive(Serialize, ToSchema)]
pub struct VisitList {
    pub items: Vec<VisitView>,
    pub total: i64,
}

#[utoipa::path(get, path = "/api/v1/children/{id}/visits", tag = "visits",
    params(("id" = String, Path)),
    responses((status = 200, body = VisitList), (status = 404, body = ErrorBody)))]
pub async fn child_visits(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<VisitList>, ApiError> {
    let visits = state.store.child_visits(caller.scope(), &id).await?;
    Ok(Json(VisitList {
        total: visits.len() as i64,
        items: visits.iter().map(VisitView::new).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/children/{id}/visits/{visit_id}", tag = "visits",
    params(("id" = String, Path), ("visit_id" = String, Path)),
    responses((status = 200, body = VisitView), (status = 404, body = ErrorBody)))]
pub async fn get_visit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams((id, visit_id)): PathParams<(String, String)>,
) -> Result<Json<VisitView>, ApiError> {
    let v = state.store.visit(caller.scope(), &id, &visit_id).await?;
    Ok(Json(VisitView::new(&v)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// The version you corrected: a newer one answers 409 instead of overwriting.
    pub version: Option<i64>,
}

#[utoipa::path(patch, path = "/api/v1/children/{id}/visits/{visit_id}", tag = "visits",
    params(("id" = String, Path), ("visit_id" = String, Path), VersionQuery),
    request_body = VisitCorrectionDoc,
    responses((status = 200, body = VisitView), (status = 404, body = ErrorBody),
              (status = 409, description = "超过 24 小时（只能由督导员更正）或版本已变", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn correct_visit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams((id, visit_id)): PathParams<(String, String)>,
    QueryParams(q): QueryParams<VersionQuery>,
    JsonBody(input): JsonBody<VisitInput>,
) -> Result<Json<VisitView>, ApiError> {
    let v = state
        .store
        .correct_visit(caller.scope(), &id, &visit_id, input, q.version, &caller.ip)
        .await?;
    Ok(Json(VisitView::new(&v)))
}

/// The multipart body of a photo upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PhotoUpload {
    /// A JPEG, PNG or WebP image, at most 8 MB.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    pub file: String,
}

#[derive(Serialize, ToSchema)]
pub struct PhotoCreated {
    pub id: String,
}

/// Upload limit of the photo route (a little over the store's own limit, so that the
/// store's clear message is what the caller sees).
pub const MAX_PHOTO_UPLOAD: usize = weibao_store::MAX_PHOTO_BYTES + 64 * 1024;

#[utoipa::path(post, path = "/api/v1/children/{id}/photos", tag = "visits",
    params(("id" = String, Path)),
    request_body(content = PhotoUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = PhotoCreated), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn upload_photo(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    multipart: super::Upload,
) -> Result<(StatusCode, Json<PhotoCreated>), ApiError> {
    let bytes = super::multipart_file(
        multipart,
        |_| {
            format!(
                "照片过大或上传中断（上限 {} MB），请重新拍摄或重试",
                weibao_store::MAX_PHOTO_BYTES / 1024 / 1024
            )
        },
        "请在表单字段 file 中上传照片",
    )
    .await?;
    let photo = state
        .store
        .save_photo(caller.scope(), &id, bytes.to_vec(), &caller.ip)
        .await?;
    Ok((StatusCode::CREATED, Json(PhotoCreated { id: photo })))
}

#[utoipa::path(get, path = "/api/v1/children/{id}/photos/{photo_id}", tag = "visits",
    params(("id" = String, Path), ("photo_id" = String, Path)),
    responses((status = 200, description = "照片（JPEG、PNG 或 WebP，按上传的原样）",
               content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"))),
              (status = 404, body = ErrorBody)))]
pub async fn get_photo(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams((id, photo_id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let photo = state
        .store
        .photo(caller.scope(), &id, &photo_id, &caller.ip)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, photo.content_type),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        photo.bytes,
    )
        .into_response())
}

/// Where the cards' QR codes point: the configured public URL, or this request's host.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.public_url {
        return u.to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

#[utoipa::path(get, path = "/api/v1/children/{id}/card.svg", tag = "visits",
    params(("id" = String, Path)),
    responses((status = 200, description = "爱心陪伴卡（SVG，90×60 mm，含裁切线）", content_type = "image/svg+xml"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn card_svg(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let card = state.store.card(caller.scope(), &id, &caller.ip).await?;
    let svg = crate::card::card_svg(&card, &base_url(&state, &headers));
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        svg,
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct ReissueBody {
    /// 遗失, 损坏, 卡面信息泄露, ...: at most 200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct CardView {
    pub child_id: String,
    /// The URL the new QR code carries (the old one stops working).
    pub url: String,
    pub child_name: String,
    pub village: String,
    pub director_name: Option<String>,
    pub director_phone: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/children/{id}/card/reissue", tag = "visits",
    params(("id" = String, Path)), request_body = ReissueBody,
    responses((status = 200, body = CardView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reissue_card(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ReissueBody>,
) -> Result<Json<CardView>, ApiError> {
    let card = state
        .store
        .reissue_card(caller.scope(), &id, &body.reason, &caller.ip)
        .await?;
    Ok(Json(CardView {
        url: crate::card::scan_url(&base_url(&state, &headers), &card.token),
        child_id: card.child_id,
        child_name: card.child_name,
        village: card.village,
        director_name: card.director_name,
        director_phone: card.director_phone,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    /// Division subtree; default your home division.
    pub division: Option<String>,
    /// From 1 (default 1).
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct DueView {
    pub child_id: String,
    pub name: String,
    pub division: String,
    pub due_date: String,
    pub overdue: bool,
    pub days_overdue: i64,
    /// first, followup, regular or planned
    pub reason: String,
    pub risk: String,
    pub last_visit_on: Option<String>,
}

impl DueView {
    fn new(d: &DueItem) -> DueView {
        DueView {
            child_id: d.child_id.clone(),
            name: d.name.clone(),
            division: d.division_code.clone(),
            due_date: d.due_date.to_string(),
            overdue: d.overdue,
            days_overdue: d.days_overdue,
            reason: d.reason.clone(),
            risk: d.risk.clone(),
            last_visit_on: d.last_visit_on.map(|x| x.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DueList {
    pub items: Vec<DueView>,
    /// Matches counted: all of them when `total_exact`; otherwise the count stopped ten
    /// pages past this one (`page + 9` pages of `per_page`) and there are more.
    pub total: i64,
    pub total_exact: bool,
    pub page: u32,
    pub per_page: u32,
}

#[utoipa::path(get, path = "/api/v1/visits/due", tag = "visits", params(DueQuery),
    responses((status = 200, description = "到期（7 天内）与逾期的儿童，最紧急的在前", body = DueList),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn due_visits(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<DueQuery>,
) -> Result<Json<DueList>, ApiError> {
    let division = match q.division.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => Some(parse_code("division", d)?),
        None => None,
    };
    let (page, per_page) = super::paging(q.page, q.per_page)?;
    let (items, total) = state
        .store
        .due_list(
            caller.scope(),
            division,
            i64::from(page),
            i64::from(per_page),
        )
        .await?;
    Ok(Json(DueList {
        items: items.iter().map(DueView::new).collect(),
        total: total.count,
        total_exact: total.exact,
        page,
        per_page,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ProgressView {
    pub division: String,
    pub name: String,
    pub children: i64,
    pub overdue: i64,
    pub due_soon: i64,
    pub visits_30d: i64,
    /// 按期探访率 (%): children whose visit is not overdue.
    pub on_time_percent: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ProgressList {
    pub items: Vec<ProgressView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgressQuery {
    /// Default your home division.
    pub division: Option<String>,
}

pub fn progress_view(p: &Progress) -> ProgressView {
    ProgressView {
        division: p.division_code.clone(),
        name: p.name.clone(),
        children: p.children,
        overdue: p.overdue,
        due_soon: p.due_soon,
        visits_30d: p.visits_30d,
        on_time_percent: (p.on_time_percent() * 10.0).round() / 10.0,
    }
}

#[utoipa::path(get, path = "/api/v1/visits/progress", tag = "visits", params(ProgressQuery),
    responses((status = 200, description = "下一级各区划的探访进度", body = ProgressList),
              (status = 404, body = ErrorBody)))]
pub async fn visit_progress(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ProgressQuery>,
) -> Result<Json<ProgressList>, ApiError> {
    let division = match q.division.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => parse_code("division", d)?,
        None => caller
            .scope()
            .home()
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "请指定区划"))?,
    };
    let rows = state.store.visit_progress(caller.scope(), division).await?;
    Ok(Json(ProgressList {
        items: rows.iter().map(progress_view).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct AlertView {
    pub id: String,
    pub child_id: String,
    pub child_name: String,
    pub division: String,
    pub visit_id: String,
    pub summary: String,
    pub raised_at: String,
    pub raised_by: String,
}

impl AlertView {
    pub fn new(a: &Alert) -> AlertView {
        AlertView {
            id: a.id.clone(),
            child_id: a.child_id.clone(),
            child_name: a.child_name.clone(),
            division: a.division_code.clone(),
            visit_id: a.visit_id.clone(),
            summary: a.summary.clone(),
            raised_at: crate::time::rfc3339(a.raised_at),
            raised_by: a.raised_by.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AlertList {
    pub items: Vec<AlertView>,
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "visits",
    responses((status = 200, description = "辖区内未处置的危险情形提醒", body = AlertList),
              (status = 403, body = ErrorBody)))]
pub async fn open_alerts(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<AlertList>, ApiError> {
    caller
        .scope()
        .check_role(weibao_domain::access::Action::ResolveAlerts)
        .map_err(weibao_store::StoreError::from)?;
    let alerts = state.store.open_alerts(caller.scope()).await?;
    Ok(Json(AlertList {
        items: alerts.iter().map(AlertView::new).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ResolveBody {
    /// What was done (已复访, 已报告派出所, ...): at most 1000 characters, not only spaces.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub resolution: String,
}

#[utoipa::path(post, path = "/api/v1/children/{id}/alerts/{alert_id}/resolve", tag = "visits",
    params(("id" = String, Path), ("alert_id" = String, Path)), request_body = ResolveBody,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn resolve_alert(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams((id, alert_id)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<ResolveBody>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .resolve_alert(caller.scope(), &id, &alert_id, &body.resolution, &caller.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
