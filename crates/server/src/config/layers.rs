//! The layers of settings (default < file < environment < flag) and where each value came
//! from, so that an error can say which layer to fix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{ConfigError, Flags};

/// Every setting by its file key, with its default. The environment variable is the key
/// upper-cased behind `GATEHOUSE_`; a flag, where there is one, is the key with dashes.
pub(super) const SETTINGS: &[(&str, Option<&str>)] = &[
    ("listen", Some("127.0.0.1:8080")),
    ("issuer", None),
    ("database_url", Some("sqlite://gatehouse.db")),
    ("master_key", None),
    ("bootstrap_client_id", None),
    ("bootstrap_client_secret", None),
    ("log_format", Some("pretty")),
    ("log_level", Some("info")),
    // burst:per_second. Generous for people and scripts, still a brake on floods.
    ("rate_limit_auth", Some("500:200")),
    ("rate_limit_mgmt", Some("500:100")),
    ("rate_limit_public", Some("1000:500")),
    ("brute_force_threshold", Some("10")),
    // Auth0's 50 an hour per IP; five codes per quarter hour to one recipient.
    ("rate_limit_passwordless_ip", Some("50:0.0139")),
    ("rate_limit_passwordless_recipient", Some("5:0.0056")),
    ("twilio_api_url", Some("https://api.twilio.com")),
    ("sendgrid_api_url", Some("https://api.sendgrid.com")),
    ("mailgun_api_url", Some("https://api.mailgun.net")),
    ("ses_api_url", None),
    ("link_max_age", Some("300")),
    ("trusted_proxies", None),
    ("metrics_listen", None),
    ("tls_cert", None),
    ("tls_key", None),
    ("outbox_retry", Some("5:30")),
    (
        "google_discovery_url",
        Some("https://accounts.google.com/.well-known/openid-configuration"),
    ),
    ("github_url", Some("https://github.com")),
    ("github_api_url", Some("https://api.github.com")),
    ("default_country", Some("US")),
    ("tenant_name", Some("gatehouse")),
    // Off unless the operator names the origins Actions may call.
    ("actions_fetch", None),
    // Unset: rate limits are per process.
    ("redis_url", None),
    ("redis_prefix", Some("gatehouse")),
    ("log_retention_days", Some("30")),
    // Seconds; within the 30 s orchestrators usually wait between SIGTERM and SIGKILL.
    ("shutdown_grace", Some("25")),
    // Unset: no traces leave the process.
    ("otlp_endpoint", None),
    // The admin dashboard at /admin.
    ("admin", Some("on")),
];

/// Where a value came from, for error messages.
#[derive(Debug, Clone)]
enum Origin {
    Default,
    File(PathBuf),
    Env,
    Flag,
}

/// The winning value of each setting and its origin.
pub(super) struct Layered {
    values: BTreeMap<&'static str, (String, Origin)>,
}

impl Layered {
    /// Reads every layer; `env` looks up environment variables.
    pub(super) fn load(
        flags: &Flags,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut layered = Layered {
            values: BTreeMap::new(),
        };
        for (key, default) in SETTINGS {
            layered.set(key, default.map(str::to_owned), &Origin::Default);
        }
        if let Some(path) = &flags.config_file {
            let origin = Origin::File(path.clone());
            for (key, value) in read_file(path)? {
                layered.set(key, Some(value), &origin);
            }
        }
        for (key, _) in SETTINGS {
            // An empty variable counts as unset, as shells make them easily.
            let value = env(&env_name(key)).filter(|v| !v.is_empty());
            layered.set(key, value, &Origin::Env);
        }
        let given = [
            ("listen", &flags.listen),
            ("issuer", &flags.issuer),
            ("database_url", &flags.database_url),
            ("log_format", &flags.log_format),
            ("log_level", &flags.log_level),
        ];
        for (key, value) in given {
            layered.set(key, value.clone(), &Origin::Flag);
        }
        Ok(layered)
    }

    fn set(&mut self, key: &'static str, value: Option<String>, origin: &Origin) {
        if let Some(v) = value {
            self.values.insert(key, (v, origin.clone()));
        }
    }

    /// The value of `key`, if any layer (the defaults included) gives one.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    /// Parses `key`'s value (which has a default) with `parse`; an error names the setting.
    pub(super) fn parse<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        parse(self.get(key).unwrap_or_default()).map_err(|m| self.error(key, m))
    }

    /// Parses `key`'s value if it has one.
    pub(super) fn parse_opt<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.get(key)
            .map(|v| parse(v).map_err(|m| self.error(key, m)))
            .transpose()
    }

    /// An error about `key`, saying which layer its value came from.
    pub(super) fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let origin = match self.values.get(key).map(|(_, o)| o) {
            None | Some(Origin::Default) => "the default".to_owned(),
            Some(Origin::File(p)) => format!("config file {}", p.display()),
            Some(Origin::Env) => "the environment".to_owned(),
            Some(Origin::Flag) => format!("--{}", key.replace('_', "-")),
        };
        ConfigError {
            setting: env_name(key),
            origin,
            message: message.into(),
        }
    }
}

/// `GATEHOUSE_<KEY>`.
pub(super) fn env_name(key: &str) -> String {
    format!("GATEHOUSE_{}", key.to_ascii_uppercase())
}

/// The settings in a TOML file: string values under known keys only.
fn read_file(path: &Path) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let fail = |message: String| ConfigError {
        setting: "--config".into(),
        origin: format!("config file {}", path.display()),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let table: BTreeMap<String, String> =
        toml::from_str(&text).map_err(|e| fail(e.message().to_owned()))?;
    table
        .into_iter()
        .map(
            |(key, value)| match SETTINGS.iter().find(|(k, _)| *k == key) {
                Some((known, _)) => Ok((*known, value)),
                None => Err(fail(unknown_key(&key))),
            },
        )
        .collect()
}

/// The message serde gives for an unknown field, which this file format always used.
fn unknown_key(key: &str) -> String {
    let known: Vec<String> = SETTINGS.iter().map(|(k, _)| format!("`{k}`")).collect();
    format!(
        "unknown field `{key}`, expected one of {}",
        known.join(", ")
    )
}
