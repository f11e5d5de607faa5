//! Whole Auth0 settings objects gatehouse keeps and shows but does not act on (attack
//! protection, Guardian's phone settings, risk assessment, supplemental signals): each starts
//! as Auth0's value for a tenant that never touched it, and a write must keep its shape (the
//! same properties, each of the same JSON type). They come along from Auth0 with
//! auth0-deploy-cli and go back unchanged; none changes what gatehouse does.

use serde_json::{Map, Value, json};

/// One kept object.
#[derive(Debug)]
pub struct KeptObject {
    /// Its Management API path, under `/api/v2/`.
    pub path: &'static str,
    /// What gatehouse does instead (for the docs).
    pub note: &'static str,
    /// Its value until written, given the brute-force threshold
    /// (`GATEHOUSE_BRUTE_FORCE_THRESHOLD`, `None` when off), which brute-force protection shows.
    pub default: fn(Option<u32>) -> Value,
}

/// Every kept object.
pub const OBJECTS: &[KeptObject] = &[
    KeptObject {
        path: "attack-protection/brute-force-protection",
        note: "gatehouse blocks an account from one address after `GATEHOUSE_BRUTE_FORCE_THRESHOLD` \
               failures (shown as `enabled` and `max_attempts` until written) and mails an unblock link",
        default: |c| {
            json!({"enabled": c.is_some(), "shields": ["block", "user_notification"],
                   "mode": "count_per_identifier_and_ip", "allowlist": [],
                   "max_attempts": c.unwrap_or(10)})
        },
    },
    KeptObject {
        path: "attack-protection/suspicious-ip-throttling",
        note: "gatehouse limits requests per address (`GATEHOUSE_RATE_LIMIT_AUTH`) instead",
        default: |_| {
            json!({"enabled": true, "shields": ["admin_notification", "block"], "allowlist": [],
                   "stage": {"pre-login": {"max_attempts": 100, "rate": 864_000},
                             "pre-user-registration": {"max_attempts": 50, "rate": 1200},
                             "pre-custom-token-exchange": {"max_attempts": 10, "rate": 600_000}}})
        },
    },
    KeptObject {
        path: "attack-protection/breached-password-detection",
        note: "passwords are not checked against breach lists",
        default: |_| {
            json!({"enabled": false, "shields": [], "admin_notification_frequency": [],
                   "method": "standard",
                   "stage": {"pre-user-registration": {"shields": []},
                             "pre-change-password": {"shields": []}}})
        },
    },
    KeptObject {
        path: "attack-protection/bot-detection",
        note: "no bot detection or CAPTCHA",
        default: |_| {
            json!({"bot_detection_level": "medium", "challenge_password_policy": "never",
                   "challenge_passwordless_policy": "never",
                   "challenge_password_reset_policy": "never", "allowlist": [],
                   "monitoring_mode_enabled": false})
        },
    },
    KeptObject {
        path: "guardian/factors/phone/selected-provider",
        note: "MFA is not offered",
        default: |_| json!({"provider": "auth0"}),
    },
    KeptObject {
        path: "guardian/factors/phone/message-types",
        note: "MFA is not offered",
        default: |_| json!({"message_types": []}),
    },
    KeptObject {
        path: "guardian/factors/sms/templates",
        note: "MFA is not offered",
        default: |_| {
            json!({"enrollment_message": "{{code}} is your verification code for {{tenant.friendly_name}}. Please enter this code to verify your enrollment.",
                   "verification_message": "{{code}} is your verification code for {{tenant.friendly_name}}"})
        },
    },
    KeptObject {
        path: "risk-assessments/settings",
        note: "no risk assessment",
        default: |_| json!({"enabled": false}),
    },
    KeptObject {
        path: "risk-assessments/settings/new-device",
        note: "no risk assessment",
        default: |_| json!({"remember_for": 30}),
    },
    KeptObject {
        path: "supplemental-signals",
        note: "no supplemental signals",
        default: |_| json!({"akamai_enabled": false}),
    },
];

/// The kept object at `path`.
pub fn object(path: &str) -> Option<&'static KeptObject> {
    OBJECTS.iter().find(|o| o.path == path)
}

fn type_name(v: &Value) -> &'static str {
    crate::mgmt::validate::type_name(v)
}

/// Whether `given` has `like`'s shape: an object's properties are `like`'s, each of the same
/// type; arrays hold strings. `Err` names the first property that does not fit.
pub fn conforms(like: &Value, given: &Value, at: &str) -> Result<(), String> {
    match (like, given) {
        (Value::Object(l), Value::Object(g)) => {
            for (k, v) in g {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match l.get(k) {
                    Some(lv) => conforms(lv, v, &path)?,
                    None => return Err(format!("Additional properties not allowed: {path}")),
                }
            }
            Ok(())
        }
        (Value::Array(_), Value::Array(g)) => match g.iter().find(|e| !e.is_string()) {
            Some(e) => Err(format!(
                "{at}: expected an array of strings but found {}",
                type_name(e)
            )),
            None => Ok(()),
        },
        (Value::Number(_), Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
        (Value::Bool(_), Value::Bool(_)) | (Value::String(_), Value::String(_)) => Ok(()),
        _ => Err(format!(
            "{at}: expected type {} but found type {}",
            type_name(like),
            type_name(given)
        )),
    }
}

/// The object's value in `kept` (the tenant's), else its default.
pub fn current(kept: &Map<String, Value>, o: &KeptObject, threshold: Option<u32>) -> Value {
    kept.get(o.path)
        .cloned()
        .unwrap_or_else(|| (o.default)(threshold))
}

/// `current` with `patch`'s top-level properties written over it, if `patch` fits the shape.
pub fn patched(current: Value, patch: &Value, like: &Value) -> Result<Value, String> {
    conforms(like, patch, "")?;
    let Value::Object(mut merged) = current else {
        return Err("not an object".into());
    };
    if let Value::Object(p) = patch {
        for (k, v) in p {
            merged.insert(k.clone(), v.clone());
        }
    }
    Ok(Value::Object(merged))
}

/// The docs' section for the kept objects.
pub fn docs() -> String {
    let mut out = String::from(
        "\n## Settings objects\n\nKept whole: readable and writable in Auth0's shape (each \
         write must keep the object's properties and their types), with no effect.\n\n\
         | path | what gatehouse does |\n|---|---|\n",
    );
    for o in OBJECTS {
        out.push_str(&format!("| `/api/v2/{}` | {} |\n", o.path, o.note));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_must_keep_the_shape() {
        let like = json!({"enabled": true, "shields": ["block"], "max_attempts": 10,
                          "stage": {"pre-login": {"rate": 1}}});
        for ok in [
            json!({}),
            json!({"enabled": false, "shields": [], "max_attempts": 3}),
            json!({"stage": {"pre-login": {"rate": 864000}}}),
        ] {
            assert_eq!(conforms(&like, &ok, ""), Ok(()), "{ok}");
        }
        for bad in [
            json!({"enabled": "yes"}),
            json!({"shields": [1]}),
            json!({"max_attempts": 1.5}),
            json!({"other": true}),
            json!({"stage": {"pre-login": {"burst": 1}}}),
            json!([]),
        ] {
            assert!(conforms(&like, &bad, "").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_patch_replaces_top_level_properties_only() {
        let like = json!({"a": true, "b": {"c": 1, "d": 2}});
        let now = json!({"a": true, "b": {"c": 1, "d": 2}});
        let out = patched(now, &json!({"b": {"c": 5}}), &like).expect("fits");
        assert_eq!(out, json!({"a": true, "b": {"c": 5}}));
    }
}
