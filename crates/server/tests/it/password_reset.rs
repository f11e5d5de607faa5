//! Password reset by email, through a real SMTP conversation.

use serde_json::json;

use crate::helpers::{TestApp, client, spawn_app};
use crate::smtp::SmtpSink;

#[tokio::test]
async fn reset_link_by_email_sets_a_new_password() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    let (status, _) = mgmt
        .post("/emails/provider", json!({"name": "smtp", "default_from_address": "id@example.com",
            "credentials": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_user": "", "smtp_pass": ""}}))
        .await;
    assert_eq!(status, 201);
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "web", "grant_types": ["password"]}),
        )
        .await;
    mgmt.post("/users", json!({"connection": "Username-Password-Authentication", "email": "reset@example.com", "password": "Old-secret-1!", "verify_email": false}))
        .await;
    let ask = |email: &'static str| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(app.url("/dbconnections/change_password"))
                .json(&json!({"email": email, "connection": "Username-Password-Authentication"}))
                .send()
                .await
                .expect("request");
            (r.status().as_u16(), r.text().await.expect("text"))
        }
    };
    // Unknown addresses get the same answer, and no mail.
    let unknown = ask("nobody@example.com").await;
    let known = ask("reset@example.com").await;
    assert_eq!(unknown, known);
    assert_eq!(
        known,
        (
            200,
            "We've just sent you an email to reset your password.".to_owned()
        )
    );
    let mail = smtp.next_mail().await;
    assert!(mail.contains("To: reset@example.com"), "{mail}");
    let link_path = crate::smtp::link_in(&mail, "/u/reset-password?ticket=");

    let browser = client();
    let page = browser.get(app.url(&link_path)).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    let ticket = link_path
        .split("ticket=")
        .nth(1)
        .expect("ticket")
        .to_owned();
    assert!(html.contains(&ticket));
    let weak = browser
        .post(app.url("/u/reset-password"))
        .form(&[("ticket", ticket.as_str()), ("password", "weak")])
        .send()
        .await
        .expect("post");
    assert_eq!(
        weak.status(),
        400,
        "the policy applies, and the ticket survives"
    );
    let ok = browser
        .post(app.url("/u/reset-password"))
        .form(&[("ticket", ticket.as_str()), ("password", "New-secret-2!")])
        .send()
        .await
        .expect("post");
    let status = ok.status();
    let body = ok.text().await.expect("html");
    assert_eq!(status, 200, "{body}");
    let again = browser
        .post(app.url("/u/reset-password"))
        .form(&[("ticket", ticket.as_str()), ("password", "New-secret-3!")])
        .send()
        .await
        .expect("post");
    assert_eq!(again.status(), 400, "single use");

    let login = |pw: &'static str| {
        let app = &app;
        let c = &c;
        async move {
            app.client
                .post(app.url("/oauth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", c["client_id"].as_str().expect("id")),
                    ("client_secret", c["client_secret"].as_str().expect("s")),
                    ("username", "reset@example.com"),
                    ("password", pw),
                ])
                .send()
                .await
                .expect("login")
                .status()
                .as_u16()
        }
    };
    assert_eq!(login("Old-secret-1!").await, 403);
    assert_eq!(login("New-secret-2!").await, 200);
    let (_, logs) = mgmt.get("/logs?q=type%3Ascp").await;
    assert_eq!(logs.as_array().expect("logs").len(), 1);
    // The weak password and the second use of the link both failed.
    let (_, logs) = mgmt.get("/logs?q=type%3Afcp").await;
    assert_eq!(logs.as_array().expect("logs").len(), 2, "{logs}");
}

#[tokio::test]
async fn signup_sends_a_verification_link() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    mgmt.post(
        "/emails/provider",
        json!({"name": "smtp", "default_from_address": "id@example.com",
               "credentials": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_user": "", "smtp_pass": ""}}),
    )
    .await;
    let (_, c) = mgmt.post("/clients", json!({"name": "web"})).await;
    let r = app
        .client
        .post(app.url("/dbconnections/signup"))
        .json(
            &json!({"client_id": c["client_id"], "connection": "Username-Password-Authentication",
                      "email": "verify@example.com", "password": "Sup3r-secret!"}),
        )
        .send()
        .await
        .expect("signup");
    assert_eq!(r.status(), 200);
    let id = format!(
        "auth0%7C{}",
        r.json::<serde_json::Value>().await.expect("json")["_id"]
            .as_str()
            .expect("id")
    );
    let link = crate::smtp::link_in(&smtp.next_mail().await, "/u/email-verification?ticket=");
    assert_eq!(
        mgmt.get(&format!("/users/{id}")).await.1["email_verified"],
        false
    );
    let page = client().get(app.url(&link)).send().await.expect("verify");
    assert_eq!(page.status(), 200);
    assert_eq!(
        mgmt.get(&format!("/users/{id}")).await.1["email_verified"],
        true
    );
    assert_eq!(
        client()
            .get(app.url(&link))
            .send()
            .await
            .expect("again")
            .status(),
        400,
        "single use"
    );
    let (_, logs) = mgmt.get("/logs?q=type%3Asv").await;
    assert_eq!(logs.as_array().expect("logs").len(), 1);
}

#[tokio::test]
async fn a_brute_force_block_emails_an_unblock_link() {
    let app = TestApp::builder()
        .env("GATEHOUSE_BRUTE_FORCE_THRESHOLD", "2")
        .spawn()
        .await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    mgmt.post("/emails/provider", json!({"name": "smtp", "default_from_address": "id@example.com",
        "credentials": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_user": "", "smtp_pass": ""}}))
        .await;
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "web", "grant_types": ["password"]}),
        )
        .await;
    mgmt.post(
        "/users",
        json!({"connection": "Username-Password-Authentication",
        "email": "locked@example.com", "password": "Right-secret-1!", "verify_email": false}),
    )
    .await;
    let attempt = |pw: &'static str| {
        let (app, c) = (&app, &c);
        async move {
            app.client
                .post(app.url("/oauth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", c["client_id"].as_str().expect("id")),
                    (
                        "client_secret",
                        c["client_secret"].as_str().expect("secret"),
                    ),
                    ("username", "locked@example.com"),
                    ("password", pw),
                ])
                .send()
                .await
                .expect("token")
                .status()
                .as_u16()
        }
    };
    assert_eq!(attempt("wrong-1").await, 403);
    assert_eq!(attempt("wrong-2").await, 429);
    assert_eq!(attempt("Right-secret-1!").await, 429);

    let mail = smtp.next_mail().await;
    assert!(mail.contains("To: locked@example.com"), "{mail}");
    assert!(mail.contains("127.0.0.1"), "names the address: {mail}");
    let link = crate::smtp::link_in(&mail, "/u/unblock?ticket=");
    let ticket = link.split("ticket=").nth(1).expect("ticket").to_owned();

    // Opening the link (as a mail scanner would) unblocks nothing; the button does.
    let browser = client();
    let page = browser.get(app.url(&link)).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains(&ticket));
    assert_eq!(attempt("Right-secret-1!").await, 429);
    let post = |t: String| {
        let (browser, app) = (&browser, &app);
        async move {
            browser
                .post(app.url("/u/unblock"))
                .form(&[("ticket", t)])
                .send()
                .await
                .expect("post")
                .status()
                .as_u16()
        }
    };
    assert_eq!(post("forged".into()).await, 400);
    assert_eq!(post(ticket.clone()).await, 200);
    assert_eq!(attempt("Right-secret-1!").await, 200);
    assert_eq!(post(ticket).await, 400, "single use");
    let (_, logs) = mgmt.get("/logs?q=type%3Aublkdu").await;
    assert_eq!(logs.as_array().expect("logs").len(), 1);
}

#[tokio::test]
async fn a_linked_account_resets_its_own_password() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    mgmt.post("/emails/provider", json!({"name": "smtp", "default_from_address": "id@example.com",
        "credentials": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_user": "", "smtp_pass": ""}}))
        .await;
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "web", "grant_types": ["password"]}),
        )
        .await;
    let mut ids = vec![];
    for (email, pw) in [
        ("prime@example.com", "Prime-secret-1!"),
        ("linked@example.com", "Linked-secret-1!"),
    ] {
        let (_, u) = mgmt
            .post(
                "/users",
                json!({"connection": "Username-Password-Authentication",
                "email": email, "password": pw, "verify_email": false}),
            )
            .await;
        ids.push(u["user_id"].as_str().expect("id").to_owned());
    }
    let (status, _) = mgmt
        .post(
            &format!("/users/{}/identities", ids[0].replace('|', "%7C")),
            json!({"provider": "auth0", "user_id": ids[1].split_once('|').expect("id").1}),
        )
        .await;
    assert_eq!(status, 201);
    let login = |email: &'static str, pw: &'static str| {
        let (app, c) = (&app, &c);
        async move {
            app.client
                .post(app.url("/oauth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", c["client_id"].as_str().expect("id")),
                    ("client_secret", c["client_secret"].as_str().expect("s")),
                    ("username", email),
                    ("password", pw),
                ])
                .send()
                .await
                .expect("login")
                .status()
                .as_u16()
        }
    };
    app.client
        .post(app.url("/dbconnections/change_password"))
        .json(&json!({"email": "linked@example.com", "connection": "Username-Password-Authentication"}))
        .send()
        .await
        .expect("request");
    let mail = smtp.next_mail().await;
    assert!(
        mail.contains("To: linked@example.com"),
        "to the linked account's address: {mail}"
    );
    let link = crate::smtp::link_in(&mail, "/u/reset-password?ticket=");
    let ticket = link.split("ticket=").nth(1).expect("ticket").to_owned();
    // Pointing the ticket at the primary's identity makes it unknown.
    let (secret, _) = ticket.split_once('.').expect("subject");
    let forged = format!(
        "{secret}.Username-Password-Authentication~{}",
        ids[0].split_once('|').expect("id").1
    );
    let r = client()
        .post(app.url("/u/reset-password"))
        .form(&[("ticket", forged.as_str()), ("password", "Taken-over-1!")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let r = client()
        .post(app.url("/u/reset-password"))
        .form(&[("ticket", ticket.as_str()), ("password", "Linked-new-2!")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(login("linked@example.com", "Linked-new-2!").await, 200);
    assert_eq!(
        login("prime@example.com", "Prime-secret-1!").await,
        200,
        "the primary keeps its password"
    );
    assert_eq!(login("prime@example.com", "Linked-new-2!").await, 403);
    assert_eq!(login("prime@example.com", "Taken-over-1!").await, 403);
}

#[tokio::test]
async fn the_login_page_links_to_a_reset_request() {
    let app = spawn_app().await;
    let mut smtp = SmtpSink::start().await;
    let mgmt = app.mgmt().await;
    crate::smtp::use_sink(&mgmt, &smtp).await;
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "web", "app_type": "regular_web", "callbacks": ["https://app.example/cb"]}),
        )
        .await;
    mgmt.post(
        "/users",
        json!({"connection": "Username-Password-Authentication", "email": "forgot@example.com",
               "password": "Sup3r-secret!", "verify_email": false}),
    )
    .await;
    let browser = client();
    let login = browser
        .get(app.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s",
            c["client_id"].as_str().expect("id")
        )))
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("html");
    let start = login
        .find("href=\"/u/reset-password/request?tx=")
        .expect("the link")
        + 6;
    let link = login[start..]
        .split('"')
        .next()
        .expect("href")
        .replace("&amp;", "&");
    let page = browser
        .get(app.url(&link))
        .send()
        .await
        .expect("request page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    let start = html.find("name=\"tx\" value=\"").expect("tx") + 17;
    let tx = html[start..].split('"').next().expect("tx").to_owned();

    for email in ["nobody@example.com", "forgot@example.com"] {
        let r = browser
            .post(app.url("/u/reset-password/request"))
            .form(&[("tx", tx.as_str()), ("email", email)])
            .send()
            .await
            .expect("submit");
        assert_eq!(r.status(), 200, "the same answer for {email}");
        assert!(r.text().await.expect("html").contains("Check your email"));
    }
    // Only the account's address gets mail, and it carries a working reset link.
    let mail = smtp.next_mail().await;
    assert!(mail.contains("To: forgot@example.com"), "{mail}");
    let reset = crate::smtp::link_in(&mail, "/u/reset-password?ticket=");
    assert_eq!(
        client()
            .get(app.url(&reset))
            .send()
            .await
            .expect("reset")
            .status(),
        200
    );

    // A form without this browser's binding is refused.
    let r = client()
        .post(app.url("/u/reset-password/request"))
        .form(&[("tx", tx.as_str()), ("email", "forgot@example.com")])
        .send()
        .await
        .expect("submit");
    assert_eq!(r.status(), 400);
}
