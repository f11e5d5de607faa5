//! Checking an authorization request (`/authorize`, and the request a magic link
//! completes). Until the client and its redirect URI are known good, nothing is sent
//! anywhere; after that, errors go back to the client.

use std::sync::Arc;

use axum::response::Response;
use gatehouse_core::client::{AppType, Client};
use gatehouse_core::scope::Scope;
use gatehouse_core::{pkce, redirect_uri};
use serde::Deserialize;
use time::OffsetDateTime;

use super::database_connection;
use super::response::error_to_client;
use super::transaction::{TX_LIFETIME, Transaction};
use crate::AppState;
use crate::crypto::random_secret;
use crate::error::OAuthError;
use crate::pages;

/// The query of `/authorize` (everything optional here; validation says what is missing).
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeQuery {
    response_type: Option<String>,
    response_mode: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    audience: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    /// `none`, `login` or `consent`.
    pub prompt: Option<String>,
    /// The username or email to prefill.
    pub login_hint: Option<String>,
    /// `signup` opens the sign-up page first.
    pub screen_hint: Option<String>,
    max_age: Option<String>,
    connection: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// The response types Auth0 accepts, with their parts sorted.
const RESPONSE_TYPES: &[&str] = &[
    "code",
    "token",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
];

/// An authorization request after its checks.
pub enum Checked {
    /// Good: the client, the transaction, and `max_age`.
    Valid(Arc<Client>, Box<Transaction>, Option<i64>),
    /// Refused: an error page, or an error sent back to the client.
    Refused(Response),
}

/// Runs every check of an authorization request (also used for the request a magic link
/// completes). Until the client and its redirect URI are known good, nothing is sent
/// anywhere; after that, errors go back to the client.
pub async fn check_request(state: &AppState, q: &AuthorizeQuery) -> Result<Checked, OAuthError> {
    let tenant = crate::pages::brand(state).await;
    let refuse = |r: Response| Ok(Checked::Refused(r));
    let Some(client_id) = q.client_id.as_deref() else {
        return refuse(pages::error_page(
            &tenant,
            "Missing required parameter: client_id",
        ));
    };
    let Some(client) = state.catalog.client(client_id).await? else {
        return refuse(pages::error_page(&tenant, "Unknown client."));
    };
    let native = client.app_type == AppType::Native;
    let Some(redirect) = q.redirect_uri.clone() else {
        return refuse(pages::error_page(
            &tenant,
            "Missing required parameter: redirect_uri",
        ));
    };
    if !redirect_uri::allowed(&client.settings.callbacks, &redirect, native) {
        return refuse(pages::error_page(
            &tenant,
            "The redirect_uri is not in the application's Allowed Callback URLs.",
        ));
    }
    // Parts in any order; stored sorted so one spelling reaches the rest of the code.
    let response_type = q.response_type.as_deref().map(|rt| {
        let mut parts: Vec<&str> = rt.split(' ').filter(|p| !p.is_empty()).collect();
        parts.sort_by_key(|p| match *p {
            "code" => 0,
            "id_token" => 1,
            _ => 2,
        });
        parts.join(" ")
    });
    let implicit = response_type.as_deref().is_some_and(|rt| rt != "code");
    let response_mode = q.response_mode.clone().unwrap_or_else(|| {
        if implicit {
            "fragment".into()
        } else {
            "query".into()
        }
    });
    let mut tx = Transaction {
        client_id: client.client_id.clone(),
        redirect_uri: redirect,
        response_mode: match response_mode.as_str() {
            "form_post" | "fragment" | "web_message" => response_mode.clone(),
            _ if implicit => "fragment".into(),
            _ => "query".into(),
        },
        response_type: response_type.clone().unwrap_or_else(|| "code".into()),
        scope: String::new(),
        audience: q.audience.clone(),
        state: q.state.clone(),
        nonce: q.nonce.clone(),
        code_challenge: None,
        connection: None,
        prompt: q.prompt.clone(),
        recipient: None,
        csrf: random_secret(24),
        exp: OffsetDateTime::now_utc().unix_timestamp() + TX_LIFETIME,
    };
    if response_mode == "web_message" {
        // The page posts to the redirect URI's origin, which must be an Allowed Web Origin.
        let origin = crate::http::cors::origin_of(&tx.redirect_uri);
        let allowed = client
            .settings
            .web_origins
            .iter()
            .filter_map(|w| crate::http::cors::origin_of(w))
            .any(|w| Some(w) == origin);
        if !allowed {
            return refuse(pages::error_page(
                &tenant,
                "The redirect_uri's origin is not in the application's Allowed Web Origins.",
            ));
        }
    }
    if !matches!(
        response_mode.as_str(),
        "query" | "form_post" | "fragment" | "web_message"
    ) {
        return refuse(error_to_client(
            state,
            &tx,
            "invalid_request",
            "Unsupported response_mode",
        ));
    }
    let Some(rt) = response_type.as_deref() else {
        return refuse(error_to_client(
            state,
            &tx,
            "invalid_request",
            "Missing required parameter: response_type",
        ));
    };
    if !RESPONSE_TYPES.contains(&rt) {
        return refuse(error_to_client(
            state,
            &tx,
            "unsupported_response_type",
            "Unsupported response type",
        ));
    }
    let parts: Vec<&str> = rt.split(' ').collect();
    let allowed = |g: &str| client.settings.grant_types.iter().any(|x| x == g);
    if parts.contains(&"code") && !allowed("authorization_code") {
        return refuse(error_to_client(
            state,
            &tx,
            "unauthorized_client",
            "Grant type 'authorization_code' not allowed for the client.",
        ));
    }
    if implicit {
        // Implicit and hybrid flows are off unless the client enabled `implicit` (RFC 9700
        // s2.1.2 advises against them), their tokens never go in a query string, and an ID
        // token from this endpoint needs a nonce (OIDC Core s3.2.2.1).
        if (parts.contains(&"token") || parts.contains(&"id_token")) && !allowed("implicit") {
            return refuse(error_to_client(
                state,
                &tx,
                "unauthorized_client",
                "Grant type 'implicit' not allowed for the client.",
            ));
        }
        if response_mode == "query" {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "response_mode=query cannot carry tokens",
            ));
        }
        if parts.contains(&"id_token") && q.nonce.as_deref().is_none_or(str::is_empty) {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "nonce is required when an ID token is returned from /authorize",
            ));
        }
    }
    match (
        q.code_challenge.as_deref(),
        q.code_challenge_method.as_deref(),
    ) {
        (Some(c), Some("S256")) if pkce::well_formed(c) => tx.code_challenge = Some(c.to_owned()),
        (Some(_), _) => {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "code_challenge must be S256 and well formed",
            ));
        }
        (None, _) if is_public(&client) && parts.contains(&"code") => {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "Public clients must use PKCE (code_challenge)",
            ));
        }
        (None, _) => {}
    }
    match q.scope.as_deref().map(Scope::parse_requested).transpose() {
        Ok(s) => tx.scope = s.map(|s| s.to_string()).unwrap_or_else(|| "openid".into()),
        Err(_) => {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_scope",
                "The scope is malformed or too long",
            ));
        }
    }
    if let Some(name) = q.connection.as_deref().filter(|c| !c.is_empty()) {
        let ok = state
            .stores
            .connections
            .connection_by_name(name)
            .await?
            .is_some_and(|c| {
                matches!(c.strategy.as_str(), "auth0" | "email" | "sms")
                    && database_connection::enabled_for(&c, &client.client_id)
            });
        if !ok {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "Unknown or unsupported connection",
            ));
        }
        tx.connection = Some(name.to_owned());
    }
    let max_age = match q.max_age.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) if n >= 0 => Some(n),
        Some(_) => {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "max_age must be a whole number of seconds",
            ));
        }
    };
    Ok(Checked::Valid(client, Box::new(tx), max_age))
}

fn is_public(client: &Client) -> bool {
    client.settings.token_endpoint_auth_method.as_deref() == Some("none")
}
