//! The Authentication API (OAuth 2.0 / OpenID Connect endpoints).

pub mod client_auth;
pub mod discovery;
pub mod jwks;
pub mod mobile;
pub mod params;
pub mod token;
