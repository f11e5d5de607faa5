//! Errors of the Authentication API and of the operational endpoints, in the RFC 6749
//! shape `{error, error_description}` with Auth0's status codes. The Management API has its
//! own type in `mgmt::error`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to an OAuth/OIDC client.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// 400: a parameter is missing, repeated or malformed.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// 400: a grant type we do not implement.
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// 401: client authentication failed. `basic` asks for a `WWW-Authenticate` challenge
    /// (RFC 6749 s5.2: when the client tried the Authorization header).
    #[error("invalid_client: {description}")]
    InvalidClient {
        /// Shown to the client.
        description: String,
        /// Whether the client used HTTP Basic.
        basic: bool,
    },
    /// 403: the client may not use this grant type.
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    /// 403: the request is refused (e.g. no client grant for the audience).
    #[error("access_denied: {0}")]
    AccessDenied(String),
    /// 403: the grant (credentials, code, refresh token) is wrong; the text is Auth0's, which
    /// the SDKs match on.
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// 403 `invalid_grant`: the rotating refresh token being spent was retired by another
    /// redemption first (the refresh grant revokes the family: a replay).
    #[error("invalid_grant: refresh token already rotated")]
    RefreshTokenReplayed,
    /// 400: a scope that cannot be granted.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// 401 `unauthorized`: the user is blocked (spa-js logs out on "user is blocked").
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 429 `too_many_attempts`: brute-force protection blocked this user from this address.
    #[error("too_many_attempts: {0}")]
    TooManyAttempts(String),
    /// 400 with one of Auth0's own codes (`bad.connection`, `bad.email`,
    /// `sms_provider_error`, ...), which its SDKs and Lock show to people.
    #[error("{code}: {description}")]
    Auth0 {
        /// Auth0's code.
        code: &'static str,
        /// What went wrong.
        description: String,
    },
    /// 429 `too_many_requests`: a per-recipient or per-address sending limit.
    #[error("too_many_requests: {0}")]
    TooManyRequests(String),
    /// 404: no such endpoint.
    #[error("not found")]
    NotFound,
    /// 500: something broke on our side; the cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl OAuthError {
    /// The `error_description` a client sees.
    pub fn description(&self) -> String {
        match self {
            OAuthError::InvalidRequest(d)
            | OAuthError::UnsupportedGrantType(d)
            | OAuthError::UnauthorizedClient(d)
            | OAuthError::AccessDenied(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::Unauthorized(d)
            | OAuthError::TooManyAttempts(d)
            | OAuthError::TooManyRequests(d) => d.clone(),
            OAuthError::RefreshTokenReplayed => "Unknown or invalid refresh token.".into(),
            OAuthError::Auth0 { description, .. } => description.clone(),
            OAuthError::InvalidClient { description, .. } => description.clone(),
            OAuthError::NotFound => "Not found".into(),
            OAuthError::Internal(_) => "The server could not complete the request.".into(),
        }
    }
}

impl From<gatehouse_core::store::StoreError> for OAuthError {
    fn from(e: gatehouse_core::store::StoreError) -> Self {
        OAuthError::Internal(e.into())
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let description = self.description();
        let (status, error) = match &self {
            OAuthError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            OAuthError::UnsupportedGrantType(_) => {
                (StatusCode::BAD_REQUEST, "unsupported_grant_type")
            }
            OAuthError::InvalidScope(_) => (StatusCode::BAD_REQUEST, "invalid_scope"),
            OAuthError::InvalidClient { .. } => (StatusCode::UNAUTHORIZED, "invalid_client"),
            OAuthError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            OAuthError::UnauthorizedClient(_) => (StatusCode::FORBIDDEN, "unauthorized_client"),
            OAuthError::AccessDenied(_) => (StatusCode::FORBIDDEN, "access_denied"),
            OAuthError::InvalidGrant(_) | OAuthError::RefreshTokenReplayed => {
                (StatusCode::FORBIDDEN, "invalid_grant")
            }
            OAuthError::TooManyAttempts(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            OAuthError::Auth0 { code, .. } => (StatusCode::BAD_REQUEST, *code),
            OAuthError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            OAuthError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            OAuthError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
        };
        let mut body = json!({"error": error, "error_description": description});
        if matches!(self, OAuthError::UnauthorizedClient(_)) {
            // Auth0 points at its grant-type documentation here; SDKs display it.
            body["error_uri"] = json!("https://auth0.com/docs/clients/client-grant-types");
        }
        let mut response = (status, Json(body)).into_response();
        if let OAuthError::InvalidClient { basic: true, .. } = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"gatehouse\""),
            );
        }
        response
    }
}
