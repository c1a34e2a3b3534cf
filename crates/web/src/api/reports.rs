//! Reports of harm over the API: intake, reading (the reporter masked or the content
//! withheld as the reader's rights say), triage, acknowledgement, referral, merging,
//! replying, linking a ledger child; the 12345 order sheets in and out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::reports::{
    Channel, ChildHint, Institution, ReportInput, ReportState, Reporter, Situation, Urgency,
};
use weibao_domain::work::UnitKind;
use weibao_store::{
    NewReport, ReferralTarget, ReportFilter, StoredReferral, StoredReport, TimelineEntry,
};

use super::divisions::parse_code;
use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::time::rfc3339;
use crate::AppState;

/// The channels a signed-in account files by (the public page and visits file their own).
const FILED_CHANNELS: &[Channel] = &[
    Channel::Mandatory,
    Channel::Hotline,
    Channel::WalkIn,
    Channel::Phone,
    Channel::Unit,
];

fn filed_channels() -> utoipa::openapi::Object {
    super::schema::one_of(FILED_CHANNELS.iter().map(|c| c.code()))
}

fn situation_list() -> utoipa::openapi::Array {
    utoipa::openapi::ArrayBuilder::new()
        .items(super::schema::one_of(
            Situation::ALL.iter().map(|s| s.code()),
        ))
        .min_items(Some(1))
        .build()
}

fn urgencies() -> utoipa::openapi::Object {
    super::schema::one_of_or_null(Urgency::ALL.iter().map(|u| u.code()))
}

fn institutions() -> utoipa::openapi::Object {
    super::schema::one_of_or_null(Institution::ALL.iter().map(|i| i.code()))
}

fn sexes() -> utoipa::openapi::Object {
    super::schema::one_of_or_null(["男", "女", "male", "female"])
}

fn unit_kinds() -> utoipa::openapi::Object {
    super::schema::one_of_or_null(UnitKind::ALL.iter().map(|k| k.code()))
}

/// What is known of a child not (yet) linked to the ledger.
#[derive(Deserialize, ToSchema, Default)]
pub struct ChildHintInput {
    #[schema(max_length = 30)]
    pub name: Option<String>,
    #[schema(schema_with = sexes)]
    pub sex: Option<String>,
    #[schema(maximum = 17)]
    pub age: Option<u8>,
    /// 18 digits with its check character (refused otherwise).
    pub id_number: Option<String>,
    #[schema(max_length = 100)]
    pub school: Option<String>,
    /// Guardians, family, anything that helps find the child.
    #[schema(max_length = 1000)]
    pub other: Option<String>,
}

/// Who reported.
#[derive(Deserialize, ToSchema, Default)]
pub struct ReporterInput {
    #[schema(max_length = 30)]
    pub name: Option<String>,
    /// The reporting institution's name (needed for a mandatory report).
    #[schema(max_length = 100)]
    pub unit: Option<String>,
    /// The kind of institution (needed for a mandatory report).
    #[schema(schema_with = institutions)]
    pub institution: Option<String>,
    /// A mobile (11 digits from 1) or a landline with its area code.
    pub phone: Option<String>,
    /// Only a 12345 order may stay anonymous here.
    pub anonymous: Option<bool>,
}

/// A report to file.
#[derive(Deserialize, ToSchema)]
pub struct ReportRequest {
    #[schema(schema_with = filed_channels)]
    pub channel: String,
    /// The situations (codes s1–s9 are the nine mandatory-reporting situations).
    #[schema(schema_with = situation_list)]
    pub situations: Vec<String>,
    /// Default: 优先 for the nine situations, 一般 otherwise; 紧急 goes to the police at once.
    #[schema(schema_with = urgencies)]
    pub urgency: Option<String>,
    /// What happened: who, when, where, how the child is now.
    #[schema(min_length = 1, max_length = 5000, pattern = r"\S")]
    pub description: String,
    #[schema(max_length = 200)]
    pub place: Option<String>,
    /// When the harm was discovered: RFC 3339, "YYYY-MM-DD HH:MM" or a date; default now.
    pub discovered_at: Option<String>,
    /// Where it happened or where the child lives: a county, township or village (taken
    /// from the child when `child_id` is given).
    pub division: String,
    /// A child of the ledger, when known.
    pub child_id: Option<String>,
    pub child: Option<ChildHintInput>,
    pub reporter: Option<ReporterInput>,
}

/// Who reported, as the reader may see it.
#[derive(Serialize, ToSchema)]
pub struct ReporterView {
    pub name: String,
    pub unit: String,
    pub institution: Option<String>,
    pub phone: String,
    pub anonymous: bool,
    /// The reader may not know who reported: name and unit are 保密.
    pub masked: bool,
}

/// A child as the report describes it.
#[derive(Serialize, ToSchema)]
pub struct ChildHintView {
    pub name: String,
    pub sex: String,
    pub age: Option<u32>,
    /// Masked.
    pub id_number: String,
    pub school: String,
    pub other: String,
}

/// A step of a timeline.
#[derive(Serialize, ToSchema)]
pub struct TimelineView {
    pub at: String,
    pub actor: String,
    pub unit: String,
    pub action: String,
    pub detail: String,
}

impl From<TimelineEntry> for TimelineView {
    fn from(e: TimelineEntry) -> Self {
        TimelineView {
            at: rfc3339(e.at),
            actor: e.actor_name,
            unit: e.actor_unit,
            action: e.action,
            detail: e.detail,
        }
    }
}

/// A referral.
#[derive(Serialize, ToSchema)]
pub struct ReferralView {
    pub id: String,
    pub report_id: Option<String>,
    pub case_id: Option<String>,
    pub child_id: Option<String>,
    pub from_unit_id: String,
    pub from_unit: String,
    pub to_unit_id: String,
    pub to_unit: String,
    pub to_unit_kind: String,
    /// pending, accepted, returned, forwarded, revoked or done.
    pub state: String,
    pub state_label: String,
    pub note: String,
    /// guardian, child or override, for a referral to an agency.
    pub consent_by: Option<String>,
    pub consent_note: Option<String>,
    pub reply: String,
    pub closed_reason: String,
    /// When the unit must accept or return it.
    pub due_at: String,
    /// When the accepted referral's reply is due.
    pub reply_due_at: Option<String>,
    pub replied_at: Option<String>,
    pub accepted_by: Option<String>,
    pub accepted_at: Option<String>,
    /// The referral that carried it on, when passed on.
    pub forwarded_to: Option<String>,
    pub created_at: String,
    pub closed_at: Option<String>,
}

impl From<StoredReferral> for ReferralView {
    fn from(r: StoredReferral) -> Self {
        ReferralView {
            state_label: r.state.label().into(),
            state: r.state.code().into(),
            to_unit_kind: r.to_unit_kind.code().into(),
            consent_by: r.consent.as_ref().map(|c| c.by.code().into()),
            consent_note: r.consent.map(|c| c.note),
            id: r.id,
            report_id: r.report_id,
            case_id: r.case_id,
            child_id: r.child_id,
            from_unit_id: r.from_unit_id,
            from_unit: r.from_unit_name,
            to_unit_id: r.to_unit_id,
            to_unit: r.to_unit_name,
            note: r.note,
            reply: r.reply,
            closed_reason: r.closed_reason,
            due_at: rfc3339(r.due_at),
            reply_due_at: r.reply_due_at.map(rfc3339),
            replied_at: r.replied_at.map(rfc3339),
            accepted_by: r.accepted_by,
            accepted_at: r.accepted_at.map(rfc3339),
            forwarded_to: r.forwarded_to,
            created_at: rfc3339(r.created_at),
            closed_at: r.closed_at.map(rfc3339),
        }
    }
}

/// A report in a list.
#[derive(Serialize, ToSchema)]
pub struct ReportSummary {
    pub id: String,
    pub number: String,
    pub channel: String,
    pub channel_label: String,
    pub situations: Vec<String>,
    pub urgency: String,
    pub state: String,
    pub state_label: String,
    /// 12-digit code.
    pub division: String,
    pub child_id: Option<String>,
    pub sealed: bool,
    /// Sealed and not readable by the caller: only that it exists.
    pub withheld: bool,
    pub created_at: String,
}

impl From<&StoredReport> for ReportSummary {
    fn from(r: &StoredReport) -> Self {
        ReportSummary {
            id: r.id.clone(),
            number: r.number.clone(),
            channel: r.channel.code().into(),
            channel_label: r.channel.label().into(),
            situations: if r.withheld {
                vec![]
            } else {
                r.situations.iter().map(|s| s.code().to_string()).collect()
            },
            urgency: r.urgency.code().into(),
            state: r.state.code().into(),
            state_label: r.state.label().into(),
            division: r.division_code.clone(),
            child_id: if r.withheld { None } else { r.child_id.clone() },
            sealed: r.sealed,
            withheld: r.withheld,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// A report, as its reader may see it.
#[derive(Serialize, ToSchema)]
pub struct ReportView {
    pub id: String,
    pub number: String,
    pub channel: String,
    pub channel_label: String,
    pub situations: Vec<String>,
    pub situation_labels: Vec<String>,
    pub urgency: String,
    pub urgency_label: String,
    pub state: String,
    pub state_label: String,
    /// 12-digit code.
    pub division: String,
    pub child_id: Option<String>,
    pub sealed: bool,
    /// Sealed and not readable by the caller: only that it exists (ask for access at
    /// POST /api/v1/sealed/requests).
    pub withheld: bool,
    /// Null when withheld.
    pub reporter: Option<ReporterView>,
    pub child: Option<ChildHintView>,
    pub description: Option<String>,
    pub place: Option<String>,
    pub discovered_at: String,
    pub reported_at: String,
    pub hotline_order: Option<String>,
    pub hotline_due_at: Option<String>,
    pub visit_id: Option<String>,
    pub merged_into: Option<String>,
    /// The reply the reporter sees.
    pub reply: String,
    pub replied_at: Option<String>,
    pub acknowledged_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub referrals: Vec<ReferralView>,
    pub timeline: Vec<TimelineView>,
    /// Open reports about the same child (office only): merge or keep apart.
    pub possible_duplicates: Vec<ReportSummary>,
    /// Files at GET /api/v1/reports/{id}/attachments/{attachment_id}; empty for readers who
    /// see the report without its reporter.
    pub attachments: Vec<AttachmentView>,
}

/// An attachment of a report.
#[derive(Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: String,
    /// The file name as uploaded.
    pub name: String,
    /// image/jpeg, image/png, image/webp or application/pdf (from the bytes themselves).
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    pub uploaded_at: String,
}

impl From<weibao_store::ReportAttachment> for AttachmentView {
    fn from(a: weibao_store::ReportAttachment) -> Self {
        AttachmentView {
            id: a.id,
            name: a.name,
            content_type: a.content_type,
            size: a.size,
            uploaded_at: rfc3339(a.uploaded_at),
        }
    }
}

fn mask_id(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    format!(
        "{}{}{}",
        chars[..4].iter().collect::<String>(),
        "*".repeat(chars.len() - 8),
        chars[chars.len() - 4..].iter().collect::<String>()
    )
}

impl ReportView {
    pub async fn build(
        state: &AppState,
        scope: &weibao_domain::access::Scope,
        r: StoredReport,
    ) -> Result<ReportView, ApiError> {
        let referrals = if r.withheld {
            vec![]
        } else {
            state
                .store
                .referrals_of(scope, &r.county_code, &r.id)
                .await?
        };
        let timeline = state.store.report_timeline(scope, &r).await?;
        let duplicates = state.store.possible_duplicates(scope, &r).await?;
        let attachments = state.store.report_attachments(scope, &r).await?;
        let d = &r.details;
        Ok(ReportView {
            id: r.id.clone(),
            number: r.number.clone(),
            channel: r.channel.code().into(),
            channel_label: r.channel.label().into(),
            situations: r.situations.iter().map(|s| s.code().into()).collect(),
            situation_labels: r.situations.iter().map(|s| s.label().into()).collect(),
            urgency: r.urgency.code().into(),
            urgency_label: r.urgency.label().into(),
            state: r.state.code().into(),
            state_label: r.state.label().into(),
            division: r.division_code.clone(),
            child_id: if r.withheld { None } else { r.child_id.clone() },
            sealed: r.sealed,
            withheld: r.withheld,
            reporter: (!r.withheld).then(|| ReporterView {
                name: d.reporter.name.clone(),
                unit: d.reporter.unit.clone(),
                institution: d.reporter.institution.map(|i| i.code().into()),
                phone: d.reporter.phone.clone(),
                anonymous: d.reporter.anonymous,
                masked: !r.reporter_visible,
            }),
            child: (!r.withheld).then(|| ChildHintView {
                name: d.child.name.clone(),
                sex: d.child.sex.clone(),
                age: d.child.age,
                id_number: mask_id(&d.child.id_number),
                school: d.child.school.clone(),
                other: d.child.other.clone(),
            }),
            description: (!r.withheld).then(|| d.description.clone()),
            place: (!r.withheld).then(|| d.place.clone()),
            discovered_at: rfc3339(r.discovered_at),
            reported_at: rfc3339(r.reported_at),
            hotline_order: r.hotline_order.clone(),
            hotline_due_at: r.hotline_due_at.map(rfc3339),
            visit_id: if r.withheld { None } else { r.visit_id.clone() },
            merged_into: r.merged_into.clone(),
            reply: r.reply.clone(),
            replied_at: r.replied_at.map(rfc3339),
            acknowledged_at: r.acknowledged_at.map(rfc3339),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            referrals: referrals.into_iter().map(Into::into).collect(),
            timeline: timeline.into_iter().map(Into::into).collect(),
            possible_duplicates: duplicates.iter().map(Into::into).collect(),
            attachments: attachments.into_iter().map(Into::into).collect(),
        })
    }
}

fn beijing_now(state: &AppState) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::from_timestamp_millis(state.store.clock().now_ms())
        .unwrap_or_default()
        .with_timezone(&weibao_domain::visit::cst())
}

/// Checks a report request into what the store files.
pub fn checked_report(
    now: chrono::DateTime<chrono::FixedOffset>,
    req: ReportRequest,
    channel: Option<Channel>,
) -> Result<NewReport, ApiError> {
    let division = parse_code("division", &req.division)?;
    let child = req.child.unwrap_or_default();
    let reporter = req.reporter.unwrap_or_default();
    // Codes exactly as the document lists them.
    pick(
        "channel",
        Some(req.channel.as_str()),
        FILED_CHANNELS,
        Channel::code,
    )?;
    for s in &req.situations {
        pick(
            "situations",
            Some(s.as_str()),
            Situation::ALL,
            Situation::code,
        )?;
    }
    pick(
        "urgency",
        req.urgency.as_deref(),
        Urgency::ALL,
        Urgency::code,
    )?;
    pick(
        "child.sex",
        child.sex.as_deref(),
        &["男", "女", "male", "female"],
        |s| s,
    )?;
    let institution = pick(
        "reporter.institution",
        reporter.institution.as_deref(),
        Institution::ALL,
        Institution::code,
    )?;
    let report = ReportInput {
        channel: Some(req.channel),
        situations: req.situations,
        urgency: req.urgency,
        description: req.description,
        place: req.place,
        discovered_at: req.discovered_at,
        child: ChildHint {
            name: child.name.unwrap_or_default(),
            sex: child.sex.unwrap_or_default(),
            age: child.age.map(u32::from),
            id_number: child.id_number.unwrap_or_default(),
            school: child.school.unwrap_or_default(),
            other: child.other.unwrap_or_default(),
        },
        reporter: Reporter {
            name: reporter.name.unwrap_or_default(),
            unit: reporter.unit.unwrap_or_default(),
            institution,
            phone: reporter.phone.unwrap_or_default(),
            anonymous: reporter.anonymous.unwrap_or(false),
        },
    }
    .check(now, channel)
    .map_err(|e| ApiError::invalid(e.field, e.invalid))?;
    if !FILED_CHANNELS.contains(&report.channel) {
        return Err(ApiError::invalid(
            "channel",
            weibao_domain::Invalid::new(
                "channel_reserved",
                "走访发现和群众举报由系统登记：请选择 mandatory、hotline、walk_in、phone 或 unit",
            ),
        ));
    }
    Ok(NewReport {
        report,
        division,
        child_id: req.child_id.filter(|c| !c.trim().is_empty()),
        visit_id: None,
        hotline_order: None,
        hotline_due_at: None,
    })
}

#[utoipa::path(post, path = "/api/v1/reports", tag = "reports", request_body = ReportRequest,
    responses((status = 201, description = "已登记", body = ReportView),
              (status = 404, description = "区划或儿童不在您的辖区", body = ErrorBody),
              (status = 422, description = "内容有误（如身份证号校验位、电话号码、区划不存在）", body = ErrorBody)))]
pub async fn create_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<ReportRequest>,
) -> Result<(StatusCode, Json<ReportView>), ApiError> {
    let scope = caller.scope();
    let channel =
        (scope.role == weibao_domain::access::Role::Reporter).then_some(Channel::Mandatory);
    let new = checked_report(beijing_now(&state), req, channel)?;
    let filed = state.store.file_report(scope, new, &caller.ip).await?;
    let report = state.store.filed_report(scope, &filed).await?;
    Ok((
        StatusCode::CREATED,
        Json(ReportView::build(&state, scope, report).await?),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Division subtree; default your home division.
    pub division: Option<String>,
    #[param(schema_with = report_states)]
    pub state: Option<String>,
    #[param(schema_with = urgency_filter)]
    pub urgency: Option<String>,
    #[param(schema_with = channel_filter)]
    pub channel: Option<String>,
    /// Only reports still open.
    pub open: Option<bool>,
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

fn report_states() -> utoipa::openapi::Object {
    super::schema::one_of_or_empty(ReportState::ALL.iter().map(|s| s.code()))
}

fn urgency_filter() -> utoipa::openapi::Object {
    super::schema::one_of_or_empty(Urgency::ALL.iter().map(|s| s.code()))
}

fn channel_filter() -> utoipa::openapi::Object {
    super::schema::one_of_or_empty(Channel::ALL.iter().map(|s| s.code()))
}

fn pick<T: Copy>(
    field: &'static str,
    v: Option<&str>,
    all: &[T],
    code: fn(T) -> &'static str,
) -> Result<Option<T>, ApiError> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => super::schema::exact(all, code, s).map(Some).ok_or_else(|| {
            let codes: Vec<&str> = all.iter().map(|v| code(*v)).collect();
            ApiError::invalid(
                field,
                weibao_domain::Invalid::new(
                    "choice",
                    format!("“{s}”无法识别，可选：{}", codes.join("、")),
                ),
            )
        }),
    }
}

/// A page of reports.
#[derive(Serialize, ToSchema)]
pub struct ReportList {
    pub items: Vec<ReportSummary>,
    pub page: u32,
    pub per_page: u32,
}

#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportQuery),
    responses((status = 200, body = ReportList), (status = 404, body = ErrorBody)))]
pub async fn list_reports(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Json<ReportList>, ApiError> {
    let (page, per_page) = super::paging(q.page, q.per_page)?;
    let filter = ReportFilter {
        division: match q.division.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => Some(parse_code("division", d)?),
            None => None,
        },
        state: pick(
            "state",
            q.state.as_deref(),
            ReportState::ALL,
            ReportState::code,
        )?,
        urgency: pick("urgency", q.urgency.as_deref(), Urgency::ALL, Urgency::code)?,
        channel: pick("channel", q.channel.as_deref(), Channel::ALL, Channel::code)?,
        open: q.open.unwrap_or(false),
        page,
        per_page,
    };
    let items = state.store.list_reports(caller.scope(), &filter).await?;
    Ok(Json(ReportList {
        items: items.iter().map(Into::into).collect(),
        page,
        per_page,
    }))
}

#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports", params(("id" = String, Path)),
    responses((status = 200, body = ReportView),
              (status = 404, description = "不存在、不在辖区，或不是本账户提交的报告", body = ErrorBody)))]
pub async fn get_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<Json<ReportView>, ApiError> {
    let r = state.store.report(caller.scope(), &id, &caller.ip).await?;
    Ok(Json(ReportView::build(&state, caller.scope(), r).await?))
}

/// The multipart body of an attachment upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AttachmentUpload {
    /// A photo (JPEG, PNG, WebP) or a PDF scan, at most 8 MB; its file name is kept.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    pub file: String,
}

/// Upload limit of the attachment route (a little over the store's own limit, so that the
/// store's clear message is what the caller sees).
pub const MAX_ATTACHMENT_UPLOAD: usize = weibao_store::MAX_ATTACHMENT_BYTES + 64 * 1024;

/// Adds a file to a report: the office, a handling unit, or whoever filed it. The same
/// bytes twice give the same attachment; at most ten per report.
#[utoipa::path(post, path = "/api/v1/reports/{id}/attachments", tag = "reports",
    params(("id" = String, Path)),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_attachment(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    multipart: super::Upload,
) -> Result<(StatusCode, Json<AttachmentView>), ApiError> {
    let (name, bytes) = super::multipart_named_file(
        multipart,
        |_| {
            format!(
                "附件过大或上传中断（上限 {} MB），请压缩后重试",
                weibao_store::MAX_ATTACHMENT_BYTES / 1024 / 1024
            )
        },
        "请在表单字段 file 中上传附件",
    )
    .await?;
    let attachment = state
        .store
        .attach_to_report(caller.scope(), &id, &name, bytes.to_vec(), &caller.ip)
        .await?;
    Ok((StatusCode::CREATED, Json(attachment.into())))
}

/// One attachment's bytes (images shown, PDFs downloaded), the read audited.
#[utoipa::path(get, path = "/api/v1/reports/{id}/attachments/{attachment_id}", tag = "reports",
    params(("id" = String, Path), ("attachment_id" = String, Path)),
    responses((status = 200, description = "附件（照片或 PDF，按上传的原样）",
               content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"),
                       (Vec<u8> = "application/pdf"))),
              (status = 404, body = ErrorBody)))]
pub async fn get_attachment(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams((id, attachment_id)): PathParams<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let file = state
        .store
        .report_attachment(caller.scope(), &id, &attachment_id, &caller.ip)
        .await?;
    Ok(attachment_response(file))
}

/// An attachment as an HTTP answer: never cached, PDFs as downloads (a browser's PDF
/// viewer runs scripts), the name as uploaded (RFC 5987).
pub fn attachment_response(file: weibao_store::AttachmentFile) -> axum::response::Response {
    file_response(
        &file.attachment.content_type,
        &file.attachment.name,
        file.bytes,
    )
}

/// A stored file (a report's attachment, a task's file) as an HTTP answer: never cached,
/// PDFs as downloads, the name as uploaded.
pub fn file_response(content_type: &str, name: &str, bytes: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let disposition = if content_type == "application/pdf" {
        "attachment"
    } else {
        "inline"
    };
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename*=UTF-8''{encoded}"),
            ),
        ],
        bytes,
    )
        .into_response()
}

fn urgency_required() -> utoipa::openapi::Object {
    super::schema::one_of(Urgency::ALL.iter().map(|u| u.code()))
}

/// Triage: how urgent.
#[derive(Deserialize, ToSchema)]
pub struct TriageRequest {
    #[schema(schema_with = urgency_required)]
    pub urgency: String,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/triage", tag = "reports", params(("id" = String, Path)),
    request_body = TriageRequest,
    responses((status = 204, description = "已研判"), (status = 404, body = ErrorBody),
              (status = 409, description = "报告已办结或已合并", body = ErrorBody)))]
pub async fn triage_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<TriageRequest>,
) -> Result<StatusCode, ApiError> {
    let urgency =
        pick("urgency", Some(&req.urgency), Urgency::ALL, Urgency::code)?.ok_or_else(|| {
            ApiError::invalid(
                "urgency",
                weibao_domain::Invalid::new("required", "请选择紧急程度"),
            )
        })?;
    state
        .store
        .triage_report(
            caller.scope(),
            &id,
            urgency,
            req.note.as_deref().unwrap_or(""),
            &caller.ip,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/acknowledge", tag = "reports", params(("id" = String, Path)),
    responses((status = 204, description = "紧急报告已确认"), (status = 404, body = ErrorBody)))]
pub async fn acknowledge_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .acknowledge_report(caller.scope(), &id, &caller.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where a referral (or a task) goes: one of a registered unit, a member-unit kind (the
/// county's unit of that kind, e.g. police) or a township (9 digits).
#[derive(Deserialize, ToSchema)]
pub struct ReferralRequest {
    pub to_unit_id: Option<String>,
    #[schema(schema_with = unit_kinds)]
    pub to_unit_kind: Option<String>,
    /// A township's 9-digit code.
    pub to_township: Option<String>,
    /// What the receiving unit is asked to do.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub note: String,
    /// For an agency: guardian, child or override.
    #[schema(schema_with = consents)]
    pub consent: Option<String>,
    /// Who consented and how, or why it was gone without.
    #[schema(max_length = 500)]
    pub consent_note: Option<String>,
}

fn consents() -> utoipa::openapi::Object {
    super::schema::one_of_or_null(["guardian", "child", "override"])
}

/// The target of a referral or task from its three optional fields.
pub fn target_of(
    unit_id: Option<&str>,
    kind: Option<&str>,
    township: Option<&str>,
) -> Result<ReferralTarget, ApiError> {
    let given = [unit_id, kind, township]
        .iter()
        .filter(|v| v.is_some_and(|s| !s.trim().is_empty()))
        .count();
    if given != 1 {
        return Err(ApiError::invalid(
            "to_unit_id",
            weibao_domain::Invalid::new(
                "target",
                "请在 to_unit_id（单位）、to_unit_kind（成员单位类别）、to_township（乡镇代码）中给出且只给出一项",
            ),
        ));
    }
    if let Some(u) = unit_id.filter(|s| !s.trim().is_empty()) {
        return Ok(ReferralTarget::Unit(u.trim().into()));
    }
    if let Some(k) = pick("to_unit_kind", kind, UnitKind::ALL, UnitKind::code)? {
        return Ok(ReferralTarget::Kind(k));
    }
    let t = parse_code("to_township", township.unwrap_or_default())?;
    Ok(ReferralTarget::Township(t))
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/referrals", tag = "referrals", params(("id" = String, Path)),
    request_body = ReferralRequest,
    responses((status = 201, description = "已转介", body = ReferralView), (status = 404, body = ErrorBody),
              (status = 409, description = "报告已办结", body = ErrorBody),
              (status = 422, description = "接收单位不存在或不在本县、给社会组织的转介缺少同意", body = ErrorBody)))]
pub async fn refer_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ReferralRequest>,
) -> Result<(StatusCode, Json<ReferralView>), ApiError> {
    refer(&state, &caller, &id, req).await
}

pub async fn refer(
    state: &AppState,
    caller: &crate::auth::Caller,
    subject: &str,
    req: ReferralRequest,
) -> Result<(StatusCode, Json<ReferralView>), ApiError> {
    let target = target_of(
        req.to_unit_id.as_deref(),
        req.to_unit_kind.as_deref(),
        req.to_township.as_deref(),
    )?;
    let consent = req.consent.as_deref().filter(|c| !c.is_empty());
    if let Some(c) = consent {
        use weibao_domain::reports::referral::ConsentBy;
        if super::schema::exact(ConsentBy::ALL, ConsentBy::code, c).is_none() {
            return Err(ApiError::invalid(
                "consent",
                weibao_domain::Invalid::new("choice", "consent 应为 guardian（监护人同意）、child（儿童本人同意）或 override（未经同意，说明理由）"),
            ));
        }
    }
    let r = state
        .store
        .refer(
            caller.scope(),
            subject,
            target,
            &req.note,
            consent,
            req.consent_note.as_deref().unwrap_or(""),
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

/// Merge a report into another, or keep the two apart; the reason is kept.
#[derive(Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The other report's id.
    pub other: String,
    /// true: merge this report into the other; false: keep them apart.
    pub merge: bool,
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/merge", tag = "reports", params(("id" = String, Path)),
    request_body = MergeRequest,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn merge_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<MergeRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .merge_report(
            caller.scope(),
            &id,
            &req.other,
            req.merge,
            &req.reason,
            &caller.ip,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The reply to the reporter (the public sees it by the tracking code).
#[derive(Deserialize, ToSchema)]
pub struct ReplyRequest {
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reply: String,
    /// Also close the report.
    pub close: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/reply", tag = "reports", params(("id" = String, Path)),
    request_body = ReplyRequest,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reply_report(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ReplyRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .reply_report(
            caller.scope(),
            &id,
            &req.reply,
            req.close.unwrap_or(false),
            &caller.ip,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A ledger child the report is about.
#[derive(Deserialize, ToSchema)]
pub struct LinkChildRequest {
    pub child_id: String,
}

#[utoipa::path(post, path = "/api/v1/reports/{id}/child", tag = "reports", params(("id" = String, Path)),
    request_body = LinkChildRequest,
    responses((status = 204), (status = 404, body = ErrorBody),
              (status = 422, description = "儿童编号不在本辖区台账，或儿童不在本报告所属的县", body = ErrorBody)))]
pub async fn link_report_child(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<LinkChildRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .link_report_child(caller.scope(), &id, &req.child_id, &caller.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HotlineImportQuery {
    /// The county (or a division within it) the orders belong to.
    pub division: String,
    /// true (default): check only and report; false: file every new order.
    pub dry_run: Option<bool>,
}

/// The multipart body of a 12345 order sheet.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HotlineUpload {
    /// The .xlsx the hotline's system exported.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    pub file: String,
}

/// A refused order import: the report of the rows, or an error when the file or a
/// parameter could not be used.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum HotlineRefused {
    Report(crate::hotline_io::HotlineImportReport),
    Error(ErrorBody),
}

#[utoipa::path(post, path = "/api/v1/reports/hotline/import", tag = "reports", params(HotlineImportQuery),
    request_body(content = HotlineUpload, content_type = "multipart/form-data"),
    responses((status = 200, description = "试导入报告，或已导入（已导入过的工单跳过）", body = crate::hotline_io::HotlineImportReport),
              (status = 422, description = "有错误行（报告），或文件、参数无效（错误）", body = HotlineRefused),
              (status = 404, body = ErrorBody),
              (status = 429, description = "导入过于频繁（见 Retry-After）", body = ErrorBody)))]
pub async fn import_hotline(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<HotlineImportQuery>,
    multipart: super::Upload,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let division = parse_code("division", &q.division)?;
    caller
        .scope()
        .check(weibao_domain::access::Action::TriageReports, division)
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
                super::children::MAX_UPLOAD_BYTES / 1024 / 1024
            )
        },
        "请在表单字段 file 中上传 12345 工单 .xlsx 文件",
    )
    .await?;
    let dry_run = q.dry_run.unwrap_or(true);
    let report = crate::hotline_io::import_orders(
        &state.store,
        caller.scope(),
        division,
        &bytes,
        dry_run,
        &caller.ip,
    )
    .await
    .map_err(|e| match e {
        crate::hotline_io::HotlineFailure::Sheet(s) => ApiError::invalid(
            "file",
            weibao_domain::Invalid::new("sheet_unreadable", s.to_string()),
        ),
        crate::hotline_io::HotlineFailure::Store(s) => s.into(),
    })?;
    let status = if report.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HotlineExportQuery {
    pub division: String,
    /// First day (YYYY-MM-DD); default 30 days ago.
    pub from: Option<chrono::NaiveDate>,
    /// Last day (YYYY-MM-DD); default today.
    pub to: Option<chrono::NaiveDate>,
}

#[utoipa::path(get, path = "/api/v1/reports/hotline/export.xlsx", tag = "reports", params(HotlineExportQuery),
    responses((status = 200, description = "工单办理答复（Excel）",
               content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 404, body = ErrorBody)))]
pub async fn export_hotline(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<HotlineExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let division = parse_code("division", &q.division)?;
    caller
        .scope()
        .check(weibao_domain::access::Action::TriageReports, division)
        .map_err(weibao_store::StoreError::from)?;
    let today = state.store.clock().today();
    let to = q.to.unwrap_or(today);
    let from = q.from.unwrap_or(to - chrono::Duration::days(30));
    if from > to {
        return Err(ApiError::invalid(
            "from",
            weibao_domain::Invalid::new("range", "开始日期不能晚于结束日期"),
        ));
    }
    let bytes =
        crate::hotline_io::export_replies(&state.store, caller.scope(), division, from, to).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"hotline-replies.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}
