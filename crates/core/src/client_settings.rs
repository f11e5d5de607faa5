//! The Application Settings that drive behaviour, typed. Auth0's JSON is their serialized
//! form; fields gatehouse does not act on are kept as given (`other`) for round trips.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `refresh_token`: how the client's refresh tokens rotate and expire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefreshTokenSettings {
    /// `rotating` or `non-rotating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_type: Option<String>,
    /// `expiring` or `non-expiring`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_type: Option<String>,
    /// Seconds a rotated token may still be replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leeway: Option<i64>,
    /// Absolute lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime: Option<i64>,
    /// Idle lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_token_lifetime: Option<i64>,
    /// Whether the absolute lifetime is infinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infinite_token_lifetime: Option<bool>,
    /// Whether the idle lifetime is infinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infinite_idle_token_lifetime: Option<bool>,
    /// Everything else Auth0 sends (`policies`, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `jwt_configuration`: the ID token's lifetime and algorithm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JwtConfiguration {
    /// ID token lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_in_seconds: Option<i64>,
    /// Everything else (`alg`, `secret_encoded`, `scopes`).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `mobile`: what the app-association documents publish.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MobileSettings {
    /// Apple Universal Links and shared web credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ios: Option<IosSettings>,
    /// Android App Links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub android: Option<AndroidSettings>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `mobile.ios`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IosSettings {
    /// The Apple developer team id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// The app's bundle identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_bundle_identifier: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl IosSettings {
    /// `<team_id>.<bundle id>`, Apple's app id, when both are set.
    pub fn app_id(&self) -> Option<String> {
        Some(format!(
            "{}.{}",
            self.team_id.as_deref()?,
            self.app_bundle_identifier.as_deref()?
        ))
    }
}

/// `mobile.android`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AndroidSettings {
    /// The app's package name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_package_name: Option<String>,
    /// SHA-256 fingerprints of the app's signing certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256_cert_fingerprints: Option<Vec<String>>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_round_trip_with_unknown_fields() {
        let given = json!({
            "rotation_type": "rotating",
            "expiration_type": "expiring",
            "policies": [{"audience": "a", "scope": ["x"]}],
        });
        let s: RefreshTokenSettings = serde_json::from_value(given.clone()).expect("parses");
        assert_eq!(serde_json::to_value(&s).expect("serializes"), given);
        let given = json!({"ios": {"team_id": "T", "app_bundle_identifier": "b", "x": 1},
                           "android": {"app_package_name": "p"}});
        let m: MobileSettings = serde_json::from_value(given.clone()).expect("parses");
        assert_eq!(serde_json::to_value(&m).expect("serializes"), given);
        assert_eq!(m.ios.and_then(|i| i.app_id()).as_deref(), Some("T.b"));
        let j: JwtConfiguration =
            serde_json::from_value(json!({"lifetime_in_seconds": 60, "alg": "RS256"}))
                .expect("parses");
        assert_eq!(j.lifetime_in_seconds, Some(60));
    }
}
