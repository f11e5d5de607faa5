//! The Management API's error body: `{statusCode, error, message, errorCode}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::store::StoreError;
use serde_json::json;

/// An error answered by `/api/v2/`.
#[derive(Debug, thiserror::Error)]
pub enum MgmtError {
    /// 400 with an Auth0 `errorCode` such as `invalid_body` or `invalid_query_string`.
    #[error("{message}")]
    BadRequest {
        /// Shown to the caller.
        message: String,
        /// Auth0's machine-readable code.
        code: &'static str,
    },
    /// 401: no token, or one we did not issue for this API.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `insufficient_scope`, naming the scopes that would do.
    #[error("Insufficient scope, expected any of: {}", .0.join(","))]
    InsufficientScope(Vec<&'static str>),
    /// 403 for other refusals (e.g. a system resource).
    #[error("{message}")]
    Forbidden {
        /// Shown to the caller.
        message: String,
        /// Auth0's code.
        code: &'static str,
    },
    /// 404 with an `inexistent_*` code.
    #[error("{message}")]
    NotFound {
        /// Shown to the caller.
        message: String,
        /// Auth0's code.
        code: &'static str,
    },
    /// 409: the resource already exists.
    #[error("{message}")]
    Conflict {
        /// Shown to the caller.
        message: String,
        /// Auth0's code.
        code: &'static str,
    },
    /// 413: a body or file over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// 429: too many of something at once (concurrent jobs).
    #[error("{0}")]
    TooMany(String),
    /// 500: the cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl MgmtError {
    /// 400 `invalid_body` in Auth0's words.
    pub fn invalid_body(detail: impl std::fmt::Display) -> Self {
        MgmtError::BadRequest {
            message: format!("Payload validation error: {detail}"),
            code: "invalid_body",
        }
    }

    /// 400 `invalid_query_string`.
    pub fn invalid_query(detail: impl std::fmt::Display) -> Self {
        MgmtError::BadRequest {
            message: format!("Query validation error: {detail}"),
            code: "invalid_query_string",
        }
    }

    /// 409 with Auth0's generic `conflict` code.
    pub fn conflict(message: &str) -> Self {
        MgmtError::Conflict {
            message: message.to_owned(),
            code: "conflict",
        }
    }

    /// A storage error, with `NotFound` answered as `not_found()` (the resource's own 404).
    pub fn or_missing(e: StoreError, not_found: fn() -> MgmtError) -> Self {
        match e {
            StoreError::NotFound(_) => not_found(),
            other => other.into(),
        }
    }

    /// The answer to a delete: `status` once done, `not_found()` when there was nothing.
    pub fn deleted(
        result: Result<(), StoreError>,
        not_found: fn() -> MgmtError,
        status: StatusCode,
    ) -> Result<StatusCode, MgmtError> {
        result
            .map(|()| status)
            .map_err(|e| MgmtError::or_missing(e, not_found))
    }

    /// The answer to a create: 201 with `view`, or 409 with `conflict` when it exists.
    pub fn created<V: serde::Serialize>(
        result: Result<(), StoreError>,
        conflict: &str,
        view: V,
    ) -> Result<Response, MgmtError> {
        match result {
            Ok(()) => Ok((StatusCode::CREATED, Json(view)).into_response()),
            Err(StoreError::Conflict(_)) => Err(MgmtError::conflict(conflict)),
            Err(e) => Err(e.into()),
        }
    }

    /// 404 with `message` and `code`.
    pub fn not_found(message: &str, code: &'static str) -> Self {
        MgmtError::NotFound {
            message: message.to_owned(),
            code,
        }
    }
}

impl From<StoreError> for MgmtError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => MgmtError::conflict("The resource already exists"),
            other => MgmtError::Internal(other.into()),
        }
    }
}

impl IntoResponse for MgmtError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            MgmtError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, *code),
            MgmtError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            MgmtError::InsufficientScope(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            MgmtError::Forbidden { code, .. } => (StatusCode::FORBIDDEN, *code),
            MgmtError::NotFound { code, .. } => (StatusCode::NOT_FOUND, *code),
            MgmtError::Conflict { code, .. } => (StatusCode::CONFLICT, *code),
            MgmtError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            MgmtError::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            MgmtError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        };
        let message = match &self {
            MgmtError::Internal(_) => "Internal error".to_owned(),
            other => other.to_string(),
        };
        let body = json!({
            "statusCode": status.as_u16(),
            "error": status.canonical_reason().unwrap_or("Error"),
            "message": message,
            "errorCode": code,
        });
        (status, Json(body)).into_response()
    }
}
