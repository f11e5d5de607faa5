//! The password grants, ID tokens, `/userinfo`, refresh tokens (rotation and reuse
//! detection) and `/oauth/revoke`.

use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, spawn_app};

const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const API: &str = "https://reports.example/";

struct Setup {
    client_id: String,
    secret: String,
    user_id: String,
}

async fn setup(app: &TestApp, mgmt: &Mgmt<'_>, refresh: Value) -> Setup {
    mgmt.post(
        "/resource-servers",
        json!({"identifier": API, "scopes": [{"value": "read:reports"}], "allow_offline_access": true}),
    )
    .await;
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "backend", "app_type": "regular_web",
                   "grant_types": [REALM, "password", "refresh_token"], "refresh_token": refresh}),
        )
        .await;
    let (_, u) = mgmt
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": "ada@example.com",
                   "password": "Sup3r-secret!", "name": "Ada Lovelace", "email_verified": true}),
        )
        .await;
    let _ = app;
    Setup {
        client_id: c["client_id"].as_str().expect("id").into(),
        secret: c["client_secret"].as_str().expect("secret").into(),
        user_id: u["user_id"].as_str().expect("id").into(),
    }
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .expect("request");
    (r.status().as_u16(), r.json().await.expect("json"))
}

async fn login(app: &TestApp, s: &Setup, scope: &str) -> (u16, Value) {
    token(
        app,
        &[
            ("grant_type", REALM),
            ("client_id", &s.client_id),
            ("client_secret", &s.secret),
            ("username", "ada@example.com"),
            ("password", "Sup3r-secret!"),
            ("realm", "Username-Password-Authentication"),
            ("audience", API),
            ("scope", scope),
        ],
    )
    .await
}

async fn refresh(app: &TestApp, s: &Setup, rt: &str) -> (u16, Value) {
    token(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &s.client_id),
            ("client_secret", &s.secret),
            ("refresh_token", rt),
        ],
    )
    .await
}

async fn verify(app: &TestApp, jwt: &str, aud: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(app.get_json("/.well-known/jwks.json").await).expect("jwks");
    let kid = jsonwebtoken::decode_header(jwt)
        .expect("header")
        .kid
        .expect("kid");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).expect("key")).expect("key");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[aud]);
    v.set_issuer(&[format!("{}/", app.address)]);
    jsonwebtoken::decode::<Value>(jwt, &key, &v)
        .expect("verifies")
        .claims
}

#[tokio::test]
async fn password_realm_login_issues_auth0_tokens() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let s = setup(
        &app,
        &mgmt,
        json!({"rotation_type": "non-rotating", "expiration_type": "non-expiring"}),
    )
    .await;
    let (status, body) = login(
        &app,
        &s,
        "openid profile email offline_access read:reports admin",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["scope"], "openid profile email offline_access read:reports",
        "unknown scopes dropped"
    );
    assert!(
        body["refresh_token"]
            .as_str()
            .expect("rt")
            .starts_with("v1.")
    );
    let at = verify(&app, body["access_token"].as_str().expect("at"), API).await;
    assert_eq!(at["sub"], s.user_id.as_str());
    assert_eq!(at["azp"], s.client_id.as_str());
    assert_eq!(at["gty"], "password");
    assert_eq!(at["aud"], json!([API, format!("{}/userinfo", app.address)]));
    let id = verify(
        &app,
        body["id_token"].as_str().expect("id token"),
        &s.client_id,
    )
    .await;
    assert_eq!(id["sub"], s.user_id.as_str());
    assert_eq!(id["email"], "ada@example.com");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Ada Lovelace");
    assert!(id["auth_time"].is_i64());
    assert!(id.get("read:reports").is_none());

    // /userinfo answers for the same token, scope-filtered.
    let r = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(body["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let info: Value = r.json().await.expect("json");
    assert_eq!(info["sub"], s.user_id.as_str());
    assert_eq!(info["email"], "ada@example.com");
    let r = app
        .client
        .get(app.url("/userinfo"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .contains("invalid_token")
    );

    // Without openid the token is for the API alone, and /userinfo refuses it.
    let (_, api_only) = login(&app, &s, "read:reports").await;
    assert!(api_only.get("id_token").is_none());
    let r = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(api_only["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);

    // The user's login was counted.
    let (_, u) = mgmt.get(&format!("/users/{}", s.user_id)).await;
    assert_eq!(u["logins_count"], 2);
    assert!(u["last_login"].is_string());
}

#[tokio::test]
async fn password_failures_use_auth0_errors() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let s = setup(&app, &mgmt, json!({})).await;
    let attempt = |user: &'static str, pw: &'static str| {
        let s = &s;
        let app = &app;
        async move {
            token(
                app,
                &[
                    ("grant_type", "password"),
                    ("client_id", &s.client_id),
                    ("client_secret", &s.secret),
                    ("username", user),
                    ("password", pw),
                ],
            )
            .await
        }
    };
    assert_eq!(
        attempt("ada@example.com", "Sup3r-secret!").await.0,
        200,
        "default directory"
    );
    for (user, pw) in [
        ("ada@example.com", "wrong"),
        ("nobody@example.com", "Sup3r-secret!"),
    ] {
        let (status, e) = attempt(user, pw).await;
        assert_eq!(status, 403);
        assert_eq!(e["error"], "invalid_grant");
        assert_eq!(e["error_description"], "Wrong email or password.");
    }
    mgmt.patch(&format!("/users/{}", s.user_id), json!({"blocked": true}))
        .await;
    let (status, e) = attempt("ada@example.com", "Sup3r-secret!").await;
    assert_eq!(status, 401);
    assert_eq!(e["error_description"], "user is blocked");
    let (status, e) = token(
        &app,
        &[
            ("grant_type", "password"),
            ("client_id", &s.client_id),
            ("client_secret", &s.secret),
            ("username", "a"),
        ],
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // A client without the grant type is refused before any password is checked.
    let (_, other) = mgmt
        .post(
            "/clients",
            json!({"name": "m2m", "app_type": "non_interactive"}),
        )
        .await;
    let (status, e) = token(
        &app,
        &[
            ("grant_type", "password"),
            ("client_id", other["client_id"].as_str().expect("id")),
            ("client_secret", other["client_secret"].as_str().expect("s")),
            ("username", "ada@example.com"),
            ("password", "x"),
        ],
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (403, Some("unauthorized_client"))
    );

    let (_, logs) = mgmt.get("/logs?q=type%3Afepft").await;
    assert_eq!(logs.as_array().expect("array").len(), 5, "{logs}");
    let (_, ok) = mgmt.get("/logs?q=type%3Asepft").await;
    assert_eq!(ok[0]["user_id"], s.user_id.as_str());
}

#[tokio::test]
async fn non_rotating_refresh_tokens_are_reused() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let s = setup(
        &app,
        &mgmt,
        json!({"rotation_type": "non-rotating", "expiration_type": "non-expiring"}),
    )
    .await;
    let (_, body) = login(&app, &s, "openid offline_access read:reports").await;
    let rt = body["refresh_token"].as_str().expect("rt").to_owned();
    for _ in 0..2 {
        let (status, r) = refresh(&app, &s, &rt).await;
        assert_eq!(status, 200, "{r}");
        assert!(
            r.get("refresh_token").is_none(),
            "the same token goes on being used"
        );
        assert!(r["id_token"].is_string());
        let at = verify(&app, r["access_token"].as_str().expect("at"), API).await;
        assert_eq!(at["gty"], "refresh_token");
    }
    // Down-scoping only.
    let (status, r) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &s.client_id),
            ("client_secret", &s.secret),
            ("refresh_token", &rt),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(r["scope"], "openid");
    let (status, r) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &s.client_id),
            ("client_secret", &s.secret),
            ("refresh_token", &rt),
            ("scope", "openid email"),
        ],
    )
    .await;
    assert_eq!((status, r["error"].as_str()), (400, Some("invalid_scope")));
    let (status, r) = refresh(&app, &s, "v1.made-up").await;
    assert_eq!(
        (status, r["error_description"].as_str()),
        (403, Some("Unknown or invalid refresh token."))
    );

    // Revocation ends it.
    let r = app
        .client
        .post(app.url("/oauth/revoke"))
        .form(&[
            ("client_id", s.client_id.as_str()),
            ("client_secret", s.secret.as_str()),
            ("token", rt.as_str()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert_eq!(refresh(&app, &s, &rt).await.0, 403);
    let r = app
        .client
        .post(app.url("/oauth/revoke"))
        .form(&[
            ("client_id", s.client_id.as_str()),
            ("client_secret", s.secret.as_str()),
            ("token", "unknown"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(
        r.status(),
        200,
        "unknown tokens are not an error (RFC 7009)"
    );
}

#[tokio::test]
async fn rotating_refresh_tokens_detect_reuse() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let s = setup(
        &app,
        &mgmt,
        json!({"rotation_type": "rotating", "expiration_type": "expiring"}),
    )
    .await;
    let (_, body) = login(&app, &s, "openid offline_access").await;
    let first = body["refresh_token"].as_str().expect("rt").to_owned();
    let (status, r) = refresh(&app, &s, &first).await;
    assert_eq!(status, 200);
    let second = r["refresh_token"].as_str().expect("rotated").to_owned();
    assert_ne!(second, first);
    // The retired token comes back: theft. The whole family dies, the new token too.
    let (status, e) = refresh(&app, &s, &first).await;
    assert_eq!((status, e["error"].as_str()), (403, Some("invalid_grant")));
    assert_eq!(refresh(&app, &s, &second).await.0, 403, "family revoked");
    let (_, logs) = mgmt.get("/logs?q=type%3Aferrt").await;
    assert_eq!(logs.as_array().expect("array").len(), 1);

    // Two concurrent redemptions of one token: never both. The loser is a reuse and revokes
    // the family, so whichever successor the winner got (if its insert came first) is dead
    // too; if the revocation came first, the winner's successor is refused (invalid_grant).
    let (_, body) = login(&app, &s, "openid offline_access").await;
    let rt = body["refresh_token"].as_str().expect("rt").to_owned();
    let (a, b) = tokio::join!(refresh(&app, &s, &rt), refresh(&app, &s, &rt));
    let winners: Vec<&Value> = [&a, &b]
        .into_iter()
        .filter(|r| r.0 == 200)
        .map(|r| &r.1)
        .collect();
    assert!(winners.len() <= 1, "{a:?} {b:?}");
    for w in winners {
        let successor = w["refresh_token"].as_str().expect("rotated");
        assert_eq!(refresh(&app, &s, successor).await.0, 403, "family revoked");
    }
}

#[tokio::test]
async fn brute_force_protection_blocks_a_user_from_an_address() {
    let app = TestApp::builder()
        .env("GATEHOUSE_BRUTE_FORCE_THRESHOLD", "3")
        .spawn()
        .await;
    let mgmt = app.mgmt().await;
    let s = setup(&app, &mgmt, json!({})).await;
    let attempt = |pw: &'static str| {
        let (s, app) = (&s, &app);
        async move {
            token(
                app,
                &[
                    ("grant_type", "password"),
                    ("client_id", &s.client_id),
                    ("client_secret", &s.secret),
                    ("username", "ada@example.com"),
                    ("password", pw),
                ],
            )
            .await
        }
    };
    assert_eq!(attempt("wrong").await.0, 403);
    assert_eq!(
        attempt("Sup3r-secret!").await.0,
        200,
        "a success resets the count"
    );
    assert_eq!(attempt("wrong").await.0, 403);
    assert_eq!(attempt("wrong").await.0, 403);
    let (status, e) = attempt("wrong").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (429, Some("too_many_attempts"))
    );
    let (status, _) = attempt("Sup3r-secret!").await;
    assert_eq!(status, 429, "blocked even with the right password");
    let (_, logs) = mgmt.get("/logs?q=type%3Alimit_wc").await;
    assert_eq!(logs.as_array().expect("logs").len(), 1);
    // The block shows by user id and by identifier, and the identifier form lifts it
    // (`blocked: false` is a different switch).
    let (status, by_id) = mgmt
        .get(&format!("/user-blocks/{}", s.user_id.replace('|', "%7C")))
        .await;
    assert_eq!(status, 200, "{by_id}");
    let blocks = by_id["blocked_for"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 1, "{by_id}");
    assert_eq!(blocks[0]["identifier"], "ada@example.com");
    assert!(
        blocks[0]["ip"].as_str().is_some_and(|ip| ip != "*"),
        "{by_id}"
    );
    let (status, by_identifier) = mgmt.get("/user-blocks?identifier=ada%40example.com").await;
    assert_eq!((status, &by_identifier), (200, &by_id));
    assert_eq!(mgmt.get("/user-blocks").await.0, 400);
    assert_eq!(
        mgmt.delete("/user-blocks?identifier=ada%40example.com")
            .await
            .0,
        204
    );
    let (_, after) = mgmt.get("/user-blocks?identifier=ada%40example.com").await;
    assert_eq!(after["blocked_for"], json!([]));
    assert_eq!(attempt("Sup3r-secret!").await.0, 200);
    // A connection with brute_force_protection off never blocks.
    let (_, list) = mgmt
        .get("/connections?name=Username-Password-Authentication")
        .await;
    let conn_id = list[0]["id"].as_str().expect("id").to_owned();
    let (status, _) = mgmt
        .patch(
            &format!("/connections/{conn_id}"),
            json!({"options": {"brute_force_protection": false}}),
        )
        .await;
    assert_eq!(status, 200);
    for _ in 0..4 {
        assert_eq!(attempt("wrong").await.0, 403);
    }
    assert_eq!(attempt("Sup3r-secret!").await.0, 200);
}

#[tokio::test]
async fn a_users_refresh_tokens_are_listed_and_revoked() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let s = setup(
        &app,
        &mgmt,
        json!({"rotation_type": "rotating", "expiration_type": "expiring"}),
    )
    .await;
    let (_, one) = login(&app, &s, "openid offline_access read:reports").await;
    let first = one["refresh_token"].as_str().expect("rt").to_owned();
    let (_, rotated) = refresh(&app, &s, &first).await;
    let current = rotated["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    let (_, two) = login(&app, &s, "openid offline_access").await;
    let other = two["refresh_token"].as_str().expect("rt").to_owned();
    let user = s.user_id.replace('|', "%7C");
    let (status, listed) = mgmt
        .get(&format!("/users/{user}/refresh-tokens?include_totals=true"))
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["total"], 2,
        "one per login, whatever the rotations: {listed}"
    );
    let tokens = listed["tokens"].as_array().expect("tokens");
    assert!(
        tokens
            .iter()
            .all(|t| t["client_id"] == s.client_id.as_str())
    );
    assert!(
        !listed.to_string().contains(&current),
        "never the token itself"
    );
    let with_api = tokens
        .iter()
        .find(|t| {
            t["resource_servers"][0]["scopes"]
                .as_str()
                .is_some_and(|s| s.contains("read:reports"))
        })
        .expect("the first login's family");
    let id = with_api["id"].as_str().expect("id");
    let (status, got) = mgmt.get(&format!("/refresh-tokens/{id}")).await;
    assert_eq!((status, &got), (200, with_api));
    // Revoking one family ends its current token and leaves the other login's.
    assert_eq!(mgmt.delete(&format!("/refresh-tokens/{id}")).await.0, 202);
    assert_eq!(refresh(&app, &s, &current).await.0, 403);
    assert_eq!(mgmt.get(&format!("/refresh-tokens/{id}")).await.0, 404);
    assert_eq!(mgmt.delete(&format!("/refresh-tokens/{id}")).await.0, 404);
    assert_eq!(mgmt.delete("/refresh-tokens/nope").await.0, 404);
    // Revoking all of the user's.
    assert_eq!(
        mgmt.delete(&format!("/users/{user}/refresh-tokens"))
            .await
            .0,
        202
    );
    assert_eq!(refresh(&app, &s, &other).await.0, 403);
    let (_, empty) = mgmt.get(&format!("/users/{user}/refresh-tokens")).await;
    assert_eq!(empty, json!([]));
    assert_eq!(
        mgmt.get("/users/auth0%7Cnobody/refresh-tokens").await.0,
        404
    );
}
