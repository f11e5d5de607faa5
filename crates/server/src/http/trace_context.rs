//! A request's place in a distributed trace: the span continues a caller's W3C
//! `traceparent`, carries its trace id for the log lines, and is named by its route. All of
//! it does nothing unless `telemetry::init` installed the OpenTelemetry layer.

use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Makes `span` (a request's) continue the trace a W3C `traceparent` header names, and
/// records its trace id in its `trace_id` field, so log lines in the request carry it. Does
/// nothing when traces are not exported.
pub fn join_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(headers)));
    if parent.span().span_context().is_valid() {
        // Fails only when no OpenTelemetry layer is installed: then there is no trace.
        let _ = span.set_parent(parent);
    }
    let context = span.context();
    let ids = context.span().span_context().clone();
    if ids.is_valid() {
        span.record("trace_id", tracing::field::display(ids.trace_id()));
    }
}

/// Names the exported span of `span` (a request's, once its route is known: `POST
/// /oauth/token`, never a path with ids in it) and records the route; whether the request
/// is traced at all. Untraced requests pay for neither the name nor the fields.
pub fn name_span(span: &tracing::Span, method: &str, route: &str) -> bool {
    let context = span.context();
    let traced = context.span();
    if !traced.span_context().is_valid() {
        return false;
    }
    traced.update_name(format!("{method} {route}"));
    span.record("http.route", route);
    true
}

/// Request headers as the propagator reads them.
struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}
