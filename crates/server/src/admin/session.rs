//! The admin session: a sealed cookie (`gh_admin`, Path `/admin`, HttpOnly, SameSite=Strict)
//! naming the administrator, a CSRF token and an absolute expiry. Nothing is stored on the
//! server, so any replica serves it; what makes it revocable is that every request checks
//! the administrator again (still an administrator, not blocked), and that it lives
//! `SESSION_SECONDS` only.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::admin::SESSION_SECONDS;
use gatehouse_core::id::UserId;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::authn::cookies::{SameSite, cookie, cookie_header};
use crate::http::caller_info::CallerInfo;
use crate::http::client_ip::ClientIp;

/// The session cookie's name.
pub const COOKIE: &str = "gh_admin";
const CONTEXT: &str = "admin-session";

/// What the cookie holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminSession {
    /// The administrator's user id.
    pub user_id: String,
    /// Their email, for the page header.
    pub email: String,
    /// The token every form posts back (forms of other sites cannot read it).
    pub csrf: String,
    /// Unix time the session ends.
    pub exp: i64,
}

impl AdminSession {
    /// A new session for `user_id`, from now.
    pub fn new(state: &AppState, user_id: String, email: String) -> Self {
        AdminSession {
            user_id,
            email,
            csrf: crate::crypto::random_secret(24),
            exp: state.clock.now().unix_timestamp() + SESSION_SECONDS,
        }
    }

    /// The `Set-Cookie` header carrying it.
    pub fn cookie(&self, state: &AppState) -> HeaderValue {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let sealed = URL_SAFE_NO_PAD.encode(state.sealer.seal(CONTEXT, &json));
        cookie_header(
            state,
            COOKIE,
            &sealed,
            SESSION_SECONDS,
            "/admin",
            SameSite::Strict,
        )
    }

    /// The session a request's cookie holds, if it opens and has not ended.
    pub fn read(state: &AppState, headers: &HeaderMap) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(cookie(headers, COOKIE)?).ok()?;
        let json = state.sealer.open(CONTEXT, &bytes).ok()?;
        let s: AdminSession = serde_json::from_slice(&json).ok()?;
        (s.exp > state.clock.now().unix_timestamp()).then_some(s)
    }

    /// Whether `sent` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, sent: Option<&str>) -> bool {
        use subtle::ConstantTimeEq;
        sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(self.csrf.as_bytes())))
    }
}

/// The `Set-Cookie` that ends the session.
pub fn cleared(state: &AppState) -> HeaderValue {
    cookie_header(state, COOKIE, "", 0, "/admin", SameSite::Strict)
}

/// A signed-in administrator, checked on every request: the session opens, and its user is
/// still an administrator and not blocked. Otherwise the browser goes to sign in.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The session.
    pub session: AdminSession,
    /// Who is asking (address, user agent), for logs and password checks.
    pub caller: CallerInfo,
    /// The address the Management API calls made on their behalf count by.
    pub client_ip: Option<ClientIp>,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/admin/login").into_response();
        let Some(session) = AdminSession::read(state, &parts.headers) else {
            return Err(to_sign_in());
        };
        let user = state
            .stores
            .users
            .user(&UserId::from(session.user_id.as_str()))
            .await
            .map_err(|e| super::page::internal(e.into()))?;
        match user {
            Some(u) if !u.blocked && crate::mgmt::admins::is_admin(&u) => Ok(Admin {
                session,
                caller: CallerInfo::from_parts(parts),
                client_ip: parts.extensions.get::<ClientIp>().copied(),
            }),
            _ => {
                let mut r = to_sign_in();
                r.headers_mut()
                    .insert(axum::http::header::SET_COOKIE, cleared(state));
                Err(r)
            }
        }
    }
}
