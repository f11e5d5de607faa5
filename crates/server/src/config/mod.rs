//! Settings: defaults, then an optional TOML file, then `GATEHOUSE_*` environment variables,
//! then command-line flags; each layer overrides the one before. A bad value stops start-up
//! with one line that names the setting and the layer it came from.
//!
//! `layers.rs` holds the table of settings (name and default) and the layering; `values.rs`
//! turns each setting's text into its value. Adding a setting: a row in `SETTINGS`, a field
//! here, and a line in `Config::from_layers`. (figment does the layering too, but reads the
//! process environment rather than the injected lookup tests use, and its provenance would
//! need the same mapping to these messages; the table is shorter.)

mod layers;
mod secret;
#[cfg(test)]
mod tests;
mod values;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use secret::Secret;
pub use values::{Database, FetchPolicy, LogFormat};

use crate::http::client_ip::TrustedProxies;
use crate::http::rate_limit::Quota;
use layers::Layered;

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
    /// Base URL of SendGrid's API (`sendgrid` email provider).
    pub sendgrid_api_url: String,
    /// Base URL of Mailgun's API (`mailgun` email provider; `region: "eu"` picks Mailgun's
    /// EU API when this is left at its default).
    pub mailgun_api_url: String,
    /// Base URL of Amazon SES's API (`ses` email provider); `None`: the provider's region's
    /// endpoint, `https://email.<region>.amazonaws.com`.
    pub ses_api_url: Option<String>,
    /// How recent (seconds since `auth_time`) the secondary login of an account link must be.
    pub link_max_age: i64,
    /// Proxies whose `X-Forwarded-For` is believed (`http::client_ip`); none by default.
    pub trusted_proxies: TrustedProxies,
    /// Where `/metrics` is served (never on the public listener); `None`: nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// The certificate and key files when gatehouse serves HTTPS itself; `None`: plain HTTP.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Outbox delivery: attempts per message and the delay before the first retry
    /// (doubling after each further failure), `GATEHOUSE_OUTBOX_RETRY=attempts:seconds`.
    pub outbox_retry: (u32, std::time::Duration),
    /// Google's OpenID Connect discovery document (`google-oauth2` connections); a test or a
    /// proxy may stand in for it.
    pub google_discovery_url: String,
    /// GitHub's web base URL (`/login/oauth/authorize`, `/login/oauth/access_token`).
    pub github_url: String,
    /// GitHub's API base URL (`/user`, `/user/emails`).
    pub github_api_url: String,
    /// The country `/user/geoloc/country` answers (ISO 3166-1 alpha-2), for Lock.
    pub default_country: String,
    /// The tenant's name, as in Auth0's SAML entity ids (`urn:auth0:<tenant>:<connection>`).
    pub tenant_name: String,
    /// The origins Actions may `fetch` from; `None`: `fetch` is turned off.
    pub actions_fetch: Option<FetchPolicy>,
    /// Redis for rate-limit buckets shared by the replicas; `None`: per process. A secret:
    /// the URL may carry a password.
    pub redis_url: Option<Secret>,
    /// The prefix of gatehouse's Redis keys (the same on every replica of one deployment).
    pub redis_prefix: String,
    /// Days tenant log events are kept (Auth0 keeps 1 to 30 by plan); `None`: forever.
    pub log_retention_days: Option<u32>,
    /// How long in-flight requests may finish after SIGTERM before they are cut.
    pub shutdown_grace: std::time::Duration,
    /// An OpenTelemetry collector's OTLP/HTTP base URL (`/v1/traces` is appended); `None`:
    /// traces are not exported.
    pub otlp_endpoint: Option<String>,
    /// Whether the admin dashboard is served at `/admin`.
    pub admin: bool,
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

impl Config {
    /// Reads every layer; `env` looks up environment variables (injected for tests).
    pub fn load(flags: &Flags, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_layers(&Layered::load(flags, env)?)
    }

    /// Parses every setting, in this order (the first bad one is reported).
    fn from_layers(l: &Layered) -> Result<Self, ConfigError> {
        let quota = |key: &str| l.parse(key, Quota::parse);
        let listen = l.parse("listen", |v| values::address(v, "127.0.0.1:8080"))?;
        let issuer = l.parse_opt("issuer", values::issuer)?;
        let database = l.parse("database_url", values::database)?;
        let master_key = master_key(l, &database)?;
        let bootstrap = bootstrap(l)?;
        let log_format = l.parse("log_format", values::log_format)?;
        let log_level = l.parse("log_level", values::log_level)?;
        let rate_limit_auth = quota("rate_limit_auth")?;
        let rate_limit_mgmt = quota("rate_limit_mgmt")?;
        let rate_limit_public = quota("rate_limit_public")?;
        let brute_force_threshold =
            l.parse("brute_force_threshold", values::brute_force_threshold)?;
        let twilio_api_url = l.parse("twilio_api_url", values::http_base_url)?;
        let sendgrid_api_url = l.parse("sendgrid_api_url", values::http_base_url)?;
        let mailgun_api_url = l.parse("mailgun_api_url", values::http_base_url)?;
        let ses_api_url = l.parse_opt("ses_api_url", values::http_base_url)?;
        let link_max_age = l.parse("link_max_age", values::link_max_age)?;
        let trusted_proxies = l.parse("trusted_proxies", TrustedProxies::parse)?;
        let metrics_listen =
            l.parse_opt("metrics_listen", |v| values::address(v, "127.0.0.1:9464"))?;
        let tls = tls_files(l)?;
        let outbox_retry = l.parse("outbox_retry", values::outbox_retry)?;
        let google_discovery_url = l.parse("google_discovery_url", values::http_base_url)?;
        let github_url = l.parse("github_url", values::http_base_url)?;
        let github_api_url = l.parse("github_api_url", values::http_base_url)?;
        let default_country = l.parse("default_country", values::country_code)?;
        let tenant_name = l.parse("tenant_name", values::tenant_name)?;
        let actions_fetch = l.parse_opt("actions_fetch", FetchPolicy::parse)?;
        let redis_url = l.parse_opt("redis_url", values::redis_url)?;
        let redis_prefix = l.parse("redis_prefix", values::redis_prefix)?;
        let log_retention_days = l.parse("log_retention_days", values::log_retention_days)?;
        let shutdown_grace = l.parse("shutdown_grace", values::shutdown_grace)?;
        let otlp_endpoint = l.parse_opt("otlp_endpoint", values::http_base_url)?;
        let admin = l.parse("admin", values::on_off)?;
        Ok(Config {
            listen,
            issuer,
            database,
            master_key,
            bootstrap,
            log_format,
            log_level,
            rate_limit_auth,
            rate_limit_mgmt,
            rate_limit_public,
            brute_force_threshold,
            rate_limit_passwordless_ip: quota("rate_limit_passwordless_ip")?,
            rate_limit_passwordless_recipient: quota("rate_limit_passwordless_recipient")?,
            twilio_api_url,
            sendgrid_api_url,
            mailgun_api_url,
            ses_api_url,
            link_max_age,
            trusted_proxies,
            metrics_listen,
            tls,
            outbox_retry,
            google_discovery_url,
            github_url,
            github_api_url,
            default_country,
            tenant_name,
            actions_fetch,
            redis_url,
            redis_prefix,
            log_retention_days,
            shutdown_grace,
            otlp_endpoint,
            admin,
        })
    }
}

/// `GATEHOUSE_TLS_CERT` and `GATEHOUSE_TLS_KEY`: both or neither, since half a pair cannot
/// serve HTTPS and silently serving plain HTTP instead would be worse.
fn tls_files(l: &Layered) -> Result<Option<crate::tls::TlsFiles>, ConfigError> {
    let path = |v: &str| Ok::<_, String>(PathBuf::from(v));
    match (
        l.parse_opt("tls_cert", path)?,
        l.parse_opt("tls_key", path)?,
    ) {
        (Some(cert), Some(key)) => Ok(Some(crate::tls::TlsFiles { cert, key })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(l.error("tls_key", "is needed with GATEHOUSE_TLS_CERT")),
        (None, Some(_)) => Err(l.error("tls_cert", "is needed with GATEHOUSE_TLS_KEY")),
    }
}

/// The master key, checked; PostgreSQL needs one (replicas cannot share a key file).
fn master_key(l: &Layered, database: &Database) -> Result<Option<Secret>, ConfigError> {
    let key = l.parse_opt("master_key", |k| {
        crate::crypto::MasterKey::parse(k).map(|_| Secret::new(k))
    })?;
    if key.is_none() && matches!(database, Database::Postgres { .. }) {
        return Err(l.error(
            "master_key",
            "required with PostgreSQL: every replica must share it (32 random bytes, base64)",
        ));
    }
    Ok(key)
}

/// The bootstrap client's id and secret: both or neither.
fn bootstrap(l: &Layered) -> Result<Option<(String, Secret)>, ConfigError> {
    const ID: &str = "bootstrap_client_id";
    const SECRET: &str = "bootstrap_client_secret";
    match (l.get(ID), l.get(SECRET)) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Ok(Some((
            l.parse(ID, values::bootstrap_client_id)?,
            l.parse(SECRET, values::bootstrap_client_secret)?,
        ))),
        (Some(_), None) => Err(l.error(
            SECRET,
            "must be set together with GATEHOUSE_BOOTSTRAP_CLIENT_ID",
        )),
        (None, Some(_)) => Err(l.error(
            ID,
            "must be set together with GATEHOUSE_BOOTSTRAP_CLIENT_SECRET",
        )),
    }
}
