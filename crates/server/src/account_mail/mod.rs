//! Mails that carry a one-time link (email verification, password reset, brute-force
//! unblock): the links are tickets stored hashed; the mails are queued on the outbox. Any
//! flow may send them (sign-up, the password checks, reset requests, the Management API),
//! so they live below all of them.

pub mod layout;
pub mod reset;
pub mod template;
pub mod unblock;
pub mod verification;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::id::UserId;
use gatehouse_core::store::StoreError;
use serde::{Deserialize, Serialize};

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
    let ticket = Ticket {
        kind,
        user_id,
        lifetime,
        path,
        subject,
        options: None,
    };
    ticket_link_with(state, &ticket).await
}

/// A ticket to make.
pub struct Ticket<'a> {
    /// What it is for (`email_verification`, `password_reset`, ...).
    pub kind: &'a str,
    /// Whose it is.
    pub user_id: &'a str,
    /// How long it works.
    pub lifetime: time::Duration,
    /// The page it opens, below the issuer.
    pub path: &'a str,
    /// Sealed in, see [`ticket_link_for`].
    pub subject: Option<&'a str>,
    /// What happens after it is used, sealed in the same way.
    pub options: Option<&'a TicketOptions>,
}

/// What a ticket made through the Management API (`/tickets/*`) asks for once it is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketOptions {
    /// Where the browser goes afterwards (Auth0's `result_url`).
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    /// Mark the user's email verified too (a password change proves the mailbox).
    #[serde(rename = "v", default, skip_serializing_if = "std::ops::Not::not")]
    pub mark_email_as_verified: bool,
    /// Add `email=` to the redirect (Auth0's `includeEmailInRedirect`).
    #[serde(rename = "e", default, skip_serializing_if = "std::ops::Not::not")]
    pub include_email: bool,
}

/// Stores `ticket` (hashed) and returns its link. Layout: `<random>[!<options>][.<subject>]`;
/// neither the random part nor the base64url options hold a `.` or `!`.
pub async fn ticket_link_with(state: &AppState, spec: &Ticket<'_>) -> Result<String, StoreError> {
    let mut ticket = crate::crypto::random_secret(32);
    if let Some(options) = spec.options.filter(|o| **o != TicketOptions::default()) {
        let json = serde_json::to_vec(options).unwrap_or_default();
        ticket.push('!');
        ticket.push_str(&URL_SAFE_NO_PAD.encode(json));
    }
    if let Some(s) = spec.subject {
        ticket.push('.');
        ticket.push_str(s);
    }
    let now = state.clock.now();
    state
        .stores
        .sessions
        .insert_ticket(
            &state.hasher.hash(&ticket),
            spec.kind,
            &UserId::from(spec.user_id),
            now,
            now + spec.lifetime,
        )
        .await?;
    Ok(format!("{}{}?ticket={ticket}", state.issuer, spec.path))
}

/// Queues `mail` of `kind` to `to` on the outbox (its limits count by `to`).
pub async fn queue(
    state: &AppState,
    kind: &str,
    to: &str,
    mail: template::Composed,
) -> Result<(), StoreError> {
    let content = crate::outbox::Content::Email {
        to: to.to_owned(),
        from: mail.from,
        subject: mail.subject,
        body: mail.text,
        html: mail.html,
    };
    crate::outbox::enqueue(state, kind, to, Some(content)).await
}

/// The options a ticket was made with (none: the defaults).
pub fn ticket_options(ticket: &str) -> TicketOptions {
    let head = ticket.split_once('.').map_or(ticket, |(h, _)| h);
    head.split_once('!')
        .and_then(|(_, o)| URL_SAFE_NO_PAD.decode(o).ok())
        .and_then(|json| serde_json::from_slice(&json).ok())
        .unwrap_or_default()
}

/// Where the browser goes after a ticket with `options` worked: its `result_url` with
/// Auth0's `success`, `message` (and, when asked, `email`) added; `None` without one.
pub fn result_redirect(
    options: &TicketOptions,
    message: &str,
    email: Option<&str>,
) -> Option<String> {
    let mut url = url::Url::parse(options.result_url.as_deref()?).ok()?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("success", "true");
        query.append_pair("message", message);
        if options.include_email
            && let Some(e) = email
        {
            query.append_pair("email", e);
        }
    }
    Some(url.to_string())
}

/// The subject a ticket was made with by [`ticket_link_for`], if any.
pub fn ticket_subject(ticket: &str) -> Option<&str> {
    ticket.split_once('.').map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_subjects_read_back() {
        let options = TicketOptions {
            result_url: Some("https://app.example/done?x=1".into()),
            mark_email_as_verified: true,
            include_email: false,
        };
        let json = serde_json::to_vec(&options).expect("json");
        let ticket = format!("abc-_{}!{}.db~user.1", "x", URL_SAFE_NO_PAD.encode(json));
        assert_eq!(ticket_options(&ticket), options);
        assert_eq!(ticket_subject(&ticket), Some("db~user.1"));
        assert_eq!(ticket_options("plain.subject"), TicketOptions::default());
        let to = result_redirect(&options, "Done", Some("a@b.example")).expect("url");
        assert_eq!(to, "https://app.example/done?x=1&success=true&message=Done");
    }
}
