//! The pairing page (/pairing, 结对帮扶): the figures by division, the children with no
//! helper (each with a form to pair them), the helpers silent this quarter (each with a
//! form to log a contact), and the form to register a helper.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use weibao_domain::access::{allows, Action};
use weibao_domain::finding::pairing::{ContactKind, HelperInput, HelperKind};

use super::forms::{field, optional_date, refusal, Failed, NoticeQuery, Refused};
use super::{error_page, render, store_error_page, Layout};
use crate::auth::{Caller, CsrfForm, PageAuth};
use crate::AppState;

fn refuse_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "结对帮扶由未保办、乡镇和村（社区）管理。",
    )
}

struct CountLine {
    name: String,
    children: i64,
    paired: i64,
    contacted: i64,
}

struct ChildLine {
    id: String,
    name: String,
}

struct SilentLine {
    id: String,
    child_name: String,
    helper_name: String,
    last: String,
}

#[derive(Template)]
#[template(path = "pairing.html")]
struct PairingPage {
    layout: Layout,
    quarter_start: String,
    total: CountLine,
    rows: Vec<CountLine>,
    unpaired: Vec<ChildLine>,
    silent: Vec<SilentLine>,
    helpers: Vec<(String, String)>,
    helper_kinds: Vec<(&'static str, &'static str)>,
    contact_kinds: Vec<(&'static str, &'static str)>,
    failed: Failed,
    notice: Option<String>,
    csrf: String,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<NoticeQuery>,
) -> Response {
    if !allows(caller.scope().role, Action::ManagePairing) {
        return refuse_role();
    }
    page(&state, &caller, q.notice, Failed::default(), StatusCode::OK).await
}

async fn page(
    state: &AppState,
    caller: &Caller,
    notice: Option<String>,
    failed: Failed,
    status: StatusCode,
) -> Response {
    let scope = caller.scope();
    let o = match state.store.pairing_overview(scope, None).await {
        Ok(o) => o,
        Err(e) => return store_error_page(e),
    };
    let helpers = match state.store.helpers(scope).await {
        Ok(h) => h,
        Err(e) => return store_error_page(e),
    };
    let line = |c: weibao_store::PairingCount| CountLine {
        name: c.name,
        children: c.children,
        paired: c.paired,
        contacted: c.contacted,
    };
    let mut res = render(&PairingPage {
        layout: Layout::for_caller(caller, "/pairing"),
        quarter_start: o.quarter_start,
        total: line(o.total),
        rows: o.by_division.into_iter().map(line).collect(),
        unpaired: o
            .unpaired
            .into_iter()
            .map(|u| ChildLine {
                id: u.child_id,
                name: u.name,
            })
            .collect(),
        silent: o
            .silent
            .into_iter()
            .map(|p| SilentLine {
                id: p.id,
                child_name: p.child_name,
                helper_name: p.helper_name,
                last: p.last_contact_on.unwrap_or_else(|| "尚无".into()),
            })
            .collect(),
        helpers: helpers
            .into_iter()
            .map(|h| {
                let kind = HelperKind::parse(&h.kind).map(|k| k.label()).unwrap_or("");
                (h.id, format!("{}（{kind}）", h.name))
            })
            .collect(),
        helper_kinds: HelperKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        contact_kinds: ContactKind::ALL
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

async fn after(
    state: &AppState,
    caller: &Caller,
    form: &'static str,
    result: Result<&'static str, weibao_store::StoreError>,
    pairs: &[(String, String)],
) -> Response {
    match result {
        Ok(notice) => Redirect::to(&format!("/pairing?notice={notice}")).into_response(),
        Err(e) => match refusal(form, e, pairs) {
            Refused::Again(status, failed) => page(state, caller, None, failed, status).await,
            Refused::Page(p) => p,
        },
    }
}

/// Registers a helper.
pub async fn add_helper(
    State(state): State<AppState>,
    form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let CsrfForm { caller, pairs, .. } = form;
    if !allows(caller.scope().role, Action::ManagePairing) {
        return refuse_role();
    }
    let result = state
        .store
        .add_helper(
            caller.scope(),
            &HelperInput {
                name: field(&pairs, "name").into(),
                kind: field(&pairs, "kind").into(),
                workplace: field(&pairs, "workplace").into(),
                phone: field(&pairs, "phone").into(),
            },
            &caller.ip,
        )
        .await
        .map(|_| "helper");
    after(&state, &caller, "helper", result, &pairs).await
}

/// Pairs a child with a helper.
pub async fn pair(
    State(state): State<AppState>,
    form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let CsrfForm { caller, pairs, .. } = form;
    if !allows(caller.scope().role, Action::ManagePairing) {
        return refuse_role();
    }
    let result = async {
        let starts = optional_date("starts_on", "结对开始日期", field(&pairs, "starts_on"))?;
        let ends = optional_date("ends_on", "结对结束日期", field(&pairs, "ends_on"))?;
        state
            .store
            .pair(
                caller.scope(),
                field(&pairs, "child_id"),
                field(&pairs, "helper_id"),
                starts,
                ends,
                &caller.ip,
            )
            .await
            .map(|_| "paired")
    }
    .await;
    after(&state, &caller, "pair", result, &pairs).await
}

/// Logs a contact.
pub async fn contact(
    State(state): State<AppState>,
    form: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let CsrfForm { caller, pairs, .. } = form;
    if !allows(caller.scope().role, Action::ManagePairing) {
        return refuse_role();
    }
    let result = async {
        let on = optional_date("contacted_on", "联系日期", field(&pairs, "contacted_on"))?;
        state
            .store
            .log_contact(
                caller.scope(),
                field(&pairs, "pairing_id"),
                field(&pairs, "kind"),
                on,
                field(&pairs, "note"),
                &caller.ip,
            )
            .await
            .map(|_| "contact")
    }
    .await;
    after(&state, &caller, "contact", result, &pairs).await
}
