//! Request metrics in Prometheus format: counts by route and status, and a latency
//! histogram. The recorder belongs to the app, not the process, so several apps (tests)
//! can live in one process without sharing counters.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::AppState;

/// Latency buckets in seconds, from a cached JWKS read to a slow password hash.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The app's metric recorder.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh recorder.
    pub fn new() -> Self {
        #[expect(
            clippy::expect_used,
            reason = "the bucket list is a non-empty constant"
        )]
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        Metrics { recorder, handle }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    fn observe(&self, method: String, route: String, status: String, seconds: f64) {
        metrics::with_local_recorder(&self.recorder, || {
            metrics::counter!(
                "http_requests_total",
                "method" => method.clone(),
                "route" => route.clone(),
                "status" => status
            )
            .increment(1);
            metrics::histogram!(
                "http_request_duration_seconds",
                "method" => method,
                "route" => route
            )
            .record(seconds);
        });
    }
}

/// Middleware that records every request under its route template (not its raw path, which
/// would carry ids and blow up the label set).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.observe(
        method,
        route,
        response.status().as_u16().to_string(),
        started.elapsed().as_secs_f64(),
    );
    response
}
