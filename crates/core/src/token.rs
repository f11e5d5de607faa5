//! The claims of the tokens we issue, free of any encoding.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::scope::Scope;
use crate::user::User;

/// An access token's claims (Auth0's `access_token` dialect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// Issuer, with its trailing slash.
    pub iss: String,
    /// Subject: a user id, or `<client_id>@clients` for machine tokens.
    pub sub: String,
    /// Audience: the API identifier (and `<issuer>userinfo` for user tokens with `openid`).
    pub aud: Vec<String>,
    /// Authorized party: the client the token was issued to.
    pub azp: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Granted scopes.
    pub scope: Scope,
    /// Grant type that produced it, e.g. `client-credentials`.
    pub gty: Option<&'static str>,
    /// RBAC permissions, when the API enforces policies.
    pub permissions: Option<Vec<String>>,
}

impl AccessTokenClaims {
    /// The claims as JSON: `aud` a string when there is one audience, as Auth0 does.
    pub fn to_json(&self) -> Value {
        let aud = match self.aud.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        let mut v = json!({
            "iss": self.iss,
            "sub": self.sub,
            "aud": aud,
            "iat": self.iat,
            "exp": self.exp,
            "scope": self.scope.to_string(),
            "azp": self.azp,
        });
        if let Some(gty) = self.gty {
            v["gty"] = json!(gty);
        }
        if let Some(p) = &self.permissions {
            v["permissions"] = json!(p);
        }
        v
    }
}

/// OIDC Core s3.1.3.6 / s3.3.2.11 (`at_hash`, `c_hash`): the left half of SHA-256 of the
/// ASCII value, base64url without padding.
pub fn half_hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Scopes defined by OpenID Connect rather than by an API.
pub const OIDC_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// What an OpenID Connect scope lets an application see, in words for a consent screen.
pub fn oidc_scope_description(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" => "Confirm who you are",
        "profile" => "Your name, nickname and picture",
        "email" => "Your email address",
        "address" => "Your postal address",
        "phone" => "Your phone number",
        "offline_access" => "Keep access while you are not using it",
        _ => return None,
    })
}

const PROFILE_CLAIMS: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
];

/// The user's claims that `scope` releases (OIDC Core s5.4), plus `sub`; used in ID tokens
/// and at `/userinfo`.
pub fn user_claims(user: &User, scope: &Scope) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.user_id));
    if scope.contains("profile") {
        for k in PROFILE_CLAIMS {
            if let Some(v) = user.profile.get(*k) {
                out.insert((*k).to_owned(), v.clone());
            }
        }
        if let Some(u) = &user.username {
            out.entry("preferred_username").or_insert_with(|| json!(u));
        }
        out.insert(
            "updated_at".into(),
            json!(
                user.updated_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            ),
        );
    }
    if scope.contains("email")
        && let Some(e) = &user.email
    {
        out.insert("email".into(), json!(e));
        out.insert("email_verified".into(), json!(user.email_verified));
    }
    if scope.contains("phone")
        && let Some(p) = &user.phone_number
    {
        out.insert("phone_number".into(), json!(p));
        out.insert("phone_number_verified".into(), json!(user.phone_verified));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_hash_is_the_left_half_of_sha256() {
        // RFC 7636 appendix B: SHA-256 of this verifier, base64url, is
        // E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM; its first 15 bytes are 20 characters.
        let h = half_hash("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(h.len(), 22);
        assert!(h.starts_with("E9Melhoa2OwvFrEMTJgu"), "{h}");
    }
}
