//! Options of `samlp` connections (SAML identity providers), in Auth0's names, and how an
//! assertion's attributes become an Auth0 profile.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::connection::{Connection, ConnectionOptions};
use crate::strategy::Strategy;

/// HTTP-Redirect, the binding requests go with unless `protocolBinding` says POST.
pub const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// HTTP-POST.
pub const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// A `samlp` connection's options.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SamlOptions {
    /// The provider's single sign-on URL.
    #[serde(rename = "signInEndpoint")]
    pub sign_in_endpoint: Option<String>,
    /// The provider's single logout URL.
    #[serde(rename = "signOutEndpoint")]
    pub sign_out_endpoint: Option<String>,
    /// The provider's signing certificate (base64 DER, PEM, or base64 of PEM).
    #[serde(rename = "signingCert")]
    pub signing_cert: Option<String>,
    /// Whether AuthnRequests are signed.
    #[serde(rename = "signSAMLRequest")]
    pub sign_request: Option<bool>,
    /// The binding requests are sent with.
    #[serde(rename = "protocolBinding")]
    pub protocol_binding: Option<String>,
    /// Profile attribute -> the assertion attribute (or attributes) it comes from.
    #[serde(rename = "fieldsMap")]
    pub fields_map: Option<Map<String, Value>>,
    /// Our entity id at the provider, when not Auth0's `urn:auth0:<tenant>:<connection>`.
    #[serde(rename = "entityId")]
    pub entity_id: Option<String>,
    /// Email domains this connection serves.
    #[serde(default)]
    pub domain_aliases: Vec<String>,
    /// Logins the provider starts (no AuthnRequest of ours), and where they go.
    #[serde(rename = "idpinitiated")]
    pub idp_initiated: Option<IdpInitiated>,
}

/// Auth0's `idpinitiated`: whether the provider may start logins, for which application,
/// and the authorization request they answer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdpInitiated {
    /// Off unless set.
    #[serde(default)]
    pub enabled: bool,
    /// The application logged in to.
    pub client_id: Option<String>,
    /// `oauth2` (the only one gatehouse answers; `samlp` and `wsfed` are Auth0's others).
    pub client_protocol: Option<String>,
    /// The authorization request's parameters, as a query string (`response_type=code&...`).
    pub client_authorizequery: Option<String>,
}

impl IdpInitiated {
    /// The application and request of an allowed IdP-initiated login, if this one allows it.
    pub fn allowed(&self) -> Option<(&str, &str)> {
        let oauth2 = self
            .client_protocol
            .as_deref()
            .is_none_or(|p| p == "oauth2");
        match (&self.client_id, self.enabled && oauth2) {
            (Some(id), true) if !id.is_empty() => Some((
                id,
                self.client_authorizequery.as_deref().unwrap_or_default(),
            )),
            _ => None,
        }
    }
}

/// Auth0's default mapping of the common claim URIs (and plain names) to profile attributes.
/// Where providers put group memberships (AD FS, Entra ID, plain names).
const GROUPS: &[&str] = &[
    "http://schemas.xmlsoap.org/claims/Group",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    "groups",
    "memberOf",
];

const DEFAULT_FIELDS: &[(&str, &[&str])] = &[
    (
        "email",
        &[
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
            "urn:oid:0.9.2342.19200300.100.1.3",
            "email",
            "mail",
        ],
    ),
    (
        "name",
        &[
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
            "http://schemas.microsoft.com/identity/claims/displayname",
            "urn:oid:2.16.840.1.113730.3.1.241",
            "name",
        ],
    ),
    (
        "given_name",
        &[
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
            "urn:oid:2.5.4.42",
            "given_name",
        ],
    ),
    (
        "family_name",
        &[
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
            "urn:oid:2.5.4.4",
            "family_name",
        ],
    ),
    (
        "upn",
        &["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"],
    ),
];

impl SamlOptions {
    /// The options of `c` when it is a `samlp` connection.
    pub fn of(c: &Connection) -> Option<Self> {
        if c.strategy != Strategy::Samlp {
            return None;
        }
        let ConnectionOptions::Other(map) = &c.options else {
            return None;
        };
        serde_json::from_value(Value::Object(map.clone())).ok()
    }

    /// Our entity id at the provider: `entityId`, else Auth0's `urn:auth0:<tenant>:<connection>`
    /// (so a provider configured for Auth0 keeps working after a move).
    pub fn sp_entity_id(&self, tenant: &str, connection: &str) -> String {
        match self.entity_id.as_deref().filter(|e| !e.is_empty()) {
            Some(e) => e.to_owned(),
            None => format!("urn:auth0:{tenant}:{connection}"),
        }
    }

    /// Auth0 profile attributes from an assertion's attributes (`fieldsMap` first, then
    /// Auth0's defaults); an email-shaped `NameID` is the email when no attribute gives one.
    pub fn profile(
        &self,
        name_id: &str,
        attributes: &[(String, Vec<String>)],
    ) -> Map<String, Value> {
        let first = |names: &[&str]| -> Option<String> {
            names.iter().find_map(|n| {
                attributes
                    .iter()
                    .find(|(name, _)| name == n)
                    .and_then(|(_, values)| values.first().cloned())
            })
        };
        let mut profile = Map::new();
        if let Some(map) = &self.fields_map {
            for (attribute, from) in map {
                let names: Vec<&str> = match from {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => continue,
                };
                if let Some(v) = first(&names) {
                    profile.insert(attribute.clone(), Value::String(v));
                }
            }
        }
        for (attribute, names) in DEFAULT_FIELDS {
            if !profile.contains_key(*attribute)
                && let Some(v) = first(names)
            {
                profile.insert((*attribute).to_owned(), Value::String(v));
            }
        }
        if !profile.contains_key("email") && name_id.contains('@') {
            profile.insert("email".into(), Value::String(name_id.to_owned()));
        }
        // Every value of the group attribute, as Auth0 keeps them (the Authorization
        // Extension's mappings match them).
        if !profile.contains_key("groups")
            && let Some((_, values)) = attributes
                .iter()
                .find(|(n, _)| GROUPS.contains(&n.as_str()))
        {
            profile.insert("groups".into(), Value::from(values.clone()));
        }
        profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(v: Value) -> SamlOptions {
        serde_json::from_value(v).expect("options")
    }

    #[test]
    fn entity_ids_follow_auth0() {
        let o = options(serde_json::json!({}));
        assert_eq!(o.sp_entity_id("acme", "corp"), "urn:auth0:acme:corp");
        let o = options(serde_json::json!({"entityId": "https://sp.example"}));
        assert_eq!(o.sp_entity_id("acme", "corp"), "https://sp.example");
    }

    #[test]
    fn profiles_come_from_fields_map_then_defaults() {
        let attributes = vec![
            (
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".to_owned(),
                vec!["ada@corp.example".to_owned()],
            ),
            ("displayName".to_owned(), vec!["Ada L.".to_owned()]),
            ("urn:oid:2.5.4.42".to_owned(), vec!["Ada".to_owned()]),
            (
                "http://schemas.xmlsoap.org/claims/Group".to_owned(),
                vec!["Domain Admins".to_owned(), "Staff".to_owned()],
            ),
        ];
        let o = options(serde_json::json!({"fieldsMap": {"name": ["missing", "displayName"]}}));
        let p = o.profile("opaque-id", &attributes);
        assert_eq!(p["email"], "ada@corp.example");
        assert_eq!(p["name"], "Ada L.");
        assert_eq!(p["given_name"], "Ada");
        assert_eq!(p["groups"], serde_json::json!(["Domain Admins", "Staff"]));
        let p = options(serde_json::json!({})).profile("bob@corp.example", &[]);
        assert_eq!(p["email"], "bob@corp.example");
        assert!(
            options(serde_json::json!({}))
                .profile("opaque", &[])
                .is_empty()
        );
    }
}
