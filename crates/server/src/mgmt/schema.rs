//! JSON Schemas of the Management API's request and response bodies for the OpenAPI document,
//! derived (utoipa `ToSchema`) from the same typed bodies and views the handlers use, so the
//! document cannot drift from what is parsed and answered.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::ToSchema;

use super::clients::{ClientBody, ClientView};
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

    /// The gathered schemas.
    pub fn into_schemas(self) -> BTreeMap<String, Value> {
        self.schemas
    }
}

/// `schema` with `required` properties added (a create body that a patch body extends).
fn requiring(schema: Value, required: &[&str]) -> Value {
    json!({"allOf": [schema, {"required": required}]})
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
        ("delete", "/users/{id}/identities/{provider}/{user_id}") => {
            (None, Some(reg.array::<IdentityView>()))
        }
        _ => (None, None),
    };
    Bodies { request, response }
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

    #[test]
    fn every_reference_resolves() {
        let mut reg = Registry::default();
        let mut used = Vec::new();
        for (m, p) in [
            ("get", "/clients"),
            ("post", "/clients"),
            ("patch", "/clients/{id}"),
            ("get", "/users"),
            ("post", "/users"),
            ("patch", "/users/{id}"),
        ] {
            let b = bodies(&mut reg, m, p);
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
