//! Security review (2026-11) findings 2, 3, 14 and 15, as an attacker would try them: a
//! blocked user gets nothing from an old SSO session and cannot be linked; blocking or a new
//! password ends every session and refresh token (but the resetting browser's own session);
//! retired refresh tokens stay retired when a client stops rotating; an email verification
//! link verifies only the address it was sent to.

use gatehouse_core::id::UserId;
use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, client, spawn_app};
use crate::smtp::SmtpSink;

const CB: &str = "https://app.example/cb";
const DB: &str = "Username-Password-Authentication";
const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const EMAIL: &str = "lin@example.com";
const PASSWORD: &str = "Sup3r-secret!";
const BLOCKED: &str = "Your account has been blocked.";

struct World {
    web_id: String,
    web_secret: String,
}

/// A regular web app allowed every flow the attacks use.
async fn web_app(mgmt: &Mgmt<'_>) -> World {
    let (status, web) = mgmt
        .post(
            "/clients",
            json!({"name": "Web", "app_type": "regular_web", "callbacks": [CB],
                   "grant_types": ["authorization_code", "implicit", "refresh_token", REALM]}),
        )
        .await;
    assert_eq!(status, 201, "{web}");
    World {
        web_id: web["client_id"].as_str().expect("id").into(),
        web_secret: web["client_secret"].as_str().expect("secret").into(),
    }
}

/// The app and the user `lin@example.com`; returns the user's id.
async fn setup(app: &TestApp) -> (World, String) {
    let mgmt = app.mgmt().await;
    let world = web_app(&mgmt).await;
    let (status, user) = mgmt
        .post(
            "/users",
            json!({"connection": DB, "email": EMAIL, "password": PASSWORD, "verify_email": false}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    (world, user["user_id"].as_str().expect("id").into())
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn path_id(user_id: &str) -> String {
    user_id.replace('|', "%7C")
}

fn authorize_url(app: &TestApp, w: &World, response_type: &str, extra: &str) -> String {
    app.url(&format!(
        "/authorize?response_type={}&client_id={}&redirect_uri={}&scope={}&state=st&nonce=n{extra}",
        enc(response_type),
        w.web_id,
        enc(CB),
        enc("openid email offline_access")
    ))
}

fn tx_of(html: &str) -> String {
    let start = html.find("name=\"tx\" value=\"").expect("tx field") + 17;
    html[start..].split('"').next().expect("value").to_owned()
}

/// The authorization response's parameters (query or fragment).
fn response_params(r: &reqwest::Response) -> HashMap<String, String> {
    let location = r
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("a redirect, got {}", r.status()));
    let to = url::Url::parse(location.to_str().expect("ascii")).expect("url");
    let pairs = to.fragment().or(to.query()).unwrap_or_default().to_owned();
    url::form_urlencoded::parse(pairs.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A browser that logged in through the login page (and so holds an SSO session).
async fn browser_logged_in(app: &TestApp, w: &World, password: &str) -> reqwest::Client {
    let browser = client();
    let page = browser
        .get(authorize_url(app, w, "code", ""))
        .send()
        .await
        .expect("authorize");
    let html = page.text().await.expect("html");
    let r = browser
        .post(app.url("/u/login"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", EMAIL),
            ("password", password),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303);
    assert!(response_params(&r).contains_key("code"));
    browser
}

/// `prompt=none` with the browser's cookies.
async fn silent(
    app: &TestApp,
    w: &World,
    browser: &reqwest::Client,
    response_type: &str,
) -> HashMap<String, String> {
    let r = browser
        .get(authorize_url(app, w, response_type, "&prompt=none"))
        .send()
        .await
        .expect("authorize");
    response_params(&r)
}

/// The password-realm grant with `offline_access`: (status, body).
async fn password_login(app: &TestApp, w: &World, password: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", REALM),
            ("client_id", &w.web_id),
            ("client_secret", &w.web_secret),
            ("username", EMAIL),
            ("password", password),
            ("realm", DB),
            ("scope", "openid offline_access"),
        ])
        .send()
        .await
        .expect("token");
    (r.status().as_u16(), r.json().await.expect("json"))
}

async fn refresh_token_of(app: &TestApp, w: &World, password: &str) -> String {
    let (status, body) = password_login(app, w, password).await;
    assert_eq!(status, 200, "{body}");
    body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned()
}

async fn refresh(app: &TestApp, w: &World, token: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &w.web_id),
            ("client_secret", &w.web_secret),
            ("refresh_token", token),
        ])
        .send()
        .await
        .expect("token");
    (r.status().as_u16(), r.json().await.expect("json"))
}

/// Sets `blocked` behind the Management API's back, as a block from before this fix left
/// it: the user's sessions are still live.
async fn block_in_store(app: &TestApp, user_id: &str, blocked: bool) {
    let users = &app.state.stores.users;
    let mut user = users
        .user(&UserId::from(user_id))
        .await
        .expect("get")
        .expect("user");
    user.blocked = blocked;
    users.update_user(&user).await.expect("update");
}

/// Finding 2: the review's reproduction, then the proof that the block ended the session and
/// the refresh token (they stay dead after the user is unblocked).
#[tokio::test]
async fn blocking_ends_the_sso_session_and_refresh_tokens() {
    let app = spawn_app().await;
    let (w, user_id) = setup(&app).await;
    let mgmt = app.mgmt().await;
    let browser = browser_logged_in(&app, &w, PASSWORD).await;
    let rt = refresh_token_of(&app, &w, PASSWORD).await;
    assert!(silent(&app, &w, &browser, "id_token token").await["access_token"].len() > 10);

    let (status, _) = mgmt
        .patch(
            &format!("/users/{}", path_id(&user_id)),
            json!({"blocked": true}),
        )
        .await;
    assert_eq!(status, 200);
    let got = silent(&app, &w, &browser, "id_token token").await;
    assert!(
        !got.contains_key("access_token") && !got.contains_key("id_token"),
        "{got:?}"
    );
    assert!(got.contains_key("error"), "{got:?}");
    assert_ne!(refresh(&app, &w, &rt).await.0, 200);

    // Unblocking does not bring them back: they were ended, not just refused.
    mgmt.patch(
        &format!("/users/{}", path_id(&user_id)),
        json!({"blocked": false}),
    )
    .await;
    let (status, body) = refresh(&app, &w, &rt).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_grant"))
    );
    assert_eq!(
        silent(&app, &w, &browser, "code").await["error"],
        "login_required"
    );
}

/// Finding 2: whatever left a blocked user a live session, `/authorize` issues nothing:
/// `prompt=none` gets Auth0's `unauthorized` / "user is blocked", a person the login page's
/// blocked message; the session ends.
#[tokio::test]
async fn a_blocked_users_session_issues_nothing() {
    let app = spawn_app().await;
    let (w, user_id) = setup(&app).await;
    for response_type in ["id_token token", "code id_token", "code"] {
        // Each refusal ends the session: a fresh one for each response type.
        block_in_store(&app, &user_id, false).await;
        let browser = browser_logged_in(&app, &w, PASSWORD).await;
        block_in_store(&app, &user_id, true).await;
        let got = silent(&app, &w, &browser, response_type).await;
        assert_eq!(got["error"], "unauthorized", "{response_type}: {got:?}");
        assert_eq!(got["error_description"], "user is blocked");
        assert_eq!(got["state"], "st");
        assert!(!got.contains_key("code") && !got.contains_key("access_token"));
    }

    block_in_store(&app, &user_id, false).await;
    let person = browser_logged_in(&app, &w, PASSWORD).await;
    block_in_store(&app, &user_id, true).await;
    let page = person
        .get(authorize_url(&app, &w, "code", ""))
        .send()
        .await
        .expect("authorize");
    assert_eq!(page.status(), 200, "the login page, not a code");
    assert!(page.text().await.expect("html").contains(BLOCKED));
    block_in_store(&app, &user_id, false).await;
    assert_eq!(
        silent(&app, &w, &person, "code").await["error"],
        "login_required",
        "the blocked user's session ended"
    );
}

/// Finding 2: the consent path issues nothing to a blocked user.
#[tokio::test]
async fn consent_is_refused_to_a_blocked_user() {
    let app = spawn_app().await;
    let (w, user_id) = setup(&app).await;
    let mgmt = app.mgmt().await;
    mgmt.patch(
        &format!("/clients/{}", w.web_id),
        json!({"is_first_party": false}),
    )
    .await;
    let browser = client();
    let html = browser
        .get(authorize_url(&app, &w, "code", ""))
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("html");
    let consent = browser
        .post(app.url("/u/login"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(consent.status(), 200, "the consent screen");
    let tx = tx_of(&consent.text().await.expect("html"));
    block_in_store(&app, &user_id, true).await;
    let r = browser
        .post(app.url("/u/consent"))
        .form(&[("tx", tx.as_str()), ("decision", "accept")])
        .send()
        .await
        .expect("accept");
    assert!(
        r.headers().get("location").is_none(),
        "no authorization response"
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().await.expect("html").contains(BLOCKED));
}

/// Finding 2: linking refuses a blocked account on either side, so link-then-unlink cannot
/// launder a block (unlinking recreates the secondary unblocked).
#[tokio::test]
async fn blocked_accounts_cannot_be_linked_either_way() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let mut ids = Vec::new();
    for email in ["keeper@example.com", "blocked@example.com"] {
        let (status, u) = mgmt
            .post(
                "/users",
                json!({"connection": DB, "email": email, "password": PASSWORD, "verify_email": false}),
            )
            .await;
        assert_eq!(status, 201, "{u}");
        ids.push(u["user_id"].as_str().expect("id").to_owned());
    }
    let (keeper, blocked) = (&ids[0], &ids[1]);
    mgmt.patch(
        &format!("/users/{}", path_id(blocked)),
        json!({"blocked": true}),
    )
    .await;
    let link = |primary: &str, secondary: &str| {
        let mgmt = &mgmt;
        let (primary, secondary) = (primary.to_owned(), secondary.to_owned());
        async move {
            mgmt.post(
                &format!("/users/{}/identities", path_id(&primary)),
                json!({"provider": "auth0", "user_id": secondary.trim_start_matches("auth0|")}),
            )
            .await
        }
    };
    for (primary, secondary) in [(keeper, blocked), (blocked, keeper)] {
        let (status, body) = link(primary, secondary).await;
        assert_eq!(status, 400, "{primary} <- {secondary}: {body}");
        assert_eq!(body["errorCode"], "invalid_body", "{body}");
    }
    let (status, still) = mgmt.get(&format!("/users/{}", path_id(blocked))).await;
    assert_eq!((status, &still["blocked"]), (200, &json!(true)));
}

/// Finding 3, the review's reproduction: an attacker signs up with the victim's address first
/// and keeps a refresh token and a session; the victim's new password (set by an admin here)
/// ends both.
#[tokio::test]
async fn a_new_password_from_the_management_api_ends_the_old_access() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let w = web_app(&mgmt).await;
    let r = app
        .client
        .post(app.url("/dbconnections/signup"))
        .json(
            &json!({"client_id": w.web_id, "connection": DB, "email": EMAIL,
                      "password": "Attack3r-pw!"}),
        )
        .send()
        .await
        .expect("signup");
    assert_eq!(r.status(), 200);
    let user_id = format!(
        "auth0|{}",
        r.json::<Value>().await.expect("json")["_id"]
            .as_str()
            .expect("id")
    );
    let attacker = browser_logged_in(&app, &w, "Attack3r-pw!").await;
    let rt = refresh_token_of(&app, &w, "Attack3r-pw!").await;

    let (status, body) = mgmt
        .patch(
            &format!("/users/{}", path_id(&user_id)),
            json!({"password": "Victim-s3cret!"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = refresh(&app, &w, &rt).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_grant"))
    );
    assert_eq!(
        silent(&app, &w, &attacker, "code").await["error"],
        "login_required"
    );
    // A PATCH that changes no password ends nothing.
    let rt = refresh_token_of(&app, &w, "Victim-s3cret!").await;
    mgmt.patch(
        &format!("/users/{}", path_id(&user_id)),
        json!({"name": "Lin"}),
    )
    .await;
    assert_eq!(refresh(&app, &w, &rt).await.0, 200);
}

/// Finding 3 on the reset page: every other session and every refresh token end; the browser
/// that set the new password keeps its session.
#[tokio::test]
async fn a_password_reset_ends_every_other_session_and_refresh_token() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let (w, _) = setup(&app).await;
    let mgmt = app.mgmt().await;
    mgmt.post("/emails/provider", json!({"name": "smtp", "default_from_address": "id@example.com",
        "credentials": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_user": "", "smtp_pass": ""}}))
        .await;
    let thief = browser_logged_in(&app, &w, PASSWORD).await;
    let stolen = refresh_token_of(&app, &w, PASSWORD).await;
    let owner = browser_logged_in(&app, &w, PASSWORD).await;

    let r = owner
        .post(app.url("/dbconnections/change_password"))
        .json(&json!({"email": EMAIL, "connection": DB}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let link = crate::smtp::link_in(&smtp.next_mail().await, "/u/reset-password?ticket=");
    let ticket = link.split("ticket=").nth(1).expect("ticket").to_owned();
    let done = owner
        .post(app.url("/u/reset-password"))
        .form(&[("ticket", ticket.as_str()), ("password", "N3w-secret-pw!")])
        .send()
        .await
        .expect("reset");
    assert_eq!(done.status(), 200);

    assert_eq!(refresh(&app, &w, &stolen).await.0, 403);
    assert_eq!(
        silent(&app, &w, &thief, "code").await["error"],
        "login_required"
    );
    assert!(
        silent(&app, &w, &owner, "code").await.contains_key("code"),
        "the browser that reset the password stays logged in"
    );
}

/// Finding 14: a token retired while the client rotated stays retired after the client
/// switches to non-rotating tokens; presenting it is a reuse, which revokes the family.
#[tokio::test]
async fn retired_refresh_tokens_stay_retired_when_rotation_stops() {
    let app = spawn_app().await;
    let (w, _) = setup(&app).await;
    let mgmt = app.mgmt().await;
    let (status, body) = mgmt
        .patch(
            &format!("/clients/{}", w.web_id),
            json!({"refresh_token": {"rotation_type": "rotating", "expiration_type": "expiring"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let first = refresh_token_of(&app, &w, PASSWORD).await;
    let (status, body) = refresh(&app, &w, &first).await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"]
        .as_str()
        .expect("a rotated successor")
        .to_owned();
    mgmt.patch(
        &format!("/clients/{}", w.web_id),
        json!({"refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring"}}),
    )
    .await;
    let (status, body) = refresh(&app, &w, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "the retired token is not revived"
    );
    assert_eq!(
        refresh(&app, &w, &second).await.0,
        403,
        "the reuse revoked its family"
    );
}

/// Finding 15: a verification link verifies the address it was sent to, never the one the
/// user has when it is opened.
#[tokio::test]
async fn a_verification_link_verifies_only_its_own_address() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    mgmt.post("/emails/provider", json!({"name": "smtp", "default_from_address": "id@example.com",
        "credentials": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_user": "", "smtp_pass": ""}}))
        .await;
    let (status, user) = mgmt
        .post(
            "/users",
            json!({"connection": DB, "email": "old@example.com", "password": PASSWORD, "verify_email": true}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = path_id(user["user_id"].as_str().expect("id"));
    let mail = smtp.next_mail().await;
    assert!(mail.contains("To: old@example.com"), "{mail}");
    let link = crate::smtp::link_in(&mail, "/u/email-verification?ticket=");
    mgmt.patch(&format!("/users/{id}"), json!({"email": "new@example.com"}))
        .await;

    let page = client().get(app.url(&link)).send().await.expect("verify");
    assert_eq!(page.status(), 400);
    assert!(
        page.text().await.expect("html").contains("no longer uses"),
        "a clear error page"
    );
    let (_, after) = mgmt.get(&format!("/users/{id}")).await;
    assert_eq!(
        (&after["email"], &after["email_verified"]),
        (&json!("new@example.com"), &json!(false))
    );
    let (_, logs) = mgmt.get("/logs?q=type%3Afv").await;
    assert_eq!(logs.as_array().expect("logs").len(), 1, "{logs}");
}

/// Finding 2: a block set by a users-import upsert ends the user's access as PATCH does.
#[tokio::test]
async fn an_import_upsert_that_blocks_ends_the_users_access() {
    let app = spawn_app().await;
    let (w, _) = setup(&app).await;
    let mgmt = app.mgmt().await;
    let browser = browser_logged_in(&app, &w, PASSWORD).await;
    let rt = refresh_token_of(&app, &w, PASSWORD).await;
    let (_, list) = mgmt.get(&format!("/connections?name={DB}")).await;
    let connection_id = list[0]["id"].as_str().expect("id").to_owned();
    let users = json!([{"email": EMAIL, "blocked": true}]).to_string();
    let (status, job) = crate::mgmt_jobs::import(
        &mgmt,
        &[("connection_id", &connection_id), ("upsert", "true")],
        Some(users.as_bytes()),
    )
    .await;
    assert_eq!(
        (status, &job["summary"]["updated"]),
        (201, &json!(1)),
        "{job}"
    );

    let (_, list) = mgmt.get(&format!("/users-by-email?email={EMAIL}")).await;
    let user_id = list[0]["user_id"].as_str().expect("id").to_owned();
    assert_eq!(list[0]["blocked"], true);
    mgmt.patch(
        &format!("/users/{}", path_id(&user_id)),
        json!({"blocked": false}),
    )
    .await;
    assert_eq!(refresh(&app, &w, &rt).await.0, 403);
    assert_eq!(
        silent(&app, &w, &browser, "code").await["error"],
        "login_required"
    );
}
