//! The grants of `POST /oauth/token`, one module each, and [`GRANTS`], the table the token
//! endpoint (`oauth::token`) dispatches on. Each module declares its grant: name, log event
//! types, how its client authenticates, and the function that turns an authenticated
//! [`TokenRequest`] into a [`TokenResponse`]. A new grant is a module and a line here.

use gatehouse_core::id::UserId;
use std::future::Future;
use std::pin::Pin;

use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;
use gatehouse_core::user::User;

use crate::AppState;
use crate::error::OAuthError;
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::token::{TokenRequest, TokenResponse};

/// A [`Handler`] from an `async fn(&AppState, &TokenRequest, &mut LogEvent)`: the table
/// holds plain function pointers, so each grant's future is boxed here, once.
macro_rules! handler {
    ($run:path) => {{
        fn handle<'a>(
            state: &'a $crate::AppState,
            req: &'a $crate::oauth::token::TokenRequest,
            event: &'a mut gatehouse_core::log::LogEvent,
        ) -> $crate::oauth::grants::GrantFuture<'a> {
            Box::pin($run(state, req, event))
        }
        handle
    }};
}

pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod passwordless_otp;
pub mod refresh_token;

/// Every grant this server implements, in discovery order.
pub static GRANTS: &[Grant] = &[
    authorization_code::GRANT,
    client_credentials::GRANT,
    password::PASSWORD,
    password::PASSWORD_REALM,
    refresh_token::GRANT,
    passwordless_otp::GRANT,
];

/// The grant named `grant_type`, if we implement it.
pub fn find(grant_type: &str) -> Option<&'static Grant> {
    GRANTS.iter().find(|g| g.name == grant_type)
}

/// The names of the grants, for discovery's `grant_types_supported`.
pub fn names() -> Vec<&'static str> {
    GRANTS.iter().map(|g| g.name).collect()
}

/// What a grant's function returns.
pub type GrantFuture<'a> =
    Pin<Box<dyn Future<Output = Result<TokenResponse, OAuthError>> + Send + 'a>>;

/// A grant's function: the request, and the log event to note the user, connection,
/// audience and scope in (the pipeline writes it with the outcome).
pub type Handler = for<'a> fn(&'a AppState, &'a TokenRequest, &'a mut LogEvent) -> GrantFuture<'a>;

/// One grant type of the token endpoint.
pub struct Grant {
    /// The `grant_type` value, also what a client's `grant_types` must hold.
    pub name: &'static str,
    /// How the client authenticates.
    pub client_auth: ClientAuth,
    /// Whether Auth0's `auth0-forwarded-for` may name the end user's address (for the
    /// grants where a back end relays a person's credentials; trusted only from a
    /// confidential client that enables it).
    pub trusts_forwarded_for: bool,
    /// Its Auth0 log event types.
    pub log: LogCodes,
    /// Issues the tokens.
    pub handle: Handler,
}

/// Auth0's log event types for a grant's outcome.
pub struct LogCodes {
    /// The type of a failure (e.g. `feccft`).
    pub failure: LogType,
    /// The type of a success (e.g. `seccft`).
    pub success: LogType,
    /// The description of a success.
    pub description: &'static str,
}

/// The user a grant issues tokens for: `missing` when the user is gone, `unauthorized` /
/// "user is blocked" (which spa-js logs out on) when blocked.
pub async fn active_user(
    state: &AppState,
    user_id: &str,
    missing: fn() -> OAuthError,
) -> Result<User, OAuthError> {
    let user = state
        .stores
        .users
        .user(&UserId::from(user_id))
        .await?
        .ok_or_else(missing)?;
    if user.blocked {
        return Err(OAuthError::Unauthorized("user is blocked".into()));
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_each_grant_once_in_discovery_order() {
        assert_eq!(
            names(),
            [
                "authorization_code",
                "client_credentials",
                "password",
                "http://auth0.com/oauth/grant-type/password-realm",
                "refresh_token",
                "http://auth0.com/oauth/grant-type/passwordless/otp",
            ]
        );
        for g in GRANTS {
            assert!(std::ptr::eq(find(g.name).expect("found"), g), "{}", g.name);
        }
        assert!(find("urn:ietf:params:oauth:grant-type:device_code").is_none());
        assert!(find("").is_none());
    }

    #[test]
    fn only_machines_must_be_confidential_and_only_relayed_logins_trust_forwarded_for() {
        // (grant, client authentication, trusts `auth0-forwarded-for`, failure, success)
        let cases = [
            (
                "authorization_code",
                ClientAuth::ConfidentialOrPublic,
                false,
                "feacft",
                "seacft",
            ),
            (
                "client_credentials",
                ClientAuth::Confidential,
                false,
                "feccft",
                "seccft",
            ),
            (
                "password",
                ClientAuth::ConfidentialOrPublic,
                true,
                "fepft",
                "sepft",
            ),
            (
                "http://auth0.com/oauth/grant-type/password-realm",
                ClientAuth::ConfidentialOrPublic,
                true,
                "fepft",
                "sepft",
            ),
            (
                "refresh_token",
                ClientAuth::ConfidentialOrPublic,
                false,
                "fertft",
                "sertft",
            ),
            (
                "http://auth0.com/oauth/grant-type/passwordless/otp",
                ClientAuth::ConfidentialOrPublic,
                true,
                "fepotpft",
                "s",
            ),
        ];
        for (name, auth, forwarded, failure, success) in cases {
            let g = find(name).expect("grant");
            assert_eq!(
                (
                    g.client_auth,
                    g.trusts_forwarded_for,
                    g.log.failure.code(),
                    g.log.success.code()
                ),
                (auth, forwarded, failure, success),
                "{name}"
            );
        }
    }
}
