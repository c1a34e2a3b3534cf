//! The committee's work over the API, in the caller's county: members, each unit's duties
//! and liaison accounts, the plan's tasks and the units' progress, notices (通报) and their
//! acknowledgements, joint meetings and the yearly minimum. A task is supervised (督办,
//! 挂牌督办, 限时整改) through POST /api/v1/work/{work_id}/supervision, like any work item.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::committee::Position;
use weibao_domain::network::parse_date;
use weibao_store::{
    committee_county, Meeting, Member, NewMeeting, NewMember, NewTask, Notice, PlanTask,
    Supervision, TaskFile, TaskFilter, TaskProgress,
};

use super::{JsonBody, PathParams, QueryParams};
use crate::auth::{Auth, Caller};
use crate::error::{ApiError, ErrorBody};
use crate::time::rfc3339;
use crate::AppState;

fn day(field: &'static str, s: &str) -> Result<NaiveDate, ApiError> {
    parse_date("日期", s).map_err(|e| ApiError::invalid(field, e))
}

fn positions() -> utoipa::openapi::Object {
    super::schema::one_of(Position::ALL.iter().map(|p| p.code()))
}

/// The names of the units the caller can see, by id.
pub async fn unit_names(
    state: &AppState,
    caller: &Caller,
) -> Result<HashMap<String, String>, ApiError> {
    Ok(state
        .store
        .list_units(caller.scope())
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

fn name_of(names: &HashMap<String, String>, id: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| id.to_string())
}

// ---- members and duties ---------------------------------------------------------------

/// A member of the committee.
#[derive(Serialize, ToSchema)]
pub struct MemberView {
    pub id: String,
    pub unit_id: String,
    pub unit_name: String,
    pub name: String,
    pub title: String,
    /// chair, vice_chair, member, liaison
    pub position: String,
    pub position_label: String,
    pub phone: String,
    pub term_from: String,
    pub term_to: Option<String>,
    pub left_on: Option<String>,
}

impl MemberView {
    fn new(m: Member, names: &HashMap<String, String>) -> MemberView {
        MemberView {
            unit_name: name_of(names, &m.unit_id),
            position: m.position.code().into(),
            position_label: m.position.label().into(),
            id: m.id,
            unit_id: m.unit_id,
            name: m.name,
            title: m.title,
            phone: m.phone,
            term_from: m.term_from,
            term_to: m.term_to,
            left_on: m.left_on,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<MemberView>,
}

#[utoipa::path(get, path = "/api/v1/committee/members", tag = "committee",
    responses((status = 200, body = MemberList), (status = 422, body = ErrorBody)))]
pub async fn list_members(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<MemberList>, ApiError> {
    let county = committee_county(caller.scope())?;
    let members = state
        .store
        .committee_members(caller.scope(), county)
        .await?;
    let names = unit_names(&state, &caller).await?;
    Ok(Json(MemberList {
        items: members
            .into_iter()
            .map(|m| MemberView::new(m, &names))
            .collect(),
    }))
}

/// A member to add.
#[derive(Deserialize, ToSchema)]
pub struct MemberRequest {
    /// A unit of the county's registry.
    pub unit_id: String,
    #[schema(min_length = 1, max_length = 30)]
    pub name: String,
    /// Their post in their unit (副区长, 局长).
    #[schema(max_length = 30)]
    pub title: Option<String>,
    #[schema(schema_with = positions)]
    pub position: String,
    #[schema(max_length = 20)]
    pub phone: Option<String>,
    /// YYYY-MM-DD; default today.
    pub term_from: Option<String>,
    pub term_to: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/committee/members", tag = "committee",
    request_body = MemberRequest,
    responses((status = 201, body = MemberView),
              (status = 422, description = "单位不在本县、姓名或电话有误", body = ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<MemberRequest>,
) -> Result<(StatusCode, Json<MemberView>), ApiError> {
    let county = committee_county(caller.scope())?;
    let position = super::schema::exact(Position::ALL, Position::code, &req.position)
        .ok_or_else(|| {
            ApiError::invalid(
                "position",
                weibao_domain::Invalid::new(
                    "choice",
                    "职务应为 chair（主任）、vice_chair（副主任）、member（委员）或 liaison（联络员）",
                ),
            )
        })?;
    let term_from = match req.term_from.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => day("term_from", s)?,
        None => state.store.clock().today(),
    };
    let term_to = match req.term_to.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => Some(day("term_to", s)?),
        None => None,
    };
    let m = state
        .store
        .add_member(
            caller.scope(),
            county,
            NewMember {
                unit_id: req.unit_id,
                name: req.name,
                title: req.title.unwrap_or_default(),
                position,
                phone: req.phone.unwrap_or_default(),
                term_from,
                term_to,
            },
            &caller.ip,
        )
        .await?;
    let names = unit_names(&state, &caller).await?;
    Ok((StatusCode::CREATED, Json(MemberView::new(m, &names))))
}

/// The day a member left.
#[derive(Deserialize, ToSchema)]
pub struct MemberLeaveRequest {
    /// YYYY-MM-DD; default today.
    pub left_on: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/committee/members/{id}/leave", tag = "committee",
    params(("id" = String, Path)), request_body = MemberLeaveRequest,
    responses((status = 204), (status = 404, body = ErrorBody),
              (status = 409, description = "已登记离任", body = ErrorBody),
              (status = 422, description = "日期晚于今天", body = ErrorBody)))]
pub async fn member_leaves(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<MemberLeaveRequest>,
) -> Result<StatusCode, ApiError> {
    let county = committee_county(caller.scope())?;
    let on = match req.left_on.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => day("left_on", s)?,
        None => state.store.clock().today(),
    };
    state
        .store
        .member_leaves(caller.scope(), county, &id, on, &caller.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A unit with its duties and the accounts that act for it.
#[derive(Serialize, ToSchema)]
pub struct DutyView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub kind_label: String,
    pub duties: Vec<String>,
    /// Usernames of its liaison accounts.
    pub liaisons: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DutyList {
    pub items: Vec<DutyView>,
}

#[utoipa::path(get, path = "/api/v1/committee/units", tag = "committee",
    responses((status = 200, body = DutyList), (status = 422, body = ErrorBody)))]
pub async fn committee_units(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<DutyList>, ApiError> {
    let county = committee_county(caller.scope())?;
    let liaisons = state.store.liaison_accounts(caller.scope(), county).await?;
    let units = state.store.list_units(caller.scope()).await?;
    Ok(Json(DutyList {
        items: units
            .into_iter()
            .filter(|u| u.county_code == county.county_code() && u.active)
            .map(|u| DutyView {
                liaisons: liaisons
                    .iter()
                    .filter(|l| l.unit_id == u.id)
                    .map(|l| l.username.clone())
                    .collect(),
                kind: u.kind.code().into(),
                kind_label: u.kind.label().into(),
                id: u.id,
                name: u.name,
                duties: u.duties,
            })
            .collect(),
    }))
}

/// A unit's duty list, item by item.
#[derive(Deserialize, ToSchema)]
pub struct DutiesRequest {
    #[schema(max_items = 30)]
    pub duties: Vec<String>,
}

#[utoipa::path(put, path = "/api/v1/committee/units/{id}/duties", tag = "committee",
    params(("id" = String, Path)), request_body = DutiesRequest,
    responses((status = 200, body = DutyView), (status = 404, body = ErrorBody),
              (status = 422, description = "某条职责为空或过长、条目过多", body = ErrorBody)))]
pub async fn set_duties(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<DutiesRequest>,
) -> Result<Json<DutyView>, ApiError> {
    let u = state
        .store
        .set_duties(caller.scope(), &id, &req.duties, &caller.ip)
        .await?;
    let county = weibao_domain::DivisionCode::parse(&u.county_code)
        .map_err(|e| ApiError::invalid("id", e))?;
    let liaisons = state.store.liaison_accounts(caller.scope(), county).await?;
    Ok(Json(DutyView {
        liaisons: liaisons
            .into_iter()
            .filter(|l| l.unit_id == u.id)
            .map(|l| l.username)
            .collect(),
        kind: u.kind.code().into(),
        kind_label: u.kind.label().into(),
        id: u.id,
        name: u.name,
        duties: u.duties,
    }))
}

// ---- tasks ----------------------------------------------------------------------------

/// A unit on a task.
#[derive(Serialize, ToSchema)]
pub struct UnitRef {
    pub id: String,
    pub name: String,
}

/// A task of the plan.
#[derive(Serialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    pub year: i64,
    pub number: String,
    pub title: String,
    pub detail: String,
    pub lead_unit: UnitRef,
    pub co_units: Vec<UnitRef>,
    pub due_on: String,
    /// open or done
    pub state: String,
    pub overdue: bool,
    /// The lead unit's work item: supervise it at /api/v1/work/{work_id}/supervision.
    pub work_id: String,
    /// supervised (督办), listed (挂牌督办), rectify (限时整改) or null
    pub supervision: Option<String>,
    pub supervision_due_at: Option<String>,
    pub supervision_note: String,
    /// Late under supervision: sent up to the office head.
    pub escalated_at: Option<String>,
    /// The joint meeting whose resolution it is.
    pub meeting_id: Option<String>,
    pub done_at: Option<String>,
}

impl TaskView {
    pub fn new(t: PlanTask, names: &HashMap<String, String>, now: i64) -> TaskView {
        TaskView {
            overdue: t.overdue(now),
            lead_unit: UnitRef {
                name: name_of(names, &t.lead_unit_id),
                id: t.lead_unit_id.clone(),
            },
            co_units: t
                .co_units()
                .into_iter()
                .map(|id| UnitRef {
                    name: name_of(names, &id),
                    id,
                })
                .collect(),
            supervision: Supervision::from_level(t.supervision).map(|s| s.code().into()),
            supervision_due_at: t.supervision_due_at.map(rfc3339),
            escalated_at: t.escalated_at.map(rfc3339),
            done_at: t.done_at.map(rfc3339),
            id: t.id,
            year: t.year,
            number: t.number,
            title: t.title,
            detail: t.detail,
            due_on: t.due_on,
            state: t.state,
            work_id: t.work_id,
            supervision_note: t.supervision_note,
            meeting_id: t.meeting_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TaskList {
    pub items: Vec<TaskView>,
}

fn task_states() -> utoipa::openapi::Object {
    super::schema::one_of(["", "open", "done"])
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// The plan's year; all years when absent.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    #[param(schema_with = task_states)]
    pub state: Option<String>,
    /// Tasks this unit leads or works on.
    pub unit_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/committee/tasks", tag = "committee", params(TaskQuery),
    responses((status = 200, body = TaskList), (status = 422, body = ErrorBody)))]
pub async fn list_tasks(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<TaskQuery>,
) -> Result<Json<TaskList>, ApiError> {
    let county = committee_county(caller.scope())?;
    if q.year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        return Err(ApiError::invalid(
            "year",
            weibao_domain::Invalid::new("year_range", "年度应为 4 位年份，如 2026"),
        ));
    }
    let st = q.state.filter(|s| !s.is_empty());
    if st.as_deref().is_some_and(|s| s != "open" && s != "done") {
        return Err(ApiError::invalid(
            "state",
            weibao_domain::Invalid::new("choice", "state 应为 open（办理中）或 done（已办结）"),
        ));
    }
    let tasks = state
        .store
        .plan_tasks(
            caller.scope(),
            county,
            &TaskFilter {
                year: q.year,
                state: st,
                unit_id: q.unit_id.filter(|u| !u.is_empty()),
            },
        )
        .await?;
    let names = unit_names(&state, &caller).await?;
    let now = state.store.clock().now_ms();
    Ok(Json(TaskList {
        items: tasks
            .into_iter()
            .map(|t| TaskView::new(t, &names, now))
            .collect(),
    }))
}

/// A task to add.
#[derive(Deserialize, ToSchema)]
pub struct PlanTaskRequest {
    /// Default this year.
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    #[schema(min_length = 1, max_length = 10, pattern = r"\S")]
    pub number: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub title: String,
    #[schema(max_length = 2000)]
    pub detail: Option<String>,
    pub lead_unit_id: String,
    #[schema(max_items = 40)]
    pub co_unit_ids: Option<Vec<String>>,
    /// Not earlier than today.
    pub due_on: NaiveDate,
}

impl PlanTaskRequest {
    pub fn into_task(self, today: NaiveDate) -> NewTask {
        NewTask {
            year: self.year.unwrap_or(today.year()),
            number: self.number,
            title: self.title,
            detail: self.detail.unwrap_or_default(),
            lead_unit_id: self.lead_unit_id,
            co_unit_ids: self.co_unit_ids.unwrap_or_default(),
            due_on: self.due_on,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/committee/tasks", tag = "committee", request_body = PlanTaskRequest,
    responses((status = 201, body = TaskView),
              (status = 409, description = "本年度已有同一序号的任务", body = ErrorBody),
              (status = 422, description = "单位不在本县名录、期限早于今天", body = ErrorBody)))]
pub async fn create_task(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<PlanTaskRequest>,
) -> Result<(StatusCode, Json<TaskView>), ApiError> {
    let county = committee_county(caller.scope())?;
    let today = state.store.clock().today();
    let t = state
        .store
        .add_task(caller.scope(), county, req.into_task(today), &caller.ip)
        .await?;
    let names = unit_names(&state, &caller).await?;
    let now = state.store.clock().now_ms();
    Ok((StatusCode::CREATED, Json(TaskView::new(t, &names, now))))
}

/// A unit's report on a task.
#[derive(Serialize, ToSchema)]
pub struct TaskProgressView {
    pub unit: UnitRef,
    pub note: String,
    /// The lead unit reported the task done.
    pub done: bool,
    pub at: String,
}

/// A task with its progress reports.
#[derive(Serialize, ToSchema)]
pub struct TaskDetail {
    pub task: TaskView,
    pub progress: Vec<TaskProgressView>,
    /// Files the units sent with their progress, oldest first.
    pub files: Vec<TaskFileView>,
}

/// A file on a task: GET /api/v1/committee/tasks/{id}/files/{file_id} reads it.
#[derive(Serialize, ToSchema)]
pub struct TaskFileView {
    pub id: String,
    pub unit: UnitRef,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_at: String,
}

fn file_view(f: TaskFile, names: &HashMap<String, String>) -> TaskFileView {
    TaskFileView {
        unit: UnitRef {
            name: name_of(names, &f.unit_id),
            id: f.unit_id,
        },
        id: f.id,
        name: f.name,
        content_type: f.content_type,
        size: f.size,
        uploaded_at: rfc3339(f.uploaded_at),
    }
}

fn detail(
    (t, progress): (PlanTask, Vec<TaskProgress>),
    files: Vec<TaskFile>,
    names: &HashMap<String, String>,
    now: i64,
) -> TaskDetail {
    TaskDetail {
        files: files.into_iter().map(|f| file_view(f, names)).collect(),
        task: TaskView::new(t, names, now),
        progress: progress
            .into_iter()
            .map(|p| TaskProgressView {
                unit: UnitRef {
                    name: name_of(names, &p.unit_id),
                    id: p.unit_id,
                },
                note: p.note,
                done: p.done,
                at: rfc3339(p.at),
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/committee/tasks/{id}", tag = "committee",
    params(("id" = String, Path)),
    responses((status = 200, body = TaskDetail), (status = 404, body = ErrorBody)))]
pub async fn get_task(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<TaskDetail>, ApiError> {
    let found = state.store.plan_task(caller.scope(), &id).await?;
    let files = state.store.task_files(caller.scope(), &id).await?;
    let names = unit_names(&state, &caller).await?;
    Ok(Json(detail(
        found,
        files,
        &names,
        state.store.clock().now_ms(),
    )))
}

/// Progress on a task; `done` (the lead unit or the office) closes it.
#[derive(Deserialize, ToSchema)]
pub struct ProgressRequest {
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub note: String,
    pub done: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/committee/tasks/{id}/progress", tag = "committee",
    params(("id" = String, Path)), request_body = ProgressRequest,
    responses((status = 201, body = TaskDetail), (status = 404, body = ErrorBody),
              (status = 409, description = "任务已办结，或配合单位报告完成", body = ErrorBody),
              (status = 422, description = "进展情况为空或过长", body = ErrorBody)))]
pub async fn report_progress(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ProgressRequest>,
) -> Result<(StatusCode, Json<TaskDetail>), ApiError> {
    let found = state
        .store
        .report_progress(
            caller.scope(),
            &id,
            &req.note,
            req.done.unwrap_or(false),
            &caller.ip,
        )
        .await?;
    let files = state.store.task_files(caller.scope(), &id).await?;
    let names = unit_names(&state, &caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(detail(found, files, &names, state.store.clock().now_ms())),
    ))
}

/// The multipart body of a task's file.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TaskFileUpload {
    /// A photo (JPEG, PNG, WebP) or a PDF scan, at most 8 MB; its file name is kept.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    pub file: String,
}

/// Adds a file to an open task for the caller's unit on it (the office too). The same
/// bytes twice give the same file.
#[utoipa::path(post, path = "/api/v1/committee/tasks/{id}/files", tag = "committee",
    params(("id" = String, Path)),
    request_body(content = TaskFileUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = TaskFileView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "任务已办结", body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_task_file(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    multipart: super::Upload,
) -> Result<(StatusCode, Json<TaskFileView>), ApiError> {
    let (name, bytes) = super::multipart_named_file(
        multipart,
        |_| {
            format!(
                "附件过大或上传中断（上限 {} MB），请压缩后重试",
                weibao_store::MAX_ATTACHMENT_BYTES / 1024 / 1024
            )
        },
        "请在表单字段 file 中上传附件",
    )
    .await?;
    let file = state
        .store
        .attach_to_task(caller.scope(), &id, &name, bytes.to_vec(), &caller.ip)
        .await?;
    let names = unit_names(&state, &caller).await?;
    Ok((StatusCode::CREATED, Json(file_view(file, &names))))
}

/// One file of a task (images shown, PDFs downloaded), the read audited.
#[utoipa::path(get, path = "/api/v1/committee/tasks/{id}/files/{file_id}", tag = "committee",
    params(("id" = String, Path), ("file_id" = String, Path)),
    responses((status = 200, description = "附件（照片或 PDF，按上传的原样）",
               content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"),
                       (Vec<u8> = "application/pdf"))),
              (status = 404, body = ErrorBody)))]
pub async fn get_task_file(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams((id, file_id)): PathParams<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let (file, bytes) = state
        .store
        .task_file(caller.scope(), &id, &file_id, &caller.ip)
        .await?;
    Ok(super::reports::file_response(
        &file.content_type,
        &file.name,
        bytes,
    ))
}

// ---- notices --------------------------------------------------------------------------

/// A notice (通报).
#[derive(Serialize, ToSchema)]
pub struct NoticeView {
    pub id: String,
    pub title: String,
    pub body: String,
    pub issued_at: String,
    /// Units it went to.
    pub units: i64,
    /// Units that acknowledged it.
    pub acknowledged: i64,
}

#[derive(Serialize, ToSchema)]
pub struct NoticeList {
    pub items: Vec<NoticeView>,
}

fn notice_view(n: Notice, units: i64, acknowledged: i64) -> NoticeView {
    NoticeView {
        id: n.id,
        title: n.title,
        body: n.body,
        issued_at: rfc3339(n.issued_at),
        units,
        acknowledged,
    }
}

#[utoipa::path(get, path = "/api/v1/committee/notices", tag = "committee",
    responses((status = 200, body = NoticeList), (status = 422, body = ErrorBody)))]
pub async fn list_notices(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<NoticeList>, ApiError> {
    let county = committee_county(caller.scope())?;
    let items = state.store.notices(caller.scope(), county).await?;
    Ok(Json(NoticeList {
        items: items
            .into_iter()
            .map(|(n, t, a)| notice_view(n, t, a))
            .collect(),
    }))
}

/// A notice to issue to every unit.
#[derive(Deserialize, ToSchema)]
pub struct NoticeRequest {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub title: String,
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub body: String,
}

#[utoipa::path(post, path = "/api/v1/committee/notices", tag = "committee",
    request_body = NoticeRequest,
    responses((status = 201, body = NoticeView),
              (status = 409, description = "本县名录中还没有成员单位", body = ErrorBody),
              (status = 422, description = "标题或内容为空或过长", body = ErrorBody)))]
pub async fn issue_notice(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<NoticeRequest>,
) -> Result<(StatusCode, Json<NoticeView>), ApiError> {
    let county = committee_county(caller.scope())?;
    let n = state
        .store
        .issue_notice(caller.scope(), county, &req.title, &req.body, &caller.ip)
        .await?;
    let (_, units) = state.store.notice(caller.scope(), &n.id).await?;
    let total = units.len() as i64;
    Ok((StatusCode::CREATED, Json(notice_view(n, total, 0))))
}

/// A unit a notice went to.
#[derive(Serialize, ToSchema)]
pub struct NoticeUnitView {
    pub unit: UnitRef,
    pub acknowledged_at: Option<String>,
}

/// A notice and who acknowledged it.
#[derive(Serialize, ToSchema)]
pub struct NoticeDetail {
    pub notice: NoticeView,
    pub units: Vec<NoticeUnitView>,
}

#[utoipa::path(get, path = "/api/v1/committee/notices/{id}", tag = "committee",
    params(("id" = String, Path)),
    responses((status = 200, body = NoticeDetail), (status = 404, body = ErrorBody)))]
pub async fn get_notice(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<NoticeDetail>, ApiError> {
    let (n, units) = state.store.notice(caller.scope(), &id).await?;
    let names = unit_names(&state, &caller).await?;
    let acked = units.iter().filter(|u| u.acknowledged_at.is_some()).count() as i64;
    Ok(Json(NoticeDetail {
        notice: notice_view(n, units.len() as i64, acked),
        units: units
            .into_iter()
            .map(|u| NoticeUnitView {
                unit: UnitRef {
                    name: name_of(&names, &u.unit_id),
                    id: u.unit_id,
                },
                acknowledged_at: u.acknowledged_at.map(rfc3339),
            })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/committee/notices/{id}/acknowledgement", tag = "committee",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody),
              (status = 409, description = "已签收，或通报不是发给本单位的", body = ErrorBody)))]
pub async fn acknowledge_notice(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .acknowledge_notice(caller.scope(), &id, &caller.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- joint meetings -------------------------------------------------------------------

/// A joint meeting (联席会议).
#[derive(Serialize, ToSchema)]
pub struct MeetingView {
    pub id: String,
    pub held_on: String,
    pub convener: String,
    pub units: Vec<UnitRef>,
    pub agenda: String,
    pub minutes: String,
}

fn meeting_view(m: Meeting, names: &HashMap<String, String>) -> MeetingView {
    MeetingView {
        units: m
            .units()
            .into_iter()
            .map(|id| UnitRef {
                name: name_of(names, &id),
                id,
            })
            .collect(),
        id: m.id,
        held_on: m.held_on,
        convener: m.convener,
        agenda: m.agenda,
        minutes: m.minutes,
    }
}

/// A year's meetings against the minimum.
#[derive(Serialize, ToSchema)]
pub struct MeetingList {
    pub year: i32,
    pub held: i64,
    /// Joint meetings required a year (setting joint_meetings_per_year, default 2).
    pub minimum: i64,
    pub items: Vec<MeetingView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeetingQuery {
    /// Default this year.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
}

#[utoipa::path(get, path = "/api/v1/committee/meetings", tag = "committee", params(MeetingQuery),
    responses((status = 200, body = MeetingList), (status = 422, body = ErrorBody)))]
pub async fn list_meetings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<MeetingQuery>,
) -> Result<Json<MeetingList>, ApiError> {
    let county = committee_county(caller.scope())?;
    let year = q.year.unwrap_or(state.store.clock().today().year());
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::invalid(
            "year",
            weibao_domain::Invalid::new("year_range", "年度应为 4 位年份，如 2026"),
        ));
    }
    let items = state
        .store
        .meetings(caller.scope(), county, Some(year))
        .await?;
    let minimum = state.store.meetings_minimum(county).await?;
    let names = unit_names(&state, &caller).await?;
    Ok(Json(MeetingList {
        year,
        held: items.len() as i64,
        minimum: i64::from(minimum),
        items: items.into_iter().map(|m| meeting_view(m, &names)).collect(),
    }))
}

/// A joint meeting to record; each resolution becomes a task of the plan.
#[derive(Deserialize, ToSchema)]
pub struct MeetingRequest {
    pub held_on: NaiveDate,
    #[schema(min_length = 1, max_length = 60, pattern = r"\S")]
    pub convener: String,
    /// Units present (of the county's registry).
    #[schema(min_items = 1, max_items = 60)]
    pub unit_ids: Vec<String>,
    #[schema(max_length = 2000)]
    pub agenda: Option<String>,
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub minutes: String,
    #[schema(max_items = 30)]
    pub resolutions: Option<Vec<PlanTaskRequest>>,
}

/// A recorded meeting and the tasks its resolutions became.
#[derive(Serialize, ToSchema)]
pub struct RecordedMeeting {
    pub meeting: MeetingView,
    pub task_ids: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/committee/meetings", tag = "committee",
    request_body = MeetingRequest,
    responses((status = 201, body = RecordedMeeting),
              (status = 409, description = "议定事项的序号与本年度已有任务重复", body = ErrorBody),
              (status = 422, description = "日期晚于今天、单位不在本县名录", body = ErrorBody)))]
pub async fn record_meeting(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<MeetingRequest>,
) -> Result<(StatusCode, Json<RecordedMeeting>), ApiError> {
    let county = committee_county(caller.scope())?;
    let today = state.store.clock().today();
    let (m, task_ids) = state
        .store
        .record_meeting(
            caller.scope(),
            county,
            NewMeeting {
                held_on: req.held_on,
                convener: req.convener,
                unit_ids: req.unit_ids,
                agenda: req.agenda.unwrap_or_default(),
                minutes: req.minutes,
                resolutions: req
                    .resolutions
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| r.into_task(today))
                    .collect(),
            },
            &caller.ip,
        )
        .await?;
    let names = unit_names(&state, &caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(RecordedMeeting {
            meeting: meeting_view(m, &names),
            task_ids,
        }),
    ))
}
