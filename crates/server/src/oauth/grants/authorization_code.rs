//! The authorization-code grant (RFC 6749 s4.1.3 with PKCE, RFC 7636 s4.6): the code is
//! single use, expires in a minute, and is bound to its client, redirect URI (which must be
//! sent again, identical), PKCE challenge and nonce. A replayed code revokes the refresh tokens it produced (RFC 9700 s4.2.1).

use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;
use gatehouse_core::pkce;
use gatehouse_core::scope::Scope;

use super::{Grant, LogCodes};
use crate::AppState;
use crate::error::OAuthError;
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::token::{TokenRequest, TokenResponse};
use crate::oauth::user_tokens::{self, RefreshMode, UserTokenRequest};

/// `grant_type=authorization_code`: public clients too (PKCE proves them); logs `seacft` or
/// `feacft`.
pub const GRANT: Grant = Grant {
    name: "authorization_code",
    client_auth: ClientAuth::ConfidentialOrPublic,
    trusts_forwarded_for: false,
    log: LogCodes {
        failure: LogType::FailedExchangeAuthorizationCode,
        success: LogType::SuccessExchangeAuthorizationCode,
        description: "Authorization Code for Access Token",
    },
    handle: handler!(run),
};

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

async fn run(
    state: &AppState,
    req: &TokenRequest,
    event: &mut LogEvent,
) -> Result<TokenResponse, OAuthError> {
    let (client, params, now) = (&req.client, &req.params, req.now);
    let code = params.require("code")?;
    let hash = state.hasher.hash(code);
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
    event.user_id = Some(grant.user_id.clone().into_string());
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
    let user = super::active_user(state, &grant.user_id, bad_code).await?;
    let scope = Scope::parse(&grant.scope).map_err(|_| bad_code())?;
    user_tokens::mint(
        state,
        UserTokenRequest {
            ip: req.caller.ip.as_deref(),
            client,
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
            now,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_uri_must_be_sent_again_identical() {
        let cases = [
            ("https://app/cb", Some("https://app/cb"), true),
            ("https://app/cb", None, false),
            ("https://app/cb", Some("https://app/cb/"), false),
            ("https://app/cb", Some("https://APP/cb"), false),
            ("", None, true),
            ("", Some("https://app/cb"), false),
        ];
        for (authorized, sent, want) in cases {
            assert_eq!(
                redirect_uri_matches(authorized, sent),
                want,
                "{authorized} {sent:?}"
            );
        }
    }

    #[test]
    fn a_codes_family_is_named_after_its_hash() {
        let hash: Vec<u8> = (0u8..32).collect();
        assert_eq!(family_of(&hash), "code-000102030405060708090a0b0c0d0e0f");
    }
}
