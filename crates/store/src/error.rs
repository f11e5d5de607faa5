//! Mapping of driver errors onto the core's `StoreError`.

use gatehouse_core::store::StoreError;

/// Unique violations become `Conflict`, foreign-key violations `NotFound`, the rest `Backend`.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            return StoreError::Conflict(d.message().to_owned());
        }
        if d.is_foreign_key_violation() {
            return StoreError::NotFound(d.message().to_owned());
        }
    }
    StoreError::Backend(Box::new(e))
}

/// Whether SQLite said "database is locked" (SQLITE_BUSY and its extended codes). Some
/// paths return it without waiting on the busy timeout: another connection opening the
/// database's WAL at the same moment, for one.
pub(crate) fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d)
        if d.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == 5))
}

/// Runs `attempt` again (up to five tries, waiting a little longer each time) while SQLite
/// answers "database is locked" without having waited: servers starting together on one
/// file.
pub(crate) async fn retry_busy<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0u64;
    loop {
        match attempt().await {
            Err(e) if is_sqlite_busy(&e) && tries < 4 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100 * tries)).await;
            }
            other => return other,
        }
    }
}

/// A stored value that does not parse back into the domain.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// `NotFound` unless exactly the expected row changed.
pub(crate) fn one_row(affected: u64, what: impl std::fmt::Display) -> Result<(), StoreError> {
    if affected == 0 {
        Err(StoreError::NotFound(what.to_string()))
    } else {
        Ok(())
    }
}
