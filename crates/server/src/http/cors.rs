//! CORS for what browsers call directly, as a policy per route group (`router.rs`): the
//! token, revocation, userinfo, sign-up and passwordless endpoints, and the Management API
//! (a single-page app calls it with the person's own token, as in account linking), for the
//! origins applications registered
//! (`allowed_origins`, `web_origins` and the origins of their callbacks); discovery and JWKS
//! for everyone. Preflights allow `Auth0-Client`, which auth0-spa-js sends. No cookie is ever
//! allowed across origins (no `Access-Control-Allow-Credentials`).
//!
//! Not tower-http's `CorsLayer`: it answers every `OPTIONS` as a preflight with 200 (ours:
//! 204, and only when `Access-Control-Request-Method` is present) and sends the allowed
//! methods and headers to origins it refuses; matching it would take a layer to undo both.

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Which origins a route group answers with `Access-Control-Allow-Origin`.
#[derive(Debug, Clone, Copy)]
pub enum Origins {
    /// Everyone (`*`): what the group serves is public.
    Any,
    /// The origins applications registered (`Catalog::cors_origins`).
    Registered,
}

/// A route group's CORS policy (`router.rs` gives each group its own).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Who may read the responses.
    pub origins: Origins,
    /// `Access-Control-Allow-Methods` of a preflight.
    pub methods: &'static str,
}

/// Discovery and JWKS: anyone may read them.
pub const DISCOVERY: Policy = Policy {
    origins: Origins::Any,
    methods: "GET, POST",
};

/// The Authentication API endpoints browsers call directly.
pub const AUTHENTICATION: Policy = Policy {
    origins: Origins::Registered,
    methods: "GET, POST",
};

/// The Management API.
pub const MANAGEMENT: Policy = Policy {
    origins: Origins::Registered,
    methods: "GET, POST, PATCH, PUT, DELETE",
};

/// The middleware, for `from_fn_with_state((state, policy), cors)`.
pub async fn cors(
    State((state, policy)): State<(AppState, Policy)>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request
        .headers()
        .get(ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let allow: Option<HeaderValue> = match (&origin, policy.origins) {
        (_, Origins::Any) => Some(HeaderValue::from_static("*")),
        (Some(o), Origins::Registered) => match state.catalog.cors_origins().await {
            Ok(set) if set.contains(o) => HeaderValue::from_str(o).ok(),
            _ => None,
        },
        (None, Origins::Registered) => None,
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    h.append(VARY, HeaderValue::from_static("Origin"));
    if let Some(value) = allow {
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
        if preflight {
            h.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(policy.methods),
            );
            h.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, authorization, auth0-client, dpop"),
            );
            h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
        } else {
            h.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(
                    "DPoP-Nonce, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset",
                ),
            );
        }
    }
    response
}
