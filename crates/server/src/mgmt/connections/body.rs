//! The bodies of `POST /connections`, `PATCH /connections/{id}` and
//! `PATCH /connections/{id}/clients`, typed, with the rules their types cannot say.

use gatehouse_core::connection::{Connection, ConnectionOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::options::validate_options;
use crate::mgmt::body::{nullable, present, wire_enum};
use crate::mgmt::error::MgmtError;
use crate::mgmt::validate::{self as v, bad};

wire_enum! {
    /// Strategies gatehouse stores. Logins through `auth0`, `email`, `sms` and `oidc` work;
    /// the rest are kept so configurations can be carried over.
    pub enum StrategyName {
        /// Database.
        Auth0 = "auth0",
        /// Passwordless email.
        Email = "email",
        /// Passwordless SMS.
        Sms = "sms",
        /// OpenID Connect.
        Oidc = "oidc",
        /// Generic OAuth 2.0.
        Oauth2 = "oauth2",
        /// Google.
        Google = "google-oauth2",
        /// GitHub.
        Github = "github",
        /// Apple.
        Apple = "apple",
        /// Facebook.
        Facebook = "facebook",
        /// SAML.
        Samlp = "samlp",
        /// Microsoft Entra ID.
        Waad = "waad",
        /// Okta.
        Okta = "okta",
    }
}

/// A patchable property: absent leaves it, `null` unsets it.
type Patch<T> = Option<Option<T>>;

/// The properties of `POST /connections` (`name` and `strategy` required) and
/// `PATCH /connections/{id}` (where they cannot change, and `null` unsets the optional ones).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionBody {
    /// Letters, digits and single inner hyphens.
    #[serde(default, deserialize_with = "present")]
    #[schema(
        value_type = String,
        max_length = 128,
        pattern = "^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$"
    )]
    pub name: Option<String>,
    /// Where identities come from.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = StrategyName)]
    pub strategy: Option<StrategyName>,
    /// Strategy-specific settings (secrets in them are write-only).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub options: Option<Map<String, Value>>,
    /// Clients that may use it.
    #[serde(default, deserialize_with = "present")]
    pub enabled_clients: Option<Vec<String>>,
    /// The name shown on login pages.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 128)]
    pub display_name: Patch<String>,
    /// Auth0's `is_domain_connection`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub is_domain_connection: Patch<bool>,
    /// Auth0's `show_as_button`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub show_as_button: Patch<bool>,
    /// Realms it answers for.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub realms: Patch<Vec<String>>,
    /// Up to 10 string properties.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub metadata: Patch<Map<String, Value>>,
}

/// Auth0's name rule: letters, digits and single inner hyphens, at most 128.
pub fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
        && !name.contains("--")
}

fn check_metadata(m: &Map<String, Value>) -> Result<(), MgmtError> {
    if m.len() > 10 {
        return Err(bad("metadata", "at most 10 properties are allowed"));
    }
    for (k, val) in m {
        if k.chars().count() > 255 {
            return Err(bad("metadata", "keys must be at most 255 characters"));
        }
        v::string(&format!("metadata.{k}"), val, 255)?;
    }
    Ok(())
}

/// Sets, unsets or leaves one of the properties kept in `extra`.
fn set_extra<T: Serialize>(
    extra: &mut Map<String, Value>,
    key: &str,
    value: Patch<T>,
) -> Result<(), MgmtError> {
    match value {
        None => {}
        Some(None) => {
            extra.remove(key);
        }
        Some(Some(v)) => {
            let v = serde_json::to_value(v).map_err(|e| MgmtError::Internal(e.into()))?;
            extra.insert(key.to_owned(), v);
        }
    }
    Ok(())
}

impl ConnectionBody {
    /// The name and strategy of a new connection, checked.
    pub fn identity(&self) -> Result<(String, StrategyName), MgmtError> {
        let name = self.name.clone().ok_or_else(|| v::missing("name"))?;
        v::max_chars("name", &name, 128)?;
        if !valid_name(&name) {
            return Err(bad(
                "name",
                "String does not match pattern: ^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$",
            ));
        }
        let strategy = self.strategy.ok_or_else(|| v::missing("strategy"))?;
        Ok((name, strategy))
    }

    /// Applies the mutable properties to `c`.
    pub fn apply(self, c: &mut Connection) -> Result<(), MgmtError> {
        if let Some(o) = self.options {
            let o = Value::Object(o);
            validate_options(&c.strategy, &o)?;
            c.options = ConnectionOptions::from_json(&c.strategy, o)
                .map_err(|e| bad("options", e.to_string()))?;
        }
        if let Some(mut ids) = self.enabled_clients {
            for id in &ids {
                v::max_chars("enabled_clients", id, 200)?;
            }
            ids.sort();
            ids.dedup();
            c.enabled_clients = ids.into_iter().map(Into::into).collect();
        }
        if let Some(Some(d)) = &self.display_name {
            v::max_chars("display_name", d, 128)?;
        }
        for r in self.realms.iter().flatten().flatten() {
            v::max_chars("realms", r, 255)?;
        }
        if let Some(Some(m)) = &self.metadata {
            check_metadata(m)?;
        }
        let e = &mut c.extra;
        set_extra(e, "display_name", self.display_name)?;
        set_extra(e, "is_domain_connection", self.is_domain_connection)?;
        set_extra(e, "show_as_button", self.show_as_button)?;
        set_extra(e, "realms", self.realms)?;
        set_extra(e, "metadata", self.metadata)?;
        Ok(())
    }
}

/// One change of `PATCH /connections/{id}/clients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientToggle {
    /// The client.
    #[schema(min_length = 1, max_length = 200)]
    pub client_id: String,
    /// Whether it is enabled.
    pub status: bool,
}

/// The changes of `PATCH /connections/{id}/clients` (at most 50), checked.
pub fn changes(toggles: Vec<ClientToggle>) -> Result<Vec<(String, bool)>, MgmtError> {
    if toggles.len() > 50 {
        return Err(MgmtError::invalid_body("'at most 50 changes per request'"));
    }
    toggles
        .into_iter()
        .map(|t| {
            v::max_chars("client_id", &t.client_id, 200)?;
            v::not_blank("client_id", &t.client_id)?;
            Ok((t.client_id, t.status))
        })
        .collect()
}
