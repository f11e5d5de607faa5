//! Email verification: a one-time link sent after sign-up (and when the Management API
//! creates a user with `verify_email`), which sets `email_verified`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::log::LogEvent;
use gatehouse_core::user::User;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::error::OAuthError;
use crate::ui::{self, MessagePage};

const KIND: &str = "email_verification";
/// How long a verification link works (Auth0's default is five days).
const TICKET_LIFETIME: Duration = Duration::days(5);

/// Queues a verification link for `user` (see `crate::outbox`). Failures are logged, not raised: the account exists
/// either way, and the link can be sent again.
pub async fn send_verification(state: &AppState, user: &User) {
    let Some(email) = user.email.clone() else {
        return;
    };
    let binding = address_binding(state, &email);
    let stored = ui::ticket_link_for(
        state,
        KIND,
        &user.user_id,
        TICKET_LIFETIME,
        "u/email-verification",
        Some(&binding),
    )
    .await;
    let sent = match stored {
        Ok(link) => {
            let text = format!(
                "Please confirm that this is your email address by opening:\n{link}\n\nThe link works for five days, once.\n"
            );
            let mail = crate::outbox::Content::Email {
                to: email.clone(),
                from: None,
                subject: "Verify your email".into(),
                body: text,
            };
            crate::outbox::enqueue(state, KIND, &email, Some(mail)).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "verification email not queued");
    }
}

/// The address a link is sent to, as a keyed hash sealed into the ticket (the whole ticket
/// is what is stored hashed, so it cannot be changed): the link verifies that address only,
/// not whatever address the user has when it is opened. Case does not count.
fn address_binding(state: &AppState, email: &str) -> String {
    let mac = state
        .hasher
        .hash(&format!("{KIND}:{}", email.to_lowercase()));
    URL_SAFE_NO_PAD.encode(&mac[..16])
}

/// Whether `ticket` was sent to `email`. Links made before addresses were bound say
/// nothing about theirs, and so verify nothing.
fn sent_to(state: &AppState, ticket: &str, email: Option<&str>) -> bool {
    match (ui::ticket_subject(ticket), email) {
        (Some(bound), Some(email)) => bool::from(
            bound
                .as_bytes()
                .ct_eq(address_binding(state, email).as_bytes()),
        ),
        _ => false,
    }
}

/// Query of the verification link.
#[derive(Debug, Deserialize)]
pub struct TicketQuery {
    ticket: Option<String>,
}

/// `GET /u/email-verification?ticket=`: logs `sv` or `fv`.
pub async fn verify(
    State(state): State<AppState>,
    Query(q): Query<TicketQuery>,
) -> Result<Response, OAuthError> {
    let tenant = ui::brand(&state).await;
    let now = OffsetDateTime::now_utc();
    let ticket = q.ticket.unwrap_or_default();
    let user_id = if ticket.is_empty() {
        None
    } else {
        state
            .stores
            .sessions
            .use_ticket(&state.hasher.hash(&ticket), KIND, now)
            .await?
    };
    let user = match user_id {
        Some(id) => state.stores.users.user(&id).await?,
        None => None,
    };
    let Some(mut user) = user else {
        state.logs.record({
            let mut e = LogEvent::new("fv");
            e.description = Some("Invalid or used email verification link".into());
            e
        });
        return Ok(ui::error_page(
            &tenant,
            "This link has expired or was already used.",
        ));
    };
    if !sent_to(&state, &ticket, user.email.as_deref()) {
        let mut event = LogEvent::new("fv");
        event.description = Some("The link was sent to another address than the user's".into());
        event.user_id = Some(user.user_id.clone());
        state.logs.record(event);
        return Ok(ui::error_page(
            &tenant,
            "This link was sent to an email address this account no longer uses, so it cannot verify the current one. Ask for a new verification email.",
        ));
    }
    user.email_verified = true;
    user.updated_at = now;
    state.stores.users.update_user(&user).await?;
    let mut event = LogEvent::new("sv");
    event.description = Some("Email verified".into());
    event.user_id = Some(user.user_id.clone());
    state.logs.record(event);
    Ok(ui::render(
        StatusCode::OK,
        &MessagePage {
            tenant: &tenant,
            heading: "Email verified",
            message: "Thank you. You can close this window.",
        },
    ))
}
