//! Management API access: bearer tokens we issued for `<issuer>api/v2/`, scopes per endpoint.

use serde_json::json;

use crate::helpers::{Mgmt, assert_mgmt_error, spawn_app};

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let app = spawn_app().await;
    let r = app.get("/api/v2/clients").await;
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["statusCode"], 401);
    assert_eq!(body["error"], "Unauthorized");

    let bad = Mgmt {
        app: &app,
        token: "not.a.token".into(),
    };
    assert_mgmt_error(&bad.get("/clients").await, 401, "invalid_token");

    // A genuine token of ours, but for another API, does not open the Management API.
    let mgmt = app.mgmt().await;
    mgmt.post(
        "/resource-servers",
        json!({"identifier": "https://orders.example", "scopes": [{"value": "read:orders"}]}),
    )
    .await;
    let (_, client) = mgmt
        .post(
            "/clients",
            json!({"name": "m2m", "app_type": "non_interactive"}),
        )
        .await;
    let id = client["client_id"].as_str().expect("id");
    let secret = client["client_secret"].as_str().expect("secret");
    mgmt.post(
        "/client-grants",
        json!({"client_id": id, "audience": "https://orders.example", "scope": ["read:orders"]}),
    )
    .await;
    let other_api = app
        .client_credentials_token(id, secret, "https://orders.example", None)
        .await;
    let wrong_aud = Mgmt {
        app: &app,
        token: other_api,
    };
    assert_mgmt_error(&wrong_aud.get("/clients").await, 401, "invalid_token");

    // A tampered token fails.
    let mut parts: Vec<String> = mgmt.token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    let tampered = Mgmt {
        app: &app,
        token: parts.join("."),
    };
    assert_mgmt_error(&tampered.get("/clients").await, 401, "invalid_token");
}

#[tokio::test]
async fn scopes_are_enforced_per_endpoint() {
    let app = spawn_app().await;
    let reader = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("read:clients")).await,
    };
    assert_eq!(reader.get("/clients").await.0, 200);
    let denied = reader.post("/clients", json!({"name": "x"})).await;
    assert_mgmt_error(&denied, 403, "insufficient_scope");
    assert_eq!(
        denied.1["message"],
        "Insufficient scope, expected any of: create:clients"
    );
    assert_mgmt_error(
        &reader.get("/resource-servers").await,
        403,
        "insufficient_scope",
    );
    assert_mgmt_error(
        &reader.get("/keys/signing").await,
        403,
        "insufficient_scope",
    );
}

#[tokio::test]
async fn unknown_management_paths_are_404_in_auth0_shape() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    assert_mgmt_error(&mgmt.get("/no-such-resource").await, 404, "not_found");
}

/// Each Management request checks its token's RSA signature once, whether it is limited or
/// not, read or written (and audited), allowed or refused.
#[tokio::test]
async fn one_signature_verification_per_request() {
    for limit in ["300:100", "off"] {
        let app = crate::helpers::TestApp::builder()
            .env("GATEHOUSE_RATE_LIMIT_MGMT", limit)
            .spawn()
            .await;
        let mgmt = app.mgmt().await;
        let narrow = Mgmt {
            app: &app,
            token: app.mgmt_token(Some("read:stats")).await,
        };
        let before = app.state.keys.verifications();
        let (status, _) = mgmt.get("/clients").await;
        assert_eq!(status, 200);
        let (status, _) = mgmt.post("/roles", json!({"name": "r"})).await;
        assert_eq!(status, 200);
        let (status, _) = mgmt.post("/roles", json!({"name": 1})).await;
        assert_eq!(status, 400);
        let (status, _) = narrow.get("/clients").await;
        assert_eq!(status, 403);
        let (status, _) = mgmt.get("/nothing-here").await;
        assert_eq!(status, 404);
        assert_eq!(
            app.state.keys.verifications() - before,
            5,
            "one verification per request (limit {limit})"
        );
    }
}
