//! `/api/v2/email-templates`: the tenant's Liquid templates for the mails gatehouse sends
//! (`verify_email`, `reset_email`, `welcome_email`, `blocked_account`; the others are kept for
//! a move from Auth0 and sent once their flows exist). A template is checked by parsing it
//! when it is saved, so a broken one is a 400 now rather than a mail that never goes out.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::email_template::{EmailTemplate, is_template_name};
use gatehouse_core::tenant::TenantSettings;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::body::{MgmtJson, nullable, present, typed, wire_enum};
use super::error::MgmtError;
use super::tenant::load;
use super::validate::{self as v, bad};
use crate::AppState;
use crate::account_mail::template;

wire_enum! {
    /// The template language (Auth0 offers Liquid only).
    pub enum Syntax {
        /// Liquid.
        Liquid = "liquid",
    }
}

/// A patchable property: absent leaves it, `null` unsets it.
type Patch<T> = Option<Option<T>>;

/// The body of `POST /email-templates`, `PUT` and `PATCH /email-templates/{templateName}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplateBody {
    /// The template's name (`verify_email`, `reset_email`, ...).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub template: Option<String>,
    /// The HTML body (Liquid).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 102_400)]
    pub body: Option<String>,
    /// The sender (Liquid allowed); empty: the email provider's default address.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 1000)]
    pub from: Option<String>,
    /// The subject (Liquid).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, max_length = 1000)]
    pub subject: Option<String>,
    /// `liquid`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Syntax)]
    pub syntax: Option<Syntax>,
    /// Where the browser goes after the mail's link worked.
    #[serde(default, rename = "resultUrl", deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub result_url: Patch<String>,
    /// How long the mail's link works, in seconds.
    #[serde(
        default,
        rename = "urlLifetimeInSeconds",
        deserialize_with = "nullable"
    )]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub url_lifetime_in_seconds: Patch<i64>,
    /// Whether `email=` is added to the `resultUrl` redirect.
    #[serde(
        default,
        rename = "includeEmailInRedirect",
        deserialize_with = "present"
    )]
    #[schema(value_type = bool)]
    pub include_email_in_redirect: Option<bool>,
    /// Whether the mail is sent at all.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub enabled: Option<bool>,
}

/// A template as Auth0 shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailTemplateView {
    /// Its name.
    pub template: String,
    /// The HTML body.
    pub body: String,
    /// The sender.
    pub from: String,
    /// The subject.
    pub subject: String,
    /// `liquid`.
    pub syntax: String,
    /// Where the browser goes after the link worked.
    #[serde(rename = "resultUrl", skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    /// The link's lifetime in seconds.
    #[serde(
        rename = "urlLifetimeInSeconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub url_lifetime_in_seconds: Option<i64>,
    /// Whether `email=` is added to the redirect.
    #[serde(rename = "includeEmailInRedirect")]
    pub include_email_in_redirect: bool,
    /// Whether the mail is sent.
    pub enabled: bool,
}

impl EmailTemplateView {
    fn new(name: &str, t: &EmailTemplate) -> Self {
        EmailTemplateView {
            template: name.to_owned(),
            body: t.body.clone(),
            from: t.from.clone(),
            subject: t.subject.clone(),
            syntax: "liquid".to_owned(),
            result_url: t.result_url.clone(),
            url_lifetime_in_seconds: t.url_lifetime_in_seconds,
            include_email_in_redirect: t.include_email_in_redirect,
            enabled: t.enabled,
        }
    }
}

fn not_found() -> MgmtError {
    MgmtError::not_found("The template does not exist.", "inexistent_email_template")
}

fn checked_name(name: &str) -> Result<(), MgmtError> {
    if is_template_name(name) {
        Ok(())
    } else {
        Err(MgmtError::invalid_query(format!(
            "templateName must be one of Auth0's template names, not {name}"
        )))
    }
}

impl EmailTemplateBody {
    /// Applies the body to `t` (absent properties stay); `whole` (POST, PUT) needs Auth0's
    /// required properties.
    fn apply(self, t: &mut EmailTemplate, whole: bool) -> Result<(), MgmtError> {
        if whole {
            for (name, given) in [
                ("body", self.body.is_some()),
                ("from", self.from.is_some()),
                ("subject", self.subject.is_some()),
                ("syntax", self.syntax.is_some()),
                ("enabled", self.enabled.is_some()),
            ] {
                if !given {
                    return Err(v::missing(name));
                }
            }
        }
        for (name, text, max) in [
            ("body", &self.body, 102_400),
            ("from", &self.from, 1000),
            ("subject", &self.subject, 1000),
        ] {
            if let Some(text) = text {
                v::max_chars(name, text, max)?;
                template::check(text)
                    .map_err(|e| bad(name, format!("is not a Liquid template: {e}")))?;
            }
        }
        if let Some(b) = self.body {
            t.body = b;
        }
        if let Some(f) = self.from {
            t.from = f;
        }
        if let Some(s) = self.subject {
            t.subject = s;
        }
        t.syntax = "liquid".to_owned();
        if let Some(url) = self.result_url {
            if let Some(u) = &url {
                v::check_url("resultUrl", u, false)?;
            }
            t.result_url = url;
        }
        if let Some(seconds) = self.url_lifetime_in_seconds {
            if let Some(s) = seconds {
                v::in_range("urlLifetimeInSeconds", s, 0, 30 * 86_400)?;
            }
            t.url_lifetime_in_seconds = seconds;
        }
        if let Some(b) = self.include_email_in_redirect {
            t.include_email_in_redirect = b;
        }
        if let Some(e) = self.enabled {
            t.enabled = e;
        }
        Ok(())
    }
}

/// How a write finds the stored template it changes.
enum Base {
    /// A new one; 409 if it exists.
    New,
    /// Replaced whole, set before or not.
    Whole,
    /// The stored one, changed; 404 if never set.
    Stored,
}

/// Writes template `name` from `body` onto `base`, in one transaction on the tenant settings.
async fn save(
    state: &AppState,
    name: &str,
    body: EmailTemplateBody,
    base: Base,
) -> Result<EmailTemplateView, MgmtError> {
    let whole = !matches!(base, Base::Stored);
    let (_, view) = super::tenant::modify(state, |tenant: &mut TenantSettings| {
        let stored = tenant.email_templates.get(name).cloned();
        let mut t = match (base, stored) {
            (Base::New, Some(_)) => {
                return Err(MgmtError::conflict(&format!(
                    "Template {name} already exists."
                )));
            }
            (Base::Stored, None) => return Err(not_found()),
            (Base::Stored, Some(t)) => t,
            (Base::New | Base::Whole, _) => EmailTemplate::default(),
        };
        body.apply(&mut t, whole)?;
        let view = EmailTemplateView::new(name, &t);
        tenant.email_templates.insert(name.to_owned(), t);
        Ok(view)
    })
    .await?;
    Ok(view)
}

/// The body of a `PUT` or `PATCH` to the template `name`: a known name, and a `template`
/// property, when given, naming the same one.
fn body_for(name: &str, body: Value) -> Result<EmailTemplateBody, MgmtError> {
    checked_name(name)?;
    let body: EmailTemplateBody = typed(body)?;
    if body.template.as_deref().is_some_and(|t| t != name) {
        return Err(bad("template", "must be the template the path names"));
    }
    Ok(body)
}

/// `GET /email-templates/{templateName}`: 404 for a template never set.
pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<EmailTemplateView>, MgmtError> {
    checked_name(&name)?;
    let tenant = load(&state).await?;
    let t = tenant.email_templates.get(&name).ok_or_else(not_found)?;
    Ok(Json(EmailTemplateView::new(&name, t)))
}

/// `POST /email-templates`: 201; 409 when the template is already set.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let body: EmailTemplateBody = typed(body)?;
    let name = body
        .template
        .clone()
        .ok_or_else(|| v::missing("template"))?;
    if !is_template_name(&name) {
        return Err(bad("template", "must be one of Auth0's template names"));
    }
    let view = save(&state, &name, body, Base::New).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `PUT /email-templates/{templateName}`: sets the whole template, set before or not.
pub async fn put(
    State(state): State<AppState>,
    Path(name): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<EmailTemplateView>, MgmtError> {
    let body = body_for(&name, body)?;
    Ok(Json(save(&state, &name, body, Base::Whole).await?))
}

/// `PATCH /email-templates/{templateName}`: 404 for a template never set (auth0-deploy-cli
/// then POSTs it).
pub async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<EmailTemplateView>, MgmtError> {
    let body = body_for(&name, body)?;
    Ok(Json(save(&state, &name, body, Base::Stored).await?))
}
