//! The tenant: the one set of settings a gatehouse deployment has.

use serde::{Deserialize, Serialize};

/// Tenant-wide settings, stored as one JSON document so later settings need no migration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    /// Human-readable tenant name shown on login pages.
    pub friendly_name: Option<String>,
    /// Audience used when `/authorize` or `/oauth/token` names none.
    pub default_audience: Option<String>,
    /// Connection used by the plain `password` grant.
    pub default_directory: Option<String>,
    /// Client id of the bootstrap Management API client made on first start.
    pub bootstrap_client_id: Option<String>,
    /// Where emails go out.
    pub email_provider: Option<EmailProvider>,
    /// Where `/v2/logout` may send a browser when no `client_id` is given.
    pub allowed_logout_urls: Vec<String>,
    /// Where users can get help (shown on pages).
    pub support_email: Option<String>,
    /// Universal Login logo.
    pub logo_url: Option<String>,
    /// Universal Login primary colour (`#rrggbb`).
    pub primary_color: Option<String>,
}

/// The email provider: SMTP settings with the credentials sealed under the master key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmailProvider {
    /// Provider name (`smtp`).
    pub name: String,
    /// Whether emails are sent.
    pub enabled: bool,
    /// The From address.
    pub default_from_address: Option<String>,
    /// Non-secret credential fields (host, port, user), shown back to operators.
    pub credentials_public: serde_json::Map<String, serde_json::Value>,
    /// The whole credentials object, sealed (it holds the password).
    pub credentials_sealed: Vec<u8>,
    /// Provider settings (headers and the like).
    pub settings: serde_json::Value,
}
