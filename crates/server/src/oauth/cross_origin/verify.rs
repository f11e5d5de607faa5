//! The cross-origin verification fallback. When `/authorize` gets a login ticket without
//! its binding cookie (the browser blocks third-party cookies, so `/co/authenticate` could
//! not set it), it answers a page on our origin that frames the application's
//! `cross_origin_loc` (`#origin=<our origin>`), asks it for the ticket's verifier
//! (`co_verifier_request` / `co_verifier_response`, as `webAuth.crossOriginVerification()`
//! speaks), and posts it to `/co/verify`, which accepts the ticket when the verifier is the
//! one `/co/authenticate` gave that page.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Ticket, finish, refused};
use crate::AppState;
use crate::authn::transaction::Transaction;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::pages;

/// The page asking the application's verification page for the verifier.
pub async fn page(
    state: &AppState,
    tx: &Transaction,
    ticket: &str,
    co_id: &str,
    loc: &str,
) -> Result<Response, OAuthError> {
    let ours = gatehouse_core::authorize_request::origin_of(&state.issuer).unwrap_or_default();
    let Some(target) = gatehouse_core::authorize_request::origin_of(loc) else {
        return Ok(refused(state, tx));
    };
    let frame = format!(
        "{}#origin={}",
        loc.split('#').next().unwrap_or(loc),
        url::form_urlencoded::byte_serialize(ours.as_bytes()).collect::<String>()
    );
    Ok(pages::render(
        StatusCode::OK,
        &pages::CrossOriginVerification {
            frame: &frame,
            action: &format!("{}co/verify", state.issuer),
            ticket,
            tx: &tx.seal(state)?,
            target: pages::script_json(&serde_json::json!(target)),
            co_id: pages::script_json(&serde_json::json!(co_id)),
        },
    ))
}

/// What the page posts.
#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    login_ticket: String,
    #[serde(default)]
    tx: String,
    #[serde(default)]
    verifier: String,
}

/// `POST /co/verify`.
pub async fn verify(
    State(state): State<AppState>,
    caller: CallerInfo,
    form: Result<Form<VerifyForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let invalid = || async {
        let tenant = pages::brand(&state).await;
        Ok(pages::error_page(
            &tenant,
            "This login could not be verified. Go back to the application and start again.",
        ))
    };
    let Ok(Form(form)) = form else {
        return invalid().await;
    };
    let Some(tx) = Transaction::open(&state, &form.tx) else {
        return invalid().await;
    };
    let ticket = Ticket::open(&state, &form.login_ticket, &tx.client_id)
        .filter(|t| t.verified_by(&state, &form.verifier));
    match ticket {
        Some(ticket) => finish(&state, &caller, &tx, ticket).await,
        None => Ok(refused(&state, &tx)),
    }
}
