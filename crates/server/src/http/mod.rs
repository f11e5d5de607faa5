//! Cross-cutting HTTP concerns: metrics and response headers.

pub mod caller_info;
pub mod cors;
pub mod headers;
pub mod metrics;
pub mod rate_limit;
