//! Client grants: which client may get tokens for which API, with which scopes.

use time::OffsetDateTime;

/// Permission for `client_id` to obtain client-credentials tokens for `audience`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientGrant {
    /// `cgr_` id.
    pub id: String,
    /// The client allowed.
    pub client_id: crate::id::ClientId,
    /// The API identifier.
    pub audience: crate::id::Audience,
    /// Scopes granted.
    pub scope: Vec<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Auth0 properties kept and shown but not acted on (`subject_type`, ...).
    pub extra: serde_json::Map<String, serde_json::Value>,
}
