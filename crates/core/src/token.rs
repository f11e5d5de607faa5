//! The claims of the tokens we issue, free of any encoding.

/// An access token's claims (Auth0's `access_token` dialect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// Issuer, with its trailing slash.
    pub iss: String,
    /// Subject: a user id, or `<client_id>@clients` for machine tokens.
    pub sub: String,
    /// Audience: the API identifier.
    pub aud: String,
    /// Authorized party: the client the token was issued to.
    pub azp: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Granted scopes.
    pub scope: crate::scope::Scope,
    /// Grant type that produced it, e.g. `client-credentials`.
    pub gty: Option<&'static str>,
}
