//! Embedded login as Lock and auth0.js do it: Lock's client script, `/co/authenticate` with
//! its per-application CORS, login tickets redeemed at `/authorize` (once, by their client,
//! in their browser), and the cross-origin verification fallback.

use serde_json::{Value, json};

use crate::helpers::{TestApp, client, enc, jwt_claims, location, spawn_app};

const ORIGIN: &str = "https://shop.example";
const CB: &str = "https://shop.example/callback";
const PASSWORD: &str = "Sup3r-secret!";

fn fragment(u: &url::Url, name: &str) -> Option<String> {
    url::form_urlencoded::parse(u.fragment().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// An application whose pages at `ORIGIN` may authenticate across origins, and a user.
struct Embedded {
    app: TestApp,
    id: String,
}

async fn embedded_with(app: TestApp, settings: Value) -> Embedded {
    let mgmt = app.mgmt().await;
    let mut body = json!({"name": "Shop", "app_type": "spa", "callbacks": [CB],
                          "web_origins": [ORIGIN], "cross_origin_authentication": true,
                          "grant_types": ["authorization_code", "implicit"]});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), settings) {
        b.extend(extra);
    }
    let (status, created) = mgmt.post("/clients", body).await;
    assert_eq!(status, 201, "{created}");
    let (status, user) = mgmt
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication",
                   "email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    Embedded {
        id: created["client_id"].as_str().expect("id").to_owned(),
        app,
    }
}

async fn embedded(settings: Value) -> Embedded {
    embedded_with(spawn_app().await, settings).await
}

impl Embedded {
    async fn co_authenticate(
        &self,
        browser: &reqwest::Client,
        origin: &str,
        body: Value,
    ) -> reqwest::Response {
        browser
            .post(self.app.url("/co/authenticate"))
            .header("origin", origin)
            .header("auth0-client", "eyJuYW1lIjoiYXV0aDAuanMifQ==")
            .json(&body)
            .send()
            .await
            .expect("co/authenticate")
    }

    async fn ticket(&self, browser: &reqwest::Client) -> Value {
        let r = self
            .co_authenticate(
                browser,
                ORIGIN,
                json!({"client_id": self.id, "username": "ada@example.com", "password": PASSWORD,
                       "realm": "Username-Password-Authentication",
                       "credential_type": "http://auth0.com/oauth/grant-type/password-realm"}),
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
        assert_eq!(r.headers()["access-control-allow-credentials"], "true");
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .to_owned();
        assert!(
            cookie.starts_with("gh_co=") && cookie.contains("HttpOnly"),
            "{cookie}"
        );
        r.json().await.expect("json")
    }

    fn authorize_url(&self, client_id: &str, ticket: &str) -> String {
        self.app.url(&format!(
            "/authorize?client_id={client_id}&response_type=token%20id_token&redirect_uri={}&scope=openid%20profile%20email&state=st&nonce=nn&realm=Username-Password-Authentication&login_ticket={}&auth0Client=eyJ9",
            enc(CB),
            enc(ticket)
        ))
    }
}

#[tokio::test]
async fn lock_loads_the_applications_connections_as_a_script() {
    let e = embedded(json!({})).await;
    let mgmt = e.app.mgmt().await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email", "enabled_clients": [e.id]}),
    )
    .await;
    mgmt.post(
        "/connections",
        json!({"name": "sms-elsewhere", "strategy": "sms", "enabled_clients": []}),
    )
    .await;
    let r = client()
        .get(e.app.url(&format!("/client/{}.js?t1795925063354", e.id)))
        .send()
        .await
        .expect("script");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("application/javascript")
    );
    let body = r.text().await.expect("body");
    let inner = body
        .strip_prefix("Auth0.setClient(")
        .and_then(|b| b.strip_suffix(");"))
        .expect("a setClient call");
    let config: Value = serde_json::from_str(inner).expect("JSON argument");
    assert_eq!(config["id"], e.id.as_str());
    let strategies = config["strategies"].as_array().expect("strategies");
    let names: Vec<&str> = strategies
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"auth0") && names.contains(&"email"),
        "{config}"
    );
    assert!(
        !names.contains(&"sms"),
        "only enabled connections: {config}"
    );
    let db = &strategies
        .iter()
        .find(|s| s["name"] == "auth0")
        .expect("database")["connections"][0];
    assert_eq!(db["name"], "Username-Password-Authentication");
    assert_eq!(db["showSignup"], true);
    assert_eq!(db["requires_username"], false);
    assert!(db["passwordPolicy"].is_string(), "{db}");
    // An unknown client gets no JavaScript.
    let unknown = client()
        .get(e.app.url("/client/nobody.js?t1"))
        .send()
        .await
        .expect("unknown");
    assert_eq!(unknown.status(), 404);
    assert!(
        !unknown.headers()["content-type"]
            .to_str()
            .expect("type")
            .contains("javascript")
    );
}

#[tokio::test]
async fn a_ticket_logs_in_once_in_its_browser() {
    let e = embedded(json!({})).await;
    let browser = client();
    // The preflight: only for the application's web origin.
    let preflight = |origin: &'static str| {
        let url = e.app.url("/co/authenticate");
        async move {
            client()
                .request(reqwest::Method::OPTIONS, url)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type,auth0-client",
                )
                .send()
                .await
                .expect("preflight")
        }
    };
    let ok = preflight(ORIGIN).await;
    assert_eq!(ok.status(), 204);
    assert_eq!(ok.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    assert!(
        ok.headers()["access-control-allow-headers"]
            .to_str()
            .expect("headers")
            .contains("auth0-client")
    );
    let other = preflight("https://evil.example").await;
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let ticket = e.ticket(&browser).await;
    let login_ticket = ticket["login_ticket"].as_str().expect("ticket").to_owned();
    assert!(
        ticket["co_verifier"]
            .as_str()
            .is_some_and(|v| v.len() >= 32)
    );
    assert!(ticket["co_id"].is_string());
    let done = browser
        .get(e.authorize_url(&e.id, &login_ticket))
        .send()
        .await
        .expect("authorize");
    assert!(done.status().is_redirection(), "{}", done.status());
    let at_app = location(&done);
    assert!(at_app.as_str().starts_with(CB), "{at_app}");
    assert_eq!(fragment(&at_app, "state").as_deref(), Some("st"));
    let id_token = fragment(&at_app, "id_token").expect("id_token");
    let claims = jwt_claims(&id_token);
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["nonce"], "nn");

    // Once only, even in the same browser.
    let again = browser
        .get(e.authorize_url(&e.id, &login_ticket))
        .send()
        .await
        .expect("replay");
    assert_eq!(
        fragment(&location(&again), "error").as_deref(),
        Some("access_denied")
    );
    // Another browser (no binding cookie, and no verification page configured).
    let ticket = e.ticket(&browser).await;
    let stranger = client()
        .get(e.authorize_url(&e.id, ticket["login_ticket"].as_str().expect("ticket")))
        .send()
        .await
        .expect("stranger");
    assert_eq!(
        fragment(&location(&stranger), "error").as_deref(),
        Some("access_denied")
    );
    // Another application cannot redeem it.
    let (_, other_app) = e
        .app
        .mgmt()
        .await
        .post(
            "/clients",
            json!({"name": "Other", "app_type": "spa", "callbacks": [CB],
                   "grant_types": ["implicit"]}),
        )
        .await;
    let ticket = e.ticket(&browser).await;
    let wrong_client = browser
        .get(e.authorize_url(
            other_app["client_id"].as_str().expect("id"),
            ticket["login_ticket"].as_str().expect("ticket"),
        ))
        .send()
        .await
        .expect("other client");
    assert_eq!(
        fragment(&location(&wrong_client), "error").as_deref(),
        Some("access_denied")
    );
    // A forged ticket.
    let forged = browser
        .get(e.authorize_url(&e.id, "not-a-ticket"))
        .send()
        .await
        .expect("forged");
    assert_eq!(
        fragment(&location(&forged), "error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn refusals_have_auth0s_shapes_and_cors_only_for_the_application() {
    let e = embedded(json!({})).await;
    let browser = client();
    let body = |password: &str| {
        json!({"client_id": e.id, "username": "ada@example.com", "password": password,
               "realm": "Username-Password-Authentication",
               "credential_type": "http://auth0.com/oauth/grant-type/password-realm"})
    };
    let wrong = e.co_authenticate(&browser, ORIGIN, body("nope")).await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(wrong.headers()["access-control-allow-origin"], ORIGIN);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert_eq!(
        wrong.json::<Value>().await.expect("json"),
        json!({"error": "access_denied", "error_description": "Wrong email or password."})
    );
    // An origin the application did not list: no ticket, and nothing its page may read.
    let elsewhere = e
        .co_authenticate(&browser, "https://evil.example", body(PASSWORD))
        .await;
    assert_eq!(elsewhere.status(), 403);
    assert!(
        elsewhere
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(
        elsewhere
            .json::<Value>()
            .await
            .expect("json")
            .get("login_ticket")
            .is_none()
    );
    // A connection the application is not enabled on.
    let mut other = body(PASSWORD);
    other["realm"] = json!("Someone-Elses-Users");
    let r = e.co_authenticate(&browser, ORIGIN, other).await;
    assert_eq!(r.status(), 400);
    // A blocked user: Auth0's `unauthorized` / "user is blocked", which Lock shows.
    let mgmt = e.app.mgmt().await;
    let (_, users) = mgmt.get("/users-by-email?email=ada%40example.com").await;
    let user_id = users[0]["user_id"].as_str().expect("id").to_owned();
    mgmt.patch(
        &format!("/users/{}", enc(&user_id)),
        json!({"blocked": true}),
    )
    .await;
    let blocked = e.co_authenticate(&browser, ORIGIN, body(PASSWORD)).await;
    assert_eq!(blocked.status(), 401);
    assert_eq!(
        blocked.json::<Value>().await.expect("json")["error_description"],
        "user is blocked"
    );
    // Logged as Auth0 logs them.
    let (_, logs) = mgmt.get("/logs").await;
    let types: Vec<&str> = logs
        .as_array()
        .expect("logs")
        .iter()
        .filter_map(|l| l["type"].as_str())
        .collect();
    assert!(
        types.iter().filter(|t| **t == "fcoa").count() >= 3,
        "{types:?}"
    );
}

#[tokio::test]
async fn an_application_without_cross_origin_authentication_gets_nothing() {
    let e = embedded(json!({"cross_origin_authentication": false})).await;
    let r = e
        .co_authenticate(
            &client(),
            ORIGIN,
            json!({"client_id": e.id, "username": "ada@example.com", "password": PASSWORD,
                   "realm": "Username-Password-Authentication"}),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let preflight = client()
        .request(reqwest::Method::OPTIONS, e.app.url("/co/authenticate"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn brute_force_protection_applies_as_at_the_token_endpoint() {
    let app = TestApp::builder()
        .env("GATEHOUSE_BRUTE_FORCE_THRESHOLD", "3")
        .spawn()
        .await;
    let e = embedded_with(app, json!({})).await;
    let browser = client();
    let body = |password: &str| {
        json!({"client_id": e.id, "username": "ada@example.com", "password": password,
               "realm": "Username-Password-Authentication",
               "credential_type": "http://auth0.com/oauth/grant-type/password-realm"})
    };
    for _ in 0..2 {
        let r = e.co_authenticate(&browser, ORIGIN, body("wrong")).await;
        assert_eq!(r.status(), 403);
    }
    // The third failure reaches the threshold; from then on even the right password is
    // refused from this address.
    let third = e.co_authenticate(&browser, ORIGIN, body("wrong")).await;
    assert_eq!(third.status(), 429);
    let r = e.co_authenticate(&browser, ORIGIN, body(PASSWORD)).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(
        r.json::<Value>().await.expect("json")["error"],
        "too_many_attempts"
    );
}

#[tokio::test]
async fn a_passwordless_code_gets_a_ticket_too() {
    let e = embedded(json!({})).await;
    let mgmt = e.app.mgmt().await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email", "enabled_clients": [e.id]}),
    )
    .await;
    e.app
        .plant_email_code("pat@example.com", "424242", &e.id, 300)
        .await;
    let browser = client();
    let otp = |code: &str| {
        json!({"client_id": e.id, "username": "pat@example.com", "otp": code, "realm": "email",
               "credential_type": "http://auth0.com/oauth/grant-type/passwordless/otp"})
    };
    let wrong = e.co_authenticate(&browser, ORIGIN, otp("000000")).await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(
        wrong.json::<Value>().await.expect("json")["error"],
        "access_denied"
    );
    let r = e.co_authenticate(&browser, ORIGIN, otp("424242")).await;
    assert_eq!(r.status(), 200);
    let ticket: Value = r.json().await.expect("json");
    let done = browser
        .get(
            e.authorize_url(&e.id, ticket["login_ticket"].as_str().expect("ticket"))
                .replace("realm=Username-Password-Authentication", "realm=email"),
        )
        .send()
        .await
        .expect("authorize");
    let claims = jwt_claims(&fragment(&location(&done), "id_token").expect("id_token"));
    assert_eq!(claims["email"], "pat@example.com");
    assert!(
        claims["sub"]
            .as_str()
            .is_some_and(|s| s.starts_with("email|"))
    );
}

#[tokio::test]
async fn without_its_cookie_a_ticket_is_verified_by_the_applications_page() {
    let e = embedded(json!({"cross_origin_loc": "https://shop.example/verify.html"})).await;
    let browser = client();
    let ticket = e.ticket(&browser).await;
    let login_ticket = ticket["login_ticket"].as_str().expect("ticket");
    // A browser that did not keep the cookie (third-party cookies blocked).
    let cookieless = client();
    let page = cookieless
        .get(e.authorize_url(&e.id, login_ticket))
        .send()
        .await
        .expect("authorize");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    let origin = enc(e.app.url("").trim_end_matches('/'));
    assert!(
        html.contains(&format!(
            "src=\"https://shop.example/verify.html#origin={origin}\""
        )),
        "{html}"
    );
    assert!(html.contains("co_verifier_request"));
    let field = |name: &str| {
        let start = html
            .find(&format!("name=\"{name}\" value=\""))
            .expect("field")
            + name.len()
            + 15;
        html[start..].split('"').next().expect("value").to_owned()
    };
    let post = |verifier: String| {
        let form = [
            ("login_ticket", field("login_ticket")),
            ("tx", field("tx")),
            ("verifier", verifier),
        ];
        let url = e.app.url("/co/verify");
        let c = cookieless.clone();
        async move { c.post(url).form(&form).send().await.expect("verify") }
    };
    // A wrong verifier proves nothing.
    let wrong = post("guess".into()).await;
    assert_eq!(
        fragment(&location(&wrong), "error").as_deref(),
        Some("access_denied")
    );
    let right = post(ticket["co_verifier"].as_str().expect("verifier").to_owned()).await;
    let at_app = location(&right);
    assert!(fragment(&at_app, "id_token").is_some(), "{at_app}");
    // And only once.
    let replay = post(ticket["co_verifier"].as_str().expect("verifier").to_owned()).await;
    assert_eq!(
        fragment(&location(&replay), "error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn lock_gets_a_default_country() {
    let app = TestApp::builder()
        .env("GATEHOUSE_DEFAULT_COUNTRY", "ar")
        .spawn()
        .await;
    let body = app.get_json("/user/geoloc/country").await;
    assert_eq!(body, json!({"country_code": "AR"}));
}

#[tokio::test]
async fn a_ticket_wins_over_the_browsers_session() {
    let e = embedded(json!({})).await;
    let browser = client();
    let ticket = e.ticket(&browser).await;
    let first = browser
        .get(e.authorize_url(&e.id, ticket["login_ticket"].as_str().expect("ticket")))
        .send()
        .await
        .expect("authorize");
    assert!(fragment(&location(&first), "id_token").is_some());
    // The browser now has Ada's session; Bob logs in through the same page.
    e.app
        .mgmt()
        .await
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication",
                   "email": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    let r = e
        .co_authenticate(
            &browser,
            ORIGIN,
            json!({"client_id": e.id, "username": "bob@example.com", "password": PASSWORD,
                   "realm": "Username-Password-Authentication",
                   "credential_type": "http://auth0.com/oauth/grant-type/password-realm"}),
        )
        .await;
    let ticket: Value = r.json().await.expect("json");
    let second = browser
        .get(e.authorize_url(&e.id, ticket["login_ticket"].as_str().expect("ticket")))
        .send()
        .await
        .expect("authorize");
    let claims = jwt_claims(&fragment(&location(&second), "id_token").expect("id_token"));
    assert_eq!(claims["email"], "bob@example.com");
}
