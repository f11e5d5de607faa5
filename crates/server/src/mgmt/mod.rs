//! The Management API v2 under `/api/v2/`: one file per resource, errors in Auth0's shape.

pub mod auth;
pub mod body;
pub mod client_grants;
pub mod clients;
pub mod connections;
pub mod emails;
pub mod error;
pub mod identities;
pub mod jobs;
pub mod keys;
pub mod logs;
pub mod page;
pub mod resource_servers;
pub mod roles;
pub mod schema;
pub mod spec;
pub mod tenant;
pub mod users;
pub mod validate;
pub mod view;

use axum::Router;
use axum::routing::get;

use crate::AppState;

/// The routes, to be nested under `/api/v2`; writes are recorded in the tenant log.
pub fn routes(state: AppState) -> Router<AppState> {
    spec::router()
        .route("/openapi.json", get(spec::document))
        .fallback(|| async { error::MgmtError::not_found("Not Found", "not_found") })
        .layer(axum::middleware::from_fn_with_state(state, logs::audit))
}
