//! Ledger pages: the list with filters, a child's page with its timeline, the create and
//! edit form, transfers.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action};
use weibao_domain::child::{
    Capacity, Category, DisabilityKind, HealthStatus, Hukou, ParentStatus, Risk, SchoolStatus,
    Support,
};
use weibao_domain::record::{ChildPatch, ChildRecord, GuardianInput, ParentInput};
use weibao_domain::{DivisionCode, Level};
use weibao_store::{ChildVersion, StoreError, StoredChild, Transfer};

use super::forms::NoticeQuery;
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::api::children::{ChildListItem, ChildQuery, ChildView};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::error::ApiError;
use crate::AppState;

/// Choices offered by the filter and form selects.
pub struct Choices {
    pub categories: Vec<&'static str>,
    pub risks: Vec<&'static str>,
    pub schools: Vec<&'static str>,
    pub supports: Vec<&'static str>,
    pub healths: Vec<&'static str>,
    pub hukous: Vec<&'static str>,
    pub disabilities: Vec<&'static str>,
    pub parent_statuses: Vec<&'static str>,
    pub capacities: Vec<&'static str>,
}

impl Choices {
    fn new(designated: bool) -> Choices {
        Choices {
            categories: Category::ALL
                .iter()
                .filter(|c| designated || **c != Category::AffectedByHiv)
                .map(|c| c.label())
                .collect(),
            risks: Risk::ALL.iter().map(|r| r.label()).collect(),
            schools: SchoolStatus::ALL.iter().map(|s| s.label()).collect(),
            supports: Support::ALL.iter().map(|s| s.label()).collect(),
            healths: HealthStatus::ALL.iter().map(|s| s.label()).collect(),
            hukous: Hukou::ALL.iter().map(|s| s.label()).collect(),
            disabilities: DisabilityKind::ALL.iter().map(|s| s.label()).collect(),
            parent_statuses: ParentStatus::ALL.iter().map(|s| s.label()).collect(),
            capacities: Capacity::ALL.iter().map(|s| s.label()).collect(),
        }
    }
}

// ---- list ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "children.html")]
struct ListPage {
    layout: Layout,
    q: ChildQuery,
    items: Vec<ChildListItem>,
    total: String,
    total_exact: bool,
    page: u32,
    pages: u32,
    prev_href: Option<String>,
    next_href: Option<String>,
    export_href: String,
    can_edit: bool,
    choices: Choices,
    villages: Vec<(String, String)>,
}

fn query_string(q: &ChildQuery, page: Option<u32>) -> String {
    let mut parts: Vec<(String, String)> = Vec::new();
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            parts.push((k.into(), v));
        }
    };
    add("division", q.division.clone());
    add("category", q.category.clone());
    add("risk", q.risk.clone());
    add("sex", q.sex.clone());
    add("school", q.school.clone());
    add("support", q.support.clone());
    add("age_min", q.age_min.map(|v| v.to_string()));
    add("age_max", q.age_max.map(|v| v.to_string()));
    add("q", q.q.clone());
    add("sort", q.sort.clone());
    add(
        "include_adults",
        q.include_adults.filter(|b| *b).map(|_| "true".into()),
    );
    add("page", page.filter(|p| *p > 1).map(|p| p.to_string()));
    serde_urlencoded::to_string(&parts).unwrap_or_default()
}

/// The villages within the caller's reach, for selects: (code, name).
async fn villages(state: &AppState, caller: &Caller) -> Vec<(String, String)> {
    let scope = caller.scope();
    let Some(home) = scope.home() else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut frontier = vec![home];
    while let Some(code) = frontier.pop() {
        if code.level() == Level::Village {
            if let Ok(d) = state.store.division(scope, code).await {
                out.push((d.code.clone(), d.name.clone()));
            }
            continue;
        }
        if let Ok(children) = state.store.division_children(scope, code).await {
            for c in children {
                let cc = c.code();
                if cc.level() == Level::Village {
                    out.push((c.code.clone(), c.name.clone()));
                } else if out.len() < 5000 {
                    frontier.push(cc);
                }
            }
        }
    }
    out.sort();
    out
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<ChildQuery>,
) -> Response {
    let scope = caller.scope();
    if !allows(scope.role, Action::ViewChildren) {
        return error_page(StatusCode::FORBIDDEN, "您的角色无权查看儿童台账。");
    }
    let filter = match q.to_filter() {
        Ok(f) => f,
        Err(e) => return error_page(e.status, &e.message),
    };
    let (rows, total) = match state.store.list_children(scope, &filter).await {
        Ok(x) => x,
        Err(e) => return store_error_page(e),
    };
    let today = state.store.clock().today();
    // Past a capped count the pages go on while there are more (the count reaches at
    // least one page past this one).
    let pages = (total.count.max(1) as u32).div_ceil(filter.per_page);
    let page = filter.page;
    render(&ListPage {
        layout: Layout::for_caller(&caller, "/children"),
        items: rows.iter().map(|r| ChildListItem::new(r, today)).collect(),
        total: total.caption(),
        total_exact: total.exact,
        page,
        pages,
        prev_href: (page > 1).then(|| format!("/children?{}", query_string(&q, Some(page - 1)))),
        next_href: (page < pages)
            .then(|| format!("/children?{}", query_string(&q, Some(page + 1)))),
        export_href: format!("/api/v1/children/export.xlsx?{}", query_string(&q, None)),
        can_edit: allows(scope.role, Action::EditChildren),
        choices: Choices::new(scope.designated),
        villages: villages(&state, &caller).await,
        q,
    })
}

// ---- one child -------------------------------------------------------------------------

struct TimelineEntry {
    at: String,
    actor: String,
    kind: &'static str,
    changes: Vec<(String, String, String)>,
}

impl TimelineEntry {
    fn new(v: ChildVersion) -> TimelineEntry {
        TimelineEntry {
            at: beijing_time(v.at),
            actor: v.actor_name,
            kind: match v.kind.as_str() {
                "create" => "登记",
                "transfer" => "迁移",
                "visit" => "探访",
                _ => "修改",
            },
            changes: v
                .changes
                .into_iter()
                .map(|c| {
                    let mask = |s: String| {
                        if c.field == "id_number" && s.len() > 8 {
                            format!("{}**********{}", &s[..4], &s[s.len() - 4..])
                        } else {
                            s
                        }
                    };
                    (c.label, mask(c.old), mask(c.new))
                })
                .collect(),
        }
    }
}

/// A case of the child as a line on their page.
struct CaseLine {
    id: String,
    number: String,
    state: &'static str,
    withheld: bool,
}

#[derive(Template)]
#[template(path = "child.html")]
struct ChildPage {
    reports: Vec<super::reports::ReportLine>,
    cases: Vec<CaseLine>,
    visits: Vec<super::visits::VisitLine>,
    schedule: Option<String>,
    alerts: Vec<weibao_store::Alert>,
    can_visit: bool,
    can_resolve: bool,
    layout: Layout,
    c: ChildView,
    place: String,
    timeline: Vec<TimelineEntry>,
    transfers: Vec<TransferRow>,
    can_edit: bool,
    can_reveal: bool,
    can_transfer: bool,
    csrf: String,
    notice: Option<String>,
}

struct TransferRow {
    to: String,
    status: &'static str,
    reason: String,
    at: String,
}

fn transfer_status(s: &str) -> &'static str {
    match s {
        "pending" => "待接收",
        "accepted" => "已接收",
        "rejected" => "被拒绝",
        _ => "其他",
    }
}

#[derive(Deserialize)]
pub struct ChildPageQuery {
    reveal: Option<String>,
    notice: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
    Query(q): Query<ChildPageQuery>,
) -> Response {
    let scope = caller.scope();
    let reveal = q.reveal.as_deref() == Some("1");
    let child = match state.store.read_child(scope, &id, reveal, &caller.ip).await {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    child_page(&state, &caller, child, reveal, q.notice).await
}

async fn child_page(
    state: &AppState,
    caller: &Caller,
    child: StoredChild,
    reveal: bool,
    notice: Option<String>,
) -> Response {
    let scope = caller.scope();
    let today = state.store.clock().today();
    let timeline = state
        .store
        .child_history(scope, &child.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(TimelineEntry::new)
        .collect();
    let mut transfers = Vec::new();
    for t in state
        .store
        .child_transfers(scope, &child.id)
        .await
        .unwrap_or_default()
    {
        transfers.push(transfer_row(state, t).await);
    }
    let division = child.record.division();
    let place = state.store.place_name(division).await.unwrap_or_default();
    let can = |a: Action| scope.check(a, division).is_ok();
    let visits = state
        .store
        .child_visits(scope, &child.id)
        .await
        .unwrap_or_default()
        .iter()
        .map(super::visits::VisitLine::new)
        .collect();
    let schedule = state
        .store
        .child_schedule(&child)
        .await
        .ok()
        .map(|(due, reason, _)| {
            let label = weibao_domain::visit::DueReason::parse(&reason)
                .map(|r| r.label())
                .unwrap_or("定期探访");
            if due < today {
                format!(
                    "{label}已逾期 {} 天（应于 {due} 前）",
                    (today - due).num_days()
                )
            } else {
                format!("{label}：{due} 前")
            }
        });
    let alerts = state
        .store
        .child_alerts(scope, &child)
        .await
        .unwrap_or_default();
    // The ledger knows nothing of reports and cases; the page asks for both.
    let reports = state
        .store
        .child_reports(scope, &child.id)
        .await
        .unwrap_or_default()
        .iter()
        .map(super::reports::ReportLine::new)
        .collect();
    let cases = state
        .store
        .child_cases(scope, &child.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| CaseLine {
            state: c.state.label(),
            withheld: c.withheld,
            id: c.id,
            number: c.number,
        })
        .collect();
    render(&ChildPage {
        reports,
        cases,
        visits,
        schedule,
        alerts,
        can_visit: can(Action::RecordVisits),
        can_resolve: can(Action::ResolveAlerts),
        layout: Layout::for_caller(caller, "/children"),
        c: ChildView::new(&child, reveal, today),
        place,
        timeline,
        transfers,
        can_edit: can(Action::EditChildren),
        can_reveal: can(Action::RevealChild) && !reveal,
        can_transfer: can(Action::TransferChildren)
            && child.status == weibao_store::ChildStatus::Active,
        csrf: caller.user.csrf_token.clone(),
        notice,
    })
}

async fn transfer_row(state: &AppState, t: Transfer) -> TransferRow {
    let to = DivisionCode::parse(&t.to_division)
        .ok()
        .map(|c| async move { state.store.place_name(c).await.unwrap_or_default() });
    TransferRow {
        to: match to {
            Some(f) => f.await,
            None => t.to_division.clone(),
        },
        status: transfer_status(&t.status),
        reason: t.reason,
        at: beijing_time(t.requested_at),
    }
}

// ---- create / edit ---------------------------------------------------------------------

/// The form as posted: flat fields (guardian rows g1_*, g2_*); the checkbox lists
/// (`support`, `categories`) repeat their name and are read from the raw pairs.
#[derive(Clone, Default, Deserialize)]
pub struct ChildForm {
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    division: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    hukou: String,
    #[serde(default)]
    hukou_address: String,
    #[serde(default)]
    school_status: String,
    #[serde(default)]
    school_name: String,
    #[serde(default)]
    grade: String,
    #[serde(default)]
    not_in_school_reason: String,
    #[serde(default)]
    health: String,
    #[serde(default)]
    illness: String,
    #[serde(default)]
    disability_kind: String,
    #[serde(default)]
    disability_grade: String,
    #[serde(default)]
    father_name: String,
    #[serde(default)]
    father_id_number: String,
    #[serde(default)]
    father_status: String,
    #[serde(default)]
    father_since: String,
    #[serde(default)]
    father_place: String,
    #[serde(default)]
    father_evidence: String,
    #[serde(default)]
    mother_name: String,
    #[serde(default)]
    mother_id_number: String,
    #[serde(default)]
    mother_status: String,
    #[serde(default)]
    mother_since: String,
    #[serde(default)]
    mother_place: String,
    #[serde(default)]
    mother_evidence: String,
    #[serde(default)]
    g1_name: String,
    #[serde(default)]
    g1_relationship: String,
    #[serde(default)]
    g1_phone: String,
    #[serde(default)]
    g1_capacity: String,
    #[serde(default)]
    g1_caregiver: Option<String>,
    #[serde(default)]
    g2_name: String,
    #[serde(default)]
    g2_relationship: String,
    #[serde(default)]
    g2_phone: String,
    #[serde(default)]
    g2_capacity: String,
    #[serde(default)]
    g2_caregiver: Option<String>,
    #[serde(skip)]
    support: Vec<String>,
    #[serde(skip)]
    categories: Vec<String>,
    #[serde(default)]
    auto_categories: Option<String>,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    notes: String,
}

impl ChildForm {
    fn from_record(r: &ChildRecord) -> ChildForm {
        let g = |i: usize| r.guardians.get(i);
        ChildForm {
            version: None,
            name: r.name.clone(),
            id_number: r
                .id_number
                .as_ref()
                .map(|i| i.to_string())
                .unwrap_or_default(),
            division: r.division.map(|d| d.full()).unwrap_or_default(),
            address: r.address.clone(),
            hukou: r.hukou.label().into(),
            hukou_address: r.hukou_address.clone(),
            school_status: r
                .school_status
                .map(|s| s.label().to_string())
                .unwrap_or_default(),
            school_name: r.school_name.clone(),
            grade: r.grade.clone(),
            not_in_school_reason: r.not_in_school_reason.clone(),
            health: r.health.label().into(),
            illness: r.illness.clone(),
            disability_kind: r
                .disability
                .map(|d| d.kind.label().to_string())
                .unwrap_or_default(),
            disability_grade: r
                .disability
                .map(|d| d.grade.to_string())
                .unwrap_or_default(),
            father_name: r.father.name.clone(),
            father_id_number: r.father.id_number.clone(),
            father_status: r.father.status.label().into(),
            father_since: r.father.since.map(|d| d.to_string()).unwrap_or_default(),
            father_place: r.father.place.clone(),
            father_evidence: r.father.evidence.clone(),
            mother_name: r.mother.name.clone(),
            mother_id_number: r.mother.id_number.clone(),
            mother_status: r.mother.status.label().into(),
            mother_since: r.mother.since.map(|d| d.to_string()).unwrap_or_default(),
            mother_place: r.mother.place.clone(),
            mother_evidence: r.mother.evidence.clone(),
            g1_name: g(0).map(|g| g.name.clone()).unwrap_or_default(),
            g1_relationship: g(0).map(|g| g.relationship.clone()).unwrap_or_default(),
            g1_phone: g(0).map(|g| g.phone.clone()).unwrap_or_default(),
            g1_capacity: g(0)
                .map(|g| g.capacity.label().to_string())
                .unwrap_or_default(),
            g1_caregiver: g(0).filter(|g| g.actual_caregiver).map(|_| "on".into()),
            g2_name: g(1).map(|g| g.name.clone()).unwrap_or_default(),
            g2_relationship: g(1).map(|g| g.relationship.clone()).unwrap_or_default(),
            g2_phone: g(1).map(|g| g.phone.clone()).unwrap_or_default(),
            g2_capacity: g(1)
                .map(|g| g.capacity.label().to_string())
                .unwrap_or_default(),
            g2_caregiver: g(1).filter(|g| g.actual_caregiver).map(|_| "on".into()),
            support: r.support.iter().map(|s| s.label().to_string()).collect(),
            categories: r.categories.iter().map(|c| c.label().to_string()).collect(),
            auto_categories: None,
            risk: r.risk.label().into(),
            notes: r.notes.clone(),
        }
    }

    fn take_lists(&mut self, pairs: &[(String, String)]) {
        let all = |key: &str| -> Vec<String> {
            pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .collect()
        };
        self.support = all("support");
        self.categories = all("categories");
    }

    fn has_support(&self, s: &&str) -> bool {
        self.support.iter().any(|x| x == s)
    }

    fn has_category(&self, c: &&str) -> bool {
        self.categories.iter().any(|x| x == c)
    }

    /// The patch for the store; `editing` keeps guardians beyond the two rows shown.
    fn into_patch(self, creating: bool, base: Option<&ChildRecord>) -> ChildPatch {
        let opt = |s: String| if s.trim().is_empty() { None } else { Some(s) };
        // A parent's number left blank on an edit stays as it was (the form shows it
        // masked, as the child's own).
        let parent = |name: String,
                      id_number: String,
                      status: String,
                      since: String,
                      place: String,
                      evidence: String| ParentInput {
            status: opt(status),
            since: Some(since),
            evidence: Some(evidence),
            place: Some(place),
            name: Some(name),
            id_number: if creating || !id_number.trim().is_empty() {
                Some(id_number)
            } else {
                None
            },
        };
        let mut guardians = Vec::new();
        for (name, relationship, phone, capacity, caregiver) in [
            (
                self.g1_name,
                self.g1_relationship,
                self.g1_phone,
                self.g1_capacity,
                self.g1_caregiver,
            ),
            (
                self.g2_name,
                self.g2_relationship,
                self.g2_phone,
                self.g2_capacity,
                self.g2_caregiver,
            ),
        ] {
            if name.trim().is_empty() && relationship.trim().is_empty() && phone.trim().is_empty() {
                continue;
            }
            guardians.push(GuardianInput {
                name: Some(name),
                relationship: Some(relationship),
                id_number: None,
                phone: Some(phone),
                capacity: opt(capacity),
                actual_caregiver: caregiver.is_some(),
            });
        }
        if let Some(base) = base {
            // Guardian ID numbers and rows beyond the form's two are kept as they were.
            for (i, g) in guardians.iter_mut().enumerate() {
                if let Some(old) = base.guardians.get(i) {
                    g.id_number = Some(old.id_number.clone());
                }
            }
            for old in base.guardians.iter().skip(2) {
                guardians.push(GuardianInput {
                    name: Some(old.name.clone()),
                    relationship: Some(old.relationship.clone()),
                    id_number: Some(old.id_number.clone()),
                    phone: Some(old.phone.clone()),
                    capacity: Some(old.capacity.label().into()),
                    actual_caregiver: old.actual_caregiver,
                });
            }
        }
        ChildPatch {
            name: Some(self.name),
            id_number: if creating || !self.id_number.trim().is_empty() {
                Some(self.id_number)
            } else {
                None
            },
            division: if creating { Some(self.division) } else { None },
            address: Some(self.address),
            hukou: opt(self.hukou),
            hukou_address: Some(self.hukou_address),
            school_status: Some(self.school_status),
            school_name: Some(self.school_name),
            grade: Some(self.grade),
            not_in_school_reason: Some(self.not_in_school_reason),
            health: opt(self.health),
            illness: Some(self.illness),
            disability_kind: Some(self.disability_kind),
            disability_grade: self.disability_grade.trim().parse().ok(),
            guardians: Some(guardians),
            father: Some(parent(
                self.father_name,
                self.father_id_number,
                self.father_status,
                self.father_since,
                self.father_place,
                self.father_evidence,
            )),
            mother: Some(parent(
                self.mother_name,
                self.mother_id_number,
                self.mother_status,
                self.mother_since,
                self.mother_place,
                self.mother_evidence,
            )),
            support: Some(self.support),
            categories: if creating && self.auto_categories.is_some() {
                None
            } else {
                Some(self.categories)
            },
            orphan_care: None,
            distress_subtypes: None,
            local_flags: None,
            risk: opt(self.risk),
            notes: Some(self.notes),
        }
    }
}

#[derive(Template)]
#[template(path = "child_form.html")]
struct FormPage {
    layout: Layout,
    creating: bool,
    id: String,
    version: i64,
    form: ChildForm,
    error: Option<String>,
    error_field: String,
    villages: Vec<(String, String)>,
    choices: Choices,
    csrf: String,
}

/// What the new-child form may start with (a list match's missing child: name, number,
/// village).
#[derive(Debug, Default, Deserialize)]
pub struct Prefill {
    name: Option<String>,
    id_number: Option<String>,
    division: Option<String>,
}

pub async fn new_form(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(prefill): Query<Prefill>,
) -> Response {
    if !allows(caller.scope().role, Action::EditChildren) {
        return error_page(StatusCode::FORBIDDEN, "您的角色无权登记儿童。");
    }
    let villages = villages(&state, &caller).await;
    let mut form = ChildForm {
        auto_categories: Some("on".into()),
        name: prefill.name.unwrap_or_default().chars().take(30).collect(),
        id_number: prefill
            .id_number
            .unwrap_or_default()
            .chars()
            .take(18)
            .collect(),
        ..ChildForm::default()
    };
    if villages.len() == 1 {
        form.division = villages[0].0.clone();
    } else if let Some(d) = prefill
        .division
        .filter(|d| villages.iter().any(|(code, _)| code == d))
    {
        form.division = d;
    }
    render(&FormPage {
        layout: Layout::for_caller(&caller, "/children"),
        creating: true,
        id: String::new(),
        version: 0,
        form,
        error: None,
        error_field: String::new(),
        villages,
        choices: Choices::new(caller.scope().designated),
        csrf: caller.user.csrf_token.clone(),
    })
}

fn form_error(e: StoreError) -> (String, String) {
    let field = match &e {
        StoreError::Invalid { field, .. } | StoreError::Conflict { field, .. } => field.to_string(),
        _ => String::new(),
    };
    (ApiError::from(e).message, field)
}

pub async fn create(State(state): State<AppState>, form: CsrfForm<ChildForm>) -> Response {
    let CsrfForm {
        caller,
        mut form,
        pairs,
    } = form;
    form.take_lists(&pairs);
    let patch = form.clone().into_patch(true, None);
    match state
        .store
        .create_child(caller.scope(), patch, &caller.ip)
        .await
    {
        Ok(c) => Redirect::to(&format!("/children/{}?notice=created", c.id)).into_response(),
        Err(StoreError::Forbidden) => {
            error_page(StatusCode::FORBIDDEN, "您无权在该村（居）登记儿童。")
        }
        Err(e) => {
            let (msg, field) = form_error(e);
            let villages = villages(&state, &caller).await;
            let mut res = render(&FormPage {
                layout: Layout::for_caller(&caller, "/children"),
                creating: true,
                id: String::new(),
                version: 0,
                form,
                error: Some(msg),
                error_field: field,
                villages,
                choices: Choices::new(caller.scope().designated),
                csrf: caller.user.csrf_token.clone(),
            });
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            res
        }
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
) -> Response {
    let scope = caller.scope();
    let child = match state.store.read_child(scope, &id, false, &caller.ip).await {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    if scope
        .check(Action::EditChildren, child.record.division())
        .is_err()
    {
        return error_page(StatusCode::FORBIDDEN, "您的角色无权修改儿童记录。");
    }
    let mut form = ChildForm::from_record(&child.record);
    // The full number is shown only on reveal; an edit leaves it as it is unless retyped.
    form.id_number = String::new();
    form.father_id_number = String::new();
    form.mother_id_number = String::new();
    render(&FormPage {
        layout: Layout::for_caller(&caller, "/children"),
        creating: false,
        id: child.id.clone(),
        version: child.version,
        form,
        error: None,
        error_field: String::new(),
        villages: vec![],
        choices: Choices::new(scope.designated),
        csrf: caller.user.csrf_token.clone(),
    })
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<ChildForm>,
) -> Response {
    let CsrfForm {
        caller,
        mut form,
        pairs,
    } = form;
    form.take_lists(&pairs);
    let scope = caller.scope();
    let current = match state.store.read_child(scope, &id, false, &caller.ip).await {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    let version = form.version;
    let patch = form.clone().into_patch(false, Some(&current.record));
    match state
        .store
        .update_child(scope, &id, patch, version, &caller.ip)
        .await
    {
        Ok(c) => Redirect::to(&format!("/children/{}?notice=saved", c.id)).into_response(),
        Err(StoreError::Forbidden) => error_page(StatusCode::FORBIDDEN, "您无权修改该记录。"),
        Err(e) => {
            let (msg, field) = form_error(e);
            let mut res = render(&FormPage {
                layout: Layout::for_caller(&caller, "/children"),
                creating: false,
                id,
                version: version.unwrap_or(current.version),
                form,
                error: Some(msg),
                error_field: field,
                villages: vec![],
                choices: Choices::new(scope.designated),
                csrf: caller.user.csrf_token.clone(),
            });
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            res
        }
    }
}

// ---- transfers -------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct TransferForm {
    to_division: String,
    #[serde(default)]
    reason: String,
}

pub async fn transfer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<TransferForm>,
) -> Response {
    let CsrfForm { caller, form, .. } = form;
    let to = match DivisionCode::parse(&form.to_division) {
        Ok(c) => c,
        Err(e) => {
            return error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("迁入地：{}", e.message),
            )
        }
    };
    match state
        .store
        .request_transfer(caller.scope(), &id, to, &form.reason, &caller.ip)
        .await
    {
        Ok(_) => Redirect::to(&format!("/children/{id}?notice=transfer")).into_response(),
        Err(e) => store_error_page(e),
    }
}

struct IncomingRow {
    id: String,
    from: String,
    to: String,
    reason: String,
    requested_by: String,
    at: String,
}

#[derive(Template)]
#[template(path = "transfers.html")]
struct TransfersPage {
    layout: Layout,
    rows: Vec<IncomingRow>,
    csrf: String,
    notice: Option<String>,
}

pub async fn transfers(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let list = match state.store.incoming_transfers(caller.scope()).await {
        Ok(l) => l,
        Err(e) => return store_error_page(e),
    };
    let mut rows = Vec::new();
    for t in list {
        let from = match DivisionCode::parse(&t.from_division) {
            Ok(c) => state.store.place_name(c).await.unwrap_or_default(),
            Err(_) => t.from_division.clone(),
        };
        let to = match DivisionCode::parse(&t.to_division) {
            Ok(c) => state.store.place_name(c).await.unwrap_or_default(),
            Err(_) => t.to_division.clone(),
        };
        rows.push(IncomingRow {
            id: t.id,
            from,
            to,
            reason: t.reason,
            requested_by: t.requested_by,
            at: beijing_time(t.requested_at),
        });
    }
    render(&TransfersPage {
        layout: Layout::for_caller(&caller, "/transfers"),
        rows,
        csrf: caller.user.csrf_token.clone(),
        notice: q.notice,
    })
}

#[derive(Deserialize)]
pub struct DecisionForm {
    decision: String,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<DecisionForm>,
) -> Response {
    let CsrfForm { caller, form, .. } = form;
    let accept = form.decision == "accept";
    match state
        .store
        .decide_transfer(caller.scope(), &id, accept, &form.note, &caller.ip)
        .await
    {
        Ok(t) if accept => {
            Redirect::to(&format!("/children/{}?notice=accepted", t.child_id)).into_response()
        }
        Ok(_) => Redirect::to("/transfers?notice=rejected").into_response(),
        Err(e) => store_error_page(e),
    }
}

// ---- import ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "children_import.html")]
struct ImportPage {
    layout: Layout,
    divisions: Vec<(String, String)>,
    csrf: String,
}

pub async fn import_page(State(state): State<AppState>, PageAuth(caller): PageAuth) -> Response {
    let scope = caller.scope();
    if !allows(scope.role, Action::EditChildren) {
        return error_page(StatusCode::FORBIDDEN, "您的角色无权导入儿童台账。");
    }
    let Some(home) = scope.home() else {
        return error_page(StatusCode::FORBIDDEN, "请使用命令行导入。");
    };
    let mut divisions = Vec::new();
    if let Ok(d) = state.store.division(scope, home).await {
        divisions.push((d.code.clone(), format!("{}（全部）", d.name)));
    }
    if home.level() < Level::Village {
        for c in state
            .store
            .division_children(scope, home)
            .await
            .unwrap_or_default()
        {
            divisions.push((c.code.clone(), c.name.clone()));
        }
    }
    render(&ImportPage {
        layout: Layout::for_caller(&caller, "/children"),
        divisions,
        csrf: caller.user.csrf_token.clone(),
    })
}
