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
    /// Universal Login logo (branding's `logo_url`).
    pub logo_url: Option<String>,
    /// The tenant's own logo (tenant settings' `picture_url`), shown where branding has none.
    pub picture_url: Option<String>,
    /// Universal Login primary colour (`#rrggbb`).
    pub primary_color: Option<String>,
    /// Hours an SSO session lives at most (Auth0's `session_lifetime`; 168 when unset).
    pub session_lifetime: Option<u32>,
    /// Hours an SSO session survives without use (Auth0's `idle_session_lifetime`; 72 when unset).
    pub idle_session_lifetime: Option<u32>,
    /// Whether a new application is enabled on every existing connection (Auth0's
    /// `flags.enable_client_connections`; on when unset).
    pub enable_client_connections: Option<bool>,
    /// The absolute session lifetime in minutes, when set that way (Auth0's
    /// `session_lifetime_in_minutes`); it wins over the hours.
    pub session_lifetime_minutes: Option<u32>,
    /// The idle session lifetime in minutes, when set that way; it wins over the hours.
    pub idle_session_lifetime_minutes: Option<u32>,
    /// Auth0 settings kept and shown but not acted on (the kept flags under `flags`).
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Auth0 branding properties kept and shown but not acted on.
    pub branding_extra: serde_json::Map<String, serde_json::Value>,
    /// Whether the login page asks for the identifier first, then the password (Auth0's
    /// `identifier_first` prompt setting; off when unset).
    pub identifier_first: Option<bool>,
    /// Prompt settings kept and shown but not acted on (`/prompts`).
    pub prompts_extra: serde_json::Map<String, serde_json::Value>,
    /// Email templates by Auth0 name (`verify_email`, `reset_email`, ...).
    pub email_templates: std::collections::BTreeMap<String, crate::email_template::EmailTemplate>,
    /// The languages pages may be shown in, the first the default (Auth0's
    /// `enabled_locales`; English alone when empty).
    pub enabled_locales: Vec<String>,
    /// Whole Auth0 settings objects kept and shown but not acted on, by Management API path
    /// (`attack-protection/bot-detection`, ...).
    pub kept_objects: serde_json::Map<String, serde_json::Value>,
    /// Custom texts by prompt, then language: `{screen: {key: text}}` as Auth0 stores them.
    pub custom_text:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, serde_json::Value>>,
}

/// Auth0's default absolute session lifetime, in hours (7 days).
pub const DEFAULT_SESSION_LIFETIME_HOURS: u32 = 168;
/// Auth0's default idle session lifetime, in hours (3 days).
pub const DEFAULT_IDLE_SESSION_LIFETIME_HOURS: u32 = 72;
/// The longest either lifetime may be set to, in hours (one year, as Auth0 allows).
pub const MAX_SESSION_LIFETIME_HOURS: u32 = 8760;

impl TenantSettings {
    /// The languages pages may be shown in, the default first.
    pub fn locales(&self) -> Vec<String> {
        if self.enabled_locales.is_empty() {
            vec![crate::prompt_text::DEFAULT_LANGUAGE.to_owned()]
        } else {
            self.enabled_locales.clone()
        }
    }

    /// Whether a new application starts enabled on every existing connection.
    pub fn enables_new_clients_everywhere(&self) -> bool {
        self.enable_client_connections != Some(false)
    }

    /// How long a new SSO session may live at most.
    pub fn session_lifetime(&self) -> time::Duration {
        lifetime(
            self.session_lifetime_minutes,
            self.session_lifetime,
            DEFAULT_SESSION_LIFETIME_HOURS,
        )
    }

    /// How long an SSO session survives without an interaction.
    pub fn idle_session_lifetime(&self) -> time::Duration {
        lifetime(
            self.idle_session_lifetime_minutes,
            self.idle_session_lifetime,
            DEFAULT_IDLE_SESSION_LIFETIME_HOURS,
        )
    }
}

/// The longest lifetime in minutes (a year, as in hours).
pub const MAX_SESSION_LIFETIME_MINUTES: u32 = MAX_SESSION_LIFETIME_HOURS * 60;

fn lifetime(minutes: Option<u32>, hours: Option<u32>, default_hours: u32) -> time::Duration {
    let minutes = minutes.unwrap_or_else(|| hours.unwrap_or(default_hours).saturating_mul(60));
    time::Duration::minutes(i64::from(minutes.clamp(1, MAX_SESSION_LIFETIME_MINUTES)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_lifetimes_default_to_auth0s_and_follow_the_settings() {
        let mut t = TenantSettings::default();
        assert_eq!(t.session_lifetime(), time::Duration::days(7));
        assert_eq!(t.idle_session_lifetime(), time::Duration::days(3));
        t.session_lifetime = Some(2);
        t.idle_session_lifetime = Some(1);
        assert_eq!(t.session_lifetime(), time::Duration::hours(2));
        assert_eq!(t.idle_session_lifetime(), time::Duration::hours(1));
        t.session_lifetime = Some(0);
        assert_eq!(t.session_lifetime(), time::Duration::minutes(1));
        t.session_lifetime_minutes = Some(90);
        assert_eq!(t.session_lifetime(), time::Duration::minutes(90));
    }

    #[test]
    fn documents_stored_before_the_lifetimes_existed_still_load() {
        let t: TenantSettings = serde_json::from_str(r#"{"friendly_name":"Acme"}"#).expect("json");
        assert_eq!(t.session_lifetime, None);
        assert_eq!(t.idle_session_lifetime(), time::Duration::days(3));
    }
}
