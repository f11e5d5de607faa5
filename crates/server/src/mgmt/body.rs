//! JSON bodies and query strings of the Management API, with Auth0's 400 errors instead of
//! axum's plain-text rejections.
//!
//! Typed bodies are read in two steps: [`MgmtJson`] takes any JSON value, and [`typed`] turns it
//! into the operation's `Deserialize` struct once the caller is known to be allowed, so a caller
//! without the scope learns nothing about the body's shape. Serde's messages are rewritten into
//! Auth0's (`Payload validation error: '<what>' on property <name>.`) by [`auth0_message`].

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::MgmtError;

/// A JSON body; malformed JSON, wrong types and unknown fields are `invalid_body`.
pub struct MgmtJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for MgmtJson<T> {
    type Rejection = MgmtError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                axum::http::StatusCode::PAYLOAD_TOO_LARGE => MgmtError::TooLarge(format!(
                    "The body must be at most {} KB",
                    crate::http::BODY_LIMIT / 1024
                )),
                _ => MgmtError::invalid_body("the body could not be read"),
            })?;
        parse_json(&bytes).map(MgmtJson)
    }
}

/// Reads a JSON body into `T`, with Auth0's `invalid_body` naming the property at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MgmtError> {
    if bytes.is_empty() {
        return Err(MgmtError::invalid_body("a JSON body is required"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            MgmtError::invalid_body(format!("'{inner}'"))
        } else {
            MgmtError::invalid_body(format!("'{inner}' on property {path}"))
        }
    })
}

/// Reads an already parsed body into the operation's type `T`, in Auth0's words.
pub fn typed<T: DeserializeOwned>(body: Value) -> Result<T, MgmtError> {
    // Serde would read a struct from an array too (field by position): bodies are objects.
    if !body.is_object() {
        return Err(MgmtError::invalid_body(format!(
            "'Expected type object but found type {}'.",
            super::validate::type_name(&body)
        )));
    }
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = property_path(&e.path().to_string());
        let message = auth0_message(&e.into_inner().to_string());
        // Auth0 names no property for an absent or unexpected one: the message does.
        if path.is_empty()
            || message.starts_with("Missing required property")
            || message.starts_with("Additional properties")
        {
            MgmtError::invalid_body(format!("'{message}'."))
        } else {
            MgmtError::invalid_body(format!("'{message}' on property {path}."))
        }
    })
}

/// Reads a body that must be an array of objects into a list of `T`, in Auth0's words.
pub fn typed_list<T: DeserializeOwned>(body: Value) -> Result<Vec<T>, MgmtError> {
    let Value::Array(items) = body else {
        return Err(super::validate::wrong_type("body", "array", &body));
    };
    items.into_iter().map(typed).collect()
}

/// Serde's path less array indices (`grant_types[2]` is property `grant_types` to Auth0).
fn property_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    if out == "." { String::new() } else { out }
}

/// The JSON type serde describes as `what` (either side of "invalid type: X, expected Y").
fn json_type(what: &str) -> &str {
    let what = what.trim_start_matches("a ").trim_start_matches("an ");
    let first = what.split([' ', '`']).next().unwrap_or(what);
    match first {
        "integer" | "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" => {
            "integer"
        }
        "floating" | "f32" | "f64" => "number",
        "string" | "char" => "string",
        "boolean" | "bool" => "boolean",
        "null" | "unit" => "null",
        // Our enums are Auth0's string sets.
        "enum" | "variant" => "string",
        "sequence" => "array",
        "map" | "struct" => "object",
        _ => first,
    }
}

/// Serde's error text as Auth0 words it; other messages (our own checks) pass unchanged.
pub fn auth0_message(serde: &str) -> String {
    let quoted = |s: &str| s.split('`').nth(1).unwrap_or_default().to_owned();
    if let Some(rest) = serde.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "Expected type {} but found type {}",
            json_type(expected),
            json_type(found)
        );
    }
    if serde.starts_with("missing field ") {
        return format!("Missing required property: {}", quoted(serde));
    }
    if serde.starts_with("unknown field ") {
        return format!("Additional properties not allowed: {}", quoted(serde));
    }
    if let Some(rest) = serde.strip_prefix("unknown variant ") {
        let allowed: Vec<&str> = rest
            .split_once("expected ")
            .map(|(_, list)| list.trim_start_matches("one of "))
            .unwrap_or_default()
            .split(", ")
            .map(|s| s.trim_matches('`'))
            .collect();
        return format!(
            "No enum match for: \"{}\" (expected one of {})",
            quoted(rest),
            allowed.join(", ")
        );
    }
    serde.to_owned()
}

/// For a patch field that may be `null`: absent is `None`, `null` is `Some(None)`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// For an optional field that may not be `null` (Auth0 rejects it with a type error).
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A closed set of Auth0 names: a `Deserialize`/`Serialize`/`ToSchema` enum whose variants
/// travel as the given strings, with `as_str` for storage.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Auth0's name for it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),+
                }
            }
        }

        // By hand: utoipa's derive does not see a `serde(rename)` made by a macro.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($wire),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use wire_enum;

/// A query string; bad values are `invalid_query_string`.
pub struct MgmtQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for MgmtQuery<T> {
    type Rejection = MgmtError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(MgmtQuery)
            .map_err(MgmtError::invalid_query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serde_messages_become_auth0_messages() {
        for (serde, auth0) in [
            (
                "invalid type: integer `5`, expected a string",
                "Expected type string but found type integer",
            ),
            (
                "invalid type: null, expected a boolean",
                "Expected type boolean but found type null",
            ),
            (
                "invalid type: string \"x\", expected i64",
                "Expected type integer but found type string",
            ),
            (
                "invalid type: floating point `1.5`, expected u32",
                "Expected type integer but found type number",
            ),
            (
                "invalid type: sequence, expected struct ClientBody",
                "Expected type object but found type array",
            ),
            (
                "invalid type: map, expected a sequence",
                "Expected type array but found type object",
            ),
            ("missing field `name`", "Missing required property: name"),
            (
                "unknown field `color`, expected one of `name`, `app_type`",
                "Additional properties not allowed: color",
            ),
            (
                "unknown variant `tv`, expected one of `spa`, `native`",
                "No enum match for: \"tv\" (expected one of spa, native)",
            ),
            (
                "unknown variant `x`, expected `only`",
                "No enum match for: \"x\" (expected one of only)",
            ),
            ("String is too long", "String is too long"),
        ] {
            assert_eq!(auth0_message(serde), auth0, "{serde}");
        }
    }

    #[test]
    fn paths_drop_indices() {
        for (serde, auth0) in [
            ("grant_types[2]", "grant_types"),
            ("mobile.ios.team_id", "mobile.ios.team_id"),
            ("a[0].b", "a.b"),
            (".", ""),
            ("", ""),
        ] {
            assert_eq!(property_path(serde), auth0);
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[serde(default, deserialize_with = "present")]
        name: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        note: Option<Option<String>>,
        #[serde(default)]
        tags: Vec<bool>,
    }

    fn message(body: Value) -> String {
        typed::<Sample>(body).expect_err("invalid").to_string()
    }

    #[test]
    fn typed_bodies_answer_in_auth0_words() {
        let ok: Sample = typed(json!({"note": null})).expect("valid");
        assert_eq!((ok.name, ok.note), (None, Some(None)));
        let ok: Sample = typed(json!({"name": "n", "tags": [true]})).expect("valid");
        assert_eq!(
            (ok.name.as_deref(), ok.note, ok.tags),
            (Some("n"), None, vec![true])
        );
        assert_eq!(
            message(json!({"name": null})),
            "Payload validation error: 'Expected type string but found type null' on property name."
        );
        assert_eq!(
            message(json!({"tags": [true, 1]})),
            "Payload validation error: 'Expected type boolean but found type integer' on property tags."
        );
        assert_eq!(
            message(json!({"color": "red"})),
            "Payload validation error: 'Additional properties not allowed: color'."
        );
        assert_eq!(
            message(json!([])),
            "Payload validation error: 'Expected type object but found type array'."
        );
    }
}
