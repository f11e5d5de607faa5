//! The first page of a login: the password form, the sign-up form, or a passwordless
//! connection's page, each carrying the sealed transaction and setting the CSRF cookie
//! it is bound to.

use gatehouse_core::id::ConnectionName;
use std::sync::Arc;

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::Response;
use gatehouse_core::client::Client;
use gatehouse_core::connection::Connection;
use gatehouse_core::store::{ConnectionFilter, Page};
use gatehouse_core::strategy::Strategy;

use super::cookies::{CSRF_COOKIE, set_cookie};
use super::database_connection;
use super::transaction::{TX_LIFETIME, Transaction};
use crate::AppState;
use crate::error::OAuthError;
use crate::pages::{self, Brand, LoginPage, SignupPage};

#[derive(Template)]
#[template(path = "passwordless_start.html")]
struct StartPage<'a> {
    tenant: &'a Brand,
    t: pages::Texts,
    tx: &'a str,
    is_email: bool,
    value: &'a str,
    error: Option<&'a str>,
}

/// Which part of the password form a login page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The identifier and the password together, or the identifier alone when the tenant
    /// asks for identifier first.
    First,
    /// Identifier first's second step: the password for the identifier given.
    Password,
}

/// The login page for `tx`, setting the CSRF cookie it is bound to.
pub async fn login_page(
    state: &AppState,
    client: &Arc<Client>,
    tx: &Transaction,
    login_hint: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, OAuthError> {
    login_page_at(state, client, tx, (login_hint, error, status), Step::First).await
}

/// [`login_page`] at `step` of the password form.
pub async fn login_page_at(
    state: &AppState,
    client: &Arc<Client>,
    tx: &Transaction,
    (login_hint, error, status): (&str, Option<&str>, StatusCode),
    step: Step,
) -> Result<Response, OAuthError> {
    // A passwordless connection asked for: its page instead of the password form.
    let passwordless = match tx.connection.as_deref() {
        Some(name) => crate::authn::login_page::usable_connection(state, client, name).await?,
        None => None,
    };
    let mut r = if let Some(connection) = passwordless {
        crate::authn::login_page::start_page(
            state,
            client,
            tx,
            &connection,
            login_hint,
            error,
            status,
        )
        .await?
    } else {
        let sealed = tx.seal(state)?;
        let tenant = crate::pages::brand_in(state, tx.lang.as_deref()).await;
        // A named connection was checked by `check_request`; else the password form shows
        // only if some database connection is enabled for the application.
        let database = tx.connection.is_some()
            || database_connection::for_login(state, &client.client_id)
                .await?
                .is_some();
        let identifier_first = state.catalog.tenant().await?.identifier_first == Some(true);
        let identifier_only = identifier_first && step == Step::First;
        // Auth0's screens: `login`, or identifier first's `login-id` and `login-password`,
        // each over `login`'s texts (its error messages serve every step).
        let mut t = tenant.texts("login", "login");
        if identifier_only {
            t = t.then(tenant.texts("login-id", "login-id"));
        } else if step == Step::Password {
            t = t.then(tenant.texts("login-password", "login-password"));
        }
        pages::render(
            status,
            &LoginPage {
                tenant: &tenant,
                t: t.var("clientName", client.name.as_str()),
                tx: &sealed,
                login_hint,
                error,
                passwordless: crate::authn::login_page::offered(state, client).await?,
                database,
                upstream: upstream_offered(state, client).await?,
                identifier_only,
                password_step: step == Step::Password,
            },
        )
    };
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, CSRF_COOKIE, &tx.csrf, TX_LIFETIME),
    );
    Ok(r)
}

/// Renders the sign-up form (the CSRF cookie is already set by the login page).
pub async fn signup_page(
    state: &AppState,
    client: &Client,
    tx: &Transaction,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, OAuthError> {
    let sealed = tx.seal(state)?;
    let tenant = pages::brand_in(state, tx.lang.as_deref()).await;
    Ok(pages::render(
        status,
        &SignupPage {
            t: tenant
                .texts("signup", "signup")
                .var("clientName", client.name.as_str()),
            tenant: &tenant,
            tx: &sealed,
            email,
            error,
        },
    ))
}

/// The passwordless connection `name`, if it is one and `client` may use it.
pub async fn usable_connection(
    state: &AppState,
    client: &Client,
    name: &str,
) -> Result<Option<Connection>, OAuthError> {
    Ok(state
        .stores
        .connections
        .connection_by_name(&ConnectionName::from(name))
        .await?
        .filter(|c| {
            matches!(c.strategy.as_str(), "email" | "sms")
                && c.enabled_clients.contains(&client.client_id)
        }))
}

/// The connections of `strategies` enabled for `client` (the first 20), for login links.
async fn enabled_for(
    state: &AppState,
    client: &Client,
    strategies: &[Strategy],
) -> Result<Vec<Connection>, OAuthError> {
    let filter = ConnectionFilter {
        strategies: strategies.iter().map(|s| s.as_str().to_owned()).collect(),
        name: None,
    };
    let page = Page {
        offset: 0,
        limit: 20,
    };
    let mut found = state
        .stores
        .connections
        .list_connections(&filter, page)
        .await?;
    found.retain(|c| c.enabled_clients.contains(&client.client_id));
    Ok(found)
}

/// The passwordless connections `client` offers on its login page, with their link texts'
/// keys.
pub async fn offered(
    state: &AppState,
    client: &Client,
) -> Result<Vec<(String, String)>, OAuthError> {
    let found = enabled_for(state, client, &[Strategy::Email, Strategy::Sms]).await?;
    Ok(found
        .into_iter()
        .map(|c| {
            // Text keys of the `login` screen.
            let label = if c.strategy == Strategy::Email {
                "passwordlessEmailButtonText"
            } else {
                "passwordlessSmsButtonText"
            };
            (c.name.into_string(), label.to_owned())
        })
        .collect())
}

/// The strategies of upstream connections.
const FEDERATED: &[Strategy] = &[
    Strategy::Oidc,
    Strategy::Google,
    Strategy::GitHub,
    Strategy::OAuth2,
    Strategy::Samlp,
];

/// The enterprise connection (`oidc`, `samlp`) enabled for `client` whose `domain_aliases` hold the domain of
/// `email` (home realm discovery: such a person logs in there, not with a password here).
pub async fn home_realm(
    state: &AppState,
    client: &Client,
    email: &str,
) -> Result<Option<Connection>, OAuthError> {
    if !email.contains('@') {
        return Ok(None);
    }
    let found = enabled_for(state, client, &[Strategy::Oidc, Strategy::Samlp]).await?;
    Ok(found.into_iter().find(|c| {
        gatehouse_core::upstream::UpstreamOptions::of(c).is_some_and(|o| o.serves(email))
    }))
}

/// The upstream connections `client` offers on its login page, with the names shown.
pub async fn upstream_offered(
    state: &AppState,
    client: &Client,
) -> Result<Vec<(String, String)>, OAuthError> {
    let found = enabled_for(state, client, FEDERATED).await?;
    Ok(found
        .into_iter()
        .map(|c| {
            // Auth0's `display_name`, when the connection has one.
            let shown = c
                .extra
                .get("display_name")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| match c.strategy {
                    Strategy::Google => "Google".to_owned(),
                    Strategy::GitHub => "GitHub".to_owned(),
                    _ => c.name.to_string(),
                });
            (c.name.into_string(), shown)
        })
        .collect())
}

/// The page asking for the email or phone number of `connection`.
pub async fn start_page(
    state: &AppState,
    client: &Client,
    tx: &Transaction,
    connection: &Connection,
    value: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, OAuthError> {
    let sealed = tx.seal(state)?;
    let tenant = pages::brand_in(state, tx.lang.as_deref()).await;
    let screen = if connection.strategy == Strategy::Email {
        "login-passwordless-email-code"
    } else {
        "login-passwordless-sms-otp"
    };
    Ok(pages::render(
        status,
        &StartPage {
            t: tenant
                .texts("login-passwordless", screen)
                .var("clientName", client.name.as_str()),
            tenant: &tenant,
            tx: &sealed,
            is_email: connection.strategy == Strategy::Email,
            value,
            error,
        },
    ))
}
