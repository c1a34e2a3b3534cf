//! User accounts within the caller's subtree.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use weibao_domain::access::Role;
use weibao_store::{NewUser, User};

use super::divisions::parse_code;
use super::{JsonBody, PathParams, QueryParams};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub division: String,
    pub unit: Option<String>,
    pub must_change_password: bool,
    pub locked: bool,
    /// Designated handler of 受艾滋病影响儿童 records.
    pub designated: bool,
}

impl UserView {
    pub fn new(u: User, now_ms: i64) -> UserView {
        UserView {
            locked: u.locked_until.is_some_and(|t| t > now_ms),
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role.as_str().into(),
            division: u.division.full(),
            unit: u.unit,
            must_change_password: u.must_change_password,
            designated: u.designated,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct UserFilter {
    /// Only accounts within this division's subtree.
    pub division: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
    pub total: usize,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserFilter),
    responses((status = 200, body = UserList), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(filter): QueryParams<UserFilter>,
) -> Result<Json<UserList>, ApiError> {
    let within = match filter.division.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => Some(parse_code("division", d)?),
        None => None,
    };
    let users = state.store.list_users(caller.scope(), within).await?;
    let now = state.store.clock().now_ms();
    let items: Vec<UserView> = users.into_iter().map(|u| UserView::new(u, now)).collect();
    Ok(Json(UserList {
        total: items.len(),
        items,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateUser {
    pub username: String,
    pub display_name: String,
    /// admin, office, supervisor, director, unit, reporter or auditor.
    pub role: String,
    /// Home division code (short or 12-digit).
    pub division: String,
    /// Member unit (公安, 教育, ...) for the unit and reporter roles.
    pub unit: Option<String>,
    pub phone: Option<String>,
    /// A temporary password: the user must change it at first sign-in.
    pub password: String,
    /// Designate the user to handle 受艾滋病影响儿童 records.
    #[serde(default)]
    pub designated: bool,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<CreateUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let role = Role::parse(&req.role).map_err(|e| ApiError::invalid("role", e))?;
    let division = parse_code("division", &req.division)?;
    let user = state
        .store
        .create_user(
            caller.scope(),
            NewUser {
                username: req.username,
                display_name: req.display_name,
                role,
                division,
                unit: req.unit,
                phone: req.phone,
                password: req.password,
                must_change_password: true,
                designated: req.designated,
            },
        )
        .await?;
    let now = state.store.clock().now_ms();
    Ok((StatusCode::CREATED, Json(UserView::new(user, now))))
}

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// The session's handle (the hash of its token; cannot be used to sign in).
    pub handle: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// web or api.
    pub kind: String,
    /// RFC 3339, China Standard Time.
    pub created_at: String,
    pub last_seen_at: String,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
}

#[utoipa::path(get, path = "/api/v1/sessions", tag = "users",
    responses((status = 200, description = "辖区内账户的在线会话", body = SessionList),
              (status = 403, body = ErrorBody)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<SessionList>, ApiError> {
    let sessions = state.store.list_sessions(caller.scope()).await?;
    Ok(Json(SessionList {
        items: sessions
            .into_iter()
            .map(|s| SessionView {
                handle: s.handle,
                username: s.username,
                display_name: s.display_name,
                role: s.role,
                kind: s.kind,
                created_at: crate::time::rfc3339(s.created_at),
                last_seen_at: crate::time::rfc3339(s.last_seen_at),
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{handle}", tag = "users",
    params(("handle" = String, Path)),
    responses((status = 204, description = "会话已结束，该账户需重新登录"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_session(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(handle): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .end_session(caller.scope(), &handle, &caller.ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
