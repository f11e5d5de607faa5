//! Payload validation for Management API bodies, with Auth0's messages
//! (`Payload validation error: '<what>' on property <name>.`).

use serde_json::{Map, Value};

use super::error::MgmtError;

/// `Missing required property: <name>`, Auth0's message for an absent property.
pub fn missing(name: &str) -> MgmtError {
    MgmtError::invalid_body(format!("'Missing required property: {name}'."))
}

/// The value of a property that must be present.
pub fn required<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a Value, MgmtError> {
    body.get(name).ok_or_else(|| missing(name))
}

/// A field's value did not pass.
pub fn bad(property: &str, what: impl std::fmt::Display) -> MgmtError {
    MgmtError::invalid_body(format!("'{what}' on property {property}."))
}

/// The JSON Schema type name of `v`.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `Expected type X but found type Y`.
pub fn wrong_type(property: &str, expected: &str, v: &Value) -> MgmtError {
    bad(
        property,
        format!("Expected type {expected} but found type {}", type_name(v)),
    )
}

/// A string of at most `max` characters.
pub fn string(property: &str, v: &Value, max: usize) -> Result<String, MgmtError> {
    let s = v
        .as_str()
        .ok_or_else(|| wrong_type(property, "string", v))?;
    max_chars(property, s, max)?;
    Ok(s.to_owned())
}

/// Passes if `s` has at most `max` characters.
pub fn max_chars(property: &str, s: &str, max: usize) -> Result<(), MgmtError> {
    let n = s.chars().count();
    if n > max {
        return Err(bad(
            property,
            format!("String is too long ({n} chars), maximum {max}"),
        ));
    }
    Ok(())
}

/// Passes if `s` is not blank.
pub fn not_blank(property: &str, s: &str) -> Result<(), MgmtError> {
    if s.trim().is_empty() {
        return Err(bad(property, "String is too short (0 chars), minimum 1"));
    }
    Ok(())
}

/// Passes if `n` is in `min..=max`.
pub fn in_range(property: &str, n: i64, min: i64, max: i64) -> Result<(), MgmtError> {
    if n < min || n > max {
        return Err(bad(property, format!("Value {n} is outside {min}..={max}")));
    }
    Ok(())
}

/// A non-empty string of at most `max` characters.
pub fn non_empty(property: &str, v: &Value, max: usize) -> Result<String, MgmtError> {
    let s = string(property, v, max)?;
    not_blank(property, &s)?;
    Ok(s)
}

/// A boolean.
pub fn boolean(property: &str, v: &Value) -> Result<bool, MgmtError> {
    v.as_bool()
        .ok_or_else(|| wrong_type(property, "boolean", v))
}

/// An integer in `min..=max`.
pub fn integer(property: &str, v: &Value, min: i64, max: i64) -> Result<i64, MgmtError> {
    let n = v
        .as_i64()
        .ok_or_else(|| wrong_type(property, "integer", v))?;
    in_range(property, n, min, max)?;
    Ok(n)
}

/// An array of strings, each at most `max` characters.
pub fn strings(property: &str, v: &Value, max: usize) -> Result<Vec<String>, MgmtError> {
    let items = v
        .as_array()
        .ok_or_else(|| wrong_type(property, "array", v))?;
    items.iter().map(|i| string(property, i, max)).collect()
}

/// One of `allowed`.
pub fn one_of(property: &str, v: &Value, allowed: &[&str]) -> Result<String, MgmtError> {
    let s = string(property, v, 200)?;
    if allowed.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(bad(
            property,
            format!(
                "No enum match for: \"{s}\" (expected one of {})",
                allowed.join(", ")
            ),
        ))
    }
}

/// An absolute URL; `https_only` for fields Auth0 restricts to https.
pub fn url(property: &str, v: &Value, https_only: bool) -> Result<String, MgmtError> {
    let s = string(property, v, 2000)?;
    check_url(property, &s, https_only)?;
    Ok(s)
}

/// Passes if `s` is an absolute URL of at most 2000 characters; `https_only` for fields Auth0
/// restricts to https.
pub fn check_url(property: &str, s: &str, https_only: bool) -> Result<(), MgmtError> {
    max_chars(property, s, 2000)?;
    let parsed = url::Url::parse(s).map_err(|_| {
        bad(
            property,
            "Object didn't pass validation for format absolute-uri",
        )
    })?;
    let ok = if https_only {
        parsed.scheme() == "https"
    } else {
        matches!(parsed.scheme(), "http" | "https")
    };
    if !ok {
        return Err(bad(
            property,
            format!(
                "{s} must use {}",
                if https_only { "https" } else { "http or https" }
            ),
        ));
    }
    Ok(())
}

/// An object.
pub fn object<'a>(property: &str, v: &'a Value) -> Result<&'a Map<String, Value>, MgmtError> {
    v.as_object()
        .ok_or_else(|| wrong_type(property, "object", v))
}

/// Rejects properties outside `allowed`, as Auth0's schemas do.
pub fn only_known(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), MgmtError> {
    let extra: Vec<&str> = body
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(String::as_str)
        .collect();
    if extra.is_empty() {
        Ok(())
    } else {
        Err(MgmtError::invalid_body(format!(
            "'Additional properties not allowed: {}'.",
            extra.join(",")
        )))
    }
}

/// Keeps only the requested fields of each object (`fields`, `include_fields`).
pub fn select_fields(items: &mut [Value], fields: Option<&str>, include: bool) {
    let Some(fields) = fields.filter(|f| !f.is_empty()) else {
        return;
    };
    let names: Vec<&str> = fields.split(',').map(str::trim).collect();
    for item in items.iter_mut() {
        if let Some(obj) = item.as_object_mut() {
            obj.retain(|k, _| names.contains(&k.as_str()) == include);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_name_the_property() {
        let e = string("name", &json!(5), 10).expect_err("wrong type");
        assert_eq!(
            e.to_string(),
            "Payload validation error: 'Expected type string but found type integer' on property name."
        );
        assert!(one_of("app_type", &json!("tv"), &["spa"]).is_err());
        assert!(url("initiate_login_uri", &json!("http://x"), true).is_err());
        assert!(url("initiate_login_uri", &json!("https://x/login"), true).is_ok());
        assert!(only_known(json!({"a":1,"b":2}).as_object().expect("obj"), &["a"]).is_err());
    }

    #[test]
    fn field_selection() {
        let mut items = vec![json!({"a": 1, "b": 2, "c": 3})];
        select_fields(&mut items, Some("a,c"), true);
        assert_eq!(items[0], json!({"a": 1, "c": 3}));
        select_fields(&mut items, Some("a"), false);
        assert_eq!(items[0], json!({"c": 3}));
    }
}
