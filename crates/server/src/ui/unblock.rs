//! Brute-force unblock: when failed logins block a user from one address, the user is
//! emailed a one-time link; the page behind it asks for a click (a POST, so that a mail
//! scanner fetching the link unblocks nothing), then lifts the user's blocks.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_core::id::UserId;
use gatehouse_core::log_type::LogType;
use serde::Deserialize;

use crate::AppState;
use crate::error::OAuthError;
use crate::pages::{self, MessagePage};

use crate::account_mail::unblock::KIND;

#[derive(Template)]
#[template(path = "unblock.html")]
struct UnblockPage<'a> {
    tenant: &'a pages::Brand,
    t: pages::Texts,
    ticket: &'a str,
}

/// The ticket, in the link's query or the form.
#[derive(Debug, Deserialize)]
pub struct Ticket {
    ticket: Option<String>,
}

fn expired(tenant: &pages::Brand) -> Response {
    let t = tenant.texts(
        "brute-force-protection",
        "brute-force-protection-unblock-failure",
    );
    pages::error_page(tenant, &t.get("description"))
}

/// `GET /u/unblock?ticket=`: the confirmation page (the ticket is not used up here).
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Ticket>,
) -> Result<Response, OAuthError> {
    let tenant = pages::brand_for(&state, &headers).await;
    let Some(ticket) = q.ticket else {
        return Ok(expired(&tenant));
    };
    let now = state.clock.now();
    let hash = state.hasher.hash(&ticket);
    if state
        .stores
        .sessions
        .ticket_user(&hash, KIND, now)
        .await?
        .is_none()
    {
        return Ok(expired(&tenant));
    }
    Ok(pages::render(
        StatusCode::OK,
        &UnblockPage {
            t: tenant.texts("brute-force-protection", "brute-force-protection-unblock"),
            tenant: &tenant,
            ticket: &ticket,
        },
    ))
}

/// `POST /u/unblock`: uses the ticket and clears every block of its user.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Ticket>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let tenant = pages::brand_for(&state, &headers).await;
    let Some(ticket) = form.ok().and_then(|Form(f)| f.ticket) else {
        return Ok(expired(&tenant));
    };
    let now = state.clock.now();
    let Some(user_id) = state
        .stores
        .sessions
        .use_ticket(&state.hasher.hash(&ticket), KIND, now)
        .await?
    else {
        return Ok(expired(&tenant));
    };
    state
        .stores
        .users
        .clear_login_failures(&UserId::from(&user_id), None)
        .await?;
    let mut event = crate::audit::event(&state.clock, LogType::UserBlockReleased);
    event.description = Some("User unblocked through the emailed link".into());
    event.user_id = Some(user_id);
    state.logs.record(event);
    let t = tenant.texts(
        "brute-force-protection",
        "brute-force-protection-unblock-success",
    );
    Ok(pages::render(
        StatusCode::OK,
        &MessagePage {
            tenant: &tenant,
            heading: &t.get("title"),
            message: &t.get("description"),
        },
    ))
}
