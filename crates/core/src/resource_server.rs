//! APIs ("resource servers"): the audiences access tokens are issued for.

use time::OffsetDateTime;

/// A permission an API defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDef {
    /// The scope string (Auth0 limit: 280 characters).
    pub value: String,
    /// What it allows (Auth0 limit: 500 characters).
    pub description: String,
}

/// An API.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceServer {
    /// Opaque id (24 hex digits).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The audience (`aud`) value; immutable.
    pub identifier: String,
    /// Whether gatehouse owns it (the Management API).
    pub is_system: bool,
    /// Defined scopes.
    pub scopes: Vec<ScopeDef>,
    /// Token signing algorithm, e.g. `RS256`.
    pub signing_alg: String,
    /// Access token lifetime in seconds.
    pub token_lifetime: i64,
    /// Whether refresh tokens may be issued for it.
    pub allow_offline_access: bool,
    /// Settings not modelled above, as Auth0 sends them.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// Auth0's default access token lifetime for an API (24 hours).
pub const DEFAULT_TOKEN_LIFETIME: i64 = 86_400;
