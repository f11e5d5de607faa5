//! Applications ("clients" in the Management API).

use serde::{Deserialize, Serialize};

use crate::client_settings::{JwtConfiguration, MobileSettings, RefreshTokenSettings};
use time::OffsetDateTime;

/// Auth0's application types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppType {
    /// A native (mobile or desktop) app: a public client.
    Native,
    /// A single-page app: a public client.
    Spa,
    /// A server-rendered web app: a confidential client.
    RegularWeb,
    /// A machine-to-machine client.
    NonInteractive,
}

impl AppType {
    /// The Auth0 wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            AppType::Native => "native",
            AppType::Spa => "spa",
            AppType::RegularWeb => "regular_web",
            AppType::NonInteractive => "non_interactive",
        }
    }

    /// Parses Auth0's name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "native" => AppType::Native,
            "spa" => AppType::Spa,
            "regular_web" => AppType::RegularWeb,
            "non_interactive" => AppType::NonInteractive,
            _ => return None,
        })
    }
}

/// A client secret as it is kept: a keyed hash to check it, and a ciphertext to show it again.
///
/// Auth0 returns the secret to holders of `read:client_keys`, so a hash alone is not enough;
/// the hash keeps verification free of decryption (client secrets are high-entropy, so a keyed hash needs no slow KDF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// HMAC-SHA-256 of the secret under a key derived from the master key.
    pub hash: Vec<u8>,
    /// The secret sealed with AES-256-GCM under the master key.
    pub sealed: Vec<u8>,
}

/// The long tail of Application Settings, kept as one document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientSettings {
    /// Free-text description (Auth0 limit: 140 characters).
    pub description: Option<String>,
    /// Allowed callback URLs (`redirect_uri` values).
    pub callbacks: Vec<String>,
    /// Allowed URLs after logout.
    pub allowed_logout_urls: Vec<String>,
    /// Allowed web origins (web_message, cross-origin authentication).
    pub web_origins: Vec<String>,
    /// Allowed CORS origins.
    pub allowed_origins: Vec<String>,
    /// Grant types this client may use at `/oauth/token`.
    pub grant_types: Vec<String>,
    /// `none`, `client_secret_post` or `client_secret_basic`.
    pub token_endpoint_auth_method: Option<String>,
    /// Whether the client belongs to the tenant owner.
    pub is_first_party: bool,
    /// Whether the client follows OIDC-conformant flows only.
    pub oidc_conformant: bool,
    /// `refresh_token`: how refresh tokens rotate and expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshTokenSettings>,
    /// `jwt_configuration`: the ID token's lifetime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_configuration: Option<JwtConfiguration>,
    /// `mobile`: what the app-association documents publish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<MobileSettings>,
    /// Auth0's `is_token_endpoint_ip_header_trusted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_token_endpoint_ip_header_trusted: Option<bool>,
    /// Whatever else the Management API stored (validated by the server).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ClientSettings {
    /// Auth0's `is_token_endpoint_ip_header_trusted` (default false): whether the client's
    /// `auth0-forwarded-for` header names the end user's address at the token endpoint.
    pub fn trusts_token_endpoint_ip_header(&self) -> bool {
        self.is_token_endpoint_ip_header_trusted == Some(true)
    }

    /// Auth0's `cross_origin_authentication` ("Allow Cross-Origin Authentication", off by
    /// default): whether pages of its web origins may log people in with
    /// `/co/authenticate` (Lock, auth0.js).
    pub fn cross_origin_authentication(&self) -> bool {
        self.extra.get("cross_origin_authentication") == Some(&serde_json::Value::Bool(true))
    }

    /// Auth0's `cross_origin_loc`: the application's page that answers the cross-origin
    /// verification fallback (`webAuth.crossOriginVerification()`).
    pub fn cross_origin_loc(&self) -> Option<&str> {
        self.extra
            .get("cross_origin_loc")
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The origins its pages may call from across origins: `web_origins` and
    /// `allowed_origins`, as origins.
    pub fn web_origins(&self) -> impl Iterator<Item = String> + '_ {
        self.web_origins
            .iter()
            .chain(&self.allowed_origins)
            .filter_map(|u| crate::authorize_request::origin_of(u))
    }
}

/// An application.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// The public client id.
    pub client_id: crate::id::ClientId,
    /// Display name.
    pub name: String,
    /// Application type.
    pub app_type: AppType,
    /// Whether this is a tenant-owned system client that may not be deleted.
    pub is_system: bool,
    /// The secret, for confidential clients.
    pub secret: Option<StoredSecret>,
    /// All other settings.
    pub settings: ClientSettings,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}
