//! `/api/v2/clients`: applications, with Auth0's fields, scopes and secret handling.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::client::{AppType, Client, ClientSettings, StoredSecret};
use gatehouse_core::ids;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::auth::Caller;
use super::body::{MgmtJson, MgmtQuery};
use super::error::MgmtError;
use super::page::{PageQuery, envelope, parse_bool};
use super::validate::{self as v, bad};
use crate::AppState;
use crate::crypto::random_secret;

/// Scopes that may see `client_secret`.
const READ_SECRET: &[&str] = &["read:client_keys", "read:client_credentials"];

/// Grant types a client may list (Auth0's names).
const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
    "http://auth0.com/oauth/grant-type/password-realm",
    "http://auth0.com/oauth/grant-type/passwordless/otp",
    "http://auth0.com/oauth/grant-type/mfa-oob",
    "http://auth0.com/oauth/grant-type/mfa-otp",
    "http://auth0.com/oauth/grant-type/mfa-recovery-code",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

/// Body properties Auth0 accepts on create and update.
const PROPERTIES: &[&str] = &[
    "name",
    "description",
    "logo_uri",
    "app_type",
    "is_first_party",
    "oidc_conformant",
    "callbacks",
    "allowed_origins",
    "web_origins",
    "allowed_logout_urls",
    "client_aliases",
    "allowed_clients",
    "grant_types",
    "token_endpoint_auth_method",
    "jwt_configuration",
    "refresh_token",
    "client_metadata",
    "mobile",
    "cross_origin_authentication",
    "cross_origin_loc",
    "initiate_login_uri",
    "sso",
    "sso_disabled",
    "custom_login_page_on",
    "custom_login_page",
    "is_token_endpoint_ip_header_trusted",
    "organization_usage",
    "organization_require_behavior",
    "require_pushed_authorization_requests",
    "addons",
];

fn secret_context(client_id: &str) -> String {
    format!("client_secret:{client_id}")
}

fn not_found() -> MgmtError {
    MgmtError::not_found("The client does not exist", "inexistent_client")
}

/// Default grant types per application type. Auth0 also enables `implicit`; we leave it
/// off, as RFC 9700 s2.1.2 advises, and let operators add it.
fn default_grant_types(app_type: AppType) -> Vec<String> {
    let g: &[&str] = match app_type {
        AppType::NonInteractive => &["client_credentials"],
        AppType::RegularWeb => &["authorization_code", "refresh_token", "client_credentials"],
        AppType::Spa | AppType::Native => &["authorization_code", "refresh_token"],
    };
    g.iter().map(|s| (*s).to_owned()).collect()
}

fn validate_metadata(
    value: &Value,
    current: &mut Map<String, Value>,
    patch: bool,
) -> Result<(), MgmtError> {
    let obj = v::object("client_metadata", value)?;
    if !patch {
        current.clear();
    }
    for (k, val) in obj {
        if k.chars().count() > 255 {
            return Err(bad(
                "client_metadata",
                "keys must be at most 255 characters",
            ));
        }
        match val {
            // Auth0: on update, null deletes the key.
            Value::Null if patch => {
                current.remove(k);
            }
            Value::String(s) if s.chars().count() <= 255 => {
                current.insert(k.clone(), val.clone());
            }
            _ => {
                return Err(bad(
                    "client_metadata",
                    "values must be strings of at most 255 characters",
                ));
            }
        }
    }
    if current.len() > 10 {
        return Err(bad("client_metadata", "at most 10 properties are allowed"));
    }
    Ok(())
}

fn validate_jwt_configuration(value: &Value) -> Result<Value, MgmtError> {
    let obj = v::object("jwt_configuration", value)?;
    v::only_known(
        obj,
        &["lifetime_in_seconds", "secret_encoded", "scopes", "alg"],
    )?;
    if let Some(l) = obj.get("lifetime_in_seconds") {
        v::integer("jwt_configuration.lifetime_in_seconds", l, 1, 2_592_000)?;
    }
    if let Some(b) = obj.get("secret_encoded") {
        v::boolean("jwt_configuration.secret_encoded", b)?;
    }
    if let Some(a) = obj.get("alg") {
        v::one_of(
            "jwt_configuration.alg",
            a,
            &["HS256", "RS256", "RS512", "PS256"],
        )?;
    }
    if let Some(s) = obj.get("scopes") {
        v::object("jwt_configuration.scopes", s)?;
    }
    Ok(value.clone())
}

fn validate_refresh_token(value: &Value) -> Result<Value, MgmtError> {
    let obj = v::object("refresh_token", value)?;
    v::only_known(
        obj,
        &[
            "rotation_type",
            "expiration_type",
            "leeway",
            "token_lifetime",
            "infinite_token_lifetime",
            "idle_token_lifetime",
            "infinite_idle_token_lifetime",
            "policies",
        ],
    )?;
    if let Some(r) = obj.get("rotation_type") {
        v::one_of(
            "refresh_token.rotation_type",
            r,
            &["rotating", "non-rotating"],
        )?;
    }
    if let Some(e) = obj.get("expiration_type") {
        v::one_of(
            "refresh_token.expiration_type",
            e,
            &["expiring", "non-expiring"],
        )?;
    }
    for (name, max) in [
        ("leeway", 60),
        ("token_lifetime", 31_557_600),
        ("idle_token_lifetime", 31_557_600),
    ] {
        if let Some(n) = obj.get(name) {
            v::integer(&format!("refresh_token.{name}"), n, 0, max)?;
        }
    }
    for name in ["infinite_token_lifetime", "infinite_idle_token_lifetime"] {
        if let Some(b) = obj.get(name) {
            v::boolean(&format!("refresh_token.{name}"), b)?;
        }
    }
    Ok(value.clone())
}

fn validate_mobile(value: &Value) -> Result<Value, MgmtError> {
    let obj = v::object("mobile", value)?;
    v::only_known(obj, &["android", "ios"])?;
    if let Some(a) = obj.get("android") {
        let a = v::object("mobile.android", a)?;
        v::only_known(a, &["app_package_name", "sha256_cert_fingerprints"])?;
        if let Some(p) = a.get("app_package_name") {
            v::string("mobile.android.app_package_name", p, 255)?;
        }
        if let Some(f) = a.get("sha256_cert_fingerprints") {
            v::strings("mobile.android.sha256_cert_fingerprints", f, 200)?;
        }
    }
    if let Some(i) = obj.get("ios") {
        let i = v::object("mobile.ios", i)?;
        v::only_known(i, &["team_id", "app_bundle_identifier"])?;
        for name in ["team_id", "app_bundle_identifier"] {
            if let Some(s) = i.get(name) {
                v::string(&format!("mobile.ios.{name}"), s, 255)?;
            }
        }
    }
    Ok(value.clone())
}

/// Applies `body` to `client`. On update (`patch`), properties not in the body stay, and
/// `null` unsets an optional property.
fn apply(client: &mut Client, body: &Map<String, Value>, patch: bool) -> Result<(), MgmtError> {
    v::only_known(body, PROPERTIES)?;
    let s = &mut client.settings;
    for (key, value) in body {
        let key = key.as_str();
        if value.is_null() && key != "client_metadata" {
            if key == "name" || key == "app_type" {
                return Err(v::wrong_type(key, "string", value));
            }
            match key {
                "description" => s.description = None,
                "token_endpoint_auth_method" => s.token_endpoint_auth_method = None,
                _ => {
                    s.extra.remove(key);
                }
            }
            continue;
        }
        match key {
            "name" => client.name = v::non_empty(key, value, 255)?,
            "app_type" => {
                let t = v::one_of(
                    key,
                    value,
                    &["native", "spa", "regular_web", "non_interactive"],
                )?;
                client.app_type = AppType::parse(&t).ok_or_else(|| bad(key, "unknown app_type"))?;
            }
            "description" => s.description = Some(v::string(key, value, 140)?),
            "callbacks" | "allowed_logout_urls" | "web_origins" | "allowed_origins" => {
                let urls = v::strings(key, value, 2000)?;
                if urls.len() > 100 {
                    return Err(bad(key, "at most 100 items are allowed"));
                }
                match key {
                    "callbacks" => s.callbacks = urls,
                    "allowed_logout_urls" => s.allowed_logout_urls = urls,
                    "web_origins" => s.web_origins = urls,
                    _ => s.allowed_origins = urls,
                }
            }
            "grant_types" => {
                let grants = v::strings(key, value, 200)?;
                for g in &grants {
                    v::one_of(key, &Value::String(g.clone()), GRANT_TYPES)?;
                }
                s.grant_types = grants;
            }
            "token_endpoint_auth_method" => {
                s.token_endpoint_auth_method = Some(v::one_of(
                    key,
                    value,
                    &["none", "client_secret_post", "client_secret_basic"],
                )?);
            }
            "is_first_party" => s.is_first_party = v::boolean(key, value)?,
            "oidc_conformant" => s.oidc_conformant = v::boolean(key, value)?,
            "client_metadata" => {
                let mut current = s
                    .extra
                    .get("client_metadata")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                if value.is_null() {
                    current.clear();
                } else {
                    validate_metadata(value, &mut current, patch)?;
                }
                s.extra.insert(key.to_owned(), Value::Object(current));
            }
            other => {
                let checked = match other {
                    "logo_uri" => Value::String(v::url(other, value, false)?),
                    "initiate_login_uri" => Value::String(v::url(other, value, true)?),
                    "client_aliases" | "allowed_clients" => json!(v::strings(other, value, 2000)?),
                    "jwt_configuration" => validate_jwt_configuration(value)?,
                    "refresh_token" => validate_refresh_token(value)?,
                    "mobile" => validate_mobile(value)?,
                    "cross_origin_authentication"
                    | "sso"
                    | "sso_disabled"
                    | "custom_login_page_on"
                    | "is_token_endpoint_ip_header_trusted"
                    | "require_pushed_authorization_requests" => json!(v::boolean(other, value)?),
                    "organization_usage" => {
                        Value::String(v::one_of(other, value, &["deny", "allow", "require"])?)
                    }
                    "organization_require_behavior" => Value::String(v::one_of(
                        other,
                        value,
                        &["no_prompt", "pre_login_prompt", "post_login_prompt"],
                    )?),
                    "cross_origin_loc" => Value::String(v::url(other, value, false)?),
                    "custom_login_page" => Value::String(v::string(other, value, 100_000)?),
                    "addons" => Value::Object(v::object(other, value)?.clone()),
                    _ => {
                        return Err(MgmtError::invalid_body(format!(
                            "unsupported property {other}"
                        )));
                    }
                };
                s.extra.insert(other.to_owned(), checked);
            }
        }
    }
    Ok(())
}

/// The Auth0 representation. `secret` is the plain secret when the caller may see it.
pub fn client_json(c: &Client, secret: Option<&str>) -> Value {
    let s = &c.settings;
    let mut out = Map::new();
    out.insert("client_id".into(), json!(c.client_id));
    out.insert("name".into(), json!(c.name));
    if let Some(d) = &s.description {
        out.insert("description".into(), json!(d));
    }
    out.insert("app_type".into(), json!(c.app_type.as_str()));
    out.insert("global".into(), json!(false));
    out.insert("is_first_party".into(), json!(s.is_first_party));
    out.insert("oidc_conformant".into(), json!(s.oidc_conformant));
    out.insert("callbacks".into(), json!(s.callbacks));
    out.insert("allowed_origins".into(), json!(s.allowed_origins));
    out.insert("web_origins".into(), json!(s.web_origins));
    out.insert("allowed_logout_urls".into(), json!(s.allowed_logout_urls));
    out.insert("grant_types".into(), json!(s.grant_types));
    if let Some(m) = &s.token_endpoint_auth_method {
        out.insert("token_endpoint_auth_method".into(), json!(m));
    }
    out.insert(
        "jwt_configuration".into(),
        json!({"alg": "RS256", "lifetime_in_seconds": 36000, "secret_encoded": false}),
    );
    out.insert("custom_login_page_on".into(), json!(true));
    out.insert("sso_disabled".into(), json!(false));
    out.insert("cross_origin_authentication".into(), json!(false));
    out.insert("is_token_endpoint_ip_header_trusted".into(), json!(false));
    out.insert("client_metadata".into(), json!({}));
    for (k, val) in &s.extra {
        out.insert(k.clone(), val.clone());
    }
    let iso = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    out.insert("created_at".into(), json!(iso(c.created_at)));
    out.insert("updated_at".into(), json!(iso(c.updated_at)));
    if let Some(secret) = secret {
        out.insert("client_secret".into(), json!(secret));
    }
    Value::Object(out)
}

/// A client as JSON less what `update:client_keys` alone may change: how the client
/// authenticates (`token_endpoint_auth_method`) and how its secret and signatures are read
/// (`jwt_configuration.secret_encoded`, `.alg`). The secret itself (`client_secret`, which
/// Auth0 reserves to that scope, or `rotate-secret`) is outside the comparison.
fn without_credentials(c: &Client) -> Value {
    let mut out = client_json(c, None);
    if let Some(o) = out.as_object_mut() {
        o.remove("token_endpoint_auth_method");
        o.remove("updated_at");
        if let Some(jwt) = o
            .get_mut("jwt_configuration")
            .and_then(Value::as_object_mut)
        {
            jwt.remove("secret_encoded");
            jwt.remove("alg");
        }
    }
    out
}

/// The fields a `read:client_summary`-only caller sees.
const SUMMARY_FIELDS: &[&str] = &["client_id", "app_type", "name", "description"];

fn render(state: &AppState, caller: &Caller, c: &Client) -> Result<Value, MgmtError> {
    let secret = if READ_SECRET.iter().any(|s| caller.has(s)) {
        open_secret(state, c)?
    } else {
        None
    };
    let mut out = client_json(c, secret.as_deref());
    let full = [
        "read:clients",
        "read:client_keys",
        "read:client_credentials",
    ]
    .iter()
    .any(|s| caller.has(s));
    if !full && let Some(obj) = out.as_object_mut() {
        obj.retain(|k, _| SUMMARY_FIELDS.contains(&k.as_str()));
    }
    Ok(out)
}

fn open_secret(state: &AppState, c: &Client) -> Result<Option<String>, MgmtError> {
    c.secret
        .as_ref()
        .map(|s| {
            state
                .sealer
                .open(&secret_context(&c.client_id), &s.sealed)
                .map_err(|e| MgmtError::Internal(e.into()))
                .and_then(|b| String::from_utf8(b).map_err(|e| MgmtError::Internal(e.into())))
        })
        .transpose()
}

fn new_secret(state: &AppState, client_id: &str) -> (String, StoredSecret) {
    let secret = random_secret(48);
    let stored = stored_secret(state, client_id, &secret);
    (secret, stored)
}

/// `secret` as stored: its HMAC (to check) and sealed (to show again).
fn stored_secret(state: &AppState, client_id: &str, secret: &str) -> StoredSecret {
    StoredSecret {
        hash: state.hasher.hash(secret),
        sealed: state
            .sealer
            .seal(&secret_context(client_id), secret.as_bytes()),
    }
}

/// Shortest secret `PATCH` takes: a chosen secret is as guessable as its length allows, and
/// ours are 48 random characters.
const MIN_SECRET_CHARS: usize = 32;

/// The `client_secret` of a `PATCH` body, taken out of it: only `update:client_keys` sets
/// one (as in Auth0), of at least [`MIN_SECRET_CHARS`] characters.
fn chosen_secret(
    caller: &Caller,
    body: &mut Map<String, Value>,
) -> Result<Option<String>, MgmtError> {
    let Some(value) = body.remove("client_secret") else {
        return Ok(None);
    };
    caller.require_any(&["update:client_keys"])?;
    let secret = v::string("client_secret", &value, 1000)?;
    if secret.chars().count() < MIN_SECRET_CHARS {
        return Err(bad(
            "client_secret",
            format!("must be at least {MIN_SECRET_CHARS} characters"),
        ));
    }
    Ok(Some(secret))
}

/// Query of `GET /clients`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    fields: Option<String>,
    include_fields: Option<String>,
    app_type: Option<String>,
}

fn wants_fields(
    q_fields: Option<&str>,
    include: Option<&str>,
) -> Result<(Option<String>, bool), MgmtError> {
    let include = match include {
        None => true,
        other => parse_bool("include_fields", other)?,
    };
    Ok((q_fields.map(str::to_owned), include))
}

/// `GET /clients`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    MgmtQuery(q): MgmtQuery<ListQuery>,
) -> Result<Json<Value>, MgmtError> {
    let page = q.page.page()?;
    let totals = q.page.include_totals()?;
    let (fields, include) = wants_fields(q.fields.as_deref(), q.include_fields.as_deref())?;
    let app_types: Option<Vec<&str>> = q.app_type.as_deref().map(|t| t.split(',').collect());
    // Filters are applied after paging a full scan only when asked for; clients are few.
    let clients = if app_types.is_some() {
        let all = state
            .stores
            .clients
            .list_clients(gatehouse_core::store::Page::number(0, 10_000))
            .await?;
        all.into_iter()
            .filter(|c| {
                app_types
                    .as_ref()
                    .is_none_or(|t| t.contains(&c.app_type.as_str()))
            })
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(page.limit as usize)
            .collect()
    } else {
        state.stores.clients.list_clients(page).await?
    };
    let total = if totals {
        state.stores.clients.count_clients().await?
    } else {
        0
    };
    let mut items = clients
        .iter()
        .map(|c| render(&state, &caller, c))
        .collect::<Result<Vec<_>, _>>()?;
    v::select_fields(&mut items, fields.as_deref(), include);
    Ok(Json(envelope("clients", items, page, total, totals)))
}

/// Query of `GET /clients/{id}`.
#[derive(Debug, Deserialize)]
pub struct GetQuery {
    fields: Option<String>,
    include_fields: Option<String>,
}

/// `GET /clients/{id}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<GetQuery>,
) -> Result<Json<Value>, MgmtError> {
    let client = state
        .stores
        .clients
        .client(&id)
        .await?
        .ok_or_else(not_found)?;
    let (fields, include) = wants_fields(q.fields.as_deref(), q.include_fields.as_deref())?;
    let mut items = vec![render(&state, &caller, &client)?];
    v::select_fields(&mut items, fields.as_deref(), include);
    Ok(Json(items.remove(0)))
}

/// `POST /clients`: 201 with the new secret, shown in full this once.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Response, MgmtError> {
    if !body.contains_key("name") {
        return Err(v::missing("name"));
    }
    let now = OffsetDateTime::now_utc();
    let client_id = ids::new_client_id();
    let mut client = Client {
        client_id: client_id.clone(),
        name: String::new(),
        app_type: AppType::RegularWeb,
        is_system: false,
        secret: None,
        settings: ClientSettings::default(),
        created_at: now,
        updated_at: now,
    };
    // Auth0 makes clients first-party unless told otherwise.
    client.settings.is_first_party = true;
    apply(&mut client, &body, false)?;
    if !body.contains_key("grant_types") {
        client.settings.grant_types = default_grant_types(client.app_type);
    }
    if client.settings.token_endpoint_auth_method.is_none() {
        client.settings.token_endpoint_auth_method = Some(
            match client.app_type {
                AppType::Spa | AppType::Native => "none",
                _ => "client_secret_post",
            }
            .to_owned(),
        );
    }
    let (secret, stored) = new_secret(&state, &client_id);
    client.secret = Some(stored);
    // Auth0 enables a new application on every connection unless the tenant turned
    // `flags.enable_client_connections` off: clients made for the default connection work.
    let tenant = state.stores.tenant.tenant().await?.unwrap_or_default();
    if tenant.enables_new_clients_everywhere() {
        state
            .stores
            .clients
            .insert_client_on_all_connections(&client)
            .await?;
    } else {
        state.stores.clients.insert_client(&client).await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(client_json(&client, Some(&secret))),
    )
        .into_response())
}

/// `PATCH /clients/{id}`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MgmtJson(mut body): MgmtJson<Map<String, Value>>,
) -> Result<Json<Value>, MgmtError> {
    let secret = chosen_secret(&caller, &mut body)?;
    let mut client = state
        .stores
        .clients
        .client(&id)
        .await?
        .ok_or_else(not_found)?;
    let before = without_credentials(&client);
    apply(&mut client, &body, true)?;
    // `update:client_keys` alone is for credentials: anything else (callbacks, grant types,
    // first-party status, ...) needs `update:clients`.
    if !caller.has("update:clients") && without_credentials(&client) != before {
        return Err(MgmtError::InsufficientScope(vec!["update:clients"]));
    }
    if let Some(secret) = secret {
        client.secret = Some(stored_secret(&state, &client.client_id, &secret));
    }
    client.updated_at = OffsetDateTime::now_utc();
    state.stores.clients.update_client(&client).await?;
    Ok(Json(render(&state, &caller, &client)?))
}

/// `DELETE /clients/{id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    state
        .stores
        .clients
        .delete_client(&id)
        .await
        .map_err(|e| MgmtError::or_missing(e, not_found))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /clients/{id}/rotate-secret`: a new secret, returned with the client.
pub async fn rotate_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let mut client = state
        .stores
        .clients
        .client(&id)
        .await?
        .ok_or_else(not_found)?;
    let (secret, stored) = new_secret(&state, &client.client_id);
    client.secret = Some(stored);
    client.updated_at = OffsetDateTime::now_utc();
    state.stores.clients.update_client(&client).await?;
    Ok(Json(client_json(&client, Some(&secret))))
}
