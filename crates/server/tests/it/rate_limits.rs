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
