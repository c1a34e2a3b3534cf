//! The committee's pages: /committee (the plan's tasks of a year, notices, joint meetings
//! against the yearly minimum, members and each unit's duties, and the office's forms),
//! a task's page (its progress, the units' report form, the office's 督办 form) and a
//! notice's page (who acknowledged it, the unit's acknowledgement).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role};
use weibao_domain::committee::{split_duties, Position};
use weibao_domain::network::parse_date;
use weibao_domain::work::calendar::end_of_day_ms;
use weibao_domain::work::Span;
use weibao_domain::DivisionCode;
use weibao_store::{
    committee_county, NewMeeting, NewMember, NewTask, PlanTask, StoreError, Supervision, TaskFilter,
};

use super::deadline_text::{due_text, DueText};
use super::forms::NoticeQuery;
use super::forms::{all, name_of, refusal, Failed, Refused};
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, CsrfMultipart, PageAuth};
use crate::AppState;

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "委员会工作由未保办、成员单位联络员和乡镇（街道）查看。",
    )
}

struct TaskLine {
    id: String,
    number: String,
    title: String,
    lead: String,
    co: String,
    due_on: String,
    done: bool,
    overdue: bool,
    supervision: Option<&'static str>,
    escalated: bool,
}

impl TaskLine {
    fn new(t: &PlanTask, names: &HashMap<String, String>, now: i64) -> TaskLine {
        TaskLine {
            id: t.id.clone(),
            number: t.number.clone(),
            title: t.title.clone(),
            lead: name_of(names, &t.lead_unit_id),
            co: t
                .co_units()
                .iter()
                .map(|u| name_of(names, u))
                .collect::<Vec<_>>()
                .join("、"),
            due_on: t.due_on.clone(),
            done: t.state == "done",
            overdue: t.overdue(now),
            supervision: Supervision::from_level(t.supervision).map(|s| s.label()),
            escalated: t.escalated_at.is_some(),
        }
    }
}

struct NoticeLine {
    id: String,
    title: String,
    issued_at: String,
    units: i64,
    acknowledged: i64,
}

struct MeetingLine {
    held_on: String,
    convener: String,
    units: String,
    agenda: String,
    minutes: String,
}

struct MemberLine {
    id: String,
    unit: String,
    name: String,
    title: String,
    position: &'static str,
    phone: String,
    term: String,
    left: bool,
}

struct UnitLine {
    id: String,
    name: String,
    duties: Vec<String>,
    duties_text: String,
    liaisons: String,
}

#[derive(Template)]
#[template(path = "committee.html")]
struct CommitteePage {
    layout: Layout,
    year: i32,
    tasks: Vec<TaskLine>,
    open_tasks: usize,
    notices: Vec<NoticeLine>,
    meetings: Vec<MeetingLine>,
    minimum: u32,
    members: Vec<MemberLine>,
    units: Vec<UnitLine>,
    positions: Vec<(&'static str, &'static str)>,
    manage: bool,
    today: String,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct CommitteeQuery {
    year: Option<i32>,
    notice: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<CommitteeQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let year = q
        .year
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or_else(|| state.store.clock().today().year());
    committee_page(
        &state,
        &caller,
        year,
        q.notice,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

async fn committee_page(
    state: &AppState,
    caller: &Caller,
    year: i32,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    match committee_page_inner(state, caller, year, notice, failed).await {
        Ok(mut res) => {
            *res.status_mut() = status;
            res
        }
        Err(e) => store_error_page(e),
    }
}

async fn committee_page_inner(
    state: &AppState,
    caller: &Caller,
    year: i32,
    notice: Option<String>,
    failed: Failed,
) -> Result<Response, StoreError> {
    let scope = caller.scope();
    let county = committee_county(scope)?;
    let store = &state.store;
    let units = store.list_units(scope).await?;
    let names: HashMap<String, String> = units
        .iter()
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect();
    let tasks = store
        .plan_tasks(
            scope,
            county,
            &TaskFilter {
                year: Some(year),
                ..TaskFilter::default()
            },
        )
        .await?;
    let notices = store.notices(scope, county).await?;
    let meetings = store.meetings(scope, county, Some(year)).await?;
    let minimum = store.meetings_minimum(county).await?;
    let members = store.committee_members(scope, county).await?;
    let liaisons = store.liaison_accounts(scope, county).await?;
    let now = store.clock().now_ms();
    let manage = scope.role == Role::Office;
    let tasks: Vec<TaskLine> = tasks
        .iter()
        .map(|t| TaskLine::new(t, &names, now))
        .collect();
    Ok(render(&CommitteePage {
        layout: Layout::for_caller(caller, "/committee"),
        year,
        open_tasks: tasks.iter().filter(|t| !t.done).count(),
        tasks,
        notices: notices
            .into_iter()
            .map(|(n, units, acknowledged)| NoticeLine {
                id: n.id,
                title: n.title,
                issued_at: beijing_time(n.issued_at),
                units,
                acknowledged,
            })
            .collect(),
        meetings: meetings
            .iter()
            .map(|m| MeetingLine {
                held_on: m.held_on.clone(),
                convener: m.convener.clone(),
                units: m
                    .units()
                    .iter()
                    .map(|u| name_of(&names, u))
                    .collect::<Vec<_>>()
                    .join("、"),
                agenda: m.agenda.clone(),
                minutes: m.minutes.clone(),
            })
            .collect(),
        minimum,
        members: members
            .into_iter()
            .map(|m| MemberLine {
                unit: name_of(&names, &m.unit_id),
                term: match &m.term_to {
                    Some(t) => format!("{} 至 {t}", m.term_from),
                    None => format!("{} 起", m.term_from),
                },
                left: m.left_on.is_some(),
                id: m.id,
                name: m.name,
                title: m.title,
                position: m.position.label(),
                phone: m.phone,
            })
            .collect(),
        units: units
            .into_iter()
            .filter(|u| u.county_code == county.county_code() && u.active)
            .map(|u| UnitLine {
                liaisons: liaisons
                    .iter()
                    .filter(|l| l.unit_id == u.id)
                    .map(|l| l.username.clone())
                    .collect::<Vec<_>>()
                    .join("、"),
                duties_text: u.duties.join("\n"),
                duties: u.duties,
                id: u.id,
                name: u.name,
            })
            .collect(),
        positions: Position::ALL
            .iter()
            .map(|p| (p.code(), p.label()))
            .collect(),
        manage,
        today: store.clock().today().to_string(),
        failed,
        notice,
        csrf: caller.user.csrf_token.clone(),
    }))
}

/// Back to the committee page with a notice, or the page again with the refusal.
async fn after(
    state: &AppState,
    caller: &Caller,
    year: i32,
    form: &'static str,
    result: Result<String, StoreError>,
    pairs: &[(String, String)],
) -> Response {
    match result {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => {
                committee_page(state, caller, year, None, failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

fn managing(caller: &Caller) -> Result<DivisionCode, Box<Response>> {
    if caller.scope().role != Role::Office {
        return Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "委员会的任务、通报、会议和成员由未保办登记。",
        )));
    }
    committee_county(caller.scope()).map_err(|e| Box::new(store_error_page(e)))
}

/// A date typed in a form, refused by `field` in words naming `what`.
fn form_date(field: &'static str, what: &'static str, s: &str) -> Result<NaiveDate, StoreError> {
    parse_date(what, s).map_err(|e| StoreError::invalid(field, e))
}

#[derive(Deserialize)]
pub struct TaskForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    lead_unit_id: String,
    #[serde(default)]
    due_on: String,
}

pub async fn add_task(State(state): State<AppState>, form: CsrfForm<TaskForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    let county = match managing(&caller) {
        Ok(c) => c,
        Err(page) => return *page,
    };
    let today = state.store.clock().today();
    let result = async {
        let due_on = form_date("due_on", "完成期限", &form.due_on)?;
        let year = match form.year.trim() {
            "" => today.year(),
            y => y.parse().map_err(|_| {
                StoreError::invalid(
                    "year",
                    weibao_domain::Invalid::new("year_range", "计划年度应为 4 位年份，如 2026"),
                )
            })?,
        };
        let t = state
            .store
            .add_task(
                caller.scope(),
                county,
                NewTask {
                    year,
                    number: form.number,
                    title: form.title,
                    detail: form.detail,
                    lead_unit_id: form.lead_unit_id,
                    co_unit_ids: all(&pairs, "co_unit_id"),
                    due_on,
                },
                &caller.ip,
            )
            .await?;
        Ok(format!("/committee/tasks/{}?notice=task_added", t.id))
    }
    .await;
    after(&state, &caller, today.year(), "task", result, &pairs).await
}

#[derive(Deserialize)]
pub struct NoticeForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

pub async fn issue_notice(State(state): State<AppState>, form: CsrfForm<NoticeForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    let county = match managing(&caller) {
        Ok(c) => c,
        Err(page) => return *page,
    };
    let result = state
        .store
        .issue_notice(caller.scope(), county, &form.title, &form.body, &caller.ip)
        .await
        .map(|n| format!("/committee/notices/{}?notice=issued", n.id));
    let year = state.store.clock().today().year();
    after(&state, &caller, year, "notice", result, &pairs).await
}

#[derive(Deserialize)]
pub struct MeetingForm {
    #[serde(default)]
    held_on: String,
    #[serde(default)]
    convener: String,
    #[serde(default)]
    agenda: String,
    #[serde(default)]
    minutes: String,
    /// One resolution (optional): its task number, title, lead unit and deadline.
    #[serde(default)]
    r_number: String,
    #[serde(default)]
    r_title: String,
    #[serde(default)]
    r_lead_unit_id: String,
    #[serde(default)]
    r_due_on: String,
}

pub async fn record_meeting(
    State(state): State<AppState>,
    form: CsrfForm<MeetingForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    let county = match managing(&caller) {
        Ok(c) => c,
        Err(page) => return *page,
    };
    let today = state.store.clock().today();
    let result = async {
        let held_on = form_date("held_on", "会议日期", &form.held_on)?;
        let mut resolutions = Vec::new();
        if !form.r_title.trim().is_empty() || !form.r_number.trim().is_empty() {
            let due_on = form_date("due_on", "议定事项的完成期限", &form.r_due_on)?;
            resolutions.push(NewTask {
                year: held_on.year(),
                number: form.r_number,
                title: form.r_title,
                detail: String::new(),
                lead_unit_id: form.r_lead_unit_id,
                co_unit_ids: vec![],
                due_on,
            });
        }
        let (m, _) = state
            .store
            .record_meeting(
                caller.scope(),
                county,
                NewMeeting {
                    held_on,
                    convener: form.convener,
                    unit_ids: all(&pairs, "unit_id"),
                    agenda: form.agenda,
                    minutes: form.minutes,
                    resolutions,
                },
                &caller.ip,
            )
            .await?;
        Ok(format!(
            "/committee?year={}&notice=meeting#meetings",
            &m.held_on[..4]
        ))
    }
    .await;
    after(&state, &caller, today.year(), "meeting", result, &pairs).await
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    term_from: String,
}

pub async fn add_member(State(state): State<AppState>, form: CsrfForm<MemberForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    let county = match managing(&caller) {
        Ok(c) => c,
        Err(page) => return *page,
    };
    let today = state.store.clock().today();
    let result = async {
        let position = Position::parse(&form.position).ok_or_else(|| {
            StoreError::invalid(
                "position",
                weibao_domain::Invalid::new("choice", "请选择委员会职务"),
            )
        })?;
        let term_from = match form.term_from.trim() {
            "" => today,
            s => form_date("term_from", "任期开始", s)?,
        };
        state
            .store
            .add_member(
                caller.scope(),
                county,
                NewMember {
                    unit_id: form.unit_id,
                    name: form.name,
                    title: form.title,
                    position,
                    phone: form.phone,
                    term_from,
                    term_to: None,
                },
                &caller.ip,
            )
            .await?;
        Ok("/committee?notice=member#members".to_string())
    }
    .await;
    after(&state, &caller, today.year(), "member", result, &pairs).await
}

#[derive(Deserialize)]
pub struct DutiesForm {
    #[serde(default)]
    duties: String,
}

pub async fn set_duties(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<DutiesForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Err(page) = managing(&caller) {
        return *page;
    }
    // One duty a line; a pasted paragraph with "1. …；2. …" splits into its items.
    let duties: Vec<String> = form
        .duties
        .lines()
        .flat_map(split_duties)
        .filter(|d| !d.trim().is_empty())
        .collect();
    let result = state
        .store
        .set_duties(caller.scope(), &id, &duties, &caller.ip)
        .await
        .map(|_| "/committee?notice=duties#units".to_string());
    let year = state.store.clock().today().year();
    after(&state, &caller, year, "duties", result, &pairs).await
}

// ---- a task ---------------------------------------------------------------------------

struct ProgressLine {
    unit: String,
    note: String,
    done: bool,
    at: String,
}

/// A file on a task as its page lists it.
struct FileLine {
    id: String,
    unit: String,
    name: String,
    image: bool,
    size: String,
    at: String,
}

#[derive(Template)]
#[template(path = "committee_task.html")]
struct TaskPage {
    layout: Layout,
    task: TaskLine,
    detail: String,
    year: i64,
    due: Option<DueText>,
    supervision_note: String,
    supervision_due: Option<DueText>,
    progress: Vec<ProgressLine>,
    files: Vec<FileLine>,
    /// The caller's unit is on the task (may report progress).
    on_task: bool,
    /// The caller's unit leads it, or the caller is the office (may report it done).
    may_close: bool,
    /// The office: may supervise.
    office: bool,
    levels: Vec<(&'static str, &'static str)>,
    today: String,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

pub async fn task(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    task_page(
        &state,
        &caller,
        &id,
        q.notice,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

async fn task_page(
    state: &AppState,
    caller: &Caller,
    id: &str,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let (t, progress) = match state.store.plan_task(scope, id).await {
        Ok(found) => found,
        Err(e) => return store_error_page(e),
    };
    let files = match state.store.task_files(scope, id).await {
        Ok(files) => files,
        Err(e) => return store_error_page(e),
    };
    let names: HashMap<String, String> = match state.store.list_units(scope).await {
        Ok(units) => units.into_iter().map(|u| (u.id, u.name)).collect(),
        Err(e) => return store_error_page(e),
    };
    let mine = state.store.acting_units(scope).await.unwrap_or_default();
    let office = scope.role == Role::Office;
    let lead = mine.contains(&t.lead_unit_id);
    let on_task = lead || t.co_units().iter().any(|u| mine.contains(u)) || office;
    let now = state.store.clock().now_ms();
    let mut res = render(&TaskPage {
        layout: Layout::for_caller(caller, "/committee"),
        task: TaskLine::new(&t, &names, now),
        detail: t.detail.clone(),
        year: t.year,
        due: t.due_at.map(|d| due_text(d, now, false)),
        supervision_note: t.supervision_note.clone(),
        supervision_due: t.supervision_due_at.map(|d| due_text(d, now, false)),
        progress: progress
            .into_iter()
            .map(|p| ProgressLine {
                unit: name_of(&names, &p.unit_id),
                note: p.note,
                done: p.done,
                at: beijing_time(p.at),
            })
            .collect(),
        files: files
            .iter()
            .map(|f| FileLine {
                id: f.id.clone(),
                unit: name_of(&names, &f.unit_id),
                name: f.name.clone(),
                image: f.content_type.starts_with("image/"),
                size: crate::text::file_size(f.size),
                at: beijing_time(f.uploaded_at),
            })
            .collect(),
        on_task,
        may_close: lead || office,
        office,
        levels: [
            Supervision::Supervised,
            Supervision::Listed,
            Supervision::Rectify,
        ]
        .iter()
        .map(|l| (l.code(), l.label()))
        .collect(),
        today: state.store.clock().today().to_string(),
        failed,
        notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

async fn after_task(
    state: &AppState,
    caller: &Caller,
    id: &str,
    form: &'static str,
    result: Result<&'static str, StoreError>,
    pairs: &[(String, String)],
) -> Response {
    match result {
        Ok(notice) => {
            Redirect::to(&format!("/committee/tasks/{id}?notice={notice}")).into_response()
        }
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => {
                task_page(state, caller, id, None, failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

/// The progress form's body limit: a few files at the store's limit each.
pub const PROGRESS_FORM_LIMIT: usize = 3 * weibao_store::MAX_ATTACHMENT_BYTES + 64 * 1024;

/// A unit's progress with its files (a multipart form): the files are kept first, while
/// the task is open, then the progress, which may close it.
pub async fn report_progress(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfMultipart,
) -> Response {
    let CsrfMultipart {
        caller,
        fields,
        files,
        file_names,
    } = form;
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let field = |k: &str| {
        fields
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let note = field("note").to_string();
    let done = !field("done").is_empty();
    if note.trim().is_empty() {
        let failed = Failed::new(
            "progress",
            "请写明进展情况（2000 字以内）".into(),
            "note",
            &fields,
        );
        return task_page(
            &state,
            &caller,
            &id,
            None,
            failed,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if !files.is_empty() {
        if let Err(e) = state.store.check_task_attachable(caller.scope(), &id).await {
            return after_task(&state, &caller, &id, "progress", Err(e), &fields).await;
        }
    }
    for ((_, bytes), name) in files.into_iter().zip(file_names) {
        if let Err(e) = state
            .store
            .attach_to_task(caller.scope(), &id, &name, bytes, &caller.ip)
            .await
        {
            // Files before this one are kept (each is acknowledged on its own).
            return after_task(&state, &caller, &id, "progress", Err(e), &fields).await;
        }
    }
    let result = state
        .store
        .report_progress(caller.scope(), &id, &note, done, &caller.ip)
        .await
        .map(|_| if done { "closed" } else { "progress" });
    after_task(&state, &caller, &id, "progress", result, &fields).await
}

#[derive(Deserialize)]
pub struct SuperviseForm {
    #[serde(default)]
    level: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    working_days: String,
    #[serde(default)]
    note: String,
}

pub async fn supervise(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<SuperviseForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if caller.scope().role != Role::Office {
        return error_page(StatusCode::FORBIDDEN, "督办由未保办发出。");
    }
    let result = async {
        let (t, _) = state.store.plan_task(caller.scope(), &id).await?;
        let level = Supervision::parse(&form.level).ok_or_else(|| {
            StoreError::invalid(
                "level",
                weibao_domain::Invalid::new("choice", "请选择督办方式"),
            )
        })?;
        let due = match (form.due_on.trim(), form.working_days.trim()) {
            ("", "") => {
                return Err(StoreError::invalid(
                    "due_on",
                    weibao_domain::Invalid::new(
                        "due_required",
                        "请填写督办期限：一个日期，或若干个工作日",
                    ),
                ))
            }
            (d, "") => end_of_day_ms(form_date("due_on", "督办期限", d)?),
            (_, n) => {
                let n: u32 = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=60).contains(n))
                    .ok_or_else(|| {
                        StoreError::invalid(
                            "working_days",
                            weibao_domain::Invalid::new("range", "工作日数请填 1 到 60 的整数"),
                        )
                    })?;
                let now = state.store.clock().now_ms();
                state
                    .store
                    .deadline_after(now, Span::WorkingDays(n))
                    .await?
                    .at_ms
            }
        };
        state
            .store
            .supervise(
                caller.scope(),
                &t.work_id,
                level,
                due,
                &form.note,
                &caller.ip,
            )
            .await?;
        Ok("supervised")
    }
    .await;
    after_task(&state, &caller, &id, "supervise", result, &pairs).await
}

// ---- a notice -------------------------------------------------------------------------

struct AckLine {
    unit: String,
    at: Option<String>,
}

#[derive(Template)]
#[template(path = "committee_notice.html")]
struct NoticePage {
    layout: Layout,
    title: String,
    body: String,
    issued_at: String,
    units: Vec<AckLine>,
    acknowledged: usize,
    /// The caller's unit has it to acknowledge.
    to_acknowledge: bool,
    id: String,
    notice: Option<String>,
    csrf: String,
}

pub async fn notice(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let scope = caller.scope();
    let (n, units) = match state.store.notice(scope, &id).await {
        Ok(found) => found,
        Err(e) => return store_error_page(e),
    };
    let names: HashMap<String, String> = match state.store.list_units(scope).await {
        Ok(units) => units.into_iter().map(|u| (u.id, u.name)).collect(),
        Err(e) => return store_error_page(e),
    };
    let mine = state.store.acting_units(scope).await.unwrap_or_default();
    render(&NoticePage {
        layout: Layout::for_caller(&caller, "/committee"),
        to_acknowledge: units
            .iter()
            .any(|u| mine.contains(&u.unit_id) && u.acknowledged_at.is_none()),
        acknowledged: units.iter().filter(|u| u.acknowledged_at.is_some()).count(),
        units: units
            .iter()
            .map(|u| AckLine {
                unit: name_of(&names, &u.unit_id),
                at: u.acknowledged_at.map(beijing_time),
            })
            .collect(),
        title: n.title,
        body: n.body,
        issued_at: beijing_time(n.issued_at),
        id: n.id,
        notice: q.notice,
        csrf: caller.user.csrf_token.clone(),
    })
}

#[derive(Deserialize)]
pub struct Nothing {}

pub async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Nothing>,
) -> Response {
    let caller = form.caller;
    match state
        .store
        .acknowledge_notice(caller.scope(), &id, &caller.ip)
        .await
    {
        Ok(()) => {
            Redirect::to(&format!("/committee/notices/{id}?notice=acknowledged")).into_response()
        }
        Err(StoreError::Conflict { message, .. }) => error_page(StatusCode::CONFLICT, &message),
        Err(e) => store_error_page(e),
    }
}
