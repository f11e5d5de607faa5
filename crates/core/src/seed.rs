//! What a new tenant starts with: the Management API, the default database connection and
//! a bootstrap machine-to-machine client allowed to call the Management API.

use time::OffsetDateTime;

use crate::client::{AppType, Client, ClientSettings, StoredSecret};
use crate::client_grant::ClientGrant;
use crate::connection::{
    Connection, ConnectionOptions, DEFAULT_DATABASE_CONNECTION, DatabaseOptions,
};
use crate::password_policy::PasswordPolicy;
use crate::resource_server::{DEFAULT_TOKEN_LIFETIME, ResourceServer, ScopeDef};
use crate::signing_key::SigningKey;
use crate::strategy::Strategy;
use crate::tenant::TenantSettings;

/// Auth0's Management API v2 permission names (the scopes of its system API).
pub const MANAGEMENT_SCOPES: &[&str] = &[
    "read:client_grants",
    "create:client_grants",
    "delete:client_grants",
    "update:client_grants",
    "read:users",
    "update:users",
    "delete:users",
    "create:users",
    "read:users_app_metadata",
    "update:users_app_metadata",
    "delete:users_app_metadata",
    "create:users_app_metadata",
    "read:user_custom_blocks",
    "create:user_custom_blocks",
    "delete:user_custom_blocks",
    "create:user_tickets",
    "read:clients",
    "update:clients",
    "delete:clients",
    "create:clients",
    "read:client_keys",
    "update:client_keys",
    "delete:client_keys",
    "create:client_keys",
    "read:client_credentials",
    "update:client_credentials",
    "delete:client_credentials",
    "create:client_credentials",
    "read:client_summary",
    "read:connections",
    "update:connections",
    "delete:connections",
    "create:connections",
    "read:resource_servers",
    "update:resource_servers",
    "delete:resource_servers",
    "create:resource_servers",
    "read:device_credentials",
    "update:device_credentials",
    "delete:device_credentials",
    "create:device_credentials",
    "read:email_provider",
    "update:email_provider",
    "delete:email_provider",
    "create:email_provider",
    "blacklist:tokens",
    "read:stats",
    "read:tenant_settings",
    "update:tenant_settings",
    "read:branding",
    "update:branding",
    "delete:branding",
    "read:logs",
    "read:logs_users",
    "read:grants",
    "delete:grants",
    "read:user_idp_tokens",
    "read:email_templates",
    "create:email_templates",
    "update:email_templates",
    "read:roles",
    "create:roles",
    "delete:roles",
    "update:roles",
    "create:role_members",
    "read:role_members",
    "delete:role_members",
    "create:signing_keys",
    "read:signing_keys",
    "update:signing_keys",
    "read:sessions",
    "delete:sessions",
    "read:refresh_tokens",
    "delete:refresh_tokens",
    "read:current_user",
    "create:current_user_metadata",
    "update:current_user_metadata",
    "delete:current_user_metadata",
    "update:current_user_identities",
    "delete:current_user",
    "read:actions",
    "create:actions",
    "delete:actions",
    "update:actions",
    "read:triggers",
    "update:triggers",
    "read:prompts",
    "update:prompts",
    "read:attack_protection",
    "update:attack_protection",
    "read:guardian_factors",
    "update:guardian_factors",
    "read:mfa_policies",
    "update:mfa_policies",
    "read:custom_domains",
    "read:hooks",
    "read:rules",
    "read:rules_configs",
    "read:log_streams",
    "read:event_streams",
    "read:flows",
    "read:flows_vault_connections",
    "read:forms",
    "read:network_acls",
    "read:organizations",
    "read:phone_providers",
    "read:phone_templates",
    "read:rate_limit_policies",
    "read:self_service_profiles",
    "read:token_exchange_profiles",
    "read:user_attribute_profiles",
    "read:connection_profiles",
    "read:directory_provisionings",
];

/// The only Management API scopes a token issued to a user may carry: each acts on that
/// user alone (Auth0's user-scoped Management API tokens).
pub const USER_MANAGEMENT_SCOPES: &[&str] = &[
    "read:current_user",
    "update:current_user_identities",
    "update:current_user_metadata",
    "create:current_user_metadata",
    "delete:current_user_metadata",
];

/// The Management API's audience for a tenant whose issuer is `issuer` (with its trailing slash).
pub fn management_audience(issuer: &str) -> crate::id::Audience {
    format!("{issuer}api/v2/").into()
}

/// Credentials for the bootstrap client, already protected for storage.
#[derive(Debug, Clone)]
pub struct BootstrapClient {
    /// The client id.
    pub client_id: crate::id::ClientId,
    /// The secret, hashed and sealed.
    pub secret: StoredSecret,
    /// True when the operator configured these credentials: they are then enforced on
    /// every start. False when gatehouse generated them: they are used on a new database only.
    pub configured: bool,
}

/// Everything a start-up ensures exists. Applying a plan twice changes nothing the second time.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    /// Tenant settings for a new database.
    pub tenant: TenantSettings,
    /// The Management API.
    pub management_api: ResourceServer,
    /// The default database connection.
    pub database_connection: Connection,
    /// The bootstrap client.
    pub bootstrap_client: Client,
    /// Its grant on the Management API with every scope.
    pub bootstrap_grant: ClientGrant,
    /// Whether the bootstrap client was configured (enforced) or generated (new database only).
    pub bootstrap_configured: bool,
    /// Signing keys (current and next) to install if the database has no current key.
    pub initial_keys: Vec<SigningKey>,
}

/// The ids of the rows a seed creates (the server draws them; core holds no randomness).
#[derive(Debug, Clone)]
pub struct SeedIds {
    /// The Management API's resource server id.
    pub management_api: String,
    /// The bootstrap client's grant on it.
    pub bootstrap_grant: String,
    /// The default database connection's id.
    pub database_connection: String,
}

/// What applying a [`SeedPlan`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedOutcome {
    /// The database had no tenant yet.
    pub new_database: bool,
    /// The bootstrap client was inserted or its secret replaced.
    pub bootstrap_client_written: bool,
    /// The initial signing keys were installed.
    pub keys_installed: bool,
    /// How many Management API scopes this version added to an existing tenant.
    pub management_scopes_added: usize,
}

impl SeedPlan {
    /// The seed for a tenant at `issuer`, with the given bootstrap client and initial keys.
    pub fn new(
        issuer: &str,
        bootstrap: BootstrapClient,
        initial_keys: Vec<SigningKey>,
        ids: SeedIds,
        now: OffsetDateTime,
    ) -> Self {
        let audience = management_audience(issuer);
        let management_api = ResourceServer {
            id: ids.management_api,
            name: "Auth0 Management API".to_owned(),
            identifier: audience.as_str().into(),
            is_system: true,
            scopes: MANAGEMENT_SCOPES
                .iter()
                .map(|s| ScopeDef {
                    value: (*s).to_owned(),
                    description: describe_scope(s),
                })
                .collect(),
            signing_alg: "RS256".to_owned(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            allow_offline_access: false,
            enforce_policies: false,
            token_dialect: Default::default(),
            extra: serde_json::Map::new(),
            created_at: now,
        };
        let bootstrap_client = Client {
            client_id: bootstrap.client_id.clone(),
            name: "gatehouse bootstrap (Management API)".to_owned(),
            app_type: AppType::NonInteractive,
            is_system: false,
            secret: Some(bootstrap.secret),
            settings: ClientSettings {
                grant_types: vec!["client_credentials".to_owned()],
                token_endpoint_auth_method: Some("client_secret_post".to_owned()),
                is_first_party: true,
                oidc_conformant: true,
                ..ClientSettings::default()
            },
            created_at: now,
            updated_at: now,
        };
        let bootstrap_grant = ClientGrant {
            id: ids.bootstrap_grant,
            client_id: bootstrap.client_id.clone(),
            audience,
            scope: MANAGEMENT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            created_at: now,
            extra: Default::default(),
        };
        let database_connection = Connection {
            id: ids.database_connection,
            name: DEFAULT_DATABASE_CONNECTION.into(),
            strategy: Strategy::Database,
            options: ConnectionOptions::Database(DatabaseOptions {
                brute_force_protection: Some(true),
                password_policy: Some(Some(PasswordPolicy::Good)),
                ..DatabaseOptions::default()
            }),
            // The store enables the bootstrap client on it with the client, as any new one.
            enabled_clients: vec![bootstrap.client_id.clone()],
            extra: serde_json::Map::new(),
            created_at: now,
        };
        SeedPlan {
            tenant: TenantSettings {
                bootstrap_client_id: Some(bootstrap.client_id.into_string()),
                ..TenantSettings::default()
            },
            management_api,
            database_connection,
            bootstrap_client,
            bootstrap_grant,
            bootstrap_configured: bootstrap.configured,
            initial_keys,
        }
    }
}

/// "read:users" -> "Read Users", the style of Auth0's scope descriptions.
fn describe_scope(scope: &str) -> String {
    scope
        .split([':', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_descriptions_read_like_auth0() {
        assert_eq!(describe_scope("read:users"), "Read Users");
        assert_eq!(
            describe_scope("update:users_app_metadata"),
            "Update Users App Metadata"
        );
    }

    #[test]
    fn management_scopes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for s in MANAGEMENT_SCOPES {
            assert!(seen.insert(*s), "duplicate scope {s}");
        }
    }

    #[test]
    fn audience_keeps_the_issuer_slash() {
        assert_eq!(
            management_audience("https://id.example.com/"),
            "https://id.example.com/api/v2/"
        );
    }
}
