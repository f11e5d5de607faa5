//! The Management API's route table: one line per operation, from which both the router and
//! the OpenAPI 3.1 document (`GET /api/v2/openapi.json`) are made, so neither can list an
//! operation the other lacks.

use axum::Json;
use axum::Router;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::roles::permissions::{self as perms, OfRole, OfUser};
use super::{
    actions, client_grants, clients, connections, email_templates, emails, exports, flows, grants,
    identities, jobs, keys, logs, not_offered as no, prompts, refresh_tokens, resource_servers,
    roles, schema, sessions, stats, tenant, tickets, user_blocks, users,
};
use crate::AppState;

/// One operation.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path under `/api/v2`, with `{param}` segments.
    pub path: &'static str,
    /// Status of a success.
    pub success: u16,
    /// Resource group.
    pub tag: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Scopes that allow it.
    pub scopes: &'static [&'static str],
    /// Whether every scope is needed (otherwise any one will do, as usual in Auth0).
    pub all_of: bool,
    /// Whether it takes a body.
    pub body: bool,
    /// Whether that body is `multipart/form-data` rather than JSON.
    pub multipart: bool,
}

/// The largest body an operation reads: the users file of an import (and the form around
/// it), else Auth0's payload limit. Enforced by the body extractors (`MgmtJson`, multipart),
/// which answer 413 in the Management API's error shape.
fn body_limit(path: &str) -> usize {
    match path {
        "/jobs/users-imports" => gatehouse_core::job::MAX_IMPORT_BYTES + 64 * 1024,
        _ => crate::http::BODY_LIMIT,
    }
}

macro_rules! management_api {
    ($( $method:ident $path:literal => $handler:path, $success:literal, $tag:literal, $summary:literal,
        [$($scope:literal),*] $(, $flag:ident)* ; )*) => {
        /// Every operation of the Management API.
        pub const OPERATIONS: &[Operation] = &[$(
            Operation {
                method: stringify!($method),
                path: $path,
                success: $success,
                tag: $tag,
                summary: $summary,
                scopes: &[$($scope),*],
                all_of: management_api!(@has all_of $($flag)*),
                body: management_api!(@body $method $($flag)*),
                multipart: management_api!(@has multipart $($flag)*),
            },
        )*];

        /// The router for [`OPERATIONS`], each operation behind the check of its scopes.
        pub fn router() -> Router<AppState> {
            let mut r = Router::new();
            $( r = r.route(
                $path,
                axum::routing::$method($handler)
                    .layer(axum::extract::DefaultBodyLimit::max(body_limit($path)))
                    .route_layer(axum::middleware::from_fn_with_state(
                    operation(stringify!($method), $path),
                    super::auth::require_scopes,
                )),
            ); )*
            r
        }
    };
    (@has $want:ident) => { false };
    (@has $want:ident $first:ident $($rest:ident)*) => {
        management_api!(@same $want $first) || management_api!(@has $want $($rest)*)
    };
    (@same all_of all_of) => { true };
    (@same with_body with_body) => { true };
    (@same no_body no_body) => { true };
    (@same multipart multipart) => { true };
    (@same $a:ident $b:ident) => { false };
    (@body post $($flag:ident)*) => { !management_api!(@has no_body $($flag)*) };
    (@body patch $($flag:ident)*) => { true };
    (@body $m:ident $($flag:ident)*) => { management_api!(@has with_body $($flag)*) };
}

management_api! {
    get "/clients" => clients::list, 200, "clients", "Get clients",
        ["read:clients", "read:client_keys", "read:client_credentials", "read:client_summary"];
    post "/clients" => clients::create, 201, "clients", "Create a client", ["create:clients"];
    get "/clients/{id}" => clients::get, 200, "clients", "Get a client",
        ["read:clients", "read:client_keys", "read:client_credentials", "read:client_summary"];
    patch "/clients/{id}" => clients::update, 200, "clients", "Update a client",
        ["update:clients", "update:client_keys"];
    delete "/clients/{id}" => clients::delete, 204, "clients", "Delete a client", ["delete:clients"];
    post "/clients/{id}/rotate-secret" => clients::rotate_secret, 200, "clients", "Rotate a client secret",
        ["update:client_keys"], no_body;

    get "/resource-servers" => resource_servers::list, 200, "resource-servers", "Get resource servers",
        ["read:resource_servers"];
    post "/resource-servers" => resource_servers::create, 201, "resource-servers", "Create a resource server",
        ["create:resource_servers"];
    get "/resource-servers/{id}" => resource_servers::get, 200, "resource-servers",
        "Get a resource server by id or identifier", ["read:resource_servers"];
    patch "/resource-servers/{id}" => resource_servers::update, 200, "resource-servers",
        "Update a resource server", ["update:resource_servers"];
    delete "/resource-servers/{id}" => resource_servers::delete, 204, "resource-servers",
        "Delete a resource server", ["delete:resource_servers"];

    get "/client-grants" => client_grants::list, 200, "client-grants", "Get client grants", ["read:client_grants"];
    post "/client-grants" => client_grants::create, 201, "client-grants", "Create a client grant",
        ["create:client_grants"];
    get "/client-grants/{id}" => client_grants::get, 200, "client-grants", "Get a client grant",
        ["read:client_grants"];
    patch "/client-grants/{id}" => client_grants::update, 200, "client-grants", "Update a client grant",
        ["update:client_grants"];
    delete "/client-grants/{id}" => client_grants::delete, 204, "client-grants", "Delete a client grant",
        ["delete:client_grants"];

    get "/connections" => connections::list, 200, "connections", "Get connections", ["read:connections"];
    post "/connections" => connections::create, 201, "connections", "Create a connection", ["create:connections"];
    get "/connections/{id}" => connections::get, 200, "connections", "Get a connection", ["read:connections"];
    patch "/connections/{id}" => connections::update, 200, "connections", "Update a connection",
        ["update:connections"];
    delete "/connections/{id}" => connections::delete, 202, "connections", "Delete a connection",
        ["delete:connections"];
    get "/connections/{id}/clients" => connections::clients, 200, "connections",
        "Get the clients enabled on a connection", ["read:connections"];
    patch "/connections/{id}/clients" => connections::update_clients, 204, "connections",
        "Enable or disable clients on a connection", ["update:connections"];

    get "/users" => users::list, 200, "users", "List or search users", ["read:users"];
    post "/users" => users::create, 201, "users", "Create a user", ["create:users"];
    get "/users/{id}" => users::get, 200, "users", "Get a user", ["read:users", "read:current_user"];
    patch "/users/{id}" => users::update, 200, "users", "Update a user",
        ["update:users", "update:users_app_metadata", "update:current_user_metadata",
         "create:current_user_metadata", "delete:current_user_metadata"];
    delete "/users/{id}" => users::delete, 204, "users", "Delete a user", ["delete:users", "delete:current_user"];
    get "/user-blocks/{id}" => user_blocks::get, 200, "users", "Get a user's brute-force blocks",
        ["read:users"];
    get "/user-blocks" => user_blocks::by_identifier, 200, "users",
        "Get the brute-force blocks of an identifier", ["read:users"];
    delete "/user-blocks" => user_blocks::unblock_identifier, 204, "users",
        "Unblock an identifier blocked by brute-force protection", ["update:users"];
    delete "/user-blocks/{id}" => users::unblock, 204, "users", "Unblock a user blocked by brute-force protection",
        ["update:users"];
    get "/users-by-email" => users::by_email, 200, "users", "Get users by email", ["read:users"];
    post "/users/{id}/identities" => identities::link, 201, "users", "Link a user account",
        ["update:users", "update:current_user_identities"];
    delete "/users/{id}/identities/{provider}/{user_id}" => identities::unlink, 200, "users",
        "Unlink a user identity", ["update:users", "update:current_user_identities"];
    get "/users/{id}/roles" => roles::user_roles, 200, "users", "Get a user's roles",
        ["read:users", "read:roles"], all_of;
    post "/users/{id}/roles" => roles::add_user_roles, 204, "users", "Assign roles to a user",
        ["update:users", "create:role_members"];
    delete "/users/{id}/roles" => roles::remove_user_roles, 204, "users", "Remove roles from a user",
        ["update:users", "delete:role_members"], with_body;
    get "/users/{id}/permissions" => perms::user_permissions, 200, "users", "Get a user's permissions",
        ["read:users"];
    post "/users/{id}/permissions" => perms::add::<OfUser>, 201, "users",
        "Assign permissions to a user", ["update:users"];
    delete "/users/{id}/permissions" => perms::remove::<OfUser>, 204, "users",
        "Remove permissions from a user", ["update:users"], with_body;
    get "/users/{id}/logs" => logs::user_logs, 200, "users", "Get a user's log events",
        ["read:logs", "read:logs_users"];

    get "/roles" => roles::list, 200, "roles", "Get roles", ["read:roles"];
    post "/roles" => roles::create, 200, "roles", "Create a role", ["create:roles"];
    get "/roles/{id}" => roles::get, 200, "roles", "Get a role", ["read:roles"];
    patch "/roles/{id}" => roles::update, 200, "roles", "Update a role", ["update:roles"];
    delete "/roles/{id}" => roles::delete, 200, "roles", "Delete a role", ["delete:roles"];
    get "/roles/{id}/permissions" => perms::permissions, 200, "roles", "Get a role's permissions", ["read:roles"];
    post "/roles/{id}/permissions" => perms::add::<OfRole>, 201, "roles", "Add permissions to a role",
        ["update:roles"];
    delete "/roles/{id}/permissions" => perms::remove::<OfRole>, 200, "roles",
        "Remove permissions from a role", ["update:roles"], with_body;
    get "/roles/{id}/users" => roles::users, 200, "roles", "Get a role's users", ["read:roles", "read:role_members"];
    post "/roles/{id}/users" => roles::add_users, 200, "roles", "Assign users to a role",
        ["update:roles", "create:role_members"];

    get "/stats/active-users" => stats::active_users, 200, "stats",
        "Number of users who logged in in the last 30 days", ["read:stats"];
    get "/stats/daily" => stats::daily, 200, "stats", "Logins and sign-ups per day", ["read:stats"];

    get "/users/{id}/refresh-tokens" => refresh_tokens::of_user, 200, "refresh-tokens",
        "Get a user's refresh tokens", ["read:refresh_tokens"];
    delete "/users/{id}/refresh-tokens" => refresh_tokens::revoke_of_user, 202, "refresh-tokens",
        "Revoke a user's refresh tokens", ["delete:refresh_tokens"];
    get "/refresh-tokens/{id}" => refresh_tokens::get, 200, "refresh-tokens", "Get a refresh token",
        ["read:refresh_tokens"];
    delete "/refresh-tokens/{id}" => refresh_tokens::revoke, 202, "refresh-tokens",
        "Revoke a refresh token", ["delete:refresh_tokens"];

    get "/prompts" => prompts::get, 200, "prompts", "Get the prompts' settings", ["read:prompts"];
    patch "/prompts" => prompts::update, 200, "prompts", "Update the prompts' settings",
        ["update:prompts"];
    get "/prompts/{prompt}/custom-text/{language}" => prompts::get_custom_text, 200, "prompts",
        "Get a prompt's custom texts in a language", ["read:prompts"];
    put "/prompts/{prompt}/custom-text/{language}" => prompts::set_custom_text, 200, "prompts",
        "Set a prompt's custom texts in a language", ["update:prompts"], with_body;
    get "/prompts/{prompt}/partials" => prompts::partials, 200, "prompts",
        "Get a prompt's partials (needs a custom domain)", ["read:prompts"];
    put "/prompts/{prompt}/partials" => prompts::partials, 200, "prompts",
        "Set a prompt's partials (needs a custom domain)", ["update:prompts"], with_body;

    get "/actions/actions" => actions::list, 200, "actions", "Get actions", ["read:actions"];
    post "/actions/actions" => actions::create, 201, "actions", "Create an action", ["create:actions"];
    get "/actions/actions/{id}" => actions::get, 200, "actions", "Get an action", ["read:actions"];
    patch "/actions/actions/{id}" => actions::update, 200, "actions", "Update an action's draft",
        ["update:actions"];
    delete "/actions/actions/{id}" => actions::delete, 204, "actions", "Delete an action",
        ["delete:actions"];
    post "/actions/actions/{id}/deploy" => actions::deploy_action, 200, "actions",
        "Deploy an action", ["create:actions"], no_body;
    get "/actions/actions/{id}/versions" => actions::versions, 200, "actions",
        "Get an action's versions", ["read:actions"];
    post "/actions/actions/{id}/test" => actions::test, 200, "actions", "Test an action's draft",
        ["create:actions"];
    get "/actions/executions/{id}" => actions::execution, 200, "actions", "Get an execution",
        ["read:actions"];
    patch "/actions/triggers/{triggerId}/bindings" => flows::set_bindings, 200, "actions",
        "Set a trigger's flow", ["update:triggers"];

    get "/users/{id}/sessions" => sessions::of_user, 200, "sessions", "Get a user's sessions",
        ["read:sessions"];
    delete "/users/{id}/sessions" => sessions::delete_of_user, 202, "sessions",
        "End a user's sessions", ["delete:sessions"];
    get "/sessions/{id}" => sessions::get, 200, "sessions", "Get a session", ["read:sessions"];
    delete "/sessions/{id}" => sessions::delete, 202, "sessions", "End a session", ["delete:sessions"];
    post "/sessions/{id}/revoke" => sessions::revoke, 202, "sessions", "Revoke a session",
        ["delete:sessions"], no_body;

    get "/grants" => grants::list, 200, "grants", "Get the consents users gave applications",
        ["read:grants"];
    delete "/grants/{id}" => grants::delete, 204, "grants", "Forget a consent", ["delete:grants"];
    delete "/grants" => grants::delete_of_user, 204, "grants", "Forget a user's consents",
        ["delete:grants"];

    post "/tickets/password-change" => tickets::password_change, 201, "tickets",
        "Create a password change ticket", ["create:user_tickets"];
    post "/tickets/email-verification" => tickets::email_verification, 201, "tickets",
        "Create an email verification ticket", ["create:user_tickets"];

    get "/keys/signing" => keys::list, 200, "keys", "Get signing keys", ["read:signing_keys"];
    post "/keys/signing/rotate" => keys::rotate, 201, "keys", "Rotate the signing key",
        ["create:signing_keys", "update:signing_keys"], all_of, no_body;
    get "/keys/signing/{kid}" => keys::get, 200, "keys", "Get a signing key", ["read:signing_keys"];
    put "/keys/signing/{kid}/revoke" => keys::revoke, 200, "keys", "Revoke the previous signing key",
        ["update:signing_keys"], no_body;

    get "/email-templates/{templateName}" => email_templates::get, 200, "email-templates",
        "Get an email template", ["read:email_templates"];
    post "/email-templates" => email_templates::create, 201, "email-templates",
        "Create an email template", ["create:email_templates"];
    put "/email-templates/{templateName}" => email_templates::put, 200, "email-templates",
        "Set an email template", ["update:email_templates"], with_body;
    patch "/email-templates/{templateName}" => email_templates::update, 200, "email-templates",
        "Update an email template", ["update:email_templates"];

    get "/emails/provider" => emails::get, 200, "emails", "Get the email provider", ["read:email_provider"];
    post "/emails/provider" => emails::create, 201, "emails", "Configure the email provider",
        ["create:email_provider"];
    patch "/emails/provider" => emails::update, 200, "emails", "Update the email provider",
        ["update:email_provider"];
    delete "/emails/provider" => emails::delete, 204, "emails", "Delete the email provider",
        ["delete:email_provider"];

    get "/tenants/settings" => tenant::get_settings, 200, "tenants", "Get tenant settings", ["read:tenant_settings"];
    patch "/tenants/settings" => tenant::update_settings, 200, "tenants", "Update tenant settings",
        ["update:tenant_settings"];
    get "/branding" => tenant::get_branding, 200, "branding", "Get Universal Login branding", ["read:branding"];
    patch "/branding" => tenant::update_branding, 200, "branding", "Update Universal Login branding",
        ["update:branding"];

    post "/jobs/users-exports" => exports::create, 201, "jobs", "Export users to a file",
        ["read:users"];
    post "/jobs/users-imports" => jobs::import_users, 201, "jobs", "Import users from a JSON file",
        ["create:users"], multipart;
    post "/jobs/verification-email" => jobs::verification_email, 201, "jobs",
        "Send the verification email again", ["update:users"];
    get "/jobs/{id}" => jobs::get, 200, "jobs", "Get a job", ["create:users", "read:users"];
    get "/jobs/{id}/errors" => jobs::errors, 200, "jobs", "Get a job's failed users",
        ["create:users", "read:users"];

    get "/logs" => logs::list, 200, "logs", "Search log events", ["read:logs"];
    get "/logs/{id}" => logs::get, 200, "logs", "Get a log event", ["read:logs"];

    // Features gatehouse does not offer, answered as for a tenant that uses none of them
    // (`not_offered`): what auth0-deploy-cli reads on every export and writes back.
    get "/actions/modules" => no::action_modules, 200, "actions", "Get Actions modules (none)", ["read:actions"];
    get "/actions/triggers" => no::triggers, 200, "actions", "Get the Actions triggers", ["read:actions"];
    get "/actions/triggers/{triggerId}/bindings" => flows::bindings, 200, "actions",
        "Get a trigger's flow", ["read:actions"];
    get "/attack-protection/brute-force-protection" => no::brute_force, 200, "attack-protection",
        "Get brute-force protection", ["read:attack_protection"];
    patch "/attack-protection/brute-force-protection" => no::set_brute_force, 200, "attack-protection",
        "Update brute-force protection (kept, not enforced)", ["update:attack_protection"];
    get "/attack-protection/suspicious-ip-throttling" => no::ip_throttling, 200, "attack-protection",
        "Get suspicious IP throttling", ["read:attack_protection"];
    patch "/attack-protection/suspicious-ip-throttling" => no::set_ip_throttling, 200, "attack-protection",
        "Update suspicious IP throttling (kept, not enforced)", ["update:attack_protection"];
    get "/attack-protection/breached-password-detection" => no::breached_passwords, 200,
        "attack-protection", "Get breached password detection", ["read:attack_protection"];
    patch "/attack-protection/breached-password-detection" => no::set_breached_passwords, 200,
        "attack-protection", "Update breached password detection (kept, not enforced)",
        ["update:attack_protection"];
    get "/attack-protection/bot-detection" => no::bot_detection, 200, "attack-protection",
        "Get bot detection", ["read:attack_protection"];
    patch "/attack-protection/bot-detection" => no::set_bot_detection, 200, "attack-protection",
        "Update bot detection (kept, not enforced)", ["update:attack_protection"];
    get "/attack-protection/captcha" => no::captcha, 200, "attack-protection",
        "Get CAPTCHA settings (not offered: 403)", ["read:attack_protection"];
    get "/branding/phone/providers" => no::phone_providers, 200, "branding",
        "Get phone providers (none)", ["read:phone_providers"];
    get "/branding/phone/templates" => no::phone_templates, 200, "branding",
        "Get phone templates (none)", ["read:phone_templates"];
    get "/branding/themes/default" => no::default_theme, 200, "branding",
        "Get the default theme (none: 404)", ["read:branding"];
    get "/connection-profiles" => no::connection_profiles, 200, "connection-profiles",
        "Get connection profiles (none)", ["read:connection_profiles"];
    get "/connections-directory-provisionings" => no::directory_provisionings, 200, "connections",
        "Get the connections' directory provisioning (none)", ["read:directory_provisionings"];
    get "/custom-domains" => no::none, 200, "custom-domains", "Get custom domains (none)",
        ["read:custom_domains"];
    get "/event-streams" => no::event_streams, 200, "event-streams", "Get event streams (none)",
        ["read:event_streams"];
    get "/flows" => no::flows, 200, "flows", "Get flows (none)", ["read:flows"];
    get "/flows/vault/connections" => no::vault_connections, 200, "flows",
        "Get flows vault connections (none)", ["read:flows_vault_connections"];
    get "/forms" => no::forms, 200, "forms", "Get forms (none)", ["read:forms"];
    get "/guardian/factors" => no::guardian_factors, 200, "guardian", "Get the MFA factors (all off)",
        ["read:guardian_factors"];
    put "/guardian/factors/{name}" => no::set_guardian_factor, 200, "guardian",
        "Turn an MFA factor off (MFA is not offered)", ["update:guardian_factors"], with_body;
    get "/guardian/factors/phone/selected-provider" => no::phone_provider, 200, "guardian",
        "Get the phone factor's provider", ["read:guardian_factors"];
    put "/guardian/factors/phone/selected-provider" => no::set_phone_provider, 200, "guardian",
        "Set the phone factor's provider (kept, not enforced)", ["update:guardian_factors"], with_body;
    get "/guardian/factors/phone/message-types" => no::phone_message_types, 200, "guardian",
        "Get the phone factor's message types", ["read:guardian_factors"];
    put "/guardian/factors/phone/message-types" => no::set_phone_message_types, 200, "guardian",
        "Set the phone factor's message types (kept, not enforced)", ["update:guardian_factors"],
        with_body;
    get "/guardian/factors/sms/templates" => no::sms_templates, 200, "guardian",
        "Get the SMS factor's templates", ["read:guardian_factors"];
    put "/guardian/factors/sms/templates" => no::set_sms_templates, 200, "guardian",
        "Set the SMS factor's templates (kept, not enforced)", ["update:guardian_factors"], with_body;
    get "/guardian/factors/sms/providers/twilio" => no::no_provider, 200, "guardian",
        "Get the SMS factor's Twilio settings (none)", ["read:guardian_factors"];
    get "/guardian/factors/push-notification/providers/sns" => no::no_provider, 200, "guardian",
        "Get the push factor's SNS settings (none)", ["read:guardian_factors"];
    get "/guardian/policies" => no::none, 200, "guardian", "Get the MFA policies (none)",
        ["read:mfa_policies"];
    put "/guardian/policies" => no::set_guardian_policies, 200, "guardian",
        "Set the MFA policies (only none)", ["update:mfa_policies"], with_body;
    get "/hooks" => no::hooks, 200, "hooks", "Get hooks (none)", ["read:hooks"];
    get "/log-streams" => no::none, 200, "log-streams", "Get log streams (none)", ["read:log_streams"];
    get "/network-acls" => no::network_acls, 200, "network-acls", "Get network ACLs (none)",
        ["read:network_acls"];
    get "/organizations" => no::organizations, 200, "organizations", "Get organizations (none)",
        ["read:organizations"];
    get "/prompts/rendering" => no::screen_renderers, 200, "prompts",
        "Get the screens' rendering settings (none)", ["read:prompts"];
    get "/rate-limit-policies" => no::rate_limit_policies, 200, "rate-limit-policies",
        "Get rate limit policies (none)", ["read:rate_limit_policies"];
    get "/risk-assessments/settings" => no::risk_assessment, 200, "risk-assessments",
        "Get risk assessment settings", ["read:attack_protection"];
    patch "/risk-assessments/settings" => no::set_risk_assessment, 200, "risk-assessments",
        "Update risk assessment settings (kept, not enforced)", ["update:attack_protection"];
    get "/risk-assessments/settings/new-device" => no::new_device, 200, "risk-assessments",
        "Get the new-device assessor's settings", ["read:attack_protection"];
    patch "/risk-assessments/settings/new-device" => no::set_new_device, 200, "risk-assessments",
        "Update the new-device assessor's settings (kept, not enforced)", ["update:attack_protection"];
    get "/rules" => no::rules, 200, "rules", "Get rules (none)", ["read:rules"];
    get "/rules-configs" => no::none, 200, "rules-configs", "Get rules configs (none)",
        ["read:rules_configs"];
    get "/self-service-profiles" => no::self_service_profiles, 200, "self-service-profiles",
        "Get self-service profiles (none)", ["read:self_service_profiles"];
    get "/supplemental-signals" => no::supplemental_signals, 200, "supplemental-signals",
        "Get supplemental signals", ["read:attack_protection"];
    patch "/supplemental-signals" => no::set_supplemental_signals, 200, "supplemental-signals",
        "Update supplemental signals (kept, not enforced)", ["update:attack_protection"];
    get "/token-exchange-profiles" => no::token_exchange_profiles, 200, "token-exchange-profiles",
        "Get token exchange profiles (none)", ["read:token_exchange_profiles"];
    get "/user-attribute-profiles" => no::user_attribute_profiles, 200, "user-attribute-profiles",
        "Get user attribute profiles (none)", ["read:user_attribute_profiles"];
}

/// The entry of [`OPERATIONS`] for `method` and `path`, which the table itself names.
fn operation(method: &str, path: &str) -> &'static Operation {
    #[expect(
        clippy::expect_used,
        reason = "the router is built from the same table, so every lookup finds its line"
    )]
    OPERATIONS
        .iter()
        .find(|o| o.method == method && o.path == path)
        .expect("an operation of the table")
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    })
}

/// The OpenAPI 3.1 document for a tenant at `issuer`.
pub fn openapi(issuer: &str) -> Value {
    let mut paths = Map::new();
    let mut registry = schema::Registry::default();
    for op in OPERATIONS {
        let bodies = schema::bodies(&mut registry, op.method, op.path);
        let params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut responses = Map::new();
        let mut success = json!({"description": "Success"});
        if let Some(body) = bodies.response {
            success["content"] = json!({"application/json": {"schema": body}});
        }
        responses.insert(op.success.to_string(), success);
        for (code, what) in [
            ("400", "Invalid request body or query"),
            ("401", "Missing or invalid token"),
            ("403", "Insufficient scope"),
            ("404", "Not found"),
            ("429", "Too many requests"),
        ] {
            responses.insert(code.into(), error_response(what));
        }
        if matches!(op.method, "post" | "patch") {
            responses.insert("409".into(), error_response("Conflict"));
        }
        if op.body {
            responses.insert("413".into(), error_response("Body too large"));
        }
        if (op.method, op.path) == ("get", "/jobs/{id}/errors") {
            responses.insert(
                "204".into(),
                json!({"description": "No user failed (so far, while the job runs)"}),
            );
        }
        let mut operation = json!({
            "operationId": format!("{}_{}", op.method, op.path.trim_start_matches('/').replace(['/', '-'], "_").replace(['{', '}'], "")),
            "summary": op.summary,
            "tags": [op.tag],
            "security": [{"oauth2": op.scopes}],
            "responses": responses,
        });
        if !op.all_of && op.scopes.len() > 1 {
            // OpenAPI ANDs the scopes of one requirement; "any of" is one requirement each.
            operation["security"] = op.scopes.iter().map(|s| json!({"oauth2": [s]})).collect();
        }
        if !params.is_empty() {
            operation["parameters"] = Value::Array(params);
        }
        if op.multipart {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"multipart/form-data": {"schema": {
                    "type": "object",
                    "required": ["users", "connection_id"],
                    "properties": {
                        "users": {"type": "string", "format": "binary"},
                        "connection_id": {"type": "string"},
                        "upsert": {"type": "boolean"},
                        "external_id": {"type": "string"},
                        "send_completion_email": {"type": "boolean"},
                    },
                }}},
            });
        } else if op.body {
            let body = bodies
                .request
                .unwrap_or_else(|| json!({"type": ["object", "array"]}));
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": body}},
            });
        }
        let item = paths
            .entry(op.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        item[op.method] = operation;
    }
    let mut schemas: Map<String, Value> = registry.into_schemas().into_iter().collect();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["statusCode", "error", "message", "errorCode"],
            "properties": {
                "statusCode": {"type": "integer"},
                "error": {"type": "string"},
                "message": {"type": "string"},
                "errorCode": {"type": "string"},
            },
        }),
    );
    let scopes: Map<String, Value> = gatehouse_core::seed::MANAGEMENT_SCOPES
        .iter()
        .map(|s| ((*s).to_owned(), json!(s)))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "gatehouse Management API v2", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": format!("{issuer}api/v2")}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": format!("{issuer}oauth/token"), "scopes": scopes}},
                },
            },
            "schemas": schemas,
        },
    })
}

/// `GET /api/v2/openapi.json` (public: it describes, it does not reveal).
pub async fn document(State(state): State<AppState>) -> Json<Value> {
    Json(openapi(&state.issuer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_unique_and_scoped() {
        let mut seen = std::collections::HashSet::new();
        for op in OPERATIONS {
            assert!(
                seen.insert((op.method, op.path)),
                "{} {}",
                op.method,
                op.path
            );
            assert!(!op.scopes.is_empty());
            for s in op.scopes {
                assert!(gatehouse_core::seed::MANAGEMENT_SCOPES.contains(s), "{s}");
            }
        }
        let find = |m: &str, p: &str| {
            OPERATIONS
                .iter()
                .find(|o| o.method == m && o.path == p)
                .copied()
        };
        let rotate = find("post", "/keys/signing/rotate").expect("rotate");
        assert!(rotate.all_of && !rotate.body, "flags are read");
        assert!(find("delete", "/roles/{id}/permissions").expect("op").body);
        assert!(!find("delete", "/clients/{id}").expect("op").body);
        assert!(find("post", "/clients").expect("op").body);
    }
}
