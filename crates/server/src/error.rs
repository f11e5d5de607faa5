//! Errors of the Authentication API and of the operational endpoints, in the RFC 6749
//! shape `{error, error_description}`. The Management API gets its own type.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to an OAuth/OIDC client.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// No such endpoint.
    #[error("not found")]
    NotFound,
    /// Something broke on our side; the cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, error, description) = match &self {
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
        (
            status,
            Json(json!({"error": error, "error_description": description})),
        )
            .into_response()
    }
}
