//! The children's ledger over the API: register, read, change, list, history, transfers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::categories::Discrepancy;
use weibao_domain::child::{mask_phone, Category, Risk, SchoolStatus, Support};
use weibao_domain::record::ChildPatch;
use weibao_domain::Sex;
use weibao_store::{ChildFilter, ChildSort, ChildSummary, ChildVersion, StoredChild, Transfer};

use super::divisions::parse_code;
use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

/// A parent's situation as shown.
#[derive(Serialize, ToSchema)]
pub struct ParentView {
    pub status: String,
    pub since: Option<String>,
    pub evidence: String,
    pub place: String,
    pub name: String,
    /// Masked unless revealed; empty when the record holds none.
    pub id_number: String,
}

#[derive(Serialize, ToSchema)]
pub struct GuardianView {
    pub name: String,
    pub relationship: String,
    /// Masked unless revealed.
    pub id_number: String,
    /// Masked unless revealed.
    pub phone: String,
    pub capacity: String,
    pub actual_caregiver: bool,
}

#[derive(Serialize, ToSchema)]
pub struct DiscrepancyView {
    /// `missing` (the facts imply a category the record lacks) or `unsupported`.
    pub kind: String,
    pub category: String,
    pub message: String,
}

/// A child's record.
#[derive(Serialize, ToSchema)]
pub struct ChildView {
    pub id: String,
    pub name: String,
    /// Masked (`5108**********123X`) unless `reveal=true` was asked and allowed.
    pub id_number: String,
    pub revealed: bool,
    pub birth_date: String,
    pub age: u32,
    pub sex: String,
    /// 12-digit village code.
    pub division: String,
    pub address: String,
    pub hukou: String,
    pub hukou_address: String,
    pub school_status: Option<String>,
    pub school_name: String,
    pub grade: String,
    pub not_in_school_reason: String,
    pub health: String,
    pub illness: String,
    pub disability_kind: Option<String>,
    pub disability_grade: Option<u8>,
    pub guardians: Vec<GuardianView>,
    pub father: ParentView,
    pub mother: ParentView,
    pub support: Vec<String>,
    /// Categories as recorded.
    pub categories: Vec<String>,
    /// Categories in force today (农村留守儿童 ends at 16).
    pub effective_categories: Vec<String>,
    /// Where the recorded categories disagree with the facts, and why.
    pub discrepancies: Vec<DiscrepancyView>,
    pub orphan_care: Option<String>,
    pub distress_subtypes: Vec<String>,
    pub local_flags: Vec<String>,
    pub risk: String,
    pub director_id: Option<String>,
    /// `active` or `transferring`.
    pub status: String,
    /// Under 18 (in the active ledger).
    pub active: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

fn mask_id_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

impl ChildView {
    pub fn new(c: &StoredChild, reveal: bool, today: chrono::NaiveDate) -> ChildView {
        let r = &c.record;
        let id = r.id_number();
        let parent = |p: &weibao_domain::child::ParentSituation| ParentView {
            status: p.status.label().into(),
            since: p.since.map(|d| d.to_string()),
            evidence: p.evidence.clone(),
            place: p.place.clone(),
            name: p.name.clone(),
            id_number: if reveal {
                p.id_number.clone()
            } else {
                mask_id_text(&p.id_number)
            },
        };
        let labels = |set: weibao_domain::child::CategorySet| -> Vec<String> {
            set.iter().map(|c| c.label().to_string()).collect()
        };
        ChildView {
            id: c.id.clone(),
            name: r.name.clone(),
            id_number: if reveal { id.to_string() } else { id.masked() },
            revealed: reveal,
            birth_date: id.birth_date().to_string(),
            age: id.age_on(today),
            sex: id.sex().label().into(),
            division: r.division().full(),
            address: r.address.clone(),
            hukou: r.hukou.label().into(),
            hukou_address: r.hukou_address.clone(),
            school_status: r.school_status.map(|s| s.label().into()),
            school_name: r.school_name.clone(),
            grade: r.grade.clone(),
            not_in_school_reason: r.not_in_school_reason.clone(),
            health: r.health.label().into(),
            illness: r.illness.clone(),
            disability_kind: r.disability.map(|d| d.kind.label().into()),
            disability_grade: r.disability.map(|d| d.grade),
            guardians: r
                .guardians
                .iter()
                .map(|g| GuardianView {
                    name: g.name.clone(),
                    relationship: g.relationship.clone(),
                    id_number: if reveal {
                        g.id_number.clone()
                    } else {
                        mask_id_text(&g.id_number)
                    },
                    phone: if reveal {
                        g.phone.clone()
                    } else {
                        mask_phone(&g.phone)
                    },
                    capacity: g.capacity.label().into(),
                    actual_caregiver: g.actual_caregiver,
                })
                .collect(),
            father: parent(&r.father),
            mother: parent(&r.mother),
            support: r.support.iter().map(|s| s.label().to_string()).collect(),
            categories: labels(r.categories),
            effective_categories: labels(c.effective),
            discrepancies: c
                .discrepancies
                .iter()
                .map(|d| DiscrepancyView {
                    kind: match d {
                        Discrepancy::Missing { .. } => "missing".into(),
                        Discrepancy::Unsupported { .. } => "unsupported".into(),
                    },
                    category: match d {
                        Discrepancy::Missing { category, .. }
                        | Discrepancy::Unsupported { category, .. } => category.label().into(),
                    },
                    message: d.message(),
                })
                .collect(),
            orphan_care: r.orphan_care.map(|o| o.label().into()),
            distress_subtypes: r.distress_subtypes.clone(),
            local_flags: r.local_flags.clone(),
            risk: r.risk.label().into(),
            director_id: r.director_id.clone(),
            status: match c.status {
                weibao_store::ChildStatus::Active => "active".into(),
                weibao_store::ChildStatus::Transferring => "transferring".into(),
            },
            active: c.active,
            version: c.version,
            created_at: crate::time::rfc3339(c.created_at),
            updated_at: crate::time::rfc3339(c.updated_at),
        }
    }
}

/// One row of a ledger list; the 身份证号 is always masked here.
#[derive(Serialize, ToSchema)]
pub struct ChildListItem {
    pub id: String,
    pub name: String,
    /// 12-digit village code.
    pub division: String,
    pub division_name: String,
    pub id_number: String,
    pub sex: String,
    pub birth_date: String,
    pub age: u32,
    pub categories: Vec<String>,
    pub risk: String,
    pub school_status: String,
    pub support: Vec<String>,
    pub status: String,
}

impl ChildListItem {
    pub fn new(s: &ChildSummary, today: chrono::NaiveDate) -> ChildListItem {
        ChildListItem {
            id: s.id.clone(),
            name: s.name.clone(),
            division: s.division_code.clone(),
            division_name: s.division_name.clone().unwrap_or_default(),
            id_number: s.id_masked.clone(),
            sex: s.sex.clone(),
            birth_date: s.birth_date.to_string(),
            age: weibao_domain::categories::age_on(s.birth_date, today),
            categories: s
                .categories()
                .iter()
                .map(|c| c.label().to_string())
                .collect(),
            risk: s.risk.clone(),
            school_status: s.school_status.clone(),
            support: s.support().iter().map(|x| x.label().to_string()).collect(),
            status: s.status.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChildList {
    pub items: Vec<ChildListItem>,
    /// Matches counted: all of them when `total_exact`; otherwise the count stopped ten
    /// pages past this one (`page + 9` pages of `per_page`) and there are more.
    pub total: i64,
    pub total_exact: bool,
    pub page: u32,
    pub per_page: u32,
}

/// The list's filters (also used by the Excel export).
#[derive(Deserialize, IntoParams, Default, Clone)]
#[into_params(parameter_in = Query)]
pub struct ChildQuery {
    /// Division subtree (short or 12-digit code); default: your home division.
    pub division: Option<String>,
    /// A category, e.g. 农村留守儿童.
    #[param(schema_with = category_choices)]
    pub category: Option<String>,
    /// 低, 中 or 高.
    #[param(schema_with = risk_choices)]
    pub risk: Option<String>,
    /// 男 or 女.
    #[param(schema_with = sex_choices)]
    pub sex: Option<String>,
    /// 就学状况, e.g. 小学.
    #[param(schema_with = school_choices)]
    pub school: Option<String>,
    /// 低保, 特困 or 低收入.
    #[param(schema_with = support_choices)]
    pub support: Option<String>,
    /// Age band, completed years, inclusive (0 to 150).
    #[param(maximum = 150)]
    pub age_min: Option<u32>,
    #[param(maximum = 150)]
    pub age_max: Option<u32>,
    /// Name, pinyin initials (zxh) or a 身份证号.
    pub q: Option<String>,
    /// division (default), name, age, risk or updated.
    #[param(schema_with = sort_choices)]
    pub sort: Option<String>,
    /// From 1 (default 1).
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
    /// Include those who have turned 18.
    pub include_adults: Option<bool>,
}

fn choices(values: impl IntoIterator<Item = &'static str>) -> utoipa::openapi::Object {
    super::schema::one_of_or_empty(values)
}

fn category_choices() -> utoipa::openapi::Object {
    choices(Category::ALL.iter().map(|c| c.label()))
}

fn risk_choices() -> utoipa::openapi::Object {
    choices(Risk::ALL.iter().map(|r| r.label()))
}

fn sex_choices() -> utoipa::openapi::Object {
    choices(["男", "女", "male", "female"])
}

fn school_choices() -> utoipa::openapi::Object {
    choices(SchoolStatus::ALL.iter().map(|s| s.label()))
}

fn support_choices() -> utoipa::openapi::Object {
    choices(Support::ALL.iter().map(|s| s.label()))
}

fn sort_choices() -> utoipa::openapi::Object {
    choices(["division", "name", "age", "risk", "updated"])
}

fn pick<T: Copy>(
    field: &'static str,
    label: &str,
    v: Option<&str>,
    parse: fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse(s).map(Some).ok_or_else(|| {
            ApiError::invalid(
                field,
                weibao_domain::Invalid::new("choice", format!("筛选条件{label}“{s}”无法识别")),
            )
        }),
    }
}

impl ChildQuery {
    pub fn to_filter(&self) -> Result<ChildFilter, ApiError> {
        let sort = match self.sort.as_deref().unwrap_or("division") {
            "division" | "" => ChildSort::Division,
            "name" => ChildSort::Name,
            "age" => ChildSort::Age,
            "risk" => ChildSort::Risk,
            "updated" => ChildSort::Updated,
            other => {
                return Err(ApiError::invalid(
                    "sort",
                    weibao_domain::Invalid::new(
                        "choice",
                        format!(
                            "排序方式“{other}”无法识别，可选 division、name、age、risk、updated"
                        ),
                    ),
                ))
            }
        };
        let (page, per_page) = super::paging(self.page, self.per_page)?;
        for (field, age) in [("age_min", self.age_min), ("age_max", self.age_max)] {
            if age.is_some_and(|a| a > 150) {
                return Err(ApiError::invalid(
                    field,
                    weibao_domain::Invalid::new("age_range", "年龄应在 0 到 150 岁之间"),
                ));
            }
        }
        Ok(ChildFilter {
            division: match self.division.as_deref().filter(|d| !d.is_empty()) {
                Some(d) => Some(parse_code("division", d)?),
                None => None,
            },
            category: pick(
                "category",
                "儿童类别",
                self.category.as_deref(),
                Category::parse_label,
            )?,
            risk: pick("risk", "风险等级", self.risk.as_deref(), Risk::parse_label)?,
            sex: pick("sex", "性别", self.sex.as_deref(), |s| match s {
                "男" | "male" => Some(Sex::Male),
                "女" | "female" => Some(Sex::Female),
                _ => None,
            })?,
            school: pick(
                "school",
                "就学状况",
                self.school.as_deref(),
                SchoolStatus::parse_label,
            )?,
            support: pick(
                "support",
                "家庭保障",
                self.support.as_deref(),
                Support::parse_label,
            )?,
            age_min: self.age_min,
            age_max: self.age_max,
            q: self.q.clone(),
            include_adults: self.include_adults.unwrap_or(false),
            sort,
            page,
            per_page,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/children", tag = "children", params(ChildQuery),
    responses((status = 200, body = ChildList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn list_children(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ChildQuery>,
) -> Result<Json<ChildList>, ApiError> {
    let filter = q.to_filter()?;
    let (rows, total) = state.store.list_children(caller.scope(), &filter).await?;
    let today = state.store.clock().today();
    Ok(Json(ChildList {
        items: rows.iter().map(|r| ChildListItem::new(r, today)).collect(),
        total: total.count,
        total_exact: total.exact,
        page: filter.page,
        per_page: filter.per_page,
    }))
}

/// The body of a create or change: every field optional on change; `name`, `id_number`
/// and `division` required on create. Enumerations take their Chinese names.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ChildInputDoc {
    pub name: Option<String>,
    pub id_number: Option<String>,
    /// 12-digit village code.
    pub division: Option<String>,
    pub address: Option<String>,
    /// 农村 or 城镇 (default: from the village code).
    pub hukou: Option<String>,
    pub hukou_address: Option<String>,
    pub school_status: Option<String>,
    pub school_name: Option<String>,
    pub grade: Option<String>,
    pub not_in_school_reason: Option<String>,
    pub health: Option<String>,
    pub illness: Option<String>,
    pub disability_kind: Option<String>,
    pub disability_grade: Option<u8>,
    /// [{name, relationship, id_number, phone, capacity, actual_caregiver}]
    pub guardians: Option<Vec<serde_json::Value>>,
    /// {status, since, evidence, place, name, id_number}
    pub father: Option<serde_json::Value>,
    pub mother: Option<serde_json::Value>,
    pub support: Option<Vec<String>>,
    /// Left out on create: set to what the facts imply.
    pub categories: Option<Vec<String>>,
    pub orphan_care: Option<String>,
    pub distress_subtypes: Option<Vec<String>>,
    pub local_flags: Option<Vec<String>>,
    pub risk: Option<String>,
    pub notes: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/children", tag = "children", request_body = ChildInputDoc,
    responses((status = 201, body = ChildView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "身份证号已在台账中", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_child(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(patch): JsonBody<ChildPatch>,
) -> Result<(StatusCode, Json<ChildView>), ApiError> {
    let child = state
        .store
        .create_child(caller.scope(), patch, &caller.ip)
        .await?;
    let today = state.store.clock().today();
    Ok((
        StatusCode::CREATED,
        Json(ChildView::new(&child, false, today)),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevealQuery {
    /// Show the full 身份证号 and phone numbers (audited; office, supervisor, director).
    pub reveal: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/children/{id}", tag = "children",
    params(("id" = String, Path), RevealQuery),
    responses((status = 200, body = ChildView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get_child(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<RevealQuery>,
) -> Result<Json<ChildView>, ApiError> {
    let reveal = q.reveal.unwrap_or(false);
    let child = state
        .store
        .read_child(caller.scope(), &id, reveal, &caller.ip)
        .await?;
    Ok(Json(ChildView::new(
        &child,
        reveal,
        state.store.clock().today(),
    )))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// The version you edited: a newer one answers 409 instead of overwriting.
    pub version: Option<i64>,
}

#[utoipa::path(patch, path = "/api/v1/children/{id}", tag = "children",
    params(("id" = String, Path), VersionQuery), request_body = ChildInputDoc,
    responses((status = 200, body = ChildView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn update_child(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<VersionQuery>,
    JsonBody(patch): JsonBody<ChildPatch>,
) -> Result<Json<ChildView>, ApiError> {
    let child = state
        .store
        .update_child(caller.scope(), &id, patch, q.version, &caller.ip)
        .await?;
    Ok(Json(ChildView::new(
        &child,
        false,
        state.store.clock().today(),
    )))
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    pub version: i64,
    pub at: String,
    pub actor: String,
    /// create, update or transfer.
    pub kind: String,
    /// [{field, label, old, new}]
    pub changes: Vec<serde_json::Value>,
}

impl VersionView {
    pub fn new(v: ChildVersion) -> VersionView {
        VersionView {
            version: v.version,
            at: crate::time::rfc3339(v.at),
            actor: v.actor_name,
            kind: v.kind,
            changes: v
                .changes
                .into_iter()
                .map(|c| {
                    let masked = |s: &str| {
                        if c.field == "id_number" {
                            mask_id_text(s)
                        } else {
                            s.to_string()
                        }
                    };
                    serde_json::json!({"field": c.field, "label": c.label,
                                       "old": masked(&c.old), "new": masked(&c.new)})
                })
                .collect(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/children/{id}/history", tag = "children",
    params(("id" = String, Path)),
    responses((status = 200, body = [VersionView]), (status = 404, body = ErrorBody)))]
pub async fn child_history(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    let versions = state.store.child_history(caller.scope(), &id).await?;
    Ok(Json(versions.into_iter().map(VersionView::new).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct TransferRequest {
    /// The receiving village (12-digit code).
    pub to_division: String,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TransferView {
    pub id: String,
    pub child_id: String,
    pub from_division: String,
    pub to_division: String,
    /// pending, accepted or rejected.
    pub status: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    pub decided_by: Option<String>,
    pub decision_note: String,
}

impl From<Transfer> for TransferView {
    fn from(t: Transfer) -> Self {
        TransferView {
            id: t.id,
            child_id: t.child_id,
            from_division: t.from_division,
            to_division: t.to_division,
            status: t.status,
            reason: t.reason,
            requested_by: t.requested_by,
            requested_at: crate::time::rfc3339(t.requested_at),
            decided_by: t.decided_by,
            decision_note: t.decision_note,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/children/{id}/transfer", tag = "children",
    params(("id" = String, Path)), request_body = TransferRequest,
    responses((status = 201, body = TransferView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn request_transfer(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<TransferRequest>,
) -> Result<(StatusCode, Json<TransferView>), ApiError> {
    let to = parse_code("to_division", &req.to_division)?;
    let t = state
        .store
        .request_transfer(
            caller.scope(),
            &id,
            to,
            req.reason.as_deref().unwrap_or(""),
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

#[utoipa::path(get, path = "/api/v1/transfers/incoming", tag = "children",
    responses((status = 200, body = [TransferView]), (status = 403, body = ErrorBody)))]
pub async fn incoming_transfers(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<Vec<TransferView>>, ApiError> {
    let list = state.store.incoming_transfers(caller.scope()).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct TransferDecision {
    /// true: accept the child into the receiving village; false: refuse.
    pub accept: bool,
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/transfers/{id}/decision", tag = "children",
    params(("id" = String, Path)), request_body = TransferDecision,
    responses((status = 200, body = TransferView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn decide_transfer(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<TransferDecision>,
) -> Result<Json<TransferView>, ApiError> {
    let t = state
        .store
        .decide_transfer(
            caller.scope(),
            &id,
            req.accept,
            req.note.as_deref().unwrap_or(""),
            &caller.ip,
        )
        .await?;
    Ok(Json(t.into()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The division the sheet is for (villages are resolved by name within it).
    pub division: String,
    /// true (default): check only and report; false: import all rows or none.
    pub dry_run: Option<bool>,
    /// The field each column fills, where the report's choice should change: a JSON
    /// object from column letters to a field name (see the report's `fields`), or `""`
    /// for "do not import", e.g. `{"H":"guardian_phone","I":""}`. Other columns are
    /// recognised by their headers.
    pub mapping: Option<String>,
}

/// The multipart body of an import.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportUpload {
    /// The .xlsx file.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    pub file: String,
}

/// A refused import: the report of what is wrong (rows, columns), or an error when the
/// file or a parameter could not be used at all.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ImportRefused {
    Report(crate::ledger_io::ImportReport),
    Error(ErrorBody),
}

/// Largest workbook accepted (a county's 100k-row ledger is about 10 MB).
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

#[utoipa::path(post, path = "/api/v1/children/import", tag = "children", params(ImportQuery),
    request_body(content = ImportUpload, content_type = "multipart/form-data"),
    responses((status = 200, description = "试导入报告，或导入完成", body = crate::ledger_io::ImportReport),
              (status = 422, description = "有错误行（报告，未导入任何记录），或文件、参数无效（错误）", body = ImportRefused),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 429, description = "导入过于频繁（见 Retry-After）", body = ErrorBody)))]
pub async fn import_children(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ImportQuery>,
    multipart: super::Upload,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let division = parse_code("division", &q.division)?;
    let mapping = match q.mapping.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(m) => {
            crate::ledger_io::parse_mapping(m).map_err(|e| ApiError::invalid("mapping", e))?
        }
        None => Default::default(),
    };
    caller
        .scope()
        .check(weibao_domain::access::Action::EditChildren, division)
        .map_err(weibao_store::StoreError::from)?;
    if let Some(refused) = state
        .limiter
        .before_import(&caller.scope().user_id, state.store.clock().now_ms())
    {
        return Ok(refused);
    }
    let bytes = super::multipart_file(
        multipart,
        |e| {
            format!(
                "文件过大或上传中断（上限 {} MB）：{e}",
                MAX_UPLOAD_BYTES / 1024 / 1024
            )
        },
        "请在表单字段 file 中上传 .xlsx 文件",
    )
    .await?;
    let dry_run = q.dry_run.unwrap_or(true);
    let report = crate::ledger_io::import_children(
        &state.store,
        caller.scope(),
        division,
        &bytes,
        dry_run,
        &mapping,
        &caller.ip,
        |_, _, _| {},
    )
    .await
    .map_err(|e| match e {
        crate::ledger_io::ImportFailure::Sheet(s) => ApiError::invalid(
            "file",
            weibao_domain::Invalid::new("sheet_unreadable", s.to_string()),
        ),
        crate::ledger_io::ImportFailure::Store(s) => s.into(),
    })?;
    let status = if !dry_run && !report.errors.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)).into_response())
}

#[utoipa::path(get, path = "/api/v1/children/export.xlsx", tag = "children", params(ChildQuery),
    responses((status = 200, description = "Excel 文件（身份证号脱敏）",
               content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export_children(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ChildQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let filter = q.to_filter()?;
    let bytes =
        crate::ledger_io::export_children(&state.store, caller.scope(), &filter, &caller.ip)
            .await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"children.xlsx\"; filename*=UTF-8''%E5%84%BF%E7%AB%A5%E5%8F%B0%E8%B4%A6.xlsx",
            ),
        ],
        bytes,
    )
        .into_response())
}
