//! Security review 2026-11, findings 4, 5, 11 and 12: database connections are used only by
//! the applications enabled on them; import upsert needs `update:users` and never replaces
//! a password; import errors keep no secrets; `update:client_keys` changes only credentials.

use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, assert_mgmt_error, client, spawn_app};
use crate::mgmt_jobs::{database_connection_id, import, password_login};

const CB: &str = "https://app.example/cb";
const DB: &str = "Username-Password-Authentication";
const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const PASSWORD: &str = "Sup3r-secret!";

/// A tenant with a `staff` database connection for the staff application only; the shop
/// application has the default connection.
struct Tenant {
    staff: Value,
    shop: Value,
    staff_connection: String,
}

async fn new_client(mgmt: &Mgmt<'_>, name: &str) -> Value {
    let (status, c) = mgmt
        .post(
            "/clients",
            json!({"name": name, "app_type": "regular_web", "callbacks": [CB],
                   "grant_types": ["authorization_code", "password", REALM]}),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    c
}

fn id(c: &Value) -> &str {
    c["client_id"].as_str().expect("client_id")
}

async fn setup(app: &TestApp) -> Tenant {
    let mgmt = app.mgmt().await;
    let staff = new_client(&mgmt, "Staff").await;
    let shop = new_client(&mgmt, "Shop").await;
    let (status, conn) = mgmt
        .post(
            "/connections",
            json!({"name": "staff", "strategy": "auth0", "enabled_clients": [id(&staff)]}),
        )
        .await;
    assert_eq!(status, 201, "{conn}");
    for (connection, email) in [("staff", "ada@corp.example"), (DB, "lin@example.com")] {
        let (status, u) = mgmt
            .post(
                "/users",
                json!({"connection": connection, "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 201, "{u}");
    }
    Tenant {
        staff,
        shop,
        staff_connection: conn["id"].as_str().expect("id").to_owned(),
    }
}

async fn post_json(app: &TestApp, path: &str, body: Value) -> (u16, String) {
    let r = app
        .client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .expect("request");
    (r.status().as_u16(), r.text().await.expect("body"))
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .expect("token");
    (r.status().as_u16(), r.json().await.expect("json"))
}

async fn realm_login(app: &TestApp, c: &Value, realm: &str, user: &str) -> (u16, Value) {
    token(
        app,
        &[
            ("grant_type", REALM),
            ("client_id", id(c)),
            (
                "client_secret",
                c["client_secret"].as_str().expect("secret"),
            ),
            ("realm", realm),
            ("username", user),
            ("password", PASSWORD),
        ],
    )
    .await
}

#[tokio::test]
async fn signup_and_reset_mail_need_the_connection_enabled_for_the_application() {
    let app = spawn_app().await;
    let t = setup(&app).await;
    let signup = |c: &Value, email: &str| json!({"client_id": id(c), "connection": "staff", "email": email, "password": PASSWORD});
    let (status, body) = post_json(
        &app,
        "/dbconnections/signup",
        signup(&t.shop, "mallory@evil.example"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["code"], "invalid_connection", "{body}");
    assert_eq!(body["name"], "BadRequestError");
    let (status, body) = post_json(
        &app,
        "/dbconnections/signup",
        signup(&t.staff, "bob@corp.example"),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let reset = |c: Option<&Value>| {
        let mut body = json!({"email": "ada@corp.example", "connection": "staff"});
        if let Some(c) = c {
            body["client_id"] = json!(id(c));
        }
        body
    };
    let (status, body) =
        post_json(&app, "/dbconnections/change_password", reset(Some(&t.shop))).await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["code"], "invalid_connection", "{body}");
    let sent = "We've just sent you an email to reset your password.";
    for who in [Some(&t.staff), None] {
        let (status, body) = post_json(&app, "/dbconnections/change_password", reset(who)).await;
        assert_eq!((status, body.as_str()), (200, sent));
    }
}

#[tokio::test]
async fn password_grants_need_the_connection_enabled_for_the_client() {
    let app = spawn_app().await;
    let t = setup(&app).await;
    let mgmt = app.mgmt().await;
    let (status, err) = realm_login(&app, &t.shop, "staff", "ada@corp.example").await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"], "invalid_request");
    let (status, ok) = realm_login(&app, &t.staff, "staff", "ada@corp.example").await;
    assert_eq!(status, 200, "{ok}");

    // Plain `password` uses the default directory, which must be enabled for the client.
    let (status, _) = mgmt
        .patch("/tenants/settings", json!({"default_directory": "staff"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        password_login(&app, &t.shop, "ada@corp.example", PASSWORD).await,
        400
    );
    assert_eq!(
        password_login(&app, &t.staff, "ada@corp.example", PASSWORD).await,
        200
    );
    mgmt.patch("/tenants/settings", json!({"default_directory": DB}))
        .await;
    assert_eq!(
        password_login(&app, &t.shop, "lin@example.com", PASSWORD).await,
        200
    );
    let db = database_connection_id(&mgmt).await;
    let (status, _) = mgmt
        .patch(
            &format!("/connections/{db}/clients"),
            json!([{"client_id": id(&t.shop), "status": false}]),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        password_login(&app, &t.shop, "lin@example.com", PASSWORD).await,
        400
    );
}

fn authorize_url(app: &TestApp, client_id: &str, extra: &str) -> String {
    app.url(&format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=st{extra}",
        url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    ))
}

fn tx_of(html: &str) -> String {
    let start = html.find("name=\"tx\" value=\"").expect("tx field") + 17;
    html[start..].split('"').next().expect("value").to_owned()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().expect("ascii").to_owned()
}

/// Opens `url` (a login page) and submits the password form with `email`.
async fn log_in(
    http: &reqwest::Client,
    app: &TestApp,
    url: &str,
    email: &str,
) -> reqwest::Response {
    let page = http.get(url).send().await.expect("authorize");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    http.post(app.url("/u/login"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("login")
}

#[tokio::test]
async fn authorize_and_the_login_pages_use_only_enabled_connections() {
    let app = spawn_app().await;
    let t = setup(&app).await;
    let mgmt = app.mgmt().await;
    // The shop may not name the staff connection.
    let r = client()
        .get(authorize_url(&app, id(&t.shop), "&connection=staff"))
        .send()
        .await
        .expect("authorize");
    assert!(r.status().is_redirection(), "{}", r.status());
    let to = location(&r);
    assert!(
        to.starts_with(CB) && to.contains("error=invalid_request"),
        "{to}"
    );
    // The staff application may, and logs its user in.
    let browser = client();
    let url = authorize_url(&app, id(&t.staff), "&connection=staff");
    let r = log_in(&browser, &app, &url, "ada@corp.example").await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("code="), "{}", location(&r));

    // An application without the default connection logs in to the one it has.
    let db = database_connection_id(&mgmt).await;
    let disable = |c: &Value, connection: &str| {
        let body = json!([{"client_id": id(c), "status": false}]);
        let path = format!("/connections/{connection}/clients");
        let mgmt = &mgmt;
        async move {
            let (status, _) = mgmt.patch(&path, body).await;
            assert_eq!(status, 204);
        }
    };
    disable(&t.staff, &db).await;
    let url = authorize_url(&app, id(&t.staff), "");
    let r = log_in(&client(), &app, &url, "lin@example.com").await;
    assert_eq!(r.status(), 400, "not the default connection's users");
    let r = log_in(&client(), &app, &url, "ada@corp.example").await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("code="));

    // With no database connection at all: no password form, and a form opened before the
    // connections were taken away logs no one in and signs no one up.
    let nodb = new_client(&mgmt, "No database").await;
    let browser = client();
    let url = authorize_url(&app, id(&nodb), "");
    let page = |browser: &reqwest::Client| {
        let r = browser.get(&url).send();
        async move { r.await.expect("page").text().await.expect("html") }
    };
    let tx = tx_of(&page(&browser).await);
    disable(&nodb, &db).await;
    disable(&nodb, &t.staff_connection).await;
    let html = page(&client()).await;
    assert!(!html.contains("<label for=\"password\">"), "{html}");
    let r = browser
        .post(app.url("/u/login"))
        .form(&[
            ("tx", tx.as_str()),
            ("username", "lin@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 400);
    let html = r.text().await.expect("html");
    assert!(html.contains("Wrong email or password."), "{html}");
    let r = browser
        .post(app.url("/u/signup"))
        .form(&[
            ("tx", tx.as_str()),
            ("email", "new@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("signup");
    assert_eq!(r.status(), 400);
    let html = r.text().await.expect("html");
    assert!(html.contains("Sign-up is not available."), "{html}");
    let (_, found) = mgmt.get("/users-by-email?email=new%40example.com").await;
    assert_eq!(found, json!([]), "no account was made");
}

#[tokio::test]
async fn an_sso_session_counts_only_where_its_connection_is_enabled() {
    let app = spawn_app().await;
    let t = setup(&app).await;
    let browser = client();
    let url = authorize_url(&app, id(&t.staff), "&connection=staff");
    let r = log_in(&browser, &app, &url, "ada@corp.example").await;
    assert_eq!(r.status(), 303);

    // The staff session does not log the staff user in to the shop.
    let r = browser
        .get(authorize_url(&app, id(&t.shop), "&prompt=none"))
        .send()
        .await
        .expect("authorize");
    let to = location(&r);
    assert!(to.contains("error=login_required"), "{to}");
    let r = browser
        .get(authorize_url(&app, id(&t.shop), ""))
        .send()
        .await
        .expect("authorize");
    assert_eq!(r.status(), 200, "the login page, not a code");
    // The staff application still gets its SSO.
    let r = browser
        .get(authorize_url(&app, id(&t.staff), "&prompt=none"))
        .send()
        .await
        .expect("authorize");
    assert!(location(&r).contains("code="), "{}", location(&r));
}

async fn enabled_on(mgmt: &Mgmt<'_>, name: &str) -> Vec<String> {
    let (_, list) = mgmt.get(&format!("/connections?name={name}")).await;
    serde_json::from_value(list[0]["enabled_clients"].clone()).expect("enabled_clients")
}

#[tokio::test]
async fn new_clients_start_on_every_connection_and_leave_when_deleted() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let bootstrap = app.credentials.clone().expect("bootstrap").client_id;
    assert_eq!(enabled_on(&mgmt, DB).await, vec![bootstrap.clone()]);
    let (status, _) = mgmt
        .post(
            "/connections",
            json!({"name": "email", "strategy": "email"}),
        )
        .await;
    assert_eq!(status, 201);
    let web = new_client(&mgmt, "Web").await;
    assert!(enabled_on(&mgmt, DB).await.contains(&id(&web).to_owned()));
    assert_eq!(enabled_on(&mgmt, "email").await, vec![id(&web).to_owned()]);
    let (status, _) = mgmt.delete(&format!("/clients/{}", id(&web))).await;
    assert_eq!(status, 204);
    assert_eq!(enabled_on(&mgmt, DB).await, vec![bootstrap.clone()]);
    assert!(enabled_on(&mgmt, "email").await.is_empty());

    // Auth0's tenant flag turns that off.
    let (status, settings) = mgmt.get("/tenants/settings").await;
    assert_eq!(status, 200);
    assert_eq!(settings["flags"]["enable_client_connections"], true);
    let (status, settings) = mgmt
        .patch(
            "/tenants/settings",
            json!({"flags": {"enable_client_connections": false}}),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["flags"]["enable_client_connections"], false);
    let alone = new_client(&mgmt, "Alone").await;
    assert_eq!(enabled_on(&mgmt, DB).await, vec![bootstrap]);
    let (status, body) = post_json(
        &app,
        "/dbconnections/signup",
        json!({"client_id": id(&alone), "connection": DB, "email": "x@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_mgmt_error(
        &mgmt
            .patch("/tenants/settings", json!({"flags": {"surprise": true}}))
            .await,
        400,
        "invalid_body",
    );
}

#[tokio::test]
async fn upsert_needs_update_users_and_never_replaces_a_password() {
    let app = spawn_app().await;
    let t = setup(&app).await;
    let mgmt = app.mgmt().await;
    let db = database_connection_id(&mgmt).await;
    let known = bcrypt::hash("attacker-knows-this", 4).expect("bcrypt");
    let file = json!([{"email": "lin@example.com", "password_hash": known, "given_name": "Lin"}])
        .to_string();
    let fields = [("connection_id", db.as_str()), ("upsert", "true")];
    let creator = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("create:users")).await,
    };
    let got = import(&creator, &fields, Some(file.as_bytes())).await;
    assert_mgmt_error(&got, 403, "insufficient_scope");
    assert!(
        got.1["message"]
            .as_str()
            .expect("message")
            .ends_with("update:users"),
        "{}",
        got.1
    );
    // Without upsert, create:users is enough (the existing user is a duplicate).
    let (status, job) = import(
        &creator,
        &[("connection_id", db.as_str())],
        Some(file.as_bytes()),
    )
    .await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["summary"]["failed"], 1);

    let updater = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("create:users update:users")).await,
    };
    let (status, job) = import(&updater, &fields, Some(file.as_bytes())).await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["summary"]["updated"], 1);
    let (_, found) = mgmt.get("/users-by-email?email=lin%40example.com").await;
    assert_eq!(
        found[0]["given_name"], "Lin",
        "other attributes are updated"
    );
    assert_eq!(
        password_login(&app, &t.shop, "lin@example.com", "attacker-knows-this").await,
        403,
        "the imported hash did not replace the password"
    );
    assert_eq!(
        password_login(&app, &t.shop, "lin@example.com", PASSWORD).await,
        200
    );
}

#[tokio::test]
async fn import_errors_keep_no_secrets() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let db = database_connection_id(&mgmt).await;
    let users = json!([
        {"email": "plain@example.com", "password": "plaintext-Secret-1"},
        {"email": "mfa@example.com",
         "mfa_factors": [{"totp": {"secret": "JBSWY3DPEHPK3PXPTOTPSECRET"}}]},
        {"email": "md5@example.com",
         "custom_password_hash": {"algorithm": "md5", "hash": {"value": "md5-hash-value-secret"}}},
        {"email": "meta@example.com", "app_metadata": "not-an-object-api-key-secret"},
        {"email": {"nested": "object-secret"}, "given_name": "Odd"},
        "bare-string-secret",
    ]);
    let (status, job) = import(
        &mgmt,
        &[("connection_id", db.as_str())],
        Some(users.to_string().as_bytes()),
    )
    .await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["summary"]["failed"], 6, "{job}");
    let (status, errors) = mgmt
        .get(&format!("/jobs/{}/errors", job["id"].as_str().expect("id")))
        .await;
    assert_eq!(status, 200);
    let text = errors.to_string();
    for secret in [
        "plaintext-Secret-1",
        "TOTPSECRET",
        "md5-hash-value-secret",
        "api-key-secret",
        "object-secret",
        "bare-string-secret",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // Enough is kept to tell which entry failed, and why.
    assert_eq!(errors[0]["user"], json!({"email": "plain@example.com"}));
    assert_eq!(errors[0]["errors"][0]["path"], "password");
    assert_eq!(errors[4]["user"], json!({"given_name": "Odd"}));
}

#[tokio::test]
async fn client_keys_scope_changes_only_credentials() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let web = new_client(&mgmt, "Web").await;
    let path = format!("/clients/{}", id(&web));
    let keys = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("update:client_keys")).await,
    };
    for body in [
        json!({"callbacks": ["https://evil.example/cb"]}),
        json!({"grant_types": ["authorization_code", "implicit"]}),
        json!({"is_first_party": false}),
        json!({"name": "Renamed"}),
        json!({"token_endpoint_auth_method": "client_secret_basic", "web_origins": ["https://evil.example"]}),
        json!({"jwt_configuration": {"lifetime_in_seconds": 60}}),
    ] {
        let got = keys.patch(&path, body.clone()).await;
        assert_mgmt_error(&got, 403, "insufficient_scope");
        assert!(
            got.1["message"]
                .as_str()
                .expect("message")
                .ends_with("update:clients"),
            "{body}: {}",
            got.1
        );
    }
    let (_, now) = mgmt.get(&path).await;
    assert_eq!(now["callbacks"], json!([CB]), "nothing was applied");
    assert_eq!(now["name"], "Web");

    // Credentials: how the client authenticates, its secret (rotation).
    let (status, patched) = keys
        .patch(
            &path,
            json!({"token_endpoint_auth_method": "client_secret_basic",
                   "jwt_configuration": {"lifetime_in_seconds": 36000, "secret_encoded": true}}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let (_, now) = mgmt.get(&path).await;
    assert_eq!(now["token_endpoint_auth_method"], "client_secret_basic");
    let (status, rotated) = keys
        .post(&format!("/clients/{}/rotate-secret", id(&web)), json!({}))
        .await;
    assert_eq!(status, 200, "{rotated}");

    // A chosen secret: update:client_keys only, long enough, and it authenticates.
    let chosen = "a-chosen-secret-of-forty-characters-0123";
    assert_mgmt_error(
        &keys.patch(&path, json!({"client_secret": "short"})).await,
        400,
        "invalid_body",
    );
    let (status, patched) = keys.patch(&path, json!({"client_secret": chosen})).await;
    assert_eq!(status, 200, "{patched}");
    let authenticates = |secret: &'static str| {
        let app = &app;
        let form = [
            ("grant_type", "password"),
            ("client_id", id(&web)),
            ("client_secret", secret),
            ("username", "nobody@example.com"),
            ("password", "wrong"),
        ];
        let r = app.client.post(app.url("/oauth/token")).form(&form).send();
        async move { r.await.expect("token").status().as_u16() }
    };
    assert_eq!(authenticates(chosen).await, 403, "client ok, user wrong");
    assert_eq!(authenticates("a-wrong-secret").await, 401);

    // update:clients changes the rest, but not the secret.
    let clients = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("update:clients")).await,
    };
    let (status, _) = clients
        .patch(&path, json!({"callbacks": ["https://app.example/other"]}))
        .await;
    assert_eq!(status, 200);
    assert_mgmt_error(
        &clients
            .patch(
                &path,
                json!({"client_secret": "another-chosen-secret-of-forty-chars-01"}),
            )
            .await,
        403,
        "insufficient_scope",
    );
}
