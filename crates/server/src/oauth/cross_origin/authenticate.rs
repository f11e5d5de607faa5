//! `POST /co/authenticate` and its preflight: a page of an application's web origin sends a
//! username and password (or a passwordless code) with credentials, and gets a login ticket
//! for `/authorize`. CORS here is per application and with credentials: only origins in
//! `web_origins`/`allowed_origins` of a client with `cross_origin_authentication` on, echoed
//! exactly, with `Access-Control-Allow-Credentials` (no other endpoint sends it). A refused
//! origin gets no CORS headers, so its page cannot read the answer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ORIGIN, SET_COOKIE, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::client::Client;
use gatehouse_core::id::ClientId;
use gatehouse_core::log_type::LogType;
use serde::Deserialize;
use serde_json::json;

use super::{BINDING_COOKIE, TICKET_LIFETIME, Ticket};
use crate::AppState;
use crate::authn::cookies::{SameSite, cookie, cookie_header};
use crate::authn::direct_login;
use crate::crypto::random_secret;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;

/// auth0.js's `credential_type` for a password (with a `realm`).
const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
/// auth0.js's `credential_type` for a passwordless code.
const PASSWORDLESS_OTP: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";

/// What auth0.js posts.
#[derive(Debug, Deserialize)]
pub struct CoRequest {
    client_id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    otp: Option<String>,
    #[serde(default)]
    realm: Option<String>,
    #[serde(default)]
    credential_type: Option<String>,
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(ORIGIN).and_then(|o| o.to_str().ok())
}

/// The CORS headers of an answer to `origin`.
fn allow(response: &mut Response, origin: &str) {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// `OPTIONS /co/authenticate`.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = origin(&headers) else {
        return r;
    };
    let known = state
        .catalog
        .cross_origin_origins()
        .await
        .is_ok_and(|set| set.contains(origin));
    if known {
        allow(&mut r, origin);
        let h = r.headers_mut();
        h.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        h.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, auth0-client"),
        );
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    r
}

/// Whether `client` lets pages of `origin` authenticate across origins.
fn lets(client: &Client, origin: &str) -> bool {
    client.settings.cross_origin_authentication()
        && client.settings.web_origins().any(|o| o == origin)
}

/// `POST /co/authenticate`.
pub async fn authenticate(
    State(state): State<AppState>,
    caller: CallerInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let refused = || {
        let mut r = OAuthError::AccessDenied(
            "Cross-origin authentication is not allowed from this origin".into(),
        )
        .into_response();
        r.headers_mut()
            .insert(VARY, HeaderValue::from_static("Origin"));
        r
    };
    let Some(origin) = origin(&headers).map(str::to_owned) else {
        return Ok(refused());
    };
    let request: CoRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => {
            return Ok(
                OAuthError::InvalidRequest("The body must be a JSON object".into()).into_response(),
            );
        }
    };
    let client = state
        .catalog
        .client(&ClientId::from(request.client_id.as_str()))
        .await?;
    let Some(client) = client.filter(|c| lets(c, &origin)) else {
        return Ok(refused());
    };
    let mut event = crate::audit::event(&state.clock, LogType::FailedCrossOriginAuthentication);
    event.ip = caller.ip.clone();
    event.user_agent = caller.user_agent.clone();
    event.client_id = Some(client.client_id.to_string());
    event.client_name = Some(client.name.clone());
    let held = cookie(&headers, BINDING_COOKIE);
    let outcome = log_in(&state, &client, &request, (&caller, held), &mut event).await;
    let mut response = match outcome {
        Ok((ticket, verifier, binding)) => {
            event.kind = LogType::SuccessCrossOriginAuthentication;
            state.logs.record(event);
            let co_id = ticket.co_id.clone();
            let mut r = Json(json!({
                "login_ticket": ticket.seal(&state)?,
                "co_verifier": verifier,
                "co_id": co_id,
            }))
            .into_response();
            r.headers_mut().append(
                SET_COOKIE,
                cookie_header(
                    &state,
                    BINDING_COOKIE,
                    &binding,
                    TICKET_LIFETIME,
                    "/authorize",
                    SameSite::CrossSite,
                ),
            );
            r
        }
        Err(e) => {
            event.description = Some(e.to_string());
            state.logs.record(event);
            answer_error(e)
        }
    };
    allow(&mut response, &origin);
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("Origin"));
    Ok(response)
}

/// Lock shows "Wrong email or password." only for `access_denied`; the token endpoint's
/// `invalid_grant` is that here (Auth0's `/co/authenticate` answers so).
fn answer_error(e: OAuthError) -> Response {
    match e {
        OAuthError::InvalidGrant(d) => OAuthError::AccessDenied(d).into_response(),
        other => other.into_response(),
    }
}

/// Checks the credentials; the ticket, the page's verifier and the binding cookie's value
/// (the one this browser `held`, if any).
async fn log_in(
    state: &AppState,
    client: &Client,
    request: &CoRequest,
    (caller, held): (&CallerInfo, Option<&str>),
    event: &mut gatehouse_core::log::LogEvent,
) -> Result<(Ticket, String, String), OAuthError> {
    let username = request
        .username
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| OAuthError::InvalidRequest("username is required".into()))?;
    let (connection, user) = match request.credential_type.as_deref() {
        Some(PASSWORD_REALM) | Some("password") | None => {
            let password = request
                .password
                .as_deref()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| OAuthError::InvalidRequest("password is required".into()))?;
            let realm = request.realm.as_deref();
            direct_login::password(state, client, realm, (username, password), caller, event)
                .await?
        }
        Some(PASSWORDLESS_OTP) => {
            let realm = request
                .realm
                .as_deref()
                .ok_or_else(|| OAuthError::InvalidRequest("realm is required".into()))?;
            let code = request
                .otp
                .as_deref()
                .ok_or_else(|| OAuthError::InvalidRequest("otp is required".into()))?;
            direct_login::code(state, client, realm, (username, code), caller, event).await?
        }
        Some(other) => {
            return Err(OAuthError::InvalidRequest(format!(
                "credential_type {other} is not supported"
            )));
        }
    };
    let verifier = random_secret(32);
    // One binding per browser: a second ticket keeps the first one usable.
    let binding = held
        .filter(|c| c.len() >= 32)
        .map_or_else(|| random_secret(32), str::to_owned);
    let ticket = Ticket {
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        connection: connection.name.clone(),
        co_id: random_secret(16),
        verifier: state.hasher.hash(&verifier),
        binding: state.hasher.hash(&binding),
        exp: state.clock.now().unix_timestamp() + TICKET_LIFETIME,
    };
    Ok((ticket, verifier, binding))
}
