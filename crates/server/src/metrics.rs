//! The app's Prometheus recorder: requests by route and status with a latency histogram
//! (`http::metrics` measures them); logins, failures by Auth0 log code and tokens by grant as
//! they happen; outbox depth, database pool use and cache hits set when scraped. It belongs to
//! the app, not the process, so several apps (tests) in one process keep their own counts.

use std::sync::Arc;

use gatehouse_core::log_type::LogType;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Latency buckets in seconds, from a cached JWKS read to a slow password hash.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The app's metric recorder; clones share it.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Recorder>,
}

struct Recorder {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh recorder.
    pub fn new() -> Self {
        #[expect(
            clippy::expect_used,
            reason = "the bucket list is a non-empty constant"
        )]
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        Metrics {
            inner: Arc::new(Recorder { recorder, handle }),
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        self.inner.handle.render()
    }

    fn with(&self, record: impl FnOnce()) {
        metrics::with_local_recorder(&self.inner.recorder, record);
    }

    pub(crate) fn observe(&self, method: String, route: String, status: String, seconds: f64) {
        self.with(|| {
            metrics::counter!(
                "http_requests_total",
                "method" => method.clone(),
                "route" => route.clone(),
                "status" => status
            )
            .increment(1);
            metrics::histogram!(
                "http_request_duration_seconds",
                "method" => method,
                "route" => route
            )
            .record(seconds);
        });
    }

    /// Counts a tenant log event: failures by Auth0's code, logins by outcome.
    pub fn log_event(&self, kind: LogType) {
        self.with(|| {
            if kind.is_failure() {
                metrics::counter!("gatehouse_failures_total", "type" => kind.code()).increment(1);
            }
            if let Some(ok) = kind.login_outcome() {
                let result = if ok { "success" } else { "failure" };
                metrics::counter!("gatehouse_logins_total", "result" => result).increment(1);
            }
        });
    }

    /// Counts tokens issued at the token endpoint, by grant type (only grants that
    /// succeeded, so only the grant types the server knows become labels).
    pub fn token_issued(&self, grant_type: &str) {
        let grant_type = grant_type.to_owned();
        self.with(|| {
            metrics::counter!("gatehouse_tokens_issued_total", "grant_type" => grant_type)
                .increment(1);
        });
    }

    /// Sets what is read at scrape time rather than counted as it happens.
    pub fn snapshot(&self, now: &Snapshot) {
        self.with(|| {
            if let Some(pending) = now.outbox_pending {
                #[expect(clippy::cast_precision_loss, reason = "a queue length")]
                metrics::gauge!("gatehouse_outbox_pending").set(pending as f64);
            }
            let pool = now.pool;
            metrics::gauge!("gatehouse_db_pool_connections", "state" => "in_use")
                .set(f64::from(pool.in_use));
            metrics::gauge!("gatehouse_db_pool_connections", "state" => "idle")
                .set(f64::from(pool.idle));
            metrics::gauge!("gatehouse_db_pool_max_connections").set(f64::from(pool.max));
            for (cache, hits, misses) in &now.caches {
                metrics::counter!("gatehouse_cache_lookups_total", "cache" => *cache, "result" => "hit")
                    .absolute(*hits);
                metrics::counter!("gatehouse_cache_lookups_total", "cache" => *cache, "result" => "miss")
                    .absolute(*misses);
            }
            metrics::counter!("gatehouse_log_events_dropped_total").absolute(now.log_events_dropped);
        });
    }
}

/// What `/metrics` reads from the app when scraped.
pub struct Snapshot {
    /// Messages waiting in the outbox (`None` when the database did not answer in time).
    pub outbox_pending: Option<i64>,
    /// The database pool.
    pub pool: gatehouse_store::PoolStatus,
    /// The catalog's caches: name, hits, misses.
    pub caches: Vec<(&'static str, u64, u64)>,
    /// Log events dropped because the writer fell behind.
    pub log_events_dropped: u64,
}
