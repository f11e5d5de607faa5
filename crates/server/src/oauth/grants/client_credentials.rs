//! The client-credentials grant (RFC 6749 s4.4): a machine's token for an API, decided by
//! `gatehouse_core::grants::client_credentials` from the client grant for the audience.

use gatehouse_core::grants::client_credentials::{self, ClientCredentialsError};
use gatehouse_core::id::Audience;
use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;

use super::{Grant, LogCodes};
use crate::AppState;
use crate::error::OAuthError;
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::token::{TokenRequest, TokenResponse};

/// `grant_type=client_credentials`: confidential clients only; logs `seccft` or `feccft`.
pub const GRANT: Grant = Grant {
    name: client_credentials::GRANT_TYPE,
    client_auth: ClientAuth::Confidential,
    trusts_forwarded_for: false,
    log: LogCodes {
        failure: LogType::FailedExchangeClientCredentials,
        success: LogType::SuccessExchangeClientCredentials,
        description: "Client Credentials for Access Token",
    },
    handle: handler!(run),
};

async fn run(
    state: &AppState,
    req: &TokenRequest,
    event: &mut LogEvent,
) -> Result<TokenResponse, OAuthError> {
    let requested = req.params.scope()?;
    let audience = req.audience(state).await?;
    let (api, grant) = match &audience {
        Some(aud) => (
            state.catalog.api(&Audience::from(aud)).await?,
            state
                .catalog
                .grant(&req.client.client_id, &Audience::from(aud))
                .await?,
        ),
        None => (None, None),
    };
    let claims = client_credentials::decide(
        &state.issuer,
        &req.client,
        audience.as_deref(),
        api.as_deref(),
        grant.as_deref(),
        requested.as_ref(),
        req.now.unix_timestamp(),
    )
    .map_err(|e| match e {
        ClientCredentialsError::GrantTypeNotAllowed => {
            OAuthError::UnauthorizedClient(e.to_string())
        }
        ClientCredentialsError::MissingAudience
        | ClientCredentialsError::UnknownAudience(_)
        | ClientCredentialsError::NoClientGrant(_) => OAuthError::AccessDenied(e.to_string()),
    })?;
    event.audience = claims.aud.first().cloned();
    event.scope = Some(claims.scope.to_string());
    Ok(TokenResponse {
        access_token: state.keys.sign(&claims.to_json())?,
        token_type: "Bearer",
        expires_in: claims.exp - claims.iat,
        scope: claims.scope.to_string(),
        id_token: None,
        refresh_token: None,
    })
}
