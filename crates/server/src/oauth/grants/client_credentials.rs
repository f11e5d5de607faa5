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
    let mut token = claims.to_json();
    if let Some(extra) = credentials_exchange(state, req, &token).await?
        && let Some(obj) = token.as_object_mut()
    {
        for (k, v) in extra {
            obj.entry(k).or_insert(v);
        }
    }
    Ok(TokenResponse {
        access_token: state.keys.sign(&token)?,
        token_type: "Bearer",
        expires_in: claims.exp - claims.iat,
        scope: claims.scope.to_string(),
        id_token: None,
        refresh_token: None,
    })
}

/// Runs the `credentials-exchange` flow, when one is bound: the access token's custom
/// claims; `api.access.deny(code, reason)` refuses the token with that error code when it
/// is one of Auth0's for this trigger.
async fn credentials_exchange(
    state: &AppState,
    req: &TokenRequest,
    token: &serde_json::Value,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, OAuthError> {
    if crate::actions::data(state)
        .await?
        .flow("credentials-exchange")
        .is_empty()
    {
        return Ok(None);
    }
    let event = serde_json::json!({
        "client": {"client_id": req.client.client_id, "name": req.client.name,
                   "metadata": req.client.settings.extra.get("client_metadata")},
        "request": {"ip": req.caller.ip, "hostname": state.issuer.as_str()},
        "resource_server": {"identifier": token["aud"]},
        "transaction": {"requested_scopes": token["scope"].as_str().unwrap_or_default().split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>()},
        "tenant": {"id": state.config.tenant_name},
    });
    match crate::actions::run_flow(state, "credentials-exchange", &event).await? {
        Ok(outcome) => Ok(Some(outcome.access_token)),
        Err(crate::actions::Stop::Denied(code, reason)) => {
            let reason = reason.unwrap_or_else(|| code.clone());
            Err(match code.as_str() {
                "invalid_scope" => OAuthError::InvalidScope(reason),
                "invalid_request" => OAuthError::InvalidRequest(reason),
                "server_error" => OAuthError::Internal(anyhow::anyhow!(reason)),
                _ => OAuthError::AccessDenied(reason),
            })
        }
        Err(crate::actions::Stop::Failed { action, why }) => {
            tracing::warn!(action = %action, error = %why, "credentials-exchange action failed");
            Err(OAuthError::AccessDenied(format!(
                "The action {action} failed: {why}"
            )))
        }
    }
}
