//! Brute-force unblock: when failed logins block a user from one address, the user is
//! emailed a one-time link; the page behind it asks for a click (a POST, so that a mail
//! scanner fetching the link unblocks nothing), then lifts the user's blocks.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_core::log::LogEvent;
use gatehouse_core::user::User;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::error::OAuthError;
use crate::ui::{self, MessagePage};

const KIND: &str = "unblock";
/// How long an unblock link works.
const TICKET_LIFETIME: Duration = Duration::days(1);

#[derive(Template)]
#[template(path = "unblock.html")]
struct UnblockPage<'a> {
    tenant: &'a ui::Brand,
    ticket: &'a str,
}

/// Queues an unblock link for `user` after a block from `ip` (see `crate::outbox`). Failures are logged, not raised:
/// the login answer is the same either way, and an administrator can still unblock.
pub async fn send_unblock_link(state: &AppState, user: &User, ip: &str) {
    let Some(email) = user.email.clone() else {
        return;
    };
    let sent = match ui::ticket_link(state, KIND, &user.user_id, TICKET_LIFETIME, "u/unblock").await
    {
        Ok(link) => {
            let text = format!(
                "Your account was blocked after too many failed logins from the address {ip}.\n\n\
                 If that was you, unblock it by opening:\n{link}\n\n\
                 The link works for one day, once. If it was not you, someone may be guessing \
                 your password: consider changing it.\n"
            );
            let mail = crate::outbox::Content::Email {
                to: email.clone(),
                from: None,
                subject: "Your account has been blocked".into(),
                body: text,
            };
            crate::outbox::enqueue(state, KIND, &email, Some(mail)).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "unblock email not queued");
    }
}

/// The ticket, in the link's query or the form.
#[derive(Debug, Deserialize)]
pub struct Ticket {
    ticket: Option<String>,
}

async fn expired(state: &AppState) -> Response {
    ui::error_page(
        &ui::brand(state).await,
        "This link has expired or was already used.",
    )
}

/// `GET /u/unblock?ticket=`: the confirmation page (the ticket is not used up here).
pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<Ticket>,
) -> Result<Response, OAuthError> {
    let Some(ticket) = q.ticket else {
        return Ok(expired(&state).await);
    };
    let now = OffsetDateTime::now_utc();
    let hash = state.hasher.hash(&ticket);
    if state
        .stores
        .sessions
        .ticket_user(&hash, KIND, now)
        .await?
        .is_none()
    {
        return Ok(expired(&state).await);
    }
    let tenant = ui::brand(&state).await;
    Ok(ui::render(
        StatusCode::OK,
        &UnblockPage {
            tenant: &tenant,
            ticket: &ticket,
        },
    ))
}

/// `POST /u/unblock`: uses the ticket and clears every block of its user.
pub async fn submit(
    State(state): State<AppState>,
    form: Result<Form<Ticket>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let Some(ticket) = form.ok().and_then(|Form(f)| f.ticket) else {
        return Ok(expired(&state).await);
    };
    let now = OffsetDateTime::now_utc();
    let Some(user_id) = state
        .stores
        .sessions
        .use_ticket(&state.hasher.hash(&ticket), KIND, now)
        .await?
    else {
        return Ok(expired(&state).await);
    };
    state
        .stores
        .users
        .clear_login_failures(&user_id, None)
        .await?;
    let mut event = LogEvent::new("ublkdu");
    event.description = Some("User unblocked through the emailed link".into());
    event.user_id = Some(user_id);
    state.logs.record(event);
    let tenant = ui::brand(&state).await;
    Ok(ui::render(
        StatusCode::OK,
        &MessagePage {
            tenant: &tenant,
            heading: "Account unblocked",
            message: "You can log in again.",
        },
    ))
}
