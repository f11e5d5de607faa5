//! `fetch` in Actions: off unless `GATEHOUSE_ACTIONS_FETCH` names the origin; then a real
//! HTTP call from the action (headers and secrets out, JSON back into a claim), its waiting
//! not counted against the action's 100 ms, and other origins refused.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use serde_json::json;
use tokio::sync::Mutex;

use crate::actions::{bound, login, web_app};
use crate::helpers::{Mgmt, TestApp, jwt_claims};

/// An API on loopback: `/tier` answers after `delay` with the caller's Authorization header
/// noted.
async fn api(delay: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tier = move |State(seen): State<Arc<Mutex<Vec<String>>>>, headers: HeaderMap| async move {
        tokio::time::sleep(delay).await;
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        seen.lock().await.push(auth);
        axum::Json(json!({"tier": "gold"}))
    };
    let app = Router::new()
        .route("/tier", get(tier))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn bind_post_login(m: &Mgmt<'_>, code: &str) {
    bound(
        m,
        "post-login",
        "enrich",
        code,
        json!([{"name": "API_KEY", "value": "k-123"}]),
    )
    .await;
}

const ENRICH: &str = "exports.onExecutePostLogin = async (event, api) => {
  const res = await fetch(event.secrets.URL + '/tier', {
    headers: { Authorization: 'Bearer ' + event.secrets.API_KEY }
  });
  if (!res.ok) { throw new Error('tier lookup failed: ' + res.status); }
  const body = await res.json();
  api.idToken.setCustomClaim('https://example.com/tier', body.tier);
};";

#[tokio::test]
async fn an_allowed_origin_is_called_and_its_wait_is_not_the_actions_time() {
    // A second of waiting, ten times the action's own 100 ms.
    let (url, seen) = api(Duration::from_secs(1)).await;
    let app = TestApp::builder()
        .env("GATEHOUSE_ACTIONS_FETCH", &url)
        .spawn()
        .await;
    let m = app.mgmt().await;
    bind_post_login(
        &m,
        &ENRICH.replace("event.secrets.URL", &format!("'{url}'")),
    )
    .await;
    let web = web_app(&m).await;
    let (status, tokens) = login(&app, &web, "ada@example.com").await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_claims(tokens["id_token"].as_str().expect("id token"));
    assert_eq!(claims["https://example.com/tier"], "gold");
    assert_eq!(*seen.lock().await, vec!["Bearer k-123".to_owned()]);
}

#[tokio::test]
async fn other_origins_and_servers_without_the_setting_refuse_the_call() {
    let (url, seen) = api(Duration::ZERO).await;
    for allowed in [None, Some("https://api.example.com")] {
        let mut builder = TestApp::builder();
        if let Some(origin) = allowed {
            builder = builder.env("GATEHOUSE_ACTIONS_FETCH", origin);
        }
        let app = builder.spawn().await;
        let m = app.mgmt().await;
        bind_post_login(
            &m,
            &ENRICH.replace("event.secrets.URL", &format!("'{url}'")),
        )
        .await;
        let web = web_app(&m).await;
        let (status, body) = login(&app, &web, "ada@example.com").await;
        assert_eq!(status, 403, "{body}");
        let why = body["error_description"].as_str().expect("description");
        let expected = if allowed.is_some() {
            "is not an origin this server lets Actions call"
        } else {
            "fetch is turned off on this server"
        };
        assert!(why.contains(expected), "{why}");
    }
    assert!(seen.lock().await.is_empty(), "nothing reached the API");
}
