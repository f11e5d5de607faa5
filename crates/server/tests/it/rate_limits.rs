//! Rate limits: headers on every limited response, 429 in each API's shape.

use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn authentication_api_is_limited_per_ip() {
    let app = TestApp::builder()
        .env("GATEHOUSE_RATE_LIMIT_AUTH", "3:0.01")
        .spawn()
        .await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = app
            .client
            .post(app.url("/oauth/token"))
            .form(&[("grant_type", "x")])
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["x-ratelimit-limit"], "3");
        remaining.push(
            r.headers()["x-ratelimit-remaining"]
                .to_str()
                .expect("ascii")
                .to_owned(),
        );
        let reset: u64 = r.headers()["x-ratelimit-reset"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("integer");
        assert!(reset > 1_700_000_000);
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "x")])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "too_many_requests");
    // Health checks are never limited.
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert!(
        app.get("/healthz")
            .await
            .headers()
            .get("x-ratelimit-limit")
            .is_none()
    );
}

#[tokio::test]
async fn management_api_is_limited_per_client() {
    let app = TestApp::builder()
        .envs(&[
            ("GATEHOUSE_RATE_LIMIT_MGMT", "2:0.01"),
            ("GATEHOUSE_RATE_LIMIT_AUTH", "off"),
        ])
        .spawn()
        .await;
    let mgmt = app.mgmt().await;
    assert_eq!(mgmt.get("/clients").await.0, 200);
    let (_, created) = mgmt
        .post(
            "/clients",
            serde_json::json!({"name": "other", "app_type": "non_interactive"}),
        )
        .await;
    let limited = mgmt.get("/clients").await;
    crate::helpers::assert_mgmt_error(&limited, 429, "too_many_requests");

    // Another client has its own bucket.
    let id = created["client_id"].as_str().expect("id");
    let secret = created["client_secret"].as_str().expect("secret");
    let audience = format!("{}/api/v2/", app.address);
    let r = app
        .client
        .post(app.url("/api/v2/client-grants"))
        .bearer_auth(&mgmt.token)
        .json(
            &serde_json::json!({"client_id": id, "audience": audience, "scope": ["read:clients"]}),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 429, "the first client is still out of tokens");
    // Grant it directly in storage, then call as that client.
    app.state
        .stores
        .client_grants
        .insert_client_grant(&gatehouse_core::client_grant::ClientGrant {
            id: gatehouse_server::ids::new_client_grant_id(),
            client_id: id.to_owned().into(),
            audience: audience.clone().into(),
            scope: vec!["read:clients".into()],
            created_at: time::OffsetDateTime::now_utc(),
            extra: Default::default(),
        })
        .await
        .expect("grant");
    let other = crate::helpers::Mgmt {
        app: &app,
        token: app
            .client_credentials_token(id, secret, &audience, None)
            .await,
    };
    assert_eq!(other.get("/clients").await.0, 200);
}

/// One `/oauth/token` request: its status and `X-RateLimit-Remaining`.
async fn spend(app: &TestApp) -> (u16, String) {
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "x")])
        .send()
        .await
        .expect("request");
    let remaining = r
        .headers()
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (r.status().as_u16(), remaining)
}

#[tokio::test]
async fn with_redis_replicas_share_their_buckets() {
    // Redis listens on 127.0.0.1:6379 on these machines; a prefix of this test's own keeps
    // other tests' buckets apart.
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let env = [
        ("GATEHOUSE_RATE_LIMIT_AUTH", "3:0.01"),
        ("GATEHOUSE_REDIS_URL", "redis://127.0.0.1:6379"),
        ("GATEHOUSE_REDIS_PREFIX", prefix.as_str()),
    ];
    let a = TestApp::builder().envs(&env).spawn().await;
    let b = TestApp::builder().envs(&env).spawn().await;
    let seen = [spend(&a).await, spend(&b).await, spend(&a).await];
    assert_eq!(
        seen.clone().map(|(status, _)| status),
        [400, 400, 400],
        "three of the shared three"
    );
    assert_eq!(seen[2].1, "0");
    assert_eq!(spend(&b).await.0, 429, "b's fourth is the bucket's fourth");
    assert_eq!(spend(&a).await.0, 429);
}

#[tokio::test]
async fn a_redis_outage_falls_back_to_per_process_buckets() {
    // Nothing listens on port 1: every check falls back at once, and requests go on.
    let app = TestApp::builder()
        .envs(&[
            ("GATEHOUSE_RATE_LIMIT_AUTH", "3:0.01"),
            ("GATEHOUSE_REDIS_URL", "redis://127.0.0.1:1"),
        ])
        .spawn()
        .await;
    let started = std::time::Instant::now();
    for _ in 0..3 {
        assert_eq!(spend(&app).await.0, 400);
    }
    assert_eq!(spend(&app).await.0, 429, "the local bucket still limits");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "an outage does not slow requests: {:?}",
        started.elapsed()
    );
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200, "the server goes on serving");
}
