//! The protection network's page: coverage of a division (its figures, each division one
//! level down with a link to it, the vacant posts), the places and people of a township or
//! village, and the forms that keep them (the office for its county, a supervisor for the
//! township).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action};
use weibao_domain::network::{
    parse_date, Certificate, PersonInput, PlaceKind, Post, Qualification,
};
use weibao_domain::{DivisionCode, Level};
use weibao_store::{Coverage, CoverageRow, Person, Place, StoreError};

use super::forms::{refusal, Failed, Refused};
use super::{error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

struct FigureLine {
    code: String,
    name: String,
    stations: i64,
    work_points: i64,
    service_stations: i64,
    supervisors: i64,
    directors: i64,
    vacancies: i64,
    per_hundred: String,
    untrained: i64,
}

impl FigureLine {
    fn new(r: &CoverageRow) -> FigureLine {
        FigureLine {
            code: r.division_code.clone(),
            name: r.name.clone(),
            stations: r.stations,
            work_points: r.work_points,
            service_stations: r.service_stations,
            supervisors: r.supervisors,
            directors: r.directors,
            vacancies: r.supervisor_vacancies + r.director_vacancies,
            per_hundred: r
                .directors_per_100_children
                .map(|v| format!("{v:.1}"))
                .unwrap_or_else(|| "—".into()),
            untrained: r.untrained_directors,
        }
    }
}

struct VacancyLine {
    code: String,
    name: String,
    post: &'static str,
    since: String,
}

struct PlaceLine {
    id: String,
    kind: &'static str,
    name: String,
    address: String,
    opened_on: String,
    staff: i64,
}

struct PersonLine {
    id: String,
    post: &'static str,
    place: String,
    name: String,
    phone: String,
    qualification: String,
    appointed_on: String,
    training_hours: String,
}

#[derive(Template)]
#[template(path = "network.html")]
struct NetworkPage {
    layout: Layout,
    code: String,
    name: String,
    year: i32,
    total: FigureLine,
    townships: i64,
    villages: i64,
    centers: i64,
    children: i64,
    rows: Vec<FigureLine>,
    vacancies: Vec<VacancyLine>,
    places: Vec<PlaceLine>,
    people: Vec<PersonLine>,
    /// Places and people are listed (a township or a village).
    local: bool,
    manage: bool,
    /// The roster may be imported and exported here (a county or a township).
    roster: bool,
    place_kinds: Vec<(&'static str, &'static str)>,
    posts: Vec<(&'static str, &'static str)>,
    qualifications: Vec<(&'static str, &'static str)>,
    certificates: Vec<(&'static str, &'static str)>,
    /// Where a place or person may be: this division and those below it.
    spots: Vec<(String, String)>,
    today: String,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct NetworkQuery {
    division: Option<String>,
    notice: Option<String>,
}

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "工作网络由未保办、儿童督导员和儿童主任查看。",
    )
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NetworkQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewNetwork) {
        return refuse_role();
    }
    let code = match q.division.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => match DivisionCode::parse(d) {
            Ok(c) => c,
            Err(e) => return error_page(StatusCode::NOT_FOUND, &e.message),
        },
        None => match caller.scope().home() {
            Some(h) => h,
            None => return error_page(StatusCode::NOT_FOUND, "请指定区划"),
        },
    };
    network_page(
        &state,
        &caller,
        code,
        q.notice,
        Failed::default(),
        StatusCode::OK,
    )
    .await
}

async fn network_page(
    state: &AppState,
    caller: &Caller,
    code: DivisionCode,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let coverage: Coverage = match state.store.coverage(scope, code).await {
        Ok(c) => c,
        Err(e) => return store_error_page(e),
    };
    let local = code.level() >= Level::Township;
    let (places, people) = if local {
        (
            state
                .store
                .list_places(scope, code, None, false)
                .await
                .unwrap_or_default(),
            state
                .store
                .list_people(scope, code, None, false)
                .await
                .unwrap_or_default(),
        )
    } else {
        (vec![], vec![])
    };
    let mut names: std::collections::HashMap<String, String> = coverage
        .rows
        .iter()
        .map(|r| (r.division_code.clone(), r.name.clone()))
        .collect();
    names.insert(code.full(), coverage.total.name.clone());
    let place_of = |p: &str| names.get(p).cloned().unwrap_or_default();
    let mut spots: Vec<(String, String)> = vec![(code.full(), coverage.total.name.clone())];
    spots.extend(
        coverage
            .rows
            .iter()
            .map(|r| (r.division_code.clone(), r.name.clone())),
    );
    let t = &coverage.total;
    let mut res = render(&NetworkPage {
        layout: Layout::for_caller(caller, "/network"),
        code: code.full(),
        name: t.name.clone(),
        year: coverage.year,
        total: FigureLine::new(t),
        townships: t.townships,
        villages: t.villages,
        centers: t.centers,
        children: t.children,
        rows: coverage.rows.iter().map(FigureLine::new).collect(),
        vacancies: coverage
            .vacancies
            .iter()
            .take(200)
            .map(|v| VacancyLine {
                code: v.division_code.clone(),
                name: v.name.clone(),
                post: v.post.label(),
                since: v
                    .since
                    .as_ref()
                    .map(|s| format!("{s} 起空缺"))
                    .unwrap_or_else(|| "未配备".into()),
            })
            .collect(),
        places: places
            .iter()
            .map(|p: &Place| PlaceLine {
                id: p.id.clone(),
                kind: p.kind.label(),
                name: p.name.clone(),
                address: p.address.clone(),
                opened_on: p.opened_on.clone().unwrap_or_default(),
                staff: p.staff,
            })
            .collect(),
        people: people
            .iter()
            .map(|p: &Person| PersonLine {
                id: p.id.clone(),
                post: p.post.label(),
                place: place_of(&p.division_code),
                name: p.name.clone(),
                phone: p.phone.clone(),
                qualification: match p.certificate {
                    Some(c) => format!("{}（{}）", p.qualification.label(), c.label()),
                    None => p.qualification.label().to_string(),
                },
                appointed_on: p.appointed_on.clone(),
                training_hours: format!("{:.1}", p.training_hours),
            })
            .collect(),
        local,
        manage: allows(scope.role, Action::ManageNetwork),
        roster: allows(scope.role, Action::ManageNetwork)
            && matches!(code.level(), Level::County | Level::Township),
        place_kinds: PlaceKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        posts: Post::ALL.iter().map(|p| (p.code(), p.label())).collect(),
        qualifications: Qualification::ALL
            .iter()
            .map(|q| (q.code(), q.label()))
            .collect(),
        certificates: Certificate::ALL
            .iter()
            .map(|c| (c.code(), c.label()))
            .collect(),
        spots,
        today: state.store.clock().today().to_string(),
        failed,
        notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

/// Back to the division's page with a notice, or the page again with the refusal.
async fn after(
    state: &AppState,
    caller: &Caller,
    back: DivisionCode,
    form: &'static str,
    result: Result<&'static str, StoreError>,
    pairs: &[(String, String)],
) -> Response {
    match result {
        Ok(notice) => Redirect::to(&format!(
            "/network?division={}&notice={notice}",
            back.full()
        ))
        .into_response(),
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => {
                network_page(state, caller, back, None, failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

/// The division a form returns to (its `back`, or the caller's home), for a caller who
/// keeps the network; the refusal page otherwise.
fn managing(caller: &Caller, back: &str) -> Result<DivisionCode, Box<Response>> {
    if !allows(caller.scope().role, Action::ManageNetwork) {
        return Err(Box::new(refuse_role()));
    }
    DivisionCode::parse(back)
        .ok()
        .or_else(|| caller.scope().home())
        .ok_or_else(|| Box::new(error_page(StatusCode::NOT_FOUND, "请指定区划")))
}

async fn refused_here(
    state: &AppState,
    caller: &Caller,
    back: DivisionCode,
    form: &'static str,
    field: &str,
    message: &str,
    pairs: &[(String, String)],
) -> Response {
    let failed = Failed::new(form, message.to_string(), field, pairs);
    network_page(
        state,
        caller,
        back,
        None,
        failed,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
pub struct PlaceForm {
    #[serde(default)]
    back: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    division: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    opened_on: String,
    #[serde(default)]
    staff: String,
}

pub async fn add_place(State(state): State<AppState>, form: CsrfForm<PlaceForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    let back = match managing(&caller, &form.back) {
        Ok(back) => back,
        Err(refused) => return *refused,
    };
    let here = |field: &'static str, message: String| {
        let (state, caller, pairs) = (state.clone(), caller.clone(), pairs.clone());
        async move { refused_here(&state, &caller, back, "place", field, &message, &pairs).await }
    };
    let Some(kind) = PlaceKind::parse(&form.kind) else {
        return here("kind", "请选择阵地类别".into()).await;
    };
    let division = match DivisionCode::parse(&form.division) {
        Ok(d) => d,
        Err(e) => return here("division", format!("所在地：{}", e.message)).await,
    };
    let opened_on = match form.opened_on.trim() {
        "" => None,
        d => match parse_date("建成日期", d) {
            Ok(d) => Some(d),
            Err(e) => return here("opened_on", e.message).await,
        },
    };
    let staff = match form.staff.trim() {
        "" => 0,
        s => match s.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return here("staff", "工作人员数请填整数".into()).await,
        },
    };
    let result = state
        .store
        .add_place(
            caller.scope(),
            weibao_store::NewPlace {
                kind,
                division,
                name: form.name,
                address: form.address,
                opened_on,
                staff,
            },
            &caller.ip,
        )
        .await
        .map(|_| "place_added");
    after(&state, &caller, back, "place", result, &pairs).await
}

#[derive(Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    back: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    post: String,
    #[serde(default)]
    division: String,
    #[serde(default)]
    qualification: String,
    #[serde(default)]
    certificate: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    appointed_on: String,
    #[serde(default)]
    username: String,
}

pub async fn appoint(State(state): State<AppState>, form: CsrfForm<PersonForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    let back = match managing(&caller, &form.back) {
        Ok(back) => back,
        Err(refused) => return *refused,
    };
    let input = PersonInput {
        name: form.name,
        post: form.post,
        division: form.division,
        qualification: Some(form.qualification),
        certificate: Some(form.certificate),
        phone: Some(form.phone),
        appointed_on: Some(form.appointed_on),
    };
    let a = match input.check(state.store.clock().today()) {
        Ok(a) => a,
        Err((field, e)) => {
            return refused_here(&state, &caller, back, "person", field, &e.message, &pairs).await
        }
    };
    let result = state
        .store
        .appoint(caller.scope(), a, Some(&form.username), &caller.ip)
        .await
        .map(|_| "appointed");
    after(&state, &caller, back, "person", result, &pairs).await
}

#[derive(Deserialize)]
pub struct LeaveForm {
    #[serde(default)]
    back: String,
    #[serde(default)]
    left_on: String,
    #[serde(default)]
    reason: String,
}

pub async fn leave(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<LeaveForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    let back = match managing(&caller, &form.back) {
        Ok(back) => back,
        Err(refused) => return *refused,
    };
    let left_on = match parse_date("离任日期", &form.left_on) {
        Ok(d) => d,
        Err(e) => {
            return refused_here(
                &state, &caller, back, "leave", "left_on", &e.message, &pairs,
            )
            .await
        }
    };
    let result = state
        .store
        .leave_post(caller.scope(), &id, left_on, &form.reason, &caller.ip)
        .await
        .map(|_| "left");
    after(&state, &caller, back, "leave", result, &pairs).await
}

#[derive(Deserialize)]
pub struct TrainingForm {
    #[serde(default)]
    back: String,
    #[serde(default)]
    held_on: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    topic: String,
}

pub async fn training(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<TrainingForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    let back = match managing(&caller, &form.back) {
        Ok(back) => back,
        Err(refused) => return *refused,
    };
    let held_on = match parse_date("培训日期", &form.held_on) {
        Ok(d) => d,
        Err(e) => {
            return refused_here(
                &state, &caller, back, "training", "held_on", &e.message, &pairs,
            )
            .await
        }
    };
    let Ok(hours) = form.hours.trim().parse::<f64>() else {
        return refused_here(
            &state,
            &caller,
            back,
            "training",
            "hours",
            "培训学时请填数字，如 2 或 1.5",
            &pairs,
        )
        .await;
    };
    let result = state
        .store
        .record_training(caller.scope(), &id, held_on, hours, &form.topic, &caller.ip)
        .await
        .map(|_| "trained");
    after(&state, &caller, back, "training", result, &pairs).await
}
