//! The grant `http://auth0.com/oauth/grant-type/passwordless/otp`: `realm` (the connection),
//! `username` (email or phone number) and `otp`, for applications that collect the code
//! themselves. Logs `s` (and `ss` for a new user), or `fepotpft`.

use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;

use super::{Grant, LogCodes};
use crate::AppState;
use crate::authn::otp;
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
    let connection = otp::connection_for(state, client, realm)
        .await
        .map_err(|e| OAuthError::InvalidRequest(e.description()))?;
    event.connection = Some(connection.name.clone().into_string());
    // A malformed username cannot have been sent a code: the same answer as a wrong code.
    let Ok(recipient) = otp::recipient(&connection, Some(username)) else {
        return Err(otp::wrong_code(&connection));
    };
    match otp::check(state, &connection, &recipient, code, caller).await? {
        // A code works for the application it was sent for, and a link's secret is no code.
        otp::CodeCheck::Valid(o) if o.send == "code" && o.client_id == client.client_id => {}
        otp::CodeCheck::Valid(_) => return Err(otp::wrong_code(&connection)),
        otp::CodeCheck::Wrong => return Err(otp::wrong_code(&connection)),
        otp::CodeCheck::TooManyAttempts => {
            return Err(OAuthError::TooManyAttempts(
                crate::authn::accounts::TOO_MANY_ATTEMPTS.into(),
            ));
        }
    }
    let Some((user, created)) = otp::user_for(state, &connection, &recipient).await? else {
        return Err(otp::wrong_code(&connection));
    };
    event.user_id = Some(user.user_id.clone().into_string());
    if user.blocked {
        return Err(OAuthError::Unauthorized("user is blocked".into()));
    }
    if created {
        otp::log_signup(state, &user, &connection, &client.client_id);
    }
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
