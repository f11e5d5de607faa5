//! Logins through an upstream OpenID Connect provider: a second gatehouse instance (its own
//! database) on loopback is the provider, driven by a browser-like client with a cookie jar.

use serde_json::{Value, json};

use crate::helpers::{TestApp, client, enc, jwt_claims, location, param, spawn_app};

const CB: &str = "https://app.example/cb";

fn tx_of(html: &str) -> String {
    let start = html.find("name=\"tx\" value=\"").expect("tx field") + 17;
    html[start..].split('"').next().expect("value").to_owned()
}

/// The provider (`idp`) and the gatehouse that logs in through it (`rp`), with an
/// application on `rp` enabled on the `oidc` connection `upstream`.
pub struct Federation {
    pub idp: TestApp,
    pub rp: TestApp,
    pub app_id: String,
    app_secret: String,
}

pub async fn federation() -> Federation {
    let rp = spawn_app().await;
    let idp = spawn_app().await;
    let idp_mgmt = idp.mgmt().await;
    let (status, upstream_client) = idp_mgmt
        .post(
            "/clients",
            json!({"name": "gatehouse rp", "app_type": "regular_web",
                   "callbacks": [format!("{}login/callback", rp.state.issuer)],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    assert_eq!(status, 201, "{upstream_client}");
    let (status, _) = idp_mgmt
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": "ada@example.com",
                   "password": "Sup3r-secret!", "name": "Ada Lovelace", "email_verified": true}),
        )
        .await;
    assert_eq!(status, 201);
    let rp_mgmt = rp.mgmt().await;
    let (_, app) = rp_mgmt
        .post(
            "/clients",
            json!({"name": "Shop", "app_type": "regular_web", "callbacks": [CB],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    let app_id = app["client_id"].as_str().expect("id").to_owned();
    let (status, connection) = rp_mgmt
        .post(
            "/connections",
            json!({"name": "upstream", "strategy": "oidc", "enabled_clients": [app_id],
                   "options": {"type": "back_channel",
                     "discovery_url": format!("{}.well-known/openid-configuration", idp.state.issuer),
                     "client_id": upstream_client["client_id"],
                     "client_secret": upstream_client["client_secret"],
                     "scopes": "openid profile email"}}),
        )
        .await;
    assert_eq!(status, 201, "{connection}");
    assert!(
        connection["options"].get("client_secret").is_none(),
        "secrets are never shown: {connection}"
    );
    Federation {
        idp,
        rp,
        app_id,
        app_secret: app["client_secret"].as_str().expect("secret").to_owned(),
    }
}

fn authorize_url(f: &Federation) -> String {
    f.rp.url(&format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=app-state&nonce=app-nonce&connection=upstream",
        f.app_id,
        enc(CB),
        enc("openid profile email")
    ))
}

/// Follows `/authorize` to the provider and logs in there; returns the provider's redirect
/// to our `/login/callback`.
async fn log_in_upstream(f: &Federation, browser: &reqwest::Client) -> url::Url {
    let to_idp = browser
        .get(authorize_url(f))
        .send()
        .await
        .expect("authorize");
    assert_eq!(to_idp.status(), 303, "{:?}", to_idp.text().await);
    let at_idp = location(&to_idp);
    assert!(
        at_idp.as_str().starts_with(&f.idp.url("/authorize")),
        "{at_idp}"
    );
    assert_eq!(param(&at_idp, "response_type").as_deref(), Some("code"));
    assert_eq!(
        param(&at_idp, "redirect_uri"),
        Some(format!("{}login/callback", f.rp.state.issuer))
    );
    assert!(param(&at_idp, "nonce").is_some_and(|n| n.len() >= 24));
    assert_eq!(
        param(&at_idp, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let page = browser
        .get(at_idp.as_str())
        .send()
        .await
        .expect("idp login page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    let back = browser
        .post(f.idp.url("/u/login"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", "ada@example.com"),
            ("password", "Sup3r-secret!"),
        ])
        .send()
        .await
        .expect("idp login");
    assert_eq!(back.status(), 303, "{:?}", back.text().await);
    let callback = location(&back);
    assert!(
        callback.as_str().starts_with(&f.rp.url("/login/callback")),
        "{callback}"
    );
    callback
}

async fn exchange(f: &Federation, code: &str) -> Value {
    let r =
        f.rp.client
            .post(f.rp.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", f.app_id.as_str()),
                ("client_secret", f.app_secret.as_str()),
                ("code", code),
                ("redirect_uri", CB),
            ])
            .send()
            .await
            .expect("token");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// A new browser sent to the provider: the browser and the `state` it carries.
async fn started(f: &Federation) -> (reqwest::Client, String) {
    let browser = client();
    let to_idp = browser
        .get(authorize_url(f))
        .send()
        .await
        .expect("authorize");
    let state = param(&location(&to_idp), "state").expect("state");
    (browser, state)
}

/// A whole login through the provider in a new browser: the browser and the tokens the
/// application got.
pub async fn logged_in(f: &Federation) -> (reqwest::Client, Value) {
    let browser = client();
    let callback = log_in_upstream(f, &browser).await;
    let done = browser
        .get(callback.as_str())
        .send()
        .await
        .expect("callback");
    assert_eq!(done.status(), 303);
    let tokens = exchange(f, &param(&location(&done), "code").expect("code")).await;
    (browser, tokens)
}

#[tokio::test]
async fn log_in_through_an_openid_connect_provider() {
    let f = federation().await;
    let browser = client();
    let callback = log_in_upstream(&f, &browser).await;
    let done = browser
        .get(callback.as_str())
        .send()
        .await
        .expect("callback");
    assert_eq!(done.status(), 303, "{:?}", done.text().await);
    let at_app = location(&done);
    assert!(at_app.as_str().starts_with(CB), "{at_app}");
    assert_eq!(param(&at_app, "state").as_deref(), Some("app-state"));
    let tokens = exchange(
        &f,
        &param(&at_app, "code").unwrap_or_else(|| panic!("no code: {at_app}")),
    )
    .await;
    let claims = jwt_claims(tokens["id_token"].as_str().expect("id token"));
    let sub = claims["sub"].as_str().expect("sub").to_owned();
    assert!(sub.starts_with("oidc|upstream|auth0|"), "{claims}");
    assert_eq!(claims["nonce"], "app-nonce");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["name"], "Ada Lovelace");

    // The user and its identity, in Auth0's shape.
    let (status, user) =
        f.rp.mgmt()
            .await
            .get(&format!("/users/{}", enc(&sub)))
            .await;
    assert_eq!(status, 200, "{user}");
    let identity = &user["identities"][0];
    assert_eq!(identity["provider"], "oidc");
    assert_eq!(identity["connection"], "upstream");
    assert_eq!(identity["isSocial"], false);
    assert_eq!(identity["user_id"].as_str(), sub.strip_prefix("oidc|"));
    assert_eq!(user["email_verified"], true);

    // The provider's answer works once: the binding cookie is gone.
    let again = browser.get(callback.as_str()).send().await.expect("replay");
    assert_eq!(again.status(), 400);
    assert!(again.headers().get("location").is_none());

    // A second login finds the same user.
    let (_, tokens) = logged_in(&f).await;
    assert_eq!(
        jwt_claims(tokens["id_token"].as_str().expect("id token"))["sub"],
        sub.as_str()
    );
    f.idp.stop().await;
}

#[tokio::test]
async fn provider_refusals_reach_the_application_and_make_no_user() {
    let f = federation().await;
    let browser = client();
    let callback = log_in_upstream(&f, &browser).await;
    let state = param(&callback, "state").expect("state");

    // Another browser cannot use the provider's answer (no binding cookie).
    let stranger = client()
        .get(callback.as_str())
        .send()
        .await
        .expect("stranger");
    assert_eq!(stranger.status(), 400);
    // A forged state is refused without a redirect.
    let forged = browser
        .get(f.rp.url("/login/callback?code=x&state=forged"))
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), 400);
    assert!(forged.headers().get("location").is_none());
    // Answers that are not forms at all get the same page, not a bare 415.
    for body in [
        ("text/plain", "state=x"),
        ("application/json", "{\"state\": 1}"),
    ] {
        let odd = browser
            .post(f.rp.url("/login/callback"))
            .header("content-type", body.0)
            .body(body.1)
            .send()
            .await
            .expect("odd");
        assert_eq!(odd.status(), 400);
        assert!(
            odd.text()
                .await
                .expect("html")
                .contains("This login is not valid")
        );
    }

    // An answer naming another issuer (RFC 9207) is a mix-up: refused, reported to the app.
    let code = param(&callback, "code").expect("code");
    let mixed = browser
        .get(f.rp.url(&format!(
            "/login/callback?code={}&state={}&iss={}",
            enc(&code),
            enc(&state),
            enc("https://evil.example/")
        )))
        .send()
        .await
        .expect("mix-up");
    assert_eq!(mixed.status(), 302);
    let at_app = location(&mixed);
    assert_eq!(param(&at_app, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&at_app, "state").as_deref(), Some("app-state"));

    // The provider's own refusal reaches the application with its state.
    let (browser, state) = started(&f).await;
    let denied = browser
        .get(f.rp.url(&format!(
            "/login/callback?error=access_denied&error_description=no&state={}",
            enc(&state)
        )))
        .send()
        .await
        .expect("denied");
    assert_eq!(denied.status(), 302);
    let at_app = location(&denied);
    assert_eq!(param(&at_app, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&at_app, "state").as_deref(), Some("app-state"));

    // A code that is not the provider's fails the exchange: an error, no user.
    let (browser, state) = started(&f).await;
    let bad = browser
        .get(f.rp.url(&format!(
            "/login/callback?code=not-a-code&state={}",
            enc(&state)
        )))
        .send()
        .await
        .expect("bad code");
    assert_eq!(bad.status(), 302);
    assert_eq!(
        param(&location(&bad), "error").as_deref(),
        Some("access_denied")
    );
    let (_, users) = f.rp.mgmt().await.get("/users").await;
    assert_eq!(users.as_array().map(Vec::len), Some(0), "{users}");
    f.idp.stop().await;
}

#[tokio::test]
async fn a_fresh_login_asked_of_us_is_asked_of_the_provider() {
    let f = federation().await;
    for (prompt, passed) in [
        ("login", Some("login")),
        ("consent", Some("consent")),
        ("", None),
    ] {
        let url = format!("{}&prompt={prompt}", authorize_url(&f));
        let to_idp = client().get(&url).send().await.expect("authorize");
        assert_eq!(to_idp.status(), 303);
        assert_eq!(param(&location(&to_idp), "prompt").as_deref(), passed);
    }
    f.idp.stop().await;
}

#[tokio::test]
async fn the_login_page_links_to_the_provider_without_javascript() {
    let f = federation().await;
    let browser = client();
    let url = authorize_url(&f).replace("&connection=upstream", "");
    let page = browser.get(&url).send().await.expect("login page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    let start = html
        .find("href=\"/u/upstream?")
        .expect("a link to the provider")
        + 6;
    let href = html[start..]
        .split('"')
        .next()
        .expect("href")
        .replace("&amp;", "&");
    assert!(html.contains("Continue with upstream"), "{html}");
    // The link is bound to the browser that opened the page.
    let stranger = client()
        .get(f.rp.url(&href))
        .send()
        .await
        .expect("stranger");
    assert_eq!(stranger.status(), 400);
    let to_idp = browser.get(f.rp.url(&href)).send().await.expect("follow");
    assert_eq!(to_idp.status(), 303);
    assert!(
        location(&to_idp)
            .as_str()
            .starts_with(&f.idp.url("/authorize"))
    );
    f.idp.stop().await;
}

#[tokio::test]
async fn provider_urls_and_secrets_are_guarded() {
    let f = federation().await;
    let mgmt = f.rp.mgmt().await;
    let (status, body) = mgmt
        .post(
            "/connections",
            json!({"name": "plain", "strategy": "oidc",
                   "options": {"discovery_url": "http://idp.example/.well-known/openid-configuration",
                               "client_id": "x"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("https")),
        "{body}"
    );

    // Pointing the connection elsewhere without sending the secret again drops the secret,
    // so someone who may edit connections (but not read secrets) cannot send it to a host of
    // their choosing; the login then fails at the provider.
    let (_, list) = mgmt.get("/connections?name=upstream").await;
    let id = list[0]["id"].as_str().expect("id").to_owned();
    let (status, body) = mgmt
        .patch(
            &format!("/connections/{id}"),
            json!({"options": {"issuer": f.idp.state.issuer, "client_id": list[0]["options"]["client_id"]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let browser = client();
    let callback = log_in_upstream(&f, &browser).await;
    let done = browser
        .get(callback.as_str())
        .send()
        .await
        .expect("callback");
    assert_eq!(done.status(), 302);
    assert_eq!(
        param(&location(&done), "error").as_deref(),
        Some("access_denied")
    );
    f.idp.stop().await;
}

#[tokio::test]
async fn google_connections_use_the_google_discovery_document() {
    // A gatehouse stands in for Google: its discovery document is the one configured.
    let google = spawn_app().await;
    let rp = TestApp::builder()
        .env(
            "GATEHOUSE_GOOGLE_DISCOVERY_URL",
            &format!("{}.well-known/openid-configuration", google.state.issuer),
        )
        .spawn()
        .await;
    let g_mgmt = google.mgmt().await;
    let (_, upstream_client) = g_mgmt
        .post(
            "/clients",
            json!({"name": "rp", "app_type": "regular_web",
                   "callbacks": [format!("{}login/callback", rp.state.issuer)],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    g_mgmt
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": "ada@example.com",
                   "password": "Sup3r-secret!", "email_verified": true}),
        )
        .await;
    let rp_mgmt = rp.mgmt().await;
    let (_, app) = rp_mgmt
        .post(
            "/clients",
            json!({"name": "Shop", "app_type": "regular_web", "callbacks": [CB],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    let (status, body) = rp_mgmt
        .post(
            "/connections",
            json!({"name": "google-oauth2", "strategy": "google-oauth2",
                   "enabled_clients": [app["client_id"]],
                   "options": {"client_id": upstream_client["client_id"],
                               "client_secret": upstream_client["client_secret"],
                               "scope": ["email", "profile"]}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let f = Federation {
        idp: google,
        rp,
        app_id: app["client_id"].as_str().expect("id").to_owned(),
        app_secret: app["client_secret"].as_str().expect("secret").to_owned(),
    };
    let browser = client();
    let url = authorize_url(&f).replace("connection=upstream", "connection=google-oauth2");
    let to_google = browser.get(&url).send().await.expect("authorize");
    assert_eq!(to_google.status(), 303);
    let page = browser
        .get(location(&to_google).as_str())
        .send()
        .await
        .expect("google login page");
    let html = page.text().await.expect("html");
    let back = browser
        .post(f.idp.url("/u/login"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", "ada@example.com"),
            ("password", "Sup3r-secret!"),
        ])
        .send()
        .await
        .expect("login");
    let done = browser
        .get(location(&back).as_str())
        .send()
        .await
        .expect("callback");
    assert_eq!(done.status(), 303);
    let tokens = exchange(&f, &param(&location(&done), "code").expect("code")).await;
    let sub = jwt_claims(tokens["id_token"].as_str().expect("id token"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    assert!(sub.starts_with("google-oauth2|auth0|"), "{sub}");
    let (_, user) =
        f.rp.mgmt()
            .await
            .get(&format!("/users/{}", enc(&sub)))
            .await;
    assert_eq!(user["identities"][0]["provider"], "google-oauth2");
    assert_eq!(user["identities"][0]["isSocial"], true);
    assert_eq!(
        user["identities"][0]["user_id"].as_str(),
        sub.strip_prefix("google-oauth2|")
    );
    f.idp.stop().await;
}

#[tokio::test]
async fn upstream_identities_link_unlink_and_log_in_as_the_primary() {
    let f = federation().await;
    // First login through the provider makes the upstream user.
    let (_, tokens) = logged_in(&f).await;
    let upstream_sub = jwt_claims(tokens["id_token"].as_str().expect("id token"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    let mgmt = f.rp.mgmt().await;
    let (_, primary) = mgmt
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": "ada@shop.example",
                   "password": "Sup3r-secret!"}),
        )
        .await;
    let primary_id = primary["user_id"].as_str().expect("id").to_owned();
    let identity_id = upstream_sub.strip_prefix("oidc|").expect("oidc").to_owned();
    let (status, identities) = mgmt
        .post(
            &format!("/users/{}/identities", enc(&primary_id)),
            json!({"provider": "oidc", "user_id": identity_id}),
        )
        .await;
    assert_eq!(status, 201, "{identities}");
    assert_eq!(identities[1]["connection"], "upstream");

    // Logging in through the provider now yields the primary user.
    let (_, tokens) = logged_in(&f).await;
    assert_eq!(
        jwt_claims(tokens["id_token"].as_str().expect("id token"))["sub"],
        primary_id.as_str()
    );

    // The identity's user_id holds `|`, URL-encoded in the path.
    let (status, left) = mgmt
        .delete(&format!(
            "/users/{}/identities/oidc/{}",
            enc(&primary_id),
            enc(&identity_id)
        ))
        .await;
    assert_eq!(status, 200, "{left}");
    let (status, standalone) = mgmt.get(&format!("/users/{}", enc(&upstream_sub))).await;
    assert_eq!(status, 200, "{standalone}");
    f.idp.stop().await;
}

#[tokio::test]
async fn federated_logout_goes_on_to_the_provider() {
    let f = federation().await;
    let (browser, tokens) = logged_in(&f).await;
    let id_token = tokens["id_token"].as_str().expect("id token");
    let out = browser
        .get(f.rp.url(&format!(
            "/v2/logout?federated&client_id={}&id_token_hint={id_token}",
            f.app_id
        )))
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 302, "{:?}", out.text().await);
    let to = location(&out);
    assert!(to.as_str().starts_with(&f.idp.url("/oidc/logout")), "{to}");
    assert!(param(&to, "client_id").is_some());
    // Without `federated`, logout stays here.
    let (browser, tokens) = logged_in(&f).await;
    let id_token = tokens["id_token"].as_str().expect("id token");
    let out = browser
        .get(f.rp.url(&format!(
            "/v2/logout?client_id={}&id_token_hint={id_token}",
            f.app_id
        )))
        .send()
        .await
        .expect("logout");
    assert!(
        out.headers()
            .get("location")
            .is_none_or(|l| !l.to_str().unwrap_or_default().starts_with(&f.idp.url("/")))
    );
    f.idp.stop().await;
}

/// The hidden fields of a form_post page.
fn posted_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let value = rest.split("value=\"").nth(1)?.split('"').next()?;
            Some((
                name.to_owned(),
                value.replace("&#x2f;", "/").replace("&#x3d;", "="),
            ))
        })
        .collect()
}

#[tokio::test]
async fn front_channel_providers_post_an_id_token_back() {
    let f = federation().await;
    // The provider's client may use the implicit grant; the connection says front channel.
    let idp_mgmt = f.idp.mgmt().await;
    let (_, clients) = idp_mgmt.get("/clients").await;
    let upstream_client = clients
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == "gatehouse rp"))
        .expect("the rp's client at the provider");
    let (status, _) = idp_mgmt
        .patch(
            &format!(
                "/clients/{}",
                upstream_client["client_id"].as_str().expect("id")
            ),
            json!({"grant_types": ["authorization_code", "implicit"]}),
        )
        .await;
    assert_eq!(status, 200);
    let rp_mgmt = f.rp.mgmt().await;
    let (_, list) = rp_mgmt.get("/connections?name=upstream").await;
    let mut options = list[0]["options"].clone();
    options["type"] = json!("front_channel");
    let (status, body) = rp_mgmt
        .patch(
            &format!("/connections/{}", list[0]["id"].as_str().expect("id")),
            json!({ "options": options }),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let browser = client();
    let to_idp = browser
        .get(authorize_url(&f))
        .send()
        .await
        .expect("authorize");
    let at_idp = location(&to_idp);
    assert_eq!(param(&at_idp, "response_type").as_deref(), Some("id_token"));
    assert_eq!(
        param(&at_idp, "response_mode").as_deref(),
        Some("form_post")
    );
    assert!(param(&at_idp, "code_challenge").is_none());
    let page = browser.get(at_idp.as_str()).send().await.expect("idp page");
    let html = page.text().await.expect("html");
    let posted = browser
        .post(f.idp.url("/u/login"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", "ada@example.com"),
            ("password", "Sup3r-secret!"),
        ])
        .send()
        .await
        .expect("idp login");
    assert_eq!(posted.status(), 200);
    let fields = posted_fields(&posted.text().await.expect("form_post page"));
    assert!(fields.iter().any(|(k, _)| k == "id_token"), "{fields:?}");
    let done = browser
        .post(f.rp.url("/login/callback"))
        .form(&fields)
        .send()
        .await
        .expect("callback");
    assert_eq!(done.status(), 303, "{:?}", done.text().await);
    let tokens = exchange(&f, &param(&location(&done), "code").expect("code")).await;
    let claims = jwt_claims(tokens["id_token"].as_str().expect("id token"));
    assert!(
        claims["sub"]
            .as_str()
            .is_some_and(|s| s.starts_with("oidc|upstream|"))
    );

    // A code sent to a front-channel connection is refused (its answers are ID tokens).
    let (browser, state) = started(&f).await;
    let wrong = browser
        .post(f.rp.url("/login/callback"))
        .form(&[("code", "abc"), ("state", state.as_str())])
        .send()
        .await
        .expect("callback");
    assert_eq!(
        param(&location(&wrong), "error").as_deref(),
        Some("access_denied")
    );
    f.idp.stop().await;
}

#[tokio::test]
async fn root_attributes_follow_the_provider_as_the_connection_says() {
    let f = federation().await;
    let (_, tokens) = logged_in(&f).await;
    let sub = jwt_claims(tokens["id_token"].as_str().expect("id token"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    let idp_mgmt = f.idp.mgmt().await;
    let (_, idp_users) = idp_mgmt.get("/users").await;
    let idp_user = idp_users[0]["user_id"].as_str().expect("id").to_owned();
    let rename = |name: &'static str| {
        let idp_mgmt = &idp_mgmt;
        let idp_user = idp_user.clone();
        async move {
            let (status, _) = idp_mgmt
                .patch(
                    &format!("/users/{}", enc(&idp_user)),
                    json!({ "name": name }),
                )
                .await;
            assert_eq!(status, 200);
        }
    };
    let rp_user = || async {
        let (_, u) =
            f.rp.mgmt()
                .await
                .get(&format!("/users/{}", enc(&sub)))
                .await;
        u
    };
    // Auth0's default: each login refreshes the root profile.
    rename("Ada King").await;
    logged_in(&f).await;
    assert_eq!(rp_user().await["name"], "Ada King");

    // `on_first_login`: the root profile stays as the first login made it.
    let rp_mgmt = f.rp.mgmt().await;
    let (_, list) = rp_mgmt.get("/connections?name=upstream").await;
    let mut options = list[0]["options"].clone();
    options["set_user_root_attributes"] = json!("on_first_login");
    let (status, body) = rp_mgmt
        .patch(
            &format!("/connections/{}", list[0]["id"].as_str().expect("id")),
            json!({ "options": options }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    rename("Countess of Lovelace").await;
    logged_in(&f).await;
    assert_eq!(rp_user().await["name"], "Ada King");
    f.idp.stop().await;
}

#[tokio::test]
async fn an_email_of_an_aliased_domain_goes_to_its_connection() {
    let f = federation().await;
    let mgmt = f.rp.mgmt().await;
    let (_, connections) = mgmt.get("/connections?name=upstream").await;
    let id = connections[0]["id"].as_str().expect("id").to_owned();
    // An `options` PATCH replaces them all; the sealed secret stays when left out.
    let mut options = connections[0]["options"].clone();
    options["domain_aliases"] = json!(["corp.example"]);
    let (status, body) = mgmt
        .patch(&format!("/connections/{id}"), json!({"options": options}))
        .await;
    assert_eq!(status, 200, "{body}");
    let browser = client();
    let url = authorize_url(&f).replace("&connection=upstream", "");
    let html = browser
        .get(&url)
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    let tx = tx_of(&html);
    // Another domain without a password: asked for it, nothing tried.
    let other = browser
        .post(f.rp.url("/u/login"))
        .form(&[("tx", tx.as_str()), ("username", "ada@elsewhere.example")])
        .send()
        .await
        .expect("login");
    assert_eq!(other.status(), 400);
    assert!(
        other
            .text()
            .await
            .expect("html")
            .contains("Enter your password.")
    );
    // The aliased domain (any case) goes to the provider.
    let to_idp = browser
        .post(f.rp.url("/u/login"))
        .form(&[("tx", tx.as_str()), ("username", "Ada@Corp.Example")])
        .send()
        .await
        .expect("login");
    assert_eq!(to_idp.status(), 303);
    assert!(
        location(&to_idp)
            .as_str()
            .starts_with(&f.idp.url("/authorize")),
        "{:?}",
        to_idp.headers().get("location")
    );
    let (_, logs) = mgmt.get("/logs").await;
    assert!(
        !logs
            .as_array()
            .expect("logs")
            .iter()
            .any(|l| l["type"] == "fu"),
        "{logs}"
    );
    f.idp.stop().await;
}

#[tokio::test]
async fn endpoints_given_without_discovery_and_the_providers_tokens() {
    let f = federation().await;
    let mgmt = f.rp.mgmt().await;
    let (_, connections) = mgmt.get("/connections?name=upstream").await;
    let id = connections[0]["id"].as_str().expect("id").to_owned();
    let idp = &f.idp.state.issuer;
    // No discovery_url: the issuer and each endpoint as Auth0 lets them be set. (An
    // `options` PATCH replaces them all; the secret is sent again.)
    let (_, upstream_client) = f
        .idp
        .mgmt()
        .await
        .get("/clients?fields=client_id,client_secret,name")
        .await;
    let upstream_client = upstream_client
        .as_array()
        .expect("clients")
        .iter()
        .find(|c| c["name"] == "gatehouse rp")
        .expect("rp client")
        .clone();
    let (status, body) = mgmt
        .patch(
            &format!("/connections/{id}"),
            json!({"options": {"type": "back_channel", "issuer": idp,
                   "authorization_endpoint": format!("{idp}authorize"),
                   "token_endpoint": format!("{idp}oauth/token"),
                   "jwks_uri": format!("{idp}.well-known/jwks.json"),
                   "client_id": upstream_client["client_id"],
                   "client_secret": upstream_client["client_secret"]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, tokens) = logged_in(&f).await;
    let sub = jwt_claims(tokens["id_token"].as_str().expect("id token"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    assert!(sub.starts_with("oidc|upstream|"), "{sub}");
    let (_, user) = mgmt.get(&format!("/users/{}", enc(&sub))).await;
    assert_eq!(user["email"], "ada@example.com");
    // The provider's access token is kept, and shown with read:user_idp_tokens: it is one
    // the provider accepts at its userinfo endpoint.
    let at = user["identities"][0]["access_token"]
        .as_str()
        .expect("the provider's access token")
        .to_owned();
    let userinfo = f
        .idp
        .client
        .get(f.idp.url("/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(userinfo.status(), 200);
    f.idp.stop().await;
}
