//! `/api/v2/users/{id}/sessions` and `/api/v2/sessions/{id}`: a user's live single sign-on
//! sessions, shown and ended. A session's id is its public `sid` (the one in ID tokens), never
//! the cookie value. Ending one tells the applications it answered by back-channel logout.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gatehouse_core::id::UserId;
use gatehouse_core::session::Session;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::error::MgmtError;
use super::view::iso;
use crate::AppState;

/// Where a session came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDevice {
    /// The address of the login that started it.
    pub initial_ip: Option<String>,
    /// The browser of that login (`User-Agent`).
    pub initial_user_agent: Option<String>,
}

/// An application a session answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionClient {
    /// The application.
    pub client_id: String,
}

/// A session as Auth0 shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// The session's id (`sid`).
    pub id: String,
    /// Whose it is.
    pub user_id: String,
    /// When it started.
    pub created_at: String,
    /// When it was last used.
    pub updated_at: String,
    /// When the user authenticated.
    pub authenticated_at: String,
    /// When it was last used.
    pub last_interacted_at: String,
    /// When it ends at the latest.
    pub expires_at: String,
    /// When it ends unless used before.
    pub idle_expires_at: String,
    /// Where it came from.
    pub device: SessionDevice,
    /// The applications it answered.
    pub clients: Vec<SessionClient>,
}

fn view(s: &Session, idle: time::Duration) -> SessionView {
    let authenticated =
        time::OffsetDateTime::from_unix_timestamp(s.auth_time).unwrap_or(s.created_at);
    SessionView {
        id: s.sid.clone(),
        user_id: s.user_id.as_str().to_owned(),
        created_at: iso(s.created_at),
        updated_at: iso(s.last_interaction_at),
        authenticated_at: iso(authenticated),
        last_interacted_at: iso(s.last_interaction_at),
        expires_at: iso(s.expires_at),
        idle_expires_at: iso((s.last_interaction_at + idle).min(s.expires_at)),
        device: SessionDevice {
            initial_ip: s.initial_ip.clone(),
            initial_user_agent: s.initial_user_agent.clone(),
        },
        clients: s
            .clients
            .iter()
            .map(|c| SessionClient {
                client_id: c.clone(),
            })
            .collect(),
    }
}

fn not_found() -> MgmtError {
    MgmtError::not_found("The session does not exist", "inexistent_session")
}

/// A session that is neither ended nor past either expiry.
async fn live(state: &AppState, sid: &str) -> Result<(Session, time::Duration), MgmtError> {
    let idle = state.catalog.tenant().await?.idle_session_lifetime();
    let now = state.clock.now();
    let session = state
        .stores
        .sessions
        .session_by_sid(sid)
        .await?
        .filter(|s| {
            s.revoked_at.is_none() && s.expires_at > now && s.last_interaction_at + idle > now
        })
        .ok_or_else(not_found)?;
    Ok((session, idle))
}

/// `GET /users/{id}/sessions`: `{sessions}`, newest first (each one at most once).
pub async fn of_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let idle = state.catalog.tenant().await?.idle_session_lifetime();
    let now = state.clock.now();
    let sessions = state
        .stores
        .sessions
        .user_sessions(&UserId::from(id), now)
        .await?;
    let views: Vec<SessionView> = sessions
        .iter()
        .filter(|s| s.last_interaction_at + idle > now)
        .map(|s| view(s, idle))
        .collect();
    Ok(Json(json!({ "sessions": views })))
}

/// `DELETE /users/{id}/sessions`: ends every session of the user; 202.
pub async fn delete_of_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let ended = state
        .stores
        .sessions
        .revoke_user_sessions(&UserId::from(id), None, state.clock.now())
        .await?;
    crate::backchannel::sessions_ended(&state, &ended).await;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /sessions/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, MgmtError> {
    let (session, idle) = live(&state, &id).await?;
    Ok(Json(view(&session, idle)))
}

/// `DELETE /sessions/{id}`: ends the session; 202.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let (session, _) = live(&state, &id).await?;
    end(&state, &session).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /sessions/{id}/revoke`: revokes the refresh tokens that came from the session's
/// logins, then ends it; 202. A session already ended or expired still has its tokens
/// revoked (that is when an administrator reaches for this); only an unknown id is a 404.
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let session = state
        .stores
        .sessions
        .session_by_sid(&id)
        .await?
        .ok_or_else(not_found)?;
    state
        .stores
        .refresh_tokens
        .revoke_session_refresh_tokens(&session.user_id, &session.sid, state.clock.now())
        .await?;
    end(&state, &session).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn end(state: &AppState, session: &Session) -> Result<(), MgmtError> {
    let ended = state
        .stores
        .sessions
        .revoke_session(&session.id_hash, state.clock.now())
        .await?;
    crate::backchannel::sessions_ended(state, ended.as_slice()).await;
    Ok(())
}
