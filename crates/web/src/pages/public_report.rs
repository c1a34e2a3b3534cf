//! The public report page: anyone may report harm to a child without an account (and
//! anonymously), gets a tracking code once, and later sees the state and the reply by it;
//! nothing else of the platform is reachable from here.
//!
//! Without a session there is no CSRF token to check, so the form carries its own: a
//! random token set in a `SameSite=Strict` cookie and repeated in a hidden field (another
//! site can neither read nor set that cookie, and a cross-site POST does not carry it).
//! This backs up the Origin check every POST already passes, for browsers that send no
//! Origin. A hidden field that people never see ("website") catches simple scripts that
//! fill every field. The address's rate limits (limits.rs) catch the rest.

use std::net::SocketAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use weibao_domain::access::Scope;
use weibao_domain::reports::{Channel, ChildHint, ReportInput, Reporter, Situation};
use weibao_domain::{DivisionCode, Level};
use weibao_store::{NewReport, StoreError};

use super::reports::PlaceGroup;
use super::{beijing_time, error_page, render, Layout};
use crate::error::ApiError;
use crate::AppState;

const FORM_COOKIE: &str = "weibao_report_form";

/// The province-level codes (GB/T 2260): where the installation's counties are looked for.
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// At most this many counties are offered (a province-wide installation lists its first
/// ones; a county installation has one).
const MAX_COUNTIES: usize = 200;

/// The form token of the browser, if it has one.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == FORM_COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The browser's token, or a new one (with the cookie that carries it).
fn token_for(headers: &HeaderMap) -> (String, Option<String>) {
    match cookie_token(headers) {
        Some(t) => (t, None),
        None => {
            let t = uuid::Uuid::new_v4().simple().to_string();
            let cookie = format!(
                "{FORM_COOKIE}={t}; Path=/report; HttpOnly; SameSite=Strict{}",
                if crate::auth::is_tls(headers) {
                    "; Secure"
                } else {
                    ""
                }
            );
            (t, Some(cookie))
        }
    }
}

fn with_cookie(mut res: Response, cookie: Option<String>, status: StatusCode) -> Response {
    *res.status_mut() = status;
    if let Some(c) = cookie.and_then(|c| c.parse().ok()) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    res
}

/// The counties of the installation (those whose divisions are loaded), each with its
/// townships: where a report can be sent.
async fn public_places(state: &AppState) -> Vec<PlaceGroup> {
    // Division names are public facts; the system scope only walks the tree.
    let system = Scope::system();
    let mut groups = Vec::new();
    for p in PROVINCES {
        let Ok(province) = DivisionCode::parse(p) else {
            continue;
        };
        if !state.store.division_exists(province).await.unwrap_or(false) {
            continue;
        }
        let cities = state
            .store
            .division_children(&system, province)
            .await
            .unwrap_or_default();
        for city in cities {
            let counties = state
                .store
                .division_children(&system, city.code())
                .await
                .unwrap_or_default();
            for county in counties.into_iter().filter(|c| c.level() == Level::County) {
                if groups.len() >= MAX_COUNTIES {
                    return groups;
                }
                let mut options = vec![(
                    county.code.clone(),
                    format!("{}（不清楚在哪个乡镇）", county.name),
                )];
                options.extend(
                    state
                        .store
                        .division_children(&system, county.code())
                        .await
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| (t.code.clone(), t.name.clone())),
                );
                groups.push(PlaceGroup {
                    label: format!("{}{}", city.name, county.name),
                    options,
                });
            }
        }
    }
    groups
}

/// The form as posted; `situations` repeats and is read from the pairs.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublicForm {
    #[serde(default)]
    urgent: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    division: String,
    #[serde(default)]
    child_name: String,
    #[serde(default)]
    child_age: String,
    #[serde(default)]
    reporter_name: String,
    #[serde(default)]
    reporter_phone: String,
    #[serde(default)]
    anonymous: Option<String>,
    #[serde(default)]
    form_token: String,
    /// The field people never see (a trap for scripts).
    #[serde(default)]
    website: String,
    #[serde(skip)]
    situations: Vec<String>,
}

impl PublicForm {
    fn has_situation(&self, code: &str) -> bool {
        self.situations.iter().any(|s| s == code)
    }
}

/// What a filed report gives its reporter, once.
struct Filed {
    code: String,
    number: String,
}

#[derive(Template)]
#[template(path = "public_report.html")]
struct ReportPage {
    layout: Layout,
    form: PublicForm,
    situations: Vec<(&'static str, &'static str)>,
    places: Vec<PlaceGroup>,
    error: Option<String>,
    error_field: String,
    token: String,
    filed: Option<Filed>,
}

async fn report_page(
    state: &AppState,
    headers: &HeaderMap,
    form: PublicForm,
    error: Option<(&str, String)>,
    status: StatusCode,
) -> Response {
    let (token, cookie) = token_for(headers);
    let (error_field, error) = match error {
        Some((f, m)) => (f.replace('.', "_"), Some(m)),
        None => (String::new(), None),
    };
    let res = render(&ReportPage {
        layout: Layout::anonymous(),
        form,
        situations: Situation::ALL
            .iter()
            .map(|s| (s.code(), s.label()))
            .collect(),
        places: public_places(state).await,
        error,
        error_field,
        token,
        filed: None,
    });
    with_cookie(res, cookie, status)
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    report_page(
        &state,
        &headers,
        PublicForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The token in the form is the browser's own.
fn same_browser(headers: &HeaderMap, field: &str) -> bool {
    cookie_token(headers).is_some_and(|t| !field.is_empty() && t == field)
}

const STALE: &str = "页面已过期或提交来源不明：已填写的内容已保留，请核对后再点一次“提交举报”。";

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let Ok(mut form) = serde_urlencoded::from_bytes::<PublicForm>(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "表单内容无法读取，请重新填写");
    };
    form.situations = pairs
        .iter()
        .filter(|(k, _)| k == "situations")
        .map(|(_, v)| v.clone())
        .collect();
    let bad = StatusCode::BAD_REQUEST;
    if !same_browser(&headers, &form.form_token) {
        return report_page(&state, &headers, form, Some(("", STALE.into())), bad).await;
    }
    if !form.website.trim().is_empty() {
        let msg = "提交未被接受：请清空“此栏请勿填写”一栏后重新提交。".to_string();
        return report_page(&state, &headers, form, Some(("website", msg)), bad).await;
    }
    let ip = peer.ip().to_string();
    let now = state.store.clock().now_ms();
    if let Err(wait) = state.limiter.before_public_report(&ip, now) {
        let msg = format!(
            "提交过于频繁：同一网络每小时最多提交 {} 次举报，请 {} 分钟后再试。情况紧急请直接拨打 110。",
            state.limiter.limits.public_reports.max,
            wait.div_ceil(60)
        );
        let res = report_page(
            &state,
            &headers,
            form,
            Some(("", msg)),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        return crate::limits::with_retry_after(res, wait);
    }
    let refused = |field: &str, message: String| {
        state.limiter.public_report_refused(&ip, now);
        let field = field.to_string();
        let state = state.clone();
        let headers = headers.clone();
        let form = form.clone();
        async move {
            report_page(
                &state,
                &headers,
                form,
                Some((field.as_str(), message)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let age = match form.child_age.trim() {
        "" => None,
        s => match s.parse::<u32>() {
            Ok(a) => Some(a),
            Err(_) => {
                return refused(
                    "child_age",
                    format!("孩子年龄“{s}”应为 0 到 17 之间的整数，不清楚可不填"),
                )
                .await
            }
        },
    };
    let input = ReportInput {
        channel: None,
        situations: form.situations.clone(),
        urgency: form.urgent.is_some().then(|| "urgent".to_string()),
        description: form.description.clone(),
        place: Some(form.place.clone()),
        discovered_at: None,
        child: ChildHint {
            name: form.child_name.clone(),
            age,
            ..ChildHint::default()
        },
        reporter: Reporter {
            name: form.reporter_name.clone(),
            phone: form.reporter_phone.clone(),
            anonymous: form.anonymous.is_some(),
            ..Reporter::default()
        },
    };
    let moment = chrono::DateTime::from_timestamp_millis(now)
        .unwrap_or_default()
        .with_timezone(&weibao_domain::visit::cst());
    let report = match input.check(moment, Some(Channel::Public)) {
        Ok(r) => r,
        Err(e) => return refused(e.field, e.invalid.message).await,
    };
    let places = public_places(&state).await;
    let division = match DivisionCode::parse(&form.division) {
        Ok(d)
            if places
                .iter()
                .any(|g| g.options.iter().any(|(c, _)| *c == d.full())) =>
        {
            d
        }
        _ => {
            return refused(
                "division",
                "请选择事情发生在哪个县（区）或乡镇（街道）".into(),
            )
            .await
        }
    };
    let filed = state
        .store
        .file_report(
            &Scope::system(),
            NewReport {
                report,
                division,
                child_id: None,
                visit_id: None,
                hotline_order: None,
                hotline_due_at: None,
            },
            &ip,
        )
        .await;
    match filed {
        Ok(f) => {
            let (token, cookie) = token_for(&headers);
            let res = render(&ReportPage {
                layout: Layout::anonymous(),
                form: PublicForm::default(),
                situations: vec![],
                places: vec![],
                error: None,
                error_field: String::new(),
                token,
                filed: Some(Filed {
                    code: f.tracking_code.unwrap_or_default(),
                    number: f.number,
                }),
            });
            with_cookie(res, cookie, StatusCode::OK)
        }
        Err(e @ (StoreError::Invalid { .. } | StoreError::Conflict { .. })) => {
            let field = match &e {
                StoreError::Invalid { field, .. } | StoreError::Conflict { field, .. } => *field,
                _ => "",
            };
            refused(field, ApiError::from(e).message).await
        }
        Err(e) => {
            state.limiter.public_report_refused(&ip, now);
            super::store_error_page(e)
        }
    }
}

// ---- tracking ------------------------------------------------------------------------------

/// What the public sees by a code: the state and the reply.
struct Tracked {
    state: &'static str,
    reply: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "public_track.html")]
struct TrackPage {
    layout: Layout,
    code: String,
    token: String,
    error: Option<String>,
    found: Option<Tracked>,
    unknown: bool,
}

fn track_page(
    headers: &HeaderMap,
    code: String,
    error: Option<String>,
    found: Option<Tracked>,
    unknown: bool,
    status: StatusCode,
) -> Response {
    let (token, cookie) = token_for(headers);
    let res = render(&TrackPage {
        layout: Layout::anonymous(),
        code,
        token,
        error,
        found,
        unknown,
    });
    with_cookie(res, cookie, status)
}

pub async fn track_form(headers: HeaderMap) -> Response {
    track_page(&headers, String::new(), None, None, false, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct TrackForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    form_token: String,
}

pub async fn track(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<TrackForm>(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "表单内容无法读取，请重新填写");
    };
    let code = form.code.trim().to_string();
    if !same_browser(&headers, &form.form_token) {
        return track_page(
            &headers,
            code,
            Some("页面已过期或提交来源不明：请再点一次“查询”。".into()),
            None,
            false,
            StatusCode::BAD_REQUEST,
        );
    }
    let ip = peer.ip().to_string();
    let now = state.store.clock().now_ms();
    if let Err(wait) = state.limiter.before_tracking(&ip, now) {
        let res = track_page(
            &headers,
            code,
            Some(format!(
                "查询过于频繁：同一网络每 10 分钟最多查询 {} 次，请 {} 分钟后再试。",
                state.limiter.limits.public_tracking.max,
                wait.div_ceil(60)
            )),
            None,
            false,
            StatusCode::TOO_MANY_REQUESTS,
        );
        return crate::limits::with_retry_after(res, wait);
    }
    if code.is_empty() {
        return track_page(
            &headers,
            code,
            Some("请输入提交举报时得到的查询码".into()),
            None,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    // A code is 23 characters; anything much longer is not one (and is not hashed).
    let found = if code.chars().count() > 64 {
        None
    } else {
        match state.store.track_report(&code, &ip).await {
            Ok(f) => f,
            Err(e) => return super::store_error_page(e),
        }
    };
    match found {
        Some(s) => track_page(
            &headers,
            code,
            None,
            Some(Tracked {
                state: s.state.label(),
                reply: s.reply,
                updated: beijing_time(s.updated_at),
            }),
            false,
            StatusCode::OK,
        ),
        None => track_page(&headers, code, None, None, true, StatusCode::OK),
    }
}
