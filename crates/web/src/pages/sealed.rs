//! Sealed records, the office's side: requests for time-limited access (grant for some
//! hours, or refuse) and the county's named readers.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use weibao_domain::access::{allows, Action};
use weibao_store::{fold_username, StoreError};

use super::forms::NoticeQuery;
use super::forms::{refusal, Failed, Refused};
use super::{beijing_time, error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

/// The longest grant the store allows (its `MAX_GRANT_HOURS`, not exported): for the
/// form's hint; the store refuses more with its own words.
const MAX_HOURS: i64 = 24 * 30;

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "只有未保办可以审批封存记录的查看申请和指定查看人员。",
    )
}

fn may(caller: &Caller) -> bool {
    allows(caller.scope().role, Action::GrantSealedAccess)
}

struct RequestLine {
    id: String,
    subject_id: String,
    who: String,
    reason: String,
    at: String,
    pending: bool,
    outcome: String,
}

#[derive(Template)]
#[template(path = "sealed.html")]
struct SealedPage {
    layout: Layout,
    requests: Vec<RequestLine>,
    readers: Vec<(String, String)>,
    max_hours: i64,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

pub async fn page(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NoticeQuery>,
) -> Response {
    if !may(&caller) {
        return refuse_role();
    }
    sealed_page(&state, &caller, q.notice, Failed::default(), StatusCode::OK).await
}

async fn sealed_page(
    state: &AppState,
    caller: &Caller,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let Some(county) = scope.home() else {
        return super::not_found().await;
    };
    let requests = match state.store.sealed_requests(scope, county).await {
        Ok(r) => r,
        Err(e) => return store_error_page(e),
    };
    let readers = match state.store.sealed_readers(scope, county).await {
        Ok(r) => r,
        Err(e) => return store_error_page(e),
    };
    let now = state.store.clock().now_ms();
    let mut res = render(&SealedPage {
        layout: Layout::for_caller(caller, "/units"),
        requests: requests
            .into_iter()
            .map(|r| RequestLine {
                pending: r.decided_at.is_none(),
                outcome: match (r.granted, r.until_ms) {
                    (Some(true), Some(until)) if until > now => {
                        format!("已批准，至 {} 可查看", beijing_time(until))
                    }
                    (Some(true), _) => "已批准（已到期）".into(),
                    (Some(false), _) => "未批准".into(),
                    _ => String::new(),
                } + &r.decided_by.map(|b| format!(" · {b}")).unwrap_or_default(),
                id: r.id,
                subject_id: r.subject_id,
                who: r.username.unwrap_or_default(),
                reason: r.reason,
                at: beijing_time(r.requested_at),
            })
            .collect(),
        readers,
        max_hours: MAX_HOURS,
        failed,
        notice,
        csrf: caller.user.csrf_token.clone(),
    });
    *res.status_mut() = status;
    res
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    hours: String,
}

pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<DecideForm>,
) -> Response {
    let CsrfForm {
        caller,
        form,
        mut pairs,
    } = form;
    if !may(&caller) {
        return refuse_role();
    }
    pairs.push(("request".into(), id.clone()));
    let grant = form.decision == "grant";
    let hours = if grant {
        match form.hours.trim().parse::<i64>() {
            Ok(h) => h,
            Err(_) => {
                let failed = Failed::new(
                    "decide",
                    format!("授权时长请填 1 到 {} 之间的整数（小时）", MAX_HOURS),
                    "hours",
                    &pairs,
                );
                return sealed_page(
                    &state,
                    &caller,
                    None,
                    failed,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        }
    } else {
        0
    };
    let result = state
        .store
        .decide_sealed_access(caller.scope(), &id, grant, hours, &caller.ip)
        .await
        .map(|_| if grant { "granted" } else { "refused" });
    after(&state, &caller, "decide", result, &pairs).await
}

async fn after(
    state: &AppState,
    caller: &Caller,
    form: &'static str,
    result: Result<&'static str, StoreError>,
    pairs: &[(String, String)],
) -> Response {
    match result {
        Ok(notice) => Redirect::to(&format!("/sealed?notice={notice}")).into_response(),
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => {
                sealed_page(state, caller, None, failed, status).await
            }
            Refused::Page(page) => page,
        },
    }
}

#[derive(Deserialize)]
pub struct ReaderForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    action: String,
}

/// Names a reader (or removes one) by username, among the accounts of the county.
pub async fn readers(State(state): State<AppState>, form: CsrfForm<ReaderForm>) -> Response {
    let CsrfForm {
        caller,
        form,
        pairs,
    } = form;
    if !may(&caller) {
        return refuse_role();
    }
    let scope = caller.scope();
    let Some(county) = scope.home() else {
        return super::not_found().await;
    };
    let wanted = fold_username(&form.username);
    let users = match state.store.list_users(scope, None).await {
        Ok(u) => u,
        Err(e) => return store_error_page(e),
    };
    let Some(user) = users.iter().find(|u| fold_username(&u.username) == wanted) else {
        let failed = Failed::new(
            "reader",
            format!(
                "本县（区）没有用户名为“{}”的账户：请核对用户名",
                form.username.trim()
            ),
            "username",
            &pairs,
        );
        return sealed_page(
            &state,
            &caller,
            None,
            failed,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let add = form.action != "remove";
    let result = state
        .store
        .set_sealed_reader(scope, county, &user.id, add, &caller.ip)
        .await
        .map(|()| if add { "named" } else { "unnamed" });
    after(&state, &caller, "reader", result, &pairs).await
}

/// The record a request is about: a report or a case (the request does not say which).
pub async fn open_subject(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Path(id): Path<String>,
) -> Response {
    let scope = caller.scope();
    match state.store.report(scope, &id, &caller.ip).await {
        Ok(r) => Redirect::to(&format!("/reports/{}", r.id)).into_response(),
        Err(StoreError::NotFound) => match state.store.case(scope, &id, &caller.ip).await {
            Ok(c) => Redirect::to(&format!("/cases/{}", c.id)).into_response(),
            // A role that reads no cases learns nothing more than that no report is there.
            Err(StoreError::Forbidden) => store_error_page(StoreError::NotFound),
            Err(e) => store_error_page(e),
        },
        Err(e) => store_error_page(e),
    }
}
