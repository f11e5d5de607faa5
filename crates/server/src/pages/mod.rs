//! The pages every flow may show: askama templates (compiled and escaped, working without
//! JavaScript), the tenant's branding, and rendering. No handlers live here, so the
//! Authentication API, Universal Login and the passwordless endpoints can all use them.

mod texts;

pub use texts::Texts;

use std::sync::Arc;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use gatehouse_core::tenant::TenantSettings;

/// The tenant as its pages show it: name, logo and colour (tenant settings and branding).
#[derive(Debug, Clone)]
pub struct Brand {
    /// `friendly_name`, else "gatehouse".
    pub name: String,
    /// Logo URL, if set.
    pub logo: Option<String>,
    /// Primary colour, `#rrggbb` (validated when set).
    pub color: String,
    /// The page background: a CSS colour or gradient made only of validated hex colours and
    /// a number, so nothing a tenant typed reaches the style sheet as text.
    pub background: String,
    /// The pages' icon, if set.
    pub favicon: Option<String>,
    /// The pages' font file, if set (an https URL safe inside `url("...")`).
    pub font: Option<String>,
    /// The language the page is shown in (`<html lang>`; `Brand::negotiate`).
    pub lang: String,
    /// The settings the texts come from (enabled languages, custom texts).
    settings: Arc<TenantSettings>,
}

impl std::fmt::Display for Brand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Brand {
    /// The branding of a tenant that set none, its pages in English.
    pub fn plain() -> Self {
        Brand {
            name: "gatehouse".into(),
            logo: None,
            color: DEFAULT_COLOR.into(),
            background: DEFAULT_BACKGROUND.into(),
            favicon: None,
            font: None,
            lang: gatehouse_core::prompt_text::DEFAULT_LANGUAGE.into(),
            settings: Arc::default(),
        }
    }
}

/// The primary colour without branding.
const DEFAULT_COLOR: &str = "#3b5bdb";

/// The tenant's branding (defaults when the tenant settings cannot be read), its pages in
/// the tenant's default language until `Brand::negotiate` picks another.
pub async fn brand(state: &crate::AppState) -> Brand {
    let t = state.catalog.tenant().await.ok();
    let settings = t.clone().unwrap_or_default();
    Brand {
        lang: settings
            .locales()
            .into_iter()
            .next()
            .unwrap_or_else(|| gatehouse_core::prompt_text::DEFAULT_LANGUAGE.into()),
        settings,
        name: t
            .as_ref()
            .and_then(|t| t.friendly_name.clone())
            .unwrap_or_else(|| "gatehouse".into()),
        logo: t
            .as_ref()
            .and_then(|t| t.logo_url.clone().or_else(|| t.picture_url.clone())),
        color: t
            .as_ref()
            .and_then(|t| t.primary_color.clone())
            .unwrap_or_else(|| DEFAULT_COLOR.into()),
        background: t
            .as_ref()
            .and_then(|t| t.branding_extra.get("page_background"))
            .and_then(background_css)
            .unwrap_or_else(|| DEFAULT_BACKGROUND.into()),
        favicon: t
            .as_ref()
            .and_then(|t| t.branding_extra.get("favicon_url"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        font: t
            .as_ref()
            .and_then(|t| t.branding_extra.get("font"))
            .and_then(|f| f["url"].as_str())
            .and_then(css_url),
    }
}

/// `url` if it can sit inside a style sheet's `url("...")` as it is: an https URL with none
/// of the characters that end the string or the rule, or that HTML escaping would change.
pub fn css_url(url: &str) -> Option<String> {
    let safe = url.starts_with("https://")
        && url.len() <= 2000
        && !url.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '"' | '\'' | '(' | ')' | '\\' | '<' | '>' | '&' | ';' | '{' | '}'
                )
        });
    safe.then(|| url.to_owned())
}

/// The branding with pages in `lang` (a transaction's language) if the tenant still has it
/// enabled.
pub async fn brand_in(state: &crate::AppState, lang: Option<&str>) -> Brand {
    let mut b = brand(state).await;
    b.speak(lang);
    b
}

/// The branding with pages in the language the browser prefers (`Accept-Language`) among
/// the tenant's (pages reached from a link, without a transaction).
pub async fn brand_for(state: &crate::AppState, headers: &axum::http::HeaderMap) -> Brand {
    let mut b = brand(state).await;
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    b.negotiate(None, accept);
    b
}

/// The page background without branding.
const DEFAULT_BACKGROUND: &str = "#f4f5f7";

/// Auth0's `colors.page_background` as CSS: a hex colour, or its gradient object
/// (`{type: "linear-gradient", start, end, angle_deg}`); anything else is not used.
fn background_css(v: &serde_json::Value) -> Option<String> {
    fn hex(s: &str) -> Option<&str> {
        let digits = s.strip_prefix('#')?;
        (matches!(digits.len(), 3 | 6) && digits.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(s)
    }
    if let Some(s) = v.as_str() {
        return hex(s).map(str::to_owned);
    }
    if v["type"] != "linear-gradient" {
        return None;
    }
    let start = hex(v["start"].as_str()?)?;
    let end = hex(v["end"].as_str()?)?;
    let angle = v["angle_deg"].as_i64().unwrap_or(0).rem_euclid(360);
    Some(format!("linear-gradient({angle}deg, {start}, {end})"))
}

/// The login form.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    /// Tenant name for the title.
    pub tenant: &'a Brand,
    /// The texts of the login screen.
    pub t: Texts,
    /// The sealed authorization transaction.
    pub tx: &'a str,
    /// The username to prefill.
    pub login_hint: &'a str,
    /// What went wrong on the last attempt (a text key, or the message itself).
    pub error: Option<&'a str>,
    /// Passwordless connections the application offers: (name, link text key).
    pub passwordless: Vec<(String, String)>,
    /// Whether a database connection is enabled for the application (the password form).
    pub database: bool,
    /// Upstream identity providers the application offers: (connection name, name shown).
    pub upstream: Vec<(String, String)>,
    /// Identifier first, its first step: the identifier alone.
    pub identifier_only: bool,
    /// Identifier first, its second step: the password for `login_hint`.
    pub password_step: bool,
}

/// The sign-up form.
#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage<'a> {
    /// Tenant branding.
    pub tenant: &'a Brand,
    /// The texts of the sign-up screen.
    pub t: Texts,
    /// The sealed authorization transaction.
    pub tx: &'a str,
    /// The email to prefill.
    pub email: &'a str,
    /// What went wrong on the last attempt (a text key, or the message itself).
    pub error: Option<&'a str>,
}

/// Consent for a third-party application.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    /// Tenant branding.
    pub tenant: &'a Brand,
    /// The texts of the consent screen.
    pub t: Texts,
    /// The sealed authorization transaction.
    pub tx: &'a str,
    /// The API it asks to call, by name.
    pub api_name: Option<String>,
    /// What it asks for: each scope with what it means to the user.
    pub scopes: Vec<(String, String)>,
}

/// The cross-origin verification page (`oauth::cross_origin::verify`).
#[derive(Template)]
#[template(path = "co_verify.html")]
pub struct CrossOriginVerification<'a> {
    /// The application's verification page, with `#origin=<our origin>`.
    pub frame: &'a str,
    /// Where the verifier is posted (`<issuer>co/verify`).
    pub action: &'a str,
    /// The sealed login ticket.
    pub ticket: &'a str,
    /// The sealed authorization transaction.
    pub tx: &'a str,
    /// The verification page's origin as a JSON string (script-escaped).
    pub target: String,
    /// The ticket's `co_id` as a JSON string (script-escaped).
    pub co_id: String,
}

/// `response_mode=web_message`: posts the response to the application's window (the
/// iframe's parent or the popup's opener), to its origin only.
#[derive(Template)]
#[template(path = "web_message.html")]
pub struct WebMessage {
    /// The response parameters as a JSON object, escaped for a script element.
    pub response: String,
    /// The target origin as a JSON string, escaped likewise.
    pub origin: String,
}

/// JSON that can sit inside `<script>`: no `<`, `>` or `&` to end the element early.
pub fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A request that cannot be sent back to any application.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// Tenant name for the title.
    pub tenant: &'a Brand,
    /// The common texts.
    pub t: Texts,
    /// What is wrong.
    pub message: &'a str,
}

/// `response_mode=form_post`: an auto-submitting form (OAuth 2.0 Form Post Response Mode).
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPost<'a> {
    /// The redirect URI.
    pub action: &'a str,
    /// The response parameters.
    pub fields: Vec<(&'a str, &'a str)>,
}

/// Renders a page; a template that fails to render is an internal error page.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut r = (status, Html(html)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
    }
}

/// A page with a heading and one sentence.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    /// Branding.
    pub tenant: &'a Brand,
    /// The heading.
    pub heading: &'a str,
    /// The sentence.
    pub message: &'a str,
}

/// The error page with `message`.
pub fn error_page(tenant: &Brand, message: &str) -> Response {
    let t = tenant.texts("common", "common");
    render(StatusCode::BAD_REQUEST, &ErrorPage { tenant, t, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_colours_and_a_number_make_the_background() {
        use serde_json::json;
        assert_eq!(background_css(&json!("#abc")).as_deref(), Some("#abc"));
        assert_eq!(
            background_css(&json!({"type": "linear-gradient", "start": "#ffffff",
                                   "end": "#000000", "angle_deg": 405})),
            Some("linear-gradient(45deg, #ffffff, #000000)".into())
        );
        for bad in [
            json!("red; } body { display: none"),
            json!("url(https://evil.example/x.png)"),
            json!({"type": "linear-gradient", "start": "#fff;}", "end": "#000"}),
            json!({"type": "radial-gradient", "start": "#fff", "end": "#000"}),
            json!(12),
        ] {
            assert_eq!(background_css(&bad), None, "{bad}");
        }
    }

    #[test]
    fn only_plain_https_urls_reach_the_style_sheet() {
        assert!(css_url("https://fonts.example/acme.woff2?v=2").is_some());
        for bad in [
            "http://fonts.example/a.woff2",
            "https://x.example/a\") } body { display: none",
            "https://x.example/a'b",
            "https://x.example/a b",
            "https://x.example/a&b",
            "https://x.example/a</style>",
            "javascript:alert(1)",
        ] {
            assert_eq!(css_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn script_json_cannot_close_the_script() {
        let s = script_json(&serde_json::json!({"state": "</script><script>alert(1)</script>&"}));
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: serde_json::Value = serde_json::from_str(&s).expect("still JSON");
        assert_eq!(back["state"], "</script><script>alert(1)</script>&");
    }
}
