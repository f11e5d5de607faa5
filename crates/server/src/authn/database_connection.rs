//! Which database connection (strategy `auth0`) an application may use. As in Auth0, a
//! connection lists the applications enabled on it (`enabled_clients`); every entry point
//! that signs a user up, logs one in or sends reset mail through a database connection on
//! behalf of an application resolves the connection here, so none can reach a connection
//! meant for another application.

use gatehouse_core::connection::{Connection, DEFAULT_DATABASE_CONNECTION};
use gatehouse_core::id::ConnectionName;
use gatehouse_core::store::{ConnectionFilter, Page};

use crate::AppState;
use crate::error::OAuthError;

/// Whether `client_id` is enabled on `connection`.
pub fn enabled_for(connection: &Connection, client_id: &str) -> bool {
    connection.enabled_clients.iter().any(|c| c == client_id)
}

/// The database connection `name`, if there is one and `client_id` is enabled on it.
pub async fn named(
    state: &AppState,
    name: &str,
    client_id: &str,
) -> Result<Option<Connection>, OAuthError> {
    Ok(state
        .stores
        .connections
        .connection_by_name(&ConnectionName::from(name))
        .await?
        .filter(|c| c.strategy.is_database() && enabled_for(c, client_id)))
}

/// The tenant's default directory: `default_directory`, else `Username-Password-Authentication`.
pub async fn default_name(state: &AppState) -> Result<String, OAuthError> {
    Ok(state
        .catalog
        .tenant()
        .await?
        .default_directory
        .clone()
        .unwrap_or_else(|| DEFAULT_DATABASE_CONNECTION.to_owned()))
}

/// The database connection of a login page that names none: the default directory when
/// `client_id` is enabled on it, else the oldest database connection enabled for it (what
/// Auth0's login page offers an application without the default one). One read when the
/// default directory is enabled, the usual case.
pub async fn for_login(
    state: &AppState,
    client_id: &str,
) -> Result<Option<Connection>, OAuthError> {
    if let Some(c) = named(state, &default_name(state).await?, client_id).await? {
        return Ok(Some(c));
    }
    let filter = ConnectionFilter {
        strategies: vec!["auth0".into()],
        name: None,
    };
    let page = Page {
        offset: 0,
        limit: 100,
    };
    Ok(state
        .stores
        .connections
        .list_connections(&filter, page)
        .await?
        .into_iter()
        .find(|c| enabled_for(c, client_id)))
}

/// Whether `client_id` is enabled on the connection `name`, of any strategy: an SSO session
/// made through a connection counts for an application only if that application may use
/// the connection (Auth0 asks for a login otherwise).
pub async fn session_counts_for(
    state: &AppState,
    name: &str,
    client_id: &str,
) -> Result<bool, OAuthError> {
    Ok(state
        .stores
        .connections
        .connection_by_name(&ConnectionName::from(name))
        .await?
        .is_some_and(|c| enabled_for(&c, client_id)))
}
