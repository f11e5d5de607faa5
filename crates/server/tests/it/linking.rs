//! Account linking and user-scoped Management API tokens: a person's own token acts on that
//! person only; `link_with` takes a fresh ID token of the same application; the secondary is
//! absorbed and logs in as the primary; unlinking gives it back as a user without metadata.

use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, assert_mgmt_error, jwt_claims, spawn_app};

const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const DB: &str = "Username-Password-Authentication";

struct Setup {
    app_client: Value,
    other_client: Value,
    audience: String,
}

async fn setup(app: &TestApp, mgmt: &Mgmt<'_>) -> Setup {
    let client = |name: &'static str| async move {
        mgmt.post(
            "/clients",
            json!({"name": name, "app_type": "regular_web", "grant_types": [REALM]}),
        )
        .await
        .1
    };
    let app_client = client("linking app").await;
    let other_client = client("another app").await;
    for (email, meta) in [
        ("main@example.com", json!({"theme": "dark"})),
        ("second@example.com", json!({"lang": "fr"})),
        ("third@example.com", json!({})),
    ] {
        let (status, u) = mgmt
            .post(
                "/users",
                json!({"connection": DB, "email": email, "password": password_of(email),
                       "email_verified": true, "user_metadata": meta, "verify_email": false}),
            )
            .await;
        assert_eq!(status, 201, "{u}");
    }
    Setup {
        app_client,
        other_client,
        audience: app.state.management_audience(),
    }
}

/// Each user's own password, so a test can tell whose password opened an account.
fn password_of(email: &str) -> String {
    format!("Pw-{email}-9!")
}

/// Tokens for `email` through the password-realm grant, with that user's password.
async fn login(
    app: &TestApp,
    client: &Value,
    email: &str,
    audience: Option<&str>,
    scope: &str,
) -> Value {
    let (status, body) = try_login(app, client, email, &password_of(email), audience, scope).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn try_login(
    app: &TestApp,
    client: &Value,
    email: &str,
    password: &str,
    audience: Option<&str>,
    scope: &str,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", REALM),
        ("client_id", client["client_id"].as_str().expect("id")),
        (
            "client_secret",
            client["client_secret"].as_str().expect("secret"),
        ),
        ("username", email),
        ("password", password),
        ("realm", DB),
        ("scope", scope),
    ];
    if let Some(a) = audience {
        form.push(("audience", a));
    }
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&form)
        .send()
        .await
        .expect("token");
    (r.status().as_u16(), r.json().await.expect("json"))
}

/// A Management API caller with a person's own token.
fn as_user<'a>(app: &'a TestApp, tokens: &Value) -> Mgmt<'a> {
    Mgmt {
        app,
        token: tokens["access_token"]
            .as_str()
            .expect("access token")
            .to_owned(),
    }
}

fn path_id(user_id: &str) -> String {
    user_id.replace('|', "%7C")
}

async fn link(caller: &Mgmt<'_>, on: &str, body: Value) -> (u16, Value) {
    caller
        .post(&format!("/users/{}/identities", path_id(on)), body)
        .await
}

#[tokio::test]
async fn a_persons_token_acts_on_that_person_only() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let s = setup(&app, &mgmt).await;
    let tokens = login(
        &app,
        &s.app_client,
        "main@example.com",
        Some(&s.audience),
        "openid read:current_user update:current_user_metadata read:users delete:current_user update:users",
    )
    .await;
    let access = jwt_claims(tokens["access_token"].as_str().expect("at"));
    assert_eq!(
        access["scope"], "openid read:current_user update:current_user_metadata",
        "no tenant-wide scope reaches a person's token"
    );
    let me = access["sub"].as_str().expect("sub").to_owned();
    let (_, others) = mgmt.get("/users-by-email?email=second%40example.com").await;
    let other = others[0]["user_id"].as_str().expect("id").to_owned();
    let user = as_user(&app, &tokens);
    let (status, body) = user.get(&format!("/users/{}", path_id(&me))).await;
    assert_eq!(status, 200, "{body}");
    let got = user.get(&format!("/users/{}", path_id(&other))).await;
    assert_mgmt_error(&got, 403, "insufficient_scope");
    assert_eq!(
        got.1["message"],
        "User to be acted on does not match subject in bearer token."
    );
    assert_mgmt_error(&user.get("/users").await, 403, "insufficient_scope");
    let (status, body) = user
        .patch(
            &format!("/users/{}", path_id(&me)),
            json!({"user_metadata": {"theme": "light"}}),
        )
        .await;
    assert_eq!(
        (status, &body["user_metadata"]["theme"]),
        (200, &json!("light"))
    );
    assert_mgmt_error(
        &user
            .patch(
                &format!("/users/{}", path_id(&me)),
                json!({"email": "x@example.com"}),
            )
            .await,
        403,
        "insufficient_scope",
    );
    assert_mgmt_error(
        &user
            .patch(
                &format!("/users/{}", path_id(&other)),
                json!({"user_metadata": {"a": 1}}),
            )
            .await,
        403,
        "insufficient_scope",
    );
    assert_mgmt_error(
        &user.delete(&format!("/users/{}", path_id(&me))).await,
        403,
        "insufficient_scope",
    );
    // A token that claims a tenant-wide scope anyway (signed by us, e.g. before this rule)
    // is read as a person's token.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let forged = app
        .state
        .keys
        .sign(
            &json!({"iss": app.state.issuer, "aud": s.audience, "sub": me, "azp": "x",
                      "iat": now, "exp": now + 60, "scope": "read:users"}),
        )
        .expect("sign");
    let caller = Mgmt {
        app: &app,
        token: forged,
    };
    assert_mgmt_error(&caller.get("/users").await, 403, "insufficient_scope");
}

#[tokio::test]
async fn link_with_a_fresh_id_token_then_unlink() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let s = setup(&app, &mgmt).await;
    let scope = "openid email read:current_user update:current_user_identities";
    let primary_tokens = login(
        &app,
        &s.app_client,
        "main@example.com",
        Some(&s.audience),
        scope,
    )
    .await;
    let primary = as_user(&app, &primary_tokens);
    let me = jwt_claims(primary_tokens["id_token"].as_str().expect("id"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    let second = login(
        &app,
        &s.app_client,
        "second@example.com",
        None,
        "openid email",
    )
    .await;
    let second_id_token = second["id_token"].as_str().expect("id").to_owned();
    let second_sub = jwt_claims(&second_id_token)["sub"]
        .as_str()
        .expect("sub")
        .to_owned();

    // Refusals first.
    let own_token = primary_tokens["id_token"].as_str().expect("id").to_owned();
    assert_mgmt_error(
        &link(&primary, &me, json!({"link_with": own_token})).await,
        400,
        "invalid_body",
    );
    let foreign = login(&app, &s.other_client, "second@example.com", None, "openid").await;
    let got = link(&primary, &me, json!({"link_with": foreign["id_token"]})).await;
    assert_mgmt_error(&got, 400, "invalid_body");
    assert!(
        got.1["message"].as_str().expect("m").contains("azp"),
        "{}",
        got.1
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let stale = app
        .state
        .keys
        .sign(
            &json!({"iss": app.state.issuer, "aud": s.app_client["client_id"], "sub": second_sub,
                      "iat": now - 600, "exp": now + 3600, "auth_time": now - 600}),
        )
        .expect("sign");
    let got = link(&primary, &me, json!({"link_with": stale})).await;
    assert_mgmt_error(&got, 400, "invalid_body");
    assert!(
        got.1["message"]
            .as_str()
            .expect("m")
            .contains("older than 300 seconds")
    );
    let expired = app
        .state
        .keys
        .sign(
            &json!({"iss": app.state.issuer, "aud": s.app_client["client_id"], "sub": second_sub,
                      "iat": now - 120, "exp": now - 60, "auth_time": now - 120}),
        )
        .expect("sign");
    let got = link(&primary, &me, json!({"link_with": expired})).await;
    assert!(
        got.1["message"].as_str().expect("m").contains("expired"),
        "{}",
        got.1
    );
    // alg none, and HS256 keyed with our public JWK, are not our signatures.
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let body = b64(&jwt_claims(&second_id_token));
    for header in [
        json!({"alg": "none"}),
        json!({"alg": "HS256", "typ": "JWT"}),
    ] {
        let forged = format!("{}.{body}.", b64(&header));
        assert_mgmt_error(
            &link(&primary, &me, json!({"link_with": forged})).await,
            400,
            "invalid_body",
        );
    }
    let mut tampered = second_id_token.clone();
    tampered.pop();
    tampered.push(if second_id_token.ends_with('A') {
        'B'
    } else {
        'A'
    });
    assert_mgmt_error(
        &link(&primary, &me, json!({"link_with": tampered})).await,
        400,
        "invalid_body",
    );
    let (_, third) = mgmt.get("/users-by-email?email=third%40example.com").await;
    let third_id = third[0]["user_id"].as_str().expect("id").to_owned();
    let got = link(&primary, &third_id, json!({"link_with": second_id_token})).await;
    assert_mgmt_error(&got, 403, "insufficient_scope");
    assert_mgmt_error(
        &link(
            &primary,
            &me,
            json!({"link_with": second_id_token, "provider": "auth0"}),
        )
        .await,
        400,
        "invalid_body",
    );
    assert_mgmt_error(
        &link(&primary, &me, json!({"provider": "auth0", "user_id": "x"})).await,
        403,
        "insufficient_scope",
    );

    // The link.
    let (status, identities) = link(&primary, &me, json!({"link_with": second_id_token})).await;
    assert_eq!(status, 201, "{identities}");
    assert_eq!(identities.as_array().map(Vec::len), Some(2));
    assert_eq!(identities[1]["profileData"]["email"], "second@example.com");
    assert_eq!(
        format!("auth0|{}", identities[1]["user_id"].as_str().expect("id")),
        second_sub
    );
    assert_mgmt_error(
        &mgmt.get(&format!("/users/{}", path_id(&second_sub))).await,
        404,
        "inexistent_user",
    );
    let (_, merged) = mgmt.get(&format!("/users/{}", path_id(&me))).await;
    assert_eq!(
        merged["user_metadata"],
        json!({"theme": "dark"}),
        "the secondary's metadata is gone"
    );
    // Logging in with the secondary's credentials is logging in as the primary.
    // Each linked account keeps its own password.
    let (status, _) = try_login(
        &app,
        &s.app_client,
        "second@example.com",
        &password_of("main@example.com"),
        None,
        "openid",
    )
    .await;
    assert_eq!(
        status, 403,
        "the primary's password does not open the secondary"
    );
    let again = login(
        &app,
        &s.app_client,
        "second@example.com",
        None,
        "openid email",
    )
    .await;
    assert_eq!(
        jwt_claims(again["id_token"].as_str().expect("id"))["sub"],
        me.as_str()
    );
    let (_, found) = mgmt.get("/users-by-email?email=second%40example.com").await;
    assert_eq!(found[0]["user_id"], me.as_str());
    // Linked already: the same token cannot link it again anywhere.
    assert_mgmt_error(
        &link(&primary, &me, json!({"link_with": second_id_token})).await,
        400,
        "invalid_body",
    );
    // A user with linked identities cannot become a secondary.
    let third_tokens = login(
        &app,
        &s.app_client,
        "third@example.com",
        Some(&s.audience),
        scope,
    )
    .await;
    let got = link(
        &as_user(&app, &third_tokens),
        &third_id,
        json!({"link_with": primary_tokens["id_token"]}),
    )
    .await;
    assert_mgmt_error(&got, 400, "invalid_body");

    // The audit trail names both users and the caller.
    let (_, logs) = mgmt.get("/logs?q=type%3Asapi&per_page=100").await;
    let event = logs
        .as_array()
        .expect("logs")
        .iter()
        .find(|e| e["details"]["change"]["action"] == "link")
        .expect("link logged");
    assert_eq!(
        event["details"]["change"]["secondary_user_id"],
        second_sub.as_str()
    );
    assert_eq!(event["details"]["change"]["caller"], me.as_str());

    // Unlink: the identity is a user again, without metadata.
    let (bare_provider, bare_id) = second_sub.split_once('|').expect("id");
    assert_mgmt_error(
        &primary
            .delete(&format!(
                "/users/{}/identities/auth0/{}",
                path_id(&me),
                me.split_once('|').expect("id").1
            ))
            .await,
        400,
        "invalid_body",
    );
    assert_mgmt_error(
        &primary
            .delete(&format!("/users/{}/identities/auth0/nope", path_id(&me)))
            .await,
        404,
        "inexistent_identity",
    );
    let (status, left) = primary
        .delete(&format!(
            "/users/{}/identities/{bare_provider}/{bare_id}",
            path_id(&me)
        ))
        .await;
    assert_eq!(status, 200, "{left}");
    assert_eq!(left.as_array().map(Vec::len), Some(1));
    let (status, back) = mgmt.get(&format!("/users/{}", path_id(&second_sub))).await;
    assert_eq!(status, 200);
    assert_eq!(back["email"], "second@example.com");
    assert_eq!(back["user_metadata"], json!({}));
    let again = login(&app, &s.app_client, "second@example.com", None, "openid").await;
    assert_eq!(
        jwt_claims(again["id_token"].as_str().expect("id"))["sub"],
        second_sub.as_str()
    );

    // With update:users, an administrator links by provider and user id.
    let (status, ids) = mgmt
        .post(
            &format!("/users/{}/identities", path_id(&me)),
            json!({"provider": bare_provider, "user_id": bare_id}),
        )
        .await;
    assert_eq!(status, 201, "{ids}");
    // Deleting the primary deletes what is linked to it.
    mgmt.delete(&format!("/users/{}", path_id(&me))).await;
    let (_, gone) = mgmt.get("/users-by-email?email=second%40example.com").await;
    assert_eq!(gone, json!([]));
}

#[tokio::test]
async fn two_primaries_race_for_one_secondary() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    setup(&app, &mgmt).await;
    let id_of = |email: &'static str| {
        let mgmt = &mgmt;
        async move {
            let (_, u) = mgmt
                .get(&format!(
                    "/users-by-email?email={}",
                    email.replace('@', "%40")
                ))
                .await;
            u[0]["user_id"].as_str().expect("id").to_owned()
        }
    };
    let (a, b, c) = (
        id_of("main@example.com").await,
        id_of("third@example.com").await,
        id_of("second@example.com").await,
    );
    let body = json!({"provider": "auth0", "user_id": c.split_once('|').expect("id").1});
    let (x, y) = tokio::join!(link(&mgmt, &a, body.clone()), link(&mgmt, &b, body.clone()));
    let statuses = [x.0, y.0];
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{x:?} {y:?}"
    );
}

#[tokio::test]
async fn a_linked_passwordless_identity_logs_in_as_the_primary() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    setup(&app, &mgmt).await;
    let otp_grant = "http://auth0.com/oauth/grant-type/passwordless/otp";
    let (_, client) = mgmt
        .post(
            "/clients",
            json!({"name": "code app", "app_type": "regular_web", "grant_types": [otp_grant]}),
        )
        .await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email", "enabled_clients": [client["client_id"]]}),
    )
    .await;
    let (_, email_user) = mgmt
        .post(
            "/users",
            json!({"connection": "email", "email": "pocket@example.com", "email_verified": true}),
        )
        .await;
    let (_, main) = mgmt.get("/users-by-email?email=main%40example.com").await;
    let main_id = main[0]["user_id"].as_str().expect("id").to_owned();
    let (status, ids) = link(
        &mgmt,
        &main_id,
        json!({"provider": "email", "user_id": email_user["identities"][0]["user_id"]}),
    )
    .await;
    assert_eq!(status, 201, "{ids}");
    let (_, found) = mgmt
        .get("/users?q=identities.connection%3A%22email%22")
        .await;
    assert_eq!(found[0]["user_id"], main_id.as_str(), "{found}");

    // A code for the linked address, planted as the server stores them.
    app.plant_email_code(
        "pocket@example.com",
        "777777",
        client["client_id"].as_str().expect("id"),
        180,
    )
    .await;
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", otp_grant),
            ("client_id", client["client_id"].as_str().expect("id")),
            (
                "client_secret",
                client["client_secret"].as_str().expect("secret"),
            ),
            ("realm", "email"),
            ("username", "pocket@example.com"),
            ("otp", "777777"),
            ("scope", "openid email"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.expect("json");
    let id_token = jwt_claims(tokens["id_token"].as_str().expect("id"));
    assert_eq!(id_token["sub"], main_id.as_str());
    assert_eq!(
        id_token["email"], "main@example.com",
        "the primary's profile"
    );
    let info: Value = app
        .client
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("json");
    assert_eq!(info["sub"], main_id.as_str());
}

#[tokio::test]
async fn third_party_applications_cannot_link() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let s = setup(&app, &mgmt).await;
    mgmt.patch(
        &format!(
            "/clients/{}",
            s.other_client["client_id"].as_str().expect("id")
        ),
        json!({"is_first_party": false}),
    )
    .await;
    let scope = "openid read:current_user update:current_user_identities";
    let tokens = login(
        &app,
        &s.other_client,
        "main@example.com",
        Some(&s.audience),
        scope,
    )
    .await;
    let access = jwt_claims(tokens["access_token"].as_str().expect("at"));
    assert_eq!(
        access["scope"], "openid",
        "no Management API scope for a third party"
    );
    // Even a token that carries the scope (issued before) cannot link for a third party.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let me = access["sub"].as_str().expect("sub").to_owned();
    let azp = s.other_client["client_id"].as_str().expect("id");
    let forged = app
        .state
        .keys
        .sign(
            &json!({"iss": app.state.issuer, "aud": s.audience, "sub": me, "azp": azp,
                      "iat": now, "exp": now + 60, "scope": "update:current_user_identities"}),
        )
        .expect("sign");
    let second = login(&app, &s.other_client, "second@example.com", None, "openid").await;
    let got = link(
        &Mgmt {
            app: &app,
            token: forged,
        },
        &me,
        json!({"link_with": second["id_token"]}),
    )
    .await;
    assert_mgmt_error(&got, 403, "insufficient_scope");
}
