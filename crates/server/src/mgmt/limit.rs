//! The Management API's rate limit: a token bucket per caller. A token that passed every
//! check of `auth::authenticate` (signature, expiry, issuer, audience) counts for its person
//! (`sub`) or, for a machine token, its client; anything else counts for the client IP, so
//! neither forged, expired nor foreign tokens drain a real caller's bucket, and one SPA user
//! cannot drain the bucket of that SPA's other users.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use super::auth::Authentication;
use crate::AppState;
use crate::http::rate_limit::{enforce, ip_key};

/// Middleware of the Management group, inside `auth::authenticate` (whose verdict names the
/// bucket): 429 in the Management error shape when the bucket is empty.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiter) = state.rate_limits.mgmt.as_ref() else {
        return next.run(request).await;
    };
    let key = match request.extensions().get::<Authentication>() {
        Some(Authentication { caller: Ok(c), .. }) => c.bucket_key(),
        _ => ip_key(&request),
    };
    let refusal = json!({
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "Global limit has been reached",
        "errorCode": "too_many_requests",
    });
    enforce(limiter, &key, refusal, request, next).await
}
