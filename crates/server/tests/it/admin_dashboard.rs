//! The admin dashboard at `/admin`: administrators made by `gatehouse admin create`'s code
//! path, signed in through Universal Login, pages acting through the Management API as them
//! (scopes, audit log), CSRF, short sessions, the password before dangerous actions, and the
//! administrators' connection kept to the dashboard.

use gatehouse_server::remote::{Target, create_admin};
use serde_json::{Value, json};

use crate::helpers::{TestApp, client, enc, spawn_app};

const ADMIN_EMAIL: &str = "root@example.com";
const ADMIN_PASSWORD: &str = "Adm1n-Passw0rd!x";

fn target(app: &TestApp) -> Target {
    let c = app.credentials.clone().expect("bootstrap credentials");
    Target {
        base: app.url("/"),
        credentials: Some((c.client_id, c.client_secret.expose().to_owned())),
    }
}

/// `admin create`, then the set-password link, as the new administrator would.
async fn make_admin(app: &TestApp, email: &str, password: &str) -> String {
    let made = create_admin(target(app), email)
        .await
        .expect("admin create");
    assert_eq!(made.dashboard, app.url("/admin/"));
    let url = url::Url::parse(&made.link).expect("link");
    assert_eq!(url.path(), "/u/reset-password");
    let ticket = url
        .query_pairs()
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
        .expect("ticket");
    let r = client()
        .post(app.url("/u/reset-password"))
        .form(&[("ticket", ticket.as_str()), ("password", password)])
        .send()
        .await
        .expect("set password");
    assert!(
        r.status().is_redirection() || r.status() == 200,
        "{}",
        r.status()
    );
    made.user_id
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().expect("ascii").to_owned()
}

fn absolute(app: &TestApp, to: &str) -> String {
    if to.starts_with("http") {
        to.to_owned()
    } else {
        app.url(to)
    }
}

fn tx_of(html: &str) -> String {
    let start = html.find("name=\"tx\" value=\"").expect("tx field") + 17;
    html[start..].split('"').next().expect("value").to_owned()
}

/// The hidden CSRF field of a dashboard page.
fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    html[start..].split('"').next().expect("value").to_owned()
}

/// A browser through `/admin/login`, the login page and the callback; the outcome of the
/// callback (a redirect to `/admin/` when signed in).
async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (reqwest::Client, reqwest::Response) {
    let browser = client();
    let r = browser
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303);
    let authorize = location(&r);
    assert!(
        authorize.contains("connection=gatehouse-admins"),
        "{authorize}"
    );
    assert!(authorize.contains("prompt=login") && authorize.contains("code_challenge="));
    let page = browser
        .get(absolute(app, &authorize))
        .send()
        .await
        .expect("authorize");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    let r = browser
        .post(app.url("/u/login"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("login form");
    if r.status() != 303 {
        return (browser, r);
    }
    let callback = location(&r);
    let r = browser
        .get(absolute(app, &callback))
        .send()
        .await
        .expect("callback");
    (browser, r)
}

/// A signed-in administrator's browser and the CSRF token of their session.
async fn admin_browser(app: &TestApp) -> (reqwest::Client, String) {
    make_admin(app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (browser, r) = sign_in(app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(location(&r), "/admin/");
    let home = browser.get(app.url("/admin/")).send().await.expect("home");
    assert_eq!(home.status(), 200);
    let html = home.text().await.expect("html");
    (browser, csrf_of(&html))
}

async fn post_form(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("form")
}

#[tokio::test]
async fn an_administrator_signs_in_and_acts_through_the_management_api() {
    let app = spawn_app().await;
    let (browser, csrf) = admin_browser(&app).await;

    let home = browser.get(app.url("/admin/")).send().await.expect("home");
    let csp = home.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    let html = home.text().await.expect("html");
    // The administrator's own login is in the logs, so the logins chart has it.
    assert!(html.contains("Logins: 1 in 30 days"), "{html}");
    assert!(html.contains("<svg") && html.contains("class=\"bar\""));

    let r = post_form(
        &app,
        &browser,
        "/admin/apps",
        &[("csrf", &csrf), ("name", "Timesheets"), ("app_type", "spa")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with("/admin/apps/"), "{to}");
    let client_id = to["/admin/apps/".len()..]
        .split('?')
        .next()
        .expect("id")
        .to_owned();

    let mgmt = app.mgmt().await;
    let (status, created) = mgmt.get(&format!("/clients/{client_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(created["app_type"], "spa");
    assert_eq!(created["name"], "Timesheets");

    // Settings through the form: callbacks one per line, grant types ticked.
    let r = post_form(
        &app,
        &browser,
        &format!("/admin/apps/{client_id}"),
        &[
            ("csrf", &csrf),
            ("name", "Timesheets"),
            ("app_type", "spa"),
            (
                "callbacks",
                "http://localhost:3000/\nhttp://localhost:3000/cb",
            ),
            ("web_origins", "http://localhost:3000"),
            ("grant_types", "authorization_code"),
            ("grant_types", "refresh_token"),
            ("token_endpoint_auth_method", "none"),
        ],
    )
    .await;
    assert!(location(&r).contains("done="), "{}", location(&r));
    let (_, updated) = mgmt.get(&format!("/clients/{client_id}")).await;
    assert_eq!(
        updated["callbacks"],
        json!(["http://localhost:3000/", "http://localhost:3000/cb"])
    );
    assert_eq!(
        updated["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );

    // The Management API's own validation answers the form.
    let r = post_form(
        &app,
        &browser,
        &format!("/admin/apps/{client_id}/advanced"),
        &[
            ("csrf", &csrf),
            ("json", r#"{"token_endpoint_auth_method": "nope"}"#),
        ],
    )
    .await;
    assert!(location(&r).contains("error="), "{}", location(&r));

    // The write is in the logs with the administrator as the caller, through the dashboard.
    let q = enc("type:sapi");
    let (status, logs) = mgmt.get(&format!("/logs?q={q}&per_page=100")).await;
    assert_eq!(status, 200, "{logs}");
    let admin_id = {
        let (_, users) = mgmt
            .get(&format!("/users-by-email?email={}", enc(ADMIN_EMAIL)))
            .await;
        users[0]["user_id"].as_str().expect("admin id").to_owned()
    };
    let create = logs
        .as_array()
        .expect("logs")
        .iter()
        .find(|l| {
            l["details"]["request"]["path"] == "/api/v2/clients"
                && l["details"]["request"]["method"] == "POST"
        })
        .unwrap_or_else(|| panic!("no sapi for the create: {logs}"));
    assert_eq!(create["details"]["caller"], admin_id.as_str());
    assert_eq!(create["client_id"], app.state.dashboard_client_id.as_str());

    // Getting started shows the application's real values.
    let start = browser
        .get(app.url(&format!("/admin/start?client_id={client_id}")))
        .send()
        .await
        .expect("start");
    let html = start.text().await.expect("html");
    assert!(
        html.contains(&format!("id=\"qs-client-id\">{client_id}<")),
        "{html}"
    );
    // Quotes in the snippets are escaped as HTML; the values are the application's own.
    assert!(
        html.contains(&format!("clientId: &#34;{client_id}&#34;")),
        "{html}"
    );
    assert!(
        html.contains("redirect_uri: &#34;http://localhost:3000/&#34;"),
        "{html}"
    );
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused() {
    let app = spawn_app().await;
    let (browser, _csrf) = admin_browser(&app).await;
    for csrf in ["", "forged"] {
        let r = post_form(
            &app,
            &browser,
            "/admin/apps",
            &[("csrf", csrf), ("name", "Forged"), ("app_type", "spa")],
        )
        .await;
        assert_eq!(r.status(), 403);
    }
    let (_, clients) = app.mgmt().await.get("/clients?fields=name").await;
    assert!(!clients.to_string().contains("Forged"));
    // Every form goes through the same check, those that post nothing else too.
    for path in [
        "/admin/logout",
        "/admin/keys/rotate",
        "/admin/email-provider/test",
        "/admin/users/auth0%7Cx/block",
        "/admin/users/auth0%7Cx/sessions/s1/revoke",
    ] {
        let r = post_form(&app, &browser, path, &[("csrf", "forged")]).await;
        assert_eq!(r.status(), 403, "{path}");
    }
    // Without a session at all, pages and forms send the browser to sign in.
    let r = client()
        .post(app.url("/admin/apps"))
        .form(&[("name", "x")])
        .send()
        .await
        .expect("post");
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/admin/login".to_owned())
    );
}

#[tokio::test]
async fn dangerous_actions_ask_for_the_password_again() {
    let app = spawn_app().await;
    let (browser, csrf) = admin_browser(&app).await;
    let mgmt = app.mgmt().await;
    let (status, user) = mgmt
        .post("/users", json!({"connection": "Username-Password-Authentication", "email": "doomed@example.com", "password": "Sup3r-secret!pw"}))
        .await;
    assert_eq!(status, 201);
    let id = user["user_id"].as_str().expect("id");
    let path = format!("/admin/users/{}/delete", enc(id));
    for password in [None, Some("wrong-password")] {
        let mut form = vec![("csrf", csrf.as_str())];
        if let Some(p) = password {
            form.push(("password", p));
        }
        let r = post_form(&app, &browser, &path, &form).await;
        assert!(location(&r).contains("error="), "{}", location(&r));
        assert_eq!(mgmt.get(&format!("/users/{}", enc(id))).await.0, 200);
    }
    let r = post_form(
        &app,
        &browser,
        &path,
        &[("csrf", &csrf), ("password", ADMIN_PASSWORD)],
    )
    .await;
    assert!(
        location(&r).starts_with("/admin/users?done="),
        "{}",
        location(&r)
    );
    assert_eq!(mgmt.get(&format!("/users/{}", enc(id))).await.0, 404);
}

#[tokio::test]
async fn blocking_from_the_dashboard_blocks_and_users_are_found_by_auth0_queries() {
    let app = spawn_app().await;
    let (browser, csrf) = admin_browser(&app).await;
    let r = post_form(
        &app,
        &browser,
        "/admin/users",
        &[
            ("csrf", &csrf),
            ("connection", "Username-Password-Authentication"),
            ("email", "jane@example.com"),
            ("password", "Sup3r-secret!pw"),
        ],
    )
    .await;
    let to = location(&r);
    assert!(to.starts_with("/admin/users/auth0"), "{to}");
    let found = browser
        .get(app.url(&format!("/admin/users?q={}", enc("email:jane*"))))
        .send()
        .await
        .expect("search")
        .text()
        .await
        .expect("html");
    assert!(
        found.contains("jane@example.com") && found.contains("1 found."),
        "{found}"
    );
    let id = to["/admin/users/".len()..]
        .split('?')
        .next()
        .expect("id")
        .to_owned();
    let r = post_form(
        &app,
        &browser,
        &format!("/admin/users/{id}/block"),
        &[("csrf", &csrf)],
    )
    .await;
    assert!(location(&r).contains("done="));
    let (_, user) = app.mgmt().await.get(&format!("/users/{id}")).await;
    assert_eq!(user["blocked"], true);
    let page = browser
        .get(app.url(&format!("/admin/users/{id}")))
        .send()
        .await
        .expect("user");
    assert!(page.text().await.expect("html").contains("blocked"));
}

#[tokio::test]
async fn sessions_are_short_and_end_when_the_administrator_is_blocked() {
    let app = spawn_app().await;
    let (browser, _) = admin_browser(&app).await;
    app.advance_clock(time::Duration::minutes(31));
    let r = browser.get(app.url("/admin/")).send().await.expect("home");
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/admin/login".to_owned())
    );

    let app = spawn_app().await;
    let (browser, _) = admin_browser(&app).await;
    let mgmt = app.mgmt().await;
    let (_, users) = mgmt
        .get(&format!("/users-by-email?email={}", enc(ADMIN_EMAIL)))
        .await;
    let id = users[0]["user_id"].as_str().expect("id");
    assert_eq!(
        mgmt.patch(&format!("/users/{}", enc(id)), json!({"blocked": true}))
            .await
            .0,
        200
    );
    let r = browser
        .get(app.url("/admin/apps"))
        .send()
        .await
        .expect("apps");
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn only_administrators_sign_in_and_only_the_dashboard_uses_their_connection() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    // A user of the default directory with the same email cannot sign in to the dashboard.
    mgmt.post("/users", json!({"connection": "Username-Password-Authentication", "email": "user@example.com", "password": "Sup3r-secret!pw"})).await;
    let (_, r) = sign_in(&app, "user@example.com", "Sup3r-secret!pw").await;
    assert_ne!(r.status(), 303, "a login page error, not a code");

    // New applications are not enabled on the administrators' connection, and cannot be.
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "Other", "app_type": "regular_web"}),
        )
        .await;
    let other = c["client_id"].as_str().expect("id");
    // Neither the dashboard nor its connection is listed: the tenant as SDKs and
    // auth0-deploy-cli read it is the tenant's own.
    let (_, conns) = mgmt.get("/connections").await;
    assert!(!conns.to_string().contains("gatehouse-admins"), "{conns}");
    let (_, clients) = mgmt.get("/clients?fields=client_id").await;
    assert!(
        !clients
            .to_string()
            .contains(app.state.dashboard_client_id.as_str())
    );
    let id = app
        .state
        .stores
        .connections
        .connection_by_name(&"gatehouse-admins".into())
        .await
        .expect("store")
        .expect("seeded")
        .id;
    let (_, admins) = mgmt.get(&format!("/connections/{id}")).await;
    let enabled: Vec<Value> = admins["enabled_clients"]
        .as_array()
        .expect("enabled")
        .clone();
    assert_eq!(enabled, [json!(app.state.dashboard_client_id.as_str())]);
    assert_eq!(mgmt.delete(&format!("/connections/{id}")).await.0, 400);
    let got = mgmt
        .patch(
            &format!("/connections/{id}"),
            json!({"enabled_clients": [app.state.dashboard_client_id.as_str(), other]}),
        )
        .await;
    assert_eq!(got.0, 400, "{}", got.1);

    // Another client with create:users may not make itself an administrator.
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "Provisioner", "app_type": "non_interactive"}),
        )
        .await;
    let (pid, psecret) = (
        c["client_id"].as_str().expect("id"),
        c["client_secret"].as_str().expect("secret"),
    );
    let audience = app.state.management_audience();
    mgmt.post("/client-grants", json!({"client_id": pid, "audience": audience, "scope": ["create:users", "update:users", "delete:users", "read:users", "create:user_tickets"]})).await;
    let token = app
        .client_credentials_token(pid, psecret, &audience, None)
        .await;
    let provisioner = crate::helpers::Mgmt { app: &app, token };
    let got = provisioner
        .post("/users", json!({"connection": "gatehouse-admins", "email": "evil@example.com", "password": "Sup3r-secret!pw"}))
        .await;
    assert_eq!(got.0, 403, "{}", got.1);
    let admin_id = make_admin(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let got = provisioner
        .patch(
            &format!("/users/{}", enc(&admin_id)),
            json!({"password": "Taken-0ver!pass"}),
        )
        .await;
    assert_eq!(got.0, 403, "{}", got.1);
    let got = provisioner
        .post("/tickets/password-change", json!({"user_id": admin_id}))
        .await;
    assert_eq!(got.0, 403, "{}", got.1);
    // And a person's token from the token endpoint never carries tenant-wide scopes, even
    // with the dashboard's `gty`: only tokens the dashboard mints do.
    let (_, sign_in_ok) = sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(sign_in_ok.status(), 303);
}

#[tokio::test]
async fn the_dashboard_can_be_turned_off() {
    let app = TestApp::builder()
        .env("GATEHOUSE_ADMIN", "off")
        .spawn()
        .await;
    assert_eq!(app.get("/admin/").await.status(), 404);
    assert_eq!(app.get("/admin/login").await.status(), 404);
}

/// Every page of the dashboard renders for an administrator (no 500, the dashboard's CSP),
/// and a few of their forms act through the API.
#[tokio::test]
async fn every_page_renders_and_its_forms_act() {
    let app = spawn_app().await;
    let (browser, csrf) = admin_browser(&app).await;
    let mgmt = app.mgmt().await;
    let (_, api) = mgmt.post("/resource-servers", json!({"name": "Timesheets API", "identifier": "https://timesheets.example/", "scopes": [{"value": "approve:timesheets"}]})).await;
    let (_, role) = mgmt
        .post(
            "/roles",
            json!({"name": "approver", "description": "Approves"}),
        )
        .await;
    let (_, conn) = mgmt
        .post(
            "/connections",
            json!({"name": "codes", "strategy": "email"}),
        )
        .await;
    let (_, keys) = mgmt.get("/keys/signing").await;
    let kid = keys
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["current"] == true)
        .and_then(|k| k["kid"].as_str())
        .expect("current kid")
        .to_owned();
    let pages = [
        "/admin/".to_owned(),
        "/admin/start".into(),
        "/admin/apps".into(),
        "/admin/apis".into(),
        format!("/admin/apis/{}", api["id"].as_str().expect("id")),
        "/admin/connections".into(),
        format!("/admin/connections/{}", conn["id"].as_str().expect("id")),
        "/admin/users".into(),
        "/admin/roles".into(),
        format!("/admin/roles/{}", role["id"].as_str().expect("id")),
        "/admin/logs".into(),
        "/admin/logs?type=s&from=2026-01-01".into(),
        "/admin/tenant".into(),
        "/admin/templates/verify_email".into(),
        "/admin/keys".into(),
        "/admin/admins".into(),
    ];
    for page in &pages {
        let r = browser.get(app.url(page)).send().await.expect("page");
        assert_eq!(r.status(), 200, "{page}");
        assert!(
            r.headers()["content-security-policy"]
                .to_str()
                .expect("csp")
                .contains("default-src 'none'")
        );
        let html = r.text().await.expect("html");
        assert!(
            html.contains("<main id=\"main\">") && !html.contains("style=\""),
            "{page}"
        );
    }
    let assets = browser
        .get(app.url("/admin/assets/admin.js"))
        .send()
        .await
        .expect("js");
    assert_eq!(assets.status(), 200);
    assert!(
        assets.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/javascript")
    );

    // A role gets the API's permission; the logs feed shows the write after the newest row.
    let role_id = role["id"].as_str().expect("id");
    let r = post_form(
        &app,
        &browser,
        &format!("/admin/roles/{role_id}/permissions"),
        &[
            ("csrf", &csrf),
            ("add", "https://timesheets.example/ approve:timesheets"),
        ],
    )
    .await;
    assert!(location(&r).contains("done="), "{}", location(&r));
    let (_, perms) = mgmt.get(&format!("/roles/{role_id}/permissions")).await;
    assert_eq!(perms[0]["permission_name"], "approve:timesheets");
    let feed: Value = browser
        .get(app.url("/admin/logs/feed"))
        .send()
        .await
        .expect("feed")
        .json()
        .await
        .expect("json");
    assert!(
        feed.as_array()
            .expect("rows")
            .iter()
            .any(|e| e["type"] == "sapi"),
        "{feed}"
    );

    // Key rotation asks for the password, then rotates.
    let r = post_form(
        &app,
        &browser,
        "/admin/keys/rotate",
        &[("csrf", &csrf), ("password", "nope")],
    )
    .await;
    assert!(location(&r).contains("error="));
    let r = post_form(
        &app,
        &browser,
        "/admin/keys/rotate",
        &[("csrf", &csrf), ("password", ADMIN_PASSWORD)],
    )
    .await;
    assert!(location(&r).contains("done="), "{}", location(&r));
    let (_, after) = mgmt.get("/keys/signing").await;
    let previous = after
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["previous"] == true)
        .expect("previous");
    assert_eq!(previous["kid"], kid.as_str());

    // Inviting an administrator shows a link that sets their password.
    let r = post_form(
        &app,
        &browser,
        "/admin/admins",
        &[("csrf", &csrf), ("email", "second@example.com")],
    )
    .await;
    let to = location(&r);
    assert!(to.contains("link="), "{to}");
    let (_, users) = mgmt
        .get(&format!(
            "/users-by-email?email={}",
            enc("second@example.com")
        ))
        .await;
    assert_eq!(users[0]["identities"][0]["connection"], "gatehouse-admins");
}

/// The email provider changes only after the password; its test message and a passwordless
/// connection's arrive over real SMTP.
#[tokio::test]
async fn the_email_provider_needs_the_password_and_test_messages_arrive() {
    let app = spawn_app().await;
    let (browser, csrf) = admin_browser(&app).await;
    let mut sink = crate::smtp::SmtpSink::start().await;
    let port = sink.port.to_string();
    let provider = |password: Option<&'static str>| {
        let mut form = vec![
            ("csrf", csrf.clone()),
            ("name", "smtp".to_owned()),
            ("default_from_address", "id@example.com".to_owned()),
            ("smtp_host", "127.0.0.1".to_owned()),
            ("smtp_port", port.clone()),
            ("enabled", "1".to_owned()),
        ];
        if let Some(p) = password {
            form.push(("password", p.to_owned()));
        }
        form
    };
    let r = browser
        .post(app.url("/admin/email-provider"))
        .form(&provider(None))
        .send()
        .await
        .expect("post");
    assert!(location(&r).contains("error="));
    let mgmt = app.mgmt().await;
    assert_eq!(mgmt.get("/emails/provider").await.0, 404);
    let r = browser
        .post(app.url("/admin/email-provider"))
        .form(&provider(Some(ADMIN_PASSWORD)))
        .send()
        .await
        .expect("post");
    assert!(location(&r).contains("done="), "{}", location(&r));
    let (_, p) = mgmt.get("/emails/provider").await;
    assert_eq!(p["credentials"]["smtp_host"], "127.0.0.1");

    let r = post_form(
        &app,
        &browser,
        "/admin/email-provider/test",
        &[("csrf", &csrf)],
    )
    .await;
    assert!(location(&r).contains("done="));
    let mail = sink.next_mail().await;
    assert!(
        mail.contains("root@example.com") && mail.contains("Your email provider works"),
        "{mail}"
    );

    let (_, conn) = mgmt
        .post(
            "/connections",
            json!({"name": "codes", "strategy": "email"}),
        )
        .await;
    let id = conn["id"].as_str().expect("id");
    let r = post_form(
        &app,
        &browser,
        &format!("/admin/connections/{id}/test"),
        &[("csrf", &csrf), ("to", "someone@example.com")],
    )
    .await;
    assert!(location(&r).contains("done="), "{}", location(&r));
    let mail = sink.next_mail().await;
    assert!(
        mail.contains("someone@example.com") && mail.contains("This is a test message"),
        "{mail}"
    );
}

/// The dashboard's callback follows the issuer: a server restarted under a new domain still
/// signs administrators in.
#[tokio::test]
async fn the_dashboards_callback_follows_a_new_issuer() {
    let db = crate::helpers::TestDb::sqlite();
    let callbacks = |app: &TestApp| {
        let state = app.state.clone();
        async move {
            state
                .stores
                .clients
                .client(&state.dashboard_client_id)
                .await
                .expect("store")
                .expect("dashboard")
                .settings
                .callbacks
        }
    };
    let first = TestApp::builder()
        .db(db.clone())
        .env("GATEHOUSE_ISSUER", "https://old.example/")
        .spawn()
        .await;
    assert_eq!(
        callbacks(&first).await,
        ["https://old.example/admin/callback"]
    );
    first.stop().await;
    let second = TestApp::builder()
        .db(db)
        .env("GATEHOUSE_ISSUER", "https://id.example/")
        .spawn()
        .await;
    assert_eq!(
        callbacks(&second).await,
        ["https://id.example/admin/callback"]
    );
}

/// Signing out ends the admin session and the SSO session, and lands on the dashboard,
/// which asks for a sign-in again.
#[tokio::test]
async fn signing_out_ends_both_sessions() {
    let app = spawn_app().await;
    let (browser, csrf) = admin_browser(&app).await;
    let r = post_form(&app, &browser, "/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with("/v2/logout?"), "{to}");
    // What a browser sends following the dashboard's redirect: a same-origin navigation,
    // which ends the SSO session without a confirmation page.
    let r = browser
        .get(absolute(&app, &to))
        .header("sec-fetch-dest", "document")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 302, "ends without a confirmation page");
    assert_eq!(location(&r), app.url("/admin/"));
    let r = browser.get(app.url("/admin/")).send().await.expect("home");
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/admin/login".to_owned())
    );
}

/// "Try connection" reads an OpenID provider (another gatehouse) as a login would, and says
/// so; a provider that does not answer is reported, not a 500.
#[tokio::test]
async fn trying_an_upstream_connection_reads_the_provider() {
    let idp = spawn_app().await;
    let app = spawn_app().await;
    let (browser, csrf) = admin_browser(&app).await;
    let mgmt = app.mgmt().await;
    let connection = |name: &str, discovery: String| {
        json!({"name": name, "strategy": "oidc",
               "options": {"type": "back_channel", "discovery_url": discovery,
                           "client_id": "rp", "client_secret": "s3cret-s3cret",
                           "scopes": "openid profile email"}})
    };
    let (status, good) = mgmt
        .post(
            "/connections",
            connection(
                "good",
                format!("{}.well-known/openid-configuration", idp.state.issuer),
            ),
        )
        .await;
    assert_eq!(status, 201, "{good}");
    let gone = idp.url("/nothing-here/.well-known/openid-configuration");
    let (status, bad) = mgmt.post("/connections", connection("bad", gone)).await;
    assert_eq!(status, 201, "{bad}");
    for (c, outcome) in [(&good, "done="), (&bad, "error=")] {
        let id = c["id"].as_str().expect("id");
        let page = browser
            .get(app.url(&format!("/admin/connections/{id}")))
            .send()
            .await
            .expect("page");
        assert!(page.text().await.expect("html").contains("Try connection"));
        let r = post_form(
            &app,
            &browser,
            &format!("/admin/connections/{id}/try"),
            &[("csrf", &csrf)],
        )
        .await;
        assert!(location(&r).contains(outcome), "{}", location(&r));
    }
}
