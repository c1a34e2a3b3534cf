//! Visit pages: the scan landing, the phone-first visit form (new and correction), the
//! worklist, the printable cards, card re-issue and alert follow-up.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role};
use weibao_domain::child::{Category, Risk};
use weibao_domain::visit::{
    CheckInput, CheckItem, Finding, Location, Present, VisitInput, VisitMethod, VisitRecord,
};
use weibao_domain::{DivisionCode, Level};
use weibao_store::{StoreError, StoredChild, StoredVisit};

use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, CsrfMultipart, PageAuth};
use crate::AppState;

/// Scanning a card: sign in if needed (the login page comes back here), then the form.
pub async fn scan(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(token): Path<String>,
) -> Response {
    match state.store.resolve_card(caller.scope(), &token).await {
        Ok(child_id) => Redirect::to(&format!("/children/{child_id}/visits/new")).into_response(),
        Err(StoreError::Conflict { message, .. }) => error_page(StatusCode::GONE, &message),
        Err(StoreError::NotFound) => error_page(
            StatusCode::NOT_FOUND,
            "无法识别这张陪伴卡：卡片可能已作废，或该儿童不在您的管辖范围内。",
        ),
        Err(e) => store_error_page(e),
    }
}

/// One check item's row on the form.
pub struct CheckRow {
    pub index: usize,
    pub label: &'static str,
    pub value: &'static str,
    pub note: String,
}

/// What the form shows (defaults for a new visit, the record for a correction, or what
/// was submitted when it was refused).
#[derive(Template)]
#[template(path = "visit_form.html")]
struct VisitForm {
    layout: Layout,
    child_id: String,
    child_name: String,
    place: String,
    categories: Vec<&'static str>,
    action: String,
    correcting: Option<i64>,
    csrf: String,
    key: String,
    error: Option<String>,
    error_field: String,
    visited_at: String,
    method: &'static str,
    methods: Vec<&'static str>,
    duration: u32,
    durations: Vec<u32>,
    present: Vec<&'static str>,
    presents: Vec<&'static str>,
    caregiver: String,
    left_behind: bool,
    entrustment: &'static str,
    checks: Vec<CheckRow>,
    findings: Vec<&'static str>,
    needs: String,
    help_given: String,
    referral: String,
    risk: &'static str,
    risks: Vec<&'static str>,
    next_visit: String,
    notes: String,
    photos: Vec<String>,
    max_photos: usize,
}

fn items_for(left_behind: bool) -> Vec<CheckItem> {
    CheckItem::CORE
        .iter()
        .copied()
        .chain(left_behind.then_some(CheckItem::ParentContact))
        .collect()
}

impl VisitForm {
    fn new(caller: &Caller, child: &StoredChild, place: String, now: &str) -> VisitForm {
        let left_behind = child.effective.contains(Category::RuralLeftBehind);
        let caregiver = child
            .record
            .guardians
            .iter()
            .find(|g| g.actual_caregiver)
            .map(|g| format!("{}（{}）", g.name, g.relationship))
            .unwrap_or_default();
        VisitForm {
            layout: Layout::for_caller(caller, "/visits"),
            child_id: child.id.clone(),
            child_name: child.record.name.clone(),
            place,
            categories: child.effective.iter().map(|c| c.label()).collect(),
            action: format!("/children/{}/visits", child.id),
            correcting: None,
            csrf: caller.user.csrf_token.clone(),
            key: uuid::Uuid::new_v4().to_string(),
            error: None,
            error_field: String::new(),
            visited_at: now.to_string(),
            method: VisitMethod::Home.label(),
            methods: VisitMethod::ALL.iter().map(|m| m.label()).collect(),
            duration: 30,
            durations: vec![15, 30, 45, 60, 90],
            present: vec![Present::Child.label()],
            presents: Present::ALL.iter().map(|p| p.label()).collect(),
            caregiver,
            left_behind,
            entrustment: "",
            checks: items_for(left_behind)
                .into_iter()
                .enumerate()
                .map(|(index, item)| CheckRow {
                    index,
                    label: item.label(),
                    value: Finding::Normal.label(),
                    note: String::new(),
                })
                .collect(),
            findings: Finding::ALL.iter().map(|f| f.label()).collect(),
            needs: String::new(),
            help_given: String::new(),
            referral: String::new(),
            risk: child.record.risk.label(),
            risks: Risk::ALL.iter().map(|r| r.label()).collect(),
            next_visit: String::new(),
            notes: String::new(),
            photos: Vec::new(),
            max_photos: weibao_domain::visit::MAX_PHOTOS,
        }
    }

    fn load(&mut self, r: &VisitRecord) {
        self.visited_at = r.visited_at.format("%Y-%m-%dT%H:%M").to_string();
        self.method = r.method.label();
        self.duration = r.duration_minutes;
        self.present = r.present.iter().map(|p| p.label()).collect();
        self.caregiver = r.caregiver.clone();
        self.entrustment = match r.entrustment {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        for row in &mut self.checks {
            if let Some(c) = r.checks.iter().find(|c| c.item.label() == row.label) {
                row.value = c.finding.label();
                row.note = c.note.clone();
            }
        }
        self.needs = r.needs.clone();
        self.help_given = r.help_given.clone();
        self.referral = r.referral.clone();
        self.risk = r.risk_after.label();
        self.next_visit = r.next_visit.map(|d| d.to_string()).unwrap_or_default();
        self.notes = r.notes.clone();
        self.photos = r.photos.clone();
    }

    /// Shows what was submitted again, with the refusal.
    fn reload(&mut self, sub: &Submitted, error: String, field: &str) {
        let label = |all: &[&'static str], v: &str| all.iter().copied().find(|x| *x == v);
        self.visited_at = sub.get("visited_at").to_string();
        self.method = label(&self.methods, sub.get("method")).unwrap_or(self.method);
        self.duration = sub.get("duration_minutes").parse().unwrap_or(self.duration);
        self.present = sub
            .all("present")
            .filter_map(|p| label(&self.presents, p))
            .collect();
        self.caregiver = sub.get("caregiver").to_string();
        self.entrustment = match sub.get("entrustment") {
            "yes" => "yes",
            "no" => "no",
            _ => "",
        };
        let findings = self.findings.clone();
        for row in &mut self.checks {
            if let Some(v) = label(&findings, sub.get(&format!("check_{}", row.index))) {
                row.value = v;
            }
            row.note = sub.get(&format!("note_{}", row.index)).to_string();
        }
        self.needs = sub.get("needs").to_string();
        self.help_given = sub.get("help_given").to_string();
        self.referral = sub.get("referral").to_string();
        self.risk = label(&self.risks, sub.get("risk_after")).unwrap_or(self.risk);
        self.next_visit = sub.get("next_visit").to_string();
        self.notes = sub.get("notes").to_string();
        if let Some(k) = sub.fields.iter().find(|(k, _)| k == "idempotency_key") {
            self.key = k.1.clone();
        }
        self.error = Some(error);
        self.error_field = field.to_string();
    }
}

fn now_local(state: &AppState) -> String {
    chrono::DateTime::from_timestamp_millis(state.store.clock().now_ms())
        .expect("clock in range")
        .with_timezone(&weibao_domain::visit::cst())
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

async fn load_child(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(StoredChild, String), Response> {
    let child = state
        .store
        .read_child(caller.scope(), id, false, &caller.ip)
        .await
        .map_err(store_error_page)?;
    caller
        .scope()
        .check(Action::RecordVisits, child.record.division())
        .map_err(|d| store_error_page(d.into()))?;
    let place = state
        .store
        .place_name(child.record.division())
        .await
        .unwrap_or_default();
    Ok((child, place))
}

pub async fn new_form(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
) -> Response {
    let (child, place) = match load_child(&state, &caller, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    render(&VisitForm::new(&caller, &child, place, &now_local(&state)))
}

pub async fn edit_form(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path((id, visit_id)): Path<(String, String)>,
) -> Response {
    let (child, place) = match load_child(&state, &caller, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let visit = match state.store.visit(caller.scope(), &id, &visit_id).await {
        Ok(v) => v,
        Err(e) => return store_error_page(e),
    };
    if !visit.correctable_by(
        caller.scope(),
        child.record.division(),
        state.store.clock().now_ms(),
    ) {
        return error_page(
            StatusCode::CONFLICT,
            "探访记录提交 24 小时后只能由乡镇儿童督导员更正。",
        );
    }
    let mut form = VisitForm::new(&caller, &child, place, &now_local(&state));
    form.load(&visit.record);
    form.action = format!("/children/{id}/visits/{visit_id}");
    form.correcting = Some(visit.version);
    render(&form)
}

/// A submitted multipart form: its text fields and its photos.
struct Submitted {
    fields: Vec<(String, String)>,
    photos: Vec<Vec<u8>>,
}

impl Submitted {
    fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn opt(&self, name: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
    }

    /// The visit input the form describes (`left_behind` decides which checks it has).
    fn input(&self, left_behind: bool, photos: Vec<String>) -> VisitInput {
        let checks = items_for(left_behind)
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let finding = self.get(&format!("check_{i}"));
                (!finding.is_empty()).then(|| CheckInput {
                    item: item.label().into(),
                    finding: finding.into(),
                    note: self.opt(&format!("note_{i}")),
                })
            })
            .collect();
        let location = match (self.get("lat").parse(), self.get("lon").parse()) {
            (Ok(lat), Ok(lon)) => Some(Location {
                lat,
                lon,
                accuracy_m: self.get("accuracy").parse().ok(),
            }),
            _ => None,
        };
        VisitInput {
            visited_at: self.opt("visited_at"),
            method: self.opt("method"),
            duration_minutes: self.get("duration_minutes").parse().ok(),
            present: Some(self.all("present").map(str::to_string).collect()),
            caregiver: self.opt("caregiver"),
            entrustment: match self.get("entrustment") {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            checks: Some(checks),
            needs: self.opt("needs"),
            help_given: self.opt("help_given"),
            referral: self.opt("referral"),
            risk_after: self.opt("risk_after"),
            next_visit: self.opt("next_visit"),
            notes: self.opt("notes"),
            photos: Some(photos),
            location,
        }
    }
}

/// The answer to a form post: a redirect for a plain form, JSON for the page's script
/// (which sends `Accept: application/json` and retries with the same key).
fn answer(wants_json: bool, to: String) -> Response {
    if wants_json {
        axum::Json(serde_json::json!({ "redirect": to })).into_response()
    } else {
        Redirect::to(&to).into_response()
    }
}

fn refusal(wants_json: bool, status: StatusCode, message: &str, field: &str) -> Option<Response> {
    wants_json.then(|| {
        (
            status,
            axum::Json(serde_json::json!({
                "error": { "code": "invalid", "message": message, "field": field }
            })),
        )
            .into_response()
    })
}

/// Records a visit from the form (photos in the same post).
pub async fn submit_new(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: CsrfMultipart,
) -> Response {
    submit(state, id, None, headers, form).await
}

/// Corrects a visit from the form.
pub async fn submit_edit(
    State(state): State<AppState>,
    Path((id, visit_id)): Path<(String, String)>,
    headers: HeaderMap,
    form: CsrfMultipart,
) -> Response {
    submit(state, id, Some(visit_id), headers, form).await
}

async fn submit(
    state: AppState,
    id: String,
    visit_id: Option<String>,
    headers: HeaderMap,
    form: CsrfMultipart,
) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let caller = form.caller;
    let sub = Submitted {
        fields: form.fields,
        photos: form
            .files
            .into_iter()
            .filter(|(name, _)| name == "photos")
            .map(|(_, bytes)| bytes)
            .collect(),
    };
    let (child, place) = match load_child(&state, &caller, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let scope = caller.scope();
    let left_behind = child.effective.contains(Category::RuralLeftBehind);
    let outcome: Result<String, StoreError> = async {
        let mut photos: Vec<String> = sub.all("keep_photo").map(str::to_string).collect();
        for bytes in &sub.photos {
            photos.push(
                state
                    .store
                    .save_photo(scope, &id, bytes.clone(), &caller.ip)
                    .await?,
            );
        }
        let input = sub.input(left_behind, photos);
        match &visit_id {
            None => {
                let key = sub.opt("idempotency_key").filter(|k| !k.is_empty());
                state
                    .store
                    .record_visit(scope, &id, input, key.as_deref(), &caller.ip)
                    .await?;
                Ok(format!("/children/{id}?notice=visited"))
            }
            Some(v) => {
                let version = sub.get("version").parse().ok();
                state
                    .store
                    .correct_visit(scope, &id, v, input, version, &caller.ip)
                    .await?;
                Ok(format!("/children/{id}?notice=corrected"))
            }
        }
    }
    .await;
    match outcome {
        Ok(to) => answer(wants_json, to),
        Err(StoreError::Invalid { field, invalid }) => {
            if let Some(r) = refusal(
                wants_json,
                StatusCode::UNPROCESSABLE_ENTITY,
                &invalid.message,
                field,
            ) {
                return r;
            }
            let mut form = VisitForm::new(&caller, &child, place, &now_local(&state));
            if let Some(v) = &visit_id {
                form.action = format!("/children/{id}/visits/{v}");
                form.correcting = sub.get("version").parse().ok();
            }
            form.reload(&sub, invalid.message, field);
            let mut res = render(&form);
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            res
        }
        Err(StoreError::Conflict { message, field, .. }) => {
            refusal(wants_json, StatusCode::CONFLICT, &message, field)
                .unwrap_or_else(|| error_page(StatusCode::CONFLICT, &message))
        }
        Err(e) => store_error_page(e),
    }
}

#[derive(Template)]
#[template(path = "visit.html")]
struct VisitPage {
    layout: Layout,
    child_id: String,
    child_name: String,
    v: crate::api::visits::VisitView,
    at: String,
    versions: Vec<(i64, String, String)>,
    can_correct: bool,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path((id, visit_id)): Path<(String, String)>,
) -> Response {
    let scope = caller.scope();
    let child = match state.store.read_child(scope, &id, false, &caller.ip).await {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    let visit = match state.store.visit(scope, &id, &visit_id).await {
        Ok(v) => v,
        Err(e) => return store_error_page(e),
    };
    let versions = state
        .store
        .visit_versions(scope, &id, &visit_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v.version, beijing_time(v.at), v.actor_name))
        .collect();
    render(&VisitPage {
        layout: Layout::for_caller(&caller, "/visits"),
        child_id: id,
        child_name: child.record.name.clone(),
        at: visit.record.visited_at.format("%Y-%m-%d %H:%M").to_string(),
        can_correct: visit.correctable_by(
            scope,
            child.record.division(),
            state.store.clock().now_ms(),
        ),
        v: crate::api::visits::VisitView::new(&visit),
        versions,
    })
}

/// A visit in the child page's list.
pub struct VisitLine {
    pub id: String,
    pub at: String,
    pub method: &'static str,
    pub author: String,
    pub danger: bool,
    pub risk: &'static str,
    pub photos: usize,
}

impl VisitLine {
    pub fn new(v: &StoredVisit) -> VisitLine {
        VisitLine {
            id: v.id.clone(),
            at: v.record.visited_at.format("%Y-%m-%d %H:%M").to_string(),
            method: v.record.method.label(),
            author: v.author_name.clone(),
            danger: v.record.danger(),
            risk: v.record.risk_after.label(),
            photos: v.record.photos.len(),
        }
    }
}

// ---- worklist ----------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct WorklistQuery {
    pub division: Option<String>,
    pub page: Option<u32>,
}

pub struct DueRow {
    pub child_id: String,
    pub name: String,
    pub place: String,
    pub due: String,
    pub status: String,
    pub overdue: bool,
    pub reason: &'static str,
    pub risk: String,
}

pub struct ProgressRow {
    pub code: String,
    pub name: String,
    pub children: i64,
    pub overdue: i64,
    pub due_soon: i64,
    pub visits_30d: i64,
    pub percent: String,
    pub bar: u32,
}

#[derive(Template)]
#[template(path = "visits.html")]
struct WorklistPage {
    layout: Layout,
    title: String,
    division: String,
    level_below: &'static str,
    progress: Vec<ProgressRow>,
    due: Vec<DueRow>,
    total: String,
    page: u32,
    pages: u32,
    can_print: bool,
    up: Option<String>,
}

pub async fn worklist(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<WorklistQuery>,
) -> Response {
    let scope = caller.scope();
    if !allows(scope.role, Action::ViewChildren) {
        return error_page(StatusCode::FORBIDDEN, "您的角色无权查看探访工作。");
    }
    let division = match q.division.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => match DivisionCode::parse(d) {
            Ok(c) => c,
            Err(e) => return error_page(StatusCode::UNPROCESSABLE_ENTITY, &e.message),
        },
        None => match scope.home() {
            Some(h) => h,
            None => return super::not_found().await,
        },
    };
    let place = match state.store.division(scope, division).await {
        Ok(d) => d,
        Err(e) => return store_error_page(e),
    };
    let progress = match state.store.visit_progress(scope, division).await {
        Ok(p) => p,
        Err(e) => return store_error_page(e),
    };
    let page = q.page.unwrap_or(1).max(1);
    let per_page = 50;
    let (items, total) = match state
        .store
        .due_list(scope, Some(division), i64::from(page), per_page)
        .await
    {
        Ok(x) => x,
        Err(e) => return store_error_page(e),
    };
    let mut names: std::collections::HashMap<String, String> = progress
        .iter()
        .map(|p| (p.division_code.clone(), p.name.clone()))
        .collect();
    let mut due = Vec::with_capacity(items.len());
    for i in items {
        if !names.contains_key(&i.division_code) {
            let name = match DivisionCode::parse(&i.division_code) {
                Ok(c) => state
                    .store
                    .division(scope, c)
                    .await
                    .map(|d| d.name)
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            names.insert(i.division_code.clone(), name);
        }
        due.push(DueRow {
            place: weibao_domain::record::short_village_name(&names[&i.division_code]).to_string(),
            status: if i.overdue {
                format!("逾期 {} 天", i.days_overdue)
            } else if i.due_date == state.store.clock().today() {
                "今天到期".into()
            } else {
                format!("{} 前", i.due_date.format("%m-%d"))
            },
            due: i.due_date.to_string(),
            overdue: i.overdue,
            reason: i.reason_label(),
            child_id: i.child_id,
            name: i.name,
            risk: i.risk,
        });
    }
    let level_below = match division.level() {
        Level::Province => "市（州）",
        Level::City => "县（区）",
        Level::County => "乡镇（街道）",
        Level::Township => "村（居）",
        Level::Village => "",
    };
    let pages = ((total.count + per_page - 1) / per_page).max(1);
    let up = division
        .parent()
        .filter(|p| scope.reaches(*p))
        .map(|p| p.full());
    render(&WorklistPage {
        layout: Layout::for_caller(&caller, "/visits"),
        title: place.name,
        division: division.full(),
        level_below,
        progress: progress
            .iter()
            .map(|p| ProgressRow {
                code: p.division_code.clone(),
                name: p.name.clone(),
                children: p.children,
                overdue: p.overdue,
                due_soon: p.due_soon,
                visits_30d: p.visits_30d,
                percent: format!("{:.0}%", p.on_time_percent()),
                bar: p.on_time_percent().round() as u32,
            })
            .collect(),
        due,
        total: total.caption(),
        page,
        pages: if division.level() < Level::County {
            // A region's worklist pages only through its most urgent rows (the counties'
            // own lists hold the rest).
            pages.min(weibao_store::REGION_DUE_ROWS / per_page)
        } else {
            pages
        } as u32,
        can_print: division.level() >= Level::Township
            && scope.check(Action::RecordVisits, division).is_ok(),
        up,
    })
}

// ---- cards -------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct PrintQuery {
    pub division: Option<String>,
}

#[derive(Template)]
#[template(path = "cards_print.html")]
struct PrintPage {
    place: String,
    sheets: Vec<Vec<String>>,
    count: usize,
}

/// Cards of a village or township, 8 to an A4 sheet with cut marks.
pub async fn print_cards(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<PrintQuery>,
    headers: HeaderMap,
) -> Response {
    let scope = caller.scope();
    let division = match q
        .division
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(DivisionCode::parse)
    {
        Some(Ok(c)) => c,
        Some(Err(e)) => return error_page(StatusCode::UNPROCESSABLE_ENTITY, &e.message),
        None => match scope.home() {
            Some(h) => h,
            None => return super::not_found().await,
        },
    };
    let cards = match state.store.cards_within(scope, division, &caller.ip).await {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    let place = state.store.place_name(division).await.unwrap_or_default();
    let base = crate::api::visits::base_url(&state, &headers);
    let svgs: Vec<String> = cards
        .iter()
        .map(|c| crate::card::card_svg(c, &base))
        .collect();
    render(&PrintPage {
        place,
        count: svgs.len(),
        sheets: svgs.chunks(8).map(|c| c.to_vec()).collect(),
    })
}

#[derive(Deserialize)]
pub struct ReissueForm {
    pub reason: String,
}

pub async fn reissue(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<ReissueForm>,
) -> Response {
    let caller = &form.caller;
    match state
        .store
        .reissue_card(caller.scope(), &id, &form.form.reason, &caller.ip)
        .await
    {
        Ok(_) => Redirect::to(&format!("/children/{id}?notice=reissued")).into_response(),
        Err(e) => store_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct ResolveForm {
    pub resolution: String,
}

pub async fn resolve_alert(
    State(state): State<AppState>,
    Path((id, alert_id)): Path<(String, String)>,
    form: CsrfForm<ResolveForm>,
) -> Response {
    let caller = &form.caller;
    match state
        .store
        .resolve_alert(
            caller.scope(),
            &id,
            &alert_id,
            &form.form.resolution,
            &caller.ip,
        )
        .await
    {
        Ok(()) => Redirect::to("/?notice=resolved").into_response(),
        Err(e) => store_error_page(e),
    }
}

/// Home-page panels of the visit work for a role (rows: label, value, link).
pub async fn home_panels(state: &AppState, caller: &Caller) -> Vec<super::Panel> {
    let scope = caller.scope();
    let mut panels = Vec::new();
    let Some(home) = scope.home() else {
        return panels;
    };
    if scope.role == Role::Director {
        let (items, total) = state
            .store
            .due_list(scope, Some(home), 1, 20)
            .await
            .unwrap_or_default();
        let mut rows: Vec<super::PanelRow> = items
            .iter()
            .map(|i| super::PanelRow {
                label: format!("{} · {}", i.name, i.reason_label()),
                value: if i.overdue {
                    format!("逾期 {} 天", i.days_overdue)
                } else {
                    format!("{} 到期", i.due_date.format("%m-%d"))
                },
                href: Some(format!("/children/{}/visits/new", i.child_id)),
                overdue: i.overdue,
            })
            .collect();
        if total.count > items.len() as i64 {
            rows.push(super::PanelRow::new(
                format!("全部（{}）", total.caption()),
                String::new(),
                Some("/visits".into()),
            ));
        }
        panels.push(super::Panel {
            title: "待探访儿童",
            empty: "本村暂无 7 天内到期或逾期的探访。",
            rows,
            more: None,
        });
    }
    if matches!(scope.role, Role::Supervisor | Role::Office) {
        let alerts = state.store.open_alerts(scope).await.unwrap_or_default();
        panels.push(super::Panel {
            title: "危险预警",
            empty: "暂无需要跟进的危险预警。",
            rows: alerts
                .iter()
                .map(|a| {
                    super::PanelRow::new(
                        format!("{}：{}", a.child_name, a.summary),
                        beijing_time(a.raised_at),
                        Some(format!("/children/{}/visits/{}", a.child_id, a.visit_id)),
                    )
                })
                .collect(),
            more: None,
        });
        let progress = state
            .store
            .visit_progress(scope, home)
            .await
            .unwrap_or_default();
        panels.push(super::Panel {
            title: if scope.role == Role::Supervisor {
                "各村（居）探访完成情况"
            } else {
                "各乡镇（街道）探访完成情况"
            },
            empty: "辖区内暂无在册儿童。",
            rows: progress
                .iter()
                .map(|p| {
                    super::PanelRow::new(
                        p.name.clone(),
                        format!(
                            "按期 {:.0}% · 逾期 {} / {}",
                            p.on_time_percent(),
                            p.overdue,
                            p.children
                        ),
                        Some(format!("/visits?division={}", p.division_code)),
                    )
                })
                .collect(),
            more: None,
        });
    }
    panels
}
