//! `/api/v2/prompts` and identifier-first login: with `identifier_first` on, the login page
//! asks for the email or username alone, then for the password.

use serde_json::json;

use crate::helpers::{assert_mgmt_error, client, spawn_app};

fn tx_of(html: &str) -> String {
    let start = html.find("name=\"tx\" value=\"").expect("tx field") + 17;
    html[start..].split('"').next().expect("tx").to_owned()
}

#[tokio::test]
async fn prompts_settings_round_trip() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let (status, fresh) = m.get("/prompts").await;
    assert_eq!(status, 200);
    assert_eq!(
        fresh,
        json!({"identifier_first": false, "universal_login_experience": "new",
               "webauthn_platform_first_factor": false})
    );
    let (status, set) = m
        .patch(
            "/prompts",
            json!({"identifier_first": true, "universal_login_experience": "classic"}),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["identifier_first"], true);
    assert_eq!(set["universal_login_experience"], "classic");
    assert_eq!(m.get("/prompts").await.1, set);
    for bad in [
        json!({"identifier_first": "yes"}),
        json!({"universal_login_experience": "newest"}),
        json!({"something_else": true}),
    ] {
        assert_mgmt_error(&m.patch("/prompts", bad).await, 400, "invalid_body");
    }
}

#[tokio::test]
async fn identifier_first_asks_for_the_identifier_then_the_password() {
    let app = spawn_app().await;
    let m = app.mgmt().await;
    let (_, web) = m
        .post(
            "/clients",
            json!({"name": "Web", "app_type": "regular_web", "callbacks": ["https://app.example/cb"]}),
        )
        .await;
    m.post(
        "/users",
        json!({"connection": "Username-Password-Authentication", "email": "idf@example.com",
               "password": "Sup3r-secret!", "verify_email": false}),
    )
    .await;
    let authorize = app.url(&format!(
        "/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s",
        web["client_id"].as_str().expect("id")
    ));
    let browser = client();
    let page = |b: &reqwest::Client| {
        let b = b.clone();
        let url = authorize.clone();
        async move {
            b.get(url)
                .send()
                .await
                .expect("page")
                .text()
                .await
                .expect("html")
        }
    };
    // Off (the default): one form with both fields.
    let html = page(&browser).await;
    assert!(html.contains("name=\"password\""), "{html}");

    m.patch("/prompts", json!({"identifier_first": true})).await;
    let html = page(&browser).await;
    assert!(
        html.contains("name=\"username\"") && !html.contains("name=\"password\""),
        "{html}"
    );
    let tx = tx_of(&html);
    let second = browser
        .post(app.url("/u/login"))
        .form(&[("tx", tx.as_str()), ("username", "idf@example.com")])
        .send()
        .await
        .expect("identifier");
    assert_eq!(second.status(), 200);
    let html = second.text().await.expect("html");
    assert!(html.contains("name=\"password\""), "{html}");
    assert!(
        html.contains("type=\"hidden\" name=\"username\" value=\"idf@example.com\""),
        "{html}"
    );
    assert!(
        !html.contains("class=\"error\""),
        "no error on the second step: {html}"
    );
    let done = browser
        .post(app.url("/u/login"))
        .form(&[
            ("tx", tx_of(&html).as_str()),
            ("username", "idf@example.com"),
            ("password", "Sup3r-secret!"),
        ])
        .send()
        .await
        .expect("password");
    assert_eq!(done.status(), 303, "logged in");
    let to = done.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(to.starts_with("https://app.example/cb?code="), "{to}");

    // An empty identifier is asked for again.
    let other = client();
    let html = page(&other).await;
    let r = other
        .post(app.url("/u/login"))
        .form(&[("tx", tx_of(&html).as_str()), ("username", "")])
        .send()
        .await
        .expect("empty");
    assert_eq!(r.status(), 400);
    let html = r.text().await.expect("html");
    assert!(html.contains("Enter your email or username."), "{html}");
}
