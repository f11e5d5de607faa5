//! Start-up work on the database: migrations, the seed and the key ring.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{Config, Secret};
use crate::crypto::{Sealer, SecretHasher, random_secret};
use crate::ids;
use crate::signing::{self, KeySet};
use gatehouse_core::client::StoredSecret;
use gatehouse_core::seed::{BootstrapClient, SeedPlan, management_audience};
use gatehouse_core::signing_key::KeyState;
use gatehouse_core::store::Stores;

/// Bootstrap credentials gatehouse generated on a new database; shown once, never logged.
#[derive(Debug, Clone)]
pub struct BootstrapCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// The Management API audience to ask tokens for.
    pub audience: String,
}

/// What a start takes besides the settings: the clock, and where a new database's first
/// keys come from. Production uses the default; tests swap in an adjustable clock and keys
/// generated once per test process (two RSA keys per test app would dominate the suite).
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The clock handlers read.
    pub clock: Clock,
    /// PKCS#8 private keys for the current and next key of a new database; `None`: new ones.
    pub initial_private_keys: Option<Arc<[Vec<u8>; 2]>>,
}

/// What preparing the database left us with.
pub struct Prepared {
    /// The keys to sign with.
    pub keys: KeySet,
    /// Credentials to show the operator, when this start created them.
    pub new_credentials: Option<BootstrapCredentials>,
}

/// Makes the Authorization Extension's API (`urn:auth0-authz-api`) when the database has
/// none: on a new tenant, and once on one made before it existed. A replica that loses the
/// race to insert it finds it made.
async fn authz_api(stores: &Stores, now: time::OffsetDateTime) -> anyhow::Result<()> {
    use gatehouse_core::authz::{AUDIENCE, resource_server};
    use gatehouse_core::store::StoreError;
    let audience = gatehouse_core::id::Audience::from(AUDIENCE);
    if stores
        .resource_servers
        .resource_server_by_identifier(&audience)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let api = resource_server(ids::new_resource_server_id(), now);
    match stores.resource_servers.insert_resource_server(&api).await {
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Makes the admin dashboard's application and the administrators' connection when the
/// database lacks them (a new tenant, or one made before the dashboard existed), whether or
/// not the dashboard is served, so turning it on later finds them. The client's id derives
/// from the master key, so every replica names the same one and the loser of a race to
/// insert it finds it made.
async fn dashboard(
    stores: &Stores,
    issuer: &str,
    hasher: &SecretHasher,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    use gatehouse_core::admin::{ADMIN_CONNECTION, admin_connection, dashboard_client};
    use gatehouse_core::store::StoreError;
    let client_id = ids::dashboard_client_id(hasher);
    let wanted = dashboard_client(client_id.clone(), issuer, now);
    match stores.clients.client(&client_id).await? {
        None => match stores.clients.insert_client(&wanted).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        },
        // A new issuer (another domain, https now) moves the dashboard's callback with it.
        Some(mut found) if found.settings.callbacks != wanted.settings.callbacks => {
            found.settings.callbacks = wanted.settings.callbacks;
            found.settings.allowed_logout_urls = wanted.settings.allowed_logout_urls;
            found.updated_at = now;
            stores.clients.update_client(&found).await?;
        }
        Some(_) => {}
    }
    let name = gatehouse_core::id::ConnectionName::from(ADMIN_CONNECTION);
    if stores
        .connections
        .connection_by_name(&name)
        .await?
        .is_none()
    {
        let connection = admin_connection(ids::new_connection_id(), client_id, now);
        match stores.connections.insert_connection(&connection).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Migrates, seeds (once per database, even with replicas starting together) and loads keys.
pub async fn prepare(
    config: &Config,
    issuer: &str,
    stores: &Stores,
    sealer: &Arc<Sealer>,
    hasher: &SecretHasher,
    options: &StartOptions,
) -> anyhow::Result<Prepared> {
    stores.setup.migrate().await?;

    let existing = stores.signing_keys.signing_keys().await?;
    let initial_keys = if existing.iter().any(|k| k.state == KeyState::Current) {
        Vec::new()
    } else if let Some([current, next]) = options.initial_private_keys.as_deref() {
        vec![
            signing::from_private_key(sealer, current, KeyState::Current)?,
            signing::from_private_key(sealer, next, KeyState::Next)?,
        ]
    } else {
        // Two RSA key generations take ~100 ms; run them side by side off the runtime.
        let (a, b) = (sealer.clone(), sealer.clone());
        let current = tokio::task::spawn_blocking(move || signing::generate(&a, KeyState::Current));
        let next = tokio::task::spawn_blocking(move || signing::generate(&b, KeyState::Next));
        vec![current.await??, next.await??]
    };

    let (client_id, secret, configured) = match &config.bootstrap {
        Some((id, secret)) => (id.clone(), secret.clone(), true),
        None => (ids::new_client_id(), Secret::new(random_secret(48)), false),
    };
    let stored = StoredSecret {
        hash: hasher.hash(secret.expose()),
        sealed: sealer.seal(
            &format!("client_secret:{client_id}"),
            secret.expose().as_bytes(),
        ),
    };
    let plan = SeedPlan::new(
        issuer,
        BootstrapClient {
            client_id: client_id.clone().into(),
            secret: stored,
            configured,
        },
        initial_keys,
        ids::seed_ids(),
        options.clock.now(),
    );
    let outcome = stores.setup.apply_seed(&plan).await?;
    if outcome.new_database {
        tracing::info!("seeded a new database");
    }
    if outcome.management_scopes_added > 0 {
        tracing::info!(
            added = outcome.management_scopes_added,
            "the Management API has new scopes; grants that held every scope have them too"
        );
    }
    if outcome.keys_installed {
        tracing::info!("installed new signing keys");
    }
    authz_api(stores, options.clock.now()).await?;
    dashboard(stores, issuer, hasher, options.clock.now()).await?;
    let new_credentials =
        (!configured && outcome.bootstrap_client_written).then(|| BootstrapCredentials {
            client_id,
            client_secret: secret,
            audience: management_audience(issuer).into_string(),
        });

    let keys = KeySet::from_stored(&stores.signing_keys.signing_keys().await?, sealer)?;
    Ok(Prepared {
        keys,
        new_credentials,
    })
}
