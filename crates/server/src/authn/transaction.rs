//! The login transaction: a validated authorization request, sealed (AES-GCM under the
//! master key) into the login pages' forms, so the server keeps no state between the
//! request and the login. A form's transaction is bound to the browser's CSRF cookie.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::OAuthError;

/// How long the login page may stay open (seconds).
pub const TX_LIFETIME: i64 = 600;

/// A validated authorization request, carried through the login page sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transaction {
    /// The client.
    pub client_id: gatehouse_core::id::ClientId,
    /// Where the response goes.
    pub redirect_uri: String,
    /// `query`, `fragment` or `form_post`.
    pub response_mode: String,
    /// `code`, or an implicit or hybrid combination of `code`, `token` and `id_token`.
    #[serde(default = "code")]
    pub response_type: String,
    /// Requested scopes.
    pub scope: String,
    /// Requested API.
    pub audience: Option<String>,
    /// Echoed back.
    pub state: Option<String>,
    /// Put in the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// The `prompt` parameter (`none`, `login`, `consent`).
    #[serde(default)]
    pub prompt: Option<String>,
    /// The database connection to log in with (None: the tenant's default directory).
    #[serde(default)]
    pub connection: Option<String>,
    /// The email or phone number a passwordless code was sent to.
    #[serde(default)]
    pub recipient: Option<String>,
    /// A SAML service provider's request this login answers (gatehouse as its identity
    /// provider): the login ends in a SAML Response posted to it, not an OAuth response.
    #[serde(default)]
    pub saml: Option<SamlReply>,
    /// The language the login pages are shown in (from `ui_locales` and the browser's
    /// `Accept-Language`, among the tenant's enabled ones).
    #[serde(default)]
    pub lang: Option<String>,
    /// Must equal the CSRF cookie.
    pub csrf: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
}

/// Where and how a SAML Response goes (the `samlp` add-on of an application).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SamlReply {
    /// The assertion consumer service (one of the application's callback URLs).
    pub acs: String,
    /// The AuthnRequest's `ID` (none: IdP-initiated).
    pub in_response_to: Option<String>,
    /// Echoed back.
    pub relay_state: Option<String>,
    /// The service provider's entity id (the AuthnRequest's issuer), if it sent one.
    pub sp_entity_id: Option<String>,
    /// Our entity id towards it.
    pub issuer: String,
}

/// The sealing context of a transaction.
const TX_CONTEXT: &str = "login_transaction";

/// The default `response_type` of a transaction sealed before it was stored.
fn code() -> String {
    "code".into()
}

impl Transaction {
    /// Seals it for a hidden form field.
    pub fn seal(&self, state: &AppState) -> Result<String, OAuthError> {
        let json = serde_json::to_vec(self).map_err(|e| OAuthError::Internal(e.into()))?;
        Ok(URL_SAFE_NO_PAD.encode(state.sealer.seal(TX_CONTEXT, &json)))
    }

    /// The authorization request this transaction came from, as `/authorize` parameters (what
    /// a magic link sent from the login page completes).
    pub fn as_request(&self) -> serde_json::Value {
        let mut q = serde_json::json!({
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": self.response_type,
            "response_mode": self.response_mode,
            "scope": self.scope,
        });
        let optional = [
            ("audience", &self.audience),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("connection", &self.connection),
            ("code_challenge", &self.code_challenge),
            ("ui_locales", &self.lang),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                q[key] = serde_json::json!(v);
            }
        }
        if self.code_challenge.is_some() {
            q["code_challenge_method"] = serde_json::json!("S256");
        }
        q
    }

    /// Opens a sealed transaction that has not expired.
    pub fn open(state: &AppState, sealed: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let json = state.sealer.open(TX_CONTEXT, &bytes).ok()?;
        let tx: Transaction = serde_json::from_slice(&json).ok()?;
        (tx.exp > state.clock.now().unix_timestamp()).then_some(tx)
    }
}
