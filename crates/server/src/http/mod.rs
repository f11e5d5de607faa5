//! Cross-cutting HTTP concerns: metrics and response headers.

pub mod caller_info;
pub mod headers;
pub mod metrics;
pub mod rate_limit;
