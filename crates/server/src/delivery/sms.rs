//! Sending passwordless SMS (email goes through `delivery::email`), called only by the outbox
//! worker: through the connection's gateway (Auth0's JSON `{recipient, body, sender}` with an
//! optional HS256 bearer token) or Twilio's Messages API. A failure is returned for the
//! tenant log (`fn`), which only administrators read: callers of `/passwordless/start` never
//! see a gateway's status or address.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gatehouse_core::connection::Connection;
use serde_json::{Value, json};

use crate::AppState;

/// Why a message did not go out, for the tenant log.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryError(pub String);

/// Sends an SMS with the connection's provider.
pub async fn sms(
    state: &AppState,
    connection: &Connection,
    to: &str,
    body: &str,
) -> Result<(), DeliveryError> {
    let o = connection.options.to_json();
    match o["provider"].as_str().unwrap_or("twilio") {
        "sms_gateway" => gateway(state, connection, to, body).await,
        _ => twilio(state, connection, to, body).await,
    }
}

/// The secret at `path` of the connection's options, opened.
fn secret(state: &AppState, connection: &Connection, path: &[&str]) -> Option<String> {
    let options = connection.options.to_json();
    let mut v = &options;
    for p in path {
        v = &v[*p];
    }
    crate::secrets::open_connection_secret(&state.sealer, &connection.id, &path.join("."), v)
}

async fn gateway(
    state: &AppState,
    connection: &Connection,
    to: &str,
    body: &str,
) -> Result<(), DeliveryError> {
    let o = connection.options.to_json();
    let url = o["gateway_url"]
        .as_str()
        .ok_or_else(|| DeliveryError("The SMS gateway URL is not configured".into()))?;
    let mut request = state.http.post(url).json(&json!({
        "recipient": to,
        "body": body,
        "sender": o["from"].as_str().unwrap_or_default(),
    }));
    let auth = &o["gateway_authentication"];
    if auth.is_object() {
        let secret = secret(state, connection, &["gateway_authentication", "secret"])
            .ok_or_else(|| DeliveryError("The SMS gateway secret is missing".into()))?;
        let key = if auth["secret_base64_encoded"].as_bool().unwrap_or(false) {
            URL_SAFE_NO_PAD
                .decode(secret.trim_end_matches('='))
                .map_err(|_| DeliveryError("The SMS gateway secret is not base64url".into()))?
        } else {
            secret.into_bytes()
        };
        let now = state.clock.now().unix_timestamp();
        let token = hs256(
            &key,
            &json!({"sub": auth["subject"], "aud": auth["audience"], "iat": now, "exp": now + 300}),
        );
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| {
        let timeout = e.is_timeout();
        tracing::warn!(error = %e.without_url(), "SMS gateway unreachable");
        DeliveryError(if timeout {
            "Timeout while calling the SMS gateway".into()
        } else {
            "Could not reach the SMS gateway".into()
        })
    })?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        401 => Err(DeliveryError(
            "Authentication failed while calling the SMS gateway: 401".into(),
        )),
        s => Err(DeliveryError(format!(
            "Unexpected response while calling the SMS gateway: {s}"
        ))),
    }
}

/// A compact HS256 JWS of `claims`.
fn hs256(key: &[u8], claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        signing_input.as_bytes(),
    );
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

async fn twilio(
    state: &AppState,
    connection: &Connection,
    to: &str,
    body: &str,
) -> Result<(), DeliveryError> {
    let o = connection.options.to_json();
    let sid = o["twilio_sid"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| DeliveryError("The Twilio account SID is not configured".into()))?;
    let token = secret(state, connection, &["twilio_token"])
        .ok_or_else(|| DeliveryError("The Twilio auth token is not configured".into()))?;
    let mut form = vec![("To", to.to_owned()), ("Body", body.to_owned())];
    match (
        o["messaging_service_sid"]
            .as_str()
            .filter(|s| !s.is_empty()),
        o["from"].as_str(),
    ) {
        (Some(service), _) => form.push(("MessagingServiceSid", service.to_owned())),
        (None, Some(from)) => form.push(("From", from.to_owned())),
        (None, None) => {
            return Err(DeliveryError(
                "Twilio needs a from number or a messaging_service_sid".into(),
            ));
        }
    }
    let url = format!(
        "{}/2010-04-01/Accounts/{sid}/Messages.json",
        state.config.twilio_api_url
    );
    let response = state
        .http
        .post(url)
        .header(
            reqwest::header::AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(format!("{sid}:{token}"))),
        )
        .form(&form)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e.without_url(), "Twilio unreachable");
            DeliveryError("Could not reach Twilio".into())
        })?;
    if response.status().is_success() {
        return Ok(());
    }
    let status = response.status().as_u16();
    let detail: Value = response.json().await.unwrap_or(Value::Null);
    Err(DeliveryError(format!(
        "{} (Code: {})",
        detail["message"]
            .as_str()
            .unwrap_or("Twilio refused the message"),
        detail["code"]
            .as_i64()
            .map_or(status.to_string(), |c| c.to_string())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_tokens_verify_with_an_independent_jwt_library() {
        let token = hs256(
            b"gateway-secret",
            &json!({"sub": "gatehouse", "aud": "sms", "exp": 4_000_000_000_i64}),
        );
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&["sms"]);
        let data = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"gateway-secret"),
            &validation,
        )
        .expect("valid HS256");
        assert_eq!(data.claims["sub"], "gatehouse");
        assert!(
            jsonwebtoken::decode::<Value>(
                &token,
                &jsonwebtoken::DecodingKey::from_secret(b"other"),
                &validation
            )
            .is_err()
        );
    }
}
