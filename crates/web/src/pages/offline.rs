//! Offline visits, the office's side: which phones hold downloaded data, when each last
//! synced, and revoking one (it wipes itself on its next contact). The phone's own pages
//! are the shell (assets::shell) drawn by static/offline.js.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{render, store_error_page, url_encode, Empty, Layout};
use crate::auth::{CsrfForm, PageAuth};
use crate::time::beijing_time;
use crate::AppState;

struct DeviceLine {
    id: String,
    who: String,
    label: String,
    registered: String,
    last_sync: String,
    children: i64,
    state: &'static str,
    active: bool,
}

#[derive(Template)]
#[template(path = "offline_devices.html")]
struct DevicesPage {
    layout: Layout,
    csrf: String,
    devices: Vec<DeviceLine>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct DevicesQuery {
    revoked: Option<String>,
}

pub async fn devices(
    State(state): State<AppState>,
    PageAuth(caller): PageAuth,
    Query(q): Query<DevicesQuery>,
) -> Response {
    let list = match state.store.offline_devices(caller.scope()).await {
        Ok(l) => l,
        Err(e) => return store_error_page(e),
    };
    render(&DevicesPage {
        layout: Layout::for_caller(&caller, "/offline/devices"),
        csrf: caller.user.csrf_token.clone(),
        devices: list
            .into_iter()
            .map(|d| DeviceLine {
                state: if d.wiped_at.is_some() {
                    "已退出并清除"
                } else if d.revoked_at.is_some() {
                    "已收回"
                } else {
                    "持有离线数据"
                },
                active: d.wiped_at.is_none() && d.revoked_at.is_none(),
                who: format!("{}（{}）", d.display_name, d.username),
                registered: beijing_time(d.created_at),
                last_sync: beijing_time(d.last_sync_at),
                children: d.children,
                label: d.label,
                id: d.id,
            })
            .collect(),
        notice: q
            .revoked
            .map(|who| format!("已收回 {who} 的设备：它下次联网时清除本机数据")),
    })
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Empty>,
) -> Response {
    let caller = form.caller;
    match state
        .store
        .end_device(caller.scope(), &id, false, &caller.ip)
        .await
    {
        Ok(d) => Redirect::to(&format!(
            "/offline/devices?revoked={}",
            url_encode(&d.display_name)
        ))
        .into_response(),
        Err(e) => store_error_page(e),
    }
}
