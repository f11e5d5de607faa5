//! Change announcements between replicas: on PostgreSQL a `NOTIFY` on one channel whose
//! payload names the schema (replicas of another tenant on the same database ignore it) and
//! what changed; SQLite is one process, so there is nothing to tell.

use std::time::Duration;

use gatehouse_core::store::StoreResult;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use crate::SqlStore;
use crate::error::db;
use crate::pool::Pool;

/// The channel every replica listens on.
pub const CHANNEL: &str = "gatehouse_changes";

/// What a listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A replica (this one included) announced that this changed.
    Changed(String),
    /// The connection dropped and was made again: announcements may have been missed.
    MaybeMissed,
}

impl SqlStore {
    /// Tells every replica on this database that `what` changed (nothing on SQLite).
    pub async fn announce(&self, what: &str) -> StoreResult<()> {
        if let Pool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify($1, current_schema() || ':' || $2)")
                .bind(CHANNEL)
                .bind(what)
                .execute(pool)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// What replicas announce from now on, this one's announcements included; `None` on
    /// SQLite. A task of its own holds the listening connection until the receiver is
    /// dropped, connecting again after a failure (saying so with [`Heard::MaybeMissed`]).
    pub async fn listen(&self) -> StoreResult<Option<mpsc::Receiver<Heard>>> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(None);
        };
        let (schema,): (String,) = sqlx::query_as("SELECT current_schema()")
            .fetch_one(pool)
            .await
            .map_err(db)?;
        let mut listener = PgListener::connect_with(pool).await.map_err(db)?;
        listener.listen(CHANNEL).await.map_err(db)?;
        let prefix = format!("{schema}:");
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let heard = match listener.try_recv().await {
                    Ok(Some(n)) => match n.payload().strip_prefix(&prefix) {
                        Some(what) => Heard::Changed(what.to_owned()),
                        None => continue,
                    },
                    // The connection was lost; the next call connects again.
                    Ok(None) => Heard::MaybeMissed,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        Heard::MaybeMissed
                    }
                };
                if tx.send(heard).await.is_err() {
                    return;
                }
            }
        });
        Ok(Some(rx))
    }
}
