//! The registry of units (member units, townships, agencies: contacts and group robots)
//! and the working-day calendar, both kept by the office (and the administrator).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action};
use weibao_domain::work::UnitKind;
use weibao_domain::{DivisionCode, Level};
use weibao_store::{NewUnit, StoreError, UnitContact, WebhookKind};

use super::forms::NoticeQuery;
use super::forms::{refusal, Failed, Refused};
use super::{beijing_time, error_page, render, Layout};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "只有未保办和系统管理员可以维护单位名录和工作日历。",
    )
}

fn may(caller: &Caller) -> bool {
    allows(caller.scope().role, Action::ManageUnits)
}

// ---- units ---------------------------------------------------------------------------------

struct UnitLine {
    id: String,
    name: String,
    place: String,
    contacts: Vec<UnitContact>,
    /// Three rows for the edit form (the contacts, then blanks).
    contact_rows: Vec<(usize, UnitContact)>,
    robot: Option<&'static str>,
    active: bool,
}

struct KindGroup {
    label: &'static str,
    units: Vec<UnitLine>,
}

#[derive(Template)]
#[template(path = "units.html")]
struct UnitsPage {
    layout: Layout,
    groups: Vec<KindGroup>,
    kinds: Vec<(&'static str, &'static str)>,
    places: Vec<(String, String)>,
    robots: Vec<(&'static str, &'static str)>,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NoticeQuery>,
) -> Response {
    if !may(&caller) {
        return refuse_role();
    }
    units_page(&state, &caller, q.notice, Failed::default(), StatusCode::OK).await
}

/// The places a unit can be registered at: the caller's home and the level below it.
async fn places(state: &AppState, caller: &Caller) -> Vec<(String, String)> {
    let scope = caller.scope();
    let Some(home) = scope.home() else {
        return vec![];
    };
    let mut out = vec![];
    if let Ok(d) = state.store.division(scope, home).await {
        out.push((d.code.clone(), d.name.clone()));
    }
    if home.level() < Level::Village {
        for c in state
            .store
            .division_children(scope, home)
            .await
            .unwrap_or_default()
        {
            out.push((c.code.clone(), c.name.clone()));
        }
    }
    out
}

async fn units_page(
    state: &AppState,
    caller: &Caller,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let units = match state.store.list_units(scope).await {
        Ok(u) => u,
        Err(e) => return super::store_error_page(e),
    };
    let mut names = std::collections::HashMap::new();
    let mut groups: Vec<KindGroup> = Vec::new();
    for kind in UnitKind::ALL {
        let mut lines = Vec::new();
        for u in units.iter().filter(|u| u.kind == *kind) {
            if !names.contains_key(&u.division_code) {
                let name = match DivisionCode::parse(&u.division_code) {
                    Ok(c) => state.store.place_name(c).await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                names.insert(u.division_code.clone(), name);
            }
            let mut rows: Vec<(usize, UnitContact)> = u
                .contacts
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, c)| (i + 1, c))
                .collect();
            while rows.len() < 3 {
                rows.push((rows.len() + 1, UnitContact::default()));
            }
            lines.push(UnitLine {
                id: u.id.clone(),
                name: u.name.clone(),
                place: names[&u.division_code].clone(),
                contacts: u.contacts.clone(),
                contact_rows: rows,
                robot: u.webhook.map(|w| w.label()),
                active: u.active,
            });
        }
        if !lines.is_empty() {
            groups.push(KindGroup {
                label: kind.label(),
                units: lines,
            });
        }
    }
    let mut res = render(&UnitsPage {
        layout: Layout::for_caller(caller, "/units"),
        groups,
        kinds: [UnitKind::Agency, UnitKind::Township, UnitKind::Other]
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        places: places(state, caller).await,
        robots: [WebhookKind::Wecom, WebhookKind::DingTalk]
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        failed,
        notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

/// Contacts from rows c1_name, c1_title, c1_phone… (blank rows dropped).
fn contacts(pairs: &[(String, String)]) -> Vec<UnitContact> {
    let get = |k: String| {
        pairs
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    (1..=10)
        .map(|i| UnitContact {
            name: get(format!("c{i}_name")),
            title: get(format!("c{i}_title")),
            phone: get(format!("c{i}_phone")),
        })
        .filter(|c| !(c.name.is_empty() && c.title.is_empty() && c.phone.is_empty()))
        .collect()
}

async fn after(
    state: &AppState,
    caller: &Caller,
    form: &'static str,
    result: Result<&'static str, StoreError>,
    pairs: &[(String, String)],
) -> Response {
    match result {
        Ok(notice) => Redirect::to(&format!("/units?notice={notice}")).into_response(),
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => units_page(state, caller, None, failed, status).await,
            Refused::Page(page) => page,
        },
    }
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    division: String,
}

pub async fn create(State(state): State<AppState>, form: CsrfForm<CreateForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if !may(&caller) {
        return refuse_role();
    }
    let refuse_here = |field: &str, message: &str| {
        let failed = Failed::new("create", message.to_string(), field, &pairs);
        let state = state.clone();
        let caller = caller.clone();
        async move {
            units_page(
                &state,
                &caller,
                None,
                failed,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let Some(kind) = UnitKind::parse(&form.kind) else {
        return refuse_here("kind", "请选择单位类别").await;
    };
    let division = match DivisionCode::parse(&form.division) {
        Ok(d) => d,
        Err(e) => return refuse_here("division", &format!("所在地：{}", e.message)).await,
    };
    let result = state
        .store
        .create_unit(
            caller.scope(),
            NewUnit {
                kind,
                name: form.name.clone(),
                division,
                contacts: contacts(&pairs),
            },
        )
        .await
        .map(|_| "created");
    after(&state, &caller, "create", result, &pairs).await
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    webhook: String,
    #[serde(default)]
    webhook_kind: String,
    #[serde(default)]
    webhook_url: String,
    #[serde(default)]
    active: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    form: CsrfForm<EditForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        mut pairs,
    } = form;
    if !may(&caller) {
        return refuse_role();
    }
    // The robot's address is a secret: a refused form does not show it back.
    pairs.retain(|(k, _)| k != "webhook_url");
    pairs.push(("unit".into(), id.clone()));
    let webhook = match form.webhook.as_str() {
        "set" => Some((
            WebhookKind::parse(&form.webhook_kind),
            form.webhook_url.clone(),
        )),
        "remove" => Some((None, String::new())),
        _ => None,
    };
    if form.webhook == "set" && form.webhook_url.trim().is_empty() {
        let failed = Failed::new(
            "edit",
            "请粘贴群机器人的 Webhook 地址（在群设置的“群机器人”中复制）；不修改请选择“保持不变”"
                .into(),
            "webhook_url",
            &pairs,
        );
        return units_page(
            &state,
            &caller,
            None,
            failed,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let result = state
        .store
        .update_unit(
            caller.scope(),
            &id,
            Some(contacts(&pairs)),
            webhook,
            Some(form.active.is_some()),
        )
        .await
        .map(|_| "saved");
    after(&state, &caller, "edit", result, &pairs).await
}

// ---- calendar ------------------------------------------------------------------------------

struct YearLine {
    year: i32,
    source: String,
    holidays: usize,
    workdays: usize,
    loaded: String,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    layout: Layout,
    years: Vec<YearLine>,
    text: String,
    error: Option<String>,
    notice: Option<String>,
    csrf: String,
}

async fn calendar_page(
    state: &AppState,
    caller: &Caller,
    text: String,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let years = match state.store.calendar_years().await {
        Ok(y) => y,
        Err(e) => return super::store_error_page(e),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut res = render(&CalendarPage {
        layout: Layout::for_caller(caller, "/units"),
        years: years
            .into_iter()
            .map(|y| YearLine {
                year: y.year,
                source: y.source,
                holidays: y.holidays,
                workdays: y.workdays,
                loaded: format!("{} · {}", beijing_time(y.loaded_at), y.loaded_by),
            })
            .collect(),
        text,
        error,
        notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

pub async fn calendar(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NoticeQuery>,
) -> Response {
    // The calendar is reference data without a subtree: the role decides.
    if !may(&caller) {
        return refuse_role();
    }
    let notice = q.notice.map(|y| format!("已载入 {y} 年的节假日安排。"));
    calendar_page(&state, &caller, String::new(), None, notice).await
}

#[derive(Deserialize)]
pub struct CalendarForm {
    #[serde(default)]
    text: String,
}

pub async fn load_calendar(
    State(state): State<AppState>,
    form: CsrfForm<CalendarForm>,
) -> Response {
    let CsrfForm { caller, form, .. } = form;
    if !may(&caller) {
        return refuse_role();
    }
    match state.store.load_calendar(caller.scope(), &form.text).await {
        Ok(y) => Redirect::to(&format!("/calendar?notice={}", y.year)).into_response(),
        Err(StoreError::Invalid { invalid, .. }) => {
            calendar_page(&state, &caller, form.text, Some(invalid.message), None).await
        }
        Err(e) => super::store_error_page(e),
    }
}
