//! Our cookies: reading them from a request and writing `Set-Cookie` headers with the
//! attributes each one needs (HttpOnly always, `Secure` on an https issuer, SameSite).

use axum::http::{HeaderMap, HeaderValue, header};

use crate::AppState;

/// Session cookie name.
pub const SESSION_COOKIE: &str = "gh_session";
/// The cookie a login form's transaction is bound to (login CSRF).
pub const CSRF_COOKIE: &str = "gh_csrf";

/// A cookie value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` for our cookies: HttpOnly, SameSite=Lax, Secure on an https issuer.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    cookie_header(state, name, value, max_age, "/", SameSite::Lax)
}

/// `Set-Cookie` for the SSO session. On an https issuer it is `SameSite=None; Secure`, as
/// Auth0's is, so that silent authentication works in an iframe of an application on another
/// site; every state-changing POST that relies on it carries its own token as well (the
/// login form its transaction, the logout confirmation one bound to this cookie). Browsers
/// refuse `SameSite=None` without `Secure`, so an http issuer keeps `Lax`.
pub fn set_session_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    cookie_header(
        state,
        SESSION_COOKIE,
        value,
        max_age,
        "/",
        SameSite::CrossSite,
    )
}

/// How far a cookie travels with requests from other sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Never.
    Strict,
    /// With top-level navigations.
    Lax,
    /// Always (`SameSite=None`), where the issuer is https; `Lax` otherwise, since browsers
    /// refuse `None` without `Secure`.
    CrossSite,
}

/// `Set-Cookie` for one of our cookies: HttpOnly, `Secure` on an https issuer.
pub fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    max_age: i64,
    path: &str,
    same_site: SameSite,
) -> HeaderValue {
    let https = state.issuer.starts_with("https://");
    let attributes = match (same_site, https) {
        (SameSite::Strict, true) => "SameSite=Strict; Secure",
        (SameSite::Strict, false) => "SameSite=Strict",
        (SameSite::CrossSite, true) => "SameSite=None; Secure",
        (SameSite::Lax, true) => "SameSite=Lax; Secure",
        (_, false) => "SameSite=Lax",
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; {attributes}; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether the issuer is plain http on a loopback host, which browsers that follow Secure
/// Contexts (Chromium, Firefox) treat as secure: they keep a `Secure` cookie from it.
fn loopback_http(issuer: &str) -> bool {
    let Some(rest) = issuer.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The companion of a `SameSite::CrossSite` cookie on a loopback http issuer, where that
/// cookie can only be `Lax`: the same value as `SameSite=None; Secure`, which browsers that
/// treat loopback as secure send on another local site's POST (servers on `localhost` and
/// on `127.0.0.1` are two sites). Browsers that refuse it keep the `Lax` one. `None`
/// elsewhere.
pub fn loopback_cross_site(
    state: &AppState,
    name: &str,
    value: &str,
    max_age: i64,
    path: &str,
) -> Option<HeaderValue> {
    loopback_http(&state.issuer).then(|| {
        HeaderValue::from_str(&format!(
            "{name}={value}; Path={path}; HttpOnly; SameSite=None; Secure; Max-Age={max_age}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    })
}

#[cfg(test)]
mod tests {
    use super::loopback_http;

    #[test]
    fn loopback_issuers() {
        for yes in [
            "http://localhost:8080/",
            "http://127.0.0.1:3000/",
            "http://[::1]:8080/",
            "http://app.localhost/",
        ] {
            assert!(loopback_http(yes), "{yes}");
        }
        for no in [
            "https://localhost/",
            "http://example.com/",
            "http://10.0.0.1/",
            "http://localhost.example.com/",
        ] {
            assert!(!loopback_http(no), "{no}");
        }
    }
}
