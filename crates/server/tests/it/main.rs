//! Black-box tests of the gatehouse server over real HTTP, on SQLite and (when
//! `GATEHOUSE_TEST_DATABASE_URL` is set) PostgreSQL.

mod binary;
mod code_flow;
mod helpers;
mod keys;
mod lifecycle;
mod linking;
mod mgmt_apis;
mod mgmt_auth;
mod mgmt_clients;
mod mgmt_connections;
mod mgmt_contract;
mod mgmt_emails;
mod mgmt_jobs;
mod mgmt_logs;
mod mgmt_roles;
mod mgmt_users;
mod operations;
mod password_grant;
mod password_reset;
mod passwordless;
mod rate_limits;
mod security_accounts;
mod security_connections;
mod security_logout;
mod security_outbox;
mod security_proxy;
mod security_scope;
mod signup;
mod sms;
mod smtp;
mod token;
mod upstream_hostile;
mod upstream_oidc;
mod upstream_social;
mod well_known;
