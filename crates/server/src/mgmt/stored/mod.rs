//! Auth0 properties gatehouse accepts, keeps and returns but does not act on ("stored, not
//! enforced"), one table per resource. A tenant moved from Auth0 loses none of its settings,
//! and the table says plainly which of them do nothing here: docs/stored-not-enforced.md is
//! rendered from these tables (a test keeps it in step).
//!
//! Each property is checked by its JSON type (and enum values) on the way in; nested objects
//! are kept as given. Names not in a table and not typed by the resource's body are still
//! Auth0's 400.

use serde_json::{Map, Value, json};

pub mod objects;
mod tables;

pub use tables::{
    BRANDING, CLIENT, CLIENT_GRANT, CONNECTION, PROMPTS, RESOURCE_SERVER, TABLES, TENANT,
    TENANT_FLAGS,
};

use crate::mgmt::error::MgmtError;
use crate::mgmt::validate::{self as v, bad};

/// The JSON type of a stored property.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// Any string.
    String,
    /// A whole number.
    Integer,
    /// Any JSON object, kept as given.
    Object,
    /// An array of strings.
    Strings,
    /// An array of any values.
    Array,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// An array of these strings.
    SomeOf(&'static [&'static str]),
}

/// One property of a table.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    /// Auth0's name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether `null` is accepted (it removes the stored value).
    pub nullable: bool,
    /// What Auth0 does with it, and what gatehouse does instead.
    pub note: &'static str,
}

/// The stored properties of one resource.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// The resource, as the docs name it.
    pub resource: &'static str,
    /// Where the properties sit in the body (`flags.`), for error messages.
    pub path: &'static str,
    /// Its properties.
    pub properties: &'static [Property],
}

pub(crate) const fn p(
    name: &'static str,
    kind: Kind,
    nullable: bool,
    note: &'static str,
) -> Property {
    Property {
        name,
        kind,
        nullable,
        note,
    }
}

/// Stored properties taken out of a body: a value to keep, or `None` to forget it.
#[derive(Debug, Default)]
pub struct Taken(Vec<(&'static str, Option<Value>)>);

/// Takes `table`'s properties out of the object `body` (so that the typed body, closed to
/// unknown names, reads the rest), each checked by type.
pub fn take(body: &mut Value, table: &Table) -> Result<Taken, MgmtError> {
    let Some(object) = body.as_object_mut() else {
        return Ok(Taken::default());
    };
    let mut taken = Vec::new();
    for property in table.properties {
        if let Some(value) = object.remove(property.name) {
            let path = format!("{}{}", table.path, property.name);
            taken.push((property.name, check(property, &path, value)?));
        }
    }
    Ok(Taken(taken))
}

/// `body` read as the operation's typed body `T`, with `table`'s properties taken out first.
pub fn typed<T: serde::de::DeserializeOwned>(
    mut body: Value,
    table: &Table,
) -> Result<(T, Taken), MgmtError> {
    let taken = take(&mut body, table)?;
    Ok((crate::mgmt::body::typed(body)?, taken))
}

fn check(property: &Property, name: &str, value: Value) -> Result<Option<Value>, MgmtError> {
    if value.is_null() {
        return match property.nullable {
            true => Ok(None),
            false => Err(v::wrong_type(name, expected(property.kind), &value)),
        };
    }
    let ok = match property.kind {
        Kind::Bool => value.is_boolean(),
        Kind::String => value.is_string(),
        Kind::Integer => value.is_i64() || value.is_u64(),
        Kind::Object => value.is_object(),
        Kind::Array => value.is_array(),
        Kind::Strings | Kind::SomeOf(_) => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        Kind::OneOf(_) => value.is_string(),
    };
    if !ok {
        return Err(v::wrong_type(name, expected(property.kind), &value));
    }
    match property.kind {
        Kind::OneOf(allowed) => {
            v::one_of(name, &value, allowed)?;
        }
        Kind::SomeOf(allowed) => {
            for item in value.as_array().into_iter().flatten() {
                if !item.as_str().is_some_and(|s| allowed.contains(&s)) {
                    return Err(bad(
                        name,
                        format!("items must be one of {}", allowed.join(", ")),
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(Some(value))
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "boolean",
        Kind::String | Kind::OneOf(_) => "string",
        Kind::Integer => "integer",
        Kind::Object => "object",
        Kind::Strings | Kind::Array | Kind::SomeOf(_) => "array",
    }
}

impl Taken {
    /// Keeps the taken values in `extra` (a `null` removes one).
    pub fn apply(self, extra: &mut Map<String, Value>) {
        for (name, value) in self.0 {
            match value {
                Some(v) => extra.insert(name.to_owned(), v),
                None => extra.remove(name),
            };
        }
    }
}

/// The stored properties of `table` found in `extra`, to show beside the typed ones.
pub fn shown(extra: &Map<String, Value>, table: &Table) -> Map<String, Value> {
    table
        .properties
        .iter()
        .filter_map(|p| Some((p.name.to_owned(), extra.get(p.name)?.clone())))
        .collect()
}

/// The OpenAPI schema of each property of `table`.
pub fn schema_properties(table: &Table) -> Map<String, Value> {
    table
        .properties
        .iter()
        .map(|p| {
            let mut s = match p.kind {
                Kind::Bool => json!({"type": "boolean"}),
                Kind::String => json!({"type": "string"}),
                Kind::Integer => json!({"type": "integer"}),
                Kind::Object => json!({"type": "object"}),
                Kind::Array => json!({"type": "array"}),
                Kind::Strings => json!({"type": "array", "items": {"type": "string"}}),
                Kind::OneOf(e) => json!({"type": "string", "enum": e}),
                Kind::SomeOf(e) => json!({"type": "array", "items": {"type": "string", "enum": e}}),
            };
            if p.nullable {
                let t = s["type"].clone();
                s["type"] = json!([t, "null"]);
                if let Some(e) = s.get_mut("enum").and_then(Value::as_array_mut) {
                    e.push(Value::Null);
                }
            }
            s["description"] = json!(format!("Stored, not enforced: {}.", p.note));
            (p.name.to_owned(), s)
        })
        .collect()
}

/// The Markdown of docs/stored-not-enforced.md.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Stored, not enforced\n\n\
         Auth0 Management API properties that gatehouse accepts (checked by type), keeps and \
         returns, but does not act on. A tenant moved from Auth0 keeps them; they change \
         nothing here. Generated from `crates/server/src/mgmt/stored/tables.rs` and \
         `objects.rs` \
         (`UPDATE_DOCS=1 cargo test -p gatehouse-server --lib stored` rewrites it).\n",
    );
    for table in TABLES.iter().filter(|t| !t.properties.is_empty()) {
        out.push_str(&format!(
            "\n## {}\n\n| property | type | what gatehouse does |\n|---|---|---|\n",
            table.resource
        ));
        for p in table.properties {
            let mut kind = match p.kind {
                Kind::OneOf(e) => format!("one of {}", e.join(", ")),
                Kind::SomeOf(e) => format!("array of {}", e.join(", ")),
                Kind::Strings => "array of strings".to_owned(),
                k => expected(k).to_owned(),
            };
            if p.nullable {
                kind.push_str(", or null");
            }
            out.push_str(&format!("| `{}` | {kind} | {} |\n", p.name, p.note));
        }
    }
    out.push_str(&objects::docs());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_table_is_rendered_from_the_tables() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/stored-not-enforced.md"
        );
        let rendered = markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &rendered).expect("write docs");
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == rendered,
            "docs/stored-not-enforced.md is stale: run UPDATE_DOCS=1 cargo test -p gatehouse-server --lib stored"
        );
    }

    #[test]
    fn names_are_unique_per_table() {
        for t in TABLES {
            for (i, p) in t.properties.iter().enumerate() {
                assert!(
                    !t.properties[..i].iter().any(|q| q.name == p.name),
                    "{} twice in {}",
                    p.name,
                    t.resource
                );
            }
        }
    }

    #[test]
    fn values_are_checked_by_type_and_null_unsets_only_nullable_ones() {
        let mut body = json!({
            "compliance_level": null,
            "require_proof_of_possession": true,
            "async_approval_notification_channels": ["email"],
            "name": "kept for the typed body",
        });
        let taken = take(&mut body, &CLIENT).expect("valid");
        assert_eq!(body, json!({"name": "kept for the typed body"}));
        let mut extra = Map::new();
        extra.insert("compliance_level".into(), json!("none"));
        taken.apply(&mut extra);
        assert_eq!(
            Value::Object(extra),
            json!({"require_proof_of_possession": true,
                   "async_approval_notification_channels": ["email"]})
        );
        for bad_body in [
            json!({"require_proof_of_possession": "yes"}),
            json!({"require_proof_of_possession": null}),
            json!({"compliance_level": "fapi9"}),
            json!({"async_approval_notification_channels": ["fax"]}),
            json!({"par_request_expiry": 1.5}),
            json!({"session_transfer": []}),
        ] {
            let mut b = bad_body.clone();
            assert!(take(&mut b, &CLIENT).is_err(), "{bad_body}");
        }
    }
}
