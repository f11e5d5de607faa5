//! Signing keys and their rotation.

use async_trait::async_trait;
use gatehouse_core::signing_key::{KeyState, SigningKey};
use gatehouse_core::store::{SigningKeyStore, StoreError, StoreResult};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::{corrupt, db};
use crate::pool::{in_transaction, on_pool};

pub(crate) const INSERT_SIGNING_KEY: &str = "INSERT INTO signing_keys \
    (kid, alg, state, public_jwk, sealed_private_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// Binds a key to [`INSERT_SIGNING_KEY`].
macro_rules! bind_signing_key {
    ($sql:expr, $k:expr) => {{
        let k: &gatehouse_core::signing_key::SigningKey = $k;
        sqlx::query($sql)
            .bind(&k.kid)
            .bind(&k.alg)
            .bind(k.state.as_str())
            .bind(sqlx::types::Json(&k.public_jwk))
            .bind(&k.sealed_private_key)
            .bind(k.created_at)
    }};
}

pub(crate) use bind_signing_key;

#[derive(sqlx::FromRow)]
struct SigningKeyRow {
    kid: String,
    alg: String,
    state: String,
    public_jwk: Json<Value>,
    sealed_private_key: Vec<u8>,
    created_at: OffsetDateTime,
}

impl TryFrom<SigningKeyRow> for SigningKey {
    type Error = StoreError;

    fn try_from(r: SigningKeyRow) -> Result<Self, Self::Error> {
        Ok(SigningKey {
            state: KeyState::parse(&r.state)
                .ok_or_else(|| corrupt(format!("signing key {} state {}", r.kid, r.state)))?,
            kid: r.kid,
            alg: r.alg,
            public_jwk: r.public_jwk.0,
            sealed_private_key: r.sealed_private_key,
            created_at: r.created_at,
        })
    }
}

/// Moves the key in state `from` to state `to`; returns how many rows moved (0 or 1).
const MOVE_STATE: &str = "UPDATE signing_keys SET state = $2 WHERE state = $1";

#[async_trait]
impl SigningKeyStore for SqlStore {
    #[tracing::instrument(name = "SigningKeyStore::signing_keys", skip_all, fields(otel.kind = "client"))]
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        let rows: Vec<SigningKeyRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT kid, alg, state, public_jwk, sealed_private_key, created_at FROM signing_keys \
             ORDER BY created_at DESC, kid",
        )
        .fetch_all(p)
        .await
        .map_err(db))?;
        rows.into_iter().map(SigningKey::try_from).collect()
    }

    #[tracing::instrument(name = "SigningKeyStore::rotate_signing_keys", skip_all, fields(otel.kind = "client"))]
    async fn rotate_signing_keys(&self, new_next: &SigningKey) -> StoreResult<()> {
        if new_next.state != KeyState::Next {
            return Err(StoreError::Corrupt(format!(
                "new key {} must be in state next",
                new_next.kid
            )));
        }
        // Each step frees the state the following one moves into, so the unique index on
        // state holds throughout.
        // PostgreSQL: lock the next key's row, so a concurrent rotation waits, then finds it
        // no longer `next`. SQLite: BEGIN IMMEDIATE already serialises writers.
        let lock_next = match self.dialect() {
            crate::Dialect::Sqlite => "SELECT kid FROM signing_keys WHERE state = 'next'",
            crate::Dialect::Postgres => {
                "SELECT kid FROM signing_keys WHERE state = 'next' FOR UPDATE"
            }
        };
        in_transaction!(self, tx => {
            let next = sqlx::query(lock_next)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            if next.is_none() {
                return Err(StoreError::Conflict("no next signing key to promote".into()));
            }
            for (from, to) in [("previous", "retired"), ("current", "previous"), ("next", "current")] {
                sqlx::query(MOVE_STATE)
                    .bind(from)
                    .bind(to)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            bind_signing_key!(INSERT_SIGNING_KEY, new_next).execute(&mut *tx).await.map_err(db)?;
        });
        Ok(())
    }

    #[tracing::instrument(name = "SigningKeyStore::revoke_previous_signing_key", skip_all, fields(otel.kind = "client"))]
    async fn revoke_previous_signing_key(&self, kid: &str) -> StoreResult<bool> {
        let done = on_pool!(self, p => sqlx::query(
            "UPDATE signing_keys SET state = 'retired' WHERE kid = $1 AND state = 'previous'",
        )
        .bind(kid)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(done == 1)
    }
}
