//! The Management API v2 under `/api/v2/`: one file per resource, errors in Auth0's shape.

pub mod auth;
pub mod body;
pub mod client_grants;
pub mod clients;
pub mod connections;
pub mod emails;
pub mod error;
pub mod keys;
pub mod logs;
pub mod page;
pub mod resource_servers;
pub mod roles;
pub mod users;
pub mod validate;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// The routes, to be nested under `/api/v2`; writes are recorded in the tenant log.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/clients", get(clients::list).post(clients::create))
        .route(
            "/clients/{id}",
            get(clients::get)
                .patch(clients::update)
                .delete(clients::delete),
        )
        .route("/clients/{id}/rotate-secret", post(clients::rotate_secret))
        .route(
            "/resource-servers",
            get(resource_servers::list).post(resource_servers::create),
        )
        .route(
            "/resource-servers/{id}",
            get(resource_servers::get)
                .patch(resource_servers::update)
                .delete(resource_servers::delete),
        )
        .route(
            "/client-grants",
            get(client_grants::list).post(client_grants::create),
        )
        .route(
            "/client-grants/{id}",
            axum::routing::patch(client_grants::update).delete(client_grants::delete),
        )
        .route(
            "/connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/connections/{id}",
            get(connections::get)
                .patch(connections::update)
                .delete(connections::delete),
        )
        .route(
            "/connections/{id}/clients",
            get(connections::clients).patch(connections::update_clients),
        )
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route("/users-by-email", get(users::by_email))
        .route(
            "/users/{id}/roles",
            get(roles::user_roles)
                .post(roles::add_user_roles)
                .delete(roles::remove_user_roles),
        )
        .route(
            "/users/{id}/permissions",
            get(roles::user_permissions)
                .post(roles::add_user_permissions)
                .delete(roles::remove_user_permissions),
        )
        .route("/roles", get(roles::list).post(roles::create))
        .route(
            "/roles/{id}",
            get(roles::get).patch(roles::update).delete(roles::delete),
        )
        .route(
            "/roles/{id}/permissions",
            get(roles::permissions)
                .post(roles::add_permissions)
                .delete(roles::remove_permissions),
        )
        .route(
            "/roles/{id}/users",
            get(roles::users).post(roles::add_users),
        )
        .route("/keys/signing", get(keys::list))
        .route("/keys/signing/rotate", post(keys::rotate))
        .route("/keys/signing/{kid}", get(keys::get))
        .route(
            "/emails/provider",
            get(emails::get)
                .post(emails::create)
                .patch(emails::update)
                .delete(emails::delete),
        )
        .route("/logs", get(logs::list))
        .route("/logs/{id}", get(logs::get))
        .route("/users/{id}/logs", get(logs::user_logs))
        .fallback(|| async { error::MgmtError::not_found("Not Found", "not_found") })
        .layer(axum::middleware::from_fn_with_state(state, logs::audit))
}
