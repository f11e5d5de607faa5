//! Who is on the other end of a request, for logs: address and user agent.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;

/// The peer address (never `X-Forwarded-For`, which anyone can forge) and user agent.
#[derive(Debug, Clone, Default)]
pub struct CallerInfo {
    /// The TCP peer's IP address.
    pub ip: Option<String>,
    /// The `User-Agent` header, cut to 256 characters.
    pub user_agent: Option<String>,
}

impl CallerInfo {
    /// Reads it from request parts.
    pub fn from_parts(parts: &Parts) -> Self {
        CallerInfo {
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
            user_agent: parts
                .headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(256).collect()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CallerInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}
