//! Security review findings 9 and 10: mail and SMS leave through the outbox, so request
//! timing tells nothing about who has an account; delivery failures are retried and logged for
//! the administrator; reset mail is limited per address; a moved SMS gateway loses its secret;
//! gateway errors are not shown to anonymous callers.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, TestDb};
use crate::sms::SmsSink;
use crate::smtp::SmtpSink;

const DB: &str = "Username-Password-Authentication";

/// Waits until at least `n` log events of type `kind` are visible, and returns them (newest
/// first): the outbox logs its failures from the background.
pub async fn wait_for_logs(mgmt: &Mgmt<'_>, kind: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, logs) = mgmt.get(&format!("/logs?q=type%3A{kind}")).await;
        let logs = logs.as_array().cloned().unwrap_or_default();
        if logs.len() >= n {
            return logs;
        }
        assert!(
            Instant::now() < deadline,
            "{n} `{kind}` events expected, got {logs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn smtp_provider(mgmt: &Mgmt<'_>, port: u16) {
    let (status, body) = mgmt
        .post("/emails/provider", json!({"name": "smtp", "default_from_address": "id@example.com",
            "credentials": {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_user": "", "smtp_pass": ""}}))
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn user(mgmt: &Mgmt<'_>, email: &str) {
    let (status, body) = mgmt
        .post(
            "/users",
            json!({"connection": DB, "email": email, "password": "Old-secret-1!", "verify_email": false}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// `/dbconnections/change_password` for `email`: status, body and how long it took.
async fn change_password(app: &TestApp, email: &str) -> (u16, String, Duration) {
    let began = Instant::now();
    let r = app
        .client
        .post(app.url("/dbconnections/change_password"))
        .json(&json!({"email": email, "connection": DB}))
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("text");
    (status, text, began.elapsed())
}

#[tokio::test]
async fn change_password_takes_as_long_for_known_and_unknown_addresses() {
    // A relay that takes a second to greet: sending inside the request would add that second
    // to registered addresses only.
    let mut smtp = SmtpSink::start_with(Duration::from_secs(1), 0).await;
    let app = TestApp::builder().spawn().await;
    let mgmt = app.mgmt().await;
    smtp_provider(&mgmt, smtp.port).await;
    user(&mgmt, "known@example.com").await;
    let (mut known, mut unknown) = (Duration::ZERO, Duration::ZERO);
    for i in 0..3 {
        let k = change_password(&app, "known@example.com").await;
        let u = change_password(&app, &format!("nobody{i}@example.com")).await;
        assert_eq!((k.0, &k.1), (u.0, &u.1), "the same answer");
        known = known.max(k.2);
        unknown = unknown.max(u.2);
    }
    assert!(
        known < unknown + Duration::from_millis(500) && known < Duration::from_millis(900),
        "known {known:?} vs unknown {unknown:?}"
    );
    // The mails still go out, from the background, within moments.
    for _ in 0..3 {
        let mail = smtp.next_mail().await;
        assert!(mail.contains("To: known@example.com"), "{mail}");
    }
}

#[tokio::test]
async fn passwordless_start_takes_as_long_for_blocked_and_allowed_recipients() {
    let mut smtp = SmtpSink::start_with(Duration::from_secs(1), 0).await;
    let app = TestApp::builder().spawn().await;
    let mgmt = app.mgmt().await;
    smtp_provider(&mgmt, smtp.port).await;
    let (_, spa) = mgmt
        .post(
            "/clients",
            json!({"name": "spa", "app_type": "spa", "callbacks": ["https://app.example/cb"]}),
        )
        .await;
    let client_id = spa["client_id"].as_str().expect("client_id");
    let (status, _) = mgmt
        .post(
            "/connections",
            json!({"name": "email", "strategy": "email", "enabled_clients": [client_id],
                   "options": {"disable_signup": true}}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, member) = mgmt
        .post(
            "/users",
            json!({"connection": "email", "email": "member@example.com", "email_verified": true}),
        )
        .await;
    assert!(member["user_id"].is_string(), "{member}");
    let start = |email: String| {
        let app = &app;
        async move {
            let began = Instant::now();
            let r = app
                .client
                .post(app.url("/passwordless/start"))
                .json(&json!({"client_id": client_id, "connection": "email", "email": email, "send": "code"}))
                .send()
                .await
                .expect("start");
            (r.status().as_u16(), began.elapsed())
        }
    };
    let (mut known, mut unknown) = (Duration::ZERO, Duration::ZERO);
    for i in 0..2 {
        let k = start("member@example.com".into()).await;
        let u = start(format!("stranger{i}@example.com")).await;
        assert_eq!((k.0, u.0), (200, 200));
        known = known.max(k.1);
        unknown = unknown.max(u.1);
    }
    assert!(
        known < unknown + Duration::from_millis(500) && known < Duration::from_millis(900),
        "known {known:?} vs unknown {unknown:?}"
    );
    assert!(smtp.next_mail().await.contains("To: member@example.com"));
}

#[tokio::test]
async fn failed_deliveries_are_retried_then_logged() {
    // The relay turns the first two connections away; three attempts, 0.2 s apart at first.
    let mut smtp = SmtpSink::start_with(Duration::ZERO, 2).await;
    let app = TestApp::builder()
        .env("GATEHOUSE_OUTBOX_RETRY", "3:0.2")
        .spawn()
        .await;
    let mgmt = app.mgmt().await;
    smtp_provider(&mgmt, smtp.port).await;
    user(&mgmt, "retry@example.com").await;
    let (status, _, _) = change_password(&app, "retry@example.com").await;
    assert_eq!(status, 200);
    let mail = smtp.next_mail().await;
    assert!(mail.contains("To: retry@example.com"), "{mail}");
    let failures = wait_for_logs(&mgmt, "fn", 2).await;
    assert_eq!(failures.len(), 2, "{failures:?}");
    for f in &failures {
        assert_eq!(f["details"]["kind"], "password_reset", "{f}");
        assert_eq!(f["details"]["recipient"], "retry@example.com", "{f}");
        assert!(
            f["description"]
                .as_str()
                .unwrap_or_default()
                .ends_with("it will be retried"),
            "{f}"
        );
        assert!(
            f["details"]["error"]
                .as_str()
                .unwrap_or_default()
                .contains("421"),
            "{f}"
        );
    }
    // Nothing answers at all: every attempt fails, the last one says so, and it stops there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let (status, _) = mgmt
        .patch(
            "/emails/provider",
            json!({"credentials": {"smtp_host": "127.0.0.1", "smtp_port": dead_port, "smtp_user": "", "smtp_pass": ""}}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = change_password(&app, "retry@example.com").await;
    assert_eq!(status, 200);
    let failures = wait_for_logs(&mgmt, "fn", 5).await;
    assert!(
        failures[0]["description"]
            .as_str()
            .unwrap_or_default()
            .ends_with("no more attempts"),
        "{failures:?}"
    );
    assert_eq!(failures[0]["details"]["attempt"], 3);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, all) = mgmt.get("/logs?q=type%3Afn").await;
    assert_eq!(all.as_array().map(Vec::len), Some(5), "no fourth attempt");
}

#[tokio::test]
async fn reset_mail_is_limited_per_address() {
    let mut smtp = SmtpSink::start().await;
    let app = TestApp::builder().spawn().await;
    let mgmt = app.mgmt().await;
    smtp_provider(&mgmt, smtp.port).await;
    user(&mgmt, "bombed@example.com").await;
    user(&mgmt, "other@example.com").await;
    for i in 0..7 {
        // The address in any case is the same address.
        let email = if i % 2 == 0 {
            "bombed@example.com"
        } else {
            "Bombed@Example.com"
        };
        let (status, text, _) = change_password(&app, email).await;
        assert_eq!(
            (status, text.as_str()),
            (200, "We've just sent you an email to reset your password."),
            "the same answer over the limit"
        );
    }
    for _ in 0..5 {
        assert!(smtp.next_mail().await.contains("To: bombed@example.com"));
    }
    let (status, _, _) = change_password(&app, "other@example.com").await;
    assert_eq!(status, 200);
    let next = smtp.next_mail().await;
    assert!(
        next.contains("To: other@example.com"),
        "no sixth mail to the bombed address, others unaffected: {next}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(smtp.mails.try_recv().is_err(), "five an hour");
    let limited = wait_for_logs(&mgmt, "fcpr", 2).await;
    assert_eq!(limited.len(), 2);
}

/// An app with an SMS connection on a gateway at `gateway` with a bearer secret, and a
/// client allowed to use it.
async fn sms_app(gateway: &str) -> (TestApp, String, String) {
    let app = TestApp::builder()
        .env("GATEHOUSE_OUTBOX_RETRY", "1:1")
        .spawn()
        .await;
    let mgmt = app.mgmt().await;
    let (_, spa) = mgmt
        .post(
            "/clients",
            json!({"name": "spa", "app_type": "spa", "callbacks": ["https://app.example/cb"]}),
        )
        .await;
    let client_id = spa["client_id"].as_str().expect("client_id").to_owned();
    let (status, conn) = mgmt
        .post(
            "/connections",
            json!({"name": "sms", "strategy": "sms", "enabled_clients": [client_id],
                   "options": {"provider": "sms_gateway", "gateway_url": format!("{gateway}/send"),
                               "from": "+15550000000", "template": "Your code is @@password@@",
                               "gateway_authentication": {"method": "bearer", "subject": "gatehouse",
                                   "audience": "urn:sms", "secret": "real-gateway-secret"}}}),
        )
        .await;
    assert_eq!(status, 201, "{conn}");
    let id = conn["id"].as_str().expect("id").to_owned();
    drop(mgmt);
    (app, client_id, id)
}

async fn start_sms(app: &TestApp, client_id: &str) -> (u16, String) {
    let r = app
        .client
        .post(app.url("/passwordless/start"))
        .json(&json!({"client_id": client_id, "connection": "sms", "phone_number": "+14155550123"}))
        .send()
        .await
        .expect("start");
    (r.status().as_u16(), r.text().await.expect("text"))
}

fn verifies_with(authorization: Option<&str>, secret: &[u8]) -> bool {
    let Some(token) = authorization.and_then(|a| a.strip_prefix("Bearer ")) else {
        return false;
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["urn:sms", "urn:attacker"]);
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret),
        &validation,
    )
    .is_ok()
}

#[tokio::test]
async fn moving_the_sms_gateway_drops_its_secret() {
    let mut real = SmsSink::start().await;
    let mut attacker = SmsSink::start().await;
    let (app, client_id, conn) = sms_app(&real.url).await;
    let mgmt = app.mgmt().await;
    let path = format!("/connections/{conn}");
    let options = |url: &str, audience: &str, from: &str| {
        json!({"options": {"provider": "sms_gateway", "gateway_url": format!("{url}/send"),
                           "from": from, "template": "Your code is @@password@@",
                           "gateway_authentication": {"method": "bearer", "subject": "gatehouse",
                               "audience": audience}}})
    };
    // A change that keeps the destination keeps the secret.
    let (status, _) = mgmt
        .patch(&path, options(&real.url, "urn:sms", "+15550000001"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(start_sms(&app, &client_id).await.0, 200);
    let got = real.next().await;
    assert!(verifies_with(
        got.authorization.as_deref(),
        b"real-gateway-secret"
    ));

    // Someone with update:connections (who never sees the secret) points it elsewhere.
    let (status, _) = mgmt
        .patch(&path, options(&attacker.url, "urn:sms", "+15550000001"))
        .await;
    assert_eq!(status, 200);
    let (status, _) = start_sms(&app, &client_id).await;
    assert_eq!(status, 200);
    let logs = wait_for_logs(&mgmt, "fn", 1).await;
    assert_eq!(
        logs[0]["details"]["error"], "The SMS gateway secret is missing",
        "{logs:?}"
    );
    assert!(
        attacker.requests.try_recv().is_err(),
        "nothing signed (or unsigned) reaches the new host"
    );
    // Moving it back does not bring the secret back either.
    mgmt.patch(&path, options(&real.url, "urn:sms", "+15550000001"))
        .await;
    start_sms(&app, &client_id).await;
    wait_for_logs(&mgmt, "fn", 2).await;
    assert!(real.requests.try_recv().is_err());

    // The secret sent again with the new destination: signed with it.
    let mut with_secret = options(&attacker.url, "urn:attacker", "+15550000001");
    with_secret["options"]["gateway_authentication"]["secret"] = json!("a-new-secret");
    let (status, _) = mgmt.patch(&path, with_secret).await;
    assert_eq!(status, 200);
    start_sms(&app, &client_id).await;
    let got = attacker.next().await;
    assert!(verifies_with(got.authorization.as_deref(), b"a-new-secret"));
    assert!(!verifies_with(
        got.authorization.as_deref(),
        b"real-gateway-secret"
    ));
    // An audience change alone drops it too.
    let (status, _) = mgmt
        .patch(&path, options(&attacker.url, "urn:sms", "+15550000001"))
        .await;
    assert_eq!(status, 200);
    start_sms(&app, &client_id).await;
    wait_for_logs(&mgmt, "fn", 3).await;
    assert!(attacker.requests.try_recv().is_err());
}

#[tokio::test]
async fn gateway_errors_are_not_shown_to_callers() {
    let mut gateway = SmsSink::start().await;
    let (app, client_id, _) = sms_app(&gateway.url).await;
    let mgmt = app.mgmt().await;
    for code in [404, 401, 500] {
        gateway.answer(code);
        let (status, body) = start_sms(&app, &client_id).await;
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).expect("json");
        let mut keys: Vec<&str> = body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["_id", "phone_number", "phone_verified", "request_language"],
            "the usual answer, nothing about the gateway: {body}"
        );
        gateway.next().await;
    }
    // The administrator gets the detail.
    let logs = wait_for_logs(&mgmt, "fn", 3).await;
    let errors: Vec<&str> = logs
        .iter()
        .filter_map(|l| l["details"]["error"].as_str())
        .collect();
    assert!(
        errors.contains(&"Unexpected response while calling the SMS gateway: 404"),
        "{errors:?}"
    );
    assert!(
        errors.contains(&"Authentication failed while calling the SMS gateway: 401"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn two_replicas_send_each_message_once() {
    let mut smtp = SmtpSink::start().await;
    let db = TestDb::sqlite();
    let first = TestApp::builder().db(db.clone()).spawn().await;
    let second = TestApp::builder().db(db).spawn().await;
    let mgmt = first.mgmt().await;
    smtp_provider(&mgmt, smtp.port).await;
    let mut expected = Vec::new();
    for i in 0..6 {
        let email = format!("replica{i}@example.com");
        user(&mgmt, &email).await;
        // Queued on either replica; both workers poll the same table.
        let app = if i % 2 == 0 { &first } else { &second };
        assert_eq!(change_password(app, &email).await.0, 200);
        expected.push(format!("To: {email}"));
    }
    let mut got = Vec::new();
    for _ in 0..6 {
        let mail = smtp.next_mail().await;
        let to = mail
            .lines()
            .find(|l| l.starts_with("To: "))
            .expect("To")
            .to_owned();
        got.push(to);
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(smtp.mails.try_recv().is_err(), "no message sent twice");
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}
