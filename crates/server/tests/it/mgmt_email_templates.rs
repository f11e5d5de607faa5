//! `/api/v2/email-templates` and the mails they make: Liquid with Auth0's variables, HTML with
//! a text alternative, the link's lifetime and `resultUrl`, a welcome mail after verification,
//! and a template turned off sending nothing.

use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, assert_mgmt_error, client, spawn_app};
use crate::smtp::SmtpSink;

fn template(body: &str) -> Value {
    json!({"template": "verify_email", "body": body, "from": "Acme <hello@acme.example>",
           "subject": "Welcome to {{ friendly_name }}", "syntax": "liquid", "enabled": true})
}

#[tokio::test]
async fn templates_are_managed_as_auth0_manages_them() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    assert_mgmt_error(
        &m.get("/email-templates/verify_email").await,
        404,
        "inexistent_email_template",
    );
    assert_mgmt_error(
        &m.patch("/email-templates/verify_email", json!({"enabled": true}))
            .await,
        404,
        "inexistent_email_template",
    );
    assert_mgmt_error(
        &m.get("/email-templates/not_a_template").await,
        400,
        "invalid_query_string",
    );
    let (status, created) = m
        .post("/email-templates", template("<p>{{ url }}</p>"))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["syntax"], "liquid");
    assert_eq!(created["includeEmailInRedirect"], false);
    assert_mgmt_error(
        &m.post("/email-templates", template("<p>again</p>")).await,
        409,
        "conflict",
    );
    let (status, patched) = m
        .patch(
            "/email-templates/verify_email",
            json!({"resultUrl": "https://app.example/verified", "urlLifetimeInSeconds": 600}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["body"], "<p>{{ url }}</p>", "the rest stays");
    assert_eq!(patched["urlLifetimeInSeconds"], 600);
    assert_eq!(m.get("/email-templates/verify_email").await.1, patched);

    // PUT replaces the whole template (and sets one never set).
    let mut whole = template("<p>{{ user.email }}</p>");
    whole["template"] = json!("welcome_email");
    let (status, put) = m
        .send(
            reqwest::Method::PUT,
            "/email-templates/welcome_email",
            Some(whole),
        )
        .await;
    assert_eq!(status, 200, "{put}");
    assert!(put.get("resultUrl").is_none());

    let broken = m
        .patch("/email-templates/verify_email", json!({"body": "{% if %}"}))
        .await;
    assert_mgmt_error(&broken, 400, "invalid_body");
    let mut partial = template("x");
    partial.as_object_mut().expect("object").remove("from");
    partial["template"] = json!("reset_email");
    assert_mgmt_error(
        &m.post("/email-templates", partial).await,
        400,
        "invalid_body",
    );
    assert_mgmt_error(
        &m.patch(
            "/email-templates/verify_email",
            json!({"syntax": "handlebars"}),
        )
        .await,
        400,
        "invalid_body",
    );
}

async fn with_smtp<'a>(app: &'a TestApp, smtp: &SmtpSink) -> Mgmt<'a> {
    let m = app.mgmt().await;
    crate::smtp::use_sink(&m, smtp).await;
    m.patch("/tenants/settings", json!({"friendly_name": "Acme"}))
        .await;
    m
}

async fn sign_up(app: &TestApp, m: &Mgmt<'_>, email: &str, name: &str) {
    let (_, c) = m.post("/clients", json!({"name": "Shop"})).await;
    let r = app
        .client
        .post(app.url("/dbconnections/signup"))
        .json(
            &json!({"client_id": c["client_id"], "connection": "Username-Password-Authentication",
                      "email": email, "password": "Sup3r-secret!", "name": name}),
        )
        .send()
        .await
        .expect("signup");
    assert_eq!(r.status(), 200);
}

/// The mail as a mail client shows it: quoted-printable undone.
fn decoded(mail: &str) -> String {
    mail.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
        .replace("=20", " ")
}

#[tokio::test]
async fn a_verification_mail_follows_the_tenant_template() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let m = with_smtp(&app, &smtp).await;
    let body = "<html><body><h1>Hi {{ user.name }}</h1><p>Confirm <a href=\"{{ url }}\">your address</a> for {{ friendly_name }}.</p></body></html>";
    let mut t = template(body);
    t["resultUrl"] = json!("https://app.example/verified");
    t["includeEmailInRedirect"] = json!(true);
    t["urlLifetimeInSeconds"] = json!(300);
    m.post("/email-templates", t).await;
    let mut welcome = template("<p>Welcome aboard, {{ user.email }}!</p>");
    welcome["template"] = json!("welcome_email");
    welcome["subject"] = json!("Glad you are here");
    m.post("/email-templates", welcome).await;

    m.patch(
        "/email-templates/verify_email",
        json!({"subject": "Welcome to {{ friendly_name }}, {{ user.name }} & co"}),
    )
    .await;
    sign_up(&app, &m, "ada@example.com", "<b>Ada</b>").await;
    let mail = decoded(&smtp.next_mail().await);
    // The subject is text: the name as the user wrote it, not HTML-escaped.
    assert!(
        mail.contains("Subject: Welcome to Acme, <b>Ada</b> & co"),
        "{mail}"
    );
    assert!(mail.contains("From: Acme <hello@acme.example>"), "{mail}");
    assert!(mail.contains("multipart/alternative"), "{mail}");
    assert!(
        mail.contains("text/html") && mail.contains("text/plain"),
        "{mail}"
    );
    // The user's own name reaches the HTML escaped, never as markup.
    let html = mail.split("text/html").nth(1).expect("an HTML part");
    assert!(html.contains("Hi &lt;b&gt;Ada&lt;/b&gt;"), "{mail}");
    assert!(!html.contains("<b>Ada</b>"), "{mail}");
    // The text part names the link in words.
    assert!(mail.contains("Confirm your address (http"), "{mail}");
    let link = crate::smtp::link_in(&mail, "/u/email-verification?ticket=");
    let link = link.trim_end_matches(['"', ')']).to_owned();

    let r = client().get(app.url(&link)).send().await.expect("verify");
    assert_eq!(r.status(), 303, "to the template's resultUrl");
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        to.starts_with("https://app.example/verified?success=true&message="),
        "{to}"
    );
    assert!(to.contains("email=ada%40example.com"), "{to}");
    let mail = decoded(&smtp.next_mail().await);
    assert!(mail.contains("Subject: Glad you are here"), "{mail}");
    assert!(mail.contains("Welcome aboard, ada@example.com!"), "{mail}");
}

#[tokio::test]
async fn a_link_lives_as_long_as_the_template_says() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let m = with_smtp(&app, &smtp).await;
    let mut t = template("<a href=\"{{ url }}\">verify</a>");
    t["urlLifetimeInSeconds"] = json!(60);
    m.post("/email-templates", t).await;
    sign_up(&app, &m, "late@example.com", "Late").await;
    let mail = decoded(&smtp.next_mail().await);
    let link = crate::smtp::link_in(&mail, "/u/email-verification?ticket=");
    let link = link.trim_end_matches(['"', ')']).to_owned();
    app.advance_clock(time::Duration::seconds(61));
    let r = client().get(app.url(&link)).send().await.expect("verify");
    assert_eq!(r.status(), 400, "expired after the template's 60 s");
}

#[tokio::test]
async fn a_template_turned_off_sends_nothing_and_sign_up_welcomes_at_once() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let m = with_smtp(&app, &smtp).await;
    let mut off = template("<p>{{ url }}</p>");
    off["enabled"] = json!(false);
    m.post("/email-templates", off).await;
    let mut welcome =
        template("<p>Hello {{ user.email }} from {{ application.name | default: 'us' }}</p>");
    welcome["template"] = json!("welcome_email");
    welcome["subject"] = json!("Welcome");
    m.post("/email-templates", welcome).await;
    sign_up(&app, &m, "quiet@example.com", "Quiet").await;
    let mail = decoded(&smtp.next_mail().await);
    assert!(
        mail.contains("Subject: Welcome"),
        "the welcome, not a verification: {mail}"
    );
    assert!(mail.contains("Hello quiet@example.com from us"), "{mail}");
    assert!(!mail.contains("email-verification"), "{mail}");
}

#[tokio::test]
async fn a_body_over_the_payload_limit_is_a_413_in_auth0_shape() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    // Small as text, but over 1 MB as JSON: each character is a 12-byte escape.
    let body = "\\ud948\\udf55".repeat(100_000);
    let raw = format!(
        r#"{{"template": "verify_email", "body": "{body}", "from": "a@b.example", "subject": "s", "syntax": "liquid", "enabled": true}}"#
    );
    let r = app
        .client
        .put(app.url("/api/v2/email-templates/verify_email"))
        .bearer_auth(&m.token)
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .expect("put");
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("a JSON error");
    assert_mgmt_error(&(status, body), 413, "too_large");
}

#[tokio::test]
async fn templates_written_at_once_are_all_kept() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    // auth0-deploy-cli writes its templates in parallel; each write is a read-modify-write of
    // the tenant's settings document, and none may undo another.
    let names = gatehouse_core::email_template::TEMPLATE_NAMES;
    let writes = names.iter().map(|name| {
        let mut body = template("<p>{{ url }}</p>");
        body["template"] = json!(name);
        m.post("/email-templates", body)
    });
    for (status, body) in futures_util::future::join_all(writes).await {
        assert_eq!(status, 201, "{body}");
    }
    for name in names {
        let (status, _) = m.get(&format!("/email-templates/{name}")).await;
        assert_eq!(status, 200, "{name} was kept");
    }
}

#[tokio::test]
async fn a_built_in_mail_wears_the_tenant_branding() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let m = with_smtp(&app, &smtp).await;
    let (status, b) = m
        .patch(
            "/branding",
            json!({"logo_url": "https://cdn.acme.example/logo.png", "colors": {"primary": "#aa3300"}}),
        )
        .await;
    assert_eq!(status, 200, "{b}");
    // No verify_email template: the built-in mail, as HTML in the branding and as text.
    sign_up(&app, &m, "brand@example.com", "<b>Brand</b>").await;
    let mail = decoded(&smtp.next_mail().await);
    assert!(mail.contains("multipart/alternative"), "{mail}");
    let html = mail.split("text/html").nth(1).expect("an HTML part");
    assert!(
        html.contains("<img src=\"https://cdn.acme.example/logo.png\""),
        "{mail}"
    );
    assert!(html.contains("background:#aa3300"), "{mail}");
    let link = crate::smtp::link_in(html, "/u/email-verification?ticket=");
    let link = link.trim_end_matches(['"', ')']);
    assert!(
        html.contains(&format!("{link}\" style=\"display:inline-block")),
        "{mail}"
    );
    assert!(
        html.contains(">Verify your email</a>"),
        "the button says what the mail is for: {mail}"
    );
    let text = mail.split("text/plain").nth(1).expect("a text part");
    assert!(text.contains("/u/email-verification?ticket="), "{mail}");
}
