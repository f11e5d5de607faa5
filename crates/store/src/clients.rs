//! Applications and client grants.

use async_trait::async_trait;
use gatehouse_core::client::{AppType, Client, ClientSettings, StoredSecret};
use gatehouse_core::client_grant::ClientGrant;
use gatehouse_core::id::{Audience, ClientId};
use gatehouse_core::store::{ClientGrantFilter, ClientGrantStore, ClientStore, Page, StoreResult};
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::{corrupt, db, one_row};
use crate::pool::{in_transaction, on_pool};

pub(crate) const INSERT_CLIENT: &str = "INSERT INTO clients \
    (client_id, name, app_type, is_system, secret_hash, secret_sealed, settings, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Enables client `$1` on every connection but `$2`, the administrators' one, which stays
/// the dashboard's alone (`gatehouse_core::admin`).
pub(crate) const ENABLE_ON_ALL_CONNECTIONS: &str = "INSERT INTO connection_clients (connection_id, client_id) \
    SELECT id, $1 FROM connections WHERE name <> $2 ON CONFLICT DO NOTHING";

pub(crate) const INSERT_CLIENT_GRANT: &str = "INSERT INTO client_grants (id, client_id, audience, scope, created_at, extra) VALUES ($1, $2, $3, $4, $5, $6)";

const CLIENT_COLUMNS: &str = "SELECT client_id, name, app_type, is_system, secret_hash, secret_sealed, \
    settings, created_at, updated_at FROM clients";

/// Binds a client to [`INSERT_CLIENT`]; a macro because the query type differs per dialect.
macro_rules! bind_client {
    ($sql:expr, $c:expr) => {{
        let c: &gatehouse_core::client::Client = $c;
        sqlx::query($sql)
            .bind(c.client_id.as_str())
            .bind(c.name.as_str())
            .bind(c.app_type.as_str())
            .bind(c.is_system)
            .bind(c.secret.as_ref().map(|s| s.hash.clone()))
            .bind(c.secret.as_ref().map(|s| s.sealed.clone()))
            .bind(sqlx::types::Json(&c.settings))
            .bind(c.created_at)
            .bind(c.updated_at)
    }};
}

/// Binds a grant to [`INSERT_CLIENT_GRANT`].
macro_rules! bind_client_grant {
    ($sql:expr, $g:expr) => {{
        let g: &gatehouse_core::client_grant::ClientGrant = $g;
        sqlx::query($sql)
            .bind(&g.id)
            .bind(g.client_id.as_str())
            .bind(g.audience.as_str())
            .bind(sqlx::types::Json(&g.scope))
            .bind(g.created_at)
            .bind(sqlx::types::Json(&g.extra))
    }};
}

pub(crate) use {bind_client, bind_client_grant};

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    app_type: String,
    is_system: bool,
    secret_hash: Option<Vec<u8>>,
    secret_sealed: Option<Vec<u8>>,
    settings: Json<ClientSettings>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<ClientRow> for Client {
    type Error = gatehouse_core::store::StoreError;

    fn try_from(r: ClientRow) -> Result<Self, Self::Error> {
        let app_type = AppType::parse(&r.app_type)
            .ok_or_else(|| corrupt(format!("client {} app_type {}", r.client_id, r.app_type)))?;
        let secret = match (r.secret_hash, r.secret_sealed) {
            (Some(hash), Some(sealed)) => Some(StoredSecret { hash, sealed }),
            _ => None,
        };
        Ok(Client {
            client_id: r.client_id.into(),
            name: r.name,
            app_type,
            is_system: r.is_system,
            secret,
            settings: r.settings.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ClientGrantRow {
    id: String,
    client_id: String,
    audience: String,
    scope: Json<Vec<String>>,
    created_at: OffsetDateTime,
    extra: Json<serde_json::Map<String, serde_json::Value>>,
}

impl From<ClientGrantRow> for ClientGrant {
    fn from(r: ClientGrantRow) -> Self {
        ClientGrant {
            id: r.id,
            client_id: r.client_id.into(),
            audience: r.audience.into(),
            scope: r.scope.0,
            created_at: r.created_at,
            extra: r.extra.0,
        }
    }
}

#[async_trait]
impl ClientStore for SqlStore {
    #[tracing::instrument(name = "ClientStore::insert_client", skip_all, fields(otel.kind = "client"))]
    async fn insert_client(&self, client: &Client) -> StoreResult<()> {
        on_pool!(self, p => bind_client!(INSERT_CLIENT, client).execute(p).await.map(|r| r.rows_affected()).map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "ClientStore::insert_client_on_all_connections", skip_all, fields(otel.kind = "client"))]
    async fn insert_client_on_all_connections(&self, client: &Client) -> StoreResult<()> {
        in_transaction!(self, tx => {
            bind_client!(INSERT_CLIENT, client)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            sqlx::query(ENABLE_ON_ALL_CONNECTIONS)
                .bind(client.client_id.as_str())
                .bind(gatehouse_core::admin::ADMIN_CONNECTION)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        });
        Ok(())
    }

    #[tracing::instrument(name = "ClientStore::client", skip_all, fields(otel.kind = "client"))]
    async fn client(&self, client_id: &ClientId) -> StoreResult<Option<Client>> {
        let sql = sqlx::AssertSqlSafe(format!("{CLIENT_COLUMNS} WHERE client_id = $1"));
        let row: Option<ClientRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(client_id.as_str())
            .fetch_optional(p)
            .await
            .map_err(db))?;
        row.map(Client::try_from).transpose()
    }

    #[tracing::instrument(name = "ClientStore::list_clients", skip_all, fields(otel.kind = "client"))]
    async fn list_clients(&self, page: Page) -> StoreResult<Vec<Client>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{CLIENT_COLUMNS} ORDER BY created_at, client_id LIMIT $1 OFFSET $2"
        ));
        let rows: Vec<ClientRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(i64::from(page.limit))
            .bind(page.offset)
            .fetch_all(p)
            .await
            .map_err(db))?;
        rows.into_iter().map(Client::try_from).collect()
    }

    #[tracing::instrument(name = "ClientStore::count_clients", skip_all, fields(otel.kind = "client"))]
    async fn count_clients(&self) -> StoreResult<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as("SELECT COUNT(*) FROM clients")
            .fetch_one(p)
            .await
            .map_err(db))?;
        Ok(n)
    }

    #[tracing::instrument(name = "ClientStore::update_client", skip_all, fields(otel.kind = "client"))]
    async fn update_client(&self, c: &Client) -> StoreResult<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE clients SET name = $2, app_type = $3, is_system = $4, secret_hash = $5, \
             secret_sealed = $6, settings = $7, updated_at = $8 WHERE client_id = $1",
        )
        .bind(c.client_id.as_str())
        .bind(c.name.as_str())
        .bind(c.app_type.as_str())
        .bind(c.is_system)
        .bind(c.secret.as_ref().map(|s| s.hash.clone()))
        .bind(c.secret.as_ref().map(|s| s.sealed.clone()))
        .bind(Json(&c.settings))
        .bind(c.updated_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        one_row(n, format!("client {}", c.client_id))
    }

    #[tracing::instrument(name = "ClientStore::delete_client", skip_all, fields(otel.kind = "client"))]
    async fn delete_client(&self, client_id: &ClientId) -> StoreResult<()> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        one_row(n, format!("client {client_id}"))
    }
}

#[async_trait]
impl ClientGrantStore for SqlStore {
    #[tracing::instrument(name = "ClientGrantStore::insert_client_grant", skip_all, fields(otel.kind = "client"))]
    async fn insert_client_grant(&self, grant: &ClientGrant) -> StoreResult<()> {
        on_pool!(self, p => bind_client_grant!(INSERT_CLIENT_GRANT, grant).execute(p).await.map(|r| r.rows_affected()).map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "ClientGrantStore::client_grant", skip_all, fields(otel.kind = "client"))]
    async fn client_grant(
        &self,
        client_id: &ClientId,
        audience: &Audience,
    ) -> StoreResult<Option<ClientGrant>> {
        let row: Option<ClientGrantRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, client_id, audience, scope, created_at, extra FROM client_grants \
             WHERE client_id = $1 AND audience = $2",
        )
        .bind(client_id.as_str())
        .bind(audience.as_str())
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(ClientGrant::from))
    }

    #[tracing::instrument(name = "ClientGrantStore::client_grant_by_id", skip_all, fields(otel.kind = "client"))]
    async fn client_grant_by_id(&self, id: &str) -> StoreResult<Option<ClientGrant>> {
        let row: Option<ClientGrantRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, client_id, audience, scope, created_at, extra FROM client_grants WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(ClientGrant::from))
    }

    #[tracing::instrument(name = "ClientGrantStore::list_client_grants", skip_all, fields(otel.kind = "client"))]
    async fn list_client_grants(
        &self,
        filter: &ClientGrantFilter,
        page: Page,
    ) -> StoreResult<Vec<ClientGrant>> {
        // `$1 IS NULL OR ...` keeps one statement for every combination of filters.
        let rows: Vec<ClientGrantRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, client_id, audience, scope, created_at, extra FROM client_grants \
             WHERE ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR audience = $2) \
             ORDER BY created_at, id LIMIT $3 OFFSET $4",
        )
        .bind(filter.client_id.as_deref())
        .bind(filter.audience.as_deref())
        .bind(i64::from(page.limit))
        .bind(page.offset)
        .fetch_all(p)
        .await
        .map_err(db))?;
        Ok(rows.into_iter().map(ClientGrant::from).collect())
    }

    #[tracing::instrument(name = "ClientGrantStore::count_client_grants", skip_all, fields(otel.kind = "client"))]
    async fn count_client_grants(&self, filter: &ClientGrantFilter) -> StoreResult<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM client_grants \
             WHERE ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR audience = $2)",
        )
        .bind(filter.client_id.as_deref())
        .bind(filter.audience.as_deref())
        .fetch_one(p)
        .await
        .map_err(db))?;
        Ok(n)
    }

    #[tracing::instrument(name = "ClientGrantStore::update_client_grant", skip_all, fields(otel.kind = "client"))]
    async fn update_client_grant(&self, grant: &ClientGrant) -> StoreResult<()> {
        let id = &grant.id;
        let n = on_pool!(self, p => sqlx::query("UPDATE client_grants SET scope = $2, extra = $3 WHERE id = $1")
            .bind(id)
            .bind(Json(&grant.scope))
            .bind(Json(&grant.extra))
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        one_row(n, format!("client grant {id}"))
    }

    #[tracing::instrument(name = "ClientGrantStore::delete_client_grant", skip_all, fields(otel.kind = "client"))]
    async fn delete_client_grant(&self, id: &str) -> StoreResult<()> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM client_grants WHERE id = $1")
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        one_row(n, format!("client grant {id}"))
    }
}
