//! The `samlp` add-on of an application (gatehouse as its SAML identity provider), in
//! Auth0's names and with Auth0's defaults, and how a user profile becomes the assertion's
//! attributes and subject.
//!
//! Auth0 signs with RSA-SHA1 unless told otherwise; gatehouse always signs with RSA-SHA256
//! and SHA-256 (SHA-1 signatures are forgeable in practice), so `signatureAlgorithm` and
//! `digestAlgorithm` are stored and shown but do not weaken what we sign.

use serde::Deserialize;
use serde_json::{Map, Value};

/// `http://schemas.xmlsoap.org/ws/2005/05/identity/claims/`, where the common claims live.
const CLAIMS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/";
/// Where Auth0 puts profile attributes without a mapping.
const AUTH0_CLAIMS: &str = "http://schemas.auth0.com/";
/// The subject's format unless `nameIdentifierFormat` says otherwise.
pub const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// The add-on's settings (`client.addons.samlp`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamlAddon {
    /// The assertion's audience (default: the request's issuer).
    pub audience: Option<String>,
    /// The subject confirmation's `Recipient` (default: the ACS URL).
    pub recipient: Option<String>,
    /// The response's `Destination` (default: the ACS URL).
    pub destination: Option<String>,
    /// Our entity id towards this application (default: Auth0's `urn:<tenant>.auth0.com`).
    pub issuer: Option<String>,
    /// Profile attribute (a dotted path) -> the attribute name(s) it is sent as.
    pub mappings: Option<Map<String, Value>>,
    /// Add the `upn` claim (the email) when the profile has none.
    pub create_upn_claim: Option<bool>,
    /// Send profile attributes without a mapping, under `http://schemas.auth0.com/`.
    pub passthrough_claims_with_no_mapping: Option<bool>,
    /// Send unmapped attributes under their own name instead.
    pub map_unknown_claims_as_is: Option<bool>,
    /// Send the primary identity's `provider`, `connection`, `user_id`, `isSocial`.
    pub map_identities: Option<bool>,
    /// How long the assertion is good for (Auth0's default 3600).
    pub lifetime_in_seconds: Option<i64>,
    /// Sign the response instead of the assertion.
    pub sign_response: Option<bool>,
    /// The `NameID`'s format.
    pub name_identifier_format: Option<String>,
    /// The attributes tried, in order, for the `NameID`.
    pub name_identifier_probes: Option<Vec<String>>,
    /// The `AuthnContextClassRef`.
    pub authn_context_class_ref: Option<String>,
    /// Single logout: where LogoutResponses go.
    pub logout: Option<AddonLogout>,
    /// The service provider's certificate; when set, its AuthnRequests must be signed.
    pub signing_cert: Option<String>,
    /// Stored and shown, see the module's note.
    pub signature_algorithm: Option<String>,
    /// Stored and shown, see the module's note.
    pub digest_algorithm: Option<String>,
}

/// `addons.samlp.logout`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AddonLogout {
    /// The service provider's single logout URL.
    pub callback: Option<String>,
    /// Whether single logout is on (default on).
    pub slo_enabled: Option<bool>,
}

/// Auth0's default mappings: profile attribute -> claim.
const DEFAULT_MAPPINGS: &[(&str, &str)] = &[
    ("user_id", "nameidentifier"),
    ("email", "emailaddress"),
    ("name", "name"),
    ("given_name", "givenname"),
    ("family_name", "surname"),
    ("upn", "upn"),
];
/// Auth0's default NameID probes.
const DEFAULT_PROBES: &[&str] = &["nameidentifier", "emailaddress", "name"];
/// Profile attributes never sent through passthrough (they are secrets or internal).
const NEVER_PASSED: &[&str] = &["identities", "user_metadata", "app_metadata", "groups"];

/// One attribute of the assertion: its name and values.
pub type Attribute = (String, Vec<String>);

fn text_values(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Bool(_) | Value::Number(_) => vec![v.to_string()],
        Value::Array(items) => items.iter().flat_map(text_values).collect(),
        _ => Vec::new(),
    }
}

fn lookup<'a>(profile: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = profile.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut v = profile.get(parts.next()?)?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

impl SamlAddon {
    /// The add-on of an application, from its settings' `addons`; `None` when it is off.
    pub fn of(extra: &Map<String, Value>) -> Option<Self> {
        let value = extra.get("addons")?.get("samlp")?;
        if !value.is_object() {
            return None;
        }
        serde_json::from_value(value.clone()).ok()
    }

    /// The assertion's lifetime in seconds (Auth0's default one hour; at least a minute).
    pub fn lifetime(&self) -> i64 {
        self.lifetime_in_seconds.unwrap_or(3600).max(60)
    }

    /// The `NameID` format.
    pub fn name_id_format(&self) -> &str {
        self.name_identifier_format
            .as_deref()
            .filter(|f| !f.is_empty())
            .unwrap_or(UNSPECIFIED)
    }

    /// The `AuthnContextClassRef`.
    pub fn authn_context(&self) -> &str {
        self.authn_context_class_ref
            .as_deref()
            .filter(|f| !f.is_empty())
            .unwrap_or("urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified")
    }

    /// The attributes for a user `profile` (the user as JSON): the mappings first (Auth0's
    /// defaults, overridden by the add-on's), then, as configured, the primary identity and
    /// the unmapped scalar attributes.
    pub fn attributes(&self, profile: &Map<String, Value>) -> Vec<Attribute> {
        let mut mappings: Vec<(String, Vec<String>)> = DEFAULT_MAPPINGS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), vec![format!("{CLAIMS}{v}")]))
            .collect();
        mappings.push((
            "groups".into(),
            vec!["http://schemas.xmlsoap.org/claims/Group".into()],
        ));
        for (field, names) in self.mappings.iter().flatten() {
            let names = text_values(names);
            mappings.retain(|(f, _)| f != field);
            mappings.push((field.clone(), names));
        }
        let mut profile = profile.clone();
        if self.create_upn_claim.unwrap_or(true)
            && !profile.contains_key("upn")
            && let Some(email) = profile.get("email").cloned()
        {
            profile.insert("upn".into(), email);
        }
        let mut out: Vec<Attribute> = Vec::new();
        let mut push = |name: String, values: Vec<String>| {
            if values.is_empty() || name.is_empty() {
                return;
            }
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some((_, existing)) => existing.extend(values),
                None => out.push((name, values)),
            }
        };
        for (field, names) in &mappings {
            if let Some(v) = lookup(&profile, field) {
                for name in names {
                    push(name.clone(), text_values(v));
                }
            }
        }
        if self.map_identities.unwrap_or(true)
            && let Some(primary) = profile
                .get("identities")
                .and_then(Value::as_array)
                .and_then(|ids| ids.first())
        {
            for key in ["provider", "connection", "user_id", "isSocial"] {
                if let Some(v) = primary.get(key) {
                    push(
                        format!("{AUTH0_CLAIMS}identities/default/{key}"),
                        text_values(v),
                    );
                }
            }
        }
        if self.passthrough_claims_with_no_mapping.unwrap_or(true) {
            let as_is = self.map_unknown_claims_as_is.unwrap_or(false);
            for (key, v) in &profile {
                if mappings.iter().any(|(f, _)| f == key) || NEVER_PASSED.contains(&key.as_str()) {
                    continue;
                }
                let name = if as_is {
                    key.clone()
                } else {
                    format!("{AUTH0_CLAIMS}{key}")
                };
                push(name, text_values(v));
            }
        }
        out
    }

    /// The subject: the first value of the first probed attribute that has one.
    pub fn name_identifier(&self, attributes: &[Attribute]) -> Option<String> {
        let defaults: Vec<String> = DEFAULT_PROBES
            .iter()
            .map(|p| format!("{CLAIMS}{p}"))
            .collect();
        let probes = self
            .name_identifier_probes
            .as_ref()
            .filter(|p| !p.is_empty())
            .unwrap_or(&defaults);
        probes.iter().find_map(|probe| {
            attributes
                .iter()
                .find(|(n, _)| n == probe)
                .and_then(|(_, v)| v.first().cloned())
        })
    }

    /// Where LogoutResponses go, when single logout is on.
    pub fn logout_callback(&self) -> Option<&str> {
        let logout = self.logout.as_ref()?;
        if logout.slo_enabled == Some(false) {
            return None;
        }
        logout.callback.as_deref().filter(|c| !c.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn addon(v: Value) -> SamlAddon {
        let extra = json!({"addons": {"samlp": v}});
        SamlAddon::of(extra.as_object().expect("object")).expect("on")
    }

    fn profile() -> Map<String, Value> {
        json!({
            "user_id": "auth0|abc",
            "email": "ada@example.com",
            "email_verified": true,
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "nickname": "ada",
            "identities": [{"provider": "auth0", "connection": "Username-Password-Authentication",
                            "user_id": "abc", "isSocial": false}],
            "app_metadata": {"department": "engines", "secret": "x"},
            "groups": ["staff", "admins"],
        })
        .as_object()
        .cloned()
        .expect("object")
    }

    fn values<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a [String]> {
        attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    #[test]
    fn defaults_follow_auth0() {
        let a = addon(json!({}));
        let attrs = a.attributes(&profile());
        let claim = |c: &str| values(&attrs, &format!("{CLAIMS}{c}")).map(<[String]>::to_vec);
        assert_eq!(claim("nameidentifier"), Some(vec!["auth0|abc".to_owned()]));
        assert_eq!(claim("emailaddress"), Some(vec!["ada@example.com".into()]));
        assert_eq!(claim("upn"), Some(vec!["ada@example.com".into()]));
        assert_eq!(claim("givenname"), Some(vec!["Ada".into()]));
        assert_eq!(
            values(&attrs, "http://schemas.xmlsoap.org/claims/Group"),
            Some(&["staff".to_owned(), "admins".to_owned()][..])
        );
        assert_eq!(
            values(&attrs, "http://schemas.auth0.com/nickname"),
            Some(&["ada".to_owned()][..])
        );
        assert_eq!(
            values(&attrs, "http://schemas.auth0.com/email_verified"),
            Some(&["true".to_owned()][..])
        );
        assert_eq!(
            values(
                &attrs,
                "http://schemas.auth0.com/identities/default/connection"
            ),
            Some(&["Username-Password-Authentication".to_owned()][..])
        );
        // Metadata goes only where a mapping names it.
        assert!(attrs.iter().all(|(n, _)| !n.contains("metadata")));
        assert_eq!(a.name_identifier(&attrs).as_deref(), Some("auth0|abc"));
        assert_eq!(a.lifetime(), 3600);
        assert_eq!(a.name_id_format(), UNSPECIFIED);
    }

    #[test]
    fn mappings_probes_and_switches() {
        let a = addon(json!({
            "mappings": {"email": "mail", "app_metadata.department": ["dept", "ou"]},
            "nameIdentifierProbes": ["mail"],
            "passthroughClaimsWithNoMapping": false,
            "mapIdentities": false,
            "createUpnClaim": false,
            "lifetimeInSeconds": 5,
        }));
        let attrs = a.attributes(&profile());
        assert_eq!(
            values(&attrs, "mail"),
            Some(&["ada@example.com".to_owned()][..])
        );
        assert_eq!(values(&attrs, "ou"), Some(&["engines".to_owned()][..]));
        assert!(values(&attrs, &format!("{CLAIMS}emailaddress")).is_none());
        assert!(values(&attrs, &format!("{CLAIMS}upn")).is_none());
        assert!(attrs.iter().all(|(n, _)| !n.starts_with(AUTH0_CLAIMS)));
        assert_eq!(
            a.name_identifier(&attrs).as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(a.lifetime(), 60);
    }

    #[test]
    fn unknown_claims_as_is_and_logout() {
        let a = addon(json!({
            "mapUnknownClaimsAsIs": true,
            "logout": {"callback": "https://sp.example.com/slo"},
        }));
        let attrs = a.attributes(&profile());
        assert_eq!(values(&attrs, "nickname"), Some(&["ada".to_owned()][..]));
        assert_eq!(a.logout_callback(), Some("https://sp.example.com/slo"));
        let off = addon(json!({"logout": {"callback": "https://x/", "slo_enabled": false}}));
        assert_eq!(off.logout_callback(), None);
        let extra = json!({"addons": {"wsfed": {}}});
        assert!(SamlAddon::of(extra.as_object().expect("object")).is_none());
    }
}
