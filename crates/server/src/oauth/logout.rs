//! Logout: Auth0's `GET /v2/logout` and OIDC RP-initiated logout (`/oidc/logout`). The
//! session ends, its cookie is cleared, and the browser goes only where the application (or
//! the tenant) listed it may go: never an open redirect.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::log::LogEvent;
use gatehouse_core::redirect_uri;
use serde::Deserialize;

use crate::AppState;
use crate::error::OAuthError;
use crate::oauth::authorize::{SESSION_COOKIE, cookie, set_session_cookie};
use crate::ui;

#[derive(Template)]
#[template(path = "logged_out.html")]
struct LoggedOut<'a> {
    tenant: &'a crate::ui::Brand,
}

#[derive(Template)]
#[template(path = "confirm_logout.html")]
struct ConfirmLogout<'a> {
    tenant: &'a crate::ui::Brand,
    token: &'a str,
}

/// The confirmation token of a logout form: bound to the session cookie, so only a page we
/// served to this browser can submit it (the cookie alone would do from any site once it is
/// `SameSite=None`).
fn confirmation_token(state: &AppState, session_cookie: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        state
            .hasher
            .hash(&format!("logout-confirmation:{session_cookie}")),
    )
}

/// Whether `given` is this session's confirmation token (constant time).
fn confirmed(state: &AppState, session_cookie: &str, given: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(given)
        .is_ok_and(|mac| {
            state
                .hasher
                .verify(&format!("logout-confirmation:{session_cookie}"), &mac)
        })
}

/// Ends the session in the cookie (if any) and says so in the log.
async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    client_id: Option<&str>,
) -> Result<(), OAuthError> {
    if let Some(id) = cookie(headers, SESSION_COOKIE) {
        let hash = state.hasher.hash(id);
        let now = time::OffsetDateTime::now_utc();
        let idle = state.catalog.tenant().await?.idle_session_lifetime();
        let session = state
            .stores
            .sessions
            .live_session(&hash, now, now - idle)
            .await?;
        state.stores.sessions.revoke_session(&hash, now).await?;
        if let Some(s) = session {
            let mut event = LogEvent::new("slo");
            event.description = Some("User successfully logged out".into());
            event.user_id = Some(s.user_id);
            event.client_id = client_id.map(str::to_owned);
            state.logs.record(event);
        }
    }
    Ok(())
}

fn finish(state: &AppState, tenant: &ui::Brand, to: Option<String>) -> Response {
    let mut r = match to {
        Some(url) => {
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&url) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        None => ui::render(StatusCode::OK, &LoggedOut { tenant }),
    };
    r.headers_mut()
        .append(header::SET_COOKIE, set_session_cookie(state, "", 0));
    r
}

/// Query of `/v2/logout`.
#[derive(Debug, Deserialize)]
pub struct V2Query {
    #[serde(rename = "returnTo")]
    return_to: Option<String>,
    client_id: Option<String>,
}

/// `GET /v2/logout`.
pub async fn v2_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<V2Query>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, OAuthError> {
    let tenant = crate::ui::brand(&state).await;
    let Ok(Query(q)) = query else {
        return Ok(ui::error_page(&tenant, "The logout request is malformed."));
    };
    let allowed: Vec<String> = match q.client_id.as_deref() {
        Some(id) => match state.catalog.client(id).await? {
            Some(c) => c.settings.allowed_logout_urls.clone(),
            None => return Ok(ui::error_page(&tenant, "Unknown client.")),
        },
        None => state.catalog.tenant().await?.allowed_logout_urls.clone(),
    };
    // Checked before the session ends, so a refused request changes nothing.
    let to = match q.return_to {
        Some(url) if redirect_uri::allowed(&allowed, &url, false) => Some(url),
        Some(_) => {
            return Ok(ui::error_page(
                &tenant,
                "The returnTo URL is not in the Allowed Logout URLs.",
            ));
        }
        None => allowed.first().cloned(),
    };
    end_session(&state, &headers, q.client_id.as_deref()).await?;
    Ok(finish(&state, &tenant, to))
}

/// Parameters of `/oidc/logout` (query or form).
#[derive(Debug, Default, Deserialize)]
pub struct OidcLogout {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    client_id: Option<String>,
    state: Option<String>,
    confirm: Option<String>,
}

/// `GET|POST /oidc/logout` (OpenID Connect RP-Initiated Logout 1.0).
pub async fn oidc_logout(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    // `Form` reads the query string on GET and the body on POST.
    form: Result<Form<OidcLogout>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let tenant = crate::ui::brand(&state).await;
    let Ok(Form(p)) = form else {
        return Ok(ui::error_page(&tenant, "The logout request is malformed."));
    };
    // The hint must be an ID token we signed; it may have expired (the spec allows it).
    let hint_aud: Option<String> = match p.id_token_hint.as_deref() {
        Some(t) => match state.keys.verify(t) {
            Ok(c) if c["iss"] == state.issuer.as_str() => c["aud"].as_str().map(str::to_owned),
            _ => return Ok(ui::error_page(&tenant, "The id_token_hint is not valid.")),
        },
        None => None,
    };
    if let (Some(a), Some(c)) = (&hint_aud, &p.client_id)
        && a != c
    {
        return Ok(ui::error_page(
            &tenant,
            "client_id does not match the id_token_hint.",
        ));
    }
    let client_id = hint_aud.or(p.client_id.clone());
    if client_id.is_none()
        && let Some(session_cookie) = cookie(&headers, SESSION_COOKIE)
    {
        // Without a hint anyone could log the user out from another site: ask first. Only a
        // POST of the form we served, with its token, confirms.
        let ok = method == Method::POST
            && p.confirm
                .as_deref()
                .is_some_and(|t| confirmed(&state, session_cookie, t));
        if !ok {
            let token = confirmation_token(&state, session_cookie);
            return Ok(ui::render(
                StatusCode::OK,
                &ConfirmLogout {
                    tenant: &tenant,
                    token: &token,
                },
            ));
        }
    }
    let to = match (&p.post_logout_redirect_uri, &client_id) {
        (Some(uri), Some(id)) => {
            let Some(client) = state.catalog.client(id).await? else {
                return Ok(ui::error_page(&tenant, "Unknown client."));
            };
            if !redirect_uri::allowed(&client.settings.allowed_logout_urls, uri, false) {
                return Ok(ui::error_page(
                    &tenant,
                    "The post_logout_redirect_uri is not in the Allowed Logout URLs.",
                ));
            }
            let mut url = uri.clone();
            if let Some(s) = &p.state {
                let q: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", s)
                    .finish();
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&q);
            }
            Some(url)
        }
        (Some(_), None) => {
            return Ok(ui::error_page(
                &tenant,
                "post_logout_redirect_uri needs id_token_hint or client_id.",
            ));
        }
        (None, _) => None,
    };
    end_session(&state, &headers, client_id.as_deref()).await?;
    Ok(finish(&state, &tenant, to))
}
