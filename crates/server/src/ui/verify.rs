//! Email verification: a one-time link sent after sign-up (and when the Management API
//! creates a user with `verify_email`), which sets `email_verified`.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_core::id::UserId;
use gatehouse_core::log_type::LogType;
use serde::Deserialize;

use crate::AppState;
use crate::account_mail::verification::{KIND, sent_to};
use crate::error::OAuthError;
use crate::pages::{self, MessagePage};

/// Query of the verification link.
#[derive(Debug, Deserialize)]
pub struct TicketQuery {
    ticket: Option<String>,
}

/// `GET /u/email-verification?ticket=`: logs `sv` or `fv`.
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Result<Response, OAuthError> {
    let tenant = pages::brand_for(&state, &headers).await;
    let t = tenant.texts("email-verification", "email-verification-result");
    let now = state.clock.now();
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
        Some(id) => state.stores.users.user(&UserId::from(id)).await?,
        None => None,
    };
    let Some(mut user) = user else {
        state.logs.record({
            let mut e = crate::audit::event(&state.clock, LogType::FailedVerificationEmail);
            e.description = Some("Invalid or used email verification link".into());
            e
        });
        return Ok(pages::error_page(
            &tenant,
            &t.get("invalidAccountOrCodeDescription"),
        ));
    };
    if !sent_to(&state, &ticket, user.email.as_deref()) {
        let mut event = crate::audit::event(&state.clock, LogType::FailedVerificationEmail);
        event.description = Some("The link was sent to another address than the user's".into());
        event.user_id = Some(user.user_id.clone().into_string());
        state.logs.record(event);
        return Ok(pages::error_page(
            &tenant,
            "This link was sent to an email address this account no longer uses, so it cannot verify the current one. Ask for a new verification email.",
        ));
    }
    user.email_verified = true;
    user.updated_at = now;
    state.stores.users.update_user(&user).await?;
    let mut event = crate::audit::event(&state.clock, LogType::SuccessVerificationEmail);
    event.description = Some("Email verified".into());
    event.user_id = Some(user.user_id.clone().into_string());
    state.logs.record(event);
    crate::account_mail::verification::send_welcome(&state, &user).await;
    let options = crate::account_mail::ticket_options(&ticket);
    let message = "Your email was verified. You can continue using the application.";
    if let Some(to) = crate::account_mail::result_redirect(&options, message, user.email.as_deref())
    {
        return Ok(axum::response::IntoResponse::into_response(
            axum::response::Redirect::to(&to),
        ));
    }
    Ok(pages::render(
        StatusCode::OK,
        &MessagePage {
            tenant: &tenant,
            heading: &t.get("verifiedTitle"),
            message: &t.get("verifiedDescription"),
        },
    ))
}
