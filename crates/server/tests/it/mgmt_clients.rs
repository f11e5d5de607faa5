//! `/api/v2/clients`.

use serde_json::{Value, json};

use crate::helpers::{Mgmt, assert_mgmt_error, spawn_app};

#[tokio::test]
async fn create_returns_the_secret_once_and_defaults() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (status, c) = mgmt
        .post(
            "/clients",
            json!({"name": "My SPA", "app_type": "spa", "callbacks": ["http://localhost:3000/cb"]}),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["client_id"].as_str().map(str::len), Some(32));
    assert!(c["client_secret"].as_str().is_some_and(|s| s.len() >= 64));
    assert_eq!(c["token_endpoint_auth_method"], "none");
    assert_eq!(
        c["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(c["callbacks"], json!(["http://localhost:3000/cb"]));
    assert_eq!(c["jwt_configuration"]["alg"], "RS256");

    // Without read:client_keys the secret is not shown again.
    let reader = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("read:clients")).await,
    };
    let id = c["client_id"].as_str().expect("id");
    let (status, got) = reader.get(&format!("/clients/{id}")).await;
    assert_eq!(status, 200);
    assert!(got.get("client_secret").is_none(), "{got}");
    assert_eq!(got["name"], "My SPA");
    // With it, it is.
    let (_, full) = mgmt.get(&format!("/clients/{id}")).await;
    assert_eq!(full["client_secret"], c["client_secret"]);
    // A summary reader sees the summary only.
    let summary = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("read:client_summary")).await,
    };
    let (_, brief) = summary.get(&format!("/clients/{id}")).await;
    let mut keys: Vec<&str> = brief
        .as_object()
        .expect("obj")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["app_type", "client_id", "name"]);
}

#[tokio::test]
async fn bad_bodies_are_invalid_body() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    for body in [
        json!({}),
        json!({"name": 5}),
        json!({"name": "x", "color": "red"}),
        json!({"name": "x", "app_type": "tv"}),
        json!({"name": "x", "callbacks": "http://a"}),
        json!({"name": "x", "grant_types": ["magic"]}),
        json!({"name": "x", "description": "d".repeat(141)}),
        json!({"name": "x", "initiate_login_uri": "http://insecure.example/login"}),
        json!({"name": "x", "client_metadata": {"k": 1}}),
        json!({"name": "x", "client_metadata": (0..11).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
        json!({"name": "x", "jwt_configuration": {"alg": "none"}}),
        json!({"name": "x", "refresh_token": {"rotation_type": "sometimes"}}),
        json!(["not", "an", "object"]),
    ] {
        let got = mgmt.post("/clients", body.clone()).await;
        assert_mgmt_error(&got, 400, "invalid_body");
        assert!(
            got.1["message"]
                .as_str()
                .expect("message")
                .starts_with("Payload validation error"),
            "{body}: {}",
            got.1
        );
    }
    let r = app
        .client
        .post(app.url("/api/v2/clients"))
        .bearer_auth(&mgmt.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["errorCode"], "invalid_body");
}

#[tokio::test]
async fn patch_replaces_fields_and_merges_metadata() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "web", "client_metadata": {"a": "1", "b": "2"}, "logo_uri": "https://x/l.png"}),
        )
        .await;
    let id = c["client_id"].as_str().expect("id");
    let (status, p) = mgmt
        .patch(
            &format!("/clients/{id}"),
            json!({"name": "web2", "client_metadata": {"b": null, "c": "3"}, "logo_uri": null,
                   "mobile": {"ios": {"team_id": "ABCDE12345", "app_bundle_identifier": "com.example.app"}}}),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["name"], "web2");
    assert_eq!(p["client_metadata"], json!({"a": "1", "c": "3"}));
    assert!(p.get("logo_uri").is_none());
    assert_eq!(p["mobile"]["ios"]["team_id"], "ABCDE12345");
    let (_, again) = mgmt.get(&format!("/clients/{id}")).await;
    assert_eq!(again["client_metadata"], json!({"a": "1", "c": "3"}));
    assert_mgmt_error(
        &mgmt
            .patch(&format!("/clients/{id}"), json!({"name": null}))
            .await,
        400,
        "invalid_body",
    );
    assert_mgmt_error(
        &mgmt.patch("/clients/nope", json!({"name": "x"})).await,
        404,
        "inexistent_client",
    );
}

#[tokio::test]
async fn rotate_secret_replaces_the_old_one() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "m2m", "app_type": "non_interactive"}),
        )
        .await;
    let id = c["client_id"].as_str().expect("id").to_owned();
    let old = c["client_secret"].as_str().expect("secret").to_owned();
    let audience = format!("{}/api/v2/", app.address);
    mgmt.post(
        "/client-grants",
        json!({"client_id": id, "audience": audience, "scope": ["read:users"]}),
    )
    .await;
    app.client_credentials_token(&id, &old, &audience, None)
        .await;

    let (status, rotated) = mgmt
        .post(&format!("/clients/{id}/rotate-secret"), json!({}))
        .await;
    assert_eq!(status, 200);
    let new = rotated["client_secret"].as_str().expect("secret");
    assert_ne!(new, old);
    app.client_credentials_token(&id, new, &audience, None)
        .await;
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", old.as_str()),
            ("audience", audience.as_str()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401, "the old secret no longer works");
}

#[tokio::test]
async fn list_pages_and_delete() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    for i in 0..3 {
        mgmt.post("/clients", json!({"name": format!("c{i}")}))
            .await;
    }
    let (_, all) = mgmt.get("/clients").await;
    assert_eq!(
        all.as_array().expect("bare array").len(),
        4,
        "3 + bootstrap"
    );
    let (_, page) = mgmt
        .get("/clients?page=1&per_page=2&include_totals=true")
        .await;
    assert_eq!(page["start"], 2);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["total"], 4);
    assert_eq!(page["length"], 2);
    assert_eq!(page["clients"].as_array().expect("items").len(), 2);
    let (_, past) = mgmt.get("/clients?page=9&per_page=2").await;
    assert_eq!(past, json!([]));
    let (_, picked) = mgmt
        .get("/clients?fields=client_id,name&include_fields=true&per_page=1")
        .await;
    assert_eq!(
        picked[0].as_object().expect("obj").len(),
        2,
        "only the requested fields: {picked}"
    );
    assert_mgmt_error(
        &mgmt.get("/clients?per_page=1000").await,
        400,
        "invalid_query_string",
    );
    assert_mgmt_error(
        &mgmt.get("/clients?include_totals=yes").await,
        400,
        "invalid_query_string",
    );

    let id = all[1]["client_id"].as_str().expect("id");
    assert_eq!(mgmt.delete(&format!("/clients/{id}")).await.0, 204);
    assert_mgmt_error(
        &mgmt.get(&format!("/clients/{id}")).await,
        404,
        "inexistent_client",
    );
    assert_mgmt_error(
        &mgmt.delete(&format!("/clients/{id}")).await,
        404,
        "inexistent_client",
    );
}

#[tokio::test]
async fn mobile_settings_feed_app_links() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    mgmt.post(
        "/clients",
        json!({"name": "ios", "app_type": "native",
               "mobile": {"ios": {"team_id": "86WQXF56BC", "app_bundle_identifier": "com.example.app"}}}),
    )
    .await;
    mgmt.post(
        "/clients",
        json!({"name": "android", "app_type": "native",
               "mobile": {"android": {"app_package_name": "com.example.app", "sha256_cert_fingerprints": ["D8:A0:83"]}}}),
    )
    .await;
    let aasa = app
        .get_json("/.well-known/apple-app-site-association")
        .await;
    assert_eq!(
        aasa["applinks"]["details"],
        json!([{"appID": "86WQXF56BC.com.example.app", "paths": ["/ios/com.example.app/*"]}])
    );
    let links = app.get_json("/.well-known/assetlinks.json").await;
    assert_eq!(links[0]["target"]["package_name"], "com.example.app");
    assert_eq!(
        links[0]["target"]["sha256_cert_fingerprints"],
        json!(["D8:A0:83"])
    );
    assert_eq!(links.as_array().expect("array").len(), 1);
}

#[tokio::test]
async fn a_client_moving_from_auth0_keeps_its_id_and_secret() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let id = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";
    let secret = "kept-secret-from-auth0-0123456789-abcdefghijklmnop";
    let body = json!({"name": "Mobile", "app_type": "non_interactive", "client_id": id,
                      "client_secret": secret, "grant_types": ["client_credentials"]});
    // create:clients alone may not choose credentials.
    let plain = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("create:clients")).await,
    };
    let refused = plain.post("/clients", body.clone()).await;
    assert_eq!(refused.0, 403, "{}", refused.1);
    let (status, created) = mgmt.post("/clients", body.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["client_id"], id);
    assert_eq!(created["client_secret"], secret);
    // The kept secret authenticates the kept id.
    let audience = app.url("/api/v2/");
    let (status, grant) = mgmt
        .post(
            "/client-grants",
            json!({"client_id": id, "audience": audience, "scope": ["read:clients"]}),
        )
        .await;
    assert_eq!(status, 201, "{grant}");
    let token = app
        .client_credentials_token(id, secret, &audience, Some("read:clients"))
        .await;
    assert!(!token.is_empty());
    // An id in use is a conflict; bad ids and short secrets are refused; PATCH keeps ids.
    assert_mgmt_error(&mgmt.post("/clients", body).await, 409, "conflict");
    let (status, _) = mgmt
        .post("/clients", json!({"name": "X", "client_id": "has space"}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = mgmt
        .post("/clients", json!({"name": "X", "client_secret": "short"}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = mgmt
        .patch(&format!("/clients/{id}"), json!({"client_id": "other"}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn urls_and_metadata_keys_follow_auth0s_schema() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (status, ok) = mgmt
        .post(
            "/clients",
            json!({"name": "Native", "app_type": "native",
                   "callbacks": ["com.example.app://callback", "https://*.example.com/cb",
                                 "http://localhost:3000/cb"],
                   "web_origins": ["https://*.example.com", "http://localhost:3000"],
                   "allowed_logout_urls": ["https://example.com/bye"],
                   "client_aliases": ["not a url, and need not be"],
                   "client_metadata": {"team:name-1 (eu)": "core"}}),
        )
        .await;
    assert_eq!(status, 201, "{ok}");
    for body in [
        json!({"name": "X", "callbacks": ["not a url"]}),
        json!({"name": "X", "web_origins": ["example.com"]}),
        json!({"name": "X", "allowed_logout_urls": ["https://"]}),
        json!({"name": "X", "allowed_origins": ["://nothing"]}),
        json!({"name": "X", "client_metadata": {"wow!": "x"}}),
    ] {
        assert_mgmt_error(
            &mgmt.post("/clients", body.clone()).await,
            400,
            "invalid_body",
        );
    }
    let id = ok["client_id"].as_str().expect("id");
    assert_mgmt_error(
        &mgmt
            .patch(&format!("/clients/{id}"), json!({"callbacks": ["nope"]}))
            .await,
        400,
        "invalid_body",
    );
}
