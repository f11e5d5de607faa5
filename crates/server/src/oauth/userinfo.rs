//! `GET|POST /userinfo` (OIDC Core s5.3): the claims an access token's scopes release.

use axum::Json;
use axum::extract::State;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::id::UserId;
use gatehouse_core::scope::Scope;
use gatehouse_core::token::user_claims;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::OAuthError;

fn invalid_token(description: &str) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "invalid_token", "error_description": description})),
    )
        .into_response();
    r.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    r
}

/// The handler. The token comes from the `Authorization` header only: tokens in query
/// strings end up in logs and browser history (RFC 9700 s4.3.2).
pub async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let Some(token) = crate::http::bearer_token(&headers) else {
        return Ok(invalid_token("Missing access token"));
    };
    let Ok(claims) = state.keys.verify(token) else {
        return Ok(invalid_token("Invalid access token"));
    };
    let userinfo = format!("{}userinfo", state.issuer);
    let aud_ok = match &claims["aud"] {
        Value::String(s) => *s == userinfo,
        Value::Array(items) => items.iter().any(|a| *a == userinfo.as_str()),
        _ => false,
    };
    let now = state.clock.now().unix_timestamp();
    if !aud_ok
        || claims["iss"] != state.issuer.as_str()
        || claims["exp"].as_i64().is_none_or(|e| e <= now)
    {
        return Ok(invalid_token("Invalid access token"));
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    let Some(user) = state.stores.users.user(&UserId::from(sub)).await? else {
        return Ok(invalid_token("The user no longer exists"));
    };
    let scope = Scope::parse(claims["scope"].as_str().unwrap_or_default()).unwrap_or_default();
    Ok(Json(Value::Object(user_claims(&user, &scope))).into_response())
}
