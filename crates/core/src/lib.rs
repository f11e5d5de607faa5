//! gatehouse-core: the domain of an Auth0-style tenant, free of HTTP, SQL and I/O.
//!
//! Everything here is plain data and rules. Storage is described by the traits in
//! [`store`]; the `gatehouse-store` crate implements them for SQLite and PostgreSQL.

pub mod actions;
pub mod admin;
pub mod authorize_request;
pub mod authz;
pub mod client;
pub mod client_grant;
pub mod client_settings;
pub mod connection;
pub mod email_template;
pub mod grants;
pub mod id;
pub mod job;
pub mod log;
pub mod log_type;
pub mod metadata;
pub mod outbox;
pub mod password_policy;
pub mod passwordless;
pub mod pkce;
pub mod prompt_text;
pub mod redirect_uri;
pub mod refresh_token;
pub mod resource_server;
pub mod role;
pub mod saml;
pub mod saml_addon;
pub mod scope;
pub mod seed;
pub mod session;
pub mod signing_key;
pub mod store;
pub mod strategy;
pub mod tenant;
pub mod token;
pub mod upstream;
pub mod user;
pub mod user_search;
