//! Token signing keys and their life cycle: next -> current -> previous -> retired.

use time::OffsetDateTime;

/// Where a key stands in rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyState {
    /// Signs new tokens.
    Current,
    /// Published ahead of use, so verifiers can fetch it before it signs anything.
    Next,
    /// Signed until the last rotation; published so its tokens still verify.
    Previous,
    /// No longer published.
    Retired,
}

impl KeyState {
    /// The storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Current => "current",
            KeyState::Next => "next",
            KeyState::Previous => "previous",
            KeyState::Retired => "retired",
        }
    }

    /// Parses the storage name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "current" => KeyState::Current,
            "next" => KeyState::Next,
            "previous" => KeyState::Previous,
            "retired" => KeyState::Retired,
            _ => return None,
        })
    }

    /// Whether the key belongs in the JWKS.
    pub fn is_published(self) -> bool {
        !matches!(self, KeyState::Retired)
    }
}

/// A signing key as stored: public parts in the clear, the private key sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id: the RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// JWS algorithm, e.g. `RS256`.
    pub alg: String,
    /// Rotation state.
    pub state: KeyState,
    /// The public key as a JWK JSON object (no private members).
    pub public_jwk: serde_json::Value,
    /// PKCS#8 private key sealed with the master key.
    pub sealed_private_key: Vec<u8>,
    /// When it was made.
    pub created_at: OffsetDateTime,
}
