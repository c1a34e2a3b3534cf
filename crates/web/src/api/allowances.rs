//! Allowances (基本生活保障) over the API: types, standards, applications and their
//! decisions, monthly rolls with their exports, totals and budgets.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::allowances::{
    parse_text, Decision, EndCause, FiledAs, Status, Step, TypeBook, MAX_REASON,
};
use weibao_domain::money::MAX_FEN;
use weibao_domain::{Fen, Invalid, Month};
use weibao_store::{
    AllowanceCase, BulkOutcome, CaseFilter, CaseStep, NewApplication, NewStandard, RollChange,
    RollLine, StoredRoll, StoredStandard,
};

use super::divisions::{home_or, parse_code};
use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

// ---- schema helpers --------------------------------------------------------------------

/// An integer as JSON Schema means it: 169400 and 169400.0 alike (a number with no
/// fraction), so that what the document calls an integer is what the server takes.
fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() <= 9.0e15 => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!("应为整数，实际为 {n}"))),
    }
}

fn whole_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => whole(serde_json::Value::Number(n))
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

fn division_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(super::document::DIVISION_PATTERN))
        .description(Some("区划代码（2/4/6/9/12 位）"))
        .build()
}

fn enum_schema(values: &[&'static str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.to_vec()))
        .build()
}

fn steps() -> utoipa::openapi::Object {
    enum_schema(&["township", "county"])
}

fn decisions() -> utoipa::openapi::Object {
    enum_schema(&["approve", "reject"])
}

fn stop_causes() -> utoipa::openapi::Object {
    enum_schema(&EndCause::RECORDED.map(|c| c.as_str()))
}

fn filed_as_choices() -> utoipa::openapi::Object {
    let mut o = enum_schema(&["village", "guardian_form"]);
    o.schema_type = utoipa::openapi::schema::SchemaType::from_iter([
        utoipa::openapi::schema::Type::String,
        utoipa::openapi::schema::Type::Null,
    ]);
    o.enum_values = Some(vec![
        "village".into(),
        "guardian_form".into(),
        serde_json::Value::Null,
    ]);
    o
}

fn statuses() -> utoipa::openapi::Object {
    let mut values = vec![""];
    values.extend(Status::ALL.iter().map(|s| s.as_str()));
    enum_schema(&values)
}

fn encodings() -> utoipa::openapi::Object {
    enum_schema(&["utf-8", "gbk", "gb18030"])
}

fn month(field: &'static str, label: &str, input: &str) -> Result<Month, ApiError> {
    Month::parse_exact(label, input).map_err(|e| ApiError::invalid(field, e))
}

fn amount(field: &'static str, fen: i64, negative: bool) -> Result<Fen, ApiError> {
    let low = if negative { -MAX_FEN } else { 0 };
    if (low..=MAX_FEN).contains(&fen) {
        Ok(Fen(fen))
    } else {
        Err(ApiError::invalid(
            field,
            Invalid::new(
                "amount_range",
                format!("{field} 应在 {low} 到 {MAX_FEN} 分之间，实际为 {fen}"),
            ),
        ))
    }
}

fn text(
    field: &'static str,
    label: &str,
    v: Option<&str>,
    required: bool,
) -> Result<String, ApiError> {
    parse_text(label, v.unwrap_or(""), required).map_err(|e| ApiError::invalid(field, e))
}

/// A bank account exactly as the document states it: digits, spaces and dashes, 8 to 30
/// digits.
fn bank_account(raw: &str) -> Result<String, ApiError> {
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    if raw
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        && (8..=30).contains(&digits)
    {
        weibao_domain::allowances::parse_bank_account(raw)
            .map_err(|e| ApiError::invalid("bank_account", e))
    } else {
        Err(ApiError::invalid(
            "bank_account",
            Invalid::new(
                "bank_account_format",
                format!("银行账号应为 8 到 30 位数字（可含空格或短横线），实际为“{raw}”"),
            ),
        ))
    }
}

// ---- types -----------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct TypeView {
    /// The code the API takes: orphan_scattered, ...
    pub code: String,
    pub label: String,
    /// The name totals group by.
    pub group: String,
    /// May appear on a 公示 list (masked names, the village only).
    pub public_notice: bool,
    /// Seen only by users designated for 受艾滋病影响儿童.
    pub designated_only: bool,
    /// A basic living allowance: one at a time.
    pub exclusive: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TypeList {
    pub items: Vec<TypeView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DivisionQuery {
    /// Default your home division.
    pub division: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/allowances/types", tag = "allowances", params(DivisionQuery),
    responses((status = 200, description = "保障类型（全国统一类型与本地配置的类型）", body = TypeList),
              (status = 404, body = ErrorBody)))]
pub async fn list_allowance_types(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<DivisionQuery>,
) -> Result<Json<TypeList>, ApiError> {
    let division = home_or(&caller, q.division.as_deref())?;
    caller
        .scope()
        .check(weibao_domain::access::Action::ViewAllowances, division)
        .map_err(weibao_store::StoreError::from)?;
    let types = state.store.allowance_types(Some(division)).await?;
    Ok(Json(TypeList {
        items: types
            .all()
            .iter()
            .map(|t| TypeView {
                code: t.code.clone(),
                label: t.label.clone(),
                group: t.group_label().to_string(),
                public_notice: t.public_notice,
                designated_only: t.designated_only,
                exclusive: t.exclusive,
            })
            .collect(),
    }))
}

// ---- standards -------------------------------------------------------------------------

/// A new standard version: a fixed `amount_fen` a month, or `follows_type` (a share of
/// another type's standard at the same place and month, `follows_percent`, default 100).
/// Exactly one of the two; `to_month` not before `from_month`; never starting in a month a
/// locked roll has paid (409).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandardInput {
    /// The type's code, e.g. orphan_scattered.
    #[serde(rename = "type")]
    #[schema(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    pub type_code: String,
    /// Where it applies (and below, unless a lower division sets its own).
    #[schema(schema_with = division_schema)]
    pub division: String,
    /// 分 per month, e.g. 169400 for 1,694.00 yuan.
    #[serde(default, deserialize_with = "whole_opt")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub amount_fen: Option<i64>,
    #[schema(pattern = "^20[0-9]{2}-(0[1-9]|1[0-2])$")]
    pub from_month: String,
    /// Last month included; none: open.
    #[schema(pattern = "^20[0-9]{2}-(0[1-9]|1[0-2])$")]
    pub to_month: Option<String>,
    #[schema(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    pub follows_type: Option<String>,
    #[serde(default, deserialize_with = "whole_opt")]
    #[schema(minimum = 1, maximum = 1000)]
    pub follows_percent: Option<i64>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StandardView {
    pub id: String,
    #[serde(rename = "type")]
    pub type_code: String,
    pub type_label: String,
    /// 12-digit division code.
    pub division: String,
    pub amount_fen: Option<i64>,
    pub follows_type: Option<String>,
    pub follows_percent: Option<u32>,
    pub from_month: String,
    pub to_month: Option<String>,
    pub note: String,
    pub created_at: String,
    pub created_by: String,
}

impl StandardView {
    pub fn new(s: &StoredStandard, types: &TypeBook) -> StandardView {
        StandardView {
            id: s.id.clone(),
            type_code: s.type_code.clone(),
            type_label: types.label(&s.type_code),
            division: s.division.full(),
            amount_fen: s.amount.map(|f| f.0),
            follows_type: s.follows_type.clone(),
            follows_percent: s.follows_percent,
            from_month: s.from.to_string(),
            to_month: s.to.map(|m| m.to_string()),
            note: s.note.clone(),
            created_at: crate::time::rfc3339(s.created_at),
            created_by: s.created_by.clone(),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/allowances/standards", tag = "allowances",
    request_body = StandardInput,
    responses((status = 201, body = StandardView), (status = 403, body = ErrorBody),
              (status = 404, description = "区划不存在或不在您的管辖范围内", body = ErrorBody),
              (status = 409, description = "同一区划同一起始月已有标准，或起始月已有锁定的名册", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_standard(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<StandardInput>,
) -> Result<(StatusCode, Json<StandardView>), ApiError> {
    let division = parse_code("division", &input.division)?;
    let from = month("from_month", "起始月份", &input.from_month)?;
    let to = input
        .to_month
        .as_deref()
        .map(|m| month("to_month", "截止月份", m))
        .transpose()?;
    let amount_fen = input
        .amount_fen
        .map(|f| amount("amount_fen", f, false))
        .transpose()?;
    if let Some(p) = input.follows_percent.filter(|p| !(1..=1000).contains(p)) {
        return Err(ApiError::invalid(
            "follows_percent",
            Invalid::new(
                "percent_range",
                format!("参照比例应为 1 到 1000（%），实际为 {p}"),
            ),
        ));
    }
    let follows_percent = input.follows_percent.map(|p| p as u32);
    let note = text("note", "说明", input.note.as_deref(), false)?;
    let standard = state
        .store
        .create_standard(
            caller.scope(),
            NewStandard {
                type_code: input.type_code,
                division,
                amount: amount_fen,
                follows_type: input.follows_type,
                follows_percent,
                from,
                to,
                note,
            },
            &caller.ip,
        )
        .await?;
    let types = state.store.allowance_types(Some(division)).await?;
    Ok((
        StatusCode::CREATED,
        Json(StandardView::new(&standard, &types)),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct StandardList {
    pub items: Vec<StandardView>,
}

#[utoipa::path(get, path = "/api/v1/allowances/standards", tag = "allowances", params(DivisionQuery),
    responses((status = 200, description = "适用于该区划（在其上级设置）和在其下级设置的标准", body = StandardList),
              (status = 404, body = ErrorBody)))]
pub async fn list_standards(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<DivisionQuery>,
) -> Result<Json<StandardList>, ApiError> {
    let division = home_or(&caller, q.division.as_deref())?;
    let list = state.store.standards_at(caller.scope(), division).await?;
    let types = state.store.allowance_types(Some(division)).await?;
    Ok(Json(StandardList {
        items: list.iter().map(|s| StandardView::new(s, &types)).collect(),
    }))
}

// ---- applications ----------------------------------------------------------------------

/// An application for a child of your village (or township): the ledger must show the
/// child eligible for the type (422 says why not); one open application per type and one
/// basic living allowance at a time (409).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    pub child_id: String,
    #[serde(rename = "type")]
    #[schema(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    pub type_code: String,
    /// village (default: the village applies for the guardian) or guardian_form (the
    /// guardian's paper form, recorded).
    #[schema(schema_with = filed_as_choices)]
    pub filed_as: Option<String>,
    /// The guardian who applies.
    #[schema(max_length = 500)]
    pub applicant: Option<String>,
    #[schema(max_length = 500)]
    pub bank_name: Option<String>,
    #[schema(max_length = 500)]
    pub account_holder: Option<String>,
    /// 8 to 30 digits (spaces or dashes between them are fine); sealed at rest.
    #[schema(pattern = "^[ -]*([0-9][ -]*){8,30}$")]
    pub bank_account: Option<String>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StepView {
    pub seq: i64,
    /// filed, township, county, stop, end, handover_out, handover_in, account, document
    pub step: String,
    pub step_label: String,
    /// approve, reject, or empty.
    pub decision: String,
    pub reason: String,
    pub actor: String,
    pub at: String,
}

impl StepView {
    fn new(s: &CaseStep) -> StepView {
        StepView {
            seq: s.seq,
            step: s.step.clone(),
            step_label: s.label().into(),
            decision: s.decision.clone(),
            reason: s.reason.clone(),
            actor: s.actor_name.clone(),
            at: crate::time::rfc3339(s.at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: String,
    pub child_id: String,
    pub child_name: String,
    /// 12-digit village code.
    pub division: String,
    #[serde(rename = "type")]
    pub type_code: String,
    pub type_label: String,
    /// filed, checked, confirmed, rejected or ended.
    pub status: String,
    pub status_label: String,
    pub filed_as: String,
    pub applicant: String,
    pub bank_name: String,
    pub account_holder: String,
    /// First and last four digits.
    pub account_masked: String,
    /// Photo ids: `GET /api/v1/children/{child_id}/photos/{id}`.
    pub documents: Vec<String>,
    pub note: String,
    /// Why the child looked eligible when filed.
    pub eligibility: String,
    pub filed_by: String,
    pub filed_at: String,
    pub confirmed_at: Option<String>,
    /// First month paid (the month after confirmation).
    pub start_month: Option<String>,
    /// Last month paid.
    pub end_month: Option<String>,
    pub end_cause: Option<String>,
    pub end_on: Option<String>,
    pub end_reason: String,
    /// Handed over from this application of another county.
    pub from_application: Option<String>,
    /// Past months will be settled (adjustment lines) in the next roll.
    pub settlement_pending: bool,
    pub version: i64,
    pub updated_at: String,
    pub steps: Vec<StepView>,
}

impl ApplicationView {
    pub fn new(c: &AllowanceCase, types: &TypeBook) -> ApplicationView {
        ApplicationView {
            id: c.id.clone(),
            child_id: c.child_id.clone(),
            child_name: c.child_name.clone(),
            division: c.division.full(),
            type_code: c.type_code.clone(),
            type_label: types.label(&c.type_code),
            status: c.status.as_str().into(),
            status_label: c.status.label().into(),
            filed_as: c.filed_as.as_str().into(),
            applicant: c.applicant.clone(),
            bank_name: c.bank_name.clone(),
            account_holder: c.account_holder.clone(),
            account_masked: c.account_masked.clone(),
            documents: c.documents.clone(),
            note: c.note.clone(),
            eligibility: c.eligibility.clone(),
            filed_by: c.filed_by_name.clone(),
            filed_at: crate::time::rfc3339(c.filed_at),
            confirmed_at: c.confirmed_at.map(crate::time::rfc3339),
            start_month: c.start_month.map(|m| m.to_string()),
            end_month: c.end_month.map(|m| m.to_string()),
            end_cause: c.end_cause.map(|e| e.as_str().to_string()),
            end_on: c.end_on.map(|d| d.to_string()),
            end_reason: c.end_reason.clone(),
            from_application: c.from_case.clone(),
            settlement_pending: c.reconcile,
            version: c.version,
            updated_at: crate::time::rfc3339(c.updated_at),
            steps: c.steps.iter().map(StepView::new).collect(),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/allowances/applications", tag = "allowances",
    request_body = ApplicationInput,
    responses((status = 201, body = ApplicationView), (status = 403, body = ErrorBody),
              (status = 404, description = "儿童不存在或不在您的管辖范围内", body = ErrorBody),
              (status = 409, description = "已有同类申请，或已享受其他基本生活保障", body = ErrorBody),
              (status = 422, description = "字段无效，或台账显示该儿童不符合条件（说明原因）", body = ErrorBody)))]
pub async fn create_application(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<ApplicationInput>,
) -> Result<(StatusCode, Json<ApplicationView>), ApiError> {
    let filed_as = match input.filed_as.as_deref() {
        None => FiledAs::Village,
        Some(s) => FiledAs::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "filed_as",
                Invalid::new("choice", "filed_as 应为 village 或 guardian_form"),
            )
        })?,
    };
    let account = input
        .bank_account
        .as_deref()
        .map(bank_account)
        .transpose()?;
    let new = NewApplication {
        child_id: input.child_id,
        type_code: input.type_code,
        filed_as,
        applicant: text("applicant", "申请人", input.applicant.as_deref(), false)?,
        bank_name: text("bank_name", "开户银行", input.bank_name.as_deref(), false)?,
        account_holder: text(
            "account_holder",
            "账户户名",
            input.account_holder.as_deref(),
            false,
        )?,
        bank_account: account,
        note: text("note", "备注", input.note.as_deref(), false)?,
    };
    let case = state
        .store
        .create_application(caller.scope(), new, &caller.ip)
        .await?;
    let types = state.store.allowance_types(Some(case.division)).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApplicationView::new(&case, &types)),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    /// Division subtree; default your home division.
    pub division: Option<String>,
    /// filed, checked, confirmed, rejected or ended.
    #[param(schema_with = statuses)]
    pub status: Option<String>,
    /// A type's code.
    #[serde(rename = "type")]
    #[param(rename = "type", pattern = "^$|^[a-z][a-z0-9_]{1,39}$")]
    pub type_code: Option<String>,
    /// One child's applications.
    pub child_id: Option<String>,
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationList {
    pub items: Vec<ApplicationView>,
    /// All matches when `total_exact`; otherwise the count stopped ten pages ahead.
    pub total: i64,
    pub total_exact: bool,
    pub page: u32,
    pub per_page: u32,
}

#[utoipa::path(get, path = "/api/v1/allowances/applications", tag = "allowances",
    params(ApplicationQuery),
    responses((status = 200, body = ApplicationList), (status = 404, body = ErrorBody)))]
pub async fn list_applications(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ApplicationQuery>,
) -> Result<Json<ApplicationList>, ApiError> {
    let (page, per_page) = super::paging(q.page, q.per_page)?;
    let division = match q.division.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => Some(parse_code("division", d)?),
        None => None,
    };
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "status",
                Invalid::new(
                    "choice",
                    "status 应为 filed、checked、confirmed、rejected 或 ended",
                ),
            )
        })?),
        None => None,
    };
    let type_code = match q.type_code.as_deref().filter(|s| !s.is_empty()) {
        Some(t) => Some(
            weibao_domain::allowances::types::parse_type_code(t)
                .map_err(|e| ApiError::invalid("type", e))?,
        ),
        None => None,
    };
    let (items, total) = state
        .store
        .list_applications(
            caller.scope(),
            &CaseFilter {
                division,
                status,
                type_code,
                child_id: q.child_id.filter(|c| !c.is_empty()),
                page,
                per_page,
            },
        )
        .await?;
    let types = state
        .store
        .allowance_types(division.or(caller.scope().home()))
        .await?;
    Ok(Json(ApplicationList {
        items: items
            .iter()
            .map(|c| ApplicationView::new(c, &types))
            .collect(),
        total: total.count,
        total_exact: total.exact,
        page,
        per_page,
    }))
}

#[utoipa::path(get, path = "/api/v1/allowances/applications/{id}", tag = "allowances",
    params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 404, body = ErrorBody)))]
pub async fn get_application(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    let case = state
        .store
        .application(caller.scope(), &id, &caller.ip)
        .await?;
    let types = state.store.allowance_types(Some(case.division)).await?;
    Ok(Json(ApplicationView::new(&case, &types)))
}

/// 乡镇查验 (township, by its supervisor) or 县级确认 (county, by the office), with the
/// reason written down.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    #[schema(schema_with = steps)]
    pub step: String,
    #[schema(schema_with = decisions)]
    pub decision: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

fn parse_decision(step: &str, decision: &str) -> Result<(Step, Decision), ApiError> {
    let step = Step::parse(step).ok_or_else(|| {
        ApiError::invalid(
            "step",
            Invalid::new(
                "choice",
                "step 应为 township（乡镇查验）或 county（县级确认）",
            ),
        )
    })?;
    let decision = Decision::parse(decision).ok_or_else(|| {
        ApiError::invalid(
            "decision",
            Invalid::new("choice", "decision 应为 approve（同意）或 reject（不同意）"),
        )
    })?;
    Ok((step, decision))
}

#[utoipa::path(post, path = "/api/v1/allowances/applications/{id}/decisions", tag = "allowances",
    params(("id" = String, Path)), request_body = DecisionInput,
    responses((status = 200, body = ApplicationView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "申请不在这一步（如未经乡镇查验即县级确认）", body = ErrorBody),
              (status = 422, description = "字段无效，或该儿童已不符合条件", body = ErrorBody)))]
pub async fn decide_application(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(input): JsonBody<DecisionInput>,
) -> Result<Json<ApplicationView>, ApiError> {
    let (step, decision) = parse_decision(&input.step, &input.decision)?;
    let case = state
        .store
        .decide_application(
            caller.scope(),
            &id,
            step,
            decision,
            &input.reason,
            &caller.ip,
        )
        .await?;
    let types = state.store.allowance_types(Some(case.division)).await?;
    Ok(Json(ApplicationView::new(&case, &types)))
}

/// The same decision on many applications (e.g. a county confirming its month's checked
/// applications): each is checked and recorded on its own; the answer says what became of
/// each.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDecisionInput {
    #[schema(min_items = 1, max_items = 10000)]
    pub ids: Vec<String>,
    #[schema(schema_with = steps)]
    pub step: String,
    #[schema(schema_with = decisions)]
    pub decision: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct BulkItem {
    pub id: String,
    /// done, not_found, forbidden, conflict or not_eligible.
    pub outcome: String,
    /// The new status when done.
    pub status: Option<String>,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    pub done: i64,
    pub refused: i64,
    pub items: Vec<BulkItem>,
}

#[utoipa::path(post, path = "/api/v1/allowances/decisions", tag = "allowances",
    request_body = BulkDecisionInput,
    responses((status = 200, description = "逐份办理的结果", body = BulkResult),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide_applications(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<BulkDecisionInput>,
) -> Result<Json<BulkResult>, ApiError> {
    let (step, decision) = parse_decision(&input.step, &input.decision)?;
    if input.ids.is_empty() || input.ids.len() > weibao_store::MAX_BULK {
        return Err(ApiError::invalid(
            "ids",
            Invalid::new(
                "ids_count",
                format!("ids 应有 1 到 {} 份申请", weibao_store::MAX_BULK),
            ),
        ));
    }
    let out = state
        .store
        .decide_applications(
            caller.scope(),
            &input.ids,
            step,
            decision,
            &input.reason,
            &caller.ip,
        )
        .await?;
    Ok(Json(bulk_result(out)))
}

pub fn bulk_result(out: Vec<(String, BulkOutcome)>) -> BulkResult {
    let items: Vec<BulkItem> = out
        .into_iter()
        .map(|(id, o)| {
            let (outcome, status, message) = match o {
                BulkOutcome::Done(s) => {
                    ("done", Some(s.as_str().to_string()), s.label().to_string())
                }
                BulkOutcome::NotFound => {
                    ("not_found", None, "记录不存在或不在您的管辖范围内".into())
                }
                BulkOutcome::Forbidden => ("forbidden", None, "您的角色无权办理这一步".into()),
                BulkOutcome::Conflict(m) => ("conflict", None, m),
                BulkOutcome::NotEligible(m) => ("not_eligible", None, m),
            };
            BulkItem {
                id,
                outcome: outcome.into(),
                status,
                message,
            }
        })
        .collect();
    let done = items.iter().filter(|i| i.outcome == "done").count() as i64;
    BulkResult {
        refused: items.len() as i64 - done,
        done,
        items,
    }
}

/// Stops a case: payment ends with the month of `date` (death, the category lost, school
/// ended, other). The age limit and a move out of the county stop it by themselves.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopInput {
    #[schema(schema_with = stop_causes)]
    pub cause: String,
    /// The day the cause ended (YYYY-MM-DD, not after today).
    #[schema(format = Date)]
    pub date: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/allowances/applications/{id}/stop", tag = "allowances",
    params(("id" = String, Path)), request_body = StopInput,
    responses((status = 200, body = ApplicationView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "只有保障中的对象可以停发", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn stop_application(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(input): JsonBody<StopInput>,
) -> Result<Json<ApplicationView>, ApiError> {
    let cause = EndCause::parse(&input.cause)
        .filter(|c| EndCause::RECORDED.contains(c))
        .ok_or_else(|| {
            ApiError::invalid(
                "cause",
                Invalid::new(
                    "choice",
                    "cause 应为 death、category_lost、school_ended 或 other",
                ),
            )
        })?;
    let date = exact_date("date", &input.date)?;
    let case = state
        .store
        .stop_case(caller.scope(), &id, cause, date, &input.reason, &caller.ip)
        .await?;
    let types = state.store.allowance_types(Some(case.division)).await?;
    Ok(Json(ApplicationView::new(&case, &types)))
}

fn exact_date(field: &'static str, s: &str) -> Result<chrono::NaiveDate, ApiError> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shaped
        .then(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::invalid(
                field,
                Invalid::new(
                    "date_format",
                    format!("日期“{s}”无效：请按 2026-03-15 的格式填写"),
                ),
            )
        })
}

/// The bank account a case is paid to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub bank_name: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub account_holder: String,
    #[schema(pattern = "^[ -]*([0-9][ -]*){8,30}$")]
    pub bank_account: String,
}

#[utoipa::path(post, path = "/api/v1/allowances/applications/{id}/account", tag = "allowances",
    params(("id" = String, Path)), request_body = AccountInput,
    responses((status = 200, body = ApplicationView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "申请已结束", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn update_application_account(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(input): JsonBody<AccountInput>,
) -> Result<Json<ApplicationView>, ApiError> {
    let account = bank_account(&input.bank_account)?;
    let case = state
        .store
        .update_account(
            caller.scope(),
            &id,
            &input.bank_name,
            &input.account_holder,
            &account,
            &caller.ip,
        )
        .await?;
    let types = state.store.allowance_types(Some(case.division)).await?;
    Ok(Json(ApplicationView::new(&case, &types)))
}

#[derive(Serialize, ToSchema)]
pub struct DocumentCreated {
    /// The photo's id: `GET /api/v1/children/{child_id}/photos/{id}`.
    pub id: String,
}

#[utoipa::path(post, path = "/api/v1/allowances/applications/{id}/documents", tag = "allowances",
    params(("id" = String, Path)),
    request_body(content = super::visits::PhotoUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = DocumentCreated), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "申请已结束", body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_application_document(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    multipart: super::Upload,
) -> Result<(StatusCode, Json<DocumentCreated>), ApiError> {
    let bytes = super::multipart_file(
        multipart,
        |_| {
            format!(
                "材料照片过大或上传中断（上限 {} MB），请重新拍摄或扫描后重试",
                weibao_store::MAX_PHOTO_BYTES / 1024 / 1024
            )
        },
        "请在表单字段 file 中上传材料照片或扫描件（JPEG、PNG 或 WebP）",
    )
    .await?;
    let photo = state
        .store
        .add_document(caller.scope(), &id, bytes.to_vec(), &caller.ip)
        .await?;
    Ok((StatusCode::CREATED, Json(DocumentCreated { id: photo })))
}

#[derive(Serialize, ToSchema)]
pub struct ProposalView {
    pub child_id: String,
    pub child_name: String,
    pub division: String,
    #[serde(rename = "type")]
    pub type_code: String,
    pub type_label: String,
    /// Why the child looks eligible.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProposalList {
    pub items: Vec<ProposalView>,
}

#[utoipa::path(get, path = "/api/v1/allowances/proposals", tag = "allowances", params(DivisionQuery),
    responses((status = 200, description = "台账显示符合条件、尚未申请的儿童（应保尽保），附理由", body = ProposalList),
              (status = 404, body = ErrorBody),
              (status = 422, description = "请选择县级或以下区划", body = ErrorBody)))]
pub async fn allowance_proposals(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<DivisionQuery>,
) -> Result<Json<ProposalList>, ApiError> {
    let division = home_or(&caller, q.division.as_deref())?;
    let list = state
        .store
        .eligible_candidates(caller.scope(), division)
        .await?;
    Ok(Json(ProposalList {
        items: list
            .into_iter()
            .map(|p| ProposalView {
                child_id: p.child_id,
                child_name: p.child_name,
                division: p.division,
                type_code: p.type_code,
                type_label: p.type_label,
                reason: p.reason,
            })
            .collect(),
    }))
}

// ---- rolls -----------------------------------------------------------------------------

/// A county's roll of a month: generated (again, while a draft) from the confirmed cases
/// and the standards in force.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollInput {
    /// A county (6 digits, or its 12-digit form).
    #[schema(schema_with = division_schema)]
    pub division: String,
    #[schema(pattern = "^20[0-9]{2}-(0[1-9]|1[0-2])$")]
    pub month: String,
}

#[derive(Serialize, ToSchema)]
pub struct RollTypeView {
    #[serde(rename = "type")]
    pub type_code: String,
    pub type_label: String,
    pub people: i64,
    pub lines: i64,
    pub amount_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ChangeView {
    pub application_id: String,
    /// new, stopped or changed.
    pub kind: String,
    pub old_fen: i64,
    pub new_fen: i64,
    pub reason: String,
    pub child_name: String,
    pub division: String,
    #[serde(rename = "type")]
    pub type_code: String,
}

impl ChangeView {
    fn new(c: &RollChange) -> ChangeView {
        ChangeView {
            application_id: c.case_id.clone(),
            kind: c.kind.clone(),
            old_fen: c.old_fen,
            new_fen: c.new_fen,
            reason: c.reason.clone(),
            child_name: c.child_name.clone(),
            division: c.division_code.clone(),
            type_code: c.type_code.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LineView {
    pub line_no: i64,
    pub application_id: String,
    pub child_id: String,
    pub child_name: String,
    /// 12-digit village code.
    pub division: String,
    /// Masked.
    pub id_number: String,
    #[serde(rename = "type")]
    pub type_code: String,
    /// regular, adjustment or manual.
    pub kind: String,
    /// The month the line pays for.
    pub for_month: String,
    pub amount_fen: i64,
    pub reason: String,
    pub account_masked: String,
}

impl LineView {
    fn new(l: &RollLine) -> LineView {
        LineView {
            line_no: l.line_no,
            application_id: l.case_id.clone(),
            child_id: l.child_id.clone(),
            child_name: l.child_name.clone(),
            division: l.division_code.clone(),
            id_number: l.id_masked.clone(),
            type_code: l.type_code.clone(),
            kind: l.kind.clone(),
            for_month: l.for_month.clone(),
            amount_fen: l.amount_fen,
            reason: l.reason.clone(),
            account_masked: l.account_masked.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RollView {
    pub id: String,
    /// 12-digit county code.
    pub division: String,
    pub month: String,
    /// draft or locked.
    pub status: String,
    pub lines_total: i64,
    pub people: i64,
    pub total_fen: i64,
    /// The total in 万元, two decimals.
    pub total_wan: String,
    pub regular_fen: i64,
    pub adjustment_fen: i64,
    /// The year's budget a roll would exceed (locking then needs acknowledge_over_budget).
    pub warnings: Vec<String>,
    pub generated_at: String,
    pub generated_by: String,
    pub generation: i64,
    pub locked_at: Option<String>,
    pub locked_by: Option<String>,
    pub by_type: Vec<RollTypeView>,
    /// Differences from the month before: new, stopped, amount changed, with reasons.
    pub changes: Vec<ChangeView>,
    /// A page of the lines.
    pub lines: Vec<LineView>,
    pub page: u32,
    pub per_page: u32,
}

impl RollView {
    pub fn new(
        r: &StoredRoll,
        lines: &[RollLine],
        page: u32,
        per_page: u32,
        types: &TypeBook,
    ) -> RollView {
        RollView {
            id: r.id.clone(),
            division: r.division.full(),
            month: r.month.to_string(),
            status: r.status.clone(),
            lines_total: r.lines,
            people: r.people,
            total_fen: r.total.0,
            total_wan: r.total.wan(),
            regular_fen: r.regular.0,
            adjustment_fen: r.adjustment.0,
            warnings: r.warnings.clone(),
            generated_at: crate::time::rfc3339(r.generated_at),
            generated_by: r.generated_by.clone(),
            generation: r.generation,
            locked_at: r.locked_at.map(crate::time::rfc3339),
            locked_by: r.locked_by.clone(),
            by_type: r
                .by_type
                .iter()
                .map(|t| RollTypeView {
                    type_code: t.type_code.clone(),
                    type_label: types.label(&t.type_code),
                    people: t.people,
                    lines: t.lines,
                    amount_fen: t.amount.0,
                })
                .collect(),
            changes: r.changes.iter().map(ChangeView::new).collect(),
            lines: lines.iter().map(LineView::new).collect(),
            page,
            per_page,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/allowances/rolls", tag = "allowances", request_body = RollInput,
    responses((status = 201, description = "名册（草稿）：合计、与上月的差异和第一页明细", body = RollView),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "该月名册已锁定，或已锁定更晚月份的名册", body = ErrorBody),
              (status = 422, description = "不是县级区划、月份超前，或缺少适用的标准", body = ErrorBody)))]
pub async fn create_roll(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<RollInput>,
) -> Result<(StatusCode, Json<RollView>), ApiError> {
    let division = parse_code("division", &input.division)?;
    let month = month("month", "名册月份", &input.month)?;
    let roll = state
        .store
        .generate_roll(caller.scope(), division, month, &caller.ip)
        .await?;
    let page = state
        .store
        .roll(caller.scope(), &roll.id, 1, 50, &caller.ip)
        .await?;
    let types = state.store.allowance_types(Some(division)).await?;
    Ok((
        StatusCode::CREATED,
        Json(RollView::new(&page.roll, &page.lines, 1, 50, &types)),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RollListQuery {
    /// Default your home division.
    pub division: Option<String>,
    #[param(minimum = 2000, maximum = 2099)]
    pub year: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct RollSummaryView {
    pub id: String,
    pub division: String,
    pub month: String,
    pub status: String,
    pub lines_total: i64,
    pub people: i64,
    pub total_fen: i64,
    pub total_wan: String,
    pub warnings: Vec<String>,
    pub generated_at: String,
    pub locked_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RollList {
    pub items: Vec<RollSummaryView>,
}

fn year_in_range(year: Option<i32>) -> Result<Option<i32>, ApiError> {
    match year {
        Some(y) if !(2000..=2099).contains(&y) => Err(ApiError::invalid(
            "year",
            Invalid::new(
                "year_range",
                format!("年份应在 2000 到 2099 之间，实际为 {y}"),
            ),
        )),
        y => Ok(y),
    }
}

#[utoipa::path(get, path = "/api/v1/allowances/rolls", tag = "allowances", params(RollListQuery),
    responses((status = 200, body = RollList), (status = 404, body = ErrorBody)))]
pub async fn list_rolls(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<RollListQuery>,
) -> Result<Json<RollList>, ApiError> {
    let division = home_or(&caller, q.division.as_deref())?;
    let year = year_in_range(q.year)?;
    let rolls = state
        .store
        .list_rolls(caller.scope(), division, year)
        .await?;
    Ok(Json(RollList {
        items: rolls
            .iter()
            .map(|r| RollSummaryView {
                id: r.id.clone(),
                division: r.division.full(),
                month: r.month.to_string(),
                status: r.status.clone(),
                lines_total: r.lines,
                people: r.people,
                total_fen: r.total.0,
                total_wan: r.total.wan(),
                warnings: r.warnings.clone(),
                generated_at: crate::time::rfc3339(r.generated_at),
                locked_at: r.locked_at.map(crate::time::rfc3339),
            })
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/allowances/rolls/{id}", tag = "allowances",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = RollView), (status = 404, body = ErrorBody)))]
pub async fn get_roll(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<RollView>, ApiError> {
    let (page, per_page) = super::paging(q.page, q.per_page)?;
    let got = state
        .store
        .roll(caller.scope(), &id, page, per_page, &caller.ip)
        .await?;
    let types = state.store.allowance_types(Some(got.roll.division)).await?;
    Ok(Json(RollView::new(
        &got.roll, &got.lines, page, per_page, &types,
    )))
}

/// Locking: optional; `acknowledge_over_budget` when the roll would exceed a budget.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LockInput {
    pub acknowledge_over_budget: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/allowances/rolls/{id}/lock", tag = "allowances",
    params(("id" = String, Path)), request_body(content = Option<LockInput>),
    responses((status = 200, body = RollView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "已锁定；生成后保障对象或标准有变化（请重新生成）；或超出预算未确认", body = ErrorBody)))]
pub async fn lock_roll(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    body: axum::body::Bytes,
) -> Result<Json<RollView>, ApiError> {
    // The body is optional: empty, null, or {"acknowledge_over_budget": true}.
    let input: LockInput = if body.iter().all(u8::is_ascii_whitespace) {
        LockInput::default()
    } else {
        let refuse = |why: String| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("请求内容应为 {{\"acknowledge_over_budget\": true}}、null 或留空：{why}"),
            )
        };
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Null) => LockInput::default(),
            Ok(v @ serde_json::Value::Object(_)) => {
                serde_json::from_value(v).map_err(|e| refuse(e.to_string()))?
            }
            Ok(_) => return Err(refuse("不是 JSON 对象".into())),
            Err(e) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_json",
                    format!("请求内容不是有效的 JSON：{e}"),
                ))
            }
        }
    };
    let ack = input.acknowledge_over_budget.unwrap_or(false);
    let roll = state
        .store
        .lock_roll(caller.scope(), &id, ack, &caller.ip)
        .await?;
    let types = state.store.allowance_types(Some(roll.division)).await?;
    Ok(Json(RollView::new(&roll, &[], 1, 50, &types)))
}

/// A correction by hand in a draft roll: a positive amount pays, a negative one is to be
/// recovered; `for_month` is the month it corrects (not after the roll's).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    pub application_id: String,
    #[schema(pattern = "^20[0-9]{2}-(0[1-9]|1[0-2])$")]
    pub for_month: String,
    /// 分, not 0.
    #[serde(deserialize_with = "whole")]
    #[schema(minimum = -1_000_000_000_000_i64, maximum = 1_000_000_000_000_i64)]
    pub amount_fen: i64,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/allowances/rolls/{id}/adjustments", tag = "allowances",
    params(("id" = String, Path)), request_body = AdjustmentInput,
    responses((status = 200, body = RollView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "名册已锁定：调整请放入以后月份的名册", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn add_roll_adjustment(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(input): JsonBody<AdjustmentInput>,
) -> Result<Json<RollView>, ApiError> {
    let for_month = month("for_month", "所属月份", &input.for_month)?;
    let fen = amount("amount_fen", input.amount_fen, true)?;
    let roll = state
        .store
        .add_adjustment(
            caller.scope(),
            &id,
            &input.application_id,
            for_month,
            fen,
            &input.reason,
            &caller.ip,
        )
        .await?;
    let types = state.store.allowance_types(Some(roll.division)).await?;
    Ok(Json(RollView::new(&roll, &[], 1, 50, &types)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// A bank's layout by name (see the setting allowance_bank_layouts); default the
    /// general layout.
    #[param(max_length = 100)]
    pub bank: Option<String>,
    /// The full 身份证号 (office; the export is audited as a reveal); default masked.
    pub full_id: Option<bool>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsvQuery {
    /// utf-8 (default), gbk or gb18030 (what many banks' systems want).
    #[param(schema_with = encodings)]
    pub encoding: Option<String>,
    #[param(max_length = 100)]
    pub bank: Option<String>,
    pub full_id: Option<bool>,
}

fn download(bytes: Vec<u8>, content_type: &str, name: &str, withheld: usize) -> Response {
    let mut res = crate::download::download(bytes, content_type, "roll", name);
    res.headers_mut().insert(
        "x-weibao-withheld",
        axum::http::HeaderValue::from(withheld as u64),
    );
    res
}

#[utoipa::path(get, path = "/api/v1/allowances/rolls/{id}/export.xlsx", tag = "allowances",
    params(("id" = String, Path), ExportQuery),
    responses((status = 200, description = "银行代发文件（每名对象一行，本月净额为正者；账号完整，身份证号按权限）",
               content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "没有这个银行格式", body = ErrorBody)))]
pub async fn export_roll_xlsx(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<ExportQuery>,
) -> Result<Response, ApiError> {
    let file = crate::allowances_io::bank_file(
        &state.store,
        caller.scope(),
        &id,
        q.bank.as_deref(),
        q.full_id.unwrap_or(false),
        crate::allowances_io::Format::Xlsx,
        &caller.ip,
    )
    .await?;
    Ok(download(
        file.bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("{}.xlsx", file.name),
        file.withheld,
    ))
}

#[utoipa::path(get, path = "/api/v1/allowances/rolls/{id}/export.csv", tag = "allowances",
    params(("id" = String, Path), CsvQuery),
    responses((status = 200, description = "银行代发文件（CSV，UTF-8、GBK 或 GB18030）", content_type = "text/csv"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "没有这个银行格式，或有 GBK 无法表示的字", body = ErrorBody)))]
pub async fn export_roll_csv(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<CsvQuery>,
) -> Result<Response, ApiError> {
    let encoding = match q.encoding.as_deref().unwrap_or("utf-8") {
        "utf-8" => crate::allowances_io::Format::Csv(crate::allowances_io::Encoding::Utf8),
        "gbk" => crate::allowances_io::Format::Csv(crate::allowances_io::Encoding::Gbk),
        "gb18030" => crate::allowances_io::Format::Csv(crate::allowances_io::Encoding::Gb18030),
        other => {
            return Err(ApiError::invalid(
                "encoding",
                Invalid::new(
                    "choice",
                    format!("encoding“{other}”无法识别，可选 utf-8、gbk、gb18030"),
                ),
            ))
        }
    };
    let file = crate::allowances_io::bank_file(
        &state.store,
        caller.scope(),
        &id,
        q.bank.as_deref(),
        q.full_id.unwrap_or(false),
        encoding,
        &caller.ip,
    )
    .await?;
    let charset = match encoding {
        crate::allowances_io::Format::Csv(e) => e.label(),
        crate::allowances_io::Format::Xlsx => "utf-8",
    };
    Ok(download(
        file.bytes,
        &format!("text/csv; charset={charset}"),
        &format!("{}.csv", file.name),
        file.withheld,
    ))
}

// ---- totals and budgets ----------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TotalsQuery {
    /// Default your home division.
    pub division: Option<String>,
    /// Default this year.
    #[param(minimum = 2000, maximum = 2099)]
    pub year: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct TypeTotalView {
    #[serde(rename = "type")]
    pub type_code: String,
    pub label: String,
    pub group: String,
    pub amount_fen: i64,
    pub amount_wan: String,
    pub people: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MonthTotalView {
    pub month: String,
    pub amount_fen: i64,
    pub people: i64,
}

#[derive(Serialize, ToSchema)]
pub struct DivisionTotalView {
    pub division: String,
    pub name: String,
    pub amount_fen: i64,
    pub amount_wan: String,
    pub people: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TotalsView {
    pub division: String,
    pub year: i32,
    /// The latest month paid in the year.
    pub through_month: Option<String>,
    pub total_fen: i64,
    pub total_wan: String,
    /// Children paid anything in the year, each once.
    pub people: i64,
    /// "2023年累计发放孤儿基本生活费12.36万元，…，共惠及N人"
    pub sentence: String,
    pub by_type: Vec<TypeTotalView>,
    pub by_month: Vec<MonthTotalView>,
    /// By the divisions directly below.
    pub by_division: Vec<DivisionTotalView>,
}

#[utoipa::path(get, path = "/api/v1/allowances/totals", tag = "allowances", params(TotalsQuery),
    responses((status = 200, description = "已锁定名册的发放合计", body = TotalsView),
              (status = 404, body = ErrorBody)))]
pub async fn allowance_totals(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<TotalsQuery>,
) -> Result<Json<TotalsView>, ApiError> {
    let division = home_or(&caller, q.division.as_deref())?;
    let year = year_in_range(q.year)?.unwrap_or_else(|| {
        use chrono::Datelike;
        state.store.clock().today().year()
    });
    let t = state
        .store
        .allowance_totals(caller.scope(), division, year)
        .await?;
    Ok(Json(TotalsView {
        division: t.division.full(),
        year: t.year,
        through_month: t.through.map(|m| m.to_string()),
        total_fen: t.total.0,
        total_wan: t.total.wan(),
        people: t.people,
        sentence: t.sentence,
        by_type: t
            .by_type
            .into_iter()
            .map(|x| TypeTotalView {
                amount_wan: x.amount.wan(),
                type_code: x.type_code,
                label: x.label,
                group: x.group,
                amount_fen: x.amount.0,
                people: x.people,
            })
            .collect(),
        by_month: t
            .by_month
            .into_iter()
            .map(|m| MonthTotalView {
                month: m.month.to_string(),
                amount_fen: m.amount.0,
                people: m.people,
            })
            .collect(),
        by_division: t
            .by_division
            .into_iter()
            .map(|d| DivisionTotalView {
                amount_wan: d.amount.wan(),
                division: d.division,
                name: d.name,
                amount_fen: d.amount.0,
                people: d.people,
            })
            .collect(),
    }))
}

/// A county's budget for a type and year (replaces the one set before).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    /// A county.
    #[schema(schema_with = division_schema)]
    pub division: String,
    #[serde(deserialize_with = "whole")]
    #[schema(minimum = 2000, maximum = 2099)]
    pub year: i64,
    #[serde(rename = "type")]
    #[schema(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    pub type_code: String,
    #[serde(deserialize_with = "whole")]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub amount_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct BudgetView {
    pub year: i32,
    #[serde(rename = "type")]
    pub type_code: String,
    pub type_label: String,
    pub amount_fen: i64,
    /// Paid by locked rolls in the year.
    pub spent_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct BudgetList {
    pub items: Vec<BudgetView>,
}

fn budget_view(b: &weibao_store::Budget, types: &TypeBook) -> BudgetView {
    BudgetView {
        year: b.year,
        type_label: types.label(&b.type_code),
        type_code: b.type_code.clone(),
        amount_fen: b.amount.0,
        spent_fen: b.spent.0,
    }
}

#[utoipa::path(post, path = "/api/v1/allowances/budgets", tag = "allowances", request_body = BudgetInput,
    responses((status = 200, body = BudgetView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 422, description = "不是县级区划或类型不存在", body = ErrorBody)))]
pub async fn set_allowance_budget(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<BudgetInput>,
) -> Result<Json<BudgetView>, ApiError> {
    let division = parse_code("division", &input.division)?;
    let year = i32::try_from(input.year)
        .ok()
        .and_then(|y| year_in_range(Some(y)).ok().flatten())
        .ok_or_else(|| {
            ApiError::invalid(
                "year",
                Invalid::new(
                    "year_range",
                    format!("年份应在 2000 到 2099 之间，实际为 {}", input.year),
                ),
            )
        })?;
    let fen = amount("amount_fen", input.amount_fen, false)?;
    let b = state
        .store
        .set_budget(
            caller.scope(),
            division,
            year,
            &input.type_code,
            fen,
            &caller.ip,
        )
        .await?;
    let types = state.store.allowance_types(Some(division)).await?;
    Ok(Json(budget_view(&b, &types)))
}

#[utoipa::path(get, path = "/api/v1/allowances/budgets", tag = "allowances", params(TotalsQuery),
    responses((status = 200, body = BudgetList), (status = 404, body = ErrorBody)))]
pub async fn list_allowance_budgets(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<TotalsQuery>,
) -> Result<Json<BudgetList>, ApiError> {
    let division = home_or(&caller, q.division.as_deref())?;
    let year = year_in_range(q.year)?.unwrap_or_else(|| {
        use chrono::Datelike;
        state.store.clock().today().year()
    });
    let list = state.store.budgets(caller.scope(), division, year).await?;
    let types = state.store.allowance_types(Some(division)).await?;
    Ok(Json(BudgetList {
        items: list.iter().map(|b| budget_view(b, &types)).collect(),
    }))
}

/// Unused in handlers: keeps the documented limit and the domain's in step.
const _: () = assert!(MAX_REASON == 500);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_may_come_as_numbers_without_a_fraction_as_json_schema_allows() {
        let a: AdjustmentInput = serde_json::from_str(
            r#"{"application_id":"x","for_month":"2026-01","amount_fen":9012938.0,"reason":"r"}"#,
        )
        .unwrap();
        assert_eq!(a.amount_fen, 9_012_938);
        assert!(serde_json::from_str::<AdjustmentInput>(
            r#"{"application_id":"x","for_month":"2026-01","amount_fen":1.5,"reason":"r"}"#
        )
        .is_err());
        let s: StandardInput = serde_json::from_str(
            r#"{"type":"distressed","division":"510812","from_month":"2026-01","amount_fen":null,"follows_percent":100.0}"#,
        )
        .unwrap();
        assert_eq!((s.amount_fen, s.follows_percent), (None, Some(100)));
        let s: StandardInput = serde_json::from_str(
            r#"{"type":"distressed","division":"510812","from_month":"2026-01"}"#,
        )
        .unwrap();
        assert_eq!(s.amount_fen, None);
    }
}
