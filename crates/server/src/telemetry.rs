//! Logging: pretty or JSON lines on stderr, filtered by the configured level; and, for
//! tests, the same events on the test harness's captured output.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; call once, from `main`.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // No ANSI in JSON: escape sequences in logged values could forge lines
        // (RUSTSEC-2025-0055).
        LogFormat::Json => builder.json().with_ansi(false).flatten_event(true).init(),
        LogFormat::Pretty => builder.compact().init(),
    }
}

/// The variable that turns on server logs in tests: `TEST_LOG=1` (level `info`) or a filter
/// such as `TEST_LOG=gatehouse_server=debug`.
pub const TEST_LOG_ENV: &str = "TEST_LOG";

/// For in-process test servers: with `TEST_LOG` set, events go to the test harness's
/// captured output, so `cargo test` shows a failing test's server logs (and hides a passing
/// one's); unset, nothing is installed and events cost nothing. Safe to call from every test.
pub fn init_for_tests() {
    let Some(filter) = test_log_filter(std::env::var(TEST_LOG_ENV).ok().as_deref()) else {
        return;
    };
    // Fails only when a subscriber is already installed, i.e. on every call but the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_test_writer()
        .compact()
        .try_init();
}

/// The filter `TEST_LOG` asks for: `None` when unset, empty or `0`; `info` for `1`/`true`;
/// otherwise the value itself when it is a valid filter (else `info`).
fn test_log_filter(value: Option<&str>) -> Option<String> {
    match value.map(str::trim) {
        None | Some("" | "0" | "false") => None,
        Some("1" | "true") => Some("info".to_owned()),
        Some(filter) if EnvFilter::try_new(filter).is_ok() => Some(filter.to_owned()),
        Some(_) => Some("info".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::test_log_filter;

    #[test]
    fn test_log_values() {
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (None, None),
            (Some(""), None),
            (Some("0"), None),
            (Some("false"), None),
            (Some("1"), Some("info")),
            (Some("true"), Some("info")),
            (Some("debug"), Some("debug")),
            (
                Some("gatehouse_server=trace"),
                Some("gatehouse_server=trace"),
            ),
            (Some("info,[["), Some("info")),
        ];
        for (value, want) in cases {
            assert_eq!(test_log_filter(*value).as_deref(), *want, "{value:?}");
        }
    }
}
