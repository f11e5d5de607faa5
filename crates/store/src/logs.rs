//! Tenant logs.

use async_trait::async_trait;
use gatehouse_core::log::{LogEvent, LogFilter};
use gatehouse_core::log_type::LogType;
use gatehouse_core::store::{DailyCount, DailyTypes, LogStore, Page, StoreError, StoreResult};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::db;
use crate::pool::{in_transaction, on_pool};

const COLUMNS: &str = "SELECT log_id, date, type, description, client_id, client_name, user_id, connection, \
    ip, user_agent, audience, scope, details FROM logs";

/// Placeholders `$1..$5`: type, user, client, connection, after (each NULL for "any").
const FILTER: &str = "WHERE ($1 IS NULL OR type = $1) AND ($2 IS NULL OR user_id = $2) \
    AND ($3 IS NULL OR client_id = $3) AND ($4 IS NULL OR connection = $4) AND ($5 IS NULL OR log_id > $5) \
    AND ($6 IS NULL OR date >= $6) AND ($7 IS NULL OR date < $7)";

#[derive(sqlx::FromRow)]
struct LogRow {
    log_id: String,
    date: OffsetDateTime,
    r#type: String,
    description: Option<String>,
    client_id: Option<String>,
    client_name: Option<String>,
    user_id: Option<String>,
    connection: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    audience: Option<String>,
    scope: Option<String>,
    details: Json<Value>,
}

impl TryFrom<LogRow> for LogEvent {
    type Error = StoreError;

    fn try_from(r: LogRow) -> StoreResult<Self> {
        let kind = LogType::parse(&r.r#type)
            .ok_or_else(|| StoreError::Corrupt(format!("log event type {}", r.r#type)))?;
        Ok(LogEvent {
            log_id: r.log_id,
            date: r.date,
            kind,
            description: r.description,
            client_id: r.client_id,
            client_name: r.client_name,
            user_id: r.user_id,
            connection: r.connection,
            ip: r.ip,
            user_agent: r.user_agent,
            audience: r.audience,
            scope: r.scope,
            details: r.details.0,
        })
    }
}

/// Log events written by one statement.
const LOG_ROWS_PER_INSERT: usize = 256;

#[async_trait]
impl LogStore for SqlStore {
    #[tracing::instrument(name = "LogStore::append_logs", skip_all, fields(otel.kind = "client"))]
    async fn append_logs(&self, events: &[LogEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        // One multi-row INSERT per chunk instead of one per event: a batch of the log writer
        // costs the database one round trip (13 values a row, well inside both databases'
        // limits on bound values).
        for chunk in events.chunks(LOG_ROWS_PER_INSERT) {
            on_pool!(self, p => {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO logs (log_id, date, type, description, client_id, client_name, \
                     user_id, connection, ip, user_agent, audience, scope, details) ",
                );
                insert.push_values(chunk, |mut row, e| {
                    row.push_bind(&e.log_id)
                        .push_bind(e.date)
                        .push_bind(e.kind.code())
                        .push_bind(&e.description)
                        .push_bind(&e.client_id)
                        .push_bind(&e.client_name)
                        .push_bind(&e.user_id)
                        .push_bind(&e.connection)
                        .push_bind(&e.ip)
                        .push_bind(&e.user_agent)
                        .push_bind(e.audience.as_deref())
                        .push_bind(&e.scope)
                        .push_bind(Json(&e.details));
                });
                insert.push(" ON CONFLICT DO NOTHING");
                insert.build().execute(p).await.map(|_| ()).map_err(db)
            })?;
        }
        Ok(())
    }

    #[tracing::instrument(name = "LogStore::append_executions", skip_all, fields(otel.kind = "client"))]
    async fn append_executions(
        &self,
        executions: &[(String, Value, OffsetDateTime)],
    ) -> StoreResult<()> {
        if executions.is_empty() {
            return Ok(());
        }
        in_transaction!(self, tx => {
            for (id, data, expires_at) in executions {
                sqlx::query(
                    "INSERT INTO action_executions (id, data, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(Json(data))
                .bind(expires_at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        });
        Ok(())
    }

    #[tracing::instrument(name = "LogStore::execution", skip_all, fields(otel.kind = "client"))]
    async fn execution(&self, id: &str) -> StoreResult<Option<Value>> {
        let row: Option<(Json<Value>,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT data FROM action_executions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(|(d,)| d.0))
    }

    #[tracing::instrument(name = "LogStore::delete_logs_before", skip_all, fields(otel.kind = "client"))]
    async fn delete_logs_before(&self, before: OffsetDateTime) -> StoreResult<u64> {
        on_pool!(self, p => sqlx::query("DELETE FROM logs WHERE date < $1")
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))
    }

    #[tracing::instrument(name = "LogStore::log", skip_all, fields(otel.kind = "client"))]
    async fn log(&self, log_id: &str) -> StoreResult<Option<LogEvent>> {
        let sql = sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE log_id = $1"));
        let row: Option<LogRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(log_id)
            .fetch_optional(p)
            .await
            .map_err(db))?;
        row.map(LogEvent::try_from).transpose()
    }

    #[tracing::instrument(name = "LogStore::list_logs", skip_all, fields(otel.kind = "client"))]
    async fn list_logs(
        &self,
        f: &LogFilter,
        oldest_first: bool,
        page: Page,
    ) -> StoreResult<Vec<LogEvent>> {
        let dir = if oldest_first || f.after.is_some() {
            "ASC"
        } else {
            "DESC"
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "{COLUMNS} {FILTER} ORDER BY log_id {dir} LIMIT $8 OFFSET $9"
        ));
        let rows: Vec<LogRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(f.kind.as_deref())
            .bind(f.user_id.as_deref())
            .bind(f.client_id.as_deref())
            .bind(f.connection.as_deref())
            .bind(f.after.as_deref())
            .bind(f.since)
            .bind(f.until)
            .bind(i64::from(page.limit))
            .bind(page.offset)
            .fetch_all(p)
            .await
            .map_err(db))?;
        rows.into_iter().map(LogEvent::try_from).collect()
    }

    #[tracing::instrument(name = "LogStore::daily_counts", skip_all, fields(otel.kind = "client"))]
    async fn daily_counts(
        &self,
        types: &DailyTypes<'_>,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<DailyCount>> {
        // Dates are UTC: RFC 3339 text on SQLite, timestamptz on PostgreSQL.
        let day = match self.dialect() {
            crate::Dialect::Sqlite => "substr(date, 1, 10)",
            crate::Dialect::Postgres => "to_char(date AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        };
        // Only fixed placeholders reach the text; the failure types are bound like the rest.
        let failures: Vec<String> = (0..types.failures.len())
            .map(|i| format!("${}", i + 5))
            .collect();
        let failures = failures.join(", ");
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {day} AS day, \
             CAST(SUM(CASE WHEN type = $1 THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN type = $2 THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN type IN ({failures}) THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(COUNT(DISTINCT CASE WHEN type = $1 THEN user_id END) AS BIGINT) \
             FROM logs WHERE type IN ($1, $2, {failures}) AND date >= $3 AND date < $4 \
             GROUP BY day ORDER BY day"
        ));
        let rows: Vec<(String, i64, i64, i64, i64)> = on_pool!(self, p => {
            let mut q = sqlx::query_as(sql)
                .bind(types.login)
                .bind(types.signup)
                .bind(from)
                .bind(to);
            for f in types.failures {
                q = q.bind(*f);
            }
            q.fetch_all(p).await.map_err(db)
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(day, logins, signups, failures, active_users)| DailyCount {
                    day,
                    logins,
                    signups,
                    failures,
                    active_users,
                },
            )
            .collect())
    }

    #[tracing::instrument(name = "LogStore::count_logs", skip_all, fields(otel.kind = "client"))]
    async fn count_logs(&self, f: &LogFilter) -> StoreResult<i64> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM logs {FILTER}"));
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(sql)
            .bind(f.kind.as_deref())
            .bind(f.user_id.as_deref())
            .bind(f.client_id.as_deref())
            .bind(f.connection.as_deref())
            .bind(f.after.as_deref())
            .bind(f.since)
            .bind(f.until)
            .fetch_one(p)
            .await
            .map_err(db))?;
        Ok(n)
    }
}
