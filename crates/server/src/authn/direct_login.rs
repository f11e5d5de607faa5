//! Logins where the application collects the credentials itself: the password grants, the
//! passwordless code grant, and cross-origin authentication (Lock, auth0.js). Each checks
//! that the application may use the connection, then the credentials, and answers in the
//! token endpoint's error shapes (`invalid_grant` for wrong credentials, `unauthorized` for
//! a blocked user, `too_many_attempts`).

use gatehouse_core::client::Client;
use gatehouse_core::connection::Connection;
use gatehouse_core::id::ConnectionName;
use gatehouse_core::log::LogEvent;
use gatehouse_core::user::User;

use super::accounts::{BACK_OFF, LoginFailure, TOO_MANY_ATTEMPTS, check_password};
use super::{database_connection, otp};
use crate::AppState;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;

/// A password login to the database connection `realm` (the default directory when
/// absent), which must be enabled for `client`.
pub async fn password(
    state: &AppState,
    client: &Client,
    realm: Option<&str>,
    credentials: (&str, &str),
    caller: &CallerInfo,
    event: &mut LogEvent,
) -> Result<(Connection, User), OAuthError> {
    let (username, password) = credentials;
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
    if !database_connection::enabled_for(&connection, &client.client_id) {
        return Err(OAuthError::InvalidRequest(format!(
            "connection {realm} is not enabled for this client"
        )));
    }
    match check_password(state, &connection, username, password, caller).await? {
        Ok(user) => {
            event.user_id = Some(user.user_id.clone().into_string());
            Ok((connection, user))
        }
        Err(failure) => {
            event.user_id = failure.user_id().map(str::to_owned);
            Err(match failure {
                LoginFailure::Blocked(_) => OAuthError::Unauthorized("user is blocked".into()),
                LoginFailure::TooManyAttempts(_) => {
                    OAuthError::TooManyAttempts(TOO_MANY_ATTEMPTS.into())
                }
                LoginFailure::BackOff(_) => OAuthError::TooManyAttempts(BACK_OFF.into()),
                _ => OAuthError::InvalidGrant("Wrong email or password.".into()),
            })
        }
    }
}

/// A login with a passwordless code sent to `username` for `client` through the
/// connection `realm` (`email` or `sms`); a first login makes the user (logged `ss`).
pub async fn code(
    state: &AppState,
    client: &Client,
    realm: &str,
    credentials: (&str, &str),
    caller: &CallerInfo,
    event: &mut LogEvent,
) -> Result<(Connection, User), OAuthError> {
    let (username, code) = credentials;
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
        otp::CodeCheck::Valid(_) | otp::CodeCheck::Wrong => {
            return Err(otp::wrong_code(&connection));
        }
        otp::CodeCheck::TooManyAttempts => {
            return Err(OAuthError::TooManyAttempts(TOO_MANY_ATTEMPTS.into()));
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
    Ok((connection, user))
}
