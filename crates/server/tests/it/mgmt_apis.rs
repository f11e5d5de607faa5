//! `/api/v2/resource-servers`, `/api/v2/client-grants` and `/api/v2/keys/signing`.

use serde_json::{Value, json};

use crate::helpers::{assert_mgmt_error, spawn_app};

#[tokio::test]
async fn resource_servers_by_id_or_identifier() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (status, rs) = mgmt
        .post(
            "/resource-servers",
            json!({"name": "Reports", "identifier": "https://reports.example/",
                   "scopes": [{"value": "read:reports", "description": "Read reports"}],
                   "token_lifetime": 600}),
        )
        .await;
    assert_eq!(status, 201, "{rs}");
    assert_eq!(rs["is_system"], false);
    assert_eq!(rs["signing_alg"], "RS256");
    let id = rs["id"].as_str().expect("id");
    assert_eq!(mgmt.get(&format!("/resource-servers/{id}")).await.1, rs);
    let by_identifier = urlencode("https://reports.example/");
    assert_eq!(
        mgmt.get(&format!("/resource-servers/{by_identifier}"))
            .await
            .1,
        rs
    );

    assert_mgmt_error(
        &mgmt
            .post(
                "/resource-servers",
                json!({"identifier": "https://reports.example/"}),
            )
            .await,
        409,
        "conflict",
    );
    for bad in [
        json!({}),
        json!({"identifier": "x", "token_lifetime": 0}),
        json!({"identifier": "x", "scopes": [{"value": "has space"}]}),
        json!({"identifier": "x", "signing_alg": "none"}),
        json!({"identifier": "x", "bogus": true}),
    ] {
        assert_mgmt_error(
            &mgmt.post("/resource-servers", bad).await,
            400,
            "invalid_body",
        );
    }
    let (status, patched) = mgmt
        .patch(
            &format!("/resource-servers/{id}"),
            json!({"name": "Reports v2", "allow_offline_access": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(patched["name"], "Reports v2");
    assert_eq!(patched["allow_offline_access"], true);
    assert_mgmt_error(
        &mgmt
            .patch(
                &format!("/resource-servers/{id}"),
                json!({"identifier": "https://other/"}),
            )
            .await,
        400,
        "invalid_body",
    );

    let (_, picked) = mgmt
        .get(&format!(
            "/resource-servers?identifiers={by_identifier}&identifiers=https%3A%2F%2Fnone"
        ))
        .await;
    assert_eq!(picked.as_array().expect("array").len(), 1);
    assert_eq!(picked[0]["id"], rs["id"]);

    // The Management API itself cannot be changed or deleted.
    let (_, list) = mgmt.get("/resource-servers?include_totals=true").await;
    // The Management API, the Authorization Extension's, and the one made here.
    assert_eq!(list["total"], 3);
    let system = list["resource_servers"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["is_system"] == true)
        .expect("management api")
        .clone();
    let sys_id = system["id"].as_str().expect("id");
    assert_eq!(
        mgmt.delete(&format!("/resource-servers/{sys_id}")).await.0,
        403
    );

    assert_eq!(mgmt.delete(&format!("/resource-servers/{id}")).await.0, 204);
    assert_mgmt_error(
        &mgmt.get(&format!("/resource-servers/{id}")).await,
        404,
        "inexistent_resource_server",
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn client_grants_validate_scopes_and_page_by_checkpoint() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    mgmt.post(
        "/resource-servers",
        json!({"identifier": "https://api.example", "scopes": [{"value": "read:a"}, {"value": "write:a"}]}),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (_, c) = mgmt
            .post(
                "/clients",
                json!({"name": format!("m{i}"), "app_type": "non_interactive"}),
            )
            .await;
        ids.push(c["client_id"].as_str().expect("id").to_owned());
    }
    let (status, g) = mgmt
        .post(
            "/client-grants",
            json!({"client_id": ids[0], "audience": "https://api.example", "scope": ["read:a"]}),
        )
        .await;
    assert_eq!(status, 201, "{g}");
    assert!(g["id"].as_str().expect("id").starts_with("cgr_"));
    let (status, got) = mgmt
        .get(&format!("/client-grants/{}", g["id"].as_str().expect("id")))
        .await;
    assert_eq!((status, &got), (200, &g));
    assert_mgmt_error(
        &mgmt.get("/client-grants/cgr_nope").await,
        404,
        "inexistent_client_grant",
    );
    assert_mgmt_error(
        &mgmt
            .post(
                "/client-grants",
                json!({"client_id": ids[0], "audience": "https://api.example", "scope": []}),
            )
            .await,
        409,
        "conflict",
    );
    assert_mgmt_error(
        &mgmt
            .post(
                "/client-grants",
                json!({"client_id": ids[1], "audience": "https://api.example", "scope": ["delete:everything"]}),
            )
            .await,
        400,
        "invalid_body",
    );
    assert_mgmt_error(
        &mgmt
            .post(
                "/client-grants",
                json!({"client_id": ids[1], "audience": "https://nope.example", "scope": []}),
            )
            .await,
        404,
        "inexistent_resource_server",
    );
    assert_mgmt_error(
        &mgmt
            .post(
                "/client-grants",
                json!({"client_id": "ghost", "audience": "https://api.example", "scope": []}),
            )
            .await,
        404,
        "inexistent_client",
    );
    for id in &ids[1..] {
        mgmt.post(
            "/client-grants",
            json!({"client_id": id, "audience": "https://api.example", "scope": ["write:a"]}),
        )
        .await;
    }
    // Checkpoint paging, as auth0-python does it: follow `next` until it is gone.
    let mut seen = Vec::new();
    let mut from = String::new();
    loop {
        let (status, page) = mgmt
            .get(&format!(
                "/client-grants?audience={}&take=2&from={from}",
                urlencode("https://api.example")
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        for g in page["client_grants"].as_array().expect("items") {
            seen.push(g["client_id"].as_str().expect("client").to_owned());
        }
        match page.get("next").and_then(Value::as_str) {
            Some(next) => from = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let (_, mine) = mgmt
        .get(&format!("/client-grants?client_id={}", ids[2]))
        .await;
    assert_eq!(mine.as_array().expect("array").len(), 1);

    let gid = g["id"].as_str().expect("id");
    let (status, updated) = mgmt
        .patch(
            &format!("/client-grants/{gid}"),
            json!({"scope": ["read:a", "write:a"]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["scope"], json!(["read:a", "write:a"]));
    assert_eq!(mgmt.delete(&format!("/client-grants/{gid}")).await.0, 204);
    assert_mgmt_error(
        &mgmt.delete(&format!("/client-grants/{gid}")).await,
        404,
        "inexistent_client_grant",
    );
}

#[tokio::test]
async fn signing_keys_list_and_rotate() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (status, keys) = mgmt.get("/keys/signing").await;
    assert_eq!(status, 200);
    let keys = keys.as_array().expect("bare array").clone();
    assert_eq!(keys.len(), 2);
    let current = keys.iter().find(|k| k["current"] == true).expect("current");
    let next = keys.iter().find(|k| k["next"] == true).expect("next");
    assert!(
        current["cert"]
            .as_str()
            .expect("cert")
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(current["fingerprint"].as_str().expect("fp").len(), 59);
    assert_eq!(current["thumbprint"].as_str().expect("tp").len(), 40);
    let (_, one) = mgmt
        .get(&format!(
            "/keys/signing/{}",
            current["kid"].as_str().expect("kid")
        ))
        .await;
    assert_eq!(&one, current);

    let old_token = mgmt.token.clone();
    let (status, rotated) = mgmt.post("/keys/signing/rotate", json!({})).await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(rotated["kid"], next["kid"], "next became current");
    let jwks = app.get_json("/.well-known/jwks.json").await;
    assert_eq!(jwks["keys"][0]["kid"], next["kid"]);
    assert_eq!(jwks["keys"].as_array().expect("keys").len(), 3);
    // The token signed by the now previous key still opens the Management API.
    let still = crate::helpers::Mgmt {
        app: &app,
        token: old_token,
    };
    assert_eq!(still.get("/keys/signing").await.0, 200);

    // Revoking the previous key: out of the JWKS, and its tokens no longer work; the current
    // key cannot be revoked.
    let previous = current["kid"].as_str().expect("kid");
    let revoke = |kid: String| {
        let mgmt = &mgmt;
        async move {
            mgmt.send(
                reqwest::Method::PUT,
                &format!("/keys/signing/{kid}/revoke"),
                None,
            )
            .await
        }
    };
    assert_mgmt_error(
        &revoke(next["kid"].as_str().expect("kid").to_owned()).await,
        400,
        "invalid_body",
    );
    assert_mgmt_error(
        &revoke("nope".to_owned()).await,
        404,
        "inexistent_signing_key",
    );
    let (status, revoked) = revoke(previous.to_owned()).await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["kid"], previous);
    let jwks = app.get_json("/.well-known/jwks.json").await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(!kids.contains(&previous), "{kids:?}");
    // `mgmt`'s own token was signed by the revoked key too.
    assert_eq!(still.get("/keys/signing").await.0, 401);
    assert_eq!(mgmt.get("/keys/signing").await.0, 401);
    let fresh = app.mgmt().await;
    let (_, shown) = fresh.get(&format!("/keys/signing/{previous}")).await;
    assert_eq!(shown["revoked"], true, "{shown}");
}
