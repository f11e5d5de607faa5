//! The outbox: mail and SMS queued by requests and sent by a background worker, with
//! retries. Requests never wait on a mail server or an SMS gateway, so how long they take
//! says nothing about whether a message went out (or to whom).

use time::{Duration, OffsetDateTime};

/// A queued message as stored: the content is sealed by the server (it holds codes and
/// links), the recipient is only a keyed hash.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    /// Random id (also what the sealed content is bound to).
    pub id: String,
    /// What it is, e.g. `password_reset`, `email_verification`, `unblock`, `passwordless`.
    pub kind: String,
    /// `email`, `sms`, or `none` for a placeholder that is never sent.
    pub channel: String,
    /// The connection whose provider sends it (SMS), or that it belongs to.
    pub connection: Option<String>,
    /// Keyed hash of the normalised recipient, for per-recipient limits.
    pub recipient_hash: Vec<u8>,
    /// The sealed content.
    pub sealed: Vec<u8>,
    /// See [`OutboxState`].
    pub state: OutboxState,
    /// Delivery attempts so far (a claim counts as one).
    pub attempts: i64,
    /// When it may be claimed next (for a claimed one: when its lease ends).
    pub due_at: OffsetDateTime,
    /// When it was queued.
    pub created_at: OffsetDateTime,
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting for (another) attempt, or being sent under a lease.
    Pending,
    /// Delivered.
    Sent,
    /// Given up after the last attempt.
    Failed,
    /// A placeholder, never sent (written so that requests do the same work either way).
    Discarded,
}

impl OutboxState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Discarded => "discarded",
        }
    }

    /// The state named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => OutboxState::Pending,
            "sent" => OutboxState::Sent,
            "failed" => OutboxState::Failed,
            "discarded" => OutboxState::Discarded,
            _ => return None,
        })
    }
}

/// When to try again after failed attempt number `attempts` (1-based), or `None` to give up:
/// `first` after the first failure, doubling each time, at most an hour apart.
pub fn retry_at(
    now: OffsetDateTime,
    attempts: i64,
    max_attempts: i64,
    first: Duration,
) -> Option<OffsetDateTime> {
    if attempts >= max_attempts {
        return None;
    }
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let delay = first
        .checked_mul(1_i32 << doublings)
        .unwrap_or(Duration::HOUR)
        .min(Duration::HOUR);
    Some(now + delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_is_capped_and_ends() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let first = Duration::seconds(30);
        assert_eq!(
            retry_at(now, 1, 5, first),
            Some(now + Duration::seconds(30))
        );
        assert_eq!(
            retry_at(now, 2, 5, first),
            Some(now + Duration::seconds(60))
        );
        assert_eq!(
            retry_at(now, 4, 5, first),
            Some(now + Duration::seconds(240))
        );
        assert_eq!(retry_at(now, 5, 5, first), None);
        assert_eq!(retry_at(now, 19, 30, first), Some(now + Duration::HOUR));
        for s in ["pending", "sent", "failed", "discarded"] {
            assert_eq!(OutboxState::parse(s).map(OutboxState::as_str), Some(s));
        }
    }
}
