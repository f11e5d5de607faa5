//! The refresh-token grant: renew access with a refresh token, rotating it when the client
//! says so, and treating a replayed retired token as theft: the whole family is revoked
//! (RFC 9700 s4.14.2), logged as `ferrt`.

use gatehouse_core::client::AppType;
use gatehouse_core::log::LogEvent;
use gatehouse_core::refresh_token::{self, RefreshDecision, RefreshPolicy};
use gatehouse_core::scope::Scope;
use time::Duration;

use super::{Grant, GrantFuture, LogCodes};
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
        failure: "fertft",
        success: "sertft",
        description: "Refresh Token for Access Token",
    },
    handle,
};

fn handle<'a>(
    state: &'a AppState,
    req: &'a TokenRequest,
    event: &'a mut LogEvent,
) -> GrantFuture<'a> {
    Box::pin(run(state, req, event))
}

fn invalid() -> OAuthError {
    // spa-js falls back to an iframe when it reads "invalid refresh token".
    OAuthError::InvalidGrant("Unknown or invalid refresh token.".into())
}

async fn run(
    state: &AppState,
    req: &TokenRequest,
    event: &mut LogEvent,
) -> Result<TokenResponse, OAuthError> {
    let (client, params, now) = (&req.client, &req.params, req.now);
    let presented = params.require("refresh_token")?;
    let hash = state.hasher.hash(presented);
    let stored = state.stores.refresh_tokens.refresh_token(&hash).await?;
    let policy = RefreshPolicy::from_settings(
        client.settings.extra.get("refresh_token"),
        client.app_type == AppType::Spa,
    );
    let revoke = |family: String| async move {
        state
            .stores
            .refresh_tokens
            .revoke_refresh_family(&family, now)
            .await
    };
    let token = match refresh_token::decide(stored.as_ref(), &client.client_id, policy, now) {
        RefreshDecision::Invalid => return Err(invalid()),
        RefreshDecision::Reuse => {
            let t = stored.ok_or_else(invalid)?;
            revoke(t.family_id.clone()).await?;
            event.kind = "ferrt".into();
            event.user_id = Some(t.user_id);
            event.description =
                Some("Reused rotating refresh token detected; its family was revoked".into());
            return Err(invalid());
        }
        RefreshDecision::Renew => stored.ok_or_else(invalid)?,
    };
    event.user_id = Some(token.user_id.clone());
    if policy.rotating && token.rotated_at.is_none() {
        // Exactly one of two concurrent redemptions retires the token; the other is a replay.
        if !state
            .stores
            .refresh_tokens
            .retire_refresh_token(&token.token_hash, now)
            .await?
            && policy.leeway == 0
        {
            revoke(token.family_id.clone()).await?;
            event.kind = "ferrt".into();
            return Err(invalid());
        }
    } else if !policy.rotating
        && let Some(idle) = policy.idle_lifetime
    {
        state
            .stores
            .refresh_tokens
            .touch_refresh_token(&token.token_hash, now + Duration::seconds(idle))
            .await?;
    }
    // Down-scoping only: a narrower scope may be asked for, never a wider one.
    let original = Scope::parse(&token.scope).map_err(|_| invalid())?;
    let scope = match params.scope()? {
        Some(asked) => {
            if asked.tokens().iter().any(|s| !original.contains(s)) {
                return Err(OAuthError::InvalidScope(
                    "The requested scope exceeds the scope of the refresh token".into(),
                ));
            }
            asked
        }
        None => original,
    };
    let user = super::active_user(state, &token.user_id, invalid).await?;
    user_tokens::mint(
        state,
        UserTokenRequest {
            client,
            user: &user,
            connection: &token.connection,
            audience: token.audience.as_deref(),
            scope: Some(&scope),
            gty: "refresh_token",
            auth_time: token.auth_time,
            refresh: if policy.rotating {
                RefreshMode::Rotate(token.family_id.clone())
            } else {
                RefreshMode::Keep
            },
            nonce: None,
            sid: None,
            at_hash: false,
            c_hash_of: None,
        },
    )
    .await
}
