//! OpenID Connect Back-Channel Logout 1.0: when a session ends (logout, revocation through
//! the Management API, a block, a password change), every application it answered that lists
//! `oidc_logout.backchannel_logout_urls` gets a signed logout token, POSTed from the outbox
//! (so it survives a restart and is retried), never from the request that ended the session.

use gatehouse_core::session::Session;
use serde_json::{Value, json};

use crate::AppState;
use crate::outbox;

/// The event a logout token carries.
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is good for (the spec recommends at most two minutes).
const LIFETIME_SECONDS: i64 = 120;

/// An application's back-channel logout URLs (`oidc_logout.backchannel_logout_urls`).
pub fn logout_urls(extra: &serde_json::Map<String, Value>) -> Vec<String> {
    extra
        .get("oidc_logout")
        .and_then(|o| o.get("backchannel_logout_urls"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_owned))
        .collect()
}

/// Whether `url` may receive logout tokens: https, or http on a loopback host (development),
/// without a fragment (the spec forbids one).
pub fn acceptable_url(url: &str) -> bool {
    crate::http::https_or_loopback(url)
        && url::Url::parse(url).is_ok_and(|u| u.fragment().is_none())
}

/// Queues logout tokens for every application `sessions` answered. Failures are logged: the
/// sessions are over either way.
pub async fn sessions_ended(state: &AppState, sessions: &[Session]) {
    for session in sessions {
        for client_id in &session.clients {
            let client = match state.catalog.client(&client_id.as_str().into()).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "back-channel logout: client not read");
                    continue;
                }
            };
            for url in logout_urls(&client.settings.extra) {
                if let Err(e) = queue(state, session, client_id, &url).await {
                    tracing::warn!(error = %e, "back-channel logout not queued");
                }
            }
        }
    }
}

async fn queue(
    state: &AppState,
    session: &Session,
    client_id: &str,
    url: &str,
) -> anyhow::Result<()> {
    let now = state.clock.now().unix_timestamp();
    let claims = json!({
        "iss": state.issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
        "jti": crate::crypto::random_secret(16),
        "sub": session.user_id.as_str(),
        "sid": session.sid,
        "events": {EVENT: {}},
    });
    let token = state.keys.sign_typed(&claims, "logout+jwt")?;
    let content = outbox::Content::Backchannel {
        url: url.to_owned(),
        token,
    };
    outbox::enqueue(state, "backchannel_logout", url, Some(content)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logout_urls_are_https_or_loopback_http() {
        for ok in [
            "https://app.example/bcl",
            "http://localhost:3000/bcl",
            "http://127.0.0.1/x",
            "http://[::1]:8/x",
        ] {
            assert!(acceptable_url(ok), "{ok}");
        }
        for bad in [
            "http://app.example/bcl",
            "https://app.example/bcl#frag",
            "ftp://app.example/",
            "not a url",
        ] {
            assert!(!acceptable_url(bad), "{bad}");
        }
    }
}
