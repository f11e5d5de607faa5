//! JSON Schemas of the Management API's request and response bodies for the OpenAPI document,
//! derived (utoipa `ToSchema`) from the same typed bodies and views the handlers use, so the
//! document cannot drift from what is parsed and answered.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::ToSchema;

use super::client_grants::{ClientGrantCreate, ClientGrantPatch, ClientGrantView};
use super::clients::{ClientBody, ClientView};
use super::connections::body::{ClientToggle, ConnectionBody};
use super::connections::{ConnectionView, EnabledClient};
use super::email_templates::{EmailTemplateBody, EmailTemplateView};
use super::emails::{EmailProviderBody, EmailProviderView};
use super::exports::UsersExportBody;
use super::grants::GrantView;
use super::identities::LinkBody;
use super::jobs::{JobView, VerificationEmailJob};
use super::keys::{KeyView, RotatedKeyView};
use super::prompts::{PromptsBody, PromptsView};
use super::refresh_tokens::RefreshTokenView;
use super::resource_servers::{ResourceServerBody, ResourceServerView};
use super::roles::permissions::{PermissionView, PermissionsBody};
use super::roles::{RoleBody, RoleUserView, RoleView, RolesBody, UsersBody};
use super::sessions::SessionView;
use super::stats::DailyStatsView;
use super::stored;
use super::tenant::{BrandingPatch, BrandingView, TenantSettingsPatch, TenantSettingsView};
use super::tickets::{EmailVerificationTicket, PasswordChangeTicket, TicketView};
use super::user_blocks::BlocksView;
use super::users::{IdentityView, UserCreate, UserPatch, UserView};

/// The schemas of one operation's bodies (`None`: no body, or not described yet).
#[derive(Debug, Default)]
pub struct Bodies {
    /// The JSON request body.
    pub request: Option<Value>,
    /// The success response body.
    pub response: Option<Value>,
}

/// Named schemas for `components.schemas`, gathered as operations refer to them.
#[derive(Debug, Default)]
pub struct Registry {
    schemas: BTreeMap<String, Value>,
}

impl Registry {
    /// A `$ref` to `T`, registering `T` and every schema it refers to.
    pub fn reference<T: ToSchema>(&mut self) -> Value {
        let mut found = Vec::new();
        T::schemas(&mut found);
        found.push((T::name().into_owned(), T::schema()));
        for (name, schema) in found {
            let schema = serde_json::to_value(schema).unwrap_or_default();
            self.schemas.insert(name, schema);
        }
        json!({"$ref": format!("#/components/schemas/{}", T::name())})
    }

    /// A bare array of `T`.
    pub fn array<T: ToSchema>(&mut self) -> Value {
        json!({"type": "array", "items": self.reference::<T>()})
    }

    /// A list answer (`page.rs`): a bare array of `T`, or with `include_totals` the envelope
    /// holding them under `key`.
    pub fn list<T: ToSchema>(&mut self, key: &str) -> Value {
        let item = self.reference::<T>();
        json!({"oneOf": [
            {"type": "array", "items": item},
            {
                "type": "object",
                "required": ["start", "limit", "length", "total", key],
                "properties": {
                    "start": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "length": {"type": "integer"},
                    "total": {"type": "integer"},
                    key: {"type": "array", "items": item},
                },
            },
        ]})
    }

    /// The gathered schemas, each body and view of a resource with stored properties
    /// listing them (`stored.rs`: the typed structs do not carry them).
    pub fn into_schemas(mut self) -> BTreeMap<String, Value> {
        for (component, table) in STORED_IN {
            if let Some(props) = self
                .schemas
                .get_mut(*component)
                .and_then(|s| s.get_mut("properties"))
                .and_then(Value::as_object_mut)
            {
                props.extend(stored::schema_properties(table));
            }
        }
        self.schemas
    }
}

/// The components that carry each table of stored properties.
const STORED_IN: &[(&str, &stored::Table)] = &[
    ("ClientBody", &stored::CLIENT),
    ("ClientView", &stored::CLIENT),
    ("ResourceServerBody", &stored::RESOURCE_SERVER),
    ("ResourceServerView", &stored::RESOURCE_SERVER),
    ("ClientGrantCreate", &stored::CLIENT_GRANT),
    ("ClientGrantPatch", &stored::CLIENT_GRANT),
    ("ClientGrantView", &stored::CLIENT_GRANT),
    ("ConnectionBody", &stored::CONNECTION),
    ("ConnectionView", &stored::CONNECTION),
    ("TenantSettingsPatch", &stored::TENANT),
    ("TenantSettingsView", &stored::TENANT),
    ("TenantFlags", &stored::TENANT_FLAGS),
    ("TenantFlagsView", &stored::TENANT_FLAGS),
    ("BrandingPatch", &stored::BRANDING),
    ("BrandingView", &stored::BRANDING),
    ("PromptsBody", &stored::PROMPTS),
    ("PromptsView", &stored::PROMPTS),
];

/// `schema` with `required` properties added (a create body that a patch body extends).
fn requiring(schema: Value, required: &[&str]) -> Value {
    json!({"allOf": [schema, {"required": required}]})
}

/// A checkpoint page (`page.rs`): `{<key>: [T], next?}`.
fn checkpoint(item: Value, key: &str) -> Value {
    json!({
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "array", "items": item}, "next": {"type": "string"}},
    })
}

/// The bodies of the operation `method path`, as listed in `spec::OPERATIONS`.
pub fn bodies(reg: &mut Registry, method: &str, path: &str) -> Bodies {
    let (request, response) = match (method, path) {
        ("get", "/clients") => (None, Some(reg.list::<ClientView>("clients"))),
        ("post", "/clients") => (
            Some(requiring(reg.reference::<ClientBody>(), &["name"])),
            Some(reg.reference::<ClientView>()),
        ),
        ("patch", "/clients/{id}") => (
            Some(reg.reference::<ClientBody>()),
            Some(reg.reference::<ClientView>()),
        ),
        ("get", "/clients/{id}") | ("post", "/clients/{id}/rotate-secret") => {
            (None, Some(reg.reference::<ClientView>()))
        }
        ("get", "/resource-servers") => (
            None,
            Some(reg.list::<ResourceServerView>("resource_servers")),
        ),
        ("post", "/resource-servers") => (
            Some(requiring(
                reg.reference::<ResourceServerBody>(),
                &["identifier"],
            )),
            Some(reg.reference::<ResourceServerView>()),
        ),
        ("patch", "/resource-servers/{id}") => (
            Some(reg.reference::<ResourceServerBody>()),
            Some(reg.reference::<ResourceServerView>()),
        ),
        ("get", "/resource-servers/{id}") => (None, Some(reg.reference::<ResourceServerView>())),
        ("get", "/client-grants") => (None, Some(grant_pages(reg))),
        ("post", "/client-grants") => (
            Some(reg.reference::<ClientGrantCreate>()),
            Some(reg.reference::<ClientGrantView>()),
        ),
        ("patch", "/client-grants/{id}") => (
            Some(reg.reference::<ClientGrantPatch>()),
            Some(reg.reference::<ClientGrantView>()),
        ),
        ("get", "/client-grants/{id}") => (None, Some(reg.reference::<ClientGrantView>())),
        ("get", "/user-blocks/{id}") | ("get", "/user-blocks") => {
            (None, Some(reg.reference::<BlocksView>()))
        }
        ("put", "/keys/signing/{kid}/revoke") => (None, Some(reg.reference::<RotatedKeyView>())),
        ("get", "/stats/daily") => (
            None,
            Some(json!({"type": "array", "items": reg.reference::<DailyStatsView>()})),
        ),
        ("get", "/stats/active-users") => (None, Some(json!({"type": "integer"}))),
        ("get", "/users/{id}/refresh-tokens") => {
            (None, Some(reg.list::<RefreshTokenView>("tokens")))
        }
        ("get", "/refresh-tokens/{id}") => (None, Some(reg.reference::<RefreshTokenView>())),
        ("get", "/grants") => (None, Some(reg.list::<GrantView>("grants"))),
        ("post", "/jobs/verification-email") => (
            Some(requiring(
                reg.reference::<VerificationEmailJob>(),
                &["user_id"],
            )),
            Some(reg.reference::<JobView>()),
        ),
        ("post", "/tickets/password-change") => (
            Some(reg.reference::<PasswordChangeTicket>()),
            Some(reg.reference::<TicketView>()),
        ),
        ("post", "/tickets/email-verification") => (
            Some(requiring(
                reg.reference::<EmailVerificationTicket>(),
                &["user_id"],
            )),
            Some(reg.reference::<TicketView>()),
        ),
        ("get", "/connections") => (None, Some(connection_pages(reg))),
        ("post", "/connections") => (
            Some(requiring(
                reg.reference::<ConnectionBody>(),
                &["name", "strategy"],
            )),
            Some(reg.reference::<ConnectionView>()),
        ),
        ("patch", "/connections/{id}") => (
            Some(reg.reference::<ConnectionBody>()),
            Some(reg.reference::<ConnectionView>()),
        ),
        ("get", "/connections/{id}") => (None, Some(reg.reference::<ConnectionView>())),
        ("get", "/connections/{id}/clients") => (
            None,
            Some(checkpoint(reg.reference::<EnabledClient>(), "clients")),
        ),
        ("patch", "/connections/{id}/clients") => {
            let mut list = reg.array::<ClientToggle>();
            list["maxItems"] = json!(50);
            (Some(list), None)
        }
        _ => user_bodies(reg, method, path),
    };
    Bodies { request, response }
}

fn grant_pages(reg: &mut Registry) -> Value {
    let offset = reg.list::<ClientGrantView>("client_grants");
    let item = reg.reference::<ClientGrantView>();
    json!({"oneOf": [offset["oneOf"][0], offset["oneOf"][1], checkpoint(item, "client_grants")]})
}

fn connection_pages(reg: &mut Registry) -> Value {
    let offset = reg.list::<ConnectionView>("connections");
    let item = reg.reference::<ConnectionView>();
    json!({"oneOf": [offset["oneOf"][0], offset["oneOf"][1], checkpoint(item, "connections")]})
}

fn user_bodies(reg: &mut Registry, method: &str, path: &str) -> (Option<Value>, Option<Value>) {
    match (method, path) {
        ("get", "/users") => (None, Some(reg.list::<UserView>("users"))),
        ("post", "/users") => (
            Some(reg.reference::<UserCreate>()),
            Some(reg.reference::<UserView>()),
        ),
        ("get", "/users/{id}") => (None, Some(reg.reference::<UserView>())),
        ("patch", "/users/{id}") => (
            Some(reg.reference::<UserPatch>()),
            Some(reg.reference::<UserView>()),
        ),
        ("get", "/users-by-email") => (None, Some(reg.array::<UserView>())),
        ("post", "/users/{id}/identities") => (
            Some(reg.reference::<LinkBody>()),
            Some(reg.array::<IdentityView>()),
        ),
        ("delete", "/users/{id}/identities/{provider}/{user_id}") => {
            (None, Some(reg.array::<IdentityView>()))
        }
        ("get", "/users/{id}/roles") => (None, Some(reg.list::<RoleView>("roles"))),
        ("post" | "delete", "/users/{id}/roles") => (Some(reg.reference::<RolesBody>()), None),
        ("get", "/users/{id}/permissions") | ("get", "/roles/{id}/permissions") => {
            (None, Some(reg.list::<PermissionView>("permissions")))
        }
        ("post" | "delete", "/users/{id}/permissions")
        | ("post" | "delete", "/roles/{id}/permissions") => {
            (Some(reg.reference::<PermissionsBody>()), None)
        }
        _ => other_bodies(reg, method, path),
    }
}

fn other_bodies(reg: &mut Registry, method: &str, path: &str) -> (Option<Value>, Option<Value>) {
    match (method, path) {
        ("get", "/roles") => (None, Some(reg.list::<RoleView>("roles"))),
        ("post", "/roles") => (
            Some(requiring(reg.reference::<RoleBody>(), &["name"])),
            Some(reg.reference::<RoleView>()),
        ),
        ("get", "/roles/{id}") => (None, Some(reg.reference::<RoleView>())),
        ("patch", "/roles/{id}") => (
            Some(reg.reference::<RoleBody>()),
            Some(reg.reference::<RoleView>()),
        ),
        ("get", "/roles/{id}/users") => {
            let item = reg.reference::<RoleUserView>();
            let offset = reg.list::<RoleUserView>("users");
            (
                None,
                Some(
                    json!({"oneOf": [offset["oneOf"][0], offset["oneOf"][1], checkpoint(item, "users")]}),
                ),
            )
        }
        ("post", "/roles/{id}/users") => (Some(reg.reference::<UsersBody>()), None),
        ("get", "/keys/signing") => (None, Some(reg.array::<KeyView>())),
        ("get", "/keys/signing/{kid}") => (None, Some(reg.reference::<KeyView>())),
        ("post", "/keys/signing/rotate") => (None, Some(reg.reference::<RotatedKeyView>())),
        ("get", "/emails/provider") => (None, Some(reg.reference::<EmailProviderView>())),
        ("post", "/emails/provider") => (
            Some(requiring(
                reg.reference::<EmailProviderBody>(),
                &["name", "credentials"],
            )),
            Some(reg.reference::<EmailProviderView>()),
        ),
        ("patch", "/emails/provider") => (
            Some(reg.reference::<EmailProviderBody>()),
            Some(reg.reference::<EmailProviderView>()),
        ),
        ("get" | "patch", "/tenants/settings") => (
            (method == "patch").then(|| reg.reference::<TenantSettingsPatch>()),
            Some(reg.reference::<TenantSettingsView>()),
        ),
        ("get" | "patch", "/branding") => (
            (method == "patch").then(|| reg.reference::<BrandingPatch>()),
            Some(reg.reference::<BrandingView>()),
        ),
        ("post", "/jobs/users-imports") | ("get", "/jobs/{id}") => {
            (None, Some(reg.reference::<JobView>()))
        }
        ("get", "/jobs/{id}/errors") => (
            None,
            Some(json!({"type": "array", "items": {"type": "object"}})),
        ),
        // Log events keep Auth0's open shape (`logs.rs`).
        ("get", "/logs") | ("get", "/users/{id}/logs") => (
            None,
            Some(json!({"oneOf": [
                {"type": "array", "items": {"type": "object"}},
                {"type": "object"},
            ]})),
        ),
        ("get", "/logs/{id}") => (None, Some(json!({"type": "object"}))),
        _ => template_session_action_bodies(reg, method, path),
    }
}

/// The bodies of email templates, sessions and actions.
/// A prompt's custom texts or partials: screen to key to text.
fn screens_of_texts() -> Value {
    json!({
        "type": "object",
        "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
    })
}

fn template_session_action_bodies(
    reg: &mut Registry,
    method: &str,
    path: &str,
) -> (Option<Value>, Option<Value>) {
    match (method, path) {
        ("post", "/email-templates") => (
            Some(requiring(
                reg.reference::<EmailTemplateBody>(),
                &["template", "body", "from", "subject", "syntax", "enabled"],
            )),
            Some(reg.reference::<EmailTemplateView>()),
        ),
        ("put", "/email-templates/{templateName}") => (
            Some(requiring(
                reg.reference::<EmailTemplateBody>(),
                &["body", "from", "subject", "syntax", "enabled"],
            )),
            Some(reg.reference::<EmailTemplateView>()),
        ),
        ("patch", "/email-templates/{templateName}") => (
            Some(reg.reference::<EmailTemplateBody>()),
            Some(reg.reference::<EmailTemplateView>()),
        ),
        ("get", "/email-templates/{templateName}") => {
            (None, Some(reg.reference::<EmailTemplateView>()))
        }
        ("get", "/users/{id}/sessions") => (
            None,
            Some(json!({
                "type": "object",
                "required": ["sessions"],
                "properties": {"sessions": reg.array::<SessionView>()},
            })),
        ),
        ("get", "/sessions/{id}") => (None, Some(reg.reference::<SessionView>())),
        ("get", "/prompts") => (None, Some(reg.reference::<PromptsView>())),
        ("patch", "/prompts") => (
            Some(reg.reference::<PromptsBody>()),
            Some(reg.reference::<PromptsView>()),
        ),
        ("get", "/prompts/{prompt}/custom-text/{language}")
        | ("get", "/prompts/{prompt}/partials") => (None, Some(screens_of_texts())),
        ("put", "/prompts/{prompt}/custom-text/{language}")
        | ("put", "/prompts/{prompt}/partials") => {
            (Some(screens_of_texts()), Some(screens_of_texts()))
        }
        ("post", "/jobs/users-exports") => (
            Some(reg.reference::<UsersExportBody>()),
            Some(reg.reference::<JobView>()),
        ),
        _ => match super::actions::schemas(method, path) {
            (None, None) => super::not_offered::schemas(method, path),
            found => found,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    /// Operations whose success answers no body.
    const NO_BODY: &[(&str, &str)] = &[
        ("delete", "/connections/{id}"),
        ("delete", "/roles/{id}"),
        ("delete", "/roles/{id}/permissions"),
        ("post", "/roles/{id}/users"),
        ("post", "/roles/{id}/permissions"),
        ("post", "/users/{id}/permissions"),
        ("delete", "/users/{id}/refresh-tokens"),
        ("delete", "/refresh-tokens/{id}"),
        ("delete", "/users/{id}/sessions"),
        ("delete", "/sessions/{id}"),
        ("post", "/sessions/{id}/revoke"),
    ];

    #[test]
    fn every_operation_has_its_schemas_and_every_reference_resolves() {
        let mut reg = Registry::default();
        let mut used = Vec::new();
        for op in super::super::spec::OPERATIONS {
            let b = bodies(&mut reg, op.method, op.path);
            if op.body && !op.multipart {
                assert!(b.request.is_some(), "request {} {}", op.method, op.path);
            }
            let answers = op.success != 204 && !NO_BODY.contains(&(op.method, op.path));
            assert_eq!(
                b.response.is_some(),
                answers,
                "response {} {}",
                op.method,
                op.path
            );
            refs(&json!([b.request, b.response]), &mut used);
        }
        let schemas = reg.into_schemas();
        refs(&json!(schemas), &mut used);
        assert!(!used.is_empty());
        for r in used {
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(schemas.contains_key(name), "{r}");
        }
    }

    #[test]
    fn bodies_say_what_is_nullable_and_closed() {
        let mut reg = Registry::default();
        reg.reference::<ClientBody>();
        reg.reference::<ClientView>();
        let schemas = reg.into_schemas();
        let body = &schemas["ClientBody"];
        assert_eq!(body["additionalProperties"], json!(false), "{body}");
        let description = &body["properties"]["description"]["type"];
        assert_eq!(description, &json!(["string", "null"]), "{body}");
        assert_eq!(body["properties"]["name"]["type"], json!("string"));
        assert_eq!(
            schemas["AppTypeName"]["enum"],
            json!(["native", "spa", "regular_web", "non_interactive"])
        );
        assert!(schemas.contains_key("GrantType"));
        let view = &schemas["ClientView"];
        assert!(
            view["required"]
                .as_array()
                .expect("required")
                .contains(&json!("client_id"))
        );
    }
}
