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
            | OAuthError::AccessDenied(d) => d.clone(),
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
        let (status, error, description) = match &self {
            OAuthError::InvalidRequest(d) => {
                (StatusCode::BAD_REQUEST, "invalid_request", d.as_str())
            }
            OAuthError::UnsupportedGrantType(d) => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                d.as_str(),
            ),
            OAuthError::InvalidClient { description, .. } => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                description.as_str(),
            ),
            OAuthError::UnauthorizedClient(d) => {
                (StatusCode::FORBIDDEN, "unauthorized_client", d.as_str())
            }
            OAuthError::AccessDenied(d) => (StatusCode::FORBIDDEN, "access_denied", d.as_str()),
            OAuthError::NotFound => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            OAuthError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "The server could not complete the request.",
                )
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
