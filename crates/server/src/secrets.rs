//! Secrets kept sealed under the master key (AES-256-GCM), each bound to where it is stored
//! by the associated data: the email provider's SMTP credentials and the secrets in a
//! connection's options (`twilio_token`, the SMS gateway secret, an upstream's
//! `client_secret`), and the tokens an upstream identity provider gave for an identity. The
//! Management API seals them and never shows them again (IdP tokens only to callers with
//! `read:user_idp_tokens`); otherwise only delivery and upstream logins open them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::tenant::EmailProvider;
use serde::{Deserialize, Serialize};
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

/// The tokens an identity provider gave at a login, as Auth0 shows them on the identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpTokens {
    /// The provider's access token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The provider's refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The access token's lifetime in seconds, as the provider said it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

/// The sealing context of an identity's provider tokens.
fn idp_context(connection: &str, identity: &str) -> String {
    format!("idp_tokens:{connection}:{identity}")
}

/// Seals `tokens` for the identity `identity` of `connection`.
pub fn seal_idp_tokens(
    sealer: &Sealer,
    connection: &str,
    identity: &str,
    tokens: &IdpTokens,
) -> String {
    let json = serde_json::to_vec(tokens).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(sealer.seal(&idp_context(connection, identity), &json))
}

/// Opens what `seal_idp_tokens` sealed for this identity; `None` for anything else.
pub fn open_idp_tokens(
    sealer: &Sealer,
    connection: &str,
    identity: &str,
    sealed: &str,
) -> Option<IdpTokens> {
    let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    let json = sealer.open(&idp_context(connection, identity), &raw).ok()?;
    serde_json::from_slice(&json).ok()
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

    #[test]
    fn idp_tokens_open_only_for_their_identity() {
        let sealer = Sealer::new(&MasterKey::generate());
        let tokens = IdpTokens {
            access_token: Some("at".into()),
            refresh_token: Some("rt".into()),
            expires_in: Some(3600),
        };
        let sealed = seal_idp_tokens(&sealer, "github", "42", &tokens);
        assert_eq!(
            open_idp_tokens(&sealer, "github", "42", &sealed),
            Some(tokens)
        );
        assert_eq!(open_idp_tokens(&sealer, "github", "43", &sealed), None);
        assert_eq!(open_idp_tokens(&sealer, "up", "42", &sealed), None);
    }
}
