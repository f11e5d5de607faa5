//! The refresh-token grant: renew access with a refresh token, rotating it when the client
//! says so, and treating a replayed retired token as theft: the whole family is revoked
//! (RFC 9700 s4.14.2), logged as `ferrt`.

use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;
use gatehouse_core::refresh_token::{self, RefreshDecision, RefreshPolicy, RefreshToken};
use gatehouse_core::scope::Scope;
use time::{Duration, OffsetDateTime};

use super::{Grant, LogCodes};
use crate::AppState;
use crate::error::OAuthError;
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::token::{TokenRequest, TokenResponse};
use crate::oauth::user_tokens::{self, RefreshMode, UserTokenRequest};

/// `grant_type=refresh_token`: public clients too (the token is bound to the client); logs
/// `sertft`, `fertft` or `ferrt`.
pub const GRANT: Grant = Grant {
    name: "refresh_token",
    client_auth: ClientAuth::ConfidentialOrPublic,
    trusts_forwarded_for: false,
    log: LogCodes {
        failure: LogType::FailedExchangeRefreshToken,
        success: LogType::SuccessExchangeRefreshToken,
        description: "Refresh Token for Access Token",
    },
    handle: handler!(run),
};

fn invalid() -> OAuthError {
    // spa-js falls back to an iframe when it reads "invalid refresh token".
    OAuthError::InvalidGrant("Unknown or invalid refresh token.".into())
}

async fn run(
    state: &AppState,
    req: &TokenRequest,
    event: &mut LogEvent,
) -> Result<TokenResponse, OAuthError> {
    let policy = RefreshPolicy::of(&req.client);
    let token = redeem(state, req, policy, event).await?;
    let original = Scope::parse(&token.scope).map_err(|_| invalid())?;
    let scope = refresh_token::narrow_scope(original, req.params.scope()?)
        .map_err(|e| OAuthError::InvalidScope(e.to_string()))?;
    let user = super::active_user(state, &token.user_id, invalid).await?;
    let minted = user_tokens::mint(
        state,
        UserTokenRequest {
            ip: req.caller.ip.as_deref(),
            client: &req.client,
            user: &user,
            connection: &token.connection,
            audience: token.audience.as_deref(),
            scope: Some(&scope),
            gty: "refresh_token",
            auth_time: token.auth_time,
            refresh: if policy.rotating {
                RefreshMode::Successor {
                    family: token.family_id.clone(),
                    retiring: token.token_hash.clone(),
                    allow_retired: policy.leeway > 0,
                }
            } else {
                RefreshMode::Keep
            },
            nonce: None,
            // The family's login session: its successor stays bound to it (and the ID token
            // names it, as the first one did).
            sid: token.session_id.as_deref(),
            at_hash: false,
            c_hash_of: None,
            now: req.now,
        },
    )
    .await;
    if let Err(OAuthError::RefreshTokenReplayed) = minted {
        // Another redemption of the same token rotated it first: a replay.
        revoke_family(state, &token, req.now, event).await?;
        return Err(invalid());
    }
    minted
}

/// Finds the presented token and spends it as `policy` says: a rotating token is retired
/// (its successor comes with the response), a non-rotating one has its idle expiry pushed
/// back. A retired token presented again is theft: its family is revoked.
async fn redeem(
    state: &AppState,
    req: &TokenRequest,
    policy: RefreshPolicy,
    event: &mut LogEvent,
) -> Result<RefreshToken, OAuthError> {
    let now = req.now;
    let hash = state.hasher.hash(req.params.require("refresh_token")?);
    let stored = state.stores.refresh_tokens.refresh_token(&hash).await?;
    let decision = refresh_token::decide(stored.as_ref(), &req.client.client_id, policy, now);
    let token = match (decision, stored) {
        (RefreshDecision::Renew, Some(t)) => t,
        (RefreshDecision::Reuse, Some(t)) => {
            revoke_family(state, &t, now, event).await?;
            event.user_id = Some(t.user_id.into_string());
            event.description =
                Some("Reused rotating refresh token detected; its family was revoked".into());
            return Err(invalid());
        }
        _ => return Err(invalid()),
    };
    event.user_id = Some(token.user_id.clone().into_string());
    // A rotating token is retired by the transaction that stores its successor
    // (`RefreshMode::Successor`): of two concurrent redemptions only one rotates it.
    if !policy.rotating
        && let Some(idle) = policy.idle_lifetime
    {
        state
            .stores
            .refresh_tokens
            .touch_refresh_token(&token.token_hash, now + Duration::seconds(idle))
            .await?;
    }
    Ok(token)
}

/// Revokes the family of a replayed token (RFC 9700 s4.14.2), logged as `ferrt`.
async fn revoke_family(
    state: &AppState,
    token: &RefreshToken,
    now: OffsetDateTime,
    event: &mut LogEvent,
) -> Result<(), OAuthError> {
    state
        .stores
        .refresh_tokens
        .revoke_refresh_family(&token.family_id, now)
        .await?;
    event.kind = LogType::FailedRefreshTokenReuse;
    Ok(())
}
