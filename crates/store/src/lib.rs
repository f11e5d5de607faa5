//! gatehouse-store: the storage traits of `gatehouse-core` on SQLite and PostgreSQL.
//!
//! One [`SqlStore`] implements every trait. The SQL is written once with `$N` placeholders
//! and runs on both dialects (sqlx's SQLite driver maps `$N` to the N-th bind); only the
//! migrations differ, one tree per dialect under `migrations/`.

mod backup;
mod changes;
mod clients;
mod connections;
mod documents;
mod error;
mod jobs;
mod logs;
mod otps;
mod outbox;
mod pool;
mod refresh_tokens;
mod resource_servers;
mod roles;
mod sessions;
mod setup;
mod signing_keys;
mod tenant;
mod user_query;
mod users;

use std::sync::Arc;

use gatehouse_core::store::{StoreResult, Stores};

pub use changes::{CHANNEL, Heard};
pub use pool::{Dialect, PoolStatus};

/// A connection pool to SQLite or PostgreSQL that implements every storage trait.
#[derive(Clone)]
pub struct SqlStore {
    pool: pool::Pool,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("dialect", &self.dialect())
            .finish()
    }
}

impl SqlStore {
    /// Connects to `sqlite://path` (created if missing) or `postgres://...`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Ok(SqlStore {
            pool: pool::Pool::connect(url).await?,
        })
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.pool.dialect()
    }

    /// How many connections are in use, idle, and allowed.
    pub fn pool_status(&self) -> PoolStatus {
        self.pool.status()
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The store behind each trait object.
    pub fn into_stores(self) -> Stores {
        let this = Arc::new(self);
        Stores {
            setup: this.clone(),
            tenant: this.clone(),
            clients: this.clone(),
            resource_servers: this.clone(),
            client_grants: this.clone(),
            connections: this.clone(),
            users: this.clone(),
            roles: this.clone(),
            logs: this.clone(),
            refresh_tokens: this.clone(),
            sessions: this.clone(),
            jobs: this.clone(),
            otps: this.clone(),
            outbox: this.clone(),
            documents: this.clone(),
            signing_keys: this,
        }
    }
}

#[cfg(feature = "testing")]
pub mod testing;
