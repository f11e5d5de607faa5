//! The grant `http://auth0.com/oauth/grant-type/passwordless/otp`: `realm` (the connection),
//! `username` (email or phone number) and `otp`, for applications that collect the code
//! themselves. Logs `s` (and `ss` for a new user), or `fepotpft`.

use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_core::log::LogEvent;

use crate::AppState;
use crate::authn::otp;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::oauth::client_auth;
use crate::oauth::params::Params;
use crate::oauth::token::GrantLog;
use crate::oauth::user_tokens;

/// The grant type.
pub const PASSWORDLESS_OTP: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";

/// Runs the grant and logs its outcome.
pub async fn grant(
    state: &AppState,
    caller: CallerInfo,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, OAuthError> {
    let mut log = GrantLog::start(
        &caller,
        params,
        "fepotpft",
        "s",
        "Successful login (passwordless code)",
    );
    let result = run(state, &caller, headers, params, &mut log.event).await;
    log.finish(state, &result);
    result
}

async fn run(
    state: &AppState,
    caller: &CallerInfo,
    headers: &HeaderMap,
    params: &Params,
    event: &mut LogEvent,
) -> Result<Response, OAuthError> {
    let client =
        client_auth::client_for_grant(state, headers, params, PASSWORDLESS_OTP, event).await?;
    let caller = &caller.clone().at_token_endpoint(&client, headers);
    event.ip = caller.ip.clone();
    let realm = params.require("realm")?;
    let username = params.require("username")?;
    let code = params.require("otp")?;
    let scope = params.scope()?;
    let connection = otp::connection_for(state, &client, realm)
        .await
        .map_err(|e| OAuthError::InvalidRequest(e.description()))?;
    event.connection = Some(connection.name.clone());
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
    event.user_id = Some(user.user_id.clone());
    if user.blocked {
        return Err(OAuthError::Unauthorized("user is blocked".into()));
    }
    if created {
        otp::log_signup(state, &user, &connection, &client.client_id);
    }
    user_tokens::issue_direct_login(
        state,
        &client,
        &user,
        &connection.name,
        "passwordless",
        (params, scope.as_ref(), caller.ip.as_deref()),
        event,
    )
    .await
}
