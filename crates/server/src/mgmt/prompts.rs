//! `/api/v2/prompts`: the login prompts' settings and custom texts. `identifier_first`
//! changes the login page (the identifier, then the password); the other two settings are
//! kept and shown (`stored::PROMPTS`). Custom texts (`/prompts/{prompt}/custom-text/{lang}`)
//! go over the shipped texts of the pages (`gatehouse_core::prompt_text`).

use axum::Json;
use axum::extract::{Path, State};
use gatehouse_core::prompt_text::CustomTextError;
use gatehouse_core::tenant::TenantSettings;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::body::{MgmtJson, present};
use super::error::MgmtError;
use super::stored;
use super::tenant::{load, modify};
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
    let (t, ()) = modify(&state, |t| {
        if let Some(on) = body.identifier_first {
            t.identifier_first = Some(on);
        }
        kept.apply(&mut t.prompts_extra);
        Ok(())
    })
    .await?;
    Ok(Json(view(&t)))
}

/// Auth0's 400 for a path segment outside its enumeration.
fn invalid_path(value: &str, property: &str, what: &str) -> MgmtError {
    MgmtError::BadRequest {
        message: format!(
            "Path validation error: 'Invalid value \"{value}\"' on property {property} ({what})."
        ),
        code: "invalid_uri",
    }
}

fn check_path(prompt: &str, language: &str) -> Result<(), MgmtError> {
    use gatehouse_core::prompt_text::{LANGUAGES, PROMPTS};
    if !PROMPTS.contains(&prompt) {
        return Err(invalid_path(prompt, "prompt", "Name of the prompt"));
    }
    if !LANGUAGES.contains(&language) {
        return Err(invalid_path(language, "language", "Language to update"));
    }
    Ok(())
}

/// `GET /prompts/{prompt}/custom-text/{language}`: the tenant's texts (`{}` when none).
pub async fn get_custom_text(
    State(state): State<AppState>,
    Path((prompt, language)): Path<(String, String)>,
) -> Result<Json<Value>, MgmtError> {
    check_path(&prompt, &language)?;
    let t = load(&state).await?;
    let texts = t
        .custom_text
        .get(&prompt)
        .and_then(|by_language| by_language.get(&language));
    Ok(Json(texts.cloned().unwrap_or_else(|| json!({}))))
}

/// `PUT /prompts/{prompt}/custom-text/{language}`: replaces them (`{}` removes them). Every
/// Auth0 screen and key is kept, whether or not a gatehouse page shows it.
pub async fn set_custom_text(
    State(state): State<AppState>,
    Path((prompt, language)): Path<(String, String)>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<Value>, MgmtError> {
    check_path(&prompt, &language)?;
    gatehouse_core::prompt_text::check_custom_text(&prompt, &language, &body).map_err(
        |e| match e {
            CustomTextError::Body(why) => MgmtError::invalid_body(why),
            CustomTextError::Prompt | CustomTextError::Language => {
                MgmtError::invalid_body("unknown prompt or language")
            }
        },
    )?;
    let written = body.clone();
    modify(&state, |t| {
        let by_language = t.custom_text.entry(prompt.clone()).or_default();
        if written.as_object().is_some_and(Map::is_empty) {
            by_language.remove(&language);
            if by_language.is_empty() {
                t.custom_text.remove(&prompt);
            }
        } else {
            by_language.insert(language, written);
        }
        Ok(())
    })
    .await?;
    Ok(Json(body))
}

/// `GET|PUT /prompts/{prompt}/partials`: Auth0 offers partials only on a custom domain, and
/// gatehouse has none (`/custom-domains` is empty), so it answers as Auth0 does then.
pub async fn partials(Path(prompt): Path<String>) -> Result<Json<Value>, MgmtError> {
    if !gatehouse_core::prompt_text::PARTIAL_PROMPTS.contains(&prompt.as_str()) {
        return Err(invalid_path(&prompt, "prompt", "Name of the prompt"));
    }
    Err(MgmtError::BadRequest {
        message:
            "This feature requires at least one custom domain to be configured for the tenant."
                .into(),
        code: "operation_not_supported",
    })
}
