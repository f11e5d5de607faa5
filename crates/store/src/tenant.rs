//! The tenant settings row.

use async_trait::async_trait;
use gatehouse_core::store::{StoreResult, TenantStore};
use gatehouse_core::tenant::TenantSettings;
use sqlx::types::Json;

use crate::SqlStore;
use crate::error::db;
use crate::pool::on_pool;

#[async_trait]
impl TenantStore for SqlStore {
    async fn tenant(&self) -> StoreResult<Option<TenantSettings>> {
        let row: Option<(Json<TenantSettings>,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT settings FROM tenant WHERE id = 1",
        )
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(|(s,)| s.0))
    }
}
