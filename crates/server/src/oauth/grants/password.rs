//! The password grants: `password` (the tenant's default directory) and Auth0's
//! `http://auth0.com/oauth/grant-type/password-realm` (a named database connection), for
//! first-party back ends that collect credentials themselves. The login itself (the
//! connection's use by the client, brute-force counting, back-off, decoy hash) is
//! `authn::direct_login::password`.

use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;

use super::{Grant, LogCodes};
use crate::AppState;
use crate::authn::direct_login;
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
    let (connection, user) = direct_login::password(
        state,
        &req.client,
        realm,
        (username, password),
        &req.caller,
        event,
    )
    .await?;
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
