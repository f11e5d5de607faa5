//! The two pools and the macros that run one piece of SQL on whichever is configured.

use std::str::FromStr;
use std::time::Duration;

use gatehouse_core::store::{StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// The database behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub(crate) async fn connect(url: &str) -> StoreResult<Self> {
        let bad_url = |e: sqlx::Error| StoreError::Backend(Box::new(e));
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(bad_url)?
                .create_if_missing(true)
                // WAL: readers never wait for the writer. FULL: a commit is on disk before it
                // is acknowledged, so a power cut cannot bring back a revoked token or undo a
                // password change (NORMAL only survives a crash of the process; see
                // ARCHITECTURE.md, "Durability").
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                // Generous: several servers starting on one file queue behind the first one's
                // migrations, which take longer on a loaded machine.
                .busy_timeout(Duration::from_secs(15));
            // SQLite has one writer; writes take BEGIN IMMEDIATE, so a few connections suffice.
            let pool = crate::error::retry_busy(|| {
                SqlitePoolOptions::new()
                    .max_connections(4)
                    .min_connections(1)
                    .connect_with(options.clone())
            })
            .await
            .map_err(bad_url)?;
            Ok(Pool::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url).map_err(bad_url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(bad_url)?;
            Ok(Pool::Postgres(pool))
        } else {
            Err(StoreError::Backend(
                "database URL must start with sqlite: or postgres:".into(),
            ))
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    pub(crate) fn status(&self) -> PoolStatus {
        let (open, idle, max) = match self {
            Pool::Sqlite(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            Pool::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        PoolStatus {
            in_use: open.saturating_sub(idle),
            idle,
            max,
        }
    }
}

/// How the connection pool is used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections serving a query or a transaction.
    pub in_use: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// Evaluates `$body` with `$p` bound to the configured pool; the body is compiled once per
/// dialect, so it may only use SQL and types both drivers accept.
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.pool {
            $crate::pool::Pool::Sqlite($p) => $body,
            $crate::pool::Pool::Postgres($p) => $body,
        }
    };
}

/// Evaluates `$body` inside a transaction bound to `$tx` and commits it; an early return
/// (`?`) drops the transaction, which rolls it back. SQLite transactions start IMMEDIATE so
/// that two writers queue on the busy timeout instead of failing on lock upgrade.
macro_rules! in_transaction {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.pool {
            $crate::pool::Pool::Sqlite(pool) => {
                let mut $tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err($crate::error::db)?;
                let out = $body;
                $tx.commit().await.map_err($crate::error::db)?;
                out
            }
            $crate::pool::Pool::Postgres(pool) => {
                let mut $tx = pool.begin().await.map_err($crate::error::db)?;
                let out = $body;
                $tx.commit().await.map_err($crate::error::db)?;
                out
            }
        }
    };
}

pub(crate) use {in_transaction, on_pool};
