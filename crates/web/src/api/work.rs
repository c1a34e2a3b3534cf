//! The shared machinery over the API: the inbox (work items and notifications), finishing
//! and supervising work items, the registry of units and their group robots, the
//! working-day calendar, and access to sealed records.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use weibao_domain::work::UnitKind;
use weibao_store::{Supervision, Unit, UnitContact, WebhookKind};

use super::cases::WorkItemView;
use super::divisions::parse_code;
use super::{JsonBody, PathParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::time::rfc3339;
use crate::AppState;

/// A notification in the app.
#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    /// Pass back to POST /api/v1/inbox/read.
    pub id: String,
    pub text: String,
    pub link: String,
    pub created_at: String,
    pub read: bool,
}

/// What needs the caller's action.
#[derive(Serialize, ToSchema)]
pub struct InboxView {
    /// Most urgent and soonest due first.
    pub items: Vec<WorkItemView>,
    pub notifications: Vec<NotificationView>,
    /// Urgent reports no one in the office has acknowledged yet (office only).
    pub urgent_unacknowledged: i64,
}

#[utoipa::path(get, path = "/api/v1/inbox", tag = "inbox",
    responses((status = 200, body = InboxView)))]
pub async fn inbox(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<InboxView>, ApiError> {
    let scope = caller.scope();
    let now = state.store.clock().now_ms();
    let items = state.store.inbox(scope, 100).await?;
    let notifications = state.store.notifications(scope, 50).await?;
    let urgent = state.store.unacknowledged_urgent(scope).await?;
    Ok(Json(InboxView {
        items: items
            .into_iter()
            .map(|w| WorkItemView::new(w, now))
            .collect(),
        notifications: notifications
            .into_iter()
            .map(|n| NotificationView {
                id: format!("{}:{}", n.county_code, n.id),
                text: n.text,
                link: n.link,
                created_at: rfc3339(n.created_at),
                read: n.read_at.is_some(),
            })
            .collect(),
        urgent_unacknowledged: urgent,
    }))
}

/// Notifications seen.
#[derive(Deserialize, ToSchema)]
pub struct ReadRequest {
    #[schema(max_items = 200)]
    pub ids: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/inbox/read", tag = "inbox", request_body = ReadRequest,
    responses((status = 204, description = "已标记为已读")))]
pub async fn mark_read(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<ReadRequest>,
) -> Result<StatusCode, ApiError> {
    if req.ids.len() > 200 {
        return Err(ApiError::invalid(
            "ids",
            weibao_domain::Invalid::new("too_many", "一次最多 200 条"),
        ));
    }
    let ids: Vec<(String, String)> = req
        .ids
        .iter()
        .filter_map(|i| {
            i.split_once(':')
                .map(|(c, id)| (c.to_string(), id.to_string()))
        })
        .collect();
    state.store.mark_read(caller.scope(), &ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What was done.
#[derive(Deserialize, ToSchema)]
pub struct CompleteWorkRequest {
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/work/{id}/complete", tag = "inbox", params(("id" = String, Path)),
    request_body = CompleteWorkRequest,
    responses((status = 200, body = WorkItemView), (status = 404, body = ErrorBody),
              (status = 409, description = "已完成，或由转介、报告流程结束的事项", body = ErrorBody)))]
pub async fn complete_work(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<CompleteWorkRequest>,
) -> Result<Json<WorkItemView>, ApiError> {
    let w = state
        .store
        .complete_task(caller.scope(), &id, &req.note, &caller.ip)
        .await?;
    Ok(Json(WorkItemView::new(w, state.store.clock().now_ms())))
}

fn supervision_levels() -> utoipa::openapi::Object {
    super::schema::one_of(["supervised", "listed", "rectify"])
}

/// 督办: a level, its own deadline (a date, the end of that day, or a number of working
/// days from now over the working-day calendar) and what is demanded.
#[derive(Deserialize, ToSchema)]
pub struct SupervisionRequest {
    /// supervised (督办), listed (挂牌督办) or rectify (限时整改)
    #[schema(schema_with = supervision_levels)]
    pub level: String,
    /// Not earlier than today. Give this or `working_days`.
    pub due_on: Option<NaiveDate>,
    /// Working days from now (weekends and holidays skipped). Give this or `due_on`.
    #[schema(minimum = 1, maximum = 60)]
    pub working_days: Option<u32>,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/work/{id}/supervision", tag = "inbox", params(("id" = String, Path)),
    request_body = SupervisionRequest,
    responses((status = 200, body = WorkItemView), (status = 404, body = ErrorBody),
              (status = 409, description = "事项已办结", body = ErrorBody),
              (status = 422, description = "期限早于今天，或期限与工作日数都未给出", body = ErrorBody)))]
pub async fn supervise_work(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<SupervisionRequest>,
) -> Result<Json<WorkItemView>, ApiError> {
    let level = Supervision::parse(&req.level)
        .filter(|l| l.code() == req.level)
        .ok_or_else(|| {
            ApiError::invalid(
                "level",
                weibao_domain::Invalid::new(
                    "choice",
                    "督办级别应为 supervised（督办）、listed（挂牌督办）或 rectify（限时整改）",
                ),
            )
        })?;
    let due = supervision_due(&state, req.due_on, req.working_days).await?;
    let w = state
        .store
        .supervise(caller.scope(), &id, level, due, &req.note, &caller.ip)
        .await?;
    Ok(Json(WorkItemView::new(w, state.store.clock().now_ms())))
}

/// A supervision deadline from a date (the end of that day) or a number of working days
/// from now, exactly one of the two.
pub async fn supervision_due(
    state: &AppState,
    due_on: Option<NaiveDate>,
    working_days: Option<u32>,
) -> Result<i64, ApiError> {
    match (due_on, working_days) {
        (Some(d), None) => Ok(weibao_domain::work::calendar::end_of_day_ms(d)),
        (None, Some(n)) if (1..=60).contains(&n) => {
            let now = state.store.clock().now_ms();
            let due = state
                .store
                .deadline_after(now, weibao_domain::work::Span::WorkingDays(n))
                .await?;
            Ok(due.at_ms)
        }
        (None, Some(_)) => Err(ApiError::invalid(
            "working_days",
            weibao_domain::Invalid::new("range", "督办期限的工作日数应在 1 到 60 之间"),
        )),
        _ => Err(ApiError::invalid(
            "due_on",
            weibao_domain::Invalid::new(
                "due_required",
                "请给出督办期限：due_on（日期）或 working_days（工作日数），二者选一",
            ),
        )),
    }
}

/// A contact of a unit.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct ContactView {
    #[schema(min_length = 1, max_length = 30)]
    pub name: String,
    #[schema(max_length = 30)]
    pub title: Option<String>,
    pub phone: Option<String>,
}

/// A unit of the registry.
#[derive(Serialize, ToSchema)]
pub struct UnitView {
    pub id: String,
    /// 12-digit code of its county.
    pub county: String,
    pub division: String,
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub contacts: Vec<ContactView>,
    /// wecom or dingtalk when a group robot is set (its address is never shown).
    pub webhook: Option<String>,
    pub active: bool,
}

impl From<Unit> for UnitView {
    fn from(u: Unit) -> Self {
        UnitView {
            id: u.id,
            county: format!("{:0<12}", u.county_code),
            division: u.division_code,
            kind: u.kind.code().into(),
            kind_label: u.kind.label().into(),
            name: u.name,
            contacts: u
                .contacts
                .into_iter()
                .map(|c| ContactView {
                    name: c.name,
                    title: Some(c.title),
                    phone: Some(c.phone),
                })
                .collect(),
            webhook: u.webhook.map(|w| w.code().into()),
            active: u.active,
        }
    }
}

/// The units within reach.
#[derive(Serialize, ToSchema)]
pub struct UnitList {
    pub items: Vec<UnitView>,
}

#[utoipa::path(get, path = "/api/v1/units", tag = "units",
    responses((status = 200, body = UnitList)))]
pub async fn list_units(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<UnitList>, ApiError> {
    let items = state.store.list_units(caller.scope()).await?;
    Ok(Json(UnitList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

fn registered_kinds() -> utoipa::openapi::Object {
    super::schema::one_of(
        UnitKind::ALL
            .iter()
            .filter(|k| !k.one_per_county())
            .map(|k| k.code()),
    )
}

/// A unit to register: an agency, a township under its own name, another body (member
/// units and the office are made by the platform, one per county).
#[derive(Deserialize, ToSchema)]
pub struct UnitRequest {
    #[schema(schema_with = registered_kinds)]
    pub kind: String,
    #[schema(min_length = 2, max_length = 60)]
    pub name: String,
    /// Where it works: a county, township or village.
    pub division: String,
    #[schema(max_items = 10)]
    pub contacts: Option<Vec<ContactView>>,
}

fn contacts_of(list: Option<Vec<ContactView>>) -> Vec<UnitContact> {
    list.unwrap_or_default()
        .into_iter()
        .map(|c| UnitContact {
            name: c.name,
            title: c.title.unwrap_or_default(),
            phone: c.phone.unwrap_or_default(),
        })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/units", tag = "units", request_body = UnitRequest,
    responses((status = 201, body = UnitView), (status = 404, body = ErrorBody),
              (status = 409, description = "本县已有同名单位", body = ErrorBody),
              (status = 422, description = "名称、区划或联系人有误", body = ErrorBody)))]
pub async fn create_unit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<UnitRequest>,
) -> Result<(StatusCode, Json<UnitView>), ApiError> {
    let kind = super::schema::exact(UnitKind::ALL, UnitKind::code, &req.kind)
        .filter(|k| !k.one_per_county())
        .ok_or_else(|| {
            ApiError::invalid(
                "kind",
                weibao_domain::Invalid::new(
                    "unit_kind",
                    "单位类别应为 township、agency 或 other（成员单位由平台按县自动建立）",
                ),
            )
        })?;
    let division = parse_code("division", &req.division)?;
    let unit = state
        .store
        .create_unit(
            caller.scope(),
            weibao_store::NewUnit {
                kind,
                name: req.name,
                division,
                contacts: contacts_of(req.contacts),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(unit.into())))
}

fn webhook_kinds() -> utoipa::openapi::Object {
    super::schema::one_of_or_null(["wecom", "dingtalk"])
}

/// What changes on a unit.
#[derive(Deserialize, ToSchema)]
pub struct UnitPatch {
    #[schema(max_items = 10)]
    pub contacts: Option<Vec<ContactView>>,
    /// wecom (企业微信) or dingtalk (钉钉), with `webhook_url`; an empty URL removes it.
    #[schema(schema_with = webhook_kinds)]
    pub webhook_kind: Option<String>,
    #[schema(max_length = 500)]
    pub webhook_url: Option<String>,
    pub active: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/units/{id}", tag = "units", params(("id" = String, Path)),
    request_body = UnitPatch,
    responses((status = 200, body = UnitView), (status = 404, body = ErrorBody),
              (status = 422, description = "联系人或群机器人地址有误", body = ErrorBody)))]
pub async fn update_unit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<UnitPatch>,
) -> Result<Json<UnitView>, ApiError> {
    let kind = req.webhook_kind.as_deref().filter(|k| !k.is_empty());
    if kind.is_some_and(|k| !matches!(k, "wecom" | "dingtalk")) {
        return Err(ApiError::invalid(
            "webhook_kind",
            weibao_domain::Invalid::new(
                "choice",
                "群机器人类型应为 wecom（企业微信）或 dingtalk（钉钉）",
            ),
        ));
    }
    // A kind counts only with the address it goes to.
    let webhook = req.webhook_url.map(|url| {
        (
            req.webhook_kind.as_deref().and_then(WebhookKind::parse),
            url,
        )
    });
    let unit = state
        .store
        .update_unit(
            caller.scope(),
            &id,
            req.contacts.map(|c| contacts_of(Some(c))),
            webhook,
            req.active,
        )
        .await?;
    Ok(Json(unit.into()))
}

/// A loaded year of the working-day calendar.
#[derive(Serialize, ToSchema)]
pub struct CalendarYearView {
    pub year: i32,
    pub source: String,
    pub holidays: usize,
    pub workdays: usize,
    pub loaded_at: String,
    pub loaded_by: String,
}

/// The loaded years.
#[derive(Serialize, ToSchema)]
pub struct CalendarView {
    pub years: Vec<CalendarYearView>,
}

#[utoipa::path(get, path = "/api/v1/calendar", tag = "units",
    responses((status = 200, body = CalendarView)))]
pub async fn list_calendar(
    State(state): State<AppState>,
    Auth(_caller): Auth,
) -> Result<Json<CalendarView>, ApiError> {
    let years = state.store.calendar_years().await?;
    Ok(Json(CalendarView {
        years: years
            .into_iter()
            .map(|y| CalendarYearView {
                year: y.year,
                source: y.source,
                holidays: y.holidays,
                workdays: y.workdays,
                loaded_at: rfc3339(y.loaded_at),
                loaded_by: y.loaded_by,
            })
            .collect(),
    }))
}

/// A year's notice as text: `year 2027`, then `holiday 2027-01-01 元旦`, `holiday
/// 2027-02-06 2027-02-13 春节`, `workday 2027-02-14 春节调休上班` lines.
#[derive(Deserialize, ToSchema)]
pub struct CalendarRequest {
    #[schema(min_length = 1, max_length = 20000)]
    pub text: String,
}

#[utoipa::path(post, path = "/api/v1/calendar", tag = "units", request_body = CalendarRequest,
    responses((status = 201, body = CalendarYearView),
              (status = 422, description = "日历格式有误（说明第几行）", body = ErrorBody)))]
pub async fn load_calendar(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<CalendarRequest>,
) -> Result<(StatusCode, Json<CalendarYearView>), ApiError> {
    if req.text.chars().count() > 20000 {
        return Err(ApiError::invalid(
            "text",
            weibao_domain::Invalid::new("too_long", "日历文本最多 20000 字"),
        ));
    }
    let y = state.store.load_calendar(caller.scope(), &req.text).await?;
    Ok((
        StatusCode::CREATED,
        Json(CalendarYearView {
            year: y.year,
            source: y.source,
            holidays: y.holidays,
            workdays: y.workdays,
            loaded_at: rfc3339(y.loaded_at),
            loaded_by: y.loaded_by,
        }),
    ))
}

/// A request for time-limited access to a sealed report or case.
#[derive(Deserialize, ToSchema)]
pub struct SealedAccessRequest {
    pub subject_id: String,
    #[schema(min_length = 4, max_length = 500)]
    pub reason: String,
}

/// A request as the office sees it.
#[derive(Serialize, ToSchema)]
pub struct SealedRequestView {
    pub id: String,
    pub subject_id: String,
    pub user_id: String,
    pub username: Option<String>,
    pub reason: String,
    pub requested_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub granted: Option<bool>,
    pub until: Option<String>,
}

impl From<weibao_store::SealedRequest> for SealedRequestView {
    fn from(r: weibao_store::SealedRequest) -> Self {
        SealedRequestView {
            id: r.id,
            subject_id: r.subject_id,
            user_id: r.user_id,
            username: r.username,
            reason: r.reason,
            requested_at: rfc3339(r.requested_at),
            decided_by: r.decided_by,
            decided_at: r.decided_at.map(rfc3339),
            granted: r.granted,
            until: r.until_ms.map(rfc3339),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/sealed/requests", tag = "sealed", request_body = SealedAccessRequest,
    responses((status = 201, body = SealedRequestView), (status = 404, body = ErrorBody),
              (status = 409, description = "已能查看，无需申请", body = ErrorBody),
              (status = 422, description = "理由 4 到 500 字，去掉空白后计", body = ErrorBody)))]
pub async fn request_sealed_access(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<SealedAccessRequest>,
) -> Result<(StatusCode, Json<SealedRequestView>), ApiError> {
    let r = state
        .store
        .request_sealed_access(caller.scope(), &req.subject_id, &req.reason, &caller.ip)
        .await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

/// The office's requests.
#[derive(Serialize, ToSchema)]
pub struct SealedRequestList {
    pub items: Vec<SealedRequestView>,
}

#[utoipa::path(get, path = "/api/v1/sealed/requests", tag = "sealed",
    responses((status = 200, body = SealedRequestList), (status = 404, body = ErrorBody)))]
pub async fn list_sealed_requests(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<SealedRequestList>, ApiError> {
    let home = caller.scope().home().ok_or(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "没有所属区划",
    ))?;
    let items = state.store.sealed_requests(caller.scope(), home).await?;
    Ok(Json(SealedRequestList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// A decision on a request.
#[derive(Deserialize, ToSchema)]
pub struct SealedDecision {
    pub grant: bool,
    /// How long a grant lasts (1 to 720 hours; default 24).
    #[schema(value_type = Option<u16>, minimum = 1, maximum = 720)]
    pub hours: Option<f64>,
}

#[utoipa::path(post, path = "/api/v1/sealed/requests/{id}/decision", tag = "sealed", params(("id" = String, Path)),
    request_body = SealedDecision,
    responses((status = 200, body = SealedRequestView), (status = 404, body = ErrorBody),
              (status = 409, description = "已处理", body = ErrorBody)))]
pub async fn decide_sealed_access(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<SealedDecision>,
) -> Result<Json<SealedRequestView>, ApiError> {
    // A JSON number with nothing after the point (24.0) is an integer too.
    let hours = req.hours.unwrap_or(24.0);
    if hours.fract() != 0.0 || !(1.0..=720.0).contains(&hours) {
        return Err(ApiError::invalid(
            "hours",
            weibao_domain::Invalid::new("hours_range", "授权时长应为 1 到 720 之间的整数（小时）"),
        ));
    }
    let hours = hours as i64;
    let r = state
        .store
        .decide_sealed_access(caller.scope(), &id, req.grant, hours, &caller.ip)
        .await?;
    Ok(Json(r.into()))
}

/// Name (or un-name) a reader of the county's sealed records.
#[derive(Deserialize, ToSchema)]
pub struct SealedReaderRequest {
    pub user_id: String,
    pub reader: bool,
}

#[utoipa::path(post, path = "/api/v1/sealed/readers", tag = "sealed", request_body = SealedReaderRequest,
    responses((status = 204), (status = 404, body = ErrorBody),
              (status = 422, description = "账户不在本县", body = ErrorBody)))]
pub async fn set_sealed_reader(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<SealedReaderRequest>,
) -> Result<StatusCode, ApiError> {
    let home = caller.scope().home().ok_or(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "没有所属区划",
    ))?;
    state
        .store
        .set_sealed_reader(caller.scope(), home, &req.user_id, req.reader, &caller.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
