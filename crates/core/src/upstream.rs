//! Options of upstream identity-provider connections (`oidc`, `google-oauth2`, `github`,
//! `oauth2`), read from Auth0's JSON (the connection's `options`, which keep every other
//! field for round trips), and how a provider's subject becomes an identity.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::connection::{Connection, ConnectionOptions};
use crate::strategy::Strategy;

/// An upstream connection's options, in Auth0's names (each strategy reads its own).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpstreamOptions {
    /// The connection's strategy (not part of the options).
    #[serde(skip)]
    pub strategy: Option<Strategy>,
    /// `back_channel` (code flow, the default) or `front_channel` (ID token by form post).
    #[serde(rename = "type")]
    pub channel: Option<String>,
    /// The provider's discovery document.
    pub discovery_url: Option<String>,
    /// The provider's issuer, when given instead of (or beside) `discovery_url`.
    pub issuer: Option<String>,
    /// The provider's authorization endpoint (overrides discovery).
    pub authorization_endpoint: Option<String>,
    /// The provider's token endpoint (overrides discovery).
    pub token_endpoint: Option<String>,
    /// The provider's JWKS (overrides discovery).
    pub jwks_uri: Option<String>,
    /// The provider's userinfo endpoint (overrides discovery).
    pub userinfo_endpoint: Option<String>,
    /// How the token endpoint takes our secret (`client_secret_post`, `client_secret_basic`).
    pub token_endpoint_auth_method: Option<String>,
    /// `oauth2`: the authorization endpoint (Auth0's name).
    #[serde(rename = "authorizationURL")]
    pub authorization_url: Option<String>,
    /// `oauth2`: the token endpoint (Auth0's name).
    #[serde(rename = "tokenURL")]
    pub token_url: Option<String>,
    /// `oauth2`: where the profile is read with the access token (gatehouse's stand-in for
    /// Auth0's `fetchUserProfile` script).
    pub userinfo_url: Option<String>,
    /// `oauth2`: Auth0's `fieldsMap`, profile attribute -> the userinfo member it comes
    /// from (dotted paths); `user_id` names the subject.
    #[serde(rename = "fieldsMap")]
    pub fields_map: Option<Map<String, Value>>,
    /// `oauth2`: Auth0's `pkce_enabled`; gatehouse sends PKCE unless it is `false`.
    pub pkce_enabled: Option<bool>,
    /// Our client id at the provider.
    pub client_id: Option<String>,
    /// Space-separated scopes (Auth0's schema name).
    pub scopes: Option<String>,
    /// Scopes (the name Auth0's docs use): space-separated, or a list as social
    /// connections have them.
    pub scope: Option<Value>,
    /// Auth0's `set_user_root_attributes`: when the provider's claims update the user's root
    /// profile (`on_each_login`, the default; `on_first_login`; `never_on_login`).
    pub set_user_root_attributes: Option<String>,
    /// Email domains whose people this (enterprise) connection serves: home realm discovery.
    #[serde(default)]
    pub domain_aliases: Vec<String>,
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

/// The profile members an `oauth2` connection reads when its `fieldsMap` does not say.
const DEFAULT_PROFILE_MAP: &[(&str, &str)] = &[
    ("email", "email"),
    ("email_verified", "email_verified"),
    ("name", "name"),
    ("given_name", "given_name"),
    ("family_name", "family_name"),
    ("nickname", "nickname"),
    ("picture", "picture"),
];

impl UpstreamOptions {
    /// The options of `c` when it is an upstream connection.
    pub fn of(c: &Connection) -> Option<Self> {
        if !c.strategy.is_federated() {
            return None;
        }
        let ConnectionOptions::Other(map) = &c.options else {
            return None;
        };
        let mut options: Self = serde_json::from_value(Value::Object(map.clone())).ok()?;
        options.strategy = Some(c.strategy.clone());
        Some(options)
    }

    /// Whether the provider speaks OpenID Connect (`oidc`, `google-oauth2`) rather than plain
    /// OAuth 2.0 (`github`, `oauth2`).
    pub fn is_oidc(&self) -> bool {
        matches!(self.strategy, Some(Strategy::Oidc | Strategy::Google))
    }

    /// The discovery document's URL: `discovery_url`, or the issuer's well-known one when
    /// the endpoints are not all given.
    pub fn discovery_url(&self) -> Option<String> {
        if let Some(url) = given(&self.discovery_url) {
            return Some(url.to_owned());
        }
        if given(&self.authorization_endpoint).is_some() && given(&self.jwks_uri).is_some() {
            return None;
        }
        let issuer = given(&self.issuer)?;
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
        !self.is_oidc() || self.channel.as_deref() != Some("front_channel")
    }

    /// The scopes to ask for: `openid` always among them for OpenID Connect; GitHub's
    /// `read:user user:email` by default.
    pub fn scopes(&self) -> Vec<String> {
        let listed: Option<Vec<String>> = match (&self.scopes, &self.scope) {
            (Some(s), _) => Some(s.split_whitespace().map(str::to_owned).collect()),
            (None, Some(Value::String(s))) => {
                Some(s.split_whitespace().map(str::to_owned).collect())
            }
            (None, Some(Value::Array(a))) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => None,
        };
        let default: &[&str] = match self.strategy {
            Some(Strategy::GitHub) => &["read:user", "user:email"],
            Some(Strategy::OAuth2) => &[],
            _ => &["openid", "profile", "email"],
        };
        let mut out = listed.unwrap_or_else(|| default.iter().map(|s| (*s).to_owned()).collect());
        if self.is_oidc() && !out.iter().any(|s| s == "openid") {
            out.insert(0, "openid".into());
        }
        out
    }

    /// Whether `email`'s domain is one of `domain_aliases` (case-insensitive).
    pub fn serves(&self, email: &str) -> bool {
        let Some((_, domain)) = email.rsplit_once('@') else {
            return false;
        };
        self.domain_aliases
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The subject and Auth0 profile attributes of an `oauth2` userinfo document, through
    /// `fieldsMap` (`user_id` from `sub` or `id` unless mapped). `None` without a subject.
    pub fn map_profile(&self, userinfo: &Value) -> Option<(String, Map<String, Value>)> {
        let mapped = |attribute: &str| -> Option<&str> {
            match self.fields_map.as_ref().and_then(|m| m.get(attribute)) {
                Some(Value::String(path)) => Some(path.as_str()),
                Some(_) => None,
                None => DEFAULT_PROFILE_MAP
                    .iter()
                    .find(|(a, _)| *a == attribute)
                    .map(|(_, p)| *p),
            }
        };
        let subject = match mapped("user_id") {
            Some(path) => scalar(lookup(userinfo, path)?)?,
            None => ["sub", "id"]
                .iter()
                .find_map(|k| userinfo.get(*k).and_then(scalar))?,
        };
        let mut attributes: Vec<&str> = DEFAULT_PROFILE_MAP.iter().map(|(a, _)| *a).collect();
        if let Some(map) = &self.fields_map {
            attributes.extend(map.keys().map(String::as_str).filter(|k| *k != "user_id"));
        }
        attributes.dedup();
        let mut profile = Map::new();
        for attribute in attributes {
            if profile.contains_key(attribute) {
                continue;
            }
            if let Some(v) = mapped(attribute)
                .and_then(|p| lookup(userinfo, p))
                .filter(|v| !v.is_null())
            {
                profile.insert(attribute.to_owned(), v.clone());
            }
        }
        Some((subject, profile))
    }
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// The member at a dotted `path` of `v`.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| v.get(key))
}

/// A string or number as text (providers send numeric ids).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The identity a provider's subject becomes, in Auth0's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The identity's `provider` (the strategy's name).
    pub provider: String,
    /// The identity's `user_id`: `<connection>|<sub>` for `oidc` and `oauth2` (so the user id
    /// is `oidc|<connection>|<sub>`), the bare `sub` for Google and GitHub.
    pub user_id: String,
    /// Auth0's `isSocial`.
    pub is_social: bool,
}

impl UpstreamIdentity {
    /// The identity of `sub` at connection `connection` of strategy `strategy`.
    pub fn of(strategy: &Strategy, connection: &str, sub: &str) -> Self {
        // Auth0 prefixes the connection where the strategy alone does not name the
        // provider: `oidc|<connection>|<sub>`, `oauth2|<connection>|<id>`.
        let prefixed = matches!(
            strategy,
            Strategy::Oidc | Strategy::OAuth2 | Strategy::Samlp
        );
        UpstreamIdentity {
            provider: strategy.as_str().to_owned(),
            user_id: if prefixed {
                format!("{connection}|{sub}")
            } else {
                sub.to_owned()
            },
            is_social: !matches!(strategy, Strategy::Oidc | Strategy::Samlp),
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
        let o = UpstreamOptions::of(&c).expect("oidc options");
        assert!(o.back_channel());
        assert_eq!(o.client_id.as_deref(), Some("abc"));
        assert_eq!(o.scopes(), vec!["openid", "profile", "email"]);
        assert_eq!(
            o.discovery_url().as_deref(),
            Some("https://idp.example/.well-known/openid-configuration")
        );
        let by_issuer = connection(serde_json::json!({"issuer": "https://idp.example/"}));
        let o = UpstreamOptions::of(&by_issuer).expect("oidc options");
        assert_eq!(
            o.discovery_url().as_deref(),
            Some("https://idp.example/.well-known/openid-configuration")
        );
        assert_eq!(o.scopes(), vec!["openid", "profile", "email"]);
        let front = connection(serde_json::json!({"type": "front_channel"}));
        assert!(!UpstreamOptions::of(&front).expect("oidc").back_channel());
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
            let o = UpstreamOptions::of(&connection(value)).expect("options");
            assert_eq!(o.root_sync(), want);
        }
    }

    #[test]
    fn explicit_endpoints_need_no_discovery() {
        let c = connection(serde_json::json!({
            "issuer": "https://idp.example", "authorization_endpoint": "https://idp.example/a",
            "jwks_uri": "https://idp.example/jwks", "token_endpoint": "https://idp.example/t"
        }));
        assert_eq!(
            UpstreamOptions::of(&c).expect("options").discovery_url(),
            None
        );
        let c = connection(serde_json::json!({
            "discovery_url": "https://idp.example/.well-known/openid-configuration",
            "authorization_endpoint": "https://idp.example/a", "jwks_uri": "https://idp.example/jwks"
        }));
        assert!(
            UpstreamOptions::of(&c)
                .expect("options")
                .discovery_url()
                .is_some()
        );
    }

    #[test]
    fn social_defaults_and_ids() {
        let mut c = connection(serde_json::json!({"client_id": "gh"}));
        c.strategy = Strategy::GitHub;
        let o = UpstreamOptions::of(&c).expect("options");
        assert_eq!(o.scopes(), vec!["read:user", "user:email"]);
        assert!(o.back_channel());
        let github = UpstreamIdentity::of(&Strategy::GitHub, "github", "583231");
        assert_eq!(github.user_id, "583231");
        assert!(github.is_social);
        let saml = UpstreamIdentity::of(&Strategy::Samlp, "corp", "ada@corp.example");
        assert_eq!(saml.user_id, "corp|ada@corp.example");
        assert!(!saml.is_social);
        let custom = UpstreamIdentity::of(&Strategy::OAuth2, "acme", "7");
        assert_eq!(
            (custom.provider.as_str(), custom.user_id.as_str()),
            ("oauth2", "acme|7")
        );
        assert!(custom.is_social);
        // An oauth2 connection asks for what it lists and never adds `openid`; it has no
        // front channel.
        c.strategy = Strategy::OAuth2;
        c.options =
            connection(serde_json::json!({"scope": "profile", "type": "front_channel"})).options;
        let o = UpstreamOptions::of(&c).expect("options");
        assert_eq!(o.scopes(), vec!["profile"]);
        assert!(o.back_channel());
    }

    #[test]
    fn fields_map_reads_userinfo() {
        let mut c = connection(serde_json::json!({
            "fieldsMap": {"user_id": "data.uid", "name": "data.display", "picture": "avatar"}
        }));
        c.strategy = Strategy::OAuth2;
        let o = UpstreamOptions::of(&c).expect("options");
        let userinfo = serde_json::json!({
            "data": {"uid": 42, "display": "Ada"}, "email": "ada@example.com",
            "email_verified": true, "avatar": "https://img/1", "sub": "ignored"
        });
        let (sub, profile) = o.map_profile(&userinfo).expect("mapped");
        assert_eq!(sub, "42");
        assert_eq!(profile["name"], "Ada");
        assert_eq!(profile["picture"], "https://img/1");
        assert_eq!(profile["email"], "ada@example.com");
        assert_eq!(profile["email_verified"], true);
        // Without a map: `sub`, else `id`; no subject at all is no profile.
        let plain = UpstreamOptions::of(&connection(serde_json::json!({}))).expect("options");
        assert_eq!(
            plain
                .map_profile(&serde_json::json!({"id": 9}))
                .map(|p| p.0),
            Some("9".into())
        );
        assert!(
            plain
                .map_profile(&serde_json::json!({"name": "x"}))
                .is_none()
        );
        assert!(
            o.map_profile(&serde_json::json!({"data": {"uid": ""}}))
                .is_none()
        );
    }

    #[test]
    fn domain_aliases_match_the_email_domain() {
        let c = connection(serde_json::json!({"domain_aliases": ["corp.example"]}));
        let o = UpstreamOptions::of(&c).expect("options");
        assert!(o.serves("ada@Corp.Example"));
        assert!(!o.serves("ada@corp.example.evil"));
        assert!(!o.serves("corp.example"));
    }

    #[test]
    fn google_scopes_may_be_a_list() {
        let mut c = connection(serde_json::json!({"scope": ["email", "profile"]}));
        c.strategy = Strategy::Google;
        let o = UpstreamOptions::of(&c).expect("options");
        assert_eq!(o.scopes(), vec!["openid", "email", "profile"]);
    }
}
