//! Logins through plain OAuth 2.0 providers: a GitHub stand-in on loopback that implements
//! the four endpoints gatehouse uses (authorize, access_token, `/user`, `/user/emails`) as
//! GitHub documents them, and checks what gatehouse sends (PKCE verifier, secret, bearer
//! token, `Accept`, `User-Agent`); the same stand-in serves a userinfo document for a
//! generic `oauth2` connection read through its `fieldsMap`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};

use crate::helpers::{TestApp, client, enc, jwt_claims, location, param};

const CB: &str = "https://app.example/cb";
const GH_CLIENT: &str = "gh-client-id";
const GH_SECRET: &str = "gh-client-secret";

/// What the stand-in saw and handed out.
#[derive(Default)]
struct Seen {
    /// code -> (code_challenge, redirect_uri)
    codes: HashMap<String, (Option<String>, String)>,
    /// Access tokens issued.
    tokens: Vec<String>,
    /// The last authorization request's query.
    authorize: HashMap<String, String>,
    /// Every problem the stand-in found with what gatehouse sent.
    complaints: Vec<String>,
}

type Hub = Arc<Mutex<Seen>>;

async fn authorize(State(hub): State<Hub>, Query(q): Query<HashMap<String, String>>) -> Response {
    let code = format!("code-{}", uuid::Uuid::new_v4());
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let mut seen = hub.lock().expect("lock");
    seen.codes.insert(
        code.clone(),
        (q.get("code_challenge").cloned(), redirect.clone()),
    );
    seen.authorize = q.clone();
    if q.get("login").map(String::as_str) == Some("deny") {
        return Redirect::to(&format!(
            "{redirect}?error=access_denied&state={}",
            enc(q.get("state").map(String::as_str).unwrap_or_default())
        ))
        .into_response();
    }
    Redirect::to(&format!(
        "{redirect}?code={code}&state={}",
        enc(q.get("state").map(String::as_str).unwrap_or_default())
    ))
    .into_response()
}

async fn access_token(
    State(hub): State<Hub>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut seen = hub.lock().expect("lock");
    if headers.get("accept").and_then(|v| v.to_str().ok()) != Some("application/json") {
        // GitHub answers form-encoded without it.
        return "access_token=x&token_type=bearer".into_response();
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some((challenge, redirect)) = seen.codes.remove(&code) else {
        return Json(json!({"error": "bad_verification_code"})).into_response();
    };
    if form.get("client_id").map(String::as_str) != Some(GH_CLIENT)
        || form.get("client_secret").map(String::as_str) != Some(GH_SECRET)
    {
        return Json(json!({"error": "incorrect_client_credentials"})).into_response();
    }
    if form.get("redirect_uri") != Some(&redirect) {
        return Json(json!({"error": "redirect_uri_mismatch"})).into_response();
    }
    let verifier_ok = match (challenge, form.get("code_verifier")) {
        (Some(c), Some(v)) => gatehouse_core::pkce::verify(v, &c),
        _ => false,
    };
    if !verifier_ok {
        seen.complaints.push("no or wrong PKCE verifier".into());
        return Json(json!({"error": "bad_verification_code"})).into_response();
    }
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    seen.tokens.push(token.clone());
    Json(
        json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email",
                "refresh_token": "ghr_refresh", "expires_in": 28800}),
    )
    .into_response()
}

/// The bearer token, if the stand-in issued it and the request has a User-Agent.
fn bearer(hub: &Hub, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let mut seen = hub.lock().expect("lock");
    if headers.get("user-agent").is_none() {
        seen.complaints.push("no User-Agent".into());
        return Err(Box::new(StatusCode::FORBIDDEN.into_response()));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if seen.tokens.iter().any(|t| t == token) {
        Ok(())
    } else {
        Err(Box::new(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"message": "Bad credentials"})),
            )
                .into_response(),
        ))
    }
}

async fn user(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    if let Err(r) = bearer(&hub, &headers) {
        return *r;
    }
    Json(
        json!({"login": "octocat", "id": 583231, "name": "The Octocat",
                "avatar_url": "https://avatars.example/u/583231", "email": null}),
    )
    .into_response()
}

async fn emails(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    if let Err(r) = bearer(&hub, &headers) {
        return *r;
    }
    Json(json!([
        {"email": "octocat@users.noreply.example", "primary": false, "verified": true, "visibility": null},
        {"email": "octocat@github.example", "primary": true, "verified": true, "visibility": "public"}
    ]))
    .into_response()
}

async fn userinfo(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    if let Err(r) = bearer(&hub, &headers) {
        return *r;
    }
    Json(
        json!({"data": {"uid": 77, "display": "Ada L."}, "mail": "ada@custom.example",
                "email_verified": "true"}),
    )
    .into_response()
}

async fn spawn_github() -> (String, Hub) {
    let hub: Hub = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(access_token))
        .route("/api/user", get(user))
        .route("/api/user/emails", get(emails))
        .route("/userinfo", get(userinfo))
        .with_state(hub.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, hub)
}

/// A gatehouse whose GitHub is the stand-in, an application, and a connection of
/// `strategy` named `name` with `options`.
struct Social {
    rp: TestApp,
    hub: Hub,
    base: String,
    app_id: String,
    app_secret: String,
}

async fn social(name: &str, strategy: &str, options: impl Fn(&str) -> Value) -> Social {
    let (base, hub) = spawn_github().await;
    let rp = TestApp::builder()
        .env("GATEHOUSE_GITHUB_URL", &base)
        .env("GATEHOUSE_GITHUB_API_URL", &format!("{base}/api"))
        .spawn()
        .await;
    let mgmt = rp.mgmt().await;
    let (_, app) = mgmt
        .post(
            "/clients",
            json!({"name": "Shop", "app_type": "regular_web", "callbacks": [CB],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    let app_id = app["client_id"].as_str().expect("id").to_owned();
    let (status, body) = mgmt
        .post(
            "/connections",
            json!({"name": name, "strategy": strategy, "enabled_clients": [app_id],
                   "options": options(&base)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["options"].get("client_secret").is_none(), "{body}");
    Social {
        rp,
        hub,
        base,
        app_id,
        app_secret: app["client_secret"].as_str().expect("secret").to_owned(),
    }
}

impl Social {
    /// A login through `connection` in a new browser, up to gatehouse's answer to the app.
    async fn log_in(&self, connection: &str, extra: &str) -> (reqwest::Client, url::Url) {
        let browser = client();
        let to_idp = browser
            .get(self.rp.url(&format!(
                "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile%20email&state=app-state&connection={connection}",
                self.app_id,
                enc(CB)
            )))
            .send()
            .await
            .expect("authorize");
        assert_eq!(to_idp.status(), 303, "{:?}", to_idp.text().await);
        let mut at_idp = location(&to_idp);
        assert!(at_idp.as_str().starts_with(&self.base), "{at_idp}");
        if !extra.is_empty() {
            at_idp.query_pairs_mut().append_pair("login", extra);
        }
        let back = browser.get(at_idp.as_str()).send().await.expect("idp");
        let callback = location(&back);
        let done = browser
            .get(callback.as_str())
            .send()
            .await
            .expect("callback");
        // 303 after a login, 302 with an error (as /authorize answers errors).
        assert!(
            [302, 303].contains(&done.status().as_u16()),
            "{:?}",
            done.text().await
        );
        (browser, location(&done))
    }

    async fn exchange(&self, code: &str) -> Value {
        let r = self
            .rp
            .client
            .post(self.rp.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", self.app_id.as_str()),
                ("client_secret", self.app_secret.as_str()),
                ("code", code),
                ("redirect_uri", CB),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }

    fn complaints(&self) -> Vec<String> {
        self.hub.lock().expect("lock").complaints.clone()
    }
}

fn github_options(_: &str) -> Value {
    json!({"client_id": GH_CLIENT, "client_secret": GH_SECRET,
           "scope": ["read:user", "user:email"]})
}

#[tokio::test]
async fn log_in_with_github() {
    let s = social("github", "github", github_options).await;
    let (_, answer) = s.log_in("github", "").await;
    let asked = s.hub.lock().expect("lock").authorize.clone();
    assert_eq!(asked["client_id"], GH_CLIENT);
    assert_eq!(asked["scope"], "read:user user:email");
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(
        asked["redirect_uri"],
        format!("{}login/callback", s.rp.state.issuer)
    );
    assert_eq!(param(&answer, "state").as_deref(), Some("app-state"));
    let tokens = s.exchange(&param(&answer, "code").expect("code")).await;
    let claims = jwt_claims(tokens["id_token"].as_str().expect("id token"));
    assert_eq!(claims["sub"], "github|583231");
    assert_eq!(claims["email"], "octocat@github.example");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["nickname"], "octocat");
    assert_eq!(claims["name"], "The Octocat");
    assert_eq!(claims["picture"], "https://avatars.example/u/583231");
    assert!(s.complaints().is_empty(), "{:?}", s.complaints());

    let mgmt = s.rp.mgmt().await;
    let (_, user) = mgmt.get("/users/github%7C583231").await;
    assert_eq!(
        user["identities"],
        json!([{"provider": "github", "connection": "github", "user_id": "583231",
                "isSocial": true, "access_token": user["identities"][0]["access_token"],
                "refresh_token": "ghr_refresh", "expires_in": 28800}])
    );
    let at = user["identities"][0]["access_token"]
        .as_str()
        .expect("with read:user_idp_tokens the provider's tokens are shown");
    assert!(at.starts_with("gho_"));

    // Without read:user_idp_tokens they are not.
    let token = s.rp.mgmt_token(Some("read:users")).await;
    let plain: Value =
        s.rp.client
            .get(s.rp.url("/api/v2/users/github%7C583231"))
            .bearer_auth(token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
    assert_eq!(plain["identities"][0].get("access_token"), None, "{plain}");
    assert_eq!(plain["identities"][0].get("refresh_token"), None);
    // The list shows them likewise: with the scope, and not without.
    let (_, listed) = mgmt.get("/users").await;
    assert!(
        listed[0]["identities"][0]["access_token"].is_string(),
        "{listed}"
    );
    let token = s.rp.mgmt_token(Some("read:users")).await;
    let listed: Value =
        s.rp.client
            .get(s.rp.url("/api/v2/users"))
            .bearer_auth(token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
    assert_eq!(
        listed[0]["identities"][0].get("access_token"),
        None,
        "{listed}"
    );

    // A second login is the same user, with the new access token kept.
    let (_, answer) = s.log_in("github", "").await;
    s.exchange(&param(&answer, "code").expect("code")).await;
    let (_, again) = mgmt.get("/users/github%7C583231").await;
    assert_ne!(again["identities"][0]["access_token"], at);
    let (_, all) = mgmt
        .get("/users?q=identities.connection%3A%22github%22")
        .await;
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
}

#[tokio::test]
async fn the_login_page_offers_github_and_custom_connections() {
    let s = social("github", "github", github_options).await;
    let (status, _) =
        s.rp.mgmt()
            .await
            .post(
                "/connections",
                json!({"name": "acme", "strategy": "oauth2", "enabled_clients": [s.app_id],
                   "display_name": "Acme ID",
                   "options": {"authorizationURL": format!("{}/a", s.base),
                               "tokenURL": format!("{}/t", s.base), "client_id": "x"}}),
            )
            .await;
    assert_eq!(status, 201);
    let html = client()
        .get(s.rp.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}&state=s",
            s.app_id,
            enc(CB)
        )))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("Continue with GitHub"), "{html}");
    assert!(html.contains("connection=github"), "{html}");
    assert!(html.contains("Continue with Acme ID"), "{html}");
}

#[tokio::test]
async fn github_refusals_reach_the_application() {
    let s = social("github", "github", github_options).await;
    let (_, answer) = s.log_in("github", "deny").await;
    assert_eq!(param(&answer, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&answer, "state").as_deref(), Some("app-state"));
    // A wrong secret: the exchange fails, the application hears of it, no user is made.
    let s = social(
        "github",
        "github",
        |_| json!({"client_id": GH_CLIENT, "client_secret": "wrong"}),
    )
    .await;
    let (_, answer) = s.log_in("github", "").await;
    assert_eq!(param(&answer, "error").as_deref(), Some("access_denied"));
    assert!(
        param(&answer, "error_description")
            .is_some_and(|d| d.contains("incorrect_client_credentials")),
        "{answer}"
    );
    let (_, users) = s.rp.mgmt().await.get("/users").await;
    assert_eq!(users, json!([]));
}

#[tokio::test]
async fn replayed_provider_answers_are_refused_even_with_the_cookie() {
    let s = social("github", "github", github_options).await;
    let browser = client();
    let to_idp = browser
        .get(s.rp.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri={}&state=app-state&connection=github",
            s.app_id,
            enc(CB)
        )))
        .send()
        .await
        .expect("authorize");
    let cookie = to_idp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("gh_upstream="))
        .and_then(|c| c.split(';').next())
        .expect("binding cookie")
        .to_owned();
    let back = browser
        .get(location(&to_idp).as_str())
        .send()
        .await
        .expect("idp");
    let callback = location(&back);
    let first = browser
        .get(callback.as_str())
        .send()
        .await
        .expect("callback");
    assert_eq!(first.status(), 303);
    // The same answer again, with the binding cookie the browser had: refused, no redirect.
    let replay = client()
        .get(callback.as_str())
        .header("cookie", &cookie)
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), 400);
    assert!(replay.headers().get("location").is_none());
}

#[tokio::test]
async fn oauth2_connections_read_the_profile_through_fields_map() {
    let s = social("acme", "oauth2", |base| {
        json!({"authorizationURL": format!("{base}/login/oauth/authorize"),
               "tokenURL": format!("{base}/login/oauth/access_token"),
               "userinfo_url": format!("{base}/userinfo"),
               "fieldsMap": {"user_id": "data.uid", "name": "data.display", "email": "mail"},
               "scope": "profile", "client_id": GH_CLIENT, "client_secret": GH_SECRET})
    })
    .await;
    let (_, answer) = s.log_in("acme", "").await;
    assert_eq!(
        s.hub.lock().expect("lock").authorize["scope"],
        "profile",
        "no openid added"
    );
    let tokens = s.exchange(&param(&answer, "code").expect("code")).await;
    let claims = jwt_claims(tokens["id_token"].as_str().expect("id token"));
    assert_eq!(claims["sub"], "oauth2|acme|77");
    assert_eq!(claims["name"], "Ada L.");
    assert_eq!(claims["email"], "ada@custom.example");
    assert_eq!(claims["email_verified"], true);
    let (_, user) = s.rp.mgmt().await.get("/users/oauth2%7Cacme%7C77").await;
    assert_eq!(user["identities"][0]["provider"], "oauth2");
    assert_eq!(user["identities"][0]["user_id"], "acme|77");
    assert_eq!(user["identities"][0]["isSocial"], true);
    assert!(s.complaints().is_empty(), "{:?}", s.complaints());

    // A fieldsMap naming a member the profile lacks: no subject, no user.
    let s = social("acme", "oauth2", |base| {
        json!({"authorizationURL": format!("{base}/login/oauth/authorize"),
               "tokenURL": format!("{base}/login/oauth/access_token"),
               "userinfo_url": format!("{base}/userinfo"),
               "fieldsMap": {"user_id": "data.missing"},
               "client_id": GH_CLIENT, "client_secret": GH_SECRET})
    })
    .await;
    let (_, answer) = s.log_in("acme", "").await;
    assert_eq!(param(&answer, "error").as_deref(), Some("access_denied"));
    let (_, users) = s.rp.mgmt().await.get("/users").await;
    assert_eq!(users, json!([]));
}

#[tokio::test]
async fn oauth2_options_are_validated() {
    let s = social("github", "github", github_options).await;
    let mgmt = s.rp.mgmt().await;
    for (options, property) in [
        (
            json!({"authorizationURL": "http://idp.example/a", "tokenURL": "https://idp.example/t"}),
            "authorizationURL",
        ),
        (
            json!({"userinfo_url": "ftp://idp.example/u"}),
            "userinfo_url",
        ),
        (json!({"fieldsMap": {"user_id": 7}}), "fieldsMap"),
        (json!({"fieldsMap": "id"}), "fieldsMap"),
        (json!({"pkce_enabled": "yes"}), "pkce_enabled"),
        (json!({"domain_aliases": ["a@b"]}), "domain_aliases"),
    ] {
        let (status, body) = mgmt
            .post(
                "/connections",
                json!({"name": "bad", "strategy": "oauth2", "options": options}),
            )
            .await;
        assert_eq!(status, 400, "{options}: {body}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains(property)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_github_user_can_be_the_primary_of_a_link() {
    let s = social("github", "github", github_options).await;
    let (_, answer) = s.log_in("github", "").await;
    s.exchange(&param(&answer, "code").expect("code")).await;
    let mgmt = s.rp.mgmt().await;
    let (_, db_user) = mgmt
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": "octo@shop.example",
                   "password": "Sup3r-secret!"}),
        )
        .await;
    let db_id = db_user["user_id"].as_str().expect("id").to_owned();
    let (status, identities) = mgmt
        .post(
            "/users/github%7C583231/identities",
            json!({"provider": "auth0", "user_id": db_id.strip_prefix("auth0|").expect("auth0")}),
        )
        .await;
    assert_eq!(status, 201, "{identities}");
    assert_eq!(identities[0]["provider"], "github");
    assert_eq!(identities[1]["provider"], "auth0");
    // A password login through the linked database identity yields the GitHub primary.
    let (status, _) = mgmt
        .patch(
            &format!("/clients/{}", s.app_id),
            json!({"grant_types": ["authorization_code",
                                   "http://auth0.com/oauth/grant-type/password-realm"]}),
        )
        .await;
    assert_eq!(status, 200);
    let token: Value =
        s.rp.client
            .post(s.rp.url("/oauth/token"))
            .form(&[
                (
                    "grant_type",
                    "http://auth0.com/oauth/grant-type/password-realm",
                ),
                ("realm", "Username-Password-Authentication"),
                ("username", "octo@shop.example"),
                ("password", "Sup3r-secret!"),
                ("client_id", s.app_id.as_str()),
                ("client_secret", s.app_secret.as_str()),
                ("scope", "openid"),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
    let id_token = token["id_token"].as_str().expect("a password login");
    assert_eq!(jwt_claims(id_token)["sub"], "github|583231");
}
