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
    pub identifier: crate::id::Audience,
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
    /// Whether RBAC applies (`enforce_policies`): its scopes go only to users who hold them.
    pub enforce_policies: bool,
    /// The shape of its access tokens.
    pub token_dialect: TokenDialect,
    /// Settings not modelled above, as Auth0 sends them.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// `token_dialect`: the shape of an API's access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenDialect {
    /// Auth0's access token (the default).
    #[default]
    AccessToken,
    /// Auth0's, with the user's permissions in a `permissions` claim.
    AccessTokenAuthz,
    /// RFC 9068's JWT profile.
    Rfc9068Profile,
    /// RFC 9068's, with a `permissions` claim.
    Rfc9068ProfileAuthz,
}

impl TokenDialect {
    /// Auth0's name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenDialect::AccessToken => "access_token",
            TokenDialect::AccessTokenAuthz => "access_token_authz",
            TokenDialect::Rfc9068Profile => "rfc9068_profile",
            TokenDialect::Rfc9068ProfileAuthz => "rfc9068_profile_authz",
        }
    }

    /// The dialect Auth0 names `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        [
            TokenDialect::AccessToken,
            TokenDialect::AccessTokenAuthz,
            TokenDialect::Rfc9068Profile,
            TokenDialect::Rfc9068ProfileAuthz,
        ]
        .into_iter()
        .find(|d| d.as_str() == name)
    }

    /// Whether tokens carry the user's permissions in a `permissions` claim.
    pub fn has_permissions_claim(self) -> bool {
        matches!(
            self,
            TokenDialect::AccessTokenAuthz | TokenDialect::Rfc9068ProfileAuthz
        )
    }
}

/// Auth0's default access token lifetime for an API (24 hours).
pub const DEFAULT_TOKEN_LIFETIME: i64 = 86_400;
