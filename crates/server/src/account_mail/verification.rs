//! The email verification link: sent after sign-up (and when the Management API creates a
//! user with `verify_email`); it verifies the address it was sent to and no other.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::user::User;
use subtle::ConstantTimeEq;
use time::Duration;

use crate::AppState;

/// The ticket kind of a verification link.
pub const KIND: &str = "email_verification";
/// How long a verification link works (Auth0's default is five days).
const TICKET_LIFETIME: Duration = Duration::days(5);

/// Queues a verification link for `user` (on the outbox). Failures are logged, not raised: the account exists
/// either way, and the link can be sent again.
pub async fn send_verification(state: &AppState, user: &User) {
    let Some(email) = user.email.clone() else {
        return;
    };
    let binding = address_binding(state, &email);
    let stored = super::ticket_link_for(
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
pub fn address_binding(state: &AppState, email: &str) -> String {
    let mac = state
        .hasher
        .hash(&format!("{KIND}:{}", email.to_lowercase()));
    URL_SAFE_NO_PAD.encode(&mac[..16])
}

/// Whether `ticket` was sent to `email`. Links made before addresses were bound say
/// nothing about theirs, and so verify nothing.
pub fn sent_to(state: &AppState, ticket: &str, email: Option<&str>) -> bool {
    match (super::ticket_subject(ticket), email) {
        (Some(bound), Some(email)) => bool::from(
            bound
                .as_bytes()
                .ct_eq(address_binding(state, email).as_bytes()),
        ),
        _ => false,
    }
}
