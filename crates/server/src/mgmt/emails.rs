//! `/api/v2/emails/provider`: what emails go out through: an SMTP server, or SendGrid's or
//! Mailgun's HTTP API. The credentials are sealed under the master key; passwords and API
//! keys are never shown again.

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
use super::tenant::modify;
use super::validate::{self as v, bad};
use crate::AppState;

fn not_configured() -> MgmtError {
    MgmtError::not_found(
        "Email provider has not been configured",
        "inexistent_email_provider",
    )
}

wire_enum! {
    /// The email providers gatehouse delivers through (others, such as `mandrill`, are
    /// refused: a provider stored but never used is worse than a clear 400).
    pub enum ProviderName {
        /// An SMTP server (lettre).
        Smtp = "smtp",
        /// SendGrid's v3 Mail Send API.
        Sendgrid = "sendgrid",
        /// Mailgun's messages API.
        Mailgun = "mailgun",
        /// Amazon SES's v2 API.
        Ses = "ses",
    }
}

/// A provider's credentials: `smtp_*` for SMTP, `api_key` for SendGrid, `api_key`, `domain`
/// and `region` for Mailgun (passwords and keys are write-only).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderCredentials {
    /// SMTP host name.
    #[schema(min_length = 1, max_length = 253)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_host: Option<String>,
    /// SMTP port.
    #[schema(minimum = 1, maximum = 65535)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_port: Option<i64>,
    /// SMTP user name.
    #[schema(max_length = 255)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_user: Option<String>,
    /// SMTP password.
    #[schema(max_length = 1024)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_pass: Option<String>,
    /// SendGrid's or Mailgun's API key.
    #[schema(max_length = 1024)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Mailgun's sending domain.
    #[schema(max_length = 253)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Mailgun's region (`eu` for its EU API), or Amazon SES's (`eu-west-1`, ...).
    #[schema(max_length = 30)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Amazon SES's access key id.
    #[schema(max_length = 128)]
    #[serde(
        default,
        rename = "accessKeyId",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_key_id: Option<String>,
    /// Amazon SES's secret access key.
    #[schema(max_length = 128)]
    #[serde(
        default,
        rename = "secretAccessKey",
        skip_serializing_if = "Option::is_none"
    )]
    pub secret_access_key: Option<String>,
}

/// An AWS region name: `eu-west-1`, `us-gov-east-1`.
fn aws_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && parts
            .last()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
}

impl ProviderCredentials {
    /// Each given value's length, and that none is blank.
    fn check_values(&self) -> Result<(), MgmtError> {
        let texts = [
            ("credentials.smtp_host", &self.smtp_host, 253),
            ("credentials.smtp_user", &self.smtp_user, 255),
            ("credentials.smtp_pass", &self.smtp_pass, 1024),
            ("credentials.api_key", &self.api_key, 1024),
            ("credentials.domain", &self.domain, 253),
            ("credentials.accessKeyId", &self.access_key_id, 128),
            ("credentials.secretAccessKey", &self.secret_access_key, 128),
        ];
        for (p, value, max) in texts {
            if let Some(s) = value {
                v::max_chars(p, s, max)?;
            }
        }
        let not_blank = [
            ("credentials.smtp_host", &self.smtp_host),
            ("credentials.api_key", &self.api_key),
            ("credentials.accessKeyId", &self.access_key_id),
            ("credentials.secretAccessKey", &self.secret_access_key),
        ];
        for (p, value) in not_blank {
            if let Some(s) = value {
                v::not_blank(p, s)?;
            }
        }
        if let Some(p) = self.smtp_port {
            v::in_range("credentials.smtp_port", p, 1, 65_535)?;
        }
        Ok(())
    }

    /// Checks the credentials `name` needs (and no others); the part shown back.
    fn checked(&self, name: ProviderName) -> Result<Map<String, Value>, MgmtError> {
        let smtp = [
            ("smtp_host", self.smtp_host.is_some()),
            ("smtp_port", self.smtp_port.is_some()),
            ("smtp_user", self.smtp_user.is_some()),
            ("smtp_pass", self.smtp_pass.is_some()),
        ];
        let api = [
            ("api_key", self.api_key.is_some()),
            ("domain", self.domain.is_some()),
            ("region", self.region.is_some()),
            ("accessKeyId", self.access_key_id.is_some()),
            ("secretAccessKey", self.secret_access_key.is_some()),
        ];
        let (needed, allowed): (&[&str], &[&str]) = match name {
            ProviderName::Smtp => (
                &["smtp_host", "smtp_port", "smtp_user", "smtp_pass"],
                &["smtp_host", "smtp_port", "smtp_user", "smtp_pass"],
            ),
            ProviderName::Sendgrid => (&["api_key"], &["api_key"]),
            ProviderName::Mailgun => (&["api_key", "domain"], &["api_key", "domain", "region"]),
            ProviderName::Ses => (
                &["accessKeyId", "secretAccessKey", "region"],
                &["accessKeyId", "secretAccessKey", "region"],
            ),
        };
        for (field, given) in smtp.iter().chain(api.iter()) {
            let property = format!("credentials.{field}");
            match (*given, needed.contains(field), allowed.contains(field)) {
                (false, true, _) => return Err(v::missing(&property)),
                (true, _, false) => {
                    return Err(bad(
                        &property,
                        format!("is not a credential of {}", name.as_str()),
                    ));
                }
                _ => {}
            }
        }
        self.check_values()?;
        if let Some(d) = &self.domain
            && (d.is_empty()
                || !d
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')))
        {
            return Err(bad("credentials.domain", "must be a domain name"));
        }
        match (&self.region, name) {
            (Some(r), ProviderName::Ses) if !aws_region(r) => {
                return Err(bad("credentials.region", "must be an AWS region"));
            }
            (Some(r), ProviderName::Mailgun) if !matches!(r.as_str(), "us" | "eu") => {
                return Err(bad("credentials.region", "must be us or eu"));
            }
            _ => {}
        }
        let public = match name {
            ProviderName::Smtp => json!({
                "smtp_host": self.smtp_host,
                "smtp_port": self.smtp_port,
                "smtp_user": self.smtp_user,
            }),
            ProviderName::Sendgrid => json!({}),
            ProviderName::Mailgun => {
                let mut p = json!({"domain": self.domain});
                if let Some(r) = &self.region {
                    p["region"] = json!(r);
                }
                p
            }
            ProviderName::Ses => json!({
                "accessKeyId": self.access_key_id,
                "region": self.region,
            }),
        };
        Ok(public.as_object().cloned().unwrap_or_default())
    }
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
    /// The provider's credentials.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = ProviderCredentials)]
    pub credentials: Option<ProviderCredentials>,
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
    /// What may be shown: `smtp_host`, `smtp_port`, `smtp_user`; Mailgun's `domain`, `region`;
    /// Amazon SES's `accessKeyId`, `region`.
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
        let renamed = self.name.filter(|n| n.as_str() != p.name);
        if renamed.is_some() && self.credentials.is_none() {
            return Err(v::missing("credentials"));
        }
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
            let name = match p.name.as_str() {
                "sendgrid" => ProviderName::Sendgrid,
                "mailgun" => ProviderName::Mailgun,
                "ses" => ProviderName::Ses,
                _ => ProviderName::Smtp,
            };
            p.credentials_public = c.checked(name)?;
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
    let mut p = EmailProvider {
        enabled: true,
        settings: json!({}),
        ..EmailProvider::default()
    };
    body.apply(&state, &mut p)?;
    let out = EmailProviderView::new(&p);
    modify(&state, |t| {
        if t.email_provider.is_some() {
            return Err(MgmtError::conflict(
                "An email provider is already configured",
            ));
        }
        t.email_provider = Some(p);
        Ok(())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `PATCH /emails/provider`.
pub async fn update(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<EmailProviderView>, MgmtError> {
    let body: EmailProviderBody = typed(body)?;
    let (_, out) = modify(&state, |t| {
        let mut p = t.email_provider.clone().ok_or_else(not_configured)?;
        body.apply(&state, &mut p)?;
        let out = EmailProviderView::new(&p);
        t.email_provider = Some(p);
        Ok(out)
    })
    .await?;
    Ok(Json(out))
}

/// `DELETE /emails/provider`: 204.
pub async fn delete(State(state): State<AppState>) -> Result<StatusCode, MgmtError> {
    modify(&state, |t| {
        t.email_provider.take().ok_or_else(not_configured)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
