//! Cross-cutting HTTP concerns: client addresses, limits, metrics and response headers.

pub mod caller_info;
pub mod client_ip;
pub mod cors;
pub mod headers;
pub mod metrics;
pub mod rate_limit;

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
