//! One error type for the API (JSON) and one for pages (HTML), both from StoreError.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use weibao_domain::Invalid;
use weibao_store::StoreError;

/// `{"error":{"code","message","field"}}` with a fitting status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code, e.g. `not_found`.
    pub code: String,
    /// 中文说明：what is wrong and how to fix it.
    pub message: String,
    /// The request field at fault, when one is.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid(field: &'static str, invalid: Invalid) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: invalid.code,
            message: invalid.message,
            field: Some(field),
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "未登录或登录已过期：请先调用 /api/v1/auth/login 获取令牌，并以 Authorization: Bearer 令牌 发送",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "记录不存在或不在您的管辖范围内",
            ),
            StoreError::Forbidden => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", "您的角色无权进行此操作")
            }
            StoreError::Invalid { field, invalid } => ApiError::invalid(field, invalid),
            StoreError::Conflict {
                field,
                code,
                message,
            } => ApiError {
                status: StatusCode::CONFLICT,
                code,
                message,
                field: Some(field),
            },
            StoreError::TooMany { code, message } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
            }
            StoreError::Locked { until_ms } => ApiError::new(
                StatusCode::LOCKED,
                "account_locked",
                format!(
                    "连续登录失败次数过多，账户已锁定至 {}，请稍后再试",
                    crate::time::beijing_time(until_ms)
                ),
            ),
            StoreError::Config(m) => internal(&m),
            StoreError::Db(e) => internal(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.into(),
                message: self.message,
                field: self.field.map(Into::into),
            },
        };
        (self.status, Json(body)).into_response()
    }
}

fn internal(e: &dyn std::fmt::Display) -> ApiError {
    // The detail goes to the log only: it may hold SQL or paths.
    tracing::error!("internal error: {e}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "服务器内部错误，已记录，请稍后再试",
    )
}
