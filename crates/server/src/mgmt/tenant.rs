//! `/api/v2/tenants/settings` and `/api/v2/branding`: the tenant-wide settings that the
//! grants (`default_audience`, `default_directory`), logout (`allowed_logout_urls`) and the
//! login pages (name, logo, colour) read.

use axum::Json;
use axum::extract::State;
use gatehouse_core::id::ConnectionName;
use gatehouse_core::tenant::{
    MAX_SESSION_LIFETIME_HOURS, MAX_SESSION_LIFETIME_MINUTES, TenantSettings,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::body::{MgmtJson, nullable, present};
use super::error::MgmtError;
use super::stored;
use super::validate::{self as v, bad};
use crate::AppState;

/// The tenant settings document (defaults on a database not yet seeded), read fresh for a
/// read-modify-write (never the catalog's copy).
pub(super) async fn load(state: &AppState) -> Result<TenantSettings, MgmtError> {
    Ok(state.stores.tenant.tenant().await?.unwrap_or_default())
}

/// Applies `change` to the stored tenant settings in one transaction that holds the row, so
/// edits made at once on any replicas never undo one another; an error from `change` writes
/// nothing and is the answer. Returns the settings written and what `change` returned.
pub(super) async fn modify<R: Send>(
    state: &AppState,
    change: impl FnOnce(&mut TenantSettings) -> Result<R, MgmtError> + Send,
) -> Result<(TenantSettings, R), MgmtError> {
    let mut change = Some(change);
    let mut outcome = None;
    let written = state
        .stores
        .tenant
        .modify_tenant(&mut |t| {
            let Some(change) = change.take() else {
                return false;
            };
            let result = change(t);
            let ok = result.is_ok();
            outcome = Some(result);
            ok
        })
        .await?;
    match (outcome, written) {
        (Some(Ok(r)), Some(t)) => Ok((t, r)),
        (Some(Err(e)), _) => Err(e),
        _ => Err(MgmtError::Internal(anyhow::anyhow!(
            "the tenant settings were not written"
        ))),
    }
}

/// Tenant flags.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantFlags {
    /// Whether a new client is enabled on every connection (default true).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub enable_client_connections: Option<bool>,
}

/// Tenant flags as shown: the one gatehouse acts on, and the kept ones.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantFlagsView {
    /// Whether a new client is enabled on every connection.
    pub enable_client_connections: bool,
    /// Flags kept but not acted on (`mgmt::stored::TENANT_FLAGS`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub stored: Map<String, Value>,
}

/// The tenant settings the grants, logout and the login pages read.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantSettingsView {
    /// The tenant's name on login pages.
    pub friendly_name: Option<String>,
    /// Support address on login pages.
    pub support_email: Option<String>,
    /// Audience of tokens asked for without one (empty: none).
    pub default_audience: String,
    /// Database connection of password grants without a realm (empty: none).
    pub default_directory: String,
    /// Where logout may return to without a client.
    pub allowed_logout_urls: Vec<String>,
    /// Logo on login pages.
    pub picture_url: Option<String>,
    /// Session lifetime in hours (a fraction when it was set in minutes).
    #[schema(value_type = f64)]
    pub session_lifetime: Value,
    /// Idle session lifetime in hours.
    #[schema(value_type = f64)]
    pub idle_session_lifetime: Value,
    /// The languages of the login pages, the default first.
    pub enabled_locales: Vec<String>,
    /// Flags.
    pub flags: TenantFlagsView,
    /// Settings kept but not acted on (`mgmt::stored::TENANT`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub stored: Map<String, Value>,
}

/// A lifetime in hours as Auth0 shows it: whole hours as an integer, else a fraction.
fn hours_shown(lifetime: time::Duration) -> Value {
    let minutes = lifetime.whole_minutes();
    if minutes % 60 == 0 {
        json!(minutes / 60)
    } else {
        json!(minutes as f64 / 60.0)
    }
}

impl TenantSettingsView {
    /// The view of `t`, with Auth0's defaults.
    pub fn new(t: &TenantSettings) -> Self {
        TenantSettingsView {
            friendly_name: t.friendly_name.clone(),
            support_email: t.support_email.clone(),
            default_audience: t.default_audience.clone().unwrap_or_default(),
            default_directory: t.default_directory.clone().unwrap_or_default(),
            allowed_logout_urls: t.allowed_logout_urls.clone(),
            picture_url: t.picture_url.clone(),
            session_lifetime: hours_shown(t.session_lifetime()),
            idle_session_lifetime: hours_shown(t.idle_session_lifetime()),
            enabled_locales: t.locales(),
            flags: TenantFlagsView {
                enable_client_connections: t.enables_new_clients_everywhere(),
                stored: t
                    .extra
                    .get("flags")
                    .and_then(Value::as_object)
                    .map(|f| stored::shown(f, &stored::TENANT_FLAGS))
                    .unwrap_or_default(),
            },
            stored: stored::shown(&t.extra, &stored::TENANT),
        }
    }
}

/// A patchable property: absent leaves it, `null` unsets it.
type Patch<T> = Option<Option<T>>;

/// The body of `PATCH /tenants/settings`; `null` or `""` unsets a text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettingsPatch {
    /// The tenant's name on login pages.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub friendly_name: Patch<String>,
    /// Support address.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 320)]
    pub support_email: Patch<String>,
    /// Audience of tokens asked for without one.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 600)]
    pub default_audience: Patch<String>,
    /// A database connection's name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 128)]
    pub default_directory: Patch<String>,
    /// Where logout may return to without a client.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<String>)]
    pub allowed_logout_urls: Option<Vec<String>>,
    /// Logo on login pages.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub picture_url: Patch<String>,
    /// Hours, or `null` for the default.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 8760)]
    pub session_lifetime: Patch<Value>,
    /// Hours, or `null` for the default.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 8760)]
    pub idle_session_lifetime: Patch<Value>,
    /// Minutes (instead of `session_lifetime`; auth0-deploy-cli sends these).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 525_600)]
    pub session_lifetime_in_minutes: Patch<Value>,
    /// Minutes (instead of `idle_session_lifetime`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 525_600)]
    pub idle_session_lifetime_in_minutes: Patch<Value>,
    /// The languages of the login pages (Auth0's language codes), the default first.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<String>, min_items = 1)]
    pub enabled_locales: Option<Vec<String>>,
    /// Flags.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = TenantFlags)]
    pub flags: Option<TenantFlags>,
}

/// `enabled_locales` as Auth0 takes it: at least one of its languages, none twice.
fn check_locales(locales: &[String]) -> Result<(), MgmtError> {
    use gatehouse_core::prompt_text::LANGUAGES;
    if locales.is_empty() {
        return Err(bad("enabled_locales", "must name at least one language"));
    }
    for (i, l) in locales.iter().enumerate() {
        if !LANGUAGES.contains(&l.as_str()) {
            return Err(bad(
                "enabled_locales",
                format!("{l:?} is not a supported language"),
            ));
        }
        if locales[..i].contains(l) {
            return Err(bad("enabled_locales", format!("{l:?} is given twice")));
        }
    }
    Ok(())
}

fn optional_text(
    key: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, MgmtError> {
    let Some(s) = value else {
        return Ok(None);
    };
    v::max_chars(key, &s, max)?;
    Ok((!s.is_empty()).then_some(s))
}

/// A lifetime in whole `unit`s from 1 to `max`, or `null` for Auth0's default.
fn whole(key: &str, value: Option<Value>, max: u32, unit: &str) -> Result<Option<u32>, MgmtError> {
    let Some(value) = value else {
        return Ok(None);
    };
    value
        .as_u64()
        .filter(|h| (1..=u64::from(max)).contains(h))
        .and_then(|h| u32::try_from(h).ok())
        .map(Some)
        .ok_or_else(|| {
            bad(
                key,
                format!("must be a whole number of {unit} from 1 to {max}"),
            )
        })
}

/// One lifetime set in hours or in minutes (never both: Auth0 refuses that too); the
/// other unit is cleared so the last write wins.
fn set_lifetime(
    name: &str,
    hours: Patch<Value>,
    minutes: Patch<Value>,
    (hours_slot, minutes_slot): (&mut Option<u32>, &mut Option<u32>),
) -> Result<(), MgmtError> {
    match (hours, minutes) {
        (Some(_), Some(_)) => Err(bad(
            name,
            format!("give {name} or {name}_in_minutes, not both"),
        )),
        (Some(h), None) => {
            *hours_slot = whole(name, h, MAX_SESSION_LIFETIME_HOURS, "hours")?;
            *minutes_slot = None;
            Ok(())
        }
        (None, Some(m)) => {
            let key = format!("{name}_in_minutes");
            *minutes_slot = whole(&key, m, MAX_SESSION_LIFETIME_MINUTES, "minutes")?;
            *hours_slot = None;
            Ok(())
        }
        (None, None) => Ok(()),
    }
}

/// `GET /tenants/settings`.
pub async fn get_settings(
    State(state): State<AppState>,
) -> Result<Json<TenantSettingsView>, MgmtError> {
    Ok(Json(TenantSettingsView::new(&load(&state).await?)))
}

/// `PATCH /tenants/settings`.
pub async fn update_settings(
    State(state): State<AppState>,
    MgmtJson(mut body): MgmtJson<Value>,
) -> Result<Json<TenantSettingsView>, MgmtError> {
    let kept_flags = match body.get_mut("flags") {
        Some(flags) => stored::take(flags, &stored::TENANT_FLAGS)?,
        None => Default::default(),
    };
    let (body, kept): (TenantSettingsPatch, _) = stored::typed(body, &stored::TENANT)?;
    // Checked before the row is held: it reads the connections.
    let default_directory = match body.default_directory {
        Some(d) => Some(checked_default_directory(&state, d).await?),
        None => None,
    };
    let (t, ()) = modify(&state, |t| {
        if let Some(n) = body.friendly_name {
            t.friendly_name = optional_text("friendly_name", n, 255)?;
        }
        if let Some(e) = body.support_email {
            t.support_email = optional_text("support_email", e, 320)?;
            if t.support_email.as_deref().is_some_and(|e| !e.contains('@')) {
                return Err(bad("support_email", "must be an email address"));
            }
        }
        if let Some(a) = body.default_audience {
            t.default_audience = optional_text("default_audience", a, 600)?;
        }
        if let Some(d) = default_directory {
            t.default_directory = d;
        }
        if let Some(urls) = body.allowed_logout_urls {
            for u in &urls {
                v::max_chars("allowed_logout_urls", u, 2000)?;
            }
            t.allowed_logout_urls = urls;
        }
        if let Some(p) = body.picture_url {
            if let Some(u) = &p {
                v::check_url("picture_url", u, false)?;
            }
            t.picture_url = p;
        }
        set_lifetime(
            "session_lifetime",
            body.session_lifetime,
            body.session_lifetime_in_minutes,
            (&mut t.session_lifetime, &mut t.session_lifetime_minutes),
        )?;
        set_lifetime(
            "idle_session_lifetime",
            body.idle_session_lifetime,
            body.idle_session_lifetime_in_minutes,
            (
                &mut t.idle_session_lifetime,
                &mut t.idle_session_lifetime_minutes,
            ),
        )?;
        if let Some(locales) = body.enabled_locales {
            check_locales(&locales)?;
            t.enabled_locales = locales;
        }
        if let Some(on) = body.flags.and_then(|f| f.enable_client_connections) {
            t.enable_client_connections = Some(on);
        }
        kept.apply(&mut t.extra);
        let mut flags = match t.extra.remove("flags") {
            Some(Value::Object(f)) => f,
            _ => Map::new(),
        };
        kept_flags.apply(&mut flags);
        if !flags.is_empty() {
            t.extra.insert("flags".to_owned(), Value::Object(flags));
        }
        Ok(())
    })
    .await?;
    Ok(Json(TenantSettingsView::new(&t)))
}

/// A `default_directory` as written: absent, or the name of a database connection.
async fn checked_default_directory(
    state: &AppState,
    value: Option<String>,
) -> Result<Option<String>, MgmtError> {
    let d = optional_text("default_directory", value, 128)?;
    if let Some(name) = &d {
        let c = state
            .stores
            .connections
            .connection_by_name(&ConnectionName::from(name))
            .await?;
        if c.is_none_or(|c| !c.strategy.is_database()) {
            return Err(bad("default_directory", "must name a database connection"));
        }
    }
    Ok(d)
}

/// Colours of the login pages.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Colors {
    /// `#rrggbb` (`null` removes it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^#[0-9a-fA-F]{6}$")]
    pub primary: Patch<String>,
    /// A CSS colour or a gradient object: kept and shown, not applied to pages yet.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Value>)]
    pub page_background: Patch<Value>,
}

/// Colours as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ColorsView {
    /// `#rrggbb`.
    pub primary: Option<String>,
    /// As given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub page_background: Option<Value>,
}

/// Universal Login branding.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrandingView {
    /// Colours.
    pub colors: ColorsView,
    /// Logo.
    pub logo_url: Option<String>,
    /// The pages' icon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favicon_url: Option<String>,
    /// The pages' font.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub font: Option<Font>,
    /// Properties kept but not acted on (`mgmt::stored::BRANDING`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub stored: Map<String, Value>,
}

/// The body of `PATCH /branding`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandingPatch {
    /// Colours.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Colors)]
    pub colors: Option<Colors>,
    /// Logo (`null` removes it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub logo_url: Patch<String>,
    /// The pages' icon (`null` removes it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub favicon_url: Patch<String>,
    /// The pages' font (`null` removes it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Font>)]
    pub font: Patch<Font>,
}

/// A font for the pages: an https URL of a font file (WOFF2, WOFF, TTF).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Font {
    /// Where the font file is.
    #[schema(format = "uri")]
    pub url: String,
}

fn branding(t: &TenantSettings) -> BrandingView {
    BrandingView {
        colors: ColorsView {
            primary: t.primary_color.clone(),
            page_background: t.branding_extra.get("page_background").cloned(),
        },
        logo_url: t.logo_url.clone(),
        favicon_url: t
            .branding_extra
            .get("favicon_url")
            .and_then(Value::as_str)
            .map(str::to_owned),
        font: t
            .branding_extra
            .get("font")
            .and_then(|f| serde_json::from_value(f.clone()).ok()),
        stored: stored::shown(&t.branding_extra, &stored::BRANDING),
    }
}

/// `GET /branding`.
pub async fn get_branding(State(state): State<AppState>) -> Result<Json<BrandingView>, MgmtError> {
    Ok(Json(branding(&load(&state).await?)))
}

/// `PATCH /branding`: `colors.primary` (`#rrggbb`) and `logo_url`.
pub async fn update_branding(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<BrandingView>, MgmtError> {
    let (body, kept): (BrandingPatch, _) = stored::typed(body, &stored::BRANDING)?;
    let (t, ()) = modify(&state, |t| {
        let colors = body.colors.unwrap_or_default();
        if let Some(p) = colors.primary {
            if let Some(p) = &p {
                v::max_chars("colors.primary", p, 7)?;
                // Only a plain hex colour reaches the page's CSS.
                if p.len() != 7
                    || !p.starts_with('#')
                    || !p[1..].bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(bad("colors.primary", "must be #rrggbb"));
                }
            }
            t.primary_color = p;
        }
        match colors.page_background {
            Some(Some(b)) => {
                t.branding_extra.insert("page_background".to_owned(), b);
            }
            Some(None) => {
                t.branding_extra.remove("page_background");
            }
            None => {}
        }
        match body.favicon_url {
            Some(Some(u)) => {
                v::check_url("favicon_url", &u, true)?;
                t.branding_extra
                    .insert("favicon_url".to_owned(), Value::String(u));
            }
            Some(None) => {
                t.branding_extra.remove("favicon_url");
            }
            None => {}
        }
        match body.font {
            Some(Some(f)) => {
                v::check_url("font.url", &f.url, true)?;
                // The URL goes into the pages' style sheet: nothing that could end the string.
                if crate::pages::css_url(&f.url).is_none() {
                    return Err(bad(
                        "font.url",
                        "must not contain quotes, brackets or spaces",
                    ));
                }
                t.branding_extra
                    .insert("font".to_owned(), json!({"url": f.url}));
            }
            Some(None) => {
                t.branding_extra.remove("font");
            }
            None => {}
        }
        kept.apply(&mut t.branding_extra);
        if let Some(logo) = body.logo_url {
            if let Some(u) = &logo {
                v::check_url("logo_url", u, false)?;
            }
            t.logo_url = logo;
        }
        Ok(())
    })
    .await?;
    Ok(Json(branding(&t)))
}
