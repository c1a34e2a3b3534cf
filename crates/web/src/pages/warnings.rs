//! The early warnings page: /warnings lists what the rules found about the children of the
//! caller's division, each with the facts that fired it, and takes a person's decision
//! (raise the child's risk level, or keep it, with the reason).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action};
use weibao_domain::finding::warnings::{WarningDecision, WarningRule};
use weibao_store::{StoreError, WarningFilter};

use super::forms::{field, refusal, Failed, Refused};
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

struct WarningLine {
    id: String,
    rule: &'static str,
    child_name: String,
    child_href: String,
    facts: String,
    raised_at: String,
    /// "已提高为“高”" / "维持", once decided.
    decided: Option<String>,
    decided_by: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "warnings.html")]
struct WarningsPage {
    layout: Layout,
    items: Vec<WarningLine>,
    /// Showing the decided ones too.
    all: bool,
    rules: Vec<(&'static str, &'static str)>,
    rule: String,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct WarningsQuery {
    all: Option<String>,
    rule: Option<String>,
    notice: Option<String>,
}

const NOT_YOURS: &str = "预警由未保办、乡镇和村（社区）研判。";

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<WarningsQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::VerifyFindings) {
        return error_page(StatusCode::FORBIDDEN, NOT_YOURS);
    }
    page(&state, &caller, q, Failed::default(), StatusCode::OK).await
}

async fn page(
    state: &AppState,
    caller: &Caller,
    q: WarningsQuery,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let all = q.all.is_some();
    let rule = q.rule.as_deref().and_then(WarningRule::parse);
    let found = match state
        .store
        .list_warnings(
            caller.scope(),
            &WarningFilter {
                rule,
                undecided: !all,
                ..WarningFilter::default()
            },
        )
        .await
    {
        Ok(f) => f,
        Err(e) => return store_error_page(e),
    };
    let items = found
        .into_iter()
        .map(|w| WarningLine {
            rule: w.rule.label(),
            child_href: format!("/children/{}", w.child_id),
            child_name: w.child_name,
            facts: w.facts,
            raised_at: beijing_time(w.raised_at),
            decided: w.decided_at.map(|_| {
                if w.decision == "raise" {
                    format!("已将风险等级提高为“{}”", w.risk_to)
                } else {
                    "维持风险等级".to_string()
                }
            }),
            decided_by: w.decided_name,
            reason: w.reason,
            id: w.id,
        })
        .collect();
    let mut res = render(&WarningsPage {
        layout: Layout::for_caller(caller, "/warnings"),
        items,
        all,
        rules: WarningRule::ALL
            .iter()
            .map(|r| (r.code(), r.label()))
            .collect(),
        rule: rule.map(|r| r.code().to_string()).unwrap_or_default(),
        failed,
        notice: q.notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

/// A person's decision on one warning.
pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let CsrfForm { caller, pairs, .. } = form;
    if !allows(caller.scope().role, Action::VerifyFindings) {
        return error_page(StatusCode::FORBIDDEN, NOT_YOURS);
    }
    // One select on the page: "keep", "raise:中" or "raise:高".
    let choice = field(&pairs, "decision");
    let (decision, risk) = match choice.split_once(':') {
        Some((d, r)) => (d, Some(r)),
        None => (choice, None),
    };
    let result = match WarningDecision::parse(decision, risk, field(&pairs, "reason")) {
        Ok(d) => {
            state
                .store
                .decide_warning(caller.scope(), &id, &d, &caller.ip)
                .await
        }
        Err((field, e)) => Err(StoreError::invalid(field, e)),
    };
    match result {
        Ok(_) => Redirect::to("/warnings?notice=decided").into_response(),
        Err(e) => match refusal("decide", e, &pairs) {
            Refused::Again(status, failed) => {
                page(&state, &caller, WarningsQuery::default(), failed, status).await
            }
            Refused::Page(p) => p,
        },
    }
}
