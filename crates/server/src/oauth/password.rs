//! The password grants: `password` (the tenant's default directory) and Auth0's
//! `http://auth0.com/oauth/grant-type/password-realm` (a named database connection), for
//! first-party back ends that collect credentials themselves.

use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_core::log::LogEvent;

use crate::AppState;
use crate::authn::accounts::{BACK_OFF, LoginFailure, TOO_MANY_ATTEMPTS, check_password};
use crate::authn::database_connection;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::oauth::client_auth;
use crate::oauth::params::Params;
use crate::oauth::token::GrantLog;
use crate::oauth::user_tokens;

/// `grant_type=password`.
pub const PASSWORD: &str = "password";
/// Auth0's password grant with a `realm`.
pub const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

/// Runs the grant and logs `sepft` or `fepft`.
pub async fn grant(
    state: &AppState,
    caller: CallerInfo,
    headers: &HeaderMap,
    params: &Params,
    grant_type: &'static str,
) -> Result<Response, OAuthError> {
    let mut log = GrantLog::start(
        &caller,
        params,
        "fepft",
        "sepft",
        "Password for Access Token",
    );
    let result = run(state, &caller, headers, params, grant_type, &mut log.event).await;
    log.finish(state, &result);
    result
}

async fn run(
    state: &AppState,
    caller: &CallerInfo,
    headers: &HeaderMap,
    params: &Params,
    grant_type: &'static str,
    event: &mut LogEvent,
) -> Result<Response, OAuthError> {
    let client = client_auth::client_for_grant(state, headers, params, grant_type, event).await?;
    let caller = &caller.clone().at_token_endpoint(&client, headers);
    event.ip = caller.ip.clone();
    let username = params.require("username")?;
    let password = params.require("password")?;
    let scope = params.scope()?;
    let realm = match (grant_type, params.get("realm")) {
        (PASSWORD_REALM, Some(r)) => r.to_owned(),
        _ => database_connection::default_name(state).await?,
    };
    let connection = state
        .stores
        .connections
        .connection_by_name(&realm)
        .await?
        .filter(|c| c.strategy == "auth0")
        .ok_or_else(|| {
            OAuthError::InvalidRequest(format!("connection {realm} is not a database connection"))
        })?;
    event.connection = Some(connection.name.clone());
    // Only a connection the client is enabled on: no guessing a connection's passwords, or
    // logging its users in, through another application (Auth0's 400 `invalid_request`).
    if !database_connection::enabled_for(&connection, &client.client_id) {
        return Err(OAuthError::InvalidRequest(format!(
            "connection {realm} is not enabled for this client"
        )));
    }
    let user = match check_password(state, &connection, username, password, caller).await? {
        Ok(u) => u,
        Err(failure) => {
            event.user_id = failure.user_id().map(str::to_owned);
            return Err(match failure {
                LoginFailure::Blocked(_) => OAuthError::Unauthorized("user is blocked".into()),
                LoginFailure::TooManyAttempts(_) => {
                    OAuthError::TooManyAttempts(TOO_MANY_ATTEMPTS.into())
                }
                LoginFailure::BackOff(_) => OAuthError::TooManyAttempts(BACK_OFF.into()),
                _ => OAuthError::InvalidGrant("Wrong email or password.".into()),
            });
        }
    };
    event.user_id = Some(user.user_id.clone());
    user_tokens::issue_direct_login(
        state,
        &client,
        &user,
        &connection.name,
        "password",
        (params, scope.as_ref(), caller.ip.as_deref()),
        event,
    )
    .await
}
