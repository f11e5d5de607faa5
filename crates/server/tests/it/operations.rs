//! Health, readiness, metrics, request ids and security headers.

use serde_json::json;

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

/// The value of the Prometheus series `series` (name and labels exactly as rendered).
fn series(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_logins_tokens_and_failures_and_read_outbox_pool_and_caches() {
    let app = crate::helpers::TestApp::builder()
        .env("GATEHOUSE_METRICS_LISTEN", "127.0.0.1:0")
        .spawn()
        .await;
    let m = app.mgmt().await;
    let realm = "http://auth0.com/oauth/grant-type/password-realm";
    let (_, c) = m
        .post(
            "/clients",
            json!({"name": "web", "app_type": "regular_web", "grant_types": [realm]}),
        )
        .await;
    m.post(
        "/users",
        json!({"connection": "Username-Password-Authentication", "email": "ada@example.com",
               "password": "Sup3r-secret!"}),
    )
    .await;
    let login = |password: &'static str| {
        let c = c.clone();
        let app = &app;
        async move {
            app.client
                .post(app.url("/oauth/token"))
                .form(&[
                    ("grant_type", realm),
                    ("client_id", c["client_id"].as_str().expect("id")),
                    (
                        "client_secret",
                        c["client_secret"].as_str().expect("secret"),
                    ),
                    ("username", "ada@example.com"),
                    ("password", password),
                    ("realm", "Username-Password-Authentication"),
                ])
                .send()
                .await
                .expect("token")
                .status()
        }
    };
    assert_eq!(login("Sup3r-secret!").await, 200);
    assert_eq!(login("Sup3r-secret!").await, 200);
    assert_eq!(login("wrong").await, 403);
    let wrong_secret = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c["client_id"].as_str().expect("id")),
            ("client_secret", "not-it"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(wrong_secret.status(), 401);

    let metrics = app.metrics_address.clone().expect("metrics listener");
    let text = app
        .client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let value = |s: &str| series(&text, s).unwrap_or_else(|| panic!("no {s} in:\n{text}"));
    assert_eq!(value(r#"gatehouse_logins_total{result="success"}"#), 2.0);
    assert_eq!(value(r#"gatehouse_logins_total{result="failure"}"#), 1.0);
    assert_eq!(
        value(&format!(
            r#"gatehouse_tokens_issued_total{{grant_type="{realm}"}}"#
        )),
        2.0
    );
    // The test's own Management token.
    assert_eq!(
        value(r#"gatehouse_tokens_issued_total{grant_type="client_credentials"}"#),
        1.0
    );
    assert_eq!(value(r#"gatehouse_failures_total{type="fepft"}"#), 1.0);
    assert_eq!(value(r#"gatehouse_failures_total{type="feccft"}"#), 1.0);
    // Both logins and the refused client read the client through the catalog; the logins
    // after the first found it there.
    assert!(value(r#"gatehouse_cache_lookups_total{cache="clients",result="hit"}"#) >= 1.0);
    assert!(value(r#"gatehouse_cache_lookups_total{cache="clients",result="miss"}"#) >= 1.0);
    assert_eq!(value("gatehouse_outbox_pending"), 0.0);
    // SQLite's pool (see the store's pool.rs).
    assert_eq!(value("gatehouse_db_pool_max_connections"), 4.0);
    assert!(value(r#"gatehouse_db_pool_connections{state="idle"}"#) >= 1.0);
    assert_eq!(value("gatehouse_log_events_dropped_total"), 0.0);

    // The Grafana dashboard in docs/ queries only series the server exposes.
    let dashboard: serde_json::Value =
        serde_json::from_str(include_str!("../../../../docs/grafana-dashboard.json"))
            .expect("dashboard JSON");
    let exprs: Vec<&str> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().expect("targets"))
        .filter_map(|t| t["expr"].as_str())
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");
    for expr in exprs {
        for name in expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("gatehouse_") || w.starts_with("http_request"))
        {
            let exposed = name.strip_suffix("_bucket").unwrap_or(name);
            assert!(
                text.contains(&format!("# TYPE {exposed} ")),
                "the dashboard queries {name}, which /metrics does not have"
            );
        }
    }
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
