//! Passwordless one-time codes.

use async_trait::async_trait;
use gatehouse_core::id::ConnectionName;
use gatehouse_core::passwordless::Otp;
use gatehouse_core::store::{OtpStore, StoreResult};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::db;
use crate::pool::on_pool;

#[derive(sqlx::FromRow)]
struct OtpRow {
    id: String,
    connection: String,
    recipient: String,
    code_hash: Vec<u8>,
    client_id: String,
    send: String,
    auth_params: Json<Value>,
    attempts: i64,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl From<OtpRow> for Otp {
    fn from(r: OtpRow) -> Self {
        Otp {
            id: r.id,
            connection: r.connection.into(),
            recipient: r.recipient,
            code_hash: r.code_hash,
            client_id: r.client_id.into(),
            send: r.send,
            auth_params: r.auth_params.0,
            attempts: r.attempts,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

#[async_trait]
impl OtpStore for SqlStore {
    #[tracing::instrument(name = "OtpStore::put_otp", skip_all, fields(otel.kind = "client"))]
    async fn put_otp(&self, otp: &Otp) -> StoreResult<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO otps (id, connection, recipient, code_hash, client_id, send, auth_params, attempts, \
             created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL) \
             ON CONFLICT (connection, recipient) DO UPDATE SET id = excluded.id, code_hash = excluded.code_hash, \
             client_id = excluded.client_id, send = excluded.send, auth_params = excluded.auth_params, \
             attempts = excluded.attempts, created_at = excluded.created_at, expires_at = excluded.expires_at, \
             used_at = NULL",
        )
        .bind(&otp.id)
        .bind(otp.connection.as_str())
        .bind(&otp.recipient)
        .bind(&otp.code_hash)
        .bind(otp.client_id.as_str())
        .bind(&otp.send)
        .bind(Json(&otp.auth_params))
        .bind(otp.attempts)
        .bind(otp.created_at)
        .bind(otp.expires_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "OtpStore::claim_otp_attempt", skip_all, fields(otel.kind = "client"))]
    async fn claim_otp_attempt(
        &self,
        connection: &ConnectionName,
        recipient: &str,
        max_attempts: i64,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Otp>> {
        let row: Option<OtpRow> = on_pool!(self, p => sqlx::query_as(
            "UPDATE otps SET attempts = attempts + 1 \
             WHERE connection = $1 AND recipient = $2 AND used_at IS NULL AND expires_at > $3 AND attempts < $4 \
             RETURNING id, connection, recipient, code_hash, client_id, send, auth_params, attempts, created_at, expires_at",
        )
        .bind(connection.as_str())
        .bind(recipient)
        .bind(now)
        .bind(max_attempts)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(Otp::from))
    }

    #[tracing::instrument(name = "OtpStore::record_otp_failure", skip_all, fields(otel.kind = "client"))]
    async fn record_otp_failure(
        &self,
        id: &str,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
    ) -> StoreResult<i64> {
        let row: Option<(i64,)> = on_pool!(self, p => sqlx::query_as(
            "UPDATE otps SET \
             failures = CASE WHEN failures_since IS NULL OR failures_since < $3 THEN 1 ELSE failures + 1 END, \
             failures_since = CASE WHEN failures_since IS NULL OR failures_since < $3 THEN $2 ELSE failures_since END \
             WHERE id = $1 RETURNING failures",
        )
        .bind(id)
        .bind(now)
        .bind(window_start)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map_or(0, |(n,)| n))
    }

    #[tracing::instrument(name = "OtpStore::otp_failures", skip_all, fields(otel.kind = "client"))]
    async fn otp_failures(
        &self,
        connection: &ConnectionName,
        recipient: &str,
        window_start: OffsetDateTime,
    ) -> StoreResult<i64> {
        let row: Option<(i64,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT failures FROM otps WHERE connection = $1 AND recipient = $2 AND failures_since >= $3",
        )
        .bind(connection.as_str())
        .bind(recipient)
        .bind(window_start)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map_or(0, |(n,)| n))
    }

    #[tracing::instrument(name = "OtpStore::consume_otp", skip_all, fields(otel.kind = "client"))]
    async fn consume_otp(&self, id: &str) -> StoreResult<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE otps SET used_at = CURRENT_TIMESTAMP WHERE id = $1 AND used_at IS NULL",
        )
        .bind(id)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(n == 1)
    }
}
