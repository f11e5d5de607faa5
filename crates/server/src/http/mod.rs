//! Cross-cutting HTTP concerns: metrics and response headers.

pub mod headers;
pub mod metrics;
