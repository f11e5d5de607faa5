//! Rate-limit buckets shared by every replica, in Redis (`GATEHOUSE_REDIS_URL`): one Lua
//! script refills and takes from a bucket atomically, on Redis's clock, so N replicas allow
//! what one would. Redis must never stop a login: when it cannot answer within a few
//! milliseconds the caller falls back to its own per-process bucket (logged once per outage),
//! and after a failure Redis is left alone for a few seconds, so an outage costs a login
//! nothing after the first one.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::rate_limit::Quota;

/// How long a bucket check may wait for Redis before the local bucket decides.
const ANSWER_WITHIN: Duration = Duration::from_millis(100);
/// How long Redis is left alone after it failed to answer.
const PAUSE: Duration = Duration::from_secs(5);

/// Refill by elapsed time (Redis's `TIME`), take one token if there is one, keep the bucket
/// only as long as it takes to refill. Returns `{allowed, tokens}` (tokens as a string: Lua
/// numbers become integers in replies).
const TAKE: &str = r"
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'a', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
";

/// The shared buckets of one server: its Redis and the prefix of its keys.
pub struct SharedBuckets {
    client: redis::Client,
    prefix: String,
    script: redis::Script,
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// Until when Redis is not asked (after a failure).
    paused_until: Mutex<Option<Instant>>,
    degraded: AtomicBool,
}

impl SharedBuckets {
    /// Buckets in the Redis at `url` under keys beginning with `prefix` (replicas of one
    /// deployment share a prefix); nothing connects until the first check.
    pub fn new(url: &str, prefix: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        Ok(SharedBuckets {
            client,
            prefix: prefix.to_owned(),
            script: redis::Script::new(TAKE),
            connection: tokio::sync::Mutex::new(None),
            paused_until: Mutex::new(None),
            degraded: AtomicBool::new(false),
        })
    }

    fn paused(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The connection, made on first use (it reconnects by itself afterwards).
    async fn connection(&self) -> Option<ConnectionManager> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Some(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(ANSWER_WITHIN))
            .set_response_timeout(Some(ANSWER_WITHIN))
            .set_number_of_retries(1);
        let made = tokio::time::timeout(
            ANSWER_WITHIN * 2,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await;
        let c = made.ok()?.ok()?;
        *slot = Some(c.clone());
        Some(c)
    }

    async fn ask(&self, class: &str, key: &str, quota: Quota) -> Option<(bool, f64)> {
        let mut c = self.connection().await?;
        let mut invocation = self.script.key(format!("{}:rl:{class}:{key}", self.prefix));
        invocation.arg(quota.burst).arg(quota.per_second);
        let call = invocation.invoke_async::<(i64, String)>(&mut c);
        let (allowed, tokens) = tokio::time::timeout(ANSWER_WITHIN, call).await.ok()?.ok()?;
        Some((allowed == 1, tokens.parse::<f64>().ok()?))
    }

    /// Takes one token from bucket `key` of `class`: `(allowed, tokens left)`, or `None`
    /// when Redis did not answer (the caller decides locally).
    pub async fn take(&self, class: &str, key: &str, quota: Quota) -> Option<(bool, f64)> {
        if self.paused().is_some_and(|until| Instant::now() < until) {
            return None;
        }
        let answer = self.ask(class, key, quota).await;
        let was_degraded = self.degraded.load(Ordering::Relaxed);
        match answer {
            None => {
                *self.paused() = Some(Instant::now() + PAUSE);
                if !was_degraded {
                    self.degraded.store(true, Ordering::Relaxed);
                    tracing::warn!(
                        "Redis does not answer: rate limits are per process until it does"
                    );
                }
            }
            Some(_) if was_degraded => {
                self.degraded.store(false, Ordering::Relaxed);
                tracing::info!("Redis answers again: rate limits are shared across replicas");
            }
            Some(_) => {}
        }
        answer
    }
}
