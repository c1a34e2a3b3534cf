//! Case pages: the list, and a case with its state and the moves the rules allow, the
//! assessment and the reply, measures, the plan's tasks, case conferences, the closure
//! request and (for the office head) closing, and its timeline.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role};
use weibao_domain::reports::case::{transition, CaseFacts, CaseState, Measure};
use weibao_domain::work::UnitKind;
use weibao_domain::DivisionCode;
use weibao_store::{CaseTaskInput, ConferenceInput, StoreError, StoredCase, Unit};

use super::deadline_text::{due_text, DueText};
use super::forms::{refusal, Failed, Refused};
use super::reports::{parse_target, unit_targets, ReferralLine, StepLine, TargetGroup};
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

/// Reporting institutions follow their own reports, never cases (the store shows them
/// none); other roles without the right to read reports are refused the same way.
fn refused(caller: &Caller) -> Option<Response> {
    let role = caller.scope().role;
    (!allows(role, Action::ViewCases)).then(|| {
        error_page(
            StatusCode::FORBIDDEN,
            "您的角色不能查看个案：强制报告单位可在“报告”中查看本单位报告的办理进展。",
        )
    })
}

/// Whether the caller acts for `unit_id`: their own unit, or (a supervisor) their
/// township's.
fn acts_for(caller: &Caller, units: &[Unit], unit_id: &str) -> bool {
    let scope = caller.scope();
    if scope.unit_id.as_deref() == Some(unit_id) {
        return true;
    }
    scope.role == Role::Supervisor
        && units.iter().any(|u| {
            u.id == unit_id
                && u.kind == UnitKind::Township
                && scope.home().map(|h| h.full()) == Some(u.division_code.clone())
        })
}

fn date(
    field: &'static str,
    label: &str,
    s: &str,
) -> Result<Option<NaiveDate>, (&'static str, String)> {
    match s.trim() {
        "" => Ok(None),
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                (
                    field,
                    format!("{label}“{d}”无效：请按 2026-11-20 的格式选择日期"),
                )
            }),
    }
}

// ---- list --------------------------------------------------------------------------------

struct CaseLine {
    id: String,
    number: String,
    state: &'static str,
    lead: String,
    opened_at: String,
    withheld: bool,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct ListPage {
    layout: Layout,
    items: Vec<CaseLine>,
    states: Vec<(&'static str, &'static str)>,
    state: String,
    all: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    all: String,
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Some(r) = refused(&caller) {
        return r;
    }
    let wanted = match q.state.as_str() {
        "" => None,
        s => match CaseState::parse(s) {
            Some(c) => Some(c),
            None => {
                return error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("状态筛选“{s}”无法识别：请从列表中选择"),
                )
            }
        },
    };
    let all = q.all == "1" || wanted.is_some();
    let cases = match state
        .store
        .list_cases(caller.scope(), wanted, !all, 200)
        .await
    {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    render(&ListPage {
        layout: Layout::for_caller(&caller, "/cases"),
        items: cases
            .iter()
            .map(|c| CaseLine {
                id: c.id.clone(),
                number: c.number.clone(),
                state: c.state.label(),
                lead: c.lead_unit_name.clone(),
                opened_at: beijing_time(c.opened_at),
                withheld: c.withheld,
            })
            .collect(),
        states: CaseState::ALL
            .iter()
            .map(|s| (s.code(), s.label()))
            .collect(),
        state: q.state,
        all,
    })
}

// ---- one case ------------------------------------------------------------------------------

struct CaseView {
    id: String,
    number: String,
    state: &'static str,
    is_final: bool,
    lead: String,
    report_id: Option<String>,
    child_id: Option<String>,
    place: String,
    assessment: String,
    reply: String,
    assessed_at: Option<String>,
    replied_at: Option<String>,
    sealed: bool,
    withheld: bool,
    opened: String,
    closed_at: Option<String>,
}

struct MeasureLine {
    kind: &'static str,
    taken_on: String,
    detail: String,
    by: String,
}

struct TaskLine {
    id: String,
    title: String,
    unit: String,
    due: Option<DueText>,
    overdue: bool,
    done: bool,
    done_at: Option<String>,
    may_complete: bool,
}

/// A row of the conference form's decisions, with what was typed if it was refused.
struct DecisionRow {
    n: usize,
    text: String,
    unit: String,
    due: String,
}

struct ConferenceLine {
    held_on: String,
    convening: String,
    units: String,
    people: String,
    facts: String,
    minutes: String,
    decisions: Vec<(String, String, String)>,
    by: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    layout: Layout,
    c: CaseView,
    can_change: bool,
    head: bool,
    /// The moves the rules allow from here: (code, label, a reason is needed).
    next: Vec<(&'static str, &'static str, bool)>,
    measures: Vec<MeasureLine>,
    measure_kinds: Vec<(&'static str, &'static str)>,
    tasks: Vec<TaskLine>,
    conferences: Vec<ConferenceLine>,
    referrals: Vec<ReferralLine>,
    timeline: Vec<StepLine>,
    targets: Vec<TargetGroup>,
    /// Registered units (id, name), for a conference's attendance and decisions.
    units: Vec<(String, String)>,
    decision_rows: Vec<DecisionRow>,
    today: String,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    notice: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    if let Some(r) = refused(&caller) {
        return r;
    }
    case_page(
        &state,
        &caller,
        &id,
        q.notice,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

/// The allowed next states from `from`, whatever is still missing (a missing assessment
/// or reply answers 409 with the rule's words when tried).
fn next_states(from: CaseState, head: bool) -> Vec<(&'static str, &'static str, bool)> {
    let all_met = CaseFacts {
        assessed: true,
        replied: true,
        by_head: true,
    };
    CaseState::ALL
        .iter()
        .copied()
        .filter(|to| transition(from, *to, "理由已写明", all_met).is_ok())
        .filter(|to| *to != CaseState::Closed || head)
        .map(|to| {
            (
                to.code(),
                to.label(),
                matches!(to, CaseState::Declined | CaseState::TransferredOut),
            )
        })
        .collect()
}

async fn case_page(
    state: &AppState,
    caller: &Caller,
    id: &str,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let case = match state.store.case(scope, id, &caller.ip).await {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    let now = state.store.clock().now_ms();
    let units = state.store.list_units(scope).await.unwrap_or_default();
    let unit_name = |id: &str| {
        units
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    let reaches = DivisionCode::parse(&case.division_code)
        .map(|d| scope.reaches(d))
        .unwrap_or(false);
    let can_change = !case.withheld
        && ((scope.role == Role::Office && reaches)
            || acts_for(caller, &units, &case.lead_unit_id));
    let measures = state
        .store
        .case_measures(&case)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|m| MeasureLine {
            kind: m.kind.label(),
            taken_on: m.taken_on.to_string(),
            detail: m.detail,
            by: m.recorded_by,
        })
        .collect();
    let tasks = if case.withheld {
        vec![]
    } else {
        state
            .store
            .case_tasks(&case)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                let owner = t.owner_unit_id.clone().unwrap_or_default();
                TaskLine {
                    unit: unit_name(&owner),
                    due: t.due_at.map(|d| due_text(d, now, t.due_guessed)),
                    overdue: t.overdue(now),
                    done: t.state != "open",
                    done_at: t.done_at.map(beijing_time),
                    may_complete: t.state == "open"
                        && ((scope.role == Role::Office && reaches)
                            || acts_for(caller, &units, &owner)),
                    id: t.id,
                    title: t.title,
                }
            })
            .collect()
    };
    let conferences = state
        .store
        .case_conferences(&case)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| ConferenceLine {
            held_on: c.held_on.to_string(),
            convening: c.convening_unit,
            units: c.record.units.join("、"),
            people: c.record.people.join("、"),
            facts: c.record.facts.clone(),
            minutes: c.record.minutes.clone(),
            decisions: c
                .record
                .decisions
                .iter()
                .map(|d| {
                    (
                        d.text.clone(),
                        unit_name(&d.unit_id),
                        d.due_on.map(|x| x.to_string()).unwrap_or_default(),
                    )
                })
                .collect(),
            by: c.recorded_by,
        })
        .collect();
    let referrals = if case.withheld {
        vec![]
    } else {
        state
            .store
            .referrals_of(scope, &case.county_code, &case.id)
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| ReferralLine::new(r, now, true, scope))
            .collect()
    };
    let timeline = state
        .store
        .case_timeline(scope, &case)
        .await
        .unwrap_or_default()
        .iter()
        .map(StepLine::new)
        .collect();
    let targets = if can_change && !case.state.is_final() {
        unit_targets(state, scope, &case.county_code).await
    } else {
        vec![]
    };
    let place = match DivisionCode::parse(&case.division_code) {
        Ok(c) => state.store.place_name(c).await.unwrap_or_default(),
        Err(_) => case.division_code.clone(),
    };
    let registered: Vec<(String, String)> = units
        .iter()
        .filter(|u| u.county_code == case.county_code && u.active)
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect();
    let next = if can_change {
        next_states(case.state, scope.head)
    } else {
        vec![]
    };
    let c = view(&case, place);
    let mut res = render(&CasePage {
        layout: Layout::for_caller(
            caller,
            if scope.role == Role::Office {
                "/cases"
            } else {
                "/reports"
            },
        ),
        c,
        can_change,
        head: scope.head,
        next,
        measures,
        measure_kinds: Measure::ALL.iter().map(|m| (m.code(), m.label())).collect(),
        tasks,
        conferences,
        referrals,
        timeline,
        targets,
        units: registered,
        decision_rows: (1..=3)
            .map(|n| DecisionRow {
                n,
                text: failed.val("conference", &format!("d{n}_text")).to_string(),
                unit: failed.val("conference", &format!("d{n}_unit")).to_string(),
                due: failed.val("conference", &format!("d{n}_due")).to_string(),
            })
            .collect(),
        today: state.store.clock().today().to_string(),
        failed,
        notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

fn view(case: &StoredCase, place: String) -> CaseView {
    CaseView {
        id: case.id.clone(),
        number: case.number.clone(),
        state: case.state.label(),
        is_final: case.state.is_final(),
        lead: case.lead_unit_name.clone(),
        report_id: case.report_id.clone(),
        child_id: case.child_id.clone(),
        place,
        assessment: case.assessment.clone(),
        reply: case.reply.clone(),
        assessed_at: case.assessed_at.map(beijing_time),
        replied_at: case.replied_at.map(beijing_time),
        sealed: case.sealed,
        withheld: case.withheld,
        opened: format!("{} · {}", beijing_time(case.opened_at), case.opened_by),
        closed_at: case.closed_at.map(beijing_time),
    }
}

/// After a change: back to the case with a notice, or the page again with the refusal
/// in its form.
async fn after(
    state: &AppState,
    caller: &Caller,
    id: &str,
    form: &'static str,
    result: Result<&'static str, StoreError>,
    pairs: &[(String, String)],
) -> Response {
    match result {
        Ok(notice) => Redirect::to(&format!("/cases/{id}?notice={notice}")).into_response(),
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => {
                case_page(state, caller, id, None, failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

async fn refused_here(
    state: &AppState,
    caller: &Caller,
    id: &str,
    form: &'static str,
    (field, message): (&str, String),
    pairs: &[(String, String)],
) -> Response {
    let failed = Failed::new(form, message, field, pairs);
    case_page(
        state,
        caller,
        id,
        None,
        failed,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
pub struct TransitionForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
}

pub async fn transition_case(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<TransitionForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = refused(&caller) {
        return r;
    }
    let Some(to) = CaseState::parse(&form.to) else {
        return refused_here(
            &state,
            &caller,
            &id,
            "transition",
            ("to", "请选择要转入的状态".into()),
            &pairs,
        )
        .await;
    };
    let result = state
        .store
        .transition_case(caller.scope(), &id, to, &form.reason, &caller.ip)
        .await
        .map(|_| "moved");
    after(&state, &caller, &id, "transition", result, &pairs).await
}

#[derive(Deserialize)]
pub struct RecordForm {
    assessment: Option<String>,
    reply: Option<String>,
}

pub async fn record(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<RecordForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = refused(&caller) {
        return r;
    }
    // Each text has its own form on the page; the one sent names it.
    let which = if form.assessment.is_some() {
        "assessment"
    } else {
        "reply"
    };
    let result = state
        .store
        .record_case_text(
            caller.scope(),
            &id,
            form.assessment.as_deref(),
            form.reply.as_deref(),
            &caller.ip,
        )
        .await
        .map(|_| {
            if which == "assessment" {
                "assessed"
            } else {
                "replied"
            }
        });
    after(&state, &caller, &id, which, result, &pairs).await
}

#[derive(Deserialize)]
pub struct MeasureForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    taken_on: String,
    #[serde(default)]
    detail: String,
}

pub async fn measure(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<MeasureForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = refused(&caller) {
        return r;
    }
    let Some(kind) = Measure::parse(&form.kind) else {
        return refused_here(
            &state,
            &caller,
            &id,
            "measure",
            ("kind", "请选择措施".into()),
            &pairs,
        )
        .await;
    };
    let taken_on = match date("taken_on", "措施日期", &form.taken_on) {
        Ok(d) => d.unwrap_or_else(|| state.store.clock().today()),
        Err(e) => return refused_here(&state, &caller, &id, "measure", e, &pairs).await,
    };
    let result = state
        .store
        .add_measure(
            caller.scope(),
            &id,
            kind,
            taken_on,
            &form.detail,
            &caller.ip,
        )
        .await
        .map(|_| "measure");
    after(&state, &caller, &id, "measure", result, &pairs).await
}

#[derive(Deserialize)]
pub struct TaskForm {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    due_on: String,
}

pub async fn add_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<TaskForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = refused(&caller) {
        return r;
    }
    let Some(unit) = parse_target(&form.unit) else {
        return refused_here(
            &state,
            &caller,
            &id,
            "task",
            ("unit", "请选择承办单位".into()),
            &pairs,
        )
        .await;
    };
    let due_on = match date("due_on", "任务期限", &form.due_on) {
        Ok(d) => d,
        Err(e) => return refused_here(&state, &caller, &id, "task", e, &pairs).await,
    };
    let result = state
        .store
        .add_case_task(
            caller.scope(),
            &id,
            CaseTaskInput {
                unit,
                title: form.title.clone(),
                due_on,
            },
            &caller.ip,
        )
        .await
        .map(|_| "task");
    after(&state, &caller, &id, "task", result, &pairs).await
}

#[derive(Deserialize)]
pub struct CompleteForm {
    #[serde(default)]
    note: String,
}

pub async fn complete_task(
    State(state): State<AppState>,
    Path((id, task_id)): Path<(String, String)>,
    form: CsrfForm<CompleteForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = refused(&caller) {
        return r;
    }
    let scope = caller.scope();
    // The task must be one of this case's, as its reader sees the case.
    let case = match state.store.case(scope, &id, &caller.ip).await {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    let tasks = state.store.case_tasks(&case).await.unwrap_or_default();
    let Some(task) = tasks.iter().find(|t| t.id == task_id) else {
        return super::not_found().await;
    };
    let units = state.store.list_units(scope).await.unwrap_or_default();
    let owner = task.owner_unit_id.clone().unwrap_or_default();
    let office = scope.role == Role::Office
        && DivisionCode::parse(&case.division_code).is_ok_and(|d| scope.reaches(d));
    if !office && !acts_for(&caller, &units, &owner) {
        return error_page(
            StatusCode::FORBIDDEN,
            "只有承办该任务的单位或未保办可以标记完成。",
        );
    }
    let form_name: &'static str = "complete";
    let result = state
        .store
        .complete_task(scope, &task_id, &form.note, &caller.ip)
        .await
        .map(|_| "completed");
    after(&state, &caller, &id, form_name, result, &pairs).await
}

/// The conference form: flat fields, the attending units repeat (`units`), and up to
/// three decisions as d1_text, d1_unit, d1_due…
#[derive(Deserialize)]
pub struct ConferenceForm {
    #[serde(default)]
    held_on: String,
    #[serde(default)]
    other_units: String,
    #[serde(default)]
    people: String,
    #[serde(default)]
    facts: String,
    #[serde(default)]
    minutes: String,
}

/// Names written one per line or separated by 、，,；;
fn names(s: &str) -> Vec<String> {
    s.split(['\n', '、', '，', ',', '；', ';'])
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .take(50)
        .collect()
}

pub async fn conference(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<ConferenceForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = refused(&caller) {
        return r;
    }
    let held_on = match date("held_on", "会商日期", &form.held_on) {
        Ok(d) => d,
        Err(e) => return refused_here(&state, &caller, &id, "conference", e, &pairs).await,
    };
    let get = |k: String| {
        pairs
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut units: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "units")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    units.extend(names(&form.other_units));
    let mut input = ConferenceInput {
        held_on,
        units,
        people: names(&form.people),
        facts: form.facts.trim().to_string(),
        minutes: form.minutes.clone(),
        decisions: Vec::new(),
    };
    for i in 1..=10 {
        let text = get(format!("d{i}_text"));
        let unit = get(format!("d{i}_unit"));
        let due = get(format!("d{i}_due"));
        if text.is_empty() && unit.is_empty() && due.is_empty() {
            continue;
        }
        let due_on = match date("decisions", "决定的期限", &due) {
            Ok(d) => d,
            Err(e) => return refused_here(&state, &caller, &id, "conference", e, &pairs).await,
        };
        // The store does not export the decision's type by name; its Default is enough.
        input.decisions.push(Default::default());
        let d = input.decisions.last_mut().expect("just pushed");
        d.text = text;
        d.unit_id = unit;
        d.due_on = due_on;
    }
    let result = state
        .store
        .hold_conference(caller.scope(), &id, input, &caller.ip)
        .await
        .map(|_| "conference");
    after(&state, &caller, &id, "conference", result, &pairs).await
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    note: String,
}

pub async fn closure(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<NoteForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = refused(&caller) {
        return r;
    }
    let result = state
        .store
        .request_closure(caller.scope(), &id, &form.note, &caller.ip)
        .await
        .map(|()| "closure");
    after(&state, &caller, &id, "closure", result, &pairs).await
}

#[derive(Deserialize)]
pub struct AccessForm {
    #[serde(default)]
    reason: String,
}

pub async fn request_access(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<AccessForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = refused(&caller) {
        return r;
    }
    let result = state
        .store
        .request_sealed_access(caller.scope(), &id, &form.reason, &caller.ip)
        .await
        .map(|_| "access_requested");
    after(&state, &caller, &id, "access", result, &pairs).await
}
