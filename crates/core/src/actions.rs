//! Auth0 Actions as data: actions (code, triggers, sealed secrets), their deployed versions,
//! and the flows (each trigger's bindings, in order). Stored as one document, like the
//! Authorization Extension's; what runs is a deployed version's code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The triggers gatehouse runs, with Auth0's current version of each.
pub const TRIGGERS: &[(&str, &str)] = &[
    ("post-login", "v3"),
    ("credentials-exchange", "v2"),
    ("pre-user-registration", "v2"),
];

/// The function an action exports for `trigger`.
pub fn handler(trigger: &str) -> Option<&'static str> {
    match trigger {
        "post-login" => Some("onExecutePostLogin"),
        "credentials-exchange" => Some("onExecuteCredentialsExchange"),
        "pre-user-registration" => Some("onExecutePreUserRegistration"),
        _ => None,
    }
}

/// Every action, version and flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionsData {
    /// The actions.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Their deployed versions, oldest first.
    #[serde(default)]
    pub versions: Vec<ActionVersion>,
    /// Each trigger's bindings, in the order they run.
    #[serde(default)]
    pub bindings: BTreeMap<String, Vec<Binding>>,
}

/// A trigger an action is written for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRef {
    /// `post-login`, ...
    pub id: String,
    /// `v3`, ...
    #[serde(default)]
    pub version: String,
}

/// An npm module an action asks for (gatehouse runs none: deploying such an action fails).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The module.
    pub name: String,
    /// Its version.
    #[serde(default)]
    pub version: String,
}

/// A secret: its value sealed, never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    /// Its name (`event.secrets.<name>`).
    pub name: String,
    /// The value, sealed (base64).
    pub sealed: String,
    /// When it was set (RFC 3339).
    pub updated_at: String,
}

/// An action as last saved (its draft).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Its id.
    pub id: String,
    /// Its name, unique.
    pub name: String,
    /// The triggers it is for.
    pub supported_triggers: Vec<TriggerRef>,
    /// Its code.
    pub code: String,
    /// npm modules it asks for.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// `node22`, ...
    #[serde(default)]
    pub runtime: String,
    /// Its secrets.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// The number of its deployed version, once deployed.
    #[serde(default)]
    pub deployed_number: Option<u32>,
    /// Whether the draft is what is deployed.
    #[serde(default)]
    pub all_changes_deployed: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// A deployed version of an action: what runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionVersion {
    /// Its id.
    pub id: String,
    /// The action's id.
    pub action_id: String,
    /// 1, 2, ...
    pub number: u32,
    /// The code.
    pub code: String,
    /// `node22`, ...
    #[serde(default)]
    pub runtime: String,
    /// The triggers.
    pub supported_triggers: Vec<TriggerRef>,
    /// The secrets as they were.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// Whether it is the one that runs.
    pub deployed: bool,
    /// RFC 3339.
    pub created_at: String,
}

/// An action bound to a trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// Its id.
    pub id: String,
    /// The trigger.
    pub trigger_id: String,
    /// The action.
    pub action_id: String,
    /// Its name in the flow.
    pub display_name: String,
    /// RFC 3339.
    pub created_at: String,
}

impl ActionsData {
    /// The deployed versions bound to `trigger`, in order: what a flow runs.
    pub fn flow(&self, trigger: &str) -> Vec<(&Binding, &ActionVersion)> {
        self.bindings
            .get(trigger)
            .into_iter()
            .flatten()
            .filter_map(|b| {
                let v = self
                    .versions
                    .iter()
                    .find(|v| v.action_id == b.action_id && v.deployed)?;
                Some((b, v))
            })
            .collect()
    }
}

/// The reserved claims an action may not set (OIDC's and the token's own), as Auth0 refuses
/// them.
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "azp",
    "nonce",
    "auth_time",
    "at_hash",
    "c_hash",
    "acr",
    "amr",
    "sub_jwk",
    "cnf",
    "sid",
    "org_id",
    "org_name",
    "scope",
    "gty",
    "permissions",
];

/// Whether an action may set the claim `name`: an http(s) namespace (`https://x/roles`), or
/// a plain name that is not reserved and not one of Auth0's (`https://auth0.com/...` or
/// `https://*.auth0.com/...`).
pub fn claim_allowed(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let auth0 = ["https://auth0.com", "http://auth0.com"]
        .iter()
        .any(|p| lower.starts_with(p))
        || lower
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .is_some_and(|host| host.ends_with(".auth0.com"));
    !name.is_empty() && !auth0 && !RESERVED_CLAIMS.contains(&name)
}

/// The modules `code` loads with `require('name')` (a plain scan: the calls a deploy
/// refuses, since gatehouse runs Actions without npm or Node's modules).
pub fn required_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(at) = code[from..].find("require") {
        let start = from + at;
        from = start + "require".len();
        let before = start
            .checked_sub(1)
            .map(|i| bytes[i] as char)
            .unwrap_or(' ');
        if before.is_alphanumeric() || matches!(before, '_' | '$' | '.') {
            continue;
        }
        let rest = code[from..].trim_start();
        let Some(rest) = rest.strip_prefix('(') else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(quote) = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '\'' | '"' | '`'))
        else {
            continue;
        };
        if let Some(end) = rest[1..].find(quote) {
            let name = &rest[1..1 + end];
            if !name.is_empty() && !found.iter().any(|f| f == name) {
                found.push(name.to_owned());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_modules_are_found() {
        assert_eq!(
            required_modules(
                "const axios = require('axios');\nconst { v4 } = require ( \"uuid\" );\n\
                 const again = require('axios'); my.require('x'); prerequire('y');"
            ),
            vec!["axios".to_owned(), "uuid".to_owned()]
        );
        assert!(required_modules("exports.onExecutePostLogin = async () => {};").is_empty());
        assert!(required_modules("const required = true; require(name);").is_empty());
    }

    #[test]
    fn reserved_and_auth0_claims_are_refused() {
        for ok in [
            "https://my-app.example.com/roles",
            "favorite_color",
            "http://x/y",
        ] {
            assert!(claim_allowed(ok), "{ok}");
        }
        for bad in [
            "sub",
            "iss",
            "aud",
            "exp",
            "nonce",
            "permissions",
            "",
            "https://auth0.com/claim",
            "https://tenant.auth0.com/x",
        ] {
            assert!(!claim_allowed(bad), "{bad}");
        }
    }
}
