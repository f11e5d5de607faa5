//! `/api/v2/emails/provider`: the SMTP server emails go out through. The credentials are
//! sealed under the master key; the password is never shown again.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::tenant::{EmailProvider, TenantSettings};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::body::{MgmtJson, present, typed, wire_enum};
use super::error::MgmtError;
use super::validate::{self as v, bad};
use crate::AppState;

fn not_configured() -> MgmtError {
    MgmtError::not_found(
        "Email provider has not been configured",
        "inexistent_email_provider",
    )
}

wire_enum! {
    /// Email providers: only SMTP is delivered by gatehouse (lettre); an API-based provider
    /// would be stored but never used, which is worse than refusing it.
    pub enum ProviderName {
        /// An SMTP server.
        Smtp = "smtp",
    }
}

/// SMTP credentials (the password is write-only).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpCredentials {
    /// Host name.
    #[schema(min_length = 1, max_length = 253)]
    pub smtp_host: String,
    /// Port.
    #[schema(minimum = 1, maximum = 65535)]
    pub smtp_port: i64,
    /// User name.
    #[schema(max_length = 255)]
    pub smtp_user: String,
    /// Password.
    #[schema(max_length = 1024)]
    pub smtp_pass: String,
}

/// The body of `POST /emails/provider` (`name` and `credentials` required) and `PATCH`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailProviderBody {
    /// The provider.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = ProviderName)]
    pub name: Option<ProviderName>,
    /// Whether mail goes out.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub enabled: Option<bool>,
    /// Sender address.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 320)]
    pub default_from_address: Option<String>,
    /// SMTP credentials.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = SmtpCredentials)]
    pub credentials: Option<SmtpCredentials>,
    /// Provider settings, kept as given.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object)]
    pub settings: Option<Map<String, Value>>,
}

/// The email provider, less its password.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailProviderView {
    /// The provider.
    pub name: String,
    /// Whether mail goes out.
    pub enabled: bool,
    /// `smtp_host`, `smtp_port`, `smtp_user`.
    #[schema(value_type = Object)]
    pub credentials: Map<String, Value>,
    /// Provider settings.
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Sender address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_from_address: Option<String>,
}

impl EmailProviderView {
    /// The view of `p`.
    pub fn new(p: &EmailProvider) -> Self {
        EmailProviderView {
            name: p.name.clone(),
            enabled: p.enabled,
            credentials: p.credentials_public.clone(),
            settings: p.settings.clone(),
            default_from_address: p.default_from_address.clone(),
        }
    }
}

impl EmailProviderBody {
    fn apply(self, state: &AppState, p: &mut EmailProvider) -> Result<(), MgmtError> {
        if let Some(n) = self.name {
            p.name = n.as_str().to_owned();
        }
        if let Some(e) = self.enabled {
            p.enabled = e;
        }
        if let Some(from) = self.default_from_address {
            v::max_chars("default_from_address", &from, 320)?;
            if !from.contains('@') {
                return Err(bad("default_from_address", "must be an email address"));
            }
            p.default_from_address = Some(from);
        }
        if let Some(c) = self.credentials {
            v::max_chars("credentials.smtp_host", &c.smtp_host, 253)?;
            v::not_blank("credentials.smtp_host", &c.smtp_host)?;
            v::in_range("credentials.smtp_port", c.smtp_port, 1, 65_535)?;
            v::max_chars("credentials.smtp_user", &c.smtp_user, 255)?;
            v::max_chars("credentials.smtp_pass", &c.smtp_pass, 1024)?;
            let public = json!({
                "smtp_host": c.smtp_host,
                "smtp_port": c.smtp_port,
                "smtp_user": c.smtp_user,
            });
            p.credentials_public = public.as_object().cloned().unwrap_or_default();
            let all = serde_json::to_value(&c).map_err(|e| MgmtError::Internal(e.into()))?;
            p.credentials_sealed = crate::secrets::seal_email_credentials(&state.sealer, &all);
        }
        if let Some(s) = self.settings {
            p.settings = Value::Object(s);
        }
        Ok(())
    }
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
pub async fn get(State(state): State<AppState>) -> Result<Json<EmailProviderView>, MgmtError> {
    let t = tenant(&state).await?;
    t.email_provider
        .as_ref()
        .map(|p| Json(EmailProviderView::new(p)))
        .ok_or_else(not_configured)
}

/// `POST /emails/provider`: 201; 409 if one is configured already.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let body: EmailProviderBody = typed(body)?;
    if body.name.is_none() {
        return Err(v::missing("name"));
    }
    if body.credentials.is_none() {
        return Err(v::missing("credentials"));
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
    body.apply(&state, &mut p)?;
    let out = EmailProviderView::new(&p);
    t.email_provider = Some(p);
    state.stores.tenant.update_tenant(&t).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `PATCH /emails/provider`.
pub async fn update(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<EmailProviderView>, MgmtError> {
    let body: EmailProviderBody = typed(body)?;
    let mut t = tenant(&state).await?;
    let mut p = t.email_provider.clone().ok_or_else(not_configured)?;
    body.apply(&state, &mut p)?;
    let out = EmailProviderView::new(&p);
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
