//! The protection network over the API: coverage by division, its places (center,
//! stations, work points, service stations) and the people who hold its posts, with their
//! training.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::network::{parse_date, PersonInput, PlaceKind, Post};
use weibao_store::{Coverage, CoverageRow, Person, Place, Vacancy};

use super::divisions::{home_or, parse_code};
use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

fn day(field: &'static str, s: &str) -> Result<chrono::NaiveDate, ApiError> {
    parse_date("日期", s).map_err(|e| ApiError::invalid(field, e))
}

fn place_kinds() -> utoipa::openapi::Object {
    super::schema::one_of(PlaceKind::ALL.iter().map(|k| k.code()))
}

fn place_kinds_or_empty() -> utoipa::openapi::Object {
    super::schema::one_of(std::iter::once("").chain(PlaceKind::ALL.iter().map(|k| k.code())))
}

fn posts() -> utoipa::openapi::Object {
    super::schema::one_of(Post::ALL.iter().map(|p| p.code()))
}

fn posts_or_empty() -> utoipa::openapi::Object {
    super::schema::one_of(std::iter::once("").chain(Post::ALL.iter().map(|p| p.code())))
}

// ---- coverage -----------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// Default your home division.
    pub division: Option<String>,
}

/// The figures of one division.
#[derive(Serialize, ToSchema)]
pub struct CoverageFigures {
    pub division: String,
    pub name: String,
    /// 未成年人保护中心
    pub centers: i64,
    /// 未成年人保护工作站 (townships)
    pub stations: i64,
    /// 未成年人保护工作点 / 儿童之家 (villages)
    pub work_points: i64,
    /// 未成年人保护服务站
    pub service_stations: i64,
    /// 儿童督导员 in post
    pub supervisors: i64,
    /// 儿童主任 in post
    pub directors: i64,
    /// Staff of centers and service stations in post.
    pub staff: i64,
    pub townships: i64,
    pub villages: i64,
    pub townships_with_station: i64,
    pub villages_with_work_point: i64,
    /// Townships without a supervisor.
    pub supervisor_vacancies: i64,
    /// Villages without a director.
    pub director_vacancies: i64,
    /// Children in the ledger.
    pub children: i64,
    /// One decimal; null without children.
    pub directors_per_100_children: Option<f64>,
    /// Directors in post with no training recorded this year.
    pub untrained_directors: i64,
}

impl From<&CoverageRow> for CoverageFigures {
    fn from(r: &CoverageRow) -> Self {
        CoverageFigures {
            division: r.division_code.clone(),
            name: r.name.clone(),
            centers: r.centers,
            stations: r.stations,
            work_points: r.work_points,
            service_stations: r.service_stations,
            supervisors: r.supervisors,
            directors: r.directors,
            staff: r.staff,
            townships: r.townships,
            villages: r.villages,
            townships_with_station: r.townships_with_station,
            villages_with_work_point: r.villages_with_work_point,
            supervisor_vacancies: r.supervisor_vacancies,
            director_vacancies: r.director_vacancies,
            children: r.children,
            directors_per_100_children: r.directors_per_100_children,
            untrained_directors: r.untrained_directors,
        }
    }
}

/// A post nobody holds.
#[derive(Serialize, ToSchema)]
pub struct VacancyView {
    pub division: String,
    pub name: String,
    /// supervisor or director
    pub post: String,
    pub post_label: String,
    /// When its last holder left (null: never filled).
    pub since: Option<String>,
}

impl From<&Vacancy> for VacancyView {
    fn from(v: &Vacancy) -> Self {
        VacancyView {
            division: v.division_code.clone(),
            name: v.name.clone(),
            post: v.post.code().into(),
            post_label: v.post.label().into(),
            since: v.since.clone(),
        }
    }
}

/// Coverage under a division: its figures, each division one level down, the vacancies.
#[derive(Serialize, ToSchema)]
pub struct CoverageView {
    #[serde(flatten)]
    pub total: CoverageFigures,
    /// The year "this year" means for training.
    pub year: i32,
    pub vacancies: Vec<VacancyView>,
    /// The divisions one level down.
    pub rows: Vec<CoverageFigures>,
}

impl From<&Coverage> for CoverageView {
    fn from(c: &Coverage) -> Self {
        CoverageView {
            total: (&c.total).into(),
            year: c.year,
            vacancies: c.vacancies.iter().map(Into::into).collect(),
            rows: c.rows.iter().map(Into::into).collect(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/network/coverage", tag = "network", params(CoverageQuery),
    responses((status = 200, body = CoverageView), (status = 404, body = ErrorBody)))]
pub async fn network_coverage(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<CoverageQuery>,
) -> Result<Json<CoverageView>, ApiError> {
    let division = home_or(&caller, q.division.as_deref())?;
    let c = state.store.coverage(caller.scope(), division).await?;
    Ok(Json((&c).into()))
}

// ---- places -------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct PlaceView {
    pub id: String,
    /// center, station, work_point or service_station
    pub kind: String,
    pub kind_label: String,
    pub division: String,
    pub name: String,
    pub address: String,
    pub opened_on: Option<String>,
    pub staff: i64,
    pub closed_on: Option<String>,
}

impl From<Place> for PlaceView {
    fn from(p: Place) -> Self {
        PlaceView {
            kind: p.kind.code().into(),
            kind_label: p.kind.label().into(),
            id: p.id,
            division: p.division_code,
            name: p.name,
            address: p.address,
            opened_on: p.opened_on,
            staff: p.staff,
            closed_on: p.closed_on,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PlaceList {
    pub items: Vec<PlaceView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceQuery {
    /// Default your home division.
    pub division: Option<String>,
    #[param(schema_with = place_kinds_or_empty)]
    pub kind: Option<String>,
    /// Closed places too.
    pub closed: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/network/places", tag = "network", params(PlaceQuery),
    responses((status = 200, body = PlaceList), (status = 404, body = ErrorBody)))]
pub async fn list_places(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<PlaceQuery>,
) -> Result<Json<PlaceList>, ApiError> {
    let division = home_or(&caller, q.division.as_deref())?;
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(kind_of(k)?),
    };
    let items = state
        .store
        .list_places(caller.scope(), division, kind, q.closed.unwrap_or(false))
        .await?;
    Ok(Json(PlaceList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

fn kind_of(k: &str) -> Result<PlaceKind, ApiError> {
    super::schema::exact(PlaceKind::ALL, PlaceKind::code, k).ok_or_else(|| {
        ApiError::invalid(
            "kind",
            weibao_domain::Invalid::new(
                "place_kind",
                "阵地类别应为 center、station、work_point 或 service_station",
            ),
        )
    })
}

/// A place to open.
#[derive(Deserialize, ToSchema)]
pub struct PlaceRequest {
    #[schema(schema_with = place_kinds)]
    pub kind: String,
    /// A county for a center, a township for a station, a village for a work point; any of
    /// them for a service station.
    pub division: String,
    #[schema(min_length = 1, max_length = 60)]
    pub name: String,
    #[schema(max_length = 200)]
    pub address: Option<String>,
    /// YYYY-MM-DD
    pub opened_on: Option<String>,
    #[schema(minimum = 0, maximum = 500)]
    pub staff: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/network/places", tag = "network", request_body = PlaceRequest,
    responses((status = 201, body = PlaceView), (status = 404, body = ErrorBody),
              (status = 409, description = "该区划已设有同类阵地", body = ErrorBody),
              (status = 422, description = "区划级别、名称或日期有误", body = ErrorBody)))]
pub async fn create_place(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<PlaceRequest>,
) -> Result<(StatusCode, Json<PlaceView>), ApiError> {
    let kind = kind_of(&req.kind)?;
    let division = parse_code("division", &req.division)?;
    let opened_on = match req.opened_on.as_deref().filter(|d| !d.trim().is_empty()) {
        None => None,
        Some(d) => Some(day("opened_on", d)?),
    };
    let place = state
        .store
        .add_place(
            caller.scope(),
            weibao_store::NewPlace {
                kind,
                division,
                name: req.name,
                address: req.address.unwrap_or_default(),
                opened_on,
                staff: req.staff.unwrap_or(0),
            },
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(place.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct CloseRequest {
    /// YYYY-MM-DD
    pub closed_on: String,
}

#[utoipa::path(post, path = "/api/v1/network/places/{id}/close", tag = "network",
    params(("id" = String, Path)), request_body = CloseRequest,
    responses((status = 200, body = PlaceView), (status = 404, body = ErrorBody),
              (status = 409, description = "已登记撤销", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn close_place(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<CloseRequest>,
) -> Result<Json<PlaceView>, ApiError> {
    let closed_on = day("closed_on", &req.closed_on)?;
    let place = state
        .store
        .close_place(caller.scope(), &id, closed_on, &caller.ip)
        .await?;
    Ok(Json(place.into()))
}

// ---- people -------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct PersonView {
    pub id: String,
    /// supervisor, director or staff
    pub post: String,
    pub post_label: String,
    pub division: String,
    pub name: String,
    pub phone: String,
    pub qualification: String,
    pub qualification_label: String,
    pub certificate: Option<String>,
    pub appointed_on: String,
    pub left_on: Option<String>,
    pub left_reason: String,
    /// Their account, if they have one.
    pub user_id: Option<String>,
    /// Training recorded this year, in hours.
    pub training_hours: f64,
}

impl From<Person> for PersonView {
    fn from(p: Person) -> Self {
        PersonView {
            post: p.post.code().into(),
            post_label: p.post.label().into(),
            qualification: p.qualification.code().into(),
            qualification_label: p.qualification.label().into(),
            certificate: p.certificate.map(|c| c.code().into()),
            id: p.id,
            division: p.division_code,
            name: p.name,
            phone: p.phone,
            appointed_on: p.appointed_on,
            left_on: p.left_on,
            left_reason: p.left_reason,
            user_id: p.user_id,
            training_hours: p.training_hours,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PersonList {
    pub items: Vec<PersonView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// Default your home division.
    pub division: Option<String>,
    #[param(schema_with = posts_or_empty)]
    pub post: Option<String>,
    /// Those who left too.
    pub former: Option<bool>,
}

fn post_of(p: &str) -> Result<Post, ApiError> {
    super::schema::exact(Post::ALL, Post::code, p).ok_or_else(|| {
        ApiError::invalid(
            "post",
            weibao_domain::Invalid::new("post_unknown", "岗位应为 supervisor、director 或 staff"),
        )
    })
}

#[utoipa::path(get, path = "/api/v1/network/people", tag = "network", params(PeopleQuery),
    responses((status = 200, body = PersonList), (status = 404, body = ErrorBody)))]
pub async fn list_people(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<PeopleQuery>,
) -> Result<Json<PersonList>, ApiError> {
    let division = home_or(&caller, q.division.as_deref())?;
    let post = match q.post.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(post_of(p)?),
    };
    let items = state
        .store
        .list_people(caller.scope(), division, post, q.former.unwrap_or(false))
        .await?;
    Ok(Json(PersonList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

fn qualifications() -> utoipa::openapi::Object {
    super::schema::one_of(
        weibao_domain::network::Qualification::ALL
            .iter()
            .map(|q| q.code()),
    )
}

fn certificates() -> utoipa::openapi::Object {
    super::schema::one_of_or_null(
        weibao_domain::network::Certificate::ALL
            .iter()
            .map(|c| c.code()),
    )
}

/// Someone to appoint.
#[derive(Deserialize, ToSchema)]
pub struct PersonRequest {
    #[schema(min_length = 1, max_length = 30)]
    pub name: String,
    #[schema(schema_with = posts)]
    pub post: String,
    /// The township a supervisor serves, the village a director serves.
    pub division: String,
    #[schema(schema_with = qualifications)]
    pub qualification: Option<String>,
    /// With certified_social_worker only.
    #[schema(schema_with = certificates)]
    pub certificate: Option<String>,
    #[schema(max_length = 20)]
    pub phone: Option<String>,
    /// YYYY-MM-DD; default today.
    pub appointed_on: Option<String>,
    /// Their account's username, if they have one.
    #[schema(max_length = 40)]
    pub username: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/network/people", tag = "network", request_body = PersonRequest,
    responses((status = 201, body = PersonView), (status = 404, body = ErrorBody),
              (status = 422, description = "岗位与区划不符、日期或电话有误", body = ErrorBody)))]
pub async fn appoint_person(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<PersonRequest>,
) -> Result<(StatusCode, Json<PersonView>), ApiError> {
    post_of(&req.post)?;
    let input = PersonInput {
        name: req.name,
        post: req.post,
        division: req.division,
        qualification: req.qualification,
        certificate: req.certificate,
        phone: req.phone,
        appointed_on: req.appointed_on,
    };
    let a = input
        .check(state.store.clock().today())
        .map_err(|(field, e)| ApiError::invalid(field, e))?;
    let person = state
        .store
        .appoint(caller.scope(), a, req.username.as_deref(), &caller.ip)
        .await?;
    Ok((StatusCode::CREATED, Json(person.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct LeaveRequest {
    /// YYYY-MM-DD
    pub left_on: String,
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/network/people/{id}/leave", tag = "network",
    params(("id" = String, Path)), request_body = LeaveRequest,
    responses((status = 200, body = PersonView), (status = 404, body = ErrorBody),
              (status = 409, description = "已离任", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn leave_post(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<LeaveRequest>,
) -> Result<Json<PersonView>, ApiError> {
    let left_on = day("left_on", &req.left_on)?;
    let person = state
        .store
        .leave_post(caller.scope(), &id, left_on, &req.reason, &caller.ip)
        .await?;
    Ok(Json(person.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct TrainingRequest {
    /// YYYY-MM-DD
    pub held_on: String,
    #[schema(minimum = 0.5, maximum = 200)]
    pub hours: f64,
    #[schema(min_length = 1, max_length = 100)]
    pub topic: String,
}

#[utoipa::path(post, path = "/api/v1/network/people/{id}/trainings", tag = "network",
    params(("id" = String, Path)), request_body = TrainingRequest,
    responses((status = 201, body = PersonView), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn record_training(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<TrainingRequest>,
) -> Result<(StatusCode, Json<PersonView>), ApiError> {
    let held_on = day("held_on", &req.held_on)?;
    let person = state
        .store
        .record_training(
            caller.scope(),
            &id,
            held_on,
            req.hours,
            &req.topic,
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(person.into())))
}

// ---- roster in and out of Excel -------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RosterImportQuery {
    /// The county (or a township in it) the roster is for.
    pub division: String,
    /// true (default): check only and report what would be added; false: record every
    /// place and person not yet recorded, all or none.
    pub dry_run: Option<bool>,
    /// The field each column fills where the report's choice should change: a JSON
    /// object from column letters to a field name (see the report's `fields`), or `""`
    /// for "do not import", e.g. `{"E":"place_name","J":""}`.
    pub mapping: Option<String>,
}

/// The multipart body of a roster import.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RosterUpload {
    /// The .xlsx roster (花名册).
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    pub file: String,
}

/// A refused roster import: the report of the rows, or an error when the file or a
/// parameter could not be used.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RosterRefused {
    Report(crate::network_io::NetworkImportReport),
    Error(ErrorBody),
}

#[utoipa::path(post, path = "/api/v1/network/import", tag = "network", params(RosterImportQuery),
    request_body(content = RosterUpload, content_type = "multipart/form-data"),
    responses((status = 200, description = "试导入报告，或已导入（已登记的阵地和人员保持不变）", body = crate::network_io::NetworkImportReport),
              (status = 422, description = "有错误行（报告），或文件、参数无效（错误）", body = RosterRefused),
              (status = 404, body = ErrorBody),
              (status = 429, description = "导入过于频繁（见 Retry-After）", body = ErrorBody)))]
pub async fn import_network(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<RosterImportQuery>,
    multipart: super::Upload,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let division = parse_code("division", &q.division)?;
    caller
        .scope()
        .check(weibao_domain::access::Action::ManageNetwork, division)
        .map_err(weibao_store::StoreError::from)?;
    if division.level() < weibao_domain::Level::County {
        return Err(ApiError::invalid(
            "division",
            weibao_domain::Invalid::new(
                "division_level",
                "花名册按县（市、区）或乡镇（街道）导入：请选择一个县或乡镇",
            ),
        ));
    }
    let mapping = match q.mapping.as_deref().filter(|m| !m.trim().is_empty()) {
        None => Default::default(),
        Some(m) => crate::ledger_io::parse_mapping_of(m, crate::network_io::FIELDS)
            .map_err(|e| ApiError::invalid("mapping", e))?,
    };
    if let Some(refused) = state
        .limiter
        .before_import(&caller.scope().user_id, state.store.clock().now_ms())
    {
        return Ok(refused);
    }
    let bytes = super::multipart_file(
        multipart,
        |e| {
            format!(
                "文件过大或上传中断（上限 {} MB）：{e}",
                super::children::MAX_UPLOAD_BYTES / 1024 / 1024
            )
        },
        "请在表单字段 file 中上传工作网络花名册 .xlsx 文件",
    )
    .await?;
    let report = crate::network_io::import_roster(
        &state.store,
        caller.scope(),
        division,
        &bytes,
        mapping,
        q.dry_run.unwrap_or(true),
        &caller.ip,
    )
    .await
    .map_err(|e| match e {
        crate::network_io::NetworkFailure::Sheet(s) => ApiError::invalid(
            "file",
            weibao_domain::Invalid::new("sheet_unreadable", s.to_string()),
        ),
        crate::network_io::NetworkFailure::Store(s) => s.into(),
    })?;
    let status = if report.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RosterExportQuery {
    /// A county or a division in it; default: the caller's own.
    pub division: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/network/export.xlsx", tag = "network", params(RosterExportQuery),
    responses((status = 200, description = "工作网络花名册（Excel，可再导入）",
               content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_network(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<RosterExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let division = home_or(&caller, q.division.as_deref())?;
    let bytes =
        crate::network_io::export_roster(&state.store, caller.scope(), division, &caller.ip)
            .await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"network-roster.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}
