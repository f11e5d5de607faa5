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
