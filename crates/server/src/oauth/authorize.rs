//! `GET /authorize`: the start of the authorization code flow (RFC 6749 s4.1, OIDC Core
//! s3.1.2, PKCE). A request whose client or redirect URI cannot be trusted gets an error
//! page and never a redirect; every later error goes back to the client with `state` and
//! `iss` (RFC 9207).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use gatehouse_core::client::Client;
use gatehouse_core::session::Session;

use crate::AppState;
use crate::authn::cookies::{CSRF_COOKIE, set_cookie};
use crate::authn::database_connection;
use crate::authn::login_page::login_page;
use crate::authn::request::{AuthorizeQuery, Checked, check_request};
use crate::authn::response::{blocked_to_client, error_to_client};
use crate::authn::session::current_session;
use crate::authn::transaction::{TX_LIFETIME, Transaction};
use crate::error::OAuthError;
use crate::oauth::authorization_response::issue_code;
use crate::pages;

/// The handler.
pub async fn authorize(
    State(state): State<AppState>,
    caller: crate::http::caller_info::CallerInfo,
    headers: HeaderMap,
    query: Result<Query<AuthorizeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, OAuthError> {
    let Ok(Query(mut q)) = query else {
        let tenant = crate::pages::brand(&state).await;
        return Ok(pages::error_page(
            &tenant,
            "The authorization request is malformed.",
        ));
    };
    q.accept_language = accept_language(&headers);
    let (client, tx, max_age, connection) = match check_request(&state, &q).await? {
        Checked::Valid(client, tx, max_age, connection) => (client, tx, max_age, connection),
        Checked::Refused(r) => return Ok(r),
    };
    // Embedded login (Lock, auth0.js): the ticket names who logged in, whatever the session.
    if let Some(ticket) = q.login_ticket.as_deref() {
        return crate::oauth::cross_origin::redeem(&state, &headers, &caller, &client, &tx, ticket)
            .await;
    }
    proceed(&state, &headers, &q, client, &tx, max_age, connection).await
}

/// The browser's `Accept-Language`, for the login pages' language.
pub fn accept_language(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// After an authorization request's checks (`/authorize`, a SAML provider's request): an
/// SSO session that counts answers at once; otherwise the login starts (upstream provider,
/// sign-up or login page).
pub async fn proceed(
    state: &AppState,
    headers: &HeaderMap,
    q: &AuthorizeQuery,
    client: Arc<Client>,
    tx: &Transaction,
    max_age: Option<i64>,
    connection: Option<gatehouse_core::connection::Connection>,
) -> Result<Response, OAuthError> {
    let prompt = q.prompt.as_deref().unwrap_or_default();
    // OIDC Core s3.1.2.1: an authentication older than max_age does not count.
    let now_ts = state.clock.now().unix_timestamp();
    let session = current_session(state, headers)
        .await?
        .filter(|s| max_age.is_none_or(|m| now_ts - s.auth_time <= m))
        .filter(|s| tx.connection.as_ref().is_none_or(|c| *c == s.connection));
    // A session made through a connection this application is not enabled on does not log
    // in to it (a staff session must not hand the shop a code): log in again instead.
    let session = match session {
        Some(s)
            if !database_connection::session_counts_for(
                state,
                &s.connection,
                &client.client_id,
            )
            .await? =>
        {
            None
        }
        other => other,
    };
    // A login through an upstream provider goes there instead of to our pages.
    let upstream = connection.filter(crate::upstream::is_upstream);
    match (session, prompt) {
        (Some(s), p) if p != "login" => {
            if crate::user_access::is_blocked(state, &s.user_id).await? {
                return refuse_blocked(state, &client, tx, &s, p == "none").await;
            }
            state
                .stores
                .sessions
                .touch_session(&s.id_hash, state.clock.now())
                .await?;
            issue_code(state, tx, &s, false).await
        }
        (_, "none") => Ok(error_to_client(
            state,
            tx,
            "login_required",
            "Login required",
        )),
        _ if let Some(connection) = &upstream => {
            crate::upstream::start(state, tx, connection).await
        }
        _ if q.screen_hint.as_deref() == Some("signup") => {
            let hint = q.login_hint.as_deref().unwrap_or_default();
            let mut r = crate::authn::login_page::signup_page(
                state,
                &client,
                tx,
                hint,
                None,
                StatusCode::OK,
            )
            .await?;
            r.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(state, CSRF_COOKIE, &tx.csrf, TX_LIFETIME),
            );
            Ok(r)
        }
        _ => {
            login_page(
                state,
                &client,
                tx,
                q.login_hint.as_deref().unwrap_or_default(),
                None,
                StatusCode::OK,
            )
            .await
        }
    }
}

/// A blocked user's session found on `/authorize`: it ends (blocking ends sessions; this
/// catches any left from before), and the user sees the login page saying they are blocked,
/// or, under `prompt=none`, the client gets the refusal.
async fn refuse_blocked(
    state: &AppState,
    client: &Arc<Client>,
    tx: &Transaction,
    session: &Session,
    silent: bool,
) -> Result<Response, OAuthError> {
    let ended = state
        .stores
        .sessions
        .revoke_session(&session.id_hash, state.clock.now())
        .await?;
    crate::backchannel::sessions_ended(state, ended.as_slice()).await;
    if silent {
        return Ok(blocked_to_client(state, tx));
    }
    login_page(state, client, tx, "", Some("user-blocked"), StatusCode::OK).await
}
