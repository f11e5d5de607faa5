//! Logging: pretty or JSON lines on stderr, filtered by the configured level.

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
