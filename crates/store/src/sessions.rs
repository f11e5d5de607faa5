//! Sessions and authorization codes.

use async_trait::async_trait;
use gatehouse_core::id::{Audience, ClientId, UserId};
use gatehouse_core::session::{AuthorizationCode, Session};
use gatehouse_core::store::{Consent, ConsentFilter, Page, SessionStore, StoreResult};
use serde_json::{Value, json};
use sqlx::types::Json;
use time::OffsetDateTime;

use sqlx::AssertSqlSafe;

use crate::error::db;
use crate::pool::on_pool;
use crate::{Dialect, SqlStore};

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: Vec<u8>,
    user_id: String,
    connection: String,
    data: Json<Value>,
    created_at: OffsetDateTime,
    last_interaction_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    revoked_at: Option<OffsetDateTime>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        let d = &r.data.0;
        Session {
            sid: d["sid"].as_str().unwrap_or_default().to_owned(),
            auth_time: d["auth_time"].as_i64().unwrap_or_default(),
            clients: d["clients"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect(),
            initial_ip: d["initial_ip"].as_str().map(str::to_owned),
            initial_user_agent: d["initial_user_agent"].as_str().map(str::to_owned),
            id_hash: r.id_hash,
            user_id: r.user_id.into(),
            connection: r.connection.into(),
            created_at: r.created_at,
            last_interaction_at: r.last_interaction_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    code_hash: Vec<u8>,
    client_id: String,
    user_id: String,
    connection: String,
    redirect_uri: String,
    data: Json<Value>,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    consumed_at: Option<OffsetDateTime>,
}

impl From<CodeRow> for AuthorizationCode {
    fn from(r: CodeRow) -> Self {
        let d = &r.data.0;
        let text = |k: &str| d[k].as_str().map(str::to_owned);
        AuthorizationCode {
            scope: text("scope").unwrap_or_default(),
            audience: text("audience").map(Into::into),
            nonce: text("nonce"),
            code_challenge: text("code_challenge"),
            sid: text("sid").unwrap_or_default(),
            auth_time: d["auth_time"].as_i64().unwrap_or_default(),
            code_hash: r.code_hash,
            client_id: r.client_id.into(),
            user_id: r.user_id.into(),
            connection: r.connection.into(),
            redirect_uri: r.redirect_uri,
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
        }
    }
}

const SESSION_COLUMNS: &str =
    "id_hash, user_id, connection, data, created_at, last_interaction_at, expires_at, revoked_at";

const CODE_COLUMNS: &str = "code_hash, client_id, user_id, connection, redirect_uri, data, created_at, expires_at, consumed_at";

/// The WHERE clause of a `ConsentFilter`: `$1` user, `$2` client, `$3` audience, each
/// matching anything when null (bound by `consent_binds`).
macro_rules! consent_where {
    () => {
        "($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR client_id = $2) \
         AND ($3 IS NULL OR audience = $3)"
    };
}

/// The values `consent_where!` binds.
fn consent_binds(filter: &ConsentFilter) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        filter.user_id.as_ref().map(|u| u.as_str()),
        filter.client_id.as_ref().map(|c| c.as_str()),
        filter.audience.as_ref().map(|a| a.as_str()),
    )
}

#[async_trait]
impl SessionStore for SqlStore {
    #[tracing::instrument(name = "SessionStore::insert_session", skip_all, fields(otel.kind = "client"))]
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, connection, data, created_at, last_interaction_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.id_hash)
        .bind(s.user_id.as_str())
        .bind(s.connection.as_str())
        .bind(Json(json!({"sid": s.sid, "auth_time": s.auth_time, "clients": s.clients,
                          "initial_ip": s.initial_ip,
                          "initial_user_agent": s.initial_user_agent})))
        .bind(s.created_at)
        .bind(s.last_interaction_at)
        .bind(s.expires_at)
        .bind(s.revoked_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "SessionStore::live_session", skip_all, fields(otel.kind = "client"))]
    async fn live_session(
        &self,
        id_hash: &[u8],
        now: OffsetDateTime,
        idle_since: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        let row: Option<SessionRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id_hash, user_id, connection, data, created_at, last_interaction_at, expires_at, revoked_at \
             FROM sessions WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_interaction_at > $3",
        )
        .bind(id_hash)
        .bind(now)
        .bind(idle_since)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(Session::from))
    }

    #[tracing::instrument(name = "SessionStore::touch_session", skip_all, fields(otel.kind = "client"))]
    async fn touch_session(&self, id_hash: &[u8], at: OffsetDateTime) -> StoreResult<()> {
        on_pool!(self, p => sqlx::query("UPDATE sessions SET last_interaction_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(at)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "SessionStore::use_once", skip_all, fields(otel.kind = "client"))]
    async fn use_once(
        &self,
        key_hash: &[u8],
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = on_pool!(self, p => {
            sqlx::query("DELETE FROM used_once WHERE expires_at < $1")
                .bind(now)
                .execute(p)
                .await
                .map_err(db)?;
            sqlx::query(
                "INSERT INTO used_once (key_hash, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (key_hash) DO NOTHING",
            )
            .bind(key_hash)
            .bind(expires_at)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db)?
        });
        Ok(n == 1)
    }

    #[tracing::instrument(name = "SessionStore::revoke_session", skip_all, fields(otel.kind = "client"))]
    async fn revoke_session(
        &self,
        id_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        let sql = AssertSqlSafe(format!(
            "UPDATE sessions SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL \
             RETURNING {SESSION_COLUMNS}"
        ));
        let row: Option<SessionRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(id_hash)
            .bind(at)
            .fetch_optional(p)
            .await
            .map_err(db))?;
        Ok(row.map(Session::from))
    }

    #[tracing::instrument(name = "SessionStore::revoke_user_sessions", skip_all, fields(otel.kind = "client"))]
    async fn revoke_user_sessions(
        &self,
        user_id: &UserId,
        keep: Option<&[u8]>,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<Session>> {
        // No session id hashes to the empty string, so `keep: None` keeps nothing.
        let sql = AssertSqlSafe(format!(
            "UPDATE sessions SET revoked_at = $2 \
             WHERE user_id = $1 AND revoked_at IS NULL AND id_hash <> $3 \
             RETURNING {SESSION_COLUMNS}"
        ));
        let rows: Vec<SessionRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(user_id.as_str())
            .bind(at)
            .bind(keep.unwrap_or_default())
            .fetch_all(p)
            .await
            .map_err(db))?;
        Ok(rows.into_iter().map(Session::from).collect())
    }

    #[tracing::instrument(name = "SessionStore::add_session_client", skip_all, fields(otel.kind = "client"))]
    async fn add_session_client(&self, id_hash: &[u8], client_id: &str) -> StoreResult<()> {
        // One statement, so two applications answered at once both stay on the list.
        let sql = match self.dialect() {
            Dialect::Sqlite => {
                "UPDATE sessions SET data = json_set(data, '$.clients', \
                 json(json_insert(COALESCE(json_extract(data, '$.clients'), '[]'), '$[#]', $2))) \
                 WHERE id_hash = $1 AND NOT EXISTS \
                 (SELECT 1 FROM json_each(sessions.data, '$.clients') WHERE value = $2)"
            }
            Dialect::Postgres => {
                "UPDATE sessions SET data = jsonb_set(data, '{clients}', \
                 COALESCE(data->'clients', '[]'::jsonb) || to_jsonb($2::text)) \
                 WHERE id_hash = $1 AND NOT (COALESCE(data->'clients', '[]'::jsonb) ? $2)"
            }
        };
        on_pool!(self, p => sqlx::query(sql)
            .bind(id_hash)
            .bind(client_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "SessionStore::user_sessions", skip_all, fields(otel.kind = "client"))]
    async fn user_sessions(
        &self,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Session>> {
        let sql = AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC"
        ));
        let rows: Vec<SessionRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(user_id.as_str())
            .bind(now)
            .fetch_all(p)
            .await
            .map_err(db))?;
        Ok(rows.into_iter().map(Session::from).collect())
    }

    #[tracing::instrument(name = "SessionStore::session_by_sid", skip_all, fields(otel.kind = "client"))]
    async fn session_by_sid(&self, sid: &str) -> StoreResult<Option<Session>> {
        let by_sid = match self.dialect() {
            Dialect::Sqlite => "json_extract(data, '$.sid') = $1",
            Dialect::Postgres => "data->>'sid' = $1",
        };
        let sql = AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE {by_sid}"
        ));
        let row: Option<SessionRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(sid)
            .fetch_optional(p)
            .await
            .map_err(db))?;
        Ok(row.map(Session::from))
    }

    #[tracing::instrument(name = "SessionStore::insert_code", skip_all, fields(otel.kind = "client"))]
    async fn insert_code(&self, c: &AuthorizationCode) -> StoreResult<()> {
        let data = json!({
            "scope": c.scope, "audience": c.audience, "nonce": c.nonce,
            "code_challenge": c.code_challenge, "sid": c.sid, "auth_time": c.auth_time,
        });
        on_pool!(self, p => sqlx::query(
            "INSERT INTO authorization_codes (code_hash, client_id, user_id, connection, redirect_uri, data, \
             created_at, expires_at, consumed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.code_hash)
        .bind(c.client_id.as_str())
        .bind(c.user_id.as_str())
        .bind(c.connection.as_str())
        .bind(&c.redirect_uri)
        .bind(Json(&data))
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.consumed_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "SessionStore::consume_code", skip_all, fields(otel.kind = "client"))]
    async fn consume_code(
        &self,
        code_hash: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<Option<AuthorizationCode>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE authorization_codes SET consumed_at = $2 \
             WHERE code_hash = $1 AND consumed_at IS NULL AND expires_at > $2 RETURNING {CODE_COLUMNS}"
        ));
        let row: Option<CodeRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(code_hash)
            .bind(now)
            .fetch_optional(p)
            .await
            .map_err(db))?;
        Ok(row.map(AuthorizationCode::from))
    }

    #[tracing::instrument(name = "SessionStore::code", skip_all, fields(otel.kind = "client"))]
    async fn code(&self, code_hash: &[u8]) -> StoreResult<Option<AuthorizationCode>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CODE_COLUMNS} FROM authorization_codes WHERE code_hash = $1"
        ));
        let row: Option<CodeRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(code_hash)
            .fetch_optional(p)
            .await
            .map_err(db))?;
        Ok(row.map(AuthorizationCode::from))
    }

    #[tracing::instrument(name = "SessionStore::insert_ticket", skip_all, fields(otel.kind = "client"))]
    async fn insert_ticket(
        &self,
        ticket_hash: &[u8],
        kind: &str,
        user_id: &UserId,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO tickets (ticket_hash, kind, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(ticket_hash)
        .bind(kind)
        .bind(user_id.as_str())
        .bind(now)
        .bind(expires_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "SessionStore::ticket_user", skip_all, fields(otel.kind = "client"))]
    async fn ticket_user(
        &self,
        ticket_hash: &[u8],
        kind: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT user_id FROM tickets WHERE ticket_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(ticket_hash)
        .bind(kind)
        .bind(now)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(|(u,)| u))
    }

    #[tracing::instrument(name = "SessionStore::use_ticket", skip_all, fields(otel.kind = "client"))]
    async fn use_ticket(
        &self,
        ticket_hash: &[u8],
        kind: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "UPDATE tickets SET used_at = $3 WHERE ticket_hash = $1 AND kind = $2 AND used_at IS NULL \
             AND expires_at > $3 RETURNING user_id",
        )
        .bind(ticket_hash)
        .bind(kind)
        .bind(now)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(|(u,)| u))
    }

    #[tracing::instrument(name = "SessionStore::consent", skip_all, fields(otel.kind = "client"))]
    async fn consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        audience: &Audience,
    ) -> StoreResult<Option<Vec<String>>> {
        let row: Option<(Json<Vec<String>>,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2 AND audience = $3",
        )
        .bind(user_id.as_str())
        .bind(client_id.as_str())
        .bind(audience.as_str())
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map(|(s,)| s.0))
    }

    #[tracing::instrument(name = "SessionStore::list_consents", skip_all, fields(otel.kind = "client"))]
    async fn list_consents(&self, filter: &ConsentFilter, page: Page) -> StoreResult<Vec<Consent>> {
        type Row = (String, String, String, Json<Vec<String>>);
        let (user, client, audience) = consent_binds(filter);
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(concat!(
            "SELECT user_id, client_id, audience, scope FROM consents WHERE ",
            consent_where!(),
            " ORDER BY user_id, client_id, audience LIMIT $4 OFFSET $5"
        ))
        .bind(user)
        .bind(client)
        .bind(audience)
        .bind(i64::from(page.limit))
        .bind(page.offset)
        .fetch_all(p)
        .await
        .map_err(db))?;
        Ok(rows
            .into_iter()
            .map(|(user_id, client_id, audience, scope)| Consent {
                user_id: user_id.into(),
                client_id: client_id.into(),
                audience: audience.into(),
                scope: scope.0,
            })
            .collect())
    }

    #[tracing::instrument(name = "SessionStore::count_consents", skip_all, fields(otel.kind = "client"))]
    async fn count_consents(&self, filter: &ConsentFilter) -> StoreResult<i64> {
        let (user, client, audience) = consent_binds(filter);
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(concat!(
            "SELECT COUNT(*) FROM consents WHERE ",
            consent_where!()
        ))
        .bind(user)
        .bind(client)
        .bind(audience)
        .fetch_one(p)
        .await
        .map_err(db))?;
        Ok(n)
    }

    #[tracing::instrument(name = "SessionStore::delete_consents", skip_all, fields(otel.kind = "client"))]
    async fn delete_consents(&self, filter: &ConsentFilter) -> StoreResult<u64> {
        let (user, client, audience) = consent_binds(filter);
        on_pool!(self, p => sqlx::query(concat!("DELETE FROM consents WHERE ", consent_where!()))
        .bind(user)
        .bind(client)
        .bind(audience)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))
    }

    #[tracing::instrument(name = "SessionStore::save_consent", skip_all, fields(otel.kind = "client"))]
    async fn save_consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        audience: &Audience,
        scope: &[String],
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO consents (user_id, client_id, audience, scope, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, client_id, audience) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at",
        )
        .bind(user_id.as_str())
        .bind(client_id.as_str())
        .bind(audience.as_str())
        .bind(Json(scope))
        .bind(at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(())
    }
}
