//! `POST /oauth/revoke` (RFC 7009) for refresh tokens. The answer is 200 whether or not the
//! token existed, so the endpoint tells nothing about tokens it did not issue to the caller.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use gatehouse_core::log_type::LogType;

use crate::AppState;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::oauth::client_auth;
use crate::oauth::params::Params;

/// The handler: revokes the token and every token rotated from the same login.
pub async fn revoke(
    State(state): State<AppState>,
    caller: CallerInfo,
    headers: HeaderMap,
    params: Params,
) -> Result<StatusCode, OAuthError> {
    let client = client_auth::authenticate_client(&state, &headers, &params)
        .await?
        .0;
    let token = params.require("token")?;
    let hash = state.hasher.hash(token);
    if let Some(t) = state.stores.refresh_tokens.refresh_token(&hash).await?
        && t.client_id == client.client_id
    {
        state
            .stores
            .refresh_tokens
            .revoke_refresh_family(&t.family_id, state.clock.now())
            .await?;
        let mut event = crate::audit::event(&state.clock, LogType::SuccessRevocation);
        event.description = Some("Refresh token revoked".into());
        event.client_id = Some(client.client_id.clone().into_string());
        event.client_name = Some(client.name.clone());
        event.user_id = Some(t.user_id.into_string());
        event.ip = caller.ip;
        event.user_agent = caller.user_agent;
        state.logs.record(event);
    }
    Ok(StatusCode::OK)
}
