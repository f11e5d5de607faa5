//! The brute-force unblock link, mailed when failed logins block a user from one address.

use gatehouse_core::user::User;
use time::Duration;

use crate::AppState;

/// The ticket kind of an unblock link.
pub const KIND: &str = "unblock";
/// How long an unblock link works.
const TICKET_LIFETIME: Duration = Duration::days(1);

/// Queues an unblock link for `user` after a block from `ip` (on the outbox). Failures are logged, not raised:
/// the login answer is the same either way, and an administrator can still unblock.
pub async fn send_unblock_link(state: &AppState, user: &User, ip: &str) {
    let Some(email) = user.email.clone() else {
        return;
    };
    let Ok(template) = super::template::template(state, "blocked_account").await else {
        return;
    };
    let (lifetime, options) = super::template::link_settings(template.as_ref(), TICKET_LIFETIME);
    let ticket = super::Ticket {
        kind: KIND,
        user_id: &user.user_id,
        lifetime,
        path: "u/unblock",
        subject: None,
        options: Some(&options),
    };
    let sent = match super::ticket_link_with(state, &ticket).await {
        Ok(link) => {
            let vars = super::template::MailVars {
                user: Some(user),
                url: Some(&link),
                ..Default::default()
            };
            let composed = super::template::compose(state, "blocked_account", &vars, || {
                let text = format!(
                    "Your account was blocked after too many failed logins from the address {ip}.\n\n\
                     If that was you, unblock it by opening:\n{link}\n\n\
                     The link works for one day, once. If it was not you, someone may be guessing \
                     your password: consider changing it.\n"
                );
                ("Your account has been blocked".to_owned(), text)
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
        tracing::warn!(error = %e, "unblock email not queued");
    }
}
