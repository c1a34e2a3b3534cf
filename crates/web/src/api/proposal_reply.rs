//! A proposal's formal reply (答复函) and its attachments over the API: the draft in the
//! layout of seeds 000 and 002 with the county's figures, kept as edited by the lead unit
//! (or the office), exported as .docx; files attached to the reply. Both change until the
//! office passes the reply.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use weibao_domain::proposals::reply_document::ReplyDocument;
use weibao_store::{RecordFile, ReplyDraft, StoreError};

use super::{multipart_form, JsonBody, PathParams, Upload};
use crate::auth::{Auth, Caller};
use crate::error::{ApiError, ErrorBody};
use crate::time::rfc3339;
use crate::AppState;

/// A file attached to the reply.
#[derive(Serialize, ToSchema)]
pub struct ReplyFileView {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_at: String,
    /// GET it here (the read is audited).
    pub url: String,
}

/// The reply document and the reply's files.
#[derive(Serialize, ToSchema)]
pub struct ReplyDocumentView {
    /// 文号 (may be empty)
    pub doc_number: String,
    pub title: String,
    /// 称谓: 尊敬的…委员：
    pub salutation: String,
    /// The letter, one paragraph per line; "一、…" lines are headings, "（一）…" sub-headings.
    pub body: String,
    /// 落款单位
    pub signer: String,
    /// 落款日期
    pub date: String,
    /// 承办单位、联系人、联系电话, one per line
    pub footer: String,
    /// False: a draft from the proposal and the county's figures, not kept yet.
    pub kept: bool,
    /// The office passed the reply: the document and files no longer change.
    pub closed: bool,
    /// The .docx of what is shown.
    pub docx_url: String,
    pub files: Vec<ReplyFileView>,
}

fn view(id: &str, d: ReplyDraft, files: Vec<RecordFile>) -> ReplyDocumentView {
    let doc = d.document;
    ReplyDocumentView {
        doc_number: doc.doc_number,
        title: doc.title,
        salutation: doc.salutation,
        body: doc.body,
        signer: doc.signer,
        date: doc.date,
        footer: doc.footer,
        kept: d.kept,
        closed: d.closed,
        docx_url: format!("/api/v1/proposals/{id}/reply-document.docx"),
        files: files
            .into_iter()
            .map(|f| ReplyFileView {
                url: format!("/api/v1/proposals/{id}/files/{}", f.id),
                id: f.id,
                name: f.name,
                content_type: f.content_type,
                size: f.size,
                uploaded_at: rfc3339(f.uploaded_at),
            })
            .collect(),
    }
}

async fn answer(
    state: &AppState,
    caller: &Caller,
    id: &str,
    d: ReplyDraft,
) -> Result<ReplyDocumentView, ApiError> {
    let files = state.store.reply_files(caller.scope(), id).await?;
    Ok(view(id, d, files))
}

#[utoipa::path(get, path = "/api/v1/proposals/{id}/reply-document", tag = "proposals",
    params(("id" = String, Path)),
    responses((status = 200, body = ReplyDocumentView), (status = 404, body = ErrorBody)))]
pub async fn get_reply_document(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<ReplyDocumentView>, ApiError> {
    let d = state.store.reply_document(caller.scope(), &id).await?;
    Ok(Json(answer(&state, &caller, &id, d).await?))
}

/// The reply document as edited.
#[derive(Deserialize, ToSchema)]
pub struct ReplyDocumentRequest {
    #[schema(max_length = 60)]
    pub doc_number: Option<String>,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    pub salutation: String,
    #[schema(min_length = 1, max_length = 30000, pattern = r"\S")]
    pub body: String,
    #[schema(min_length = 1, max_length = 60, pattern = r"\S")]
    pub signer: String,
    #[schema(min_length = 1, max_length = 30, pattern = r"\S")]
    pub date: String,
    #[schema(max_length = 1000)]
    pub footer: Option<String>,
}

impl ReplyDocumentRequest {
    pub fn into_document(self) -> ReplyDocument {
        ReplyDocument {
            doc_number: self.doc_number.unwrap_or_default(),
            title: self.title,
            salutation: self.salutation,
            body: self.body,
            signer: self.signer,
            date: self.date,
            footer: self.footer.unwrap_or_default(),
        }
    }
}

#[utoipa::path(put, path = "/api/v1/proposals/{id}/reply-document", tag = "proposals",
    params(("id" = String, Path)), request_body = ReplyDocumentRequest,
    responses((status = 200, body = ReplyDocumentView), (status = 404, body = ErrorBody),
              (status = 409, description = "不是主办单位，或答复已审核通过", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn keep_reply_document(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ReplyDocumentRequest>,
) -> Result<Json<ReplyDocumentView>, ApiError> {
    let d = state
        .store
        .keep_reply_document(caller.scope(), &id, &req.into_document(), &caller.ip)
        .await?;
    Ok(Json(answer(&state, &caller, &id, d).await?))
}

/// The reply document as a Word file: the one kept, or the draft.
pub async fn reply_docx(state: &AppState, caller: &Caller, id: &str) -> Result<Response, ApiError> {
    let d = state.store.reply_document(caller.scope(), id).await?;
    let bytes =
        crate::proposals_io::reply_docx(&d.document, &rfc3339(state.store.clock().now_ms()));
    let name = format!("{}.docx", d.document.title);
    Ok(crate::download::download(
        bytes,
        crate::download::DOCX,
        "reply.docx",
        &name,
    ))
}

#[utoipa::path(get, path = "/api/v1/proposals/{id}/reply-document.docx", tag = "proposals",
    params(("id" = String, Path)),
    responses((status = 200, description = "答复函（Word 文档，可再编辑）",
               content((Vec<u8> = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))),
              (status = 404, body = ErrorBody)))]
pub async fn export_reply_document(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    reply_docx(&state, &caller, &id).await
}

/// Files for the reply.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReplyFileUpload {
    /// One or more files (a scanned letter as PDF, photos), each in a field named file.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Attaches files to the reply (at most 9; the same bytes twice are kept once).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/files", tag = "proposals",
    params(("id" = String, Path)),
    request_body(content = ReplyFileUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = ReplyDocumentView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "不是主办单位，或答复已审核通过", body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_reply_files(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    upload: Upload,
) -> Result<(StatusCode, Json<ReplyDocumentView>), ApiError> {
    caller
        .scope()
        .check_role(weibao_domain::access::Action::ViewCommittee)
        .map_err(StoreError::from)?;
    let (_, files) = multipart_form(
        upload,
        "附件过大或上传中断（每个不超过 10 MB），请压缩后重试",
    )
    .await?;
    let files: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .filter(|(k, _, _)| k == "file")
        .map(|(_, n, b)| (n, b))
        .collect();
    state
        .store
        .add_reply_files(caller.scope(), &id, files, &caller.ip)
        .await?;
    let d = state.store.reply_document(caller.scope(), &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(answer(&state, &caller, &id, d).await?),
    ))
}

/// One of the reply's files, the read audited.
#[utoipa::path(get, path = "/api/v1/proposals/{id}/files/{file_id}", tag = "proposals",
    params(("id" = String, Path), ("file_id" = String, Path)),
    responses((status = 200, description = "照片或 PDF，按上传的原样",
               content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"),
                       (Vec<u8> = "application/pdf"))),
              (status = 404, body = ErrorBody)))]
pub async fn get_reply_file(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams((id, file_id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let (file, bytes) = state
        .store
        .reply_file(caller.scope(), &id, &file_id, &caller.ip)
        .await?;
    Ok(super::reports::file_response(
        &file.content_type,
        &file.name,
        bytes,
    ))
}
