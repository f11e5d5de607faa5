//! CORS for what browsers call directly: the token, revocation, userinfo, sign-up and
//! passwordless endpoints, and the Management API (a single-page app calls it with the
//! person's own token, as in account linking), for the origins applications registered
//! (`allowed_origins`, `web_origins` and the origins of their callbacks); discovery and JWKS
//! for everyone. Preflights allow `Auth0-Client`, which auth0-spa-js sends. No cookie is ever
//! allowed across origins (no `Access-Control-Allow-Credentials`).

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

/// The origin (`scheme://host[:port]`) of a URL, as browsers send it.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains('@')).then(|| format!("{scheme}://{authority}"))
}

/// The middleware.
pub async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let public = path.starts_with("/.well-known/");
    let credentialed = matches!(
        path,
        "/oauth/token"
            | "/oauth/revoke"
            | "/userinfo"
            | "/dbconnections/signup"
            | "/passwordless/start"
    );
    let management = path.starts_with("/api/v2/");
    if !public && !credentialed && !management {
        return next.run(request).await;
    }
    let origin = request
        .headers()
        .get(ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let allow: Option<HeaderValue> = match (&origin, public) {
        (_, true) => Some(HeaderValue::from_static("*")),
        (Some(o), false) => match state.catalog.cors_origins().await {
            Ok(set) if set.contains(o) => HeaderValue::from_str(o).ok(),
            _ => None,
        },
        (None, false) => None,
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
                HeaderValue::from_static(if management {
                    "GET, POST, PATCH, PUT, DELETE"
                } else {
                    "GET, POST"
                }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://app.example.com/cb?x=1").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            origin_of("http://localhost:3000").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(origin_of("https://u@evil.com/cb"), None);
        assert_eq!(origin_of("nonsense"), None);
    }
}
