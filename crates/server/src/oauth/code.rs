//! The authorization-code grant (RFC 6749 s4.1.3 with PKCE, RFC 7636 s4.6): the code is
//! single use, expires in a minute, and is bound to its client, redirect URI (which must be
//! sent again, identical), PKCE challenge and nonce. A replayed code revokes the refresh tokens it produced (RFC 9700 s4.2.1).

use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_core::log::LogEvent;
use gatehouse_core::pkce;
use gatehouse_core::scope::Scope;
use time::OffsetDateTime;

use crate::AppState;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::oauth::client_auth;
use crate::oauth::params::Params;
use crate::oauth::token::GrantLog;
use crate::oauth::user_tokens::{self, RefreshMode, UserTokenRequest};

/// `grant_type=authorization_code`.
pub const AUTHORIZATION_CODE: &str = "authorization_code";

fn bad_code() -> OAuthError {
    OAuthError::InvalidGrant("Invalid authorization code".into())
}

/// Whether the token request's `redirect_uri` is the authorization request's (RFC 6749
/// s4.1.3: required when the authorization request had one, and "identical"). Comparing it
/// only when sent, as we once did, let a code obtained for one callback (say a wildcard match
/// an attacker controls) be redeemed by a confidential client without PKCE as if it had come
/// back to the real one. `/authorize` always requires `redirect_uri`, so in practice it is
/// always required here; a code stored without one (empty) must be redeemed without one.
fn redirect_uri_matches(authorized: &str, sent: Option<&str>) -> bool {
    match sent {
        Some(sent) => sent == authorized,
        None => authorized.is_empty(),
    }
}

/// The refresh-token family of tokens issued for a code: derived from the code's hash so a
/// replay of the code can find and revoke them.
fn family_of(code_hash: &[u8]) -> String {
    let hex: String = code_hash
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("code-{hex}")
}

/// Runs the grant and logs `seacft` or `feacft`.
pub async fn grant(
    state: &AppState,
    caller: CallerInfo,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, OAuthError> {
    let mut log = GrantLog::start(
        &caller,
        params,
        "feacft",
        "seacft",
        "Authorization Code for Access Token",
    );
    let result = run(state, headers, params, &mut log.event).await;
    log.finish(state, &result);
    result
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    event: &mut LogEvent,
) -> Result<Response, OAuthError> {
    let client =
        client_auth::client_for_grant(state, headers, params, AUTHORIZATION_CODE, event).await?;
    let code = params.require("code")?;
    let hash = state.hasher.hash(code);
    let now = OffsetDateTime::now_utc();
    let Some(grant) = state.stores.sessions.consume_code(&hash, now).await? else {
        if state
            .stores
            .sessions
            .code(&hash)
            .await?
            .is_some_and(|c| c.consumed_at.is_some())
        {
            state
                .stores
                .refresh_tokens
                .revoke_refresh_family(&family_of(&hash), now)
                .await?;
            event.description =
                Some("Authorization code replayed; tokens issued from it were revoked".into());
        }
        return Err(bad_code());
    };
    event.user_id = Some(grant.user_id.clone());
    if grant.client_id != client.client_id {
        return Err(bad_code());
    }
    if !redirect_uri_matches(&grant.redirect_uri, params.get("redirect_uri")) {
        return Err(OAuthError::InvalidGrant(
            "redirect_uri does not match the authorization request".into(),
        ));
    }
    match (&grant.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
        (Some(_), _) => {
            return Err(OAuthError::InvalidGrant(
                "Failed to verify code verifier".into(),
            ));
        }
        // A verifier for a request that sent no challenge is a downgrade attempt.
        (None, Some(_)) => {
            return Err(OAuthError::InvalidGrant(
                "No code challenge was sent for this code".into(),
            ));
        }
        (None, None) => {}
    }
    let user = state
        .stores
        .users
        .user(&grant.user_id)
        .await?
        .ok_or_else(bad_code)?;
    if user.blocked {
        return Err(OAuthError::Unauthorized("user is blocked".into()));
    }
    let scope = Scope::parse(&grant.scope).map_err(|_| bad_code())?;
    user_tokens::issue(
        state,
        UserTokenRequest {
            client: &client,
            user: &user,
            connection: &grant.connection,
            audience: grant.audience.as_deref(),
            scope: Some(&scope),
            gty: "authorization_code",
            auth_time: grant.auth_time,
            refresh: RefreshMode::Rotate(family_of(&hash)),
            nonce: grant.nonce.as_deref(),
            sid: Some(&grant.sid),
            at_hash: false,
            c_hash_of: None,
        },
    )
    .await
}
