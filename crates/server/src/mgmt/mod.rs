//! The Management API v2 under `/api/v2/`: one file per resource, errors in Auth0's shape.

pub mod actions;
pub mod admins;
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
    let write = is_write(request.method()) && touches_catalog(request.uri().path());
    let response = next.run(request).await;
    if write && response.status().is_success() {
        state.changed(crate::replicas::Change::Catalog).await;
    }
    response
}

/// Management resources the catalog holds nothing of (people and their sessions, tokens and
/// blocks, roles, jobs, tickets, logs): their writes leave every replica's catalog alone, so
/// a bulk user load does not empty the peers' caches once per user. A deny list: a resource
/// forgotten here costs an announcement, never a stale cache.
const UNCACHED: &[&str] = &[
    "/users",
    "/users-by-email",
    "/user-blocks",
    "/sessions",
    "/refresh-tokens",
    "/grants",
    "/roles",
    "/jobs",
    "/tickets",
    "/logs",
];

/// Whether a write to `path` (with or without the `/api/v2` prefix) may change what the
/// catalog caches.
fn touches_catalog(path: &str) -> bool {
    let path = path.strip_prefix("/api/v2").unwrap_or(path);
    !UNCACHED.iter().any(|resource| {
        path.strip_prefix(resource)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
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
    fn only_writes_to_what_the_catalog_holds_empty_it() {
        for path in [
            "/clients",
            "/api/v2/clients/abc/rotate-secret",
            "/client-grants/cgr_1",
            "/resource-servers",
            "/tenants/settings",
            "/branding",
            "/emails/provider",
            "/connections/con_1",
            "/usersx",
        ] {
            assert!(touches_catalog(path), "{path}");
        }
        for path in [
            "/users",
            "/api/v2/users/auth0|1/roles",
            "/user-blocks/auth0|1",
            "/roles/rol_1/permissions",
            "/jobs/users-imports",
            "/sessions/s1",
            "/refresh-tokens/r1",
        ] {
            assert!(!touches_catalog(path), "{path}");
        }
    }

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
