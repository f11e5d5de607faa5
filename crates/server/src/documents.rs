//! Typed access to the store's named documents (`DocumentStore`): each is read whole and
//! written back by compare-and-set on its version, so two writers on any replicas never
//! undo one another; [`edit`] retries a write that lost.

use gatehouse_core::store::{StoreError, StoreResult, Stores};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The document `name` as `T` (`T::default()` before its first write) and its version.
pub async fn load<T: DeserializeOwned + Default>(
    stores: &Stores,
    name: &str,
) -> StoreResult<(T, i64)> {
    match stores.documents.document(name).await? {
        Some((value, version)) => serde_json::from_value(value)
            .map(|t| (t, version))
            .map_err(|e| StoreError::Corrupt(format!("document {name}: {e}"))),
        None => Ok((T::default(), 0)),
    }
}

/// Why [`edit`] did not write.
#[derive(Debug)]
pub enum EditError<E> {
    /// The change refused (its own error).
    Refused(E),
    /// Other writers kept coming first.
    Busy,
    /// The store failed.
    Store(StoreError),
}

/// Applies `change` to the document `name` and writes it, from a fresh read again when
/// another writer came first (at most a few times); the catalog then drops its copies.
pub async fn edit<T, R, E>(
    state: &crate::AppState,
    name: &str,
    mut change: impl FnMut(&mut T) -> Result<R, E>,
) -> Result<R, EditError<E>>
where
    T: DeserializeOwned + Serialize + Default,
{
    let stores = &state.stores;
    for _ in 0..8 {
        let (mut doc, version): (T, i64) = load(stores, name).await.map_err(EditError::Store)?;
        let out = change(&mut doc).map_err(EditError::Refused)?;
        let value = serde_json::to_value(&doc)
            .map_err(|e| EditError::Store(StoreError::Corrupt(e.to_string())))?;
        if stores
            .documents
            .save_document(name, &value, version)
            .await
            .map_err(EditError::Store)?
        {
            state.changed(crate::replicas::Change::Catalog).await;
            return Ok(out);
        }
    }
    Err(EditError::Busy)
}
