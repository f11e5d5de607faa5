//! Users and their identities.

use async_trait::async_trait;
use gatehouse_core::id::{ConnectionName, UserId};
use gatehouse_core::store::Page;
use gatehouse_core::store::{StoreError, StoreResult, UserStore};
use gatehouse_core::user::{Identity, User};
use gatehouse_core::user_search::{UserQuery, UserSort};
use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::{db, one_row};
use crate::pool::{in_transaction, on_pool};
use crate::user_query::{bind_all, condition, order_by};

const INSERT_USER: &str = "INSERT INTO users (user_id, email, email_verified, username, phone_number, \
    phone_verified, profile, user_metadata, app_metadata, blocked, logins_count, last_login, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

const INSERT_IDENTITY: &str = "INSERT INTO identities (connection, provider_user_id, owner_id, position, \
    provider, is_social, profile_data, password_hash, created_at, login_email, login_username, login_phone, \
    idp_tokens) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

const USER_COLUMNS: &str = "SELECT u.user_id, u.email, u.email_verified, u.username, u.phone_number, \
    u.phone_verified, u.profile, u.user_metadata, u.app_metadata, u.blocked, u.logins_count, u.last_login, \
    u.created_at, u.updated_at FROM users u";

/// What the identity at `position` logs in with: the user's own attributes for the primary,
/// its profile data for the others. Lower-cased, so uniqueness ignores case.
fn login_keys(user: &User, position: i32, identity: &Identity) -> [Option<String>; 3] {
    let from_profile = |k: &str| {
        identity
            .profile_data
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (email, username, phone) = if position == 0 {
        (
            user.email.clone(),
            user.username.clone(),
            user.phone_number.clone(),
        )
    } else {
        (
            from_profile("email"),
            from_profile("username"),
            from_profile("phone_number"),
        )
    };
    [
        email.map(|e| e.to_lowercase()),
        username.map(|u| u.to_lowercase()),
        phone,
    ]
}

const SELECT_USER: &str = "SELECT user_id, email, email_verified, username, phone_number, phone_verified, \
    profile, user_metadata, app_metadata, blocked, logins_count, last_login, created_at, updated_at \
    FROM users WHERE user_id = $1";

const SELECT_IDENTITIES: &str = "SELECT connection, provider_user_id, provider, is_social, profile_data, \
    password_hash, idp_tokens FROM identities WHERE owner_id = $1 ORDER BY position";

#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: String,
    email: Option<String>,
    email_verified: bool,
    username: Option<String>,
    phone_number: Option<String>,
    phone_verified: bool,
    profile: Json<Map<String, Value>>,
    user_metadata: Json<Map<String, Value>>,
    app_metadata: Json<Map<String, Value>>,
    blocked: bool,
    logins_count: i64,
    last_login: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct OwnedIdentityRow {
    owner_id: String,
    connection: String,
    provider_user_id: String,
    provider: String,
    is_social: bool,
    profile_data: Json<Value>,
    password_hash: Option<String>,
    idp_tokens: Option<String>,
}

#[derive(sqlx::FromRow)]
struct IdentityRow {
    connection: String,
    provider_user_id: String,
    provider: String,
    is_social: bool,
    profile_data: Json<Value>,
    password_hash: Option<String>,
    idp_tokens: Option<String>,
}

impl From<IdentityRow> for Identity {
    fn from(r: IdentityRow) -> Self {
        Identity {
            provider: r.provider,
            connection: r.connection.into(),
            user_id: r.provider_user_id,
            is_social: r.is_social,
            profile_data: r.profile_data.0,
            password_hash: r.password_hash,
            idp_tokens: r.idp_tokens,
        }
    }
}

fn assemble(u: UserRow, identities: Vec<IdentityRow>) -> User {
    User {
        user_id: u.user_id.into(),
        email: u.email,
        email_verified: u.email_verified,
        username: u.username,
        phone_number: u.phone_number,
        phone_verified: u.phone_verified,
        profile: u.profile.0,
        user_metadata: u.user_metadata.0,
        app_metadata: u.app_metadata.0,
        blocked: u.blocked,
        logins_count: u.logins_count,
        last_login: u.last_login,
        created_at: u.created_at,
        updated_at: u.updated_at,
        identities: identities.into_iter().map(Identity::from).collect(),
    }
}

#[async_trait]
impl UserStore for SqlStore {
    #[tracing::instrument(name = "UserStore::insert_user", skip_all, fields(otel.kind = "client"))]
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        if user.identities.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "user {} has no identity",
                user.user_id
            )));
        }
        in_transaction!(self, tx => {
            sqlx::query(INSERT_USER)
                .bind(user.user_id.as_str())
                .bind(&user.email)
                .bind(user.email_verified)
                .bind(&user.username)
                .bind(&user.phone_number)
                .bind(user.phone_verified)
                .bind(Json(&user.profile))
                .bind(Json(&user.user_metadata))
                .bind(Json(&user.app_metadata))
                .bind(user.blocked)
                .bind(user.logins_count)
                .bind(user.last_login)
                .bind(user.created_at)
                .bind(user.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            for (position, identity) in (0i32..).zip(&user.identities) {
                let [email, username, phone] = login_keys(user, position, identity);
                sqlx::query(INSERT_IDENTITY)
                    .bind(identity.connection.as_str())
                    .bind(identity.user_id.as_str())
                    .bind(user.user_id.as_str())
                    .bind(position)
                    .bind(&identity.provider)
                    .bind(identity.is_social)
                    .bind(Json(&identity.profile_data))
                    .bind(&identity.password_hash)
                    .bind(user.created_at)
                    .bind(email)
                    .bind(username)
                    .bind(phone)
                    .bind(&identity.idp_tokens)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        });
        Ok(())
    }

    #[tracing::instrument(name = "UserStore::user", skip_all, fields(otel.kind = "client"))]
    async fn user(&self, user_id: &UserId) -> StoreResult<Option<User>> {
        on_pool!(self, p => {
            let Some(row) = sqlx::query_as::<_, UserRow>(SELECT_USER)
                .bind(user_id.as_str())
                .fetch_optional(p)
                .await
                .map_err(db)?
            else {
                return Ok(None);
            };
            let identities: Vec<IdentityRow> = sqlx::query_as(SELECT_IDENTITIES)
                .bind(user_id.as_str())
                .fetch_all(p)
                .await
                .map_err(db)?;
            Ok(Some(assemble(row, identities)))
        })
    }

    #[tracing::instrument(name = "UserStore::user_by_identity", skip_all, fields(otel.kind = "client"))]
    async fn user_by_identity(
        &self,
        connection: &ConnectionName,
        identity_user_id: &str,
    ) -> StoreResult<Option<User>> {
        let owner: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT owner_id FROM identities WHERE connection = $1 AND provider_user_id = $2",
        )
        .bind(connection.as_str())
        .bind(identity_user_id)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        match owner {
            Some((owner_id,)) => self.user(&UserId::from(owner_id)).await,
            None => Ok(None),
        }
    }

    #[tracing::instrument(name = "UserStore::delete_user", skip_all, fields(otel.kind = "client"))]
    async fn delete_user(&self, user_id: &UserId) -> StoreResult<()> {
        let done = on_pool!(self, p => sqlx::query("DELETE FROM users WHERE user_id = $1")
            .bind(user_id.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        if done == 0 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        Ok(())
    }

    #[tracing::instrument(name = "UserStore::update_user", skip_all, fields(otel.kind = "client"))]
    async fn update_user(&self, user: &User) -> StoreResult<()> {
        in_transaction!(self, tx => {
            let n = sqlx::query(
                "UPDATE users SET email = $2, email_verified = $3, username = $4, phone_number = $5, \
                 phone_verified = $6, profile = $7, user_metadata = $8, app_metadata = $9, blocked = $10, \
                 logins_count = $11, last_login = $12, updated_at = $13 WHERE user_id = $1",
            )
            .bind(user.user_id.as_str())
            .bind(&user.email)
            .bind(user.email_verified)
            .bind(&user.username)
            .bind(&user.phone_number)
            .bind(user.phone_verified)
            .bind(Json(&user.profile))
            .bind(Json(&user.user_metadata))
            .bind(Json(&user.app_metadata))
            .bind(user.blocked)
            .bind(user.logins_count)
            .bind(user.last_login)
            .bind(user.updated_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            one_row(n, format!("user {}", user.user_id))?;
            for (position, identity) in (0i32..).zip(&user.identities) {
                let [email, username, phone] = login_keys(user, position, identity);
                sqlx::query(
                    "UPDATE identities SET profile_data = $3, password_hash = $4, login_email = $5, \
                     login_username = $6, login_phone = $7, idp_tokens = $9 \
                     WHERE connection = $1 AND provider_user_id = $2 AND owner_id = $8",
                )
                .bind(identity.connection.as_str())
                .bind(identity.user_id.as_str())
                .bind(Json(&identity.profile_data))
                .bind(&identity.password_hash)
                .bind(email)
                .bind(username)
                .bind(phone)
                .bind(user.user_id.as_str())
                .bind(&identity.idp_tokens)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        });
        Ok(())
    }

    #[tracing::instrument(name = "UserStore::search_users", skip_all, fields(otel.kind = "client"))]
    async fn search_users(
        &self,
        query: Option<&UserQuery>,
        sort: UserSort,
        page: Page,
    ) -> StoreResult<Vec<User>> {
        let cond = condition(self.dialect(), query, 3).map_err(|e| StoreError::Corrupt(e.0))?;
        let sql = AssertSqlSafe(format!(
            "{USER_COLUMNS} WHERE {} ORDER BY {} LIMIT $1 OFFSET $2",
            cond.sql,
            order_by(sort)
        ));
        let rows: Vec<UserRow> = on_pool!(self, p => {
            let q = sqlx::query_as(sql).bind(i64::from(page.limit)).bind(page.offset);
            bind_all!(q, cond.binds).fetch_all(p).await.map_err(db)?
        });
        self.with_identities(rows).await
    }

    #[tracing::instrument(name = "UserStore::users_after", skip_all, fields(otel.kind = "client"))]
    async fn users_after(
        &self,
        query: Option<&UserQuery>,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<User>> {
        // Two texts rather than `($1 IS NULL OR u.user_id > $1)`: neither SQLite nor a
        // generic PostgreSQL plan starts an index range at a condition behind an OR, so each
        // page would scan the id index from the first user (quadratic over an export).
        let (start, first) = match after {
            Some(_) => ("u.user_id > $2 AND ", 3),
            None => ("", 2),
        };
        let cond = condition(self.dialect(), query, first).map_err(|e| StoreError::Corrupt(e.0))?;
        let sql = AssertSqlSafe(format!(
            "{USER_COLUMNS} WHERE {start}{} ORDER BY u.user_id LIMIT $1",
            cond.sql
        ));
        let rows: Vec<UserRow> = on_pool!(self, p => {
            let mut q = sqlx::query_as(sql).bind(i64::from(limit));
            if let Some(after) = after {
                q = q.bind(after.as_str());
            }
            bind_all!(q, cond.binds).fetch_all(p).await.map_err(db)?
        });
        self.with_identities(rows).await
    }

    #[tracing::instrument(name = "UserStore::count_users", skip_all, fields(otel.kind = "client"))]
    async fn count_users(&self, query: Option<&UserQuery>) -> StoreResult<i64> {
        let cond = condition(self.dialect(), query, 1).map_err(|e| StoreError::Corrupt(e.0))?;
        let sql = AssertSqlSafe(format!("SELECT COUNT(*) FROM users u WHERE {}", cond.sql));
        let (n,): (i64,) = on_pool!(self, p => {
            bind_all!(sqlx::query_as(sql), cond.binds).fetch_one(p).await.map_err(db)?
        });
        Ok(n)
    }

    #[tracing::instrument(name = "UserStore::users_by_email", skip_all, fields(otel.kind = "client"))]
    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>> {
        let sql = AssertSqlSafe(format!(
            // A UNION of two indexed lookups: as `LOWER(email) = $1 OR EXISTS (...)` neither
            // database could use an index for the OR, and read every user.
            "{USER_COLUMNS} WHERE u.user_id IN (\
             SELECT user_id FROM users WHERE LOWER(email) = $1 \
             UNION SELECT owner_id FROM identities WHERE login_email = $1) \
             ORDER BY u.created_at, u.user_id LIMIT 100"
        ));
        let rows: Vec<UserRow> = on_pool!(self, p => sqlx::query_as(sql)
            .bind(email.to_lowercase())
            .fetch_all(p)
            .await
            .map_err(db))?;
        self.with_identities(rows).await
    }

    #[tracing::instrument(name = "UserStore::user_by_login", skip_all, fields(otel.kind = "client"))]
    async fn user_by_login(
        &self,
        connection: &ConnectionName,
        login: &str,
    ) -> StoreResult<Option<User>> {
        // A phone number only ever matches a phone number; otherwise an email beats a
        // username that happens to spell it, so the answer never depends on row order.
        let sql = if gatehouse_core::passwordless::is_e164(login) {
            "SELECT owner_id FROM identities WHERE connection = $1 AND login_phone = $2"
        } else {
            "SELECT owner_id FROM identities WHERE connection = $1 \
             AND (login_email = $2 OR login_username = $2) \
             ORDER BY CASE WHEN login_email = $2 THEN 0 ELSE 1 END LIMIT 1"
        };
        let owner: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            sql,
        )
        .bind(connection.as_str())
        .bind(login.to_lowercase())
        .fetch_optional(p)
        .await
        .map_err(db))?;
        match owner {
            Some((id,)) => self.user(&UserId::from(id)).await,
            None => Ok(None),
        }
    }

    #[tracing::instrument(name = "UserStore::record_login_failure", skip_all, fields(otel.kind = "client"))]
    async fn record_login_failure(
        &self,
        user_id: &UserId,
        ip: &str,
        at: OffsetDateTime,
    ) -> StoreResult<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "INSERT INTO login_failures (user_id, ip, failures, last_failure) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (user_id, ip) DO UPDATE SET failures = login_failures.failures + 1, last_failure = $3 \
             RETURNING CAST(failures AS BIGINT)",
        )
        .bind(user_id.as_str())
        .bind(ip)
        .bind(at)
        .fetch_one(p)
        .await
        .map_err(db))?;
        Ok(n)
    }

    #[tracing::instrument(name = "UserStore::login_failures", skip_all, fields(otel.kind = "client"))]
    async fn login_failures(&self, user_id: &UserId, ip: &str) -> StoreResult<i64> {
        let row: Option<(i64,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT CAST(failures AS BIGINT) FROM login_failures WHERE user_id = $1 AND ip = $2",
        )
        .bind(user_id.as_str())
        .bind(ip)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        Ok(row.map_or(0, |(n,)| n))
    }

    #[tracing::instrument(name = "UserStore::count_active_users", skip_all, fields(otel.kind = "client"))]
    async fn count_active_users(&self, since: OffsetDateTime) -> StoreResult<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM users WHERE last_login >= $1",
        )
        .bind(since)
        .fetch_one(p)
        .await
        .map_err(db))?;
        Ok(n)
    }

    #[tracing::instrument(name = "UserStore::login_failure_ips", skip_all, fields(otel.kind = "client"))]
    async fn login_failure_ips(&self, user_id: &UserId, at_least: i64) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT ip FROM login_failures WHERE user_id = $1 AND failures >= $2 ORDER BY ip",
        )
        .bind(user_id.as_str())
        .bind(at_least)
        .fetch_all(p)
        .await
        .map_err(db))?;
        Ok(rows.into_iter().map(|(ip,)| ip).collect())
    }

    #[tracing::instrument(name = "UserStore::login_failure_state", skip_all, fields(otel.kind = "client"))]
    async fn login_failure_state(
        &self,
        user_id: &UserId,
        ip: &str,
    ) -> StoreResult<Option<(i64, OffsetDateTime)>> {
        on_pool!(self, p => sqlx::query_as(
            "SELECT CAST(failures AS BIGINT), last_failure FROM login_failures WHERE user_id = $1 AND ip = $2",
        )
        .bind(user_id.as_str())
        .bind(ip)
        .fetch_optional(p)
        .await
        .map_err(db))
    }

    #[tracing::instrument(name = "UserStore::claim_login_attempt", skip_all, fields(otel.kind = "client"))]
    async fn claim_login_attempt(
        &self,
        user_id: &UserId,
        ip: &str,
        cutoff: OffsetDateTime,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE login_failures SET last_failure = $4 \
             WHERE user_id = $1 AND ip = $2 AND last_failure <= $3",
        )
        .bind(user_id.as_str())
        .bind(ip)
        .bind(cutoff)
        .bind(at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(n == 1)
    }

    #[tracing::instrument(name = "UserStore::clear_login_failures", skip_all, fields(otel.kind = "client"))]
    async fn clear_login_failures(&self, user_id: &UserId, ip: Option<&str>) -> StoreResult<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM login_failures WHERE user_id = $1 AND ($2 IS NULL OR ip = $2)")
            .bind(user_id.as_str())
            .bind(ip)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        Ok(())
    }

    #[tracing::instrument(name = "UserStore::link_identity", skip_all, fields(otel.kind = "client"))]
    async fn link_identity(
        &self,
        primary_id: &UserId,
        secondary_id: &UserId,
        profile_data: &Value,
    ) -> StoreResult<()> {
        if primary_id == secondary_id {
            return Err(StoreError::Conflict(
                "a user cannot be linked to itself".into(),
            ));
        }
        let lock = match self.dialect() {
            crate::Dialect::Postgres => " FOR UPDATE",
            crate::Dialect::Sqlite => "",
        };
        let lock_users = format!(
            "SELECT user_id, blocked FROM users WHERE user_id IN ($1, $2) ORDER BY user_id{lock}"
        );
        in_transaction!(self, tx => {
            // Both rows locked, in one order, so concurrent links cannot interleave.
            let found: Vec<(String, bool)> = sqlx::query_as(AssertSqlSafe(lock_users))
                .bind(primary_id.as_str())
                .bind(secondary_id.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
            if found.len() != 2 {
                return Err(StoreError::NotFound(format!("user {primary_id} or {secondary_id}")));
            }
            // A blocked account links to nothing: unlinking would give it back unblocked.
            if let Some((blocked, _)) = found.iter().find(|(_, b)| *b) {
                return Err(StoreError::Conflict(format!("user {blocked} is blocked")));
            }
            let moving: Vec<(String, String, i32, String, String, String, String)> = sqlx::query_as(
                "SELECT connection, provider_user_id, position, COALESCE(login_email, ''),                  COALESCE(login_username, ''), COALESCE(login_phone, ''), provider                  FROM identities WHERE owner_id = $1",
            )
            .bind(secondary_id.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            let [(connection, provider_user_id, ..)] = moving.as_slice() else {
                return Err(StoreError::Conflict(format!(
                    "user {secondary_id} has linked identities of its own"
                )));
            };
            let (next,): (i32,) = sqlx::query_as(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM identities WHERE owner_id = $1",
            )
            .bind(primary_id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query(
                "UPDATE identities SET owner_id = $3, position = $4, profile_data = $5 \
                 WHERE connection = $1 AND provider_user_id = $2",
            )
            .bind(connection.as_str())
            .bind(provider_user_id)
            .bind(primary_id.as_str())
            .bind(next)
            .bind(Json(profile_data))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query("DELETE FROM users WHERE user_id = $1")
                .bind(secondary_id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        });
        Ok(())
    }

    #[tracing::instrument(name = "UserStore::unlink_identity", skip_all, fields(otel.kind = "client"))]
    async fn unlink_identity(&self, primary_id: &UserId, standalone: &User) -> StoreResult<()> {
        let Some(identity) = standalone.identities.first() else {
            return Err(StoreError::Corrupt(
                "a standalone user needs its identity".into(),
            ));
        };
        let [email, username, phone] = login_keys(standalone, 0, identity);
        in_transaction!(self, tx => {
            sqlx::query(INSERT_USER)
                .bind(standalone.user_id.as_str())
                .bind(&standalone.email)
                .bind(standalone.email_verified)
                .bind(&standalone.username)
                .bind(&standalone.phone_number)
                .bind(standalone.phone_verified)
                .bind(Json(&standalone.profile))
                .bind(Json(&standalone.user_metadata))
                .bind(Json(&standalone.app_metadata))
                .bind(standalone.blocked)
                .bind(standalone.logins_count)
                .bind(standalone.last_login)
                .bind(standalone.created_at)
                .bind(standalone.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            let moved = sqlx::query(
                "UPDATE identities SET owner_id = $3, position = 0, profile_data = $4, \
                 login_email = $6, login_username = $7, login_phone = $8 \
                 WHERE connection = $1 AND provider_user_id = $2 AND owner_id = $5 AND position > 0",
            )
            .bind(identity.connection.as_str())
            .bind(identity.user_id.as_str())
            .bind(standalone.user_id.as_str())
            .bind(Json(&identity.profile_data))
            .bind(primary_id.as_str())
            .bind(email)
            .bind(username)
            .bind(phone)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if moved != 1 {
                // Dropping the transaction undoes the insert.
                return Err(StoreError::NotFound(format!(
                    "identity {}/{} of user {primary_id}",
                    identity.connection, identity.user_id
                )));
            }
        });
        Ok(())
    }

    #[tracing::instrument(name = "UserStore::upgrade_password_hash", skip_all, fields(otel.kind = "client"))]
    async fn upgrade_password_hash(
        &self,
        connection: &ConnectionName,
        identity_user_id: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE identities SET password_hash = $4 \
             WHERE connection = $1 AND provider_user_id = $2 AND password_hash = $3",
        )
        .bind(connection.as_str())
        .bind(identity_user_id)
        .bind(old)
        .bind(new)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        Ok(n == 1)
    }

    #[tracing::instrument(name = "UserStore::record_login", skip_all, fields(otel.kind = "client"))]
    async fn record_login(
        &self,
        user_id: &UserId,
        ip: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE users SET logins_count = logins_count + 1, last_login = $2, last_ip = $3 WHERE user_id = $1",
        )
        .bind(user_id.as_str())
        .bind(at)
        .bind(ip)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        .map_err(db))?;
        one_row(n, format!("user {user_id}"))
    }
}

impl SqlStore {
    /// Loads the identities of a page of users in one query.
    async fn with_identities(&self, rows: Vec<UserRow>) -> StoreResult<Vec<User>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
        let sql = AssertSqlSafe(format!(
            "SELECT owner_id, connection, provider_user_id, provider, is_social, profile_data, password_hash, \
             idp_tokens FROM identities WHERE owner_id IN ({}) ORDER BY owner_id, position",
            placeholders.join(", ")
        ));
        let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
        let identities: Vec<OwnedIdentityRow> = on_pool!(self, p => {
            let mut q = sqlx::query_as(sql);
            for id in &ids {
                q = q.bind(id);
            }
            q.fetch_all(p).await.map_err(db)?
        });
        let mut by_owner: std::collections::HashMap<String, Vec<IdentityRow>> =
            std::collections::HashMap::new();
        for r in identities {
            by_owner.entry(r.owner_id).or_default().push(IdentityRow {
                connection: r.connection,
                provider_user_id: r.provider_user_id,
                provider: r.provider,
                is_social: r.is_social,
                profile_data: r.profile_data,
                password_hash: r.password_hash,
                idp_tokens: r.idp_tokens,
            });
        }
        Ok(rows
            .into_iter()
            .map(|u| {
                let ids = by_owner.remove(&u.user_id).unwrap_or_default();
                assemble(u, ids)
            })
            .collect())
    }
}
