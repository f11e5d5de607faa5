//! Health, readiness, metrics, request ids and security headers.

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get_json("/readyz").await["status"], "ok");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.state.stores.setup.ping().await.expect("up");
    // Closing the pool makes every later query fail, as a lost database would.
    app.state.close_storage().await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "alive all the same"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = crate::helpers::TestApp::builder()
        .env("GATEHOUSE_METRICS_LISTEN", "127.0.0.1:0")
        .spawn()
        .await;
    app.get("/.well-known/jwks.json").await;
    app.get("/.well-known/jwks.json").await;
    app.get("/no/such/path").await;
    let metrics = app.metrics_address.clone().expect("metrics listener");
    let r = app
        .client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = r.text().await.expect("text");
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/.well-known/jwks.json",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "latency histogram: {text}"
    );
}

#[tokio::test]
async fn every_response_has_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    for path in ["/healthz", "/.well-known/jwks.json", "/nope"] {
        let r = app.get(path).await;
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .expect("ascii")
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(
            h["x-request-id"].to_str().expect("ascii").len(),
            36,
            "{path}"
        );
        assert!(h.get("strict-transport-security").is_none(), "plain http");
    }
    // Anything not explicitly cacheable is no-store.
    assert_eq!(
        app.get("/healthz").await.headers()["cache-control"],
        "no-store"
    );
    // A caller's request id is kept, so logs can be joined across services.
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("request");
    assert_eq!(r.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn unknown_paths_get_an_oauth_shaped_404() {
    let app = spawn_app().await;
    let r = app.get("/oauth/nothing").await;
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"], "not_found");
    assert!(body["error_description"].is_string());
}

#[tokio::test]
async fn https_issuers_get_hsts() {
    let app = crate::helpers::TestApp::builder()
        .env("GATEHOUSE_ISSUER", "https://id.example.com/")
        .spawn()
        .await;
    let r = app.get("/healthz").await;
    assert!(r.headers().contains_key("strict-transport-security"));
    let doc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(doc["issuer"], "https://id.example.com/");
}
