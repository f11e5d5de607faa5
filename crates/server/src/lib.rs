//! gatehouse-server: the HTTP face of gatehouse (Authentication API, Management API,
//! operations endpoints), its configuration and its command line.

pub mod account_mail;
pub mod actions;
pub mod admin;
pub mod app;
pub mod audit;
pub mod authn;
pub mod authz_api;
pub mod backchannel;
pub mod backup;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod documents;
pub mod error;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod mgmt;
pub mod oauth;
pub mod ops;
pub mod outbox;
pub mod pages;
pub mod passwordless;
pub mod passwords;
pub mod remote;
pub mod replicas;
pub mod router;
pub mod saml;
pub mod secrets;
pub mod setup;
pub mod signing;
pub mod telemetry;
pub mod tls;
pub mod ui;
pub mod upstream;
pub mod user_access;
pub mod workers;

pub use app::{App, AppState, Application};
