//! Cross-origin authentication, as Auth0's embedded login libraries (Lock, auth0.js) use it:
//! a page of the application's own origin posts the credentials to `/co/authenticate`
//! (`authenticate.rs`) and gets a login ticket, which `/authorize?login_ticket=` redeems
//! (`redeem` here). The ticket is sealed, lives two minutes, is used once (on every
//! replica), names its client, and is bound to the browser by the `gh_co` cookie that
//! `/co/authenticate` set. Where that cookie does not travel (third-party cookies blocked),
//! `verify.rs` proves the browser instead with the verifier the page kept
//! (`webAuth.crossOriginVerification()` on the application's `cross_origin_loc`).

pub mod authenticate;
pub mod verify;

use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::client::Client;
use gatehouse_core::id::{ClientId, ConnectionName, UserId};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::authn::cookies::cookie;
use crate::authn::response::{blocked_to_client, error_to_client};
use crate::authn::transaction::Transaction;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;

/// The cookie binding login tickets to the browser that asked for them.
pub const BINDING_COOKIE: &str = "gh_co";
/// How long a ticket may wait to be redeemed (seconds).
const TICKET_LIFETIME: i64 = 120;
/// The sealing context of tickets.
const TICKET_CONTEXT: &str = "login_ticket";

/// What a login ticket proves: who logged in, through which connection, for which client.
#[derive(Serialize, Deserialize)]
struct Ticket {
    client_id: ClientId,
    user_id: UserId,
    connection: ConnectionName,
    /// Names the ticket (its one use is recorded under it) and its verifier at the page.
    co_id: String,
    /// Keyed hash of the verifier the page keeps.
    verifier: Vec<u8>,
    /// Keyed hash of the binding cookie.
    binding: Vec<u8>,
    exp: i64,
}

impl Ticket {
    fn seal(&self, state: &AppState) -> Result<String, OAuthError> {
        let json = serde_json::to_vec(self).map_err(|e| OAuthError::Internal(e.into()))?;
        Ok(URL_SAFE_NO_PAD.encode(state.sealer.seal(TICKET_CONTEXT, &json)))
    }

    /// The ticket sealed in `sealed`, if it is ours, for `client` and not expired.
    fn open(state: &AppState, sealed: &str, client: &ClientId) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let json = state.sealer.open(TICKET_CONTEXT, &raw).ok()?;
        let ticket: Self = serde_json::from_slice(&json).ok()?;
        (ticket.client_id == *client && ticket.exp > state.clock.now().unix_timestamp())
            .then_some(ticket)
    }

    /// Whether this browser holds the cookie the ticket is bound to.
    fn bound_to(&self, state: &AppState, headers: &HeaderMap) -> bool {
        cookie(headers, BINDING_COOKIE)
            .is_some_and(|c| bool::from(state.hasher.hash(c).ct_eq(&self.binding)))
    }

    /// Whether `verifier` is the one the page was given.
    fn verified_by(&self, state: &AppState, verifier: &str) -> bool {
        !verifier.is_empty() && bool::from(state.hasher.hash(verifier).ct_eq(&self.verifier))
    }
}

/// `/authorize` with a `login_ticket`: logs in the user the ticket names (whoever this
/// browser's session belongs to) and answers the request like any login. Without the
/// binding cookie, the verification page of the application's `cross_origin_loc`.
pub async fn redeem(
    state: &AppState,
    headers: &HeaderMap,
    caller: &CallerInfo,
    client: &Client,
    tx: &Transaction,
    sealed: &str,
) -> Result<Response, OAuthError> {
    let Some(ticket) = Ticket::open(state, sealed, &client.client_id) else {
        return Ok(refused(state, tx));
    };
    if ticket.bound_to(state, headers) {
        return finish(state, caller, tx, ticket).await;
    }
    match client.settings.cross_origin_loc() {
        Some(page) => verify::page(state, tx, sealed, &ticket.co_id, page).await,
        None => Ok(refused(state, tx)),
    }
}

fn refused(state: &AppState, tx: &Transaction) -> Response {
    error_to_client(
        state,
        tx,
        "access_denied",
        "The login ticket is not valid, was used, or belongs to another browser",
    )
}

/// Uses the ticket (once) and ends the login.
async fn finish(
    state: &AppState,
    caller: &CallerInfo,
    tx: &Transaction,
    ticket: Ticket,
) -> Result<Response, OAuthError> {
    let now = state.clock.now();
    let first = state
        .stores
        .sessions
        .use_once(
            &state
                .hasher
                .hash(&format!("{TICKET_CONTEXT}:{}", ticket.co_id)),
            now + time::Duration::seconds(TICKET_LIFETIME),
            now,
        )
        .await?;
    if !first {
        return Ok(refused(state, tx));
    }
    let Some(user) = state.stores.users.user(&ticket.user_id).await? else {
        return Ok(refused(state, tx));
    };
    // Blocked since the ticket was made.
    if user.blocked {
        return Ok(blocked_to_client(state, tx));
    }
    crate::oauth::authorization_response::complete_login(
        state,
        tx,
        &user,
        &ticket.connection,
        caller,
    )
    .await
}
