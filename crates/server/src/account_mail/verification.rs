//! The email verification link: sent after sign-up (and when the Management API creates a
//! user with `verify_email`); it verifies the address it was sent to and no other.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::user::User;
use subtle::ConstantTimeEq;
use time::Duration;

use super::template;
use crate::AppState;

/// The ticket kind of a verification link.
pub const KIND: &str = "email_verification";
/// How long a verification link works (Auth0's default is five days).
const TICKET_LIFETIME: Duration = Duration::days(5);

/// Queues a verification link for `user` (on the outbox), as the tenant's `verify_email`
/// template has it (nothing when the tenant turned it off). Failures are logged, not raised:
/// the account exists either way, and the link can be sent again.
pub async fn send_verification(state: &AppState, user: &User) {
    let Some(email) = user.email.clone() else {
        return;
    };
    let Ok(template) = template::template(state, "verify_email").await else {
        return;
    };
    let binding = address_binding(state, &email);
    let (lifetime, options) = template::link_settings(template.as_ref(), TICKET_LIFETIME);
    let ticket = super::Ticket {
        kind: KIND,
        user_id: &user.user_id,
        lifetime,
        path: "u/email-verification",
        subject: Some(&binding),
        options: Some(&options),
    };
    let sent = match super::ticket_link_with(state, &ticket).await {
        Ok(link) => {
            let vars = template::MailVars {
                user: Some(user),
                url: Some(&link),
                ..Default::default()
            };
            let composed = template::compose(state, "verify_email", &vars, || {
                let text = format!(
                    "Please confirm that this is your email address by opening:\n{link}\n\nThe link works for five days, once.\n"
                );
                ("Verify your email".to_owned(), text)
            })
            .await;
            match composed {
                Some(mail) => super::queue(state, KIND, &email, mail).await,
                None => Ok(()),
            }
        }
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "verification email not queued");
    }
}

/// Queues the tenant's `welcome_email` for `user`, when the tenant has one enabled (Auth0
/// sends none otherwise): after the address is verified, or at sign-up when the tenant
/// turned the verification email off.
pub async fn send_welcome(state: &AppState, user: &User) {
    let Some(email) = user.email.clone() else {
        return;
    };
    if !matches!(
        template::template(state, "welcome_email").await,
        Ok(Some(_))
    ) {
        return;
    }
    let vars = template::MailVars {
        user: Some(user),
        ..Default::default()
    };
    // The fallback is never used: the template exists.
    let composed = template::compose(state, "welcome_email", &vars, Default::default).await;
    if let Some(mail) = composed
        && let Err(e) = super::queue(state, "welcome_email", &email, mail).await
    {
        tracing::warn!(error = %e, "welcome email not queued");
    }
}

/// Whether the tenant turned the verification email off (then sign-up welcomes at once).
pub async fn verification_is_off(state: &AppState) -> bool {
    template::template(state, "verify_email").await.is_err()
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
