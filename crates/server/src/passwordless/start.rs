//! `POST /passwordless/start`: Auth0's body (JSON or form), client authentication for
//! confidential applications, then a code or a magic link through the connection.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use gatehouse_core::client::Client;
use gatehouse_core::id::ClientId;
use gatehouse_core::passwordless::Send;
use gatehouse_core::strategy::Strategy;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::authn::otp::{self, SendRequest};
use crate::authn::request::{AuthorizeQuery, Checked, check_request};
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::oauth::client_auth;
use crate::oauth::params::Params;

/// The body properties Auth0 accepts (anything else is `bad.request`).
const PROPERTIES: &[&str] = &[
    "client_id",
    "client_secret",
    "connection",
    "email",
    "phone_number",
    "send",
    "authParams",
];

fn bad(code: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError::Auth0 {
        code,
        description: description.into(),
    }
}

/// The client: public applications by id, confidential ones only with their secret (Auth0
/// answers 403 `unauthorized_client` when the secret is missing).
async fn client(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<std::sync::Arc<Client>, OAuthError> {
    let id = params
        .get("client_id")
        .ok_or_else(|| bad("bad.client_id", "Missing required property: client_id"))?;
    let presents_secret = params.get("client_secret").is_some()
        || headers.contains_key(axum::http::header::AUTHORIZATION);
    if !presents_secret
        && let Some(c) = state.catalog.client(&ClientId::from(id)).await?
        && c.settings.token_endpoint_auth_method.as_deref() != Some("none")
    {
        return Err(OAuthError::UnauthorizedClient(
            "Client authentication is required".into(),
        ));
    }
    Ok(client_auth::authenticate_client(state, headers, params)
        .await?
        .0)
}

/// The `authParams` of a link, checked now as the authorization request the link will
/// complete, so a link is never sent for a request that would be refused.
async fn link_params(
    state: &AppState,
    client: &Client,
    connection: &str,
    raw: Option<&str>,
) -> Result<Value, OAuthError> {
    let invalid = || {
        bad(
            "bad.authParams",
            "error in authParams - invalid type: string (expected object)",
        )
    };
    let mut params: Map<String, Value> = match raw {
        Some(text) => serde_json::from_str(text).map_err(|_| invalid())?,
        None => Map::new(),
    };
    // Auth0.js also sends camelCase copies and bookkeeping keys; only OAuth's names count.
    params.retain(|k, v| {
        matches!(
            k.as_str(),
            "response_type"
                | "response_mode"
                | "redirect_uri"
                | "scope"
                | "audience"
                | "state"
                | "nonce"
                | "code_challenge"
                | "code_challenge_method"
        ) && !v.is_null()
    });
    params.insert("client_id".into(), json!(client.client_id));
    params.insert("connection".into(), json!(connection));
    params
        .entry("response_type")
        .or_insert_with(|| json!("code"));
    let query: AuthorizeQuery =
        serde_json::from_value(Value::Object(params.clone())).map_err(|_| invalid())?;
    match check_request(state, &query).await? {
        Checked::Valid(..) => Ok(Value::Object(params)),
        Checked::Refused(_) => Err(bad(
            "bad.authParams",
            "authParams do not make a valid authorization request for this application \
             (check redirect_uri against its Allowed Callback URLs, response_type, scope)",
        )),
    }
}

/// The handler.
pub async fn start(
    State(state): State<AppState>,
    caller: CallerInfo,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, OAuthError> {
    if let Some(extra) = params.keys().find(|k| !PROPERTIES.contains(k)) {
        return Err(bad(
            "bad.request",
            format!("the following properties are not allowed: {extra}"),
        ));
    }
    let client = client(&state, &headers, &params).await?;
    let name = params
        .get("connection")
        .ok_or_else(|| bad("bad.connection", "Missing required property: connection"))?;
    let connection = otp::connection_for(&state, &client, name).await?;
    let email = connection.strategy == Strategy::Email;
    let recipient = otp::recipient(
        &connection,
        params.get(if email { "email" } else { "phone_number" }),
    )?;
    let send = match (params.get("send"), email) {
        (None | Some("link" | "link_ios" | "link_android"), true) => Send::Link,
        (None | Some("code"), _) => Send::Code,
        (Some(other), _) => {
            return Err(bad(
                "bad.send",
                format!(
                    "send must be code{}; got {other}",
                    if email { " or link" } else { "" }
                ),
            ));
        }
    };
    let auth_params = match send {
        Send::Link => {
            link_params(&state, &client, &connection.name, params.get("authParams")).await?
        }
        Send::Code => Value::Object(Map::new()),
    };
    // Templates may print it: only a language tag (the first of a list) gets through, so a
    // caller cannot put words into a message sent to someone else.
    let language = headers
        .get("x-request-language")
        .or_else(|| headers.get(axum::http::header::ACCEPT_LANGUAGE))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split([',', ';']).next())
        .map(str::trim)
        .filter(|tag| {
            (1..=35).contains(&tag.len())
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .unwrap_or_default()
        .to_owned();
    otp::send(
        &state,
        SendRequest {
            client: &client,
            connection: &connection,
            recipient: &recipient,
            send,
            auth_params,
            caller: &caller,
            language: &language,
        },
    )
    .await?;
    // The same answer whether or not the person has an account.
    let id = crate::ids::random_hex(12);
    let body = if email {
        json!({"_id": id, "email": recipient, "email_verified": false})
    } else {
        json!({"_id": id, "phone_number": recipient, "phone_verified": false, "request_language": language})
    };
    Ok(Json(body).into_response())
}
