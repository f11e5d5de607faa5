//! The Authentication API (OAuth 2.0 / OpenID Connect endpoints).

pub mod discovery;
pub mod jwks;
