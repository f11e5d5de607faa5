//! Secrets kept sealed under the master key (AES-256-GCM), each bound to where it is stored
//! by the associated data: the email provider's SMTP credentials and the secrets in a
//! connection's options (`twilio_token`, the SMS gateway secret). The Management API seals
//! them and never shows them again; only mail and SMS delivery open them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::tenant::EmailProvider;
use serde_json::{Value, json};

use crate::crypto::Sealer;

/// The sealing context of the email provider's credentials.
const EMAIL_CONTEXT: &str = "email_provider:credentials";

/// Marks a sealed value in a connection's stored options: `{"$sealed": "<base64url>"}`.
pub const SEALED: &str = "$sealed";

/// The sealing context of the secret at `path` (dotted) of connection `connection_id`.
fn connection_context(connection_id: &str, path: &str) -> String {
    format!("connection_secret:{connection_id}:{path}")
}

/// Seals the email provider's credentials (a JSON document) for storage.
pub fn seal_email_credentials(sealer: &Sealer, credentials: &Value) -> Vec<u8> {
    sealer.seal(EMAIL_CONTEXT, credentials.to_string().as_bytes())
}

/// The stored SMTP credentials, opened.
pub fn open_email_credentials(sealer: &Sealer, p: &EmailProvider) -> anyhow::Result<Value> {
    let bytes = sealer.open(EMAIL_CONTEXT, &p.credentials_sealed)?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// A connection secret sealed as it is stored in the options.
pub fn seal_connection_secret(
    sealer: &Sealer,
    connection_id: &str,
    path: &str,
    plain: &str,
) -> Value {
    let sealed = sealer.seal(&connection_context(connection_id, path), plain.as_bytes());
    json!({ SEALED: URL_SAFE_NO_PAD.encode(sealed) })
}

/// Opens a connection secret as `seal_connection_secret` stored it; `None` for anything
/// else (a plain value, another connection's or another path's secret).
pub fn open_connection_secret(
    sealer: &Sealer,
    connection_id: &str,
    path: &str,
    stored: &Value,
) -> Option<String> {
    let sealed = URL_SAFE_NO_PAD.decode(stored.get(SEALED)?.as_str()?).ok()?;
    let plain = sealer
        .open(&connection_context(connection_id, path), &sealed)
        .ok()?;
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;

    #[test]
    fn connection_secrets_open_only_where_they_were_sealed() {
        let sealer = Sealer::new(&MasterKey::generate());
        let stored = seal_connection_secret(&sealer, "con_1", "twilio_token", "s3cret");
        let cases = [
            ("con_1", "twilio_token", Some("s3cret")),
            ("con_2", "twilio_token", None),
            ("con_1", "gateway_authentication.secret", None),
        ];
        for (id, path, want) in cases {
            assert_eq!(
                open_connection_secret(&sealer, id, path, &stored).as_deref(),
                want,
                "{id} {path}"
            );
        }
        assert_eq!(
            open_connection_secret(&sealer, "con_1", "twilio_token", &json!("s3cret")),
            None
        );
    }

    #[test]
    fn email_credentials_round_trip() {
        let sealer = Sealer::new(&MasterKey::generate());
        let creds = json!({"smtp_host": "localhost", "smtp_pass": "p"});
        let provider = EmailProvider {
            credentials_sealed: seal_email_credentials(&sealer, &creds),
            ..EmailProvider::default()
        };
        assert_eq!(
            open_email_credentials(&sealer, &provider).expect("opens"),
            creds
        );
    }
}
