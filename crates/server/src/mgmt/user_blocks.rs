//! `/api/v2/user-blocks`: the brute-force blocks on users (too many failed logins from one
//! address, `GATEHOUSE_BRUTE_FORCE_THRESHOLD`), by user id or by identifier (email,
//! username or phone number): read them, and lift them (`DELETE /user-blocks/{id}` is in
//! `users`). The account-wide back-off key (`authn::account_backoff::ACCOUNT`) is not an
//! address and is never shown.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gatehouse_core::id::UserId;
use gatehouse_core::store::{ConnectionFilter, Page};
use gatehouse_core::user::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::MgmtQuery;
use super::error::MgmtError;
use super::validate as v;
use crate::AppState;
use crate::authn::account_backoff::ACCOUNT;

/// One block: who was trying, from where.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    /// The user's email, username or phone number.
    pub identifier: String,
    /// The address the failures came from.
    pub ip: String,
}

/// The blocks of a user (or of the users an identifier names).
#[derive(Debug, Serialize, ToSchema)]
pub struct BlocksView {
    /// The blocks.
    pub blocked_for: Vec<BlockView>,
}

/// The query of the identifier forms.
#[derive(Debug, Deserialize)]
pub struct IdentifierQuery {
    identifier: Option<String>,
}

/// The blocks on `user`.
async fn blocks_of(state: &AppState, user: &User) -> Result<Vec<BlockView>, MgmtError> {
    let Some(threshold) = state.config.brute_force_threshold else {
        return Ok(Vec::new());
    };
    let identifier = user
        .email
        .clone()
        .or_else(|| user.username.clone())
        .or_else(|| user.phone_number.clone())
        .unwrap_or_default();
    let ips = state
        .stores
        .users
        .login_failure_ips(&user.user_id, i64::from(threshold))
        .await?;
    Ok(ips
        .into_iter()
        .filter(|ip| ip != ACCOUNT)
        .map(|ip| BlockView {
            identifier: identifier.clone(),
            ip,
        })
        .collect())
}

/// The users `identifier` names: by email anywhere, and by username or phone number in the
/// database connections.
async fn named(state: &AppState, identifier: &str) -> Result<Vec<User>, MgmtError> {
    let mut users = state.stores.users.users_by_email(identifier).await?;
    let databases = state
        .stores
        .connections
        .list_connections(
            &ConnectionFilter {
                strategies: vec!["auth0".into()],
                name: None,
            },
            Page::number(0, 100),
        )
        .await?;
    for connection in databases {
        if let Some(u) = state
            .stores
            .users
            .user_by_login(&connection.name, identifier)
            .await?
            && users.iter().all(|known| known.user_id != u.user_id)
        {
            users.push(u);
        }
    }
    Ok(users)
}

fn identifier(q: IdentifierQuery) -> Result<String, MgmtError> {
    q.identifier
        .filter(|i| !i.is_empty())
        .ok_or_else(|| v::missing("identifier"))
}

/// `GET /user-blocks/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BlocksView>, MgmtError> {
    let user = state
        .stores
        .users
        .user(&UserId::from(id))
        .await?
        .ok_or_else(|| MgmtError::not_found("The user does not exist.", "inexistent_user"))?;
    Ok(Json(BlocksView {
        blocked_for: blocks_of(&state, &user).await?,
    }))
}

/// `GET /user-blocks?identifier=`.
pub async fn by_identifier(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<IdentifierQuery>,
) -> Result<Json<BlocksView>, MgmtError> {
    let identifier = identifier(q)?;
    let mut blocked_for = Vec::new();
    for user in named(&state, &identifier).await? {
        blocked_for.extend(blocks_of(&state, &user).await?);
    }
    Ok(Json(BlocksView { blocked_for }))
}

/// `DELETE /user-blocks?identifier=`: lifts the blocks of every user it names; 204.
pub async fn unblock_identifier(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<IdentifierQuery>,
) -> Result<StatusCode, MgmtError> {
    let identifier = identifier(q)?;
    for user in named(&state, &identifier).await? {
        state
            .stores
            .users
            .clear_login_failures(&user.user_id, None)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
