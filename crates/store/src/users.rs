//! Users and their identities.

use async_trait::async_trait;
use gatehouse_core::store::{StoreError, StoreResult, UserStore};
use gatehouse_core::user::{Identity, User};
use serde_json::{Map, Value};
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::error::db;
use crate::pool::{in_transaction, on_pool};

const INSERT_USER: &str = "INSERT INTO users (user_id, email, email_verified, username, phone_number, \
    phone_verified, profile, user_metadata, app_metadata, blocked, logins_count, last_login, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

const INSERT_IDENTITY: &str = "INSERT INTO identities (connection, provider_user_id, owner_id, position, \
    provider, is_social, profile_data, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const SELECT_USER: &str = "SELECT user_id, email, email_verified, username, phone_number, phone_verified, \
    profile, user_metadata, app_metadata, blocked, logins_count, last_login, created_at, updated_at \
    FROM users WHERE user_id = $1";

const SELECT_IDENTITIES: &str = "SELECT connection, provider_user_id, provider, is_social, profile_data, \
    password_hash FROM identities WHERE owner_id = $1 ORDER BY position";

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
struct IdentityRow {
    connection: String,
    provider_user_id: String,
    provider: String,
    is_social: bool,
    profile_data: Json<Value>,
    password_hash: Option<String>,
}

impl From<IdentityRow> for Identity {
    fn from(r: IdentityRow) -> Self {
        Identity {
            provider: r.provider,
            connection: r.connection,
            user_id: r.provider_user_id,
            is_social: r.is_social,
            profile_data: r.profile_data.0,
            password_hash: r.password_hash,
        }
    }
}

fn assemble(u: UserRow, identities: Vec<IdentityRow>) -> User {
    User {
        user_id: u.user_id,
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
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        if user.identities.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "user {} has no identity",
                user.user_id
            )));
        }
        in_transaction!(self, tx => {
            sqlx::query(INSERT_USER)
                .bind(&user.user_id)
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
                sqlx::query(INSERT_IDENTITY)
                    .bind(&identity.connection)
                    .bind(&identity.user_id)
                    .bind(&user.user_id)
                    .bind(position)
                    .bind(&identity.provider)
                    .bind(identity.is_social)
                    .bind(Json(&identity.profile_data))
                    .bind(&identity.password_hash)
                    .bind(user.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        });
        Ok(())
    }

    async fn user(&self, user_id: &str) -> StoreResult<Option<User>> {
        on_pool!(self, p => {
            let Some(row) = sqlx::query_as::<_, UserRow>(SELECT_USER)
                .bind(user_id)
                .fetch_optional(p)
                .await
                .map_err(db)?
            else {
                return Ok(None);
            };
            let identities: Vec<IdentityRow> = sqlx::query_as(SELECT_IDENTITIES)
                .bind(user_id)
                .fetch_all(p)
                .await
                .map_err(db)?;
            Ok(Some(assemble(row, identities)))
        })
    }

    async fn user_by_identity(
        &self,
        connection: &str,
        identity_user_id: &str,
    ) -> StoreResult<Option<User>> {
        let owner: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT owner_id FROM identities WHERE connection = $1 AND provider_user_id = $2",
        )
        .bind(connection)
        .bind(identity_user_id)
        .fetch_optional(p)
        .await
        .map_err(db))?;
        match owner {
            Some((owner_id,)) => self.user(&owner_id).await,
            None => Ok(None),
        }
    }

    async fn delete_user(&self, user_id: &str) -> StoreResult<()> {
        let done = on_pool!(self, p => sqlx::query("DELETE FROM users WHERE user_id = $1")
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            .map_err(db))?;
        if done == 0 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        Ok(())
    }
}
