//! Allowance pages: the work of each role (the village files, the township checks, the
//! county confirms, many at once), an application's form and page, standards and budgets,
//! the monthly rolls (generate, review, lock, export), the printable summary and 公示
//! list, and totals.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role};
use weibao_domain::allowances::{
    eligible, mask_name, ChildStanding, Decision, EndCause, FiledAs, Status, Step, TypeBook,
};
use weibao_domain::record::short_village_name;
use weibao_domain::{DivisionCode, Fen, Level, Month};
use weibao_store::{CaseFilter, NewApplication, NewStandard, StoreError};

use super::forms::field;
use super::forms::NoticeQuery;
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::api::allowances::{ApplicationView, RollView};
use crate::auth::{Caller, CsrfForm, CsrfMultipart, PageAuth};
use crate::AppState;

/// A form with all of an application's documents (photos or scans).
pub const APPLICATION_FORM_LIMIT: usize =
    weibao_store::MAX_DOCUMENTS * weibao_store::MAX_PHOTO_BYTES + 256 * 1024;

fn forbidden(what: &str) -> Response {
    error_page(StatusCode::FORBIDDEN, &format!("您的角色无权{what}。"))
}

/// "张小花" in a village name list: the village's short name by 12-digit code.
async fn village_names(
    state: &AppState,
    codes: Vec<String>,
) -> std::collections::HashMap<String, String> {
    state
        .store
        .division_names_of(codes)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, short_village_name(&v).to_string()))
        .collect()
}

fn yuan(fen: i64) -> String {
    Fen(fen).yuan_grouped()
}

// ---- the hub ---------------------------------------------------------------------------

pub struct AppRow {
    pub id: String,
    pub child_name: String,
    pub place: String,
    pub type_label: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub when: String,
    pub months: String,
}

pub struct ProposalRow {
    pub child_id: String,
    pub child_name: String,
    pub place: String,
    pub type_code: String,
    pub type_label: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "allowances.html")]
struct HubPage {
    layout: Layout,
    home_name: String,
    csrf: String,
    role: &'static str,
    statuses: Vec<(&'static str, &'static str)>,
    status: String,
    rows: Vec<AppRow>,
    total: String,
    total_count: i64,
    page: u32,
    prev_href: Option<String>,
    next_href: Option<String>,
    proposals: Vec<ProposalRow>,
    can_apply: bool,
    can_bulk: bool,
    can_manage: bool,
    notice: Option<String>,
    division: String,
}

#[derive(Deserialize, Default)]
pub struct HubQuery {
    status: Option<String>,
    page: Option<u32>,
    done: Option<i64>,
    refused: Option<i64>,
}

pub async fn hub(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<HubQuery>,
) -> Response {
    let scope = caller.scope();
    if !allows(scope.role, Action::ViewAllowances) {
        return forbidden("查看生活保障");
    }
    let Some(home) = scope.home() else {
        return super::not_found().await;
    };
    let role = match scope.role {
        Role::Director => "director",
        Role::Supervisor => "supervisor",
        _ => "office",
    };
    // What each role works on first: the village its applications, the township what
    // waits for its check, the county what waits for its confirmation.
    let default_status = match scope.role {
        Role::Supervisor => "filed",
        Role::Office => "checked",
        _ => "",
    };
    let status = q
        .status
        .clone()
        .unwrap_or_else(|| default_status.to_string());
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let filter = CaseFilter {
        division: Some(home),
        status: Status::parse(&status),
        page,
        per_page: 50,
        ..Default::default()
    };
    let (cases, total) = match state.store.list_applications(scope, &filter).await {
        Ok(x) => x,
        Err(e) => return store_error_page(e),
    };
    let types = state
        .store
        .allowance_types(Some(home))
        .await
        .unwrap_or_default();
    let places = village_names(&state, cases.iter().map(|c| c.division.full()).collect()).await;
    let rows = cases
        .iter()
        .map(|c| AppRow {
            id: c.id.clone(),
            child_name: c.child_name.clone(),
            place: places.get(&c.division.full()).cloned().unwrap_or_default(),
            type_label: types.label(&c.type_code),
            status: c.status.as_str(),
            status_label: c.status.label(),
            when: beijing_time(c.updated_at),
            months: match (c.start_month, c.end_month) {
                (Some(s), Some(e)) => format!("{s} 至 {e}"),
                (Some(s), None) => format!("自 {s} 起"),
                _ => String::new(),
            },
        })
        .collect();
    let proposals = if home.level() >= Level::County {
        state
            .store
            .eligible_candidates(scope, home)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let places = village_names(
        &state,
        proposals.iter().map(|p| p.division.clone()).collect(),
    )
    .await;
    let proposals = proposals
        .into_iter()
        .take(100)
        .map(|p| ProposalRow {
            place: places.get(&p.division).cloned().unwrap_or_default(),
            child_id: p.child_id,
            child_name: p.child_name,
            type_code: p.type_code,
            type_label: p.type_label,
            reason: p.reason,
        })
        .collect();
    let home_name = state
        .store
        .division(scope, home)
        .await
        .map(|d| d.name)
        .unwrap_or_else(|_| home.full());
    let href = |p: u32| format!("/allowances?status={status}&page={p}");
    let more = !total.exact || i64::from(page) * 50 < total.count;
    let notice = q.done.map(|done| {
        let refused = q.refused.unwrap_or(0);
        if refused > 0 {
            format!("已办理 {done} 份；{refused} 份未办理（状态已变或不在权限内），请查看列表")
        } else {
            format!("已办理 {done} 份，每份均已单独记录")
        }
    });
    let (prev_href, next_href) = (
        (page > 1).then(|| href(page - 1)),
        more.then(|| href(page + 1)),
    );
    render(&HubPage {
        layout: Layout::for_caller(&caller, "/allowances"),
        home_name,
        csrf: caller.user.csrf_token.clone(),
        role,
        statuses: std::iter::once(("", "全部"))
            .chain(Status::ALL.iter().map(|s| (s.as_str(), s.label())))
            .collect(),
        can_bulk: (scope.role == Role::Office && status == "checked")
            || (scope.role == Role::Supervisor && status == "filed"),
        status,
        rows,
        total: total.caption(),
        total_count: total.count,
        page,
        prev_href,
        next_href,
        proposals,
        can_apply: allows(scope.role, Action::ApplyAllowances),
        can_manage: allows(scope.role, Action::ManageRolls),
        notice,
        division: home.full(),
    })
}

#[derive(Deserialize)]
pub struct BulkForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    decision: String,
}

/// Many applications at once (the page's plain form; the script sends the API's).
pub async fn bulk(State(state): State<AppState>, form: CsrfForm<BulkForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    let step = match caller.scope().role {
        Role::Supervisor => Step::Township,
        _ => Step::County,
    };
    let decision = Decision::parse(&form.decision).unwrap_or(Decision::Approve);
    let ids: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v.clone())
        .collect();
    if ids.is_empty() {
        return error_page(StatusCode::UNPROCESSABLE_ENTITY, "请先勾选要办理的申请。");
    }
    let reason = if form.reason.trim().is_empty() {
        match decision {
            Decision::Approve => "批量办理：材料齐全，同意".to_string(),
            Decision::Reject => String::new(),
        }
    } else {
        form.reason
    };
    match state
        .store
        .decide_applications(caller.scope(), &ids, step, decision, &reason, &caller.ip)
        .await
    {
        Ok(out) => {
            let result = crate::api::allowances::bulk_result(out);
            Redirect::to(&format!(
                "/allowances?done={}&refused={}",
                result.done, result.refused
            ))
            .into_response()
        }
        Err(e) => store_error_page(e),
    }
}

// ---- the application form --------------------------------------------------------------

pub struct TypeChoice {
    pub code: String,
    pub label: String,
    pub eligible: bool,
    pub why: String,
}

pub struct ChildInfo {
    pub id: String,
    pub name: String,
    pub place: String,
    pub categories: Vec<String>,
}

#[derive(Template)]
#[template(path = "allowances_application_form.html")]
struct FormPage {
    layout: Layout,
    csrf: String,
    error: Option<String>,
    error_field: String,
    child: Option<ChildInfo>,
    q: String,
    matches: Vec<(String, String, String)>,
    types: Vec<TypeChoice>,
    chosen: String,
    filed_as: String,
    applicant: String,
    bank_name: String,
    account_holder: String,
    bank_account: String,
    note: String,
    max_documents: usize,
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    child: Option<String>,
    #[serde(rename = "type")]
    type_code: Option<String>,
    q: Option<String>,
}

async fn form_page(state: &AppState, caller: &Caller, q: &NewQuery) -> Result<FormPage, Response> {
    let scope = caller.scope();
    let mut page = FormPage {
        layout: Layout::for_caller(caller, "/allowances"),
        csrf: caller.user.csrf_token.clone(),
        error: None,
        error_field: String::new(),
        child: None,
        q: q.q.clone().unwrap_or_default(),
        matches: Vec::new(),
        types: Vec::new(),
        chosen: q.type_code.clone().unwrap_or_default(),
        filed_as: "village".into(),
        applicant: String::new(),
        bank_name: String::new(),
        account_holder: String::new(),
        bank_account: String::new(),
        note: String::new(),
        max_documents: weibao_store::MAX_DOCUMENTS,
    };
    if let Some(child_id) = q.child.as_deref().filter(|c| !c.is_empty()) {
        let child = state
            .store
            .read_child(scope, child_id, false, &caller.ip)
            .await
            .map_err(store_error_page)?;
        let division = child.record.division();
        scope
            .check(Action::ApplyAllowances, division)
            .map_err(|d| store_error_page(d.into()))?;
        let today = state.store.clock().today();
        let rules = state
            .store
            .allowance_rules(Some(division))
            .await
            .map_err(store_error_page)?;
        let rules = rules.on(today);
        let types = TypeBook::new(&rules.local_types);
        let standing = ChildStanding {
            birth_date: child.record.id_number().birth_date(),
            categories: child.effective,
            orphan_care: child.record.orphan_care,
            disability: child.record.disability,
            school_status: child.record.school_status,
        };
        page.types = types
            .all()
            .iter()
            .filter(|t| !t.designated_only || scope.designated)
            .map(|t| {
                let (ok, why) = match eligible(t, &standing, rules, today) {
                    Ok(w) => (true, w),
                    Err(w) => (false, w),
                };
                TypeChoice {
                    code: t.code.clone(),
                    label: t.label.clone(),
                    eligible: ok,
                    why,
                }
            })
            .collect();
        if page.chosen.is_empty() {
            page.chosen = page
                .types
                .iter()
                .find(|t| t.eligible)
                .map(|t| t.code.clone())
                .unwrap_or_default();
        }
        if let Some(g) = child
            .record
            .guardians
            .iter()
            .find(|g| g.actual_caregiver)
            .or(child.record.guardians.first())
        {
            page.applicant = format!("{}（{}）", g.name, g.relationship);
            page.account_holder = g.name.clone();
        }
        page.child = Some(ChildInfo {
            id: child.id.clone(),
            name: child.record.name.clone(),
            place: state.store.place_name(division).await.unwrap_or_default(),
            categories: child
                .effective
                .iter()
                .map(|c| c.label().to_string())
                .collect(),
        });
    } else if !page.q.trim().is_empty() {
        let filter = weibao_store::ChildFilter {
            q: Some(page.q.trim().to_string()),
            page: 1,
            per_page: 20,
            ..Default::default()
        };
        let (found, _) = state
            .store
            .list_children(scope, &filter)
            .await
            .map_err(store_error_page)?;
        let places = village_names(
            state,
            found.iter().map(|c| c.division_code.clone()).collect(),
        )
        .await;
        page.matches = found
            .into_iter()
            .map(|c| {
                let place = places.get(&c.division_code).cloned().unwrap_or_default();
                (c.id, c.name, place)
            })
            .collect();
    }
    Ok(page)
}

pub async fn new_form(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NewQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ApplyAllowances) {
        return forbidden("提出生活保障申请");
    }
    match form_page(&state, &caller, &q).await {
        Ok(p) => render(&p),
        Err(r) => r,
    }
}

/// The image types the store takes, checked before anything is written.
fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || (bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP")
}

pub async fn create(State(state): State<AppState>, form: CsrfMultipart) -> Response {
    let CsrfMultipart {
        caller,
        fields,
        files,
        ..
    } = form;
    let documents: Vec<Vec<u8>> = files
        .into_iter()
        .filter(|(k, _)| k == "documents")
        .map(|(_, b)| b)
        .collect();
    let q = NewQuery {
        child: Some(field(&fields, "child_id").to_string()),
        type_code: Some(field(&fields, "type").to_string()),
        q: None,
    };
    let again = |message: String, name: &str| {
        let state = state.clone();
        let caller = caller.clone();
        let fields = fields.clone();
        let name = name.to_string();
        let q = NewQuery {
            child: q.child.clone(),
            type_code: q.type_code.clone(),
            q: None,
        };
        async move {
            match form_page(&state, &caller, &q).await {
                Ok(mut page) => {
                    page.error = Some(message);
                    page.error_field = name;
                    page.filed_as = field(&fields, "filed_as").to_string();
                    page.applicant = field(&fields, "applicant").to_string();
                    page.bank_name = field(&fields, "bank_name").to_string();
                    page.account_holder = field(&fields, "account_holder").to_string();
                    page.bank_account = field(&fields, "bank_account").to_string();
                    page.note = field(&fields, "note").to_string();
                    let mut res = render(&page);
                    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    res
                }
                Err(r) => r,
            }
        }
    };
    if documents.len() > weibao_store::MAX_DOCUMENTS {
        return again(
            format!("每份申请最多 {} 份材料", weibao_store::MAX_DOCUMENTS),
            "documents",
        )
        .await;
    }
    if let Some(n) = documents
        .iter()
        .position(|d| !is_image(d) || d.len() > weibao_store::MAX_PHOTO_BYTES)
    {
        return again(
            format!(
                "第 {} 份材料不是 JPEG、PNG 或 WebP 图片，或超过 {} MB：请拍照或扫描成图片后上传",
                n + 1,
                weibao_store::MAX_PHOTO_BYTES / 1024 / 1024
            ),
            "documents",
        )
        .await;
    }
    let account = Some(field(&fields, "bank_account").to_string()).filter(|a| !a.is_empty());
    let new = NewApplication {
        child_id: field(&fields, "child_id").to_string(),
        type_code: field(&fields, "type").to_string(),
        filed_as: FiledAs::parse(field(&fields, "filed_as")).unwrap_or(FiledAs::Village),
        applicant: field(&fields, "applicant").to_string(),
        bank_name: field(&fields, "bank_name").to_string(),
        account_holder: field(&fields, "account_holder").to_string(),
        bank_account: account,
        note: field(&fields, "note").to_string(),
    };
    match state
        .store
        .create_application(caller.scope(), new, &caller.ip)
        .await
    {
        Ok(case) => {
            let mut failed = 0;
            for d in documents {
                if state
                    .store
                    .add_document(caller.scope(), &case.id, d, &caller.ip)
                    .await
                    .is_err()
                {
                    failed += 1;
                }
            }
            let notice = if failed > 0 { "filed_partly" } else { "filed" };
            Redirect::to(&format!(
                "/allowances/applications/{}?notice={notice}",
                case.id
            ))
            .into_response()
        }
        Err(StoreError::Invalid {
            field: name,
            invalid,
        }) => again(invalid.message, name).await,
        Err(StoreError::Conflict {
            message,
            field: name,
            ..
        }) => again(message, name).await,
        Err(e) => store_error_page(e),
    }
}

// ---- an application's page -------------------------------------------------------------

#[derive(Template)]
#[template(path = "allowances_application.html")]
struct DetailPage {
    layout: Layout,
    csrf: String,
    c: ApplicationView,
    place: String,
    notice: Option<&'static str>,
    error: Option<String>,
    can_township: bool,
    can_county: bool,
    can_stop: bool,
    can_account: bool,
    can_document: bool,
    causes: Vec<(&'static str, &'static str)>,
    today: String,
}

async fn detail(
    state: &AppState,
    caller: &Caller,
    id: &str,
    notice: Option<&str>,
    error: Option<String>,
) -> Response {
    let scope = caller.scope();
    let case = match state.store.application(scope, id, &caller.ip).await {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    let types = state
        .store
        .allowance_types(Some(case.division))
        .await
        .unwrap_or_default();
    let place = state
        .store
        .place_name(case.division)
        .await
        .unwrap_or_default();
    let at = case.division;
    let open = case.status.is_open();
    let may = |a: Action| scope.check(a, at).is_ok();
    let status = error.is_some();
    let mut res = render(&DetailPage {
        layout: Layout::for_caller(caller, "/allowances"),
        csrf: caller.user.csrf_token.clone(),
        can_township: case.status == Status::Filed && may(Action::ReviewAllowances),
        can_county: case.status == Status::Checked && may(Action::ConfirmAllowances),
        can_stop: case.status == Status::Confirmed && may(Action::ConfirmAllowances),
        can_account: open && (may(Action::ApplyAllowances) || may(Action::ConfirmAllowances)),
        can_document: open
            && (may(Action::ApplyAllowances)
                || may(Action::ReviewAllowances)
                || may(Action::ConfirmAllowances)),
        c: ApplicationView::new(&case, &types),
        place,
        notice: match notice {
            Some("filed") => Some("申请已提交，等待乡镇查验。"),
            Some("filed_partly") => Some("申请已提交，但有材料未能上传，请在下方补充。"),
            Some("decided") => Some("已办理并记录。"),
            Some("stopped") => Some("已停发并记录原因。"),
            Some("account") => Some("账户已变更（账号加密保存）。"),
            Some("document") => Some("材料已上传。"),
            _ => None,
        },
        error,
        causes: EndCause::RECORDED
            .iter()
            .map(|c| (c.as_str(), c.label()))
            .collect(),
        today: state.store.clock().today().to_string(),
    });
    if status {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    detail(&state, &caller, &id, q.notice.as_deref(), None).await
}

/// A refusal shown on the application's page (input), or the error page (access).
async fn refused(state: &AppState, caller: &Caller, id: &str, e: StoreError) -> Response {
    match e {
        StoreError::Invalid { invalid, .. } => {
            detail(state, caller, id, None, Some(invalid.message)).await
        }
        StoreError::Conflict { message, .. } => {
            detail(state, caller, id, None, Some(message)).await
        }
        e => store_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    step: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<DecisionForm>,
) -> Response {
    let CsrfForm { caller, form, .. } = form;
    let (Some(step), Some(decision)) = (Step::parse(&form.step), Decision::parse(&form.decision))
    else {
        return detail(
            &state,
            &caller,
            &id,
            None,
            Some("请选择同意或不同意".into()),
        )
        .await;
    };
    match state
        .store
        .decide_application(
            caller.scope(),
            &id,
            step,
            decision,
            &form.reason,
            &caller.ip,
        )
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/allowances/applications/{id}?notice=decided")).into_response()
        }
        Err(e) => refused(&state, &caller, &id, e).await,
    }
}

#[derive(Deserialize)]
pub struct StopForm {
    #[serde(default)]
    cause: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    reason: String,
}

pub async fn stop(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<StopForm>,
) -> Response {
    let CsrfForm { caller, form, .. } = form;
    let Some(cause) = EndCause::parse(&form.cause) else {
        return detail(&state, &caller, &id, None, Some("请选择停发原因".into())).await;
    };
    let date = match weibao_domain::record::parse_date("date", "停发原因发生日期", &form.date)
    {
        Ok(d) => d,
        Err(e) => return detail(&state, &caller, &id, None, Some(e.invalid.message)).await,
    };
    match state
        .store
        .stop_case(caller.scope(), &id, cause, date, &form.reason, &caller.ip)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/allowances/applications/{id}?notice=stopped")).into_response()
        }
        Err(e) => refused(&state, &caller, &id, e).await,
    }
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    bank_name: String,
    #[serde(default)]
    account_holder: String,
    #[serde(default)]
    bank_account: String,
}

pub async fn account(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<AccountForm>,
) -> Response {
    let CsrfForm { caller, form, .. } = form;
    match state
        .store
        .update_account(
            caller.scope(),
            &id,
            &form.bank_name,
            &form.account_holder,
            &form.bank_account,
            &caller.ip,
        )
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/allowances/applications/{id}?notice=account")).into_response()
        }
        Err(e) => refused(&state, &caller, &id, e).await,
    }
}

pub async fn documents(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfMultipart,
) -> Response {
    let CsrfMultipart { caller, files, .. } = form;
    let files: Vec<Vec<u8>> = files.into_iter().map(|(_, b)| b).collect();
    if files.is_empty() {
        return detail(
            &state,
            &caller,
            &id,
            None,
            Some("请选择要上传的材料照片或扫描件".into()),
        )
        .await;
    }
    for f in files {
        if let Err(e) = state
            .store
            .add_document(caller.scope(), &id, f, &caller.ip)
            .await
        {
            return refused(&state, &caller, &id, e).await;
        }
    }
    Redirect::to(&format!("/allowances/applications/{id}?notice=document")).into_response()
}

// ---- standards and budgets -------------------------------------------------------------

pub struct StandardRow {
    pub type_label: String,
    pub place: String,
    pub amount: String,
    pub from: String,
    pub to: String,
    pub note: String,
    pub by: String,
}

pub struct BudgetRow {
    pub type_label: String,
    pub amount: String,
    pub spent: String,
    pub percent: i64,
    pub over: bool,
}

#[derive(Template)]
#[template(path = "allowances_standards.html")]
struct StandardsPage {
    layout: Layout,
    csrf: String,
    can_manage: bool,
    division: String,
    rows: Vec<StandardRow>,
    types: Vec<(String, String)>,
    budgets: Vec<BudgetRow>,
    year: i32,
    this_month: String,
    error: Option<String>,
    notice: Option<&'static str>,
    county: bool,
}

async fn standards_view(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    let scope = caller.scope();
    let Some(home) = scope.home() else {
        return super::not_found().await;
    };
    let list = match state.store.standards_at(scope, home).await {
        Ok(l) => l,
        Err(e) => return store_error_page(e),
    };
    let types = state
        .store
        .allowance_types(Some(home))
        .await
        .unwrap_or_default();
    let names = state
        .store
        .division_names_of(list.iter().map(|s| s.division.full()).collect())
        .await
        .unwrap_or_default();
    let today = state.store.clock().today();
    let budgets = if home.level() == Level::County {
        state
            .store
            .budgets(scope, home, today.year())
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let status = error.is_some();
    let mut res = render(&StandardsPage {
        layout: Layout::for_caller(caller, "/allowances"),
        csrf: caller.user.csrf_token.clone(),
        can_manage: allows(scope.role, Action::ManageAllowanceStandards),
        division: home.full(),
        rows: list
            .iter()
            .map(|s| StandardRow {
                type_label: types.label(&s.type_code),
                place: names
                    .get(&s.division.full())
                    .cloned()
                    .unwrap_or_else(|| s.division.full()),
                amount: s.standard().describe(|c| types.label(c)),
                from: s.from.to_string(),
                to: s.to.map(|m| m.to_string()).unwrap_or_else(|| "长期".into()),
                note: s.note.clone(),
                by: s.created_by.clone(),
            })
            .collect(),
        types: types
            .all()
            .iter()
            .map(|t| (t.code.clone(), t.label.clone()))
            .collect(),
        budgets: budgets
            .iter()
            .map(|b| BudgetRow {
                type_label: types.label(&b.type_code),
                amount: b.amount.to_string(),
                spent: b.spent.to_string(),
                percent: if b.amount.0 > 0 {
                    b.spent.0 * 100 / b.amount.0
                } else {
                    0
                },
                over: b.spent > b.amount,
            })
            .collect(),
        year: today.year(),
        this_month: Month::of(today).next().to_string(),
        error,
        notice,
        county: home.level() == Level::County,
    });
    if status {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

pub async fn standards(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NoticeQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewAllowances) {
        return forbidden("查看保障标准");
    }
    let notice = match q.notice.as_deref() {
        Some("standard") => Some("标准已保存。"),
        Some("budget") => Some("预算已保存。"),
        _ => None,
    };
    standards_view(&state, &caller, None, notice).await
}

#[derive(Deserialize)]
pub struct StandardForm {
    #[serde(default, rename = "type")]
    type_code: String,
    #[serde(default)]
    division: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    follows_type: String,
    #[serde(default)]
    follows_percent: String,
    #[serde(default)]
    from_month: String,
    #[serde(default)]
    to_month: String,
    #[serde(default)]
    note: String,
}

pub async fn create_standard(
    State(state): State<AppState>,
    form: CsrfForm<StandardForm>,
) -> Response {
    let CsrfForm { caller, form, .. } = form;
    let parsed = (|| -> Result<NewStandard, String> {
        let division = DivisionCode::parse(&form.division).map_err(|e| e.message)?;
        let from = Month::parse("起始月份", &form.from_month).map_err(|e| e.message)?;
        let to = match form.to_month.trim() {
            "" => None,
            m => Some(Month::parse("截止月份", m).map_err(|e| e.message)?),
        };
        let follows = Some(form.follows_type.trim().to_string()).filter(|t| !t.is_empty());
        let amount = if follows.is_some() {
            None
        } else {
            Some(Fen::parse_yuan("每月金额", &form.amount).map_err(|e| e.message)?)
        };
        let percent = match form.follows_percent.trim() {
            "" => None,
            p => Some(
                p.trim_end_matches('%')
                    .parse::<u32>()
                    .map_err(|_| format!("参照比例“{p}”应为 1 到 1000 的整数"))?,
            ),
        };
        Ok(NewStandard {
            type_code: form.type_code.trim().to_string(),
            division,
            amount,
            follows_percent: follows.as_ref().and(percent),
            follows_type: follows,
            from,
            to,
            note: form.note.clone(),
        })
    })();
    let new = match parsed {
        Ok(n) => n,
        Err(message) => return standards_view(&state, &caller, Some(message), None).await,
    };
    match state
        .store
        .create_standard(caller.scope(), new, &caller.ip)
        .await
    {
        Ok(_) => Redirect::to("/allowances/standards?notice=standard").into_response(),
        Err(StoreError::Invalid { invalid, .. }) => {
            standards_view(&state, &caller, Some(invalid.message), None).await
        }
        Err(StoreError::Conflict { message, .. }) => {
            standards_view(&state, &caller, Some(message), None).await
        }
        Err(e) => store_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct BudgetForm {
    #[serde(default, rename = "type")]
    type_code: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    amount: String,
}

pub async fn set_budget(State(state): State<AppState>, form: CsrfForm<BudgetForm>) -> Response {
    let CsrfForm { caller, form, .. } = form;
    let Some(home) = caller.scope().home() else {
        return super::not_found().await;
    };
    let amount = match Fen::parse_yuan("预算金额", &form.amount) {
        Ok(a) => a,
        Err(e) => return standards_view(&state, &caller, Some(e.message), None).await,
    };
    let Ok(year) = form.year.trim().parse::<i32>() else {
        return standards_view(
            &state,
            &caller,
            Some("年份应为 4 位数字，如 2026".into()),
            None,
        )
        .await;
    };
    match state
        .store
        .set_budget(
            caller.scope(),
            home,
            year,
            form.type_code.trim(),
            amount,
            &caller.ip,
        )
        .await
    {
        Ok(_) => Redirect::to("/allowances/standards?notice=budget").into_response(),
        Err(StoreError::Invalid { invalid, .. }) => {
            standards_view(&state, &caller, Some(invalid.message), None).await
        }
        Err(e) => store_error_page(e),
    }
}

// ---- rolls -----------------------------------------------------------------------------

pub struct RollRow {
    pub id: String,
    pub month: String,
    pub status: String,
    pub lines: i64,
    pub people: i64,
    pub total: String,
    pub wan: String,
    pub warned: bool,
}

#[derive(Template)]
#[template(path = "allowances_rolls.html")]
struct RollsPage {
    layout: Layout,
    csrf: String,
    rows: Vec<RollRow>,
    division: String,
    month: String,
    error: Option<String>,
}

async fn rolls_view(state: &AppState, caller: &Caller, error: Option<String>) -> Response {
    let scope = caller.scope();
    let Some(home) = scope.home() else {
        return super::not_found().await;
    };
    let rolls = match state.store.list_rolls(scope, home, None).await {
        Ok(r) => r,
        Err(e) => return store_error_page(e),
    };
    let status = error.is_some();
    let mut res = render(&RollsPage {
        layout: Layout::for_caller(caller, "/allowances"),
        csrf: caller.user.csrf_token.clone(),
        rows: rolls
            .iter()
            .map(|r| RollRow {
                id: r.id.clone(),
                month: r.month.to_string(),
                status: if r.locked() {
                    "已锁定".into()
                } else {
                    "草稿".into()
                },
                lines: r.lines,
                people: r.people,
                total: r.total.yuan_grouped(),
                wan: r.total.wan(),
                warned: !r.warnings.is_empty(),
            })
            .collect(),
        division: home.prefix(),
        month: Month::of(state.store.clock().today()).to_string(),
        error,
    });
    if status {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

pub async fn rolls(State(state): State<AppState>, PageAuth(caller): PageAuth) -> Response {
    if !allows(caller.scope().role, Action::ManageRolls) {
        return forbidden("管理发放名册");
    }
    rolls_view(&state, &caller, None).await
}

#[derive(Deserialize)]
pub struct RollForm {
    #[serde(default)]
    division: String,
    #[serde(default)]
    month: String,
}

pub async fn generate(State(state): State<AppState>, form: CsrfForm<RollForm>) -> Response {
    let CsrfForm { caller, form, .. } = form;
    let division = match DivisionCode::parse(&form.division) {
        Ok(d) => d,
        Err(e) => return rolls_view(&state, &caller, Some(e.message)).await,
    };
    let month = match Month::parse("名册月份", &form.month) {
        Ok(m) => m,
        Err(e) => return rolls_view(&state, &caller, Some(e.message)).await,
    };
    match state
        .store
        .generate_roll(caller.scope(), division, month, &caller.ip)
        .await
    {
        Ok(r) => {
            Redirect::to(&format!("/allowances/rolls/{}?notice=generated", r.id)).into_response()
        }
        Err(StoreError::Invalid { invalid, .. }) => {
            rolls_view(&state, &caller, Some(invalid.message)).await
        }
        Err(StoreError::Conflict { message, .. }) => {
            rolls_view(&state, &caller, Some(message)).await
        }
        Err(e) => store_error_page(e),
    }
}

pub struct LineRow {
    pub no: i64,
    pub name: String,
    pub place: String,
    pub id_masked: String,
    pub type_label: String,
    pub kind: &'static str,
    pub for_month: String,
    pub amount: String,
    pub negative: bool,
    pub reason: String,
    pub account: String,
}

pub struct ChangeRow {
    pub kind: &'static str,
    pub name: String,
    pub place: String,
    pub type_label: String,
    pub old: String,
    pub new: String,
    pub reason: String,
}

pub struct TypeRow {
    pub label: String,
    pub people: i64,
    pub lines: i64,
    pub amount: String,
    pub wan: String,
}

#[derive(Template)]
#[template(path = "allowances_roll.html")]
struct RollPageT {
    layout: Layout,
    csrf: String,
    r: RollView,
    place: String,
    locked: bool,
    total: String,
    regular: String,
    adjustment: String,
    by_type: Vec<TypeRow>,
    changes: Vec<ChangeRow>,
    lines: Vec<LineRow>,
    page: u32,
    prev_href: Option<String>,
    next_href: Option<String>,
    layouts: Vec<String>,
    recoveries: Vec<(String, String, String)>,
    error: Option<String>,
    notice: Option<&'static str>,
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "regular" => "当月",
        "adjustment" => "补发/追回",
        "manual" => "手工调整",
        "new" => "新增",
        "stopped" => "停发",
        "changed" => "金额变化",
        _ => "其他",
    }
}

async fn roll_view(
    state: &AppState,
    caller: &Caller,
    id: &str,
    page: u32,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    let scope = caller.scope();
    let got = match state.store.roll(scope, id, page, 50, &caller.ip).await {
        Ok(p) => p,
        Err(e) => return store_error_page(e),
    };
    let types = state
        .store
        .allowance_types(Some(got.roll.division))
        .await
        .unwrap_or_default();
    let mut codes: Vec<String> = got.lines.iter().map(|l| l.division_code.clone()).collect();
    codes.extend(got.roll.changes.iter().map(|c| c.division_code.clone()));
    let recoveries = state
        .store
        .roll_recoveries(scope, id)
        .await
        .unwrap_or_default();
    codes.extend(recoveries.iter().map(|r| r.2.clone()));
    let places = village_names(state, codes).await;
    let place = |c: &str| places.get(c).cloned().unwrap_or_default();
    let r = RollView::new(&got.roll, &got.lines, page, 50, &types);
    let pages = (got.roll.lines.max(1) as u32).div_ceil(50);
    let layouts = crate::allowances_io::layouts(&state.store, got.roll.division)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.name)
        .collect();
    let status = error.is_some();
    let mut res = render(&RollPageT {
        layout: Layout::for_caller(caller, "/allowances"),
        csrf: caller.user.csrf_token.clone(),
        place: state
            .store
            .place_name(got.roll.division)
            .await
            .unwrap_or_default(),
        locked: got.roll.locked(),
        total: got.roll.total.yuan_grouped(),
        regular: got.roll.regular.yuan_grouped(),
        adjustment: got.roll.adjustment.yuan_grouped(),
        by_type: got
            .roll
            .by_type
            .iter()
            .map(|t| TypeRow {
                label: types.label(&t.type_code),
                people: t.people,
                lines: t.lines,
                amount: t.amount.yuan_grouped(),
                wan: t.amount.wan(),
            })
            .collect(),
        changes: got
            .roll
            .changes
            .iter()
            .map(|c| ChangeRow {
                kind: kind_label(&c.kind),
                name: c.child_name.clone(),
                place: place(&c.division_code),
                type_label: types.label(&c.type_code),
                old: if c.kind == "new" {
                    String::new()
                } else {
                    yuan(c.old_fen)
                },
                new: if c.kind == "stopped" {
                    String::new()
                } else {
                    yuan(c.new_fen)
                },
                reason: c.reason.clone(),
            })
            .collect(),
        lines: got
            .lines
            .iter()
            .map(|l| LineRow {
                no: l.line_no,
                name: l.child_name.clone(),
                place: place(&l.division_code),
                id_masked: l.id_masked.clone(),
                type_label: types.label(&l.type_code),
                kind: kind_label(&l.kind),
                for_month: l.for_month.clone(),
                amount: yuan(l.amount_fen),
                negative: l.amount_fen < 0,
                reason: l.reason.clone(),
                account: l.account_masked.clone(),
            })
            .collect(),
        page,
        prev_href: (page > 1).then(|| format!("/allowances/rolls/{id}?page={}", page - 1)),
        next_href: (page < pages).then(|| format!("/allowances/rolls/{id}?page={}", page + 1)),
        layouts,
        recoveries: recoveries
            .iter()
            .map(|(_, name, division, fen)| (name.clone(), place(division), fen.yuan_grouped()))
            .collect(),
        r,
        error,
        notice,
    });
    if status {
        *res.status_mut() = StatusCode::CONFLICT;
    }
    res
}

#[derive(Deserialize, Default)]
pub struct RollQuery {
    page: Option<u32>,
    notice: Option<String>,
}

pub async fn roll(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
    Query(q): Query<RollQuery>,
) -> Response {
    let notice = match q.notice.as_deref() {
        Some("generated") => Some("名册已生成（草稿）：请核对与上月的差异，无误后锁定。"),
        Some("locked") => Some("名册已锁定，不会再改变；可导出银行代发文件。"),
        Some("adjusted") => Some("调整行已加入名册。"),
        _ => None,
    };
    roll_view(
        &state,
        &caller,
        &id,
        q.page.unwrap_or(1).clamp(1, 100_000),
        None,
        notice,
    )
    .await
}

#[derive(Deserialize)]
pub struct LockForm {
    #[serde(default)]
    acknowledge: String,
}

pub async fn lock(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<LockForm>,
) -> Response {
    let CsrfForm { caller, form, .. } = form;
    match state
        .store
        .lock_roll(
            caller.scope(),
            &id,
            !form.acknowledge.is_empty(),
            &caller.ip,
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/allowances/rolls/{id}?notice=locked")).into_response(),
        Err(StoreError::Conflict { message, .. }) => {
            roll_view(&state, &caller, &id, 1, Some(message), None).await
        }
        Err(e) => store_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct AdjustmentForm {
    #[serde(default)]
    application_id: String,
    #[serde(default)]
    for_month: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

pub async fn adjust(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<AdjustmentForm>,
) -> Response {
    let CsrfForm { caller, form, .. } = form;
    let parsed = (|| -> Result<(Month, Fen), String> {
        let month = Month::parse("所属月份", &form.for_month).map_err(|e| e.message)?;
        let text = form.amount.trim();
        let (negative, digits) = match text.strip_prefix(['-', '－']) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let fen = Fen::parse_yuan("调整金额", digits).map_err(|e| e.message)?;
        Ok((month, if negative { -fen } else { fen }))
    })();
    let (month, fen) = match parsed {
        Ok(x) => x,
        Err(m) => return roll_view(&state, &caller, &id, 1, Some(m), None).await,
    };
    match state
        .store
        .add_adjustment(
            caller.scope(),
            &id,
            form.application_id.trim(),
            month,
            fen,
            &form.reason,
            &caller.ip,
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/allowances/rolls/{id}?notice=adjusted")).into_response(),
        Err(StoreError::Invalid { invalid, .. }) => {
            roll_view(&state, &caller, &id, 1, Some(invalid.message), None).await
        }
        Err(StoreError::Conflict { message, .. }) => {
            roll_view(&state, &caller, &id, 1, Some(message), None).await
        }
        Err(e) => store_error_page(e),
    }
}

#[derive(Template)]
#[template(path = "allowances_summary.html")]
struct SummaryPage {
    layout: Layout,
    r: RollView,
    place: String,
    by_type: Vec<TypeRow>,
    total: String,
    wan: String,
    regular: String,
    adjustment: String,
    changes: (usize, usize, usize),
    recoveries: Vec<(String, String, String)>,
    recovered: String,
    generated: String,
    locked: Option<String>,
    printed: String,
}

/// The signed-off summary of a roll, for print (发放汇总表).
pub async fn summary(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
) -> Response {
    let scope = caller.scope();
    let got = match state.store.roll(scope, &id, 1, 1, &caller.ip).await {
        Ok(p) => p,
        Err(e) => return store_error_page(e),
    };
    let types = state
        .store
        .allowance_types(Some(got.roll.division))
        .await
        .unwrap_or_default();
    let recoveries = state
        .store
        .roll_recoveries(scope, &id)
        .await
        .unwrap_or_default();
    let places = village_names(&state, recoveries.iter().map(|r| r.2.clone()).collect()).await;
    let recovered: Fen = recoveries.iter().map(|r| r.3).sum();
    let count = |k: &str| got.roll.changes.iter().filter(|c| c.kind == k).count();
    render(&SummaryPage {
        layout: Layout::for_caller(&caller, "/allowances"),
        place: state
            .store
            .place_name(got.roll.division)
            .await
            .unwrap_or_default(),
        by_type: got
            .roll
            .by_type
            .iter()
            .map(|t| TypeRow {
                label: types.label(&t.type_code),
                people: t.people,
                lines: t.lines,
                amount: t.amount.yuan_grouped(),
                wan: t.amount.wan(),
            })
            .collect(),
        total: got.roll.total.yuan_grouped(),
        wan: got.roll.total.wan(),
        regular: got.roll.regular.yuan_grouped(),
        adjustment: got.roll.adjustment.yuan_grouped(),
        changes: (count("new"), count("stopped"), count("changed")),
        recoveries: recoveries
            .iter()
            .map(|(_, name, division, fen)| {
                (
                    name.clone(),
                    places.get(division).cloned().unwrap_or_default(),
                    fen.yuan_grouped(),
                )
            })
            .collect(),
        recovered: recovered.yuan_grouped(),
        generated: format!(
            "{} {}",
            beijing_time(got.roll.generated_at),
            got.roll.generated_by
        ),
        locked: got.roll.locked_at.map(|at| {
            format!(
                "{} {}",
                beijing_time(at),
                got.roll.locked_by.clone().unwrap_or_default()
            )
        }),
        printed: beijing_time(state.store.clock().now_ms()),
        r: RollView::new(&got.roll, &[], 1, 1, &types),
    })
}

// ---- the public notice (公示) ----------------------------------------------------------

pub struct NoticeRow {
    pub seq: usize,
    pub name: String,
    pub place: String,
    pub type_label: String,
}

#[derive(Template)]
#[template(path = "allowances_notice.html")]
struct NoticePage {
    layout: Layout,
    place: String,
    rows: Vec<NoticeRow>,
    types: Vec<(String, String)>,
    chosen: String,
    division: String,
    date: String,
}

#[derive(Deserialize, Default)]
pub struct PublicQuery {
    division: Option<String>,
    #[serde(rename = "type")]
    type_code: Option<String>,
}

/// What may be posted publicly: confirmed cases of the types that allow a notice, never a
/// 事实无人抚养 or 受艾滋病影响 record; masked names and the village only.
pub async fn notice(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<PublicQuery>,
) -> Response {
    let scope = caller.scope();
    if !allows(scope.role, Action::ViewAllowances) {
        return forbidden("查看公示名单");
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
    if let Err(d) = scope.check(Action::ViewAllowances, division) {
        return store_error_page(d.into());
    }
    let types = state
        .store
        .allowance_types(Some(division))
        .await
        .unwrap_or_default();
    let public: Vec<(String, String)> = types
        .all()
        .iter()
        .filter(|t| t.public_notice && !t.designated_only)
        .map(|t| (t.code.clone(), t.label.clone()))
        .collect();
    let chosen = q.type_code.clone().unwrap_or_default();
    let mut cases = Vec::new();
    for page in 1..=50 {
        let filter = CaseFilter {
            division: Some(division),
            status: Some(Status::Confirmed),
            page,
            per_page: 200,
            ..Default::default()
        };
        // Posted by people who are not designated: hidden records never come.
        let plain = weibao_domain::access::Scope::new(
            &scope.user_id,
            &scope.username,
            scope.role,
            scope.home().unwrap_or(division),
            None,
        );
        match state.store.list_applications(&plain, &filter).await {
            Ok((list, _)) => {
                let n = list.len();
                cases.extend(list);
                if n < 200 {
                    break;
                }
            }
            Err(e) => return store_error_page(e),
        }
    }
    cases.retain(|c| {
        !c.sensitive
            && public.iter().any(|(code, _)| *code == c.type_code)
            && (chosen.is_empty() || c.type_code == chosen)
    });
    cases.sort_by(|a, b| {
        (a.division.full(), &a.child_name).cmp(&(b.division.full(), &b.child_name))
    });
    let places = village_names(&state, cases.iter().map(|c| c.division.full()).collect()).await;
    let place = state.store.place_name(division).await.unwrap_or_default();
    render(&NoticePage {
        layout: Layout::for_caller(&caller, "/allowances"),
        rows: cases
            .iter()
            .enumerate()
            .map(|(i, c)| NoticeRow {
                seq: i + 1,
                name: mask_name(&c.child_name),
                place: places.get(&c.division.full()).cloned().unwrap_or_default(),
                type_label: types.label(&c.type_code),
            })
            .collect(),
        types: public,
        chosen,
        division: division.full(),
        place,
        date: state
            .store
            .clock()
            .today()
            .format("%Y年%-m月%-d日")
            .to_string(),
    })
}

// ---- totals ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "allowances_totals.html")]
struct TotalsPage {
    layout: Layout,
    place: String,
    division: String,
    year: i32,
    years: Vec<i32>,
    sentence: String,
    total: String,
    wan: String,
    people: i64,
    by_type: Vec<(String, String, String, i64)>,
    by_month: Vec<(String, String, i64, u32)>,
    by_division: Vec<(String, String, String, i64)>,
}

#[derive(Deserialize, Default)]
pub struct TotalsQuery {
    division: Option<String>,
    year: Option<i32>,
}

pub async fn totals(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<TotalsQuery>,
) -> Response {
    let scope = caller.scope();
    if !allows(scope.role, Action::ViewAllowances) {
        return forbidden("查看发放统计");
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
    let this_year = state.store.clock().today().year();
    let year = q.year.unwrap_or(this_year);
    let t = match state.store.allowance_totals(scope, division, year).await {
        Ok(t) => t,
        Err(e) => return store_error_page(e),
    };
    let max = t
        .by_month
        .iter()
        .map(|m| m.amount.0)
        .max()
        .unwrap_or(0)
        .max(1);
    render(&TotalsPage {
        layout: Layout::for_caller(&caller, "/allowances"),
        place: state.store.place_name(division).await.unwrap_or_default(),
        division: division.full(),
        year,
        years: (this_year - 4..=this_year).rev().collect(),
        sentence: t.sentence.clone(),
        total: t.total.yuan_grouped(),
        wan: t.total.wan(),
        people: t.people,
        by_type: t
            .by_type
            .iter()
            .map(|x| {
                (
                    x.label.clone(),
                    x.amount.yuan_grouped(),
                    x.amount.wan(),
                    x.people,
                )
            })
            .collect(),
        by_month: t
            .by_month
            .iter()
            .map(|m| {
                (
                    m.month.to_string(),
                    m.amount.yuan_grouped(),
                    m.people,
                    (m.amount.0 * 100 / max) as u32,
                )
            })
            .collect(),
        by_division: t
            .by_division
            .iter()
            .map(|d| (d.division.clone(), d.name.clone(), d.amount.wan(), d.people))
            .collect(),
    })
}

/// The hub's panel on the home page: what waits for this role.
pub async fn home_panel(state: &AppState, caller: &Caller) -> Option<super::Panel> {
    let scope = caller.scope();
    if !allows(scope.role, Action::ViewAllowances) {
        return None;
    }
    let home = scope.home()?;
    let count = |status: Status| {
        let state = state.clone();
        let scope = scope.clone();
        async move {
            state
                .store
                .list_applications(
                    &scope,
                    &CaseFilter {
                        division: Some(home),
                        status: Some(status),
                        page: 1,
                        per_page: 1,
                        ..Default::default()
                    },
                )
                .await
                .map(|(_, t)| t.count)
                .unwrap_or(0)
        }
    };
    let rows = vec![
        super::PanelRow {
            label: "待乡镇查验".into(),
            value: count(Status::Filed).await.to_string(),
            href: Some("/allowances?status=filed".into()),
            overdue: false,
        },
        super::PanelRow {
            label: "待县级确认".into(),
            value: count(Status::Checked).await.to_string(),
            href: Some("/allowances?status=checked".into()),
            overdue: false,
        },
        super::PanelRow {
            label: "保障中".into(),
            value: count(Status::Confirmed).await.to_string(),
            href: Some("/allowances?status=confirmed".into()),
            overdue: false,
        },
    ];
    Some(super::Panel {
        title: "生活保障",
        empty: "",
        rows,
        more: None,
    })
}
