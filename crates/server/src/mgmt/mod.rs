//! The Management API v2 under `/api/v2/`: one file per resource, errors in Auth0's shape.

pub mod actions;
pub mod auth;
pub mod body;
pub mod client_grants;
pub mod clients;
pub mod connections;
pub mod email_templates;
pub mod emails;
pub mod error;
pub mod exports;
pub mod flows;
pub mod grants;
pub mod identities;
pub mod import_run;
pub mod jobs;
pub mod keys;
pub mod limit;
pub mod logs;
pub mod not_offered;
pub mod page;
pub mod prompts;
pub mod refresh_tokens;
pub mod resource_servers;
pub mod roles;
pub mod schema;
pub mod sessions;
pub mod spec;
pub mod stats;
pub mod stored;
pub mod tenant;
pub mod tickets;
pub mod user_blocks;
pub mod users;
pub mod validate;
pub mod view;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;

use crate::AppState;
use crate::http::cors;

/// The routes, to be nested under `/api/v2`. From the outside in: the bearer token verified
/// once (`auth`), the per-caller limit (`limit`), CORS for registered origins, the audit
/// trail of writes (`logs`), the catalog refreshed after writes, then each operation's scope
/// check (`spec`) and its handler.
pub fn routes(state: AppState) -> Router<AppState> {
    spec::router()
        .route("/openapi.json", get(spec::document))
        .fallback(|| async { error::MgmtError::not_found("Not Found", "not_found") })
        .layer(from_fn_with_state(state.clone(), refresh_catalog))
        .layer(from_fn_with_state(state.clone(), logs::audit))
        .layer(from_fn_with_state(
            (state.clone(), cors::MANAGEMENT),
            cors::cors,
        ))
        .layer(from_fn_with_state(state.clone(), limit::limit))
        .layer(from_fn_with_state(state, auth::authenticate))
}

/// After every successful write, this replica's catalog (what the token path caches) is
/// emptied, so no token is minted from the old copy, and the other replicas are told to
/// empty theirs. A layer on the whole group, so no write handler can forget it.
async fn refresh_catalog(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let write = is_write(request.method());
    let response = next.run(request).await;
    if write && response.status().is_success() {
        state.changed(crate::replicas::Change::Catalog).await;
    }
    response
}

/// Whether a Management request may change something: what the audit records and what
/// empties the catalog. Reads and preflights do not.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_the_methods_that_change_state() {
        for (method, write) in [
            (Method::GET, false),
            (Method::HEAD, false),
            (Method::OPTIONS, false),
            (Method::POST, true),
            (Method::PATCH, true),
            (Method::PUT, true),
            (Method::DELETE, true),
        ] {
            assert_eq!(is_write(&method), write, "{method}");
        }
    }
}
