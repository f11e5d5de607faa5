//! The tenant settings row.

use async_trait::async_trait;
use gatehouse_core::store::{StoreError, StoreResult, TenantStore};
use gatehouse_core::tenant::TenantSettings;
use sqlx::types::Json;

use crate::SqlStore;
use crate::error::db;
use crate::pool::{Dialect, in_transaction, on_pool};

#[async_trait]
impl TenantStore for SqlStore {
    #[tracing::instrument(name = "TenantStore::tenant", skip_all, fields(otel.kind = "client"))]
    async fn tenant(&self) -> StoreResult<Option<TenantSettings>> {
        let row: Option<(Json<TenantSettings>,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT settings FROM tenant WHERE id = 1",
        )
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(|(s,)| s.0))
    }

    #[tracing::instrument(name = "TenantStore::modify_tenant", skip_all, fields(otel.kind = "client"))]
    async fn modify_tenant(
        &self,
        change: &mut (dyn for<'t> FnMut(&'t mut TenantSettings) -> bool + Send),
    ) -> StoreResult<Option<TenantSettings>> {
        // SQLite's transactions begin IMMEDIATE: the writer lock is held from the read on.
        let read = match self.dialect() {
            Dialect::Postgres => "SELECT settings FROM tenant WHERE id = 1 FOR UPDATE",
            Dialect::Sqlite => "SELECT settings FROM tenant WHERE id = 1",
        };
        Ok(in_transaction!(self, tx => {
            let row: Option<(Json<TenantSettings>,)> = sqlx::query_as(read)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            let Some((Json(mut settings),)) = row else {
                return Err(StoreError::NotFound("tenant".into()));
            };
            if change(&mut settings) {
                sqlx::query("UPDATE tenant SET settings = $1 WHERE id = 1")
                    .bind(Json(&settings))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                Some(settings)
            } else {
                None
            }
        }))
    }
}
