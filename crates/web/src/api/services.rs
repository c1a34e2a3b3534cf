//! Purchased services and volunteers over the API: the office registers agencies (with
//! their 统一社会信用代码), contracts and the social workers and volunteers; the office and
//! the townships record the services given; contract progress and the figures are read
//! here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::activities::period;
use weibao_domain::services::{
    hours_text, AgencyInput, ContractInput, Qualification, ServiceInput, ServiceKind, WorkerInput,
    WorkerKind,
};
use weibao_domain::Fen;
use weibao_store::{
    AgencyRecord, ContractRecord, NewService, ServiceRecord, ServiceTotals, WorkerRecord,
};

use super::{JsonBody, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

fn worker_kinds() -> utoipa::openapi::Object {
    super::schema::one_of(WorkerKind::codes())
}

fn qualifications() -> utoipa::openapi::Object {
    super::schema::one_of_or_null(Qualification::codes())
}

fn service_kinds() -> utoipa::openapi::Object {
    super::schema::one_of(ServiceKind::codes())
}

/// A social-work agency.
#[derive(Serialize, ToSchema)]
pub struct AgencyView {
    /// Its unit's id in the registry (referrals can go to it).
    pub id: String,
    pub name: String,
    /// 统一社会信用代码
    pub credit_code: String,
    /// Why a code failing its check character was kept ("" when it passes).
    pub override_reason: String,
    pub contact: String,
    pub phone: String,
}

impl From<AgencyRecord> for AgencyView {
    fn from(a: AgencyRecord) -> Self {
        AgencyView {
            id: a.id,
            name: a.name,
            credit_code: a.credit_code,
            override_reason: a.override_reason,
            contact: a.contact,
            phone: a.phone,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AgencyList {
    pub items: Vec<AgencyView>,
}

/// An agency to register.
#[derive(Deserialize, ToSchema)]
pub struct AgencyRequest {
    #[schema(min_length = 2, max_length = 60, pattern = r"\S")]
    pub name: String,
    /// 18 characters; the check character is verified (GB 32100-2015).
    #[schema(min_length = 1, max_length = 30)]
    pub credit_code: String,
    /// Keeps a code whose check character is wrong (as issued), with why.
    #[schema(max_length = 200)]
    pub override_reason: Option<String>,
    #[schema(max_length = 30)]
    pub contact: Option<String>,
    #[schema(max_length = 20, pattern = r"^[0-9 -]*$")]
    pub phone: Option<String>,
}

/// The county's agencies.
#[utoipa::path(get, path = "/api/v1/services/agencies", tag = "services",
    responses((status = 200, body = AgencyList), (status = 403, body = ErrorBody)))]
pub async fn list_agencies(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<AgencyList>, ApiError> {
    let items = state.store.agencies(caller.scope()).await?;
    Ok(Json(AgencyList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Registers an agency (also a unit of kind 社工机构 in the registry).
#[utoipa::path(post, path = "/api/v1/services/agencies", tag = "services",
    request_body = AgencyRequest,
    responses((status = 201, body = AgencyView), (status = 403, body = ErrorBody),
              (status = 409, description = "代码或名称已登记", body = ErrorBody),
              (status = 422, description = "统一社会信用代码有误（校验位不符时可填写原因保留）", body = ErrorBody)))]
pub async fn create_agency(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<AgencyRequest>,
) -> Result<(StatusCode, Json<AgencyView>), ApiError> {
    let a = state
        .store
        .add_agency(
            caller.scope(),
            AgencyInput {
                name: body.name,
                credit_code: body.credit_code,
                override_reason: body.override_reason.unwrap_or_default(),
                contact: body.contact.unwrap_or_default(),
                phone: body.phone.unwrap_or_default(),
            },
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// A contract and its progress.
#[derive(Serialize, ToSchema)]
pub struct ContractView {
    pub id: String,
    pub agency_id: String,
    pub agency_name: String,
    pub project: String,
    pub amount_fen: i64,
    /// The amount in yuan, as written in reports.
    pub amount_yuan: String,
    pub starts_on: String,
    pub ends_on: String,
    pub target_children: i64,
    /// Hours required, as people write them ("1200").
    pub required_hours: String,
    pub delivered_hours: String,
    /// Delivered against required, in percent (may pass 100).
    pub delivered_percent: i64,
    /// The share of the contract's period gone by, in percent.
    pub elapsed_percent: i64,
    /// Delivery trails the time gone by by more than 10 points.
    pub behind: bool,
    pub children_served: i64,
    pub workers: i64,
}

impl ContractView {
    pub fn new(c: ContractRecord, today: NaiveDate) -> ContractView {
        let p = c.progress(today);
        ContractView {
            amount_yuan: Fen(c.amount_fen).yuan(),
            required_hours: hours_text(c.required_minutes),
            delivered_hours: hours_text(c.delivered_minutes),
            delivered_percent: p.delivered_percent,
            elapsed_percent: p.elapsed_percent,
            behind: p.behind,
            id: c.id,
            agency_id: c.agency_id,
            agency_name: c.agency_name,
            project: c.project,
            amount_fen: c.amount_fen,
            starts_on: c.starts_on,
            ends_on: c.ends_on,
            target_children: c.target_children,
            children_served: c.children_served,
            workers: c.workers,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContractList {
    pub items: Vec<ContractView>,
}

/// A contract with an agency.
#[derive(Deserialize, ToSchema)]
pub struct ContractRequest {
    pub agency_id: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub project: String,
    /// 合同金额（元）: "120000" or "120,000.00".
    #[schema(min_length = 1, max_length = 20)]
    pub amount: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    #[schema(minimum = 0, maximum = 1000000)]
    pub target_children: Option<i64>,
    /// 约定服务时长（小时）, e.g. "1200".
    #[schema(min_length = 1, max_length = 12)]
    pub required_hours: String,
}

/// The county's contracts with their progress.
#[utoipa::path(get, path = "/api/v1/services/contracts", tag = "services",
    responses((status = 200, body = ContractList), (status = 403, body = ErrorBody)))]
pub async fn list_contracts(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<ContractList>, ApiError> {
    let today = state.store.clock().today();
    let items = state.store.contracts(caller.scope()).await?;
    Ok(Json(ContractList {
        items: items
            .into_iter()
            .map(|c| ContractView::new(c, today))
            .collect(),
    }))
}

/// Signs a contract with a registered agency.
#[utoipa::path(post, path = "/api/v1/services/contracts", tag = "services",
    request_body = ContractRequest,
    responses((status = 201, body = ContractView), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_contract(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ContractRequest>,
) -> Result<(StatusCode, Json<ContractView>), ApiError> {
    let c = state
        .store
        .add_contract(
            caller.scope(),
            &body.agency_id,
            ContractInput {
                project: body.project,
                amount: body.amount,
                starts_on: Some(body.starts_on),
                ends_on: Some(body.ends_on),
                target_children: body.target_children.unwrap_or(0),
                required_hours: body.required_hours,
            },
            &caller.ip,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ContractView::new(c, state.store.clock().today())),
    ))
}

/// A social worker or volunteer.
#[derive(Serialize, ToSchema)]
pub struct WorkerView {
    pub id: String,
    /// social_worker or volunteer
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub qualification: String,
    pub qualification_label: String,
    pub agency_id: Option<String>,
    pub active: bool,
}

impl From<WorkerRecord> for WorkerView {
    fn from(w: WorkerRecord) -> Self {
        WorkerView {
            kind_label: WorkerKind::parse(&w.kind)
                .map(|k| k.label())
                .unwrap_or_default()
                .into(),
            qualification_label: Qualification::parse(&w.qualification)
                .map(|q| q.label())
                .unwrap_or_default()
                .into(),
            id: w.id,
            kind: w.kind,
            name: w.name,
            qualification: w.qualification,
            agency_id: w.agency_id,
            active: w.active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WorkerList {
    pub items: Vec<WorkerView>,
}

#[derive(Deserialize, ToSchema)]
pub struct WorkerRequest {
    #[schema(min_length = 1, max_length = 30, pattern = r"\S")]
    pub name: String,
    #[schema(schema_with = worker_kinds)]
    pub kind: String,
    #[schema(schema_with = qualifications)]
    pub qualification: Option<String>,
    /// The agency they work or volunteer for, if any.
    pub agency_id: Option<String>,
}

/// The county's social workers and volunteers.
#[utoipa::path(get, path = "/api/v1/services/workers", tag = "services",
    responses((status = 200, body = WorkerList), (status = 403, body = ErrorBody)))]
pub async fn list_workers(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<WorkerList>, ApiError> {
    let items = state.store.workers(caller.scope()).await?;
    Ok(Json(WorkerList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Registers a social worker or volunteer.
#[utoipa::path(post, path = "/api/v1/services/workers", tag = "services",
    request_body = WorkerRequest,
    responses((status = 201, body = WorkerView), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_worker(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<WorkerRequest>,
) -> Result<(StatusCode, Json<WorkerView>), ApiError> {
    let w = state
        .store
        .add_worker(
            caller.scope(),
            WorkerInput {
                name: body.name,
                kind: body.kind,
                qualification: body.qualification.unwrap_or_default(),
            },
            body.agency_id.as_deref(),
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(w.into())))
}

/// A service given.
#[derive(Serialize, ToSchema)]
pub struct ServiceView {
    pub id: String,
    pub worker_id: String,
    pub worker_name: String,
    pub contract_id: Option<String>,
    pub child_id: Option<String>,
    pub activity_id: Option<String>,
    pub division_code: String,
    pub kind: String,
    pub kind_label: String,
    pub served_on: String,
    pub minutes: i64,
    pub hours: String,
    pub note: String,
}

impl From<ServiceRecord> for ServiceView {
    fn from(s: ServiceRecord) -> Self {
        ServiceView {
            kind_label: ServiceKind::parse(&s.kind)
                .map(|k| k.label())
                .unwrap_or_default()
                .into(),
            hours: hours_text(s.minutes),
            id: s.id,
            worker_id: s.worker_id,
            worker_name: s.worker_name,
            contract_id: s.contract_id,
            child_id: s.child_id,
            activity_id: s.activity_id,
            division_code: s.division_code,
            kind: s.kind,
            served_on: s.served_on,
            minutes: s.minutes,
            note: s.note,
        }
    }
}

/// The services within the caller's reach in a period, and their figures.
#[derive(Serialize, ToSchema)]
pub struct ServiceList {
    pub items: Vec<ServiceView>,
    pub totals: ServiceTotalsView,
}

/// The figures work reports quote.
#[derive(Serialize, ToSchema)]
pub struct ServiceTotalsView {
    pub records: i64,
    pub hours: String,
    /// Workers who gave at least one service.
    pub workers: i64,
    pub social_workers: i64,
    pub volunteers: i64,
    pub children_served: i64,
}

impl From<ServiceTotals> for ServiceTotalsView {
    fn from(t: ServiceTotals) -> Self {
        ServiceTotalsView {
            records: t.records,
            hours: hours_text(t.minutes),
            workers: t.workers,
            social_workers: t.social_workers,
            volunteers: t.volunteers,
            children_served: t.children_served,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ServiceQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

#[derive(Deserialize, ToSchema)]
pub struct ServiceRequest {
    pub worker_id: String,
    /// Under this contract (the service's day within its period), or none.
    pub contract_id: Option<String>,
    /// The child served (a ledger child of the caller's reach); or activity_id.
    pub child_id: Option<String>,
    /// The activity served at; or child_id.
    pub activity_id: Option<String>,
    #[schema(schema_with = service_kinds)]
    pub kind: String,
    /// Not later than today.
    pub served_on: NaiveDate,
    /// 0.25 to 12, e.g. "1.5".
    #[schema(min_length = 1, max_length = 8)]
    pub hours: String,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// The services given within the caller's reach (a township: its villages), with the
/// figures of the period.
#[utoipa::path(get, path = "/api/v1/services/records", tag = "services", params(ServiceQuery),
    responses((status = 200, body = ServiceList), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn list_services(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(q): QueryParams<ServiceQuery>,
) -> Result<Json<ServiceList>, ApiError> {
    let (from, to) = period(q.from, q.to).map_err(|(f, e)| ApiError::invalid(f, e))?;
    let items = state.store.services(caller.scope(), from, to).await?;
    let totals = state.store.service_totals(caller.scope(), from, to).await?;
    Ok(Json(ServiceList {
        items: items.into_iter().map(Into::into).collect(),
        totals: totals.into(),
    }))
}

/// Records a service given to a child or at an activity.
#[utoipa::path(post, path = "/api/v1/services/records", tag = "services",
    request_body = ServiceRequest,
    responses((status = 201, body = ServiceView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_service(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<ServiceRequest>,
) -> Result<(StatusCode, Json<ServiceView>), ApiError> {
    let s = state
        .store
        .add_service(
            caller.scope(),
            NewService {
                input: ServiceInput {
                    kind: body.kind,
                    served_on: Some(body.served_on),
                    hours: body.hours,
                    note: body.note.unwrap_or_default(),
                },
                worker_id: body.worker_id,
                contract_id: body.contract_id,
                child_id: body.child_id,
                activity_id: body.activity_id,
            },
            &caller.ip,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}
