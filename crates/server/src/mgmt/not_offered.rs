//! Auth0 features gatehouse does not offer, answered as Auth0 answers a tenant that uses none
//! of them: empty lists in each endpoint's own paging shape, and settings objects kept and
//! shown but not acted on (`stored::objects`). auth0-deploy-cli reads all of these on every
//! export (and stops at the first read that fails), then writes the settings back on import.

use axum::Json;
use axum::extract::{Path, State};
use gatehouse_core::actions::TRIGGERS;
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::{MgmtJson, MgmtQuery};
use super::error::MgmtError;
use super::page::{Checkpoint, PageQuery, envelope};
use super::stored::objects;
use super::tenant::{load, modify};
use crate::AppState;

/// The paging parameters any list takes: offset (`page`, `per_page`, `include_totals`) or
/// checkpoint (`take`, `from`).
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    take: Option<String>,
    from: Option<String>,
}

/// An empty list under `key`: `{key: []}` for checkpoint paging, else a bare array, or the
/// totals envelope when totals were asked for.
fn empty(q: &ListQuery, key: &str) -> Result<Json<Value>, MgmtError> {
    if let Some(cp) = Checkpoint::parse(q.take.as_deref(), q.from.as_deref())? {
        return Ok(Json(cp.body(key, Vec::new())));
    }
    let page = q.page.page()?;
    Ok(Json(envelope(
        key,
        Vec::new(),
        page,
        0,
        q.page.include_totals()?,
    )))
}

/// An empty page as the Actions endpoints give it: `{key, total, page, per_page}` always.
pub fn numbered_page(key: &str, q: &PageQuery) -> Result<Value, MgmtError> {
    let page = q.page()?;
    let per_page = page.limit;
    let mut body = json!({
        "total": 0,
        "page": page.offset / i64::from(per_page.max(1)),
        "per_page": per_page,
    });
    body[key] = json!([]);
    Ok(body)
}

macro_rules! empty_lists {
    ($($name:ident => $key:literal, $what:literal;)*) => {$(
        #[doc = concat!("`GET /", $what, "`: none (`", $key, "`).")]
        pub async fn $name(MgmtQuery(q): MgmtQuery<ListQuery>) -> Result<Json<Value>, MgmtError> {
            empty(&q, $key)
        }
    )*};
}

empty_lists! {
    hooks => "hooks", "hooks";
    rules => "rules", "rules";
    network_acls => "network_acls", "network-acls";
    flows => "flows", "flows";
    vault_connections => "connections", "flows/vault/connections";
    forms => "forms", "forms";
    self_service_profiles => "self_service_profiles", "self-service-profiles";
    screen_renderers => "configs", "prompts/rendering";
    organizations => "organizations", "organizations";
    rate_limit_policies => "rate_limit_policies", "rate-limit-policies";
    token_exchange_profiles => "token_exchange_profiles", "token-exchange-profiles";
    user_attribute_profiles => "user_attribute_profiles", "user-attribute-profiles";
    connection_profiles => "connection_profiles", "connection-profiles";
    directory_provisionings => "directory_provisionings", "connections-directory-provisionings";
}

/// `GET /custom-domains`, `/log-streams`, `/rules-configs` and `/guardian/policies`: lists
/// Auth0 answers as bare arrays, empty here.
pub async fn none() -> Json<Value> {
    Json(json!([]))
}

/// `GET /event-streams`: Auth0 answers `{eventStreams: [...]}` whatever the paging.
pub async fn event_streams(MgmtQuery(q): MgmtQuery<ListQuery>) -> Result<Json<Value>, MgmtError> {
    Checkpoint::parse(q.take.as_deref(), q.from.as_deref())?;
    Ok(Json(json!({"eventStreams": []})))
}

/// `GET /guardian/factors/sms/providers/twilio` and
/// `/guardian/factors/push-notification/providers/sns`: nothing configured.
pub async fn no_provider() -> Json<Value> {
    Json(json!({}))
}

/// `GET /branding/phone/providers`.
pub async fn phone_providers() -> Json<Value> {
    Json(json!({"providers": []}))
}

/// `GET /branding/phone/templates`.
pub async fn phone_templates() -> Json<Value> {
    Json(json!({"templates": []}))
}

/// `GET /actions/modules`.
pub async fn action_modules(MgmtQuery(q): MgmtQuery<PageQuery>) -> Result<Json<Value>, MgmtError> {
    Ok(Json(numbered_page("modules", &q)?))
}

/// `GET /actions/triggers`.
pub async fn triggers() -> Json<Value> {
    let triggers: Vec<Value> = TRIGGERS
        .iter()
        .map(|(id, version)| {
            json!({"id": id, "version": version, "status": "CURRENT", "runtimes": ["node22"],
                   "default_runtime": "node22", "binding_policy": "trigger-bound",
                   "compatible_triggers": []})
        })
        .collect();
    Json(json!({ "triggers": triggers }))
}

/// Guardian's factors, all off: gatehouse offers no MFA.
const FACTORS: &[&str] = &[
    "sms",
    "push-notification",
    "otp",
    "email",
    "duo",
    "webauthn-roaming",
    "webauthn-platform",
    "recovery-code",
];

/// `GET /guardian/factors`.
pub async fn guardian_factors() -> Json<Value> {
    let factors: Vec<Value> = FACTORS
        .iter()
        .map(|name| json!({"name": name, "enabled": false, "trial_expired": false}))
        .collect();
    Json(Value::Array(factors))
}

/// The body of `PUT /guardian/factors/{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorBody {
    enabled: bool,
}

/// Why a factor or policy cannot be turned on: a stored "MFA on" that nothing enforces would
/// be worse than a clear refusal.
fn no_mfa() -> MgmtError {
    MgmtError::invalid_body("gatehouse does not offer multi-factor authentication")
}

/// `PUT /guardian/factors/{name}`: only `{"enabled": false}`.
pub async fn set_guardian_factor(
    Path(name): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<Value>, MgmtError> {
    if !FACTORS.contains(&name.as_str()) {
        return Err(MgmtError::BadRequest {
            message: format!(
                "Path validation error: 'Invalid value \"{name}\"' on property name (Factor name)."
            ),
            code: "invalid_uri",
        });
    }
    let body: FactorBody = serde_json::from_value(body).map_err(MgmtError::invalid_body)?;
    if body.enabled {
        return Err(no_mfa());
    }
    Ok(Json(json!({"enabled": false})))
}

/// `PUT /guardian/policies`: only `[]` (no MFA policy).
pub async fn set_guardian_policies(
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<Value>, MgmtError> {
    match body {
        Value::Array(a) if a.is_empty() => Ok(Json(json!([]))),
        Value::Array(_) => Err(no_mfa()),
        other => Err(MgmtError::invalid_body(format!(
            "Expected type array but found type {}",
            super::validate::type_name(&other)
        ))),
    }
}

/// `GET /attack-protection/captcha`: Auth0's answer to a tenant without the feature (which
/// auth0-deploy-cli takes as "skip it").
pub async fn captcha() -> Result<Json<Value>, MgmtError> {
    Err(MgmtError::Forbidden {
        message: "gatehouse does not offer CAPTCHA".into(),
        code: "feature_not_enabled",
    })
}

/// `GET /branding/themes/default`: no theme, as Auth0 answers before one is made.
pub async fn default_theme() -> Result<Json<Value>, MgmtError> {
    Err(MgmtError::not_found(
        "There was an error retrieving branding settings: invalid theme ID",
        "theme_not_found",
    ))
}

async fn get_object(state: &AppState, path: &str) -> Result<Json<Value>, MgmtError> {
    let o = objects::object(path)
        .ok_or_else(|| MgmtError::Internal(anyhow::anyhow!(path.to_owned())))?;
    let t = load(state).await?;
    Ok(Json(objects::current(
        &t.kept_objects,
        o,
        state.config.brute_force_threshold,
    )))
}

/// A write of a kept object: PATCH merges top-level properties, PUT replaces the object.
async fn write_object(
    state: &AppState,
    path: &str,
    body: Value,
    replace: bool,
) -> Result<Json<Value>, MgmtError> {
    let o = objects::object(path)
        .ok_or_else(|| MgmtError::Internal(anyhow::anyhow!(path.to_owned())))?;
    let like = (o.default)(state.config.brute_force_threshold);
    if !body.is_object() {
        return Err(MgmtError::invalid_body(format!(
            "Expected type object but found type {}",
            super::validate::type_name(&body)
        )));
    }
    let threshold = state.config.brute_force_threshold;
    let (_, value) = modify(state, |t| {
        let base = if replace {
            like.clone()
        } else {
            objects::current(&t.kept_objects, o, threshold)
        };
        let value = objects::patched(base, &body, &like).map_err(MgmtError::invalid_body)?;
        t.kept_objects.insert(path.to_owned(), value.clone());
        Ok(value)
    })
    .await?;
    Ok(Json(value))
}

macro_rules! kept_objects {
    ($($get:ident, $write:ident, $replace:literal => $path:literal;)*) => {$(
        #[doc = concat!("`GET /", $path, "` (kept, not enforced).")]
        pub async fn $get(State(state): State<AppState>) -> Result<Json<Value>, MgmtError> {
            get_object(&state, $path).await
        }
        #[doc = concat!("A write of `/", $path, "` (kept, not enforced).")]
        pub async fn $write(
            State(state): State<AppState>,
            MgmtJson(body): MgmtJson<Value>,
        ) -> Result<Json<Value>, MgmtError> {
            write_object(&state, $path, body, $replace).await
        }
    )*};
}

kept_objects! {
    brute_force, set_brute_force, false => "attack-protection/brute-force-protection";
    ip_throttling, set_ip_throttling, false => "attack-protection/suspicious-ip-throttling";
    breached_passwords, set_breached_passwords, false => "attack-protection/breached-password-detection";
    bot_detection, set_bot_detection, false => "attack-protection/bot-detection";
    phone_provider, set_phone_provider, true => "guardian/factors/phone/selected-provider";
    phone_message_types, set_phone_message_types, true => "guardian/factors/phone/message-types";
    sms_templates, set_sms_templates, true => "guardian/factors/sms/templates";
    risk_assessment, set_risk_assessment, false => "risk-assessments/settings";
    new_device, set_new_device, false => "risk-assessments/settings/new-device";
    supplemental_signals, set_supplemental_signals, false => "supplemental-signals";
}

/// The OpenAPI schema of an empty list under `key` (any of the paging shapes).
pub fn empty_list_schema(key: &str) -> Value {
    json!({"oneOf": [
        {"type": "array", "maxItems": 0},
        {"type": "object", "required": [key], "properties": {key: {"type": "array", "maxItems": 0}}},
    ]})
}

/// The JSON schema of a value shaped like `v` (a kept object's default): its properties,
/// each of the same type; arrays of strings.
fn shape_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let properties: serde_json::Map<String, Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), shape_schema(v)))
                .collect();
            json!({"type": "object", "properties": properties, "additionalProperties": false})
        }
        Value::Array(_) => json!({"type": "array", "items": {"type": "string"}}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(_) => json!({"type": "integer"}),
        _ => json!({"type": "string"}),
    }
}

/// The request and response schemas of this module's operations (`None, None` for others).
pub fn schemas(method: &str, path: &str) -> (Option<Value>, Option<Value>) {
    let path = path.trim_start_matches('/');
    if let Some(o) = objects::object(path) {
        let shape = shape_schema(&(o.default)(Some(10)));
        let request = (method != "get").then(|| shape.clone());
        return (request, Some(shape));
    }
    let numbered = |key: &str| {
        json!({"type": "object", "required": [key, "total", "page", "per_page"], "properties": {
            key: {"type": "array", "maxItems": 0}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}}})
    };
    let wrapped = |key: &str| {
        json!({"type": "object", "required": [key],
               "properties": {key: {"type": "array", "maxItems": 0}}})
    };
    let none = json!({"type": "array", "maxItems": 0});
    let response = match path {
        "actions/modules" => numbered("modules"),
        "actions/triggers" => json!({"type": "object", "required": ["triggers"],
            "properties": {"triggers": {"type": "array", "items": {"type": "object"}}}}),
        "custom-domains" | "log-streams" | "rules-configs" | "guardian/policies" => none.clone(),
        "event-streams" => wrapped("eventStreams"),
        "branding/phone/providers" => wrapped("providers"),
        "branding/phone/templates" => wrapped("templates"),
        "guardian/factors" => json!({"type": "array", "items": {"type": "object",
            "required": ["name", "enabled"], "properties": {"name": {"type": "string"},
            "enabled": {"type": "boolean"}, "trial_expired": {"type": "boolean"}}}}),
        "guardian/factors/{name}" => {
            let body = json!({"type": "object", "required": ["enabled"],
                "properties": {"enabled": {"type": "boolean"}}, "additionalProperties": false});
            return (Some(body.clone()), Some(body));
        }
        "guardian/factors/sms/providers/twilio"
        | "guardian/factors/push-notification/providers/sns"
        | "attack-protection/captcha"
        | "branding/themes/default" => json!({"type": "object"}),
        "hooks" => empty_list_schema("hooks"),
        "rules" => empty_list_schema("rules"),
        "network-acls" => empty_list_schema("network_acls"),
        "flows" => empty_list_schema("flows"),
        "flows/vault/connections" => empty_list_schema("connections"),
        "forms" => empty_list_schema("forms"),
        "self-service-profiles" => empty_list_schema("self_service_profiles"),
        "prompts/rendering" => empty_list_schema("configs"),
        "organizations" => empty_list_schema("organizations"),
        "rate-limit-policies" => empty_list_schema("rate_limit_policies"),
        "token-exchange-profiles" => empty_list_schema("token_exchange_profiles"),
        "user-attribute-profiles" => empty_list_schema("user_attribute_profiles"),
        "connection-profiles" => empty_list_schema("connection_profiles"),
        "connections-directory-provisionings" => empty_list_schema("directory_provisionings"),
        _ => return (None, None),
    };
    let request = (path == "guardian/policies" && method == "put").then_some(none);
    (request, Some(response))
}
