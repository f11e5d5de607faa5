//! Connections: the sources of identities (database, passwordless, enterprise, social).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::password_policy::PasswordPolicy;
use crate::strategy::Strategy;

/// The name of the database connection every new tenant has.
pub const DEFAULT_DATABASE_CONNECTION: &str = "Username-Password-Authentication";

/// A connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// `con_` id.
    pub id: String,
    /// Unique name, used as `connection`/`realm` in requests.
    pub name: crate::id::ConnectionName,
    /// How it authenticates people.
    pub strategy: Strategy,
    /// Strategy-specific options.
    pub options: ConnectionOptions,
    /// Clients allowed to use it.
    pub enabled_clients: Vec<crate::id::ClientId>,
    /// Settings outside `options` (`display_name`, `metadata`, `realms`, ...).
    pub extra: Map<String, Value>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A connection's `options`, typed where gatehouse acts on them.
///
/// Auth0's JSON is the serialized form; fields gatehouse does not act on are kept as given so
/// a connection made in Auth0 round-trips unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionOptions {
    /// A database connection's (`auth0`).
    Database(DatabaseOptions),
    /// Any other strategy's, as Auth0's JSON: passwordless connections are read through
    /// [`crate::passwordless::PasswordlessOptions`]; upstream strategies get their own type
    /// when they get a login path.
    Other(Map<String, Value>),
}

/// The options of a database connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatabaseOptions {
    /// `passwordPolicy`: absent, `null` (Auth0's "none set") or a level.
    #[serde(
        rename = "passwordPolicy",
        default,
        skip_serializing_if = "Option::is_none",
        with = "nullable"
    )]
    pub password_policy: Option<Option<PasswordPolicy>>,
    /// Only existing users may log in (no public signup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_signup: Option<bool>,
    /// Whether users need a username besides their email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_username: Option<bool>,
    /// Whether failed logins count towards a brute-force block (Auth0's default: on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brute_force_protection: Option<bool>,
    /// Everything else Auth0 stores (`validation`, `password_history`, `mfa`, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl DatabaseOptions {
    /// The password policy in force (Auth0's default is `good`).
    pub fn policy(&self) -> PasswordPolicy {
        self.password_policy
            .flatten()
            .unwrap_or(PasswordPolicy::Good)
    }

    /// Whether public signup is off.
    pub fn signup_disabled(&self) -> bool {
        self.disable_signup == Some(true)
    }

    /// Whether a username is required.
    pub fn username_required(&self) -> bool {
        self.requires_username == Some(true)
    }

    /// Whether brute-force protection is on (unless switched off explicitly).
    pub fn brute_force_protected(&self) -> bool {
        self.brute_force_protection != Some(false)
    }
}

impl ConnectionOptions {
    /// Reads Auth0's `options` JSON for `strategy`; `null` or absent is empty.
    pub fn from_json(strategy: &Strategy, options: Value) -> Result<Self, serde_json::Error> {
        let options = match options {
            Value::Null => Value::Object(Map::new()),
            v => v,
        };
        Ok(if strategy.is_database() {
            ConnectionOptions::Database(serde_json::from_value(options)?)
        } else {
            ConnectionOptions::Other(serde_json::from_value(options)?)
        })
    }

    /// Empty options for `strategy`.
    pub fn empty(strategy: &Strategy) -> Self {
        if strategy.is_database() {
            ConnectionOptions::Database(DatabaseOptions::default())
        } else {
            ConnectionOptions::Other(Map::new())
        }
    }

    /// Auth0's JSON form.
    pub fn to_json(&self) -> Value {
        match self {
            ConnectionOptions::Database(d) => {
                serde_json::to_value(d).unwrap_or_else(|_| Value::Object(Map::new()))
            }
            ConnectionOptions::Other(m) => Value::Object(m.clone()),
        }
    }

    /// The database options, for a database connection.
    pub fn database(&self) -> Option<&DatabaseOptions> {
        match self {
            ConnectionOptions::Database(d) => Some(d),
            ConnectionOptions::Other(_) => None,
        }
    }
}

impl Serialize for ConnectionOptions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ConnectionOptions::Database(d) => d.serialize(s),
            ConnectionOptions::Other(m) => m.serialize(s),
        }
    }
}

/// `Option<Option<T>>` for a field that may be absent, `null` or set.
mod nullable {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn database_options_round_trip_with_unknown_fields() {
        for given in [
            json!({}),
            json!({"passwordPolicy": null}),
            json!({"passwordPolicy": "fair", "disable_signup": true, "mfa": {"active": true}}),
            json!({"brute_force_protection": false, "requires_username": true,
                   "validation": {"username": {"min": 1, "max": 15}}}),
        ] {
            let o =
                ConnectionOptions::from_json(&Strategy::Database, given.clone()).expect("parses");
            assert_eq!(o.to_json(), given);
        }
    }

    #[test]
    fn database_defaults_follow_auth0() {
        let parse = |v| {
            ConnectionOptions::from_json(&Strategy::Database, v)
                .expect("parses")
                .database()
                .cloned()
                .expect("database")
        };
        let d = parse(json!({}));
        assert_eq!(d.policy(), PasswordPolicy::Good);
        assert!(!d.signup_disabled() && !d.username_required() && d.brute_force_protected());
        assert_eq!(
            parse(json!({"passwordPolicy": null})).policy(),
            PasswordPolicy::Good
        );
        let d = parse(json!({"passwordPolicy": "low", "disable_signup": true,
                             "requires_username": true, "brute_force_protection": false}));
        assert_eq!(d.policy(), PasswordPolicy::Low);
        assert!(d.signup_disabled() && d.username_required() && !d.brute_force_protected());
        assert!(
            ConnectionOptions::from_json(&Strategy::Database, json!({"passwordPolicy": "meh"}))
                .is_err()
        );
        assert!(
            ConnectionOptions::from_json(&Strategy::Database, json!({"disable_signup": "yes"}))
                .is_err()
        );
    }

    #[test]
    fn other_strategies_keep_their_json() {
        let given = json!({"totp": {"length": 6}, "template": "@@password@@"});
        let o = ConnectionOptions::from_json(&Strategy::Sms, given.clone()).expect("parses");
        assert_eq!(o.to_json(), given);
        assert!(o.database().is_none());
        assert_eq!(
            ConnectionOptions::from_json(&Strategy::Email, Value::Null)
                .expect("parses")
                .to_json(),
            json!({})
        );
    }
}
