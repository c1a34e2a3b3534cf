//! The JSON API under /api/v1, documented by its own OpenAPI 3.1 document.
//!
//! Routes are registered through utoipa-axum, so a route cannot exist without its entry in
//! the document; [`ROUTE_ACCESS`] says who may call each one and a test checks that every
//! documented operation has an entry.

mod account;
pub mod activities;
pub mod allowances;
pub mod assessment;
pub mod cases;
pub mod children;
pub mod committee;
mod divisions;
mod document;
pub mod finding;
pub mod network;
pub mod offline;
pub mod pairing;
pub mod proposal_reply;
pub mod proposals;
pub mod record_checks;
pub mod referrals;
pub mod reports;
mod schema;
pub mod services;
pub mod stats;
mod users;
pub mod visits;
pub mod warnings;
pub mod work;

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use weibao_domain::access::Action;

use crate::auth::RouteAccess;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "未保 Weibao API",
        version = "1",
        description = "未成年人保护工作平台的接口。登录后以 `Authorization: Bearer <token>` 调用；\
                       错误统一为 `{\"error\":{\"code\",\"message\",\"field\"}}`。"
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// An allowance decision: the township's check or the county's confirmation.
const DECIDE: &[Action] = &[Action::ReviewAllowances, Action::ConfirmAllowances];

/// Who may call each operation (by operation id, the handler's name).
pub const ROUTE_ACCESS: &[(&str, RouteAccess)] = &[
    ("login", RouteAccess::Public),
    ("logout", RouteAccess::SignedIn),
    ("change_password", RouteAccess::SignedIn),
    ("me", RouteAccess::SignedIn),
    // Office and administrator roles (the store refuses the others with 403).
    ("totp_setup", RouteAccess::SignedIn),
    ("totp_enable", RouteAccess::SignedIn),
    ("get_division", RouteAccess::Action(Action::ViewDivisions)),
    (
        "division_children",
        RouteAccess::Action(Action::ViewDivisions),
    ),
    ("list_users", RouteAccess::Action(Action::ViewUsers)),
    ("create_user", RouteAccess::Action(Action::ManageUsers)),
    ("list_sessions", RouteAccess::Action(Action::ManageSessions)),
    ("end_session", RouteAccess::Action(Action::ManageSessions)),
    ("list_children", RouteAccess::Action(Action::ViewChildren)),
    ("create_child", RouteAccess::Action(Action::EditChildren)),
    ("get_child", RouteAccess::Action(Action::ViewChildren)),
    ("update_child", RouteAccess::Action(Action::EditChildren)),
    ("child_history", RouteAccess::Action(Action::ViewChildren)),
    (
        "request_transfer",
        RouteAccess::Action(Action::TransferChildren),
    ),
    (
        "incoming_transfers",
        RouteAccess::Action(Action::TransferChildren),
    ),
    (
        "decide_transfer",
        RouteAccess::Action(Action::TransferChildren),
    ),
    ("import_children", RouteAccess::Action(Action::EditChildren)),
    (
        "export_children",
        RouteAccess::Action(Action::ExportChildren),
    ),
    ("create_visit", RouteAccess::Action(Action::RecordVisits)),
    ("child_visits", RouteAccess::Action(Action::ViewChildren)),
    ("get_visit", RouteAccess::Action(Action::ViewChildren)),
    // The author within 24 hours, later the supervisor (the store decides which).
    ("correct_visit", RouteAccess::Action(Action::RecordVisits)),
    ("upload_photo", RouteAccess::Action(Action::RecordVisits)),
    ("get_photo", RouteAccess::Action(Action::ViewChildren)),
    ("card_svg", RouteAccess::Action(Action::RecordVisits)),
    ("reissue_card", RouteAccess::Action(Action::RecordVisits)),
    ("due_visits", RouteAccess::Action(Action::ViewChildren)),
    ("visit_progress", RouteAccess::Action(Action::ViewChildren)),
    ("open_alerts", RouteAccess::Action(Action::ResolveAlerts)),
    ("resolve_alert", RouteAccess::Action(Action::ResolveAlerts)),
    // Reports, referrals and cases; the store narrows each to what the caller may see
    // (a unit: what is referred to it; a reporter: its own reports).
    ("create_report", RouteAccess::Action(Action::FileReports)),
    ("list_reports", RouteAccess::Action(Action::ViewReports)),
    ("get_report", RouteAccess::Action(Action::ViewReports)),
    ("triage_report", RouteAccess::Action(Action::TriageReports)),
    (
        "acknowledge_report",
        RouteAccess::Action(Action::TriageReports),
    ),
    ("refer_report", RouteAccess::Action(Action::TriageReports)),
    ("merge_report", RouteAccess::Action(Action::TriageReports)),
    ("reply_report", RouteAccess::Action(Action::TriageReports)),
    (
        "link_report_child",
        RouteAccess::Action(Action::TriageReports),
    ),
    // The office, a handling unit, whoever filed it (the store decides).
    (
        "upload_attachment",
        RouteAccess::Action(Action::ViewReports),
    ),
    ("get_attachment", RouteAccess::Action(Action::ViewReports)),
    ("import_hotline", RouteAccess::Action(Action::TriageReports)),
    // The committee: the office keeps it; liaisons and townships read it and report on
    // their own units' tasks, acknowledge notices (the store decides which).
    ("list_members", RouteAccess::Action(Action::ViewCommittee)),
    ("add_member", RouteAccess::Action(Action::ManageCommittee)),
    (
        "member_leaves",
        RouteAccess::Action(Action::ManageCommittee),
    ),
    (
        "committee_units",
        RouteAccess::Action(Action::ViewCommittee),
    ),
    ("set_duties", RouteAccess::Action(Action::ManageCommittee)),
    ("list_tasks", RouteAccess::Action(Action::ViewCommittee)),
    ("create_task", RouteAccess::Action(Action::ManageCommittee)),
    ("get_task", RouteAccess::Action(Action::ViewCommittee)),
    (
        "report_progress",
        RouteAccess::Action(Action::ViewCommittee),
    ),
    (
        "upload_task_file",
        RouteAccess::Action(Action::ViewCommittee),
    ),
    ("get_task_file", RouteAccess::Action(Action::ViewCommittee)),
    ("list_notices", RouteAccess::Action(Action::ViewCommittee)),
    // The assessment: the office keeps it; units and townships read it once published.
    ("get_assessment", RouteAccess::Action(Action::ViewCommittee)),
    (
        "set_assessment_scheme",
        RouteAccess::Action(Action::ManageCommittee),
    ),
    (
        "add_assessment_points",
        RouteAccess::Action(Action::ManageCommittee),
    ),
    (
        "publish_assessment",
        RouteAccess::Action(Action::ManageCommittee),
    ),
    (
        "assessment_subject",
        RouteAccess::Action(Action::ViewCommittee),
    ),
    (
        "export_assessment",
        RouteAccess::Action(Action::ViewCommittee),
    ),
    ("issue_notice", RouteAccess::Action(Action::ManageCommittee)),
    ("get_notice", RouteAccess::Action(Action::ViewCommittee)),
    (
        "acknowledge_notice",
        RouteAccess::Action(Action::ViewCommittee),
    ),
    ("list_meetings", RouteAccess::Action(Action::ViewCommittee)),
    (
        "record_meeting",
        RouteAccess::Action(Action::ManageCommittee),
    ),
    // Proposals: the office registers, reviews and rates; the units on one reply and
    // send opinions (the store decides which).
    ("list_proposals", RouteAccess::Action(Action::ViewCommittee)),
    (
        "create_proposal",
        RouteAccess::Action(Action::ManageCommittee),
    ),
    ("get_proposal", RouteAccess::Action(Action::ViewCommittee)),
    (
        "get_reply_document",
        RouteAccess::Action(Action::ViewCommittee),
    ),
    (
        "keep_reply_document",
        RouteAccess::Action(Action::ViewCommittee),
    ),
    (
        "export_reply_document",
        RouteAccess::Action(Action::ViewCommittee),
    ),
    (
        "upload_reply_files",
        RouteAccess::Action(Action::ViewCommittee),
    ),
    ("get_reply_file", RouteAccess::Action(Action::ViewCommittee)),
    // Departments' lists: the office uploads and follows them; villages, townships and
    // the office verify what they found (the store narrows to the caller's division).
    ("upload_dept_list", RouteAccess::Action(Action::MatchLists)),
    ("list_dept_lists", RouteAccess::Action(Action::MatchLists)),
    ("get_dept_list", RouteAccess::Action(Action::MatchLists)),
    ("list_findings", RouteAccess::Action(Action::VerifyFindings)),
    (
        "answer_finding",
        RouteAccess::Action(Action::VerifyFindings),
    ),
    // Early warnings: villages, townships and the office see and decide on those of
    // their division (the store narrows).
    ("list_warnings", RouteAccess::Action(Action::VerifyFindings)),
    ("get_warning", RouteAccess::Action(Action::VerifyFindings)),
    (
        "decide_warning",
        RouteAccess::Action(Action::VerifyFindings),
    ),
    // Pairing: each level pairs the children of its division (the store narrows).
    ("create_helper", RouteAccess::Action(Action::ManagePairing)),
    ("list_helpers", RouteAccess::Action(Action::ManagePairing)),
    ("create_pairing", RouteAccess::Action(Action::ManagePairing)),
    ("log_contact", RouteAccess::Action(Action::ManagePairing)),
    ("end_pairing", RouteAccess::Action(Action::ManagePairing)),
    (
        "pairing_overview",
        RouteAccess::Action(Action::ManagePairing),
    ),
    ("add_opinion", RouteAccess::Action(Action::ViewCommittee)),
    ("reply_proposal", RouteAccess::Action(Action::ViewCommittee)),
    (
        "review_proposal",
        RouteAccess::Action(Action::ManageCommittee),
    ),
    (
        "rate_proposal",
        RouteAccess::Action(Action::ManageCommittee),
    ),
    // Activities: every level records and reads its own (a unit: its unit's).
    (
        "list_activities",
        RouteAccess::Action(Action::ViewActivities),
    ),
    (
        "create_activity",
        RouteAccess::Action(Action::RecordActivities),
    ),
    (
        "activity_counts",
        RouteAccess::Action(Action::ViewActivities),
    ),
    ("get_activity", RouteAccess::Action(Action::ViewActivities)),
    (
        "upload_activity_photos",
        RouteAccess::Action(Action::RecordActivities),
    ),
    (
        "get_activity_photo",
        RouteAccess::Action(Action::ViewActivities),
    ),
    // Purchased services: the office keeps agencies, contracts and workers; the office
    // and townships record and read the services.
    ("list_agencies", RouteAccess::Action(Action::ViewServices)),
    ("create_agency", RouteAccess::Action(Action::ManageServices)),
    ("list_contracts", RouteAccess::Action(Action::ViewServices)),
    (
        "create_contract",
        RouteAccess::Action(Action::ManageServices),
    ),
    ("list_workers", RouteAccess::Action(Action::ViewServices)),
    ("create_worker", RouteAccess::Action(Action::ManageServices)),
    ("list_services", RouteAccess::Action(Action::ViewServices)),
    // Offline visits: the phone's own device (the store checks it is the caller's); its
    // state is asked without a session, so a revoked account's phone still learns to wipe.
    ("register_device", RouteAccess::Action(Action::RecordVisits)),
    (
        "offline_worklist",
        RouteAccess::Action(Action::RecordVisits),
    ),
    ("device_state", RouteAccess::Public),
    ("device_contact", RouteAccess::Action(Action::RecordVisits)),
    ("device_wiped", RouteAccess::SignedIn),
    ("list_devices", RouteAccess::Action(Action::ManageUsers)),
    ("revoke_device", RouteAccess::Action(Action::ManageUsers)),
    ("stats_overview", RouteAccess::Action(Action::ViewChildren)),
    // Work reports: of a division within reach (the store checks it).
    (
        "draft_work_report",
        RouteAccess::Action(Action::ViewChildren),
    ),
    (
        "keep_work_report",
        RouteAccess::Action(Action::ViewChildren),
    ),
    ("get_work_report", RouteAccess::Action(Action::ViewChildren)),
    (
        "export_work_report",
        RouteAccess::Action(Action::ViewChildren),
    ),
    (
        "stats_report_xlsx",
        RouteAccess::Action(Action::ViewChildren),
    ),
    (
        "create_service",
        RouteAccess::Action(Action::RecordServices),
    ),
    // Pre-employment checks: institutions, units and the office ask; the office or the
    // police liaison loads the list (the store refuses any other unit). Nothing reads it.
    ("check_record", RouteAccess::Action(Action::CheckRecords)),
    (
        "check_records_batch",
        RouteAccess::Action(Action::CheckRecords),
    ),
    (
        "list_record_checks",
        RouteAccess::Action(Action::CheckRecords),
    ),
    (
        "export_record_checks",
        RouteAccess::Action(Action::CheckRecords),
    ),
    (
        "load_record_list",
        RouteAccess::Action(Action::LoadRecordList),
    ),
    (
        "import_record_list",
        RouteAccess::Action(Action::LoadRecordList),
    ),
    (
        "withdraw_from_record_list",
        RouteAccess::Action(Action::LoadRecordList),
    ),
    (
        "record_list_size",
        RouteAccess::Action(Action::LoadRecordList),
    ),
    // The network: the office keeps the county's, a supervisor the township's.
    ("network_coverage", RouteAccess::Action(Action::ViewNetwork)),
    ("list_places", RouteAccess::Action(Action::ViewNetwork)),
    ("create_place", RouteAccess::Action(Action::ManageNetwork)),
    ("close_place", RouteAccess::Action(Action::ManageNetwork)),
    ("list_people", RouteAccess::Action(Action::ViewNetwork)),
    ("appoint_person", RouteAccess::Action(Action::ManageNetwork)),
    ("leave_post", RouteAccess::Action(Action::ManageNetwork)),
    (
        "record_training",
        RouteAccess::Action(Action::ManageNetwork),
    ),
    ("import_network", RouteAccess::Action(Action::ManageNetwork)),
    ("export_network", RouteAccess::Action(Action::ManageNetwork)),
    ("export_hotline", RouteAccess::Action(Action::TriageReports)),
    (
        "list_referrals",
        RouteAccess::Action(Action::HandleReferrals),
    ),
    ("get_referral", RouteAccess::Action(Action::ViewReports)),
    (
        "accept_referral",
        RouteAccess::Action(Action::HandleReferrals),
    ),
    (
        "return_referral",
        RouteAccess::Action(Action::HandleReferrals),
    ),
    (
        "forward_referral",
        RouteAccess::Action(Action::HandleReferrals),
    ),
    (
        "revoke_referral",
        RouteAccess::Action(Action::HandleReferrals),
    ),
    (
        "complete_referral",
        RouteAccess::Action(Action::HandleReferrals),
    ),
    ("create_case", RouteAccess::Action(Action::ManageCases)),
    ("list_cases", RouteAccess::Action(Action::ViewCases)),
    ("get_case", RouteAccess::Action(Action::ViewCases)),
    ("transition_case", RouteAccess::Action(Action::ManageCases)),
    (
        "request_case_closure",
        RouteAccess::Action(Action::ManageCases),
    ),
    ("record_case", RouteAccess::Action(Action::ManageCases)),
    ("add_case_measure", RouteAccess::Action(Action::ManageCases)),
    ("add_case_task", RouteAccess::Action(Action::ManageCases)),
    (
        "add_case_conference",
        RouteAccess::Action(Action::ManageCases),
    ),
    ("refer_case", RouteAccess::Action(Action::TriageReports)),
    ("inbox", RouteAccess::Action(Action::ViewReports)),
    ("mark_read", RouteAccess::Action(Action::ViewReports)),
    (
        "complete_work",
        RouteAccess::Action(Action::HandleReferrals),
    ),
    ("supervise_work", RouteAccess::Action(Action::TriageReports)),
    ("list_units", RouteAccess::Action(Action::ViewReports)),
    ("create_unit", RouteAccess::Action(Action::ManageUnits)),
    ("update_unit", RouteAccess::Action(Action::ManageUnits)),
    ("list_calendar", RouteAccess::SignedIn),
    ("load_calendar", RouteAccess::Action(Action::ManageUnits)),
    (
        "request_sealed_access",
        RouteAccess::Action(Action::ViewReports),
    ),
    (
        "list_sealed_requests",
        RouteAccess::Action(Action::GrantSealedAccess),
    ),
    (
        "decide_sealed_access",
        RouteAccess::Action(Action::GrantSealedAccess),
    ),
    (
        "set_sealed_reader",
        RouteAccess::Action(Action::GrantSealedAccess),
    ),
    (
        "list_allowance_types",
        RouteAccess::Action(Action::ViewAllowances),
    ),
    (
        "create_standard",
        RouteAccess::Action(Action::ManageAllowanceStandards),
    ),
    (
        "list_standards",
        RouteAccess::Action(Action::ViewAllowances),
    ),
    (
        "create_application",
        RouteAccess::Action(Action::ApplyAllowances),
    ),
    (
        "list_applications",
        RouteAccess::Action(Action::ViewAllowances),
    ),
    (
        "get_application",
        RouteAccess::Action(Action::ViewAllowances),
    ),
    // 乡镇查验 (ReviewAllowances) or 县级确认 (ConfirmAllowances), by the body's step.
    ("decide_application", RouteAccess::AnyOf(DECIDE)),
    ("decide_applications", RouteAccess::AnyOf(DECIDE)),
    (
        "stop_application",
        RouteAccess::Action(Action::ConfirmAllowances),
    ),
    // The village or township that files, or the county office.
    (
        "update_application_account",
        RouteAccess::AnyOf(&[Action::ApplyAllowances, Action::ConfirmAllowances]),
    ),
    // Whoever files, checks or confirms.
    (
        "upload_application_document",
        RouteAccess::AnyOf(&[
            Action::ApplyAllowances,
            Action::ReviewAllowances,
            Action::ConfirmAllowances,
        ]),
    ),
    (
        "allowance_proposals",
        RouteAccess::Action(Action::ViewAllowances),
    ),
    ("create_roll", RouteAccess::Action(Action::ManageRolls)),
    ("list_rolls", RouteAccess::Action(Action::ManageRolls)),
    ("get_roll", RouteAccess::Action(Action::ManageRolls)),
    ("lock_roll", RouteAccess::Action(Action::ManageRolls)),
    (
        "add_roll_adjustment",
        RouteAccess::Action(Action::ManageRolls),
    ),
    ("export_roll_xlsx", RouteAccess::Action(Action::ManageRolls)),
    ("export_roll_csv", RouteAccess::Action(Action::ManageRolls)),
    (
        "allowance_totals",
        RouteAccess::Action(Action::ViewAllowances),
    ),
    (
        "set_allowance_budget",
        RouteAccess::Action(Action::ManageAllowanceStandards),
    ),
    (
        "list_allowance_budgets",
        RouteAccess::Action(Action::ViewAllowances),
    ),
];

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(account::login))
        .routes(routes!(account::logout))
        .routes(routes!(account::change_password))
        .routes(routes!(account::me))
        .routes(routes!(account::totp_setup))
        .routes(routes!(account::totp_enable))
        .routes(routes!(divisions::get_division))
        .routes(routes!(divisions::division_children))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::list_sessions))
        .routes(routes!(users::end_session))
        .routes(routes!(children::list_children, children::create_child))
        .routes(routes!(children::get_child, children::update_child))
        .routes(routes!(children::child_history))
        .routes(routes!(children::request_transfer))
        .routes(routes!(children::incoming_transfers))
        .routes(routes!(children::decide_transfer))
        .routes({
            // Workbooks are large; every other route keeps axum's 2 MB default.
            let (schemas, paths, method_router) = routes!(children::import_children);
            let limit = axum::extract::DefaultBodyLimit::max(children::MAX_UPLOAD_BYTES);
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(children::export_children))
        .routes(routes!(visits::create_visit, visits::child_visits))
        .routes(routes!(visits::get_visit, visits::correct_visit))
        .routes({
            let (schemas, paths, method_router) = routes!(visits::upload_photo);
            let limit = axum::extract::DefaultBodyLimit::max(visits::MAX_PHOTO_UPLOAD);
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(visits::get_photo))
        .routes(routes!(visits::card_svg))
        .routes(routes!(visits::reissue_card))
        .routes(routes!(visits::due_visits))
        .routes(routes!(visits::visit_progress))
        .routes(routes!(visits::open_alerts))
        .routes(routes!(visits::resolve_alert))
        .routes(routes!(reports::create_report, reports::list_reports))
        .routes(routes!(reports::get_report))
        .routes(routes!(reports::triage_report))
        .routes(routes!(reports::acknowledge_report))
        .routes(routes!(reports::refer_report))
        .routes(routes!(reports::merge_report))
        .routes(routes!(reports::reply_report))
        .routes(routes!(reports::link_report_child))
        .routes({
            let (schemas, paths, method_router) = routes!(reports::upload_attachment);
            let limit = axum::extract::DefaultBodyLimit::max(reports::MAX_ATTACHMENT_UPLOAD);
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(reports::get_attachment))
        .routes(routes!(network::network_coverage))
        .routes(routes!(network::list_places, network::create_place))
        .routes(routes!(network::close_place))
        .routes(routes!(network::list_people, network::appoint_person))
        .routes(routes!(network::leave_post))
        .routes(routes!(network::record_training))
        .routes({
            let (schemas, paths, method_router) = routes!(network::import_network);
            let limit = axum::extract::DefaultBodyLimit::max(children::MAX_UPLOAD_BYTES);
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(network::export_network))
        .routes(routes!(committee::list_members, committee::add_member))
        .routes(routes!(committee::member_leaves))
        .routes(routes!(committee::committee_units))
        .routes(routes!(committee::set_duties))
        .routes(routes!(committee::list_tasks, committee::create_task))
        .routes(routes!(committee::get_task))
        .routes(routes!(committee::report_progress))
        .routes({
            let (schemas, paths, method_router) = routes!(committee::upload_task_file);
            let limit = axum::extract::DefaultBodyLimit::max(reports::MAX_ATTACHMENT_UPLOAD);
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(committee::get_task_file))
        .routes(routes!(committee::list_notices, committee::issue_notice))
        .routes(routes!(committee::get_notice))
        .routes(routes!(committee::acknowledge_notice))
        .routes(routes!(committee::list_meetings, committee::record_meeting))
        .routes(routes!(
            proposals::list_proposals,
            proposals::create_proposal
        ))
        .routes(routes!(proposals::get_proposal))
        .routes(routes!(proposals::add_opinion))
        .routes(routes!(proposals::reply_proposal))
        .routes(routes!(proposals::review_proposal))
        .routes(routes!(proposals::rate_proposal))
        .routes(routes!(
            proposal_reply::get_reply_document,
            proposal_reply::keep_reply_document
        ))
        .routes(routes!(proposal_reply::export_reply_document))
        .routes({
            let (schemas, paths, method_router) =
                routes!(finding::upload_dept_list, finding::list_dept_lists);
            let limit = axum::extract::DefaultBodyLimit::max(children::MAX_UPLOAD_BYTES);
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(finding::get_dept_list))
        .routes(routes!(finding::list_findings))
        .routes(routes!(finding::answer_finding))
        .routes(routes!(pairing::create_helper, pairing::list_helpers))
        .routes(routes!(pairing::create_pairing))
        .routes(routes!(pairing::log_contact))
        .routes(routes!(pairing::end_pairing))
        .routes(routes!(pairing::pairing_overview))
        .routes(routes!(warnings::list_warnings))
        .routes(routes!(warnings::get_warning))
        .routes(routes!(warnings::decide_warning))
        .routes({
            let (schemas, paths, method_router) = routes!(proposal_reply::upload_reply_files);
            let limit = axum::extract::DefaultBodyLimit::max(
                reports::MAX_ATTACHMENT_UPLOAD * weibao_store::MAX_REPLY_FILES,
            );
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(proposal_reply::get_reply_file))
        .routes(routes!(
            activities::list_activities,
            activities::create_activity
        ))
        .routes(routes!(activities::activity_counts))
        .routes(routes!(activities::get_activity))
        .routes({
            let (schemas, paths, method_router) = routes!(activities::upload_activity_photos);
            let limit = axum::extract::DefaultBodyLimit::max(
                reports::MAX_ATTACHMENT_UPLOAD * weibao_store::MAX_ACTIVITY_PHOTOS,
            );
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(activities::get_activity_photo))
        .routes(routes!(services::list_agencies, services::create_agency))
        .routes(routes!(services::list_contracts, services::create_contract))
        .routes(routes!(services::list_workers, services::create_worker))
        .routes(routes!(services::list_services, services::create_service))
        .routes(routes!(offline::register_device, offline::list_devices))
        .routes(routes!(offline::offline_worklist))
        .routes(routes!(offline::device_state))
        .routes(routes!(offline::device_contact))
        .routes(routes!(offline::device_wiped))
        .routes(routes!(offline::revoke_device))
        .routes(routes!(stats::stats_overview))
        .routes(routes!(stats::stats_report_xlsx))
        .routes(routes!(stats::draft_work_report))
        .routes(routes!(stats::keep_work_report))
        .routes(routes!(stats::get_work_report))
        .routes(routes!(stats::export_work_report))
        .routes({
            let (schemas, paths, method_router) = routes!(
                record_checks::list_record_checks,
                record_checks::check_record
            );
            let limit = axum::extract::DefaultBodyLimit::max(reports::MAX_ATTACHMENT_UPLOAD);
            (schemas, paths, method_router.layer(limit))
        })
        .routes({
            let (schemas, paths, method_router) = routes!(record_checks::check_records_batch);
            let limit = axum::extract::DefaultBodyLimit::max(
                reports::MAX_ATTACHMENT_UPLOAD + children::MAX_UPLOAD_BYTES,
            );
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(record_checks::export_record_checks))
        .routes(routes!(record_checks::load_record_list))
        .routes({
            let (schemas, paths, method_router) = routes!(record_checks::import_record_list);
            let limit = axum::extract::DefaultBodyLimit::max(children::MAX_UPLOAD_BYTES);
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(record_checks::withdraw_from_record_list))
        .routes(routes!(record_checks::record_list_size))
        .routes(routes!(assessment::get_assessment))
        .routes(routes!(assessment::set_assessment_scheme))
        .routes(routes!(assessment::add_assessment_points))
        .routes(routes!(assessment::publish_assessment))
        .routes(routes!(assessment::assessment_subject))
        .routes(routes!(assessment::export_assessment))
        .routes({
            let (schemas, paths, method_router) = routes!(reports::import_hotline);
            let limit = axum::extract::DefaultBodyLimit::max(children::MAX_UPLOAD_BYTES);
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(reports::export_hotline))
        .routes(routes!(referrals::list_referrals))
        .routes(routes!(referrals::get_referral))
        .routes(routes!(referrals::accept_referral))
        .routes(routes!(referrals::return_referral))
        .routes(routes!(referrals::forward_referral))
        .routes(routes!(referrals::revoke_referral))
        .routes(routes!(referrals::complete_referral))
        .routes(routes!(cases::create_case, cases::list_cases))
        .routes(routes!(cases::get_case))
        .routes(routes!(cases::transition_case))
        .routes(routes!(cases::request_case_closure))
        .routes(routes!(cases::record_case))
        .routes(routes!(cases::add_case_measure))
        .routes(routes!(cases::add_case_task))
        .routes(routes!(cases::add_case_conference))
        .routes(routes!(cases::refer_case))
        .routes(routes!(work::inbox))
        .routes(routes!(work::mark_read))
        .routes(routes!(work::complete_work))
        .routes(routes!(work::supervise_work))
        .routes(routes!(work::list_units, work::create_unit))
        .routes(routes!(work::update_unit))
        .routes(routes!(work::list_calendar, work::load_calendar))
        .routes(routes!(
            work::request_sealed_access,
            work::list_sealed_requests
        ))
        .routes(routes!(work::decide_sealed_access))
        .routes(routes!(work::set_sealed_reader))
        .routes(routes!(allowances::list_allowance_types))
        .routes(routes!(
            allowances::create_standard,
            allowances::list_standards
        ))
        .routes(routes!(
            allowances::create_application,
            allowances::list_applications
        ))
        .routes(routes!(allowances::get_application))
        .routes(routes!(allowances::decide_application))
        .routes(routes!(allowances::decide_applications))
        .routes(routes!(allowances::stop_application))
        .routes(routes!(allowances::update_application_account))
        .routes({
            let (schemas, paths, method_router) = routes!(allowances::upload_application_document);
            let limit = axum::extract::DefaultBodyLimit::max(visits::MAX_PHOTO_UPLOAD);
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(allowances::allowance_proposals))
        .routes(routes!(allowances::create_roll, allowances::list_rolls))
        .routes(routes!(allowances::get_roll))
        .routes(routes!(allowances::lock_roll))
        .routes(routes!(allowances::add_roll_adjustment))
        .routes(routes!(allowances::export_roll_xlsx))
        .routes(routes!(allowances::export_roll_csv))
        .routes(routes!(allowances::allowance_totals))
        .routes(routes!(
            allowances::set_allowance_budget,
            allowances::list_allowance_budgets
        ))
}

pub fn routes() -> Router<AppState> {
    let (router, _) = api_router().split_for_parts();
    router.route("/api/v1/openapi.json", get(openapi))
}

/// The OpenAPI document (see document.rs for what is added to utoipa's).
pub fn openapi_json() -> String {
    let (_, doc) = api_router().split_for_parts();
    document::complete(serde_json::to_value(&doc).expect("OpenAPI document serialises"))
}

async fn openapi(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
        .into_response()
}

/// Query parameters whose refusal is an API error (422, naming what is wrong), not
/// axum's plain-text 400.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryParams(v)),
            Err(rejection) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_query",
                format!("查询参数有误：{}", rejection.body_text()),
            )),
        }
    }
}

/// Path parameters whose refusal is an API error (a path that does not decode is 400 in
/// JSON like every other refusal).
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S>
    for PathParams<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(PathParams(v)),
            Err(rejection) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_path",
                format!("地址有误：{}", rejection.body_text()),
            )),
        }
    }
}

/// The `page` and `per_page` of a list: page from 1, at most [`MAX_PER_PAGE`] a page;
/// anything else is refused (422) rather than quietly changed.
pub fn paging(page: Option<u32>, per_page: Option<u32>) -> Result<(u32, u32), ApiError> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(ApiError::invalid(
            "page",
            weibao_domain::Invalid::new(
                "page_range",
                format!("页码 page 应在 1 到 {MAX_PAGE} 之间，实际为 {page}"),
            ),
        ));
    }
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::invalid(
            "per_page",
            weibao_domain::Invalid::new(
                "per_page_range",
                format!("每页条数 per_page 应在 1 到 {MAX_PER_PAGE} 之间，实际为 {per_page}"),
            ),
        ));
    }
    Ok((page, per_page))
}

/// The most rows a list page holds.
pub const MAX_PER_PAGE: u32 = 200;
/// The deepest page a list goes to (20 million rows at 200 a page).
pub const MAX_PAGE: u32 = 100_000;

/// A JSON body whose refusal is an API error: 400 for malformed JSON, 422 for a body that
/// is JSON but lacks or mistypes a field.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => {
                use axum::extract::rejection::JsonRejection::*;
                let (status, code, message) = match &rejection {
                    JsonDataError(e) => (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_body",
                        format!("请求内容的字段有误：{}", e.body_text()),
                    ),
                    MissingJsonContentType(_) => (
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "content_type",
                        "请以 Content-Type: application/json 发送 JSON".into(),
                    ),
                    _ => (
                        StatusCode::BAD_REQUEST,
                        "malformed_json",
                        format!("请求内容不是有效的 JSON：{}", rejection.body_text()),
                    ),
                };
                Err(ApiError::new(status, code, message))
            }
        }
    }
}

/// A multipart upload whose refusal (not multipart, no boundary) is an API error.
pub struct Upload(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(Upload)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_upload",
                    format!(
                        "请以 multipart/form-data 上传，文件放在字段 file 中：{}",
                        e.body_text()
                    ),
                )
            })
    }
}

/// Reads the first multipart field named `file`. `too_large` words the refusal when the
/// body limit cuts the upload (given the reader's error text); `missing` when there is no
/// such field.
pub async fn multipart_file(
    multipart: Upload,
    too_large: impl FnOnce(String) -> String,
    missing: &str,
) -> Result<axum::body::Bytes, ApiError> {
    Ok(multipart_named_file(multipart, too_large, missing).await?.1)
}

/// The `file` field of a multipart upload with its file name (empty when none was sent).
pub async fn multipart_named_file(
    Upload(mut multipart): Upload,
    too_large: impl FnOnce(String) -> String,
    missing: &str,
) -> Result<(String, axum::body::Bytes), ApiError> {
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_upload",
            format!("上传内容无法读取：{e}"),
        )
    })? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(|e| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "upload_too_large",
                    too_large(e.to_string()),
                )
            })?;
            return Ok((name, bytes));
        }
    }
    Err(ApiError::invalid(
        "file",
        weibao_domain::Invalid::new("file_missing", missing.to_string()),
    ))
}

/// A multipart form's text fields and files: (name, value) and (field, file name, bytes)
/// of every non-empty file. `too_large` words the refusal when the body limit cuts it.
pub async fn multipart_form(
    Upload(mut multipart): Upload,
    too_large: &str,
) -> Result<(Vec<(String, String)>, Vec<(String, String, Vec<u8>)>), ApiError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_upload",
            format!("上传内容无法读取：{e}"),
        )
    };
    let mut fields = Vec::new();
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(String::from) {
            Some(file_name) => {
                let bytes = field.bytes().await.map_err(|_| {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "upload_too_large",
                        too_large.to_string(),
                    )
                })?;
                if !bytes.is_empty() {
                    files.push((name, file_name, bytes.to_vec()));
                }
            }
            None => fields.push((name, field.text().await.map_err(unreadable)?)),
        }
    }
    Ok((fields, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new route without an entry in ROUTE_ACCESS fails here.
    #[test]
    fn every_documented_operation_declares_who_may_call_it() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        let mut seen = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap();
                assert!(
                    ROUTE_ACCESS.iter().any(|(o, _)| *o == id),
                    "{method} {path} ({id}) has no entry in ROUTE_ACCESS"
                );
                assert!(op.get("x-weibao-roles").is_some());
                seen += 1;
            }
        }
        assert_eq!(
            seen,
            ROUTE_ACCESS.len(),
            "ROUTE_ACCESS lists an operation that does not exist"
        );
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    }
}
