//! The access matrix: every operation of the OpenAPI document and every HTML page, called
//! by every role on a record inside the caller's division and on one outside it, and
//! without signing in. The expected answers come from the table below, written by hand
//! and apart from the code's own declarations: an operation or page missing from it fails
//! the test, and so does any answer that differs (allowed, 403, 404, 401).
//!
//! Then the classic holes: ids swapped between records in paths and bodies, a director
//! moving a child out of another village, fields a role may not set.

mod support;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use support::{jpeg, visit_checks, Rng, TestApp, PASSWORD};
use weibao_domain::access::{Role, Scope};
use weibao_domain::DivisionCode;
use weibao_store::{DivisionImportRow, NewUser};

const ALL: &[&str] = &[
    "admin",
    "office",
    "supervisor",
    "director",
    "unit",
    "reporter",
    "auditor",
    "security",
];
const LEDGER_READ: &[&str] = &["office", "supervisor", "director", "unit"];
/// The ledger's own lists and visits: a member unit reads only the child a referral to it
/// is about (GET /children/{id}, the inside child here), never the ledger.
const LEDGER_OWN: &[&str] = &["office", "supervisor", "director"];
const LEDGER_WRITE: &[&str] = &["office", "supervisor", "director"];
const ALERTS: &[&str] = &["office", "supervisor"];
const USERS_READ: &[&str] = &["admin", "office", "supervisor", "auditor", "security"];
const USERS_WRITE: &[&str] = &["admin", "office"];
const AUDIT: &[&str] = &["auditor"];
const SESSIONS: &[&str] = &["security"];
const TOTP: &[&str] = &["admin", "office", "auditor", "security"];
/// Allowances: the village files, the township checks, the county confirms and pays.
const ALLOW_VIEW: &[&str] = &["office", "supervisor", "director"];
const ALLOW_APPLY: &[&str] = &["supervisor", "director"];
const ALLOW_FILE_OR_CONFIRM: &[&str] = &["office", "supervisor", "director"];
const TOWNSHIP: &[&str] = &["supervisor"];
/// The network: the office and the township keep it, the village reads it.
const NETWORK_VIEW: &[&str] = &["office", "supervisor", "director"];
const NETWORK_MANAGE: &[&str] = &["office", "supervisor"];
const COUNTY_OFFICE: &[&str] = &["office"];
/// The committee: the office keeps it; liaisons and townships read it.
const COMMITTEE_VIEW: &[&str] = &["office", "supervisor", "unit"];
/// A task of the plan: the office and the units on it (the police lead the fixture's);
/// a township not on it cannot see it.
const ON_TASK: &[&str] = &["office", "unit"];
/// Activities: every level and the units record and read their own.
const ACTIVITIES: &[&str] = &["office", "supervisor", "director", "unit"];
/// Purchased services: the office keeps them, townships read and record services.
const SERVICES: &[&str] = &["office", "supervisor"];
/// Pre-employment checks: institutions (reporter accounts), units and the office ask;
/// the office and the police liaison (the fixture's unit account) keep the list.
const CHECKS: &[&str] = &["office", "unit", "reporter"];
const LIST_KEEPERS: &[&str] = &["office", "unit"];

/// Who may do it, and whether a record outside the caller's division answers 404.
struct Entry {
    roles: &'static [&'static str],
    /// None: no sign-in needed.
    signed_in: bool,
    /// The answer depends on where the record is (outside: 404).
    scoped: bool,
    /// What is outside is a division to create in or list (no record to hide): refused
    /// any way but success.
    division: bool,
    /// Roles that have the right but are no party to the inside record (a referral goes
    /// to one unit): 404 there too, as for a record they cannot see.
    not_party: &'static [&'static str],
}

const fn e(roles: &'static [&'static str], scoped: bool) -> Entry {
    Entry {
        roles,
        signed_in: true,
        scoped,
        division: false,
        not_party: &[],
    }
}

/// Scoped by a division given in the query or body.
const fn d(roles: &'static [&'static str]) -> Entry {
    Entry {
        roles,
        signed_in: true,
        scoped: true,
        division: true,
        not_party: &[],
    }
}

/// Only the parties to the record (`roles`); `not_party` may take part in such records
/// but not in this one.
const fn party(roles: &'static [&'static str], not_party: &'static [&'static str]) -> Entry {
    Entry {
        roles,
        signed_in: true,
        scoped: true,
        division: false,
        not_party,
    }
}

const PUBLIC: Entry = Entry {
    roles: ALL,
    signed_in: false,
    scoped: false,
    division: false,
    not_party: &[],
};

/// The API, by operationId.
fn api_matrix() -> BTreeMap<&'static str, Entry> {
    BTreeMap::from([
        ("login", PUBLIC),
        ("logout", e(ALL, false)),
        ("change_password", e(ALL, false)),
        ("me", e(ALL, false)),
        ("totp_setup", e(TOTP, false)),
        ("totp_enable", e(TOTP, false)),
        // Division names are reference data every account reads.
        ("get_division", e(ALL, false)),
        ("division_children", e(ALL, false)),
        ("list_users", d(USERS_READ)),
        ("create_user", d(USERS_WRITE)),
        ("list_sessions", e(SESSIONS, false)),
        ("end_session", e(SESSIONS, true)),
        ("list_children", d(LEDGER_OWN)),
        ("create_child", d(LEDGER_WRITE)),
        ("get_child", e(LEDGER_READ, true)),
        ("update_child", e(LEDGER_WRITE, true)),
        ("child_history", e(LEDGER_OWN, true)),
        ("request_transfer", e(LEDGER_WRITE, true)),
        ("incoming_transfers", e(LEDGER_WRITE, false)),
        ("decide_transfer", e(LEDGER_WRITE, true)),
        ("import_children", d(LEDGER_WRITE)),
        ("export_children", d(LEDGER_WRITE)),
        ("create_visit", e(LEDGER_WRITE, true)),
        ("child_visits", e(LEDGER_OWN, true)),
        ("get_visit", e(LEDGER_OWN, true)),
        ("correct_visit", e(LEDGER_WRITE, true)),
        ("upload_photo", e(LEDGER_WRITE, true)),
        ("get_photo", e(LEDGER_OWN, true)),
        ("card_svg", e(LEDGER_WRITE, true)),
        ("reissue_card", e(LEDGER_WRITE, true)),
        ("due_visits", d(LEDGER_OWN)),
        ("visit_progress", d(LEDGER_OWN)),
        // A phone's device is its owner's alone (the inside one is the director's).
        ("register_device", e(LEDGER_WRITE, false)),
        (
            "offline_worklist",
            party(&["director"], &["office", "supervisor"]),
        ),
        (
            "device_contact",
            party(&["director"], &["office", "supervisor"]),
        ),
        (
            "device_wiped",
            party(
                &["director"],
                &[
                    "admin",
                    "office",
                    "supervisor",
                    "unit",
                    "reporter",
                    "auditor",
                    "security",
                ],
            ),
        ),
        ("device_state", PUBLIC),
        ("list_devices", e(USERS_WRITE, false)),
        ("revoke_device", e(USERS_WRITE, true)),
        ("stats_overview", d(LEDGER_OWN)),
        ("stats_report_xlsx", d(LEDGER_OWN)),
        ("draft_work_report", d(LEDGER_OWN)),
        ("keep_work_report", d(LEDGER_OWN)),
        ("get_work_report", e(LEDGER_OWN, true)),
        ("export_work_report", e(LEDGER_OWN, true)),
        ("open_alerts", e(ALERTS, false)),
        ("resolve_alert", e(ALERTS, true)),
        // Reports, referrals and cases: as the pages (see page_matrix), except that the
        // API reads a referral or a work item for any role that reads reports, and a role
        // that is no party to it gets the 404 of a record it cannot see.
        ("create_report", d(REPORTS)),
        ("list_reports", e(REPORTS, false)),
        ("get_report", e(REPORTS, true)),
        ("triage_report", e(OFFICE, true)),
        ("acknowledge_report", e(OFFICE, true)),
        ("refer_report", e(OFFICE, true)),
        ("merge_report", e(OFFICE, true)),
        ("reply_report", e(OFFICE, true)),
        ("link_report_child", e(OFFICE, true)),
        // Attachments: those who see who reported (the office, the handling unit, the
        // institution that filed it), not the township or the village.
        (
            "upload_attachment",
            party(&["office", "unit", "reporter"], &["supervisor", "director"]),
        ),
        (
            "get_attachment",
            party(&["office", "unit", "reporter"], &["supervisor", "director"]),
        ),
        ("import_hotline", d(OFFICE)),
        ("network_coverage", d(NETWORK_VIEW)),
        ("list_places", d(NETWORK_VIEW)),
        ("create_place", d(NETWORK_MANAGE)),
        ("close_place", e(NETWORK_MANAGE, true)),
        ("list_people", d(NETWORK_VIEW)),
        ("appoint_person", d(NETWORK_MANAGE)),
        ("leave_post", e(NETWORK_MANAGE, true)),
        ("record_training", e(NETWORK_MANAGE, true)),
        ("import_network", d(NETWORK_MANAGE)),
        ("export_network", d(NETWORK_MANAGE)),
        ("export_hotline", d(OFFICE)),
        ("list_members", e(COMMITTEE_VIEW, false)),
        ("add_member", e(OFFICE, false)),
        ("member_leaves", e(OFFICE, true)),
        ("committee_units", e(COMMITTEE_VIEW, false)),
        ("set_duties", e(OFFICE, true)),
        ("list_tasks", e(COMMITTEE_VIEW, false)),
        ("create_task", e(OFFICE, false)),
        ("get_task", party(ON_TASK, &["supervisor"])),
        ("report_progress", party(ON_TASK, &["supervisor"])),
        ("upload_task_file", party(ON_TASK, &["supervisor"])),
        ("get_task_file", party(ON_TASK, &["supervisor"])),
        ("list_notices", e(COMMITTEE_VIEW, false)),
        ("issue_notice", e(OFFICE, false)),
        ("get_notice", e(COMMITTEE_VIEW, true)),
        ("acknowledge_notice", e(COMMITTEE_VIEW, true)),
        ("list_meetings", e(COMMITTEE_VIEW, false)),
        ("record_meeting", e(OFFICE, false)),
        // Proposals: the office keeps them; the units on one (the police lead the
        // fixture's) read it, reply, send opinions; a township not on it cannot see it.
        ("list_activities", e(ACTIVITIES, false)),
        ("create_activity", e(ACTIVITIES, false)),
        ("activity_counts", e(ACTIVITIES, false)),
        // A village's activity: a unit is no party to it.
        ("get_activity", party(ACTIVITIES, &["unit"])),
        ("upload_activity_photos", party(ACTIVITIES, &["unit"])),
        ("get_activity_photo", party(ACTIVITIES, &["unit"])),
        ("list_agencies", e(SERVICES, false)),
        ("create_agency", e(OFFICE, false)),
        ("list_contracts", e(SERVICES, false)),
        ("create_contract", e(OFFICE, false)),
        ("list_workers", e(SERVICES, false)),
        ("create_worker", e(OFFICE, false)),
        ("list_services", e(SERVICES, false)),
        ("create_service", e(SERVICES, false)),
        ("check_record", e(CHECKS, false)),
        ("check_records_batch", e(CHECKS, false)),
        ("list_record_checks", e(CHECKS, false)),
        ("export_record_checks", e(CHECKS, false)),
        ("load_record_list", e(LIST_KEEPERS, false)),
        ("import_record_list", e(LIST_KEEPERS, false)),
        ("withdraw_from_record_list", e(LIST_KEEPERS, false)),
        ("record_list_size", e(LIST_KEEPERS, false)),
        ("list_proposals", e(COMMITTEE_VIEW, false)),
        ("create_proposal", e(OFFICE, false)),
        ("get_proposal", party(ON_TASK, &["supervisor"])),
        ("add_opinion", party(ON_TASK, &["supervisor"])),
        ("reply_proposal", party(ON_TASK, &["supervisor"])),
        ("get_reply_document", party(ON_TASK, &["supervisor"])),
        ("keep_reply_document", party(ON_TASK, &["supervisor"])),
        ("export_reply_document", party(ON_TASK, &["supervisor"])),
        ("upload_reply_files", party(ON_TASK, &["supervisor"])),
        ("get_reply_file", party(ON_TASK, &["supervisor"])),
        ("upload_dept_list", e(OFFICE, false)),
        ("list_dept_lists", e(OFFICE, false)),
        ("get_dept_list", e(OFFICE, true)),
        ("list_findings", e(VERIFY, false)),
        ("answer_finding", e(VERIFY, true)),
        ("create_helper", e(VERIFY, false)),
        ("list_helpers", e(VERIFY, false)),
        ("create_pairing", e(VERIFY, true)),
        ("log_contact", e(VERIFY, true)),
        ("end_pairing", e(VERIFY, true)),
        ("pairing_overview", e(VERIFY, false)),
        ("list_warnings", e(VERIFY, false)),
        ("get_warning", e(VERIFY, true)),
        ("decide_warning", e(VERIFY, true)),
        ("review_proposal", e(OFFICE, true)),
        ("rate_proposal", e(OFFICE, true)),
        // The assessment: units and townships read it once published (before: 409).
        ("get_assessment", e(COMMITTEE_VIEW, false)),
        ("set_assessment_scheme", e(OFFICE, false)),
        ("add_assessment_points", e(OFFICE, false)),
        ("publish_assessment", e(OFFICE, false)),
        ("assessment_subject", e(COMMITTEE_VIEW, false)),
        ("export_assessment", e(COMMITTEE_VIEW, false)),
        ("list_referrals", e(HANDLE_REFERRALS, false)),
        (
            "get_referral",
            party(&["office", "unit"], &["supervisor", "director", "reporter"]),
        ),
        ("accept_referral", party(&["unit"], &["supervisor"])),
        ("return_referral", party(&["unit"], &["supervisor"])),
        ("forward_referral", party(&["unit"], &["supervisor"])),
        ("complete_referral", party(&["unit"], &["supervisor"])),
        ("revoke_referral", party(&["office"], &["supervisor"])),
        // The report is named in the body: one out of reach answers as an unknown one.
        ("create_case", d(OFFICE)),
        ("list_cases", e(CASE_READERS, false)),
        ("get_case", e(CASE_READERS, true)),
        ("transition_case", e(OFFICE, true)),
        ("request_case_closure", e(OFFICE, true)),
        ("record_case", e(OFFICE, true)),
        ("add_case_measure", e(OFFICE, true)),
        ("add_case_task", e(OFFICE, true)),
        ("add_case_conference", e(OFFICE, true)),
        ("refer_case", e(OFFICE, true)),
        ("inbox", e(REPORTS, false)),
        ("mark_read", e(REPORTS, false)),
        // The task's unit, or the office.
        ("complete_work", party(&["office", "unit"], &["supervisor"])),
        ("supervise_work", e(OFFICE, true)),
        ("list_units", e(REPORTS, false)),
        ("create_unit", d(OFFICE)),
        ("update_unit", e(OFFICE, true)),
        ("list_calendar", e(ALL, false)),
        ("load_calendar", e(OFFICE, false)),
        ("request_sealed_access", e(REPORTS, true)),
        ("list_sealed_requests", e(OFFICE, false)),
        ("decide_sealed_access", e(OFFICE, true)),
        ("set_sealed_reader", e(OFFICE, false)),
        ("list_allowance_types", d(ALLOW_VIEW)),
        ("create_standard", d(COUNTY_OFFICE)),
        ("list_standards", d(ALLOW_VIEW)),
        ("create_application", e(ALLOW_APPLY, true)),
        ("list_applications", d(ALLOW_VIEW)),
        ("get_application", e(ALLOW_VIEW, true)),
        // The body asks for 乡镇查验: the township's supervisor (the county confirms with
        // step "county", which the office alone may take).
        ("decide_application", e(TOWNSHIP, true)),
        // Many ids in one body; one outside the caller's reach is "not_found" inside a 200.
        ("decide_applications", e(TOWNSHIP, false)),
        ("stop_application", e(COUNTY_OFFICE, true)),
        ("update_application_account", e(ALLOW_FILE_OR_CONFIRM, true)),
        (
            "upload_application_document",
            e(ALLOW_FILE_OR_CONFIRM, true),
        ),
        ("allowance_proposals", d(ALLOW_VIEW)),
        ("create_roll", d(COUNTY_OFFICE)),
        ("list_rolls", d(COUNTY_OFFICE)),
        ("get_roll", e(COUNTY_OFFICE, true)),
        ("lock_roll", e(COUNTY_OFFICE, true)),
        ("add_roll_adjustment", e(COUNTY_OFFICE, true)),
        ("export_roll_xlsx", e(COUNTY_OFFICE, true)),
        ("export_roll_csv", e(COUNTY_OFFICE, true)),
        ("allowance_totals", d(ALLOW_VIEW)),
        ("set_allowance_budget", d(COUNTY_OFFICE)),
        ("list_allowance_budgets", d(ALLOW_VIEW)),
    ])
}

/// The pages, by "METHOD path".
fn page_matrix() -> BTreeMap<&'static str, Entry> {
    BTreeMap::from([
        ("GET /", e(ALL, false)),
        ("GET /login", PUBLIC),
        ("POST /login", PUBLIC),
        ("POST /logout", e(ALL, false)),
        ("GET /divisions", e(ALL, false)),
        ("GET /divisions/{code}", e(ALL, false)),
        ("GET /account/password", e(ALL, false)),
        ("POST /account/password", e(ALL, false)),
        // The page explains to other roles that two-step sign-in is not for them.
        ("GET /account/totp", e(ALL, false)),
        ("POST /account/totp", e(TOTP, false)),
        ("GET /users", e(USERS_READ, false)),
        ("POST /users", d(USERS_WRITE)),
        ("GET /audit", e(AUDIT, false)),
        ("GET /audit/export.xlsx", e(AUDIT, false)),
        ("GET /sessions", e(SESSIONS, false)),
        ("POST /sessions/{handle}/end", e(SESSIONS, true)),
        ("GET /children", d(LEDGER_OWN)),
        ("GET /stats", d(LEDGER_OWN)),
        ("GET /stats/work-report", d(LEDGER_OWN)),
        ("POST /stats/work-report", d(LEDGER_OWN)),
        ("GET /stats/work-reports/{id}", e(LEDGER_OWN, true)),
        ("POST /children", d(LEDGER_WRITE)),
        ("GET /children/new", e(LEDGER_WRITE, false)),
        ("GET /children/import", e(LEDGER_WRITE, false)),
        ("GET /children/{id}", e(LEDGER_READ, true)),
        ("GET /children/{id}/edit", e(LEDGER_WRITE, true)),
        ("POST /children/{id}/edit", e(LEDGER_WRITE, true)),
        ("POST /children/{id}/transfer", e(LEDGER_WRITE, true)),
        ("GET /transfers", e(LEDGER_WRITE, false)),
        ("POST /transfers/{id}", e(LEDGER_WRITE, true)),
        ("GET /k/{token}", e(LEDGER_WRITE, true)),
        ("GET /offline", PUBLIC),
        ("GET /offline/devices", e(USERS_WRITE, false)),
        ("POST /offline/devices/{id}/revoke", e(USERS_WRITE, true)),
        ("POST /children/{id}/visits", e(LEDGER_WRITE, true)),
        ("GET /children/{id}/visits/new", e(LEDGER_WRITE, true)),
        ("GET /children/{id}/visits/{visit_id}", e(LEDGER_OWN, true)),
        (
            "POST /children/{id}/visits/{visit_id}",
            e(LEDGER_WRITE, true),
        ),
        (
            "GET /children/{id}/visits/{visit_id}/edit",
            e(LEDGER_WRITE, true),
        ),
        ("POST /children/{id}/card/reissue", e(LEDGER_WRITE, true)),
        (
            "POST /children/{id}/alerts/{alert_id}/resolve",
            e(ALERTS, true),
        ),
        ("GET /visits", e(LEDGER_OWN, false)),
        ("GET /cards/print", d(LEDGER_WRITE)),
        // Reports, referrals and cases. The inside report was filed by the reporting
        // institution about the inside child and referred to the police (the unit's
        // liaison); its case has a task for the police. Referrals are read by their
        // parties only: the office that sent one and the unit it went to.
        ("GET /inbox", e(REPORTS, false)),
        ("POST /inbox/read", e(REPORTS, false)),
        ("GET /reports", e(REPORTS, false)),
        ("POST /reports", d(REPORTS)),
        ("GET /reports/new", e(REPORTS, false)),
        ("GET /reports/{id}", e(REPORTS, true)),
        ("POST /reports/{id}/triage", e(OFFICE, true)),
        ("POST /reports/{id}/acknowledge", e(OFFICE, true)),
        ("POST /reports/{id}/refer", e(OFFICE, true)),
        ("POST /reports/{id}/link-child", e(OFFICE, true)),
        ("POST /reports/{id}/reply", e(OFFICE, true)),
        ("POST /reports/{id}/merge", e(OFFICE, true)),
        ("POST /reports/{id}/case", e(OFFICE, true)),
        // Anyone who reads the report may ask to read it sealed (here: 409, not sealed).
        ("POST /reports/{id}/access", e(REPORTS, true)),
        (
            "POST /reports/{id}/attachments",
            party(&["office", "unit", "reporter"], &["supervisor", "director"]),
        ),
        ("GET /referrals", e(HANDLE_REFERRALS, false)),
        (
            "GET /referrals/{id}",
            party(&["office", "unit"], &["supervisor"]),
        ),
        (
            "POST /referrals/{id}/accept",
            party(&["unit"], &["supervisor"]),
        ),
        (
            "POST /referrals/{id}/return",
            party(&["unit"], &["supervisor"]),
        ),
        (
            "POST /referrals/{id}/forward",
            party(&["unit"], &["supervisor"]),
        ),
        (
            "POST /referrals/{id}/complete",
            party(&["unit"], &["supervisor"]),
        ),
        (
            "POST /referrals/{id}/revoke",
            party(&["office"], &["supervisor"]),
        ),
        // Reporting institutions follow their own reports, never cases.
        ("GET /cases", e(CASE_READERS, false)),
        ("GET /cases/{id}", e(CASE_READERS, true)),
        ("POST /cases/{id}/transition", e(OFFICE, true)),
        ("POST /cases/{id}/record", e(OFFICE, true)),
        ("POST /cases/{id}/measures", e(OFFICE, true)),
        ("POST /cases/{id}/tasks", e(OFFICE, true)),
        // The unit that owns the task, or the office.
        (
            "POST /cases/{id}/tasks/{task_id}/complete",
            e(&["office", "unit"], true),
        ),
        ("POST /cases/{id}/conferences", e(OFFICE, true)),
        ("POST /cases/{id}/closure", e(OFFICE, true)),
        ("POST /cases/{id}/access", e(CASE_READERS, true)),
        ("GET /units", e(UNITS, false)),
        ("GET /network", e(NETWORK_VIEW, false)),
        ("GET /committee", e(COMMITTEE_VIEW, false)),
        ("GET /committee/assessment", e(COMMITTEE_VIEW, false)),
        ("POST /committee/assessment/scheme", e(OFFICE, false)),
        ("POST /committee/assessment/points", e(OFFICE, false)),
        ("POST /committee/assessment/publication", e(OFFICE, false)),
        (
            "GET /committee/assessment/export.xlsx",
            e(COMMITTEE_VIEW, false),
        ),
        ("GET /committee/assessment/{id}", e(COMMITTEE_VIEW, false)),
        ("POST /committee/tasks", e(OFFICE, false)),
        ("GET /committee/tasks/{id}", party(ON_TASK, &["supervisor"])),
        (
            "POST /committee/tasks/{id}/progress",
            party(ON_TASK, &["supervisor"]),
        ),
        ("POST /committee/tasks/{id}/supervision", e(OFFICE, true)),
        ("POST /committee/notices", e(OFFICE, false)),
        ("GET /committee/notices/{id}", e(COMMITTEE_VIEW, true)),
        (
            "POST /committee/notices/{id}/acknowledgement",
            e(COMMITTEE_VIEW, true),
        ),
        ("POST /committee/meetings", e(OFFICE, false)),
        ("POST /committee/members", e(OFFICE, false)),
        ("POST /committee/units/{id}/duties", e(OFFICE, true)),
        ("GET /activities", e(ACTIVITIES, false)),
        ("POST /activities", e(ACTIVITIES, false)),
        ("GET /activities/{id}", party(ACTIVITIES, &["unit"])),
        ("GET /services", e(SERVICES, false)),
        ("POST /services/agencies", e(OFFICE, false)),
        ("POST /services/contracts", e(OFFICE, false)),
        ("POST /services/workers", e(OFFICE, false)),
        ("POST /services/records", e(SERVICES, false)),
        ("GET /record-checks", e(CHECKS, false)),
        ("POST /record-checks", e(CHECKS, false)),
        ("POST /record-checks/batch", e(CHECKS, false)),
        ("POST /record-list", e(LIST_KEEPERS, false)),
        ("POST /record-list/withdrawals", e(LIST_KEEPERS, false)),
        ("GET /proposals", e(COMMITTEE_VIEW, false)),
        ("POST /proposals", e(OFFICE, false)),
        ("GET /proposals/{id}", party(ON_TASK, &["supervisor"])),
        (
            "POST /proposals/{id}/opinions",
            party(ON_TASK, &["supervisor"]),
        ),
        (
            "POST /proposals/{id}/reply",
            party(ON_TASK, &["supervisor"]),
        ),
        ("GET /pairing", e(VERIFY, false)),
        ("POST /pairing/helpers", e(VERIFY, false)),
        ("POST /pairing/pairings", e(VERIFY, true)),
        ("POST /pairing/contacts", e(VERIFY, true)),
        ("GET /findings", e(VERIFY, false)),
        ("GET /warnings", e(VERIFY, false)),
        ("POST /warnings/{id}/decision", e(VERIFY, true)),
        ("POST /findings/{id}/answer", e(VERIFY, true)),
        ("GET /findings/lists", e(OFFICE, false)),
        ("POST /findings/lists", e(OFFICE, false)),
        (
            "GET /proposals/{id}/reply-document",
            party(ON_TASK, &["supervisor"]),
        ),
        (
            "POST /proposals/{id}/reply-document",
            party(ON_TASK, &["supervisor"]),
        ),
        (
            "POST /proposals/{id}/files",
            party(ON_TASK, &["supervisor"]),
        ),
        ("POST /proposals/{id}/review", e(OFFICE, true)),
        ("POST /proposals/{id}/rating", e(OFFICE, true)),
        ("POST /network/places", d(NETWORK_MANAGE)),
        ("POST /network/people", d(NETWORK_MANAGE)),
        ("POST /network/people/{id}/leave", e(NETWORK_MANAGE, true)),
        (
            "POST /network/people/{id}/trainings",
            e(NETWORK_MANAGE, true),
        ),
        ("POST /units", d(UNITS)),
        ("POST /units/{id}/edit", e(UNITS, true)),
        // The calendar is reference data of the installation: no place to be outside of.
        ("GET /calendar", e(UNITS, false)),
        ("POST /calendar", e(UNITS, false)),
        ("GET /sealed", e(OFFICE, false)),
        ("POST /sealed/requests/{id}", e(OFFICE, true)),
        ("POST /sealed/readers", e(OFFICE, false)),
        ("GET /sealed/subjects/{id}", e(REPORTS, true)),
        // The public report page: no account (a stale form token answers 400).
        ("GET /report", PUBLIC),
        ("POST /report", PUBLIC),
        ("GET /report/track", PUBLIC),
        ("POST /report/track", PUBLIC),
        ("GET /allowances", e(ALLOW_VIEW, false)),
        // A supervisor's list asks for 乡镇查验, the office's for 县级确认.
        (
            "POST /allowances/decisions",
            e(&["office", "supervisor"], false),
        ),
        ("GET /allowances/applications/new", e(ALLOW_APPLY, false)),
        ("POST /allowances/applications", e(ALLOW_APPLY, true)),
        ("GET /allowances/applications/{id}", e(ALLOW_VIEW, true)),
        (
            "POST /allowances/applications/{id}/decision",
            e(TOWNSHIP, true),
        ),
        (
            "POST /allowances/applications/{id}/stop",
            e(COUNTY_OFFICE, true),
        ),
        (
            "POST /allowances/applications/{id}/account",
            e(ALLOW_FILE_OR_CONFIRM, true),
        ),
        (
            "POST /allowances/applications/{id}/documents",
            e(ALLOW_FILE_OR_CONFIRM, true),
        ),
        ("GET /allowances/standards", e(ALLOW_VIEW, false)),
        ("POST /allowances/standards", d(COUNTY_OFFICE)),
        ("POST /allowances/budgets", e(COUNTY_OFFICE, false)),
        ("GET /allowances/rolls", e(COUNTY_OFFICE, false)),
        ("POST /allowances/rolls", d(COUNTY_OFFICE)),
        ("GET /allowances/rolls/{id}", e(COUNTY_OFFICE, true)),
        ("POST /allowances/rolls/{id}/lock", e(COUNTY_OFFICE, true)),
        (
            "POST /allowances/rolls/{id}/adjustments",
            e(COUNTY_OFFICE, true),
        ),
        ("GET /allowances/rolls/{id}/summary", e(COUNTY_OFFICE, true)),
        ("GET /allowances/notice", e(ALLOW_VIEW, false)),
        ("GET /allowances/totals", e(ALLOW_VIEW, false)),
    ])
}

const REPORTS: &[&str] = &["office", "supervisor", "director", "unit", "reporter"];
const CASE_READERS: &[&str] = &["office", "supervisor", "director", "unit"];
const HANDLE_REFERRALS: &[&str] = &["office", "supervisor", "unit"];
const OFFICE: &[&str] = &["office"];
/// Findings of department lists: the office, townships and villages verify them.
const VERIFY: &[&str] = &["office", "supervisor", "director"];
const UNITS: &[&str] = &["office"];

// ---- the fixture: two counties, a record of each kind in each ------------------------

const INSIDE_VILLAGE: &str = "510812100200";
const OUTSIDE_VILLAGE: &str = "510811100201";

/// The ids of one place's records.
#[derive(Clone, Debug)]
struct Records {
    village: &'static str,
    child: String,
    visit: String,
    photo: String,
    alert: String,
    transfer: String,
    card: String,
    /// A report about the child (inside: filed by the reporting institution), its
    /// referral to the police, its case and the case's task for the police; a sealed
    /// report, a request to read it, and the county's police unit.
    report: String,
    sealed_report: String,
    /// A photo attached to the report by the office.
    attachment: String,
    referral: String,
    case: String,
    task: String,
    sealed_request: String,
    unit: String,
    /// An allowance application (filed) and the county's locked roll of this month.
    application: String,
    roll: String,
    /// A work item: the case's task for the police.
    work: String,
    /// The village's work point and its director, in the network.
    place: String,
    person: String,
    /// The county's committee: a task the police lead, a notice, a member.
    plan_task: String,
    /// A file on that task.
    task_file: String,
    /// A proposal the police lead, and a file on its reply.
    proposal: String,
    proposal_file: String,
    /// A 低保 list the office matched and what it found: a child missing in the village.
    dept_list: String,
    finding: String,
    /// A county-level helper paired with the village's child.
    helper: String,
    pairing: String,
    /// The early warning the report about the child raised (有未办结的报告).
    warning: String,
    /// The village's activity (recorded by its director, or the outside office) and its
    /// photo; the county's agency and a volunteer of it.
    activity: String,
    activity_photo: String,
    agency: String,
    worker: String,
    /// A work report kept for the village.
    work_report: String,
    /// A phone registered by the village's director (outside: by the other office).
    device: String,
    notice: String,
    member: String,
    /// The account whose sessions these are (a user of the place).
    user: String,
    /// Signed-in sessions of an account there (for the API and for the page).
    session: String,
    page_session: String,
}

/// A valid 统一社会信用代码 of an agency, different for each `seq`.
fn credit_code(seq: u32) -> String {
    let first17 = format!("52510812MJ{:07}", seq);
    format!(
        "{first17}{}",
        weibao_domain::credit_code::check_char(first17.as_bytes())
    )
}

/// An adult's valid 身份证号, different for each `seq` (for record checks).
fn adult_id(seq: u32) -> String {
    let first17 = format!(
        "11010519800{}{:02}{:03}",
        1 + seq / 28_000 % 9,
        1 + (seq / 1000) % 28,
        seq % 1000
    );
    format!(
        "{first17}{}",
        weibao_domain::id_number::check_char(first17.as_bytes())
    )
}

/// An .xlsx of one row under `headers`.
fn one_row_sheet(headers: &[&str], row: &[&str]) -> Vec<u8> {
    weibao_sheets::write_table(
        "名单",
        headers,
        [row.iter()
            .map(|c| weibao_sheets::OutCell::Text(c.to_string()))
            .collect()],
    )
    .unwrap()
}

fn id_number(seq: u32) -> String {
    let first17 = format!(
        "51081220150{}{:02}{:03}",
        3 + seq / 28_000,
        1 + (seq / 1000) % 28,
        seq % 1000
    );
    format!(
        "{first17}{}",
        weibao_domain::id_number::check_char(first17.as_bytes())
    )
}

fn multipart(bytes: &[u8], filename: &str) -> (String, Vec<u8>) {
    let boundary = "weibao-access-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn multipart_fields(fields: &[(String, String)]) -> (String, Vec<u8>) {
    let boundary = "weibao-access-form";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .into_bytes(),
        );
    }
    body.extend(format!("--{boundary}--\r\n").into_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn ok(status: u16, body: &Value, what: &str) {
    assert!((200..300).contains(&status), "{what}: {status} {body}");
}

/// A place's records, made by `token` (a user who may write there).
fn records(app: &TestApp, token: &str, office: &str, village: &'static str, seq: u32) -> Records {
    let (s, child) = app.post(
        "/api/v1/children",
        Some(token),
        json!({"name": "甲乙", "id_number": id_number(seq), "division": village,
               "father": {"status": "外出务工", "since": "2024-01-01"},
               "mother": {"status": "外出务工", "since": "2024-01-01"}}),
    );
    ok(s, &child, "child");
    let child = child["id"].as_str().unwrap().to_string();
    // The mover comes from the neighbouring village into this one: deciding on it is
    // the business of this village.
    let from = if village == INSIDE_VILLAGE {
        "510812100202"
    } else {
        "510811100200"
    };
    let (s, mover) = app.post(
        "/api/v1/children",
        Some(office),
        json!({"name": "丙丁", "id_number": id_number(seq + 1), "division": from}),
    );
    ok(s, &mover, "mover");
    let mover = mover["id"].as_str().unwrap().to_string();
    let (ct, body) = multipart(&jpeg(seq as u8), "p.jpg");
    let (s, _, bytes) = app.raw(
        "POST",
        &format!("/api/v1/children/{child}/photos"),
        &[
            ("authorization", &format!("Bearer {token}")),
            ("content-type", &ct),
        ],
        Some(&body),
    );
    let photo: Value = serde_json::from_slice(&bytes).unwrap();
    ok(s, &photo, "photo");
    let photo = photo["id"].as_str().unwrap().to_string();
    let (s, visit) = app.post(
        &format!("/api/v1/children/{child}/visits"),
        Some(token),
        json!({"duration_minutes": 20, "checks": visit_checks(true), "photos": [photo]}),
    );
    ok(s, &visit, "visit");
    let visit = visit["id"].as_str().unwrap().to_string();
    let (s, alerts) = app.get("/api/v1/alerts", Some(office));
    ok(s, &alerts, "alerts");
    let alert = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["child_id"] == child.as_str())
        .unwrap_or_else(|| panic!("an alert for {child}: {alerts}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, transfer) = app.post(
        &format!("/api/v1/children/{mover}/transfer"),
        Some(office),
        json!({"to_division": village, "reason": "随父母迁居"}),
    );
    ok(s, &transfer, "transfer");
    let transfer = transfer["id"].as_str().unwrap().to_string();
    let card = app
        .block_on(app.store.card(&Scope::system(), &child, ""))
        .unwrap()
        .token;
    // Allowances: a standard, an orphan's application filed by the village, and the
    // county's roll of this month, locked.
    let month = weibao_domain::Month::of(app.store.clock().today());
    let county = &village[..6];
    let (s, standard) = app.post(
        "/api/v1/allowances/standards",
        Some(office),
        json!({"type": "orphan_scattered", "division": county, "amount_fen": 169_400,
               "from_month": month.prev().to_string()}),
    );
    ok(s, &standard, "standard");
    let director = app.token(if village == INSIDE_VILLAGE {
        "dir-a1"
    } else {
        "dir-x"
    });
    let (s, orphan) = app.post(
        "/api/v1/children",
        Some(&director),
        json!({"name": "孤儿甲", "id_number": id_number(seq + 2), "division": village,
               "father": {"status": "死亡"}, "mother": {"status": "死亡"}}),
    );
    ok(s, &orphan, "orphan");
    let (s, application) = app.post(
        "/api/v1/allowances/applications",
        Some(&director),
        json!({"child_id": orphan["id"], "type": "orphan_scattered"}),
    );
    ok(s, &application, "application");
    let application = application["id"].as_str().unwrap().to_string();
    let (s, roll) = app.post(
        "/api/v1/allowances/rolls",
        Some(office),
        json!({"division": county, "month": month.to_string()}),
    );
    ok(s, &roll, "roll");
    let roll = roll["id"].as_str().unwrap().to_string();
    let (s, locked) = app.post(
        &format!("/api/v1/allowances/rolls/{roll}/lock"),
        Some(office),
        json!(null),
    );
    ok(s, &locked, "lock");
    let user = if village == INSIDE_VILLAGE {
        "dir-a2"
    } else {
        "office-x"
    };
    let session = weibao_store::sm3_hex(app.token(user).as_bytes());
    let page_session = weibao_store::sm3_hex(app.token(user).as_bytes());
    let reports = report_records(app, office, village, &child);
    let (s, place) = app.post(
        "/api/v1/network/places",
        Some(office),
        json!({"kind": "work_point", "division": village, "name": "儿童之家"}),
    );
    ok(s, &place, "work point");
    let (s, person) = app.post(
        "/api/v1/network/people",
        Some(office),
        json!({"name": "李芳", "post": "director", "division": village,
               "appointed_on": "2025-01-01"}),
    );
    ok(s, &person, "director");
    let (s, plan_task) = app.post(
        "/api/v1/committee/tasks",
        Some(office),
        json!({"number": "1", "title": "完善工作机制", "lead_unit_id": reports.unit,
               "due_on": "2035-12-31"}),
    );
    ok(s, &plan_task, "plan task");
    let (ct, body) = multipart(&jpeg(9), "工作方案.jpg");
    let (s, _, task_file) = app.raw(
        "POST",
        &format!(
            "/api/v1/committee/tasks/{}/files",
            plan_task["id"].as_str().unwrap()
        ),
        &[
            ("authorization", &format!("Bearer {office}")),
            ("content-type", &ct),
        ],
        Some(&body),
    );
    let task_file: Value = serde_json::from_slice(&task_file).unwrap_or(Value::Null);
    ok(s, &task_file, "task file");
    let (s, notice) = app.post(
        "/api/v1/committee/notices",
        Some(office),
        json!({"title": "通报", "body": "请自查"}),
    );
    ok(s, &notice, "notice");
    let (s, member) = app.post(
        "/api/v1/committee/members",
        Some(office),
        json!({"unit_id": reports.unit, "name": "王建国", "position": "member"}),
    );
    ok(s, &member, "member");
    let (s, proposal) = app.post(
        "/api/v1/proposals",
        Some(office),
        json!({"kind": "suggestion", "number": "1", "title": "关于加强留守儿童关爱的建议",
               "proposer": "王某", "lead_unit_id": reports.unit}),
    );
    ok(s, &proposal, "proposal");
    let (ct, body) = multipart(b"%PDF-1.4 reply", "答复函.pdf");
    let (s, _, with_file) = app.raw(
        "POST",
        &format!(
            "/api/v1/proposals/{}/files",
            proposal["proposal"]["id"].as_str().unwrap()
        ),
        &[
            ("authorization", &format!("Bearer {office}")),
            ("content-type", &ct),
        ],
        Some(&body),
    );
    let with_file: Value = serde_json::from_slice(&with_file).unwrap_or(Value::Null);
    ok(s, &with_file, "proposal file");
    let child_number = id_number(seq + 5);
    let list = weibao_sheets::write_table(
        "名单",
        &["姓名", "身份证号", "村代码"],
        [["低保儿童".to_string(), child_number, village.to_string()]
            .iter()
            .map(|c| weibao_sheets::OutCell::Text(c.clone()))
            .collect()],
    )
    .unwrap();
    let (ct, body) = support::multipart(&[("kind", "dibao")], &[("file", "名单.xlsx", &list)]);
    let (s, _, uploaded) = app.raw(
        "POST",
        "/api/v1/department-lists",
        &[
            ("authorization", &format!("Bearer {office}")),
            ("content-type", &ct),
        ],
        Some(&body),
    );
    let uploaded: Value = serde_json::from_slice(&uploaded).unwrap_or(Value::Null);
    ok(s, &uploaded, "department list");
    let dept_list = uploaded["list"]["id"].as_str().unwrap().to_string();
    let finding = (0..300)
        .find_map(|_| {
            let (_, found) = app.get(
                &format!("/api/v1/list-findings?list_id={dept_list}"),
                Some(office),
            );
            let id = found["items"][0]["id"].as_str().map(String::from);
            if id.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            id
        })
        .expect("the list's finding");
    let (s, helper) = app.post(
        "/api/v1/helpers",
        Some(office),
        json!({"name": "周老师", "kind": "teacher"}),
    );
    ok(s, &helper, "helper");
    let helper = helper["id"].as_str().unwrap().to_string();
    let (s, pairing) = app.post(
        "/api/v1/pairings",
        Some(office),
        json!({"child_id": child, "helper_id": helper}),
    );
    ok(s, &pairing, "pairing");
    let pairing = pairing["id"].as_str().unwrap().to_string();
    // The report about the child fires the open-report rule.
    app.block_on(app.store.evaluate_warnings(&child))
        .expect("the child's warnings evaluated");
    let (s, warnings) = app.get(
        &format!("/api/v1/warnings?child_id={child}&rule=open_report"),
        Some(office),
    );
    ok(s, &warnings, "warnings");
    let warning = warnings["items"][0]["id"]
        .as_str()
        .expect("the child's warning")
        .to_string();
    let (s, activity) = app.post(
        "/api/v1/activities",
        Some(token),
        json!({"title": "安全教育", "kind": "lecture", "place": "村委会",
               "held_on": app.store.clock().today().to_string(), "division": village}),
    );
    ok(s, &activity, "activity");
    let activity = activity["id"].as_str().unwrap().to_string();
    let (ct, body) = multipart(&jpeg(seq as u8 + 1), "活动.jpg");
    let (s, _, with_photo) = app.raw(
        "POST",
        &format!("/api/v1/activities/{activity}/photos"),
        &[
            ("authorization", &format!("Bearer {token}")),
            ("content-type", &ct),
        ],
        Some(&body),
    );
    let with_photo: Value = serde_json::from_slice(&with_photo).unwrap_or(Value::Null);
    ok(s, &with_photo, "activity photo");
    let (s, agency) = app.post(
        "/api/v1/services/agencies",
        Some(office),
        json!({"name": format!("社工中心{seq}"), "credit_code": credit_code(seq)}),
    );
    ok(s, &agency, "agency");
    let (s, worker) = app.post(
        "/api/v1/services/workers",
        Some(office),
        json!({"name": "志愿者", "kind": "volunteer", "agency_id": agency["id"]}),
    );
    ok(s, &worker, "worker");
    let (s, work_report) = app.post(
        "/api/v1/stats/work-reports",
        Some(token),
        json!({"division": village, "title": "工作情况报告", "body": "一、工作开展情况",
               "signer": "村民委员会", "date": "2026年12月8日"}),
    );
    ok(s, &work_report, "work report");
    let (s, device) = app.post(
        "/api/v1/offline/devices",
        Some(token),
        json!({"label": "测试手机"}),
    );
    ok(s, &device, "offline device");
    Records {
        device: device["device"]["id"].as_str().unwrap().to_string(),
        work_report: work_report["id"].as_str().unwrap().to_string(),
        activity,
        activity_photo: with_photo["photos"][0]["id"].as_str().unwrap().to_string(),
        agency: agency["id"].as_str().unwrap().to_string(),
        worker: worker["id"].as_str().unwrap().to_string(),
        proposal: proposal["proposal"]["id"].as_str().unwrap().to_string(),
        proposal_file: with_file["files"][0]["id"].as_str().unwrap().to_string(),
        dept_list,
        finding,
        helper,
        pairing,
        warning,
        plan_task: plan_task["id"].as_str().unwrap().to_string(),
        task_file: task_file["id"].as_str().unwrap().to_string(),
        notice: notice["id"].as_str().unwrap().to_string(),
        member: member["id"].as_str().unwrap().to_string(),
        report: reports.report,
        sealed_report: reports.sealed_report,
        attachment: reports.attachment,
        referral: reports.referral,
        case: reports.case,
        task: reports.task.clone(),
        sealed_request: reports.sealed_request,
        unit: reports.unit,
        session,
        page_session,
        village,
        child,
        visit,
        photo,
        alert,
        transfer,
        card,
        application,
        roll,
        work: reports.task,
        place: place["id"].as_str().unwrap().to_string(),
        person: person["id"].as_str().unwrap().to_string(),
        user: scope_of(app, &app.token(user)).user_id,
    }
}

/// The reports, referral, case and sealed request of a place (see [`Records`]).
struct ReportRecords {
    report: String,
    sealed_report: String,
    attachment: String,
    referral: String,
    case: String,
    task: String,
    sealed_request: String,
    unit: String,
}

fn scope_of(app: &TestApp, token: &str) -> Scope {
    app.block_on(app.store.session(token))
        .unwrap()
        .expect("a live session")
        .scope
}

fn report_records(app: &TestApp, office: &str, village: &str, child: &str) -> ReportRecords {
    use weibao_domain::reports::{Institution, ReportInput, Reporter};
    use weibao_domain::work::UnitKind;
    use weibao_store::{CaseTaskInput, NewReport, ReferralTarget};
    let office = scope_of(app, office);
    let inside = village == INSIDE_VILLAGE;
    // Inside, the reporting institution files it (and reads it as its own); outside,
    // that county's office.
    let filer = if inside {
        scope_of(app, &app.token("reporter-t"))
    } else {
        office.clone()
    };
    let now = chrono::DateTime::from_timestamp_millis(app.store.clock().now_ms())
        .unwrap()
        .with_timezone(&weibao_domain::visit::cst());
    let report = |situation: &str| {
        ReportInput {
            channel: Some("mandatory".into()),
            situations: vec![situation.into()],
            description: "学生身上多处淤青".into(),
            reporter: Reporter {
                name: "王老师".into(),
                unit: "中心小学".into(),
                institution: Some(Institution::School),
                ..Reporter::default()
            },
            ..ReportInput::default()
        }
        .check(now, None)
        .unwrap()
    };
    let about = |report, child: Option<&str>| NewReport {
        report,
        division: DivisionCode::parse(village).unwrap(),
        child_id: child.map(String::from),
        visit_id: None,
        hotline_order: None,
        hotline_due_at: None,
    };
    let filed = app
        .block_on(
            app.store
                .file_report(&filer, about(report("s4"), Some(child)), ""),
        )
        .unwrap();
    let attachment = app
        .block_on(app.store.attach_to_report(
            &office,
            &filed.id,
            "伤情照片.jpg",
            jpeg(if inside { 1 } else { 2 }),
            "",
        ))
        .unwrap()
        .id;
    let referral = app
        .block_on(app.store.refer(
            &office,
            &filed.id,
            ReferralTarget::Kind(UnitKind::Police),
            "请核查",
            None,
            "",
            "",
        ))
        .unwrap()
        .id;
    let case = app
        .block_on(
            app.store
                .open_case(&office, Some(&filed.id), None, None, ""),
        )
        .unwrap()
        .id;
    let task = app
        .block_on(app.store.add_case_task(
            &office,
            &case,
            CaseTaskInput {
                unit: ReferralTarget::Kind(UnitKind::Police),
                title: "入户核查".into(),
                due_on: None,
            },
            "",
        ))
        .unwrap()
        .id;
    let sealed = app
        .block_on(
            app.store
                .file_report(&Scope::system(), about(report("s2"), None), ""),
        )
        .unwrap();
    // Someone who sees that it exists asks to read it: inside the township's supervisor.
    let asker = if inside {
        scope_of(app, &app.token("sup-a"))
    } else {
        office.clone()
    };
    let sealed_request = app
        .block_on(
            app.store
                .request_sealed_access(&asker, &sealed.id, "核实安置情况", ""),
        )
        .unwrap()
        .id;
    let county = &village[..6];
    let unit = app
        .block_on(app.store.list_units(&Scope::system()))
        .unwrap()
        .into_iter()
        .find(|u| u.kind == UnitKind::Police && u.county_code == county)
        .expect("the county's police unit")
        .id;
    ReportRecords {
        report: filed.id,
        sealed_report: sealed.id,
        attachment,
        referral,
        case,
        task,
        sealed_request,
        unit,
    }
}

fn add_user(app: &TestApp, username: &str, role: Role, at: &str, unit: Option<&str>) {
    app.block_on(app.store.create_user(
        &Scope::system(),
        NewUser {
            username: username.into(),
            display_name: format!("测试{username}"),
            role,
            division: DivisionCode::parse(at).unwrap(),
            unit: unit.map(Into::into),
            phone: None,
            password: PASSWORD.into(),
            must_change_password: false,
            designated: false,
        },
    ))
    .unwrap();
}

/// Each role's account, homed where the inside records are within reach.
fn accounts(app: &TestApp) -> Vec<(&'static str, &'static str)> {
    let rows = [
        ("510811", "利州区"),
        ("510811100", "东坝街道"),
        ("510811100200", "丁村"),
        ("510811100201", "丙村"),
    ]
    .map(|(c, n)| DivisionImportRow {
        code: DivisionCode::parse(c).unwrap(),
        name: n.into(),
    });
    app.block_on(app.store.import_divisions(&Scope::system(), &rows, |_| {}))
        .unwrap();
    add_user(app, "admin-t", Role::Admin, "510812", None);
    add_user(app, "unit-t", Role::Unit, "510812", Some("公安"));
    add_user(app, "reporter-t", Role::Reporter, "510812", Some("教育"));
    add_user(app, "office-x", Role::Office, "510811", None);
    add_user(app, "dir-x", Role::Director, OUTSIDE_VILLAGE, None);
    add_user(app, "security-t", Role::Security, "510812", None);
    vec![
        ("admin", "admin-t"),
        ("office", "office"),
        ("supervisor", "sup-a"),
        ("director", "dir-a1"),
        ("unit", "unit-t"),
        ("reporter", "reporter-t"),
        ("auditor", "auditor"),
        ("security", "security-t"),
    ]
}

/// A path template with the place's ids filled in.
fn fill(template: &str, r: &Records) -> String {
    let session = if template.starts_with("/api/") {
        &r.session
    } else {
        &r.page_session
    };
    let mut out = template.to_string();
    let transfer_path =
        template.starts_with("/api/v1/transfers/") || template.starts_with("/transfers/");
    // Which record a path's {id} is, by the path (the API's without its prefix).
    let bare = template.strip_prefix("/api/v1").unwrap_or(template);
    let id = match bare.split('/').nth(1).unwrap_or("") {
        _ if transfer_path => &r.transfer,
        "allowances" if bare.starts_with("/allowances/applications/") => &r.application,
        "allowances" if bare.starts_with("/allowances/rolls/") => &r.roll,
        "reports" => &r.report,
        "referrals" => &r.referral,
        "cases" => &r.case,
        "units" => &r.unit,
        "work" => &r.work,
        "sealed" if bare.starts_with("/sealed/requests/") => &r.sealed_request,
        "sealed" => &r.report,
        "network" if bare.starts_with("/network/places/") => &r.place,
        "network" => &r.person,
        "proposals" => &r.proposal,
        "department-lists" => &r.dept_list,
        "pairings" => &r.pairing,
        "warnings" => &r.warning,
        "list-findings" | "findings" => &r.finding,
        "activities" => &r.activity,
        "stats" => &r.work_report,
        "offline" => &r.device,
        "committee" if bare.starts_with("/committee/tasks/") => &r.plan_task,
        "committee" if bare.starts_with("/committee/notices/") => &r.notice,
        "committee" if bare.starts_with("/committee/members/") => &r.member,
        "committee" => &r.unit,
        _ => &r.child,
    };
    for (param, value) in [
        ("{id}", id),
        ("{task_id}", &r.task),
        ("{visit_id}", &r.visit),
        ("{photo_id}", &r.photo),
        ("{attachment_id}", &r.attachment),
        (
            "{file_id}",
            if bare.starts_with("/activities/") {
                &r.activity_photo
            } else if bare.starts_with("/proposals/") {
                &r.proposal_file
            } else {
                &r.task_file
            },
        ),
        ("{alert_id}", &r.alert),
        ("{token}", &r.card),
        ("{code}", &r.village.to_string()),
        ("{year}", &chrono::Utc::now().format("%Y").to_string()),
        ("{subject_id}", &r.unit),
        ("{handle}", session),
    ] {
        out = out.replace(param, value);
    }
    assert!(
        !out.contains('{'),
        "{template}: a path parameter without a fixture; add it to fill()"
    );
    out
}

/// What an operation sends: a query and a body that would succeed for an allowed caller
/// (so that a refusal is about access, not about the input).
fn api_request(op: &str, r: &Records, seq: &mut u32) -> (String, Option<(String, Vec<u8>)>) {
    *seq += 1;
    let v = r.village;
    let json = |v: Value| Some(("application/json".to_string(), v.to_string().into_bytes()));
    match op {
        "list_children"
        | "export_children"
        | "due_visits"
        | "visit_progress"
        | "stats_overview"
        | "stats_report_xlsx"
        | "draft_work_report"
        | "list_users"
        | "list_allowance_types"
        | "list_standards"
        | "list_applications"
        | "allowance_proposals"
        | "list_rolls"
        | "allowance_totals"
        | "list_allowance_budgets"
        | "network_coverage"
        | "list_places"
        | "list_people" => (format!("?division={v}"), None),
        "create_standard" => (
            String::new(),
            json(
                json!({"type": "distressed", "division": v, "amount_fen": 60_000,
                        "from_month": format!("2098-{:02}", 1 + *seq % 12)}),
            ),
        ),
        "create_application" => (
            String::new(),
            json(json!({"child_id": r.child, "type": "orphan_scattered"})),
        ),
        "decide_application" => (
            String::new(),
            json(json!({"step": "township", "decision": "approve", "reason": "核实"})),
        ),
        "decide_applications" => (
            String::new(),
            json(
                json!({"ids": [r.application], "step": "township", "decision": "approve",
                        "reason": "核实"}),
            ),
        ),
        "stop_application" => (
            String::new(),
            json(json!({"cause": "death", "date": "2026-01-02", "reason": "死亡证明"})),
        ),
        "update_application_account" => (
            String::new(),
            json(json!({"bank_name": "四川农信", "account_holder": "王某",
                        "bank_account": "6217000012345678"})),
        ),
        "upload_application_document" => {
            (String::new(), Some(multipart(&jpeg(*seq as u8), "d.jpg")))
        }
        "create_roll" => (
            String::new(),
            json(
                json!({"division": &v[..6], "month": weibao_domain::Month::of(chrono::Utc::now().date_naive()).to_string()}),
            ),
        ),
        "add_roll_adjustment" => (
            String::new(),
            json(
                json!({"application_id": r.application, "for_month": "2026-01",
                        "amount_fen": 100, "reason": "补发"}),
            ),
        ),
        "set_allowance_budget" => (
            String::new(),
            json(
                json!({"division": &v[..6], "year": 2026, "type": "distressed",
                        "amount_fen": 100}),
            ),
        ),
        "import_children" => {
            let (ct, body) = multipart(b"not a workbook", "ledger.xlsx");
            (format!("?division={v}"), Some((ct, body)))
        }
        "create_child" => (
            String::new(),
            json(json!({"name": "新童", "id_number": id_number(5000 + *seq), "division": v})),
        ),
        "update_child" => (String::new(), json(json!({"notes": format!("改 {seq}")}))),
        "request_transfer" => (
            String::new(),
            json(json!({"to_division": v, "reason": "核对"})),
        ),
        "decide_transfer" => (
            String::new(),
            json(json!({"accept": false, "note": "再核实"})),
        ),
        "create_visit" => (
            String::new(),
            json(json!({"duration_minutes": 10, "checks": visit_checks(false)})),
        ),
        "correct_visit" => (String::new(), json(json!({"notes": "更正"}))),
        "upload_photo" => (String::new(), Some(multipart(&jpeg(*seq as u8), "p.jpg"))),
        "upload_task_file" => (
            String::new(),
            Some(multipart(&jpeg(*seq as u8), "活动照片.jpg")),
        ),
        "upload_attachment" => (
            String::new(),
            Some(multipart(&jpeg(*seq as u8), "伤情.jpg")),
        ),
        "reissue_card" => (String::new(), json(json!({"reason": "遗失"}))),
        "totp_enable" => (String::new(), json(json!({"code": "123456"}))),
        "resolve_alert" => (String::new(), json(json!({"resolution": "已上门核实"}))),
        "create_user" => (
            String::new(),
            json(
                json!({"username": format!("new-{seq}"), "display_name": "新人",
                        "role": "director", "division": v, "password": "Temp#2026ab"}),
            ),
        ),
        "change_password" => (
            String::new(),
            json(json!({"old_password": PASSWORD, "new_password": PASSWORD})),
        ),
        "create_report" => (
            String::new(),
            json(json!({"channel": "phone", "situations": ["hardship"],
                        "description": "奶奶生病，孩子无人照看", "division": v,
                        "reporter": {"name": "王某", "unit": "中心小学", "institution": "school"}})),
        ),
        "list_reports"
        | "list_referrals"
        | "list_cases"
        | "inbox"
        | "list_units"
        | "list_calendar"
        | "list_sealed_requests" => (String::new(), None),
        "triage_report" => (
            String::new(),
            json(json!({"urgency": "normal", "note": "核实中"})),
        ),
        "acknowledge_report" => (String::new(), None),
        "refer_report" | "refer_case" => (
            String::new(),
            json(json!({"to_unit_kind": "education", "note": "请核查"})),
        ),
        "merge_report" => (
            String::new(),
            json(json!({"other": r.sealed_report, "merge": false, "reason": "不是同一事件"})),
        ),
        "reply_report" => (String::new(), json(json!({"reply": "已核实"}))),
        "link_report_child" => (String::new(), json(json!({"child_id": r.child}))),
        "create_place" => (
            String::new(),
            json(json!({"kind": "service_station", "division": v, "name": format!("服务站{seq}")})),
        ),
        "close_place" => (String::new(), json(json!({"closed_on": "2026-01-05"}))),
        "appoint_person" => (
            String::new(),
            json(json!({"name": "王强", "post": "director", "division": v})),
        ),
        "leave_post" => (
            String::new(),
            json(json!({"left_on": "2026-01-05", "reason": "调任"})),
        ),
        "record_training" => (
            String::new(),
            json(json!({"held_on": "2026-01-05", "hours": 2, "topic": "业务培训"})),
        ),
        "import_hotline" => {
            let (ct, body) = multipart(b"not a workbook", "orders.xlsx");
            (format!("?division={v}"), Some((ct, body)))
        }
        "export_hotline" => (format!("?division={}", &v[..6]), None),
        "import_network" => {
            let (ct, body) = multipart(b"not a workbook", "roster.xlsx");
            (format!("?division={v}"), Some((ct, body)))
        }
        "export_network" => (format!("?division={v}"), None),
        "accept_referral" => (String::new(), None),
        "return_referral" | "revoke_referral" => {
            (String::new(), json(json!({"reason": "不属于本单位职责"})))
        }
        "forward_referral" => (
            String::new(),
            json(json!({"reason": "不属于本单位职责", "to_unit_kind": "education"})),
        ),
        "complete_referral" => (String::new(), json(json!({"reply": "已处理完毕"}))),
        "create_case" => (String::new(), json(json!({"report_id": r.report}))),
        "transition_case" => (String::new(), json(json!({"to": "assessing"}))),
        "request_case_closure" => (String::new(), json(json!({"note": "已妥善安置"}))),
        "record_case" => (String::new(), json(json!({"assessment": "已核实情况"}))),
        "add_case_measure" => (
            String::new(),
            json(json!({"kind": "counselling", "taken_on": "2026-01-05", "detail": "x"})),
        ),
        "add_case_task" => (
            String::new(),
            json(json!({"unit_kind": "education", "title": "家访"})),
        ),
        "add_case_conference" => (
            String::new(),
            json(json!({"people": ["张三"], "minutes": "会商纪要"})),
        ),
        "mark_read" => (String::new(), json(json!({"ids": []}))),
        "complete_work" => (String::new(), json(json!({"note": "已完成"}))),
        "add_member" => (
            String::new(),
            json(json!({"unit_id": r.unit, "name": "李明", "position": "member"})),
        ),
        "member_leaves" => (String::new(), json(json!({}))),
        "set_duties" => (String::new(), json(json!({"duties": ["及时受理强制报告"]}))),
        "create_task" => (
            String::new(),
            json(
                json!({"number": format!("T{seq}"), "title": "交办事项", "lead_unit_id": r.unit,
                        "due_on": "2035-12-31"}),
            ),
        ),
        "report_progress" => (String::new(), json(json!({"note": "推进中"}))),
        "create_proposal" => (
            String::new(),
            json(
                json!({"kind": "proposal", "number": format!("A{seq}"), "title": "提案",
                        "proposer": "李某", "lead_unit_id": r.unit}),
            ),
        ),
        "add_opinion" => (String::new(), json(json!({"note": "协办意见"}))),
        "reply_proposal" => (
            String::new(),
            json(json!({"class": "B", "reply": "已列入计划"})),
        ),
        "upload_dept_list" => {
            let list = one_row_sheet(&["姓名", "身份证号"], &["某儿童", &id_number(*seq + 900)]);
            (
                String::new(),
                Some(support::multipart(
                    &[("kind", "dibao")],
                    &[("file", "名单.xlsx", &list)],
                )),
            )
        }
        "create_helper" => (
            String::new(),
            json(json!({"name": format!("帮扶人{seq}"), "kind": "volunteer"})),
        ),
        "create_pairing" => (
            String::new(),
            json(json!({"child_id": r.child, "helper_id": r.helper})),
        ),
        "log_contact" => (
            String::new(),
            json(json!({"kind": "visit", "note": "上门看望"})),
        ),
        "end_pairing" => (String::new(), json(json!({"reason": "迁出本县"}))),
        "answer_finding" => (
            String::new(),
            json(json!({"answer": "not_applicable", "note": "已核实，迁出本县"})),
        ),
        "decide_warning" => (
            String::new(),
            json(json!({"decision": "keep", "reason": "已核实，报告正在办理"})),
        ),
        "keep_reply_document" => (
            String::new(),
            json(
                json!({"title": "关于第1号代表建议的答复", "salutation": "尊敬的王某代表：",
                        "body": "答复如下：\n此复。", "signer": "区公安分局",
                        "date": "2026年12月6日"}),
            ),
        ),
        "upload_reply_files" => (
            String::new(),
            Some(multipart(b"%PDF-1.4 reply", "答复函.pdf")),
        ),
        "review_proposal" => (String::new(), json(json!({"passed": true}))),
        "rate_proposal" => (String::new(), json(json!({"satisfaction": "satisfied"}))),
        "issue_notice" => (
            String::new(),
            json(json!({"title": "通报", "body": "请自查"})),
        ),
        "set_assessment_scheme" => (
            String::new(),
            json(
                json!({"indicators": [{"indicator": "tasks_done", "weight": 10}],
                        "training_target_hours": 12}),
            ),
        ),
        "add_assessment_points" => (
            String::new(),
            json(json!({"subject_id": r.unit, "points": 1, "reason": "专项工作"})),
        ),
        "record_meeting" => (
            String::new(),
            json(
                json!({"held_on": "2026-01-05", "convener": "副区长", "unit_ids": [r.unit],
                        "minutes": "会议纪要"}),
            ),
        ),
        "supervise_work" => (
            String::new(),
            json(json!({"level": "supervised", "due_on": "2035-01-01", "note": "尽快办理"})),
        ),
        "create_unit" => (
            String::new(),
            json(json!({"kind": "agency", "name": format!("测试社工站{seq}"), "division": v})),
        ),
        "update_unit" => (String::new(), json(json!({"active": true}))),
        "load_calendar" => (
            String::new(),
            json(json!({"text": "year 2030\nholiday 2030-01-01 元旦"})),
        ),
        "request_sealed_access" => (
            String::new(),
            json(json!({"subject_id": r.report, "reason": "核实安置情况"})),
        ),
        "decide_sealed_access" => (String::new(), json(json!({"grant": true, "hours": 24}))),
        "set_sealed_reader" => (
            String::new(),
            json(json!({"user_id": r.user, "reader": false})),
        ),
        "register_device" => (String::new(), json(json!({"label": format!("手机{seq}")}))),
        "keep_work_report" => (
            String::new(),
            json(
                json!({"division": v, "title": "报告", "body": format!("正文{seq}"),
                        "signer": "单位", "date": "2026年12月8日"}),
            ),
        ),
        "create_activity" => (
            String::new(),
            json(
                json!({"title": "宣传", "kind": "publicity", "place": "广场",
                        "held_on": "2026-01-05", "participants": 10}),
            ),
        ),
        "upload_activity_photos" => (
            String::new(),
            Some(multipart(&jpeg(*seq as u8), "活动.jpg")),
        ),
        "create_agency" => (
            String::new(),
            json(json!({"name": format!("服务社{seq}"), "credit_code": credit_code(*seq)})),
        ),
        "create_contract" => (
            String::new(),
            json(
                json!({"agency_id": r.agency, "project": "关爱服务", "amount": "1000",
                        "starts_on": "2026-01-01", "ends_on": "2035-12-31",
                        "required_hours": "10"}),
            ),
        ),
        "create_worker" => (
            String::new(),
            json(json!({"name": "社工", "kind": "social_worker", "agency_id": r.agency})),
        ),
        "create_service" => (
            String::new(),
            json(
                json!({"worker_id": r.worker, "child_id": r.child, "kind": "companionship",
                        "served_on": "2026-01-05", "hours": "1"}),
            ),
        ),
        "check_record" => {
            let id = adult_id(*seq);
            (
                String::new(),
                Some(support::multipart(
                    &[("name", "王某"), ("id_number", &id), ("post", "教师")],
                    &[("consent", "授权书.jpg", &jpeg(*seq as u8))],
                )),
            )
        }
        "check_records_batch" => {
            let sheet = one_row_sheet(
                &["姓名", "身份证号", "岗位"],
                &["王某", &adult_id(*seq), "教师"],
            );
            (
                String::new(),
                Some(support::multipart(
                    &[],
                    &[
                        ("file", "名单.xlsx", &sheet),
                        ("consent", "授权.jpg", &jpeg(*seq as u8)),
                    ],
                )),
            )
        }
        "load_record_list" => (
            String::new(),
            json(
                json!({"entries": [{"name": "某甲", "id_number": adult_id(*seq), "offence": "abuse"}]}),
            ),
        ),
        "import_record_list" => {
            let sheet = one_row_sheet(
                &["姓名", "身份证号", "违法犯罪类别"],
                &["某乙", &adult_id(*seq), "虐待"],
            );
            (
                String::new(),
                Some(support::multipart(&[], &[("file", "名单.xlsx", &sheet)])),
            )
        }
        "withdraw_from_record_list" => (
            String::new(),
            json(json!({"id_number": adult_id(*seq), "reason": "错录，经核实非本人"})),
        ),
        "login" => (String::new(), None), // filled by the caller with its own account
        _ => (String::new(), None),
    }
}

fn page_form(key: &str, r: &Records, seq: &mut u32) -> String {
    *seq += 1;
    let v = r.village;
    let checks: String = [
        "生活",
        "就学",
        "健康",
        "心理",
        "安全",
        "监护",
        "父母每周联系",
    ]
    .iter()
    .map(|i| format!("&check_{}=正常", support::url_encode(i)))
    .collect();
    match key {
        "POST /users" => format!(
            "username=pnew-{seq}&display_name=x&role=director&division={v}&password=Temp%232026ab"
        ),
        "POST /children" | "POST /children/{id}/edit" => format!(
            "name=%E6%96%B0%E7%AB%A5&id_number={}&division={v}&notes=p{seq}",
            id_number(7000 + *seq)
        ),
        "POST /children/{id}/transfer" => format!("to_division={v}&reason=x"),
        "POST /stats/work-report" => format!(
            "division={v}&title=%E6%8A%A5%E5%91%8A&body=p{seq}&signer=x&date=2026"
        ),
        "POST /transfers/{id}" => "decision=reject&note=x".into(),
        "POST /children/{id}/visits" | "POST /children/{id}/visits/{visit_id}" => {
            format!("method=入户&duration_minutes=10{checks}")
        }
        "POST /children/{id}/card/reissue" => "reason=遗失".into(),
        "POST /account/totp" => "action=setup".into(),
        "POST /children/{id}/alerts/{alert_id}/resolve" => "resolution=已核实".into(),
        "POST /allowances/decisions" => {
            format!("ids={}&decision=approve&reason=x", r.application)
        }
        "POST /allowances/applications/{id}/decision" => {
            "step=township&decision=approve&reason=x".into()
        }
        "POST /allowances/applications/{id}/stop" => "cause=death&date=2026-01-02&reason=x".into(),
        "POST /allowances/applications/{id}/account" => {
            "bank_name=x&account_holder=y&bank_account=6217000012345678".into()
        }
        "POST /allowances/standards" => format!(
            "type=distressed&division={v}&amount=600&from_month=2097-{:02}",
            1 + *seq % 12
        ),
        "POST /allowances/budgets" => "type=distressed&year=2026&amount=1000".into(),
        "POST /allowances/rolls" => format!(
            "division={}&month={}",
            &v[..6],
            weibao_domain::Month::of(chrono::Utc::now().date_naive())
        ),
        "POST /allowances/rolls/{id}/adjustments" => format!(
            "application_id={}&for_month=2026-01&amount=1&reason=x",
            r.application
        ),
        "POST /account/password" => format!(
            "old_password={0}&new_password={0}&confirm={0}",
            support::url_encode(PASSWORD)
        ),
        "POST /reports" => format!(
            "channel=phone&situations=hardship&description={}&division={v}&reporter_name={}\
             &reporter_unit={}&reporter_institution=school",
            support::url_encode("奶奶生病，孩子无人照看"),
            support::url_encode("王某"),
            support::url_encode("中心小学"),
        ),
        "POST /reports/{id}/triage" => "urgency=normal&note=x".into(),
        "POST /reports/{id}/refer" => format!(
            "to_unit=kind:education&note={}",
            support::url_encode("请核查")
        ),
        "POST /reports/{id}/link-child" => format!("child_id={}", r.child),
        "POST /reports/{id}/reply" => format!("reply={}", support::url_encode("已核实")),
        "POST /reports/{id}/merge" => format!(
            "other={}&decision=apart&reason={}",
            r.sealed_report,
            support::url_encode("不是同一事件")
        ),
        "POST /reports/{id}/access" | "POST /cases/{id}/access" => {
            format!("reason={}", support::url_encode("核实安置情况"))
        }
        k if k.starts_with("POST /referrals/") => format!(
            "to_unit=kind:education&text={}",
            support::url_encode("不属于本单位职责")
        ),
        "POST /cases/{id}/transition" => "to=assessing".into(),
        "POST /cases/{id}/record" => format!(
            "assessment={0}&reply={0}",
            support::url_encode("已核实情况")
        ),
        "POST /cases/{id}/measures" => "kind=counselling&detail=x".into(),
        "POST /cases/{id}/tasks" => {
            format!("unit=kind:education&title={}", support::url_encode("家访"))
        }
        "POST /cases/{id}/tasks/{task_id}/complete" => {
            format!("note={}", support::url_encode("已完成"))
        }
        "POST /cases/{id}/conferences" => format!(
            "people={}&minutes={}",
            support::url_encode("张三"),
            support::url_encode("会商纪要")
        ),
        "POST /cases/{id}/closure" => "note=x".into(),
        "POST /units" => format!(
            "kind=agency&name={}&division={v}",
            support::url_encode(&format!("测试社工站{seq}"))
        ),
        "POST /units/{id}/edit" => {
            format!(
                "webhook=keep&active=on&c1_name={}",
                support::url_encode("张三")
            )
        }
        "POST /calendar" => format!(
            "text={}",
            support::url_encode("year 2030\nholiday 2030-01-01 元旦")
        ),
        "POST /sealed/requests/{id}" => "decision=grant&hours=24".into(),
        "POST /sealed/readers" => "username=dir-a2&action=remove".into(),
        "POST /report" => format!(
            "situations=s6&description={}&division=510812",
            support::url_encode("孩子无人照看")
        ),
        "POST /report/track" => "code=AAAAA-BBBBB-CCCCC-DDDDD".into(),
        "POST /proposals" => format!(
            "kind=suggestion&number=P{seq}&title={}&proposer={}&lead_unit_id={}",
            support::url_encode("建议"),
            support::url_encode("王某"),
            r.unit
        ),
        "POST /services/agencies" => format!(
            "name={}&credit_code={}",
            support::url_encode(&format!("服务社P{seq}")),
            credit_code(*seq)
        ),
        "POST /services/contracts" => format!(
            "agency_id={}&project={}&amount=1000&starts_on=2026-01-01&ends_on=2035-12-31&required_hours=10",
            r.agency,
            support::url_encode("关爱服务")
        ),
        "POST /services/workers" => format!(
            "name={}&kind=volunteer&agency_id={}",
            support::url_encode("志愿者"),
            r.agency
        ),
        "POST /services/records" => format!(
            "worker_id={}&child={}&kind=companionship&served_on=2026-01-05&hours=1",
            r.worker,
            support::url_encode("甲乙")
        ),
        "POST /record-list/withdrawals" => format!(
            "id_number={}&reason={}",
            adult_id(*seq),
            support::url_encode("错录，经核实非本人")
        ),
        "POST /proposals/{id}/opinions" => format!("note={}", support::url_encode("意见")),
        "POST /proposals/{id}/reply" => {
            format!("class=A&note={}", support::url_encode("已办理"))
        }
        "POST /proposals/{id}/reply-document" => format!(
            "title={}&salutation={}&body={}&signer={}&date={}",
            support::url_encode("关于第1号代表建议的答复"),
            support::url_encode("尊敬的王某代表："),
            support::url_encode("此复。"),
            support::url_encode("区公安分局"),
            support::url_encode("2026年12月6日")
        ),
        "POST /pairing/helpers" => format!("name={}&kind=volunteer", support::url_encode("帮扶人")),
        "POST /pairing/pairings" => format!("child_id={}&helper_id={}", r.child, r.helper),
        "POST /pairing/contacts" => format!(
            "pairing_id={}&kind=visit&note={}",
            r.pairing,
            support::url_encode("看望")
        ),
        "POST /findings/{id}/answer" => format!(
            "answer=not_applicable&note={}",
            support::url_encode("已核实")
        ),
        "POST /warnings/{id}/decision" => format!(
            "decision=keep&reason={}",
            support::url_encode("已核实")
        ),
        "POST /proposals/{id}/review" => "decision=pass".to_string(),
        "POST /proposals/{id}/rating" => "satisfaction=basic".to_string(),
        "POST /committee/tasks" => format!(
            "number=P{seq}&title={}&lead_unit_id={}&due_on=2035-12-31",
            support::url_encode("交办事项"),
            r.unit
        ),
        "POST /committee/tasks/{id}/supervision" => format!(
            "level=supervised&due_on=2035-01-01&note={}",
            support::url_encode("尽快办理")
        ),
        "POST /committee/notices" => format!(
            "title={}&body={}",
            support::url_encode("通报"),
            support::url_encode("请自查")
        ),
        "POST /committee/meetings" => format!(
            "held_on=2026-01-05&convener={}&unit_id={}&minutes={}",
            support::url_encode("副区长"),
            r.unit,
            support::url_encode("会议纪要")
        ),
        "POST /committee/assessment/scheme" => "w_tasks_done=10&training_target_hours=12".into(),
        "POST /committee/assessment/points" => format!(
            "subject_id={}&points=1&reason={}",
            r.unit,
            support::url_encode("专项工作")
        ),
        "POST /committee/members" => format!(
            "unit_id={}&name={}&position=member",
            r.unit,
            support::url_encode("李明")
        ),
        "POST /committee/units/{id}/duties" => {
            format!("duties={}", support::url_encode("及时受理强制报告"))
        }
        "POST /network/places" => format!(
            "back={v}&kind=service_station&division={v}&name={}",
            support::url_encode(&format!("服务站{seq}"))
        ),
        "POST /network/people" => format!(
            "back={v}&post=director&division={v}&name={}",
            support::url_encode("王强")
        ),
        "POST /network/people/{id}/leave" => format!(
            "back={v}&left_on=2026-01-05&reason={}",
            support::url_encode("调任")
        ),
        "POST /network/people/{id}/trainings" => format!(
            "back={v}&held_on=2026-01-05&hours=2&topic={}",
            support::url_encode("业务培训")
        ),
        _ => String::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    /// 2xx, or a redirect other than to the login page.
    Done,
    /// Let through to the input checks: 400, 409, 410, 413, 422, 429.
    Invalid,
    Forbidden,
    NotFound,
    SignIn,
}

fn classify(status: u16, location: &str) -> Answer {
    match status {
        401 => Answer::SignIn,
        303 | 302 if location.starts_with("/login") => Answer::SignIn,
        403 => Answer::Forbidden,
        404 => Answer::NotFound,
        s if s >= 500 => panic!("a server error ({s}) is never an answer"),
        s if s >= 400 => Answer::Invalid,
        _ => Answer::Done,
    }
}

fn expected(entry: &Entry, role: Option<&str>, outside: bool) -> Vec<Answer> {
    use Answer::*;
    let Some(role) = role else {
        return if entry.signed_in {
            vec![SignIn]
        } else {
            vec![Done, Invalid]
        };
    };
    if entry.not_party.contains(&role) {
        return vec![NotFound];
    }
    match (entry.roles.contains(&role), outside && entry.scoped) {
        (true, false) => vec![Done, Invalid],
        (true, true) if entry.division => vec![NotFound, Forbidden, Invalid],
        (true, true) => vec![NotFound],
        // A role without the right: 403 where it is home, and outside either 403 or the
        // 404 that does not say whether the record exists.
        (false, false) => vec![Forbidden],
        (false, true) => vec![Forbidden, NotFound],
    }
}

#[test]
fn every_route_and_page_answers_every_role_inside_and_outside_as_the_matrix_says() {
    let app = TestApp::sqlite();
    let roles = accounts(&app);
    let office_x = app.token("office-x");
    let inside = records(
        &app,
        &app.token("dir-a1"),
        &app.token("office"),
        INSIDE_VILLAGE,
        10,
    );
    let outside = records(&app, &office_x, &office_x, OUTSIDE_VILLAGE, 20);
    let api = api_matrix();
    let pages = page_matrix();

    // Every documented operation and every page is in the matrix, and nothing else.
    let (_, doc) = app.get("/api/v1/openapi.json", None);
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((
                op["operationId"].as_str().unwrap().to_string(),
                method.to_uppercase(),
                path.clone(),
            ));
        }
    }
    let mut documented: Vec<&str> = ops.iter().map(|(id, _, _)| id.as_str()).collect();
    documented.sort();
    assert_eq!(
        documented,
        api.keys().copied().collect::<Vec<_>>(),
        "the matrix lists exactly the documented operations"
    );
    let mut listed: Vec<String> = weibao_web::PAGES
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        pages.keys().map(|k| k.to_string()).collect::<Vec<_>>(),
        "the matrix lists exactly the pages"
    );

    let mut checked = 0usize;
    let mut failures = Vec::new();
    let mut seq = 0u32;
    // Sign-outs and password changes last: they end or change the session they use.
    ops.sort_by_key(|(id, _, _)| matches!(id.as_str(), "logout" | "change_password"));
    let callers: Vec<Option<(&str, &str)>> = std::iter::once(None)
        .chain(roles.iter().map(|(r, u)| Some((*r, *u))))
        .collect();
    for caller in &callers {
        // Each caller signs in a dozen times: a minute apart, so that the sign-in rate
        // limit (60 a minute from one address) is not what answers.
        app.store.clock().advance_ms(61_000);
        let token = caller.map(|(_, u)| app.token(u));
        for (op, method, path) in &ops {
            for (records, outside_place) in [(&inside, false), (&outside, true)] {
                let entry = &api[op.as_str()];
                if !entry.scoped && outside_place {
                    continue;
                }
                let (query, mut body) = api_request(op, records, &mut seq);
                let mut token = token.clone();
                if op == "login" {
                    let user = caller.map(|(_, u)| u).unwrap_or("dir-a1");
                    body = Some((
                        "application/json".into(),
                        json!({"username": user, "password": PASSWORD})
                            .to_string()
                            .into_bytes(),
                    ));
                }
                if op == "logout" && caller.is_some() {
                    token = Some(app.token(caller.unwrap().1));
                }
                let url = format!("{}{query}", fill(path, records));
                let auth = token.as_ref().map(|t| format!("Bearer {t}"));
                let mut headers: Vec<(&str, &str)> = Vec::new();
                if let Some(a) = &auth {
                    headers.push(("authorization", a));
                }
                if let Some((ct, _)) = &body {
                    headers.push(("content-type", ct));
                }
                let (status, _, answer) = app.raw_with_location(
                    method,
                    &url,
                    &headers,
                    body.as_ref().map(|(_, b)| b.as_slice()),
                );
                let got = classify(status, "");
                let want = expected(entry, caller.map(|(r, _)| r), outside_place);
                checked += 1;
                if !want.contains(&got) {
                    failures.push(format!(
                        "{method} {url} ({op}) as {}: {status} {:?}, expected {want:?}: {}",
                        caller.map(|(r, _)| r).unwrap_or("anonymous"),
                        got,
                        answer.chars().take(160).collect::<String>()
                    ));
                }
            }
        }
        // Pages, with a session cookie and its CSRF token.
        let cookie = caller.map(|(_, u)| app.cookie(u));
        let csrf = cookie.as_ref().map(|c| app.csrf_of(c));
        let mut page_list: Vec<(&str, &str)> = weibao_web::PAGES.to_vec();
        page_list
            .sort_by_key(|(m, p)| *m == "POST" && matches!(*p, "/logout" | "/account/password"));
        for (method, path) in page_list {
            let key = format!("{method} {path}");
            let entry = &pages[key.as_str()];
            for (records, outside_place) in [(&inside, false), (&outside, true)] {
                if !entry.scoped && outside_place {
                    continue;
                }
                let mut url = fill(path, records);
                if matches!(
                    path,
                    "/children" | "/cards/print" | "/stats" | "/stats/work-report"
                ) && method == "GET"
                {
                    url.push_str(&format!("?division={}", records.village));
                }
                if path == "/audit/export.xlsx" {
                    url.push_str("?from=2026-01-01&to=2030-12-31");
                }
                // Signing out and changing the password end the session: a fresh one.
                let (cookie, csrf) = match (caller, key.as_str()) {
                    // (Signing in again ends the session the browser came with, too.)
                    (Some((_, u)), "POST /logout" | "POST /account/password" | "POST /login") => {
                        let c = app.cookie(u);
                        let t = app.csrf_of(&c);
                        (Some(c), Some(t))
                    }
                    _ => (cookie.clone(), csrf.clone()),
                };
                let mut headers: Vec<(&str, &str)> = Vec::new();
                if let Some(c) = &cookie {
                    headers.push(("cookie", c));
                }
                let form: Vec<u8>;
                let content_type: String;
                let body = if method == "POST" {
                    if key == "POST /allowances/applications" {
                        let mut fields = vec![
                            ("child_id".to_string(), records.child.clone()),
                            ("type".into(), "orphan_scattered".into()),
                        ];
                        if let Some(t) = &csrf {
                            fields.push(("_csrf".into(), t.clone()));
                        }
                        (content_type, form) = multipart_fields(&fields);
                    } else if key == "POST /allowances/applications/{id}/documents"
                        || key == "POST /reports/{id}/attachments"
                        || key == "POST /proposals/{id}/files"
                        || key == "POST /findings/lists"
                    {
                        let mut fields = Vec::new();
                        if let Some(t) = &csrf {
                            fields.push(("_csrf".to_string(), t.clone()));
                        }
                        (content_type, form) = multipart_fields(&fields);
                    } else if matches!(
                        key.as_str(),
                        "POST /activities"
                            | "POST /record-checks"
                            | "POST /record-checks/batch"
                            | "POST /record-list"
                    ) {
                        seq += 1;
                        let id = adult_id(seq);
                        let csrf_value = csrf.clone().unwrap_or_default();
                        let mut fields: Vec<(&str, &str)> = match key.as_str() {
                            "POST /activities" => vec![
                                ("title", "宣传"),
                                ("kind", "publicity"),
                                ("held_on", "2026-01-05"),
                                ("place", "广场"),
                            ],
                            "POST /record-checks" => {
                                vec![("name", "王某"), ("id_number", &id), ("post", "教师")]
                            }
                            _ => vec![],
                        };
                        if csrf.is_some() {
                            fields.push(("_csrf", &csrf_value));
                        }
                        let photo = jpeg(seq as u8);
                        let queries =
                            one_row_sheet(&["姓名", "身份证号", "岗位"], &["王某", &id, "教师"]);
                        let list = one_row_sheet(
                            &["姓名", "身份证号", "违法犯罪类别"],
                            &["某丙", &id, "虐待"],
                        );
                        let files: Vec<(&str, &str, &[u8])> = match key.as_str() {
                            "POST /activities" => vec![("photos", "活动.jpg", &photo)],
                            "POST /record-checks" => vec![("consent", "授权.jpg", &photo)],
                            "POST /record-checks/batch" => vec![
                                ("file", "名单.xlsx", &queries),
                                ("consent", "授权.jpg", &photo),
                            ],
                            _ => vec![("file", "名单.xlsx", &list)],
                        };
                        (content_type, form) = support::multipart(&fields, &files);
                    } else if key == "POST /committee/tasks/{id}/progress" {
                        let mut fields = vec![("note".to_string(), "推进中".to_string())];
                        if let Some(t) = &csrf {
                            fields.push(("_csrf".into(), t.clone()));
                        }
                        (content_type, form) = multipart_fields(&fields);
                    } else if key.starts_with("POST /children/{id}/visits") {
                        let mut fields = vec![
                            ("method".to_string(), "入户".to_string()),
                            ("duration_minutes".into(), "10".into()),
                        ];
                        fields.extend((0..7).map(|i| (format!("check_{i}"), "正常".to_string())));
                        if let Some(t) = &csrf {
                            fields.push(("_csrf".into(), t.clone()));
                        }
                        (content_type, form) = multipart_fields(&fields);
                    } else {
                        content_type = "application/x-www-form-urlencoded".into();
                        let mut f = page_form(&key, records, &mut seq);
                        if let Some(t) = &csrf {
                            f.push_str(&format!("&_csrf={t}"));
                        }
                        if key == "POST /login" {
                            let user = caller.map(|(_, u)| u).unwrap_or("dir-a1");
                            f = format!(
                                "username={user}&password={}",
                                support::url_encode(PASSWORD)
                            );
                        }
                        form = f.into_bytes();
                    }
                    headers.push(("content-type", &content_type));
                    Some(form.as_slice())
                } else {
                    None
                };
                let (status, location, answer) =
                    app.raw_with_location(method, &url, &headers, body);
                let mut got = classify(status, &location);
                if key == "POST /logout" && caller.is_some() && got == Answer::SignIn {
                    // Signing out lands on the login page; it worked if the session is gone.
                    let c = cookie.as_deref().unwrap();
                    let (after, to, _) = app.raw_with_location("GET", "/", &[("cookie", c)], None);
                    if classify(after, &to) == Answer::SignIn {
                        got = Answer::Done;
                    }
                }
                let want = expected(entry, caller.map(|(r, _)| r), outside_place);
                checked += 1;
                if !want.contains(&got) {
                    failures.push(format!(
                        "page {method} {url} as {}: {status} {got:?}, expected {want:?}: {}",
                        caller.map(|(r, _)| r).unwrap_or("anonymous"),
                        answer.chars().take(160).collect::<String>()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} answers differ from the matrix:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "access matrix: {} operations and {} pages x {} callers ({} roles and anonymous) x inside/outside: {checked} answers as expected",
        api.len(),
        pages.len(),
        callers.len(),
        callers.len() - 1
    );
}

fn export_names(app: &TestApp, token: &str, division: &str) -> Vec<String> {
    let (status, _, bytes) = app.raw(
        "GET",
        &format!("/api/v1/children/export.xlsx?division={division}"),
        &[("authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_eq!(status, 200);
    let aliases = weibao_sheets::HeaderMatcher::new(vec![
        ("name".into(), vec!["姓名".into()]),
        ("id".into(), vec!["身份证号（脱敏）".into()]),
    ]);
    let table = weibao_sheets::read_table(&bytes, &aliases, &["name"], 1000).unwrap();
    table.rows.iter().map(|r| r.cells["name"].text()).collect()
}

#[test]
fn swapped_ids_moved_villages_extra_fields_and_hidden_records_get_nowhere() {
    let app = TestApp::sqlite();
    accounts(&app);
    let office = app.token("office");
    let office_x = app.token("office-x");
    let inside = records(&app, &app.token("dir-a1"), &office, INSIDE_VILLAGE, 10);
    let outside = records(&app, &office_x, &office_x, OUTSIDE_VILLAGE, 20);
    let refused = |status: u16| matches!(status, 403 | 404);

    // Ids swapped in paths: another county's visit, photo or alert under one's own child.
    for path in [
        format!("/api/v1/children/{}/visits/{}", inside.child, outside.visit),
        format!("/api/v1/children/{}/photos/{}", inside.child, outside.photo),
    ] {
        let (status, body) = app.get(&path, Some(&office));
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = app.send(
        "PATCH",
        &format!("/api/v1/children/{}/visits/{}", inside.child, outside.visit),
        Some(&office),
        Some(json!({"notes": "改别人的"}).to_string()),
    );
    assert_eq!(status, 404);
    let (status, _) = app.post(
        &format!(
            "/api/v1/children/{}/alerts/{}/resolve",
            inside.child, outside.alert
        ),
        Some(&office),
        json!({"resolution": "已核实"}),
    );
    assert_eq!(status, 404);
    let (_, alerts) = app.get("/api/v1/alerts", Some(&office_x));
    assert!(
        alerts["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == outside.alert.as_str()),
        "the other county's alert is still open"
    );
    // ...and in bodies: another child's photo attached to one's own visit.
    let (status, body) = app.post(
        &format!("/api/v1/children/{}/visits", inside.child),
        Some(&office),
        json!({"duration_minutes": 10, "checks": visit_checks(false), "photos": [outside.photo]}),
    );
    assert!(
        (400..500).contains(&status) && status != 401,
        "{status} {body}"
    );
    let (_, visits) = app.get(
        &format!("/api/v1/children/{}/visits", inside.child),
        Some(&office),
    );
    assert!(!visits.to_string().contains(&outside.photo));

    // A director moves no child out of another village, nor their own by editing it.
    let dir = app.token("dir-a1");
    let (_, neighbour) = app.post(
        "/api/v1/children",
        Some(&office),
        json!({"name": "邻村童", "id_number": id_number(900), "division": "510812100202"}),
    );
    let neighbour = neighbour["id"].as_str().unwrap();
    let (status, _) = app.send(
        "PATCH",
        &format!("/api/v1/children/{neighbour}"),
        Some(&dir),
        Some(json!({"division": INSIDE_VILLAGE}).to_string()),
    );
    assert_eq!(
        status, 404,
        "another village's child is not there for this director"
    );
    let (status, body) = app.send(
        "PATCH",
        &format!("/api/v1/children/{}", inside.child),
        Some(&dir),
        Some(json!({"division": "510812100202"}).to_string()),
    );
    assert!(
        refused(status) || status == 409 || status == 422,
        "{status} {body}"
    );
    let (_, child) = app.get(&format!("/api/v1/children/{}", inside.child), Some(&office));
    assert_eq!(
        child["division"], INSIDE_VILLAGE,
        "a move is a transfer the other side accepts"
    );

    // Fields the role may not set are not set: version, status, county, author, times.
    let (status, before) = app.get(&format!("/api/v1/children/{}", inside.child), Some(&office));
    assert_eq!(status, 200);
    let (status, after) = app.send(
        "PATCH",
        &format!("/api/v1/children/{}", inside.child),
        Some(&dir),
        Some(
            json!({"notes": "改备注", "version": 99, "status": "archived", "county_code": "510811",
                   "id": "other", "director_id": "someone", "created_at": "2000-01-01T00:00:00+08:00"})
            .to_string(),
        ),
    );
    assert!(status == 200 || status == 422, "{status} {after}");
    let (_, now) = app.get(&format!("/api/v1/children/{}", inside.child), Some(&office));
    for field in ["id", "division", "director", "created_at", "status"] {
        assert_eq!(
            now[field], before[field],
            "{field} is not the caller's to set"
        );
    }
    assert!(now["version"].as_i64() <= Some(before["version"].as_i64().unwrap() + 1));
    // An office account makes no administrator, and no account outside its county.
    for (role, division) in [
        ("admin", "510812"),
        ("auditor", "510812"),
        ("office", "510811"),
    ] {
        let (status, body) = app.post(
            "/api/v1/users",
            Some(&office),
            json!({"username": format!("up-{role}-{division}"), "display_name": "x", "role": role,
                   "division": division, "password": "Temp#2026ab"}),
        );
        assert!(
            refused(status),
            "office creating {role} at {division}: {status} {body}"
        );
    }
    // ...and the system administrator makes no auditor or security officer (三员分立).
    let admin = app.token("admin-t");
    for role in ["auditor", "security"] {
        let (status, body) = app.post(
            "/api/v1/users",
            Some(&admin),
            json!({"username": format!("by-admin-{role}"), "display_name": "x", "role": role,
                   "division": "510812", "password": "Temp#2026ab"}),
        );
        assert!(refused(status), "admin creating {role}: {status} {body}");
    }

    // Records visible only to designated users stay out of search and exports.
    add_designated(&app);
    let designated = app.token("office-d");
    let hidden_id = id_number(950);
    let (status, body) = app.post(
        "/api/v1/children",
        Some(&designated),
        json!({"name": "隐名童", "id_number": hidden_id, "division": INSIDE_VILLAGE,
               "categories": ["受艾滋病影响儿童"]}),
    );
    assert_eq!(status, 201, "{body}");
    let hidden = body["id"].as_str().unwrap().to_string();
    for (token, area) in [(&office, "510812"), (&dir, INSIDE_VILLAGE)] {
        let (_, found) = app.get(&format!("/api/v1/children?q={hidden_id}"), Some(token));
        assert_eq!(found["total"], 0, "search by number");
        let (_, found) = app.get(
            &format!("/api/v1/children?q={}", support::url_encode("隐名童")),
            Some(token),
        );
        assert_eq!(found["total"], 0, "search by name");
        let (status, _) = app.get(&format!("/api/v1/children/{hidden}"), Some(token));
        assert_eq!(status, 404);
        let names = export_names(&app, token, area);
        assert!(
            !names.is_empty() && !names.contains(&"隐名童".to_string()),
            "{names:?}"
        );
    }
    assert!(export_names(&app, &designated, "510812").contains(&"隐名童".to_string()));
    // The registry still refuses the number twice, naming only the place.
    let (status, body) = app.post(
        "/api/v1/children",
        Some(&dir),
        json!({"name": "重复", "id_number": hidden_id, "division": INSIDE_VILLAGE}),
    );
    assert_eq!(status, 409, "{body}");
    assert!(!body.to_string().contains(&hidden), "{body}");
}

fn add_designated(app: &TestApp) {
    app.block_on(app.store.create_user(
        &Scope::system(),
        NewUser {
            username: "office-d".into(),
            display_name: "指定人员".into(),
            role: Role::Office,
            division: DivisionCode::parse("510812").unwrap(),
            unit: None,
            phone: None,
            password: PASSWORD.into(),
            must_change_password: false,
            designated: true,
        },
    ))
    .unwrap();
}

// ---- schema-driven fuzzing of every JSON body ------------------------------------------

/// Bodies per operation.
const FUZZ_CASES: usize = 150;

/// Text a careless or hostile client sends.
fn nasty_text(rng: &mut Rng) -> Value {
    let choices = [
        String::new(),
        " ".into(),
        "张".repeat(5000),
        "=CMD|' /C calc'!A0".into(),
        "<script>alert(1)</script>".into(),
        "'; DROP TABLE children; --".into(),
        "\u{0}\u{1}\u{7f}\u{202e}".into(),
        "510812201503070010".into(),
        "５１０８１２".into(),
        "2026-02-30".into(),
        "高".into(),
        "../../etc/passwd".into(),
        "null".into(),
        "😀".repeat(100),
    ];
    json!(choices[rng.below(choices.len())].clone())
}

fn random_json(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 3 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 1),
        2 => json!(rng.next() as i64),
        3 => json!(f64::from_bits(rng.next() & 0x7fef_ffff_ffff_ffff)),
        4 => nasty_text(rng),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = serde_json::Map::new();
            for i in 0..rng.below(4) {
                m.insert(format!("k{i}"), random_json(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

/// A value for `schema`, right-typed most of the time and wrong some of the time.
fn from_schema(doc: &Value, schema: &Value, rng: &mut Rng, depth: u32) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return from_schema(doc, &doc["components"]["schemas"][name], rng, depth);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[key].as_array() {
            let pick = &options[rng.below(options.len())];
            return from_schema(doc, pick, rng, depth);
        }
    }
    if depth > 4 || rng.below(8) == 0 {
        return random_json(rng, depth);
    }
    let kind = match &schema["type"] {
        Value::String(s) => s.clone(),
        Value::Array(kinds) => kinds[rng.below(kinds.len())]
            .as_str()
            .unwrap_or("null")
            .to_string(),
        _ => "any".into(),
    };
    match kind.as_str() {
        "object" => {
            let mut m = serde_json::Map::new();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (name, sub) in props {
                    // Required fields are mostly there, optional ones half the time.
                    let keep = if required.contains(&name.as_str()) {
                        rng.below(10) != 0
                    } else {
                        rng.below(2) == 0
                    };
                    if keep {
                        m.insert(name.clone(), from_schema(doc, sub, rng, depth + 1));
                    }
                }
            }
            if rng.below(5) == 0 {
                m.insert("unexpected_field".into(), random_json(rng, depth + 1));
            }
            Value::Object(m)
        }
        "array" => {
            let most = if rng.below(10) == 0 { 200 } else { 4 };
            let n = rng.below(most);
            Value::Array(
                (0..n)
                    .map(|_| from_schema(doc, &schema["items"], rng, depth + 1))
                    .collect(),
            )
        }
        "string" => match rng.below(3) {
            0 => nasty_text(rng),
            _ => json!(format!("值{}", rng.below(1000))),
        },
        "integer" | "number" => match rng.below(4) {
            0 => json!(-1),
            1 => json!(i64::MAX),
            2 => json!(1.5),
            _ => json!(rng.below(100)),
        },
        "boolean" => json!(rng.below(2) == 1),
        "null" => Value::Null,
        _ => random_json(rng, depth),
    }
}

#[test]
fn every_json_body_fuzzed_from_the_openapi_document_gets_a_clear_4xx_never_a_5xx() {
    let app = TestApp::sqlite();
    let roles = accounts(&app);
    let inside = records(
        &app,
        &app.token("dir-a1"),
        &app.token("office"),
        INSIDE_VILLAGE,
        10,
    );
    let api = api_matrix();
    let (_, doc) = app.get("/api/v1/openapi.json", None);
    let seed = support::test_seed(0x0a11_2026);
    let mut rng = Rng(seed);
    let (mut sent, mut accepted, mut refused) = (0usize, 0usize, 0usize);
    let mut ops = 0usize;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(schema) =
                op["requestBody"]["content"]["application/json"]["schema"].as_object()
            else {
                continue;
            };
            let schema = Value::Object(schema.clone());
            let id = op["operationId"].as_str().unwrap();
            ops += 1;
            // As a role the operation is for (the office where it may), a fresh minute
            // and session, so that neither the rate limit nor an idle timeout answers.
            app.store.clock().advance_ms(11 * 60_000);
            let entry = &api[id];
            let role = if entry.roles.contains(&"office") {
                "office"
            } else {
                entry.roles[0]
            };
            let user = roles.iter().find(|(r, _)| *r == role).unwrap().1;
            let token = app.token(user);
            let url = fill(path, &inside);
            for case in 0..FUZZ_CASES {
                let body = match case % 10 {
                    // Not JSON, or JSON cut short.
                    0 => b"{\"name\": \"\xe5\xbc".to_vec(),
                    1 => random_json(&mut rng, 0).to_string().into_bytes(),
                    _ => from_schema(&doc, &schema, &mut rng, 0)
                        .to_string()
                        .into_bytes(),
                };
                let auth = format!("Bearer {token}");
                let mut headers = vec![("content-type", "application/json")];
                if id != "login" {
                    headers.push(("authorization", &auth));
                }
                let (status, _, answer) =
                    app.raw_with_location(&method.to_uppercase(), &url, &headers, Some(&body));
                sent += 1;
                assert!(
                    status < 500,
                    "{method} {path} ({id}) answered {status} to {}: {answer}",
                    String::from_utf8_lossy(&body)
                );
                if status >= 400 {
                    refused += 1;
                    let v: Value = serde_json::from_str(&answer).unwrap_or_else(|_| {
                        panic!("{id}: a {status} that is not the error JSON: {answer}")
                    });
                    let message = v["error"]["message"].as_str().unwrap_or_default();
                    assert!(
                        v["error"]["code"].is_string()
                            && message
                                .chars()
                                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                        "{id}: {status} without a Chinese message: {answer}"
                    );
                } else {
                    accepted += 1;
                }
                if id == "change_password" && status < 400 {
                    panic!(
                        "a fuzzed body changed the password: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
        }
    }
    eprintln!(
        "schema fuzz (seed {seed}): {sent} bodies over {ops} JSON operations: {refused} refused with a Chinese 4xx, {accepted} accepted, no 5xx"
    );
    assert!(ops >= 10 && refused > sent / 2);
}
