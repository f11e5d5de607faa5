//! Migrations, seeding and health.

use async_trait::async_trait;
use gatehouse_core::seed::{SeedOutcome, SeedPlan};
use gatehouse_core::store::{SetupStore, StoreError, StoreResult};
use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::migrate::Migrator;
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::clients::{
    ENABLE_ON_ALL_CONNECTIONS, INSERT_CLIENT, INSERT_CLIENT_GRANT, bind_client, bind_client_grant,
};
use crate::connections::{INSERT_CONNECTION, bind_connection};
use crate::error::db;
use crate::pool::{Pool, in_transaction, on_pool};
use crate::resource_servers::{INSERT_RESOURCE_SERVER, bind_resource_server, scopes_json};
use crate::signing_keys::{INSERT_SIGNING_KEY, bind_signing_key};
use crate::{Dialect, SqlStore};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Key of the PostgreSQL advisory lock that serialises seeding across replicas
/// (ASCII "gatehse1"; any constant works as long as every replica uses the same one).
const SEED_LOCK_KEY: i64 = 0x6761_7465_6873_6531;

fn or_nothing(insert: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(format!("{insert} ON CONFLICT DO NOTHING"))
}

#[async_trait]
impl SetupStore for SqlStore {
    #[tracing::instrument(name = "SetupStore::migrate", skip_all, fields(otel.kind = "client"))]
    async fn migrate(&self) -> StoreResult<()> {
        // Two servers starting together must not both apply a migration. sqlx's migrator
        // takes an advisory lock on PostgreSQL; on SQLite its lock is a no-op, so we hold a
        // write transaction around the run (the migrator's own transactions nest in it as
        // savepoints) and the second server waits on the busy timeout, then finds nothing
        // left to do.
        let fail = |e: sqlx::migrate::MigrateError| StoreError::Backend(Box::new(e));
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = crate::error::retry_busy(|| p.begin_with("BEGIN IMMEDIATE"))
                    .await
                    .map_err(db)?;
                // `run_direct` is `run` without the `Acquire` bound that async-trait's Send
                // check cannot prove for a transaction.
                SQLITE_MIGRATIONS
                    .run_direct(None, &mut *tx, false)
                    .await
                    .map_err(fail)?;
                tx.commit().await.map_err(db)
            }
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await.map_err(fail),
        }
    }

    #[tracing::instrument(name = "SetupStore::apply_seed", skip_all, fields(otel.kind = "client"))]
    async fn apply_seed(&self, plan: &SeedPlan) -> StoreResult<SeedOutcome> {
        let mut outcome = SeedOutcome::default();
        let lock = match self.dialect() {
            Dialect::Postgres => Some(SEED_LOCK_KEY),
            Dialect::Sqlite => None,
        };
        in_transaction!(self, tx => {
            if let Some(key) = lock {
                // Held until commit: a second replica waits here, then sees the seed done.
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            outcome.new_database = sqlx::query(
                "INSERT INTO tenant (id, settings, created_at) VALUES (1, $1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(Json(&plan.tenant))
            .bind(plan.management_api.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected()
                == 1;

            bind_resource_server!(or_nothing(INSERT_RESOURCE_SERVER), &plan.management_api)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            bind_connection!(or_nothing(INSERT_CONNECTION), &plan.database_connection)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            // Scopes a newer gatehouse added to the Management API reach an existing tenant:
            // the system API lists them, and every grant that held all the previous ones gets
            // them too (a scope that did not exist cannot have been withheld on purpose).
            let api = &plan.management_api;
            let (stored,): (Json<Vec<Value>>,) =
                sqlx::query_as("SELECT scopes FROM resource_servers WHERE identifier = $1")
                    .bind(api.identifier.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
            let had: Vec<&str> = stored.0.iter().filter_map(|s| s["value"].as_str()).collect();
            let added: Vec<Value> = scopes_json(&api.scopes)
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| !s["value"].as_str().is_some_and(|v| had.contains(&v)))
                .cloned()
                .collect();
            if !added.is_empty() {
                let names: Vec<&str> = added.iter().filter_map(|s| s["value"].as_str()).collect();
                let all: Vec<Value> = stored.0.iter().chain(&added).cloned().collect();
                sqlx::query("UPDATE resource_servers SET scopes = $2 WHERE identifier = $1")
                    .bind(api.identifier.as_str())
                    .bind(Json(&all))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let grants: Vec<(String, Json<Vec<String>>)> =
                    sqlx::query_as("SELECT id, scope FROM client_grants WHERE audience = $1")
                        .bind(api.identifier.as_str())
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db)?;
                for (id, scope) in grants {
                    if !had.iter().all(|h| scope.0.iter().any(|s| s == h)) {
                        continue;
                    }
                    let widened: Vec<&str> =
                        scope.0.iter().map(String::as_str).chain(names.iter().copied()).collect();
                    sqlx::query("UPDATE client_grants SET scope = $2 WHERE id = $1")
                        .bind(&id)
                        .bind(Json(&widened))
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                outcome.management_scopes_added = names.len();
            }

            let client = &plan.bootstrap_client;
            let stored: Option<(Option<Vec<u8>>,)> =
                sqlx::query_as("SELECT secret_hash FROM clients WHERE client_id = $1")
                    .bind(client.client_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
            let wanted_hash = client.secret.as_ref().map(|s| s.hash.clone());
            match stored {
                None if plan.bootstrap_configured || outcome.new_database => {
                    bind_client!(INSERT_CLIENT, client).execute(&mut *tx).await.map_err(db)?;
                    // Like any new application, on every connection (the default one included).
                    sqlx::query(ENABLE_ON_ALL_CONNECTIONS)
                        .bind(client.client_id.as_str())
                        .bind(gatehouse_core::admin::ADMIN_CONNECTION)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    outcome.bootstrap_client_written = true;
                }
                Some((hash,)) if plan.bootstrap_configured && hash != wanted_hash => {
                    sqlx::query(
                        "UPDATE clients SET secret_hash = $2, secret_sealed = $3, updated_at = $4 \
                         WHERE client_id = $1",
                    )
                    .bind(client.client_id.as_str())
                    .bind(wanted_hash)
                    .bind(client.secret.as_ref().map(|s| s.sealed.clone()))
                    .bind(client.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                    outcome.bootstrap_client_written = true;
                }
                _ => {}
            }
            if plan.bootstrap_configured || outcome.bootstrap_client_written {
                let upsert = AssertSqlSafe(format!(
                    "{INSERT_CLIENT_GRANT} ON CONFLICT (client_id, audience) DO UPDATE SET scope = excluded.scope"
                ));
                bind_client_grant!(upsert, &plan.bootstrap_grant)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }

            let (current,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM signing_keys WHERE state = 'current'")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
            if current == 0 && !plan.initial_keys.is_empty() {
                for key in &plan.initial_keys {
                    bind_signing_key!(INSERT_SIGNING_KEY, key)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                outcome.keys_installed = true;
            }
        });
        Ok(outcome)
    }

    #[tracing::instrument(name = "SetupStore::ping", skip_all, fields(otel.kind = "client"))]
    async fn ping(&self) -> StoreResult<()> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|r| r.rows_affected()).map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "SetupStore::sweep_expired", skip_all, fields(otel.kind = "client"))]
    async fn sweep_expired(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut gone = 0;
        for sql in [
            "DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1",
            "DELETE FROM authorization_codes WHERE expires_at < $1",
            "DELETE FROM tickets WHERE expires_at < $1",
            "DELETE FROM otps WHERE expires_at < $1",
            "DELETE FROM action_executions WHERE expires_at < $1",
            // A day is far past the last retry and the hour the reset-mail limit looks back.
            "DELETE FROM outbox WHERE created_at < $1",
        ] {
            gone += on_pool!(self, p => sqlx::query(sql)
                .bind(before)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
                .map_err(db))?;
        }
        Ok(gone)
    }
}
