//! Auth0's Authorization Extension: groups of users (nested, and mapped from an upstream
//! provider's group names), roles and permissions per application, and the policy a login
//! gets from them. The extension keeps all of it as one JSON document, and so does
//! gatehouse: the same field names (`_id`, `applicationId`, ...), so the extension's
//! `/configuration/export` imports as it is.

mod policy;

pub use policy::{Policy, calculate_groups, calculate_roles, nested_roles, policy};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The audience of the extension's API.
pub const AUDIENCE: &str = "urn:auth0-authz-api";

/// The extension's API scopes (the resource server gatehouse seeds for it).
pub const SCOPES: &[&str] = &[
    "read:users",
    "read:applications",
    "read:connections",
    "read:configuration",
    "update:configuration",
    "read:groups",
    "create:groups",
    "update:groups",
    "delete:groups",
    "read:roles",
    "create:roles",
    "update:roles",
    "delete:roles",
    "read:permissions",
    "create:permissions",
    "update:permissions",
    "delete:permissions",
];

/// The extension's API as a resource server (made on first start, as the extension makes
/// it when its API access is turned on): an application granted some of its scopes calls
/// `<issuer>authz/api/` with a client-credentials token.
pub fn resource_server(
    id: String,
    now: time::OffsetDateTime,
) -> crate::resource_server::ResourceServer {
    crate::resource_server::ResourceServer {
        id,
        name: "auth0-authorization-extension-api".to_owned(),
        identifier: AUDIENCE.into(),
        is_system: false,
        scopes: SCOPES
            .iter()
            .map(|s| crate::resource_server::ScopeDef {
                value: (*s).to_owned(),
                description: format!("Authorization Extension: {s}"),
            })
            .collect(),
        signing_alg: "RS256".to_owned(),
        token_lifetime: 86_400,
        allow_offline_access: false,
        enforce_policies: false,
        token_dialect: Default::default(),
        extra: Map::new(),
        created_at: now,
    }
}

/// The whole of the extension's data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthzData {
    /// The switches (one record, `_id: "v1"`, once set).
    #[serde(default)]
    pub configuration: Vec<Configuration>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Permissions.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Keys of older versions of the extension (`applications`, `rules`), kept as given.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A group of users.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Its id (a UUID).
    #[serde(rename = "_id")]
    pub id: String,
    /// Its name, unique (case-insensitively).
    pub name: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its members' user ids.
    #[serde(default)]
    pub members: Vec<String>,
    /// The groups nested in it: their members are this group's members too.
    #[serde(default)]
    pub nested: Vec<String>,
    /// Its roles' ids.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Upstream group names that make a user a member.
    #[serde(default)]
    pub mappings: Vec<Mapping>,
}

/// An upstream provider's group that makes its users members of a group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// Its id (a UUID).
    #[serde(rename = "_id")]
    pub id: String,
    /// The group's name at the provider.
    #[serde(rename = "groupName")]
    pub group_name: String,
    /// The connection the user logs in through.
    #[serde(rename = "connectionName")]
    pub connection_name: String,
}

/// A role within one application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// Its id (a UUID).
    #[serde(rename = "_id")]
    pub id: String,
    /// Its name, unique (case-insensitively) within the application.
    pub name: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `client` or `resource_server`.
    #[serde(rename = "applicationType", default)]
    pub application_type: String,
    /// The application's client id (or API identifier).
    #[serde(rename = "applicationId", default)]
    pub application_id: String,
    /// Its permissions' ids.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Users given the role directly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

/// A permission within one application.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Permission {
    /// Its id (a UUID).
    #[serde(rename = "_id")]
    pub id: String,
    /// Its name, unique (case-insensitively) within the application.
    pub name: String,
    /// What it allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `client` or `resource_server`.
    #[serde(rename = "applicationType", default)]
    pub application_type: String,
    /// The application's client id (or API identifier).
    #[serde(rename = "applicationId", default)]
    pub application_id: String,
}

/// The extension's switches: what a login's policy adds to tokens and keeps in
/// `app_metadata.authorization`. All off until set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    /// `v1`.
    #[serde(rename = "_id", default)]
    pub id: String,
    /// Groups in tokens.
    #[serde(default)]
    pub groups_in_token: bool,
    /// Roles in tokens.
    #[serde(default)]
    pub roles_in_token: bool,
    /// Permissions in tokens.
    #[serde(default)]
    pub permissions_in_token: bool,
    /// Groups kept in `app_metadata.authorization`.
    #[serde(default)]
    pub persist_groups: bool,
    /// Roles kept in `app_metadata.authorization`.
    #[serde(default)]
    pub persist_roles: bool,
    /// Permissions kept in `app_metadata.authorization`.
    #[serde(default)]
    pub persist_permissions: bool,
    /// The upstream provider's groups are added to the token's groups.
    #[serde(default)]
    pub groups_passthrough: bool,
    /// The upstream provider's roles are added to the token's roles.
    #[serde(default)]
    pub roles_passthrough: bool,
    /// The upstream provider's permissions are added to the token's permissions.
    #[serde(default)]
    pub permissions_passthrough: bool,
}

impl AuthzData {
    /// The switches in force (all off before any is set).
    pub fn configuration(&self) -> Configuration {
        self.configuration.first().cloned().unwrap_or_default()
    }

    /// Whether a login needs the policy at all.
    pub fn applies_to_logins(&self) -> bool {
        let c = self.configuration();
        c.groups_in_token
            || c.roles_in_token
            || c.permissions_in_token
            || c.persist_groups
            || c.persist_roles
            || c.persist_permissions
    }
}
