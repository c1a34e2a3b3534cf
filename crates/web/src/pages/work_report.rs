//! The work report pages: /stats/work-report drafts a division's report for a period from
//! its figures (or opens a kept one, ?id=) in a form to edit; keeping it leads to
//! /stats/work-reports/{id}, the print page with its Word file.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::stats::period::Period;
use weibao_domain::stats::work_report::WorkReport;
use weibao_domain::DivisionCode;

use super::forms::{field, refusal, Failed, Refused};
use super::{error_page, render, store_error_page, Layout};
use crate::api::stats::OverviewQuery;
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

#[derive(Template)]
#[template(path = "work_report.html")]
struct FormPage {
    layout: Layout,
    /// Empty for a draft not kept yet.
    id: String,
    version: i64,
    division: String,
    from: String,
    to: String,
    place_period: String,
    report: WorkReport,
    failed: Failed,
    csrf: String,
}

#[derive(Template)]
#[template(path = "work_report_print.html")]
struct PrintPage {
    layout: Layout,
    id: String,
    title: String,
    /// (is a heading, is a sub-heading, text)
    lines: Vec<(bool, bool, String)>,
    signer: String,
    date: String,
    author: String,
}

#[derive(Deserialize, Default)]
pub struct FormQuery {
    division: Option<String>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    id: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    caller: &Caller,
    id: &str,
    version: i64,
    division: DivisionCode,
    period: Period,
    report: WorkReport,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let mut res = render(&FormPage {
        layout: Layout::for_caller(caller, "/stats"),
        id: id.into(),
        version,
        division: division.full(),
        from: period.from.to_string(),
        to: period.to.to_string(),
        place_period: period.label(),
        report,
        failed,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

pub async fn show_form(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<FormQuery>,
) -> Response {
    let scope = caller.scope();
    if let Some(id) = q.id.as_deref().filter(|i| !i.is_empty()) {
        return match state.store.work_report(scope, id).await {
            Ok(s) => form_page(
                &caller,
                &s.id,
                s.version,
                s.division,
                s.period,
                s.report,
                Failed::default(),
                StatusCode::OK,
            ),
            Err(e) => store_error_page(e),
        };
    }
    let asked = OverviewQuery {
        division: q.division,
        from: q.from,
        to: q.to,
    };
    let (division, period) = match asked.parse(&state, &caller) {
        Ok(found) => found,
        Err(e) => return error_page(e.status, &e.message),
    };
    match state.store.draft_work_report(scope, division, period).await {
        Ok(report) => form_page(
            &caller,
            "",
            0,
            division,
            period,
            report,
            Failed::default(),
            StatusCode::OK,
        ),
        Err(e) => store_error_page(e),
    }
}

pub async fn keep(
    State(state): State<AppState>,
    form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let CsrfForm { caller, pairs, .. } = form;
    let scope = caller.scope();
    let report = WorkReport {
        title: field(&pairs, "title").into(),
        body: field(&pairs, "body").into(),
        signer: field(&pairs, "signer").into(),
        date: field(&pairs, "date").into(),
    };
    let id = field(&pairs, "id").to_string();
    let (division, period, existing) = if id.is_empty() {
        let date = |k: &str| chrono::NaiveDate::parse_from_str(field(&pairs, k), "%Y-%m-%d").ok();
        let asked = OverviewQuery {
            division: Some(field(&pairs, "division").to_string()),
            from: date("from"),
            to: date("to"),
        };
        match asked.parse(&state, &caller) {
            Ok((d, p)) => (d, p, None),
            Err(e) => return error_page(e.status, &e.message),
        }
    } else {
        match state.store.work_report(scope, &id).await {
            Ok(s) => {
                let version = field(&pairs, "version").parse().unwrap_or(0);
                (s.division, s.period, Some(version))
            }
            Err(e) => return store_error_page(e),
        }
    };
    let kept = state
        .store
        .keep_work_report(
            scope,
            division,
            period,
            existing.map(|v| (id.as_str(), v)),
            &report,
            &caller.ip,
        )
        .await;
    match kept {
        Ok(s) => Redirect::to(&format!("/stats/work-reports/{}", s.id)).into_response(),
        Err(e) => match refusal("report", e, &pairs) {
            Refused::Again(status, failed) => form_page(
                &caller,
                &id,
                existing.unwrap_or(0),
                division,
                period,
                report,
                failed,
                status,
            ),
            Refused::Page(page) => page,
        },
    }
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
) -> Response {
    match state.store.work_report(caller.scope(), &id).await {
        Ok(s) => render(&PrintPage {
            layout: Layout::for_caller(&caller, "/stats"),
            lines: s
                .report
                .lines()
                .into_iter()
                .map(|(role, l)| {
                    use weibao_domain::proposals::reply_document::LineRole;
                    (
                        role == LineRole::Heading,
                        role == LineRole::SubHeading,
                        l.to_string(),
                    )
                })
                .collect(),
            id: s.id,
            title: s.report.title,
            signer: s.report.signer,
            date: s.report.date,
            author: s.author_name,
        }),
        Err(e) => store_error_page(e),
    }
}
