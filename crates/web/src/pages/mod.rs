//! Server-rendered pages: login, home per role, the division browser, accounts, audit.

mod activities;
mod allowances;
mod assessment;
mod cases;
mod children;
mod committee;
mod deadline_text;
mod finding;
mod forms;
mod inbox;
mod network;
mod offline;
mod pairing;
mod proposal_reply;
mod proposals;
mod public_report;
mod record_checks;
mod referrals;
mod reports;
mod sealed;
mod services;
mod stats;
mod units;
mod visits;
mod warnings;
mod work_report;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role, MEMBER_UNITS};
use weibao_domain::{DivisionCode, Level};
use weibao_store::{LoginOutcome, NewUser, SessionKind, StoreError};

use crate::auth::{clear_cookie, is_tls, session_cookie, Caller, CsrfForm, PageAuth};
use crate::error::ApiError;
use crate::AppState;

/// Every page route as (method, path): the access-matrix test
/// (crates/weibao/tests/access.rs) walks them with every role, and a test below checks
/// that every route of [`routes`] is listed, so a new page cannot miss the matrix.
pub const PAGES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/divisions"),
    ("GET", "/divisions/{code}"),
    ("GET", "/account/password"),
    ("POST", "/account/password"),
    ("GET", "/account/totp"),
    ("POST", "/account/totp"),
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/audit"),
    ("GET", "/audit/export.xlsx"),
    ("GET", "/sessions"),
    ("POST", "/sessions/{handle}/end"),
    ("GET", "/children"),
    ("POST", "/children"),
    ("GET", "/children/new"),
    ("GET", "/children/import"),
    ("GET", "/children/{id}"),
    ("GET", "/children/{id}/edit"),
    ("POST", "/children/{id}/edit"),
    ("POST", "/children/{id}/transfer"),
    ("GET", "/transfers"),
    ("POST", "/transfers/{id}"),
    ("GET", "/k/{token}"),
    ("GET", "/offline"),
    ("GET", "/offline/devices"),
    ("POST", "/offline/devices/{id}/revoke"),
    ("POST", "/children/{id}/visits"),
    ("GET", "/children/{id}/visits/new"),
    ("GET", "/children/{id}/visits/{visit_id}"),
    ("POST", "/children/{id}/visits/{visit_id}"),
    ("GET", "/children/{id}/visits/{visit_id}/edit"),
    ("POST", "/children/{id}/card/reissue"),
    ("POST", "/children/{id}/alerts/{alert_id}/resolve"),
    ("GET", "/visits"),
    ("GET", "/stats"),
    ("GET", "/stats/work-report"),
    ("POST", "/stats/work-report"),
    ("GET", "/stats/work-reports/{id}"),
    ("GET", "/cards/print"),
    ("GET", "/inbox"),
    ("POST", "/inbox/read"),
    ("GET", "/reports"),
    ("POST", "/reports"),
    ("GET", "/reports/new"),
    ("GET", "/reports/{id}"),
    ("POST", "/reports/{id}/triage"),
    ("POST", "/reports/{id}/acknowledge"),
    ("POST", "/reports/{id}/refer"),
    ("POST", "/reports/{id}/link-child"),
    ("POST", "/reports/{id}/reply"),
    ("POST", "/reports/{id}/merge"),
    ("POST", "/reports/{id}/case"),
    ("POST", "/reports/{id}/access"),
    ("POST", "/reports/{id}/attachments"),
    ("GET", "/referrals"),
    ("GET", "/referrals/{id}"),
    ("POST", "/referrals/{id}/accept"),
    ("POST", "/referrals/{id}/return"),
    ("POST", "/referrals/{id}/forward"),
    ("POST", "/referrals/{id}/complete"),
    ("POST", "/referrals/{id}/revoke"),
    ("GET", "/cases"),
    ("GET", "/cases/{id}"),
    ("POST", "/cases/{id}/transition"),
    ("POST", "/cases/{id}/record"),
    ("POST", "/cases/{id}/measures"),
    ("POST", "/cases/{id}/tasks"),
    ("POST", "/cases/{id}/tasks/{task_id}/complete"),
    ("POST", "/cases/{id}/conferences"),
    ("POST", "/cases/{id}/closure"),
    ("POST", "/cases/{id}/access"),
    ("GET", "/units"),
    ("GET", "/committee"),
    ("GET", "/committee/assessment"),
    ("POST", "/committee/assessment/scheme"),
    ("POST", "/committee/assessment/points"),
    ("POST", "/committee/assessment/publication"),
    ("GET", "/committee/assessment/export.xlsx"),
    ("GET", "/committee/assessment/{id}"),
    ("POST", "/committee/tasks"),
    ("GET", "/committee/tasks/{id}"),
    ("POST", "/committee/tasks/{id}/progress"),
    ("POST", "/committee/tasks/{id}/supervision"),
    ("POST", "/committee/notices"),
    ("GET", "/committee/notices/{id}"),
    ("POST", "/committee/notices/{id}/acknowledgement"),
    ("POST", "/committee/meetings"),
    ("POST", "/committee/members"),
    ("POST", "/committee/units/{id}/duties"),
    ("GET", "/proposals"),
    ("POST", "/proposals"),
    ("GET", "/proposals/{id}"),
    ("POST", "/proposals/{id}/opinions"),
    ("POST", "/proposals/{id}/reply"),
    ("POST", "/proposals/{id}/review"),
    ("POST", "/proposals/{id}/rating"),
    ("GET", "/pairing"),
    ("POST", "/pairing/helpers"),
    ("POST", "/pairing/pairings"),
    ("POST", "/pairing/contacts"),
    ("GET", "/findings"),
    ("POST", "/findings/{id}/answer"),
    ("GET", "/warnings"),
    ("POST", "/warnings/{id}/decision"),
    ("GET", "/findings/lists"),
    ("POST", "/findings/lists"),
    ("GET", "/proposals/{id}/reply-document"),
    ("POST", "/proposals/{id}/reply-document"),
    ("POST", "/proposals/{id}/files"),
    ("GET", "/activities"),
    ("POST", "/activities"),
    ("GET", "/activities/{id}"),
    ("GET", "/services"),
    ("POST", "/services/agencies"),
    ("POST", "/services/contracts"),
    ("POST", "/services/workers"),
    ("POST", "/services/records"),
    ("GET", "/record-checks"),
    ("POST", "/record-checks"),
    ("POST", "/record-checks/batch"),
    ("POST", "/record-list"),
    ("POST", "/record-list/withdrawals"),
    ("GET", "/network"),
    ("POST", "/network/places"),
    ("POST", "/network/people"),
    ("POST", "/network/people/{id}/leave"),
    ("POST", "/network/people/{id}/trainings"),
    ("POST", "/units"),
    ("POST", "/units/{id}/edit"),
    ("GET", "/calendar"),
    ("POST", "/calendar"),
    ("GET", "/sealed"),
    ("POST", "/sealed/requests/{id}"),
    ("POST", "/sealed/readers"),
    ("GET", "/sealed/subjects/{id}"),
    ("GET", "/report"),
    ("POST", "/report"),
    ("GET", "/report/track"),
    ("POST", "/report/track"),
    ("GET", "/allowances"),
    ("POST", "/allowances/decisions"),
    ("GET", "/allowances/applications/new"),
    ("POST", "/allowances/applications"),
    ("GET", "/allowances/applications/{id}"),
    ("POST", "/allowances/applications/{id}/decision"),
    ("POST", "/allowances/applications/{id}/stop"),
    ("POST", "/allowances/applications/{id}/account"),
    ("POST", "/allowances/applications/{id}/documents"),
    ("GET", "/allowances/standards"),
    ("POST", "/allowances/standards"),
    ("POST", "/allowances/budgets"),
    ("GET", "/allowances/rolls"),
    ("POST", "/allowances/rolls"),
    ("GET", "/allowances/rolls/{id}"),
    ("POST", "/allowances/rolls/{id}/lock"),
    ("POST", "/allowances/rolls/{id}/adjustments"),
    ("GET", "/allowances/rolls/{id}/summary"),
    ("GET", "/allowances/notice"),
    ("GET", "/allowances/totals"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", axum::routing::post(logout))
        .route("/divisions", get(divisions_root))
        .route("/divisions/{code}", get(division_page))
        .route(
            "/account/password",
            get(password_page).post(password_submit),
        )
        .route("/account/totp", get(totp_page).post(totp_submit))
        .route("/users", get(users_page).post(users_submit))
        .route("/audit", get(audit_page))
        .route("/audit/export.xlsx", get(audit_export))
        .route("/sessions", get(sessions_page))
        .route("/sessions/{handle}/end", axum::routing::post(end_session))
        .route("/children", get(children::list).post(children::create))
        .route("/children/new", get(children::new_form))
        .route("/children/import", get(children::import_page))
        .route("/children/{id}", get(children::show))
        .route(
            "/children/{id}/edit",
            get(children::edit_form).post(children::update),
        )
        .route(
            "/children/{id}/transfer",
            axum::routing::post(children::transfer),
        )
        .route("/transfers", get(children::transfers))
        .route("/transfers/{id}", axum::routing::post(children::decide))
        .route("/k/{token}", get(visits::scan))
        .route("/offline", get(crate::assets::shell))
        .route("/offline/devices", get(offline::devices))
        .route(
            "/offline/devices/{id}/revoke",
            axum::routing::post(offline::revoke),
        )
        .route(
            "/children/{id}/visits",
            axum::routing::post(visits::submit_new)
                .layer(axum::extract::DefaultBodyLimit::max(VISIT_FORM_LIMIT)),
        )
        .route("/children/{id}/visits/new", get(visits::new_form))
        .route(
            "/children/{id}/visits/{visit_id}",
            get(visits::show)
                .post(visits::submit_edit)
                .layer(axum::extract::DefaultBodyLimit::max(VISIT_FORM_LIMIT)),
        )
        .route(
            "/children/{id}/visits/{visit_id}/edit",
            get(visits::edit_form),
        )
        .route(
            "/children/{id}/card/reissue",
            axum::routing::post(visits::reissue),
        )
        .route(
            "/children/{id}/alerts/{alert_id}/resolve",
            axum::routing::post(visits::resolve_alert),
        )
        .route("/visits", get(visits::worklist))
        .route("/stats", get(stats::stats))
        .route(
            "/stats/work-report",
            get(work_report::show_form).post(work_report::keep),
        )
        .route("/stats/work-reports/{id}", get(work_report::show))
        .route("/cards/print", get(visits::print_cards))
        .route("/inbox", get(inbox::page))
        .route("/inbox/read", axum::routing::post(inbox::mark_read))
        .route("/proposals", get(proposals::list).post(proposals::create))
        .route("/proposals/{id}", get(proposals::show))
        .route(
            "/proposals/{id}/opinions",
            axum::routing::post(proposals::opinion),
        )
        .route(
            "/proposals/{id}/reply",
            axum::routing::post(proposals::reply),
        )
        .route(
            "/proposals/{id}/review",
            axum::routing::post(proposals::review),
        )
        .route(
            "/proposals/{id}/rating",
            axum::routing::post(proposals::rate),
        )
        .route("/pairing", get(pairing::show))
        .route("/pairing/helpers", axum::routing::post(pairing::add_helper))
        .route("/pairing/pairings", axum::routing::post(pairing::pair))
        .route("/pairing/contacts", axum::routing::post(pairing::contact))
        .route("/findings", get(finding::findings))
        .route("/warnings", get(warnings::show))
        .route(
            "/warnings/{id}/decision",
            axum::routing::post(warnings::decide),
        )
        .route(
            "/findings/{id}/answer",
            axum::routing::post(finding::answer),
        )
        .route(
            "/findings/lists",
            get(finding::lists)
                .post(finding::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::api::children::MAX_UPLOAD_BYTES,
                )),
        )
        .route(
            "/proposals/{id}/reply-document",
            get(proposal_reply::show).post(proposal_reply::keep),
        )
        .route(
            "/proposals/{id}/files",
            axum::routing::post(proposal_reply::upload).layer(
                axum::extract::DefaultBodyLimit::max(
                    crate::api::reports::MAX_ATTACHMENT_UPLOAD * weibao_store::MAX_REPLY_FILES,
                ),
            ),
        )
        .route(
            "/activities",
            get(activities::list).post(activities::create).layer(
                axum::extract::DefaultBodyLimit::max(
                    crate::api::reports::MAX_ATTACHMENT_UPLOAD * weibao_store::MAX_ACTIVITY_PHOTOS,
                ),
            ),
        )
        .route("/activities/{id}", get(activities::show))
        .route("/services", get(services::show))
        .route(
            "/services/agencies",
            axum::routing::post(services::create_agency),
        )
        .route(
            "/services/contracts",
            axum::routing::post(services::create_contract),
        )
        .route(
            "/services/workers",
            axum::routing::post(services::create_worker),
        )
        .route(
            "/services/records",
            axum::routing::post(services::create_service),
        )
        .route(
            "/record-checks",
            get(record_checks::show).post(record_checks::ask).layer(
                axum::extract::DefaultBodyLimit::max(crate::api::reports::MAX_ATTACHMENT_UPLOAD),
            ),
        )
        .route(
            "/record-checks/batch",
            axum::routing::post(record_checks::ask_batch).layer(
                axum::extract::DefaultBodyLimit::max(
                    crate::api::reports::MAX_ATTACHMENT_UPLOAD
                        + crate::api::children::MAX_UPLOAD_BYTES,
                ),
            ),
        )
        .route(
            "/record-list",
            axum::routing::post(record_checks::load).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::children::MAX_UPLOAD_BYTES,
            )),
        )
        .route(
            "/record-list/withdrawals",
            axum::routing::post(record_checks::withdraw),
        )
        .route("/committee", get(committee::show))
        .route("/committee/assessment", get(assessment::show))
        .route(
            "/committee/assessment/scheme",
            axum::routing::post(assessment::set_scheme),
        )
        .route(
            "/committee/assessment/points",
            axum::routing::post(assessment::add_points),
        )
        .route(
            "/committee/assessment/publication",
            axum::routing::post(assessment::publish),
        )
        .route("/committee/assessment/export.xlsx", get(assessment::export))
        .route("/committee/assessment/{id}", get(assessment::subject))
        .route("/committee/tasks", axum::routing::post(committee::add_task))
        .route("/committee/tasks/{id}", get(committee::task))
        .route(
            "/committee/tasks/{id}/progress",
            axum::routing::post(committee::report_progress).layer(
                axum::extract::DefaultBodyLimit::max(committee::PROGRESS_FORM_LIMIT),
            ),
        )
        .route(
            "/committee/tasks/{id}/supervision",
            axum::routing::post(committee::supervise),
        )
        .route(
            "/committee/notices",
            axum::routing::post(committee::issue_notice),
        )
        .route("/committee/notices/{id}", get(committee::notice))
        .route(
            "/committee/notices/{id}/acknowledgement",
            axum::routing::post(committee::acknowledge),
        )
        .route(
            "/committee/meetings",
            axum::routing::post(committee::record_meeting),
        )
        .route(
            "/committee/members",
            axum::routing::post(committee::add_member),
        )
        .route(
            "/committee/units/{id}/duties",
            axum::routing::post(committee::set_duties),
        )
        .route("/network", get(network::show))
        .route("/network/places", axum::routing::post(network::add_place))
        .route("/network/people", axum::routing::post(network::appoint))
        .route(
            "/network/people/{id}/leave",
            axum::routing::post(network::leave),
        )
        .route(
            "/network/people/{id}/trainings",
            axum::routing::post(network::training),
        )
        .route("/reports", get(reports::list).post(reports::create))
        .route("/reports/new", get(reports::new_form))
        .route("/reports/{id}", get(reports::show))
        .route("/reports/{id}/triage", axum::routing::post(reports::triage))
        .route(
            "/reports/{id}/acknowledge",
            axum::routing::post(reports::acknowledge),
        )
        .route("/reports/{id}/refer", axum::routing::post(reports::refer))
        .route(
            "/reports/{id}/link-child",
            axum::routing::post(reports::link_child),
        )
        .route("/reports/{id}/reply", axum::routing::post(reports::reply))
        .route("/reports/{id}/merge", axum::routing::post(reports::merge))
        .route(
            "/reports/{id}/attachments",
            axum::routing::post(reports::attach).layer(axum::extract::DefaultBodyLimit::max(
                reports::ATTACHMENTS_FORM_LIMIT,
            )),
        )
        .route(
            "/reports/{id}/case",
            axum::routing::post(reports::open_case),
        )
        .route(
            "/reports/{id}/access",
            axum::routing::post(reports::request_access),
        )
        .route("/referrals", get(referrals::list))
        .route("/referrals/{id}", get(referrals::show))
        .route(
            "/referrals/{id}/accept",
            axum::routing::post(referrals::accept),
        )
        .route(
            "/referrals/{id}/return",
            axum::routing::post(referrals::give_back),
        )
        .route(
            "/referrals/{id}/forward",
            axum::routing::post(referrals::forward),
        )
        .route(
            "/referrals/{id}/complete",
            axum::routing::post(referrals::complete),
        )
        .route(
            "/referrals/{id}/revoke",
            axum::routing::post(referrals::revoke),
        )
        .route("/cases", get(cases::list))
        .route("/cases/{id}", get(cases::show))
        .route(
            "/cases/{id}/transition",
            axum::routing::post(cases::transition_case),
        )
        .route("/cases/{id}/record", axum::routing::post(cases::record))
        .route("/cases/{id}/measures", axum::routing::post(cases::measure))
        .route("/cases/{id}/tasks", axum::routing::post(cases::add_task))
        .route(
            "/cases/{id}/tasks/{task_id}/complete",
            axum::routing::post(cases::complete_task),
        )
        .route(
            "/cases/{id}/conferences",
            axum::routing::post(cases::conference),
        )
        .route("/cases/{id}/closure", axum::routing::post(cases::closure))
        .route(
            "/cases/{id}/access",
            axum::routing::post(cases::request_access),
        )
        .route("/units", get(units::list).post(units::create))
        .route("/units/{id}/edit", axum::routing::post(units::update))
        .route("/calendar", get(units::calendar).post(units::load_calendar))
        .route("/sealed", get(sealed::page))
        .route("/sealed/requests/{id}", axum::routing::post(sealed::decide))
        .route("/sealed/readers", axum::routing::post(sealed::readers))
        .route("/sealed/subjects/{id}", get(sealed::open_subject))
        .route(
            "/report",
            get(public_report::form).post(public_report::submit),
        )
        .route(
            "/report/track",
            get(public_report::track_form).post(public_report::track),
        )
        .route("/allowances", get(allowances::hub))
        .route(
            "/allowances/decisions",
            axum::routing::post(allowances::bulk),
        )
        .route("/allowances/applications/new", get(allowances::new_form))
        .route(
            "/allowances/applications",
            axum::routing::post(allowances::create).layer(axum::extract::DefaultBodyLimit::max(
                allowances::APPLICATION_FORM_LIMIT,
            )),
        )
        .route("/allowances/applications/{id}", get(allowances::show))
        .route(
            "/allowances/applications/{id}/decision",
            axum::routing::post(allowances::decide),
        )
        .route(
            "/allowances/applications/{id}/stop",
            axum::routing::post(allowances::stop),
        )
        .route(
            "/allowances/applications/{id}/account",
            axum::routing::post(allowances::account),
        )
        .route(
            "/allowances/applications/{id}/documents",
            axum::routing::post(allowances::documents).layer(axum::extract::DefaultBodyLimit::max(
                allowances::APPLICATION_FORM_LIMIT,
            )),
        )
        .route(
            "/allowances/standards",
            get(allowances::standards).post(allowances::create_standard),
        )
        .route(
            "/allowances/budgets",
            axum::routing::post(allowances::set_budget),
        )
        .route(
            "/allowances/rolls",
            get(allowances::rolls).post(allowances::generate),
        )
        .route("/allowances/rolls/{id}", get(allowances::roll))
        .route(
            "/allowances/rolls/{id}/lock",
            axum::routing::post(allowances::lock),
        )
        .route(
            "/allowances/rolls/{id}/adjustments",
            axum::routing::post(allowances::adjust),
        )
        .route("/allowances/rolls/{id}/summary", get(allowances::summary))
        .route("/allowances/notice", get(allowances::notice))
        .route("/allowances/totals", get(allowances::totals))
}

/// A visit form with six unresized photos (phones without the page's script).
const VISIT_FORM_LIMIT: usize =
    weibao_domain::visit::MAX_PHOTOS * weibao_store::MAX_PHOTO_BYTES + 256 * 1024;

// ---- shared pieces ---------------------------------------------------------------------

/// What the layout shows: the signed-in user and the modules they may open.
pub struct Layout {
    pub user: Option<LayoutUser>,
    pub modules: Vec<Module>,
}

pub struct LayoutUser {
    /// For the offline app: whose store on the phone this page works with.
    pub user_id: String,
    pub username: String,
    /// Records visits: the page keeps the phone's worklist fresh and sends what waits.
    pub offline: bool,
    pub display_name: String,
    pub role_label: &'static str,
    pub csrf: String,
    /// Unacknowledged urgent reports (office users): the red banner on every page.
    pub urgent_reports: i64,
}

pub struct Module {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

impl Layout {
    fn anonymous() -> Layout {
        Layout {
            user: None,
            modules: vec![],
        }
    }

    fn for_caller(caller: &Caller, active: &str) -> Layout {
        let role = caller.scope().role;
        let mut modules = vec![
            ("/", "首页", true),
            ("/visits", "探访", allows(role, Action::ViewChildren)),
            (
                "/offline",
                "离线探访",
                matches!(role, Role::Director | Role::Supervisor),
            ),
            ("/children", "儿童台账", allows(role, Action::ViewChildren)),
            ("/stats", "统计", allows(role, Action::ViewChildren)),
            (
                "/allowances",
                "生活保障",
                allows(role, Action::ViewAllowances),
            ),
            ("/transfers", "迁移", allows(role, Action::TransferChildren)),
            ("/reports", "报告", allows(role, Action::ViewReports)),
            ("/cases", "个案", allows(role, Action::ManageCases)),
            (
                "/referrals",
                "转介",
                matches!(role, Role::Unit | Role::Supervisor),
            ),
            ("/units", "单位", allows(role, Action::ManageUnits)),
            ("/network", "工作网络", allows(role, Action::ViewNetwork)),
            ("/committee", "委员会", allows(role, Action::ViewCommittee)),
            (
                "/proposals",
                "建议提案",
                allows(role, Action::ViewCommittee),
            ),
            ("/activities", "活动", allows(role, Action::ViewActivities)),
            (
                "/findings",
                "名单比对",
                allows(role, Action::VerifyFindings),
            ),
            ("/warnings", "预警", allows(role, Action::VerifyFindings)),
            ("/pairing", "结对帮扶", allows(role, Action::ManagePairing)),
            ("/services", "购买服务", allows(role, Action::ViewServices)),
            (
                "/record-checks",
                "入职查询",
                allows(role, Action::CheckRecords),
            ),
            ("/divisions", "区划", true),
        ];
        modules.push(("/users", "用户", allows(role, Action::ViewUsers)));
        modules.push((
            "/offline/devices",
            "离线设备",
            allows(role, Action::ManageUsers),
        ));
        modules.push(("/audit", "审计", allows(role, Action::ViewAudit)));
        modules.push((
            "/sessions",
            "在线会话",
            allows(role, Action::ManageSessions),
        ));
        Layout {
            user: Some(LayoutUser {
                user_id: caller.scope().user_id.clone(),
                username: caller.scope().username.clone(),
                // Those who visit children on foot: the village's director and the township's
                // supervisor (an office account records visits too, but from its desk).
                offline: matches!(role, Role::Director | Role::Supervisor),
                display_name: caller.user.display_name.clone(),
                role_label: role.label(),
                csrf: caller.user.csrf_token.clone(),
                urgent_reports: caller.urgent_reports,
            }),
            modules: modules
                .into_iter()
                .filter(|(_, _, shown)| *shown)
                .map(|(href, label, _)| Module {
                    href,
                    label,
                    active: href == active,
                })
                .collect(),
        }
    }
}

fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!("template error: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面渲染失败").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    title: &'a str,
    message: &'a str,
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "找不到页面",
        StatusCode::FORBIDDEN => "无权访问",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "输入有误",
        _ => "出错了",
    };
    let mut res = render(&ErrorPage {
        layout: Layout::anonymous(),
        title,
        message,
    });
    *res.status_mut() = status;
    res
}

fn store_error_page(e: StoreError) -> Response {
    let e = ApiError::from(e);
    error_page(e.status, &e.message)
}

/// Unknown paths: JSON under /api, a page elsewhere.
pub async fn fallback(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_route",
            "没有这个接口：请查看 /api/v1/openapi.json",
        )
        .into_response()
    } else {
        not_found().await
    }
}

pub async fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "您要找的页面不存在，或不在您的管辖范围内。",
    )
}

pub use crate::time::beijing_time;

pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/".into()
    }
}

// ---- login / logout --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    next: String,
    username: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(Query(q): Query<NextQuery>) -> Response {
    render(&LoginPage {
        layout: Layout::anonymous(),
        error: None,
        next: safe_next(q.next.as_deref().unwrap_or("/")),
        username: String::new(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
    next: Option<String>,
}

async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let next = safe_next(form.next.as_deref().unwrap_or("/"));
    let again = |status: StatusCode, msg: String| {
        let mut res = render(&LoginPage {
            layout: Layout::anonymous(),
            error: Some(msg),
            next: next.clone(),
            username: form.username.clone(),
        });
        *res.status_mut() = status;
        res
    };
    let ip = peer.ip().to_string();
    let now = state.store.clock().now_ms();
    if let Err(wait) = state.limiter.before_login(&ip, now) {
        let res = again(
            StatusCode::TOO_MANY_REQUESTS,
            format!("登录尝试过于频繁，请 {wait} 秒后再试；忘记密码请联系管理员重置。"),
        );
        return crate::limits::with_retry_after(res, wait);
    }
    let outcome = state
        .store
        .login_with_code(
            &form.username,
            &form.password,
            form.totp.as_deref(),
            SessionKind::Web,
            &ip,
            ua,
        )
        .await;
    if !matches!(outcome, Ok(LoginOutcome::WrongCredentials)) {
        state.limiter.login_succeeded(&ip, now);
    }
    match outcome {
        Ok(LoginOutcome::Success { token, user, .. }) => {
            // A fresh session id at every sign-in (no fixation); the session the browser
            // came with, if any, ends here.
            if let Some(old) = crate::auth::cookie_token_of(&headers).filter(|t| *t != token) {
                if let Ok(Some(s)) = state.store.session(&old).await {
                    let _ = state.store.logout(&s.scope, &old, &ip).await;
                }
            }
            let target = if user.must_change_password {
                "/account/password".to_string()
            } else {
                next.clone()
            };
            (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, session_cookie(&token, is_tls(&headers))),
                    (header::LOCATION, target),
                ],
            )
                .into_response()
        }
        Ok(LoginOutcome::WrongCredentials) => again(
            StatusCode::UNAUTHORIZED,
            "用户名或密码错误。连续 5 次错误将锁定 15 分钟。".into(),
        ),
        Ok(LoginOutcome::CodeRequired) => again(
            StatusCode::UNAUTHORIZED,
            "该账户已开启两步验证：请再次输入密码，并填写验证器 App 显示的 6 位验证码。".into(),
        ),
        Ok(LoginOutcome::Locked { until_ms }) => again(
            StatusCode::LOCKED,
            format!(
                "连续登录失败次数过多，账户已锁定至 {}，请稍后再试或联系管理员。",
                beijing_time(until_ms)
            ),
        ),
        Err(e) => store_error_page(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct Empty {}

async fn logout(State(state): State<AppState>, form: CsrfForm<Empty>) -> Response {
    let caller = form.caller;
    if let Err(e) = state
        .store
        .logout(caller.scope(), &caller.token, &caller.ip)
        .await
    {
        return store_error_page(e);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, clear_cookie()),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}

// ---- home ------------------------------------------------------------------------------

pub struct Panel {
    pub title: &'static str,
    pub empty: &'static str,
    pub rows: Vec<PanelRow>,
    /// A link under the rows ("全部待办").
    pub more: Option<(String, String)>,
}

pub struct PanelRow {
    pub label: String,
    pub value: String,
    pub href: Option<String>,
    /// Past its date: shown in red.
    pub overdue: bool,
}

impl PanelRow {
    pub fn new(label: String, value: String, href: Option<String>) -> PanelRow {
        PanelRow {
            label,
            value,
            href,
            overdue: false,
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    home_name: String,
    home_level: &'static str,
    role_label: &'static str,
    panels: Vec<Panel>,
}

async fn home(State(state): State<AppState>, PageAuth(caller): PageAuth) -> Response {
    let scope = caller.scope();
    let Some(home) = scope.home() else {
        return not_found().await;
    };
    let home_div = match state.store.division(scope, home).await {
        Ok(d) => d,
        Err(e) => return store_error_page(e),
    };
    let children = state
        .store
        .division_children(scope, home)
        .await
        .unwrap_or_default();
    let mut panels = match scope.role {
        Role::Director | Role::Supervisor => visits::home_panels(&state, &caller).await,
        Role::Office => {
            let stations = state
                .store
                .list_stations(scope, home)
                .await
                .unwrap_or_default();
            let rows = children
                .iter()
                .map(|c| {
                    PanelRow::new(
                        c.name.clone(),
                        if stations.iter().any(|s| s.division_code == c.code) {
                            "已建工作站".into()
                        } else {
                            "—".into()
                        },
                        Some(format!("/divisions/{}", c.code)),
                    )
                })
                .collect();
            let mut panels = visits::home_panels(&state, &caller).await;
            panels.push(Panel {
                title: "各乡镇（街道）",
                empty: "本辖区没有下级区划。",
                rows,
                more: None,
            });
            panels
        }
        Role::Auditor | Role::Admin | Role::Security => {
            let counts = state.store.division_counts().await.unwrap_or_default();
            let users = state.store.user_count().await.unwrap_or_default();
            let mut rows: Vec<PanelRow> = [
                Level::Province,
                Level::City,
                Level::County,
                Level::Township,
                Level::Village,
            ]
            .iter()
            .zip(counts)
            .map(|(l, n)| PanelRow::new(format!("{}区划", l.label()), n.to_string(), None))
            .collect();
            rows.push(PanelRow::new(
                "账户".into(),
                users.to_string(),
                Some("/users".into()),
            ));
            vec![Panel {
                title: "系统概况",
                empty: "",
                rows,
                more: None,
            }]
        }
        Role::Unit | Role::Reporter => vec![],
    };
    // What needs the user's action comes first: reports, referrals, tasks, supervised items.
    let mut first = inbox::home_panels(&state, &caller).await;
    first.append(&mut panels);
    let mut panels = first;
    if let Some(p) = allowances::home_panel(&state, &caller).await {
        panels.push(p);
    }
    render(&HomePage {
        layout: Layout::for_caller(&caller, "/"),
        home_name: home_div.name,
        home_level: home.level().label(),
        role_label: scope.role.label(),
        panels,
    })
}

// ---- divisions -------------------------------------------------------------------------

struct Crumb {
    name: String,
    href: Option<String>,
}

struct DivisionItem {
    code: String,
    name: String,
    level: &'static str,
    area: Option<&'static str>,
}

impl DivisionItem {
    fn new(d: &weibao_store::Division) -> DivisionItem {
        let code = d.code();
        DivisionItem {
            code: d.code.clone(),
            name: d.name.clone(),
            level: code.level().label(),
            area: code.village_area().map(|a| a.label()),
        }
    }
}

#[derive(Template)]
#[template(path = "divisions.html")]
struct DivisionPage {
    layout: Layout,
    crumbs: Vec<Crumb>,
    current: DivisionItem,
    station: Option<String>,
    children: Vec<DivisionItem>,
}

async fn divisions_root(PageAuth(caller): PageAuth) -> Response {
    match caller.scope().home() {
        Some(home) => Redirect::to(&format!("/divisions/{}", home.full())).into_response(),
        None => not_found().await,
    }
}

async fn division_page(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(code): Path<String>,
) -> Response {
    let scope = caller.scope();
    let code = match DivisionCode::parse(&code) {
        Ok(c) => c,
        Err(e) => return error_page(StatusCode::UNPROCESSABLE_ENTITY, &e.message),
    };
    let path = match state.store.division_path(scope, code).await {
        Ok(p) => p,
        Err(e) => return store_error_page(e),
    };
    let children = match state.store.division_children(scope, code).await {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    let station = if code.level() == Level::Township {
        state
            .store
            .list_stations(scope, code)
            .await
            .ok()
            .and_then(|s| s.into_iter().next())
            .map(|s| s.name)
    } else {
        None
    };
    let current = DivisionItem::new(path.last().expect("path ends at the division"));
    let crumbs = path
        .iter()
        .map(|d| Crumb {
            name: d.name.clone(),
            href: (scope.reaches(d.code()) && d.code != current.code)
                .then(|| format!("/divisions/{}", d.code)),
        })
        .collect();
    render(&DivisionPage {
        layout: Layout::for_caller(&caller, "/divisions"),
        crumbs,
        current,
        station,
        children: children.iter().map(DivisionItem::new).collect(),
    })
}

// ---- password --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    layout: Layout,
    forced: bool,
    error: Option<String>,
    done: bool,
    csrf: String,
}

async fn password_page(PageAuth(caller): PageAuth) -> Response {
    render(&PasswordPage {
        forced: caller.user.must_change_password,
        csrf: caller.user.csrf_token.clone(),
        layout: Layout::for_caller(&caller, ""),
        error: None,
        done: false,
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    old_password: String,
    new_password: String,
    confirm_password: String,
}

async fn password_submit(State(state): State<AppState>, form: CsrfForm<PasswordForm>) -> Response {
    let CsrfForm { caller, form, .. } = form;
    let result = if form.new_password != form.confirm_password {
        Err("两次输入的新密码不一致，请重新输入".to_string())
    } else {
        state
            .store
            .change_password(
                caller.scope(),
                &caller.token,
                &form.old_password,
                &form.new_password,
                &caller.ip,
            )
            .await
            .map_err(|e| ApiError::from(e).message)
    };
    match result {
        Ok(()) if caller.user.must_change_password => Redirect::to("/").into_response(),
        Ok(()) => render(&PasswordPage {
            forced: false,
            csrf: caller.user.csrf_token.clone(),
            layout: Layout::for_caller(&caller, ""),
            error: None,
            done: true,
        }),
        Err(msg) => {
            let mut res = render(&PasswordPage {
                forced: caller.user.must_change_password,
                csrf: caller.user.csrf_token.clone(),
                layout: Layout::for_caller(&caller, ""),
                error: Some(msg),
                done: false,
            });
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            res
        }
    }
}

// ---- users -----------------------------------------------------------------------------

struct UserRow {
    username: String,
    display_name: String,
    role: &'static str,
    unit: Option<String>,
    division: String,
    status: &'static str,
}

#[derive(Default, Deserialize)]
struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    division: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    scope_name: String,
    users: Vec<UserRow>,
    can_manage: bool,
    roles: Vec<(&'static str, &'static str)>,
    units: &'static [&'static str],
    form: UserForm,
    error: Option<String>,
    notice: Option<String>,
    csrf: String,
}

async fn users_view(
    state: &AppState,
    caller: &Caller,
    form: UserForm,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let scope = caller.scope();
    let users = match state.store.list_users(scope, None).await {
        Ok(u) => u,
        Err(e) => return store_error_page(e),
    };
    let scope_name = match scope.home() {
        Some(h) => state
            .store
            .division(scope, h)
            .await
            .map(|d| d.name)
            .unwrap_or_else(|_| h.full()),
        None => "全国".into(),
    };
    let now = state.store.clock().now_ms();
    let status = error.is_some();
    let mut res = render(&UsersPage {
        layout: Layout::for_caller(caller, "/users"),
        scope_name,
        users: users
            .into_iter()
            .map(|u| UserRow {
                status: if u.disabled {
                    "已停用"
                } else if u.locked_until.is_some_and(|t| t > now) {
                    "已锁定"
                } else if u.must_change_password {
                    "待修改临时密码"
                } else {
                    "正常"
                },
                username: u.username,
                display_name: u.display_name,
                role: u.role.label(),
                unit: u.unit,
                division: u.division.full(),
            })
            .collect(),
        can_manage: allows(scope.role, Action::ManageUsers),
        roles: Role::ALL
            .iter()
            .filter(|r| scope.role.may_assign(**r))
            .map(|r| (r.as_str(), r.label()))
            .collect(),
        units: MEMBER_UNITS,
        form,
        error,
        notice,
        csrf: caller.user.csrf_token.clone(),
    });
    if status {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

async fn users_page(State(state): State<AppState>, PageAuth(caller): PageAuth) -> Response {
    if !allows(caller.scope().role, Action::ViewUsers) {
        return error_page(StatusCode::FORBIDDEN, "您的角色无权查看账户。");
    }
    users_view(&state, &caller, UserForm::default(), None, None).await
}

async fn users_submit(State(state): State<AppState>, form: CsrfForm<UserForm>) -> Response {
    let CsrfForm { caller, form, .. } = form;
    let parsed = Role::parse(&form.role)
        .map_err(|e| e.message)
        .and_then(|role| {
            DivisionCode::parse(&form.division)
                .map(|d| (role, d))
                .map_err(|e| e.message)
        });
    let (role, division) = match parsed {
        Ok(x) => x,
        Err(msg) => return users_view(&state, &caller, form, Some(msg), None).await,
    };
    let result = state
        .store
        .create_user(
            caller.scope(),
            NewUser {
                username: form.username.clone(),
                display_name: form.display_name.clone(),
                role,
                division,
                unit: Some(form.unit.clone()).filter(|u| !u.is_empty()),
                phone: Some(form.phone.clone()),
                password: form.password.clone(),
                must_change_password: true,
                designated: false,
            },
        )
        .await;
    match result {
        Ok(u) => {
            let notice = format!(
                "已创建账户 {}，请将临时密码告知本人；首次登录须修改。",
                u.username
            );
            users_view(&state, &caller, UserForm::default(), None, Some(notice)).await
        }
        Err(StoreError::Forbidden) | Err(StoreError::NotFound) => error_page(
            StatusCode::FORBIDDEN,
            "您不能在该区划创建此角色的账户：只能在本辖区内创建下级工作人员账户。",
        ),
        Err(e) => {
            let msg = ApiError::from(e).message;
            users_view(&state, &caller, form, Some(msg), None).await
        }
    }
}

// ---- audit -----------------------------------------------------------------------------

struct AuditRow {
    at: String,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<AuditRow>,
    from: String,
    to: String,
}

#[derive(Deserialize)]
struct AuditRange {
    from: Option<String>,
    to: Option<String>,
}

/// The audit log between two dates (Beijing days, both included) as a workbook.
async fn audit_export(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<AuditRange>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewAudit) {
        return store_error_page(StoreError::Forbidden);
    }
    let day = |s: Option<&str>| {
        chrono::NaiveDate::parse_from_str(s.unwrap_or("").trim(), "%Y-%m-%d").ok()
    };
    let (from, to) = match (day(q.from.as_deref()), day(q.to.as_deref())) {
        (Some(f), Some(t)) if f <= t => (f, t),
        (Some(_), Some(_)) => {
            return error_page(StatusCode::UNPROCESSABLE_ENTITY, "开始日期不能晚于结束日期")
        }
        (f, _) => {
            let field = if f.is_none() { "开始" } else { "结束" };
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("{field}日期无效：请按 2026-01-01 的格式选择日期"),
            );
        }
    };
    let start = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis()
            - 8 * 3_600_000
    };
    let Some(end) = to.checked_add_days(chrono::Days::new(1)) else {
        return error_page(StatusCode::UNPROCESSABLE_ENTITY, "结束日期无效");
    };
    let entries = match state
        .store
        .audit_between(caller.scope(), start(from), start(end), &caller.ip)
        .await
    {
        Ok(e) => e,
        Err(e) => return store_error_page(e),
    };
    use weibao_sheets::OutCell::Text;
    let rows = entries.into_iter().map(|e| {
        vec![
            Text(beijing_time(e.at)),
            Text(e.county_code),
            Text(e.seq.to_string()),
            Text(e.actor_name),
            Text(e.action),
            Text(e.target),
            Text(e.outcome),
            Text(e.ip),
            Text(e.detail),
            Text(e.hash),
        ]
    });
    let headers = [
        "时间",
        "县级链",
        "序号",
        "操作人",
        "操作",
        "对象",
        "结果",
        "来源",
        "说明",
        "SM3 哈希",
    ];
    match weibao_sheets::write_table("审计日志", &headers, rows) {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"audit-{from}-{to}.xlsx\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => error_page(StatusCode::UNPROCESSABLE_ENTITY, &e),
    }
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    layout: Layout,
    sessions: Vec<weibao_store::ActiveSession>,
    csrf: String,
    notice: Option<String>,
}

#[derive(Deserialize)]
struct NoticeParam {
    ended: Option<String>,
}

async fn sessions_page(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NoticeParam>,
) -> Response {
    let sessions = match state.store.list_sessions(caller.scope()).await {
        Ok(s) => s,
        Err(e) => return store_error_page(e),
    };
    render(&SessionsPage {
        layout: Layout::for_caller(&caller, "/sessions"),
        sessions: sessions
            .into_iter()
            .map(|mut s| {
                s.role = weibao_domain::access::Role::parse(&s.role)
                    .map(|r| r.label().to_string())
                    .unwrap_or(s.role);
                s
            })
            .collect(),
        csrf: caller.user.csrf_token.clone(),
        notice: q.ended.map(|u| format!("已结束 {u} 的会话")),
    })
}

async fn end_session(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    form: CsrfForm<Empty>,
) -> Response {
    let caller = form.caller;
    let who = state
        .store
        .list_sessions(caller.scope())
        .await
        .ok()
        .and_then(|l| l.into_iter().find(|s| s.handle == handle))
        .map(|s| s.username)
        .unwrap_or_default();
    match state
        .store
        .end_session(caller.scope(), &handle, &caller.ip)
        .await
    {
        Ok(()) => Redirect::to(&format!("/sessions?ended={}", url_encode(&who))).into_response(),
        Err(e) => store_error_page(e),
    }
}

async fn audit_page(State(state): State<AppState>, PageAuth(caller): PageAuth) -> Response {
    let entries = match state.store.recent_audit(caller.scope(), 200).await {
        Ok(e) => e,
        Err(e) => return store_error_page(e),
    };
    let today = state.store.clock().today();
    render(&AuditPage {
        from: (today - chrono::Duration::days(183)).to_string(),
        to: today.to_string(),
        layout: Layout::for_caller(&caller, "/audit"),
        entries: entries
            .into_iter()
            .map(|e| AuditRow {
                at: beijing_time(e.at),
                actor: e.actor_name,
                action: e.action,
                target: e.target,
                outcome: e.outcome,
                ip: e.ip,
            })
            .collect(),
    })
}

#[cfg(test)]
mod page_list_tests {
    /// Every `.route(path, get(..).post(..))` in this file is in [`super::PAGES`] with each
    /// of its methods, and nothing else is.
    #[test]
    fn every_page_route_is_listed_for_the_access_matrix() {
        let source = include_str!("mod.rs");
        let body = &source[source.find("pub fn routes()").unwrap()..];
        let body = &body[..body.find("\n}\n").unwrap()];
        let mut found = Vec::new();
        for part in body.split(".route(").skip(1) {
            let path = part.split('"').nth(1).unwrap();
            let call = &part[..part
                .find("\n        )")
                .unwrap_or(part.len())
                .min(part.find(".route(").unwrap_or(part.len()))];
            for (word, method) in [("get(", "GET"), ("post(", "POST")] {
                if call.contains(word) {
                    found.push((method, path));
                }
            }
        }
        let mut listed = super::PAGES.to_vec();
        found.sort();
        listed.sort();
        assert_eq!(found, listed);
    }
}

// ---- two-step sign-in --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage {
    layout: Layout,
    csrf: String,
    allowed: bool,
    /// After "generate": the QR code and the secret to confirm.
    qr: Option<String>,
    secret: String,
    message: Option<String>,
    done: bool,
}

async fn totp_page(PageAuth(caller): PageAuth) -> Response {
    render(&TotpPage {
        layout: Layout::for_caller(&caller, "/account/totp"),
        csrf: caller.user.csrf_token.clone(),
        allowed: weibao_store::totp_allowed(caller.scope().role),
        qr: None,
        secret: String::new(),
        message: None,
        done: false,
    })
}

#[derive(Deserialize)]
struct TotpForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    code: String,
}

async fn totp_submit(State(state): State<AppState>, form: CsrfForm<TotpForm>) -> Response {
    let caller = form.caller;
    let f = form.form;
    let mut page = TotpPage {
        layout: Layout::for_caller(&caller, "/account/totp"),
        csrf: caller.user.csrf_token.clone(),
        allowed: weibao_store::totp_allowed(caller.scope().role),
        qr: None,
        secret: String::new(),
        message: None,
        done: false,
    };
    if f.action == "enable" {
        match state.store.totp_enable(caller.scope(), &f.code).await {
            Ok(()) => page.done = true,
            Err(StoreError::Invalid { invalid, .. }) => {
                page.message = Some(invalid.message);
                // The pending secret as stored, never what the form sent back.
                if let Ok(Some(setup)) = state.store.totp_pending_uri(caller.scope()).await {
                    page.qr = Some(crate::card::qr_svg(&setup.uri));
                    page.secret = setup.secret;
                }
            }
            Err(e) => return store_error_page(e),
        }
    } else {
        let code = Some(f.code.as_str()).filter(|c| !c.is_empty());
        match state.store.totp_setup(caller.scope(), code).await {
            Ok(setup) => {
                page.qr = Some(crate::card::qr_svg(&setup.uri));
                page.secret = setup.secret;
            }
            Err(StoreError::Invalid { invalid, .. }) => page.message = Some(invalid.message),
            Err(e) => return store_error_page(e),
        }
    }
    render(&page)
}
