//! The admin dashboard at `/admin` (off with `GATEHOUSE_ADMIN=off`): server-rendered pages
//! (askama, `templates/admin/`), one stylesheet and one script embedded in the binary, a
//! strict CSP, forms that work without JavaScript. Administrators sign in through gatehouse
//! itself (`signin`), and every page reads and writes through the Management API as them
//! (`api`), so the API's rules, scopes and audit log are the dashboard's too.

pub mod admins;
pub mod api;
pub mod apis;
pub mod apps;
pub mod charts;
pub mod connections;
pub mod home;
pub mod logs;
pub mod page;
pub mod roles;
pub mod session;
pub mod settings;
pub mod signin;
pub mod users;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;

const CSS: &str = include_str!("../../assets/admin/admin.css");
const JS: &str = include_str!("../../assets/admin/admin.js");

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Assets change only with the binary; an hour keeps pages quick without stale releases.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// Every dashboard route, below `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/login", get(signin::login))
        .route("/callback", get(signin::callback))
        .route("/logout", post(signin::logout))
        .route(
            "/assets/admin.css",
            get(|| async { asset(CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/assets/admin.js",
            get(|| async { asset(JS, "text/javascript; charset=utf-8") }),
        )
        .route("/start", get(home::start))
        .route("/apps", get(apps::list).post(apps::create))
        .route("/apps/{id}", get(apps::show).post(apps::update))
        .route("/apps/{id}/advanced", post(apps::advanced))
        .route("/apps/{id}/connections", post(apps::connections))
        .route("/apps/{id}/rotate-secret", post(apps::rotate_secret))
        .route("/apps/{id}/delete", post(apps::delete))
        .route("/apis", get(apis::list).post(apis::create))
        .route("/apis/{id}", get(apis::show).post(apis::update))
        .route("/apis/{id}/scopes", post(apis::scopes))
        .route("/apis/{id}/access", post(apis::access))
        .route("/apis/{id}/delete", post(apis::delete))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::show))
        .route("/users/{id}/block", post(users::block))
        .route("/users/{id}/unblock", post(users::unblock))
        .route("/users/{id}/metadata", post(users::metadata))
        .route("/users/{id}/roles", post(users::roles))
        .route(
            "/users/{id}/sessions/{sid}/revoke",
            post(users::revoke_session),
        )
        .route("/users/{id}/unlink", post(users::unlink))
        .route("/users/{id}/link", post(users::link))
        .route(
            "/users/{id}/verification-email",
            post(users::verification_email),
        )
        .route("/users/{id}/reset-email", post(users::reset_email))
        .route("/users/{id}/delete", post(users::delete))
        .route(
            "/connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/connections/{id}",
            get(connections::show).post(connections::update),
        )
        .route("/connections/{id}/options", post(connections::options))
        .route("/connections/{id}/apps", post(connections::apps))
        .route("/connections/{id}/test", post(connections::test_send))
        .route("/connections/{id}/try", post(connections::try_connection))
        .route("/connections/{id}/delete", post(connections::delete))
        .route("/roles", get(roles::list).post(roles::create))
        .route("/roles/{id}", get(roles::show))
        .route("/roles/{id}/permissions", post(roles::permissions))
        .route("/roles/{id}/delete", post(roles::delete))
        .route("/logs", get(logs::list))
        .route("/logs/feed", get(logs::feed))
        .route("/tenant", get(settings::show).post(settings::update))
        .route("/branding", post(settings::branding))
        .route("/email-provider", post(settings::email_provider))
        .route("/email-provider/test", post(settings::email_test))
        .route(
            "/templates/{name}",
            get(settings::template).post(settings::save_template),
        )
        .route("/keys", get(settings::keys))
        .route("/keys/rotate", post(settings::rotate))
        .route("/keys/{kid}/revoke", post(settings::revoke))
        .route("/admins", get(admins::list).post(admins::invite))
}
