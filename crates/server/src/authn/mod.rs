//! The login flow below the endpoints that drive it (`/authorize`, the Universal Login
//! forms, the passwordless endpoints): the sealed transaction, cookies, the SSO session,
//! checking an authorization request, the first login page, response modes, accounts
//! (passwords, sign-up, back-off), database connections an application may use, and
//! passwordless codes. It imports no handler module.

pub mod account_backoff;
pub mod accounts;
pub mod cookies;
pub mod database_connection;
pub mod direct_login;
pub mod login_page;
pub mod otp;
pub mod request;
pub mod response;
pub mod saml_reply;
pub mod session;
pub mod transaction;

/// The log event of a login attempt on the pages, as a failure (`f`) until it succeeds.
pub fn login_event(
    clock: &crate::clock::Clock,
    caller: &crate::http::caller_info::CallerInfo,
    client: &gatehouse_core::client::Client,
    connection: &str,
) -> gatehouse_core::log::LogEvent {
    let mut event = crate::audit::event(clock, gatehouse_core::log_type::LogType::FailedLogin);
    event.ip = caller.ip.clone();
    event.user_agent = caller.user_agent.clone();
    event.client_id = Some(client.client_id.clone().into_string());
    event.client_name = Some(client.name.clone());
    event.connection = Some(connection.to_owned());
    event
}
