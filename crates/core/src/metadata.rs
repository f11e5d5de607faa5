//! `user_metadata` and `app_metadata`: Auth0's key rules and its one-level-deep merge.

use serde_json::{Map, Value};

/// Keys `app_metadata` may not use (Auth0 keeps them for itself).
pub const RESERVED_APP_METADATA_KEYS: &[&str] = &[
    "__tenant",
    "_id",
    "blocked",
    "clientID",
    "created_at",
    "email_verified",
    "email",
    "globalClientID",
    "global_client_id",
    "identities",
    "lastIP",
    "lastLogin",
    "loginsCount",
    "metadata",
    "multifactor_last_modified",
    "multifactor",
    "updated_at",
    "user_id",
];

/// Auth0's soft limit on a metadata object, serialised.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// Checks keys at every depth: no `.` or `$`, and for `app_metadata` no reserved top-level key.
pub fn check(which: &str, value: &Map<String, Value>) -> Result<(), String> {
    fn walk(which: &str, map: &Map<String, Value>) -> Result<(), String> {
        for (k, v) in map {
            if k.contains('.') || k.starts_with('$') || k.contains('$') {
                return Err(format!("{which} keys may not contain '.' or '$' ({k})"));
            }
            if let Value::Object(inner) = v {
                walk(which, inner)?;
            }
        }
        Ok(())
    }
    walk(which, value)?;
    if which == "app_metadata"
        && let Some(k) = value
            .keys()
            .find(|k| RESERVED_APP_METADATA_KEYS.contains(&k.as_str()))
    {
        return Err(format!("app_metadata may not use the reserved key {k}"));
    }
    if serde_json::to_vec(value).map(|b| b.len()).unwrap_or(0) > MAX_METADATA_BYTES {
        return Err(format!("{which} is larger than {MAX_METADATA_BYTES} bytes"));
    }
    Ok(())
}

/// Auth0's PATCH rule: top-level keys of `patch` replace those of `current` (nested objects
/// are replaced whole), a `null` value deletes the key, and an empty object clears it all.
pub fn merge(current: &mut Map<String, Value>, patch: &Map<String, Value>) {
    if patch.is_empty() {
        current.clear();
        return;
    }
    for (k, v) in patch {
        if v.is_null() {
            current.remove(k);
        } else {
            current.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn merges_one_level_deep() {
        let mut m = obj(json!({"a": 1, "b": {"x": 1, "y": 2}, "c": 3}));
        merge(&mut m, &obj(json!({"b": {"x": 9}, "c": null, "d": 4})));
        assert_eq!(
            Value::Object(m.clone()),
            json!({"a": 1, "b": {"x": 9}, "d": 4})
        );
        merge(&mut m, &Map::new());
        assert!(m.is_empty());
    }

    #[test]
    fn key_rules() {
        assert!(check("user_metadata", &obj(json!({"a": {"b.c": 1}}))).is_err());
        assert!(check("user_metadata", &obj(json!({"$where": 1}))).is_err());
        assert!(check("app_metadata", &obj(json!({"blocked": true}))).is_err());
        assert!(check("user_metadata", &obj(json!({"blocked": true}))).is_ok());
        assert!(check("app_metadata", &obj(json!({"plan": {"tier": 2}}))).is_ok());
    }
}
