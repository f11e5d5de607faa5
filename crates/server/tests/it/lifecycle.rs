//! Start, restart and replicas: data and keys survive, the seed happens once.

use gatehouse_core::id::{ClientId, UserId};
use gatehouse_core::store::Page;
use gatehouse_core::user::{Identity, User};
use serde_json::json;

use crate::helpers::{TestApp, TestDb};

const ISSUER: (&str, &str) = ("GATEHOUSE_ISSUER", "http://gatehouse.test/");

fn user() -> User {
    let identity = Identity {
        provider: "auth0".into(),
        connection: "Username-Password-Authentication".into(),
        user_id: "65f0c0ffee0123456789abcd".into(),
        is_social: false,
        profile_data: json!({}),
        password_hash: None,
        idp_tokens: None,
    };
    let now = time::OffsetDateTime::now_utc();
    User {
        user_id: User::id_for(&identity),
        email: Some("restart@example.com".into()),
        email_verified: true,
        username: None,
        phone_number: None,
        phone_verified: false,
        profile: Default::default(),
        user_metadata: Default::default(),
        app_metadata: Default::default(),
        blocked: false,
        logins_count: 0,
        last_login: None,
        created_at: now,
        updated_at: now,
        identities: vec![identity],
    }
}

#[tokio::test]
async fn restart_keeps_keys_and_data() {
    for db in TestDb::all().await {
        let first = TestApp::builder()
            .db(db.clone())
            .env(ISSUER.0, ISSUER.1)
            .fresh_keys()
            .spawn()
            .await;
        assert!(
            first.credentials.is_some(),
            "first start prints credentials"
        );
        let jwks_before = first.get_json("/.well-known/jwks.json").await;
        let kid = first.state.keys.get().current.kid.clone();
        first
            .state
            .stores
            .users
            .insert_user(&user())
            .await
            .expect("insert");
        first.stop().await;

        let second = TestApp::builder()
            .db(db.clone())
            .env(ISSUER.0, ISSUER.1)
            .fresh_keys()
            .spawn()
            .await;
        assert!(
            second.credentials.is_none(),
            "credentials are shown once only"
        );
        assert_eq!(second.state.keys.get().current.kid, kid, "same key in use");
        assert_eq!(second.get_json("/.well-known/jwks.json").await, jwks_before);
        let back = second
            .state
            .stores
            .users
            .user(&UserId::from("auth0|65f0c0ffee0123456789abcd"))
            .await
            .expect("get");
        assert_eq!(
            back.map(|u| u.email),
            Some(Some("restart@example.com".into()))
        );
        second.stop().await;
    }
}

#[tokio::test]
async fn replicas_starting_together_seed_once() {
    for db in TestDb::all().await {
        let (a, b, c) = tokio::join!(
            TestApp::builder()
                .db(db.clone())
                .env(ISSUER.0, ISSUER.1)
                .fresh_keys()
                .spawn(),
            TestApp::builder()
                .db(db.clone())
                .env(ISSUER.0, ISSUER.1)
                .fresh_keys()
                .spawn(),
            TestApp::builder()
                .db(db.clone())
                .env(ISSUER.0, ISSUER.1)
                .fresh_keys()
                .spawn(),
        );
        let generated = [&a, &b, &c]
            .iter()
            .filter(|app| app.credentials.is_some())
            .count();
        assert_eq!(
            generated,
            1,
            "exactly one replica seeds (postgres: {})",
            db.is_postgres()
        );
        for app in [&a, &b, &c] {
            assert_eq!(app.get_json("/readyz").await["status"], "ok");
        }
        let kid = a.state.keys.get().current.kid.clone();
        assert_eq!(b.state.keys.get().current.kid, kid);
        assert_eq!(c.state.keys.get().current.kid, kid);
        let stores = &a.state.stores;
        assert_eq!(
            stores
                .signing_keys
                .signing_keys()
                .await
                .expect("keys")
                .len(),
            2
        );
        let clients = stores
            .clients
            .list_clients(Page::number(0, 10))
            .await
            .expect("clients");
        // The bootstrap client and the dashboard's, each once.
        assert_eq!(clients.len(), 2, "{clients:?}");
        assert!(
            clients
                .iter()
                .any(|c| c.client_id == a.state.dashboard_client_id)
        );
        let connections = stores
            .connections
            .list_connections(&Default::default(), Page::number(0, 10))
            .await
            .expect("connections");
        // The default directory and the administrators', each once.
        assert_eq!(connections.len(), 2, "{connections:?}");
        let apis = stores
            .resource_servers
            .list_resource_servers(Page::number(0, 10))
            .await
            .expect("apis");
        // The Management API and the Authorization Extension's, once each.
        let mut identifiers: Vec<&str> = apis.iter().map(|a| a.identifier.as_str()).collect();
        identifiers.sort_unstable();
        assert_eq!(
            identifiers,
            ["http://gatehouse.test/api/v2/", "urn:auth0-authz-api"]
        );
    }
}

#[tokio::test]
async fn configured_bootstrap_credentials_work_and_are_not_printed() {
    let db = TestDb::sqlite();
    let secret = "an-operator-chosen-secret-of-enough-length-0123";
    let app = TestApp::builder()
        .db(db)
        .envs(&[
            ISSUER,
            ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", "ops-client"),
            ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", secret),
        ])
        .spawn()
        .await;
    assert!(
        app.credentials.is_none(),
        "nothing generated, nothing to print"
    );
    let client = app
        .state
        .stores
        .clients
        .client(&ClientId::from("ops-client"))
        .await
        .expect("get")
        .expect("bootstrap client exists");
    assert_eq!(client.app_type.as_str(), "non_interactive");
    let stored = client.secret.expect("confidential");
    assert!(app.state.hasher.verify(secret, &stored.hash));
    let opened = app
        .state
        .sealer
        .open("client_secret:ops-client", &stored.sealed)
        .expect("opens");
    assert_eq!(opened, secret.as_bytes());
    let grant = app
        .state
        .stores
        .client_grants
        .client_grant(
            &"ops-client".into(),
            &"http://gatehouse.test/api/v2/".into(),
        )
        .await
        .expect("get")
        .expect("grant on the Management API");
    assert_eq!(
        grant.scope.len(),
        gatehouse_core::seed::MANAGEMENT_SCOPES.len()
    );
}

#[tokio::test]
async fn generated_bootstrap_secret_is_stored_hashed_and_sealed() {
    let app = TestApp::builder().envs(&[ISSUER]).spawn().await;
    let creds = app.credentials.clone().expect("generated");
    let secret = creds.client_secret.expose();
    assert!(secret.len() >= 64);
    let client = app
        .state
        .stores
        .clients
        .client(&ClientId::from(creds.client_id))
        .await
        .expect("get")
        .expect("exists");
    let stored = client.secret.expect("secret");
    assert!(app.state.hasher.verify(secret, &stored.hash));
    assert!(
        !stored
            .sealed
            .windows(16)
            .any(|w| secret.as_bytes().starts_with(w)),
        "not in the clear"
    );
    assert_eq!(creds.audience, "http://gatehouse.test/api/v2/");
}

#[tokio::test]
async fn log_events_older_than_the_retention_go_at_the_sweep() {
    let db = TestDb::sqlite();
    let first = TestApp::builder().db(db.clone()).spawn().await;
    let now = first.state.clock.now();
    let (old, recent) = (
        gatehouse_server::audit::event(
            &first.state.clock,
            gatehouse_core::log_type::LogType::SuccessLogin,
        ),
        gatehouse_server::audit::event(
            &first.state.clock,
            gatehouse_core::log_type::LogType::SuccessLogin,
        ),
    );
    let mut old = old;
    old.date = now - time::Duration::days(8);
    first
        .state
        .stores
        .logs
        .append_logs(&[old.clone(), recent.clone()])
        .await
        .expect("append");
    first.stop().await;
    // The sweeper runs as a server starts, then every ten minutes.
    let second = TestApp::builder()
        .db(db)
        .env("GATEHOUSE_LOG_RETENTION_DAYS", "7")
        .spawn()
        .await;
    let logs = &second.state.stores.logs;
    for _ in 0..100 {
        if logs.log(&old.log_id).await.expect("read").is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        logs.log(&old.log_id).await.expect("read").is_none(),
        "swept"
    );
    assert!(
        logs.log(&recent.log_id).await.expect("read").is_some(),
        "kept"
    );
}

#[tokio::test]
async fn a_stuck_request_cannot_hold_a_stop_past_the_grace() {
    use tokio::io::AsyncWriteExt as _;
    let app = TestApp::builder()
        .env("GATEHOUSE_SHUTDOWN_GRACE", "0.5")
        .spawn()
        .await;
    // A request whose body never finishes arriving: in flight until cut.
    let address = app.url("/").replace("http://", "");
    let address = address.trim_end_matches('/');
    let mut stuck = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stuck
        .write_all(
            b"POST /oauth/token HTTP/1.1\r\nHost: gatehouse.test\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type",
        )
        .await
        .expect("write");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    tokio::time::timeout(std::time::Duration::from_secs(10), app.stop())
        .await
        .expect("the stop ends after the grace");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(400),
        "the request had its grace: {:?}",
        started.elapsed()
    );
    drop(stuck);
}
