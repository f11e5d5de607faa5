//! JSON bodies and query strings of the Management API, with Auth0's 400 errors instead of
//! axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::MgmtError;

/// A JSON body; malformed JSON, wrong types and unknown fields are `invalid_body`.
pub struct MgmtJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for MgmtJson<T> {
    type Rejection = MgmtError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| MgmtError::invalid_body("the body could not be read"))?;
        parse_json(&bytes).map(MgmtJson)
    }
}

/// Reads a JSON body into `T`, with Auth0's `invalid_body` naming the property at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MgmtError> {
    if bytes.is_empty() {
        return Err(MgmtError::invalid_body("a JSON body is required"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            MgmtError::invalid_body(format!("'{inner}'"))
        } else {
            MgmtError::invalid_body(format!("'{inner}' on property {path}"))
        }
    })
}

/// A query string; bad values are `invalid_query_string`.
pub struct MgmtQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for MgmtQuery<T> {
    type Rejection = MgmtError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(MgmtQuery)
            .map_err(MgmtError::invalid_query)
    }
}
