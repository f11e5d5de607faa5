//! Ending a user's access. When a user is blocked or their password changes, every SSO
//! session and refresh token they hold ends (the browser that changed the password keeps its
//! own session): a thief's, or an attacker's who signed up with the address first, included.
//! The applications those sessions answered hear of it by back-channel logout.

use gatehouse_core::id::UserId;
use gatehouse_core::store::StoreError;

use crate::AppState;

/// What the login page says to a blocked user (the password login's wording).
pub const BLOCKED_MESSAGE: &str = "Your account has been blocked.";
/// The `error_description` of a blocked user's refusal, Auth0's text (spa-js logs out on it).
pub const BLOCKED_DESCRIPTION: &str = "user is blocked";

/// Ends `user_id`'s sessions, all but the one whose id hash is `keep_session`, and revokes
/// every refresh-token family of theirs (a refresh already under way gets no successor).
pub async fn end_user_access(
    state: &AppState,
    user_id: &str,
    keep_session: Option<&[u8]>,
) -> Result<(), StoreError> {
    let now = state.clock.now();
    let ended = state
        .stores
        .sessions
        .revoke_user_sessions(&UserId::from(user_id), keep_session, now)
        .await?;
    crate::backchannel::sessions_ended(state, &ended).await;
    let sessions = ended.len();
    let tokens = state
        .stores
        .refresh_tokens
        .revoke_user_refresh_tokens(&UserId::from(user_id), now)
        .await?;
    tracing::info!(
        sessions,
        tokens,
        "ended a user's sessions and refresh tokens"
    );
    Ok(())
}

/// Whether `user_id` is blocked (a user that is gone counts as blocked: nothing is issued).
pub async fn is_blocked(state: &AppState, user_id: &str) -> Result<bool, StoreError> {
    Ok(state
        .stores
        .users
        .user(&UserId::from(user_id))
        .await?
        .is_none_or(|u| u.blocked))
}
