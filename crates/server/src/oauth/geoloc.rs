//! `GET /user/geoloc/country`: the country Lock's passwordless widget preselects for phone
//! numbers. gatehouse looks no address up; it answers the configured
//! `GATEHOUSE_DEFAULT_COUNTRY`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;

/// `GET /user/geoloc/country`: `{"country_code": "<ISO 3166-1 alpha-2>"}`.
pub async fn country(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "country_code": state.config.default_country }))
}
