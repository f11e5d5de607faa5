//! `/api/v2/tickets`: password change and email verification links a backend hands out
//! itself; what they do once used (`result_url`, `mark_email_as_verified`,
//! `includeEmailInRedirect`), and the requests refused. `/api/v2/jobs/verification-email`:
//! the verification mail again, through a real SMTP conversation.

use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, assert_mgmt_error, client, location, param, spawn_app};
use crate::mgmt_jobs::{database_connection_id, password_backend, password_login};
use crate::smtp::SmtpSink;

async fn user(mgmt: &Mgmt<'_>, email: &str) -> String {
    let (status, u) = mgmt
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication", "email": email,
                   "password": "Sup3r-secret!"}),
        )
        .await;
    assert_eq!(status, 201, "{u}");
    assert_eq!(u["email_verified"], false);
    u["user_id"].as_str().expect("id").to_owned()
}

/// Opens `link` and sets `password`: the response to the form.
async fn change_password(app: &TestApp, link: &str, password: &str) -> reqwest::Response {
    let url = url::Url::parse(link).expect("url");
    assert!(
        link.starts_with(&app.url("/u/reset-password?ticket=")),
        "{link}"
    );
    let ticket = param(&url, "ticket").expect("ticket");
    let browser = client();
    assert_eq!(browser.get(link).send().await.expect("page").status(), 200);
    browser
        .post(app.url("/u/reset-password"))
        .form(&[("ticket", ticket.as_str()), ("password", password)])
        .send()
        .await
        .expect("reset")
}

#[tokio::test]
async fn a_password_change_ticket_sets_a_password_then_goes_to_the_result_url() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let backend = password_backend(&mgmt).await;
    let id = user(&mgmt, "ada@example.com").await;
    let (status, t) = mgmt
        .post(
            "/tickets/password-change",
            json!({"user_id": id, "result_url": "https://app.example/welcome?from=mail",
                   "mark_email_as_verified": true, "includeEmailInRedirect": true,
                   "ttl_sec": 600}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let link = t["ticket"].as_str().expect("ticket");
    let done = change_password(&app, link, "A-brand-new-pass-1").await;
    assert_eq!(done.status(), 303);
    let to = location(&done);
    assert!(
        to.as_str()
            .starts_with("https://app.example/welcome?from=mail&success=true"),
        "{to}"
    );
    assert_eq!(param(&to, "email").as_deref(), Some("ada@example.com"));
    let (_, after) = mgmt
        .get(&format!("/users/{}", id.replace('|', "%7C")))
        .await;
    assert_eq!(after["email_verified"], true);
    assert_eq!(
        password_login(&app, &backend, "ada@example.com", "A-brand-new-pass-1").await,
        200
    );
    // Once only.
    let again = client().get(link).send().await.expect("again");
    assert_eq!(again.status(), 400);

    // By email and connection, without options: the plain page after.
    let connection_id = database_connection_id(&mgmt).await;
    let (status, t) = mgmt
        .post(
            "/tickets/password-change",
            json!({"email": "ada@example.com", "connection_id": connection_id}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let done = change_password(
        &app,
        t["ticket"].as_str().expect("ticket"),
        "Third-pass-is-3",
    )
    .await;
    assert_eq!(done.status(), 200);
    assert_eq!(
        password_login(&app, &backend, "ada@example.com", "Third-pass-is-3").await,
        200
    );
}

#[tokio::test]
async fn an_email_verification_ticket_verifies_the_address() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let id = user(&mgmt, "bo@example.com").await;
    let (status, t) = mgmt
        .post(
            "/tickets/email-verification",
            json!({"user_id": id, "result_url": "https://app.example/verified"}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let link = t["ticket"].as_str().expect("ticket");
    assert!(
        link.starts_with(&app.url("/u/email-verification?ticket=")),
        "{link}"
    );
    let r = client().get(link).send().await.expect("verify");
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(param(&to, "success").as_deref(), Some("true"));
    assert!(param(&to, "email").is_none(), "only when asked");
    let (_, after) = mgmt
        .get(&format!("/users/{}", id.replace('|', "%7C")))
        .await;
    assert_eq!(after["email_verified"], true);
}

#[tokio::test]
async fn bad_ticket_requests_are_refused() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let id = user(&mgmt, "cy@example.com").await;
    for (path, body, status, code) in [
        (
            "/tickets/password-change",
            json!({"user_id": "auth0|nobody"}),
            404,
            "inexistent_user",
        ),
        (
            "/tickets/password-change",
            json!({"email": "cy@example.com"}),
            400,
            "invalid_body",
        ),
        ("/tickets/password-change", json!({}), 400, "invalid_body"),
        (
            "/tickets/password-change",
            json!({"user_id": id, "ttl_sec": 99_999_999}),
            400,
            "invalid_body",
        ),
        (
            "/tickets/password-change",
            json!({"user_id": id, "result_url": "javascript:alert(1)"}),
            400,
            "invalid_body",
        ),
        (
            "/tickets/password-change",
            json!({"user_id": id, "organization_id": "org_1"}),
            400,
            "invalid_body",
        ),
        (
            "/tickets/password-change",
            json!({"user_id": id, "client_id": "ghost"}),
            404,
            "inexistent_client",
        ),
        (
            "/tickets/password-change",
            json!({"user_id": id, "shoe_size": 44}),
            400,
            "invalid_body",
        ),
        (
            "/tickets/email-verification",
            json!({}),
            400,
            "invalid_body",
        ),
        (
            "/tickets/email-verification",
            json!({"user_id": id, "identity": {"user_id": "x", "provider": "auth0"}}),
            400,
            "invalid_body",
        ),
    ] {
        let got = mgmt.post(path, body.clone()).await;
        assert_mgmt_error(&got, status, code);
        let _: &Value = &got.1;
    }
    let reader = Mgmt {
        app: &app,
        token: app.mgmt_token(Some("read:users")).await,
    };
    let got = reader
        .post("/tickets/email-verification", json!({"user_id": id}))
        .await;
    assert_eq!(got.0, 403, "{}", got.1);
}

#[tokio::test]
async fn a_verification_email_job_mails_a_link_that_verifies() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    let (status, _) = mgmt
        .post(
            "/emails/provider",
            json!({"name": "smtp", "default_from_address": "id@example.com",
                   "credentials": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                                   "smtp_user": "", "smtp_pass": ""}}),
        )
        .await;
    assert_eq!(status, 201);
    let id = user(&mgmt, "dee@example.com").await;
    let (status, job) = mgmt
        .post("/jobs/verification-email", json!({"user_id": id}))
        .await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["type"], "verification_email");
    assert_eq!(job["status"], "completed");
    assert!(
        job.get("summary").is_none() && job.get("connection_id").is_none(),
        "{job}"
    );
    let (status, again) = mgmt
        .get(&format!("/jobs/{}", job["id"].as_str().expect("id")))
        .await;
    assert_eq!((status, &again), (200, &job));
    let mail = smtp.next_mail().await;
    assert!(mail.contains("To: dee@example.com"), "{mail}");
    let link = crate::smtp::link_in(&mail, "/u/email-verification?ticket=");
    let r = client().get(app.url(&link)).send().await.expect("verify");
    assert_eq!(r.status(), 200);
    let (_, after) = mgmt
        .get(&format!("/users/{}", id.replace('|', "%7C")))
        .await;
    assert_eq!(after["email_verified"], true);
    assert_mgmt_error(
        &mgmt
            .post(
                "/jobs/verification-email",
                json!({"user_id": "auth0|nobody"}),
            )
            .await,
        404,
        "inexistent_user",
    );
}
