//! The grant `http://auth0.com/oauth/grant-type/passwordless/otp`: `realm` (the connection),
//! `username` (email or phone number) and `otp`, for applications that collect the code
//! themselves. Logs `s` (and `ss` for a new user), or `fepotpft`.

use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;

use super::{Grant, LogCodes};
use crate::AppState;
use crate::authn::direct_login;
use crate::error::OAuthError;
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::token::{TokenRequest, TokenResponse};
use crate::oauth::user_tokens::{self, DirectLogin};

/// `grant_type=http://auth0.com/oauth/grant-type/passwordless/otp`; logs `s` or `fepotpft`.
pub const GRANT: Grant = Grant {
    name: "http://auth0.com/oauth/grant-type/passwordless/otp",
    client_auth: ClientAuth::ConfidentialOrPublic,
    trusts_forwarded_for: true,
    log: LogCodes {
        failure: LogType::FailedExchangePasswordlessOtp,
        success: LogType::SuccessLogin,
        description: "Successful login (passwordless code)",
    },
    handle: handler!(run),
};

async fn run(
    state: &AppState,
    req: &TokenRequest,
    event: &mut LogEvent,
) -> Result<TokenResponse, OAuthError> {
    let (client, params, caller) = (&req.client, &req.params, &req.caller);
    let realm = params.require("realm")?;
    let username = params.require("username")?;
    let code = params.require("otp")?;
    let scope = params.scope()?;
    let (connection, user) =
        direct_login::code(state, client, realm, (username, code), caller, event).await?;
    user_tokens::issue_direct_login(
        state,
        req,
        DirectLogin {
            user: &user,
            connection: &connection.name,
            gty: "passwordless",
            scope: scope.as_ref(),
        },
        event,
    )
    .await
}
