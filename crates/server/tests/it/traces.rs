//! Traces over OTLP: the real binary, pointed at a collector (an OTLP/HTTP receiver in the
//! test that decodes what arrives), exports a span for a request that continues the caller's
//! `traceparent`, with its database calls as child spans; the JSON log lines of the request
//! carry the trace id.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

use crate::binary::{gatehouse, serve, terminate};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// Starts an OTLP/HTTP receiver; returns its base URL and the spans it received so far.
async fn collector() -> (String, Arc<Mutex<Vec<Span>>>) {
    let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
    let store = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let store = store.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut all = store.lock().expect("spans");
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        all.extend(scope.spans);
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (url, spans)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_request_is_exported_as_a_span_with_its_database_calls_and_logged_with_its_trace_id() {
    let (endpoint, spans) = collector().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let served = serve(
        gatehouse(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("GATEHOUSE_OTLP_ENDPOINT", &endpoint)
            .env("GATEHOUSE_LOG_FORMAT", "json")
            .env("GATEHOUSE_BOOTSTRAP_CLIENT_ID", "traced")
            .env(
                "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
                "traced-secret-0123456789-0123456789-0123456789",
            )
            // The SDK's batch delay (5 s by default), so the test does not wait long.
            .env("OTEL_BSP_SCHEDULE_DELAY", "100"),
    )
    .await;
    let base = format!("http://127.0.0.1:{}", served.port);
    let response = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "traced"),
            (
                "client_secret",
                "traced-secret-0123456789-0123456789-0123456789",
            ),
            ("audience", &format!("{base}/api/v2/")),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), 200);

    let started = Instant::now();
    let (request, children) = loop {
        let found: Vec<Span> = spans
            .lock()
            .expect("spans")
            .iter()
            .filter(|s| hex(&s.trace_id) == TRACE_ID)
            .cloned()
            .collect();
        if let Some(request) = found.iter().find(|s| s.name == "POST /oauth/token") {
            break (request.clone(), found);
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no span for the request arrived: {:?}",
            spans
                .lock()
                .expect("spans")
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        hex(&request.parent_span_id),
        PARENT_ID,
        "continues the caller's trace"
    );
    // SpanKind::Server.
    assert_eq!(request.kind, 2);
    let database: Vec<&Span> = children
        .iter()
        .filter(|s| s.name.contains("Store::"))
        .collect();
    assert!(
        !database.is_empty(),
        "database calls as spans: {:?}",
        children.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let descends = |span: &Span| {
        let mut at = span.clone();
        while at.parent_span_id != request.span_id {
            match children.iter().find(|s| s.span_id == at.parent_span_id) {
                Some(parent) => at = parent.clone(),
                None => return false,
            }
        }
        true
    };
    assert!(database.iter().all(|s| descends(s)), "inside the request");

    let (code, _, stderr) = terminate(served).await;
    assert_eq!(code, 0, "{stderr}");
    let logged = stderr
        .lines()
        .filter(|l| l.contains("/oauth/token"))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["span"]["trace_id"] == TRACE_ID);
    assert!(logged.is_some(), "a log line with the trace id: {stderr}");
}
