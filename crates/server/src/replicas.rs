//! Keeping every replica's caches in step: a write that changes what replicas cache (the
//! catalog of clients, APIs, grants, tenant settings and documents; the signing keys) is
//! forgotten here at once and announced to the others (PostgreSQL `NOTIFY`), which forget or
//! reload it when they hear it. Missed announcements (a dropped listening connection) are
//! covered by forgetting everything on reconnect, and by the catalog's TTL and the periodic
//! key refresh as the last safety net. SQLite is one process: the announcement is nothing.

use gatehouse_store::Heard;

use crate::AppState;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Something the catalog caches.
    Catalog,
    /// The signing keys.
    Keys,
}

impl Change {
    fn name(self) -> &'static str {
        match self {
            Change::Catalog => "catalog",
            Change::Keys => "keys",
        }
    }
}

impl AppState {
    /// After a write: this replica drops what `change` makes stale, and the others are told.
    /// A failed announcement is logged (peers then catch up by their TTL), never the
    /// request's failure: the write itself succeeded.
    pub async fn changed(&self, change: Change) {
        if change == Change::Catalog {
            self.catalog.clear();
        }
        if let Err(e) = self.store().announce(change.name()).await {
            tracing::warn!(error = %e, change = change.name(), "could not tell the other replicas");
        }
    }
}

/// Starts listening (before the server serves, so no announcement made after its first
/// answer is missed), then follows what is heard until the feed ends (none on SQLite).
pub async fn follower(state: AppState) -> tokio::task::JoinHandle<()> {
    let heard = match state.store().listen().await {
        Ok(heard) => heard,
        Err(e) => {
            tracing::warn!(error = %e, "cannot hear other replicas: caches follow by TTL only");
            None
        }
    };
    tokio::spawn(async move {
        if let Some(heard) = heard {
            follow(state, heard).await;
        }
    })
}

async fn follow(state: AppState, mut heard: tokio::sync::mpsc::Receiver<Heard>) {
    while let Some(h) = heard.recv().await {
        let (catalog, keys) = match &h {
            Heard::Changed(what) => (what == "catalog", what == "keys"),
            Heard::MaybeMissed => (true, true),
        };
        if catalog {
            state.catalog.clear();
        }
        if keys && let Err(e) = state.refresh_keys().await {
            tracing::warn!(error = %e, "could not reload the signing keys");
        }
    }
}
