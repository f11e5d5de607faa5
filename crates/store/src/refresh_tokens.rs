//! Refresh tokens, stored by keyed hash.

use async_trait::async_trait;
use gatehouse_core::id::UserId;
use gatehouse_core::refresh_token::RefreshToken;
use gatehouse_core::store::{Page, RefreshTokenStore, Rotation, StoreResult};
use serde_json::{Value, json};
use sqlx::types::Json;
use time::OffsetDateTime;

use sqlx::AssertSqlSafe;

use crate::error::db;
use crate::pool::{in_transaction, on_pool};
use crate::{Dialect, SqlStore};

/// Creates the family's row if it is new, locks it either way, and returns its revocation.
const LOCK_FAMILY: &str = "INSERT INTO refresh_token_families (family_id) VALUES ($1) \
     ON CONFLICT (family_id) DO UPDATE SET family_id = excluded.family_id RETURNING revoked_at";

#[derive(sqlx::FromRow)]
struct Row {
    token_hash: Vec<u8>,
    family_id: String,
    client_id: String,
    user_id: String,
    connection: String,
    audience: Option<String>,
    scope: String,
    data: Json<Value>,
    created_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
    idle_expires_at: Option<OffsetDateTime>,
    rotated_at: Option<OffsetDateTime>,
    revoked_at: Option<OffsetDateTime>,
}

impl From<Row> for RefreshToken {
    fn from(r: Row) -> Self {
        RefreshToken {
            auth_time: r
                .data
                .0
                .get("auth_time")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            token_hash: r.token_hash,
            family_id: r.family_id,
            client_id: r.client_id.into(),
            user_id: r.user_id.into(),
            connection: r.connection.into(),
            audience: r.audience.map(Into::into),
            scope: r.scope,
            created_at: r.created_at,
            expires_at: r.expires_at,
            idle_expires_at: r.idle_expires_at,
            rotated_at: r.rotated_at,
            revoked_at: r.revoked_at,
            session_id: r
                .data
                .0
                .get("session_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// The condition on a live token (`$2`: now): neither rotated nor revoked nor expired.
macro_rules! live_token {
    () => {
        "rotated_at IS NULL AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
         AND (idle_expires_at IS NULL OR idle_expires_at > $2)"
    };
}

impl SqlStore {
    /// Stores `t`, first retiring `retiring` at `at` when given, in one transaction.
    async fn store_successor(
        &self,
        retiring: Option<&[u8]>,
        t: &RefreshToken,
        at: OffsetDateTime,
        allow_retired: bool,
    ) -> StoreResult<Rotation> {
        in_transaction!(self, tx => {
            // Creates or locks the family's row and reads it in one statement: a revocation
            // either committed before (seen here) or waits for this insert to commit (and then
            // revokes the new token too).
            let (revoked_at,): (Option<OffsetDateTime>,) = sqlx::query_as(LOCK_FAMILY)
                .bind(&t.family_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            if revoked_at.is_some() {
                return Ok(Rotation::FamilyRevoked);
            }
            if let Some(old) = retiring {
                let retired = sqlx::query(
                    "UPDATE refresh_tokens SET rotated_at = $2 \
                     WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL",
                )
                .bind(old)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
                if retired == 0 && !allow_retired {
                    return Ok(Rotation::AlreadyRetired);
                }
            }
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, connection, audience, \
                 scope, data, created_at, expires_at, idle_expires_at, rotated_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&t.token_hash)
            .bind(&t.family_id)
            .bind(t.client_id.as_str())
            .bind(t.user_id.as_str())
            .bind(t.connection.as_str())
            .bind(t.audience.as_deref())
            .bind(&t.scope)
            .bind(Json(json!({"auth_time": t.auth_time, "session_id": t.session_id})))
            .bind(t.created_at)
            .bind(t.expires_at)
            .bind(t.idle_expires_at)
            .bind(t.rotated_at)
            .bind(t.revoked_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        });
        Ok(Rotation::Rotated)
    }
}

#[async_trait]
impl RefreshTokenStore for SqlStore {
    #[tracing::instrument(name = "RefreshTokenStore::insert_refresh_token", skip_all, fields(otel.kind = "client"))]
    async fn insert_refresh_token(&self, t: &RefreshToken) -> StoreResult<bool> {
        Ok(self.store_successor(None, t, t.created_at, false).await? == Rotation::Rotated)
    }

    #[tracing::instrument(name = "RefreshTokenStore::refresh_token", skip_all, fields(otel.kind = "client"))]
    async fn refresh_token(&self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>> {
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT token_hash, family_id, client_id, user_id, connection, audience, scope, data, created_at, \
             expires_at, idle_expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(RefreshToken::from))
    }

    #[tracing::instrument(name = "RefreshTokenStore::live_refresh_tokens", skip_all, fields(otel.kind = "client"))]
    async fn live_refresh_tokens(
        &self,
        user_id: &UserId,
        now: OffsetDateTime,
        page: Page,
    ) -> StoreResult<Vec<RefreshToken>> {
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(concat!(
            "SELECT token_hash, family_id, client_id, user_id, connection, audience, scope, data, created_at, \
             expires_at, idle_expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE user_id = $1 AND ",
            live_token!(),
            " ORDER BY created_at, family_id LIMIT $3 OFFSET $4"
        ))
        .bind(user_id.as_str())
        .bind(now)
        .bind(i64::from(page.limit))
        .bind(page.offset)
        .fetch_all(p)
        .await
        .map_err(db))?;
        Ok(rows.into_iter().map(RefreshToken::from).collect())
    }

    #[tracing::instrument(name = "RefreshTokenStore::live_refresh_token", skip_all, fields(otel.kind = "client"))]
    async fn live_refresh_token(
        &self,
        family_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<RefreshToken>> {
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(concat!(
            "SELECT token_hash, family_id, client_id, user_id, connection, audience, scope, data, created_at, \
             expires_at, idle_expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE family_id = $1 AND ",
            live_token!()
        ))
        .bind(family_id)
        .bind(now)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(RefreshToken::from))
    }

    #[tracing::instrument(name = "RefreshTokenStore::rotate_refresh_token", skip_all, fields(otel.kind = "client"))]
    async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        successor: &RefreshToken,
        at: OffsetDateTime,
        allow_retired: bool,
    ) -> StoreResult<Rotation> {
        self.store_successor(Some(old_hash), successor, at, allow_retired)
            .await
    }

    #[tracing::instrument(name = "RefreshTokenStore::touch_refresh_token", skip_all, fields(otel.kind = "client"))]
    async fn touch_refresh_token(
        &self,
        token_hash: &[u8],
        idle_expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        on_pool!(self, p => sqlx::query("UPDATE refresh_tokens SET idle_expires_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(idle_expires_at)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "RefreshTokenStore::revoke_refresh_family", skip_all, fields(otel.kind = "client"))]
    async fn revoke_refresh_family(&self, family_id: &str, at: OffsetDateTime) -> StoreResult<u64> {
        let n = in_transaction!(self, tx => {
            sqlx::query(
                "INSERT INTO refresh_token_families (family_id, revoked_at) VALUES ($1, $2) \
                 ON CONFLICT (family_id) DO UPDATE SET revoked_at = \
                 COALESCE(refresh_token_families.revoked_at, excluded.revoked_at)",
            )
            .bind(family_id)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
            )
            .bind(family_id)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected())
            .map_err(db)?
        });
        Ok(n)
    }

    #[tracing::instrument(name = "RefreshTokenStore::revoke_user_refresh_tokens", skip_all, fields(otel.kind = "client"))]
    async fn revoke_user_refresh_tokens(
        &self,
        user_id: &UserId,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let n = in_transaction!(self, tx => {
            // Every family the user has a token in is marked revoked (in one order, so two
            // of these cannot deadlock), then every token; a successor under way is refused.
            sqlx::query(
                "INSERT INTO refresh_token_families (family_id, revoked_at) \
                 SELECT DISTINCT family_id, $2 FROM refresh_tokens WHERE user_id = $1 ORDER BY family_id \
                 ON CONFLICT (family_id) DO UPDATE SET revoked_at = \
                 COALESCE(refresh_token_families.revoked_at, excluded.revoked_at)",
            )
            .bind(user_id.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user_id.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected())
            .map_err(db)?
        });
        Ok(n)
    }

    #[tracing::instrument(name = "RefreshTokenStore::revoke_session_refresh_tokens", skip_all, fields(otel.kind = "client"))]
    async fn revoke_session_refresh_tokens(
        &self,
        user_id: &UserId,
        session_id: &str,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let of_session = match self.dialect() {
            Dialect::Sqlite => "json_extract(data, '$.session_id') = $2",
            Dialect::Postgres => "data->>'session_id' = $2",
        };
        let sql = AssertSqlSafe(format!(
            "SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = $1 AND {of_session}"
        ));
        let families: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(user_id.as_str())
            .bind(session_id)
            .fetch_all(p)
            .await
            .map_err(db))?;
        let mut live = 0;
        for (family,) in families {
            live += self.revoke_refresh_family(&family, at).await?;
        }
        Ok(live)
    }
}
