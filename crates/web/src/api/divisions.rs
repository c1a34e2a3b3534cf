//! The division tree, read within the caller's subtree.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use weibao_domain::DivisionCode;
use weibao_store::Division;

use super::PathParams;
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct DivisionView {
    /// 12-digit code.
    pub code: String,
    pub name: String,
    /// province, city, county, township or village.
    pub level: String,
}

impl From<Division> for DivisionView {
    fn from(d: Division) -> Self {
        DivisionView {
            level: d.level().as_str().into(),
            code: d.code,
            name: d.name,
        }
    }
}

pub fn parse_code(field: &'static str, input: &str) -> Result<DivisionCode, ApiError> {
    DivisionCode::parse(input).map_err(|e| ApiError::invalid(field, e))
}

#[utoipa::path(get, path = "/api/v1/divisions/{code}", tag = "divisions",
    params(("code" = String, Path, description = "2/4/6/9/12 位区划代码")),
    responses((status = 200, body = DivisionView), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_division(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(code): PathParams<String>,
) -> Result<Json<DivisionView>, ApiError> {
    let code = parse_code("code", &code)?;
    Ok(Json(
        state.store.division(caller.scope(), code).await?.into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/divisions/{code}/children", tag = "divisions",
    params(("code" = String, Path, description = "2/4/6/9/12 位区划代码")),
    responses((status = 200, body = [DivisionView]), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn division_children(
    State(state): State<AppState>,
    Auth(caller): Auth,
    PathParams(code): PathParams<String>,
) -> Result<Json<Vec<DivisionView>>, ApiError> {
    let code = parse_code("code", &code)?;
    let children = state.store.division_children(caller.scope(), code).await?;
    Ok(Json(children.into_iter().map(Into::into).collect()))
}

/// The division a request names, or the caller's home (404 for an account with none, which
/// must name one).
pub fn home_or(
    caller: &crate::auth::Caller,
    given: Option<&str>,
) -> Result<DivisionCode, ApiError> {
    match given.filter(|d| !d.is_empty()) {
        Some(d) => parse_code("division", d),
        None => caller.scope().home().ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "请指定区划 division",
            )
        }),
    }
}
