//! Connection strategies: the closed set of ways a connection authenticates people.

use std::fmt;

/// A connection's `strategy`, as Auth0 names it.
///
/// Auth0 has many more strategies than gatehouse acts on; those are kept by name in
/// [`Strategy::Other`] so a connection made elsewhere round-trips unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// A database connection gatehouse holds passwords for (`auth0`).
    Database,
    /// Passwordless by email (`email`).
    Email,
    /// Passwordless by text message (`sms`).
    Sms,
    /// An upstream OpenID Connect provider (`oidc`).
    Oidc,
    /// A generic upstream OAuth 2.0 provider (`oauth2`).
    OAuth2,
    /// A SAML identity provider (`samlp`).
    Samlp,
    /// Google (`google-oauth2`).
    Google,
    /// GitHub (`github`).
    GitHub,
    /// Any other Auth0 strategy, stored but not acted on.
    Other(String),
}

impl Strategy {
    /// Auth0's wire and storage name.
    pub fn as_str(&self) -> &str {
        match self {
            Strategy::Database => "auth0",
            Strategy::Email => "email",
            Strategy::Sms => "sms",
            Strategy::Oidc => "oidc",
            Strategy::OAuth2 => "oauth2",
            Strategy::Samlp => "samlp",
            Strategy::Google => "google-oauth2",
            Strategy::GitHub => "github",
            Strategy::Other(s) => s,
        }
    }

    /// Reads Auth0's name; every string is a strategy (unknown ones are [`Strategy::Other`]).
    pub fn parse(s: &str) -> Self {
        match s {
            "auth0" => Strategy::Database,
            "email" => Strategy::Email,
            "sms" => Strategy::Sms,
            "oidc" => Strategy::Oidc,
            "oauth2" => Strategy::OAuth2,
            "samlp" => Strategy::Samlp,
            "google-oauth2" => Strategy::Google,
            "github" => Strategy::GitHub,
            other => Strategy::Other(other.to_owned()),
        }
    }

    /// Whether it is a passwordless strategy (`email` or `sms`).
    pub fn is_passwordless(&self) -> bool {
        matches!(self, Strategy::Email | Strategy::Sms)
    }

    /// Whether gatehouse holds this connection's passwords.
    pub fn is_database(&self) -> bool {
        matches!(self, Strategy::Database)
    }

    /// Whether logins go to an upstream identity provider (`oidc`, `google-oauth2`,
    /// `github`, `oauth2`, `samlp`).
    pub fn is_federated(&self) -> bool {
        matches!(
            self,
            Strategy::Oidc
                | Strategy::Google
                | Strategy::GitHub
                | Strategy::OAuth2
                | Strategy::Samlp
        )
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Strategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Strategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Strategy::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in [
            "auth0",
            "email",
            "sms",
            "oidc",
            "oauth2",
            "samlp",
            "google-oauth2",
            "github",
            "waad",
        ] {
            assert_eq!(Strategy::parse(name).as_str(), name);
        }
        assert_eq!(Strategy::parse("waad"), Strategy::Other("waad".into()));
        assert!(Strategy::parse("sms").is_passwordless());
        assert!(!Strategy::parse("auth0").is_passwordless());
        assert!(Strategy::parse("auth0").is_database());
    }

    #[test]
    fn serializes_as_auth0_names() {
        let s: Strategy = serde_json::from_str("\"google-oauth2\"").expect("parses");
        assert_eq!(s, Strategy::Google);
        assert_eq!(
            serde_json::to_string(&s).expect("serializes"),
            "\"google-oauth2\""
        );
    }
}
