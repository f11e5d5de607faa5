//! The outbox (see `gatehouse_core::outbox`): requests queue mail and SMS with [`enqueue`]
//! and answer at once; [`run`], started with the server on every replica, sends them with
//! retries and logs every failed attempt as Auth0's `fn` ("Failed Sending Notification"), so
//! an administrator sees it in `GET /api/v2/logs`. The content is sealed under the master
//! key, bound to its row: it carries one-time codes and links.

use gatehouse_core::id::ConnectionName;
use std::sync::Arc;
use std::time::Duration;

use crate::ids;
use gatehouse_core::log_type::LogType;
use gatehouse_core::outbox::{OutboxMessage, OutboxState, retry_at};
use gatehouse_core::store::StoreResult;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{Notify, Semaphore};

use crate::AppState;

/// How often the worker looks for messages it was not woken for: retries falling due, and
/// messages queued by other replicas.
const POLL: Duration = Duration::from_secs(1);
/// How long a claim lasts: well past the 30-second timeouts of SMTP and HTTP, so a live
/// sender never loses its message to another replica; a crashed one's is sent again after.
const LEASE: time::Duration = time::Duration::minutes(2);
/// Messages in flight at once per replica (one slow relay does not hold up the rest).
const CONCURRENCY: usize = 8;

/// The worker's settings and its wake-up call.
pub struct Outbox {
    wake: Notify,
    max_attempts: i64,
    first_retry: time::Duration,
}

impl Outbox {
    /// `max_attempts` per message; the first retry after `first_retry`, doubling after that.
    pub fn new(max_attempts: u32, first_retry: Duration) -> Self {
        Outbox {
            wake: Notify::new(),
            max_attempts: i64::from(max_attempts),
            first_retry: time::Duration::try_from(first_retry)
                .unwrap_or(time::Duration::seconds(30)),
        }
    }
}

/// What to send.
pub enum Content {
    /// A plain-text email through the tenant's SMTP provider.
    Email {
        /// The address.
        to: String,
        /// A mailbox to send from (else the provider's default).
        from: Option<String>,
        /// The subject.
        subject: String,
        /// The text.
        body: String,
        /// The HTML alternative (a tenant template's mail).
        html: Option<String>,
    },
    /// An OpenID Connect Back-Channel Logout token, POSTed to an application's URL.
    Backchannel {
        /// The application's `backchannel_logout_urls` entry.
        url: String,
        /// The signed logout token.
        token: String,
    },
    /// A text message through the provider of the SMS connection named `connection`.
    Sms {
        /// The connection's name.
        connection: String,
        /// An E.164 number.
        to: String,
        /// The text.
        body: String,
    },
}

/// The sealed part of a message.
#[derive(Serialize, Deserialize)]
struct Sealed {
    to: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    subject: String,
    body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    html: Option<String>,
}

fn seal_context(id: &str) -> String {
    format!("outbox:{id}")
}

/// The keyed hash limits count by: the recipient, trimmed and lower-cased.
pub fn recipient_hash(state: &AppState, recipient: &str) -> Vec<u8> {
    state.hasher.hash(&format!(
        "outbox-recipient\u{0}{}",
        recipient.trim().to_lowercase()
    ))
}

/// Queues a message of `kind` for `recipient` and wakes this replica's worker. `None` queues
/// a placeholder that is never sent but costs the request the same work and counts towards
/// the recipient's limits, for answers that must not tell whether there was anything to send.
pub async fn enqueue(
    state: &AppState,
    kind: &str,
    recipient: &str,
    content: Option<Content>,
) -> StoreResult<()> {
    let (channel, connection, sealed, queued) = match content {
        Some(Content::Email {
            to,
            from,
            subject,
            body,
            html,
        }) => (
            "email",
            None,
            Sealed {
                to,
                from,
                subject,
                body,
                html,
            },
            OutboxState::Pending,
        ),
        Some(Content::Sms {
            connection,
            to,
            body,
        }) => (
            "sms",
            Some(connection),
            Sealed {
                to,
                from: None,
                subject: String::new(),
                body,
                html: None,
            },
            OutboxState::Pending,
        ),
        Some(Content::Backchannel { url, token }) => (
            "backchannel",
            None,
            Sealed {
                to: url,
                from: None,
                subject: String::new(),
                body: token,
                html: None,
            },
            OutboxState::Pending,
        ),
        None => (
            "none",
            None,
            Sealed {
                to: recipient.to_owned(),
                from: None,
                subject: String::new(),
                body: String::new(),
                html: None,
            },
            OutboxState::Discarded,
        ),
    };
    let id = ids::random_alphanumeric(24);
    let plain = serde_json::to_vec(&sealed).unwrap_or_default();
    let now = state.clock.now();
    let message = OutboxMessage {
        sealed: state.sealer.seal(&seal_context(&id), &plain),
        id,
        kind: kind.to_owned(),
        channel: channel.to_owned(),
        connection,
        recipient_hash: recipient_hash(state, recipient),
        state: queued,
        attempts: 0,
        due_at: now,
        created_at: now,
    };
    state.stores.outbox.enqueue_message(&message).await?;
    if queued == OutboxState::Pending {
        state.outbox.wake.notify_one();
    }
    Ok(())
}

/// The worker: claims due messages (a conditional UPDATE, so each goes out from one replica
/// only) and sends up to [`CONCURRENCY`] at a time, until the task is aborted.
pub async fn run(state: AppState) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    loop {
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let token = crate::crypto::random_secret(16);
            let now = state.clock.now();
            let claimed = state
                .stores
                .outbox
                .claim_message(&token, state.outbox.max_attempts, now, now + LEASE)
                .await;
            match claimed {
                Ok(Some(message)) => {
                    let state = state.clone();
                    tokio::spawn(async move {
                        deliver(&state, message, &token).await;
                        drop(slot);
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the outbox");
                    break;
                }
            }
        }
        tokio::select! {
            () = state.outbox.wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Sends one claimed message and records the outcome; a failure is logged (`fn`) and retried
/// later, until the attempts run out.
#[tracing::instrument(name = "deliver", skip_all, fields(channel = %message.channel, kind = %message.kind))]
async fn deliver(state: &AppState, message: OutboxMessage, token: &str) {
    let opened = open(state, &message);
    let sent = match &opened {
        Ok(content) => send(state, &message, content).await,
        Err(e) => Err(Failure::Final(e.clone())),
    };
    let now = state.clock.now();
    let recorded = match sent {
        // Mail is off on this tenant: not a failed delivery to report, as before the outbox.
        Err(Failure::NoProvider) => {
            tracing::warn!(kind = %message.kind, "no enabled email provider: mail not sent");
            state
                .stores
                .outbox
                .message_failed(&message.id, token, "No enabled email provider", None, now)
                .await
        }
        Ok(()) => {
            state
                .stores
                .outbox
                .message_sent(&message.id, token, now)
                .await
        }
        Err(failure) => {
            let (detail, retry) = match failure {
                Failure::Final(d) => (d, None),
                Failure::NoProvider => (String::new(), None), // handled above
                Failure::Retry(d) => {
                    let retry = retry_at(
                        now,
                        message.attempts,
                        state.outbox.max_attempts,
                        state.outbox.first_retry,
                    );
                    (d, retry)
                }
            };
            let mut event = crate::audit::event(&state.clock, LogType::FailedNotification);
            event.description = Some(format!(
                "Failed to send the {} {}{}",
                message.kind.replace('_', " "),
                message.channel,
                if retry.is_some() {
                    "; it will be retried"
                } else {
                    "; no more attempts"
                }
            ));
            event.connection = message.connection.clone();
            event.details = json!({
                "kind": message.kind,
                "channel": message.channel,
                "recipient": opened.as_ref().map(|c| c.to.as_str()).unwrap_or_default(),
                "attempt": message.attempts,
                "max_attempts": state.outbox.max_attempts,
                "retry_at": retry.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
                "error": detail,
            });
            state.logs.record(event);
            state
                .stores
                .outbox
                .message_failed(&message.id, token, &detail, retry, now)
                .await
        }
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => tracing::warn!(id = %message.id, "outbox claim lapsed before the send ended"),
        Err(e) => {
            tracing::warn!(error = %e, id = %message.id, "could not record an outbox delivery")
        }
    }
}

fn open(state: &AppState, message: &OutboxMessage) -> Result<Sealed, String> {
    let plain = state
        .sealer
        .open(&seal_context(&message.id), &message.sealed)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&plain).map_err(|e| format!("unreadable queued message: {e}"))
}

/// Why a send failed: worth another attempt, or not (nothing to send with), or mail is off.
enum Failure {
    Retry(String),
    Final(String),
    NoProvider,
}

async fn send(state: &AppState, message: &OutboxMessage, c: &Sealed) -> Result<(), Failure> {
    match message.channel.as_str() {
        "email" => {
            let provider = state
                .catalog
                .tenant()
                .await
                .ok()
                .is_some_and(|t| t.email_provider.as_ref().is_some_and(|p| p.enabled));
            if !provider {
                return Err(Failure::NoProvider);
            }
            let mail = crate::delivery::email::Outgoing {
                from: c.from.as_deref(),
                to: &c.to,
                subject: &c.subject,
                text: c.body.clone(),
                html: c.html.clone(),
            };
            crate::delivery::email::send(state, mail)
                .await
                .map_err(|e| Failure::Retry(format!("{e:#}")))
        }
        "sms" => {
            let name = message.connection.as_deref().unwrap_or_default();
            let connection = state
                .stores
                .connections
                .connection_by_name(&ConnectionName::from(name))
                .await
                .map_err(|e| Failure::Retry(e.to_string()))?
                .ok_or_else(|| Failure::Final(format!("The connection {name} no longer exists")))?;
            crate::delivery::sms::sms(state, &connection, &c.to, &c.body)
                .await
                .map_err(|e| Failure::Retry(e.0))
        }
        "backchannel" => crate::delivery::backchannel::post(state, &c.to, &c.body)
            .await
            .map_err(Failure::Retry),
        other => Err(Failure::Final(format!("Unknown channel {other}"))),
    }
}
