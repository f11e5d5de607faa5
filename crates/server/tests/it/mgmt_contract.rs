//! The Management API as a whole: its OpenAPI document, scopes that match the route table,
//! and no input that makes any operation answer 500.

use gatehouse_server::mgmt::spec::OPERATIONS;
use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, spawn_app};

fn concrete(path: &str) -> String {
    path.replace("{id}", "auth0%7Cnobody")
        .replace("{kid}", "nokid")
}

fn method(m: &str) -> reqwest::Method {
    reqwest::Method::from_bytes(m.to_uppercase().as_bytes()).expect("method")
}

#[tokio::test]
async fn openapi_document() {
    let app = spawn_app().await;
    let r = app.get("/api/v2/openapi.json").await;
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    let ops: usize = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|p| p.as_object().expect("item").len())
        .sum();
    assert_eq!(ops, OPERATIONS.len());
    let issuer = format!("{}/", app.address);
    let stable: Value = serde_json::from_str(
        &serde_json::to_string(&doc)
            .expect("json")
            .replace(&issuer, "https://issuer.example/"),
    )
    .expect("json");
    insta::assert_json_snapshot!(stable, {".info.version" => "[version]"});
}

#[tokio::test]
async fn scopes_in_the_route_table_are_the_ones_enforced() {
    let app = spawn_app().await;
    let outsider = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("read:device_credentials")).await,
    };
    for op in OPERATIONS {
        let body = op.body.then(|| json!({}));
        let (status, err) = outsider
            .send(method(op.method), &concrete(op.path), body)
            .await;
        assert_eq!(status, 403, "{} {}: {err}", op.method, op.path);
        let message = err["message"].as_str().expect("message");
        let listed: Vec<&str> = message
            .strip_prefix("Insufficient scope, expected any of: ")
            .unwrap_or_else(|| panic!("{} {}: {message}", op.method, op.path))
            .split(',')
            .collect();
        if op.all_of {
            assert!(
                listed.iter().all(|s| op.scopes.contains(s)),
                "{} {}: {listed:?}",
                op.method,
                op.path
            );
        } else {
            let mut want: Vec<&str> = op.scopes.to_vec();
            let mut got = listed.clone();
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "{} {}", op.method, op.path);
        }
    }
}

#[tokio::test]
async fn no_input_makes_an_operation_fail_with_500() {
    // Limits off: every request must reach its handler, not a 429.
    let app = TestApp::builder()
        .env("GATEHOUSE_RATE_LIMIT_MGMT", "off")
        .spawn()
        .await;
    let mgmt = app.mgmt().await;
    let bodies = [
        None,
        Some("{"),
        Some("[]"),
        Some("\"text\""),
        Some("null"),
        Some("{\"name\": {\"deep\": [1, 2, {\"x\": null}]}, \"id\": 1e400}"),
    ];
    for op in OPERATIONS {
        for query in [
            "",
            "?page=-1&per_page=abc&include_totals=maybe&take=0&from=x&q=(((&sort=x",
        ] {
            for body in bodies {
                let mut req = app
                    .client
                    .request(
                        method(op.method),
                        app.url(&format!("/api/v2{}{query}", concrete(op.path))),
                    )
                    .bearer_auth(&mgmt.token);
                if let Some(b) = body {
                    req = req.header("content-type", "application/json").body(b);
                }
                let r = req.send().await.expect("request");
                let status = r.status().as_u16();
                let text = r.text().await.expect("body");
                assert!(
                    status < 500,
                    "{} {}{query} {body:?}: {status} {text}",
                    op.method,
                    op.path
                );
                if status >= 400 {
                    let v: Value = serde_json::from_str(&text).expect("JSON error body");
                    assert_eq!(v["statusCode"], status, "{text}");
                    assert!(
                        v["errorCode"].is_string() && v["message"].is_string(),
                        "{text}"
                    );
                }
            }
        }
    }
}
