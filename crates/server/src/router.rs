//! Every route in one place, and the middleware around them.

use axum::Router;
use axum::handler::Handler;
use axum::http::{Request, header};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::OAuthError;
use crate::http::{BODY_LIMIT, client_ip, cors, headers, metrics, rate_limit};
use crate::{AppState, oauth, ops};

/// The largest body of the Authorization Extension's API (an import of a whole export).
const AUTHZ_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The whole HTTP surface: route groups, each with its own rate limit and CORS policy, so no
/// middleware needs to look at the path.
pub fn router(state: AppState) -> Router {
    let https = state.issuer.starts_with("https://");
    // Unknown paths count against the Authentication API's bucket of the caller's address.
    let not_found = (|| async { OAuthError::NotFound }).layer(from_fn_with_state(
        state.clone(),
        rate_limit::authentication,
    ));
    let mut router = Router::new()
        .nest(
            "/.well-known",
            discovery(&state).layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
        )
        .merge(authentication_api(&state).layer(RequestBodyLimitLayer::new(BODY_LIMIT)))
        .merge(login_pages(&state).layer(RequestBodyLimitLayer::new(BODY_LIMIT)))
        .nest("/api/v2", crate::mgmt::routes(state.clone()))
        // The Authorization Extension's API: an exported configuration may be large.
        .nest(
            "/authz/api",
            crate::authz_api::routes()
                .layer(RequestBodyLimitLayer::new(AUTHZ_BODY_LIMIT))
                .layer(from_fn_with_state(
                    state.clone(),
                    rate_limit::authentication,
                )),
        )
        .merge(operations());
    if state.config.admin {
        // `nest` serves the dashboard's "/" at `/admin` only; its home is `/admin/` too.
        router = router
            .route(
                "/admin/",
                get(crate::admin::home::home).layer(from_fn_with_state(
                    state.clone(),
                    rate_limit::authentication,
                )),
            )
            .nest(
                "/admin",
                crate::admin::routes()
                    .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
                    .layer(from_fn_with_state(
                        state.clone(),
                        rate_limit::authentication,
                    )),
            );
    }
    let mut router = router
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), metrics::track))
        // Outermost of the per-request layers: everything inside counts by this address.
        .layer(from_fn_with_state(state.clone(), client_ip::resolve));
    for layer in headers::layers(https) {
        router = router.layer(layer);
    }
    router = router.layer(axum::middleware::from_fn(headers::deny_framing));
    router
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(
                    headers::REQUEST_ID.clone(),
                    MakeRequestUuid,
                ))
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                ]))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req
                                .headers()
                                .get(&headers::REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default();
                            // The path only: query strings carry codes and tokens.
                            let span = tracing::info_span!(
                                "request",
                                method = %req.method(),
                                path = %req.uri().path(),
                                request_id = %id,
                                trace_id = tracing::field::Empty,
                                // Named by `http::metrics::track` once the route is known.
                                otel.kind = "server",
                                http.route = tracing::field::Empty,
                                http.response.status_code = tracing::field::Empty,
                            );
                            crate::http::trace_context::join_trace(&span, req.headers());
                            span
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(headers::REQUEST_ID.clone()))
                .layer(CatchPanicLayer::custom(|_| {
                    axum::response::IntoResponse::into_response(OAuthError::Internal(
                        anyhow::anyhow!("handler panicked"),
                    ))
                })),
        )
        .with_state(state)
}

/// `/.well-known/*`: discovery, JWKS and the mobile app associations, readable by anyone,
/// limited per address in a bucket of their own (unknown names there too).
fn discovery(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/openid-configuration",
            get(oauth::discovery::openid_configuration),
        )
        .route(
            "/oauth-authorization-server",
            get(oauth::discovery::openid_configuration),
        )
        .route("/jwks.json", get(oauth::jwks::jwks))
        .route(
            "/apple-app-site-association",
            get(oauth::mobile::apple_app_site_association),
        )
        .route("/assetlinks.json", get(oauth::mobile::assetlinks))
        .fallback(|| async { OAuthError::NotFound })
        .layer(from_fn_with_state(
            (state.clone(), cors::DISCOVERY),
            cors::cors,
        ))
        .layer(from_fn_with_state(state.clone(), rate_limit::discovery))
}

/// The Authentication API: the endpoints browsers call across origins (CORS for registered
/// origins), then the redirect-driven ones, all limited per address.
fn authentication_api(state: &AppState) -> Router<AppState> {
    let browser_called = Router::new()
        .route("/oauth/token", post(oauth::token::token))
        .route("/oauth/revoke", post(oauth::revoke::revoke))
        .route(
            "/userinfo",
            get(oauth::userinfo::userinfo).post(oauth::userinfo::userinfo),
        )
        .route("/dbconnections/signup", post(oauth::dbconnections::signup))
        .route(
            "/passwordless/start",
            post(crate::passwordless::start::start),
        )
        .route("/user/geoloc/country", get(oauth::geoloc::country))
        .layer(from_fn_with_state(
            (state.clone(), cors::AUTHENTICATION),
            cors::cors,
        ));
    Router::new()
        .route("/authorize", get(oauth::authorize::authorize))
        .route(
            "/login/callback",
            get(oauth::login_callback::callback_get).post(oauth::login_callback::callback_post),
        )
        .route(
            "/v2/logout",
            get(oauth::logout::v2_logout).post(oauth::logout::v2_logout),
        )
        .route(
            "/oidc/logout",
            get(oauth::logout::oidc_logout).post(oauth::logout::oidc_logout),
        )
        .route(
            "/passwordless/verify_redirect",
            get(crate::passwordless::link::show).post(crate::passwordless::link::verify),
        )
        .route(
            "/dbconnections/change_password",
            post(oauth::dbconnections::change_password),
        )
        // Cross-origin authentication answers its own CORS, per application and with
        // credentials (`oauth/cross_origin/authenticate.rs`).
        .route(
            "/co/authenticate",
            post(oauth::cross_origin::authenticate::authenticate)
                .options(oauth::cross_origin::authenticate::preflight),
        )
        .route("/co/verify", post(oauth::cross_origin::verify::verify))
        .route("/client/{file}", get(oauth::lock_client::client_script))
        .route("/samlp/metadata", get(oauth::samlp::metadata))
        .route(
            "/logout",
            get(oauth::samlp::single_logout).post(oauth::samlp::single_logout),
        )
        .route(
            "/samlp/metadata/{client_id}",
            get(oauth::saml_idp::metadata),
        )
        .route(
            "/samlp/{client_id}",
            get(oauth::saml_idp::sso::sso).post(oauth::saml_idp::sso::sso),
        )
        .route(
            "/samlp/{client_id}/logout",
            get(oauth::saml_idp::logout::logout).post(oauth::saml_idp::logout::logout),
        )
        .route("/pem", get(oauth::saml_idp::pem))
        .route("/cer", get(oauth::saml_idp::cer))
        // A users export's one-time download link (its secret is the authorization).
        .route(
            "/exports/{job_id}/{file}",
            get(crate::mgmt::exports::download),
        )
        .merge(browser_called)
        .layer(from_fn_with_state(
            state.clone(),
            rate_limit::authentication,
        ))
}

/// Universal Login pages (`/u/*`): same-origin forms, limited per address in the
/// Authentication API's bucket.
fn login_pages(state: &AppState) -> Router<AppState> {
    use crate::ui;
    Router::new()
        .route(
            "/u/login",
            get(ui::login::show_login).post(ui::login::submit),
        )
        .route("/u/consent", post(ui::login::submit_consent))
        .route("/u/passwordless", get(ui::passwordless::choose))
        .route("/u/upstream", get(ui::upstream::choose))
        .route(
            "/u/passwordless/start",
            post(ui::passwordless::submit_start),
        )
        .route("/u/passwordless/sent", get(ui::passwordless::show_sent))
        .route(
            "/u/passwordless/code",
            get(ui::passwordless::show_code).post(ui::passwordless::submit_code),
        )
        .route(
            "/u/signup",
            get(ui::login::show_signup).post(ui::login::submit_signup),
        )
        .route("/u/email-verification", get(ui::verify::verify))
        .route(
            "/u/unblock",
            get(ui::unblock::page).post(ui::unblock::submit),
        )
        .route(
            "/u/reset-password",
            get(ui::reset::page).post(ui::reset::submit),
        )
        .route(
            "/u/reset-password/request",
            get(ui::forgot::page).post(ui::forgot::submit),
        )
        .layer(from_fn_with_state(
            state.clone(),
            rate_limit::authentication,
        ))
}

/// Health and readiness: never limited, so probes see the truth under load.
fn operations() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
}

/// `/metrics` alone, for the metrics listener (`GATEHOUSE_METRICS_LISTEN`): counters and
/// route names are for operators, not for the public listener.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { OAuthError::NotFound })
        .with_state(state)
}
