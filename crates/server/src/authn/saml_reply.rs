//! The end of a login that a SAML service provider asked for (the `samlp` add-on): a signed
//! Response about the user, its attributes mapped by the add-on's settings
//! (`gatehouse_core::saml_addon`), posted to the provider's assertion consumer service with
//! its `RelayState`; or, when the login fails, a Response carrying the failure.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::client::Client;
use gatehouse_core::saml_addon::SamlAddon;
use gatehouse_core::session::Session;
use gatehouse_core::user::User;
use serde_json::{Map, Value, json};

use super::transaction::SamlReply;
use crate::AppState;
use crate::error::OAuthError;
use crate::pages::{self, FormPost};
use crate::saml::issue::{self, Issue, Status};

/// Our entity id towards `client`'s service provider: the add-on's `issuer`, else Auth0's
/// `urn:<tenant>.auth0.com`, so a provider configured for Auth0 keeps working after a move.
pub fn issuer_for(state: &AppState, client: &Client) -> String {
    SamlAddon::of(&client.settings.extra)
        .and_then(|a| a.issuer)
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| format!("urn:{}.auth0.com", state.config.tenant_name))
}

/// The user as the add-on's mappings see it (Auth0's profile names).
fn profile(user: &User) -> Map<String, Value> {
    let mut p = user.profile.clone();
    p.insert("user_id".into(), json!(user.user_id));
    if let Some(e) = &user.email {
        p.insert("email".into(), json!(e));
        p.insert("email_verified".into(), json!(user.email_verified));
    }
    if let Some(u) = &user.username {
        p.insert("username".into(), json!(u));
    }
    if let Some(n) = &user.phone_number {
        p.insert("phone_number".into(), json!(n));
    }
    p.insert(
        "user_metadata".into(),
        Value::Object(user.user_metadata.clone()),
    );
    p.insert(
        "app_metadata".into(),
        Value::Object(user.app_metadata.clone()),
    );
    let identities: Vec<Value> = user
        .identities
        .iter()
        .map(|i| {
            json!({"provider": i.provider, "connection": i.connection,
                   "user_id": i.user_id, "isSocial": i.is_social})
        })
        .collect();
    p.insert("identities".into(), Value::Array(identities));
    p
}

/// The auto-posting form that carries `message` to the service provider.
fn post(reply: &SamlReply, message: &str) -> Response {
    let encoded = STANDARD.encode(message);
    let mut fields = vec![("SAMLResponse", encoded.as_str())];
    if let Some(r) = reply.relay_state.as_deref() {
        fields.push(("RelayState", r));
    }
    pages::render(
        StatusCode::OK,
        &FormPost {
            action: &reply.acs,
            fields,
        },
    )
}

/// The signed Response for `user`, logged in by `session`, posted to the provider.
pub async fn success(
    state: &AppState,
    reply: &SamlReply,
    client: &Client,
    session: &Session,
    user: &User,
) -> Result<Response, OAuthError> {
    let addon = SamlAddon::of(&client.settings.extra).unwrap_or_default();
    let attributes = addon.attributes(&profile(user));
    let name_id = addon
        .name_identifier(&attributes)
        .unwrap_or_else(|| user.user_id.to_string());
    let audience = addon
        .audience
        .clone()
        .filter(|a| !a.is_empty())
        .or_else(|| reply.sp_entity_id.clone())
        .unwrap_or_else(|| reply.acs.clone());
    let recipient = addon
        .recipient
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| reply.acs.clone());
    let destination = addon
        .destination
        .clone()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| reply.acs.clone());
    let now = state.clock.now().unix_timestamp();
    let ids = (
        format!("_{}", crate::ids::random_hex(20)),
        format!("_{}", crate::ids::random_hex(20)),
    );
    let keys = state.keys.get();
    let (issuer, in_response_to, session_index) = (
        reply.issuer.clone(),
        reply.in_response_to.clone(),
        session.sid.clone(),
    );
    // libxmlsec1 works synchronously.
    let xml = tokio::task::spawn_blocking(move || {
        let (pkcs8, certificate) = keys.current.xml_signing();
        issue::response(
            &Issue {
                issuer: &issuer,
                ids: (&ids.0, &ids.1),
                name_id: &name_id,
                name_id_format: addon.name_id_format(),
                audience: &audience,
                recipient: &recipient,
                in_response_to: in_response_to.as_deref(),
                attributes: &attributes,
                session_index: &session_index,
                now,
                lifetime: addon.lifetime(),
                destination: Some(&destination),
                authn_context: addon.authn_context(),
                sign_response: addon.sign_response.unwrap_or(false),
            },
            pkcs8,
            certificate,
        )
    })
    .await
    .map_err(|e| OAuthError::Internal(e.into()))?
    .map_err(|e| OAuthError::Internal(e.into()))?;
    Ok(post(reply, &xml))
}

/// A failed login, told to the provider: a Response without an assertion whose status says
/// why (`NoPassive` for `login_required`, `RequestDenied` for a refusal, `AuthnFailed`
/// otherwise), signed like every message we send. Failures are rare, so this one signs in
/// place rather than on the blocking pool.
pub fn failure(state: &AppState, reply: &SamlReply, error: &str, description: &str) -> Response {
    let detail = match error {
        "login_required" | "consent_required" | "interaction_required" => "NoPassive",
        "access_denied" | "unauthorized" => "RequestDenied",
        _ => "AuthnFailed",
    };
    let keys = state.keys.get();
    let (pkcs8, certificate) = keys.current.xml_signing();
    let message = issue::status(
        &Status {
            element: "Response",
            issuer: &reply.issuer,
            id: &format!("_{}", crate::ids::random_hex(20)),
            destination: &reply.acs,
            in_response_to: reply.in_response_to.as_deref(),
            status: "Responder",
            detail: Some(detail),
            message: Some(description),
            now: state.clock.now().unix_timestamp(),
        },
        pkcs8,
        certificate,
    );
    match message {
        Ok(xml) => post(reply, &xml),
        Err(e) => {
            tracing::error!(error = %e, "SAML failure response not signed");
            axum::response::IntoResponse::into_response((
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error",
            ))
        }
    }
}
