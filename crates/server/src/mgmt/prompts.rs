//! `/api/v2/prompts`: the login prompts' settings. `identifier_first` changes the login page
//! (the identifier, then the password); the other two are kept and shown
//! (`stored::PROMPTS`).

use axum::Json;
use axum::extract::State;
use gatehouse_core::tenant::TenantSettings;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::body::{MgmtJson, present};
use super::error::MgmtError;
use super::stored;
use super::tenant::load;
use crate::AppState;

/// The prompt settings as Auth0 shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptsView {
    /// Whether the login page asks for the identifier first.
    pub identifier_first: bool,
    /// Kept settings (`universal_login_experience`, `webauthn_platform_first_factor`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub stored: Map<String, Value>,
}

/// The body of `PATCH /prompts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptsBody {
    /// Whether the login page asks for the identifier first.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub identifier_first: Option<bool>,
}

fn view(t: &TenantSettings) -> PromptsView {
    let mut shown = stored::shown(&t.prompts_extra, &stored::PROMPTS);
    // Auth0's defaults, shown until set.
    shown
        .entry("universal_login_experience")
        .or_insert_with(|| Value::String("new".into()));
    shown
        .entry("webauthn_platform_first_factor")
        .or_insert(Value::Bool(false));
    PromptsView {
        identifier_first: t.identifier_first.unwrap_or(false),
        stored: shown,
    }
}

/// `GET /prompts`.
pub async fn get(State(state): State<AppState>) -> Result<Json<PromptsView>, MgmtError> {
    Ok(Json(view(&load(&state).await?)))
}

/// `PATCH /prompts`.
pub async fn update(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<PromptsView>, MgmtError> {
    let (body, kept): (PromptsBody, _) = stored::typed(body, &stored::PROMPTS)?;
    let _writing = state.tenant_writes.lock().await;
    let mut t = load(&state).await?;
    if let Some(on) = body.identifier_first {
        t.identifier_first = Some(on);
    }
    kept.apply(&mut t.prompts_extra);
    state.stores.tenant.update_tenant(&t).await?;
    Ok(Json(view(&t)))
}
