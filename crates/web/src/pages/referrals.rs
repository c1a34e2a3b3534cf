//! Referral pages: a unit's incoming referrals, and one referral with the steps its
//! receiver (accept, return, pass on, answer) and its sender (revoke) may take.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role};
use weibao_domain::reports::referral::{ReferralState, ReferralStep};
use weibao_domain::work::UnitKind;
use weibao_store::StoredReferral;

use super::deadline_text::{due_text, DueText};
use super::forms::{refusal, Failed, Refused};
use super::reports::{parse_target, unit_targets, TargetGroup};
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "您的角色不办理转介：转介由未保办发出，成员单位和乡镇（街道）接收办理。",
    )
}

struct IncomingLine {
    id: String,
    from: String,
    subject: &'static str,
    state: &'static str,
    due: Option<DueText>,
    at: String,
}

#[derive(Template)]
#[template(path = "referrals.html")]
struct ListPage {
    layout: Layout,
    items: Vec<IncomingLine>,
    all: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    all: String,
}

/// When the receiver must act next: accept or return by `due_at`, answer by
/// `reply_due_at`.
fn next_due(r: &StoredReferral, now: i64) -> Option<DueText> {
    match r.state {
        ReferralState::Pending => Some(due_text(r.due_at, now, false)),
        ReferralState::Accepted => r.reply_due_at.map(|d| due_text(d, now, false)),
        _ => None,
    }
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<ListQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::HandleReferrals) {
        return refuse_role();
    }
    let all = q.all == "1";
    let items = match state.store.incoming_referrals(caller.scope(), !all).await {
        Ok(i) => i,
        Err(e) => return store_error_page(e),
    };
    let now = state.store.clock().now_ms();
    render(&ListPage {
        layout: Layout::for_caller(&caller, "/referrals"),
        items: items
            .iter()
            .map(|r| IncomingLine {
                id: r.id.clone(),
                from: r.from_unit_name.clone(),
                subject: if r.case_id.is_some() {
                    "个案"
                } else {
                    "报告"
                },
                state: r.state.label(),
                due: next_due(r, now),
                at: beijing_time(r.created_at),
            })
            .collect(),
        all,
    })
}

struct ReferralView {
    id: String,
    from: String,
    to: String,
    state: &'static str,
    pending: bool,
    accepted: bool,
    open: bool,
    note: String,
    consent: Option<(&'static str, String)>,
    due: Option<DueText>,
    created_at: String,
    accepted_by: Option<String>,
    reply: String,
    replied_at: Option<String>,
    closed_reason: String,
    forwarded_to: Option<String>,
    subject_href: String,
    subject: &'static str,
}

#[derive(Template)]
#[template(path = "referral.html")]
struct ReferralPage {
    layout: Layout,
    f: ReferralView,
    receiver: bool,
    sender: bool,
    targets: Vec<TargetGroup>,
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
    if !allows(caller.scope().role, Action::HandleReferrals) {
        return refuse_role();
    }
    referral_page(
        &state,
        &caller,
        &id,
        q.notice,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

/// Whether the caller acts for the unit a referral went to: their own unit, or (a
/// supervisor) their township's. The store decides again on every step.
async fn receives(state: &AppState, caller: &Caller, r: &StoredReferral) -> bool {
    let scope = caller.scope();
    if scope.unit_id.as_deref() == Some(r.to_unit_id.as_str()) {
        return true;
    }
    if scope.role != Role::Supervisor || r.to_unit_kind != UnitKind::Township {
        return false;
    }
    match (state.store.unit(scope, &r.to_unit_id).await, scope.home()) {
        (Ok(u), Some(home)) => u.division_code == home.full(),
        _ => false,
    }
}

async fn referral_page(
    state: &AppState,
    caller: &Caller,
    id: &str,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let r = match state.store.referral(scope, id).await {
        Ok(r) => r,
        Err(e) => return store_error_page(e),
    };
    let now = state.store.clock().now_ms();
    let receiver = receives(state, caller, &r).await;
    let sender = scope.role == Role::Office;
    let targets = if receiver && r.state.is_open() {
        unit_targets(state, scope, &r.county_code).await
    } else {
        vec![]
    };
    let (subject_href, subject) = match (&r.report_id, &r.case_id) {
        (Some(rid), _) => (format!("/reports/{rid}"), "报告"),
        (None, Some(cid)) => (format!("/cases/{cid}"), "个案"),
        _ => (String::new(), ""),
    };
    let view = ReferralView {
        id: r.id.clone(),
        from: r.from_unit_name.clone(),
        to: r.to_unit_name.clone(),
        state: r.state.label(),
        pending: r.state == ReferralState::Pending,
        accepted: r.state == ReferralState::Accepted,
        open: r.state.is_open(),
        note: r.note.clone(),
        consent: r.consent.as_ref().map(|c| (c.by.label(), c.note.clone())),
        due: next_due(&r, now),
        created_at: beijing_time(r.created_at),
        accepted_by: r.accepted_at.map(|at| {
            format!(
                "{} · {}",
                beijing_time(at),
                r.accepted_by.clone().unwrap_or_default()
            )
        }),
        reply: r.reply.clone(),
        replied_at: r.replied_at.map(beijing_time),
        closed_reason: r.closed_reason.clone(),
        forwarded_to: r.forwarded_to.clone(),
        subject_href,
        subject,
    };
    let mut res = render(&ReferralPage {
        layout: Layout::for_caller(caller, "/referrals"),
        f: view,
        receiver,
        sender,
        targets,
        failed,
        notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    to_unit: String,
}

async fn take_step(
    state: AppState,
    id: String,
    what: ReferralStep,
    form: CsrfForm<StepForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if !allows(caller.scope().role, Action::HandleReferrals) {
        return refuse_role();
    }
    let name: &'static str = what.code();
    let forward_to = if what == ReferralStep::Forward {
        match parse_target(&form.to_unit) {
            Some(t) => Some(t),
            None => {
                let failed = Failed::new(name, "转交请选择接收单位".into(), "to_unit", &pairs);
                return referral_page(
                    &state,
                    &caller,
                    &id,
                    None,
                    failed,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        }
    } else {
        None
    };
    match state
        .store
        .referral_step(
            caller.scope(),
            &id,
            what,
            &form.text,
            forward_to,
            &caller.ip,
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/referrals/{id}?notice={name}")).into_response(),
        Err(e) => match refusal(name, e, &pairs) {
            Refused::Again(status, failed) => {
                referral_page(&state, &caller, &id, None, failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

pub async fn accept(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<StepForm>,
) -> Response {
    take_step(state, id, ReferralStep::Accept, form).await
}

/// 退回 (`return` is a Rust keyword).
pub async fn give_back(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<StepForm>,
) -> Response {
    take_step(state, id, ReferralStep::Return, form).await
}

pub async fn forward(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<StepForm>,
) -> Response {
    take_step(state, id, ReferralStep::Forward, form).await
}

pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<StepForm>,
) -> Response {
    take_step(state, id, ReferralStep::Complete, form).await
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<StepForm>,
) -> Response {
    take_step(state, id, ReferralStep::Revoke, form).await
}
