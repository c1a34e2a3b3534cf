//! The assessment's pages: /committee/assessment (the year's ranked result, the office's
//! scheme, manual points and publication), a subject's drill-down to what it counted, and
//! the result as a workbook.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role};
use weibao_domain::assessment::{Indicator, Scheme, Subject, Weighted};
use weibao_store::{committee_county, Assessed, StoreError};

use super::forms::{refusal, Failed, Refused};
use super::inbox::subject_href;
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

struct ResultLine {
    rank: usize,
    subject_id: String,
    name: String,
    township: bool,
    total: String,
    computed: String,
    manual: String,
    /// Per indicator of the scheme: "85.0%" or "—".
    cells: Vec<String>,
}

fn pct(a: &Assessed, indicator: Indicator) -> String {
    a.scored
        .lines
        .iter()
        .find(|l| l.indicator == indicator)
        .and_then(|l| l.share)
        .map(|s| format!("{:.1}%", 100.0 * s.ratio()))
        .unwrap_or_else(|| "—".into())
}

fn line(a: &Assessed, scheme: &Scheme) -> ResultLine {
    ResultLine {
        rank: a.rank,
        subject_id: a.subject_id.clone(),
        name: a.name.clone(),
        township: a.subject == Subject::Township,
        total: format!("{:.1}", a.scored.total),
        computed: a
            .scored
            .computed
            .map(|c| format!("{c:.1}"))
            .unwrap_or_else(|| "—".into()),
        manual: format!("{:+.1}", a.scored.manual),
        cells: scheme
            .indicators
            .iter()
            .map(|w| pct(a, w.indicator))
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    layout: Layout,
    year: i32,
    published: Option<String>,
    /// (label, weight) of the scheme's indicators, in order.
    columns: Vec<(&'static str, u32)>,
    /// Every indicator with its weight in the scheme (0: not used), for the form.
    weights: Vec<(&'static str, &'static str, u32)>,
    training_target: u32,
    rows: Vec<ResultLine>,
    office: bool,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct YearQuery {
    year: Option<i32>,
    notice: Option<String>,
}

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "考核结果由未保办查看；发布后成员单位和乡镇（街道）也可查看。",
    )
}

fn year_of(state: &AppState, year: Option<i32>) -> i32 {
    year.filter(|y| (2000..=2100).contains(y))
        .unwrap_or_else(|| state.store.clock().today().year())
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<YearQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let year = year_of(&state, q.year);
    page(
        &state,
        &caller,
        year,
        q.notice,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

async fn page(
    state: &AppState,
    caller: &Caller,
    year: i32,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let county = match committee_county(scope) {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    let a = match state.store.assessment(scope, county, year).await {
        Ok(a) => a,
        Err(StoreError::Conflict { message, .. }) => {
            return error_page(StatusCode::CONFLICT, &message)
        }
        Err(e) => return store_error_page(e),
    };
    let mut res = render(&AssessmentPage {
        layout: Layout::for_caller(caller, "/committee"),
        year,
        published: a.published_at.map(beijing_time),
        columns: a
            .scheme
            .indicators
            .iter()
            .map(|w| (w.indicator.label(), w.weight))
            .collect(),
        weights: Indicator::ALL
            .iter()
            .map(|i| {
                (
                    i.code(),
                    i.label(),
                    a.scheme
                        .indicators
                        .iter()
                        .find(|w| w.indicator == *i)
                        .map(|w| w.weight)
                        .unwrap_or(0),
                )
            })
            .collect(),
        training_target: a.scheme.training_target_hours,
        rows: a.results.iter().map(|r| line(r, &a.scheme)).collect(),
        office: scope.role == Role::Office,
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
    year: i32,
    form: &'static str,
    result: Result<&'static str, StoreError>,
    pairs: &[(String, String)],
) -> Response {
    match result {
        Ok(notice) => Redirect::to(&format!(
            "/committee/assessment?year={year}&notice={notice}"
        ))
        .into_response(),
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => page(state, caller, year, None, failed, status).await,
            Refused::Page(page) => page,
        },
    }
}

#[derive(Deserialize)]
pub struct YearForm {
    #[serde(default)]
    year: String,
}

fn form_year(state: &AppState, y: &str) -> i32 {
    year_of(state, y.trim().parse().ok())
}

fn office_only(caller: &Caller) -> Option<Response> {
    (caller.scope().role != Role::Office)
        .then(|| error_page(StatusCode::FORBIDDEN, "考核由未保办组织。"))
}

/// The scheme's form: a weight per indicator (0 or empty: not used) and the training
/// target.
pub async fn set_scheme(State(state): State<AppState>, form: CsrfForm<YearForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(refused) = office_only(&caller) {
        return refused;
    }
    let year = form_year(&state, &form.year);
    let result = async {
        let value = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        let mut indicators = Vec::new();
        for i in Indicator::ALL {
            let v = value(&format!("w_{}", i.code()));
            if v.is_empty() || v == "0" {
                continue;
            }
            let weight: u32 = v.parse().map_err(|_| {
                StoreError::invalid(
                    "indicators",
                    weibao_domain::Invalid::new(
                        "weight_range",
                        format!("“{}”的权重请填 0 到 100 的整数", i.label()),
                    ),
                )
            })?;
            indicators.push(Weighted {
                indicator: *i,
                weight,
            });
        }
        let target: u32 = value("training_target_hours").parse().map_err(|_| {
            StoreError::invalid(
                "training_target_hours",
                weibao_domain::Invalid::new("training_target", "培训目标学时请填整数"),
            )
        })?;
        let county = committee_county(caller.scope())?;
        state
            .store
            .set_assessment_scheme(
                caller.scope(),
                county,
                year,
                Scheme {
                    indicators,
                    training_target_hours: target,
                },
                &caller.ip,
            )
            .await?;
        Ok("scheme")
    }
    .await;
    after(&state, &caller, year, "scheme", result, &pairs).await
}

#[derive(Deserialize)]
pub struct PointsForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    subject_id: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
}

pub async fn add_points(State(state): State<AppState>, form: CsrfForm<PointsForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(refused) = office_only(&caller) {
        return refused;
    }
    let year = form_year(&state, &form.year);
    let result = async {
        let points: f64 = form.points.trim().parse().map_err(|_| {
            StoreError::invalid(
                "points",
                weibao_domain::Invalid::new("points_range", "加减分请填数字，如 2 或 -1.5"),
            )
        })?;
        let county = committee_county(caller.scope())?;
        state
            .store
            .add_assessment_points(
                caller.scope(),
                county,
                year,
                &form.subject_id,
                points,
                &form.reason,
                &caller.ip,
            )
            .await?;
        Ok("points")
    }
    .await;
    after(&state, &caller, year, "points", result, &pairs).await
}

pub async fn publish(State(state): State<AppState>, form: CsrfForm<YearForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(refused) = office_only(&caller) {
        return refused;
    }
    let year = form_year(&state, &form.year);
    let result = match committee_county(caller.scope()) {
        Ok(county) => state
            .store
            .publish_assessment(caller.scope(), county, year, &caller.ip)
            .await
            .map(|_| "published"),
        Err(e) => Err(e),
    };
    after(&state, &caller, year, "publish", result, &pairs).await
}

pub async fn export(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<YearQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let year = year_of(&state, q.year);
    let a = match committee_county(caller.scope()) {
        Ok(county) => state.store.assessment(caller.scope(), county, year).await,
        Err(e) => Err(e),
    };
    let a = match a {
        Ok(a) => a,
        Err(StoreError::Conflict { message, .. }) => {
            return error_page(StatusCode::CONFLICT, &message)
        }
        Err(e) => return store_error_page(e),
    };
    match crate::api::assessment::workbook(&a).await {
        Ok(bytes) => crate::api::assessment::xlsx_download(
            bytes,
            &format!("{year}年未成年人保护工作考核结果.xlsx"),
        ),
        Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.message),
    }
}

// ---- a subject -------------------------------------------------------------------------

struct CountedLine {
    indicator: &'static str,
    title: String,
    href: String,
    due: String,
    done: String,
    on_time: bool,
}

#[derive(Template)]
#[template(path = "assessment_subject.html")]
struct SubjectPage {
    layout: Layout,
    year: i32,
    row: ResultLine,
    lines: Vec<(&'static str, u32, String, String)>,
    items: Vec<CountedLine>,
    meetings: Vec<(String, bool)>,
    township: bool,
    points: Vec<(String, String, String)>,
    subject_id: String,
}

pub async fn subject(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(subject_id): Path<String>,
    Query(q): Query<YearQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let year = year_of(&state, q.year);
    let scope = caller.scope();
    let d = match committee_county(scope) {
        Ok(county) => {
            state
                .store
                .assessment_drill(scope, county, year, &subject_id)
                .await
        }
        Err(e) => Err(e),
    };
    let d = match d {
        Ok(d) => d,
        Err(StoreError::Conflict { message, .. }) => {
            return error_page(StatusCode::CONFLICT, &message)
        }
        Err(e) => return store_error_page(e),
    };
    let scheme = state
        .store
        .assessment(scope, committee_county(scope).expect("checked above"), year)
        .await
        .map(|a| a.scheme)
        .unwrap_or_default();
    let label = |code: &str| Indicator::parse(code).map(|i| i.label()).unwrap_or("其他");
    render(&SubjectPage {
        layout: Layout::for_caller(&caller, "/committee"),
        year,
        row: line(&d.assessed, &scheme),
        lines: d
            .assessed
            .scored
            .lines
            .iter()
            .map(|l| {
                (
                    l.indicator.label(),
                    l.weight,
                    l.share
                        .map(|s| format!("{}/{}", s.numerator, s.denominator))
                        .unwrap_or_else(|| "无可计项".into()),
                    l.share
                        .map(|s| format!("{:.1}%", 100.0 * s.ratio()))
                        .unwrap_or_else(|| "—".into()),
                )
            })
            .collect(),
        items: d
            .items
            .iter()
            .map(|c| CountedLine {
                indicator: label(c.indicator),
                title: c.title.clone(),
                href: subject_href(&c.subject_kind, &c.subject_id),
                due: beijing_time(c.due_at),
                done: c
                    .done_at
                    .map(beijing_time)
                    .unwrap_or_else(|| "未办结".into()),
                on_time: c.done_at.is_some_and(|x| x <= c.due_at),
            })
            .collect(),
        meetings: d
            .meetings
            .iter()
            .map(|(_, held_on, attended)| (held_on.clone(), *attended))
            .collect(),
        township: d.assessed.subject == Subject::Township,
        points: d
            .points
            .iter()
            .map(|p| {
                (
                    format!("{:+.1}", p.tenths as f64 / 10.0),
                    p.reason.clone(),
                    beijing_time(p.at),
                )
            })
            .collect(),
        subject_id,
    })
}
