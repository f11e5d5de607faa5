//! A back-off per account, whatever the address: the per-address block (brute-force
//! protection) stops one address, but an attacker with many addresses (a botnet, an IPv6
//! range, a proxy they can make us trust) gets `threshold - 1` guesses from each. So once an
//! account has failed [`starts_after`] times in a row from any addresses, each further
//! password attempt must wait: 1 s after the last failure, then 2 s, 4 s, ... up to
//! [`MAX_DELAY`]. Attempts made while waiting are refused without a password check and do
//! not count. Of concurrent attempts when the wait is over, one wins (a compare-and-set on
//! the last failure's time in the database, so across replicas too); a failure then counts
//! and restarts the wait from its end.
//!
//! The trade-off: an attacker who keeps guessing keeps the account waiting, and the real
//! person may be refused while they do; but the back-off never locks anyone out for long
//! (at most [`MAX_DELAY`] after the attacker's last attempt; forgotten after
//! [`FORGET_AFTER`]), a success resets it, and so do an unblock and a password reset. It
//! caps online guessing at one password per [`MAX_DELAY`] per account, however many
//! addresses the attacker has. It starts only well above the per-address threshold, so one
//! attacker address (blocked at `threshold`) and a person's own typos never trigger it. Auth0
//! has no such back-off; we add it because per-address counting alone is weak.
//!
//! The state is the account's row in `login_failures`, under the address key [`ACCOUNT`],
//! which no real address key can equal.

use gatehouse_core::id::UserId;
use time::Duration;

use gatehouse_core::log_type::LogType;

use crate::AppState;
use crate::error::OAuthError;

/// The `login_failures` address key of the account as a whole.
pub const ACCOUNT: &str = "*";
/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::minutes(5);
/// Failures older than this no longer count.
pub const FORGET_AFTER: Duration = Duration::days(1);

/// Consecutive failures, from any addresses, before the back-off starts: twice the
/// per-address threshold.
pub fn starts_after(threshold: u32) -> i64 {
    2 * i64::from(threshold.max(1))
}

/// How long after the last failure the next attempt may come, with `failures` so far.
pub fn delay(failures: i64, threshold: u32) -> Duration {
    let over = failures - starts_after(threshold);
    if over < 0 {
        return Duration::ZERO;
    }
    let seconds = 1i64 << over.min(16);
    Duration::seconds(seconds).min(MAX_DELAY)
}

/// What the back-off allows for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Go ahead; `recorded`: the account has failures on record (a success must clear them).
    Open {
        /// Whether the account's row exists.
        recorded: bool,
    },
    /// Refused: wait this long.
    Wait(Duration),
}

/// Decides whether `user_id` may try a password now.
pub async fn enter(state: &AppState, user_id: &str, threshold: u32) -> Result<Gate, OAuthError> {
    let users = &state.stores.users;
    let now = state.clock.now();
    let Some((failures, last)) = users
        .login_failure_state(&UserId::from(user_id), ACCOUNT)
        .await?
    else {
        return Ok(Gate::Open { recorded: false });
    };
    if now - last > FORGET_AFTER {
        users
            .clear_login_failures(&UserId::from(user_id), Some(ACCOUNT))
            .await?;
        return Ok(Gate::Open { recorded: false });
    }
    if failures < starts_after(threshold) {
        return Ok(Gate::Open { recorded: true });
    }
    let wait = delay(failures, threshold);
    if now < last + wait {
        return Ok(Gate::Wait(last + wait - now));
    }
    // Take the turn before the password is checked (moving the last failure to now), so
    // that of many concurrent attempts only one is checked; the others wait again.
    if users
        .claim_login_attempt(&UserId::from(user_id), ACCOUNT, now - wait, now)
        .await?
    {
        Ok(Gate::Open { recorded: true })
    } else {
        Ok(Gate::Wait(wait))
    }
}

/// Counts a wrong password; logs `limit_wc` when the back-off starts.
pub async fn failed(state: &AppState, user_id: &str, threshold: u32) -> Result<(), OAuthError> {
    let n = state
        .stores
        .users
        .record_login_failure(&UserId::from(user_id), ACCOUNT, state.clock.now())
        .await?;
    if n == starts_after(threshold) {
        let mut event = crate::audit::event(&state.clock, LogType::BlockedAccount);
        event.user_id = Some(user_id.to_owned());
        event.description = Some(format!(
            "{n} failed logins in a row from any addresses: further attempts must wait"
        ));
        state.logs.record(event);
    }
    Ok(())
}

/// A right password ends the back-off.
pub async fn succeeded(state: &AppState, user_id: &str) -> Result<(), OAuthError> {
    state
        .stores
        .users
        .clear_login_failures(&UserId::from(user_id), Some(ACCOUNT))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        assert_eq!(starts_after(10), 20);
        assert_eq!(delay(19, 10), Duration::ZERO);
        assert_eq!(delay(20, 10), Duration::seconds(1));
        assert_eq!(delay(21, 10), Duration::seconds(2));
        assert_eq!(delay(24, 10), Duration::seconds(16));
        assert_eq!(delay(30, 10), MAX_DELAY);
        assert_eq!(delay(i64::MAX, 10), MAX_DELAY);
    }
}
