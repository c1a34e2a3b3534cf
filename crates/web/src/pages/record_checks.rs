//! The pre-employment checks' page (入职查询): an institution asks about one person (with
//! the signed consent) or uploads a sheet for the yearly re-check, and sees its answers
//! (有/无相关记录 with the query number) to print or download for its file. The office and
//! the police liaison also see how many people the county's list holds, load it from the
//! police's sheet and withdraw a wrong entry; nothing on the page ever shows who is on it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action};
use weibao_domain::record_checks::{CheckPurpose, QueryInput};
use weibao_domain::Invalid;
use weibao_store::{RecordCheck, StoreError};

use super::forms::{field, refusal, Failed, Refused};
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, CsrfMultipart, PageAuth};
use crate::AppState;

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "入职查询由学校、幼儿园、培训和托管机构等用人单位及未保办使用。",
    )
}

struct Line {
    number: String,
    name: String,
    id_masked: String,
    post: String,
    purpose: &'static str,
    found: bool,
    result: &'static str,
    unit: String,
    at: String,
}

#[derive(Template)]
#[template(path = "record_checks.html")]
struct ChecksPage {
    layout: Layout,
    items: Vec<Line>,
    /// The answers just given (a single question or a batch), shown on top.
    answered: Vec<Line>,
    batch: Option<String>,
    /// The office or the police liaison: the list's size and its forms.
    keeper: bool,
    list_size: i64,
    purposes: Vec<(&'static str, &'static str)>,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    batch: Option<String>,
    check: Option<String>,
    notice: Option<String>,
}

fn line(c: RecordCheck) -> Line {
    Line {
        number: c.number,
        name: c.name,
        id_masked: c.id_masked,
        post: c.post,
        purpose: c.purpose.label(),
        found: c.result == weibao_domain::record_checks::CheckResult::Found,
        result: c.result.label(),
        unit: c.unit_name,
        at: beijing_time(c.asked_at),
    }
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<PageQuery>,
) -> Response {
    let role = caller.scope().role;
    if !allows(role, Action::CheckRecords) {
        return refuse_role();
    }
    page(&state, &caller, q, Failed::default(), StatusCode::OK).await
}

async fn page(
    state: &AppState,
    caller: &Caller,
    q: PageQuery,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let result = async {
        let all = state.store.record_checks(scope, None).await?;
        let answered: Vec<Line> = match (&q.batch, &q.check) {
            (Some(b), _) if !b.is_empty() => state
                .store
                .record_checks(scope, Some(b))
                .await?
                .into_iter()
                .map(line)
                .collect(),
            (_, Some(id)) => all
                .iter()
                .filter(|c| &c.id == id)
                .cloned()
                .map(line)
                .collect(),
            _ => vec![],
        };
        let list_size = state.store.record_list_size(scope).await.ok();
        Ok::<_, StoreError>(render(&ChecksPage {
            layout: Layout::for_caller(caller, "/record-checks"),
            items: all.into_iter().take(300).map(line).collect(),
            answered,
            batch: q.batch.filter(|b| !b.is_empty()),
            keeper: list_size.is_some(),
            list_size: list_size.unwrap_or(0),
            purposes: CheckPurpose::ALL
                .iter()
                .map(|p| (p.code(), p.label()))
                .collect(),
            failed,
            notice: q.notice.as_deref().and_then(notice_text),
            csrf: caller.user.csrf_token.clone(),
        }))
    }
    .await;
    match result {
        Ok(mut res) => {
            *res.status_mut() = status;
            res
        }
        Err(e) => store_error_page(e),
    }
}

/// What a redirect's notice says: loaded-ADDED-ALREADY, withdrawn-N.
fn notice_text(notice: &str) -> Option<String> {
    let parts: Vec<&str> = notice.split('-').collect();
    match parts.as_slice() {
        ["loaded", added, already] => Some(format!(
            "已导入 {added} 人；{already} 人此前已在名单中，未重复导入。"
        )),
        ["withdrawn", "0"] => Some("本县名单中没有这个身份证号，未撤销任何记录。".into()),
        ["withdrawn", n] => Some(format!("已撤销 {n} 条记录。")),
        _ => None,
    }
}

fn file(form: &CsrfMultipart, key: &str) -> Option<(String, Vec<u8>)> {
    form.files
        .iter()
        .zip(&form.file_names)
        .find(|((k, _), _)| k == key)
        .map(|((_, bytes), name)| (name.clone(), bytes.clone()))
}

async fn again(
    state: &AppState,
    caller: &Caller,
    form: &'static str,
    fields: &[(String, String)],
    e: StoreError,
) -> Response {
    match refusal(form, e, fields) {
        Refused::Again(status, failed) => {
            page(state, caller, PageQuery::default(), failed, status).await
        }
        Refused::Page(page) => page,
    }
}

/// A limit reached is shown in the form like any refusal (an error page would lose what
/// was typed).
fn too_many(e: StoreError) -> StoreError {
    match e {
        StoreError::TooMany { code, message } => StoreError::Conflict {
            field: "id_number",
            code,
            message,
        },
        other => other,
    }
}

/// One question with its consent (a multipart form).
pub async fn ask(State(state): State<AppState>, form: CsrfMultipart) -> Response {
    if !allows(form.caller.scope().role, Action::CheckRecords) {
        return refuse_role();
    }
    let consent = file(&form, "consent").unwrap_or_default();
    let CsrfMultipart { caller, fields, .. } = form;
    let result = state
        .store
        .check_record(
            caller.scope(),
            QueryInput {
                name: field(&fields, "name").into(),
                id_number: field(&fields, "id_number").into(),
                post: field(&fields, "post").into(),
                purpose: field(&fields, "purpose").into(),
            },
            consent,
            &caller.ip,
        )
        .await;
    match result {
        Ok(c) => Redirect::to(&format!("/record-checks?check={}#answers", c.id)).into_response(),
        Err(e) => again(&state, &caller, "ask", &fields, too_many(e)).await,
    }
}

/// A batch sheet with its consent (a multipart form).
pub async fn ask_batch(State(state): State<AppState>, form: CsrfMultipart) -> Response {
    if !allows(form.caller.scope().role, Action::CheckRecords) {
        return refuse_role();
    }
    let sheet = file(&form, "file");
    let consent = file(&form, "consent").unwrap_or_default();
    let CsrfMultipart { caller, fields, .. } = form;
    let result = async {
        let (_, bytes) = sheet.ok_or_else(|| {
            StoreError::invalid(
                "file",
                Invalid::new(
                    "file_missing",
                    "请选择查询名单（.xlsx：姓名、身份证号、岗位）",
                ),
            )
        })?;
        let rows = crate::record_checks_io::read_queries(&bytes).map_err(api_refusal)?;
        state
            .store
            .check_records_batch(caller.scope(), rows, consent, &caller.ip)
            .await
    }
    .await;
    match result {
        Ok(checks) => {
            let batch = checks
                .first()
                .and_then(|c| c.batch_id.clone())
                .unwrap_or_default();
            Redirect::to(&format!("/record-checks?batch={batch}#answers")).into_response()
        }
        Err(e) => again(&state, &caller, "batch", &fields, too_many(e)).await,
    }
}

/// An ApiError of the sheet reader as a refusal of the form's file.
fn api_refusal(e: crate::error::ApiError) -> StoreError {
    StoreError::invalid("file", Invalid::new(e.code, e.message))
}

/// The police's sheet for the restricted list (a multipart form).
pub async fn load(State(state): State<AppState>, form: CsrfMultipart) -> Response {
    if !allows(form.caller.scope().role, Action::LoadRecordList) {
        return refuse_role();
    }
    let sheet = file(&form, "file");
    let CsrfMultipart { caller, fields, .. } = form;
    let result = async {
        // Refuse a unit other than the police before reading the sheet.
        state.store.record_list_size(caller.scope()).await?;
        let (_, bytes) = sheet.ok_or_else(|| {
            StoreError::invalid(
                "file",
                Invalid::new(
                    "file_missing",
                    "请选择名单（.xlsx：姓名、身份证号、违法犯罪类别、记录来源）",
                ),
            )
        })?;
        let entries = crate::record_checks_io::read_entries(&bytes).map_err(api_refusal)?;
        state
            .store
            .load_record_list(caller.scope(), entries, &caller.ip)
            .await
    }
    .await;
    match result {
        Ok(l) => Redirect::to(&format!(
            "/record-checks?notice=loaded-{}-{}#list",
            l.added, l.already
        ))
        .into_response(),
        Err(e) => again(&state, &caller, "load", &fields, e).await,
    }
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    reason: String,
}

pub async fn withdraw(State(state): State<AppState>, form: CsrfForm<WithdrawForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if !allows(caller.scope().role, Action::LoadRecordList) {
        return refuse_role();
    }
    match state
        .store
        .withdraw_from_record_list(caller.scope(), &form.id_number, &form.reason, &caller.ip)
        .await
    {
        Ok(n) => Redirect::to(&format!("/record-checks?notice=withdrawn-{n}#list")).into_response(),
        Err(e) => again(&state, &caller, "withdraw", &pairs, e).await,
    }
}
