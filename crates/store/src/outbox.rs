//! The outbox of mail and SMS: queued by requests, claimed by the workers of every replica.

use async_trait::async_trait;
use gatehouse_core::outbox::{OutboxMessage, OutboxState};
use gatehouse_core::store::{OutboxStore, StoreError, StoreResult};
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::db;
use crate::pool::on_pool;

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    kind: String,
    channel: String,
    connection: Option<String>,
    recipient_hash: Vec<u8>,
    sealed: Vec<u8>,
    state: String,
    attempts: i64,
    due_at: OffsetDateTime,
    created_at: OffsetDateTime,
}

impl TryFrom<MessageRow> for OutboxMessage {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> StoreResult<Self> {
        Ok(OutboxMessage {
            state: OutboxState::parse(&r.state)
                .ok_or_else(|| StoreError::Corrupt(format!("outbox state {}", r.state)))?,
            id: r.id,
            kind: r.kind,
            channel: r.channel,
            connection: r.connection,
            recipient_hash: r.recipient_hash,
            sealed: r.sealed,
            attempts: r.attempts,
            due_at: r.due_at,
            created_at: r.created_at,
        })
    }
}

#[async_trait]
impl OutboxStore for SqlStore {
    #[tracing::instrument(name = "OutboxStore::enqueue_message", skip_all, fields(otel.kind = "client"))]
    async fn enqueue_message(&self, m: &OutboxMessage) -> StoreResult<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO outbox (id, kind, channel, connection, recipient_hash, sealed, state, attempts, \
             due_at, claimed_by, last_error, created_at, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, $10, NULL)",
        )
        .bind(&m.id)
        .bind(&m.kind)
        .bind(&m.channel)
        .bind(&m.connection)
        .bind(&m.recipient_hash)
        .bind(&m.sealed)
        .bind(m.state.as_str())
        .bind(m.attempts)
        .bind(m.due_at)
        .bind(m.created_at)
        .execute(p)
        .await
        .map(|_| ())
        .map_err(db))
    }

    #[tracing::instrument(name = "OutboxStore::pending_messages", skip_all, fields(otel.kind = "client"))]
    async fn pending_messages(&self) -> StoreResult<i64> {
        on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
            .fetch_one(p)
            .await
            .map_err(db))
    }

    #[tracing::instrument(name = "OutboxStore::claim_message", skip_all, fields(otel.kind = "client"))]
    async fn claim_message(
        &self,
        token: &str,
        max_attempts: i64,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> StoreResult<Option<OutboxMessage>> {
        // The conditions are repeated outside the sub-select: PostgreSQL re-checks them on
        // the row version a concurrent claim left behind, so the loser updates nothing.
        let row: Option<MessageRow> = on_pool!(self, p => sqlx::query_as(
            "UPDATE outbox SET attempts = attempts + 1, claimed_by = $1, due_at = $4 \
             WHERE id = (SELECT id FROM outbox WHERE state = 'pending' AND due_at <= $3 AND attempts < $2 \
                         ORDER BY due_at LIMIT 1) \
             AND state = 'pending' AND due_at <= $3 AND attempts < $2 \
             RETURNING id, kind, channel, connection, recipient_hash, sealed, state, attempts, due_at, created_at",
        )
        .bind(token)
        .bind(max_attempts)
        .bind(now)
        .bind(lease_until)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        row.map(OutboxMessage::try_from).transpose()
    }

    #[tracing::instrument(name = "OutboxStore::message_sent", skip_all, fields(otel.kind = "client"))]
    async fn message_sent(&self, id: &str, token: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE outbox SET state = 'sent', finished_at = $3, last_error = NULL \
             WHERE id = $1 AND claimed_by = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(token)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(n == 1)
    }

    #[tracing::instrument(name = "OutboxStore::message_failed", skip_all, fields(otel.kind = "client"))]
    async fn message_failed(
        &self,
        id: &str,
        token: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE outbox SET last_error = $3, claimed_by = NULL, \
             state = CASE WHEN $4 IS NULL THEN 'failed' ELSE 'pending' END, \
             due_at = COALESCE($4, due_at), \
             finished_at = CASE WHEN $4 IS NULL THEN $5 ELSE NULL END \
             WHERE id = $1 AND claimed_by = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(token)
        .bind(error)
        .bind(retry_at)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(n == 1)
    }

    #[tracing::instrument(name = "OutboxStore::count_messages", skip_all, fields(otel.kind = "client"))]
    async fn count_messages(
        &self,
        kind: &str,
        recipient_hash: &[u8],
        since: OffsetDateTime,
    ) -> StoreResult<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM outbox WHERE kind = $1 AND recipient_hash = $2 AND created_at >= $3",
        )
        .bind(kind)
        .bind(recipient_hash)
        .bind(since)
        .fetch_one(p)
        .await
        .map_err(db))?;
        Ok(n)
    }
}
