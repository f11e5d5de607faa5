//! OpenID Connect Back-Channel Logout delivery: the logout token POSTed to an application
//! (the outbox's `backchannel` channel; the tokens are made and queued above the outbox).

use crate::AppState;

/// POSTs `token` to `url` (`logout_token=` form, as the spec says); an error text to retry.
pub async fn post(state: &AppState, url: &str, token: &str) -> Result<(), String> {
    let response = state
        .http
        .post(url)
        .form(&[("logout_token", token)])
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("back-channel logout to {url}: {e}"))?;
    match response.status() {
        s if s.is_success() => Ok(()),
        s => Err(format!("back-channel logout to {url}: HTTP {s}")),
    }
}
