//! `GET /.well-known/jwks.json`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;

/// The published keys: current, next (fetched ahead of its use) and previous (its tokens
/// still verify). Caching for a few minutes is safe because a key is published one whole
/// rotation before it signs anything.
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.keys.get().jwks.clone()),
    )
}
