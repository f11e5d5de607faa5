//! How each setting's text becomes a value: one pure function per setting that needs more
//! than `FromStr`, each returning the message shown after "invalid setting NAME (from ...)".

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::Secret;

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

/// A socket address; `example` is shown in the error.
pub(super) fn address(raw: &str, example: &str) -> Result<SocketAddr, String> {
    raw.parse()
        .map_err(|_| format!("`{raw}` is not an address like {example}"))
}

/// The issuer is every token's `iss`; OIDC clients compare it byte for byte, and Auth0's
/// carries a trailing slash, so we insist on one rather than guess.
pub(super) fn issuer(raw: &str) -> Result<String, String> {
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

/// `sqlite://FILE` or `postgres://...`.
pub(super) fn database(raw: &str) -> Result<Database, String> {
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

/// A bootstrap client id: letters, digits, `-`, `_` and `.`.
pub(super) fn bootstrap_client_id(raw: &str) -> Result<String, String> {
    if raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        Ok(raw.to_owned())
    } else {
        Err("use letters, digits, '-', '_' and '.' only".into())
    }
}

/// A bootstrap client secret: at least 32 characters.
pub(super) fn bootstrap_client_secret(raw: &str) -> Result<Secret, String> {
    if raw.len() < 32 {
        return Err("must be at least 32 characters".into());
    }
    Ok(Secret::new(raw))
}

/// `pretty` or `json`.
pub(super) fn log_format(raw: &str) -> Result<LogFormat, String> {
    match raw {
        "pretty" => Ok(LogFormat::Pretty),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("`{other}` is neither `pretty` nor `json`")),
    }
}

/// A `tracing` filter such as `info` or `gatehouse_server=debug`.
pub(super) fn log_level(raw: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(raw).map_err(|e| format!("`{raw}`: {e}"))?;
    Ok(raw.to_owned())
}

/// Failed logins before a block; `0` or `off` disables the protection.
pub(super) fn brute_force_threshold(raw: &str) -> Result<Option<u32>, String> {
    match raw {
        "0" | "off" => Ok(None),
        n => n
            .parse::<u32>()
            .map(Some)
            .map_err(|_| format!("`{n}` is not a whole number (0 or off disables)")),
    }
}

/// An http(s) base URL, without its trailing slashes.
pub(super) fn http_base_url(raw: &str) -> Result<String, String> {
    let url = raw.trim_end_matches('/').to_owned();
    match url::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(url),
        _ => Err("must be an http(s) URL".into()),
    }
}

/// A tenant name as Auth0 spells them: lower-case letters, digits and dashes.
pub(super) fn tenant_name(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be lower-case letters, digits and dashes".into())
    }
}

/// An ISO 3166-1 alpha-2 country code, upper-cased.
pub(super) fn country_code(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err("must be a two-letter country code (ISO 3166-1 alpha-2)".into())
    }
}

/// Seconds from 10 to a day.
pub(super) fn link_max_age(raw: &str) -> Result<i64, String> {
    match raw.parse::<i64>() {
        Ok(n) if (10..=86_400).contains(&n) => Ok(n),
        _ => Err("must be a whole number of seconds from 10 to 86400".into()),
    }
}

/// `GATEHOUSE_LOG_RETENTION_DAYS`: 1 to 3650 days, or `off` (keep every event).
pub(super) fn log_retention_days(raw: &str) -> Result<Option<u32>, String> {
    if raw == "off" {
        return Ok(None);
    }
    match raw.parse::<u32>() {
        Ok(n) if (1..=3650).contains(&n) => Ok(Some(n)),
        _ => Err("must be a whole number of days from 1 to 3650, or off".into()),
    }
}

/// A switch: `on` or `off` (also `true`/`false`, `1`/`0`).
pub(super) fn on_off(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err("must be on or off".into()),
    }
}

/// `GATEHOUSE_SHUTDOWN_GRACE`: seconds (0.1 to 600) in-flight requests get after SIGTERM.
pub(super) fn shutdown_grace(raw: &str) -> Result<Duration, String> {
    match raw.parse::<f64>() {
        Ok(s) if (0.1..=600.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err("must be a number of seconds from 0.1 to 600".into()),
    }
}

/// `attempts:seconds`: 1 to 20 attempts, the first retry after 0.01 s to an hour.
pub(super) fn outbox_retry(raw: &str) -> Result<(u32, Duration), String> {
    let parsed = raw.split_once(':').and_then(|(n, secs)| {
        let n = n.parse::<u32>().ok().filter(|n| (1..=20).contains(n))?;
        let secs = secs
            .parse::<f64>()
            .ok()
            .filter(|s| *s >= 0.01 && *s <= 3600.0)?;
        Some((n, Duration::from_secs_f64(secs)))
    });
    parsed.ok_or_else(|| {
        "must be attempts (1-20) and the first retry delay in seconds, e.g. 5:30".into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers() {
        assert_eq!(
            issuer("https://id.example/"),
            Ok("https://id.example/".into())
        );
        for (raw, says) in [
            ("https://id.example", "trailing slash"),
            ("ftp://x/", "http or https"),
            ("https://x/?a=1", "query or fragment"),
            ("https://x/#f", "query or fragment"),
            ("not a url/", "not a URL"),
        ] {
            let e = issuer(raw).expect_err(raw);
            assert!(e.contains(says), "{raw}: {e}");
        }
    }

    #[test]
    fn databases() {
        assert_eq!(
            database("sqlite://data/g.db?mode=rwc"),
            Ok(Database::Sqlite {
                url: "sqlite://data/g.db?mode=rwc".into(),
                path: "data/g.db".into()
            })
        );
        assert_eq!(
            database("sqlite:g.db").map(|d| d.url().to_owned()),
            Ok("sqlite:g.db".into())
        );
        for ok in ["postgres://u:p@h/db", "postgresql://h/db"] {
            assert!(
                matches!(database(ok), Ok(Database::Postgres { .. })),
                "{ok}"
            );
        }
        for bad in ["sqlite://", "sqlite::memory:", "mysql://u:hunter2@h/db", ""] {
            let e = database(bad).expect_err(bad);
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn small_values() {
        assert_eq!(brute_force_threshold("off"), Ok(None));
        assert_eq!(brute_force_threshold("0"), Ok(None));
        assert_eq!(brute_force_threshold("7"), Ok(Some(7)));
        assert!(brute_force_threshold("-1").is_err());
        assert_eq!(link_max_age("10"), Ok(10));
        assert_eq!(link_max_age("86400"), Ok(86_400));
        for bad in ["9", "86401", "5m"] {
            assert!(link_max_age(bad).is_err(), "{bad}");
        }
        assert_eq!(
            http_base_url("https://api.twilio.com//"),
            Ok("https://api.twilio.com".into())
        );
        assert!(http_base_url("ftp://x").is_err());
        assert_eq!(log_format("json"), Ok(LogFormat::Json));
        assert!(log_format("yaml").is_err());
        assert!(log_level("info,gatehouse_server=debug").is_ok());
        assert!(log_level("info,[[").is_err());
        assert!(bootstrap_client_id("ops-1.a_b").is_ok());
        assert!(bootstrap_client_id("ops 1").is_err());
        assert!(bootstrap_client_secret(&"x".repeat(31)).is_err());
        assert!(bootstrap_client_secret(&"x".repeat(32)).is_ok());
        assert_eq!(address("127.0.0.1:0", "x").map(|a| a.port()), Ok(0));
        assert!(address("9464", "127.0.0.1:9464").is_err());
    }

    #[test]
    fn outbox_retries() {
        assert_eq!(outbox_retry("5:30"), Ok((5, Duration::from_secs(30))));
        assert_eq!(outbox_retry("3:0.5"), Ok((3, Duration::from_millis(500))));
        for bad in ["0:30", "21:30", "5", "5:0", "5:-1", "x:30", "5:3601"] {
            assert!(outbox_retry(bad).is_err(), "{bad}");
        }
    }
}

/// Which origins Actions may call with `fetch` (`GATEHOUSE_ACTIONS_FETCH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchPolicy {
    /// Any https origin.
    AnyHttps,
    /// Exactly these origins (`scheme://host[:port]`, as `url::Origin` writes them).
    Origins(Vec<String>),
}

impl FetchPolicy {
    /// Reads the setting: `*`, or origins separated by commas.
    pub fn parse(v: &str) -> Result<Self, String> {
        if v.trim() == "*" {
            return Ok(FetchPolicy::AnyHttps);
        }
        let mut origins = Vec::new();
        for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let url = url::Url::parse(part).map_err(|e| format!("{part}: {e}"))?;
            if !matches!(url.scheme(), "https" | "http") || url.path() != "/" {
                return Err(format!(
                    "{part}: an origin is http(s)://host[:port], without a path"
                ));
            }
            origins.push(url.origin().ascii_serialization());
        }
        if origins.is_empty() {
            return Err("lists no origin (use * for any https origin)".into());
        }
        Ok(FetchPolicy::Origins(origins))
    }

    /// Whether an action may call `url`.
    pub fn allows(&self, url: &url::Url) -> bool {
        match self {
            FetchPolicy::AnyHttps => url.scheme() == "https",
            FetchPolicy::Origins(list) => {
                let origin = url.origin().ascii_serialization();
                list.contains(&origin)
            }
        }
    }
}

/// `GATEHOUSE_REDIS_URL`: `redis://` or `rediss://` (TLS), with credentials if any.
pub(super) fn redis_url(v: &str) -> Result<super::Secret, String> {
    // The parser's message would quote the URL, password included.
    let url = url::Url::parse(v).map_err(|_| "is not a URL".to_owned())?;
    if !matches!(url.scheme(), "redis" | "rediss") {
        return Err("must be a redis:// or rediss:// URL".into());
    }
    Ok(super::Secret::new(v))
}

/// `GATEHOUSE_REDIS_PREFIX`: letters, digits, `-`, `_`, `.` and `:` (a Redis key prefix).
pub(super) fn redis_prefix(v: &str) -> Result<String, String> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    if ok {
        Ok(v.to_owned())
    } else {
        Err("use 1 to 64 letters, digits, '-', '_', '.' or ':'".into())
    }
}
