//! Refresh tokens: opaque, stored only as a keyed hash, grouped in families so that a
//! replayed rotated token revokes everything descended from the same login (RFC 9700 s4.14).

use time::{Duration, OffsetDateTime};

use crate::client::{AppType, Client};
use crate::client_settings::RefreshTokenSettings;
use crate::scope::Scope;

/// A refresh token as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    /// Keyed hash of the token.
    pub token_hash: Vec<u8>,
    /// Every token rotated from one login shares this id.
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: crate::id::ClientId,
    /// The user it speaks for.
    pub user_id: crate::id::UserId,
    /// The connection the user logged in with.
    pub connection: crate::id::ConnectionName,
    /// The API of its access tokens, if any.
    pub audience: Option<crate::id::Audience>,
    /// The scopes it may renew.
    pub scope: String,
    /// When the login happened (for `auth_time`).
    pub auth_time: i64,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// Absolute expiry (None: never).
    pub expires_at: Option<OffsetDateTime>,
    /// Idle expiry, pushed forward on each use (None: never).
    pub idle_expires_at: Option<OffsetDateTime>,
    /// When it was exchanged for a successor (rotating tokens only).
    pub rotated_at: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// The login session (`sid`) the family came from, when it came from one (not from the
    /// password grant): revoking that session revokes the family.
    pub session_id: Option<String>,
}

/// How a client's refresh tokens behave (`refresh_token` in Application Settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Each use returns a new token and retires the old one.
    pub rotating: bool,
    /// Seconds a retired token may still be replayed (Auth0's `leeway`).
    pub leeway: i64,
    /// Absolute lifetime in seconds (None: infinite).
    pub lifetime: Option<i64>,
    /// Idle lifetime in seconds (None: infinite).
    pub idle_lifetime: Option<i64>,
}

impl RefreshPolicy {
    /// The policy of `client` (its `refresh_token` settings; single-page apps rotate).
    pub fn of(client: &Client) -> Self {
        Self::from_settings(
            client.settings.refresh_token.as_ref(),
            client.app_type == AppType::Spa,
        )
    }

    /// From the client's `refresh_token` settings, with Auth0's defaults; single-page apps
    /// always rotate (their tokens live in a browser).
    pub fn from_settings(settings: Option<&RefreshTokenSettings>, spa: bool) -> Self {
        let s = settings.cloned().unwrap_or_default();
        let rotating = spa || s.rotation_type.as_deref() == Some("rotating");
        let expiring = rotating || s.expiration_type.as_deref() == Some("expiring");
        RefreshPolicy {
            rotating,
            leeway: s.leeway.unwrap_or(0),
            lifetime: (expiring && s.infinite_token_lifetime != Some(true))
                .then(|| s.token_lifetime.unwrap_or(2_592_000)),
            idle_lifetime: (expiring && s.infinite_idle_token_lifetime != Some(true))
                .then(|| s.idle_token_lifetime.unwrap_or(1_296_000)),
        }
    }
}

/// A refresh asked for more than its token carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The requested scope exceeds the scope of the refresh token")]
pub struct ScopeExceeded;

/// The scope of a refresh (RFC 6749 s6): the token's, or a narrower one asked for, never a
/// wider one.
pub fn narrow_scope(original: Scope, asked: Option<Scope>) -> Result<Scope, ScopeExceeded> {
    match asked {
        Some(asked) if asked.tokens().iter().any(|s| !original.contains(s)) => Err(ScopeExceeded),
        Some(asked) => Ok(asked),
        None => Ok(original),
    }
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Renew: for rotating tokens, retire this one and issue a successor.
    Renew,
    /// A retired token replayed after the leeway: revoke its family.
    Reuse,
    /// Unknown, revoked, expired or another client's: refuse.
    Invalid,
}

/// Decides on `token` (as stored, if found) presented by `client_id` at `now`.
pub fn decide(
    token: Option<&RefreshToken>,
    client_id: &str,
    policy: RefreshPolicy,
    now: OffsetDateTime,
) -> RefreshDecision {
    let Some(t) = token else {
        return RefreshDecision::Invalid;
    };
    if t.client_id != client_id || t.revoked_at.is_some() {
        return RefreshDecision::Invalid;
    }
    if t.expires_at.is_some_and(|e| e <= now) || t.idle_expires_at.is_some_and(|e| e <= now) {
        return RefreshDecision::Invalid;
    }
    // A retired token is a reuse whatever the client's policy is now: switching a client to
    // non-rotating tokens must not bring its retired tokens back to life.
    // Without a leeway, a retired token is a reuse even if it was retired after `now`: the
    // token endpoint takes `now` when a request arrives, so a concurrent redemption may
    // retire the token between that instant and this look-up.
    match t.rotated_at {
        Some(at) if policy.leeway <= 0 || now - at > Duration::seconds(policy.leeway) => {
            RefreshDecision::Reuse
        }
        _ => RefreshDecision::Renew,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(now: OffsetDateTime) -> RefreshToken {
        RefreshToken {
            token_hash: vec![1],
            family_id: "f".into(),
            client_id: "c".into(),
            user_id: "u".into(),
            connection: "db".into(),
            audience: None,
            scope: "openid offline_access".into(),
            auth_time: 0,
            created_at: now,
            expires_at: Some(now + Duration::days(30)),
            idle_expires_at: Some(now + Duration::days(15)),
            rotated_at: None,
            revoked_at: None,
            session_id: None,
        }
    }

    #[test]
    fn policies() {
        let spa = RefreshPolicy::from_settings(None, true);
        assert!(spa.rotating && spa.lifetime == Some(2_592_000));
        let web = RefreshPolicy::from_settings(None, false);
        assert!(!web.rotating && web.lifetime.is_none() && web.idle_lifetime.is_none());
        let settings: RefreshTokenSettings = serde_json::from_value(json!({
            "rotation_type": "rotating", "leeway": 5, "token_lifetime": 60,
            "infinite_idle_token_lifetime": true,
        }))
        .expect("parses");
        let custom = RefreshPolicy::from_settings(Some(&settings), false);
        let expiring: RefreshTokenSettings =
            serde_json::from_value(json!({"expiration_type": "expiring"})).expect("parses");
        let expiring = RefreshPolicy::from_settings(Some(&expiring), false);
        assert!(!expiring.rotating && expiring.lifetime == Some(2_592_000));
        assert_eq!(
            custom,
            RefreshPolicy {
                rotating: true,
                leeway: 5,
                lifetime: Some(60),
                idle_lifetime: None
            }
        );
    }

    #[test]
    fn decisions() {
        let now = OffsetDateTime::now_utc();
        let rotating = RefreshPolicy {
            rotating: true,
            leeway: 10,
            lifetime: None,
            idle_lifetime: None,
        };
        let t = token(now);
        assert_eq!(decide(Some(&t), "c", rotating, now), RefreshDecision::Renew);
        assert_eq!(
            decide(Some(&t), "other", rotating, now),
            RefreshDecision::Invalid
        );
        assert_eq!(decide(None, "c", rotating, now), RefreshDecision::Invalid);
        let mut used = t.clone();
        used.rotated_at = Some(now - Duration::seconds(5));
        assert_eq!(
            decide(Some(&used), "c", rotating, now),
            RefreshDecision::Renew,
            "within leeway"
        );
        used.rotated_at = Some(now - Duration::seconds(11));
        assert_eq!(
            decide(Some(&used), "c", rotating, now),
            RefreshDecision::Reuse
        );
        let non_rotating = RefreshPolicy {
            rotating: false,
            leeway: 0,
            ..rotating
        };
        assert_eq!(
            decide(Some(&used), "c", non_rotating, now),
            RefreshDecision::Reuse,
            "a token retired while the client rotated stays retired after it stops rotating"
        );
        assert_eq!(
            decide(Some(&t), "c", non_rotating, now),
            RefreshDecision::Renew
        );
        // A concurrent redemption retired it after this request's `now`.
        let mut raced = t.clone();
        raced.rotated_at = Some(now + Duration::milliseconds(3));
        let strict = RefreshPolicy {
            leeway: 0,
            ..rotating
        };
        assert_eq!(
            decide(Some(&raced), "c", strict, now),
            RefreshDecision::Reuse,
            "retired after now, without a leeway"
        );
        assert_eq!(
            decide(Some(&raced), "c", rotating, now),
            RefreshDecision::Renew,
            "retired after now, within a leeway"
        );
        let mut old = t.clone();
        old.idle_expires_at = Some(now - Duration::seconds(1));
        assert_eq!(
            decide(Some(&old), "c", rotating, now),
            RefreshDecision::Invalid
        );
        let mut revoked = t;
        revoked.revoked_at = Some(now);
        assert_eq!(
            decide(Some(&revoked), "c", rotating, now),
            RefreshDecision::Invalid
        );
    }

    #[test]
    fn refreshes_may_narrow_the_scope_only() {
        let scope = |s: &str| Scope::parse(s).expect("valid");
        let original = || scope("openid read:a offline_access");
        let cases = [
            (None, Ok("openid read:a offline_access")),
            (Some("read:a"), Ok("read:a")),
            (
                Some("openid offline_access read:a"),
                Ok("openid offline_access read:a"),
            ),
            (Some("read:a write:a"), Err(ScopeExceeded)),
        ];
        for (asked, want) in cases {
            let got = narrow_scope(original(), asked.map(scope)).map(|s| s.to_string());
            assert_eq!(got, want.map(str::to_owned), "{asked:?}");
        }
    }
}
