//! Email providers that are HTTP APIs (SendGrid, Mailgun, Amazon SES): a mail goes out as the
//! provider's own API call, to a stand-in on loopback (`GATEHOUSE_SENDGRID_API_URL`,
//! `GATEHOUSE_MAILGUN_API_URL`, `GATEHOUSE_SES_API_URL`), with the key the tenant configured
//! and never shown again.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::helpers::{TestApp, assert_mgmt_error};

/// One request the stand-in received: path, headers, body.
type Seen = (String, HeaderMap, Bytes);

/// A provider's API on loopback answering `status` to every mail.
async fn stand_in(status: StatusCode) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (send, seen) = mpsc::unbounded_channel::<Seen>();
    let record = move |State(s): State<Arc<mpsc::UnboundedSender<Seen>>>,
                       Path(rest): Path<String>,
                       headers: HeaderMap,
                       body: Bytes| async move {
        s.send((format!("/{rest}"), headers, body)).ok();
        status
    };
    let app = Router::new()
        .route("/{*rest}", post(record))
        .with_state(Arc::new(send));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn next(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(std::time::Duration::from_secs(10), seen.recv())
        .await
        .expect("a provider call within 10 s")
        .expect("call")
}

/// Queues a verification mail to a new user.
async fn mail_someone(app: &TestApp) {
    let m = app.mgmt().await;
    let (status, user) = m
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": "to@example.com",
                   "password": "Sup3r-secret!", "verify_email": true}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
}

#[tokio::test]
async fn sendgrid_gets_the_mail_as_its_api_wants_it() {
    let (url, mut seen) = stand_in(StatusCode::ACCEPTED).await;
    let app = TestApp::builder()
        .env("GATEHOUSE_SENDGRID_API_URL", &url)
        .spawn()
        .await;
    let m = app.mgmt().await;
    let (status, provider) = m
        .post(
            "/emails/provider",
            json!({"name": "sendgrid", "default_from_address": "Acme <hello@acme.example>",
                   "credentials": {"api_key": "SG.secret-key"}}),
        )
        .await;
    assert_eq!(status, 201, "{provider}");
    assert_eq!(provider["credentials"], json!({}), "the key is never shown");
    mail_someone(&app).await;
    let (path, headers, body) = next(&mut seen).await;
    assert_eq!(path, "/v3/mail/send");
    assert_eq!(headers["authorization"], "Bearer SG.secret-key");
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        body["personalizations"][0]["to"][0]["email"],
        "to@example.com"
    );
    assert_eq!(
        body["from"],
        json!({"email": "hello@acme.example", "name": "Acme"})
    );
    assert_eq!(body["subject"], "Verify your email");
    assert_eq!(body["content"][0]["type"], "text/plain");
    assert!(
        body["content"][0]["value"]
            .as_str()
            .is_some_and(|t| t.contains("/u/email-verification?ticket=")),
        "{body}"
    );
}

#[tokio::test]
async fn mailgun_gets_a_form_with_basic_auth() {
    let (url, mut seen) = stand_in(StatusCode::OK).await;
    let app = TestApp::builder()
        .env("GATEHOUSE_MAILGUN_API_URL", &url)
        .spawn()
        .await;
    let m = app.mgmt().await;
    let (status, provider) = m
        .post(
            "/emails/provider",
            json!({"name": "mailgun", "default_from_address": "id@mg.acme.example",
                   "credentials": {"api_key": "key-123", "domain": "mg.acme.example"}}),
        )
        .await;
    assert_eq!(status, 201, "{provider}");
    assert_eq!(
        provider["credentials"],
        json!({"domain": "mg.acme.example"})
    );
    mail_someone(&app).await;
    let (path, headers, body) = next(&mut seen).await;
    assert_eq!(path, "/v3/mg.acme.example/messages");
    // `api:key-123` in base64.
    assert_eq!(headers["authorization"], "Basic YXBpOmtleS0xMjM=");
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).expect("a form");
    assert_eq!(form["to"], "to@example.com");
    assert_eq!(form["from"], "id@mg.acme.example");
    assert_eq!(form["subject"], "Verify your email");
    assert!(form["text"].contains("/u/email-verification?ticket="));
}

#[tokio::test]
async fn ses_gets_a_signed_v2_request() {
    let (url, mut seen) = stand_in(StatusCode::OK).await;
    let app = TestApp::builder()
        .env("GATEHOUSE_SES_API_URL", &url)
        .spawn()
        .await;
    let m = app.mgmt().await;
    let (status, provider) = m
        .post(
            "/emails/provider",
            json!({"name": "ses", "default_from_address": "Acme <hello@acme.example>",
                   "credentials": {"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "ses-secret",
                                   "region": "eu-west-1"}}),
        )
        .await;
    assert_eq!(status, 201, "{provider}");
    assert_eq!(
        provider["credentials"],
        json!({"accessKeyId": "AKIDEXAMPLE", "region": "eu-west-1"}),
        "the secret key is never shown"
    );
    mail_someone(&app).await;
    let (path, headers, body) = next(&mut seen).await;
    assert_eq!(path, "/v2/email/outbound-emails");
    let mail: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(mail["FromEmailAddress"], "Acme <hello@acme.example>");
    assert_eq!(
        mail["Destination"]["ToAddresses"],
        json!(["to@example.com"])
    );
    let simple = &mail["Content"]["Simple"];
    assert_eq!(simple["Subject"]["Data"], "Verify your email");
    assert!(
        simple["Body"]["Text"]["Data"]
            .as_str()
            .is_some_and(|t| t.contains("/u/email-verification?ticket=")),
        "{mail}"
    );
    // Signed for the region and service of the day, over the headers as they arrived: the
    // algorithm itself is checked against AWS's published example (`delivery::sigv4`).
    let header = |name: &str| headers[name].to_str().expect("ascii").to_owned();
    let amz_date = header("x-amz-date");
    let authorization = header("authorization");
    assert!(
        authorization.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/eu-west-1/ses/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature=",
            &amz_date[..8]
        )),
        "{authorization}"
    );
    let received = [
        ("content-type", header("content-type")),
        ("host", header("host")),
        ("x-amz-date", amz_date.clone()),
    ];
    let received: Vec<(&str, &str)> = received.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let expected = gatehouse_server::delivery::sigv4::Signer {
        access_key_id: "AKIDEXAMPLE",
        secret: "ses-secret",
        region: "eu-west-1",
        service: "ses",
        amz_date: &amz_date,
    }
    .authorization(&gatehouse_server::delivery::sigv4::Request {
        method: "POST",
        path: "/v2/email/outbound-emails",
        query: "",
        headers: &received,
        body: &body,
    });
    assert_eq!(authorization, expected);
}

#[tokio::test]
async fn each_provider_needs_its_own_credentials() {
    let app = TestApp::builder().spawn().await;
    let m = app.mgmt().await;
    for bad in [
        json!({"name": "sendgrid", "credentials": {"smtp_host": "x", "smtp_port": 25, "smtp_user": "", "smtp_pass": ""}}),
        json!({"name": "sendgrid", "credentials": {}}),
        json!({"name": "mailgun", "credentials": {"api_key": "k"}}),
        json!({"name": "mailgun", "credentials": {"api_key": "k", "domain": "d.example", "region": "mars"}}),
        json!({"name": "smtp", "credentials": {"api_key": "k"}}),
        json!({"name": "ses", "credentials": {"api_key": "k"}}),
        json!({"name": "ses", "credentials": {"accessKeyId": "AKID", "secretAccessKey": "s"}}),
        json!({"name": "ses", "credentials": {"accessKeyId": "AKID", "secretAccessKey": "s", "region": "eu"}}),
        json!({"name": "mandrill", "credentials": {"api_key": "k"}}),
    ] {
        assert_mgmt_error(&m.post("/emails/provider", bad).await, 400, "invalid_body");
    }
    let (status, _) = m
        .post(
            "/emails/provider",
            json!({"name": "sendgrid", "credentials": {"api_key": "SG.k"}}),
        )
        .await;
    assert_eq!(status, 201);
    // Another provider brings its own credentials.
    assert_mgmt_error(
        &m.patch("/emails/provider", json!({"name": "mailgun"}))
            .await,
        400,
        "invalid_body",
    );
}
