//! Scope parsing under attack (issue 10, item 1): a huge scope is refused at once, and several
//! such requests in flight leave the server responsive.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const CB: &str = "https://app.example/cb";

/// `n` distinct scope tokens, space-separated.
fn distinct_scope(n: usize) -> String {
    (0..n)
        .map(|i| format!("s{i:x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn authorize(app: &TestApp, params: &[(&str, &str)]) -> url::Url {
    url::Url::parse_with_params(&app.url("/authorize"), params).expect("url")
}

async fn password_client(app: &TestApp) -> (String, String) {
    let mgmt = app.mgmt().await;
    let (_, c) = mgmt
        .post(
            "/clients",
            json!({"name": "backend", "app_type": "regular_web", "callbacks": [CB],
                   "grant_types": ["password", "authorization_code"]}),
        )
        .await;
    (
        c["client_id"].as_str().expect("id").into(),
        c["client_secret"].as_str().expect("secret").into(),
    )
}

#[tokio::test]
async fn a_huge_scope_is_refused_at_once_at_authorize() {
    let app = spawn_app().await;
    let (client_id, _) = password_client(&app).await;
    // 60 KB of distinct tokens: about as long as a request line may be.
    let scope = distinct_scope(11_000);
    assert!(scope.len() > 60_000);
    let started = Instant::now();
    let r = app
        .client
        .get(authorize(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", client_id.as_str()),
                ("redirect_uri", CB),
                ("state", "s"),
                ("scope", scope.as_str()),
            ],
        ))
        .send()
        .await
        .expect("authorize");
    let took = started.elapsed();
    assert_eq!(r.status(), 302);
    let to = r.headers()["location"].to_str().expect("ascii").to_owned();
    assert!(to.starts_with(CB), "{to}");
    assert!(to.contains("error=invalid_scope"), "{to}");
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // A scope at the caps is still fine.
    let fine = distinct_scope(50);
    let r = app
        .client
        .get(authorize(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", client_id.as_str()),
                ("redirect_uri", CB),
                ("scope", fine.as_str()),
            ],
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(r.status(), 200, "the login page");
}

async fn token_with_scope(app: &TestApp, id: &str, secret: &str, scope: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", id),
            ("client_secret", secret),
            ("username", "nobody@example.com"),
            ("password", "wrong"),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("token");
    (r.status().as_u16(), r.json().await.expect("json"))
}

#[tokio::test]
async fn huge_scopes_in_flight_do_not_stall_the_server() {
    let app = spawn_app().await;
    let (id, secret) = password_client(&app).await;
    // 400 KB of distinct tokens in a form body (the body limit is 1 MiB).
    let scope = distinct_scope(70_000);
    assert!(scope.len() > 400_000);
    let started = Instant::now();
    let attacks: Vec<_> = (0..4)
        .map(|_| {
            let (app_url, http) = (app.url("/oauth/token"), app.client.clone());
            let form = [
                ("grant_type", "password".to_owned()),
                ("client_id", id.clone()),
                ("client_secret", secret.clone()),
                ("username", "nobody@example.com".to_owned()),
                ("password", "wrong".to_owned()),
                ("scope", scope.clone()),
            ];
            tokio::spawn(async move {
                let r = http.post(app_url).form(&form).send().await.expect("token");
                (r.status().as_u16(), r.json::<Value>().await.expect("json"))
            })
        })
        .collect();
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    for a in attacks {
        let (status, body) = a.await.expect("joined");
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope"))
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );

    // Just over the token cap is refused too; repeats of one token are not counted twice.
    let (status, body) = token_with_scope(&app, &id, &secret, &distinct_scope(201)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = token_with_scope(&app, &id, &secret, &"openid ".repeat(300)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "a repeated scope is fine; the password is what fails"
    );
}
