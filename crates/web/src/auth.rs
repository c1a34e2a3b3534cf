//! Authentication: from a session cookie or a bearer token to the caller's Scope.
//!
//! A handler obtains a Scope only through these extractors, and every store method needs
//! one, so no handler can skip authentication or the subtree check. State-changing page
//! requests must come through [`CsrfForm`], which checks the session's CSRF token; the
//! plain extractors refuse them.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use weibao_domain::access::{Action, Scope};
use weibao_store::SessionUser;

use crate::error::ApiError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "weibao_session";

/// Who may call a route; the OpenAPI document lists it per operation and the access
/// tests walk it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAccess {
    /// No sign-in needed.
    Public,
    /// Any signed-in user (what they see is still limited to their subtree).
    SignedIn,
    /// Roles the policy allows for this action.
    Action(Action),
    /// Roles the policy allows any of these actions (the request says which applies:
    /// an allowance decision is the township's check or the county's confirmation).
    AnyOf(&'static [Action]),
}

/// The signed-in caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: SessionUser,
    /// The secret session token (to end or keep this session).
    pub token: String,
    pub ip: String,
    pub via_cookie: bool,
    /// Urgent reports no one has acknowledged yet, for the banner on every page of an
    /// office user (0 for everyone else, and for API callers).
    pub urgent_reports: i64,
}

impl Caller {
    pub fn scope(&self) -> &Scope {
        &self.user.scope
    }
}

pub fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
        .unwrap_or_default()
}

fn cookie_token(parts: &Parts) -> Option<String> {
    cookie_token_of(&parts.headers)
}

/// The session token in a request's cookies.
pub fn cookie_token_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

fn bearer_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

/// Finds the caller's live session: a bearer token first, then the cookie.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<Caller>, ApiError> {
    let (token, via_cookie) = match bearer_token(parts) {
        Some(t) => (t, false),
        None => match cookie_token(parts) {
            Some(t) => (t, true),
            None => return Ok(None),
        },
    };
    let Some(user) = state.store.session(&token).await? else {
        return Ok(None);
    };
    Ok(Some(Caller {
        user,
        token,
        ip: client_ip(parts),
        via_cookie,
        urgent_reports: 0,
    }))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The API caller (bearer token, or the browser's cookie plus an `X-CSRF-Token` header on
/// state-changing requests). Answers 401 JSON when not signed in.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = authenticate(parts, state)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if caller.via_cookie && !is_safe(&parts.method) {
            let header = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if header != caller.user.csrf_token {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf_failed",
                    "缺少或错误的 X-CSRF-Token：请刷新页面后重试",
                ));
            }
        }
        let path = parts.uri.path();
        let may_pass_unchanged = matches!(
            path,
            "/api/v1/auth/password" | "/api/v1/auth/logout" | "/api/v1/me"
        );
        if caller.user.must_change_password && !may_pass_unchanged {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "password_change_required",
                "首次登录须先修改临时密码：请调用 POST /api/v1/auth/password",
            ));
        }
        Ok(Auth(caller))
    }
}

/// The caller of a page. Not signed in: a redirect to the login page that comes back.
/// A temporary password: a redirect to the password page first.
pub struct PageAuth(pub Caller);

pub enum PageReject {
    Login(String),
    ChangePassword,
    Refused(ApiError),
}

impl IntoResponse for PageReject {
    fn into_response(self) -> Response {
        match self {
            PageReject::Login(next) => {
                let next = if next.starts_with('/') && !next.starts_with("//") {
                    next
                } else {
                    "/".into()
                };
                Redirect::to(&format!("/login?next={}", crate::pages::url_encode(&next)))
                    .into_response()
            }
            PageReject::ChangePassword => Redirect::to("/account/password").into_response(),
            PageReject::Refused(e) => crate::pages::error_page(e.status, &e.message),
        }
    }
}

async fn page_caller(parts: &Parts, state: &AppState) -> Result<Caller, PageReject> {
    let caller = authenticate(parts, state)
        .await
        .map_err(PageReject::Refused)?
        .ok_or_else(|| {
            PageReject::Login(
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".into()),
            )
        })?;
    if caller.user.must_change_password && parts.uri.path() != "/account/password" {
        return Err(PageReject::ChangePassword);
    }
    let mut caller = caller;
    // An urgent report stays on top of every office screen until someone acknowledges it:
    // counted here, once per page, and only for the office (other roles pay nothing).
    if caller.scope().role == weibao_domain::access::Role::Office {
        caller.urgent_reports = match state.store.unacknowledged_urgent(caller.scope()).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!("counting urgent reports: {e}");
                0
            }
        };
    }
    Ok(caller)
}

impl FromRequestParts<AppState> for PageAuth {
    type Rejection = PageReject;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageReject> {
        if !is_safe(&parts.method) {
            // A state-changing page handler must take CsrfForm, which checks the token.
            return Err(PageReject::Refused(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "此提交缺少防伪令牌，请刷新页面后重试",
            )));
        }
        Ok(PageAuth(page_caller(parts, state).await?))
    }
}

/// Refuses a page submission whose `_csrf` field is not the session's token.
fn check_csrf(caller: &Caller, fields: &[(String, String)]) -> Result<(), PageReject> {
    let token = fields
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str());
    if token != Some(caller.user.csrf_token.as_str()) {
        return Err(PageReject::Refused(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "页面已过期或提交来源不明，请刷新页面后重试",
        )));
    }
    Ok(())
}

/// A submitted form of a signed-in page user, accepted only with the session's CSRF token
/// in the `_csrf` field.
pub struct CsrfForm<T> {
    pub caller: Caller,
    pub form: T,
    /// Every submitted pair, for fields that repeat (checkbox lists).
    pub pairs: Vec<(String, String)>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageReject;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageReject> {
        let (parts, body) = req.into_parts();
        let caller = page_caller(&parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| {
                PageReject::Refused(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_form",
                    "表单内容无法读取，请重新提交",
                ))
            })?;
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        check_csrf(&caller, &fields)?;
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            PageReject::Refused(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_form",
                format!("表单内容有误：{e}"),
            ))
        })?;
        Ok(CsrfForm {
            caller,
            form,
            pairs: fields,
        })
    }
}

/// A submitted multipart form (a form with files) of a signed-in page user, accepted only
/// with the session's CSRF token in the `_csrf` field.
pub struct CsrfMultipart {
    pub caller: Caller,
    pub fields: Vec<(String, String)>,
    /// (field name, bytes) of every non-empty file.
    pub files: Vec<(String, Vec<u8>)>,
    /// The file name each of `files` was sent with (same order).
    pub file_names: Vec<String>,
}

impl FromRequest<AppState> for CsrfMultipart {
    type Rejection = PageReject;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageReject> {
        let (parts, body) = req.into_parts();
        let caller = page_caller(&parts, state).await?;
        let refuse = |status: StatusCode, message: &str| {
            PageReject::Refused(ApiError::new(status, "bad_form", message.to_string()))
        };
        let mut mp =
            axum::extract::Multipart::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(|_| refuse(StatusCode::BAD_REQUEST, "表单内容无法读取，请重新提交"))?;
        let mut fields = Vec::new();
        let mut files = Vec::new();
        let mut file_names = Vec::new();
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, "表单上传中断，请重新提交"))?
        {
            let name = field.name().unwrap_or("").to_string();
            if let Some(file_name) = field.file_name().map(String::from) {
                let bytes = field.bytes().await.map_err(|_| {
                    refuse(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "文件过大或上传中断，请压缩后重新提交",
                    )
                })?;
                if !bytes.is_empty() {
                    files.push((name, bytes.to_vec()));
                    file_names.push(file_name);
                }
            } else {
                let text = field
                    .text()
                    .await
                    .map_err(|_| refuse(StatusCode::BAD_REQUEST, "表单内容无法读取，请重新提交"))?;
                fields.push((name, text));
            }
        }
        check_csrf(&caller, &fields)?;
        Ok(CsrfMultipart {
            caller,
            fields,
            files,
            file_names,
        })
    }
}

/// The `Set-Cookie` value for a new session; `Secure` when the request came over TLS
/// (directly or through a proxy that says so).
pub fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

pub fn is_tls(parts_headers: &axum::http::HeaderMap) -> bool {
    parts_headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}
