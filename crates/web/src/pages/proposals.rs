//! The proposals' pages (建议提案办理): /proposals (a year's proposals, the overdue first,
//! and the office's form to register one as assigned) and a proposal's page (its text,
//! the co-units' opinions, the reply, the review and the rating, each form shown to whoever
//! may take that step now).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role};
use weibao_domain::network::parse_date;
use weibao_domain::proposals::{
    ImplementationClass, ProposalInput, ProposalKind, ProposalState, Satisfaction,
};
use weibao_store::{
    committee_county, NewProposal, Proposal, ProposalFilter, StoreError, Supervision,
};

use super::deadline_text::{due_text, DueText};
use super::forms::NoticeQuery;
use super::forms::{all, name_of, refusal, Failed, Refused};
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::api::proposals::step_label;
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "建议提案办理由未保办和承办单位的联络员查看。",
    )
}

struct Line {
    id: String,
    kind: &'static str,
    number: String,
    title: String,
    proposer: String,
    lead: String,
    co: String,
    state: &'static str,
    key: bool,
    overdue: bool,
    supervision: Option<&'static str>,
    due: Option<DueText>,
    open: bool,
}

impl Line {
    fn new(p: &Proposal, names: &HashMap<String, String>, now: i64) -> Line {
        Line {
            id: p.id.clone(),
            kind: ProposalKind::parse(&p.kind)
                .map(|k| k.label())
                .unwrap_or(""),
            number: p.number.clone(),
            title: p.title.clone(),
            proposer: p.proposer.clone(),
            lead: name_of(names, &p.lead_unit_id),
            co: p
                .co_units()
                .iter()
                .map(|u| name_of(names, u))
                .collect::<Vec<_>>()
                .join("、"),
            state: p.state().label(),
            key: p.key_item,
            overdue: p.overdue(now),
            supervision: Supervision::from_level(p.supervision).map(|s| s.label()),
            due: p.due_at.map(|d| due_text(d, now, false)),
            open: p.state().awaits_reply(),
        }
    }
}

struct UnitOption {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "proposals.html")]
struct ListPage {
    layout: Layout,
    year: i32,
    items: Vec<Line>,
    overdue_only: bool,
    overdue: usize,
    manage: bool,
    units: Vec<UnitOption>,
    kinds: Vec<(&'static str, &'static str)>,
    today: String,
    failed: Failed,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    year: Option<i32>,
    overdue: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<ListQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let year = q
        .year
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or_else(|| state.store.clock().today().year());
    let overdue = q.overdue.is_some_and(|o| !o.is_empty());
    list_page(
        &state,
        &caller,
        year,
        overdue,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

async fn list_page(
    state: &AppState,
    caller: &Caller,
    year: i32,
    overdue_only: bool,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let result = async {
        let county = committee_county(scope)?;
        let units = state.store.list_units(scope).await?;
        let names: HashMap<String, String> = units
            .iter()
            .map(|u| (u.id.clone(), u.name.clone()))
            .collect();
        let found = state
            .store
            .proposals(
                scope,
                county,
                &ProposalFilter {
                    year: Some(year),
                    ..ProposalFilter::default()
                },
            )
            .await?;
        let now = state.store.clock().now_ms();
        let mut items: Vec<Line> = found.iter().map(|p| Line::new(p, &names, now)).collect();
        let overdue = items.iter().filter(|l| l.overdue).count();
        if overdue_only {
            items.retain(|l| l.overdue);
        }
        // The overdue first, then those still owed a reply, then the rest.
        items.sort_by_key(|l| (!l.overdue, !l.open));
        Ok::<_, StoreError>(render(&ListPage {
            layout: Layout::for_caller(caller, "/proposals"),
            year,
            items,
            overdue_only,
            overdue,
            manage: scope.role == Role::Office,
            units: units
                .into_iter()
                .filter(|u| u.county_code == county.county_code() && u.active)
                .map(|u| UnitOption {
                    id: u.id,
                    name: u.name,
                })
                .collect(),
            kinds: ProposalKind::ALL
                .iter()
                .map(|k| (k.code(), k.label()))
                .collect(),
            today: state.store.clock().today().to_string(),
            failed,
            csrf: caller.user.csrf_token.clone(),
        }))
    }
    .await;
    match result {
        Ok(mut res) => {
            *res.status_mut() = status;
            res
        }
        Err(e) => store_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct NewForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    session: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    proposer: String,
    /// One name a line, or separated by 、，,
    #[serde(default)]
    co_signers: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    assigned_on: String,
    #[serde(default)]
    supervisor: String,
    #[serde(default)]
    lead_unit_id: String,
}

pub async fn create(State(state): State<AppState>, form: CsrfForm<NewForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if caller.scope().role != Role::Office {
        return error_page(StatusCode::FORBIDDEN, "建议（提案）由未保办登记交办。");
    }
    let today = state.store.clock().today();
    let result = async {
        let county = committee_county(caller.scope())?;
        let year = match form.year.trim() {
            "" => today.year(),
            y => y.parse().map_err(|_| {
                StoreError::invalid(
                    "year",
                    weibao_domain::Invalid::new("year_range", "年度应为 4 位年份，如 2026"),
                )
            })?,
        };
        let assigned_on: Option<NaiveDate> = match form.assigned_on.trim() {
            "" => None,
            d => {
                Some(parse_date("交办日期", d).map_err(|e| StoreError::invalid("assigned_on", e))?)
            }
        };
        let p = state
            .store
            .add_proposal(
                caller.scope(),
                county,
                NewProposal {
                    input: ProposalInput {
                        kind: form.kind,
                        year,
                        session: form.session,
                        number: form.number,
                        category: form.category,
                        title: form.title,
                        text: form.text,
                        proposer: form.proposer,
                        co_signers: form
                            .co_signers
                            .split(['\n', '、', '，', ',', ';', '；'])
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect(),
                        key: !form.key.is_empty(),
                        assigned_on,
                    },
                    supervisor: form.supervisor,
                    lead_unit_id: form.lead_unit_id,
                    co_unit_ids: all(&pairs, "co_unit_id"),
                },
                &caller.ip,
            )
            .await?;
        Ok(format!("/proposals/{}?notice=added", p.id))
    }
    .await;
    match result {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => match refusal("new", e, &pairs) {
            Refused::Again(status, failed) => {
                list_page(&state, &caller, today.year(), false, failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

// ---- a proposal -----------------------------------------------------------------------

struct StepLine {
    label: &'static str,
    unit: Option<String>,
    class: Option<String>,
    satisfaction: Option<&'static str>,
    note: String,
    at: String,
}

#[derive(Template)]
#[template(path = "proposal.html")]
struct ProposalPage {
    layout: Layout,
    p: Line,
    year: i64,
    session: String,
    category: String,
    text: String,
    co_signers: String,
    assigned_on: String,
    supervisor: String,
    class: Option<String>,
    reply: String,
    replied_at: Option<String>,
    steps: Vec<StepLine>,
    /// The caller's unit is a co-unit and a reply is still owed: may send an opinion.
    may_opine: bool,
    /// The lead unit's (or the office's) turn to reply.
    may_reply: bool,
    /// The office, with a reply to review.
    may_review: bool,
    /// The office, with a passed reply to rate.
    may_rate: bool,
    classes: Vec<(&'static str, &'static str)>,
    ratings: Vec<(&'static str, &'static str)>,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    proposal_page(
        &state,
        &caller,
        &id,
        q.notice,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

async fn proposal_page(
    state: &AppState,
    caller: &Caller,
    id: &str,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let (p, steps) = match state.store.proposal(scope, id).await {
        Ok(found) => found,
        Err(e) => return store_error_page(e),
    };
    let names: HashMap<String, String> = match state.store.list_units(scope).await {
        Ok(units) => units.into_iter().map(|u| (u.id, u.name)).collect(),
        Err(e) => return store_error_page(e),
    };
    let mine = state.store.acting_units(scope).await.unwrap_or_default();
    let office = scope.role == Role::Office;
    let st = p.state();
    let now = state.store.clock().now_ms();
    let mut res = render(&ProposalPage {
        layout: Layout::for_caller(caller, "/proposals"),
        p: Line::new(&p, &names, now),
        year: p.year,
        session: p.session.clone(),
        category: p.category.clone(),
        text: p.body.clone(),
        co_signers: p.co_signer_names().join("、"),
        assigned_on: p.assigned_on.clone(),
        supervisor: p.supervisor.clone(),
        class: p
            .class
            .as_deref()
            .and_then(ImplementationClass::parse)
            .map(|c| format!("{} 类：{}", c.code(), c.label())),
        reply: p.reply.clone(),
        replied_at: p.replied_at.map(beijing_time),
        steps: steps
            .into_iter()
            .map(|s| StepLine {
                label: step_label(&s.step),
                unit: s.unit_id.map(|u| name_of(&names, &u)),
                class: s.class,
                satisfaction: s
                    .satisfaction
                    .as_deref()
                    .and_then(Satisfaction::parse)
                    .map(|r| r.label()),
                note: s.note,
                at: beijing_time(s.at),
            })
            .collect(),
        may_opine: st.awaits_reply() && p.co_units().iter().any(|u| mine.contains(u)),
        may_reply: st.awaits_reply() && (office || mine.contains(&p.lead_unit_id)),
        may_review: office && st == ProposalState::Replied,
        may_rate: office && st == ProposalState::Passed,
        classes: ImplementationClass::ALL
            .iter()
            .map(|c| (c.code(), c.label()))
            .collect(),
        ratings: Satisfaction::ALL
            .iter()
            .map(|r| (r.code(), r.label()))
            .collect(),
        failed,
        notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

async fn after(
    state: &AppState,
    caller: &Caller,
    id: &str,
    form: &'static str,
    result: Result<&'static str, StoreError>,
    pairs: &[(String, String)],
) -> Response {
    match result {
        Ok(notice) => Redirect::to(&format!("/proposals/{id}?notice={notice}")).into_response(),
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => {
                proposal_page(state, caller, id, None, failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    satisfaction: String,
}

pub async fn opinion(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<StepForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let result = state
        .store
        .proposal_opinion(caller.scope(), &id, &form.note, &caller.ip)
        .await
        .map(|_| "opinion");
    after(&state, &caller, &id, "opinion", result, &pairs).await
}

pub async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<StepForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let result = state
        .store
        .reply_proposal(caller.scope(), &id, &form.class, &form.note, &caller.ip)
        .await
        .map(|_| "replied");
    after(&state, &caller, &id, "reply", result, &pairs).await
}

pub async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<StepForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if caller.scope().role != Role::Office {
        return error_page(StatusCode::FORBIDDEN, "答复由未保办审核。");
    }
    let result = match form.decision.as_str() {
        "pass" | "return" => {
            let passed = form.decision == "pass";
            state
                .store
                .review_proposal(caller.scope(), &id, passed, &form.note, &caller.ip)
                .await
                .map(|_| if passed { "passed" } else { "returned" })
        }
        _ => Err(StoreError::invalid(
            "decision",
            weibao_domain::Invalid::new("choice", "请选择“审核通过”或“退回重办”"),
        )),
    };
    after(&state, &caller, &id, "review", result, &pairs).await
}

pub async fn rate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<StepForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if caller.scope().role != Role::Office {
        return error_page(StatusCode::FORBIDDEN, "代表（委员）的评价由未保办登记。");
    }
    let result = state
        .store
        .rate_proposal(
            caller.scope(),
            &id,
            &form.satisfaction,
            &form.note,
            &caller.ip,
        )
        .await
        .map(|p| {
            if p.state().awaits_reply() {
                "reopened"
            } else {
                "rated"
            }
        });
    after(&state, &caller, &id, "rate", result, &pairs).await
}
