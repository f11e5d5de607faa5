//! Connections: the sources of identities (database, passwordless, enterprise, social).

use time::OffsetDateTime;

/// The name of the database connection every new tenant has.
pub const DEFAULT_DATABASE_CONNECTION: &str = "Username-Password-Authentication";

/// A connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// `con_` id.
    pub id: String,
    /// Unique name, used as `connection`/`realm` in requests.
    pub name: String,
    /// `auth0`, `email`, `sms`, `oidc`, ...
    pub strategy: String,
    /// Strategy-specific options.
    pub options: serde_json::Value,
    /// Clients allowed to use it.
    pub enabled_clients: Vec<String>,
    /// Settings outside `options` (`display_name`, `metadata`, `realms`, ...).
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}
