//! The tenant's email templates (Auth0's `/email-templates/{name}`): Liquid bodies, kept per
//! name in the tenant settings. Rendering belongs to the server; the rules of names live here.

use serde::{Deserialize, Serialize};

/// Auth0's template names (`change_password` and `password_reset` are its legacy names).
pub const TEMPLATE_NAMES: &[&str] = &[
    "verify_email",
    "verify_email_by_code",
    "auth_email_by_code",
    "reset_email",
    "reset_email_by_code",
    "welcome_email",
    "blocked_account",
    "stolen_credentials",
    "enrollment_email",
    "mfa_oob_code",
    "user_invitation",
    "async_approval",
    "change_password",
    "password_reset",
];

/// One template, with Auth0's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailTemplate {
    /// The HTML body (Liquid).
    pub body: String,
    /// The sender (`Name <address>` or an address; Liquid allowed); empty: the provider's.
    pub from: String,
    /// The subject (Liquid).
    pub subject: String,
    /// Always `liquid`.
    pub syntax: String,
    /// Where the browser goes after the emailed link worked.
    pub result_url: Option<String>,
    /// How long the emailed link works, in seconds.
    pub url_lifetime_in_seconds: Option<i64>,
    /// Whether `email=` is added to the `result_url` redirect.
    pub include_email_in_redirect: bool,
    /// Whether this email is sent at all.
    pub enabled: bool,
}

/// Whether `name` is one of Auth0's template names.
pub fn is_template_name(name: &str) -> bool {
    TEMPLATE_NAMES.contains(&name)
}
