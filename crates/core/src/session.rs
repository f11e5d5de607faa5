//! Login sessions (single sign-on) and authorization codes.

use time::OffsetDateTime;

/// A user's login at gatehouse, kept server-side; the browser holds only a random id.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Keyed hash of the cookie value.
    pub id_hash: Vec<u8>,
    /// The public session id (`sid` in ID tokens); not the cookie value.
    pub sid: String,
    /// Who logged in.
    pub user_id: crate::id::UserId,
    /// With which connection.
    pub connection: crate::id::ConnectionName,
    /// When they authenticated (seconds since the epoch).
    pub auth_time: i64,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Last use (idle expiry counts from here).
    pub last_interaction_at: OffsetDateTime,
    /// Absolute expiry.
    pub expires_at: OffsetDateTime,
    /// When it was ended (logout).
    pub revoked_at: Option<OffsetDateTime>,
    /// The applications it answered (back-channel logout tells each when it ends).
    pub clients: Vec<String>,
    /// The address it started from.
    pub initial_ip: Option<String>,
    /// The browser it started in (`User-Agent`, cut to 256 characters).
    pub initial_user_agent: Option<String>,
}

/// A one-time authorization code and everything it is bound to (RFC 6749 s4.1, RFC 7636).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationCode {
    /// Keyed hash of the code.
    pub code_hash: Vec<u8>,
    /// The client it was issued to.
    pub client_id: crate::id::ClientId,
    /// The user.
    pub user_id: crate::id::UserId,
    /// The connection they used.
    pub connection: crate::id::ConnectionName,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// Granted scopes.
    pub scope: String,
    /// The API, if any.
    pub audience: Option<crate::id::Audience>,
    /// The `nonce` to put in the ID token.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge, if the request had one.
    pub code_challenge: Option<String>,
    /// The session's `sid`.
    pub sid: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// When it was redeemed.
    pub consumed_at: Option<OffsetDateTime>,
}
