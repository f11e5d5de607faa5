//! `POST /oauth/token` as one pipeline: read `grant_type`, find the grant in
//! [`grants::GRANTS`], open its log event, authenticate the client once (as the grant
//! requires), check the client's `grant_types`, then hand a [`TokenRequest`] to the grant,
//! whose [`TokenResponse`] (or error) closes the log event. The grants themselves, and their
//! rules, are in `oauth::grants` and `gatehouse_core::grants`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::client::Client;
use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;
use serde::Serialize;
use time::OffsetDateTime;

use crate::AppState;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::oauth::client_auth;
use crate::oauth::grants::{self, Grant, LogCodes};
use crate::oauth::params::Params;

/// The handler.
pub async fn token(
    State(state): State<AppState>,
    caller: CallerInfo,
    headers: HeaderMap,
    params: Params,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = params.require("grant_type")?;
    let grant = grants::find(grant_type).ok_or_else(|| {
        OAuthError::UnsupportedGrantType(format!("Unsupported grant type: {grant_type}"))
    })?;
    let mut log = GrantLog::start(&state.clock, &caller, &params, &grant.log);
    let (result, executions) = crate::actions::noting_executions(run(
        &state,
        grant,
        caller,
        &headers,
        params,
        &mut log.event,
    ))
    .await;
    if !executions.is_empty() {
        log.event.details["actions"] = serde_json::json!({ "executions": executions });
    }
    log.finish(&state, &result);
    result
}

/// Everything after the log event is open: its outcome is the grant's.
async fn run(
    state: &AppState,
    grant: &Grant,
    caller: CallerInfo,
    headers: &HeaderMap,
    params: Params,
    event: &mut LogEvent,
) -> Result<TokenResponse, OAuthError> {
    let client = client_auth::for_grant(state, headers, &params, grant.client_auth).await?;
    event.client_id = Some(client.client_id.clone().into_string());
    event.client_name = Some(client.name.clone());
    if !client.settings.grant_types.iter().any(|g| g == grant.name) {
        return Err(OAuthError::UnauthorizedClient(format!(
            "Grant type '{}' not allowed for the client.",
            grant.name
        )));
    }
    let caller = if grant.trusts_forwarded_for {
        let at_endpoint = caller.at_token_endpoint(&client, headers);
        event.ip = at_endpoint.ip.clone();
        at_endpoint
    } else {
        caller
    };
    let request = TokenRequest {
        client,
        params,
        caller,
        now: state.clock.now(),
    };
    (grant.handle)(state, &request, event).await
}

/// A token request whose client has authenticated and may use the grant.
pub struct TokenRequest {
    /// The client, authenticated as its grant requires.
    pub client: Arc<Client>,
    /// The request's parameters.
    pub params: Params,
    /// Who sent it: with Auth0's `auth0-forwarded-for` applied when the grant and the client
    /// trust it (`CallerInfo::at_token_endpoint`).
    pub caller: CallerInfo,
    /// When the request arrived.
    pub now: OffsetDateTime,
}

impl TokenRequest {
    /// The `audience` asked for, else the tenant's default audience (Auth0's
    /// `default_audience`), else none.
    pub async fn audience(&self, state: &AppState) -> Result<Option<String>, OAuthError> {
        Ok(match self.params.get("audience") {
            Some(a) => Some(a.to_owned()),
            None => state.catalog.tenant().await?.default_audience.clone(),
        })
    }
}

/// The RFC 6749 s5.1 success response.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// The access token (a JWT).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// The scopes granted.
    pub scope: String,
    /// The ID token, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// A refresh token, when one was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let mut response = Json(self).into_response();
        // RFC 6749 s5.1: token responses are never cached.
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

/// The log event a grant fills in as it goes (client, user, audience...), written once the
/// grant has an outcome: the success type, or the failure with the error's description
/// unless the grant already described something more specific (a replay, a reuse).
pub struct GrantLog {
    /// The event being built.
    pub event: LogEvent,
    success: LogType,
    success_description: &'static str,
    /// The request's `grant_type`, counted in `/metrics` once the grant succeeds.
    grant_type: Option<String>,
}

impl GrantLog {
    /// A failure event of the grant's failure type until the grant succeeds; the client
    /// and audience are those the request names until the grant knows better.
    pub fn start(
        clock: &crate::clock::Clock,
        caller: &CallerInfo,
        params: &Params,
        codes: &LogCodes,
    ) -> Self {
        let mut event = crate::audit::event(clock, codes.failure);
        event.ip = caller.ip.clone();
        event.user_agent = caller.user_agent.clone();
        event.client_id = params.get("client_id").map(str::to_owned);
        event.audience = params.get("audience").map(str::to_owned);
        GrantLog {
            event,
            success: codes.success,
            success_description: codes.description,
            grant_type: params.get("grant_type").map(str::to_owned),
        }
    }

    /// Writes the event for `result`.
    pub fn finish<T>(mut self, state: &AppState, result: &Result<T, OAuthError>) {
        match result {
            Ok(_) => {
                self.event.kind = self.success;
                self.event.description = Some(self.success_description.into());
                if let Some(grant_type) = &self.grant_type {
                    state.metrics.token_issued(grant_type);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_are_never_cached_and_omit_absent_tokens() {
        let response = TokenResponse {
            access_token: "at".into(),
            token_type: "Bearer",
            expires_in: 60,
            scope: "openid".into(),
            id_token: None,
            refresh_token: Some("rt".into()),
        };
        let json = serde_json::to_value(&response).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"access_token": "at", "token_type": "Bearer", "expires_in": 60,
                "scope": "openid", "refresh_token": "rt"})
        );
        let http = response.into_response();
        assert_eq!(http.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(http.headers()[header::PRAGMA], "no-cache");
    }
}
