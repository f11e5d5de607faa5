//! Connections and the clients enabled on them.

use async_trait::async_trait;
use gatehouse_core::connection::{Connection, ConnectionOptions};
use gatehouse_core::id::ConnectionName;
use gatehouse_core::store::{ConnectionFilter, ConnectionStore, Page, StoreError, StoreResult};
use gatehouse_core::strategy::Strategy;
use serde_json::{Map, Value};
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::{db, one_row};
use crate::pool::{in_transaction, on_pool};

pub(crate) const INSERT_CONNECTION: &str = "INSERT INTO connections \
    (id, name, strategy, options, extra, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)";

const INSERT_CONNECTION_CLIENT: &str = "INSERT INTO connection_clients (connection_id, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// Binds a connection to [`INSERT_CONNECTION`].
macro_rules! bind_connection {
    ($sql:expr, $c:expr) => {{
        let c: &gatehouse_core::connection::Connection = $c;
        sqlx::query($sql)
            .bind(&c.id)
            .bind(c.name.as_str())
            .bind(c.strategy.as_str())
            .bind(sqlx::types::Json(&c.options))
            .bind(sqlx::types::Json(&c.extra))
            .bind(c.created_at)
    }};
}

pub(crate) use bind_connection;

/// Connection columns with the enabled clients folded into one comma-separated string
/// (`string_agg` and `group_concat` differ, so each dialect gets its aggregate).
const SELECT_SQLITE: &str = "SELECT c.id, c.name, c.strategy, c.options, c.extra, c.created_at, \
    (SELECT group_concat(client_id, ',') FROM connection_clients cc WHERE cc.connection_id = c.id) AS enabled \
    FROM connections c";
const SELECT_POSTGRES: &str = "SELECT c.id, c.name, c.strategy, c.options, c.extra, c.created_at, \
    (SELECT string_agg(client_id, ',' ORDER BY client_id) FROM connection_clients cc WHERE cc.connection_id = c.id) AS enabled \
    FROM connections c";

/// `$1`: comma-joined strategies or NULL; `$2`: a name or NULL. Strategy names have no commas.
const FILTER: &str = "WHERE ($1 IS NULL OR ',' || $1 || ',' LIKE '%,' || c.strategy || ',%') \
    AND ($2 IS NULL OR c.name = $2)";

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    id: String,
    name: String,
    strategy: String,
    options: Json<Value>,
    extra: Json<Map<String, Value>>,
    created_at: OffsetDateTime,
    enabled: Option<String>,
}

impl TryFrom<ConnectionRow> for Connection {
    type Error = StoreError;

    fn try_from(r: ConnectionRow) -> StoreResult<Self> {
        let mut enabled_clients: Vec<String> = r
            .enabled
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        enabled_clients.sort();
        let strategy = Strategy::parse(&r.strategy);
        let options = ConnectionOptions::from_json(&strategy, r.options.0)
            .map_err(|e| StoreError::Corrupt(format!("options of connection {}: {e}", r.name)))?;
        Ok(Connection {
            id: r.id,
            name: r.name.into(),
            strategy,
            options,
            enabled_clients: enabled_clients.into_iter().map(Into::into).collect(),
            extra: r.extra.0,
            created_at: r.created_at,
        })
    }
}

fn strategies(filter: &ConnectionFilter) -> Option<String> {
    (!filter.strategies.is_empty()).then(|| filter.strategies.join(","))
}

impl SqlStore {
    fn connection_select(&self, tail: &str) -> sqlx::AssertSqlSafe<String> {
        let head = match self.dialect() {
            crate::Dialect::Sqlite => SELECT_SQLITE,
            crate::Dialect::Postgres => SELECT_POSTGRES,
        };
        sqlx::AssertSqlSafe(format!("{head} {tail}"))
    }

    async fn one_connection(&self, tail: &str, key: &str) -> StoreResult<Option<Connection>> {
        let sql = self.connection_select(tail);
        let row: Option<ConnectionRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(key)
            .fetch_optional(p)
            .await
            .map_err(db))?;
        row.map(Connection::try_from).transpose()
    }
}

#[async_trait]
impl ConnectionStore for SqlStore {
    #[tracing::instrument(name = "ConnectionStore::insert_connection", skip_all, fields(otel.kind = "client"))]
    async fn insert_connection(&self, connection: &Connection) -> StoreResult<()> {
        in_transaction!(self, tx => {
            bind_connection!(INSERT_CONNECTION, connection)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            for client_id in &connection.enabled_clients {
                sqlx::query(INSERT_CONNECTION_CLIENT)
                    .bind(&connection.id)
                    .bind(client_id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        });
        Ok(())
    }

    #[tracing::instrument(name = "ConnectionStore::connection_by_name", skip_all, fields(otel.kind = "client"))]
    async fn connection_by_name(&self, name: &ConnectionName) -> StoreResult<Option<Connection>> {
        self.one_connection("WHERE c.name = $1", name).await
    }

    #[tracing::instrument(name = "ConnectionStore::connection", skip_all, fields(otel.kind = "client"))]
    async fn connection(&self, id: &str) -> StoreResult<Option<Connection>> {
        self.one_connection("WHERE c.id = $1", id).await
    }

    #[tracing::instrument(name = "ConnectionStore::list_connections", skip_all, fields(otel.kind = "client"))]
    async fn list_connections(
        &self,
        filter: &ConnectionFilter,
        page: Page,
    ) -> StoreResult<Vec<Connection>> {
        let sql = self.connection_select(&format!(
            "{FILTER} ORDER BY c.created_at, c.id LIMIT $3 OFFSET $4"
        ));
        let rows: Vec<ConnectionRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(strategies(filter))
            .bind(filter.name.as_deref())
            .bind(i64::from(page.limit))
            .bind(page.offset)
            .fetch_all(p)
            .await
            .map_err(db))?;
        rows.into_iter().map(Connection::try_from).collect()
    }

    #[tracing::instrument(name = "ConnectionStore::count_connections", skip_all, fields(otel.kind = "client"))]
    async fn count_connections(&self, filter: &ConnectionFilter) -> StoreResult<i64> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM connections c {FILTER}"));
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(sql)
            .bind(strategies(filter))
            .bind(filter.name.as_deref())
            .fetch_one(p)
            .await
            .map_err(db))?;
        Ok(n)
    }

    #[tracing::instrument(name = "ConnectionStore::update_connection", skip_all, fields(otel.kind = "client"))]
    async fn update_connection(&self, c: &Connection) -> StoreResult<()> {
        in_transaction!(self, tx => {
            let n = sqlx::query(
                "UPDATE connections SET options = $2, extra = $3, updated_at = $4 WHERE id = $1",
            )
            .bind(&c.id)
            .bind(Json(&c.options))
            .bind(Json(&c.extra))
            .bind(OffsetDateTime::now_utc())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            one_row(n, format!("connection {}", c.id))?;
            sqlx::query("DELETE FROM connection_clients WHERE connection_id = $1")
                .bind(&c.id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            for client_id in &c.enabled_clients {
                sqlx::query(INSERT_CONNECTION_CLIENT)
                    .bind(&c.id)
                    .bind(client_id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        });
        Ok(())
    }

    #[tracing::instrument(name = "ConnectionStore::set_connection_clients", skip_all, fields(otel.kind = "client"))]
    async fn set_connection_clients(
        &self,
        id: &str,
        changes: &[(String, bool)],
    ) -> StoreResult<()> {
        in_transaction!(self, tx => {
            let exists = sqlx::query("SELECT id FROM connections WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            one_row(u64::from(exists.is_some()), format!("connection {id}"))?;
            for (client_id, enabled) in changes {
                let sql = if *enabled {
                    INSERT_CONNECTION_CLIENT
                } else {
                    "DELETE FROM connection_clients WHERE connection_id = $1 AND client_id = $2"
                };
                sqlx::query(sql)
                    .bind(id)
                    .bind(client_id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        });
        Ok(())
    }

    #[tracing::instrument(name = "ConnectionStore::delete_connection", skip_all, fields(otel.kind = "client"))]
    async fn delete_connection(&self, id: &str) -> StoreResult<()> {
        in_transaction!(self, tx => {
            // Users whose primary identity lives here go with it (their other identities too).
            sqlx::query(
                "DELETE FROM users WHERE user_id IN (SELECT i.owner_id FROM identities i \
                 JOIN connections c ON c.name = i.connection WHERE c.id = $1 AND i.position = 0)",
            )
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            let n = sqlx::query("DELETE FROM connections WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            one_row(n, format!("connection {id}"))?;
        });
        Ok(())
    }
}
