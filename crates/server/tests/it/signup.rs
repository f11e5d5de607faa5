//! `POST /dbconnections/signup`.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn sign_up_then_log_in() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let (_, c) = mgmt
        .post("/clients", json!({"name": "web", "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]}))
        .await;
    let id = c["client_id"].as_str().expect("id");
    let signup = |body: Value| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(app.url("/dbconnections/signup"))
                .json(&body)
                .send()
                .await
                .expect("request");
            (r.status().as_u16(), r.json::<Value>().await.expect("json"))
        }
    };
    let (status, u) = signup(
        json!({"client_id": id, "connection": "Username-Password-Authentication",
        "email": "New@Example.com", "password": "Sup3r-secret!", "given_name": "New",
        "user_metadata": {"plan": "free"}}),
    )
    .await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["email"], "new@example.com");
    assert_eq!(u["email_verified"], false);
    assert_eq!(u["given_name"], "New");
    let bare = u["_id"].as_str().expect("_id");
    let (_, stored) = mgmt.get(&format!("/users/auth0%7C{bare}")).await;
    assert_eq!(stored["user_metadata"], json!({"plan": "free"}));

    // The new user logs in.
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            (
                "grant_type",
                "http://auth0.com/oauth/grant-type/password-realm",
            ),
            ("client_id", id),
            ("client_secret", c["client_secret"].as_str().expect("s")),
            ("username", "new@example.com"),
            ("password", "Sup3r-secret!"),
            ("realm", "Username-Password-Authentication"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);

    let (status, e) = signup(
        json!({"client_id": id, "connection": "Username-Password-Authentication",
        "email": "new@example.com", "password": "Sup3r-secret!"}),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str(), e["name"].as_str()),
        (400, Some("invalid_signup"), Some("BadRequestError"))
    );
    assert_eq!(e["statusCode"], 400);
    let (status, e) = signup(
        json!({"client_id": id, "connection": "Username-Password-Authentication",
        "email": "weak@example.com", "password": "weak"}),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str(), e["name"].as_str()),
        (400, Some("invalid_password"), Some("PasswordStrengthError"))
    );
    for body in [
        json!({"connection": "Username-Password-Authentication", "email": "a@b.co", "password": "Sup3r-secret!"}),
        json!({"client_id": id, "connection": "nope", "email": "a@b.co", "password": "Sup3r-secret!"}),
        json!({"client_id": id, "connection": "Username-Password-Authentication", "email": "not-an-email", "password": "Sup3r-secret!"}),
        json!({"client_id": id, "connection": "Username-Password-Authentication", "email": "a@b.co", "password": "Sup3r-secret!", "user_metadata": {"n": 1}}),
        json!([1, 2]),
    ] {
        let (status, e) = signup(body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(e["code"].is_string() && e["description"].is_string(), "{e}");
    }
    let (_, logs) = mgmt.get("/logs?q=type%3Ass").await;
    assert_eq!(logs.as_array().expect("logs").len(), 1);
}
