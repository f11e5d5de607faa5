//! `/api/v2/emails/provider`: the SMTP server emails go out through. The credentials are
//! sealed under the master key; the password is never shown again.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::tenant::{EmailProvider, TenantSettings};
use serde_json::{Map, Value, json};

use super::body::MgmtJson;
use super::error::MgmtError;
use super::validate::{self as v, bad};
use crate::AppState;

const PROPERTIES: &[&str] = &[
    "name",
    "enabled",
    "default_from_address",
    "credentials",
    "settings",
];

fn not_configured() -> MgmtError {
    MgmtError::not_found(
        "Email provider has not been configured",
        "inexistent_email_provider",
    )
}

fn provider_json(p: &EmailProvider) -> Value {
    let mut out = json!({
        "name": p.name,
        "enabled": p.enabled,
        "credentials": p.credentials_public,
        "settings": p.settings,
    });
    if let Some(from) = &p.default_from_address {
        out["default_from_address"] = json!(from);
    }
    out
}

/// SMTP credentials: host, port, user and password.
fn credentials(value: &Value) -> Result<(Map<String, Value>, Value), MgmtError> {
    let c = v::object("credentials", value)?;
    v::only_known(c, &["smtp_host", "smtp_port", "smtp_user", "smtp_pass"])?;
    let need = |k: &str| {
        c.get(k)
            .ok_or_else(|| v::missing(&format!("credentials.{k}")))
    };
    let host = v::non_empty("credentials.smtp_host", need("smtp_host")?, 253)?;
    let port = v::integer("credentials.smtp_port", need("smtp_port")?, 1, 65_535)?;
    let user = v::string("credentials.smtp_user", need("smtp_user")?, 255)?;
    v::string("credentials.smtp_pass", need("smtp_pass")?, 1024)?;
    let public = json!({"smtp_host": host, "smtp_port": port, "smtp_user": user});
    Ok((
        public.as_object().cloned().unwrap_or_default(),
        value.clone(),
    ))
}

fn apply(
    state: &AppState,
    p: &mut EmailProvider,
    body: &Map<String, Value>,
) -> Result<(), MgmtError> {
    v::only_known(body, PROPERTIES)?;
    for (key, value) in body {
        match key.as_str() {
            "name" => {
                // Only SMTP is delivered by gatehouse (lettre); an API-based provider would be
                // stored but never used, which is worse than refusing it.
                p.name = v::one_of("name", value, &["smtp"])?;
            }
            "enabled" => p.enabled = v::boolean("enabled", value)?,
            "default_from_address" => {
                let from = v::string("default_from_address", value, 320)?;
                if !from.contains('@') {
                    return Err(bad("default_from_address", "must be an email address"));
                }
                p.default_from_address = Some(from);
            }
            "credentials" => {
                let (public, all) = credentials(value)?;
                p.credentials_public = public;
                p.credentials_sealed = crate::secrets::seal_email_credentials(&state.sealer, &all);
            }
            "settings" => p.settings = Value::Object(v::object("settings", value)?.clone()),
            _ => {}
        }
    }
    Ok(())
}

async fn tenant(state: &AppState) -> Result<TenantSettings, MgmtError> {
    state
        .stores
        .tenant
        .tenant()
        .await?
        .ok_or_else(|| MgmtError::Internal(anyhow::anyhow!("tenant row missing")))
}

/// `GET /emails/provider`.
pub async fn get(State(state): State<AppState>) -> Result<Json<Value>, MgmtError> {
    let t = tenant(&state).await?;
    t.email_provider
        .as_ref()
        .map(|p| Json(provider_json(p)))
        .ok_or_else(not_configured)
}

/// `POST /emails/provider`: 201; 409 if one is configured already.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Response, MgmtError> {
    for k in ["name", "credentials"] {
        if !body.contains_key(k) {
            return Err(v::missing(k));
        }
    }
    let mut t = tenant(&state).await?;
    if t.email_provider.is_some() {
        return Err(MgmtError::conflict(
            "An email provider is already configured",
        ));
    }
    let mut p = EmailProvider {
        enabled: true,
        settings: json!({}),
        ..EmailProvider::default()
    };
    apply(&state, &mut p, &body)?;
    let out = provider_json(&p);
    t.email_provider = Some(p);
    state.stores.tenant.update_tenant(&t).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `PATCH /emails/provider`.
pub async fn update(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Json<Value>, MgmtError> {
    let mut t = tenant(&state).await?;
    let mut p = t.email_provider.clone().ok_or_else(not_configured)?;
    apply(&state, &mut p, &body)?;
    let out = provider_json(&p);
    t.email_provider = Some(p);
    state.stores.tenant.update_tenant(&t).await?;
    Ok(Json(out))
}

/// `DELETE /emails/provider`: 204.
pub async fn delete(State(state): State<AppState>) -> Result<StatusCode, MgmtError> {
    let mut t = tenant(&state).await?;
    t.email_provider.take().ok_or_else(not_configured)?;
    state.stores.tenant.update_tenant(&t).await?;
    Ok(StatusCode::NO_CONTENT)
}
