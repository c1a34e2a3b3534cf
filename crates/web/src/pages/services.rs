//! The purchased services' page: /services (the figures of a period, each contract's hours
//! against those required and against the time gone by, the agencies, the social workers
//! and volunteers, the services recorded) with the office's forms for agencies, contracts
//! and workers, and the form to record a service given to a child (found by name or
//! 身份证号) or at an activity.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role};
use weibao_domain::services::{
    hours_text, AgencyInput, ContractInput, Qualification, ServiceInput, ServiceKind, WorkerInput,
    WorkerKind,
};
use weibao_domain::{Fen, Invalid};
use weibao_store::{
    AgencyRecord, ChildFilter, ContractRecord, NewService, ServiceRecord, ServiceTotals,
    StoreError, WorkerRecord,
};

use super::forms::{optional_date, refusal, Failed, Refused};
use super::{error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "购买服务由未保办管理，乡镇（街道）登记服务记录。",
    )
}

struct ContractLine {
    c: ContractRecord,
    amount: String,
    required: String,
    delivered: String,
    delivered_percent: i64,
    elapsed_percent: i64,
    behind: bool,
}

struct ServiceLine {
    s: ServiceRecord,
    kind: &'static str,
    hours: String,
}

struct WorkerLine {
    w: WorkerRecord,
    kind: &'static str,
    qualification: &'static str,
    agency: String,
}

#[derive(Template)]
#[template(path = "services.html")]
struct ServicesPage {
    layout: Layout,
    year: i32,
    totals: ServiceTotals,
    hours: String,
    contracts: Vec<ContractLine>,
    agencies: Vec<AgencyRecord>,
    workers: Vec<WorkerLine>,
    services: Vec<ServiceLine>,
    manage: bool,
    record: bool,
    worker_kinds: Vec<(&'static str, &'static str)>,
    qualifications: Vec<(&'static str, &'static str)>,
    service_kinds: Vec<(&'static str, &'static str)>,
    activities: Vec<(String, String)>,
    today: String,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    year: Option<i32>,
    notice: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<PageQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewServices) {
        return refuse_role();
    }
    let year = q
        .year
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or_else(|| state.store.clock().today().year());
    page(
        &state,
        &caller,
        year,
        q.notice,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

async fn page(
    state: &AppState,
    caller: &Caller,
    year: i32,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let result = async {
        let from = NaiveDate::from_ymd_opt(year, 1, 1);
        let to = NaiveDate::from_ymd_opt(year, 12, 31);
        let today = state.store.clock().today();
        let totals = state.store.service_totals(scope, from, to).await?;
        let agencies = state.store.agencies(scope).await?;
        let names: HashMap<String, String> = agencies
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect();
        let activities = if allows(scope.role, Action::ViewActivities) {
            state
                .store
                .activities(scope, &Default::default())
                .await?
                .into_iter()
                .take(50)
                .map(|a| (a.id, format!("{} {}", a.held_on, a.title)))
                .collect()
        } else {
            vec![]
        };
        Ok::<_, StoreError>(render(&ServicesPage {
            layout: Layout::for_caller(caller, "/services"),
            year,
            hours: hours_text(totals.minutes),
            totals,
            contracts: state
                .store
                .contracts(scope)
                .await?
                .into_iter()
                .map(|c| {
                    let p = c.progress(today);
                    ContractLine {
                        amount: Fen(c.amount_fen).yuan_grouped(),
                        required: hours_text(c.required_minutes),
                        delivered: hours_text(c.delivered_minutes),
                        delivered_percent: p.delivered_percent,
                        elapsed_percent: p.elapsed_percent,
                        behind: p.behind,
                        c,
                    }
                })
                .collect(),
            workers: state
                .store
                .workers(scope)
                .await?
                .into_iter()
                .map(|w| WorkerLine {
                    kind: WorkerKind::parse(&w.kind).map(|k| k.label()).unwrap_or(""),
                    qualification: Qualification::parse(&w.qualification)
                        .map(|q| q.label())
                        .unwrap_or(""),
                    agency: w
                        .agency_id
                        .as_ref()
                        .and_then(|a| names.get(a).cloned())
                        .unwrap_or_default(),
                    w,
                })
                .collect(),
            agencies,
            services: state
                .store
                .services(scope, from, to)
                .await?
                .into_iter()
                .take(200)
                .map(|s| ServiceLine {
                    kind: ServiceKind::parse(&s.kind).map(|k| k.label()).unwrap_or(""),
                    hours: hours_text(s.minutes),
                    s,
                })
                .collect(),
            manage: scope.role == Role::Office,
            record: allows(scope.role, Action::RecordServices),
            worker_kinds: WorkerKind::ALL
                .iter()
                .map(|k| (k.code(), k.label()))
                .collect(),
            qualifications: Qualification::ALL
                .iter()
                .map(|k| (k.code(), k.label()))
                .collect(),
            service_kinds: ServiceKind::ALL
                .iter()
                .map(|k| (k.code(), k.label()))
                .collect(),
            activities,
            today: today.to_string(),
            failed,
            notice,
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

async fn answer(
    state: &AppState,
    caller: &Caller,
    form: &'static str,
    pairs: &[(String, String)],
    result: Result<&'static str, StoreError>,
) -> Response {
    match result {
        Ok(notice) => Redirect::to(&format!("/services?notice={notice}#{form}")).into_response(),
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => {
                let year = state.store.clock().today().year();
                page(state, caller, year, None, failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

#[derive(Deserialize)]
pub struct AgencyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    override_reason: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    phone: String,
}

pub async fn create_agency(State(state): State<AppState>, form: CsrfForm<AgencyForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if caller.scope().role != Role::Office {
        return refuse_role();
    }
    let result = state
        .store
        .add_agency(
            caller.scope(),
            AgencyInput {
                name: form.name,
                credit_code: form.credit_code,
                override_reason: form.override_reason,
                contact: form.contact,
                phone: form.phone,
            },
            &caller.ip,
        )
        .await
        .map(|_| "agency");
    answer(&state, &caller, "agency", &pairs, result).await
}

#[derive(Deserialize)]
pub struct ContractForm {
    #[serde(default)]
    agency_id: String,
    #[serde(default)]
    project: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
    #[serde(default)]
    target_children: String,
    #[serde(default)]
    required_hours: String,
}

pub async fn create_contract(
    State(state): State<AppState>,
    form: CsrfForm<ContractForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if caller.scope().role != Role::Office {
        return refuse_role();
    }
    let result = async {
        let target_children = match form.target_children.trim() {
            "" => 0,
            n => n.parse().map_err(|_| {
                StoreError::invalid(
                    "target_children",
                    Invalid::new("count_format", "服务对象人数应为整数"),
                )
            })?,
        };
        state
            .store
            .add_contract(
                caller.scope(),
                &form.agency_id,
                ContractInput {
                    project: form.project,
                    amount: form.amount,
                    starts_on: optional_date("starts_on", "开始日期", &form.starts_on)?,
                    ends_on: optional_date("ends_on", "结束日期", &form.ends_on)?,
                    target_children,
                    required_hours: form.required_hours,
                },
                &caller.ip,
            )
            .await
            .map(|_| "contract")
    }
    .await;
    answer(&state, &caller, "contract", &pairs, result).await
}

#[derive(Deserialize)]
pub struct WorkerForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    qualification: String,
    #[serde(default)]
    agency_id: String,
}

pub async fn create_worker(State(state): State<AppState>, form: CsrfForm<WorkerForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if caller.scope().role != Role::Office {
        return refuse_role();
    }
    let result = state
        .store
        .add_worker(
            caller.scope(),
            WorkerInput {
                name: form.name,
                kind: form.kind,
                qualification: form.qualification,
            },
            Some(form.agency_id.as_str()),
            &caller.ip,
        )
        .await
        .map(|_| "worker");
    answer(&state, &caller, "worker", &pairs, result).await
}

#[derive(Deserialize)]
pub struct ServiceForm {
    #[serde(default)]
    worker_id: String,
    #[serde(default)]
    contract_id: String,
    /// The child's name or 身份证号, found in the caller's ledger.
    #[serde(default)]
    child: String,
    #[serde(default)]
    activity_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    served_on: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    note: String,
}

/// The one child of the caller's ledger a name or number finds.
async fn find_child(state: &AppState, caller: &Caller, q: &str) -> Result<String, StoreError> {
    let (found, _) = state
        .store
        .list_children(
            caller.scope(),
            &ChildFilter {
                q: Some(q.trim().to_string()),
                per_page: 5,
                page: 1,
                ..ChildFilter::default()
            },
        )
        .await?;
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(StoreError::invalid(
            "child",
            Invalid::new(
                "child_unknown",
                format!("台账中没有找到“{}”，请核对姓名或输入身份证号", q.trim()),
            ),
        )),
        _ => Err(StoreError::invalid(
            "child",
            Invalid::new(
                "child_ambiguous",
                format!("“{}”找到多名儿童，请输入身份证号", q.trim()),
            ),
        )),
    }
}

pub async fn create_service(
    State(state): State<AppState>,
    form: CsrfForm<ServiceForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if !allows(caller.scope().role, Action::RecordServices) {
        return refuse_role();
    }
    let result = async {
        let child_id = match form.child.trim() {
            "" => None,
            q => Some(find_child(&state, &caller, q).await?),
        };
        state
            .store
            .add_service(
                caller.scope(),
                NewService {
                    input: ServiceInput {
                        kind: form.kind,
                        served_on: optional_date("served_on", "服务日期", &form.served_on)?,
                        hours: form.hours,
                        note: form.note,
                    },
                    worker_id: form.worker_id,
                    contract_id: Some(form.contract_id),
                    child_id,
                    activity_id: Some(form.activity_id),
                },
                &caller.ip,
            )
            .await
            .map(|_| "service")
    }
    .await;
    answer(&state, &caller, "service", &pairs, result).await
}
