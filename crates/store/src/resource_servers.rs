//! APIs (resource servers).

use async_trait::async_trait;
use gatehouse_core::id::Audience;
use gatehouse_core::resource_server::{ResourceServer, ScopeDef, TokenDialect};
use gatehouse_core::store::{Page, ResourceServerStore, StoreResult};
use serde_json::{Map, Value, json};
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::{corrupt, db, one_row};
use crate::pool::on_pool;

pub(crate) const INSERT_RESOURCE_SERVER: &str = "INSERT INTO resource_servers \
    (id, identifier, name, is_system, scopes, signing_alg, token_lifetime, allow_offline_access, extra, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

const RS_COLUMNS: &str = "SELECT id, identifier, name, is_system, scopes, signing_alg, token_lifetime, \
    allow_offline_access, extra, created_at FROM resource_servers";

/// Scopes as Auth0 shows them: `[{value, description}]`.
pub(crate) fn scopes_json(scopes: &[ScopeDef]) -> Value {
    Value::Array(
        scopes
            .iter()
            .map(|s| json!({"value": s.value, "description": s.description}))
            .collect(),
    )
}

/// Binds an API to [`INSERT_RESOURCE_SERVER`].
macro_rules! bind_resource_server {
    ($sql:expr, $rs:expr) => {{
        let rs: &gatehouse_core::resource_server::ResourceServer = $rs;
        sqlx::query($sql)
            .bind(&rs.id)
            .bind(rs.identifier.as_str())
            .bind(rs.name.as_str())
            .bind(rs.is_system)
            .bind(sqlx::types::Json($crate::resource_servers::scopes_json(
                &rs.scopes,
            )))
            .bind(&rs.signing_alg)
            .bind(rs.token_lifetime)
            .bind(rs.allow_offline_access)
            .bind(sqlx::types::Json($crate::resource_servers::extra_json(rs)))
            .bind(rs.created_at)
    }};
}

pub(crate) use bind_resource_server;

#[derive(sqlx::FromRow)]
struct ResourceServerRow {
    id: String,
    identifier: String,
    name: String,
    is_system: bool,
    scopes: Json<Value>,
    signing_alg: String,
    token_lifetime: i64,
    allow_offline_access: bool,
    extra: Json<Map<String, Value>>,
    created_at: OffsetDateTime,
}

/// The `extra` document as stored: the settings `ResourceServer` types, then the rest.
pub(crate) fn extra_json(rs: &ResourceServer) -> Map<String, Value> {
    let mut extra = rs.extra.clone();
    extra.insert("enforce_policies".into(), Value::Bool(rs.enforce_policies));
    extra.insert(
        "token_dialect".into(),
        Value::String(rs.token_dialect.as_str().into()),
    );
    extra
}

impl TryFrom<ResourceServerRow> for ResourceServer {
    type Error = gatehouse_core::store::StoreError;

    fn try_from(r: ResourceServerRow) -> Result<Self, Self::Error> {
        let bad = || corrupt(format!("resource server {} scopes", r.id));
        let scopes = r
            .scopes
            .0
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|s| {
                Some(ScopeDef {
                    value: s.get("value")?.as_str()?.to_owned(),
                    description: s
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        // The typed settings live in the `extra` document, so adding them took no migration.
        let mut extra = r.extra.0;
        let enforce_policies = extra.remove("enforce_policies") == Some(Value::Bool(true));
        let token_dialect = match extra.remove("token_dialect") {
            None | Some(Value::Null) => TokenDialect::default(),
            Some(d) => d
                .as_str()
                .and_then(TokenDialect::parse)
                .ok_or_else(|| corrupt(format!("resource server {} token_dialect", r.id)))?,
        };
        Ok(ResourceServer {
            id: r.id,
            name: r.name,
            identifier: r.identifier.into(),
            is_system: r.is_system,
            scopes,
            signing_alg: r.signing_alg,
            token_lifetime: r.token_lifetime,
            allow_offline_access: r.allow_offline_access,
            enforce_policies,
            token_dialect,
            extra,
            created_at: r.created_at,
        })
    }
}

#[async_trait]
impl ResourceServerStore for SqlStore {
    #[tracing::instrument(name = "ResourceServerStore::insert_resource_server", skip_all, fields(otel.kind = "client"))]
    async fn insert_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        on_pool!(self, p => bind_resource_server!(INSERT_RESOURCE_SERVER, rs).execute(p).await.map(|r| r.rows_affected()).map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "ResourceServerStore::resource_server_by_identifier", skip_all, fields(otel.kind = "client"))]
    async fn resource_server_by_identifier(
        &self,
        identifier: &Audience,
    ) -> StoreResult<Option<ResourceServer>> {
        let sql = sqlx::AssertSqlSafe(format!("{RS_COLUMNS} WHERE identifier = $1"));
        let row: Option<ResourceServerRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(identifier.as_str())
            .fetch_optional(p)
            .await
            .map_err(db))?;
        row.map(ResourceServer::try_from).transpose()
    }

    #[tracing::instrument(name = "ResourceServerStore::resource_server", skip_all, fields(otel.kind = "client"))]
    async fn resource_server(&self, id_or_identifier: &str) -> StoreResult<Option<ResourceServer>> {
        let sql = sqlx::AssertSqlSafe(format!("{RS_COLUMNS} WHERE id = $1 OR identifier = $1"));
        let row: Option<ResourceServerRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(id_or_identifier)
            .fetch_optional(p)
            .await
            .map_err(db))?;
        row.map(ResourceServer::try_from).transpose()
    }

    #[tracing::instrument(name = "ResourceServerStore::count_resource_servers", skip_all, fields(otel.kind = "client"))]
    async fn count_resource_servers(&self) -> StoreResult<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as("SELECT COUNT(*) FROM resource_servers")
            .fetch_one(p)
            .await
            .map_err(db))?;
        Ok(n)
    }

    #[tracing::instrument(name = "ResourceServerStore::update_resource_server", skip_all, fields(otel.kind = "client"))]
    async fn update_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE resource_servers SET name = $2, scopes = $3, signing_alg = $4, token_lifetime = $5, \
             allow_offline_access = $6, extra = $7 WHERE id = $1",
        )
        .bind(&rs.id)
        .bind(rs.name.as_str())
        .bind(Json(scopes_json(&rs.scopes)))
        .bind(&rs.signing_alg)
        .bind(rs.token_lifetime)
        .bind(rs.allow_offline_access)
        .bind(Json(extra_json(rs)))
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        one_row(n, format!("resource server {}", rs.id))
    }

    #[tracing::instrument(name = "ResourceServerStore::delete_resource_server", skip_all, fields(otel.kind = "client"))]
    async fn delete_resource_server(&self, id: &str) -> StoreResult<()> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM resource_servers WHERE id = $1")
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        one_row(n, format!("resource server {id}"))
    }

    #[tracing::instrument(name = "ResourceServerStore::list_resource_servers", skip_all, fields(otel.kind = "client"))]
    async fn list_resource_servers(&self, page: Page) -> StoreResult<Vec<ResourceServer>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{RS_COLUMNS} ORDER BY created_at, id LIMIT $1 OFFSET $2"
        ));
        let rows: Vec<ResourceServerRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(i64::from(page.limit))
            .bind(page.offset)
            .fetch_all(p)
            .await
            .map_err(db))?;
        rows.into_iter().map(ResourceServer::try_from).collect()
    }
}
