//! Report pages: the list with filters, the form to file one, and a report's page with
//! everything its reader may see and the office's actions on it (triage, acknowledging an
//! urgent report, referring, linking a ledger child, duplicates, the reply, a case).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role, Scope};
use weibao_domain::reports::referral::{ConsentBy, ReferralState};
use weibao_domain::reports::{
    Channel, ChildHint, Institution, ReportInput, ReportState, Reporter, Situation, Urgency,
};
use weibao_domain::work::UnitKind;
use weibao_domain::{DivisionCode, Level};
use weibao_store::{
    ChildFilter, NewReport, ReferralTarget, ReportFilter, StoreError, StoredReferral, StoredReport,
    TimelineEntry,
};

use super::deadline_text::{due_text, DueText};
use super::forms::{refusal, Failed, Refused};
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, CsrfMultipart, PageAuth};
use crate::error::ApiError;
use crate::AppState;

/// The channels a signed-in user files by hand (12345 orders come from the hotline's
/// system, visits open their own, the public has its page).
const STAFF_CHANNELS: [Channel; 4] = [
    Channel::Mandatory,
    Channel::WalkIn,
    Channel::Phone,
    Channel::Unit,
];

// ---- shared pieces -----------------------------------------------------------------------

/// A report as a line of a list.
pub struct ReportLine {
    pub id: String,
    pub number: String,
    pub channel: &'static str,
    pub situations: String,
    pub urgency: &'static str,
    pub urgent: bool,
    /// Urgent and not yet acknowledged by the office.
    pub waiting: bool,
    pub state: &'static str,
    pub at: String,
    pub withheld: bool,
}

impl ReportLine {
    pub fn new(r: &StoredReport) -> ReportLine {
        ReportLine {
            id: r.id.clone(),
            number: r.number.clone(),
            channel: r.channel.label(),
            situations: short_situations(&r.situations),
            urgency: r.urgency.label(),
            urgent: r.urgency == Urgency::Urgent,
            waiting: r.urgency == Urgency::Urgent
                && r.acknowledged_at.is_none()
                && r.state.is_open(),
            state: r.state.label(),
            at: beijing_time(r.reported_at),
            withheld: r.withheld,
        }
    }
}

/// The situations, each cut short, for a list line.
fn short_situations(s: &[Situation]) -> String {
    s.iter()
        .map(|x| {
            let label = x.label();
            if label.chars().count() > 14 {
                format!("{}…", label.chars().take(13).collect::<String>())
            } else {
                label.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("、")
}

/// An option of a select of places, grouped by township.
pub struct PlaceGroup {
    pub label: String,
    pub options: Vec<(String, String)>,
}

/// The places within the caller's reach a report can be about: their home division, then
/// each township with its villages.
pub async fn place_options(state: &AppState, scope: &Scope) -> Vec<PlaceGroup> {
    let Some(home) = scope.home() else {
        return vec![];
    };
    let Ok(top) = state.store.division(scope, home).await else {
        return vec![];
    };
    let mut groups = vec![PlaceGroup {
        label: top.name.clone(),
        options: vec![(
            top.code.clone(),
            match home.level() {
                Level::Village => top.name.clone(),
                Level::Township => format!("{}（不清楚具体村、社区）", top.name),
                _ => format!("{}（不清楚具体乡镇、村）", top.name),
            },
        )],
    }];
    if home.level() >= Level::Village {
        return groups;
    }
    let mut townships = vec![];
    if home.level() == Level::Township {
        townships.push(top.clone());
    } else if let Ok(children) = state.store.division_children(scope, home).await {
        townships = children;
    }
    for t in townships.into_iter().take(100) {
        let villages = state
            .store
            .division_children(scope, t.code())
            .await
            .unwrap_or_default();
        let mut options = Vec::with_capacity(villages.len() + 1);
        if t.code != top.code {
            options.push((t.code.clone(), format!("{}（不清楚具体村、社区）", t.name)));
        }
        options.extend(villages.into_iter().map(|v| {
            (
                v.code.clone(),
                weibao_domain::record::short_village_name(&v.name).to_string(),
            )
        }));
        groups.push(PlaceGroup {
            label: t.name,
            options,
        });
    }
    groups
}

/// A unit a referral, a case's lead or a task can go to.
pub struct TargetOption {
    /// `unit:ID`, `kind:police` or `township:CODE`.
    pub value: String,
    pub label: String,
    /// A non-government agency: the referral needs consent.
    pub consent: bool,
}

pub struct TargetGroup {
    pub label: &'static str,
    pub options: Vec<TargetOption>,
}

/// The units of `county` work can go to: the member units (each made when first needed),
/// the townships, and the registered agencies.
pub async fn unit_targets(state: &AppState, scope: &Scope, county: &str) -> Vec<TargetGroup> {
    let units = state.store.list_units(scope).await.unwrap_or_default();
    let members = UnitKind::ALL
        .iter()
        .filter(|k| k.one_per_county() && **k != UnitKind::Office)
        .map(|k| {
            let registered = units
                .iter()
                .find(|u| u.county_code == county && u.kind == *k && u.active);
            TargetOption {
                value: format!("kind:{}", k.code()),
                label: registered
                    .map(|u| u.name.clone())
                    .unwrap_or_else(|| k.label().to_string()),
                consent: false,
            }
        })
        .collect();
    let townships = match DivisionCode::parse(county) {
        Ok(c) => state
            .store
            .division_children(scope, c)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|t| TargetOption {
                value: format!("township:{}", t.code),
                label: format!("{}人民政府（未保工作站）", t.name),
                consent: false,
            })
            .collect(),
        Err(_) => vec![],
    };
    let agencies = units
        .iter()
        .filter(|u| u.county_code == county && u.active && !u.kind.one_per_county())
        .filter(|u| u.kind != UnitKind::Township)
        .map(|u| TargetOption {
            value: format!("unit:{}", u.id),
            label: u.name.clone(),
            consent: u.kind.needs_consent(),
        })
        .collect();
    vec![
        TargetGroup {
            label: "成员单位",
            options: members,
        },
        TargetGroup {
            label: "乡镇（街道）",
            options: townships,
        },
        TargetGroup {
            label: "社工机构及其他单位",
            options: agencies,
        },
    ]
}

/// A target select's value as the store takes it.
pub fn parse_target(value: &str) -> Option<ReferralTarget> {
    match value.trim().split_once(':') {
        Some(("unit", id)) if !id.is_empty() => Some(ReferralTarget::Unit(id.to_string())),
        Some(("kind", code)) => UnitKind::parse(code).map(ReferralTarget::Kind),
        Some(("township", code)) => DivisionCode::parse(code).ok().map(ReferralTarget::Township),
        _ => None,
    }
}

/// A referral as a line under its report or case.
pub struct ReferralLine {
    pub id: String,
    pub to: String,
    pub state: &'static str,
    pub due: Option<DueText>,
    pub note: String,
    pub reply: String,
    /// The reader is a party to it (the office, the unit it went to): its page opens.
    pub party: bool,
}

impl ReferralLine {
    pub fn new(r: &StoredReferral, now: i64, with_notes: bool, scope: &Scope) -> ReferralLine {
        let due = match r.state {
            ReferralState::Pending => Some(due_text(r.due_at, now, false)),
            ReferralState::Accepted => r.reply_due_at.map(|d| due_text(d, now, false)),
            _ => None,
        };
        ReferralLine {
            id: r.id.clone(),
            to: r.to_unit_name.clone(),
            state: r.state.label(),
            due,
            note: if with_notes {
                r.note.clone()
            } else {
                String::new()
            },
            reply: if with_notes {
                r.reply.clone()
            } else {
                String::new()
            },
            // A supervisor is a party to their own township's referrals; the referral's
            // page checks again.
            party: scope.role == Role::Office
                || scope.unit_id.as_deref() == Some(r.to_unit_id.as_str())
                || (scope.role == Role::Supervisor && r.to_unit_kind == UnitKind::Township),
        }
    }
}

/// A step of a timeline as shown.
pub struct StepLine {
    pub at: String,
    pub who: String,
    pub action: String,
    pub detail: String,
}

impl StepLine {
    pub fn new(e: &TimelineEntry) -> StepLine {
        StepLine {
            at: beijing_time(e.at),
            who: if e.actor_unit.is_empty() {
                e.actor_name.clone()
            } else {
                format!("{} · {}", e.actor_unit, e.actor_name)
            },
            action: e.action.clone(),
            detail: e.detail.clone(),
        }
    }
}

fn refuse_role(message: &str) -> Response {
    error_page(StatusCode::FORBIDDEN, message)
}

// ---- list ------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    open: String,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "reports_list.html")]
struct ListPage {
    layout: Layout,
    q: ListQuery,
    items: Vec<ReportLine>,
    states: Vec<(&'static str, &'static str)>,
    urgencies: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    can_file: bool,
    page: u32,
    prev_href: Option<String>,
    next_href: Option<String>,
}

const PER_PAGE: u32 = 50;

fn list_href(q: &ListQuery, page: u32) -> String {
    let mut parts: Vec<(&str, String)> = vec![];
    for (k, v) in [
        ("state", &q.state),
        ("urgency", &q.urgency),
        ("channel", &q.channel),
        ("open", &q.open),
    ] {
        if !v.is_empty() {
            parts.push((k, v.clone()));
        }
    }
    if page > 1 {
        parts.push(("page", page.to_string()));
    }
    format!(
        "/reports?{}",
        serde_urlencoded::to_string(&parts).unwrap_or_default()
    )
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<ListQuery>,
) -> Response {
    let scope = caller.scope();
    let state_f = ReportState::parse(&q.state);
    let urgency_f = Urgency::parse(&q.urgency);
    let channel_f = Channel::parse(&q.channel);
    for (label, v, known) in [
        ("状态", &q.state, state_f.is_some()),
        ("紧急程度", &q.urgency, urgency_f.is_some()),
        ("来源", &q.channel, channel_f.is_some()),
    ] {
        if !v.is_empty() && !known {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("{label}筛选“{v}”无法识别：请从列表中选择"),
            );
        }
    }
    let page = q.page.unwrap_or(1).clamp(1, 10_000);
    let filter = ReportFilter {
        division: None,
        state: state_f,
        urgency: urgency_f,
        channel: channel_f,
        open: q.open == "1",
        page,
        per_page: PER_PAGE,
    };
    let reports = match state.store.list_reports(scope, &filter).await {
        Ok(r) => r,
        Err(e) => return store_error_page(e),
    };
    render(&ListPage {
        layout: Layout::for_caller(&caller, "/reports"),
        items: reports.iter().map(ReportLine::new).collect(),
        states: ReportState::ALL
            .iter()
            .map(|s| (s.code(), s.label()))
            .collect(),
        urgencies: Urgency::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        channels: Channel::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        can_file: allows(scope.role, Action::FileReports),
        prev_href: (page > 1).then(|| list_href(&q, page - 1)),
        next_href: (reports.len() as u32 == PER_PAGE).then(|| list_href(&q, page + 1)),
        page,
        q,
    })
}

// ---- filing a report ---------------------------------------------------------------------

/// The form as posted; `situations` repeats and is read from the raw pairs.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub urgency: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub discovered_at: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub child_id: String,
    #[serde(default)]
    pub child_name: String,
    #[serde(default)]
    pub child_sex: String,
    #[serde(default)]
    pub child_age: String,
    #[serde(default)]
    pub child_id_number: String,
    #[serde(default)]
    pub child_school: String,
    #[serde(default)]
    pub child_other: String,
    #[serde(default)]
    pub reporter_name: String,
    #[serde(default)]
    pub reporter_unit: String,
    #[serde(default)]
    pub reporter_institution: String,
    #[serde(default)]
    pub reporter_phone: String,
    #[serde(skip)]
    pub situations: Vec<String>,
}

impl ReportForm {
    fn has_situation(&self, code: &str) -> bool {
        self.situations.iter().any(|s| s == code)
    }

    /// The report as the domain checks it; a field the form itself cannot read is refused
    /// here with the domain's field name.
    fn input(&self) -> Result<ReportInput, (&'static str, String)> {
        let age = match self.child_age.trim() {
            "" => None,
            s => Some(s.parse::<u32>().map_err(|_| {
                (
                    "child.age",
                    format!("儿童年龄“{s}”应为 0 到 17 之间的整数（周岁），不清楚可不填"),
                )
            })?),
        };
        let institution = match self.reporter_institution.trim() {
            "" => None,
            s => Some(Institution::parse(s).ok_or((
                "reporter.institution",
                "报告单位类别无法识别：请从列表中选择".to_string(),
            ))?),
        };
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(ReportInput {
            channel: opt(&self.channel),
            situations: self.situations.clone(),
            urgency: opt(&self.urgency),
            description: self.description.clone(),
            place: opt(&self.place),
            discovered_at: opt(&self.discovered_at),
            child: ChildHint {
                name: self.child_name.clone(),
                sex: self.child_sex.clone(),
                age,
                id_number: self.child_id_number.clone(),
                school: self.child_school.clone(),
                other: self.child_other.clone(),
            },
            reporter: Reporter {
                name: self.reporter_name.clone(),
                unit: self.reporter_unit.clone(),
                institution,
                phone: self.reporter_phone.clone(),
                anonymous: false,
            },
        })
    }
}

/// A ledger child found by the form's search.
pub struct ChildChoice {
    pub id: String,
    pub name: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "report_new.html")]
struct NewPage {
    layout: Layout,
    form: ReportForm,
    is_reporter: bool,
    can_search: bool,
    channels: Vec<(&'static str, &'static str)>,
    situations: Vec<(&'static str, &'static str)>,
    urgencies: Vec<(&'static str, &'static str)>,
    institutions: Vec<(&'static str, &'static str)>,
    places: Vec<PlaceGroup>,
    child_q: String,
    found: Vec<ChildChoice>,
    chosen: Option<ChildChoice>,
    error: Option<String>,
    error_field: String,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    child_q: String,
    #[serde(default)]
    child_id: String,
}

/// Ledger children matching `q` within the caller's reach (name, initials or 身份证号).
async fn search_children(state: &AppState, scope: &Scope, q: &str) -> Vec<ChildChoice> {
    let q = q.trim();
    if q.is_empty() || !allows(scope.role, Action::ViewChildren) {
        return vec![];
    }
    let filter = ChildFilter {
        q: Some(q.to_string()),
        page: 1,
        per_page: 20,
        ..ChildFilter::default()
    };
    state
        .store
        .list_children(scope, &filter)
        .await
        .map(|(rows, _)| {
            rows.into_iter()
                .map(|c| ChildChoice {
                    detail: format!(
                        "{} · {} · {}",
                        c.sex,
                        c.id_masked,
                        c.division_name.clone().unwrap_or_default()
                    ),
                    id: c.id,
                    name: c.name,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The child a form names by id, as its reader sees it (None: not theirs to see).
async fn chosen_child(state: &AppState, caller: &Caller, id: &str) -> Option<ChildChoice> {
    if id.trim().is_empty() || !allows(caller.scope().role, Action::ViewChildren) {
        return None;
    }
    let c = state
        .store
        .read_child(caller.scope(), id.trim(), false, &caller.ip)
        .await
        .ok()?;
    let place = state
        .store
        .place_name(c.record.division())
        .await
        .unwrap_or_default();
    Some(ChildChoice {
        id: c.id.clone(),
        name: c.record.name.clone(),
        detail: place,
    })
}

async fn new_page(
    state: &AppState,
    caller: &Caller,
    form: ReportForm,
    child_q: String,
    error: Option<(String, String)>,
) -> Response {
    let scope = caller.scope();
    let found = search_children(state, scope, &child_q).await;
    let chosen = chosen_child(state, caller, &form.child_id).await;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (error, error_field) = match error {
        Some((m, f)) => (Some(m), f.replace('.', "_")),
        None => (None, String::new()),
    };
    let mut res = render(&NewPage {
        layout: Layout::for_caller(caller, "/reports"),
        is_reporter: scope.role == Role::Reporter,
        can_search: allows(scope.role, Action::ViewChildren),
        channels: STAFF_CHANNELS
            .iter()
            .map(|c| (c.code(), c.label()))
            .collect(),
        situations: Situation::ALL
            .iter()
            .map(|s| (s.code(), s.label()))
            .collect(),
        urgencies: Urgency::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        institutions: Institution::ALL
            .iter()
            .map(|s| (s.code(), s.label()))
            .collect(),
        places: place_options(state, scope).await,
        child_q,
        found,
        chosen,
        form,
        error,
        error_field,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

pub async fn new_form(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NewQuery>,
) -> Response {
    let scope = caller.scope();
    if !allows(scope.role, Action::FileReports) {
        return refuse_role("您的角色不能登记报告。");
    }
    let mut form = ReportForm {
        child_id: q.child_id.trim().to_string(),
        division: scope.home().map(|h| h.full()).unwrap_or_default(),
        ..ReportForm::default()
    };
    if scope.role == Role::Reporter {
        form.channel = Channel::Mandatory.code().into();
        form.reporter_name = caller.user.display_name.clone();
    }
    new_page(&state, &caller, form, q.child_q, None).await
}

pub async fn create(State(state): State<AppState>, form: CsrfForm<ReportForm>) -> Response {
    let CsrfForm {
        caller,
        mut form,
        pairs,
    } = form;
    let scope = caller.scope();
    if !allows(scope.role, Action::FileReports) {
        return refuse_role("您的角色不能登记报告。");
    }
    form.situations = pairs
        .iter()
        .filter(|(k, _)| k == "situations")
        .map(|(_, v)| v.clone())
        .collect();
    let again = |form: ReportForm, field: &str, message: String| {
        let field = field.to_string();
        let state = state.clone();
        let caller = caller.clone();
        async move { new_page(&state, &caller, form, String::new(), Some((message, field))).await }
    };
    // A reporting institution files mandatory reports only; others choose among the
    // channels filed by hand.
    let fixed = if scope.role == Role::Reporter {
        Some(Channel::Mandatory)
    } else {
        match Channel::parse(&form.channel) {
            Some(c) if STAFF_CHANNELS.contains(&c) => None,
            _ => {
                return again(
                    form,
                    "channel",
                    "请选择报告来源：强制报告、来访、来电或部门发现".into(),
                )
                .await
            }
        }
    };
    let input = match form.input() {
        Ok(i) => i,
        Err((field, message)) => return again(form, field, message).await,
    };
    let now = chrono::DateTime::from_timestamp_millis(state.store.clock().now_ms())
        .unwrap_or_default()
        .with_timezone(&weibao_domain::visit::cst());
    let report = match input.check(now, fixed) {
        Ok(r) => r,
        Err(e) => return again(form, e.field, e.invalid.message).await,
    };
    let child_id = Some(form.child_id.trim().to_string()).filter(|s| !s.is_empty());
    let division = match (form.division.trim(), &child_id, scope.home()) {
        ("", Some(_), Some(home)) => home,
        ("", _, _) => {
            return again(
                form,
                "division",
                "请选择事发地或儿童所在的村（居）；不清楚时选择乡镇或县（区）".into(),
            )
            .await
        }
        (d, _, _) => match DivisionCode::parse(d) {
            Ok(c) => c,
            Err(e) => return again(form, "division", e.message).await,
        },
    };
    let filed = state
        .store
        .file_report(
            scope,
            NewReport {
                report,
                division,
                child_id,
                visit_id: None,
                hotline_order: None,
                hotline_due_at: None,
            },
            &caller.ip,
        )
        .await;
    match filed {
        Ok(f) => Redirect::to(&format!("/reports/{}?notice=filed", f.id)).into_response(),
        Err(e @ (StoreError::Invalid { .. } | StoreError::Conflict { .. })) => {
            let field = match &e {
                StoreError::Invalid { field, .. } | StoreError::Conflict { field, .. } => *field,
                _ => "",
            };
            again(form, field, ApiError::from(e).message).await
        }
        Err(e) => store_error_page(e),
    }
}

// ---- one report ----------------------------------------------------------------------------

/// The office's view of a possible duplicate.
struct DuplicateLine {
    id: String,
    number: String,
    at: String,
    situations: String,
    state: &'static str,
}

/// What the page shows of a report.
struct ReportView {
    id: String,
    number: String,
    channel: &'static str,
    situations: Vec<&'static str>,
    urgency: &'static str,
    urgent: bool,
    waiting: bool,
    state: &'static str,
    open: bool,
    place: String,
    child_id: Option<String>,
    discovered_at: String,
    reported_at: String,
    description: String,
    place_detail: String,
    child: ChildHint,
    reporter: Reporter,
    institution: Option<&'static str>,
    reporter_visible: bool,
    sealed: bool,
    withheld: bool,
    merged_into: Option<String>,
    reply: String,
    replied_at: Option<String>,
    acknowledged_at: Option<String>,
    hotline_order: Option<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    layout: Layout,
    r: ReportView,
    referrals: Vec<ReferralLine>,
    timeline: Vec<StepLine>,
    duplicates: Vec<DuplicateLine>,
    case: Option<(String, String)>,
    office: bool,
    attachments: Vec<AttachmentLine>,
    targets: Vec<TargetGroup>,
    urgencies: Vec<(&'static str, &'static str)>,
    consents: Vec<(&'static str, &'static str)>,
    child_q: String,
    found: Vec<ChildChoice>,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

/// An attachment as the report page lists it.
pub struct AttachmentLine {
    id: String,
    name: String,
    image: bool,
    size: String,
    at: String,
}

impl AttachmentLine {
    fn new(a: &weibao_store::ReportAttachment) -> AttachmentLine {
        AttachmentLine {
            id: a.id.clone(),
            name: a.name.clone(),
            image: a.content_type.starts_with("image/"),
            size: crate::text::file_size(a.size),
            at: beijing_time(a.uploaded_at),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    notice: Option<String>,
    #[serde(default)]
    child_q: String,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    report_page(
        &state,
        &caller,
        &id,
        q.notice,
        q.child_q,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

/// The case opened from a report, if the reader sees one: (id, number). The store has no
/// lookup by report: the child's cases when the report names a ledger child, else the
/// county's newest cases (a case is opened soon after its report).
async fn case_of(
    state: &AppState,
    scope: &Scope,
    report: &StoredReport,
) -> Option<(String, String)> {
    let of_child = match &report.child_id {
        Some(child) => state.store.child_cases(scope, child).await.ok(),
        None => None,
    };
    let cases = match of_child {
        Some(c) => c,
        None => state.store.list_cases(scope, None, false, 100).await.ok()?,
    };
    cases
        .into_iter()
        .find(|c| c.report_id.as_deref() == Some(report.id.as_str()))
        .map(|c| (c.id, c.number))
}

async fn report_page(
    state: &AppState,
    caller: &Caller,
    id: &str,
    notice: Option<String>,
    child_q: String,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let report = match state.store.report(scope, id, &caller.ip).await {
        Ok(r) => r,
        Err(e) => return store_error_page(e),
    };
    let now = state.store.clock().now_ms();
    let office = scope.role == Role::Office && !report.withheld;
    let referrals = if report.withheld {
        vec![]
    } else {
        state
            .store
            .referrals_of(scope, &report.county_code, &report.id)
            .await
            .unwrap_or_default()
    };
    let timeline = state
        .store
        .report_timeline(scope, &report)
        .await
        .unwrap_or_default();
    let duplicates = if office {
        state
            .store
            .possible_duplicates(scope, &report)
            .await
            .unwrap_or_default()
            .iter()
            .map(|d| DuplicateLine {
                id: d.id.clone(),
                number: d.number.clone(),
                at: beijing_time(d.reported_at),
                // The store offers duplicates whole; a sealed one shows only that it is.
                situations: if d.sealed {
                    "已封存".into()
                } else {
                    short_situations(&d.situations)
                },
                state: d.state.label(),
            })
            .collect()
    } else {
        vec![]
    };
    let case = if matches!(report.state, ReportState::InCase | ReportState::Closed)
        && !report.withheld
        && scope.role != Role::Reporter
    {
        case_of(state, scope, &report).await
    } else {
        None
    };
    let place = match DivisionCode::parse(&report.division_code) {
        Ok(c) => state.store.place_name(c).await.unwrap_or_default(),
        Err(_) => report.division_code.clone(),
    };
    let targets = if office && report.state.is_open() {
        unit_targets(state, scope, &report.county_code).await
    } else {
        vec![]
    };
    let found = if office {
        search_children(state, scope, &child_q).await
    } else {
        vec![]
    };
    let attachments = state
        .store
        .report_attachments(scope, &report)
        .await
        .unwrap_or_default()
        .iter()
        .map(AttachmentLine::new)
        .collect();
    let r = report;
    let view = ReportView {
        number: r.number.clone(),
        channel: r.channel.label(),
        situations: r.situations.iter().map(|s| s.label()).collect(),
        urgency: r.urgency.label(),
        urgent: r.urgency == Urgency::Urgent,
        waiting: r.urgency == Urgency::Urgent && r.acknowledged_at.is_none() && r.state.is_open(),
        state: r.state.label(),
        open: r.state.is_open(),
        place,
        child_id: r.child_id.clone(),
        discovered_at: beijing_time(r.discovered_at),
        reported_at: beijing_time(r.reported_at),
        description: r.details.description.clone(),
        place_detail: r.details.place.clone(),
        institution: r.details.reporter.institution.map(|i| i.label()),
        child: r.details.child.clone(),
        reporter: r.details.reporter.clone(),
        reporter_visible: r.reporter_visible,
        sealed: r.sealed,
        withheld: r.withheld,
        merged_into: r.merged_into.clone(),
        reply: r.reply.clone(),
        replied_at: r.replied_at.map(beijing_time),
        acknowledged_at: r.acknowledged_at.map(beijing_time),
        hotline_order: r.hotline_order.clone(),
        id: r.id,
    };
    let mut res = render(&ReportPage {
        layout: Layout::for_caller(caller, "/reports"),
        referrals: referrals
            .iter()
            .map(|x| ReferralLine::new(x, now, view.reporter_visible, scope))
            .collect(),
        timeline: timeline.iter().map(StepLine::new).collect(),
        duplicates,
        case,
        office,
        attachments,
        targets,
        urgencies: Urgency::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        consents: ConsentBy::ALL
            .iter()
            .map(|s| (s.code(), s.label()))
            .collect(),
        child_q,
        found,
        failed,
        notice,
        csrf: caller.user.csrf_token.clone(),
        r: view,
    });
    *res.status_mut() = status;
    res
}

/// After an office action: back to the report with a notice, or the page again with the
/// refusal in the form.
async fn after(
    state: &AppState,
    caller: &Caller,
    id: &str,
    form: &'static str,
    result: Result<String, StoreError>,
    pairs: &[(String, String)],
) -> Response {
    match result {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => {
                report_page(state, caller, id, None, String::new(), failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

/// A refusal made by the page before the store (a choice missing).
async fn refused_here(
    state: &AppState,
    caller: &Caller,
    id: &str,
    form: &'static str,
    field: &str,
    message: &str,
    pairs: &[(String, String)],
) -> Response {
    let failed = Failed::new(form, message.to_string(), field, pairs);
    report_page(
        state,
        caller,
        id,
        None,
        String::new(),
        failed,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// The office's actions: refused at once for other roles (the store would refuse them
/// too; this keeps a bad form from being looked at first).
fn office_only(caller: &Caller) -> Option<Response> {
    (!allows(caller.scope().role, Action::TriageReports))
        .then(|| refuse_role("只有未保办可以研判、转介和答复报告。"))
}

/// The attachment form's body limit: a few files at the store's limit each.
pub const ATTACHMENTS_FORM_LIMIT: usize = 3 * weibao_store::MAX_ATTACHMENT_BYTES + 64 * 1024;

/// Files added to a report from its page (the office, a handling unit, the filer).
pub async fn attach(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfMultipart,
) -> Response {
    let CsrfMultipart {
        caller,
        fields,
        files,
        file_names,
    } = form;
    if let Err(e) = state.store.check_attachable(caller.scope(), &id).await {
        return after(&state, &caller, &id, "attach", Err(e), &fields).await;
    }
    if files.is_empty() {
        return refused_here(
            &state,
            &caller,
            &id,
            "attach",
            "file",
            "请选择要上传的照片或 PDF 扫描件",
            &fields,
        )
        .await;
    }
    for ((_, bytes), name) in files.into_iter().zip(file_names) {
        if let Err(e) = state
            .store
            .attach_to_report(caller.scope(), &id, &name, bytes, &caller.ip)
            .await
        {
            // Files before this one are kept (each is acknowledged on its own).
            return after(&state, &caller, &id, "attach", Err(e), &fields).await;
        }
    }
    Redirect::to(&done(&id, "attached")).into_response()
}

fn done(id: &str, notice: &str) -> String {
    format!("/reports/{id}?notice={notice}")
}

#[derive(Deserialize)]
pub struct TriageForm {
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    note: String,
}

pub async fn triage(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<TriageForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = office_only(&caller) {
        return r;
    }
    let Some(urgency) = Urgency::parse(&form.urgency) else {
        return refused_here(
            &state,
            &caller,
            &id,
            "triage",
            "urgency",
            "请选择紧急程度",
            &pairs,
        )
        .await;
    };
    let result = state
        .store
        .triage_report(caller.scope(), &id, urgency, &form.note, &caller.ip)
        .await
        .map(|()| done(&id, "triaged"));
    after(&state, &caller, &id, "triage", result, &pairs).await
}

#[derive(Deserialize)]
pub struct Nothing {}

pub async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Nothing>,
) -> Response {
    let CsrfForm { caller, pairs, .. } = form;
    if let Some(r) = office_only(&caller) {
        return r;
    }
    let result = state
        .store
        .acknowledge_report(caller.scope(), &id, &caller.ip)
        .await
        .map(|()| done(&id, "acknowledged"));
    after(&state, &caller, &id, "acknowledge", result, &pairs).await
}

#[derive(Deserialize)]
pub struct ReferForm {
    #[serde(default)]
    to_unit: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    consent_by: String,
    #[serde(default)]
    consent_note: String,
}

pub async fn refer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<ReferForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = office_only(&caller) {
        return r;
    }
    let Some(target) = parse_target(&form.to_unit) else {
        return refused_here(
            &state,
            &caller,
            &id,
            "refer",
            "to_unit",
            "请选择接收单位",
            &pairs,
        )
        .await;
    };
    let consent_by = Some(form.consent_by.trim()).filter(|s| !s.is_empty());
    let result = state
        .store
        .refer(
            caller.scope(),
            &id,
            target,
            &form.note,
            consent_by,
            &form.consent_note,
            &caller.ip,
        )
        .await
        .map(|r| format!("/reports/{id}?notice=referred#referral-{}", r.id));
    after(&state, &caller, &id, "refer", result, &pairs).await
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    child_id: String,
}

pub async fn link_child(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<LinkForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = office_only(&caller) {
        return r;
    }
    if form.child_id.trim().is_empty() {
        return refused_here(
            &state,
            &caller,
            &id,
            "link",
            "child_id",
            "请先查找并选择台账中的儿童，或填写儿童的记录编号",
            &pairs,
        )
        .await;
    }
    let result = state
        .store
        .link_report_child(caller.scope(), &id, form.child_id.trim(), &caller.ip)
        .await
        .map(|()| done(&id, "linked"));
    after(&state, &caller, &id, "link", result, &pairs).await
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    reply: String,
    #[serde(default)]
    close: Option<String>,
}

pub async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<ReplyForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = office_only(&caller) {
        return r;
    }
    let close = form.close.is_some();
    let result = state
        .store
        .reply_report(caller.scope(), &id, &form.reply, close, &caller.ip)
        .await
        .map(|()| done(&id, if close { "closed" } else { "replied" }));
    after(&state, &caller, &id, "reply", result, &pairs).await
}

#[derive(Deserialize)]
pub struct MergeForm {
    #[serde(default)]
    other: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

pub async fn merge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<MergeForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if let Some(r) = office_only(&caller) {
        return r;
    }
    let merge = match form.decision.as_str() {
        "merge" => true,
        "apart" => false,
        _ => {
            return refused_here(
                &state,
                &caller,
                &id,
                "merge",
                "decision",
                "请选择合并或分开处理",
                &pairs,
            )
            .await
        }
    };
    let result = state
        .store
        .merge_report(
            caller.scope(),
            &id,
            &form.other,
            merge,
            &form.reason,
            &caller.ip,
        )
        .await
        .map(|()| done(&id, if merge { "merged" } else { "apart" }));
    after(&state, &caller, &id, "merge", result, &pairs).await
}

#[derive(Deserialize)]
pub struct CaseForm {
    #[serde(default)]
    lead: String,
}

pub async fn open_case(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<CaseForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if !allows(caller.scope().role, Action::ManageCases) {
        return refuse_role("只有未保办可以立案。");
    }
    let lead = match form.lead.trim() {
        "" => None,
        v => match parse_target(v) {
            Some(t) => Some(t),
            None => {
                return refused_here(
                    &state,
                    &caller,
                    &id,
                    "case",
                    "lead",
                    "请从列表中选择牵头单位",
                    &pairs,
                )
                .await
            }
        },
    };
    let result = state
        .store
        .open_case(caller.scope(), Some(&id), None, lead, &caller.ip)
        .await
        .map(|c| format!("/cases/{}?notice=opened", c.id));
    after(&state, &caller, &id, "case", result, &pairs).await
}

#[derive(Deserialize)]
pub struct AccessForm {
    #[serde(default)]
    reason: String,
}

pub async fn request_access(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<AccessForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if !allows(caller.scope().role, Action::ViewReports) {
        return refuse_role("您的角色不能查看报告。");
    }
    let result = state
        .store
        .request_sealed_access(caller.scope(), &id, &form.reason, &caller.ip)
        .await
        .map(|_| done(&id, "access_requested"));
    after(&state, &caller, &id, "access", result, &pairs).await
}
