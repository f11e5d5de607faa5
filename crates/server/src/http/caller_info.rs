//! Who is on the other end of a request, for logs and per-IP controls: address and user agent.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use gatehouse_core::client::Client;

use crate::http::client_ip::{self, ClientIp};

/// The client's address (see [`client_ip`]) and user agent.
#[derive(Debug, Clone, Default)]
pub struct CallerInfo {
    /// The client's IP address, for logs.
    pub ip: Option<String>,
    /// What per-IP controls count by ([`ClientIp::key`]: IPv6 by its /64).
    pub ip_key: Option<String>,
    /// The `User-Agent` header, cut to 256 characters.
    pub user_agent: Option<String>,
}

impl CallerInfo {
    /// Reads it from request parts: the address [`client_ip::resolve`] found, else the peer.
    pub fn from_parts(parts: &Parts) -> Self {
        let ip = parts.extensions.get::<ClientIp>().copied().or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| ClientIp(c.0.ip().to_canonical()))
        });
        CallerInfo {
            user_agent: parts
                .headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(256).collect()),
            ..Self::at(ip)
        }
    }

    fn at(ip: Option<ClientIp>) -> Self {
        CallerInfo {
            ip: ip.map(|i| i.0.to_string()),
            ip_key: ip.map(|i| i.key()),
            user_agent: None,
        }
    }

    /// At the token endpoint: the address in Auth0's `auth0-forwarded-for` header, when the
    /// client authenticated with a secret and trusts the header
    /// (`is_token_endpoint_ip_header_trusted`), as Auth0 documents; otherwise unchanged. A
    /// public client cannot prove who sends the header, so it is never believed from one.
    pub fn at_token_endpoint(self, client: &Client, headers: &HeaderMap) -> Self {
        let confidential = client.secret.is_some()
            && client.settings.token_endpoint_auth_method.as_deref() != Some("none");
        match client_ip::auth0_forwarded_for(headers) {
            Some(ip) if confidential && client.settings.trusts_token_endpoint_ip_header() => {
                CallerInfo {
                    user_agent: self.user_agent,
                    ..Self::at(Some(ClientIp(ip)))
                }
            }
            _ => self,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CallerInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}
