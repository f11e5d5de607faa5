//! `/api/v2/tenants/settings` and `/api/v2/branding`: the tenant-wide settings that the
//! grants (`default_audience`, `default_directory`), logout (`allowed_logout_urls`) and the
//! login pages (name, logo, colour) read.

use axum::Json;
use axum::extract::State;
use gatehouse_core::tenant::{
    DEFAULT_IDLE_SESSION_LIFETIME_HOURS, DEFAULT_SESSION_LIFETIME_HOURS,
    MAX_SESSION_LIFETIME_HOURS, TenantSettings,
};
use serde_json::{Map, Value, json};

use super::body::MgmtJson;
use super::error::MgmtError;
use super::validate::{self as v, bad};
use crate::AppState;

async fn load(state: &AppState) -> Result<TenantSettings, MgmtError> {
    Ok(state.stores.tenant.tenant().await?.unwrap_or_default())
}

fn settings_json(t: &TenantSettings) -> Value {
    json!({
        "friendly_name": t.friendly_name,
        "support_email": t.support_email,
        "default_audience": t.default_audience.clone().unwrap_or_default(),
        "default_directory": t.default_directory.clone().unwrap_or_default(),
        "allowed_logout_urls": t.allowed_logout_urls,
        "picture_url": t.logo_url,
        "session_lifetime": t.session_lifetime.unwrap_or(DEFAULT_SESSION_LIFETIME_HOURS),
        "idle_session_lifetime": t.idle_session_lifetime.unwrap_or(DEFAULT_IDLE_SESSION_LIFETIME_HOURS),
        "flags": {"enable_client_connections": t.enables_new_clients_everywhere()},
    })
}

fn optional_text(key: &str, value: &Value, max: usize) -> Result<Option<String>, MgmtError> {
    if value.is_null() {
        return Ok(None);
    }
    let s = v::string(key, value, max)?;
    Ok((!s.is_empty()).then_some(s))
}

/// A lifetime in whole hours, or `null` for Auth0's default.
fn hours(key: &str, value: &Value) -> Result<Option<u32>, MgmtError> {
    if value.is_null() {
        return Ok(None);
    }
    value
        .as_u64()
        .filter(|h| (1..=u64::from(MAX_SESSION_LIFETIME_HOURS)).contains(h))
        .and_then(|h| u32::try_from(h).ok())
        .map(Some)
        .ok_or_else(|| {
            bad(
                key,
                format!("must be a whole number of hours from 1 to {MAX_SESSION_LIFETIME_HOURS}"),
            )
        })
}

/// `GET /tenants/settings`.
pub async fn get_settings(State(state): State<AppState>) -> Result<Json<Value>, MgmtError> {
    Ok(Json(settings_json(&load(&state).await?)))
}

/// `PATCH /tenants/settings`.
pub async fn update_settings(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Json<Value>, MgmtError> {
    v::only_known(
        &body,
        &[
            "friendly_name",
            "support_email",
            "default_audience",
            "default_directory",
            "allowed_logout_urls",
            "picture_url",
            "session_lifetime",
            "idle_session_lifetime",
            "flags",
        ],
    )?;
    let mut t = load(&state).await?;
    for (key, value) in &body {
        match key.as_str() {
            "friendly_name" => t.friendly_name = optional_text(key, value, 255)?,
            "support_email" => {
                t.support_email = optional_text(key, value, 320)?;
                if t.support_email.as_deref().is_some_and(|e| !e.contains('@')) {
                    return Err(bad(key, "must be an email address"));
                }
            }
            "default_audience" => t.default_audience = optional_text(key, value, 600)?,
            "default_directory" => {
                t.default_directory = optional_text(key, value, 128)?;
                if let Some(name) = &t.default_directory {
                    let c = state.stores.connections.connection_by_name(name).await?;
                    if c.is_none_or(|c| c.strategy != "auth0") {
                        return Err(bad(key, "must name a database connection"));
                    }
                }
            }
            "allowed_logout_urls" => t.allowed_logout_urls = v::strings(key, value, 2000)?,
            "picture_url" => {
                t.logo_url = if value.is_null() {
                    None
                } else {
                    Some(v::url(key, value, false)?)
                };
            }
            "session_lifetime" => t.session_lifetime = hours(key, value)?,
            "idle_session_lifetime" => t.idle_session_lifetime = hours(key, value)?,
            "flags" => {
                let flags = v::object(key, value)?;
                v::only_known(flags, &["enable_client_connections"])?;
                if let Some(on) = flags.get("enable_client_connections") {
                    t.enable_client_connections =
                        Some(v::boolean("flags.enable_client_connections", on)?);
                }
            }
            _ => {}
        }
    }
    state.stores.tenant.update_tenant(&t).await?;
    Ok(Json(settings_json(&t)))
}

fn branding_json(t: &TenantSettings) -> Value {
    json!({"colors": {"primary": t.primary_color}, "logo_url": t.logo_url})
}

/// `GET /branding`.
pub async fn get_branding(State(state): State<AppState>) -> Result<Json<Value>, MgmtError> {
    Ok(Json(branding_json(&load(&state).await?)))
}

/// `PATCH /branding`: `colors.primary` (`#rrggbb`) and `logo_url`.
pub async fn update_branding(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Json<Value>, MgmtError> {
    v::only_known(&body, &["colors", "logo_url"])?;
    let mut t = load(&state).await?;
    if let Some(colors) = body.get("colors") {
        let colors = v::object("colors", colors)?;
        v::only_known(colors, &["primary", "page_background"])?;
        if let Some(p) = colors.get("primary") {
            let p = v::string("colors.primary", p, 7)?;
            // Only a plain hex colour reaches the page's CSS.
            if p.len() != 7 || !p.starts_with('#') || !p[1..].bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(bad("colors.primary", "must be #rrggbb"));
            }
            t.primary_color = Some(p);
        }
    }
    if let Some(logo) = body.get("logo_url") {
        t.logo_url = if logo.is_null() {
            None
        } else {
            Some(v::url("logo_url", logo, false)?)
        };
    }
    state.stores.tenant.update_tenant(&t).await?;
    Ok(Json(branding_json(&t)))
}
