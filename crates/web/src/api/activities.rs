//! Activities (宣传和服务活动) over the API: each level records its own with photos; the
//! counts by division, unit, kind or month are what work reports quote.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::activities::{period, ActivityGrouping, ActivityInput, ActivityKind};
use weibao_domain::{DivisionCode, Invalid};
use weibao_store::{
    ActivityCount, ActivityFilter, ActivityRecord, NewActivity, RecordFile, StoreError,
};

use super::committee::unit_names;
use super::{multipart_form, JsonBody, PathParams, QueryParams, Upload};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::time::rfc3339;
use crate::AppState;

fn kinds() -> utoipa::openapi::Object {
    super::schema::one_of(ActivityKind::codes())
}

fn kinds_or_empty() -> utoipa::openapi::Object {
    super::schema::one_of_or_empty(ActivityKind::codes())
}

/// Empty (or absent) is by division.
fn groupings() -> utoipa::openapi::Object {
    super::schema::one_of_or_empty(ActivityGrouping::codes())
}

/// A photo of an activity.
#[derive(Serialize, ToSchema)]
pub struct ActivityPhotoView {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    /// GET it here (the read is audited).
    pub url: String,
}

/// An activity.
#[derive(Serialize, ToSchema)]
pub struct ActivityView {
    pub id: String,
    pub division_code: String,
    /// The unit that held it, if a unit did.
    pub unit_id: Option<String>,
    pub unit_name: Option<String>,
    pub kind: String,
    pub kind_label: String,
    pub title: String,
    /// YYYY-MM-DD
    pub held_on: String,
    pub place: String,
    pub participants: i64,
    pub children_reached: i64,
    /// 发放宣传资料（份）
    pub materials: i64,
    pub summary: String,
    pub recorded_at: String,
    pub photos: Vec<ActivityPhotoView>,
}

impl ActivityView {
    pub fn new(
        a: ActivityRecord,
        photos: Vec<RecordFile>,
        names: &HashMap<String, String>,
    ) -> ActivityView {
        ActivityView {
            unit_name: a
                .unit_id
                .as_ref()
                .map(|u| names.get(u).cloned().unwrap_or_default()),
            kind_label: ActivityKind::parse(&a.kind)
                .map(|k| k.label())
                .unwrap_or_default()
                .into(),
            recorded_at: rfc3339(a.created_at),
            photos: photos
                .into_iter()
                .map(|f| ActivityPhotoView {
                    url: format!("/api/v1/activities/{}/photos/{}", a.id, f.id),
                    id: f.id,
                    name: f.name,
                    content_type: f.content_type,
                    size: f.size,
                })
                .collect(),
            id: a.id,
            division_code: a.division_code,
            unit_id: a.unit_id,
            kind: a.kind,
            title: a.title,
            held_on: a.held_on,
            place: a.place,
            participants: a.participants,
            children_reached: a.children_reached,
            materials: a.materials,
            summary: a.summary,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ActivityList {
    pub items: Vec<ActivityView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// From this day (YYYY-MM-DD), inclusive.
    pub from: Option<NaiveDate>,
    /// To this day, inclusive.
    pub to: Option<NaiveDate>,
    #[param(schema_with = kinds_or_empty)]
    pub kind: Option<String>,
    /// Only under this division (within the caller's).
    #[param(pattern = r"^(\d{6,12})?$")]
    pub division: Option<String>,
}

impl ActivityQuery {
    pub fn filter(&self) -> Result<ActivityFilter, ApiError> {
        let (from, to) = period(self.from, self.to).map_err(|(f, e)| ApiError::invalid(f, e))?;
        let kind = match self.kind.as_deref().filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => Some(ActivityKind::parse(k).ok_or_else(|| {
                ApiError::invalid(
                    "kind",
                    Invalid::new(
                        "choice",
                        format!("kind 应为 {} 之一", ActivityKind::codes().join("、")),
                    ),
                )
            })?),
        };
        let division = match self.division.as_deref().filter(|d| !d.is_empty()) {
            None => None,
            Some(d) => Some(DivisionCode::parse(d).map_err(|e| ApiError::invalid("division", e))?),
        };
        Ok(ActivityFilter {
            from,
            to,
            kind,
            division,
        })
    }
}

/// The activities the caller sees (a unit: its own), newest first.
#[utoipa::path(get, path = "/api/v1/activities", tag = "activities", params(ActivityQuery),
    responses((status = 200, body = ActivityList), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn list_activities(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ActivityQuery>,
) -> Result<Json<ActivityList>, ApiError> {
    let found = state.store.activities(caller.scope(), &q.filter()?).await?;
    let names = unit_names(&state, &caller).await?;
    Ok(Json(ActivityList {
        items: found
            .into_iter()
            .map(|a| ActivityView::new(a, vec![], &names))
            .collect(),
    }))
}

/// An activity as held.
#[derive(Deserialize, ToSchema)]
pub struct ActivityRequest {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub title: String,
    #[schema(schema_with = kinds)]
    pub kind: String,
    /// Not later than today.
    pub held_on: NaiveDate,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub place: String,
    #[schema(minimum = 0, maximum = 1000000)]
    pub participants: Option<i64>,
    #[schema(minimum = 0, maximum = 1000000)]
    pub children_reached: Option<i64>,
    #[schema(minimum = 0, maximum = 1000000)]
    pub materials: Option<i64>,
    #[schema(max_length = 2000)]
    pub summary: Option<String>,
    /// Within the caller's division; default the caller's own.
    #[schema(pattern = r"^(\d{6,12})?$")]
    pub division: Option<String>,
    /// The unit that held it (the office only; a liaison's activity is its unit's).
    pub unit_id: Option<String>,
}

impl ActivityRequest {
    fn into_new(self) -> Result<NewActivity, ApiError> {
        let division = match self.division.as_deref().filter(|d| !d.is_empty()) {
            None => None,
            Some(d) => Some(DivisionCode::parse(d).map_err(|e| ApiError::invalid("division", e))?),
        };
        Ok(NewActivity {
            input: ActivityInput {
                title: self.title,
                kind: self.kind,
                held_on: Some(self.held_on),
                place: self.place,
                participants: self.participants.unwrap_or(0),
                children_reached: self.children_reached.unwrap_or(0),
                materials: self.materials.unwrap_or(0),
                summary: self.summary.unwrap_or_default(),
            },
            division,
            unit_id: self.unit_id,
        })
    }
}

async fn detail(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: &str,
) -> Result<ActivityView, ApiError> {
    let (a, photos) = state.store.activity(caller.scope(), id).await?;
    let names = unit_names(state, caller).await?;
    Ok(ActivityView::new(a, photos, &names))
}

/// Records an activity (photos are added at POST /api/v1/activities/{id}/photos).
#[utoipa::path(post, path = "/api/v1/activities", tag = "activities",
    request_body = ActivityRequest,
    responses((status = 201, body = ActivityView), (status = 403, body = ErrorBody),
              (status = 404, description = "区划不在管辖范围内", body = ErrorBody),
              (status = 409, description = "账号未关联单位", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_activity(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ActivityRequest>,
) -> Result<(StatusCode, Json<ActivityView>), ApiError> {
    let a = state
        .store
        .add_activity(caller.scope(), body.into_new()?, vec![], &caller.ip)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(detail(&state, &caller, &a.id).await?),
    ))
}

/// One activity with its photos.
#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "activities",
    params(("id" = String, Path)),
    responses((status = 200, body = ActivityView), (status = 404, body = ErrorBody)))]
pub async fn get_activity(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<ActivityView>, ApiError> {
    Ok(Json(detail(&state, &caller, &id).await?))
}

/// Photos of an activity.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ActivityPhotoUpload {
    /// One or more photos (JPEG, PNG, WebP) or PDF scans, each in a field named file.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Adds photos to an activity (at most 9 in all; the same bytes twice are kept once).
#[utoipa::path(post, path = "/api/v1/activities/{id}/photos", tag = "activities",
    params(("id" = String, Path)),
    request_body(content = ActivityPhotoUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = ActivityView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn upload_activity_photos(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    upload: Upload,
) -> Result<(StatusCode, Json<ActivityView>), ApiError> {
    caller
        .scope()
        .check_role(weibao_domain::access::Action::RecordActivities)
        .map_err(StoreError::from)?;
    let (_, files) = multipart_form(
        upload,
        "照片过大或上传中断（每张不超过 10 MB），请压缩后重试",
    )
    .await?;
    let photos: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .filter(|(k, _, _)| k == "file")
        .map(|(_, n, b)| (n, b))
        .collect();
    if photos.is_empty() {
        return Err(ApiError::invalid(
            "file",
            Invalid::new("file_missing", "请在字段 file 中上传照片"),
        ));
    }
    state
        .store
        .add_activity_photos(caller.scope(), &id, photos, &caller.ip)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(detail(&state, &caller, &id).await?),
    ))
}

/// One photo of an activity, the read audited.
#[utoipa::path(get, path = "/api/v1/activities/{id}/photos/{file_id}", tag = "activities",
    params(("id" = String, Path), ("file_id" = String, Path)),
    responses((status = 200, description = "照片或 PDF，按上传的原样",
               content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"),
                       (Vec<u8> = "application/pdf"))),
              (status = 404, body = ErrorBody)))]
pub async fn get_activity_photo(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams((id, file_id)): PathParams<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let (file, bytes) = state
        .store
        .activity_photo(caller.scope(), &id, &file_id, &caller.ip)
        .await?;
    Ok(super::reports::file_response(
        &file.content_type,
        &file.name,
        bytes,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountQuery {
    #[param(schema_with = groupings)]
    pub by: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    #[param(schema_with = kinds_or_empty)]
    pub kind: Option<String>,
    #[param(pattern = r"^(\d{6,12})?$")]
    pub division: Option<String>,
}

/// One line of the counts.
#[derive(Serialize, ToSchema)]
pub struct ActivityCountView {
    /// The division's code, the unit's id, the kind or the month (YYYY-MM); "" for the
    /// total (the last line).
    pub key: String,
    pub label: String,
    pub activities: i64,
    pub participants: i64,
    pub children_reached: i64,
    pub materials: i64,
}

impl From<ActivityCount> for ActivityCountView {
    fn from(c: ActivityCount) -> Self {
        ActivityCountView {
            key: c.key,
            label: c.label,
            activities: c.activities,
            participants: c.participants,
            children_reached: c.children_reached,
            materials: c.materials,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ActivityCounts {
    /// division, unit, kind or month
    pub by: String,
    pub lines: Vec<ActivityCountView>,
}

/// Activities counted by division (one level below the caller's or the filter's), unit,
/// kind or month, with the people and children reached and the materials; the last line
/// is the total.
#[utoipa::path(get, path = "/api/v1/activities/counts", tag = "activities", params(CountQuery),
    responses((status = 200, body = ActivityCounts), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn activity_counts(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<CountQuery>,
) -> Result<Json<ActivityCounts>, ApiError> {
    let by = match q.by.as_deref().filter(|b| !b.is_empty()) {
        None => ActivityGrouping::Division,
        Some(b) => ActivityGrouping::parse(b).ok_or_else(|| {
            ApiError::invalid(
                "by",
                Invalid::new(
                    "choice",
                    format!("by 应为 {} 之一", ActivityGrouping::codes().join("、")),
                ),
            )
        })?,
    };
    let filter = ActivityQuery {
        from: q.from,
        to: q.to,
        kind: q.kind,
        division: q.division,
    }
    .filter()?;
    let lines = state
        .store
        .activity_counts(caller.scope(), &filter, by)
        .await?;
    Ok(Json(ActivityCounts {
        by: by.code().into(),
        lines: lines.into_iter().map(Into::into).collect(),
    }))
}
