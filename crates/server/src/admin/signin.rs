//! Signing administrators in through gatehouse itself: the dashboard is an OpenID Connect
//! client of its own server (authorization code with PKCE and a nonce, `prompt=login` so an
//! SSO session never stands in for the password, the administrators' connection only), and
//! it redeems the code in-process through the token endpoint's own pipeline, so the login
//! and the exchange are logged and limited as any application's are.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::admin::ADMIN_CONNECTION;
use gatehouse_core::id::UserId;
use serde::{Deserialize, Serialize};

use super::page::{self, Flash};
use super::session::{AdminSession, cleared};
use crate::AppState;
use crate::authn::cookies::{SameSite, cookie, cookie_header};
use crate::http::caller_info::CallerInfo;
use crate::oauth::params::Params;

const PENDING_COOKIE: &str = "gh_admin_signin";
const PENDING_CONTEXT: &str = "admin-signin";
/// How long a sign-in may take at the login page.
const PENDING_SECONDS: i64 = 600;

/// What the browser carries from `/admin/login` to `/admin/callback` (sealed).
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    exp: i64,
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}admin/callback", state.issuer)
}

/// `GET /admin/login`: to the login page of the administrators' connection.
pub async fn login(State(state): State<AppState>) -> Response {
    let pending = Pending {
        state: crate::crypto::random_secret(24),
        nonce: crate::crypto::random_secret(24),
        verifier: crate::crypto::random_secret(48),
        exp: state.clock.now().unix_timestamp() + PENDING_SECONDS,
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", state.dashboard_client_id.as_str())
        .append_pair("redirect_uri", &redirect_uri(&state))
        .append_pair("scope", "openid profile email")
        .append_pair("connection", ADMIN_CONNECTION)
        .append_pair("prompt", "login")
        .append_pair("state", &pending.state)
        .append_pair("nonce", &pending.nonce)
        .append_pair(
            "code_challenge",
            &gatehouse_core::pkce::challenge(&pending.verifier),
        )
        .append_pair("code_challenge_method", "S256")
        .finish();
    let json = serde_json::to_vec(&pending).unwrap_or_default();
    let sealed = URL_SAFE_NO_PAD.encode(state.sealer.seal(PENDING_CONTEXT, &json));
    // Lax: the callback arrives as a top-level navigation from the login page.
    let set = cookie_header(
        &state,
        PENDING_COOKIE,
        &sealed,
        PENDING_SECONDS,
        "/admin",
        SameSite::Lax,
    );
    let mut r = Redirect::to(&format!("/authorize?{query}")).into_response();
    r.headers_mut().insert(header::SET_COOKIE, set);
    r
}

fn pending(state: &AppState, headers: &HeaderMap) -> Option<Pending> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cookie(headers, PENDING_COOKIE)?)
        .ok()?;
    let json = state.sealer.open(PENDING_CONTEXT, &bytes).ok()?;
    let p: Pending = serde_json::from_slice(&json).ok()?;
    (p.exp > state.clock.now().unix_timestamp()).then_some(p)
}

/// The callback's query.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /admin/callback`: the code redeemed, the ID token checked, the user confirmed an
/// administrator, the session set.
pub async fn callback(
    State(state): State<AppState>,
    caller: CallerInfo,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let refused = |message: &str| page::signed_out(Flash::error(message));
    if let Some(error) = q.error {
        return refused(&format!(
            "Sign-in failed: {}",
            q.error_description.unwrap_or(error)
        ));
    }
    let Some(p) = pending(&state, &headers) else {
        return refused("This sign-in expired or was started in another browser. Sign in again.");
    };
    let same_state = q.state.as_deref().is_some_and(|s| {
        use subtle::ConstantTimeEq;
        bool::from(s.as_bytes().ct_eq(p.state.as_bytes()))
    });
    let (true, Some(code)) = (same_state, q.code) else {
        return refused("This sign-in does not match the one this browser started.");
    };
    let redirect = redirect_uri(&state);
    let params = Params::from_pairs([
        ("grant_type", "authorization_code"),
        ("client_id", state.dashboard_client_id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", p.verifier.as_str()),
    ]);
    let tokens =
        match crate::oauth::token::token(State(state.clone()), caller, HeaderMap::new(), params)
            .await
        {
            Ok(t) => t,
            Err(e) => return refused(&format!("Sign-in failed: {}", e.description())),
        };
    let Some(claims) = tokens
        .id_token
        .as_deref()
        .and_then(|t| state.keys.verify(t).ok())
    else {
        return refused("Sign-in failed: no valid ID token.");
    };
    if claims["nonce"] != p.nonce.as_str() || claims["aud"] != state.dashboard_client_id.as_str() {
        return refused("Sign-in failed: the ID token is not this sign-in's.");
    }
    let user_id = claims["sub"].as_str().unwrap_or_default();
    let user = match state.stores.users.user(&UserId::from(user_id)).await {
        Ok(u) => u,
        Err(e) => return page::internal(e.into()),
    };
    let Some(user) = user.filter(|u| !u.blocked && crate::mgmt::admins::is_admin(u)) else {
        return refused("Only administrators may sign in to the dashboard.");
    };
    let session = AdminSession::new(
        &state,
        user.user_id.to_string(),
        user.email.clone().unwrap_or_default(),
    );
    let mut r = Redirect::to("/admin/").into_response();
    let h = r.headers_mut();
    h.append(header::SET_COOKIE, session.cookie(&state));
    h.append(
        header::SET_COOKIE,
        cookie_header(&state, PENDING_COOKIE, "", 0, "/admin", SameSite::Lax),
    );
    r
}

/// `POST /admin/logout`: the admin session ends, then the SSO session at `/v2/logout`.
pub async fn logout(State(state): State<AppState>, _signed_in: page::Posted) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", state.dashboard_client_id.as_str())
        .append_pair("returnTo", &format!("{}admin/", state.issuer))
        .finish();
    let mut r = Redirect::to(&format!("/v2/logout?{query}")).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cleared(&state));
    r
}
