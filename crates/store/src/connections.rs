//! Connections and the clients enabled on them.

use async_trait::async_trait;
use gatehouse_core::connection::Connection;
use gatehouse_core::store::{ConnectionStore, Page, StoreResult};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::db;
use crate::pool::{in_transaction, on_pool};

pub(crate) const INSERT_CONNECTION: &str = "INSERT INTO connections \
    (id, name, strategy, options, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)";

pub(crate) const INSERT_CONNECTION_CLIENT: &str =
    "INSERT INTO connection_clients (connection_id, client_id) VALUES ($1, $2)";

/// Binds a connection to [`INSERT_CONNECTION`].
macro_rules! bind_connection {
    ($sql:expr, $c:expr) => {{
        let c: &gatehouse_core::connection::Connection = $c;
        sqlx::query($sql)
            .bind(&c.id)
            .bind(&c.name)
            .bind(&c.strategy)
            .bind(sqlx::types::Json(&c.options))
            .bind(c.created_at)
    }};
}

pub(crate) use bind_connection;

/// Connection columns with the enabled clients folded into one comma-separated string
/// (`string_agg` and `group_concat` differ, so each dialect gets its aggregate).
const SELECT_SQLITE: &str = "SELECT c.id, c.name, c.strategy, c.options, c.created_at, \
    (SELECT group_concat(client_id, ',') FROM connection_clients cc WHERE cc.connection_id = c.id) AS enabled \
    FROM connections c";
const SELECT_POSTGRES: &str = "SELECT c.id, c.name, c.strategy, c.options, c.created_at, \
    (SELECT string_agg(client_id, ',' ORDER BY client_id) FROM connection_clients cc WHERE cc.connection_id = c.id) AS enabled \
    FROM connections c";

#[derive(sqlx::FromRow)]
struct ConnectionRow {
    id: String,
    name: String,
    strategy: String,
    options: Json<Value>,
    created_at: OffsetDateTime,
    enabled: Option<String>,
}

impl From<ConnectionRow> for Connection {
    fn from(r: ConnectionRow) -> Self {
        let mut enabled_clients: Vec<String> = r
            .enabled
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        enabled_clients.sort();
        Connection {
            id: r.id,
            name: r.name,
            strategy: r.strategy,
            options: r.options.0,
            enabled_clients,
            created_at: r.created_at,
        }
    }
}

impl SqlStore {
    fn connection_select(&self, tail: &str) -> sqlx::AssertSqlSafe<String> {
        let head = match self.dialect() {
            crate::Dialect::Sqlite => SELECT_SQLITE,
            crate::Dialect::Postgres => SELECT_POSTGRES,
        };
        sqlx::AssertSqlSafe(format!("{head} {tail}"))
    }
}

#[async_trait]
impl ConnectionStore for SqlStore {
    async fn insert_connection(&self, connection: &Connection) -> StoreResult<()> {
        in_transaction!(self, tx => {
            bind_connection!(INSERT_CONNECTION, connection).execute(&mut *tx).await.map_err(db)?;
            for client_id in &connection.enabled_clients {
                sqlx::query(INSERT_CONNECTION_CLIENT)
                    .bind(&connection.id)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        });
        Ok(())
    }

    async fn connection_by_name(&self, name: &str) -> StoreResult<Option<Connection>> {
        let sql = self.connection_select("WHERE c.name = $1");
        let row: Option<ConnectionRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(name)
            .fetch_optional(p)
            .await
            .map_err(db))?;
        Ok(row.map(Connection::from))
    }

    async fn list_connections(&self, page: Page) -> StoreResult<Vec<Connection>> {
        let sql = self.connection_select("ORDER BY c.created_at, c.id LIMIT $1 OFFSET $2");
        let rows: Vec<ConnectionRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(i64::from(page.limit))
            .bind(page.offset)
            .fetch_all(p)
            .await
            .map_err(db))?;
        Ok(rows.into_iter().map(Connection::from).collect())
    }
}
