//! Client authentication at the token endpoint: `client_secret_basic` or
//! `client_secret_post` (RFC 6749 s2.3.1), the secret checked against its keyed hash in
//! constant time.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::client::Client;
use gatehouse_core::id::ClientId;

use crate::AppState;
use crate::error::OAuthError;
use crate::oauth::params::Params;

/// A client that authenticated: a confidential one proved it holds its secret.
pub struct AuthenticatedClient(pub std::sync::Arc<Client>);

struct Presented {
    client_id: String,
    secret: Option<String>,
    basic: bool,
}

fn invalid(description: &str, basic: bool) -> OAuthError {
    OAuthError::InvalidClient {
        description: description.to_owned(),
        basic,
    }
}

fn presented(headers: &HeaderMap, params: &Params) -> Result<Presented, OAuthError> {
    let basic = match headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(value) if value.len() > 6 && value[..6].eq_ignore_ascii_case("basic ") => {
            let decoded = STANDARD
                .decode(value[6..].trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid("Malformed Basic authorization header", true))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| invalid("Malformed Basic authorization header", true))?;
            // RFC 6749 s2.3.1 form-encodes both parts before base64.
            let unescape = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            Some((unescape(id), unescape(secret)))
        }
        _ => None,
    };
    match basic {
        Some((id, secret)) => {
            // RFC 6749 s2.3: a client must not use more than one authentication method.
            if params.get("client_secret").is_some() {
                return Err(OAuthError::InvalidRequest(
                    "Use one client authentication method, not several".into(),
                ));
            }
            if params.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(invalid(
                    "client_id does not match the Authorization header",
                    true,
                ));
            }
            Ok(Presented {
                client_id: id,
                secret: Some(secret),
                basic: true,
            })
        }
        None => Ok(Presented {
            client_id: params
                .get("client_id")
                .ok_or_else(|| invalid("Client authentication is required", false))?
                .to_owned(),
            secret: params.get("client_secret").map(str::to_owned),
            basic: false,
        }),
    }
}

/// How a grant's client must authenticate at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// With its secret only (the client-credentials grant: a machine acting for itself).
    Confidential,
    /// With its secret, or, for a public client (`token_endpoint_auth_method: none`)
    /// that presents none, by its id alone (grants for a person, where PKCE, a code or a
    /// refresh token bound to the client does the proving).
    ConfidentialOrPublic,
}

/// Authenticates the client of a request as `how` allows.
pub async fn for_grant(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    how: ClientAuth,
) -> Result<std::sync::Arc<Client>, OAuthError> {
    Ok(match how {
        ClientAuth::Confidential => authenticate(state, headers, params).await?,
        ClientAuth::ConfidentialOrPublic => authenticate_client(state, headers, params).await?,
    }
    .0)
}

/// Authenticates a client: confidential clients by their secret; public clients (auth
/// method `none`) by their id alone when they present no secret.
pub async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<AuthenticatedClient, OAuthError> {
    let public_id = params
        .get("client_id")
        .filter(|_| params.get("client_secret").is_none() && !headers.contains_key(AUTHORIZATION));
    if let Some(id) = public_id {
        let client = state.catalog.client(&ClientId::from(id)).await?;
        return match client {
            Some(c) if c.settings.token_endpoint_auth_method.as_deref() == Some("none") => {
                Ok(AuthenticatedClient(c))
            }
            _ => Err(invalid("Client authentication failed", false)),
        };
    }
    authenticate(state, headers, params).await
}

/// Authenticates a confidential client from the request.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<AuthenticatedClient, OAuthError> {
    let p = presented(headers, params)?;
    let client = state.catalog.client(&ClientId::from(p.client_id)).await?;
    let verified = match (&client, &p.secret) {
        (Some(c), Some(secret)) => c
            .secret
            .as_ref()
            .is_some_and(|stored| state.hasher.verify(secret, &stored.hash)),
        (None, Some(secret)) => {
            // Same work for unknown clients, so timing does not reveal which ids exist.
            state.hasher.verify(secret, &[0u8; 32]);
            false
        }
        (_, None) => false,
    };
    match client {
        Some(c) if verified => Ok(AuthenticatedClient(c)),
        _ => Err(invalid("Client authentication failed", p.basic)),
    }
}
