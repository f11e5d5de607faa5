//! Rate limits as Auth0 applies them: a token bucket per endpoint class and caller, the
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` headers on every
//! limited response, and 429 in each API's error shape when a bucket is empty.
//!
//! Each route group applies its own class (`router.rs`): the Authentication API and the
//! Universal Login pages are limited per client IP (`http::client_ip`: the trusted proxies'
//! client, IPv6 by /64), as is any unknown path; discovery and JWKS per IP in a bucket of
//! their own; the Management API per caller (`mgmt::limit`, through [`enforce`]). Health
//! endpoints are not limited. Buckets live in this process (behind N replicas the effective
//! limit is up to N times the configured one), or, with `GATEHOUSE_REDIS_URL`, in Redis,
//! shared by every replica (`http::shared_buckets`), this process's own standing in while
//! Redis does not answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::AppState;
use crate::http::client_ip::ClientIp;

/// A bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Requests allowed at once.
    pub burst: u32,
    /// Requests added back per second.
    pub per_second: f64,
}

impl Quota {
    /// Parses `burst:per_second` (e.g. `300:100`); `off` disables the class.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        if text == "off" {
            return Ok(None);
        }
        let (b, r) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}` is not burst:per_second (e.g. 300:100) or off"))?;
        let burst: u32 = b
            .parse()
            .map_err(|_| format!("burst `{b}` is not a whole number"))?;
        let per_second: f64 = r
            .parse()
            .map_err(|_| format!("rate `{r}` is not a number"))?;
        if burst == 0 || !per_second.is_finite() || per_second <= 0.0 {
            return Err("burst and rate must be positive".into());
        }
        Ok(Some(Quota { burst, per_second }))
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What a check decided.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// The bucket size.
    pub limit: u32,
    /// Whole requests left.
    pub remaining: u32,
    /// Epoch seconds when the bucket is full again.
    pub reset: u64,
    /// Seconds until one request is allowed (when refused).
    pub retry_after: u64,
}

/// Buckets of one class.
pub struct Limiter {
    quota: Quota,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// The class's buckets in Redis, and the class's name there.
    shared: Option<(Arc<super::shared_buckets::SharedBuckets>, &'static str)>,
}

/// Buckets per class before full (idle) ones are dropped.
const PRUNE_AT: usize = 100_000;

impl Limiter {
    /// An empty limiter.
    pub fn new(quota: Quota) -> Self {
        Limiter {
            quota,
            buckets: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// A limiter whose buckets are `shared`'s (class `class`), this process's own standing
    /// in when Redis does not answer.
    pub fn shared(
        quota: Quota,
        shared: Arc<super::shared_buckets::SharedBuckets>,
        class: &'static str,
    ) -> Self {
        Limiter {
            shared: Some((shared, class)),
            ..Limiter::new(quota)
        }
    }

    /// Takes one token from `key`'s bucket if it has one: the shared bucket when there is
    /// one and Redis answers, else this process's.
    pub async fn check(&self, key: &str) -> Decision {
        if let Some((shared, class)) = &self.shared
            && let Some((allowed, tokens)) = shared.take(class, key, self.quota).await
        {
            return decision(self.quota, allowed, tokens);
        }
        self.check_here(key)
    }

    /// Takes one token from this process's bucket of `key`.
    pub fn check_here(&self, key: &str) -> Decision {
        let q = self.quota;
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * q.per_second
                    < f64::from(q.burst)
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: f64::from(q.burst),
            at: now,
        });
        let refilled = now.duration_since(bucket.at).as_secs_f64() * q.per_second;
        bucket.tokens = (bucket.tokens + refilled).min(f64::from(q.burst));
        bucket.at = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        decision(q, allowed, bucket.tokens)
    }
}

/// The decision for a bucket of `q` left with `tokens` after the take.
fn decision(q: Quota, allowed: bool, tokens: f64) -> Decision {
    let missing = f64::from(q.burst) - tokens;
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Decision {
        allowed,
        limit: q.burst,
        remaining: tokens.max(0.0).floor() as u32,
        reset: epoch + (missing / q.per_second).ceil() as u64,
        retry_after: if allowed {
            0
        } else {
            ((1.0 - tokens) / q.per_second).ceil().max(1.0) as u64
        },
    }
}

/// The limiters of each class (`None`: not limited).
pub struct RateLimits {
    /// Authentication API, per IP.
    pub auth: Option<Limiter>,
    /// Management API, per client.
    pub mgmt: Option<Limiter>,
    /// Discovery and JWKS, per IP.
    pub public: Option<Limiter>,
}

fn set_headers(h: &mut HeaderMap, d: &Decision) {
    let mut put = |name: &'static str, v: u64| {
        if let Ok(v) = HeaderValue::from_str(&v.to_string()) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    put("x-ratelimit-limit", u64::from(d.limit));
    put("x-ratelimit-remaining", u64::from(d.remaining));
    put("x-ratelimit-reset", d.reset);
}

/// Takes one request from `key`'s bucket: runs the rest of the stack when there was one,
/// else answers 429 with `refusal` (the API's own error body) and `Retry-After`; either way
/// the response carries the `X-RateLimit-*` headers.
pub async fn enforce(
    limiter: &Limiter,
    key: &str,
    refusal: Value,
    request: Request,
    next: Next,
) -> Response {
    let decision = limiter.check(key).await;
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(refusal)).into_response();
        if let Ok(v) = HeaderValue::from_str(&decision.retry_after.to_string()) {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        r
    };
    set_headers(response.headers_mut(), &decision);
    response
}

/// The bucket key of the request's client address (`http::client_ip`).
pub fn ip_key(request: &Request) -> String {
    let ip = request
        .extensions()
        .get::<ClientIp>()
        .map(ClientIp::key)
        .unwrap_or_default();
    format!("ip:{ip}")
}

/// Limits a request by client address with `limiter`, refused in the OAuth error shape.
async fn per_ip(limiter: Option<&Limiter>, request: Request, next: Next) -> Response {
    let Some(limiter) = limiter else {
        return next.run(request).await;
    };
    let key = ip_key(&request);
    let refusal = json!({
        "error": "too_many_requests",
        "error_description": "Global limit has been reached",
    });
    enforce(limiter, &key, refusal, request, next).await
}

/// Middleware of the Authentication API and Universal Login groups (and of unknown paths):
/// the `auth` bucket of the client address.
pub async fn authentication(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    per_ip(state.rate_limits.auth.as_ref(), request, next).await
}

/// Middleware of the discovery group: the `public` bucket of the client address.
pub async fn discovery(State(state): State<AppState>, request: Request, next: Next) -> Response {
    per_ip(state.rate_limits.public.as_ref(), request, next).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_drain_and_refill() {
        let l = Limiter::new(Quota {
            burst: 2,
            per_second: 1000.0,
        });
        assert!(l.check_here("a").allowed);
        let d = l.check_here("a");
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        assert!(!l.check_here("a").allowed, "empty");
        assert!(l.check_here("b").allowed, "keys are separate");
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(l.check_here("a").allowed, "refilled");
    }

    #[test]
    fn quota_syntax() {
        assert_eq!(
            Quota::parse("300:100"),
            Ok(Some(Quota {
                burst: 300,
                per_second: 100.0
            }))
        );
        assert_eq!(Quota::parse("off"), Ok(None));
        for bad in ["300", "0:1", "1:0", "a:b", "1:-2", "1:NaN"] {
            assert!(Quota::parse(bad).is_err(), "{bad}");
        }
    }
}
