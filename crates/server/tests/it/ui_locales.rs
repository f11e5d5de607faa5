//! Universal Login in the user's language: `ui_locales`, then `Accept-Language`, within the
//! tenant's `enabled_locales`; and a tenant's custom texts
//! (`/prompts/{prompt}/custom-text/{language}`) over the shipped ones.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_mgmt_error, client, enc, spawn_app};

/// A shipped text, read from the catalog the server compiles in.
fn shipped(lang: &str, prompt: &str, screen: &str, key: &str) -> String {
    let json = match lang {
        "en" => include_str!("../../../core/src/prompt_text/en.json"),
        "de" => include_str!("../../../core/src/prompt_text/de.json"),
        "fr" => include_str!("../../../core/src/prompt_text/fr.json"),
        "es" => include_str!("../../../core/src/prompt_text/es.json"),
        other => panic!("no catalog {other}"),
    };
    let catalog: Value = serde_json::from_str(json).expect("catalog");
    let text = catalog[prompt][screen][key].as_str().expect("text");
    // As the page shows it: HTML-escaped.
    text.replace('&', "&amp;")
        .replace('\'', "&#39;")
        .replace('"', "&quot;")
}

fn tx_of(html: &str) -> String {
    let start = html.find("name=\"tx\" value=\"").expect("tx field") + 17;
    html[start..].split('"').next().expect("tx").to_owned()
}

async fn web_client(app: &TestApp) -> String {
    let (status, web) = app
        .mgmt()
        .await
        .post(
            "/clients",
            json!({"name": "Web", "app_type": "regular_web", "callbacks": ["https://app.example/cb"]}),
        )
        .await;
    assert_eq!(status, 201, "{web}");
    web["client_id"].as_str().expect("id").to_owned()
}

/// The HTML at `url`, with `accept_language` sent if given.
async fn page(browser: &reqwest::Client, url: &str, accept_language: Option<&str>) -> String {
    let mut req = browser.get(url);
    if let Some(a) = accept_language {
        req = req.header("accept-language", a);
    }
    req.send().await.expect("page").text().await.expect("html")
}

/// The login page for `query` extras, with `accept_language` sent if given.
async fn login_page(
    app: &TestApp,
    browser: &reqwest::Client,
    client_id: &str,
    extra: &str,
    accept_language: Option<&str>,
) -> String {
    let url = app.url(&format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&state=s{extra}",
        enc("https://app.example/cb")
    ));
    page(browser, &url, accept_language).await
}

#[tokio::test]
async fn pages_follow_ui_locales_then_the_browser_within_the_enabled_locales() {
    let app = spawn_app().await;
    let id = web_client(&app).await;
    let browser = client();
    let forgot = |lang| shipped(lang, "login", "login", "forgotPasswordText");

    // Nothing enabled but English (the default): English whatever is asked.
    let html = login_page(&app, &browser, &id, "&ui_locales=de", Some("fr")).await;
    assert!(
        html.contains("<html lang=\"en\">") && html.contains(&forgot("en")),
        "{html}"
    );

    let m = app.mgmt().await;
    let (status, t) = m
        .patch(
            "/tenants/settings",
            json!({"enabled_locales": ["en", "de", "fr", "es"]}),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["enabled_locales"], json!(["en", "de", "fr", "es"]));

    for (extra, accept, lang) in [
        ("&ui_locales=de", None, "de"),
        // The first enabled of the user's list; a regional tag finds its base language.
        ("&ui_locales=ja%20fr-CA%20de", None, "fr"),
        // `ui_locales` wins over the browser; without it, the browser's preference counts.
        ("&ui_locales=es", Some("de"), "es"),
        ("", Some("it, de;q=0.8, fr;q=0.9"), "fr"),
        // Nothing usable: the tenant's first language.
        ("&ui_locales=ja", Some("it"), "en"),
    ] {
        let html = login_page(&app, &browser, &id, extra, accept).await;
        assert!(
            html.contains(&format!("<html lang=\"{lang}\">")),
            "{extra} {accept:?}: {html}"
        );
        assert!(html.contains(&forgot(lang)), "{extra}: {html}");
        assert!(
            html.contains(&shipped(lang, "login", "login", "buttonText")),
            "{html}"
        );
    }

    // The language stays with the login: the error after a wrong password, the sign-up
    // page and the reset request page are German too, whatever the browser sends then.
    let html = login_page(&app, &browser, &id, "&ui_locales=de", None).await;
    let tx = tx_of(&html);
    let r = browser
        .post(app.url("/u/login"))
        .header("accept-language", "fr")
        .form(&[
            ("tx", tx.as_str()),
            ("username", "nobody@example.com"),
            ("password", "wrong-Passw0rd"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 400);
    let html = r.text().await.expect("html");
    assert!(
        html.contains(&shipped("de", "login", "login", "wrong-email-credentials")),
        "{html}"
    );
    for (path, prompt, screen) in [
        ("/u/signup", "signup", "signup"),
        (
            "/u/reset-password/request",
            "reset-password",
            "reset-password-request",
        ),
    ] {
        let html = page(&browser, &app.url(&format!("{path}?tx={}", enc(&tx))), None).await;
        assert!(html.contains("<html lang=\"de\">"), "{path}: {html}");
        assert!(
            html.contains(&shipped("de", prompt, screen, "title")),
            "{path}: {html}"
        );
    }

    // A page reached from a link, without a login transaction, follows the browser.
    let url = app.url("/u/reset-password?ticket=not-a-ticket");
    let html = page(&browser, &url, Some("es-MX,es;q=0.9")).await;
    assert!(html.contains("<html lang=\"es\">"), "{html}");
    assert!(
        html.contains(&shipped(
            "es",
            "reset-password",
            "reset-password-error",
            "description"
        )),
        "{html}"
    );
}

#[tokio::test]
async fn custom_texts_are_kept_and_shown_over_the_shipped_ones() {
    let app = spawn_app().await;
    let id = web_client(&app).await;
    let m = app.mgmt().await;
    assert_eq!(
        m.get("/prompts/login/custom-text/en").await,
        (200, json!({}))
    );

    let texts = json!({"login": {
        "title": "Hello from ${companyName} to ${clientName}",
        "description": "<b>Bold?</b>",
        "someKeyGatehouseDoesNotShow": "kept"
    }});
    let (status, set) = m
        .send(
            reqwest::Method::PUT,
            "/prompts/login/custom-text/en",
            Some(texts.clone()),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(m.get("/prompts/login/custom-text/en").await, (200, texts));
    // A prompt gatehouse has no page for keeps its texts too (they come along from Auth0).
    let mfa = json!({"mfa-otp-challenge": {"title": "Zwei Faktoren"}});
    assert_eq!(
        m.send(
            reqwest::Method::PUT,
            "/prompts/mfa-otp/custom-text/de",
            Some(mfa.clone())
        )
        .await
        .0,
        200
    );
    assert_eq!(m.get("/prompts/mfa-otp/custom-text/de").await, (200, mfa));

    let html = login_page(&app, &client(), &id, "", None).await;
    assert!(html.contains("Hello from gatehouse to Web"), "{html}");
    // Custom texts are text: markup in them is shown, never run.
    assert!(
        html.contains("&#60;b&#62;Bold?&#60;/b&#62;") && !html.contains("<b>Bold"),
        "{html}"
    );
    // Other keys keep the shipped texts.
    assert!(
        html.contains(&shipped("en", "login", "login", "forgotPasswordText")),
        "{html}"
    );

    // `{}` removes them.
    assert_eq!(
        m.send(
            reqwest::Method::PUT,
            "/prompts/login/custom-text/en",
            Some(json!({}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        m.get("/prompts/login/custom-text/en").await,
        (200, json!({}))
    );
    let html = login_page(&app, &client(), &id, "", None).await;
    assert!(
        html.contains(&shipped("en", "login", "login", "title")),
        "{html}"
    );

    // Auth0's errors: an unknown prompt or language is a path error, a bad body a body error.
    assert_mgmt_error(
        &m.get("/prompts/log-in/custom-text/en").await,
        400,
        "invalid_uri",
    );
    assert_mgmt_error(
        &m.get("/prompts/login/custom-text/xx").await,
        400,
        "invalid_uri",
    );
    for bad in [
        json!({"login": "x"}),
        json!({"login": {"title": 5}}),
        json!(["x"]),
    ] {
        let r = m
            .send(
                reqwest::Method::PUT,
                "/prompts/login/custom-text/en",
                Some(bad),
            )
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
    }
    // Partials need a custom domain, which gatehouse does not have: Auth0's answer then.
    let r = m.get("/prompts/login/partials").await;
    assert_mgmt_error(&r, 400, "operation_not_supported");
    assert!(
        r.1["message"]
            .as_str()
            .expect("message")
            .contains("custom domain"),
        "{}",
        r.1
    );
    assert_mgmt_error(
        &m.get("/prompts/consent/partials").await,
        400,
        "invalid_uri",
    );
}

#[tokio::test]
async fn enabled_locales_take_only_auth0_languages() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    assert_eq!(
        m.get("/tenants/settings").await.1["enabled_locales"],
        json!(["en"])
    );
    for bad in [
        json!([]),
        json!(["xx"]),
        json!(["de", "de"]),
        json!("de"),
        json!([1]),
    ] {
        let r = m
            .patch("/tenants/settings", json!({"enabled_locales": bad}))
            .await;
        assert_mgmt_error(&r, 400, "invalid_body");
    }
    let (status, t) = m
        .patch(
            "/tenants/settings",
            json!({"enabled_locales": ["es-419", "en"]}),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(
        m.get("/tenants/settings").await.1["enabled_locales"],
        json!(["es-419", "en"])
    );
}
