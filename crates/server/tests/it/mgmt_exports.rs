//! `POST /jobs/users-exports`: the job's `location` downloads the users once, gzipped, as
//! NDJSON or CSV with the fields asked for; the link is unguessable, short-lived and
//! single-use.

use std::io::Read;

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_mgmt_error, client, spawn_app};

async fn users(app: &TestApp) -> String {
    let m = app.mgmt().await;
    for (email, name, plan) in [
        ("ada@example.com", "Ada", Some("gold")),
        ("bob@example.com", "=HYPERLINK(\"http://evil\")", None),
        ("cy@example.com", "Cy, the third", Some("free")),
    ] {
        let mut body = json!({"connection": "Username-Password-Authentication", "email": email,
                              "password": "Sup3r-secret!", "name": name});
        if let Some(p) = plan {
            body["user_metadata"] = json!({"plan": p});
        }
        let (status, created) = m.post("/users", body).await;
        assert_eq!(status, 201, "{created}");
    }
    let (_, conns) = m
        .get("/connections?name=Username-Password-Authentication")
        .await;
    conns[0]["id"].as_str().expect("id").to_owned()
}

async fn download(url: &str) -> (u16, String) {
    let r = client().get(url).send().await.expect("download");
    let status = r.status().as_u16();
    let bytes = r.bytes().await.expect("body");
    if status != 200 {
        return (status, String::new());
    }
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .expect("gzip");
    (status, text)
}

#[tokio::test]
async fn a_csv_export_downloads_once_with_the_fields_asked_for() {
    let app = spawn_app().await;
    let connection_id = users(&app).await;
    let m = app.mgmt().await;
    let (status, job) = m
        .post(
            "/jobs/users-exports",
            json!({"connection_id": connection_id, "format": "csv",
                   "fields": [{"name": "email"}, {"name": "user_metadata.plan", "export_as": "plan"},
                              {"name": "name"}, {"name": "identities[0].connection", "export_as": "via"}]}),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["type"], "users_export");
    assert_eq!(job["status"], "completed");
    assert_eq!(job["format"], "csv");
    let location = job["location"].as_str().expect("location").to_owned();
    assert!(
        location.starts_with(&format!("{}/exports/", app.address)),
        "{location}"
    );
    assert!(location.ends_with(".csv.gz"));
    let (_, again) = m
        .get(&format!("/jobs/{}", job["id"].as_str().expect("id")))
        .await;
    assert_eq!(again["location"], location.as_str());

    // A wrong secret is nothing, and uses nothing up.
    let forged = format!("{}x.csv.gz", location.trim_end_matches(".csv.gz"));
    assert_eq!(download(&forged).await.0, 404);
    let (status, csv) = download(&location).await;
    assert_eq!(status, 200);
    let mut lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.remove(0), "email,plan,name,via");
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "ada@example.com,gold,Ada,Username-Password-Authentication",
            // A spreadsheet formula is neutralised, and commas are quoted.
            "bob@example.com,,\"'=HYPERLINK(\"\"http://evil\"\")\",Username-Password-Authentication",
            "cy@example.com,free,\"Cy, the third\",Username-Password-Authentication",
        ]
    );
    assert_eq!(download(&location).await.0, 404, "single use");
}

#[tokio::test]
async fn a_json_export_is_one_user_per_line_and_its_link_expires() {
    let app = spawn_app().await;
    users(&app).await;
    let m = app.mgmt().await;
    let (_, job) = m.post("/jobs/users-exports", json!({"limit": 2})).await;
    let location = job["location"].as_str().expect("location").to_owned();
    assert!(location.ends_with(".json.gz"), "json by default");
    let (status, ndjson) = download(&location).await;
    assert_eq!(status, 200);
    let users: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    assert_eq!(users.len(), 2, "the limit");
    assert!(
        users
            .iter()
            .all(|u| u["user_id"].is_string() && u["identities"].is_array())
    );

    let (_, job) = m.post("/jobs/users-exports", json!({})).await;
    let location = job["location"].as_str().expect("location").to_owned();
    app.advance_clock(time::Duration::minutes(11));
    assert_eq!(download(&location).await.0, 404, "ten minutes at most");
    let (_, later) = m
        .get(&format!("/jobs/{}", job["id"].as_str().expect("id")))
        .await;
    assert!(
        later.get("location").is_none(),
        "an expired link is not shown"
    );

    assert_mgmt_error(
        &m.post("/jobs/users-exports", json!({"format": "xml"}))
            .await,
        400,
        "invalid_body",
    );
    assert_mgmt_error(
        &m.post("/jobs/users-exports", json!({"connection_id": "con_nope"}))
            .await,
        400,
        "invalid_body",
    );
}
