//! `POST /oauth/token`: the token endpoint. Each grant type lives in its own function (and
//! its rules in `gatehouse_core::grants`).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use gatehouse_core::grants::client_credentials::{self, ClientCredentialsError};
use gatehouse_core::log::LogEvent;
use gatehouse_core::token::AccessTokenClaims;
use serde_json::json;

use crate::AppState;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::oauth::params::Params;
use crate::oauth::{client_auth, code, password, refresh};

/// Grant types this server implements, in discovery order.
pub const GRANT_TYPES: &[&str] = &[
    code::AUTHORIZATION_CODE,
    client_credentials::GRANT_TYPE,
    password::PASSWORD,
    password::PASSWORD_REALM,
    refresh::REFRESH_TOKEN,
    crate::passwordless::grant::PASSWORDLESS_OTP,
];

/// The handler: dispatch on `grant_type`.
pub async fn token(
    State(state): State<AppState>,
    caller: CallerInfo,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, OAuthError> {
    let grant_type = params.require("grant_type")?;
    match grant_type {
        client_credentials::GRANT_TYPE => {
            let mut log = GrantLog::start(
                &caller,
                &params,
                "feccft",
                "seccft",
                "Client Credentials for Access Token",
            );
            log.event.audience = params.get("audience").map(str::to_owned);
            let result = client_credentials_grant(&state, &headers, &params, &mut log.event).await;
            log.finish(&state, &result);
            result
        }
        password::PASSWORD => {
            password::grant(&state, caller, &headers, &params, password::PASSWORD).await
        }
        password::PASSWORD_REALM => {
            password::grant(&state, caller, &headers, &params, password::PASSWORD_REALM).await
        }
        code::AUTHORIZATION_CODE => code::grant(&state, caller, &headers, &params).await,
        refresh::REFRESH_TOKEN => refresh::grant(&state, caller, &headers, &params).await,
        crate::passwordless::grant::PASSWORDLESS_OTP => {
            crate::passwordless::grant::grant(&state, caller, &headers, &params).await
        }
        other => Err(OAuthError::UnsupportedGrantType(format!(
            "Unsupported grant type: {other}"
        ))),
    }
}

/// The client-credentials grant; returns the client and claims for the log with the response.
async fn client_credentials_grant(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    event: &mut LogEvent,
) -> Result<Response, OAuthError> {
    let client = client_auth::authenticate(state, headers, params).await?.0;
    event.client_id = Some(client.client_id.clone());
    event.client_name = Some(client.name.clone());
    let requested = params.scope()?;
    let audience = match params.get("audience") {
        Some(a) => Some(a.to_owned()),
        None => state.catalog.tenant().await?.default_audience.clone(),
    };
    let (api, grant) = match &audience {
        Some(aud) => (
            state.catalog.api(aud).await?,
            state.catalog.grant(&client.client_id, aud).await?,
        ),
        None => (None, None),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = client_credentials::decide(
        &state.issuer,
        &client,
        audience.as_deref(),
        api.as_deref(),
        grant.as_deref(),
        requested.as_ref(),
        now,
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
    token_response(state, &claims)
}

/// The RFC 6749 s5.1 success response; never cached.
fn token_response(state: &AppState, claims: &AccessTokenClaims) -> Result<Response, OAuthError> {
    let access_token = state.keys.sign(&claims.to_json())?;
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": claims.exp - claims.iat,
        "scope": claims.scope.to_string(),
    });
    Ok(crate::oauth::user_tokens::no_store(
        Json(body).into_response(),
    ))
}

/// The log event a grant fills in as it goes (client, user, audience...), written once the
/// grant has an outcome: the success type, or the failure with the error's description
/// unless the grant already described something more specific (a replay, a reuse).
pub struct GrantLog {
    /// The event being built.
    pub event: LogEvent,
    success: &'static str,
    success_description: &'static str,
}

impl GrantLog {
    /// A failure event of type `failure` until the grant succeeds as `success`.
    pub fn start(
        caller: &CallerInfo,
        params: &Params,
        failure: &str,
        success: &'static str,
        success_description: &'static str,
    ) -> Self {
        let mut event = LogEvent::new(failure);
        event.ip = caller.ip.clone();
        event.user_agent = caller.user_agent.clone();
        event.client_id = params.get("client_id").map(str::to_owned);
        GrantLog {
            event,
            success,
            success_description,
        }
    }

    /// Writes the event for `result`.
    pub fn finish(mut self, state: &AppState, result: &Result<Response, OAuthError>) {
        match result {
            Ok(_) => {
                self.event.kind = self.success.into();
                self.event.description = Some(self.success_description.into());
            }
            Err(e) => {
                if self.event.description.is_none() {
                    self.event.description = Some(e.description());
                }
            }
        }
        state.logs.record(self.event);
    }
}
