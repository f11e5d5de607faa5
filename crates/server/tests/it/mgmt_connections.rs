//! `/api/v2/connections`.

use serde_json::{Value, json};

use crate::helpers::{assert_mgmt_error, spawn_app};

#[tokio::test]
async fn create_list_update_and_enable_clients() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (_, client) = mgmt
        .post("/clients", json!({"name": "spa", "app_type": "spa"}))
        .await;
    let client_id = client["client_id"].as_str().expect("id").to_owned();

    let (status, c) = mgmt
        .post(
            "/connections",
            json!({"name": "passwordless-email", "strategy": "email",
                   "options": {"totp": {"length": 6, "time_step": 300}},
                   "enabled_clients": [client_id], "display_name": "Email code",
                   "metadata": {"team": "growth"}}),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    assert!(c["id"].as_str().expect("id").starts_with("con_"));
    assert_eq!(c["enabled_clients"], json!([client_id]));
    assert_eq!(c["display_name"], "Email code");
    let id = c["id"].as_str().expect("id").to_owned();
    assert_eq!(mgmt.get(&format!("/connections/{id}")).await.1, c);

    assert_mgmt_error(
        &mgmt
            .post(
                "/connections",
                json!({"name": "passwordless-email", "strategy": "email"}),
            )
            .await,
        409,
        "conflict",
    );
    for bad in [
        json!({"strategy": "email"}),
        json!({"name": "-bad", "strategy": "email"}),
        json!({"name": "a--b", "strategy": "email"}),
        json!({"name": "ok", "strategy": "carrier-pigeon"}),
        json!({"name": "ok", "strategy": "auth0", "options": {"passwordPolicy": "weak"}}),
        json!({"name": "ok", "strategy": "oidc", "options": {"discovery_url": "not a url"}}),
        json!({"name": "ok", "strategy": "sms", "enabled_clients": ["ghost"]}),
        json!({"name": "ok", "strategy": "sms", "metadata": {"n": 1}}),
        json!({"name": "ok", "strategy": "sms", "surprise": 1}),
    ] {
        assert_mgmt_error(&mgmt.post("/connections", bad).await, 400, "invalid_body");
    }

    // Filters and both paging styles.
    let (_, all) = mgmt.get("/connections?include_totals=true").await;
    assert_eq!(all["total"], 2);
    let (_, emails) = mgmt.get("/connections?strategy=email").await;
    assert_eq!(emails.as_array().expect("array").len(), 1);
    let (_, both) = mgmt.get("/connections?strategy=email&strategy=auth0").await;
    assert_eq!(both.as_array().expect("array").len(), 2);
    let (_, named) = mgmt
        .get("/connections?name=Username-Password-Authentication")
        .await;
    assert_eq!(named[0]["strategy"], "auth0");
    let (_, first) = mgmt.get("/connections?include_totals=true&take=1").await;
    assert_eq!(first["connections"].as_array().expect("items").len(), 1);
    let next = first["next"].as_str().expect("next");
    let (_, second) = mgmt.get(&format!("/connections?take=1&from={next}")).await;
    assert_eq!(second["connections"].as_array().expect("items").len(), 1);
    assert!(
        second.get("next").is_none(),
        "last page has no next: {second}"
    );

    let (status, patched) = mgmt
        .patch(
            &format!("/connections/{id}"),
            json!({"display_name": null, "enabled_clients": []}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert!(patched.get("display_name").is_none());
    assert_eq!(patched["enabled_clients"], json!([]));
    assert_mgmt_error(
        &mgmt
            .patch(&format!("/connections/{id}"), json!({"strategy": "sms"}))
            .await,
        400,
        "invalid_body",
    );

    let (status, _) = mgmt
        .send(
            reqwest::Method::PATCH,
            &format!("/connections/{id}/clients"),
            Some(json!([{"client_id": client_id, "status": true}])),
        )
        .await;
    assert_eq!(status, 204);
    let (_, enabled) = mgmt
        .get(&format!("/connections/{id}/clients?take=50"))
        .await;
    assert_eq!(enabled, json!({"clients": [{"client_id": client_id}]}));
    assert_mgmt_error(
        &mgmt
            .send(
                reqwest::Method::PATCH,
                &format!("/connections/{id}/clients"),
                Some(json!({"client_id": client_id})),
            )
            .await,
        400,
        "invalid_body",
    );

    assert_eq!(mgmt.delete(&format!("/connections/{id}")).await.0, 202);
    assert_mgmt_error(
        &mgmt.get(&format!("/connections/{id}")).await,
        404,
        "inexistent_connection",
    );
    let (_, rest): (u16, Value) = mgmt.get("/connections").await;
    assert_eq!(rest.as_array().expect("array").len(), 1);
}
