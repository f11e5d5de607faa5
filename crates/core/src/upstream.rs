//! Options of upstream identity-provider connections, read from Auth0's JSON (the
//! connection's `options`, which keep every other field for round trips).

use serde::Deserialize;

use crate::connection::{Connection, ConnectionOptions};
use crate::strategy::Strategy;

/// An `oidc` connection's options, in Auth0's names.
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
    /// Space-separated scopes (the name Auth0's docs use).
    pub scope: Option<String>,
}

impl OidcOptions {
    /// The options of `c` when it is an `oidc` connection.
    pub fn of(c: &Connection) -> Option<Self> {
        if c.strategy != Strategy::Oidc {
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

    /// Whether the provider answers on the back channel (the code flow).
    pub fn back_channel(&self) -> bool {
        self.channel.as_deref() != Some("front_channel")
    }

    /// The scopes to ask for, `openid` always among them.
    pub fn scopes(&self) -> Vec<String> {
        let text = self.scopes.as_deref().or(self.scope.as_deref());
        let mut out: Vec<String> = text
            .unwrap_or("openid profile email")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !out.iter().any(|s| s == "openid") {
            out.insert(0, "openid".into());
        }
        out
    }
}

/// The identity an upstream `sub` becomes in connection `connection`: Auth0's
/// `<connection>|<sub>` for `oidc` (so the user id is `oidc|<connection>|<sub>`).
pub fn oidc_identity_id(connection: &str, sub: &str) -> String {
    format!("{connection}|{sub}")
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
        assert_eq!(oidc_identity_id("up", "auth0|42"), "up|auth0|42");
    }
}
