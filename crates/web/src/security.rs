//! Headers every response carries, and the Origin check on state-changing requests.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

pub async fn headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/static/");
    let sent_body = carries_body(&req);
    let mut res = next.run(req).await;
    if sent_body && (res.status().is_client_error() || res.status().is_server_error()) {
        // A refusal may come before the upload was read (403 before a multipart body, 429,
        // 413): the server then drops the connection, and a client that kept it for its next
        // request would see it cut. Saying so lets the client open a fresh one.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !is_asset {
        // Pages and API answers hold personal data: never kept in shared or disk caches.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// An HTTP/1 request with a body (a length above zero, or chunked).
fn carries_body(req: &Request) -> bool {
    if req.version() > axum::http::Version::HTTP_11 {
        return false;
    }
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// Refuses a state-changing request sent from another site (CSRF defence in depth, beside
/// the per-session token): the browser's Origin must match the Host it is talking to.
pub async fn origin_check(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = req.headers();
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
        let cross_site = headers
            .get("sec-fetch-site")
            .and_then(|h| h.to_str().ok())
            .is_some_and(|s| s == "cross-site");
        let origin_mismatch = match (origin, host) {
            (Some("null"), _) => true,
            (Some(o), Some(h)) => {
                let o_host = o.split("://").nth(1).unwrap_or(o);
                o_host != h
            }
            (Some(_), None) => true,
            (None, _) => false,
        };
        if origin_mismatch || cross_site {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_origin",
                "拒绝来自其他网站的提交：请在本系统页面中操作",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// The client's address as the trusted reverse proxy saw it: the last entry of
/// `X-Forwarded-For` (the one the proxy appended; earlier ones are the client's say-so).
pub fn forwarded_client(headers: &axum::http::HeaderMap) -> Option<std::net::IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .next_back()
}

/// Behind a reverse proxy (`serve --trust-proxy`): every handler, the audit log and the
/// rate limits see the client's address instead of the proxy's.
pub async fn trusted_proxy(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if state.trust_proxy {
        if let Some(ip) = forwarded_client(req.headers()) {
            let port = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.port())
                .unwrap_or(0);
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
                    ip, port,
                )));
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_request_with_a_body_over_http1_carries_one() {
        let with = |len: Option<&str>, chunked: bool, version| {
            let mut b = Request::builder().method("POST").uri("/x").version(version);
            if let Some(l) = len {
                b = b.header("content-length", l);
            }
            if chunked {
                b = b.header("transfer-encoding", "chunked");
            }
            carries_body(&b.body(axum::body::Body::empty()).unwrap())
        };
        use axum::http::Version;
        assert!(with(Some("12"), false, Version::HTTP_11));
        assert!(with(None, true, Version::HTTP_11));
        assert!(!with(Some("0"), false, Version::HTTP_11));
        assert!(!with(None, false, Version::HTTP_11));
        assert!(!with(Some("12"), false, Version::HTTP_2));
    }

    #[test]
    fn the_proxy_appended_address_is_the_client() {
        let mut h = axum::http::HeaderMap::new();
        assert_eq!(forwarded_client(&h), None);
        h.append("x-forwarded-for", "1.2.3.4, 10.0.0.7".parse().unwrap());
        assert_eq!(forwarded_client(&h), Some("10.0.0.7".parse().unwrap()));
        h.append("x-forwarded-for", "203.0.113.9".parse().unwrap());
        assert_eq!(forwarded_client(&h), Some("203.0.113.9".parse().unwrap()));
        let mut junk = axum::http::HeaderMap::new();
        junk.append("x-forwarded-for", "not-an-address".parse().unwrap());
        assert_eq!(forwarded_client(&junk), None);
    }
}
