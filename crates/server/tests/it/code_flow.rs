//! The authorization code flow through the real login page, with a cookie jar: PKCE, SSO,
//! `prompt=none`, form_post, code replay, login CSRF and redirect URI checks.

use serde_json::{Value, json};

use crate::helpers::{TestApp, client, spawn_app};

const CB: &str = "https://app.example/cb";

struct Apps {
    web_id: String,
    web_secret: String,
    spa_id: String,
}

async fn setup(app: &TestApp) -> Apps {
    let mgmt = app.mgmt().await;
    let (_, web) = mgmt
        .post(
            "/clients",
            json!({"name": "Web", "app_type": "regular_web", "callbacks": [CB],
                                  "grant_types": ["authorization_code", "refresh_token"]}),
        )
        .await;
    let (_, spa) = mgmt
        .post(
            "/clients",
            json!({"name": "SPA", "app_type": "spa", "callbacks": [CB]}),
        )
        .await;
    mgmt.post(
        "/users",
        json!({"connection": "Username-Password-Authentication", "email": "lin@example.com", "password": "Sup3r-secret!"}),
    )
    .await;
    Apps {
        web_id: web["client_id"].as_str().expect("id").into(),
        web_secret: web["client_secret"].as_str().expect("secret").into(),
        spa_id: spa["client_id"].as_str().expect("id").into(),
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn authorize_url(app: &TestApp, client_id: &str, extra: &str) -> String {
    app.url(&format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope={}&state=st4te&nonce=n0nce{extra}",
        enc(CB),
        enc("openid profile email offline_access")
    ))
}

fn tx_of(html: &str) -> String {
    let start = html.find("name=\"tx\" value=\"").expect("tx field") + 17;
    html[start..].split('"').next().expect("value").to_owned()
}

fn location(r: &reqwest::Response) -> url::Url {
    url::Url::parse(r.headers()["location"].to_str().expect("ascii")).expect("url")
}

fn param(u: &url::Url, name: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Opens the login page and submits it; returns the response to the submission.
async fn log_in(
    http: &reqwest::Client,
    app: &TestApp,
    url: &str,
    password: &str,
) -> reqwest::Response {
    let page = http.get(url).send().await.expect("authorize");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.expect("html");
    assert!(html.contains("<label for=\"password\">"), "{html}");
    http.post(app.url("/u/login"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", "lin@example.com"),
            ("password", password),
        ])
        .send()
        .await
        .expect("login")
}

async fn exchange(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .expect("token");
    (r.status().as_u16(), r.json().await.expect("json"))
}

#[tokio::test]
async fn regular_web_app_logs_in_with_a_code() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let browser = client();
    let url = authorize_url(&app, &apps.web_id, "");

    let wrong = log_in(&browser, &app, &url, "wrong").await;
    assert_eq!(wrong.status(), 400);
    assert!(
        wrong
            .text()
            .await
            .expect("html")
            .contains("Wrong email or password.")
    );

    let ok = log_in(&browser, &app, &url, "Sup3r-secret!").await;
    assert_eq!(ok.status(), 303, "303 after the credential POST");
    let to = location(&ok);
    assert_eq!(
        format!(
            "{}://{}{}",
            to.scheme(),
            to.host_str().expect("host"),
            to.path()
        ),
        CB
    );
    assert_eq!(param(&to, "state").as_deref(), Some("st4te"));
    assert_eq!(
        param(&to, "iss"),
        Some(format!("{}/", app.address)),
        "RFC 9207"
    );
    let code = param(&to, "code").expect("code");

    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", apps.web_id.as_str()),
        ("client_secret", apps.web_secret.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", CB),
    ];
    let (status, tokens) = exchange(&app, &form).await;
    assert_eq!(status, 200, "{tokens}");
    let id: Value = {
        let payload = tokens["id_token"]
            .as_str()
            .expect("id token")
            .split('.')
            .nth(1)
            .expect("payload");
        serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .expect("b64"),
        )
        .expect("json")
    };
    assert_eq!(id["nonce"], "n0nce");
    assert_eq!(id["aud"], apps.web_id.as_str());
    assert!(id["sid"].is_string() && id["auth_time"].is_i64());
    assert_eq!(id["email"], "lin@example.com");
    let rt = tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();

    // Replaying the code fails and revokes what it issued.
    let (status, e) = exchange(&app, &form).await;
    assert_eq!((status, e["error"].as_str()), (403, Some("invalid_grant")));
    let (status, _) = exchange(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &apps.web_id),
            ("client_secret", &apps.web_secret),
            ("refresh_token", &rt),
        ],
    )
    .await;
    assert_eq!(status, 403, "the replay revoked the refresh token");

    // Single sign-on: the session cookie gets a code without the login page.
    let sso = browser.get(&url).send().await.expect("authorize");
    assert_eq!(sso.status(), 302);
    assert!(param(&location(&sso), "code").is_some());
    let silent = browser
        .get(format!("{url}&prompt=none"))
        .send()
        .await
        .expect("authorize");
    assert!(param(&location(&silent), "code").is_some());
    // A browser without a session: prompt=none comes back with login_required.
    let fresh = client()
        .get(format!("{url}&prompt=none"))
        .send()
        .await
        .expect("authorize");
    let to = location(&fresh);
    assert_eq!(param(&to, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&to, "state").as_deref(), Some("st4te"));

    // A code is bound to its redirect URI.
    let code = param(
        &location(&browser.get(&url).send().await.expect("authorize")),
        "code",
    )
    .expect("code");
    let (status, _) = exchange(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &apps.web_id),
            ("client_secret", &apps.web_secret),
            ("code", &code),
            ("redirect_uri", "https://app.example/other"),
        ],
    )
    .await;
    assert_eq!(status, 403);

    let mgmt = app.mgmt().await;
    let (_, logs) = mgmt.get("/logs?q=type%3Aseacft").await;
    assert_eq!(logs.as_array().expect("logs").len(), 1);
    let (_, logins) = mgmt.get("/logs?q=type%3As").await;
    assert_eq!(logins.as_array().expect("logs").len(), 1);
}

#[tokio::test]
async fn single_page_apps_must_use_pkce_s256() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let browser = client();
    let no_pkce = browser
        .get(authorize_url(&app, &apps.spa_id, ""))
        .send()
        .await
        .expect("authorize");
    assert_eq!(
        param(&location(&no_pkce), "error").as_deref(),
        Some("invalid_request")
    );
    let challenge = "HuFUiV4M3K3RApxZm79GGwZY8j5ZSXmXe-PWe0Q9c4U";
    let verifier = "dBjftJeZ4CVP-mJ92K1qmvb8sFUU6gePFRvhsnSV-tc";
    let plain = browser
        .get(authorize_url(
            &app,
            &apps.spa_id,
            &format!("&code_challenge={challenge}&code_challenge_method=plain"),
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(
        param(&location(&plain), "error").as_deref(),
        Some("invalid_request"),
        "no plain"
    );

    let url = authorize_url(
        &app,
        &apps.spa_id,
        &format!("&code_challenge={challenge}&code_challenge_method=S256"),
    );
    let code = param(
        &location(&log_in(&browser, &app, &url, "Sup3r-secret!").await),
        "code",
    )
    .expect("code");
    let form = |v: &'static str, code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", apps.spa_id.clone()),
            ("code", code.to_owned()),
            ("redirect_uri", CB.to_owned()),
            ("code_verifier", v.to_owned()),
        ]
    };
    let wrong = app
        .client
        .post(app.url("/oauth/token"))
        .form(&form("dBjftJeZ4CVP-mJ92K1qmvb8sFUU6gePFRvhsnSV-tX", &code))
        .send()
        .await
        .expect("token");
    assert_eq!(wrong.status(), 403);
    // The failed attempt used the code up; a new one is needed.
    let code = param(
        &location(&browser.get(&url).send().await.expect("sso")),
        "code",
    )
    .expect("code");
    let right = app
        .client
        .post(app.url("/oauth/token"))
        .form(&form(verifier, &code))
        .send()
        .await
        .expect("token");
    assert_eq!(right.status(), 200);

    // A verifier where no challenge was sent is a downgrade, refused.
    let web_url = authorize_url(&app, &apps.web_id, "");
    let code = param(
        &location(&browser.get(&web_url).send().await.expect("sso")),
        "code",
    )
    .expect("code");
    let (status, _) = exchange(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &apps.web_id),
            ("client_secret", &apps.web_secret),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn untrusted_requests_never_redirect() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let browser = client();
    for url in [
        app.url(&format!(
            "/authorize?response_type=code&client_id=nobody&redirect_uri={}",
            enc(CB)
        )),
        app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}",
            apps.web_id,
            enc("https://evil.example/cb")
        )),
        app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}",
            apps.web_id,
            enc("https://app.example/cb#x")
        )),
        app.url(&format!(
            "/authorize?response_type=code&client_id={}",
            apps.web_id
        )),
    ] {
        let r = browser.get(&url).send().await.expect("authorize");
        assert_eq!(r.status(), 400, "{url}");
        assert!(r.headers().get("location").is_none());
        assert!(
            r.text()
                .await
                .expect("html")
                .contains("<h1>Something is wrong")
        );
    }
    let implicit = browser
        .get(app.url(&format!(
            "/authorize?response_type=token&client_id={}&redirect_uri={}&state=s",
            apps.web_id,
            enc(CB)
        )))
        .send()
        .await
        .expect("authorize");
    // Implicit is off for this client; the refusal goes back in the fragment.
    assert_eq!(fragment(&implicit)["error"], "unauthorized_client");
}

#[tokio::test]
async fn the_login_form_is_bound_to_its_browser() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let victim = client();
    let html = victim
        .get(authorize_url(&app, &apps.web_id, ""))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    // An attacker replays the form from another browser (no CSRF cookie).
    let r = client()
        .post(app.url("/u/login"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", "lin@example.com"),
            ("password", "Sup3r-secret!"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    // A forged transaction fails too.
    let r = victim
        .post(app.url("/u/login"))
        .form(&[
            ("tx", "forged"),
            ("username", "lin@example.com"),
            ("password", "Sup3r-secret!"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn form_post_response_mode() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let browser = client();
    let url = authorize_url(&app, &apps.web_id, "&response_mode=form_post");
    let r = log_in(&browser, &app, &url, "Sup3r-secret!").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("html");
    assert!(html.contains(&format!("action=\"{CB}\"")), "{html}");
    assert!(html.contains("name=\"code\""));
    assert!(html.contains("name=\"state\" value=\"st4te\""));
}

/// Logs in through the page and returns the browser (holding the session) and the ID token.
async fn logged_in(app: &TestApp, apps: &Apps) -> (reqwest::Client, String) {
    let browser = client();
    let url = authorize_url(app, &apps.web_id, "");
    let code = param(
        &location(&log_in(&browser, app, &url, "Sup3r-secret!").await),
        "code",
    )
    .expect("code");
    let (_, tokens) = exchange(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &apps.web_id),
            ("client_secret", &apps.web_secret),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    )
    .await;
    (
        browser,
        tokens["id_token"].as_str().expect("id token").to_owned(),
    )
}

async fn has_session(app: &TestApp, apps: &Apps, browser: &reqwest::Client) -> bool {
    let r = browser
        .get(format!(
            "{}&prompt=none",
            authorize_url(app, &apps.web_id, "")
        ))
        .send()
        .await
        .expect("authorize");
    param(&location(&r), "code").is_some()
}

#[tokio::test]
async fn logout_goes_only_where_it_is_allowed() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let mgmt = app.mgmt().await;
    mgmt.patch(
        &format!("/clients/{}", apps.web_id),
        json!({"allowed_logout_urls": ["https://app.example/bye"]}),
    )
    .await;
    let (browser, id_token) = logged_in(&app, &apps).await;
    assert!(has_session(&app, &apps, &browser).await);

    let evil = browser
        .get(app.url(&format!(
            "/v2/logout?client_id={}&returnTo={}",
            apps.web_id,
            enc("https://evil.example/")
        )))
        .send()
        .await
        .expect("logout");
    assert_eq!(evil.status(), 400);
    assert!(
        evil.headers().get("location").is_none(),
        "never an open redirect"
    );
    assert!(
        has_session(&app, &apps, &browser).await,
        "a refused logout changes nothing"
    );

    // The application navigates the whole window here from a sibling host (Fetch Metadata
    // as a browser sends it); security_logout.rs has the requests that must ask first.
    let ok = browser
        .get(app.url(&format!(
            "/v2/logout?client_id={}&returnTo={}",
            apps.web_id,
            enc("https://app.example/bye")
        )))
        .header("sec-fetch-dest", "document")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-site", "same-site")
        .send()
        .await
        .expect("logout");
    assert_eq!(ok.status(), 302);
    assert_eq!(ok.headers()["location"], "https://app.example/bye");
    assert!(!has_session(&app, &apps, &browser).await, "session ended");

    // RP-initiated logout with an ID token hint, and its state.
    let (browser, _) = logged_in(&app, &apps).await;
    let r = browser
        .get(app.url(&format!(
            "/oidc/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=abc",
            enc("https://app.example/bye")
        )))
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "https://app.example/bye?state=abc");
    assert!(!has_session(&app, &apps, &browser).await);
    let forged = browser
        .get(app.url("/oidc/logout?id_token_hint=a.b.c"))
        .send()
        .await
        .expect("logout");
    assert_eq!(forged.status(), 400);

    // Without a hint the user confirms with a POST.
    let (browser, _) = logged_in(&app, &apps).await;
    let ask = browser
        .get(app.url("/oidc/logout"))
        .send()
        .await
        .expect("logout");
    assert_eq!(ask.status(), 200);
    let html = ask.text().await.expect("html");
    assert!(html.contains("Log out?"));
    let marker = "name=\"confirm\" value=\"";
    let start = html.find(marker).expect("token") + marker.len();
    let token = html[start..].split('"').next().expect("token").to_owned();
    assert!(
        has_session(&app, &apps, &browser).await,
        "not before confirming"
    );
    // Neither a link carrying the token nor a POST from another site's form confirms.
    for forged in [
        browser.get(app.url(&format!("/oidc/logout?confirm={token}"))),
        browser
            .post(app.url("/oidc/logout"))
            .form(&[("confirm", "yes")]),
        browser.post(app.url("/oidc/logout")),
    ] {
        let r = forged.send().await.expect("logout");
        assert!(!r.text().await.expect("html").contains("logged out"));
        assert!(has_session(&app, &apps, &browser).await);
    }
    // Another session's token does not confirm this one.
    let (other, _) = logged_in(&app, &apps).await;
    let r = other
        .post(app.url("/oidc/logout"))
        .form(&[("confirm", token.as_str())])
        .send()
        .await
        .expect("logout");
    assert!(r.text().await.expect("html").contains("Log out?"));
    assert!(has_session(&app, &apps, &other).await);
    let done = browser
        .post(app.url("/oidc/logout"))
        .form(&[("confirm", token.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(done.status(), 200);
    assert!(!has_session(&app, &apps, &browser).await);
    let (_, logs) = mgmt.get("/logs?q=type%3Aslo").await;
    assert_eq!(logs.as_array().expect("logs").len(), 3);
}

#[tokio::test]
async fn cors_for_registered_origins() {
    let app = spawn_app().await;
    setup(&app).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/oauth/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, auth0-client",
            )
            .send()
    };
    let ok = preflight("https://app.example").await.expect("preflight");
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(
        ok.headers()["access-control-allow-headers"]
            .to_str()
            .expect("ascii")
            .contains("auth0-client")
    );
    let evil = preflight("https://evil.example").await.expect("preflight");
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    let jwks = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .header("origin", "https://any.example")
        .send()
        .await
        .expect("jwks");
    assert_eq!(jwks.headers()["access-control-allow-origin"], "*");
    let token = app
        .client
        .post(app.url("/oauth/token"))
        .header("origin", "https://app.example")
        .form(&[("grant_type", "x")])
        .send()
        .await
        .expect("token");
    assert_eq!(
        token.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    // The Management API, which a single-page app calls with the person's own token.
    let mgmt_preflight = |origin: &'static str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                app.url("/api/v2/users/auth0%7Cabc/identities/email/x"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "DELETE")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = mgmt_preflight("https://app.example")
        .await
        .expect("preflight");
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(
        ok.headers()["access-control-allow-methods"]
            .to_str()
            .expect("ascii")
            .contains("DELETE")
    );
    assert!(
        ok.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let evil = mgmt_preflight("https://evil.example")
        .await
        .expect("preflight");
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    let read = app
        .client
        .get(app.url("/api/v2/users/auth0%7Cabc"))
        .header("origin", "https://app.example")
        .send()
        .await
        .expect("get");
    assert_eq!(read.status(), 401, "CORS does not stand in for a token");
    assert_eq!(
        read.headers()["access-control-allow-origin"],
        "https://app.example"
    );
}

#[tokio::test]
async fn pages_carry_the_tenant_branding() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let mgmt = app.mgmt().await;
    let (status, s) = mgmt
        .patch("/tenants/settings", json!({"friendly_name": "Acme <Corp>", "default_directory": "Username-Password-Authentication"}))
        .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["friendly_name"], "Acme <Corp>");
    let (status, b) = mgmt
        .patch(
            "/branding",
            json!({"colors": {"primary": "#aa3300",
                              "page_background": {"type": "linear-gradient", "start": "#102030",
                                                  "end": "#405060", "angle_deg": 90}},
                   "logo_url": "https://cdn.example/logo.png",
                   "favicon_url": "https://cdn.example/icon.png",
                   "font": {"url": "https://cdn.example/acme.woff2"}}),
        )
        .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["font"], json!({"url": "https://cdn.example/acme.woff2"}));
    for bad in [
        json!({"font": {"url": "https://cdn.example/a\"); } main { display: none"}}),
        json!({"font": {"url": "http://cdn.example/a.woff2"}}),
        json!({"font": {"name": "Comic"}}),
    ] {
        crate::helpers::assert_mgmt_error(&mgmt.patch("/branding", bad).await, 400, "invalid_body");
    }
    crate::helpers::assert_mgmt_error(
        &mgmt
            .patch("/branding", json!({"favicon_url": "javascript:alert(1)"}))
            .await,
        400,
        "invalid_body",
    );
    crate::helpers::assert_mgmt_error(
        &mgmt
            .patch("/branding", json!({"colors": {"primary": "red;}</style>"}}))
            .await,
        400,
        "invalid_body",
    );
    crate::helpers::assert_mgmt_error(
        &mgmt
            .patch("/tenants/settings", json!({"default_directory": "nope"}))
            .await,
        400,
        "invalid_body",
    );
    let html = client()
        .get(authorize_url(&app, &apps.web_id, ""))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Acme &#60;Corp&#62;") || html.contains("Acme &lt;Corp&gt;"),
        "escaped name: {html}"
    );
    assert!(!html.contains("Acme <Corp>"));
    assert!(html.contains("background: #aa3300"));
    assert!(html.contains("src=\"https://cdn.example/logo.png\""));
    assert!(
        html.contains("background: linear-gradient(90deg, #102030, #405060)"),
        "{html}"
    );
    assert!(
        html.contains("<link rel=\"icon\" href=\"https://cdn.example/icon.png\">"),
        "{html}"
    );
    assert!(
        html.contains("src: url(\"https://cdn.example/acme.woff2\")")
            && html.contains("font-family: \"tenant\", system-ui"),
        "{html}"
    );
    // A page background that is not a colour is kept (and shown by the API) but never
    // reaches the style sheet.
    mgmt.patch(
        "/branding",
        json!({"colors": {"page_background": "red; } main { display: none"}}),
    )
    .await;
    let html = client()
        .get(authorize_url(&app, &apps.web_id, ""))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        !html.contains("display: none") && html.contains("background: #f4f5f7"),
        "{html}"
    );
}

#[tokio::test]
async fn max_age_and_connection_parameters() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let (browser, _) = logged_in(&app, &apps).await;
    // A session younger than max_age counts; max_age=0 forces a fresh login.
    let fresh = browser
        .get(format!(
            "{}&max_age=3600",
            authorize_url(&app, &apps.web_id, "")
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(fresh.status(), 302);
    app.advance_clock(time::Duration::seconds(2));
    let stale = browser
        .get(format!(
            "{}&max_age=0",
            authorize_url(&app, &apps.web_id, "")
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(stale.status(), 200, "the login page again");
    let none = browser
        .get(format!(
            "{}&max_age=0&prompt=none",
            authorize_url(&app, &apps.web_id, "")
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(
        param(&location(&none), "error").as_deref(),
        Some("login_required")
    );
    let bad = browser
        .get(format!(
            "{}&max_age=soon",
            authorize_url(&app, &apps.web_id, "")
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(
        param(&location(&bad), "error").as_deref(),
        Some("invalid_request")
    );
    let unknown = browser
        .get(format!(
            "{}&connection=nope",
            authorize_url(&app, &apps.web_id, "")
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(
        param(&location(&unknown), "error").as_deref(),
        Some("invalid_request")
    );
    let named = browser
        .get(format!(
            "{}&connection=Username-Password-Authentication",
            authorize_url(&app, &apps.web_id, "")
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(named.status(), 302, "the session's connection matches");
}

#[tokio::test]
async fn sign_up_on_the_page_then_get_a_code() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let browser = client();
    let page = browser
        .get(format!(
            "{}&screen_hint=signup",
            authorize_url(&app, &apps.web_id, "")
        ))
        .send()
        .await
        .expect("signup page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("Create your account"), "{html}");
    let tx = tx_of(&html);
    let weak = browser
        .post(app.url("/u/signup"))
        .form(&[
            ("tx", tx.as_str()),
            ("email", "page@example.com"),
            ("password", "weak"),
        ])
        .send()
        .await
        .expect("signup");
    assert_eq!(weak.status(), 400);
    assert!(
        weak.text()
            .await
            .expect("html")
            .contains("Password is too weak")
    );
    let taken = browser
        .post(app.url("/u/signup"))
        .form(&[
            ("tx", tx.as_str()),
            ("email", "lin@example.com"),
            ("password", "Sup3r-secret!"),
        ])
        .send()
        .await
        .expect("signup");
    assert_eq!(taken.status(), 400, "an existing address is refused");
    let ok = browser
        .post(app.url("/u/signup"))
        .form(&[
            ("tx", tx.as_str()),
            ("email", "page@example.com"),
            ("password", "Sup3r-secret!"),
        ])
        .send()
        .await
        .expect("signup");
    assert_eq!(ok.status(), 303);
    let code = param(&location(&ok), "code").expect("code");
    let (status, tokens) = exchange(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &apps.web_id),
            ("client_secret", &apps.web_secret),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    // The login page links to sign-up within the same transaction, and back.
    let login_html = browser
        .get(authorize_url(&app, &apps.web_id, "&prompt=login"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let link_tx = tx_of(&login_html);
    let switched = browser
        .get(app.url(&format!("/u/signup?tx={link_tx}")))
        .send()
        .await
        .expect("switch");
    assert_eq!(switched.status(), 200);
    let forged = client()
        .get(app.url(&format!("/u/signup?tx={link_tx}")))
        .send()
        .await
        .expect("switch");
    assert_eq!(forged.status(), 400, "bound to the browser");
}

fn fragment(r: &reqwest::Response) -> std::collections::HashMap<String, String> {
    let to = location(r);
    url::form_urlencoded::parse(to.fragment().expect("fragment").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn half_hash(v: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v.as_bytes());
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &d.as_ref()[..16],
    )
}

#[tokio::test]
async fn implicit_and_hybrid_responses_when_enabled() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let mgmt = app.mgmt().await;
    let (browser, _) = logged_in(&app, &apps).await;
    let url = |rt: &str, extra: &str| {
        app.url(&format!(
            "/authorize?response_type={}&client_id={}&redirect_uri={}&scope=openid%20email&state=s1{extra}",
            enc(rt), apps.web_id, enc(CB)
        ))
    };
    // Off until the client enables the implicit grant.
    let off = browser
        .get(url("id_token token", "&nonce=n"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(fragment(&off)["error"], "unauthorized_client");
    mgmt.patch(
        &format!("/clients/{}", apps.web_id),
        json!({"grant_types": ["authorization_code", "implicit"]}),
    )
    .await;

    let r = browser
        .get(url("token id_token", "&nonce=n1"))
        .send()
        .await
        .expect("authorize");
    let f = fragment(&r);
    assert_eq!(f["state"], "s1");
    assert_eq!(f["token_type"], "Bearer");
    assert_eq!(f["iss"], format!("{}/", app.address));
    let id = crate::helpers::jwt_claims(&f["id_token"]);
    assert_eq!(id["nonce"], "n1");
    assert_eq!(id["at_hash"], half_hash(&f["access_token"]));
    assert!(location(&r).query().is_none(), "tokens never in the query");

    let r = browser
        .get(url("code id_token", "&nonce=n2"))
        .send()
        .await
        .expect("authorize");
    let f = fragment(&r);
    let id = crate::helpers::jwt_claims(&f["id_token"]);
    assert_eq!(id["c_hash"], half_hash(&f["code"]));
    assert!(!f.contains_key("access_token"));

    let no_nonce = browser
        .get(url("id_token", ""))
        .send()
        .await
        .expect("authorize");
    assert_eq!(fragment(&no_nonce)["error"], "invalid_request");
    let in_query = browser
        .get(url("token", "&response_mode=query"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(fragment(&in_query)["error"], "invalid_request");
    let odd = browser
        .get(url("code banana", ""))
        .send()
        .await
        .expect("authorize");
    assert_eq!(fragment(&odd)["error"], "unsupported_response_type");
}

#[tokio::test]
async fn third_party_clients_need_consent() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let mgmt = app.mgmt().await;
    let (_, c) = mgmt.get(&format!("/clients/{}", apps.web_id)).await;
    assert_eq!(
        c["is_first_party"], true,
        "first-party by default, as in Auth0"
    );
    mgmt.patch(
        &format!("/clients/{}", apps.web_id),
        json!({"is_first_party": false}),
    )
    .await;
    let browser = client();
    let url = authorize_url(&app, &apps.web_id, "");
    // After the login, the consent screen instead of a code.
    let consent = log_in(&browser, &app, &url, "Sup3r-secret!").await;
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.expect("html");
    assert!(
        html.contains("wants to access your account")
            && html.contains("<li>Your email address <code>email</code></li>"),
        "{html}"
    );
    let tx = tx_of(&html);
    // prompt=none cannot ask, so it says so.
    let silent = browser
        .get(format!("{url}&prompt=none"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(
        param(&location(&silent), "error").as_deref(),
        Some("consent_required")
    );
    // Denying goes back to the client as access_denied.
    let denied = browser
        .post(app.url("/u/consent"))
        .form(&[("tx", tx.as_str()), ("decision", "deny")])
        .send()
        .await
        .expect("deny");
    assert_eq!(
        param(&location(&denied), "error").as_deref(),
        Some("access_denied")
    );
    // Allowing gives the code, and is remembered.
    let html = browser
        .get(&url)
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("html");
    let allowed = browser
        .post(app.url("/u/consent"))
        .form(&[("tx", tx_of(&html).as_str()), ("decision", "accept")])
        .send()
        .await
        .expect("accept");
    assert_eq!(allowed.status(), 303);
    assert!(param(&location(&allowed), "code").is_some());
    let again = browser.get(&url).send().await.expect("authorize");
    assert!(
        param(&location(&again), "code").is_some(),
        "no second consent screen"
    );
    let forced = browser
        .get(format!("{url}&prompt=consent"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(forced.status(), 200, "prompt=consent asks again");
    // The remembered consent is a grant of the Management API; forgotten, it is asked again.
    let (_, users) = mgmt.get("/users-by-email?email=lin%40example.com").await;
    let user_id = users[0]["user_id"].as_str().expect("id").to_owned();
    let (status, grants) = mgmt
        .get(&format!(
            "/grants?user_id={}&include_totals=true",
            enc(&user_id)
        ))
        .await;
    assert_eq!(status, 200, "{grants}");
    assert_eq!(grants["total"], 1, "{grants}");
    let grant = &grants["grants"][0];
    assert_eq!(grant["clientID"], apps.web_id.as_str());
    assert_eq!(grant["user_id"], user_id.as_str());
    assert!(
        grant["scope"]
            .as_array()
            .expect("scope")
            .iter()
            .any(|s| s == "email")
    );
    let (status, _) = mgmt
        .delete(&format!("/grants/{}", grant["id"].as_str().expect("id")))
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        mgmt.delete(&format!("/grants/{}", grant["id"].as_str().expect("id")))
            .await
            .0,
        404
    );
    assert_eq!(mgmt.delete("/grants/gra_garbage").await.0, 404);
    assert_eq!(mgmt.delete("/grants").await.0, 400, "user_id is required");
    let asked = browser.get(&url).send().await.expect("authorize");
    assert_eq!(asked.status(), 200, "the consent screen again");
    // The form is bound to its browser and to a session.
    let stranger = client()
        .post(app.url("/u/consent"))
        .form(&[("tx", tx.as_str()), ("decision", "accept")])
        .send()
        .await
        .expect("post");
    assert_eq!(stranger.status(), 400);

    // An API's scopes are shown by their descriptions, under the API's name.
    mgmt.post(
        "/resource-servers",
        json!({"identifier": "https://reports.example/", "name": "Reports",
               "scopes": [{"value": "read:reports", "description": "Read your reports"},
                          {"value": "bare:scope"}]}),
    )
    .await;
    let api_url = app.url(&format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&audience={}&state=s",
        apps.web_id,
        enc(CB),
        enc("openid read:reports bare:scope"),
        enc("https://reports.example/")
    ));
    let html = browser
        .get(&api_url)
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("html");
    assert!(html.contains("use Reports on your behalf"), "{html}");
    assert!(
        html.contains("<li>Read your reports <code>read:reports</code></li>"),
        "{html}"
    );
    assert!(html.contains("<li>bare:scope</li>"), "{html}");
}

#[tokio::test]
async fn web_message_for_silent_authentication() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let (browser, _) = logged_in(&app, &apps).await;
    let url = format!(
        "{}&prompt=none&response_mode=web_message",
        authorize_url(&app, &apps.web_id, "")
    );
    // Not an Allowed Web Origin yet: nothing is posted anywhere.
    let refused = browser.get(&url).send().await.expect("authorize");
    assert_eq!(refused.status(), 400);
    let mgmt = app.mgmt().await;
    mgmt.patch(
        &format!("/clients/{}", apps.web_id),
        json!({"web_origins": ["https://app.example"]}),
    )
    .await;
    let r = browser.get(&url).send().await.expect("authorize");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-security-policy"],
        "frame-ancestors https://app.example"
    );
    assert!(
        r.headers().get("x-frame-options").is_none(),
        "its own application may frame it"
    );
    let html = r.text().await.expect("html");
    assert!(html.contains("type: \"authorization_response\""), "{html}");
    assert!(
        html.contains("\"code\":\"") && html.contains("\"state\":\"st4te\""),
        "{html}"
    );
    assert!(
        html.contains("postMessage(message, \"https://app.example\")"),
        "{html}"
    );
    // Without a session the error travels the same way.
    let none = client()
        .get(&url)
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("html");
    assert!(none.contains("\"error\":\"login_required\""), "{none}");
    // Every other page still refuses framing.
    assert_eq!(
        client()
            .get(authorize_url(&app, &apps.web_id, ""))
            .send()
            .await
            .expect("page")
            .headers()["x-frame-options"],
        "DENY"
    );
}

#[tokio::test]
async fn session_lifetimes_come_from_the_tenant_settings() {
    let app = spawn_app().await;
    let apps = setup(&app).await;
    let mgmt = app.mgmt().await;
    let (_, settings) = mgmt.get("/tenants/settings").await;
    assert_eq!(settings["session_lifetime"], 168);
    assert_eq!(settings["idle_session_lifetime"], 72);
    for bad in [json!(0), json!(8761), json!("2"), json!(1.5)] {
        let got = mgmt
            .patch("/tenants/settings", json!({"session_lifetime": bad}))
            .await;
        crate::helpers::assert_mgmt_error(&got, 400, "invalid_body");
    }
    let (status, settings) = mgmt
        .patch(
            "/tenants/settings",
            json!({"session_lifetime": 2, "idle_session_lifetime": 1}),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["session_lifetime"], 2);

    let browser = client();
    let url = authorize_url(&app, &apps.web_id, "");
    let r = log_in(&browser, &app, &url, "Sup3r-secret!").await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("gh_session="))
        .expect("session cookie")
        .to_owned();
    assert!(cookie.contains("Max-Age=7200"), "{cookie}");
    assert!(has_session(&app, &apps, &browser).await);

    // An hour and a bit without interaction ends the session.
    let value = cookie["gh_session=".len()..]
        .split(';')
        .next()
        .expect("value");
    let hash = app.state.hasher.hash(value);
    let stale = time::OffsetDateTime::now_utc() - time::Duration::minutes(61);
    app.state
        .stores
        .sessions
        .touch_session(&hash, stale)
        .await
        .expect("touch");
    assert!(!has_session(&app, &apps, &browser).await);
}

#[tokio::test]
async fn on_https_the_session_cookie_works_across_sites() {
    let app = TestApp::builder()
        .env("GATEHOUSE_ISSUER", "https://login.example/")
        .spawn()
        .await;
    let apps = setup(&app).await;
    // No cookie jar: Secure cookies are not sent over this test's plain http, so by hand.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let set_cookie = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {name} cookie"))
    };
    let page = http
        .get(authorize_url(&app, &apps.web_id, ""))
        .send()
        .await
        .expect("authorize");
    let csrf = set_cookie(&page, "gh_csrf");
    assert!(csrf.contains("SameSite=Lax; Secure"), "{csrf}");
    let html = page.text().await.expect("html");
    let r = http
        .post(app.url("/u/login"))
        .header("cookie", csrf.split(';').next().expect("pair"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", "lin@example.com"),
            ("password", "Sup3r-secret!"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303);
    let session = set_cookie(&r, "gh_session");
    assert!(
        session.contains("HttpOnly; SameSite=None; Secure"),
        "{session}"
    );
}
