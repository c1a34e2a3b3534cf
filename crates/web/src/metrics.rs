//! Request metrics in the Prometheus text format, kept by hand (a few counters do not
//! justify a metrics framework).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Requests by method, route template and status, with a latency histogram.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut map = self.series.lock().expect("metrics lock");
        let s = map
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let map = self.series.lock().expect("metrics lock");
        let mut out = String::new();
        out.push_str("# HELP weibao_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE weibao_http_requests_total counter\n");
        for ((m, r, st), s) in map.iter() {
            out.push_str(&format!(
                "weibao_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{st}\"}} {}\n",
                s.count
            ));
        }
        out.push_str("# HELP weibao_http_request_duration_seconds Time to answer.\n");
        out.push_str("# TYPE weibao_http_request_duration_seconds histogram\n");
        for ((m, r, st), s) in map.iter() {
            let labels = format!("method=\"{m}\",route=\"{r}\",status=\"{st}\"");
            for (i, le) in BUCKETS.iter().enumerate() {
                out.push_str(&format!(
                    "weibao_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}\n",
                    s.buckets[i]
                ));
            }
            out.push_str(&format!(
                "weibao_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n",
                s.count
            ));
            out.push_str(&format!(
                "weibao_http_request_duration_seconds_sum{{{labels}}} {}\n",
                s.sum
            ));
            out.push_str(&format!(
                "weibao_http_request_duration_seconds_count{{{labels}}} {}\n",
                s.count
            ));
        }
        out
    }
}

pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    // The route template, never the raw path: paths hold ids and codes.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    state.metrics.observe(
        &method,
        &route,
        res.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    res
}

pub async fn render(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render_all(&state),
    )
        .into_response()
}

fn render_all(state: &AppState) -> String {
    let mut out = state.metrics.render();
    if let Some((transactions, commits)) = state.store.group_commit_stats() {
        out.push_str(
            "# HELP weibao_sqlite_transactions_total Write transactions committed (SQLite).\n\
             # TYPE weibao_sqlite_transactions_total counter\n",
        );
        out.push_str(&format!(
            "weibao_sqlite_transactions_total {transactions}\n"
        ));
        out.push_str(
            "# HELP weibao_sqlite_commits_total Commits (fsyncs) that carried them: \
             group commit joins concurrent writers.\n\
             # TYPE weibao_sqlite_commits_total counter\n",
        );
        out.push_str(&format!("weibao_sqlite_commits_total {commits}\n"));
    }
    out
}
