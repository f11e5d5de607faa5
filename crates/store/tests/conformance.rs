//! The storage conformance suite: every test runs on SQLite, and on PostgreSQL when
//! `GATEHOUSE_TEST_DATABASE_URL` is set (CI sets it), each on a fresh database. With `CI` set
//! and no URL, the PostgreSQL tests fail instead of passing unrun.

use gatehouse_core::client::{AppType, Client, ClientSettings, StoredSecret};
use gatehouse_core::client_grant::ClientGrant;
use gatehouse_core::connection::{Connection, ConnectionOptions};
use gatehouse_core::id::{ClientId, ConnectionName, UserId};
use gatehouse_core::resource_server::{ResourceServer, ScopeDef};
use gatehouse_core::seed::{BootstrapClient, MANAGEMENT_SCOPES, SeedIds, SeedPlan};
use gatehouse_core::signing_key::{KeyState, SigningKey};
use gatehouse_core::store::{
    ClientGrantFilter, ConnectionFilter, DailyTypes, Page, Rotation, StoreError, Stores,
};
use gatehouse_core::strategy::Strategy;
use gatehouse_core::user::{Identity, User};
use gatehouse_store::SqlStore;
use gatehouse_store::testing::TestDatabase;
use serde_json::json;
use time::OffsetDateTime;

/// Fresh ids for test rows (the server's generators live in the server crate; any unique
/// string will do for storage).
mod ids {
    fn fresh(prefix: &str) -> String {
        format!("{prefix}{}", uuid::Uuid::new_v4().simple())
    }
    pub fn random_alphanumeric(len: usize) -> String {
        fresh("").chars().take(len).collect()
    }
    pub fn new_client_id() -> String {
        fresh("")
    }
    pub fn new_database_user_id() -> String {
        fresh("")
    }
    pub fn new_resource_server_id() -> String {
        fresh("")
    }
    pub fn new_client_grant_id() -> String {
        fresh("cgr_")
    }
    pub fn new_connection_id() -> String {
        fresh("con_")
    }
    pub fn new_role_id() -> String {
        fresh("rol_")
    }
    pub fn new_job_id() -> String {
        fresh("job_")
    }
}

const ISSUER: &str = "http://127.0.0.1:8080/";

async fn open(db: &TestDatabase) -> Stores {
    let store = SqlStore::connect(&db.url).await.expect("connect");
    let stores = store.into_stores();
    stores.setup.migrate().await.expect("migrate");
    stores
}

fn now() -> OffsetDateTime {
    // Storage keeps microseconds on PostgreSQL; compare at that precision.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .expect("valid nanosecond")
}

fn other_options(v: serde_json::Value) -> ConnectionOptions {
    match v {
        serde_json::Value::Object(m) => ConnectionOptions::Other(m),
        _ => ConnectionOptions::Other(serde_json::Map::new()),
    }
}

fn key(state: KeyState) -> SigningKey {
    SigningKey {
        kid: ids::random_alphanumeric(20),
        alg: "RS256".into(),
        state,
        public_jwk: json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
        sealed_private_key: vec![1, 2, 3],
        created_at: now(),
    }
}

fn secret(tag: u8) -> StoredSecret {
    StoredSecret {
        hash: vec![tag; 32],
        sealed: vec![tag; 60],
    }
}

fn plan(client_id: &str, configured: bool, tag: u8) -> SeedPlan {
    SeedPlan::new(
        ISSUER,
        BootstrapClient {
            client_id: client_id.into(),
            secret: secret(tag),
            configured,
        },
        vec![key(KeyState::Current), key(KeyState::Next)],
        SeedIds {
            management_api: ids::new_resource_server_id(),
            bootstrap_grant: ids::new_client_grant_id(),
            database_connection: ids::new_connection_id(),
        },
        now(),
    )
}

fn client(name: &str) -> Client {
    Client {
        client_id: ids::new_client_id().into(),
        name: name.into(),
        app_type: AppType::Spa,
        is_system: false,
        secret: None,
        settings: ClientSettings {
            callbacks: vec!["http://localhost:3000/cb".into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            extra: [("logo_uri".to_owned(), json!("https://x/logo.png"))]
                .into_iter()
                .collect(),
            ..ClientSettings::default()
        },
        created_at: now(),
        updated_at: now(),
    }
}

fn database_user(email: &str) -> User {
    let identity = Identity {
        provider: "auth0".into(),
        connection: "Username-Password-Authentication".into(),
        user_id: ids::new_database_user_id(),
        is_social: false,
        profile_data: json!({}),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        idp_tokens: None,
    };
    User {
        user_id: User::id_for(&identity),
        email: Some(email.into()),
        email_verified: false,
        username: None,
        phone_number: None,
        phone_verified: false,
        profile: [("name".to_owned(), json!("Ada"))].into_iter().collect(),
        user_metadata: [("theme".to_owned(), json!("dark"))].into_iter().collect(),
        app_metadata: [("plan".to_owned(), json!({"tier": 2}))]
            .into_iter()
            .collect(),
        blocked: false,
        logins_count: 0,
        last_login: None,
        created_at: now(),
        updated_at: now(),
        identities: vec![identity],
    }
}

async fn seed_is_idempotent(s: Stores) {
    let first = s
        .setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    assert!(first.new_database && first.bootstrap_client_written && first.keys_installed);

    // A second start generates other candidates; none of them may land.
    let second = s
        .setup
        .apply_seed(&plan("other", false, 2))
        .await
        .expect("seed");
    assert_eq!(second, Default::default());
    assert!(
        s.clients
            .client(&ClientId::from("other"))
            .await
            .expect("get")
            .is_none()
    );
    assert_eq!(s.signing_keys.signing_keys().await.expect("keys").len(), 2);

    let api = s
        .resource_servers
        .resource_server_by_identifier(&format!("{ISSUER}api/v2/").into())
        .await
        .expect("rs")
        .expect("management api seeded");
    assert!(api.is_system);
    assert_eq!(api.scopes.len(), MANAGEMENT_SCOPES.len());
    let conn = s
        .connections
        .connection_by_name(&ConnectionName::from("Username-Password-Authentication"))
        .await
        .expect("get")
        .expect("connection seeded");
    assert_eq!(conn.strategy, Strategy::Database);
    let boot = s
        .clients
        .client(&ClientId::from("boot"))
        .await
        .expect("get")
        .expect("client");
    assert_eq!(boot.app_type, AppType::NonInteractive);
    assert_eq!(boot.secret, Some(secret(1)));
    let grant = s
        .client_grants
        .client_grant(&ClientId::from("boot"), &api.identifier)
        .await
        .expect("get")
        .expect("grant");
    assert_eq!(grant.scope.len(), MANAGEMENT_SCOPES.len());
    let mut tenant = s.tenant.tenant().await.expect("tenant").expect("seeded");
    assert_eq!(tenant.bootstrap_client_id.as_deref(), Some("boot"));
    tenant.friendly_name = Some("Acme".into());
    tenant.email_provider = Some(gatehouse_core::tenant::EmailProvider {
        name: "smtp".into(),
        enabled: true,
        credentials_sealed: vec![9, 9, 9],
        ..Default::default()
    });
    let wanted = tenant.clone();
    let written = s
        .tenant
        .modify_tenant(&mut |t| {
            *t = wanted.clone();
            true
        })
        .await
        .expect("update");
    assert_eq!(written.as_ref(), Some(&tenant));
    assert_eq!(
        s.tenant.tenant().await.expect("tenant"),
        Some(tenant.clone())
    );
    // A change that declines writes nothing.
    let declined = s
        .tenant
        .modify_tenant(&mut |t| {
            t.friendly_name = Some("Not kept".into());
            false
        })
        .await
        .expect("declined");
    assert_eq!(declined, None);
    assert_eq!(s.tenant.tenant().await.expect("tenant"), Some(tenant));
}

/// Edits of the tenant settings made at once (as by several replicas) are all kept: each
/// read-modify-write holds the row, so none writes back a copy that misses another's edit.
async fn concurrent_tenant_edits_are_all_kept(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..8 {
        let s = s.clone();
        writers.spawn(async move {
            s.tenant
                .modify_tenant(&mut |t| {
                    t.email_templates
                        .insert(format!("template-{i}"), Default::default());
                    true
                })
                .await
                .expect("modify")
        });
    }
    while let Some(w) = writers.join_next().await {
        w.expect("writer");
    }
    let tenant = s.tenant.tenant().await.expect("tenant").expect("seeded");
    assert_eq!(
        tenant.email_templates.len(),
        8,
        "{:?}",
        tenant.email_templates.keys()
    );
}

/// Never seeded: nothing to modify.
async fn modifying_an_unseeded_tenant_is_not_found(s: Stores) {
    let r = s.tenant.modify_tenant(&mut |_| true).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
}

/// A tenant seeded by an older gatehouse, whose Management API lacked the last two scopes.
async fn new_management_scopes_reach_an_existing_tenant(s: Stores) {
    let mut old = plan("boot", false, 1);
    let newest: Vec<String> = old.management_api.scopes[old.management_api.scopes.len() - 2..]
        .iter()
        .map(|d| d.value.clone())
        .collect();
    old.management_api
        .scopes
        .truncate(MANAGEMENT_SCOPES.len() - 2);
    old.bootstrap_grant.scope.retain(|v| !newest.contains(v));
    s.setup.apply_seed(&old).await.expect("old seed");
    let audience = old.management_api.identifier.clone();
    // A grant the operator narrowed to one scope keeps its one scope.
    let narrow_client = client("narrow");
    s.clients
        .insert_client(&narrow_client)
        .await
        .expect("client");
    let mut narrow = old.bootstrap_grant.clone();
    narrow.id = ids::new_client_grant_id();
    narrow.client_id = narrow_client.client_id.clone();
    narrow.scope = vec!["read:users".to_owned()];
    s.client_grants
        .insert_client_grant(&narrow)
        .await
        .expect("grant");

    let out = s
        .setup
        .apply_seed(&plan("other", false, 2))
        .await
        .expect("upgrade");
    assert_eq!(out.management_scopes_added, 2);
    let api = s
        .resource_servers
        .resource_server_by_identifier(&audience)
        .await
        .expect("rs")
        .expect("api");
    assert_eq!(api.scopes.len(), MANAGEMENT_SCOPES.len());
    let full = s
        .client_grants
        .client_grant(&ClientId::from("boot"), &audience)
        .await
        .expect("get")
        .expect("grant");
    assert!(
        newest.iter().all(|n| full.scope.contains(n)),
        "{:?}",
        full.scope
    );
    let kept = s
        .client_grants
        .client_grant(&narrow_client.client_id, &audience)
        .await
        .expect("get")
        .expect("grant");
    assert_eq!(kept.scope, vec!["read:users".to_owned()]);
    let again = s
        .setup
        .apply_seed(&plan("x", false, 3))
        .await
        .expect("seed");
    assert_eq!(again.management_scopes_added, 0);
}

async fn configured_bootstrap_is_enforced(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    // The operator configures credentials on a database that already exists.
    let out = s
        .setup
        .apply_seed(&plan("ops", true, 7))
        .await
        .expect("seed");
    assert!(out.bootstrap_client_written && !out.new_database);
    assert_eq!(
        s.clients
            .client(&ClientId::from("ops"))
            .await
            .expect("get")
            .expect("client")
            .secret,
        Some(secret(7))
    );
    // Same credentials again: nothing to write.
    let again = s
        .setup
        .apply_seed(&plan("ops", true, 7))
        .await
        .expect("seed");
    assert!(!again.bootstrap_client_written);
    // A changed secret replaces the stored one.
    let changed = s
        .setup
        .apply_seed(&plan("ops", true, 9))
        .await
        .expect("seed");
    assert!(changed.bootstrap_client_written);
    assert_eq!(
        s.clients
            .client(&ClientId::from("ops"))
            .await
            .expect("get")
            .expect("client")
            .secret,
        Some(secret(9))
    );
    let grant = s
        .client_grants
        .client_grant(&"ops".into(), &format!("{ISSUER}api/v2/").into())
        .await
        .expect("get");
    assert!(grant.is_some());
}

async fn clients_round_trip(s: Stores) {
    let a = client("a");
    s.clients.insert_client(&a).await.expect("insert");
    assert_eq!(
        s.clients.client(&a.client_id).await.expect("get"),
        Some(a.clone())
    );
    assert!(matches!(
        s.clients.insert_client(&a).await,
        Err(StoreError::Conflict(_))
    ));
    let mut b = client("b");
    b.app_type = AppType::RegularWeb;
    b.secret = Some(secret(3));
    b.created_at += time::Duration::seconds(1);
    s.clients.insert_client(&b).await.expect("insert");
    let page0 = s
        .clients
        .list_clients(Page::number(0, 1))
        .await
        .expect("list");
    let page1 = s
        .clients
        .list_clients(Page::number(1, 1))
        .await
        .expect("list");
    assert_eq!(page0, vec![a]);
    assert_eq!(page1, vec![b]);
    let past = s
        .clients
        .list_clients(Page::number(5, 10))
        .await
        .expect("list");
    assert!(past.is_empty());
}

async fn client_grants_need_client_and_api(s: Stores) {
    let c = client("m2m");
    s.clients.insert_client(&c).await.expect("insert");
    let rs = ResourceServer {
        id: ids::new_resource_server_id(),
        name: "orders".into(),
        identifier: "https://orders.example".into(),
        is_system: false,
        scopes: vec![ScopeDef {
            value: "read:orders".into(),
            description: "Read orders".into(),
        }],
        signing_alg: "RS256".into(),
        token_lifetime: 600,
        allow_offline_access: true,
        enforce_policies: false,
        token_dialect: Default::default(),
        extra: Default::default(),
        created_at: now(),
    };
    s.resource_servers
        .insert_resource_server(&rs)
        .await
        .expect("insert");
    assert_eq!(
        s.resource_servers
            .resource_server_by_identifier(&rs.identifier)
            .await
            .expect("get"),
        Some(rs.clone())
    );
    let grant = ClientGrant {
        id: ids::new_client_grant_id(),
        client_id: c.client_id.clone(),
        audience: rs.identifier.clone(),
        scope: vec!["read:orders".into()],
        created_at: now(),
        extra: Default::default(),
    };
    s.client_grants
        .insert_client_grant(&grant)
        .await
        .expect("insert");
    assert_eq!(
        s.client_grants
            .client_grant(&c.client_id, &rs.identifier)
            .await
            .expect("get"),
        Some(grant.clone())
    );
    let dup = ClientGrant {
        id: ids::new_client_grant_id(),
        ..grant.clone()
    };
    assert!(matches!(
        s.client_grants.insert_client_grant(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    let dangling = ClientGrant {
        id: ids::new_client_grant_id(),
        audience: "https://nowhere".into(),
        ..grant
    };
    assert!(matches!(
        s.client_grants.insert_client_grant(&dangling).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn connections_keep_enabled_clients(s: Stores) {
    let c1 = client("one");
    let c2 = client("two");
    s.clients.insert_client(&c1).await.expect("insert");
    s.clients.insert_client(&c2).await.expect("insert");
    let mut enabled = vec![c1.client_id.clone(), c2.client_id.clone()];
    enabled.sort();
    let conn = Connection {
        id: ids::new_connection_id(),
        name: "email".into(),
        strategy: Strategy::Email,
        options: other_options(json!({"totp": {"time_step": 180, "length": 6}})),
        enabled_clients: enabled,
        extra: [("display_name".to_owned(), json!("Email"))]
            .into_iter()
            .collect(),
        created_at: now(),
    };
    s.connections
        .insert_connection(&conn)
        .await
        .expect("insert");
    assert_eq!(
        s.connections
            .connection_by_name(&ConnectionName::from("email"))
            .await
            .expect("get"),
        Some(conn.clone())
    );
    let listed = s
        .connections
        .list_connections(&ConnectionFilter::default(), Page::number(0, 50))
        .await
        .expect("list");
    assert_eq!(listed, vec![conn.clone()]);
    // A failed insert leaves nothing behind (one transaction).
    let clash = Connection {
        id: ids::new_connection_id(),
        name: "sms".into(),
        enabled_clients: vec!["no-such-client".into()],
        ..conn
    };
    assert!(s.connections.insert_connection(&clash).await.is_err());
    assert!(
        s.connections
            .connection_by_name(&ConnectionName::from("sms"))
            .await
            .expect("get")
            .is_none()
    );
}

/// The bootstrap client starts on the default connection; a client created "on all
/// connections" lands on each, in the same transaction; a deleted client leaves them.
async fn new_clients_are_enabled_on_every_connection(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let default = || async {
        s.connections
            .connection_by_name(&ConnectionName::from("Username-Password-Authentication"))
            .await
            .expect("get")
            .expect("seeded")
    };
    assert_eq!(default().await.enabled_clients, vec!["boot".to_owned()]);
    let email = Connection {
        id: ids::new_connection_id(),
        name: "email".into(),
        strategy: Strategy::Email,
        options: other_options(json!({})),
        enabled_clients: vec![],
        extra: Default::default(),
        created_at: now(),
    };
    s.connections
        .insert_connection(&email)
        .await
        .expect("insert");
    let plain = client("plain");
    s.clients.insert_client(&plain).await.expect("insert");
    let everywhere = client("everywhere");
    s.clients
        .insert_client_on_all_connections(&everywhere)
        .await
        .expect("insert");
    let mut both = vec![
        "boot".to_owned(),
        everywhere.client_id.clone().into_string(),
    ];
    both.sort();
    assert_eq!(default().await.enabled_clients, both);
    let on_email = s.connections.connection(&email.id).await.expect("get");
    assert_eq!(
        on_email.expect("email").enabled_clients,
        vec![everywhere.client_id.clone()]
    );
    // A taken id: nothing is enabled for the clash.
    assert!(matches!(
        s.clients.insert_client_on_all_connections(&plain).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(default().await.enabled_clients, both);
    s.clients
        .delete_client(&everywhere.client_id)
        .await
        .expect("delete");
    assert_eq!(default().await.enabled_clients, vec!["boot".to_owned()]);
    let on_email = s.connections.connection(&email.id).await.expect("get");
    assert!(on_email.expect("email").enabled_clients.is_empty());
}

async fn connections_filter_update_and_delete(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let (c1, c2) = (client("one"), client("two"));
    s.clients.insert_client(&c1).await.expect("insert");
    s.clients.insert_client(&c2).await.expect("insert");
    let mut sms = Connection {
        id: ids::new_connection_id(),
        name: "sms".into(),
        strategy: Strategy::Sms,
        options: other_options(json!({})),
        enabled_clients: vec![c1.client_id.clone()],
        extra: Default::default(),
        created_at: now(),
    };
    s.connections.insert_connection(&sms).await.expect("insert");
    let only = |strategies: &[&str], name: Option<&str>| ConnectionFilter {
        strategies: strategies.iter().map(|s| (*s).to_owned()).collect(),
        name: name.map(str::to_owned),
    };
    let count = |f: ConnectionFilter| {
        let s = s.clone();
        async move { s.connections.count_connections(&f).await.expect("count") }
    };
    assert_eq!(count(only(&[], None)).await, 2);
    assert_eq!(count(only(&["sms"], None)).await, 1);
    assert_eq!(count(only(&["auth0", "sms"], None)).await, 2);
    assert_eq!(
        count(only(&["au"], None)).await,
        0,
        "whole strategy names only"
    );
    assert_eq!(count(only(&[], Some("sms"))).await, 1);
    let listed = s
        .connections
        .list_connections(&only(&["sms"], None), Page::number(0, 10))
        .await
        .expect("list");
    assert_eq!(listed, vec![sms.clone()]);

    sms.options = other_options(json!({"totp": {"length": 8}}));
    sms.extra.insert("display_name".into(), json!("Text"));
    sms.enabled_clients = vec![c2.client_id.clone()];
    s.connections.update_connection(&sms).await.expect("update");
    assert_eq!(
        s.connections.connection(&sms.id).await.expect("get"),
        Some(sms.clone())
    );

    s.connections
        .set_connection_clients(
            &sms.id,
            &[
                (c1.client_id.clone().into_string(), true),
                (c2.client_id.clone().into_string(), false),
            ],
        )
        .await
        .expect("set clients");
    let got = s
        .connections
        .connection(&sms.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got.enabled_clients, vec![c1.client_id.clone()]);
    assert!(
        s.connections
            .set_connection_clients(&sms.id, &[("ghost".into(), true)])
            .await
            .is_err()
    );
    assert_eq!(
        s.connections
            .connection(&sms.id)
            .await
            .expect("get")
            .expect("exists")
            .enabled_clients,
        vec![c1.client_id.clone()],
        "a failed change changes nothing"
    );

    // Deleting the database connection deletes its users.
    let db = s
        .connections
        .connection_by_name(&ConnectionName::from("Username-Password-Authentication"))
        .await
        .expect("get")
        .expect("seeded");
    let user = database_user("gone@example.com");
    s.users.insert_user(&user).await.expect("user");
    s.connections
        .delete_connection(&db.id)
        .await
        .expect("delete");
    assert!(s.users.user(&user.user_id).await.expect("get").is_none());
    assert!(
        s.connections
            .connection(&db.id)
            .await
            .expect("get")
            .is_none()
    );
    assert!(matches!(
        s.connections.delete_connection(&db.id).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn users_resolve_through_identities(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let user = database_user("ada@example.com");
    s.users.insert_user(&user).await.expect("insert");
    assert_eq!(
        s.users.user(&user.user_id).await.expect("get"),
        Some(user.clone())
    );
    let primary = &user.identities[0];
    let found = s
        .users
        .user_by_identity(&primary.connection, &primary.user_id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(found.user_id, user.user_id);

    // A hash is upgraded only while it is still the one that was verified.
    let old = primary.password_hash.clone().expect("hash");
    let swap = |from: String, to: &'static str| {
        let s = s.clone();
        let (c, id) = (primary.connection.clone(), primary.user_id.clone());
        async move {
            s.users
                .upgrade_password_hash(&c, &id, &from, to)
                .await
                .expect("upgrade")
        }
    };
    assert!(swap(old.clone(), "$argon2id$new").await);
    assert!(!swap(old, "$argon2id$newer").await, "stale: kept");
    let upgraded = s
        .users
        .user(&user.user_id)
        .await
        .expect("get")
        .expect("user");
    assert_eq!(
        upgraded.identities[0].password_hash.as_deref(),
        Some("$argon2id$new")
    );

    // The (connection, provider id) pair is unique across the tenant, and a failed insert
    // leaves no half-made user.
    let mut twin = database_user("eve@example.com");
    twin.identities[0].user_id = primary.user_id.clone();
    twin.user_id = "auth0|twin".into();
    assert!(matches!(
        s.users.insert_user(&twin).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        s.users
            .user(&UserId::from("auth0|twin"))
            .await
            .expect("get")
            .is_none()
    );

    s.users.delete_user(&user.user_id).await.expect("delete");
    assert!(s.users.user(&user.user_id).await.expect("get").is_none());
    assert!(
        s.users
            .user_by_identity(&primary.connection, &primary.user_id)
            .await
            .expect("get")
            .is_none()
    );
    assert!(matches!(
        s.users.delete_user(&user.user_id).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn signing_keys_rotate(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let before = s.signing_keys.signing_keys().await.expect("keys");
    let by_state = |keys: &[SigningKey], st: KeyState| {
        keys.iter()
            .filter(|k| k.state == st)
            .map(|k| k.kid.clone())
            .collect::<Vec<_>>()
    };
    let current = by_state(&before, KeyState::Current);
    let next = by_state(&before, KeyState::Next);
    assert_eq!((current.len(), next.len()), (1, 1));

    let fresh = key(KeyState::Next);
    s.signing_keys
        .rotate_signing_keys(&fresh)
        .await
        .expect("rotate");
    let after = s.signing_keys.signing_keys().await.expect("keys");
    assert_eq!(by_state(&after, KeyState::Current), next);
    assert_eq!(by_state(&after, KeyState::Previous), current);
    assert_eq!(by_state(&after, KeyState::Next), vec![fresh.kid.clone()]);

    s.signing_keys
        .rotate_signing_keys(&key(KeyState::Next))
        .await
        .expect("rotate");
    let third = s.signing_keys.signing_keys().await.expect("keys");
    assert_eq!(by_state(&third, KeyState::Retired), current);
    assert_eq!(by_state(&third, KeyState::Previous), next);
    assert_eq!(third.len(), 4);
    // Only the previous key can be revoked, once.
    let sk = &s.signing_keys;
    assert!(
        !sk.revoke_previous_signing_key(&fresh.kid)
            .await
            .expect("current")
    );
    assert!(
        sk.revoke_previous_signing_key(&next[0])
            .await
            .expect("previous")
    );
    assert!(
        !sk.revoke_previous_signing_key(&next[0])
            .await
            .expect("again")
    );
    let revoked = sk.signing_keys().await.expect("keys");
    assert_eq!(by_state(&revoked, KeyState::Previous), Vec::<String>::new());
    assert_eq!(by_state(&revoked, KeyState::Retired).len(), 2);
    assert!(
        s.signing_keys
            .rotate_signing_keys(&key(KeyState::Current))
            .await
            .is_err()
    );
}

async fn concurrent_rotations_stay_consistent(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let (k1, k2) = (key(KeyState::Next), key(KeyState::Next));
    let (a, b) = tokio::join!(
        s.signing_keys.rotate_signing_keys(&k1),
        s.signing_keys.rotate_signing_keys(&k2)
    );
    assert!(a.is_ok() || b.is_ok(), "one rotation must win: {a:?} {b:?}");
    let keys = s.signing_keys.signing_keys().await.expect("keys");
    for st in [KeyState::Current, KeyState::Next, KeyState::Previous] {
        assert_eq!(keys.iter().filter(|k| k.state == st).count(), 1, "{st:?}");
    }
}

fn api(identifier: &str) -> ResourceServer {
    ResourceServer {
        id: ids::new_resource_server_id(),
        name: identifier.into(),
        identifier: identifier.into(),
        is_system: false,
        scopes: vec![ScopeDef {
            value: "read:x".into(),
            description: String::new(),
        }],
        signing_alg: "RS256".into(),
        token_lifetime: 600,
        allow_offline_access: false,
        enforce_policies: false,
        token_dialect: Default::default(),
        extra: Default::default(),
        created_at: now(),
    }
}

fn grant(client_id: &str, audience: &str) -> ClientGrant {
    ClientGrant {
        id: ids::new_client_grant_id(),
        client_id: client_id.into(),
        audience: audience.into(),
        scope: vec!["read:x".into()],
        created_at: now(),
        extra: Default::default(),
    }
}

async fn clients_update_count_and_delete(s: Stores) {
    let mut c = client("before");
    s.clients.insert_client(&c).await.expect("insert");
    assert_eq!(s.clients.count_clients().await.expect("count"), 1);
    c.name = "after".into();
    c.secret = Some(secret(4));
    c.settings
        .extra
        .insert("client_metadata".into(), json!({"k": "v"}));
    c.updated_at = now();
    s.clients.update_client(&c).await.expect("update");
    assert_eq!(
        s.clients.client(&c.client_id).await.expect("get"),
        Some(c.clone())
    );
    let ghost = client("ghost");
    assert!(matches!(
        s.clients.update_client(&ghost).await,
        Err(StoreError::NotFound(_))
    ));

    let rs = api("https://x");
    s.resource_servers
        .insert_resource_server(&rs)
        .await
        .expect("api");
    let g = grant(&c.client_id, &rs.identifier);
    s.client_grants
        .insert_client_grant(&g)
        .await
        .expect("grant");
    s.clients.delete_client(&c.client_id).await.expect("delete");
    assert!(s.clients.client(&c.client_id).await.expect("get").is_none());
    assert!(
        s.client_grants
            .client_grant_by_id(&g.id)
            .await
            .expect("get")
            .is_none(),
        "grants go with their client"
    );
    assert!(matches!(
        s.clients.delete_client(&c.client_id).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn resource_servers_update_and_delete(s: Stores) {
    let mut rs = api("https://orders");
    s.resource_servers
        .insert_resource_server(&rs)
        .await
        .expect("insert");
    assert_eq!(
        s.resource_servers
            .resource_server(&rs.id)
            .await
            .expect("by id"),
        Some(rs.clone())
    );
    assert_eq!(
        s.resource_servers
            .resource_server("https://orders")
            .await
            .expect("by identifier"),
        Some(rs.clone())
    );
    rs.name = "Orders".into();
    rs.token_lifetime = 60;
    rs.allow_offline_access = true;
    rs.enforce_policies = true;
    rs.token_dialect = gatehouse_core::resource_server::TokenDialect::Rfc9068ProfileAuthz;
    rs.extra.insert(
        "skip_consent_for_verifiable_first_party_clients".into(),
        json!(true),
    );
    s.resource_servers
        .update_resource_server(&rs)
        .await
        .expect("update");
    assert_eq!(
        s.resource_servers
            .resource_server(&rs.id)
            .await
            .expect("get"),
        Some(rs.clone())
    );
    assert_eq!(
        s.resource_servers
            .count_resource_servers()
            .await
            .expect("count"),
        1
    );
    let c = client("c");
    s.clients.insert_client(&c).await.expect("client");
    let g = grant(&c.client_id, &rs.identifier);
    s.client_grants
        .insert_client_grant(&g)
        .await
        .expect("grant");
    s.resource_servers
        .delete_resource_server(&rs.id)
        .await
        .expect("delete");
    assert!(
        s.resource_servers
            .resource_server(&rs.id)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        s.client_grants
            .client_grant_by_id(&g.id)
            .await
            .expect("get")
            .is_none()
    );
    assert!(matches!(
        s.resource_servers.delete_resource_server(&rs.id).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn client_grants_filter_page_and_update(s: Stores) {
    let (a, b) = (api("https://a"), api("https://b"));
    s.resource_servers
        .insert_resource_server(&a)
        .await
        .expect("a");
    s.resource_servers
        .insert_resource_server(&b)
        .await
        .expect("b");
    let clients: Vec<Client> = (0..3).map(|i| client(&format!("c{i}"))).collect();
    let mut grants = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        s.clients.insert_client(c).await.expect("client");
        let mut g = grant(&c.client_id, &a.identifier);
        g.created_at += time::Duration::seconds(i as i64);
        s.client_grants
            .insert_client_grant(&g)
            .await
            .expect("grant");
        grants.push(g);
    }
    s.client_grants
        .insert_client_grant(&grant(&clients[0].client_id, &b.identifier))
        .await
        .expect("grant b");
    let on_a = ClientGrantFilter {
        audience: Some(a.identifier.clone().into_string()),
        client_id: None,
    };
    assert_eq!(
        s.client_grants
            .count_client_grants(&on_a)
            .await
            .expect("count"),
        3
    );
    assert_eq!(
        s.client_grants
            .count_client_grants(&ClientGrantFilter::default())
            .await
            .expect("count"),
        4
    );
    let window = s
        .client_grants
        .list_client_grants(
            &on_a,
            Page {
                offset: 1,
                limit: 2,
            },
        )
        .await
        .expect("list");
    assert_eq!(window, grants[1..].to_vec());
    let mine = ClientGrantFilter {
        client_id: Some(clients[0].client_id.clone().into_string()),
        audience: None,
    };
    assert_eq!(
        s.client_grants
            .count_client_grants(&mine)
            .await
            .expect("count"),
        2
    );

    let scope = vec!["read:x".to_owned(), "write:x".to_owned()];
    let mut changed = grants[0].clone();
    changed.scope = scope.clone();
    changed.extra.insert("subject_type".into(), json!("client"));
    s.client_grants
        .update_client_grant(&changed)
        .await
        .expect("update");
    let got = s
        .client_grants
        .client_grant_by_id(&grants[0].id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got, changed, "scope and kept properties replaced");
    s.client_grants
        .delete_client_grant(&grants[0].id)
        .await
        .expect("delete");
    assert!(matches!(
        s.client_grants.delete_client_grant(&grants[0].id).await,
        Err(StoreError::NotFound(_))
    ));
    changed.id = "cgr_none".into();
    assert!(matches!(
        s.client_grants.update_client_grant(&changed).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Walking every user by id, a page at a time, optionally within one connection.
async fn users_walk_by_id(s: Stores) {
    use gatehouse_core::user_search::parse;
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let mut ids = Vec::new();
    for n in 0..7 {
        let user = database_user(&format!("walker{n}@example.com"));
        ids.push(user.user_id.clone());
        s.users.insert_user(&user).await.expect("user");
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .users
            .users_after(None, after.as_ref(), 3)
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        assert!(
            page.iter().all(|u| !u.identities.is_empty()),
            "with identities"
        );
        after = page.last().map(|u| u.user_id.clone());
        seen.extend(page.into_iter().map(|u| u.user_id));
    }
    assert_eq!(seen, ids, "each user once, in id order");
    let elsewhere = parse("identities.connection:\"nowhere\"").expect("query");
    assert!(
        s.users
            .users_after(Some(&elsewhere), None, 10)
            .await
            .expect("page")
            .is_empty()
    );
    let here = parse("identities.connection:\"Username-Password-Authentication\"").expect("q");
    assert_eq!(
        s.users
            .users_after(Some(&here), Some(&ids[4]), 10)
            .await
            .expect("page")
            .len(),
        2
    );
}

async fn user_search_and_updates(s: Stores) {
    use gatehouse_core::user_search::{UserSort, parse};
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let mut ada = database_user("Ada@Example.com");
    ada.email = Some("ada@example.com".into());
    ada.profile.insert("name".into(), json!("Ada Lovelace"));
    ada.app_metadata = [
        ("plan".to_owned(), json!({"tier": "gold", "seats": 5})),
        ("beta".to_owned(), json!(true)),
    ]
    .into_iter()
    .collect();
    let mut bob = database_user("bob@example.org");
    bob.profile.insert("name".into(), json!("Bob 100%_real"));
    bob.blocked = true;
    bob.created_at += time::Duration::seconds(1);
    bob.user_metadata = [("lang".to_owned(), json!("fr"))].into_iter().collect();
    s.users.insert_user(&ada).await.expect("ada");
    s.users.insert_user(&bob).await.expect("bob");

    let find = |q: &str| {
        let s = s.clone();
        let q = q.to_owned();
        async move {
            let parsed = parse(&q).expect("parses");
            let users = s
                .users
                .search_users(Some(&parsed), UserSort::default(), Page::number(0, 50))
                .await
                .expect("search");
            let n = s.users.count_users(Some(&parsed)).await.expect("count");
            assert_eq!(n as usize, users.len(), "{q}");
            users
                .into_iter()
                .map(|u| u.email.unwrap_or_default())
                .collect::<Vec<_>>()
        }
    };
    let both = vec!["ada@example.com".to_owned(), "bob@example.org".to_owned()];
    assert_eq!(
        find(r#"email:"ADA@example.com""#).await,
        ["ada@example.com"]
    );
    assert_eq!(find("email:bob*").await, ["bob@example.org"]);
    assert_eq!(find("name:ada*").await, ["ada@example.com"]);
    assert_eq!(find(r#"name:"Bob 100%_real""#).await, ["bob@example.org"]);
    assert_eq!(
        find(r"name:bob\ 100\%*").await,
        ["bob@example.org"],
        "LIKE wildcards are literal"
    );
    assert_eq!(find("name:100%*").await, Vec::<String>::new());
    assert_eq!(find("blocked:true").await, ["bob@example.org"]);
    assert_eq!(find("NOT blocked:true").await, ["ada@example.com"]);
    assert_eq!(
        find("app_metadata.plan.tier:gold").await,
        ["ada@example.com"]
    );
    assert_eq!(find("app_metadata.plan.seats:5").await, ["ada@example.com"]);
    assert_eq!(find("app_metadata.beta:true").await, ["ada@example.com"]);
    assert_eq!(find("user_metadata.lang:fr OR email:ada*").await, both);
    assert_eq!(
        find("-user_metadata.lang:fr").await,
        ["ada@example.com"],
        "missing keys are not matches"
    );
    assert_eq!(
        find(r#"identities.connection:"Username-Password-Authentication""#).await,
        both
    );
    assert_eq!(
        find("identities.connection:email").await,
        Vec::<String>::new()
    );
    assert_eq!(
        find("ada").await,
        Vec::<String>::new(),
        "free text is exact"
    );
    assert_eq!(find("ada*").await, ["ada@example.com"]);
    assert!(parse("email:*.org").is_err(), "no leading wildcard");
    // Prefixes are ranges of the lower-cased value on SQLite; the edges stay exact.
    assert_eq!(find("email:ADA@EXAMPLE.CO*").await, ["ada@example.com"]);
    assert_eq!(find("email:ada@example.com*").await, ["ada@example.com"]);
    assert_eq!(find("email:ada@example.con*").await, Vec::<String>::new());
    assert_eq!(find("email:*").await, both, "an empty prefix is any email");
    assert_eq!(
        find("NOT email:bob* AND NOT user_metadata.lang:fr").await,
        ["ada@example.com"]
    );
    // Ranges: logins_count and the dates, ends inclusive or not, open with `*`.
    let mut counted = bob.clone();
    counted.logins_count = 15;
    counted.last_login = Some(bob.created_at);
    s.users.update_user(&counted).await.expect("count bob");
    assert_eq!(find("logins_count:[10 TO 20]").await, ["bob@example.org"]);
    assert_eq!(find("logins_count:[0 TO 15}").await, ["ada@example.com"]);
    assert_eq!(find("logins_count:{0 TO *]").await, ["bob@example.org"]);
    assert_eq!(find("logins_count:[* TO *]").await, both);
    assert_eq!(find("last_login:[* TO *]").await, ["bob@example.org"]);
    assert_eq!(
        find("NOT last_login:[2000-01-01 TO *]").await,
        ["ada@example.com"],
        "a missing date is outside every range"
    );
    let stamp = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("formats")
    };
    assert_eq!(
        find(&format!("created_at:{{{} TO *]", stamp(ada.created_at))).await,
        ["bob@example.org"]
    );
    assert_eq!(
        find(&format!("created_at:[* TO {}]", stamp(ada.created_at))).await,
        ["ada@example.com"]
    );
    let today = ada.created_at.date();
    assert_eq!(
        find(&format!("created_at:[{today} TO {today}]"))
            .await
            .len()
            + find(&format!("created_at:{{{today} TO *]")).await.len(),
        2,
        "a bare date is a whole day"
    );
    s.users.update_user(&bob).await.expect("uncount bob");

    let newest = s
        .users
        .search_users(
            None,
            UserSort::parse("created_at:-1").expect("sort"),
            Page::number(0, 1),
        )
        .await
        .expect("search");
    assert_eq!(newest[0].user_id, bob.user_id);
    assert_eq!(
        newest[0].identities, bob.identities,
        "identities come along"
    );
    assert_eq!(s.users.count_users(None).await.expect("count"), 2);
    let by_email = s
        .users
        .users_by_email("ADA@EXAMPLE.COM")
        .await
        .expect("by email");
    assert_eq!(by_email.len(), 1);
    assert!(
        s.users
            .users_by_email("nobody@example.com")
            .await
            .expect("by email")
            .is_empty()
    );

    // Email is unique within a connection, whatever its case.
    let mut twin = database_user("ADA@example.com");
    twin.email = Some("ADA@example.com".into());
    assert!(matches!(
        s.users.insert_user(&twin).await,
        Err(StoreError::Conflict(_))
    ));

    // Updates: root attributes, metadata and the primary identity's credentials.
    let mut changed = ada.clone();
    changed.email = Some("ada@new.example".into());
    changed.blocked = true;
    changed.user_metadata.insert("theme".into(), json!("light"));
    changed.identities[0].password_hash = Some("$argon2id$new".into());
    changed.updated_at = now();
    s.users.update_user(&changed).await.expect("update");
    assert_eq!(
        s.users.user(&ada.user_id).await.expect("get"),
        Some(changed.clone())
    );
    let mut clash = bob.clone();
    clash.email = Some("ada@new.example".into());
    assert!(matches!(
        s.users.update_user(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.users
            .user(&bob.user_id)
            .await
            .expect("get")
            .and_then(|u| u.email),
        Some("bob@example.org".into()),
        "a refused update changes nothing"
    );
    let mut ghost = database_user("ghost@example.com");
    ghost.user_id = "auth0|ghost".into();
    assert!(matches!(
        s.users.update_user(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn roles_permissions_and_members(s: Stores) {
    use gatehouse_core::role::{Permission, PermissionSource, Role};
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let rs = api("https://reports");
    s.resource_servers
        .insert_resource_server(&rs)
        .await
        .expect("api");
    let perm = |name: &str| Permission {
        resource_server_identifier: rs.identifier.clone().into_string(),
        permission_name: name.into(),
    };
    let role = |name: &str| Role {
        id: ids::new_role_id(),
        name: name.into(),
        description: format!("{name} role"),
        created_at: now(),
    };
    let (admin, viewer) = (role("Admin"), role("Viewer"));
    s.roles.insert_role(&admin).await.expect("admin");
    s.roles.insert_role(&viewer).await.expect("viewer");
    assert!(matches!(
        s.roles.insert_role(&role("Admin")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.roles.role(&admin.id).await.expect("get"),
        Some(admin.clone())
    );
    assert_eq!(s.roles.count_roles(Some("adm")).await.expect("count"), 1);
    assert_eq!(
        s.roles
            .list_roles(None, Page::number(0, 10))
            .await
            .expect("list")
            .len(),
        2
    );

    s.roles
        .add_role_permissions(&admin.id, &[perm("read:x"), perm("write:x")])
        .await
        .expect("add");
    s.roles
        .add_role_permissions(&admin.id, &[perm("read:x")])
        .await
        .expect("again is fine");
    s.roles
        .add_role_permissions(&viewer.id, &[perm("read:x")])
        .await
        .expect("add");
    assert_eq!(
        s.roles
            .count_role_permissions(&admin.id)
            .await
            .expect("count"),
        2
    );
    s.roles
        .remove_role_permissions(&admin.id, &[perm("write:x")])
        .await
        .expect("remove");
    assert_eq!(
        s.roles
            .role_permissions(&admin.id, Page::number(0, 10))
            .await
            .expect("list"),
        vec![perm("read:x")]
    );
    let dangling = Permission {
        resource_server_identifier: "https://nowhere".into(),
        permission_name: "x".into(),
    };
    assert!(
        s.roles
            .add_role_permissions(&admin.id, &[dangling])
            .await
            .is_err()
    );

    let user = database_user("rbac@example.com");
    s.users.insert_user(&user).await.expect("user");
    s.roles
        .add_role_users(&admin.id, &[user.user_id.to_string()])
        .await
        .expect("members");
    s.roles
        .add_user_roles(&user.user_id, std::slice::from_ref(&viewer.id))
        .await
        .expect("roles");
    assert!(
        s.roles
            .add_user_roles(&user.user_id, &["rol_ghost".into()])
            .await
            .is_err()
    );
    assert_eq!(
        s.roles
            .count_user_roles(&user.user_id)
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        s.roles
            .role_users(&admin.id, Page::number(0, 10))
            .await
            .expect("users"),
        vec![user.user_id.clone()]
    );
    s.roles
        .add_user_permissions(&user.user_id, &[perm("read:x"), perm("export:x")])
        .await
        .expect("direct");

    let perms = s
        .roles
        .user_permissions(&user.user_id)
        .await
        .expect("perms");
    assert_eq!(perms.len(), 2);
    let read = perms
        .iter()
        .find(|p| p.permission == perm("read:x"))
        .expect("read");
    assert_eq!(
        read.sources.len(),
        3,
        "direct and through both roles: {:?}",
        read.sources
    );
    assert!(read.sources.contains(&PermissionSource::Direct));

    s.roles
        .remove_user_roles(&user.user_id, std::slice::from_ref(&viewer.id))
        .await
        .expect("remove");
    s.roles
        .remove_user_permissions(&user.user_id, &[perm("read:x")])
        .await
        .expect("remove");
    let perms = s
        .roles
        .user_permissions(&user.user_id)
        .await
        .expect("perms");
    let read = perms
        .iter()
        .find(|p| p.permission == perm("read:x"))
        .expect("read");
    assert_eq!(
        read.sources,
        vec![PermissionSource::Role {
            id: admin.id.clone(),
            name: "Admin".into()
        }]
    );

    let mut renamed = admin.clone();
    renamed.name = "Administrator".into();
    s.roles.update_role(&renamed).await.expect("update");
    assert!(matches!(
        {
            let mut v = viewer.clone();
            v.name = "Administrator".into();
            s.roles.update_role(&v).await
        },
        Err(StoreError::Conflict(_))
    ));
    s.roles.delete_role(&admin.id).await.expect("delete");
    assert_eq!(
        s.roles
            .count_user_roles(&user.user_id)
            .await
            .expect("count"),
        0
    );
    assert!(matches!(
        s.roles.delete_role(&admin.id).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn logs_append_filter_and_page(s: Stores) {
    use gatehouse_core::log::{LogEvent, LogFilter};
    use gatehouse_core::log_type::LogType;
    let mut events = Vec::new();
    for (i, kind) in [
        LogType::SuccessExchangeClientCredentials,
        LogType::FailedExchangeClientCredentials,
        LogType::SuccessApiOperation,
        LogType::SuccessExchangeClientCredentials,
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = LogEvent::new(kind, uuid::Uuid::now_v7().simple().to_string(), now());
        e.client_id = Some(format!("c{}", i % 2));
        e.user_id = (i == 2).then(|| "auth0|u".to_owned());
        e.audience = Some("https://api".into());
        e.details = json!({"n": i});
        events.push(e);
    }
    s.logs.append_logs(&events).await.expect("append");
    s.logs
        .append_logs(&events[..1])
        .await
        .expect("a replayed batch is ignored");
    assert_eq!(
        s.logs
            .count_logs(&LogFilter::default())
            .await
            .expect("count"),
        4
    );
    assert_eq!(
        s.logs.log(&events[2].log_id).await.expect("get"),
        Some(events[2].clone())
    );
    let seccft = LogFilter {
        kind: Some("seccft".into()),
        ..Default::default()
    };
    assert_eq!(s.logs.count_logs(&seccft).await.expect("count"), 2);
    let newest = s
        .logs
        .list_logs(&LogFilter::default(), false, Page::number(0, 2))
        .await
        .expect("list");
    assert_eq!(newest, vec![events[3].clone(), events[2].clone()]);
    let user = LogFilter {
        user_id: Some("auth0|u".into()),
        ..Default::default()
    };
    assert_eq!(
        s.logs
            .list_logs(&user, false, Page::number(0, 10))
            .await
            .expect("list"),
        vec![events[2].clone()]
    );
    let after = LogFilter {
        after: Some(events[1].log_id.clone()),
        ..Default::default()
    };
    let next = s
        .logs
        .list_logs(&after, false, Page::number(0, 10))
        .await
        .expect("list");
    assert_eq!(
        next,
        vec![events[2].clone(), events[3].clone()],
        "checkpoints go forward"
    );
    let today = now().date().with_time(time::Time::MIDNIGHT).assume_utc();
    let in_range = |since, until| LogFilter {
        since,
        until,
        ..Default::default()
    };
    let day = time::Duration::days(1);
    let logs = &s.logs;
    let count = |f: LogFilter| async move { logs.count_logs(&f).await.expect("count") };
    assert_eq!(count(in_range(Some(today), Some(today + day))).await, 4);
    assert_eq!(count(in_range(Some(today + day), None)).await, 0);
    assert_eq!(count(in_range(None, Some(today))).await, 0);
}

async fn logins_and_refresh_tokens(s: Stores) {
    use gatehouse_core::refresh_token::RefreshToken;
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let mut user = database_user("Log.In@example.com");
    user.email = Some("log.in@example.com".into());
    user.username = Some("loggy".into());
    s.users.insert_user(&user).await.expect("user");
    let db = "Username-Password-Authentication";
    for login in ["log.in@example.com", "LOG.IN@example.com", "Loggy"] {
        let found = s
            .users
            .user_by_login(&ConnectionName::from(db), login)
            .await
            .expect("lookup");
        assert_eq!(
            found.map(|u| u.user_id),
            Some(user.user_id.clone()),
            "{login}"
        );
    }
    assert!(
        s.users
            .user_by_login(&ConnectionName::from("email"), "log.in@example.com")
            .await
            .expect("lookup")
            .is_none()
    );
    let at = now();
    s.users
        .record_login(&user.user_id, Some("10.0.0.1"), at)
        .await
        .expect("login");
    s.users
        .record_login(&user.user_id, None, at)
        .await
        .expect("login");
    let after = s
        .users
        .user(&user.user_id)
        .await
        .expect("get")
        .expect("user");
    assert_eq!((after.logins_count, after.last_login), (2, Some(at)));

    let c = client("app");
    s.clients.insert_client(&c).await.expect("client");
    let token = |hash: u8, family: &str| RefreshToken {
        token_hash: vec![hash; 32],
        family_id: family.into(),
        client_id: c.client_id.clone(),
        user_id: user.user_id.clone(),
        connection: db.into(),
        audience: Some("https://api".into()),
        scope: "openid offline_access".into(),
        auth_time: 1_700_000_000,
        created_at: at,
        expires_at: Some(at + time::Duration::days(1)),
        idle_expires_at: None,
        rotated_at: None,
        revoked_at: None,
        session_id: None,
    };
    let (a, b, c, other) = (
        token(1, "fam"),
        token(2, "fam"),
        token(4, "fam"),
        token(3, "other"),
    );
    for t in [&a, &other] {
        assert!(
            s.refresh_tokens
                .insert_refresh_token(t)
                .await
                .expect("insert")
        );
    }
    assert_eq!(
        s.refresh_tokens
            .refresh_token(&a.token_hash)
            .await
            .expect("get"),
        Some(a.clone())
    );
    // Two concurrent rotations: exactly one retires the token and stores its successor
    // (in one transaction); the other changes nothing.
    let (x, y) = tokio::join!(
        s.refresh_tokens
            .rotate_refresh_token(&a.token_hash, &b, at, false),
        s.refresh_tokens
            .rotate_refresh_token(&a.token_hash, &c, at, false)
    );
    let mut outcomes = [x.expect("rotate"), y.expect("rotate")];
    outcomes.sort_by_key(|o| *o != Rotation::Rotated);
    assert_eq!(outcomes, [Rotation::Rotated, Rotation::AlreadyRetired]);
    let b_stored = s
        .refresh_tokens
        .refresh_token(&b.token_hash)
        .await
        .expect("b");
    let c_stored = s
        .refresh_tokens
        .refresh_token(&c.token_hash)
        .await
        .expect("c");
    assert!(b_stored.is_some() ^ c_stored.is_some(), "one successor");
    let winner = if b_stored.is_some() { 2 } else { 4 };
    // Within the reuse interval a retired token may still get a successor.
    let late = token(5, "fam");
    assert_eq!(
        s.refresh_tokens
            .rotate_refresh_token(&a.token_hash, &late, at, true)
            .await
            .expect("reuse interval"),
        Rotation::Rotated
    );
    s.refresh_tokens
        .revoke_refresh_family("unrelated", at)
        .await
        .expect("nothing");
    // The live tokens of each family: `a` is rotated, so its successors stand for "fam".
    let live = s
        .refresh_tokens
        .live_refresh_tokens(&user.user_id, at, Page::number(0, 10))
        .await
        .expect("live");
    let mut families: Vec<(&str, u8)> = live
        .iter()
        .map(|t| (t.family_id.as_str(), t.token_hash[0]))
        .collect();
    families.sort_unstable();
    assert_eq!(families, [("fam", winner), ("fam", 5), ("other", 3)]);
    let later = at + time::Duration::days(2);
    assert!(
        s.refresh_tokens
            .live_refresh_tokens(&user.user_id, later, Page::number(0, 10))
            .await
            .expect("expired")
            .is_empty()
    );
    assert_eq!(
        s.refresh_tokens
            .live_refresh_token("other", at)
            .await
            .expect("one")
            .map(|t| t.token_hash),
        Some(other.token_hash.clone())
    );
    let idle = at + time::Duration::hours(1);
    s.refresh_tokens
        .touch_refresh_token(&late.token_hash, idle)
        .await
        .expect("touch");
    assert_eq!(
        s.refresh_tokens
            .refresh_token(&late.token_hash)
            .await
            .expect("get")
            .and_then(|t| t.idle_expires_at),
        Some(idle)
    );
    assert_eq!(
        s.refresh_tokens
            .revoke_refresh_family("fam", at)
            .await
            .expect("revoke"),
        3,
        "the rotated one and its two successors"
    );
    assert_eq!(
        s.refresh_tokens
            .revoke_refresh_family("fam", at)
            .await
            .expect("revoke"),
        0
    );
    assert!(
        s.refresh_tokens
            .live_refresh_token("fam", at)
            .await
            .expect("revoked")
            .is_none()
    );
    assert!(
        s.refresh_tokens
            .refresh_token(&other.token_hash)
            .await
            .expect("get")
            .expect("t")
            .revoked_at
            .is_none()
    );
    // Deleting the user deletes its tokens.
    s.users.delete_user(&user.user_id).await.expect("delete");
    assert!(
        s.refresh_tokens
            .refresh_token(&other.token_hash)
            .await
            .expect("get")
            .is_none()
    );
}

async fn sessions_and_codes(s: Stores) {
    use gatehouse_core::session::{AuthorizationCode, Session};
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let user = database_user("sso@example.com");
    s.users.insert_user(&user).await.expect("user");
    let c = client("web");
    s.clients.insert_client(&c).await.expect("client");
    let at = now();
    let session = Session {
        id_hash: vec![7; 32],
        sid: "sid-1".into(),
        user_id: user.user_id.clone(),
        connection: "Username-Password-Authentication".into(),
        auth_time: 1_700_000_000,
        created_at: at,
        last_interaction_at: at,
        expires_at: at + time::Duration::days(3),
        revoked_at: None,
        clients: vec![c.client_id.as_str().to_owned()],
        initial_ip: Some("203.0.113.9".into()),
        initial_user_agent: Some("Mozilla/5.0 (conformance)".into()),
    };
    s.sessions.insert_session(&session).await.expect("insert");
    let idle = at - time::Duration::hours(1);
    assert_eq!(
        s.sessions
            .live_session(&session.id_hash, at, idle)
            .await
            .expect("get"),
        Some(session.clone())
    );
    assert!(
        s.sessions
            .live_session(&session.id_hash, at + time::Duration::days(4), idle)
            .await
            .expect("get")
            .is_none(),
        "expired"
    );
    assert!(
        s.sessions
            .live_session(&session.id_hash, at, at)
            .await
            .expect("get")
            .is_none(),
        "idle too long"
    );
    s.sessions
        .touch_session(&session.id_hash, at + time::Duration::seconds(5))
        .await
        .expect("touch");
    assert!(
        s.sessions
            .live_session(&session.id_hash, at, at)
            .await
            .expect("get")
            .is_some(),
        "touched"
    );
    // The applications a session answered: each once, in order, even when added twice.
    for c in ["second-app", "second-app", "third-app"] {
        s.sessions
            .add_session_client(&session.id_hash, c)
            .await
            .expect("add client");
    }
    let by_sid = s
        .sessions
        .session_by_sid("sid-1")
        .await
        .expect("by sid")
        .expect("found");
    assert_eq!(
        by_sid.clients,
        vec![c.client_id.as_str(), "second-app", "third-app"]
    );
    assert_eq!(by_sid.initial_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(
        by_sid.initial_user_agent.as_deref(),
        Some("Mozilla/5.0 (conformance)")
    );
    assert_eq!(
        s.sessions
            .user_sessions(&user.user_id, at)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(
        s.sessions
            .session_by_sid("nope")
            .await
            .expect("by sid")
            .is_none()
    );
    let ended = s
        .sessions
        .revoke_session(&session.id_hash, at)
        .await
        .expect("revoke")
        .expect("it was live");
    assert_eq!(ended.sid, "sid-1");
    assert_eq!(
        ended.clients.len(),
        3,
        "the ended session names its applications"
    );
    assert!(
        s.sessions
            .revoke_session(&session.id_hash, at)
            .await
            .expect("revoke")
            .is_none(),
        "ending it twice ends nothing more"
    );
    assert!(
        s.sessions
            .user_sessions(&user.user_id, at)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        s.sessions
            .live_session(&session.id_hash, at, idle)
            .await
            .expect("get")
            .is_none(),
        "revoked"
    );

    let code = AuthorizationCode {
        code_hash: vec![9; 32],
        client_id: c.client_id.clone(),
        user_id: user.user_id.clone(),
        connection: "Username-Password-Authentication".into(),
        redirect_uri: "https://app/cb".into(),
        scope: "openid".into(),
        audience: None,
        nonce: Some("n".into()),
        code_challenge: Some("chal".into()),
        sid: "sid-1".into(),
        auth_time: 1_700_000_000,
        created_at: at,
        expires_at: at + time::Duration::seconds(60),
        consumed_at: None,
    };
    s.sessions.insert_code(&code).await.expect("code");
    let (a, b) = tokio::join!(
        s.sessions.consume_code(&code.code_hash, at),
        s.sessions.consume_code(&code.code_hash, at)
    );
    let winners: Vec<_> = [a.expect("consume"), b.expect("consume")]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(winners.len(), 1, "exactly one redemption");
    assert_eq!(winners[0].nonce.as_deref(), Some("n"));
    assert_eq!(winners[0].code_challenge.as_deref(), Some("chal"));
    assert!(
        s.sessions
            .code(&code.code_hash)
            .await
            .expect("get")
            .expect("code")
            .consumed_at
            .is_some()
    );
    let mut late = code.clone();
    late.code_hash = vec![8; 32];
    s.sessions.insert_code(&late).await.expect("code");
    s.sessions
        .insert_ticket(
            &[5; 32],
            "reset",
            &user.user_id,
            at,
            at + time::Duration::hours(1),
        )
        .await
        .expect("ticket");
    assert_eq!(
        s.sessions
            .ticket_user(&[5; 32], "verify", at)
            .await
            .expect("peek"),
        None,
        "kind matters"
    );
    assert_eq!(
        s.sessions
            .ticket_user(&[5; 32], "reset", at)
            .await
            .expect("peek"),
        Some(user.user_id.to_string())
    );
    let (x, y) = tokio::join!(
        s.sessions.use_ticket(&[5; 32], "reset", at),
        s.sessions.use_ticket(&[5; 32], "reset", at)
    );
    assert_eq!(
        [x.expect("use"), y.expect("use")].iter().flatten().count(),
        1,
        "single use"
    );
    assert_eq!(
        s.sessions
            .ticket_user(&[5; 32], "reset", at)
            .await
            .expect("peek"),
        None
    );
    assert!(
        s.sessions
            .consume_code(&late.code_hash, at + time::Duration::seconds(61))
            .await
            .expect("consume")
            .is_none(),
        "expired"
    );
}

async fn ping_answers(s: Stores) {
    s.setup.ping().await.expect("ping");
}

async fn jobs_keep_their_outcome(s: Stores) {
    use gatehouse_core::job::{ImportError, ImportProblem, ImportSummary, Job};
    let created_at = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
    let mut job = Job {
        id: ids::new_job_id(),
        kind: "users_import".into(),
        status: "pending".into(),
        connection_id: "con_abc".into(),
        external_id: Some("batch-7".into()),
        created_at,
        summary: ImportSummary::default(),
        errors: vec![],
        export: None,
    };
    s.jobs.save_job(&job, created_at).await.expect("insert");
    assert_eq!(s.jobs.job(&job.id).await.expect("read"), Some(job.clone()));
    job.status = "completed".into();
    job.summary = ImportSummary {
        failed: 1,
        updated: 0,
        inserted: 2,
        total: 3,
    };
    job.errors = vec![ImportError {
        user: serde_json::json!({"email": "x"}),
        errors: vec![ImportProblem {
            code: "INVALID_FORMAT".into(),
            message: "bad email".into(),
            path: Some("email".into()),
        }],
    }];
    s.jobs.save_job(&job, created_at).await.expect("update");
    assert_eq!(s.jobs.job(&job.id).await.expect("read"), Some(job));
    assert_eq!(s.jobs.job("job_missing").await.expect("read"), None);
}

/// An import whose process died stops saving; the sweeper fails it once it has been quiet
/// long enough, and leaves alone jobs that saved since, or that ended.
async fn stalled_jobs_are_failed(s: Stores) {
    use gatehouse_core::job::Job;
    let t0 = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
    let job = |status: &str| Job {
        id: ids::new_job_id(),
        kind: "users_import".into(),
        status: status.into(),
        connection_id: "con_abc".into(),
        external_id: None,
        created_at: t0,
        summary: Default::default(),
        errors: vec![],
        export: None,
    };
    let (dead, pending, alive, done) = (
        job("processing"),
        job("pending"),
        job("processing"),
        job("completed"),
    );
    for j in [&dead, &pending, &done] {
        s.jobs.save_job(j, t0).await.expect("save");
    }
    s.jobs
        .save_job(&alive, t0 + time::Duration::minutes(30))
        .await
        .expect("save");
    let cut = t0 + time::Duration::minutes(20);
    assert_eq!(s.jobs.fail_stalled_jobs(cut).await.expect("sweep"), 2);
    let status = |id: String| {
        let s = s.clone();
        async move { s.jobs.job(&id).await.expect("job").expect("there").status }
    };
    assert_eq!(status(dead.id.clone()).await, "failed");
    assert_eq!(status(pending.id.clone()).await, "failed");
    assert_eq!(status(alive.id.clone()).await, "processing");
    assert_eq!(status(done.id.clone()).await, "completed");
    assert_eq!(s.jobs.fail_stalled_jobs(cut).await.expect("again"), 0);
}

async fn otps_are_single_use_with_few_attempts(s: Stores) {
    use gatehouse_core::passwordless::Otp;
    let now = time::OffsetDateTime::now_utc();
    let otp = |id: &str, hash: &[u8]| Otp {
        id: id.into(),
        connection: "email".into(),
        recipient: "a@example.com".into(),
        code_hash: hash.to_vec(),
        client_id: "c1".into(),
        send: "code".into(),
        auth_params: serde_json::json!({"scope": "openid"}),
        attempts: 0,
        created_at: now,
        expires_at: now + time::Duration::minutes(3),
    };
    s.otps.put_otp(&otp("o1", b"first")).await.expect("put");
    // A newer code replaces the older one.
    s.otps.put_otp(&otp("o2", b"second")).await.expect("put");
    let email = ConnectionName::from("email");
    let claim = || s.otps.claim_otp_attempt(&email, "a@example.com", 3, now);
    let got = claim().await.expect("claim").expect("live");
    assert_eq!(
        (got.id.as_str(), got.code_hash.as_slice(), got.attempts),
        ("o2", &b"second"[..], 1)
    );
    assert_eq!(got.auth_params["scope"], "openid");
    assert!(claim().await.expect("claim").is_some());
    assert!(claim().await.expect("claim").is_some());
    assert!(
        claim().await.expect("claim").is_none(),
        "three attempts at most"
    );
    // A fresh code starts over; used once, it is gone.
    s.otps.put_otp(&otp("o3", b"third")).await.expect("put");
    let got = claim().await.expect("claim").expect("live");
    assert!(s.otps.consume_otp(&got.id).await.expect("consume"));
    assert!(
        !s.otps.consume_otp(&got.id).await.expect("consume"),
        "single use"
    );
    assert!(claim().await.expect("claim").is_none());
    // Wrong codes add up per recipient across codes; an old window starts again.
    let window = now - time::Duration::hours(1);
    s.otps.put_otp(&otp("o5", b"fifth")).await.expect("put");
    assert_eq!(
        s.otps
            .record_otp_failure("o5", now, window)
            .await
            .expect("fail"),
        1
    );
    assert_eq!(
        s.otps
            .record_otp_failure("o5", now, window)
            .await
            .expect("fail"),
        2
    );
    s.otps.put_otp(&otp("o6", b"sixth")).await.expect("put");
    assert_eq!(
        s.otps
            .otp_failures(&ConnectionName::from("email"), "a@example.com", window)
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        s.otps
            .record_otp_failure("o6", now, window)
            .await
            .expect("fail"),
        3
    );
    let later = now + time::Duration::hours(2);
    assert_eq!(
        s.otps
            .otp_failures(
                &ConnectionName::from("email"),
                "a@example.com",
                later - time::Duration::hours(1)
            )
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        s.otps
            .record_otp_failure("o6", later, later - time::Duration::hours(1))
            .await
            .expect("fail"),
        1
    );
    // Expired codes cannot be claimed.
    let mut old = otp("o4", b"fourth");
    old.expires_at = now - time::Duration::seconds(1);
    s.otps.put_otp(&old).await.expect("put");
    assert!(claim().await.expect("claim").is_none());
    assert!(
        s.otps
            .claim_otp_attempt(&ConnectionName::from("email"), "b@example.com", 3, now)
            .await
            .expect("claim")
            .is_none()
    );
}

async fn identities_link_and_unlink(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let primary = database_user("main@example.com");
    let secondary = database_user("second@example.com");
    let third = database_user("third@example.com");
    for u in [&primary, &secondary, &third] {
        s.users.insert_user(u).await.expect("insert");
    }
    assert!(matches!(
        s.users
            .link_identity(&primary.user_id, &primary.user_id, &json!({}))
            .await,
        Err(StoreError::Conflict(_))
    ));
    // Two primaries take the same secondary at once: exactly one gets it.
    let profile = json!({"email": "second@example.com", "email_verified": false});
    let (a, b) = tokio::join!(
        s.users
            .link_identity(&primary.user_id, &secondary.user_id, &profile),
        s.users
            .link_identity(&third.user_id, &secondary.user_id, &profile),
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    let winner = if a.is_ok() { &primary } else { &third };
    let loser = if a.is_ok() { &third } else { &primary };
    let got = s
        .users
        .user(&winner.user_id)
        .await
        .expect("get")
        .expect("user");
    assert_eq!(got.identities.len(), 2);
    assert_eq!(got.identities[1].user_id, secondary.identities[0].user_id);
    assert_eq!(got.identities[1].profile_data, profile);
    assert_eq!(
        got.user_metadata, winner.user_metadata,
        "the primary's metadata stays"
    );
    assert!(
        s.users
            .user(&secondary.user_id)
            .await
            .expect("get")
            .is_none()
    );
    // The linked identity logs in as the primary.
    let by_login = s
        .users
        .user_by_login(
            &ConnectionName::from("Username-Password-Authentication"),
            "second@example.com",
        )
        .await
        .expect("get")
        .expect("user");
    assert_eq!(by_login.user_id, winner.user_id);
    let by_email = s
        .users
        .users_by_email("Second@Example.com")
        .await
        .expect("by email");
    assert_eq!(
        by_email
            .iter()
            .map(|u| u.user_id.as_str())
            .collect::<Vec<_>>(),
        [winner.user_id.as_str()],
        "a linked identity's address finds its primary"
    );
    // A user with linked identities cannot become someone's secondary.
    assert!(matches!(
        s.users
            .link_identity(&loser.user_id, &winner.user_id, &json!({}))
            .await,
        Err(StoreError::Conflict(_))
    ));

    // Unlinking makes the identity a user of its own again, without metadata.
    let mut standalone = secondary.clone();
    standalone.user_metadata = serde_json::Map::new();
    standalone.app_metadata = serde_json::Map::new();
    standalone.identities[0].profile_data = json!({});
    s.users
        .unlink_identity(&winner.user_id, &standalone)
        .await
        .expect("unlink");
    let back = s
        .users
        .user(&secondary.user_id)
        .await
        .expect("get")
        .expect("user");
    assert!(back.user_metadata.is_empty());
    assert_eq!(back.identities.len(), 1);
    let got = s
        .users
        .user(&winner.user_id)
        .await
        .expect("get")
        .expect("user");
    assert_eq!(got.identities.len(), 1);
    // The primary identity cannot be unlinked, nor one that is not linked to this user.
    let mut primary_identity = winner.clone();
    primary_identity.user_id = "auth0|elsewhere".into();
    assert!(matches!(
        s.users
            .unlink_identity(&winner.user_id, &primary_identity)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        s.users
            .user(&UserId::from("auth0|elsewhere"))
            .await
            .expect("get")
            .is_none(),
        "rolled back"
    );
    // Deleting a primary deletes its linked identities.
    let fourth = database_user("fourth@example.com");
    s.users.insert_user(&fourth).await.expect("insert");
    s.users
        .link_identity(
            &winner.user_id,
            &fourth.user_id,
            &json!({"email": "fourth@example.com"}),
        )
        .await
        .expect("link");
    s.users.delete_user(&winner.user_id).await.expect("delete");
    assert!(
        s.users
            .user_by_login(
                &ConnectionName::from("Username-Password-Authentication"),
                "fourth@example.com"
            )
            .await
            .expect("get")
            .is_none()
    );
}

async fn sweeping_removes_only_what_is_dead(s: Stores) {
    use gatehouse_core::session::Session;
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let user = database_user("sweep@example.com");
    s.users.insert_user(&user).await.expect("user");
    let at = time::OffsetDateTime::now_utc();
    let session = |id: u8, expires: time::Duration, revoked: Option<time::Duration>| Session {
        id_hash: vec![id; 32],
        sid: format!("sid-{id}"),
        user_id: user.user_id.clone(),
        connection: "Username-Password-Authentication".into(),
        auth_time: at.unix_timestamp(),
        created_at: at - time::Duration::days(10),
        last_interaction_at: at,
        expires_at: at + expires,
        revoked_at: revoked.map(|r| at + r),
        clients: Vec::new(),
        initial_ip: None,
        initial_user_agent: None,
    };
    let live = session(1, time::Duration::days(1), None);
    let expired = session(2, -time::Duration::days(2), None);
    let ended = session(3, time::Duration::days(1), Some(-time::Duration::days(2)));
    for s_ in [&live, &expired, &ended] {
        s.sessions.insert_session(s_).await.expect("insert");
    }
    s.sessions
        .insert_ticket(
            &[9; 32],
            "password_reset",
            &user.user_id,
            at - time::Duration::days(3),
            at - time::Duration::days(2),
        )
        .await
        .expect("ticket");
    s.sessions
        .insert_ticket(
            &[8; 32],
            "password_reset",
            &user.user_id,
            at,
            at + time::Duration::hours(1),
        )
        .await
        .expect("ticket");
    let gone = s
        .setup
        .sweep_expired(at - time::Duration::days(1))
        .await
        .expect("sweep");
    assert_eq!(gone, 3, "two sessions and a ticket");
    assert!(
        s.sessions
            .live_session(&live.id_hash, at, at - time::Duration::days(1))
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        s.sessions
            .ticket_user(&[8; 32], "password_reset", at)
            .await
            .expect("ticket")
            .is_some()
    );
    assert_eq!(
        s.setup
            .sweep_expired(at - time::Duration::days(1))
            .await
            .expect("sweep"),
        0
    );
}

fn refresh_token(
    hash: u8,
    family: &str,
    client_id: &str,
    user_id: &str,
    at: OffsetDateTime,
) -> gatehouse_core::refresh_token::RefreshToken {
    gatehouse_core::refresh_token::RefreshToken {
        token_hash: vec![hash; 32],
        family_id: family.into(),
        client_id: client_id.into(),
        user_id: user_id.into(),
        connection: "Username-Password-Authentication".into(),
        audience: None,
        scope: "openid offline_access".into(),
        auth_time: 1_700_000_000,
        created_at: at,
        expires_at: None,
        idle_expires_at: None,
        rotated_at: None,
        revoked_at: None,
        session_id: None,
    }
}

/// Whether every stored token of `hashes` is revoked (or was never stored).
async fn none_live(s: &Stores, hashes: &[u8]) -> bool {
    for h in hashes {
        let t = s
            .refresh_tokens
            .refresh_token(&[*h; 32])
            .await
            .expect("get");
        if t.is_some_and(|t| t.revoked_at.is_none()) {
            return false;
        }
    }
    true
}

/// Revoking a login session revokes the families that came from it, and no other.
async fn a_sessions_refresh_tokens_are_revoked_with_it(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let user = database_user("sessions-tokens@example.com");
    s.users.insert_user(&user).await.expect("user");
    let c = client("app");
    s.clients.insert_client(&c).await.expect("client");
    let at = now();
    let rt = &s.refresh_tokens;
    let bound = |hash: u8, family: &str, sid: Option<&str>| {
        let mut t = refresh_token(hash, family, &c.client_id, &user.user_id, at);
        t.session_id = sid.map(str::to_owned);
        t
    };
    for t in [
        bound(1, "a", Some("sid-a")),
        bound(2, "a2", Some("sid-a")),
        bound(3, "b", Some("sid-b")),
        bound(4, "pw", None),
    ] {
        assert!(rt.insert_refresh_token(&t).await.expect("insert"));
    }
    assert_eq!(
        rt.refresh_token(&[1; 32])
            .await
            .expect("get")
            .expect("stored")
            .session_id
            .as_deref(),
        Some("sid-a")
    );
    assert_eq!(
        rt.revoke_session_refresh_tokens(&user.user_id, "sid-a", at)
            .await
            .expect("revoke"),
        2
    );
    assert!(none_live(&s, &[1, 2]).await);
    assert!(!none_live(&s, &[3]).await && !none_live(&s, &[4]).await);
}

async fn revoked_refresh_families_stay_revoked(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let user = database_user("family@example.com");
    let other = database_user("bystander@example.com");
    for u in [&user, &other] {
        s.users.insert_user(u).await.expect("user");
    }
    let c = client("app");
    s.clients.insert_client(&c).await.expect("client");
    let at = now();
    let token =
        |hash: u8, family: &str| refresh_token(hash, family, &c.client_id, &user.user_id, at);
    let rt = &s.refresh_tokens;

    // A refresh decided on token 1, then the family was revoked (a replay elsewhere), then
    // the refresh inserts its successor: the successor is refused, not born live.
    assert!(
        rt.insert_refresh_token(&token(1, "fam"))
            .await
            .expect("insert")
    );
    assert_eq!(
        rt.revoke_refresh_family("fam", at).await.expect("revoke"),
        1
    );
    assert!(
        !rt.insert_refresh_token(&token(2, "fam"))
            .await
            .expect("insert")
    );
    assert_eq!(
        rt.rotate_refresh_token(&[1; 32], &token(2, "fam"), at, true)
            .await
            .expect("rotate"),
        Rotation::FamilyRevoked
    );
    assert!(
        rt.refresh_token(&[1; 32])
            .await
            .expect("get")
            .is_some_and(|t| t.rotated_at.is_none()),
        "a refused rotation retires nothing"
    );
    assert!(rt.refresh_token(&[2; 32]).await.expect("get").is_none());
    // A family revoked before its first token (a replayed code's) stays revoked.
    assert_eq!(
        rt.revoke_refresh_family("code-fam", at)
            .await
            .expect("revoke"),
        0
    );
    assert!(
        !rt.insert_refresh_token(&token(3, "code-fam"))
            .await
            .expect("insert")
    );

    // Revocation racing successors: whatever the order, nothing in the family stays live.
    for round in 0..8u8 {
        let family = format!("race-{round}");
        let base = 10 + round * 4;
        assert!(
            rt.insert_refresh_token(&token(base, &family))
                .await
                .expect("insert")
        );
        let (first, second) = (token(base + 1, &family), token(base + 2, &family));
        let (revoked, x, y) = tokio::join!(
            rt.revoke_refresh_family(&family, at),
            rt.insert_refresh_token(&first),
            rt.insert_refresh_token(&second),
        );
        revoked.expect("revoke");
        x.expect("insert");
        y.expect("insert");
        assert!(
            none_live(&s, &[base, base + 1, base + 2]).await,
            "round {round}: a live token in a revoked family"
        );
    }

    // Revoking a user's tokens: every family of theirs, successors included; nobody else's.
    assert!(
        rt.insert_refresh_token(&token(60, "u1"))
            .await
            .expect("insert")
    );
    assert!(
        rt.insert_refresh_token(&token(61, "u2"))
            .await
            .expect("insert")
    );
    let theirs = refresh_token(62, "o1", &c.client_id, &other.user_id, at);
    assert!(rt.insert_refresh_token(&theirs).await.expect("insert"));
    assert_eq!(
        rt.revoke_user_refresh_tokens(&user.user_id, at)
            .await
            .expect("revoke"),
        2
    );
    assert!(none_live(&s, &[60, 61]).await);
    assert!(
        !rt.insert_refresh_token(&token(63, "u1"))
            .await
            .expect("insert")
    );
    assert!(
        !none_live(&s, &[62]).await,
        "another user's token stays live"
    );
    // A later login starts a new family, which works.
    assert!(
        rt.insert_refresh_token(&token(64, "u3"))
            .await
            .expect("insert")
    );
    assert!(!none_live(&s, &[64]).await);
    // Racing a rotation of one of the user's families: nothing of theirs stays live.
    assert!(
        rt.insert_refresh_token(&token(70, "u4"))
            .await
            .expect("insert")
    );
    let successor = token(71, "u4");
    let (revoked, x) = tokio::join!(
        rt.revoke_user_refresh_tokens(&user.user_id, at),
        rt.insert_refresh_token(&successor),
    );
    revoked.expect("revoke");
    x.expect("insert");
    assert!(none_live(&s, &[64, 70, 71]).await);
}

async fn user_sessions_end_together(s: Stores) {
    use gatehouse_core::session::Session;
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let user = database_user("sessions@example.com");
    let other = database_user("other-sessions@example.com");
    for u in [&user, &other] {
        s.users.insert_user(u).await.expect("user");
    }
    let at = now();
    let session = |tag: u8, user_id: &str| Session {
        id_hash: vec![tag; 32],
        sid: format!("sid-{tag}"),
        user_id: user_id.into(),
        connection: "Username-Password-Authentication".into(),
        auth_time: 1_700_000_000,
        created_at: at,
        last_interaction_at: at,
        expires_at: at + time::Duration::days(3),
        revoked_at: None,
        clients: Vec::new(),
        initial_ip: None,
        initial_user_agent: None,
    };
    for (tag, u) in [(1, &user), (2, &user), (3, &user), (4, &other)] {
        s.sessions
            .insert_session(&session(tag, &u.user_id))
            .await
            .expect("insert");
    }
    let idle = at - time::Duration::hours(1);
    let live = |tag: u8| {
        let sessions = s.sessions.clone();
        async move {
            sessions
                .live_session(&[tag; 32], at, idle)
                .await
                .expect("get")
                .is_some()
        }
    };
    // The browser that changed the password keeps its session; the others end.
    assert_eq!(
        s.sessions
            .revoke_user_sessions(&user.user_id, Some(&[2; 32]), at)
            .await
            .expect("revoke")
            .iter()
            .map(|e| e.sid.as_str())
            .collect::<std::collections::BTreeSet<_>>(),
        ["sid-1", "sid-3"].into(),
    );
    assert!(!live(1).await && live(2).await && !live(3).await);
    assert!(live(4).await, "another user's session stays");
    // Blocking ends them all.
    assert_eq!(
        s.sessions
            .revoke_user_sessions(&user.user_id, None, at)
            .await
            .expect("revoke")
            .len(),
        1
    );
    assert!(!live(2).await && live(4).await);
}

async fn blocked_users_do_not_link(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let primary = database_user("keeper@example.com");
    let mut secondary = database_user("blocked@example.com");
    for u in [&primary, &secondary] {
        s.users.insert_user(u).await.expect("insert");
    }
    secondary.blocked = true;
    s.users.update_user(&secondary).await.expect("block");
    let profile = json!({});
    for (p, q) in [
        (&primary.user_id, &secondary.user_id),
        (&secondary.user_id, &primary.user_id),
    ] {
        assert!(
            matches!(
                s.users.link_identity(p, q, &profile).await,
                Err(StoreError::Conflict(_))
            ),
            "linking {p} <- {q}"
        );
    }
    assert!(
        s.users
            .user(&secondary.user_id)
            .await
            .expect("get")
            .is_some()
    );
    secondary.blocked = false;
    s.users.update_user(&secondary).await.expect("unblock");
    s.users
        .link_identity(&primary.user_id, &secondary.user_id, &profile)
        .await
        .expect("link");
}

/// Brute-force counts per (user, address key), and the compare-and-set that gives one
/// concurrent attempt the turn once a back-off wait is over.
async fn login_failures_count_and_claim_turns(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let user = database_user("turns@example.com");
    s.users.insert_user(&user).await.expect("user");
    let id = &user.user_id;
    let users = &s.users;
    assert_eq!(
        users.login_failure_state(id, "*").await.expect("state"),
        None
    );
    let t0 = now() - time::Duration::seconds(10);
    for n in 1..=3 {
        assert_eq!(
            users
                .record_login_failure(id, "*", t0)
                .await
                .expect("record"),
            n
        );
    }
    users
        .record_login_failure(id, "192.0.2.1", t0)
        .await
        .expect("record");
    assert_eq!(
        users.login_failure_state(id, "*").await.expect("state"),
        Some((3, t0))
    );
    // Not yet: the last failure is after the cutoff.
    let t1 = now();
    assert!(
        !users
            .claim_login_attempt(id, "*", t0 - time::Duration::seconds(1), t1)
            .await
            .expect("claim")
    );
    // Of concurrent claims once the wait is over, exactly one wins.
    let cutoff = t0 + time::Duration::seconds(1);
    let (a, b) = tokio::join!(
        users.claim_login_attempt(id, "*", cutoff, t1),
        users.claim_login_attempt(id, "*", cutoff, t1),
    );
    assert_eq!(
        [a.expect("a"), b.expect("b")]
            .iter()
            .filter(|w| **w)
            .count(),
        1
    );
    assert_eq!(
        users.login_failure_state(id, "*").await.expect("state"),
        Some((3, t1)),
        "the claim moves the time, not the count"
    );
    assert!(
        !users
            .claim_login_attempt(id, "nobody", cutoff, t1)
            .await
            .expect("claim")
    );
    users
        .clear_login_failures(id, Some("*"))
        .await
        .expect("clear");
    assert_eq!(
        users.login_failure_state(id, "*").await.expect("state"),
        None
    );
    assert_eq!(
        users.login_failures(id, "192.0.2.1").await.expect("count"),
        1,
        "other addresses keep their count"
    );
    for _ in 0..2 {
        users
            .record_login_failure(id, "198.51.100.7", now())
            .await
            .expect("record");
    }
    assert_eq!(
        users.login_failure_ips(id, 2).await.expect("ips"),
        ["198.51.100.7"]
    );
    assert_eq!(
        users.login_failure_ips(id, 1).await.expect("ips"),
        ["192.0.2.1", "198.51.100.7"]
    );
}

async fn outbox_claims_are_exclusive_and_retried(s: Stores) {
    use gatehouse_core::outbox::{OutboxMessage, OutboxState};
    let at = now();
    let message = |id: &str, state: OutboxState, created: OffsetDateTime| OutboxMessage {
        id: id.into(),
        kind: "password_reset".into(),
        channel: "email".into(),
        connection: None,
        recipient_hash: vec![7; 32],
        sealed: vec![1, 2, 3],
        state,
        attempts: 0,
        due_at: created,
        created_at: created,
    };
    let lease = at + time::Duration::minutes(2);
    assert!(
        s.outbox
            .claim_message("w", 3, at, lease)
            .await
            .expect("claim")
            .is_none()
    );
    s.outbox
        .enqueue_message(&message(
            "m1",
            OutboxState::Pending,
            at - time::Duration::seconds(2),
        ))
        .await
        .expect("enqueue");
    s.outbox
        .enqueue_message(&message("gone", OutboxState::Discarded, at))
        .await
        .expect("enqueue");
    // Not due yet: not claimed.
    s.outbox
        .enqueue_message(&message(
            "later",
            OutboxState::Pending,
            at + time::Duration::hours(1),
        ))
        .await
        .expect("enqueue");

    // Waiting: the due one and the later one, not the discarded one.
    assert_eq!(s.outbox.pending_messages().await.expect("pending"), 2);

    // Many claimers at once: exactly one gets the message.
    let mut claimers = tokio::task::JoinSet::new();
    for i in 0..8 {
        let s = s.clone();
        claimers.spawn(async move {
            s.outbox
                .claim_message(&format!("w{i}"), 3, at, lease)
                .await
                .expect("claim")
        });
    }
    let mut won = Vec::new();
    while let Some(claim) = claimers.join_next().await {
        won.extend(claim.expect("claimer"));
    }
    assert_eq!(won.len(), 1, "one claimer wins");
    let got = &won[0];
    assert_eq!((got.id.as_str(), got.attempts), ("m1", 1));
    assert_eq!(got.sealed, vec![1, 2, 3]);
    assert_eq!(got.due_at, lease, "leased");
    // Leased: nobody claims it until the lease ends; then it is claimed again.
    assert!(
        s.outbox
            .claim_message("x", 3, at, lease)
            .await
            .expect("claim")
            .is_none()
    );
    let again = s
        .outbox
        .claim_message("x", 3, lease, lease + time::Duration::minutes(2))
        .await
        .expect("claim")
        .expect("lease over");
    assert_eq!((again.id.as_str(), again.attempts), ("m1", 2));
    // The earlier claimer lost it: its outcome is not recorded.
    for i in 0..8 {
        assert!(
            !s.outbox
                .message_sent("m1", &format!("w{i}"), at)
                .await
                .expect("sent")
        );
    }
    // A failure with a retry makes it due again at that time, with its attempts kept.
    let retry = lease + time::Duration::seconds(30);
    assert!(
        s.outbox
            .message_failed("m1", "x", "relay said no", Some(retry), lease)
            .await
            .expect("failed")
    );
    assert!(
        s.outbox
            .claim_message(
                "y",
                3,
                retry - time::Duration::seconds(1),
                retry + time::Duration::minutes(2)
            )
            .await
            .expect("claim")
            .is_none()
    );
    let third = s
        .outbox
        .claim_message("y", 3, retry, retry + time::Duration::minutes(2))
        .await
        .expect("claim")
        .expect("due again");
    assert_eq!(third.attempts, 3);
    // Out of attempts: failed for good, never claimed again.
    assert!(
        s.outbox
            .message_failed("m1", "y", "relay said no", None, retry)
            .await
            .expect("failed")
    );
    let far = at + time::Duration::days(2);
    let far_lease = far + time::Duration::minutes(2);
    assert!(
        s.outbox
            .claim_message("z", 9, far, far_lease)
            .await
            .expect("claim")
            .map(|m| m.id)
            == Some("later".into())
    );
    assert!(
        s.outbox
            .claim_message("z", 9, far, far_lease)
            .await
            .expect("claim")
            .is_none()
    );
    assert!(
        s.outbox
            .message_sent("later", "z", far)
            .await
            .expect("sent")
    );
    assert_eq!(s.outbox.pending_messages().await.expect("pending"), 0);
    assert!(
        !s.outbox
            .message_sent("later", "z", far)
            .await
            .expect("sent"),
        "once"
    );

    // Counting per kind and recipient sees every state, within the window.
    let since = at - time::Duration::minutes(1);
    assert_eq!(
        s.outbox
            .count_messages("password_reset", &[7; 32], since)
            .await
            .expect("count"),
        3
    );
    assert_eq!(
        s.outbox
            .count_messages("password_reset", &[8; 32], since)
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        s.outbox
            .count_messages("unblock", &[7; 32], since)
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        s.outbox
            .count_messages("password_reset", &[7; 32], at + time::Duration::minutes(1))
            .await
            .expect("count"),
        1
    );
    // Sweeping removes rows queued before the cut-off.
    s.setup
        .sweep_expired(at + time::Duration::minutes(1))
        .await
        .expect("sweep");
    assert_eq!(
        s.outbox
            .count_messages("password_reset", &[7; 32], since - time::Duration::days(9))
            .await
            .expect("count"),
        1
    );
}

async fn one_time_values_are_used_once(s: Stores) {
    let at = now();
    let later = at + time::Duration::minutes(10);
    let (a, b) = tokio::join!(
        s.sessions.use_once(&[1; 32], later, at),
        s.sessions.use_once(&[1; 32], later, at)
    );
    assert_eq!(
        [a.expect("use"), b.expect("use")]
            .iter()
            .filter(|won| **won)
            .count(),
        1,
        "of two concurrent uses exactly one wins"
    );
    assert!(s.sessions.use_once(&[2; 32], later, at).await.expect("use"));
    assert!(!s.sessions.use_once(&[1; 32], later, at).await.expect("use"));
    // Once its time is over a mark is forgotten (its value has expired anyway).
    assert!(
        s.sessions
            .use_once(
                &[1; 32],
                later + time::Duration::minutes(10),
                later + time::Duration::seconds(1)
            )
            .await
            .expect("use")
    );
}

async fn idp_tokens_stay_with_their_identity(s: Stores) {
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let mut primary = database_user("main@example.com");
    let mut secondary = database_user("second@example.com");
    secondary.identities[0].idp_tokens = Some("sealed-1".into());
    for u in [&primary, &secondary] {
        s.users.insert_user(u).await.expect("insert");
    }
    let read = |u: &User| {
        let s = &s;
        let id = u.user_id.clone();
        async move { s.users.user(&id).await.expect("read").expect("user") }
    };
    assert_eq!(
        read(&secondary).await.identities[0].idp_tokens.as_deref(),
        Some("sealed-1")
    );
    secondary.identities[0].idp_tokens = Some("sealed-2".into());
    s.users.update_user(&secondary).await.expect("update");
    assert_eq!(
        read(&secondary).await.identities[0].idp_tokens.as_deref(),
        Some("sealed-2")
    );
    s.users
        .link_identity(&primary.user_id, &secondary.user_id, &json!({}))
        .await
        .expect("link");
    primary = read(&primary).await;
    assert_eq!(primary.identities[0].idp_tokens, None);
    assert_eq!(
        primary.identities[1].idp_tokens.as_deref(),
        Some("sealed-2")
    );
}

async fn consents_list_and_forget(s: Stores) {
    use gatehouse_core::store::ConsentFilter;
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let (ada, bo) = (
        database_user("ada@example.com"),
        database_user("bo@example.com"),
    );
    for u in [&ada, &bo] {
        s.users.insert_user(u).await.expect("user");
    }
    let (shop, blog) = (client("shop"), client("blog"));
    for c in [&shop, &blog] {
        s.clients.insert_client(c).await.expect("client");
    }
    let api = gatehouse_core::id::Audience::from("https://api.example");
    let none = gatehouse_core::id::Audience::from("");
    for (user, c, audience) in [
        (&ada, &shop, &api),
        (&ada, &blog, &none),
        (&bo, &shop, &api),
    ] {
        s.sessions
            .save_consent(
                &user.user_id,
                &c.client_id,
                audience,
                &["openid".into()],
                now(),
            )
            .await
            .expect("save");
    }
    let of_ada = ConsentFilter {
        user_id: Some(ada.user_id.clone()),
        ..ConsentFilter::default()
    };
    let listed = s
        .sessions
        .list_consents(&of_ada, Page::number(0, 10))
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].scope, ["openid"]);
    assert_eq!(s.sessions.count_consents(&of_ada).await.expect("count"), 2);
    let everyone = ConsentFilter::default();
    assert_eq!(s.sessions.count_consents(&everyone).await.expect("all"), 3);
    let page = s
        .sessions
        .list_consents(&everyone, Page::number(1, 2))
        .await
        .expect("page");
    assert_eq!(page.len(), 1);
    let one = ConsentFilter {
        user_id: Some(ada.user_id.clone()),
        client_id: Some(shop.client_id.clone()),
        audience: Some(api.clone()),
    };
    assert_eq!(s.sessions.delete_consents(&one).await.expect("delete"), 1);
    assert_eq!(s.sessions.delete_consents(&one).await.expect("again"), 0);
    assert_eq!(s.sessions.count_consents(&everyone).await.expect("left"), 2);
    assert_eq!(
        s.sessions
            .consent(&bo.user_id, &shop.client_id, &api)
            .await
            .expect("kept"),
        Some(vec!["openid".to_owned()])
    );
}

async fn daily_counts_and_active_users(s: Stores) {
    use gatehouse_core::log::LogEvent;
    use gatehouse_core::log_type::LogType;
    use time::macros::datetime;
    s.setup
        .apply_seed(&plan("boot", false, 1))
        .await
        .expect("seed");
    let day1 = datetime!(2026-11-27 23:59:00 UTC);
    let day2 = datetime!(2026-11-28 00:00:01 UTC);
    let mut events = Vec::new();
    for (kind, at, user) in [
        (LogType::SuccessLogin, day1, None),
        (LogType::SuccessSignup, day1, Some("auth0|b")),
        (LogType::SuccessLogin, day2, Some("auth0|a")),
        (LogType::SuccessLogin, day2, Some("auth0|a")),
        (LogType::FailedLogin, day2, Some("auth0|b")),
        (
            LogType::SuccessLogin,
            datetime!(2026-11-30 10:00:00 UTC),
            None,
        ),
    ] {
        let mut event = LogEvent::new(kind, uuid::Uuid::now_v7().simple().to_string(), at);
        event.user_id = user.map(str::to_owned);
        events.push(event);
    }
    s.logs.append_logs(&events).await.expect("append");
    let counts = s
        .logs
        .daily_counts(
            &DailyTypes {
                login: LogType::SuccessLogin.code(),
                signup: LogType::SuccessSignup.code(),
                failures: &[LogType::FailedLogin.code(), LogType::FailedSignup.code()],
            },
            datetime!(2026-11-27 00:00:00 UTC),
            datetime!(2026-11-30 00:00:00 UTC),
        )
        .await
        .expect("counts");
    let got: Vec<(&str, i64, i64, i64, i64)> = counts
        .iter()
        .map(|c| {
            (
                c.day.as_str(),
                c.logins,
                c.signups,
                c.failures,
                c.active_users,
            )
        })
        .collect();
    // Two logins of one user on the 28th: one active user; a login without a user counts none.
    assert_eq!(
        got,
        [("2026-11-27", 1, 1, 0, 0), ("2026-11-28", 2, 0, 1, 1)]
    );

    let user = database_user("active@example.com");
    s.users.insert_user(&user).await.expect("user");
    let at = now();
    assert_eq!(s.users.count_active_users(at).await.expect("none"), 0);
    s.users
        .record_login(&user.user_id, None, at)
        .await
        .expect("login");
    let since = at - time::Duration::days(30);
    assert_eq!(s.users.count_active_users(since).await.expect("one"), 1);
}

/// Named documents: none before the first write, then written by compare-and-set, so of
/// two writers that read the same version exactly one wins; names are separate.
async fn documents_are_written_by_compare_and_set(s: Stores) {
    use serde_json::json;
    assert_eq!(s.documents.document("authz").await.expect("read"), None);
    let first = json!({"groups": [{"_id": "g1", "name": "Staff"}]});
    assert!(
        s.documents
            .save_document("authz", &first, 0)
            .await
            .expect("first write")
    );
    assert!(
        !s.documents
            .save_document("authz", &first, 0)
            .await
            .expect("a second first write")
    );
    assert_eq!(
        s.documents.document("authz").await.expect("read"),
        Some((first.clone(), 1))
    );
    assert_eq!(
        s.documents.document("actions").await.expect("other name"),
        None
    );
    let (a, b) = (json!({"v": "a"}), json!({"v": "b"}));
    let (wa, wb) = tokio::join!(
        s.documents.save_document("authz", &a, 1),
        s.documents.save_document("authz", &b, 1)
    );
    assert!(wa.expect("a") ^ wb.expect("b"), "exactly one writer wins");
    let (after, v) = s
        .documents
        .document("authz")
        .await
        .expect("read")
        .expect("written");
    assert_eq!(v, 2);
    assert!(after == a || after == b);
    assert!(
        !s.documents
            .save_document("authz", &first, 1)
            .await
            .expect("stale")
    );
}

/// Log retention: events older than the cut-off go, the others stay.
async fn old_log_events_are_deleted_at_the_retention_cut_off(s: Stores) {
    use gatehouse_core::log::LogEvent;
    use gatehouse_core::log_type::LogType;
    let at = now();
    let day = time::Duration::days(1);
    let events: Vec<LogEvent> = [at - day * 40, at - day * 31, at - day * 29, at]
        .into_iter()
        .map(|date| {
            LogEvent::new(
                LogType::SuccessLogin,
                uuid::Uuid::now_v7().simple().to_string(),
                date,
            )
        })
        .collect();
    s.logs.append_logs(&events).await.expect("append");
    let gone = s
        .logs
        .delete_logs_before(at - day * 30)
        .await
        .expect("delete");
    assert_eq!(gone, 2);
    for (e, kept) in events.iter().zip([false, false, true, true]) {
        assert_eq!(
            s.logs.log(&e.log_id).await.expect("read").is_some(),
            kept,
            "{}",
            e.date
        );
    }
}

/// The log writer's largest batch goes in whole, across the statement's row chunks, with
/// every field, and writing it again changes nothing.
async fn a_full_log_batch_is_written_whole(s: Stores) {
    use gatehouse_core::log::LogEvent;
    use gatehouse_core::log_type::LogType;
    let at = now();
    let events: Vec<LogEvent> = (0..600)
        .map(|i| {
            let mut e = LogEvent::new(
                LogType::SuccessExchangeClientCredentials,
                uuid::Uuid::now_v7().simple().to_string(),
                at,
            );
            e.client_id = Some(format!("client-{i}"));
            e.audience = Some("https://api.example.com".into());
            e.details = serde_json::json!({"n": i});
            e
        })
        .collect();
    s.logs.append_logs(&events).await.expect("append");
    s.logs.append_logs(&events).await.expect("again");
    for e in [&events[0], &events[255], &events[256], &events[599]] {
        let read = s.logs.log(&e.log_id).await.expect("read").expect("kept");
        assert_eq!(read.client_id, e.client_id);
        assert_eq!(read.audience, e.audience);
        assert_eq!(read.details, e.details);
    }
    let gone = s
        .logs
        .delete_logs_before(at + time::Duration::seconds(1))
        .await
        .expect("delete");
    assert_eq!(gone, 600, "each event once");
}

/// Actions' execution records: written in a batch (a repeated id keeps the first), read by
/// id, and swept once expired.
async fn action_executions_are_kept_until_they_expire(s: Stores) {
    use serde_json::json;
    let now = time::OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    assert_eq!(s.logs.execution("e1").await.expect("read"), None);
    let (a, b) = (json!({"id": "e1", "status": "final"}), json!({"id": "e2"}));
    s.logs
        .append_executions(&[
            ("e1".into(), a.clone(), now + day * 10),
            ("e2".into(), b.clone(), now - day),
            ("e1".into(), json!({"id": "e1", "status": "other"}), now),
        ])
        .await
        .expect("append");
    s.logs.append_executions(&[]).await.expect("nothing");
    assert_eq!(s.logs.execution("e1").await.expect("read"), Some(a.clone()));
    assert_eq!(s.logs.execution("e2").await.expect("read"), Some(b));
    assert!(s.setup.sweep_expired(now).await.expect("sweep") >= 1);
    assert_eq!(s.logs.execution("e2").await.expect("read"), None, "expired");
    assert_eq!(s.logs.execution("e1").await.expect("read"), Some(a), "kept");
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = gatehouse_store::testing::TestDatabase::sqlite();
                    super::$name(super::open(&db).await).await;
                }
            )*
        }
        /// Skipped (passing, with a note on stderr) when GATEHOUSE_TEST_DATABASE_URL is
        /// unset; failing instead when `CI` is set (`TestDatabase::postgres`).
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = gatehouse_store::testing::TestDatabase::postgres().await else {
                        return;
                    };
                    super::$name(super::open(&db).await).await;
                }
            )*
        }
    };
}

conformance!(
    a_full_log_batch_is_written_whole,
    stalled_jobs_are_failed,
    concurrent_tenant_edits_are_all_kept,
    modifying_an_unseeded_tenant_is_not_found,
    documents_are_written_by_compare_and_set,
    action_executions_are_kept_until_they_expire,
    old_log_events_are_deleted_at_the_retention_cut_off,
    seed_is_idempotent,
    new_management_scopes_reach_an_existing_tenant,
    configured_bootstrap_is_enforced,
    clients_round_trip,
    client_grants_need_client_and_api,
    connections_keep_enabled_clients,
    new_clients_are_enabled_on_every_connection,
    users_resolve_through_identities,
    signing_keys_rotate,
    concurrent_rotations_stay_consistent,
    ping_answers,
    sessions_and_codes,
    consents_list_and_forget,
    daily_counts_and_active_users,
    logins_and_refresh_tokens,
    logs_append_filter_and_page,
    roles_permissions_and_members,
    user_search_and_updates,
    users_walk_by_id,
    connections_filter_update_and_delete,
    clients_update_count_and_delete,
    resource_servers_update_and_delete,
    client_grants_filter_page_and_update,
    jobs_keep_their_outcome,
    otps_are_single_use_with_few_attempts,
    identities_link_and_unlink,
    sweeping_removes_only_what_is_dead,
    login_failures_count_and_claim_turns,
    outbox_claims_are_exclusive_and_retried,
    revoked_refresh_families_stay_revoked,
    a_sessions_refresh_tokens_are_revoked_with_it,
    user_sessions_end_together,
    blocked_users_do_not_link,
    one_time_values_are_used_once,
    idp_tokens_stay_with_their_identity,
);

/// The two migration trees must define the same tables and columns.
#[tokio::test]
async fn migrations_agree_across_dialects() {
    use sqlx::Connection as _;
    // Skipped without GATEHOUSE_TEST_DATABASE_URL, failing instead under `CI`.
    let Some(pg) = TestDatabase::postgres().await else {
        return;
    };
    let lite = TestDatabase::sqlite();
    open(&pg).await;
    open(&lite).await;
    let mut pg_conn = sqlx::PgConnection::connect(&pg.url).await.expect("pg");
    let mut pg_cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut pg_conn)
    .await
    .expect("pg columns");
    let mut lite_conn = sqlx::SqliteConnection::connect(&lite.url)
        .await
        .expect("sqlite");
    let mut lite_cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE '_sqlx%' AND m.name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut lite_conn)
    .await
    .expect("sqlite columns");
    pg_cols.sort();
    lite_cols.sort();
    assert!(pg_cols.len() > 50);
    assert_eq!(pg_cols, lite_cols);
}

/// Migration 0015: database connections enforce `enabled_clients` from then on, so every
/// client existing when it runs is enabled on every database connection existing then (and
/// on no other kind); a tenant upgraded from 0011 keeps logging in as before.
#[tokio::test]
async fn upgrade_enables_existing_clients_on_database_connections() {
    use sqlx::Connection as _;
    for db in TestDatabase::all().await {
        let postgres = db.url.starts_with("postgres");
        let dialect = if postgres { "postgres" } else { "sqlite" };
        let old = tempfile::tempdir().expect("dir");
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dialect);
        for entry in std::fs::read_dir(&src).expect("migrations") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if name.as_str() < "0012" {
                std::fs::copy(&path, old.path().join(&name)).expect("copy");
            }
        }
        let migrator = sqlx::migrate::Migrator::new(old.path())
            .await
            .expect("old migrations");
        // A tenant of that time: two clients, a database and a passwordless connection.
        let rows = [
            "INSERT INTO clients (client_id, name, app_type, settings, created_at, updated_at) \
             VALUES ('shop', 'Shop', 'spa', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            "INSERT INTO clients (client_id, name, app_type, settings, created_at, updated_at) \
             VALUES ('staff', 'Staff', 'spa', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            "INSERT INTO connections (id, name, strategy, options, created_at, updated_at) \
             VALUES ('con_db', 'Username-Password-Authentication', 'auth0', '{}', \
             '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            "INSERT INTO connections (id, name, strategy, options, created_at, updated_at) \
             VALUES ('con_email', 'email', 'email', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            "INSERT INTO connection_clients (connection_id, client_id) VALUES ('con_email', 'staff')",
        ];
        if postgres {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("pg");
            migrator.run(&mut conn).await.expect("migrate to 0011");
            for sql in rows {
                sqlx::query(sql).execute(&mut conn).await.expect("row");
            }
            conn.close().await.ok();
        } else {
            let url = format!("{}?mode=rwc", db.url);
            let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
            migrator.run(&mut conn).await.expect("migrate to 0011");
            for sql in rows {
                sqlx::query(sql).execute(&mut conn).await.expect("row");
            }
            conn.close().await.ok();
        }
        let s = open(&db).await;
        let enabled = |id: &'static str| {
            let s = s.clone();
            async move {
                s.connections
                    .connection(id)
                    .await
                    .expect("get")
                    .expect("connection")
                    .enabled_clients
            }
        };
        assert_eq!(enabled("con_db").await, vec!["shop", "staff"], "{dialect}");
        assert_eq!(enabled("con_email").await, vec!["staff"], "{dialect}");
    }
}
