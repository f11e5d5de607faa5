//! Mails that carry a one-time link (email verification, password reset, brute-force
//! unblock): the links are tickets stored hashed; the mails are queued on the outbox. Any
//! flow may send them (sign-up, the password checks, reset requests, the Management API),
//! so they live below all of them.

pub mod reset;
pub mod unblock;
pub mod verification;

use gatehouse_core::id::UserId;
use gatehouse_core::store::StoreError;

use crate::AppState;

/// Stores a new one-time ticket of `kind` for `user_id` (hashed) and returns the emailed
/// link to `path` that carries it.
pub async fn ticket_link(
    state: &AppState,
    kind: &str,
    user_id: &str,
    lifetime: time::Duration,
    path: &str,
) -> Result<String, StoreError> {
    ticket_link_for(state, kind, user_id, lifetime, path, None).await
}

/// [`ticket_link`] with `subject` (URL-safe text, e.g. which identity) sealed into the
/// ticket: the whole ticket is what is hashed, so the subject cannot be changed without
/// making the ticket unknown. [`ticket_subject`] reads it back.
pub async fn ticket_link_for(
    state: &AppState,
    kind: &str,
    user_id: &str,
    lifetime: time::Duration,
    path: &str,
    subject: Option<&str>,
) -> Result<String, StoreError> {
    let mut ticket = crate::crypto::random_secret(32);
    if let Some(s) = subject {
        ticket.push('.');
        ticket.push_str(s);
    }
    let now = state.clock.now();
    state
        .stores
        .sessions
        .insert_ticket(
            &state.hasher.hash(&ticket),
            kind,
            &UserId::from(user_id),
            now,
            now + lifetime,
        )
        .await?;
    Ok(format!("{}{path}?ticket={ticket}", state.issuer))
}

/// The subject a ticket was made with by [`ticket_link_for`], if any.
pub fn ticket_subject(ticket: &str) -> Option<&str> {
    ticket.split_once('.').map(|(_, s)| s)
}
