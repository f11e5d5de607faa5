//! The SSO session: finding the live session a request's cookie names.

use axum::http::HeaderMap;
use gatehouse_core::session::Session;

use super::cookies::{SESSION_COOKIE, cookie};
use crate::AppState;
use crate::error::OAuthError;

/// The live session named by the request's cookie, if any.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, OAuthError> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle = state.catalog.tenant().await?.idle_session_lifetime();
    Ok(state
        .stores
        .sessions
        .live_session(&state.hasher.hash(id), now, now - idle)
        .await?)
}
