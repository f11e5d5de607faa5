//! The Authentication API (OAuth 2.0 / OpenID Connect endpoints).

pub mod authorization_response;
pub mod authorize;
pub mod authz_claims;
pub mod client_auth;
pub mod cross_origin;
pub mod dbconnections;
pub mod discovery;
pub mod geoloc;
pub mod grants;
pub mod jwks;
pub mod lock_client;
pub mod login_callback;
pub mod logout;
pub mod mobile;
pub mod params;
pub mod revoke;
pub mod saml_idp;
pub mod samlp;
pub mod token;
pub mod user_tokens;
pub mod userinfo;
