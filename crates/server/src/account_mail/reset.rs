//! The password reset mail: a one-time link to `/u/reset-password` for one identity, with a
//! per-address limit counted on the outbox (so it holds across replicas, and for known and
//! unknown addresses alike).

use gatehouse_core::id::ConnectionName;
use gatehouse_core::log_type::LogType;
use gatehouse_core::store::StoreError;
use gatehouse_core::user::{Identity, User};
use time::Duration;

use crate::AppState;
use crate::outbox;

/// The ticket (and outbox) kind of a reset link.
pub const KIND: &str = "password_reset";
/// How long a reset link works.
const TICKET_LIFETIME: Duration = Duration::hours(1);
/// Reset requests per address and window (whether or not the address is registered).
const MAILS_PER_WINDOW: i64 = 5;
/// The window of that limit.
const MAIL_WINDOW: Duration = Duration::hours(1);

/// Whether `email` has had its share of reset mails this hour: counted in the database so the
/// limit holds across replicas, and before anything tells known and unknown addresses apart.
/// Over it, the caller gets the same answer and nothing is queued.
pub async fn over_reset_limit(
    state: &AppState,
    email: &str,
    client_id: Option<&str>,
    connection: &str,
) -> Result<bool, StoreError> {
    let since = state.clock.now() - MAIL_WINDOW;
    let asked = state
        .stores
        .outbox
        .count_messages(KIND, &outbox::recipient_hash(state, email), since)
        .await?;
    if asked < MAILS_PER_WINDOW {
        return Ok(false);
    }
    let mut event = crate::audit::event(&state.clock, LogType::FailedChangePasswordRequest);
    event.description = Some("Too many password reset requests for this address".into());
    event.client_id = client_id.map(str::to_owned);
    event.connection = Some(connection.to_owned());
    state.logs.record(event);
    Ok(true)
}

/// The identity `email` belongs to and the address to write to (a linked identity has its
/// own password and address).
pub fn reset_target<'a>(
    user: &'a User,
    connection: &str,
    email: &str,
) -> Option<(&'a Identity, String)> {
    let position = user
        .identities
        .iter()
        .position(|i| Some(i) == user.identity_for_login(connection, email))?;
    let identity = &user.identities[position];
    let address = if position == 0 {
        user.email.clone()
    } else {
        identity.profile_data["email"].as_str().map(str::to_owned)
    }?;
    Some((identity, address))
}

/// The ticket subject naming the identity a link resets.
pub fn subject(identity: &Identity) -> String {
    format!("{}~{}", identity.connection, identity.user_id)
}

/// The (connection, identity user id) a reset ticket was made for; `None` for links made
/// before identities were named.
pub fn ticket_identity(ticket: &str) -> Option<(&str, &str)> {
    super::ticket_subject(ticket).and_then(|s| s.split_once('~'))
}

/// Queues the reset link of `identity` of `user` to `address`, counted against `email` (the
/// address asked for). Queued, not sent: the request takes as long as for an unknown
/// address, and a delivery failure reaches the tenant logs (`fn`) from the outbox.
pub async fn queue_reset_link(
    state: &AppState,
    user: &User,
    identity: &Identity,
    address: String,
    email: &str,
) -> Result<(), StoreError> {
    let template = super::template::template(state, "reset_email").await;
    let (lifetime, options) = super::template::link_settings(
        template.as_ref().ok().and_then(Option::as_ref),
        TICKET_LIFETIME,
    );
    let ticket = super::Ticket {
        kind: KIND,
        user_id: &user.user_id,
        lifetime,
        path: "u/reset-password",
        subject: Some(&subject(identity)),
        options: Some(&options),
    };
    let link = super::ticket_link_with(state, &ticket).await?;
    let vars = super::template::MailVars {
        user: Some(user),
        url: Some(&link),
        connection: Some(&identity.connection),
        ..Default::default()
    };
    let composed = super::template::compose(state, "reset_email", &vars, || {
        let text = format!(
            "Someone asked to reset the password of your account.\n\nTo choose a new one, open:\n{link}\n\nThe link works for one hour, once. If you did not ask, ignore this email.\n"
        );
        ("Reset your password".to_owned(), text)
    })
    .await;
    match composed {
        // Counted under the address asked for, like the placeholder below.
        Some(mail) => {
            let content = outbox::Content::Email {
                to: address,
                from: mail.from,
                subject: mail.subject,
                body: mail.text,
                html: mail.html,
            };
            outbox::enqueue(state, KIND, email, Some(content)).await
        }
        // The tenant turned the mail off: the same work and answer as any other request.
        None => queue_placeholder(state, email).await,
    }
}

/// What a reset request came to. Every request but one for an application not enabled on the
/// connection gets the same answer, whether the account exists or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// Mail queued, or a placeholder costing the same (unknown address, over the limit).
    Answered,
    /// `client_id` may not use the connection.
    NotEnabled,
}

/// A reset link for `email` at the database connection `connection`, asked for by
/// `client_id` (none: the link names no application, as Auth0 allows): the mail goes to the
/// account's own address when there is one; the same work and answer when there is not.
pub async fn request(
    state: &AppState,
    email: &str,
    connection: &str,
    client_id: Option<&str>,
) -> Result<Requested, StoreError> {
    if over_reset_limit(state, email, client_id, connection).await? {
        return Ok(Requested::Answered);
    }
    // Only database connections have passwords to reset.
    let db_connection = state
        .stores
        .connections
        .connection_by_name(&ConnectionName::from(connection))
        .await?
        .filter(|c| c.strategy.is_database());
    // An application may send reset mail only for a connection it is enabled on (an unknown
    // application is enabled on none).
    if let (Some(c), Some(client_id)) = (&db_connection, client_id)
        && !c.enabled_clients.iter().any(|e| e.as_str() == client_id)
    {
        return Ok(Requested::NotEnabled);
    }
    let found = match db_connection {
        Some(_) => {
            state
                .stores
                .users
                .user_by_login(&ConnectionName::from(connection), email)
                .await?
        }
        None => None,
    };
    let target = found.as_ref().and_then(|user| {
        reset_target(user, connection, email).map(|(identity, to)| (user, identity, to))
    });
    let Some((user, identity, address)) = target else {
        queue_placeholder(state, email).await?;
        return Ok(Requested::Answered);
    };
    queue_reset_link(state, user, identity, address, email).await?;
    let mut event = crate::audit::event(&state.clock, LogType::SuccessChangePasswordRequest);
    event.description = Some("Password reset email queued".into());
    event.user_id = Some(user.user_id.clone().into_string());
    event.client_id = client_id.map(str::to_owned);
    event.connection = Some(connection.to_owned());
    state.logs.record(event);
    Ok(Requested::Answered)
}

/// The same write for an address with nothing to send: a placeholder that counts towards
/// the limit.
pub async fn queue_placeholder(state: &AppState, email: &str) -> Result<(), StoreError> {
    outbox::enqueue(state, KIND, email, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_name_the_identity_they_reset() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("abc.db~123", Some(("db", "123"))),
            ("abc.my-db~auth0~x", Some(("my-db", "auth0~x"))),
            ("abc", None),
            ("abc.nothing", None),
        ];
        for (ticket, want) in cases {
            assert_eq!(ticket_identity(ticket), *want, "{ticket}");
        }
    }
}
