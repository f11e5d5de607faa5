//! Named JSON documents, each one row written by compare-and-set on `version`.

use async_trait::async_trait;
use gatehouse_core::store::{DocumentStore, StoreResult};
use serde_json::Value;
use sqlx::types::Json;

use crate::SqlStore;
use crate::error::db;
use crate::pool::on_pool;

#[async_trait]
impl DocumentStore for SqlStore {
    #[tracing::instrument(name = "DocumentStore::document", skip_all, fields(otel.kind = "client"))]
    async fn document(&self, name: &str) -> StoreResult<Option<(Value, i64)>> {
        let row: Option<(Json<Value>, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT data, version FROM documents WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(|(d, v)| (d.0, v)))
    }

    #[tracing::instrument(name = "DocumentStore::save_document", skip_all, fields(otel.kind = "client"))]
    async fn save_document(&self, name: &str, data: &Value, version: i64) -> StoreResult<bool> {
        // The first write inserts the row (a second first write finds it taken); later ones
        // update it only at the version the writer read.
        let n = if version == 0 {
            on_pool!(self, p => sqlx::query(
                "INSERT INTO documents (name, data, version) VALUES ($1, $2, 1) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(Json(data))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?
        } else {
            on_pool!(self, p => sqlx::query(
                "UPDATE documents SET data = $2, version = version + 1 \
                 WHERE name = $1 AND version = $3",
            )
            .bind(name)
            .bind(Json(data))
            .bind(version)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?
        };
        Ok(n == 1)
    }
}
