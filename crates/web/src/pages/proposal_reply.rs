//! A proposal's reply document page (/proposals/{id}/reply-document): the draft in the
//! layout of seeds 000 and 002 with the county's figures, or the version kept; the lead
//! unit (or the office) edits and keeps it, exports it as Word and attaches the reply's
//! files. Anyone who sees the proposal reads it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use weibao_domain::access::{allows, Action, Role};
use weibao_domain::proposals::reply_document::ReplyDocument;
use weibao_store::{RecordFile, StoreError, MAX_REPLY_FILES};

use super::forms::NoticeQuery;
use super::forms::{field, refusal, Failed, Refused};
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, CsrfMultipart, PageAuth};
use crate::AppState;

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "建议提案办理由未保办和承办单位的联络员查看。",
    )
}

struct FileLine {
    url: String,
    name: String,
    at: String,
}

#[derive(Template)]
#[template(path = "proposal_reply.html")]
struct DocumentPage {
    layout: Layout,
    id: String,
    title: String,
    doc: ReplyDocument,
    kept: bool,
    closed: bool,
    may_edit: bool,
    files: Vec<FileLine>,
    max_files: usize,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    page(
        &state,
        &caller,
        &id,
        None,
        q.notice,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

/// The page; `edited` is a refused edit shown again as typed.
async fn page(
    state: &AppState,
    caller: &Caller,
    id: &str,
    edited: Option<ReplyDocument>,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let (p, _) = match state.store.proposal(scope, id).await {
        Ok(found) => found,
        Err(e) => return store_error_page(e),
    };
    let shown = match state.store.reply_document(scope, id).await {
        Ok(d) => d,
        Err(e) => return store_error_page(e),
    };
    let files: Vec<RecordFile> = match state.store.reply_files(scope, id).await {
        Ok(f) => f,
        Err(e) => return store_error_page(e),
    };
    let mine = state.store.acting_units(scope).await.unwrap_or_default();
    let may_edit = !shown.closed && (scope.role == Role::Office || mine.contains(&p.lead_unit_id));
    let mut res = render(&DocumentPage {
        layout: Layout::for_caller(caller, "/proposals"),
        id: id.to_string(),
        title: p.title,
        doc: edited.unwrap_or(shown.document),
        kept: shown.kept,
        closed: shown.closed,
        may_edit,
        files: files
            .into_iter()
            .map(|f| FileLine {
                url: format!("/api/v1/proposals/{id}/files/{}", f.id),
                at: beijing_time(f.uploaded_at),
                name: f.name,
            })
            .collect(),
        max_files: MAX_REPLY_FILES,
        failed,
        notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

fn document_of(pairs: &[(String, String)]) -> ReplyDocument {
    ReplyDocument {
        doc_number: field(pairs, "doc_number").into(),
        title: field(pairs, "title").into(),
        salutation: field(pairs, "salutation").into(),
        body: field(pairs, "body").into(),
        signer: field(pairs, "signer").into(),
        date: field(pairs, "date").into(),
        footer: field(pairs, "footer").into(),
    }
}

/// Keeps the document as edited.
pub async fn keep(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let CsrfForm { caller, pairs, .. } = form;
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let doc = document_of(&pairs);
    match state
        .store
        .keep_reply_document(caller.scope(), &id, &doc, &caller.ip)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/proposals/{id}/reply-document?notice=kept")).into_response()
        }
        Err(e) => refused(&state, &caller, &id, "document", e, &pairs, Some(doc)).await,
    }
}

async fn refused(
    state: &AppState,
    caller: &Caller,
    id: &str,
    form: &'static str,
    e: StoreError,
    pairs: &[(String, String)],
    edited: Option<ReplyDocument>,
) -> Response {
    match refusal(form, e, pairs) {
        Refused::Again(status, failed) => {
            page(state, caller, id, edited, None, failed, status).await
        }
        Refused::Page(page) => page,
    }
}

/// Attaches files to the reply (a multipart form).
pub async fn upload(
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
    if !allows(caller.scope().role, Action::ViewCommittee) {
        return refuse_role();
    }
    let files: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .zip(file_names)
        .filter(|((k, _), _)| k == "file")
        .map(|((_, bytes), name)| (name, bytes))
        .collect();
    let result = state
        .store
        .add_reply_files(caller.scope(), &id, files, &caller.ip)
        .await;
    match result {
        Ok(_) => {
            Redirect::to(&format!("/proposals/{id}/reply-document?notice=files")).into_response()
        }
        Err(e) => refused(&state, &caller, &id, "files", e, &fields, None).await,
    }
}
