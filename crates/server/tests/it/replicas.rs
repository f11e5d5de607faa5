//! Replicas on one PostgreSQL agree at once: a client's rotated secret stops
//! working on a peer that had cached the client, a grant created after a peer cached its
//! absence works there, and a key rotation reaches the peer's signing and JWKS. Without
//! announcements each would take the catalog's TTL (5 s) or the key refresh (30 s).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb};

/// Polls `check` until it holds, well within the catalog's 5-second TTL (a second when the
/// machine is idle; two allowed for a loaded CI machine running every test at once).
async fn promptly<F, Fut>(mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the peer did not follow promptly"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

async fn token_status(app: &TestApp, id: &str, secret: &str, audience: &str) -> u16 {
    app.client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("audience", audience),
        ])
        .send()
        .await
        .expect("token")
        .status()
        .as_u16()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_peer_follows_secrets_grants_and_keys_promptly() {
    let Some(db) = TestDb::all().await.into_iter().find(TestDb::is_postgres) else {
        return;
    };
    let a = TestApp::builder().db(db.clone()).spawn().await;
    let b = TestApp::builder().db(db).spawn().await;
    let m = a.mgmt().await;
    let (_, api) = m
        .post(
            "/resource-servers",
            json!({"name": "Reports", "identifier": "https://reports.example"}),
        )
        .await;
    let audience = api["identifier"].as_str().expect("identifier").to_owned();
    let (_, job) = m
        .post(
            "/clients",
            json!({"name": "nightly", "app_type": "non_interactive"}),
        )
        .await;
    let id = job["client_id"].as_str().expect("id").to_owned();
    let old = job["client_secret"].as_str().expect("secret").to_owned();
    // B caches the client and the absence of a grant.
    assert_eq!(token_status(&b, &id, &old, &audience).await, 403);
    let (status, _) = m
        .post(
            "/client-grants",
            json!({"client_id": id, "audience": audience, "scope": []}),
        )
        .await;
    assert_eq!(status, 201);
    promptly(|| async { token_status(&b, &id, &old, &audience).await == 200 }).await;

    let (status, rotated) = m
        .post(&format!("/clients/{id}/rotate-secret"), json!({}))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["client_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    promptly(|| async { token_status(&b, &id, &old, &audience).await == 401 }).await;
    assert_eq!(token_status(&b, &id, &new, &audience).await, 200);

    // A key rotation on A: B signs with the new key and publishes the new next key.
    let (status, _) = m.post("/keys/signing/rotate", json!({})).await;
    assert_eq!(status, 201);
    let published = kids(&a.get_json("/.well-known/jwks.json").await);
    promptly(|| async { kids(&b.get_json("/.well-known/jwks.json").await) == published }).await;
    assert_eq!(
        b.state.keys.get().current.kid,
        a.state.keys.get().current.kid
    );
}

/// The `clients` cache's misses so far.
fn client_misses(app: &TestApp) -> u64 {
    app.state
        .catalog
        .lookups()
        .iter()
        .find(|(name, _)| *name == "clients")
        .map(|(_, l)| l.misses)
        .expect("a clients cache")
}

#[tokio::test]
async fn writes_to_people_leave_the_catalog_alone_and_writes_to_clients_empty_it() {
    let app = TestApp::builder().spawn().await;
    let m = app.mgmt().await;
    app.mgmt_token(None).await;
    let misses = client_misses(&app);
    let (status, _) = m
        .post(
            "/users",
            json!({"connection": "Username-Password-Authentication",
                   "email": "ada@example.com", "password": "Sup3r-secret!"}),
        )
        .await;
    assert_eq!(status, 201);
    app.mgmt_token(None).await;
    assert_eq!(
        client_misses(&app),
        misses,
        "a user write kept the client cached"
    );
    let (status, _) = m.post("/clients", json!({"name": "another"})).await;
    assert_eq!(status, 201);
    app.mgmt_token(None).await;
    assert_eq!(client_misses(&app), misses + 1, "a client write emptied it");
}
