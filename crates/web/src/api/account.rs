//! Sign-in, sign-out, password change and "who am I" for API clients.

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use weibao_store::{LoginOutcome, SessionKind, StoreError};

use super::JsonBody;
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The authenticator app's 6-digit code, for accounts with two-step sign-in.
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the token ends if unused (it is extended by use, up to 12 hours).
    pub expires_at: String,
    /// A temporary password must be changed (POST /api/v1/auth/password) before anything else.
    pub must_change_password: bool,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "已登录", body = LoginResponse),
        (status = 401, description = "用户名或密码错误", body = ErrorBody),
        (status = 423, description = "账户已锁定", body = ErrorBody),
        (status = 429, description = "同一地址登录尝试过于频繁（见 Retry-After）", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<axum::response::Response, ApiError> {
    let ua = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ip = peer.ip().to_string();
    let now = state.store.clock().now_ms();
    if let Err(wait) = state.limiter.before_login(&ip, now) {
        return Ok(crate::limits::refuse_login(wait));
    }
    let outcome = state
        .store
        .login_with_code(
            &req.username,
            &req.password,
            req.totp.as_deref(),
            SessionKind::Api,
            &ip,
            ua,
        )
        .await?;
    if !matches!(outcome, LoginOutcome::WrongCredentials) {
        state.limiter.login_succeeded(&ip, now);
    }
    match outcome {
        LoginOutcome::Success {
            token,
            expires_at,
            user,
            ..
        } => Ok(Json(LoginResponse {
            token,
            expires_at: crate::time::rfc3339(expires_at),
            must_change_password: user.must_change_password,
        })
        .into_response()),
        LoginOutcome::WrongCredentials => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong_credentials",
            "用户名或密码错误（连续 5 次错误将锁定 15 分钟）",
        )),
        LoginOutcome::Locked { until_ms } => Err(StoreError::Locked { until_ms }.into()),
        LoginOutcome::CodeRequired => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "totp_required",
            "该账户已开启两步验证：请在 totp 字段中同时提交验证器 App 显示的 6 位验证码",
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "已退出"), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .logout(caller.scope(), &caller.token, &caller.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub old_password: String,
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "密码已修改"),
        (status = 422, description = "原密码错误或新密码不符合要求", body = ErrorBody),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .change_password(
            caller.scope(),
            &caller.token,
            &req.old_password,
            &req.new_password,
            &caller.ip,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// 12-digit code of the home division.
    pub division: String,
    pub unit: Option<String>,
    pub must_change_password: bool,
    /// For a browser signed in by cookie: the X-CSRF-Token its state-changing API calls
    /// carry (the offline app, whose pages are not drawn by the server, asks it here).
    pub csrf_token: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(Auth(caller): Auth) -> Json<Me> {
    let s = caller.scope();
    Json(Me {
        user_id: s.user_id.clone(),
        username: s.username.clone(),
        display_name: caller.user.display_name.clone(),
        role: s.role.as_str().into(),
        division: s.home().map(|h| h.full()).unwrap_or_default(),
        unit: s.unit.clone(),
        must_change_password: caller.user.must_change_password,
        csrf_token: caller.via_cookie.then(|| caller.user.csrf_token.clone()),
    })
}

#[derive(Serialize, ToSchema)]
pub struct TotpSetupView {
    /// The secret, base32, for apps that cannot scan.
    pub secret: String,
    /// The otpauth:// URI an authenticator app scans (as a QR code).
    pub uri: String,
}

/// Replacing an authenticator that is on needs its current code.
#[derive(Deserialize, ToSchema)]
pub struct TotpReplace {
    pub code: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/totp/setup", tag = "auth",
    request_body(content = Option<TotpReplace>, description = "已开启时：原验证器当前的验证码"),
    responses((status = 200, description = "新的两步验证密钥（确认前不生效）", body = TotpSetupView),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn totp_setup(
    State(state): State<AppState>,
    Auth(caller): Auth,
    body: axum::body::Bytes,
) -> Result<Json<TotpSetupView>, ApiError> {
    // The body is optional: empty, null, or {"code": "123456"} when replacing.
    let replace: Option<TotpReplace> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let refuse = |why: String| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("请求内容应为 {{\"code\": \"6 位验证码\"}}、null 或留空：{why}"),
            )
        };
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Null) => None,
            Ok(v @ serde_json::Value::Object(_)) => {
                Some(serde_json::from_value(v).map_err(|e| refuse(e.to_string()))?)
            }
            Ok(_) => return Err(refuse("不是 JSON 对象".into())),
            Err(e) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_json",
                    format!("请求内容不是有效的 JSON：{e}"),
                ))
            }
        }
    };
    let code = replace.as_ref().and_then(|b| b.code.as_deref());
    let setup = state.store.totp_setup(caller.scope(), code).await?;
    Ok(Json(TotpSetupView {
        secret: setup.secret,
        uri: setup.uri,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct TotpCode {
    /// The 6 digits the authenticator app shows.
    pub code: String,
}

#[utoipa::path(post, path = "/api/v1/auth/totp/enable", tag = "auth", request_body = TotpCode,
    responses((status = 204, description = "两步验证已开启"), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn totp_enable(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<TotpCode>,
) -> Result<StatusCode, ApiError> {
    state.store.totp_enable(caller.scope(), &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}
