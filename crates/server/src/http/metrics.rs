//! Request metrics (counts by route and status, and a latency histogram, under the route's
//! template) and the figures `/metrics` reads from the app when scraped.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Reads the scrape-time figures of `state` into its recorder.
pub async fn snapshot(state: &AppState) {
    let outbox_pending = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        state.stores.outbox.pending_messages(),
    )
    .await
    .ok()
    .and_then(Result::ok);
    state.metrics.snapshot(&crate::metrics::Snapshot {
        outbox_pending,
        pool: state.store().pool_status(),
        caches: state
            .catalog
            .lookups()
            .iter()
            .map(|(name, l)| (*name, l.hits, l.misses))
            .collect(),
        log_events_dropped: state.logs.dropped(),
    });
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
    let span = tracing::Span::current();
    let traced = super::trace_context::name_span(&span, &method, &route);
    let response = next.run(request).await;
    if traced {
        span.record("http.response.status_code", response.status().as_u16());
    }
    state.metrics.observe(
        method,
        route,
        response.status().as_u16().to_string(),
        started.elapsed().as_secs_f64(),
    );
    response
}
