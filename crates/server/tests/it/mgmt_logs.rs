//! `/api/v2/logs`: token issuance and Management writes are recorded.

use serde_json::{Value, json};

use crate::helpers::{assert_mgmt_error, spawn_app};

#[tokio::test]
async fn token_issuance_and_writes_are_logged() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let creds = app.credentials.clone().expect("creds");
    // A refused token request.
    app.client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", "wrong"),
            ("audience", creds.audience.as_str()),
        ])
        .send()
        .await
        .expect("request");
    let (_, user) = mgmt
        .post("/users", json!({"connection": "Username-Password-Authentication", "email": "log@example.com", "password": "Sup3r-secret!"}))
        .await;
    let uid = user["user_id"].as_str().expect("id").to_owned();
    mgmt.post("/clients", json!({"name": 1})).await;

    let (status, logs) = mgmt.get("/logs?include_totals=true").await;
    assert_eq!(status, 200, "{logs}");
    let events = logs["logs"].as_array().expect("logs").clone();
    let of = |kind: &str| {
        events
            .iter()
            .filter(|e| e["type"] == kind)
            .cloned()
            .collect::<Vec<Value>>()
    };
    let issued = of("seccft");
    assert_eq!(issued.len(), 1, "{events:?}");
    assert_eq!(issued[0]["client_id"], creds.client_id.as_str());
    assert_eq!(issued[0]["audience"], creds.audience.as_str());
    assert!(
        issued[0]["scope"]
            .as_str()
            .expect("scope")
            .contains("read:users")
    );
    assert_eq!(issued[0]["ip"], "127.0.0.1");
    let failed = of("feccft");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["description"], "Client authentication failed");
    let writes = of("sapi");
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0]["description"], "POST /api/v2/users");
    assert_eq!(writes[0]["client_id"], creds.client_id.as_str());
    assert_eq!(writes[0]["details"]["response"]["statusCode"], 201);
    assert_eq!(of("fapi").len(), 1, "refused writes too");
    let text = logs.to_string();
    assert!(
        !text.contains("Sup3r-secret!") && !text.contains(creds.client_secret.expose()),
        "no secrets in logs"
    );
    // Newest first.
    assert_eq!(events[0]["type"], "fapi");

    let (_, only) = mgmt.get("/logs?q=type%3Aseccft").await;
    assert_eq!(only.as_array().expect("array").len(), 1);
    let id = only[0]["log_id"].as_str().expect("id");
    let (_, one) = mgmt.get(&format!("/logs/{id}")).await;
    assert_eq!(one["type"], "seccft");
    assert_mgmt_error(&mgmt.get("/logs/nope").await, 404, "inexistent_log");
    assert_mgmt_error(
        &mgmt.get("/logs?q=ip%3A1").await,
        400,
        "invalid_query_string",
    );

    // Checkpoints go forward from a log id.
    let (_, first) = mgmt.get("/logs?from=&take=2").await;
    let first = first.as_array().expect("array").clone();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["type"], "seccft", "oldest first");
    let (_, rest) = mgmt
        .get(&format!(
            "/logs?from={}&take=100",
            first[1]["log_id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(rest.as_array().expect("array").len() + 2, events.len());

    // Writes about a user are in that user's log.
    let patched = mgmt
        .patch(&format!("/users/{uid}"), json!({"blocked": true}))
        .await;
    assert_eq!(patched.0, 200, "{}", patched.1);
    let (_, mine) = mgmt
        .get(&format!("/users/{}/logs", uid.replace('|', "%7C")))
        .await;
    let mine = mine.as_array().expect("array").clone();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["description"], "PATCH /api/v2/users/{id}");
    assert_eq!(mine[0]["user_id"], uid.as_str());
}

#[tokio::test]
async fn stats_count_logins_signups_and_active_users() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let cb = "https://app.example/cb";
    let (_, web) = mgmt
        .post(
            "/clients",
            json!({"name": "Web", "app_type": "regular_web", "callbacks": [cb]}),
        )
        .await;
    let client_id = web["client_id"].as_str().expect("id");
    assert_eq!(app.get("/api/v2/stats/active-users").await.status(), 401);
    assert_eq!(mgmt.get("/stats/active-users").await, (200, json!(0)));
    // A sign-up (`ss`), then a login on the login page (`s`).
    let signup = app
        .client
        .post(app.url("/dbconnections/signup"))
        .json(
            &json!({"client_id": client_id, "connection": "Username-Password-Authentication",
                      "email": "stat@example.com", "password": "Sup3r-secret!"}),
        )
        .send()
        .await
        .expect("signup");
    assert_eq!(signup.status(), 200);
    let browser = crate::helpers::client();
    let page = browser
        .get(app.url(&format!(
            "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=s",
            crate::helpers::enc(cb)
        )))
        .send()
        .await
        .expect("authorize")
        .text()
        .await
        .expect("page");
    let start = page.find("name=\"tx\" value=\"").expect("tx") + 17;
    let tx = page[start..].split('"').next().expect("tx");
    let login = browser
        .post(app.url("/u/login"))
        .form(&[
            ("tx", tx),
            ("username", "stat@example.com"),
            ("password", "Sup3r-secret!"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 303);
    assert_eq!(mgmt.get("/stats/active-users").await, (200, json!(1)));
    let (status, days) = mgmt.get("/stats/daily").await;
    assert_eq!(status, 200, "{days}");
    let days = days.as_array().expect("days");
    assert_eq!(days.len(), 30);
    let today = &days[29];
    let midnight = time::OffsetDateTime::now_utc().date().to_string();
    assert!(
        today["date"].as_str().expect("date").starts_with(&midnight),
        "{today}"
    );
    assert_eq!(
        (today["logins"].clone(), today["signups"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(days[0]["logins"], 0);
    let (status, one) = mgmt.get("/stats/daily?from=20261101&to=20261101").await;
    assert_eq!((status, one.as_array().map(Vec::len)), (200, Some(1)));
    for bad in [
        "/stats/daily?from=2026-11-01",
        "/stats/daily?from=20261102&to=20261101",
        "/stats/daily?from=20200101&to=20261101",
    ] {
        assert_mgmt_error(&mgmt.get(bad).await, 400, "invalid_body");
    }
}
