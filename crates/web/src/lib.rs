//! Weibao's web layer: the server-rendered Chinese UI and the JSON API under /api/v1.
//!
//! Request flow: parse and authenticate here ([`auth`]), let the domain decide, persist
//! through the scoped store, render HTML or JSON. Every asset is embedded in the binary.

pub mod allowances_io;
mod api;
mod assets;
mod auth;
pub mod card;
mod charts;
mod download;
mod error;
pub mod finding_io;
pub mod hotline_io;
pub mod ledger_io;
pub mod limits;
mod metrics;
pub mod network_io;
mod pages;
mod proposals_io;
mod record_checks_io;
pub mod stats_io;
pub mod text;
pub use pages::PAGES;
mod security;
pub mod time;
pub mod workers;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use weibao_store::Store;

pub use api::{openapi_json, ROUTE_ACCESS};
pub use auth::RouteAccess;
pub use metrics::Metrics;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    openapi: Arc<String>,
    /// The address printed on cards (e.g. https://wb.example.gov.cn); None: the request's.
    pub public_url: Option<Arc<String>>,
    /// Sign-in and import rate limits.
    pub limiter: Arc<limits::Limiter>,
    /// Behind a reverse proxy: take the client's address from X-Forwarded-For.
    pub trust_proxy: bool,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            metrics: Arc::new(Metrics::default()),
            openapi: Arc::new(api::openapi_json()),
            public_url: None,
            limiter: Arc::new(limits::Limiter::default()),
            trust_proxy: false,
        }
    }

    /// Takes client addresses from the reverse proxy's X-Forwarded-For.
    pub fn with_trust_proxy(mut self, trust: bool) -> AppState {
        self.trust_proxy = trust;
        self
    }

    /// Replaces the rate limits (tests tighten or loosen them).
    pub fn with_limits(mut self, limits: limits::Limits) -> AppState {
        self.limiter = Arc::new(limits::Limiter::new(limits));
        self
    }

    /// Sets the address printed on cards' QR codes.
    pub fn with_public_url(mut self, url: Option<String>) -> AppState {
        self.public_url = url
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
            .map(Arc::new);
        self
    }
}

/// The whole application: pages, API, assets, health and metrics, with the security
/// headers, Origin check and request metrics around all of it.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .merge(assets::routes())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .fallback(pages::fallback)
        .layer(axum::middleware::from_fn(security::origin_check))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::trusted_proxy,
        ))
        .with_state(state)
}

async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (axum::http::StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!("health check failed: {e}");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable",
            )
        }
    }
}
