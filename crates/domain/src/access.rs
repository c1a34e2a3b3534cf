//! Who may do what, where: roles, actions, and the scope of a signed-in user.
//!
//! Every repository call takes a [`Scope`]; [`Scope::check`] is the one place that decides
//! whether the caller's role allows an action and whether the record lies within the
//! caller's home division. Records outside the subtree answer "not found" so that their
//! existence is not revealed.

use std::fmt;

use crate::division::DivisionCode;

/// The role a user holds. Each user has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// 系统管理员
    Admin,
    /// 未保委办公室 / 民政 (county or city office)
    Office,
    /// 乡镇儿童督导员
    Supervisor,
    /// 村（居）儿童主任
    Director,
    /// 成员单位联络员 (公安, 教育, 卫健, ...)
    Unit,
    /// 强制报告责任单位 (schools, hospitals, ... that file mandatory reports)
    Reporter,
    /// 审计员 (审计管理员: reads and exports the audit log, nothing else)
    Auditor,
    /// 安全管理员: watches and ends sign-in sessions (等保 三员分立: the system
    /// administrator manages accounts, the security administrator sessions, the auditor the
    /// audit log; no one does two)
    Security,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Office,
        Role::Supervisor,
        Role::Director,
        Role::Unit,
        Role::Reporter,
        Role::Auditor,
        Role::Security,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Office => "office",
            Role::Supervisor => "supervisor",
            Role::Director => "director",
            Role::Unit => "unit",
            Role::Reporter => "reporter",
            Role::Auditor => "auditor",
            Role::Security => "security",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Office => "未保办工作人员",
            Role::Supervisor => "儿童督导员",
            Role::Director => "儿童主任",
            Role::Unit => "成员单位联络员",
            Role::Reporter => "强制报告单位",
            Role::Auditor => "审计员",
            Role::Security => "安全管理员",
        }
    }

    /// Parses the stored / API name ("office") or the Chinese label.
    pub fn parse(input: &str) -> Result<Role, crate::Invalid> {
        let s = input.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.label() == s)
            .ok_or_else(|| {
                crate::Invalid::new(
                    "role_unknown",
                    format!(
                        "角色“{s}”不存在，可选：{}",
                        Role::ALL.map(|r| r.as_str()).join("、")
                    ),
                )
            })
    }

    /// A member-unit liaison and a reporting institution act for a unit; the others do not.
    pub fn needs_unit(self) -> bool {
        matches!(self, Role::Unit | Role::Reporter)
    }

    /// The division level a home division of this role must have, if the role fixes one.
    pub fn home_level(self) -> Option<crate::Level> {
        match self {
            Role::Supervisor => Some(crate::Level::Township),
            Role::Director => Some(crate::Level::Village),
            _ => None,
        }
    }

    /// The roles that a user of this role may create or manage (always inside their subtree).
    pub fn may_assign(self, other: Role) -> bool {
        match self {
            // 三员分立: the auditor and the security administrator are created by the
            // operator at installation (`weibao user add`), not by the administrator
            // whose actions they watch.
            Role::Admin => !matches!(other, Role::Auditor | Role::Security),
            Role::Office => matches!(
                other,
                Role::Office | Role::Supervisor | Role::Director | Role::Unit | Role::Reporter
            ),
            _ => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Member units of the protection committee (未保委成员单位) a liaison may represent.
pub const MEMBER_UNITS: &[&str] = &[
    "民政",
    "公安",
    "教育",
    "卫健",
    "法院",
    "检察院",
    "司法",
    "妇联",
    "团委",
    "残联",
    "人社",
    "医保",
    "网信",
    "文旅",
    "市场监管",
    "关工委",
    "工会",
];

/// Checks a member-unit name against [`MEMBER_UNITS`].
pub fn parse_unit(input: &str) -> Result<String, crate::Invalid> {
    let s = input.trim();
    if MEMBER_UNITS.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(crate::Invalid::new(
            "unit_unknown",
            format!("成员单位“{s}”不在名单中，可选：{}", MEMBER_UNITS.join("、")),
        ))
    }
}

/// Something a user may ask to do. New modules add actions here and to [`allows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Browse the division tree (names and codes are not personal data).
    ViewDivisions,
    /// Load or update division codes (system-wide reference data).
    ImportDivisions,
    /// List and see user accounts.
    ViewUsers,
    /// Create accounts, reset passwords, unlock.
    ManageUsers,
    /// Read and export the audit log.
    ViewAudit,
    /// List signed-in sessions and end them.
    ManageSessions,
    /// Read children's records (identity masked).
    ViewChildren,
    /// Register children and change their records (also by import).
    EditChildren,
    /// See a child's full 身份证号 and phone numbers (each reveal audited).
    RevealChild,
    /// Export a filtered list to Excel (masked).
    ExportChildren,
    /// Move a child to another village, or accept one moving in.
    TransferChildren,
    /// Record a home visit, issue or re-issue a child's card.
    RecordVisits,
    /// Correct a visit after its author's 24 hours (a supervisor's review).
    ReviewVisits,
    /// Close an alert raised by a finding of danger.
    ResolveAlerts,
    /// File a report of harm (强制报告 and the like); reporter accounts see only their own.
    FileReports,
    /// Read reports, referrals and cases (units: only what is referred to them).
    ViewReports,
    /// Read cases (reporting institutions follow their own reports, never cases).
    ViewCases,
    /// Triage reports, refer them, merge duplicates, put work under supervision (督办).
    TriageReports,
    /// Accept, return, pass on and answer referrals sent to one's own unit.
    HandleReferrals,
    /// Open cases, move them through their states, plan tasks, hold conferences.
    ManageCases,
    /// Keep the registry of units and the working-day calendar.
    ManageUnits,
    /// Grant time-limited access to a sealed record.
    GrantSealedAccess,
    /// See allowance applications, cases, rolls and totals (基本生活保障).
    ViewAllowances,
    /// File an application for a child (the village for the guardian, or the guardian's
    /// paper form), with its documents.
    ApplyAllowances,
    /// 乡镇查验: the township's check of an application.
    ReviewAllowances,
    /// 县级确认: the county confirms (or refuses) an application, stops a case.
    ConfirmAllowances,
    /// Set allowance standards and budgets.
    ManageAllowanceStandards,
    /// Generate, lock and export the monthly rolls (发放名册).
    ManageRolls,
    /// See the protection network (places, people, coverage).
    ViewNetwork,
    /// Keep the network's records: open and close places, appoint people, record training.
    ManageNetwork,
    /// See the committee's work: members, duties, the plan's tasks, notices, meetings.
    ViewCommittee,
    /// Keep the committee's records, issue tasks and notices, record joint meetings.
    ManageCommittee,
    /// See activities (publicity, lectures, training, service projects) and their counts.
    ViewActivities,
    /// Record an activity of one's own division or unit, with its photos.
    RecordActivities,
    /// See purchased services: agencies, contracts, workers, service hours.
    ViewServices,
    /// Keep agencies, contracts and the register of social workers and volunteers.
    ManageServices,
    /// Record services given (hours against a child or an activity).
    RecordServices,
    /// Load people onto the restricted list of pre-employment checks (never read it).
    LoadRecordList,
    /// Ask whether a person is on the restricted list (入职查询); see one's own queries.
    CheckRecords,
    /// Upload departments' lists (数据共享) to match against the ledger.
    MatchLists,
    /// See and answer what a list match found in one's own division (核实), and decide
    /// on the early warnings raised there (预警研判).
    VerifyFindings,
    /// Pair children of one's division with helpers (结对帮扶) and log their contacts.
    ManagePairing,
}

impl Action {
    pub const ALL: [Action; 42] = [
        Action::ViewDivisions,
        Action::ImportDivisions,
        Action::ViewUsers,
        Action::ManageUsers,
        Action::ViewAudit,
        Action::ManageSessions,
        Action::ViewChildren,
        Action::EditChildren,
        Action::RevealChild,
        Action::ExportChildren,
        Action::TransferChildren,
        Action::RecordVisits,
        Action::ReviewVisits,
        Action::ResolveAlerts,
        Action::FileReports,
        Action::ViewReports,
        Action::ViewCases,
        Action::TriageReports,
        Action::HandleReferrals,
        Action::ManageCases,
        Action::ManageUnits,
        Action::GrantSealedAccess,
        Action::ViewAllowances,
        Action::ApplyAllowances,
        Action::ReviewAllowances,
        Action::ConfirmAllowances,
        Action::ManageAllowanceStandards,
        Action::ManageRolls,
        Action::ViewNetwork,
        Action::ManageNetwork,
        Action::ViewCommittee,
        Action::ManageCommittee,
        Action::ViewActivities,
        Action::RecordActivities,
        Action::ViewServices,
        Action::ManageServices,
        Action::RecordServices,
        Action::LoadRecordList,
        Action::CheckRecords,
        Action::MatchLists,
        Action::VerifyFindings,
        Action::ManagePairing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::ViewDivisions => "view_divisions",
            Action::ImportDivisions => "import_divisions",
            Action::ViewUsers => "view_users",
            Action::ManageUsers => "manage_users",
            Action::ViewAudit => "view_audit",
            Action::ManageSessions => "manage_sessions",
            Action::ViewChildren => "view_children",
            Action::EditChildren => "edit_children",
            Action::RevealChild => "reveal_child",
            Action::ExportChildren => "export_children",
            Action::TransferChildren => "transfer_children",
            Action::RecordVisits => "record_visits",
            Action::ReviewVisits => "review_visits",
            Action::ResolveAlerts => "resolve_alerts",
            Action::FileReports => "file_reports",
            Action::ViewReports => "view_reports",
            Action::ViewCases => "view_cases",
            Action::TriageReports => "triage_reports",
            Action::HandleReferrals => "handle_referrals",
            Action::ManageCases => "manage_cases",
            Action::ManageUnits => "manage_units",
            Action::GrantSealedAccess => "grant_sealed_access",
            Action::ViewAllowances => "view_allowances",
            Action::ApplyAllowances => "apply_allowances",
            Action::ReviewAllowances => "review_allowances",
            Action::ConfirmAllowances => "confirm_allowances",
            Action::ManageAllowanceStandards => "manage_allowance_standards",
            Action::ManageRolls => "manage_rolls",
            Action::ViewNetwork => "view_network",
            Action::ManageNetwork => "manage_network",
            Action::ViewCommittee => "view_committee",
            Action::ManageCommittee => "manage_committee",
            Action::ViewActivities => "view_activities",
            Action::RecordActivities => "record_activities",
            Action::ViewServices => "view_services",
            Action::ManageServices => "manage_services",
            Action::RecordServices => "record_services",
            Action::LoadRecordList => "load_record_list",
            Action::CheckRecords => "check_records",
            Action::MatchLists => "match_lists",
            Action::VerifyFindings => "verify_findings",
            Action::ManagePairing => "manage_pairing",
        }
    }
}

/// The role half of the policy: which roles may perform an action at all.
/// The division half is [`Scope::reaches`].
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        ViewDivisions => true,
        ImportDivisions => role == Admin,
        ViewUsers => matches!(role, Admin | Office | Supervisor | Auditor | Security),
        ManageUsers => matches!(role, Admin | Office),
        // 三员分立: the audit log is the auditor's alone, sessions the security
        // administrator's; whoever manages accounts reads neither.
        ViewAudit => role == Auditor,
        ManageSessions => role == Security,
        // The ledger is kept by directors and read by those who look after the children;
        // administrators run the system, not the cases (separation of duties). A member
        // unit reads a child only while a referral to it is open (Scope::by_referral),
        // never the county's ledger (个人信息保护法 Art. 6, minimum necessary).
        ViewChildren => matches!(role, Office | Supervisor | Director),
        EditChildren | RevealChild | ExportChildren | TransferChildren | RecordVisits => {
            matches!(role, Office | Supervisor | Director)
        }
        // 督导员 review their township's visits; the office follows up on danger too.
        ReviewVisits => role == Supervisor,
        ResolveAlerts => matches!(role, Office | Supervisor),
        FileReports | ViewReports => {
            matches!(role, Office | Supervisor | Director | Unit | Reporter)
        }
        ViewCases => matches!(role, Office | Supervisor | Director | Unit),
        TriageReports | ManageCases | GrantSealedAccess => role == Office,
        HandleReferrals => matches!(role, Office | Supervisor | Unit),
        ManageUnits => role == Office,
        // Allowances: the village files (the township may record a guardian's paper form
        // handed in there), the township checks, the county office confirms, sets the
        // standards and pays. Member units, reporters and the three administrators see
        // nothing of it.
        ViewAllowances => matches!(role, Office | Supervisor | Director),
        ApplyAllowances => matches!(role, Supervisor | Director),
        ReviewAllowances => role == Supervisor,
        ConfirmAllowances | ManageAllowanceStandards | ManageRolls => role == Office,
        // The network: the office keeps the county's, a supervisor the township's;
        // directors read theirs. Its figures are public in work reports, its people's
        // phones are not: units and administrators see none of it.
        ViewNetwork => matches!(role, Office | Supervisor | Director),
        ManageNetwork => matches!(role, Office | Supervisor),
        // The committee: the office runs it; member units' liaisons and townships (whose
        // governments carry tasks too) read it and report on their own tasks.
        ViewCommittee => matches!(role, Office | Supervisor | Unit),
        ManageCommittee => role == Office,
        // Activities: every level holds them and records its own (a village its village's,
        // a unit its unit's); the figures are public in work reports.
        ViewActivities | RecordActivities => {
            matches!(role, Office | Supervisor | Director | Unit)
        }
        // Purchased services: the office buys them; townships follow the agencies' work in
        // their villages and record the hours served there.
        ViewServices => matches!(role, Office | Supervisor),
        ManageServices => role == Office,
        RecordServices => matches!(role, Office | Supervisor),
        // Pre-employment checks: the office or the police liaison loads the list (the store
        // checks the liaison's unit is the police); institutions (reporter accounts), member
        // units (教育 for its schools) and the office ask. No action reads the list.
        LoadRecordList => matches!(role, Office | Unit),
        CheckRecords => matches!(role, Office | Unit | Reporter),
        // Departments' lists: the office loads and matches them; the village directors
        // verify what was found in their villages, the townships follow and answer too.
        MatchLists => role == Office,
        VerifyFindings => matches!(role, Office | Supervisor | Director),
        // Pairing: each level pairs the children of its division and logs the contacts.
        ManagePairing => matches!(role, Office | Supervisor | Director),
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Outside the caller's subtree: answered as "not found", never revealing existence.
    NotFound,
    /// Inside the subtree, but the role does not allow the action.
    Forbidden,
}

/// Who is asking: the signed-in user's identity, role and home division.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    /// `None` only for the command line's system scope, which reaches everywhere.
    home: Option<DivisionCode>,
    pub unit: Option<String>,
    /// The unit of the registry the account acts for (a member-unit liaison, a reporting
    /// institution); referrals and tasks go to units.
    pub unit_id: Option<String>,
    /// Designated to handle 受艾滋病影响儿童 records; nobody else sees them.
    pub designated: bool,
    /// The office head (未保办主任): approves closing cases, receives late supervised
    /// items.
    pub head: bool,
}

impl Scope {
    pub fn new(
        user_id: impl Into<String>,
        username: impl Into<String>,
        role: Role,
        home: DivisionCode,
        unit: Option<String>,
    ) -> Scope {
        Scope {
            user_id: user_id.into(),
            username: username.into(),
            role,
            home: Some(home),
            unit,
            unit_id: None,
            designated: false,
            head: false,
        }
    }

    /// Sets the unit of the registry the account acts for.
    pub fn with_unit_id(mut self, unit_id: Option<String>) -> Scope {
        self.unit_id = unit_id;
        self
    }

    /// Marks the scope as the office head's.
    pub fn with_head(mut self, head: bool) -> Scope {
        self.head = head;
        self
    }

    /// A member-unit liaison reads a child only through a referral to their unit: the
    /// store checks the grant instead of the subtree.
    pub fn by_referral(&self, action: Action) -> bool {
        self.role == Role::Unit && action == Action::ViewChildren && !self.is_system()
    }

    /// Marks the scope as designated for 受艾滋病影响儿童 records.
    pub fn with_designated(mut self, designated: bool) -> Scope {
        self.designated = designated;
        self
    }

    /// The scope of the operator at the command line (`weibao user add`, imports):
    /// whoever can run the binary against the database already holds all of it.
    pub fn system() -> Scope {
        Scope {
            user_id: String::new(),
            username: "system".into(),
            role: Role::Admin,
            home: None,
            unit: None,
            unit_id: None,
            designated: true,
            head: true,
        }
    }

    pub fn is_system(&self) -> bool {
        self.home.is_none()
    }

    pub fn home(&self) -> Option<DivisionCode> {
        self.home
    }

    /// Whether `code` lies within the caller's home subtree.
    pub fn reaches(&self, code: DivisionCode) -> bool {
        self.home.is_none_or(|home| home.contains(code))
    }

    /// The one access decision: role first (a role that may never do this gets 403,
    /// since that reveals nothing), then the division (outside the subtree: not found).
    pub fn check(&self, action: Action, at: DivisionCode) -> Result<(), Denied> {
        if self.is_system() {
            return Ok(());
        }
        if !allows(self.role, action) {
            return Err(Denied::Forbidden);
        }
        if !self.reaches(at) {
            return Err(Denied::NotFound);
        }
        Ok(())
    }

    /// Role-only check for actions that are not tied to one division (lists are then
    /// filtered to the subtree by the repository).
    pub fn check_role(&self, action: Action) -> Result<(), Denied> {
        if self.is_system() || allows(self.role, action) {
            Ok(())
        } else {
            Err(Denied::Forbidden)
        }
    }

    /// The chain key for audit entries written on behalf of this scope (county of home).
    pub fn county_code(&self) -> String {
        self.home
            .map(|h| h.county_code())
            .unwrap_or_else(|| "000000".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).unwrap()
    }

    #[test]
    fn director_reaches_only_own_village() {
        let d = Scope::new("u", "d", Role::Director, code("510812100201"), None);
        assert!(d.reaches(code("510812100201")));
        assert!(!d.reaches(code("510812100202")));
        assert!(!d.reaches(code("510812100")));
        assert_eq!(
            d.check(Action::ViewDivisions, code("510812100202")),
            Err(Denied::NotFound)
        );
        assert_eq!(
            d.check(Action::ManageUsers, code("510812100201")),
            Err(Denied::Forbidden)
        );
    }

    #[test]
    fn accounts_sessions_and_the_audit_log_are_three_different_roles() {
        let holders = |a: Action| Role::ALL.into_iter().filter(move |r| allows(*r, a));
        for r in Role::ALL {
            let powers = [
                Action::ManageUsers,
                Action::ManageSessions,
                Action::ViewAudit,
            ]
            .into_iter()
            .filter(|a| allows(r, *a))
            .count();
            assert!(
                powers <= 1,
                "{r} holds {powers} of the three administrator powers"
            );
        }
        assert_eq!(
            holders(Action::ViewAudit).collect::<Vec<_>>(),
            [Role::Auditor]
        );
        assert_eq!(
            holders(Action::ManageSessions).collect::<Vec<_>>(),
            [Role::Security]
        );
        // Nobody who manages accounts can make themselves auditor or security officer,
        // except the system administrator, who then reads nothing of the audit.
        assert!(!Role::Office.may_assign(Role::Security));
        assert!(!Role::Security.may_assign(Role::Auditor));
        assert!(!allows(Role::Admin, Action::ViewAudit));
        assert!(!Role::Admin.may_assign(Role::Auditor) && !Role::Admin.may_assign(Role::Security));
    }

    #[test]
    fn allowances_are_filed_by_villages_checked_by_townships_and_paid_by_the_county() {
        let holders = |a: Action| {
            Role::ALL
                .into_iter()
                .filter(|r| allows(*r, a))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            holders(Action::ViewAllowances),
            [Role::Office, Role::Supervisor, Role::Director]
        );
        assert_eq!(
            holders(Action::ApplyAllowances),
            [Role::Supervisor, Role::Director]
        );
        assert_eq!(holders(Action::ReviewAllowances), [Role::Supervisor]);
        for a in [
            Action::ConfirmAllowances,
            Action::ManageAllowanceStandards,
            Action::ManageRolls,
        ] {
            assert_eq!(holders(a), [Role::Office], "{}", a.as_str());
        }
        // Nobody checks their own filing and confirms it too.
        for r in Role::ALL {
            assert!(!(allows(r, Action::ApplyAllowances) && allows(r, Action::ConfirmAllowances)));
        }
    }

    #[test]
    fn office_may_not_create_admins_or_auditors() {
        assert!(Role::Office.may_assign(Role::Director));
        assert!(!Role::Office.may_assign(Role::Admin));
        assert!(!Role::Office.may_assign(Role::Auditor));
        assert!(!Role::Supervisor.may_assign(Role::Director));
    }

    #[test]
    fn role_parses_name_and_label_and_refuses_unknown() {
        assert_eq!(Role::parse("office").unwrap(), Role::Office);
        assert_eq!(Role::parse("儿童主任").unwrap(), Role::Director);
        let e = Role::parse("boss").unwrap_err();
        assert!(e.message.contains("角色“boss”不存在"), "{}", e.message);
    }

    #[test]
    fn unit_must_be_a_member_unit() {
        assert_eq!(parse_unit(" 公安 ").unwrap(), "公安");
        assert!(parse_unit("某公司")
            .unwrap_err()
            .message
            .contains("不在名单中"));
    }

    proptest! {
        /// Scope::check never lets a caller reach a division outside its home subtree,
        /// whatever the role and action.
        #[test]
        fn check_never_reaches_outside_home(
            home_village in 1u64..400, other_village in 1u64..400,
            role_i in 0usize..8, action_i in 0usize..28,
        ) {
            let home = code(&format!("510812100{home_village:03}"));
            let other = code(&format!("510812100{other_village:03}"));
            let scope = Scope::new("u", "n", Role::ALL[role_i], home, None);
            let result = scope.check(Action::ALL[action_i], other);
            if home_village != other_village {
                prop_assert!(result.is_err());
            } else {
                prop_assert_eq!(result.is_ok(), allows(Role::ALL[role_i], Action::ALL[action_i]));
            }
        }
    }
}
