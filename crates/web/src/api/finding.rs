//! Departments' lists matched against the ledger over the API: the office uploads a list
//! (matching runs in the background; GET the list for its progress), and the villages
//! verify what it found (the office and townships follow and may answer too).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::access::Action;
use weibao_domain::finding::matching::ListKind;
use weibao_domain::{DivisionCode, Invalid};
use weibao_store::{DeptList, FindingFilter, ListFinding, StoreError};

use super::{multipart_form, JsonBody, PathParams, QueryParams, Upload};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::finding_io::{read_list, ListReading};
use crate::ledger_io::Villages;
use crate::time::rfc3339;
use crate::AppState;

fn kinds() -> utoipa::openapi::Object {
    super::schema::one_of(ListKind::codes())
}

/// A department's list and where its matching stands.
#[derive(Serialize, ToSchema)]
pub struct DeptListView {
    pub id: String,
    /// dibao, tekun, disability, prison, detox, enrolment, dropout, birth, death, medical
    pub kind: String,
    pub kind_label: String,
    /// The department that keeps it (民政, 残联, 司法, 公安, 教育, 医保).
    pub department: String,
    pub file_name: String,
    pub rows: i64,
    /// running, done, failed
    pub state: String,
    /// Rows matched so far (the progress: done_rows / rows).
    pub done_rows: i64,
    pub missing: i64,
    pub changed: i64,
    pub contradicts: i64,
    pub error: String,
    pub uploaded_at: String,
    /// When the uploaded file is deleted (the findings stay).
    pub delete_after: String,
    pub file_deleted: bool,
}

impl From<DeptList> for DeptListView {
    fn from(l: DeptList) -> DeptListView {
        let kind = ListKind::parse(&l.kind);
        DeptListView {
            kind_label: kind.map(|k| k.label()).unwrap_or_default().into(),
            department: kind.map(|k| k.department()).unwrap_or_default().into(),
            uploaded_at: rfc3339(l.uploaded_at),
            delete_after: rfc3339(l.delete_after),
            file_deleted: l.deleted_at.is_some(),
            id: l.id,
            kind: l.kind,
            file_name: l.file_name,
            rows: l.rows,
            state: l.state,
            done_rows: l.done_rows,
            missing: l.missing,
            changed: l.changed,
            contradicts: l.contradicts,
            error: l.error,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeptListList {
    pub items: Vec<DeptListView>,
}

/// A list just uploaded: matching has started; what reading the sheet left out.
#[derive(Serialize, ToSchema)]
pub struct DeptListUploaded {
    pub list: DeptListView,
    pub reading: ListReading,
}

/// A department's list.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeptListUpload {
    /// dibao, tekun, disability, prison, detox, enrolment, dropout, birth, death, medical
    #[schema(schema_with = kinds)]
    kind: String,
    /// The list as .xlsx: 姓名 and 身份证号, and where it has them 子女/父亲/母亲 姓名 and
    /// 身份证号, 村（社区）, 乡镇, 地址, 类别/等级/状态/备注.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Uploads a list and starts matching it against the county's ledger (202: follow it at
/// GET /api/v1/department-lists/{id}).
#[utoipa::path(post, path = "/api/v1/department-lists", tag = "finding",
    request_body(content = DeptListUpload, content_type = "multipart/form-data"),
    responses((status = 202, body = DeptListUploaded), (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_dept_list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    upload: Upload,
) -> Result<(StatusCode, Json<DeptListUploaded>), ApiError> {
    caller
        .scope()
        .check_role(Action::MatchLists)
        .map_err(StoreError::from)?;
    let (fields, files) = multipart_form(
        upload,
        "名单文件过大或上传中断（不超过 100 MB），请分成几个文件上传",
    )
    .await?;
    let kind_text = fields
        .iter()
        .find(|(k, _)| k == "kind")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let kind = ListKind::parse(&kind_text).ok_or_else(|| {
        ApiError::invalid(
            "kind",
            Invalid::new(
                "choice",
                format!("名单类别 kind 应为 {} 之一", ListKind::codes().join("、")),
            ),
        )
    })?;
    let Some((_, name, bytes)) = files.into_iter().find(|(k, _, _)| k == "file") else {
        return Err(ApiError::invalid(
            "file",
            Invalid::new("file_missing", "请在字段 file 中上传名单（.xlsx）"),
        ));
    };
    let (list, reading) = start(&state, &caller, kind, &name, bytes).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(DeptListUploaded {
            list: list.into(),
            reading,
        }),
    ))
}

/// Reads the sheet, keeps the list and spawns its matching; the list as registered.
pub async fn start(
    state: &AppState,
    caller: &crate::auth::Caller,
    kind: ListKind,
    name: &str,
    bytes: Vec<u8>,
) -> Result<(DeptList, ListReading), ApiError> {
    let scope = caller.scope();
    let county = scope
        .home()
        .map(|h| h.county_code())
        .and_then(|c| DivisionCode::parse(&c).ok())
        .ok_or(StoreError::Forbidden)?;
    let villages = Villages::new(state.store.villages_within(scope, county).await?);
    let today = state.store.clock().today();
    let (rows, reading) = read_list(&bytes, &villages, today)
        .map_err(|e| ApiError::invalid("file", Invalid::new("sheet_unreadable", e.to_string())))?;
    let list = state
        .store
        .add_dept_list(scope, kind, name, &bytes, rows.len(), &caller.ip)
        .await?;
    let store = state.store.clone();
    let id = list.id.clone();
    tokio::spawn(async move {
        if let Err(e) = store.match_dept_list(&id, rows).await {
            tracing::warn!(list = %id, error = %e, "list matching failed");
        }
    });
    Ok((list, reading))
}

#[utoipa::path(get, path = "/api/v1/department-lists", tag = "finding",
    responses((status = 200, body = DeptListList), (status = 403, body = ErrorBody)))]
pub async fn list_dept_lists(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<DeptListList>, ApiError> {
    let lists = state.store.dept_lists(caller.scope()).await?;
    Ok(Json(DeptListList {
        items: lists.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/department-lists/{id}", tag = "finding",
    params(("id" = String, Path)),
    responses((status = 200, body = DeptListView), (status = 404, body = ErrorBody)))]
pub async fn get_dept_list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<DeptListView>, ApiError> {
    Ok(Json(
        state.store.dept_list(caller.scope(), &id).await?.into(),
    ))
}

/// What a match found about one child.
#[derive(Serialize, ToSchema)]
pub struct ListFindingView {
    pub id: String,
    pub list_id: String,
    /// missing (不在台账), changed (情况有变), contradicts (与台账不符)
    pub kind: String,
    pub kind_label: String,
    /// The list's row.
    pub row: i64,
    /// The ledger child (null: not in the ledger).
    pub child_id: Option<String>,
    pub child_name: String,
    /// A missing child's 身份证号, to register them.
    pub id_number: String,
    /// The village that verifies it (the county's code when the list did not say).
    pub division_code: String,
    pub explanation: String,
    /// added, updated, not_applicable; null until verified
    pub answer: Option<String>,
    pub answer_note: String,
    pub answered_at: Option<String>,
}

impl From<ListFinding> for ListFindingView {
    fn from(f: ListFinding) -> ListFindingView {
        ListFindingView {
            kind_label: f.kind.label().into(),
            kind: f.kind.code().into(),
            answered_at: f.answered_at.map(rfc3339),
            id: f.id,
            list_id: f.list_id,
            row: f.row,
            child_id: f.child_id,
            child_name: f.child_name,
            id_number: f.id_number,
            division_code: f.division_code,
            explanation: f.explanation,
            answer: f.answer,
            answer_note: f.answer_note,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListFindingList {
    pub items: Vec<ListFindingView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    pub list_id: Option<String>,
    /// Only under this division (within the caller's).
    #[param(pattern = r"^(\d{6,12})?$")]
    pub division: Option<String>,
    /// Only those not verified yet.
    pub open: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/list-findings", tag = "finding", params(FindingQuery),
    responses((status = 200, body = ListFindingList), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn list_findings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<FindingQuery>,
) -> Result<Json<ListFindingList>, ApiError> {
    let division = match q.division.as_deref().filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(DivisionCode::parse(d).map_err(|e| ApiError::invalid("division", e))?),
    };
    let found = state
        .store
        .list_findings(
            caller.scope(),
            &FindingFilter {
                list_id: q.list_id.filter(|l| !l.is_empty()),
                division,
                open: q.open.unwrap_or(false),
            },
        )
        .await?;
    Ok(Json(ListFindingList {
        items: found.into_iter().map(Into::into).collect(),
    }))
}

fn answers() -> utoipa::openapi::Object {
    super::schema::one_of(["added", "updated", "not_applicable"])
}

/// How a finding was verified.
#[derive(Deserialize, ToSchema)]
pub struct FindingAnswer {
    /// added (已纳入台账: the child is registered now), updated (已更新台账), not_applicable
    /// (不需处理: the note says why)
    #[schema(schema_with = answers)]
    pub answer: String,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/list-findings/{id}/answer", tag = "finding",
    params(("id" = String, Path)), request_body = FindingAnswer,
    responses((status = 200, body = ListFindingView), (status = 404, body = ErrorBody),
              (status = 409, description = "已核实", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn answer_finding(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<FindingAnswer>,
) -> Result<Json<ListFindingView>, ApiError> {
    let f = state
        .store
        .answer_finding(
            caller.scope(),
            &id,
            &req.answer,
            req.note.as_deref().unwrap_or(""),
            &caller.ip,
        )
        .await?;
    Ok(Json(f.into()))
}
