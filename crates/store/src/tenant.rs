//! The tenant settings row.

use async_trait::async_trait;
use gatehouse_core::store::{StoreResult, TenantStore};
use gatehouse_core::tenant::TenantSettings;
use sqlx::types::Json;

use crate::SqlStore;
use crate::error::{db, one_row};
use crate::pool::on_pool;

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

    #[tracing::instrument(name = "TenantStore::update_tenant", skip_all, fields(otel.kind = "client"))]
    async fn update_tenant(&self, settings: &TenantSettings) -> StoreResult<()> {
        let n = on_pool!(self, p => sqlx::query("UPDATE tenant SET settings = $1 WHERE id = 1")
            .bind(Json(settings))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        one_row(n, "tenant")
    }
}
