//! Logging: pretty or JSON lines on stderr, filtered by the configured level; traces over
//! OTLP/HTTP when a collector is configured; and, for tests, the same events on the test
//! harness's captured output.

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::LogFormat;

/// What `init` started that must be stopped at exit: the trace exporter, whose last batch
/// is sent by `shutdown`.
#[must_use = "call shutdown before exiting, or the last spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends what spans are still queued and stops the exporter (outside any async runtime:
    /// the exporter's HTTP client blocks).
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(e) = provider.shutdown()
        {
            eprintln!("gatehouse: the last traces were not exported: {e}");
        }
    }
}

/// Installs the global subscriber; call once, from `main`, before the async runtime starts
/// (the OTLP exporter makes a blocking HTTP client).
pub fn init(format: LogFormat, level: &str, otlp_endpoint: Option<&str>) -> Telemetry {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        // No ANSI in JSON: escape sequences in logged values could forge lines
        // (RUSTSEC-2025-0055). Events carry their request span (`span.trace_id`).
        LogFormat::Json => stderr.json().with_ansi(false).flatten_event(true).boxed(),
        LogFormat::Pretty => stderr.compact().boxed(),
    };
    let traces = otlp_endpoint.and_then(|endpoint| match tracer_provider(endpoint) {
        Ok(provider) => Some(provider),
        Err(e) => {
            eprintln!("gatehouse: traces will not be exported to {endpoint}: {e}");
            None
        }
    });
    let otel = traces.as_ref().map(|provider| {
        use opentelemetry::trace::TracerProvider as _;
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        tracing_opentelemetry::layer().with_tracer(provider.tracer("gatehouse"))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(otel)
        .init();
    Telemetry { traces }
}

/// Spans batched to `<endpoint>/v1/traces` as OTLP protobuf, from the SDK's own thread.
fn tracer_provider(
    endpoint: &str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("gatehouse")
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
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
