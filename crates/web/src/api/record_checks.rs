//! Pre-employment record checks (入职查询) over the API. An institution asks about one
//! person (POST /api/v1/record-checks, with the signed consent) or a sheet of them (POST
//! /api/v1/record-checks/batch); the answer is only 有/无相关记录 with a query number. The
//! office or the police liaison loads people onto the restricted list and withdraws them;
//! no route reads the list: loading answers counts, withdrawing a count, the size a number.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::record_checks::{CheckPurpose, ListEntryInput, Offence, QueryInput};
use weibao_domain::Invalid;
use weibao_store::{RecordCheck, StoreError};

use super::{multipart_form, JsonBody, QueryParams, Upload};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::time::rfc3339;
use crate::AppState;

fn purposes() -> utoipa::openapi::Object {
    super::schema::one_of(CheckPurpose::codes())
}

fn offences() -> utoipa::openapi::Object {
    super::schema::one_of(Offence::codes())
}

/// A question and its answer.
#[derive(Serialize, ToSchema)]
pub struct RecordCheckView {
    pub id: String,
    /// 查询编号, for the institution's file.
    pub number: String,
    /// The asking unit.
    pub unit_id: String,
    pub unit_name: String,
    /// The person asked about (masked for the office when another unit asked).
    pub name: String,
    /// 身份证号, masked.
    pub id_number_masked: String,
    pub post: String,
    /// hiring (入职前查询) or periodic (在职定期查询)
    pub purpose: String,
    pub purpose_label: String,
    /// clear (无相关记录) or found (有相关记录): nothing else is ever said.
    pub result: String,
    pub result_label: String,
    pub batch_id: Option<String>,
    pub asked_at: String,
}

/// The batch filter, refused when longer than an id can be.
fn batch_of(q: &RecordCheckQuery) -> Result<Option<&str>, ApiError> {
    match q.batch.as_deref().filter(|b| !b.is_empty()) {
        Some(b) if b.chars().count() > 64 => Err(ApiError::invalid(
            "batch",
            Invalid::new("batch_unknown", "batch 应为批量查询返回的 batch_id"),
        )),
        other => Ok(other),
    }
}

impl RecordCheckView {
    pub fn new(c: RecordCheck) -> Self {
        RecordCheckView {
            unit_name: c.unit_name,
            purpose: c.purpose.code().into(),
            purpose_label: c.purpose.label().into(),
            result: c.result.code().into(),
            result_label: c.result.label().into(),
            asked_at: rfc3339(c.asked_at),
            id: c.id,
            number: c.number,
            unit_id: c.unit_id,
            name: c.name,
            id_number_masked: c.id_masked,
            post: c.post,
            batch_id: c.batch_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RecordCheckList {
    pub items: Vec<RecordCheckView>,
}

/// One question: the person, the post, and the signed consent.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RecordCheckUpload {
    /// 被查询人姓名
    name: String,
    /// 身份证号 (18 digits; the person must be 16 or older)
    id_number: String,
    /// 拟聘（在聘）岗位
    post: String,
    #[schema(schema_with = purposes)]
    purpose: Option<String>,
    /// The person's signed consent (授权书): a photo or PDF scan.
    #[schema(value_type = String, format = Binary)]
    consent: Vec<u8>,
}

/// A batch sheet (.xlsx: 姓名, 身份证号, 岗位, 查询类型) and one signed consent for all.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RecordCheckBatchUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The signed list of the people checked: a photo or PDF scan.
    #[schema(value_type = String, format = Binary)]
    consent: Vec<u8>,
}

const TOO_LARGE: &str = "上传过大或中断：表格和授权书各不超过 10 MB，请压缩后重试";

fn field(fields: &[(String, String)], key: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn take_file(
    files: &mut Vec<(String, String, Vec<u8>)>,
    key: &'static str,
    missing: &str,
) -> Result<(String, Vec<u8>), ApiError> {
    match files.iter().position(|(k, _, _)| k == key) {
        Some(i) => {
            let (_, name, bytes) = files.remove(i);
            Ok((name, bytes))
        }
        None => Err(ApiError::invalid(
            key,
            Invalid::new("file_missing", missing.to_string()),
        )),
    }
}

const CONSENT_MISSING: &str = "请在字段 consent 中上传被查询人签字的授权书（照片或 PDF 扫描件）";

/// Asks whether a person has a record; the answer is only 有/无相关记录 with a query
/// number. Limited per account and per unit against fishing.
#[utoipa::path(post, path = "/api/v1/record-checks", tag = "record_checks",
    request_body(content = RecordCheckUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = RecordCheckView), (status = 403, body = ErrorBody),
              (status = 409, description = "账号未关联单位", body = ErrorBody),
              (status = 413, body = ErrorBody),
              (status = 422, description = "姓名、身份证号、岗位或授权书有误", body = ErrorBody),
              (status = 429, description = "查询过于频繁", body = ErrorBody)))]
pub async fn check_record(
    State(state): State<AppState>,
    Auth(caller): Auth,
    upload: Upload,
) -> Result<(StatusCode, Json<RecordCheckView>), ApiError> {
    caller
        .scope()
        .check_role(weibao_domain::access::Action::CheckRecords)
        .map_err(StoreError::from)?;
    let (fields, mut files) = multipart_form(upload, TOO_LARGE).await?;
    let consent = take_file(&mut files, "consent", CONSENT_MISSING)?;
    let check = state
        .store
        .check_record(
            caller.scope(),
            QueryInput {
                name: field(&fields, "name"),
                id_number: field(&fields, "id_number"),
                post: field(&fields, "post"),
                purpose: field(&fields, "purpose"),
            },
            consent,
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(RecordCheckView::new(check))))
}

/// Asks about every person of a sheet (a yearly re-check): one bad row refuses the whole
/// sheet, naming the row. The answers come back as JSON; the sheet for the file is at
/// GET /api/v1/record-checks/export.xlsx?batch=….
#[utoipa::path(post, path = "/api/v1/record-checks/batch", tag = "record_checks",
    request_body(content = RecordCheckBatchUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = RecordCheckList), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn check_records_batch(
    State(state): State<AppState>,
    Auth(caller): Auth,
    upload: Upload,
) -> Result<(StatusCode, Json<RecordCheckList>), ApiError> {
    caller
        .scope()
        .check_role(weibao_domain::access::Action::CheckRecords)
        .map_err(StoreError::from)?;
    let (_, mut files) = multipart_form(upload, TOO_LARGE).await?;
    let sheet = take_file(
        &mut files,
        "file",
        "请在字段 file 中上传查询名单（.xlsx：姓名、身份证号、岗位）",
    )?;
    let consent = take_file(&mut files, "consent", CONSENT_MISSING)?;
    let rows = crate::record_checks_io::read_queries(&sheet.1)?;
    let checks = state
        .store
        .check_records_batch(caller.scope(), rows, consent, &caller.ip)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RecordCheckList {
            items: checks.into_iter().map(RecordCheckView::new).collect(),
        }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordCheckQuery {
    /// Only the questions of one batch.
    #[param(max_length = 64)]
    pub batch: Option<String>,
}

/// The questions the caller's unit asked, newest first (the office: every unit's in its
/// county, other units' names masked).
#[utoipa::path(get, path = "/api/v1/record-checks", tag = "record_checks",
    params(RecordCheckQuery),
    responses((status = 200, body = RecordCheckList), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_record_checks(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<RecordCheckQuery>,
) -> Result<Json<RecordCheckList>, ApiError> {
    let checks = state
        .store
        .record_checks(caller.scope(), batch_of(&q)?)
        .await?;
    Ok(Json(RecordCheckList {
        items: checks.into_iter().map(RecordCheckView::new).collect(),
    }))
}

/// The caller's unit's answers as a sheet for its file (one batch, or all listed).
#[utoipa::path(get, path = "/api/v1/record-checks/export.xlsx", tag = "record_checks",
    params(RecordCheckQuery),
    responses((status = 200, description = "查询结果（每人一行：姓名、身份证号（脱敏）、岗位、查询结果、查询编号）",
               content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn export_record_checks(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<RecordCheckQuery>,
) -> Result<Response, ApiError> {
    let checks = state
        .store
        .record_checks(caller.scope(), batch_of(&q)?)
        .await?;
    let bytes =
        tokio::task::spawn_blocking(move || crate::record_checks_io::answers_sheet(&checks))
            .await
            .map_err(|e| StoreError::Config(format!("生成 Excel 失败：{e}")))?
            .map_err(|e| ApiError::invalid("batch", Invalid::new("export_failed", e)))?;
    Ok(super::assessment::xlsx_download(bytes, "入职查询结果.xlsx"))
}

/// A person for the restricted list.
#[derive(Deserialize, ToSchema)]
pub struct ListEntryRequest {
    #[schema(min_length = 1, max_length = 30, pattern = r"\S")]
    pub name: String,
    #[schema(min_length = 15, max_length = 18)]
    pub id_number: String,
    #[schema(schema_with = offences)]
    pub offence: String,
    /// 记录来源 (判决书文号 and the like)
    #[schema(max_length = 200)]
    pub source: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ListLoadRequest {
    #[schema(min_items = 1, max_items = 5000)]
    pub entries: Vec<ListEntryRequest>,
}

/// What a load did: counts only.
#[derive(Serialize, ToSchema)]
pub struct ListLoadResult {
    pub added: usize,
    /// Already on this county's list: not added twice.
    pub already: usize,
    /// People on this county's list now.
    pub size: i64,
}

/// Loads people onto the restricted list (the office, or the police liaison). One bad
/// entry refuses the whole load; the answer is counts, never names.
#[utoipa::path(post, path = "/api/v1/record-list", tag = "record_checks",
    request_body = ListLoadRequest,
    responses((status = 201, body = ListLoadResult), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn load_record_list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ListLoadRequest>,
) -> Result<(StatusCode, Json<ListLoadResult>), ApiError> {
    let entries = body
        .entries
        .into_iter()
        .map(|e| ListEntryInput {
            name: e.name,
            id_number: e.id_number,
            offence: e.offence,
            source: e.source.unwrap_or_default(),
        })
        .collect();
    load(&state, &caller, entries).await
}

async fn load(
    state: &AppState,
    caller: &crate::auth::Caller,
    entries: Vec<ListEntryInput>,
) -> Result<(StatusCode, Json<ListLoadResult>), ApiError> {
    let loaded = state
        .store
        .load_record_list(caller.scope(), entries, &caller.ip)
        .await?;
    let size = state.store.record_list_size(caller.scope()).await?;
    Ok((
        StatusCode::CREATED,
        Json(ListLoadResult {
            added: loaded.added,
            already: loaded.already,
            size,
        }),
    ))
}

/// The police's sheet (.xlsx: 姓名, 身份证号, 违法犯罪类别, 记录来源).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ListSheetUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Loads the restricted list from the police's sheet, as POST /api/v1/record-list does.
#[utoipa::path(post, path = "/api/v1/record-list/import", tag = "record_checks",
    request_body(content = ListSheetUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = ListLoadResult), (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_record_list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    upload: Upload,
) -> Result<(StatusCode, Json<ListLoadResult>), ApiError> {
    // Refuse a role that may never load before reading anything it sent.
    state.store.record_list_size(caller.scope()).await?;
    let (_, mut files) = multipart_form(upload, TOO_LARGE).await?;
    let sheet = take_file(
        &mut files,
        "file",
        "请在字段 file 中上传名单（.xlsx：姓名、身份证号、违法犯罪类别）",
    )?;
    let entries = crate::record_checks_io::read_entries(&sheet.1)?;
    load(&state, &caller, entries).await
}

/// A person to withdraw from the list, and why.
#[derive(Deserialize, ToSchema)]
pub struct WithdrawRequest {
    #[schema(min_length = 15, max_length = 18)]
    pub id_number: String,
    #[schema(min_length = 4, max_length = 200)]
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct WithdrawResult {
    /// Entries withdrawn (0 when this county's list did not hold the number).
    pub withdrawn: u64,
    pub size: i64,
}

/// Withdraws a person from this county's list (a wrong entry, a record expunged).
#[utoipa::path(post, path = "/api/v1/record-list/withdrawals", tag = "record_checks",
    request_body = WithdrawRequest,
    responses((status = 200, body = WithdrawResult), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn withdraw_from_record_list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<WithdrawRequest>,
) -> Result<Json<WithdrawResult>, ApiError> {
    let withdrawn = state
        .store
        .withdraw_from_record_list(caller.scope(), &body.id_number, &body.reason, &caller.ip)
        .await?;
    let size = state.store.record_list_size(caller.scope()).await?;
    Ok(Json(WithdrawResult { withdrawn, size }))
}

#[derive(Serialize, ToSchema)]
pub struct ListSize {
    /// People on this county's list: a count, never who.
    pub size: i64,
}

/// How many people this county's list holds.
#[utoipa::path(get, path = "/api/v1/record-list/size", tag = "record_checks",
    responses((status = 200, body = ListSize), (status = 403, body = ErrorBody)))]
pub async fn record_list_size(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<ListSize>, ApiError> {
    Ok(Json(ListSize {
        size: state.store.record_list_size(caller.scope()).await?,
    }))
}
