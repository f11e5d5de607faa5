//! `/api/v2/users/{id}/refresh-tokens` and `/api/v2/refresh-tokens/{id}`: a user's live refresh
//! tokens, listed and revoked. A token's id is its family's (it stays the same through
//! rotation, which is what a person means by "this device's token"); revoking it revokes the
//! family, as `/oauth/revoke` does.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gatehouse_core::id::UserId;
use gatehouse_core::refresh_token::RefreshToken;
use gatehouse_core::store::Page;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use super::body::MgmtQuery;
use super::error::MgmtError;
use super::page::{Listing, PageQuery};
use crate::AppState;

/// The most tokens listed for one user (Auth0 keeps at most 200 per user and application).
const MOST: u32 = 1000;

/// An API a refresh token renews access to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResourceServer {
    /// The API's identifier.
    pub audience: String,
    /// The scopes it may renew.
    pub scopes: String,
}

/// A refresh token as Auth0 shows it (never the token itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshTokenView {
    /// Its id (the family's).
    pub id: String,
    /// The user.
    pub user_id: String,
    /// The application it was issued to.
    pub client_id: String,
    /// When the login it came from happened.
    pub created_at: String,
    /// When the current token of the family was issued.
    pub last_exchanged_at: String,
    /// Absolute expiry, if any.
    pub expires_at: Option<String>,
    /// Idle expiry, if any.
    pub idle_expires_at: Option<String>,
    /// What it renews.
    pub resource_servers: Vec<TokenResourceServer>,
    /// The login session it came from (`POST /sessions/{id}/revoke` revokes it too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

fn iso(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl RefreshTokenView {
    fn json(t: &RefreshToken) -> Value {
        let view = RefreshTokenView {
            id: t.family_id.clone(),
            user_id: t.user_id.to_string(),
            client_id: t.client_id.to_string(),
            created_at: iso(
                time::OffsetDateTime::from_unix_timestamp(t.auth_time).unwrap_or(t.created_at)
            ),
            last_exchanged_at: iso(t.created_at),
            expires_at: t.expires_at.map(iso),
            idle_expires_at: t.idle_expires_at.map(iso),
            resource_servers: t
                .audience
                .iter()
                .map(|a| TokenResourceServer {
                    audience: a.to_string(),
                    scopes: t.scope.clone(),
                })
                .collect(),
            session_id: t.session_id.clone(),
        };
        serde_json::to_value(view).unwrap_or(Value::Null)
    }
}

fn not_found() -> MgmtError {
    MgmtError::not_found(
        "The refresh token does not exist",
        "inexistent_refresh_token",
    )
}

/// The paging query.
#[derive(Debug, Deserialize)]
pub struct TokensQuery {
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /users/{id}/refresh-tokens`.
pub async fn of_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<TokensQuery>,
) -> Result<Json<Value>, MgmtError> {
    let listing = Listing::offset(&q.page)?;
    let user_id = UserId::from(id);
    if state.stores.users.user(&user_id).await?.is_none() {
        return Err(MgmtError::not_found(
            "The user does not exist.",
            "inexistent_user",
        ));
    }
    let tokens = state
        .stores
        .refresh_tokens
        .live_refresh_tokens(&user_id, state.clock.now(), Page::number(0, MOST))
        .await?;
    let all = tokens.iter().map(RefreshTokenView::json).collect();
    Ok(listing.answer_all("tokens", all))
}

/// `DELETE /users/{id}/refresh-tokens`: revokes every one of the user's families; 202.
pub async fn revoke_of_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let user_id = UserId::from(id);
    if state.stores.users.user(&user_id).await?.is_none() {
        return Err(MgmtError::not_found(
            "The user does not exist.",
            "inexistent_user",
        ));
    }
    state
        .stores
        .refresh_tokens
        .revoke_user_refresh_tokens(&user_id, state.clock.now())
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /refresh-tokens/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let token = state
        .stores
        .refresh_tokens
        .live_refresh_token(&id, state.clock.now())
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(RefreshTokenView::json(&token)))
}

/// `DELETE /refresh-tokens/{id}`: revokes the family; 202, 404 when no token of it is live.
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    // Only a family with a live token: an unknown id must not leave a revocation mark.
    let now = state.clock.now();
    let tokens = &state.stores.refresh_tokens;
    tokens
        .live_refresh_token(&id, now)
        .await?
        .ok_or_else(not_found)?;
    tokens.revoke_refresh_family(&id, now).await?;
    Ok(StatusCode::ACCEPTED)
}
