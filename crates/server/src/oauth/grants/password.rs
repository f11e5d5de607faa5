//! The password grants: `password` (the tenant's default directory) and Auth0's
//! `http://auth0.com/oauth/grant-type/password-realm` (a named database connection), for
//! first-party back ends that collect credentials themselves. The password check itself
//! (brute-force counting, back-off, decoy hash) is `authn::accounts::check_password`.

use gatehouse_core::id::ConnectionName;
use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;

use super::{Grant, LogCodes};
use crate::AppState;
use crate::authn::accounts::{BACK_OFF, LoginFailure, TOO_MANY_ATTEMPTS, check_password};
use crate::authn::database_connection;
use crate::error::OAuthError;
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::token::{TokenRequest, TokenResponse};
use crate::oauth::user_tokens::{self, DirectLogin};

const LOG: LogCodes = LogCodes {
    failure: LogType::FailedExchangePassword,
    success: LogType::SuccessExchangePassword,
    description: "Password for Access Token",
};

/// `grant_type=password`: the default directory; logs `sepft` or `fepft`.
pub const PASSWORD: Grant = Grant {
    name: "password",
    client_auth: ClientAuth::ConfidentialOrPublic,
    trusts_forwarded_for: true,
    log: LOG,
    handle: handler!(default_directory),
};

/// Auth0's password grant with a `realm`, the database connection to use (the default
/// directory when absent); logs like `password`.
pub const PASSWORD_REALM: Grant = Grant {
    name: "http://auth0.com/oauth/grant-type/password-realm",
    client_auth: ClientAuth::ConfidentialOrPublic,
    trusts_forwarded_for: true,
    log: LOG,
    handle: handler!(with_realm),
};

async fn default_directory(
    state: &AppState,
    req: &TokenRequest,
    event: &mut LogEvent,
) -> Result<TokenResponse, OAuthError> {
    run(state, req, event, None).await
}

async fn with_realm(
    state: &AppState,
    req: &TokenRequest,
    event: &mut LogEvent,
) -> Result<TokenResponse, OAuthError> {
    run(state, req, event, req.params.get("realm")).await
}

async fn run(
    state: &AppState,
    req: &TokenRequest,
    event: &mut LogEvent,
    realm: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let params = &req.params;
    let username = params.require("username")?;
    let password = params.require("password")?;
    let scope = params.scope()?;
    let realm = match realm {
        Some(r) => r.to_owned(),
        None => database_connection::default_name(state).await?,
    };
    let connection = state
        .stores
        .connections
        .connection_by_name(&ConnectionName::from(&realm))
        .await?
        .filter(|c| c.strategy.is_database())
        .ok_or_else(|| {
            OAuthError::InvalidRequest(format!("connection {realm} is not a database connection"))
        })?;
    event.connection = Some(connection.name.clone().into_string());
    // Only a connection the client is enabled on: no guessing a connection's passwords, or
    // logging its users in, through another application (Auth0's 400 `invalid_request`).
    if !database_connection::enabled_for(&connection, &req.client.client_id) {
        return Err(OAuthError::InvalidRequest(format!(
            "connection {realm} is not enabled for this client"
        )));
    }
    let user = match check_password(state, &connection, username, password, &req.caller).await? {
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
    event.user_id = Some(user.user_id.clone().into_string());
    user_tokens::issue_direct_login(
        state,
        req,
        DirectLogin {
            user: &user,
            connection: &connection.name,
            gty: "password",
            scope: scope.as_ref(),
        },
        event,
    )
    .await
}
