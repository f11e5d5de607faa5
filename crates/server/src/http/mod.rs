//! Cross-cutting HTTP concerns: client addresses, limits, metrics and response headers.

pub mod caller_info;
pub mod client_ip;
pub mod cors;
pub mod headers;
pub mod metrics;
pub mod rate_limit;
pub mod shared_buckets;
pub mod trace_context;

/// Auth0's payload limit, for every request body (per route group, so that a users import
/// may bring its larger file: `mgmt::spec::body_limit`).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The bearer token of an `Authorization` header (scheme case-insensitive), if any. Tokens
/// are read from this header only, never from query strings (RFC 9700 s4.3.2).
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether `url` is https, or http to this machine (a development server): where gatehouse itself
/// sends requests or tokens, plain http is allowed to loopback only.
pub fn https_or_loopback(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback)
}
