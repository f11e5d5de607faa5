//! Tenant settings, branding with a live preview of the login page, the email provider (a
//! change asks for the password; a test message checks it), email templates, and signing
//! keys (rotation and revocation ask for the password).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use gatehouse_core::email_template::TEMPLATE_NAMES;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::api::Api;
use super::apps::urlencoding;
use super::page::{Flash, Posted, Shell, back, back_api, reauthenticate, render};
use super::session::Admin;
use crate::AppState;
use crate::outbox::Content;

/// The providers Auth0 names that gatehouse sends through.
const PROVIDERS: &[&str] = &["smtp", "sendgrid", "mailgun", "ses"];

#[derive(Template)]
#[template(path = "admin/tenant.html")]
struct TenantPage {
    shell: Shell,
    friendly_name: String,
    support_email: String,
    default_directory: String,
    session_lifetime: String,
    idle_session_lifetime: String,
    primary: String,
    background: String,
    logo_url: String,
    provider: Option<Provider>,
    providers: &'static [&'static str],
    templates: &'static [&'static str],
}

#[derive(Deserialize)]
struct Provider {
    name: String,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    default_from_address: Option<String>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// A colour the preview may draw with: `#` and 3 to 8 hex digits, else the default.
fn colour(v: &Value, default: &str) -> String {
    v.as_str()
        .filter(|c| {
            c.len() <= 9 && c.starts_with('#') && c[1..].chars().all(|d| d.is_ascii_hexdigit())
        })
        .unwrap_or(default)
        .to_owned()
}

/// `GET /admin/tenant`.
pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    let settings: Value = match api.get("/tenants/settings").await {
        Ok(s) => s,
        Err(e) => return back("/admin/", Err(e.message)),
    };
    let branding: Value = api.get("/branding").await.unwrap_or(Value::Null);
    let provider: Option<Provider> = api
        .get("/emails/provider?fields=name,enabled,default_from_address")
        .await
        .ok();
    render(&TenantPage {
        shell: Shell::new(&admin, "tenant", Flash::from_query(&q)),
        friendly_name: text(&settings["friendly_name"]),
        support_email: text(&settings["support_email"]),
        default_directory: text(&settings["default_directory"]),
        session_lifetime: text(&settings["session_lifetime"]),
        idle_session_lifetime: text(&settings["idle_session_lifetime"]),
        primary: colour(&branding["colors"]["primary"], "#2457c5"),
        background: colour(&branding["colors"]["page_background"], "#f5f6f8"),
        logo_url: text(&branding["logo_url"]),
        provider,
        providers: PROVIDERS,
        templates: TEMPLATE_NAMES,
    })
}

const HERE: &str = "/admin/tenant";

/// `POST /admin/tenant`: name, support email, default directory, session lifetimes (hours).
pub async fn update(State(state): State<AppState>, Posted { admin, form }: Posted) -> Response {
    let mut body = Map::new();
    for key in ["friendly_name", "support_email", "default_directory"] {
        if let Some(v) = form.get(key) {
            body.insert(key.into(), json!(v));
        }
    }
    for key in ["session_lifetime", "idle_session_lifetime"] {
        if let Some(v) = form.get(key) {
            match v.parse::<f64>() {
                Ok(h) => body.insert(key.into(), json!(h)),
                Err(_) => return back(HERE, Err(format!("{key} is a number of hours."))),
            };
        }
    }
    let api = Api::new(&state, &admin);
    back_api(
        HERE,
        "Settings saved.",
        api.patch("/tenants/settings", &Value::Object(body)).await,
    )
}

/// `POST /admin/branding`: colours and logo.
pub async fn branding(State(state): State<AppState>, Posted { admin, form }: Posted) -> Response {
    let mut colors = Map::new();
    for key in ["primary", "page_background"] {
        if let Some(v) = form.get(key) {
            colors.insert(key.into(), json!(v));
        }
    }
    let body = json!({
        "colors": colors,
        "logo_url": form.get("logo_url").map_or(Value::Null, |v| json!(v)),
    });
    back_api(
        HERE,
        "Branding saved.",
        Api::new(&state, &admin).patch("/branding", &body).await,
    )
}

/// `POST /admin/email-provider` (asks for the password): the provider, its sender and its
/// credentials (SMTP host, port, user, password; or an API key).
pub async fn email_provider(
    State(state): State<AppState>,
    Posted { admin, form }: Posted,
) -> Response {
    if let Err(e) = reauthenticate(&state, &admin, &form).await {
        return back(HERE, Err(e));
    }
    let name = form.get("name").unwrap_or("smtp");
    let credentials = if name == "smtp" {
        let port = form
            .get("smtp_port")
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(587);
        json!({
            "smtp_host": form.get("smtp_host").unwrap_or_default(),
            "smtp_port": port,
            "smtp_user": form.get("smtp_user").unwrap_or_default(),
            "smtp_pass": form.get("smtp_pass").unwrap_or_default(),
        })
    } else {
        json!({ "api_key": form.get("api_key").unwrap_or_default() })
    };
    let body = json!({
        "name": name,
        "enabled": form.checked("enabled"),
        "default_from_address": form.get("default_from_address").unwrap_or_default(),
        "credentials": credentials,
    });
    let api = Api::new(&state, &admin);
    // PATCH when one is configured, else POST, as Auth0's dashboard does.
    let outcome = match api.get::<Value>("/emails/provider").await {
        Ok(_) => api.patch("/emails/provider", &body).await,
        Err(_) => api.post("/emails/provider", &body).await,
    };
    back_api(HERE, "Email provider saved.", outcome)
}

/// `POST /admin/email-provider/test`: a message to the administrator through the provider,
/// queued on the outbox (a failure is logged as `fn` with the provider's answer).
pub async fn email_test(State(state): State<AppState>, Posted { admin, .. }: Posted) -> Response {
    let to = admin.session.email.clone();
    let content = Content::Email {
        to: to.clone(),
        from: None,
        subject: "gatehouse test message".into(),
        body: "Your email provider works: this came through it from the gatehouse dashboard."
            .into(),
        html: None,
    };
    match crate::outbox::enqueue(&state, "test", &to, Some(content)).await {
        Ok(()) => back(
            HERE,
            Ok(format!(
                "Test message queued for {to}; failures show in the logs as fn."
            )),
        ),
        Err(e) => super::page::internal(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/template.html")]
struct TemplatePage {
    shell: Shell,
    name: String,
    exists: bool,
    subject: String,
    from: String,
    body: String,
    enabled: bool,
    result_url: String,
}

/// `GET /admin/templates/{name}`.
pub async fn template(
    State(state): State<AppState>,
    admin: Admin,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !TEMPLATE_NAMES.contains(&name.as_str()) {
        return back(HERE, Err("No such template.".into()));
    }
    let t: Option<Value> = Api::new(&state, &admin)
        .get(&format!("/email-templates/{}", urlencoding(&name)))
        .await
        .ok();
    let t_ref = t.as_ref();
    let field = |k: &str| t_ref.map(|t| text(&t[k])).unwrap_or_default();
    render(&TemplatePage {
        shell: Shell::new(&admin, "tenant", Flash::from_query(&q)),
        exists: t.is_some(),
        subject: field("subject"),
        from: field("from"),
        body: field("body"),
        result_url: field("resultUrl"),
        enabled: t_ref.is_none_or(|t| t["enabled"].as_bool().unwrap_or(true)),
        name,
    })
}

/// `POST /admin/templates/{name}`: PUT with every field (made or replaced); Liquid is
/// checked by the API, so a broken template is refused with its message.
pub async fn save_template(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let here = format!("/admin/templates/{}", urlencoding(&name));
    let mut body = json!({
        "template": name,
        "subject": form.get("subject").unwrap_or_default(),
        "from": form.get("from").unwrap_or_default(),
        "body": form.get("body").unwrap_or_default(),
        "syntax": "liquid",
        "enabled": form.checked("enabled"),
    });
    if let Some(u) = form.get("result_url") {
        body["resultUrl"] = json!(u);
    }
    let path = format!("/email-templates/{}", urlencoding(&name));
    back_api(
        &here,
        "Template saved.",
        Api::new(&state, &admin).put(&path, &body).await,
    )
}

#[derive(Deserialize)]
struct Key {
    kid: String,
    #[serde(default)]
    current: bool,
    #[serde(default)]
    next: bool,
    #[serde(default)]
    previous: bool,
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    current_since: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage {
    shell: Shell,
    keys: Vec<Key>,
}

/// `GET /admin/keys`.
pub async fn keys(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match Api::new(&state, &admin)
        .get::<Vec<Key>>("/keys/signing")
        .await
    {
        Ok(keys) => render(&KeysPage {
            shell: Shell::new(&admin, "keys", Flash::from_query(&q)),
            keys,
        }),
        Err(e) => back("/admin/", Err(e.message)),
    }
}

/// `POST /admin/keys/rotate` (asks for the password).
pub async fn rotate(State(state): State<AppState>, Posted { admin, form }: Posted) -> Response {
    if let Err(e) = reauthenticate(&state, &admin, &form).await {
        return back("/admin/keys", Err(e));
    }
    let outcome = Api::new(&state, &admin)
        .post("/keys/signing/rotate", &json!({}))
        .await;
    back_api(
        "/admin/keys",
        "Rotated: the next key signs from now on.",
        outcome,
    )
}

/// `POST /admin/keys/{kid}/revoke` (asks for the password).
pub async fn revoke(
    State(state): State<AppState>,
    Path(kid): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    if let Err(e) = reauthenticate(&state, &admin, &form).await {
        return back("/admin/keys", Err(e));
    }
    let path = format!("/keys/signing/{}/revoke", urlencoding(&kid));
    let outcome = Api::new(&state, &admin).put(&path, &json!({})).await;
    back_api(
        "/admin/keys",
        "Key revoked: tokens it signed no longer verify.",
        outcome,
    )
}
