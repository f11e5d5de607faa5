//! CORS for the one browser origin configured (`CORS_ORIGIN`): the single-page app calls the
//! API from the browser with its token in `Authorization`, which needs a preflight.
//!
//! Written out rather than taken from tower-http: its `cors` feature would change the
//! workspace's build of tower-http, and with it gatehouse's, for one example.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long a browser may reuse a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

pub(crate) async fn cors(
    State(allowed): State<Option<HeaderValue>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let allowed = allowed.filter(|a| origin.as_ref() == Some(a));
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        // Any other origin gets the same answer minus the headers, which the browser reads as
        // a refusal.
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    // The answer depends on Origin: caches must not hand one origin's answer to another.
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    let Some(origin) = allowed else {
        return response;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if preflight {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
    } else {
        // So the page can tell an expired token from a missing permission.
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("www-authenticate"),
        );
    }
    response
}
