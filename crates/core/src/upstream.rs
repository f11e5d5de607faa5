//! Options of upstream identity-provider connections (`oidc`, `google-oauth2`), read from
//! Auth0's JSON (the connection's `options`, which keep every other field for round trips),
//! and how a provider's subject becomes an identity.

use serde::Deserialize;

use crate::connection::{Connection, ConnectionOptions};
use crate::strategy::Strategy;

/// An `oidc` or `google-oauth2` connection's options, in Auth0's names.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OidcOptions {
    /// `back_channel` (code flow, the default) or `front_channel` (ID token by form post).
    #[serde(rename = "type")]
    pub channel: Option<String>,
    /// The provider's discovery document.
    pub discovery_url: Option<String>,
    /// The provider's issuer, when given instead of (or beside) `discovery_url`.
    pub issuer: Option<String>,
    /// Our client id at the provider.
    pub client_id: Option<String>,
    /// Space-separated scopes (Auth0's schema name).
    pub scopes: Option<String>,
    /// Scopes (the name Auth0's docs use): space-separated, or a list as Google
    /// connections have them.
    pub scope: Option<serde_json::Value>,
    /// Auth0's `set_user_root_attributes`: when the provider's claims update the user's root
    /// profile (`on_each_login`, the default; `on_first_login`; `never_on_login`).
    pub set_user_root_attributes: Option<String>,
}

/// When a provider's claims update the user's root profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSync {
    /// At every login (Auth0's default).
    EachLogin,
    /// When the user is made.
    FirstLogin,
    /// Never: the claims stay on the identity's `profileData`.
    Never,
}

impl OidcOptions {
    /// The options of `c` when it is an OpenID Connect connection (`oidc`, `google-oauth2`).
    pub fn of(c: &Connection) -> Option<Self> {
        if !matches!(c.strategy, Strategy::Oidc | Strategy::Google) {
            return None;
        }
        let ConnectionOptions::Other(map) = &c.options else {
            return None;
        };
        serde_json::from_value(serde_json::Value::Object(map.clone())).ok()
    }

    /// The discovery document's URL: `discovery_url`, or the issuer's well-known one.
    pub fn discovery_url(&self) -> Option<String> {
        if let Some(url) = self.discovery_url.as_deref().filter(|u| !u.is_empty()) {
            return Some(url.to_owned());
        }
        let issuer = self.issuer.as_deref().filter(|i| !i.is_empty())?;
        Some(format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))
    }

    /// When the provider's claims update the user's root profile.
    pub fn root_sync(&self) -> RootSync {
        match self.set_user_root_attributes.as_deref() {
            Some("on_first_login") => RootSync::FirstLogin,
            Some("never_on_login") => RootSync::Never,
            _ => RootSync::EachLogin,
        }
    }

    /// Whether the provider answers on the back channel (the code flow).
    pub fn back_channel(&self) -> bool {
        self.channel.as_deref() != Some("front_channel")
    }

    /// The scopes to ask for, `openid` always among them.
    pub fn scopes(&self) -> Vec<String> {
        let listed: Option<Vec<String>> = match (&self.scopes, &self.scope) {
            (Some(s), _) => Some(s.split_whitespace().map(str::to_owned).collect()),
            (None, Some(serde_json::Value::String(s))) => {
                Some(s.split_whitespace().map(str::to_owned).collect())
            }
            (None, Some(serde_json::Value::Array(a))) => Some(
                a.iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => None,
        };
        let mut out =
            listed.unwrap_or_else(|| ["openid", "profile", "email"].map(str::to_owned).to_vec());
        if !out.iter().any(|s| s == "openid") {
            out.insert(0, "openid".into());
        }
        out
    }
}

/// The identity a provider's subject becomes, in Auth0's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The identity's `provider` (the strategy's name).
    pub provider: String,
    /// The identity's `user_id`: `<connection>|<sub>` for `oidc` (so the user id is
    /// `oidc|<connection>|<sub>`), the bare `sub` for social providers.
    pub user_id: String,
    /// Auth0's `isSocial`.
    pub is_social: bool,
}

impl UpstreamIdentity {
    /// The identity of `sub` at connection `connection` of strategy `strategy`.
    pub fn of(strategy: &Strategy, connection: &str, sub: &str) -> Self {
        let social = matches!(strategy, Strategy::Google | Strategy::GitHub);
        UpstreamIdentity {
            provider: strategy.as_str().to_owned(),
            user_id: if social {
                sub.to_owned()
            } else {
                format!("{connection}|{sub}")
            },
            is_social: social,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(options: serde_json::Value) -> Connection {
        let serde_json::Value::Object(map) = options else {
            unreachable!("an object")
        };
        Connection {
            id: "con_1".into(),
            name: "up".into(),
            strategy: Strategy::Oidc,
            options: ConnectionOptions::Other(map),
            enabled_clients: vec![],
            extra: serde_json::Map::new(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn reads_auth0_names_and_defaults() {
        let c = connection(serde_json::json!({
            "type": "back_channel", "discovery_url": "https://idp.example/.well-known/openid-configuration",
            "client_id": "abc", "scope": "profile email", "unknown": 1
        }));
        let o = OidcOptions::of(&c).expect("oidc options");
        assert!(o.back_channel());
        assert_eq!(o.client_id.as_deref(), Some("abc"));
        assert_eq!(o.scopes(), vec!["openid", "profile", "email"]);
        assert_eq!(
            o.discovery_url().as_deref(),
            Some("https://idp.example/.well-known/openid-configuration")
        );
        let by_issuer = connection(serde_json::json!({"issuer": "https://idp.example/"}));
        let o = OidcOptions::of(&by_issuer).expect("oidc options");
        assert_eq!(
            o.discovery_url().as_deref(),
            Some("https://idp.example/.well-known/openid-configuration")
        );
        assert_eq!(o.scopes(), vec!["openid", "profile", "email"]);
        let front = connection(serde_json::json!({"type": "front_channel"}));
        assert!(!OidcOptions::of(&front).expect("oidc").back_channel());
    }

    #[test]
    fn identity_ids_follow_auth0() {
        let oidc = UpstreamIdentity::of(&Strategy::Oidc, "up", "auth0|42");
        assert_eq!(
            (oidc.provider.as_str(), oidc.user_id.as_str()),
            ("oidc", "up|auth0|42")
        );
        assert!(!oidc.is_social);
        let google = UpstreamIdentity::of(&Strategy::Google, "google-oauth2", "1077");
        assert_eq!(
            (google.provider.as_str(), google.user_id.as_str()),
            ("google-oauth2", "1077")
        );
        assert!(google.is_social);
    }

    #[test]
    fn root_sync_follows_auth0_names() {
        for (value, want) in [
            (serde_json::json!({}), RootSync::EachLogin),
            (
                serde_json::json!({"set_user_root_attributes": "on_first_login"}),
                RootSync::FirstLogin,
            ),
            (
                serde_json::json!({"set_user_root_attributes": "never_on_login"}),
                RootSync::Never,
            ),
        ] {
            let o = OidcOptions::of(&connection(value)).expect("options");
            assert_eq!(o.root_sync(), want);
        }
    }

    #[test]
    fn google_scopes_may_be_a_list() {
        let mut c = connection(serde_json::json!({"scope": ["email", "profile"]}));
        c.strategy = Strategy::Google;
        let o = OidcOptions::of(&c).expect("options");
        assert_eq!(o.scopes(), vec!["openid", "email", "profile"]);
    }
}
