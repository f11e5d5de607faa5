//! Passwordless login through the API: `/passwordless/start` and the
//! `passwordless/otp` grant, with codes read from a real SMTP conversation and a real HTTP
//! SMS gateway (and a stand-in for Twilio's API) on loopback.

use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, spawn_app};
use crate::sms::SmsSink;
use crate::smtp::SmtpSink;

const OTP: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";

struct Clients {
    backend: Value,
    spa: Value,
}

async fn clients(mgmt: &Mgmt<'_>) -> Clients {
    let (_, backend) = mgmt
        .post(
            "/clients",
            json!({"name": "Acme backend", "app_type": "regular_web", "grant_types": [OTP],
                   "callbacks": ["https://app.example/cb"]}),
        )
        .await;
    let (_, spa) = mgmt
        .post(
            "/clients",
            json!({"name": "Acme SPA", "app_type": "spa", "callbacks": ["https://app.example/cb"]}),
        )
        .await;
    Clients { backend, spa }
}

fn id(c: &Value) -> &str {
    c["client_id"].as_str().expect("client_id")
}

async fn smtp_provider(mgmt: &Mgmt<'_>, smtp: &SmtpSink) {
    let (status, _) = mgmt
        .post("/emails/provider", json!({"name": "smtp", "default_from_address": "id@example.com",
            "credentials": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_user": "", "smtp_pass": ""}}))
        .await;
    assert_eq!(status, 201);
}

async fn start(app: &TestApp, body: Value) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/passwordless/start"))
        .json(&body)
        .send()
        .await
        .expect("start");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn otp_grant(
    app: &TestApp,
    client: &Value,
    realm: &str,
    username: &str,
    otp: &str,
) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", OTP),
            ("client_id", id(client)),
            (
                "client_secret",
                client["client_secret"].as_str().unwrap_or_default(),
            ),
            ("realm", realm),
            ("username", username),
            ("otp", otp),
            ("scope", "openid email profile"),
        ])
        .send()
        .await
        .expect("token");
    (r.status().as_u16(), r.json().await.expect("json"))
}

/// The first run of `digits` digits after `marker` in `text`.
fn code_after(text: &str, marker: &str) -> String {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {text}"))
        + marker.len();
    text[start..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect()
}

fn wrong(code: &str) -> String {
    // Another code of the same length.
    code.chars()
        .map(|c| {
            if c == '9' {
                '0'
            } else {
                char::from(c as u8 + 1)
            }
        })
        .collect()
}

#[tokio::test]
async fn email_codes_log_people_in_through_the_api() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    smtp_provider(&mgmt, &smtp).await;
    let c = clients(&mgmt).await;
    let (status, conn) = mgmt
        .post(
            "/connections",
            json!({"name": "email", "strategy": "email", "enabled_clients": [id(&c.backend), id(&c.spa)],
                   "options": {"email": {"from": "{{ application.name }} <login@acme.test>",
                                         "subject": "Your {{ application.name }} code",
                                         "body": "Hello {{ email }}. Code: {{ code }}"},
                               "totp": {"time_step": 180, "length": 6}}}),
        )
        .await;
    assert_eq!(status, 201, "{conn}");

    let (status, body) = start(
        &app,
        json!({"client_id": id(&c.backend), "client_secret": c.backend["client_secret"],
               "connection": "email", "email": "Pat@Example.com", "send": "code"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "pat@example.com");
    assert_eq!(body["email_verified"], false);
    assert!(body["_id"].is_string());
    let mail = smtp.next_mail().await;
    assert!(
        mail.contains("From: \"Acme backend\" <login@acme.test>"),
        "{mail}"
    );
    assert!(mail.contains("Subject: Your Acme backend code"), "{mail}");
    let code = code_after(&mail, "Code:");
    assert_eq!(code.len(), 6);

    let (status, e) = otp_grant(&app, &c.backend, "email", "pat@example.com", &wrong(&code)).await;
    assert_eq!((status, e["error"].as_str()), (403, Some("invalid_grant")));
    assert_eq!(e["error_description"], "Wrong email or verification code.");
    let (status, tokens) = otp_grant(&app, &c.backend, "email", "PAT@example.com", &code).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = crate::helpers::jwt_claims(tokens["id_token"].as_str().expect("id token"));
    let sub = id_token["sub"].as_str().expect("sub").to_owned();
    assert!(sub.starts_with("email|"), "{sub}");
    assert_eq!(id_token["email"], "pat@example.com");
    assert_eq!(id_token["email_verified"], true);
    let (status, _) = otp_grant(&app, &c.backend, "email", "pat@example.com", &code).await;
    assert_eq!(status, 403, "a code works once");

    // The next login finds the same user; a newer code replaces the older one. (Each mail
    // is awaited before the next request: the outbox may send two queued mails at once, in
    // either order.)
    let mut codes = Vec::new();
    for _ in 0..2 {
        let (status, _) = start(
            &app,
            json!({"client_id": id(&c.backend), "client_secret": c.backend["client_secret"],
                   "connection": "email", "email": "pat@example.com", "send": "code"}),
        )
        .await;
        assert_eq!(status, 200);
        codes.push(code_after(&smtp.next_mail().await, "Code:"));
    }
    let (older, newer) = (codes[0].clone(), codes[1].clone());
    if older != newer {
        let (status, _) = otp_grant(&app, &c.backend, "email", "pat@example.com", &older).await;
        assert_eq!(status, 403, "superseded");
    }
    let (status, tokens) = otp_grant(&app, &c.backend, "email", "pat@example.com", &newer).await;
    assert_eq!(status, 200);
    assert_eq!(
        crate::helpers::jwt_claims(tokens["id_token"].as_str().expect("id"))
            .get("sub")
            .and_then(Value::as_str),
        Some(sub.as_str())
    );

    // Three wrong guesses end a code, even the right one after them.
    start(
        &app,
        json!({"client_id": id(&c.backend), "client_secret": c.backend["client_secret"],
               "connection": "email", "email": "pat@example.com", "send": "code"}),
    )
    .await;
    let code = code_after(&smtp.next_mail().await, "Code:");
    for _ in 0..3 {
        let (status, _) =
            otp_grant(&app, &c.backend, "email", "pat@example.com", &wrong(&code)).await;
        assert_eq!(status, 403);
    }
    let (status, _) = otp_grant(&app, &c.backend, "email", "pat@example.com", &code).await;
    assert_eq!(status, 403, "out of attempts");

    let (_, users) = mgmt.get("/users?q=email%3A%22pat%40example.com%22").await;
    assert_eq!(users.as_array().expect("users").len(), 1);
    assert_eq!(users[0]["identities"][0]["provider"], "email");
    let (_, logs) = mgmt.get("/logs?q=type%3Acs").await;
    assert_eq!(logs.as_array().expect("logs").len(), 4);
    let (_, logs) = mgmt.get("/logs?q=type%3Afepotpft").await;
    assert!(logs.as_array().expect("logs").len() >= 5);
    let (_, logs) = mgmt.get("/logs?q=type%3Ass").await;
    assert_eq!(logs.as_array().expect("logs").len(), 1);
}

#[tokio::test]
async fn start_refuses_bad_requests_in_auth0s_words() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let c = clients(&mgmt).await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email", "enabled_clients": [id(&c.backend), id(&c.spa)]}),
    )
    .await;
    mgmt.post(
        "/connections",
        json!({"name": "email-off", "strategy": "email"}),
    )
    .await;
    let spa = id(&c.spa);
    for (body, status, error) in [
        (
            json!({"connection": "email", "email": "a@example.com"}),
            400,
            "bad.client_id",
        ),
        (
            json!({"client_id": spa, "email": "a@example.com"}),
            400,
            "bad.connection",
        ),
        (
            json!({"client_id": spa, "connection": "nope", "email": "a@example.com"}),
            400,
            "bad.connection",
        ),
        (
            json!({"client_id": spa, "connection": "email-off", "email": "a@example.com"}),
            400,
            "bad.connection",
        ),
        (
            json!({"client_id": spa, "connection": "Username-Password-Authentication", "email": "a@example.com"}),
            400,
            "bad.connection",
        ),
        (
            json!({"client_id": spa, "connection": "email"}),
            400,
            "bad.email",
        ),
        (
            json!({"client_id": spa, "connection": "email", "email": "not-an-email"}),
            400,
            "bad.email",
        ),
        (
            json!({"client_id": spa, "connection": "email", "email": "a@example.com", "send": "carrier-pigeon"}),
            400,
            "bad.send",
        ),
        (
            json!({"client_id": spa, "connection": "email", "email": "a@example.com", "colour": "red"}),
            400,
            "bad.request",
        ),
        (
            json!({"client_id": spa, "connection": "email", "email": "a@example.com", "send": "link", "authParams": "x"}),
            400,
            "bad.authParams",
        ),
        (
            json!({"client_id": spa, "connection": "email", "email": "a@example.com", "send": "link",
                "authParams": {"redirect_uri": "https://evil.example/cb", "response_type": "code"}}),
            400,
            "bad.authParams",
        ),
        // A confidential client must authenticate.
        (
            json!({"client_id": id(&c.backend), "connection": "email", "email": "a@example.com"}),
            403,
            "unauthorized_client",
        ),
        (
            json!({"client_id": id(&c.backend), "client_secret": "wrong", "connection": "email", "email": "a@example.com"}),
            401,
            "invalid_client",
        ),
    ] {
        let (got, e) = start(&app, body.clone()).await;
        assert_eq!(
            (got, e["error"].as_str()),
            (status, Some(error)),
            "{body} -> {e}"
        );
        assert!(e["error_description"].is_string());
    }
    // A grant the client does not have, and a connection it may not use.
    let (status, e) = otp_grant(&app, &c.spa, "email", "a@example.com", "123456").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (403, Some("unauthorized_client"))
    );
    let (status, e) = otp_grant(&app, &c.backend, "email-off", "a@example.com", "123456").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn expired_codes_and_disabled_signup() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let c = clients(&mgmt).await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email", "enabled_clients": [id(&c.backend)],
               "options": {"disable_signup": true}}),
    )
    .await;
    // Codes planted as the server stores them, once expired and once live.
    let backend_id = id(&c.backend).to_owned();
    let plant = |recipient: &'static str, expires_in: i64| {
        app.plant_email_code(recipient, "424242", &backend_id, expires_in)
    };
    mgmt.post(
        "/users",
        json!({"connection": "email", "email": "known@example.com"}),
    )
    .await;
    plant("known@example.com", -1).await;
    let (status, e) = otp_grant(&app, &c.backend, "email", "known@example.com", "424242").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (403, Some("invalid_grant")),
        "expired"
    );
    plant("known@example.com", 60).await;
    // A code belongs to the application it was sent for.
    let (_, other) = mgmt
        .post(
            "/clients",
            json!({"name": "Other backend", "app_type": "regular_web", "grant_types": [OTP]}),
        )
        .await;
    let (_, conns) = mgmt.get("/connections?name=email").await;
    mgmt.patch(
        &format!("/connections/{}", conns[0]["id"].as_str().expect("id")),
        json!({"enabled_clients": [id(&c.backend), id(&other)]}),
    )
    .await;
    let (status, _) = otp_grant(&app, &other, "email", "known@example.com", "424242").await;
    assert_eq!(status, 403, "another application's code");
    plant("known@example.com", 60).await;
    let (status, _) = otp_grant(&app, &c.backend, "email", "known@example.com", "424242").await;
    assert_eq!(status, 200, "an existing user may log in");
    // With sign-up disabled, an unknown address gets the usual answer but no code, and a
    // code could not make a user either.
    let (status, _) = start(
        &app,
        json!({"client_id": id(&c.backend), "client_secret": c.backend["client_secret"],
               "connection": "email", "email": "stranger@example.com", "send": "code"}),
    )
    .await;
    assert_eq!(status, 200);
    plant("stranger@example.com", 60).await;
    let (status, _) = otp_grant(&app, &c.backend, "email", "stranger@example.com", "424242").await;
    assert_eq!(status, 403);
    let (_, users) = mgmt
        .get("/users?q=email%3A%22stranger%40example.com%22")
        .await;
    assert_eq!(users.as_array().expect("users").len(), 0);
}

#[tokio::test]
async fn sms_codes_through_a_gateway_and_through_twilio() {
    let mut sink = SmsSink::start().await;
    // One attempt per message: a retry would reach the sink in the middle of later steps.
    let app = TestApp::builder()
        .envs(&[
            ("GATEHOUSE_TWILIO_API_URL", &sink.url),
            ("GATEHOUSE_OUTBOX_RETRY", "1:1"),
        ])
        .spawn()
        .await;
    let mgmt = app.mgmt().await;
    let c = clients(&mgmt).await;
    let (status, conn) = mgmt
        .post(
            "/connections",
            json!({"name": "sms", "strategy": "sms", "enabled_clients": [id(&c.backend)],
                   "options": {"provider": "sms_gateway", "gateway_url": format!("{}/send", sink.url),
                               "from": "+15550000000", "template": "Your code is @@password@@",
                               "gateway_authentication": {"method": "bearer", "subject": "gatehouse",
                                   "audience": "urn:sms", "secret": "c2VjcmV0LXNlY3JldA",
                                   "secret_base64_encoded": true}}}),
        )
        .await;
    assert_eq!(status, 201, "{conn}");
    assert!(
        conn["options"]["gateway_authentication"]
            .get("secret")
            .is_none(),
        "secrets are not shown: {conn}"
    );
    let send = |phone: &'static str| {
        let (app, c) = (&app, &c);
        async move {
            start(
                app,
                json!({"client_id": id(&c.backend), "client_secret": c.backend["client_secret"],
                       "connection": "sms", "phone_number": phone}),
            )
            .await
        }
    };
    let (status, body) = send("+14155550123").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phone_number"], "+14155550123");
    let got = sink.next().await;
    assert_eq!(got.path, "/send");
    let sent: Value = serde_json::from_str(&got.body).expect("json");
    assert_eq!(sent["recipient"], "+14155550123");
    assert_eq!(sent["sender"], "+15550000000");
    let code = code_after(sent["body"].as_str().expect("body"), "code is");
    let bearer = got.authorization.expect("authorization");
    let token = bearer.strip_prefix("Bearer ").expect("bearer");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["urn:sms"]);
    let jwt = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(b"secret-secret"),
        &validation,
    )
    .expect("HS256 with the decoded secret");
    assert_eq!(jwt.claims["sub"], "gatehouse");

    let (status, e) = otp_grant(&app, &c.backend, "sms", "+14155550123", &wrong(&code)).await;
    assert_eq!(
        e["error_description"],
        "Wrong phone number or verification code."
    );
    assert_eq!(status, 403);
    let (status, tokens) = otp_grant(&app, &c.backend, "sms", "+14155550123", &code).await;
    assert_eq!(status, 200, "{tokens}");
    let sub = crate::helpers::jwt_claims(tokens["id_token"].as_str().expect("id"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    assert!(sub.starts_with("sms|"), "{sub}");
    let (_, user) = mgmt
        .get(&format!("/users/{}", sub.replace('|', "%7C")))
        .await;
    assert_eq!(user["phone_number"], "+14155550123");
    assert_eq!(user["phone_verified"], true);

    // The request language reaches templates only as a language tag.
    for (header, expected) in [("en-GB,en;q=0.9", "en-GB"), ("Visit evil.example now", "")] {
        let r: Value = app
            .client
            .post(app.url("/passwordless/start"))
            .header("x-request-language", header)
            .json(
                &json!({"client_id": id(&c.backend), "client_secret": c.backend["client_secret"],
                          "connection": "sms", "phone_number": "+14155550188"}),
            )
            .send()
            .await
            .expect("start")
            .json()
            .await
            .expect("json");
        assert_eq!(r["request_language"], expected, "{r}");
        sink.next().await;
    }

    // A gateway that fails: the caller is told nothing (the message is queued), the
    // administrator gets the detail in the logs.
    sink.answer(500);
    let (status, e) = send("+14155550123").await;
    assert_eq!(status, 200, "{e}");
    sink.next().await;
    let logs = crate::security_outbox::wait_for_logs(&mgmt, "fn", 1).await;
    assert_eq!(
        logs[0]["details"]["error"],
        "Unexpected response while calling the SMS gateway: 500"
    );

    // Twilio: the account's Messages API, HTTP Basic with the SID and the sealed token.
    sink.answer(201);
    let (status, conn) = mgmt
        .patch(
            &format!("/connections/{}", conn["id"].as_str().expect("id")),
            json!({"options": {"provider": "twilio", "twilio_sid": "AC123", "twilio_token": "tw-token",
                               "from": "+15550000000", "template": "Code: @@password@@"}}),
        )
        .await;
    assert_eq!(status, 200, "{conn}");
    assert!(conn["options"].get("twilio_token").is_none());
    let (status, _) = send("+14155550123").await;
    assert_eq!(status, 200);
    let got = sink.next().await;
    assert_eq!(got.path, "/2010-04-01/Accounts/AC123/Messages.json");
    use base64::Engine as _;
    assert_eq!(
        got.authorization.as_deref(),
        Some(
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("AC123:tw-token")
            )
            .as_str()
        )
    );
    assert!(
        got.content_type
            .unwrap_or_default()
            .starts_with("application/x-www-form-urlencoded")
    );
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(got.body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(form["To"], "+14155550123");
    assert_eq!(form["From"], "+15550000000");
    let code = code_after(&form["Body"], "Code:");
    let (status, tokens) = otp_grant(&app, &c.backend, "sms", "+14155550123", &code).await;
    assert_eq!(status, 200);
    assert_eq!(
        crate::helpers::jwt_claims(tokens["id_token"].as_str().expect("id"))["sub"],
        sub.as_str(),
        "same user"
    );
    // A PATCH without the token keeps it; Twilio's refusal reaches the logs.
    mgmt.patch(
        &format!("/connections/{}", conn["id"].as_str().expect("id")),
        json!({"options": {"provider": "twilio", "twilio_sid": "AC123", "from": "+15550000000"}}),
    )
    .await;
    sink.answer(400);
    let (status, _) = send("+14155550123").await;
    assert_eq!(status, 200);
    let got = sink.next().await;
    let logs = crate::security_outbox::wait_for_logs(&mgmt, "fn", 2).await;
    assert_eq!(
        logs[0]["details"]["error"],
        "The 'To' number is not a valid phone number. (Code: 21211)"
    );
    assert!(
        got.authorization
            .unwrap_or_default()
            .ends_with(&base64::engine::general_purpose::STANDARD.encode("AC123:tw-token"))
    );
}

#[tokio::test]
async fn sending_is_limited_per_recipient() {
    let app = TestApp::builder()
        .env("GATEHOUSE_RATE_LIMIT_PASSWORDLESS_RECIPIENT", "2:0.001")
        .spawn()
        .await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    smtp_provider(&mgmt, &smtp).await;
    let c = clients(&mgmt).await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email", "enabled_clients": [id(&c.spa)]}),
    )
    .await;
    let ask = |email: &'static str| {
        let (app, c) = (&app, &c);
        async move {
            start(
                app,
                json!({"client_id": id(&c.spa), "connection": "email", "email": email, "send": "code"}),
            )
            .await
        }
    };
    assert_eq!(ask("a@example.com").await.0, 200);
    assert_eq!(ask("A@example.com").await.0, 200);
    let (status, e) = ask("a@example.com").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (429, Some("too_many_requests"))
    );
    assert_eq!(ask("b@example.com").await.0, 200, "others are not affected");
    for _ in 0..3 {
        smtp.next_mail().await;
    }
}

fn challenge_of(verifier: &str) -> String {
    use base64::Engine as _;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
}

fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn location(r: &reqwest::Response) -> url::Url {
    let raw = r.headers()["location"].to_str().expect("ascii");
    url::Url::parse(raw)
        .or_else(|_| url::Url::parse("http://gatehouse.invalid").and_then(|b| b.join(raw)))
        .expect("url")
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .expect("value")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn a_magic_link_logs_in_once_after_a_click() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    smtp_provider(&mgmt, &smtp).await;
    let c = clients(&mgmt).await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email", "enabled_clients": [id(&c.spa)]}),
    )
    .await;
    let verifier = "a-verifier-of-enough-length-for-pkce-0123456789";
    let (status, body) = start(
        &app,
        json!({"client_id": id(&c.spa), "connection": "email", "email": "lee@example.com", "send": "link",
               "authParams": {"redirect_uri": "https://app.example/cb", "response_type": "code",
                              "scope": "openid email", "state": "xyz", "redirectUri": "ignored",
                              "code_challenge": challenge_of(verifier), "code_challenge_method": "S256"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let link = crate::smtp::link_in(&smtp.next_mail().await, "/passwordless/verify_redirect?");
    assert!(
        !link.contains("redirect_uri"),
        "the request stays on the server: {link}"
    );

    // Opening the link twice (a mail scanner, then the person) spends nothing.
    let browser = crate::helpers::client();
    let mut html = String::new();
    for _ in 0..2 {
        let page = browser.get(app.url(&link)).send().await.expect("open");
        assert_eq!(page.status(), 200);
        html = page.text().await.expect("html");
    }
    assert!(html.contains("Continue as lee@example.com"), "{html}");
    let fields: Vec<(String, String)> = [
        "client_id",
        "connection",
        "email",
        "verification_code",
        "nonce",
    ]
    .iter()
    .map(|n| ((*n).to_owned(), hidden(&html, n)))
    .collect();
    // Posted from another browser (a page auto-submitting someone's link): nothing happens,
    // and the link still works where it was opened.
    let forged = crate::helpers::client()
        .post(app.url("/passwordless/verify_redirect"))
        .form(&fields)
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), 400);
    let r = browser
        .post(app.url("/passwordless/verify_redirect"))
        .form(&fields)
        .send()
        .await
        .expect("click");
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(
        to.as_str().split('?').next(),
        Some("https://app.example/cb")
    );
    assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
    let code = query_param(&to, "code").expect("code");
    let tokens: Value = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", id(&c.spa)),
            ("code", &code),
            ("redirect_uri", "https://app.example/cb"),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let sub =
        crate::helpers::jwt_claims(tokens["id_token"].as_str().expect("id token"))["sub"].clone();
    assert!(sub.as_str().expect("sub").starts_with("email|"), "{tokens}");

    // Once.
    let again = browser
        .post(app.url("/passwordless/verify_redirect"))
        .form(&fields)
        .send()
        .await
        .expect("again");
    assert_eq!(again.status(), 400);
    // The session it started serves silent authentication.
    let silent = browser
        .get(app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid&prompt=none&code_challenge={}&code_challenge_method=S256",
            id(&c.spa),
            challenge_of(verifier)
        )))
        .send()
        .await
        .expect("silent");
    assert!(query_param(&location(&silent), "code").is_some());
}

#[tokio::test]
async fn the_login_pages_log_in_with_an_sms_code() {
    let mut sink = SmsSink::start().await;
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (_, web) = mgmt
        .post(
            "/clients",
            json!({"name": "Web", "app_type": "regular_web", "callbacks": ["https://app.example/cb"],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    mgmt.post(
        "/connections",
        json!({"name": "sms", "strategy": "sms", "enabled_clients": [id(&web)],
               "options": {"provider": "sms_gateway", "gateway_url": format!("{}/send", sink.url),
                           "template": "Code @@password@@"}}),
    )
    .await;
    let authorize = |extra: &str| {
        app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid&state=s1{extra}",
            id(&web)
        ))
    };
    let browser = crate::helpers::client();
    // The password page offers the connection; connection=sms goes straight to it.
    let html = browser
        .get(authorize(""))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Log in with a code sent by text message"),
        "{html}"
    );
    let page = browser
        .get(authorize("&connection=sms"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("<label for=\"recipient\">Phone number"),
        "{html}"
    );
    let tx = hidden(&html, "tx");

    let bad = browser
        .post(app.url("/u/passwordless/start"))
        .form(&[("tx", tx.as_str()), ("recipient", "555-0123")])
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.expect("html").contains("country code"));
    // A form from another browser is refused.
    let stranger = crate::helpers::client()
        .post(app.url("/u/passwordless/start"))
        .form(&[("tx", tx.as_str()), ("recipient", "+14155550199")])
        .send()
        .await
        .expect("post");
    assert_eq!(stranger.status(), 400);

    let sent = browser
        .post(app.url("/u/passwordless/start"))
        .form(&[("tx", tx.as_str()), ("recipient", "+14155550123")])
        .send()
        .await
        .expect("post");
    assert_eq!(sent.status(), 303);
    let code_page = location(&sent);
    assert_eq!(code_page.path(), "/u/passwordless/code");
    let got = sink.next().await;
    let body: Value = serde_json::from_str(&got.body).expect("json");
    let code = code_after(body["body"].as_str().expect("body"), "Code");
    let html = browser
        .get(app.url(&format!(
            "/u/passwordless/code?{}",
            code_page.query().expect("query")
        )))
        .send()
        .await
        .expect("code page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("We sent a code to +14155550123"), "{html}");
    let tx = hidden(&html, "tx");
    let wrong_code = browser
        .post(app.url("/u/passwordless/code"))
        .form(&[("tx", tx.as_str()), ("code", wrong(&code).as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(wrong_code.status(), 400);
    assert!(
        wrong_code
            .text()
            .await
            .expect("html")
            .contains("Wrong phone number or verification code.")
    );
    let ok = browser
        .post(app.url("/u/passwordless/code"))
        .form(&[("tx", tx.as_str()), ("code", code.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status(), 303);
    let to = location(&ok);
    assert_eq!(query_param(&to, "state").as_deref(), Some("s1"));
    assert!(query_param(&to, "code").is_some());
    let (_, users) = mgmt
        .get("/users?q=phone_number%3A%22%2B14155550123%22")
        .await;
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");
}

#[tokio::test]
async fn wrong_codes_count_towards_brute_force_protection() {
    let app = TestApp::builder()
        .env("GATEHOUSE_BRUTE_FORCE_THRESHOLD", "2")
        .spawn()
        .await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    smtp_provider(&mgmt, &smtp).await;
    let c = clients(&mgmt).await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email", "enabled_clients": [id(&c.backend)]}),
    )
    .await;
    let (_, user) = mgmt
        .post(
            "/users",
            json!({"connection": "email", "email": "kim@example.com"}),
        )
        .await;
    let send = || {
        let (app, c) = (&app, &c);
        async move {
            start(
                app,
                json!({"client_id": id(&c.backend), "client_secret": c.backend["client_secret"],
                       "connection": "email", "email": "kim@example.com", "send": "code"}),
            )
            .await
            .0
        }
    };
    assert_eq!(send().await, 200);
    let code = code_after(&smtp.next_mail().await, "code");
    assert_eq!(
        otp_grant(&app, &c.backend, "email", "kim@example.com", &wrong(&code))
            .await
            .0,
        403
    );
    let (status, e) = otp_grant(&app, &c.backend, "email", "kim@example.com", &wrong(&code)).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (429, Some("too_many_attempts"))
    );
    // Blocked: even a fresh, right code is refused until an administrator unblocks.
    assert_eq!(send().await, 200);
    let code = code_after(&smtp.next_mail().await, "code");
    assert_eq!(
        otp_grant(&app, &c.backend, "email", "kim@example.com", &code)
            .await
            .0,
        429
    );
    let user_id = user["user_id"].as_str().expect("id").replace('|', "%7C");
    assert_eq!(mgmt.delete(&format!("/user-blocks/{user_id}")).await.0, 204);
    assert_eq!(send().await, 200);
    let code = code_after(&smtp.next_mail().await, "code");
    assert_eq!(
        otp_grant(&app, &c.backend, "email", "kim@example.com", &code)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_login_page_can_email_a_magic_link() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    smtp_provider(&mgmt, &smtp).await;
    let (_, web) = mgmt
        .post(
            "/clients",
            json!({"name": "Web", "app_type": "regular_web", "callbacks": ["https://app.example/cb"],
                   "grant_types": ["authorization_code"]}),
        )
        .await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email", "enabled_clients": [id(&web)]}),
    )
    .await;
    let browser = crate::helpers::client();
    let html = browser
        .get(app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid%20email&state=st&nonce=n1&connection=email",
            id(&web)
        )))
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("html");
    assert!(html.contains("Email me a link instead"), "{html}");
    let sent = browser
        .post(app.url("/u/passwordless/start"))
        .form(&[
            ("tx", hidden(&html, "tx").as_str()),
            ("recipient", "max@example.com"),
            ("send", "link"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(sent.status(), 303);
    let next = location(&sent);
    assert_eq!(next.path(), "/u/passwordless/sent");
    let page = browser
        .get(app.url(&format!(
            "/u/passwordless/sent?{}",
            next.query().expect("query")
        )))
        .send()
        .await
        .expect("sent page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("We sent a link to max@example.com"), "{page}");

    // Opened on another device, the link still completes the request the page started.
    let link = crate::smtp::link_in(&smtp.next_mail().await, "/passwordless/verify_redirect?");
    let phone = crate::helpers::client();
    let html = phone
        .get(app.url(&link))
        .send()
        .await
        .expect("open")
        .text()
        .await
        .expect("html");
    let fields: Vec<(String, String)> = [
        "client_id",
        "connection",
        "email",
        "verification_code",
        "nonce",
    ]
    .iter()
    .map(|n| ((*n).to_owned(), hidden(&html, n)))
    .collect();
    let r = phone
        .post(app.url("/passwordless/verify_redirect"))
        .form(&fields)
        .send()
        .await
        .expect("click");
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(query_param(&to, "state").as_deref(), Some("st"));
    let code = query_param(&to, "code").expect("code");
    let (status, tokens) = {
        let r = app
            .client
            .post(app.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", id(&web)),
                (
                    "client_secret",
                    web["client_secret"].as_str().expect("secret"),
                ),
                ("code", code.as_str()),
                ("redirect_uri", "https://app.example/cb"),
            ])
            .send()
            .await
            .expect("token");
        (r.status().as_u16(), r.json::<Value>().await.expect("json"))
    };
    assert_eq!(status, 200, "{tokens}");
    let id_token = crate::helpers::jwt_claims(tokens["id_token"].as_str().expect("id"));
    assert_eq!(id_token["nonce"], "n1");
    assert_eq!(id_token["email"], "max@example.com");
}

#[tokio::test]
async fn guessing_is_capped_per_recipient_across_codes() {
    // Brute-force protection off: the cap holds for unknown recipients and any address.
    let app = TestApp::builder()
        .env("GATEHOUSE_BRUTE_FORCE_THRESHOLD", "off")
        .spawn()
        .await;
    let mgmt = app.mgmt().await;
    let c = clients(&mgmt).await;
    mgmt.post(
        "/connections",
        json!({"name": "email", "strategy": "email", "enabled_clients": [id(&c.backend)]}),
    )
    .await;
    let backend_id = id(&c.backend).to_owned();
    let plant = || app.plant_email_code("guess@example.com", "135790", &backend_id, 180);
    // Ten wrong guesses over four codes (three per code at most).
    for _ in 0..4 {
        plant().await;
        for _ in 0..3 {
            otp_grant(&app, &c.backend, "email", "guess@example.com", "000000").await;
        }
    }
    plant().await;
    let (status, e) = otp_grant(&app, &c.backend, "email", "guess@example.com", "135790").await;
    assert_eq!(
        (status, e["error"].as_str()),
        (429, Some("too_many_attempts")),
        "{e}"
    );
}

#[tokio::test]
async fn an_email_template_is_liquid_and_goes_out_as_html_with_text() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    smtp_provider(&mgmt, &smtp).await;
    let c = clients(&mgmt).await;
    let body = "<p>Hi {{ email | upcase }}</p>{% if send == 'link' %}<a href=\"{{ link }}\">Log in</a>\
                {% else %}<p>Code: <b>{{ code }}</b></p>{% endif %}\
                {% for n in (1..3) %}<i>{{ n }}</i>{% endfor %}";
    let (status, conn) = mgmt
        .post(
            "/connections",
            json!({"name": "email", "strategy": "email", "enabled_clients": [id(&c.backend)],
                   "options": {"email": {"from": "login@acme.test",
                                         "subject": "{{ application.name | downcase }} code",
                                         "body": body},
                               "totp": {"time_step": 180, "length": 6}}}),
        )
        .await;
    assert_eq!(status, 201, "{conn}");
    let (status, _) = start(
        &app,
        json!({"client_id": id(&c.backend), "client_secret": c.backend["client_secret"],
               "connection": "email", "email": "liq@example.com", "send": "code"}),
    )
    .await;
    assert_eq!(status, 200);
    let mail = smtp
        .next_mail()
        .await
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(mail.contains("Subject: acme backend code"), "{mail}");
    assert!(mail.contains("multipart/alternative"), "{mail}");
    let html = mail.split("text/html").nth(1).expect("an HTML part");
    assert!(html.contains("<p>Hi LIQ@EXAMPLE.COM</p>"), "{mail}");
    assert!(
        html.contains("<i>1</i><i>2</i><i>3</i>"),
        "Liquid's for loop ran: {mail}"
    );
    assert!(!html.contains("Log in</a>"), "{mail}");
    let text = mail.split("text/plain").nth(1).expect("a text part");
    let code = code_after(text, "Code:");
    assert_eq!(code.len(), 6, "{mail}");
    assert!(html.contains(&format!("<b>{code}</b>")), "{mail}");
}
