//! Security review 2026-11, findings 7 and 8: logout CSRF (`/v2/logout`, `/oidc/logout`
//! end a session only for the user or their application, otherwise they ask), and the token
//! endpoint's `redirect_uri` (required and identical when the authorization request had one).
//!
//! The browser's Fetch Metadata is set by hand here, as a browser would send it: an `<img>` is
//! `Sec-Fetch-Dest: image`, a frame `iframe`, a top-level navigation `document`.

use serde_json::{Value, json};

use crate::helpers::{TestApp, client, jwt_claims, spawn_app};

/// One-label wildcard callback, as in the review's reproduction of finding 8.
const CALLBACKS: &str = "https://*.example.com/cb";
const CB: &str = "https://app.example.com/cb";
const BYE: &str = "https://app.example.com/bye";
const PASSWORD: &str = "Sup3r-secret!";

type Headers = &'static [(&'static str, &'static str)];
const IMAGE: Headers = &[
    ("sec-fetch-dest", "image"),
    ("sec-fetch-mode", "no-cors"),
    ("sec-fetch-site", "cross-site"),
];
const IFRAME: Headers = &[
    ("sec-fetch-dest", "iframe"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-site", "cross-site"),
];
const FETCH: Headers = &[
    ("sec-fetch-dest", "empty"),
    ("sec-fetch-mode", "cors"),
    ("sec-fetch-site", "cross-site"),
];
const CROSS_SITE_NAVIGATION: Headers = &[
    ("sec-fetch-dest", "document"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-site", "cross-site"),
];
const SAME_SITE_NAVIGATION: Headers = &[
    ("sec-fetch-dest", "document"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-site", "same-site"),
];
const TYPED: Headers = &[
    ("sec-fetch-dest", "document"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-site", "none"),
    ("sec-fetch-user", "?1"),
];
/// A browser without Fetch Metadata, or a non-browser client.
const NO_METADATA: Headers = &[];

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) struct Web {
    pub(crate) id: String,
    secret: String,
}

pub(crate) async fn setup(app: &TestApp) -> Web {
    let mgmt = app.mgmt().await;
    let (status, web) = mgmt
        .post(
            "/clients",
            json!({"name": "Web", "app_type": "regular_web", "callbacks": [CALLBACKS],
                   "allowed_logout_urls": [BYE],
                   "grant_types": ["authorization_code", "refresh_token"]}),
        )
        .await;
    assert_eq!(status, 201, "{web}");
    for email in ["lin@example.com", "other@example.com"] {
        let (status, body) = mgmt
            .post(
                "/users",
                json!({"connection": "Username-Password-Authentication", "email": email,
                       "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    Web {
        id: web["client_id"].as_str().expect("id").into(),
        secret: web["client_secret"].as_str().expect("secret").into(),
    }
}

fn authorize_url(app: &TestApp, web: &Web, callback: &str) -> String {
    scoped_authorize_url(app, web, callback, "openid")
}

fn scoped_authorize_url(app: &TestApp, web: &Web, callback: &str, scope: &str) -> String {
    app.url(&format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=s",
        web.id,
        enc(callback),
        enc(scope)
    ))
}

fn code_of(r: &reqwest::Response) -> Option<String> {
    let location = r.headers().get("location")?.to_str().ok()?;
    url::Url::parse(location)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
}

/// Logs `email` in through the page with a fresh browser; returns the browser and a code
/// for `callback`.
async fn log_in(
    app: &TestApp,
    web: &Web,
    email: &str,
    callback: &str,
) -> (reqwest::Client, String) {
    log_in_for(app, web, email, callback, "openid").await
}

/// [`log_in`] asking for `scope`.
async fn log_in_for(
    app: &TestApp,
    web: &Web,
    email: &str,
    callback: &str,
    scope: &str,
) -> (reqwest::Client, String) {
    let browser = client();
    let page = browser
        .get(scoped_authorize_url(app, web, callback, scope))
        .send()
        .await
        .expect("authorize");
    let html = page.text().await.expect("html");
    let start = html.find("name=\"tx\" value=\"").expect("tx field") + 17;
    let tx = html[start..].split('"').next().expect("tx").to_owned();
    let r = browser
        .post(app.url("/u/login"))
        .form(&[
            ("tx", tx.as_str()),
            ("username", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("login");
    let code = code_of(&r).expect("code");
    (browser, code)
}

async fn redeem(app: &TestApp, web: &Web, code: &str, redirect_uri: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", web.id.as_str()),
        ("client_secret", web.secret.as_str()),
        ("code", code),
    ];
    if let Some(r) = redirect_uri {
        form.push(("redirect_uri", r));
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

/// A browser logged in as `email`, and an ID token from that login.
pub(crate) async fn logged_in(app: &TestApp, web: &Web, email: &str) -> (reqwest::Client, String) {
    let (browser, tokens) = logged_in_with(app, web, email, "openid").await;
    let id_token = tokens["id_token"].as_str().expect("id token").to_owned();
    (browser, id_token)
}

/// A browser logged in as `email` with `scope`, and the token response.
pub(crate) async fn logged_in_with(
    app: &TestApp,
    web: &Web,
    email: &str,
    scope: &str,
) -> (reqwest::Client, Value) {
    let (browser, code) = log_in_for(app, web, email, CB, scope).await;
    let (status, tokens) = redeem(app, web, &code, Some(CB)).await;
    assert_eq!(status, 200, "{tokens}");
    (browser, tokens)
}

/// A refresh with `refresh_token`: its status and body.
pub(crate) async fn refresh(app: &TestApp, web: &Web, refresh_token: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", web.id.as_str()),
            ("client_secret", web.secret.as_str()),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .expect("refresh");
    (r.status().as_u16(), r.json().await.expect("json"))
}

/// Whether the browser's session still gets a code without a login.
pub(crate) async fn has_session(app: &TestApp, web: &Web, browser: &reqwest::Client) -> bool {
    let r = browser
        .get(format!("{}&prompt=none", authorize_url(app, web, CB)))
        .send()
        .await
        .expect("authorize");
    code_of(&r).is_some()
}

async fn get(browser: &reqwest::Client, url: String, headers: Headers) -> reqwest::Response {
    let mut request = browser.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("logout")
}

fn clears_session_cookie(r: &reqwest::Response) -> bool {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with("gh_session=")))
}

/// Asserts that `r` is the confirmation page and returns its form: action and fields.
async fn confirmation(r: reqwest::Response) -> (String, Vec<(String, String)>) {
    assert_eq!(r.status(), 200);
    assert!(!clears_session_cookie(&r), "asking changes nothing");
    assert!(r.headers().get("location").is_none());
    let html = r.text().await.expect("html");
    assert!(html.contains("Log out?"), "{html}");
    let unescape = |s: &str| {
        s.replace("&#x2f;", "/")
            .replace("&#47;", "/")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    };
    let after = |s: &str, marker: &str| {
        s.find(marker).map(|i| {
            s[i + marker.len()..]
                .split('"')
                .next()
                .unwrap_or("")
                .to_owned()
        })
    };
    let action = after(&html, "action=\"").expect("action");
    let fields = html
        .split("<input type=\"hidden\"")
        .skip(1)
        .map(|input| {
            let name = after(input, "name=\"").expect("name");
            let value = after(input, "value=\"").expect("value");
            (name, unescape(&value))
        })
        .collect();
    (unescape(&action), fields)
}

#[tokio::test]
async fn v2_logout_from_an_image_a_frame_or_a_script_only_asks() {
    let app = spawn_app().await;
    let web = setup(&app).await;
    let (browser, _) = logged_in(&app, &web, "lin@example.com").await;
    let url = || {
        app.url(&format!(
            "/v2/logout?client_id={}&returnTo={}",
            web.id,
            enc(BYE)
        ))
    };
    for headers in [IMAGE, IFRAME, FETCH, CROSS_SITE_NAVIGATION, NO_METADATA] {
        confirmation(get(&browser, url(), headers).await).await;
        assert!(
            has_session(&app, &web, &browser).await,
            "{headers:?} must not end the session"
        );
        // Not even without any parameter.
        confirmation(get(&browser, app.url("/v2/logout"), headers).await).await;
        assert!(has_session(&app, &web, &browser).await);
    }
    // The application's own top-level navigation (Auth0's SDKs) logs out at once.
    let r = get(&browser, url(), SAME_SITE_NAVIGATION).await;
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], BYE);
    assert!(clears_session_cookie(&r));
    assert!(!has_session(&app, &web, &browser).await);

    // So does the address bar.
    let (browser, _) = logged_in(&app, &web, "lin@example.com").await;
    let r = get(&browser, app.url("/v2/logout"), TYPED).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("html").contains("logged out"));
    assert!(!has_session(&app, &web, &browser).await);
}

#[tokio::test]
async fn v2_logout_from_an_app_on_another_site_takes_one_confirmation() {
    let app = spawn_app().await;
    let web = setup(&app).await;
    let (browser, _) = logged_in(&app, &web, "lin@example.com").await;
    let url = app.url(&format!(
        "/v2/logout?client_id={}&returnTo={}",
        web.id,
        enc(BYE)
    ));
    let (action, fields) = confirmation(get(&browser, url, CROSS_SITE_NAVIGATION).await).await;
    assert_eq!(action, "/v2/logout");
    let find = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(find("returnTo").as_deref(), Some(BYE));
    assert_eq!(find("client_id"), Some(web.id.clone()));
    let token = find("confirm").expect("token");
    assert!(!token.is_empty());

    // A forged confirmation (another site's form, or the token in a link) is asked again.
    let forged = browser
        .post(app.url("/v2/logout"))
        .form(&[
            ("returnTo", BYE),
            ("client_id", web.id.as_str()),
            ("confirm", "forged"),
        ])
        .send()
        .await
        .expect("logout");
    confirmation(forged).await;
    let link = app.url(&format!("/v2/logout?confirm={}", enc(&token)));
    confirmation(get(&browser, link, NO_METADATA).await).await;
    assert!(has_session(&app, &web, &browser).await);

    // The form as served (posted even by a browser without Fetch Metadata) logs out and goes
    // back to the application.
    let r = browser
        .post(app.url(&action))
        .form(&fields)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], BYE);
    assert!(clears_session_cookie(&r));
    assert!(!has_session(&app, &web, &browser).await);
    // Without a session there is nothing to ask about.
    let r = get(&browser, app.url("/v2/logout"), IMAGE).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("html").contains("logged out"));
}

#[tokio::test]
async fn oidc_logout_needs_a_hint_for_the_session_user() {
    let app = spawn_app().await;
    let web = setup(&app).await;
    let (browser, own_hint) = logged_in(&app, &web, "lin@example.com").await;
    let (_, other_hint) = logged_in(&app, &web, "other@example.com").await;

    // A client_id alone is public: it never skips the question.
    let url = app.url(&format!(
        "/oidc/logout?client_id={}&post_logout_redirect_uri={}",
        web.id,
        enc(BYE)
    ));
    for headers in [IMAGE, IFRAME, CROSS_SITE_NAVIGATION, NO_METADATA] {
        confirmation(get(&browser, url.clone(), headers).await).await;
        assert!(has_session(&app, &web, &browser).await);
    }
    // Nor does an ID token we signed for someone else, even on a same-site navigation.
    let url = app.url(&format!(
        "/oidc/logout?id_token_hint={other_hint}&post_logout_redirect_uri={}&state=st",
        enc(BYE)
    ));
    for headers in [IMAGE, CROSS_SITE_NAVIGATION, SAME_SITE_NAVIGATION] {
        let (action, fields) = confirmation(get(&browser, url.clone(), headers).await).await;
        assert_eq!(action, "/oidc/logout");
        assert!(fields.iter().any(|(n, v)| n == "state" && v == "st"));
        assert!(has_session(&app, &web, &browser).await);
    }
    // Our access tokens are not hints.
    let (browser2, code) = log_in(&app, &web, "lin@example.com", CB).await;
    let (_, tokens) = redeem(&app, &web, &code, Some(CB)).await;
    let access = tokens["access_token"].as_str().expect("access token");
    let r = get(
        &browser2,
        app.url(&format!("/oidc/logout?id_token_hint={access}")),
        IMAGE,
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(has_session(&app, &web, &browser2).await);

    // The session user's own hint logs out at once, whatever sent it.
    let url = app.url(&format!(
        "/oidc/logout?id_token_hint={own_hint}&post_logout_redirect_uri={}&state=st",
        enc(BYE)
    ));
    let r = get(&browser, url, IMAGE).await;
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], format!("{BYE}?state=st"));
    assert!(clears_session_cookie(&r));
    assert!(!has_session(&app, &web, &browser).await);
}

#[tokio::test]
async fn oidc_logout_confirmation_keeps_the_request() {
    let app = spawn_app().await;
    let web = setup(&app).await;
    let (browser, _) = logged_in(&app, &web, "lin@example.com").await;
    let (_, other_hint) = logged_in(&app, &web, "other@example.com").await;
    let url = app.url(&format!(
        "/oidc/logout?id_token_hint={other_hint}&post_logout_redirect_uri={}&state=st",
        enc(BYE)
    ));
    let (action, fields) = confirmation(get(&browser, url, IMAGE).await).await;
    let r = browser
        .post(app.url(&action))
        .form(&fields)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], format!("{BYE}?state=st"));
    assert!(!has_session(&app, &web, &browser).await);
}

#[tokio::test]
async fn an_expired_hint_for_the_session_user_still_logs_out() {
    let app = spawn_app().await;
    let web = setup(&app).await;
    let mgmt = app.mgmt().await;
    let (status, body) = mgmt
        .patch(
            &format!("/clients/{}", web.id),
            json!({"jwt_configuration": {"lifetime_in_seconds": 1}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (browser, hint) = logged_in(&app, &web, "lin@example.com").await;
    let claims = jwt_claims(&hint);
    assert!(claims["sid"].is_string(), "{claims}");
    app.advance_clock(time::Duration::seconds(3));
    let now = app.state.clock.now().unix_timestamp();
    assert!(
        claims["exp"].as_i64().expect("exp") < now,
        "the hint has expired"
    );
    let r = get(
        &browser,
        app.url(&format!("/oidc/logout?id_token_hint={hint}")),
        CROSS_SITE_NAVIGATION,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("html").contains("logged out"));
    assert!(!has_session(&app, &web, &browser).await);
}

#[tokio::test]
async fn the_code_needs_the_redirect_uri_it_was_issued_for() {
    let app = spawn_app().await;
    let web = setup(&app).await;
    // A code that went to a host the wildcard happens to match (the review's reproduction).
    let evil = "https://evil.example.com/cb";
    let (browser, code) = log_in(&app, &web, "lin@example.com", evil).await;
    let (status, body) = redeem(&app, &web, &code, None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    let new_code = || async {
        let r = browser
            .get(authorize_url(&app, &web, evil))
            .send()
            .await
            .expect("sso");
        code_of(&r).expect("code")
    };
    for other in [
        CB,
        "https://evil.example.com/cb/",
        "https://EVIL.example.com/cb",
    ] {
        let (status, body) = redeem(&app, &web, &new_code().await, Some(other)).await;
        assert_eq!(status, 403, "{other}: {body}");
        assert_eq!(body["error"], "invalid_grant");
    }
    let (status, body) = redeem(&app, &web, &new_code().await, Some(evil)).await;
    assert_eq!(status, 200, "{body}");
}
