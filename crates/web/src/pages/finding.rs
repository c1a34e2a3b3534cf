//! The pages of finding every child: /findings (what list matches found in the caller's
//! division, each to verify: registered, updated, or not applicable with a reason) and
//! /findings/lists (the office's uploads, with each match's progress while it runs).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action};
use weibao_domain::finding::matching::{FindingKind, ListKind};
use weibao_domain::DivisionCode;
use weibao_store::{Answer, FindingFilter, StoreError};

use super::forms::{field, refusal, Failed, NoticeQuery, Refused};
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, CsrfMultipart, PageAuth};
use crate::AppState;

struct FindingLine {
    id: String,
    kind: &'static str,
    missing: bool,
    child_name: String,
    child_href: Option<String>,
    add_href: Option<String>,
    explanation: String,
    answer: Option<&'static str>,
    answer_note: String,
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    layout: Layout,
    items: Vec<FindingLine>,
    all: bool,
    list_id: String,
    division: String,
    office: bool,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct FindingsQuery {
    list_id: Option<String>,
    division: Option<String>,
    all: Option<String>,
    notice: Option<String>,
}

pub async fn findings(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<FindingsQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::VerifyFindings) {
        return error_page(
            StatusCode::FORBIDDEN,
            "名单比对结果由未保办、乡镇和村（社区）核实。",
        );
    }
    findings_page(&state, &caller, q, Failed::default(), StatusCode::OK).await
}

async fn findings_page(
    state: &AppState,
    caller: &Caller,
    q: FindingsQuery,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let all = q.all.is_some();
    let division = q
        .division
        .as_deref()
        .and_then(|d| DivisionCode::parse(d).ok());
    let list_id = q.list_id.unwrap_or_default();
    let found = match state
        .store
        .list_findings(
            caller.scope(),
            &FindingFilter {
                list_id: Some(list_id.clone()).filter(|l| !l.is_empty()),
                division,
                open: !all,
            },
        )
        .await
    {
        Ok(f) => f,
        Err(e) => return store_error_page(e),
    };
    let items = found
        .into_iter()
        .map(|f| {
            let missing = f.kind == FindingKind::Missing;
            FindingLine {
                child_href: f.child_id.as_ref().map(|c| format!("/children/{c}")),
                add_href: (missing && f.answer.is_none()).then(|| {
                    format!(
                        "/children/new?name={}&id_number={}&division={}",
                        super::url_encode(&f.child_name),
                        super::url_encode(&f.id_number),
                        f.division_code
                    )
                }),
                kind: f.kind.label(),
                missing,
                answer: f
                    .answer
                    .as_deref()
                    .and_then(Answer::parse)
                    .map(Answer::label),
                id: f.id,
                child_name: f.child_name,
                explanation: f.explanation,
                answer_note: f.answer_note,
            }
        })
        .collect();
    let mut res = render(&FindingsPage {
        layout: Layout::for_caller(caller, "/findings"),
        items,
        all,
        list_id,
        division: q.division.unwrap_or_default(),
        office: allows(caller.scope().role, Action::MatchLists),
        failed,
        notice: q.notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

/// Verifies one finding.
pub async fn answer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let CsrfForm { caller, pairs, .. } = form;
    if !allows(caller.scope().role, Action::VerifyFindings) {
        return error_page(
            StatusCode::FORBIDDEN,
            "名单比对结果由未保办、乡镇和村（社区）核实。",
        );
    }
    let result = state
        .store
        .answer_finding(
            caller.scope(),
            &id,
            field(&pairs, "answer"),
            field(&pairs, "note"),
            &caller.ip,
        )
        .await;
    let back = FindingsQuery {
        list_id: Some(field(&pairs, "list_id").to_string()).filter(|s| !s.is_empty()),
        division: Some(field(&pairs, "division").to_string()).filter(|s| !s.is_empty()),
        ..FindingsQuery::default()
    };
    match result {
        Ok(_) => {
            let mut to = String::from("/findings?notice=answered");
            if let Some(l) = &back.list_id {
                to.push_str(&format!("&list_id={l}"));
            }
            if let Some(d) = &back.division {
                to.push_str(&format!("&division={d}"));
            }
            Redirect::to(&to).into_response()
        }
        Err(e) => match refusal("answer", e, &pairs) {
            Refused::Again(status, failed) => {
                findings_page(&state, &caller, back, failed, status).await
            }
            Refused::Page(p) => p,
        },
    }
}

struct ListLine {
    id: String,
    kind: &'static str,
    department: &'static str,
    file_name: String,
    rows: i64,
    done: i64,
    running: bool,
    failed: bool,
    error: String,
    missing: i64,
    changed: i64,
    contradicts: i64,
    uploaded_at: String,
    file_deleted: bool,
}

#[derive(Template)]
#[template(path = "dept_lists.html")]
struct ListsPage {
    layout: Layout,
    lists: Vec<ListLine>,
    running: bool,
    kinds: Vec<(&'static str, &'static str, &'static str)>,
    failed: Failed,
    notice: Option<String>,
    skipped: Vec<String>,
    csrf: String,
}

pub async fn lists(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NoticeQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::MatchLists) {
        return error_page(StatusCode::FORBIDDEN, "部门名单由未保办上传比对。");
    }
    lists_page(
        &state,
        &caller,
        q.notice,
        vec![],
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

async fn lists_page(
    state: &AppState,
    caller: &Caller,
    notice: Option<String>,
    skipped: Vec<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let found = match state.store.dept_lists(caller.scope()).await {
        Ok(l) => l,
        Err(e) => return store_error_page(e),
    };
    let lists: Vec<ListLine> = found
        .into_iter()
        .map(|l| {
            let kind = ListKind::parse(&l.kind);
            ListLine {
                kind: kind.map(|k| k.label()).unwrap_or(""),
                department: kind.map(|k| k.department()).unwrap_or(""),
                running: l.state == "running",
                failed: l.state == "failed",
                uploaded_at: beijing_time(l.uploaded_at),
                file_deleted: l.deleted_at.is_some(),
                id: l.id,
                file_name: l.file_name,
                rows: l.rows,
                done: l.done_rows,
                error: l.error,
                missing: l.missing,
                changed: l.changed,
                contradicts: l.contradicts,
            }
        })
        .collect();
    let mut res = render(&ListsPage {
        layout: Layout::for_caller(caller, "/findings"),
        running: lists.iter().any(|l| l.running),
        lists,
        kinds: ListKind::ALL
            .iter()
            .map(|k| (k.code(), k.label(), k.department()))
            .collect(),
        failed,
        notice,
        skipped,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

/// Uploads a list (a multipart form) and starts its matching.
pub async fn upload(State(state): State<AppState>, form: CsrfMultipart) -> Response {
    let CsrfMultipart {
        caller,
        fields,
        files,
        file_names,
    } = form;
    if !allows(caller.scope().role, Action::MatchLists) {
        return error_page(StatusCode::FORBIDDEN, "部门名单由未保办上传比对。");
    }
    let kind = ListKind::parse(field(&fields, "kind"));
    let file = files
        .into_iter()
        .zip(file_names)
        .find(|((k, _), _)| k == "file")
        .map(|((_, bytes), name)| (name, bytes));
    let result = match (kind, file) {
        (None, _) => Err(crate::error::ApiError::from(StoreError::invalid(
            "kind",
            weibao_domain::Invalid::new("choice", "请选择名单类别"),
        ))),
        (_, None) => Err(crate::error::ApiError::from(StoreError::invalid(
            "file",
            weibao_domain::Invalid::new("file_missing", "请选择要上传的名单（.xlsx）"),
        ))),
        (Some(kind), Some((name, bytes))) => {
            crate::api::finding::start(&state, &caller, kind, &name, bytes).await
        }
    };
    match result {
        Ok((_, reading)) => {
            let skipped = reading
                .errors
                .iter()
                .take(20)
                .map(|e| format!("第 {} 行：{}", e.row, e.message))
                .collect();
            lists_page(
                &state,
                &caller,
                Some("started".into()),
                skipped,
                Failed::default(),
                StatusCode::OK,
            )
            .await
        }
        Err(e) => {
            let failed = Failed::new("upload", e.message.clone(), e.field.unwrap_or(""), &fields);
            lists_page(&state, &caller, None, vec![], failed, e.status).await
        }
    }
}
