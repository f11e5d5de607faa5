//! The sessions API (`/users/{id}/sessions`, `/sessions/{id}`) and OpenID Connect Back-Channel
//! Logout: whichever way a session ends (logout, the API, a block), each application it
//! answered that asks for it gets a signed logout token.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, State};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::helpers::{TestApp, assert_mgmt_error, jwt_claims, spawn_app};
use crate::security_logout::{Web, has_session, logged_in, logged_in_with, refresh, setup};

/// A relying party's back-channel logout endpoint: every `logout_token` it is sent.
struct Receiver {
    url: String,
    tokens: mpsc::UnboundedReceiver<String>,
}

impl Receiver {
    async fn start() -> Self {
        let (send, tokens) = mpsc::unbounded_channel();
        let app = Router::new()
            .route(
                "/bcl",
                post(
                    |State(s): State<Arc<mpsc::UnboundedSender<String>>>,
                     Form(f): Form<std::collections::HashMap<String, String>>| async move {
                        if let Some(t) = f.get("logout_token") {
                            s.send(t.clone()).ok();
                        }
                        axum::http::StatusCode::OK
                    },
                ),
            )
            .with_state(Arc::new(send));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/bcl", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, tokens }
    }

    async fn next(&mut self) -> String {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.tokens.recv())
            .await
            .expect("a logout token within 10 s")
            .expect("token")
    }
}

async fn with_backchannel(app: &TestApp, web: &Web, url: &str) {
    let (status, body) = app
        .mgmt()
        .await
        .patch(
            &format!("/clients/{}", web.id),
            json!({"oidc_logout": {"backchannel_logout_urls": [url]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Checks a logout token as a relying party must (OIDC Back-Channel Logout 1.0, 2.6).
async fn check_logout_token(app: &TestApp, token: &str, web: &Web, sid: &str, sub: &str) {
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').next().expect("header"),
        )
        .expect("b64"),
    )
    .expect("json");
    assert_eq!(header["typ"], "logout+jwt");
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let key = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("signed with a published key");
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().expect("n"),
        key["e"].as_str().expect("e"),
    )
    .expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[web.id.as_str()]);
    validation.set_issuer(&[format!("{}/", app.address)]);
    let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .expect("a valid signature, audience and issuer")
        .claims;
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["sub"], sub);
    assert_eq!(
        claims["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(claims["jti"].is_string() && claims["iat"].is_i64());
    assert!(
        claims.get("nonce").is_none(),
        "a logout token never has a nonce"
    );
}

#[tokio::test]
async fn sessions_are_listed_and_ended_through_the_api() {
    let app = spawn_app().await;
    let web = setup(&app).await;
    let m = app.mgmt().await;
    let (browser, id_token) = logged_in(&app, &web, "lin@example.com").await;
    let claims = jwt_claims(&id_token);
    let (user, sid) = (
        claims["sub"].as_str().expect("sub"),
        claims["sid"].as_str().expect("sid"),
    );
    let user_path = format!("/users/{}/sessions", user.replace('|', "%7C"));

    let (status, list) = m.get(&user_path).await;
    assert_eq!(status, 200, "{list}");
    let sessions = list["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 1, "{list}");
    assert_eq!(
        sessions[0]["id"], sid,
        "the session id is the ID token's sid"
    );
    assert_eq!(sessions[0]["clients"], json!([{"client_id": web.id}]));
    assert_eq!(
        sessions[0]["device"],
        json!({"initial_ip": "127.0.0.1", "initial_user_agent": crate::helpers::BROWSER})
    );
    let (status, one) = m.get(&format!("/sessions/{sid}")).await;
    assert_eq!(status, 200);
    assert_eq!(one, sessions[0]);

    let (status, _) = m.delete(&format!("/sessions/{sid}")).await;
    assert_eq!(status, 202);
    assert!(
        !has_session(&app, &web, &browser).await,
        "the browser is logged out"
    );
    assert_mgmt_error(
        &m.get(&format!("/sessions/{sid}")).await,
        404,
        "inexistent_session",
    );
    assert_mgmt_error(
        &m.delete(&format!("/sessions/{sid}")).await,
        404,
        "inexistent_session",
    );

    // Every session of a user at once.
    let (first, _) = logged_in(&app, &web, "lin@example.com").await;
    let (second, _) = logged_in(&app, &web, "lin@example.com").await;
    assert_eq!(
        m.get(&user_path).await.1["sessions"]
            .as_array()
            .expect("list")
            .len(),
        2
    );
    let (status, _) = m.delete(&user_path).await;
    assert_eq!(status, 202);
    assert!(!has_session(&app, &web, &first).await && !has_session(&app, &web, &second).await);
    assert_eq!(m.get(&user_path).await.1, json!({"sessions": []}));

    let outsider = crate::helpers::Mgmt {
        app: &app,
        token: app.mgmt_token(Some("read:users")).await,
    };
    assert_mgmt_error(&outsider.get(&user_path).await, 403, "insufficient_scope");
}

#[tokio::test]
async fn applications_hear_of_every_ended_session_by_back_channel() {
    let app = spawn_app().await;
    let web = setup(&app).await;
    let mut rp = Receiver::start().await;
    with_backchannel(&app, &web, &rp.url).await;
    let discovery = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);

    // Logout at /oidc/logout.
    let (browser, id_token) = logged_in(&app, &web, "lin@example.com").await;
    let claims = jwt_claims(&id_token);
    let sub = claims["sub"].as_str().expect("sub").to_owned();
    let r = browser
        .get(app.url(&format!("/oidc/logout?id_token_hint={id_token}")))
        .send()
        .await
        .expect("logout");
    assert!(
        r.status().is_redirection() || r.status() == 200,
        "{}",
        r.status()
    );
    let token = rp.next().await;
    check_logout_token(
        &app,
        &token,
        &web,
        claims["sid"].as_str().expect("sid"),
        &sub,
    )
    .await;

    // The Management API ending a session.
    let (_, id_token) = logged_in(&app, &web, "lin@example.com").await;
    let sid = jwt_claims(&id_token)["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    let m = app.mgmt().await;
    assert_eq!(m.delete(&format!("/sessions/{sid}")).await.0, 202);
    check_logout_token(&app, &rp.next().await, &web, &sid, &sub).await;

    // Blocking the user ends their sessions.
    let (_, id_token) = logged_in(&app, &web, "lin@example.com").await;
    let sid = jwt_claims(&id_token)["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    let (status, _) = m
        .patch(
            &format!("/users/{}", sub.replace('|', "%7C")),
            json!({"blocked": true}),
        )
        .await;
    assert_eq!(status, 200);
    check_logout_token(&app, &rp.next().await, &web, &sid, &sub).await;
}

#[tokio::test]
async fn back_channel_urls_must_be_https_or_loopback() {
    let app = spawn_app().await;
    let web = setup(&app).await;
    let m = app.mgmt().await;
    for bad in [
        json!({"backchannel_logout_urls": ["http://app.example/bcl"]}),
        json!({"backchannel_logout_urls": "https://app.example/bcl"}),
        json!({"backchannel_logout_urls": ["https://app.example/bcl#x"]}),
    ] {
        assert_mgmt_error(
            &m.patch(&format!("/clients/{}", web.id), json!({"oidc_logout": bad}))
                .await,
            400,
            "invalid_body",
        );
    }
    let (status, c) = m
        .patch(
            &format!("/clients/{}", web.id),
            json!({"oidc_logout": {"backchannel_logout_urls": ["https://app.example/bcl"],
                                   "backchannel_logout_initiators": {"mode": "all"}}}),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        c["oidc_logout"]["backchannel_logout_initiators"]["mode"],
        "all"
    );
}

#[tokio::test]
async fn revoking_a_session_revokes_the_refresh_tokens_of_its_logins() {
    let app = spawn_app().await;
    let web = setup(&app).await;
    let m = app.mgmt().await;
    let scope = "openid offline_access";
    let (_, first) = logged_in_with(&app, &web, "lin@example.com", scope).await;
    let (_, second) = logged_in_with(&app, &web, "lin@example.com", scope).await;
    let token = |t: &Value, k: &str| t[k].as_str().expect(k).to_owned();
    let sid = jwt_claims(&token(&first, "id_token"))["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    // A rotation keeps the family bound to its session.
    let (status, rotated) = refresh(&app, &web, &token(&first, "refresh_token")).await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(
        jwt_claims(&token(&rotated, "id_token"))["sid"],
        sid.as_str()
    );

    // A rotating client gets a successor; a non-rotating one keeps its token.
    let current = rotated
        .get("refresh_token")
        .and_then(Value::as_str)
        .map_or_else(|| token(&first, "refresh_token"), str::to_owned);
    assert_eq!(
        m.post(&format!("/sessions/{sid}/revoke"), json!({}))
            .await
            .0,
        202
    );
    let (status, body) = refresh(&app, &web, &current).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "{body}"
    );
    // The other login's session and refresh token are untouched.
    let (status, body) = refresh(&app, &web, &token(&second, "refresh_token")).await;
    assert_eq!(status, 200, "{body}");
    let current = body
        .get("refresh_token")
        .and_then(Value::as_str)
        .map_or_else(|| token(&second, "refresh_token"), str::to_owned);
    // A session already ended still has its tokens revoked on request.
    let sid = jwt_claims(&token(&second, "id_token"))["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    assert_eq!(m.delete(&format!("/sessions/{sid}")).await.0, 202);
    assert_eq!(
        m.post(&format!("/sessions/{sid}/revoke"), json!({}))
            .await
            .0,
        202
    );
    assert_eq!(refresh(&app, &web, &current).await.0, 403);
    assert_mgmt_error(
        &m.post("/sessions/no-such-session/revoke", json!({})).await,
        404,
        "inexistent_session",
    );
}
