//! Weibao's persistence: one [`Store`] over SQLite (embedded default) or PostgreSQL.
//!
//! Every public repository method takes the caller's [`Scope`](weibao_domain::access::Scope)
//! and checks it before touching data, so a handler cannot forget access control; writes
//! and their audit entries commit in one transaction.

mod accounts;
mod activities;
mod allowances;
mod audit;
mod blobs;
mod changes;
mod child_kin;
mod children;
mod clock;
mod cluster;
mod committee;
mod crypto;
mod db;
mod divisions;
mod dump;
mod error;
mod figures;
mod files;
mod finding;
mod group;
mod integrity;
mod keys;
mod limits;
mod migrate;
mod network;
mod offline;
mod proposals;
mod record_checks;
mod reports;
mod script;
mod services;
mod settings;
mod stations;
mod stats;
#[doc(hidden)]
pub mod testing;
mod totp;
mod visits;
mod work;

pub use accounts::{
    fold_username, ActiveSession, LoginOutcome, NewUser, PasswordRules, SessionKind, SessionUser,
    User, PASSWORD_POLICY,
};
pub use activities::{
    ActivityCount, ActivityFilter, ActivityRecord, NewActivity, MAX_ACTIVITY_PHOTOS,
};
pub use allowances::{
    AllowanceCase, Budget, BulkOutcome, CaseFilter, CaseStep, DivisionTotal, Eligible, MonthTotal,
    NewApplication, NewStandard, Payee, RollChange, RollLine, RollPage, StoredRoll, StoredStandard,
    Totals, TypeSum, TypeTotal, ALLOWANCE_BANK_LAYOUTS, ALLOWANCE_RULES, MAX_BULK, MAX_DOCUMENTS,
};
pub use audit::{AuditEntry, AuditEvent, ChainBreak};
pub use blobs::{BlobStore, LocalDir};
pub use children::{
    name_initials, ChildFilter, ChildSort, ChildStatus, ChildSummary, ChildVersion, StoredChild,
    Transfer,
};
pub use clock::Clock;
pub use cluster::{Placement, TablePlacement, COUNTY_GROUP, DEFAULT_SHARDS, PLAN};
pub use committee::{
    committee_county, Assessed, Assessment, Counted, Drill, LiaisonAccount, Meeting, Member,
    NewMeeting, NewMember, NewTask, Notice, NoticeUnit, PlanTask, Points, TaskFile, TaskFilter,
    TaskProgress, MAX_TASK_FILES, MEETINGS_PER_YEAR,
};
pub use crypto::{password_policy, sm3_hex};
pub use db::{Backend, Store};
pub use divisions::{Division, DivisionImportRow};
pub use dump::{DumpSummary, Item as DumpItem};
pub use error::StoreError;
pub use files::RecordFile;
pub use finding::{
    Answer, DeptList, FindingFilter, HelperRecord, KinInput, ListFinding, ListRowInput,
    PairingCount, PairingOverview, PairingRecord, StoredWarning, Unpaired, WarningChanges,
    WarningFilter, DEFAULT_RETENTION_DAYS, LIST_RETENTION_DAYS, WARNING_KIND, WARNING_RULES,
};
pub use keys::{key_path, FieldKeys, Resealed};
pub use limits::{Rate, StorageLimits};
pub use network::{
    Coverage, CoverageRow, NewPlace, Person, Place, RosterCounts, Vacancy, NETWORK_LIST_LIMIT,
};
pub use offline::{
    card_hash, DeviceState, LastVisit, OfflineChild, OfflineDevice, MAX_OFFLINE_CHILDREN,
    OFFLINE_DAYS,
};
pub use proposals::{
    NewProposal, Proposal, ProposalFilter, ProposalStep, ReplyDraft, MAX_REPLY_FILES,
};
pub use record_checks::{ListLoaded, RecordCheck, MAX_LIST_LOAD};
pub use reports::{
    tracking_hash, AttachmentFile, CaseSummary, CaseTaskInput, ConferenceDecision, ConferenceInput,
    FiledReport, NewReport, PublicStatus, ReferralTarget, ReportAttachment, ReportDetails,
    ReportFilter, SealedRequest, StoredCase, StoredReferral, StoredReport, CASE_KIND,
    MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES,
};
pub use services::{
    AgencyRecord, ContractRecord, NewService, ServiceRecord, ServiceTotals, WorkerRecord,
};
pub use settings::{
    default_distress_subtypes, CATEGORY_RULES, DEADLINE_RULES, DISTRESS_SUBTYPES,
    IMPORT_HEADER_ALIASES, REFERRAL_ACCESS_DAYS, SETTING_KEYS,
};
pub use stations::Station;
pub use stats::overview::{
    AllowanceFigures, LedgerFigures, Overview, ReportFigures, SupervisionFigures, VisitFigures,
};
pub use stats::work_reports::StoredWorkReport;
pub use totp::{base32, code_at, code_for, totp_allowed, TotpSetup};
pub use visits::{
    Alert, Card, DueItem, Photo, Progress, StoredVisit, VisitVersion, CORRECTION_WINDOW_MS,
    DUE_HORIZON_DAYS, MAX_PHOTO_BYTES, REGION_DUE_ROWS, VISIT_POLICY,
};
pub use work::{
    CalendarYear, Event, NewUnit, NewWork, Notification, Supervision, TimelineEntry, Unit,
    UnitContact, Webhook, WebhookKind, WorkItem, WorkOwner,
};

/// How many rows a list matched. Counting every match of a county- or province-wide list
/// costs a walk of its whole index (a million entries at province scale) on every page, and
/// a sparse filter or a name search walks it all however few it finds, so lists count ten
/// pages past the one asked for: exactly when the matches end there, "at least `count`"
/// when they go on. Region-wide totals come from the progress tables and statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    /// `false`: there are more than `count` matches.
    pub exact: bool,
}

impl Default for Total {
    fn default() -> Total {
        Total {
            count: 0,
            exact: true,
        }
    }
}

impl Total {
    /// Pages counted past the one asked for.
    pub const PAGES_AHEAD: i64 = 10;

    /// The most a count goes to for a page: ten pages past it, so a page reached by paging
    /// on always knows whether there is another.
    pub fn cap_for(offset: i64, per_page: i64) -> i64 {
        offset + per_page * Self::PAGES_AHEAD
    }

    /// From a count made with `LIMIT cap + 1`.
    pub fn from_capped(counted: i64, cap: i64) -> Total {
        Total {
            count: counted.min(cap),
            exact: counted <= cap,
        }
    }

    /// "共 1,234 名" or "10,000 名以上": the count as a list's caption says it.
    pub fn caption(&self) -> String {
        let mut digits = self.count.to_string();
        let mut grouped = String::new();
        while digits.len() > 3 {
            let tail = digits.split_off(digits.len() - 3);
            grouped = format!(",{tail}{grouped}");
        }
        grouped = format!("{digits}{grouped}");
        if self.exact {
            format!("共 {grouped} 名")
        } else {
            format!("{grouped} 名以上")
        }
    }
}

/// Idle sessions end after this long (等保: 15-30 minutes).
pub const SESSION_IDLE_MS: i64 = 30 * 60 * 1000;
/// A session ends after this long whatever its activity.
pub const SESSION_MAX_MS: i64 = 12 * 60 * 60 * 1000;
/// Failed sign-ins before an account is locked.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a locked account stays locked.
pub const LOCK_MS: i64 = 15 * 60 * 1000;
