//! The activities' pages: /activities (the counts of a period by division, unit, kind or
//! month, the activities themselves, and the form to record one with its photos) and an
//! activity's page with its photos.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action, Role};
use weibao_domain::activities::{period, ActivityGrouping, ActivityInput, ActivityKind};
use weibao_domain::{DivisionCode, Invalid};
use weibao_store::{ActivityCount, ActivityFilter, ActivityRecord, NewActivity, StoreError};

use super::forms::NoticeQuery;
use super::forms::{field, name_of, optional_date, refusal, Failed, Refused};
use super::{error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfMultipart, PageAuth};
use crate::AppState;

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "活动由各级未保工作人员和成员单位联络员登记和查看。",
    )
}

struct Line {
    id: String,
    title: String,
    kind: &'static str,
    held_on: String,
    place: String,
    by: String,
    participants: i64,
    children: i64,
}

impl Line {
    fn new(a: &ActivityRecord, names: &HashMap<String, String>) -> Line {
        Line {
            id: a.id.clone(),
            title: a.title.clone(),
            kind: ActivityKind::parse(&a.kind)
                .map(|k| k.label())
                .unwrap_or(""),
            held_on: a.held_on.clone(),
            place: a.place.clone(),
            by: a
                .unit_id
                .as_deref()
                .map(|u| name_of(names, u))
                .unwrap_or_default(),
            participants: a.participants,
            children: a.children_reached,
        }
    }
}

struct UnitOption {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "activities.html")]
struct ListPage {
    layout: Layout,
    from: String,
    to: String,
    kind: String,
    by: &'static str,
    groupings: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    counts: Vec<ActivityCount>,
    /// The largest line's activities, for the bars.
    most: i64,
    items: Vec<Line>,
    record: bool,
    office: bool,
    units: Vec<UnitOption>,
    today: String,
    failed: Failed,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    by: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<ListQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ViewActivities) {
        return refuse_role();
    }
    list_page(&state, &caller, q, Failed::default(), StatusCode::OK).await
}

async fn list_page(
    state: &AppState,
    caller: &Caller,
    q: ListQuery,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let result = async {
        let from = optional_date("from", "开始日期", q.from.as_deref().unwrap_or(""))?;
        let to = optional_date("to", "结束日期", q.to.as_deref().unwrap_or(""))?;
        let (from, to) = period(from, to).map_err(|(f, e)| StoreError::invalid(f, e))?;
        let kind = q.kind.as_deref().and_then(ActivityKind::parse);
        let by =
            q.by.as_deref()
                .and_then(ActivityGrouping::parse)
                .unwrap_or(ActivityGrouping::Division);
        let filter = ActivityFilter {
            from,
            to,
            kind,
            division: None,
        };
        let counts = state.store.activity_counts(scope, &filter, by).await?;
        let found = state.store.activities(scope, &filter).await?;
        let units = state.store.list_units(scope).await?;
        let names: HashMap<String, String> = units
            .iter()
            .map(|u| (u.id.clone(), u.name.clone()))
            .collect();
        let county = scope.home().map(|h| h.county_code()).unwrap_or_default();
        Ok::<_, StoreError>(render(&ListPage {
            layout: Layout::for_caller(caller, "/activities"),
            from: from.map(|d| d.to_string()).unwrap_or_default(),
            to: to.map(|d| d.to_string()).unwrap_or_default(),
            kind: kind.map(|k| k.code()).unwrap_or("").into(),
            by: by.code(),
            groupings: ActivityGrouping::ALL
                .iter()
                .map(|g| (g.code(), g.label()))
                .collect(),
            kinds: ActivityKind::ALL
                .iter()
                .map(|k| (k.code(), k.label()))
                .collect(),
            most: counts[..counts.len().saturating_sub(1)]
                .iter()
                .map(|c| c.activities)
                .max()
                .unwrap_or(0)
                .max(1),
            counts,
            items: found.iter().map(|a| Line::new(a, &names)).collect(),
            record: allows(scope.role, Action::RecordActivities),
            office: scope.role == Role::Office,
            units: units
                .into_iter()
                .filter(|u| u.county_code == county && u.active)
                .map(|u| UnitOption {
                    id: u.id,
                    name: u.name,
                })
                .collect(),
            today: state.store.clock().today().to_string(),
            failed,
            csrf: caller.user.csrf_token.clone(),
        }))
    }
    .await;
    match result {
        Ok(mut res) => {
            *res.status_mut() = status;
            res
        }
        Err(e @ StoreError::Invalid { .. }) => {
            let e = crate::error::ApiError::from(e);
            error_page(e.status, &e.message)
        }
        Err(e) => store_error_page(e),
    }
}

fn count(fields: &[(String, String)], key: &'static str, label: &str) -> Result<i64, StoreError> {
    match field(fields, key).trim() {
        "" => Ok(0),
        n => n.parse().map_err(|_| {
            StoreError::invalid(
                key,
                Invalid::new("count_format", format!("{label}应为整数")),
            )
        }),
    }
}

/// Records an activity with its photos (a multipart form).
pub async fn create(State(state): State<AppState>, form: CsrfMultipart) -> Response {
    let CsrfMultipart {
        caller,
        fields,
        files,
        file_names,
    } = form;
    if !allows(caller.scope().role, Action::RecordActivities) {
        return refuse_role();
    }
    let result = async {
        let held_on = optional_date("held_on", "活动日期", field(&fields, "held_on"))?;
        let division = match field(&fields, "division").trim() {
            "" => None,
            d => Some(DivisionCode::parse(d).map_err(|e| StoreError::invalid("division", e))?),
        };
        let photos: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .zip(file_names)
            .filter(|((k, _), _)| k == "photos")
            .map(|((_, bytes), name)| (name, bytes))
            .collect();
        let a = state
            .store
            .add_activity(
                caller.scope(),
                NewActivity {
                    input: ActivityInput {
                        title: field(&fields, "title").into(),
                        kind: field(&fields, "kind").into(),
                        held_on,
                        place: field(&fields, "place").into(),
                        participants: count(&fields, "participants", "参与人数")?,
                        children_reached: count(&fields, "children_reached", "覆盖儿童数")?,
                        materials: count(&fields, "materials", "发放资料份数")?,
                        summary: field(&fields, "summary").into(),
                    },
                    division,
                    unit_id: Some(field(&fields, "unit_id").to_string()),
                },
                photos,
                &caller.ip,
            )
            .await?;
        Ok(format!("/activities/{}?notice=added", a.id))
    }
    .await;
    match result {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => match refusal("new", e, &fields) {
            Refused::Again(status, failed) => {
                list_page(&state, &caller, ListQuery::default(), failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

struct Photo {
    url: String,
    name: String,
    image: bool,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    layout: Layout,
    a: Line,
    division: String,
    materials: i64,
    summary: String,
    photos: Vec<Photo>,
    notice: bool,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let scope = caller.scope();
    if !allows(scope.role, Action::ViewActivities) {
        return refuse_role();
    }
    let (a, files) = match state.store.activity(scope, &id).await {
        Ok(found) => found,
        Err(e) => return store_error_page(e),
    };
    let names: HashMap<String, String> = match state.store.list_units(scope).await {
        Ok(units) => units.into_iter().map(|u| (u.id, u.name)).collect(),
        Err(e) => return store_error_page(e),
    };
    let division = match DivisionCode::parse(&a.division_code) {
        Ok(d) => state
            .store
            .place_name(d)
            .await
            .unwrap_or_else(|_| a.division_code.clone()),
        Err(_) => a.division_code.clone(),
    };
    render(&ActivityPage {
        layout: Layout::for_caller(&caller, "/activities"),
        a: Line::new(&a, &names),
        division,
        materials: a.materials,
        summary: a.summary.clone(),
        photos: files
            .into_iter()
            .map(|f| Photo {
                url: format!("/api/v1/activities/{}/photos/{}", a.id, f.id),
                image: f.content_type.starts_with("image/"),
                name: f.name,
            })
            .collect(),
        notice: q.notice.is_some(),
    })
}
