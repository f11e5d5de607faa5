//! Settings: defaults, then an optional TOML file, then `GATEHOUSE_*` environment variables,
//! then command-line flags; each layer overrides the one before. A bad value stops start-up
//! with one line that names the setting.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::http::rate_limit::Quota;

/// A value that must never reach a log line: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Which database, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file; `path` is where it lives (the key file goes beside it).
    Sqlite {
        /// The URL given to the driver.
        url: String,
        /// The database file.
        path: PathBuf,
    },
    /// A PostgreSQL server; the URL may carry a password, so it is a secret.
    Postgres {
        /// The URL given to the driver.
        url: Secret,
    },
}

impl Database {
    /// The URL to connect with.
    pub fn url(&self) -> &str {
        match self {
            Database::Sqlite { url, .. } => url,
            Database::Postgres { url } => url.expose(),
        }
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Public base URL with a trailing slash; `None` means `http://<bound address>/`.
    pub issuer: Option<String>,
    /// The database.
    pub database: Database,
    /// The master key, if given (SQLite may generate one into a key file instead).
    pub master_key: Option<Secret>,
    /// Bootstrap Management API client credentials, if given.
    pub bootstrap: Option<(String, Secret)>,
    /// Log line format.
    pub log_format: LogFormat,
    /// Log filter in `tracing` EnvFilter syntax, e.g. `info` or `gatehouse_server=debug`.
    pub log_level: String,
    /// Authentication API limit per client IP (`None`: off).
    pub rate_limit_auth: Option<Quota>,
    /// Management API limit per calling client.
    pub rate_limit_mgmt: Option<Quota>,
    /// Discovery and JWKS limit per client IP.
    pub rate_limit_public: Option<Quota>,
    /// Consecutive failed logins of one user from one address before that pair is blocked
    /// (`None`: brute-force protection off).
    pub brute_force_threshold: Option<u32>,
    /// `/passwordless/start` limit per client IP (Auth0: 50 an hour).
    pub rate_limit_passwordless_ip: Option<Quota>,
    /// `/passwordless/start` limit per recipient (email or phone number).
    pub rate_limit_passwordless_recipient: Option<Quota>,
    /// Base URL of Twilio's REST API (a test or a proxy may stand in for it).
    pub twilio_api_url: String,
    /// How recent (seconds since `auth_time`) the secondary login of an account link must be.
    pub link_max_age: i64,
    /// Proxies whose `X-Forwarded-For` is believed (`http::client_ip`); none by default.
    pub trusted_proxies: crate::http::client_ip::TrustedProxies,
    /// Where `/metrics` is served (never on the public listener); `None`: nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Outbox delivery: attempts per message and the delay before the first retry
    /// (doubling after each further failure), `GATEHOUSE_OUTBOX_RETRY=attempts:seconds`.
    pub outbox_retry: (u32, std::time::Duration),
}

/// A setting that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting} (from {origin}): {message}")]
pub struct ConfigError {
    /// The environment variable name of the setting, e.g. `GATEHOUSE_ISSUER`.
    pub setting: String,
    /// Where the bad value came from.
    pub origin: String,
    /// What is wrong with it.
    pub message: String,
}

/// Values given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--config`.
    pub config_file: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--issuer`.
    pub issuer: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--log-format`.
    pub log_format: Option<String>,
    /// `--log-level`.
    pub log_level: Option<String>,
}

/// Keys of the TOML file; the same names, upper-cased and prefixed, are the env variables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    issuer: Option<String>,
    database_url: Option<String>,
    master_key: Option<String>,
    bootstrap_client_id: Option<String>,
    bootstrap_client_secret: Option<String>,
    log_format: Option<String>,
    log_level: Option<String>,
    rate_limit_auth: Option<String>,
    rate_limit_mgmt: Option<String>,
    rate_limit_public: Option<String>,
    brute_force_threshold: Option<String>,
    rate_limit_passwordless_ip: Option<String>,
    rate_limit_passwordless_recipient: Option<String>,
    twilio_api_url: Option<String>,
    link_max_age: Option<String>,
    trusted_proxies: Option<String>,
    metrics_listen: Option<String>,
    outbox_retry: Option<String>,
}

const KEYS: &[&str] = &[
    "listen",
    "issuer",
    "database_url",
    "master_key",
    "bootstrap_client_id",
    "bootstrap_client_secret",
    "log_format",
    "log_level",
    "rate_limit_auth",
    "rate_limit_mgmt",
    "rate_limit_public",
    "brute_force_threshold",
    "rate_limit_passwordless_ip",
    "rate_limit_passwordless_recipient",
    "twilio_api_url",
    "link_max_age",
    "trusted_proxies",
    "metrics_listen",
    "outbox_retry",
];

/// Where a value came from, for error messages.
#[derive(Debug, Clone)]
enum Origin {
    Default,
    File(PathBuf),
    Env,
    Flag,
}

struct Layered {
    values: BTreeMap<&'static str, (String, Origin)>,
}

impl Layered {
    fn set(&mut self, key: &'static str, value: Option<String>, origin: &Origin) {
        if let Some(v) = value {
            self.values.insert(key, (v, origin.clone()));
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
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

fn env_name(key: &str) -> String {
    format!("GATEHOUSE_{}", key.to_ascii_uppercase())
}

impl Config {
    /// Reads every layer; `env` looks up environment variables (injected for tests).
    pub fn load(flags: &Flags, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut layered = Layered {
            values: BTreeMap::new(),
        };
        layered.set("listen", Some("127.0.0.1:8080".into()), &Origin::Default);
        layered.set(
            "database_url",
            Some("sqlite://gatehouse.db".into()),
            &Origin::Default,
        );
        layered.set("log_format", Some("pretty".into()), &Origin::Default);
        layered.set("log_level", Some("info".into()), &Origin::Default);
        // burst:per_second. Generous for people and scripts, still a brake on floods.
        layered.set("rate_limit_auth", Some("500:200".into()), &Origin::Default);
        layered.set("rate_limit_mgmt", Some("500:100".into()), &Origin::Default);
        // Auth0's 50 an hour per IP; five codes per quarter hour to one recipient.
        layered.set(
            "rate_limit_passwordless_ip",
            Some("50:0.0139".into()),
            &Origin::Default,
        );
        layered.set(
            "rate_limit_passwordless_recipient",
            Some("5:0.0056".into()),
            &Origin::Default,
        );
        layered.set(
            "twilio_api_url",
            Some("https://api.twilio.com".into()),
            &Origin::Default,
        );
        layered.set(
            "rate_limit_public",
            Some("1000:500".into()),
            &Origin::Default,
        );

        if let Some(path) = &flags.config_file {
            let file = read_file(path)?;
            let origin = Origin::File(path.clone());
            layered.set("listen", file.listen, &origin);
            layered.set("issuer", file.issuer, &origin);
            layered.set("database_url", file.database_url, &origin);
            layered.set("master_key", file.master_key, &origin);
            layered.set("bootstrap_client_id", file.bootstrap_client_id, &origin);
            layered.set(
                "bootstrap_client_secret",
                file.bootstrap_client_secret,
                &origin,
            );
            layered.set("log_format", file.log_format, &origin);
            layered.set("log_level", file.log_level, &origin);
            layered.set("rate_limit_auth", file.rate_limit_auth, &origin);
            layered.set("rate_limit_mgmt", file.rate_limit_mgmt, &origin);
            layered.set("rate_limit_public", file.rate_limit_public, &origin);
            layered.set("brute_force_threshold", file.brute_force_threshold, &origin);
            layered.set(
                "rate_limit_passwordless_ip",
                file.rate_limit_passwordless_ip,
                &origin,
            );
            layered.set(
                "rate_limit_passwordless_recipient",
                file.rate_limit_passwordless_recipient,
                &origin,
            );
            layered.set("twilio_api_url", file.twilio_api_url, &origin);
            layered.set("link_max_age", file.link_max_age, &origin);
            layered.set("trusted_proxies", file.trusted_proxies, &origin);
            layered.set("metrics_listen", file.metrics_listen, &origin);
            layered.set("outbox_retry", file.outbox_retry, &origin);
        }
        for key in KEYS {
            // An empty variable counts as unset, as shells make them easily.
            let value = env(&env_name(key)).filter(|v| !v.is_empty());
            layered.set(key, value, &Origin::Env);
        }
        layered.set("listen", flags.listen.clone(), &Origin::Flag);
        layered.set("issuer", flags.issuer.clone(), &Origin::Flag);
        layered.set("database_url", flags.database_url.clone(), &Origin::Flag);
        layered.set("log_format", flags.log_format.clone(), &Origin::Flag);
        layered.set("log_level", flags.log_level.clone(), &Origin::Flag);
        Self::validate(&layered)
    }

    fn validate(l: &Layered) -> Result<Self, ConfigError> {
        let listen_raw = l.get("listen").unwrap_or_default();
        let listen: SocketAddr = listen_raw.parse().map_err(|_| {
            l.error(
                "listen",
                format!("`{listen_raw}` is not an address like 127.0.0.1:8080"),
            )
        })?;
        let issuer = l
            .get("issuer")
            .map(|i| parse_issuer(i).map_err(|m| l.error("issuer", m)))
            .transpose()?;
        let database = parse_database(l.get("database_url").unwrap_or_default())
            .map_err(|m| l.error("database_url", m))?;
        let master_key = l.get("master_key").map(Secret::new);
        if let Some(key) = &master_key {
            crate::crypto::MasterKey::parse(key.expose()).map_err(|m| l.error("master_key", m))?;
        } else if matches!(database, Database::Postgres { .. }) {
            return Err(l.error(
                "master_key",
                "required with PostgreSQL: every replica must share it (32 random bytes, base64)",
            ));
        }
        let bootstrap = match (
            l.get("bootstrap_client_id"),
            l.get("bootstrap_client_secret"),
        ) {
            (None, None) => None,
            (Some(id), Some(secret)) => {
                if !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                {
                    return Err(l.error(
                        "bootstrap_client_id",
                        "use letters, digits, '-', '_' and '.' only",
                    ));
                }
                if secret.len() < 32 {
                    return Err(
                        l.error("bootstrap_client_secret", "must be at least 32 characters")
                    );
                }
                Some((id.to_owned(), Secret::new(secret)))
            }
            (Some(_), None) => {
                return Err(l.error(
                    "bootstrap_client_secret",
                    "must be set together with GATEHOUSE_BOOTSTRAP_CLIENT_ID",
                ));
            }
            (None, Some(_)) => {
                return Err(l.error(
                    "bootstrap_client_id",
                    "must be set together with GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
                ));
            }
        };
        let log_format = match l.get("log_format") {
            Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            other => {
                return Err(l.error(
                    "log_format",
                    format!(
                        "`{}` is neither `pretty` nor `json`",
                        other.unwrap_or_default()
                    ),
                ));
            }
        };
        let log_level = l.get("log_level").unwrap_or("info").to_owned();
        tracing_subscriber::EnvFilter::try_new(&log_level)
            .map_err(|e| l.error("log_level", format!("`{log_level}`: {e}")))?;
        let quota =
            |key: &str| Quota::parse(l.get(key).unwrap_or("off")).map_err(|m| l.error(key, m));
        let rate_limit_auth = quota("rate_limit_auth")?;
        let rate_limit_mgmt = quota("rate_limit_mgmt")?;
        let rate_limit_public = quota("rate_limit_public")?;
        let brute_force_threshold = match l.get("brute_force_threshold").unwrap_or("10") {
            "0" | "off" => None,
            n => Some(n.parse::<u32>().map_err(|_| {
                l.error(
                    "brute_force_threshold",
                    format!("`{n}` is not a whole number (0 or off disables)"),
                )
            })?),
        };
        let twilio_api_url = l
            .get("twilio_api_url")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        match url::Url::parse(&twilio_api_url) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => {}
            _ => return Err(l.error("twilio_api_url", "must be an http(s) URL")),
        }
        let link_max_age = match l.get("link_max_age").unwrap_or("300").parse::<i64>() {
            Ok(n) if (10..=86_400).contains(&n) => n,
            _ => {
                return Err(l.error(
                    "link_max_age",
                    "must be a whole number of seconds from 10 to 86400",
                ));
            }
        };
        let trusted_proxies =
            crate::http::client_ip::TrustedProxies::parse(l.get("trusted_proxies").unwrap_or(""))
                .map_err(|m| l.error("trusted_proxies", m))?;
        let metrics_listen = l
            .get("metrics_listen")
            .map(|a| {
                a.parse::<SocketAddr>().map_err(|_| {
                    l.error(
                        "metrics_listen",
                        format!("`{a}` is not an address like 127.0.0.1:9464"),
                    )
                })
            })
            .transpose()?;
        let outbox_retry = {
            let text = l.get("outbox_retry").unwrap_or("5:30");
            let parsed = text.split_once(':').and_then(|(n, secs)| {
                let n = n.parse::<u32>().ok().filter(|n| (1..=20).contains(n))?;
                let secs = secs
                    .parse::<f64>()
                    .ok()
                    .filter(|s| *s >= 0.01 && *s <= 3600.0)?;
                Some((n, std::time::Duration::from_secs_f64(secs)))
            });
            parsed.ok_or_else(|| {
                l.error(
                    "outbox_retry",
                    "must be attempts (1-20) and the first retry delay in seconds, e.g. 5:30",
                )
            })?
        };
        Ok(Config {
            trusted_proxies,
            metrics_listen,
            link_max_age,
            outbox_retry,
            rate_limit_passwordless_ip: quota("rate_limit_passwordless_ip")?,
            rate_limit_passwordless_recipient: quota("rate_limit_passwordless_recipient")?,
            twilio_api_url,
            brute_force_threshold,
            rate_limit_auth,
            rate_limit_mgmt,
            rate_limit_public,
            listen,
            issuer,
            database,
            master_key,
            bootstrap,
            log_format,
            log_level,
        })
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let fail = |message: String| ConfigError {
        setting: "--config".into(),
        origin: format!("config file {}", path.display()),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    toml::from_str(&text).map_err(|e| fail(e.message().to_owned()))
}

/// The issuer is every token's `iss`; OIDC clients compare it byte for byte, and Auth0's
/// carries a trailing slash, so we insist on one rather than guess.
fn parse_issuer(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{raw}` must use http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{raw}` must not have a query or fragment"));
    }
    if !raw.ends_with('/') {
        return Err(format!(
            "`{raw}` must end with a trailing slash, e.g. `{raw}/`"
        ));
    }
    Ok(raw.to_owned())
}

fn parse_database(raw: &str) -> Result<Database, String> {
    if let Some(rest) = raw
        .strip_prefix("sqlite://")
        .or_else(|| raw.strip_prefix("sqlite:"))
    {
        let file = rest.split('?').next().unwrap_or_default();
        if file.is_empty() || file.starts_with(':') {
            return Err("give an SQLite file path, e.g. sqlite://gatehouse.db".into());
        }
        return Ok(Database::Sqlite {
            url: raw.to_owned(),
            path: PathBuf::from(file),
        });
    }
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        return Ok(Database::Postgres {
            url: Secret::new(raw),
        });
    }
    // The value may hold a password, so it is not echoed.
    Err("must start with sqlite:// or postgres://".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults() {
        let c = Config::load(&Flags::default(), env_of(&[])).expect("defaults load");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.issuer, None);
        assert_eq!(
            c.database,
            Database::Sqlite {
                url: "sqlite://gatehouse.db".into(),
                path: "gatehouse.db".into()
            }
        );
        assert_eq!(c.log_format, LogFormat::Pretty);
        assert!(c.bootstrap.is_none() && c.master_key.is_none());
        assert!(c.metrics_listen.is_none(), "/metrics is off by default");
        assert_eq!(
            c.trusted_proxies,
            Default::default(),
            "no proxy is trusted by default"
        );
    }

    #[test]
    fn flag_over_env_over_file_over_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("g.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1000\"\nissuer = \"https://file.example/\"\nlog_format = \"json\"\n",
        )
        .expect("write");
        let flags = Flags {
            config_file: Some(file),
            listen: Some("127.0.0.1:3000".into()),
            ..Flags::default()
        };
        let env = env_of(&[
            ("GATEHOUSE_LISTEN", "127.0.0.1:2000"),
            ("GATEHOUSE_ISSUER", "https://env.example/"),
        ]);
        let c = Config::load(&flags, env).expect("loads");
        assert_eq!(c.listen.port(), 3000, "flag wins over env and file");
        assert_eq!(
            c.issuer.as_deref(),
            Some("https://env.example/"),
            "env wins over file"
        );
        assert_eq!(c.log_format, LogFormat::Json, "file wins over default");
    }

    #[test]
    fn issuer_needs_trailing_slash() {
        let e = Config::load(
            &Flags::default(),
            env_of(&[("GATEHOUSE_ISSUER", "https://id.example.com")]),
        )
        .expect_err("rejected");
        assert_eq!(e.setting, "GATEHOUSE_ISSUER");
        assert!(e.to_string().contains("trailing slash"), "{e}");
        for bad in ["ftp://x/", "https://x/?a=1", "not a url/"] {
            assert!(
                Config::load(&Flags::default(), env_of(&[("GATEHOUSE_ISSUER", bad)])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_values_name_their_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("GATEHOUSE_LISTEN", "localhost")], "GATEHOUSE_LISTEN"),
            (
                &[("GATEHOUSE_DATABASE_URL", "mysql://x")],
                "GATEHOUSE_DATABASE_URL",
            ),
            (
                &[("GATEHOUSE_DATABASE_URL", "postgres://u:pw@h/db")],
                "GATEHOUSE_MASTER_KEY",
            ),
            (&[("GATEHOUSE_MASTER_KEY", "short")], "GATEHOUSE_MASTER_KEY"),
            (
                &[("GATEHOUSE_BOOTSTRAP_CLIENT_ID", "abc")],
                "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
            ),
            (
                &[
                    ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", "abc"),
                    ("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", "too-short"),
                ],
                "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
            ),
            (&[("GATEHOUSE_LOG_FORMAT", "xml")], "GATEHOUSE_LOG_FORMAT"),
            (&[("GATEHOUSE_LOG_LEVEL", "info,[[")], "GATEHOUSE_LOG_LEVEL"),
            (
                &[("GATEHOUSE_RATE_LIMIT_AUTH", "fast")],
                "GATEHOUSE_RATE_LIMIT_AUTH",
            ),
            (
                &[("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.1,lb.internal")],
                "GATEHOUSE_TRUSTED_PROXIES",
            ),
            (
                &[("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/40")],
                "GATEHOUSE_TRUSTED_PROXIES",
            ),
            (
                &[("GATEHOUSE_METRICS_LISTEN", "9464")],
                "GATEHOUSE_METRICS_LISTEN",
            ),
        ];
        for (env, setting) in cases {
            let e = Config::load(&Flags::default(), env_of(env)).expect_err("rejected");
            assert_eq!(&e.setting, setting, "{e}");
        }
    }

    #[test]
    fn outbox_retry_is_attempts_and_seconds() {
        let c = Config::load(&Flags::default(), env_of(&[])).expect("defaults");
        assert_eq!(c.outbox_retry, (5, std::time::Duration::from_secs(30)));
        let c = Config::load(
            &Flags::default(),
            env_of(&[("GATEHOUSE_OUTBOX_RETRY", "3:0.5")]),
        )
        .expect("loads");
        assert_eq!(c.outbox_retry, (3, std::time::Duration::from_millis(500)));
        for bad in ["0:30", "21:30", "5", "5:0", "5:-1", "x:30"] {
            let e = Config::load(
                &Flags::default(),
                env_of(&[("GATEHOUSE_OUTBOX_RETRY", bad)]),
            )
            .expect_err(bad);
            assert_eq!(e.setting, "GATEHOUSE_OUTBOX_RETRY", "{bad}");
        }
    }

    #[test]
    fn secrets_are_not_echoed() {
        let e = Config::load(
            &Flags::default(),
            env_of(&[("GATEHOUSE_DATABASE_URL", "mysql://u:hunter2@h/db")]),
        )
        .expect_err("rejected");
        assert!(!e.to_string().contains("hunter2"));
        let c = Config::load(
            &Flags::default(),
            env_of(&[
                ("GATEHOUSE_BOOTSTRAP_CLIENT_ID", "ops"),
                (
                    "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
                    "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t",
                ),
            ]),
        )
        .expect("loads");
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("g.toml");
        std::fs::write(&file, "listne = \"127.0.0.1:1\"\n").expect("write");
        let flags = Flags {
            config_file: Some(file),
            ..Flags::default()
        };
        let e = Config::load(&flags, env_of(&[])).expect_err("rejected");
        assert!(e.to_string().contains("listne"), "{e}");
    }
}
