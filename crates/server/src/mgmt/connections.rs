//! `/api/v2/connections`: where identities come from, and which clients may use them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::connection::Connection;
use gatehouse_core::ids;
use gatehouse_core::store::{ConnectionFilter, StoreError};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::body::MgmtJson;
use super::error::MgmtError;
use super::page::{Checkpoint, PageQuery, envelope, parse_bool};
use super::validate::{self as v, bad};
use crate::AppState;
use crate::secrets::{SEALED, seal_connection_secret};

/// Strategies gatehouse stores. Logins through `auth0`, `email`, `sms` and `oidc` arrive
/// with the login issues; the rest are kept so configurations can be carried over.
const STRATEGIES: &[&str] = &[
    "auth0",
    "email",
    "sms",
    "oidc",
    "oauth2",
    "google-oauth2",
    "github",
    "apple",
    "facebook",
    "samlp",
    "waad",
    "okta",
];

const PROPERTIES: &[&str] = &[
    "name",
    "strategy",
    "display_name",
    "options",
    "enabled_clients",
    "is_domain_connection",
    "show_as_button",
    "realms",
    "metadata",
];

fn not_found() -> MgmtError {
    MgmtError::not_found("The connection does not exist", "inexistent_connection")
}

/// Auth0's name rule: letters, digits and single inner hyphens, at most 128.
fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
        && !name.contains("--")
}

fn validate_options(strategy: &str, value: &Value) -> Result<Value, MgmtError> {
    let o = v::object("options", value)?;
    match strategy {
        "auth0" => {
            if let Some(p) = o.get("passwordPolicy").filter(|p| !p.is_null()) {
                v::one_of(
                    "options.passwordPolicy",
                    p,
                    &["none", "low", "fair", "good", "excellent"],
                )?;
            }
            for flag in [
                "requires_username",
                "brute_force_protection",
                "disable_signup",
                "import_mode",
            ] {
                if let Some(b) = o.get(flag) {
                    v::boolean(&format!("options.{flag}"), b)?;
                }
            }
        }
        "email" | "sms" => {
            passwordless_options(strategy, o)?;
            if let Some(t) = o.get("totp") {
                let t = v::object("options.totp", t)?;
                if let Some(n) = t.get("length") {
                    v::integer("options.totp.length", n, 4, 10)?;
                }
                if let Some(n) = t.get("time_step") {
                    v::integer("options.totp.time_step", n, 30, 86_400)?;
                }
            }
        }
        "oidc" => {
            for url in [
                "discovery_url",
                "issuer",
                "authorization_endpoint",
                "token_endpoint",
                "jwks_uri",
            ] {
                if let Some(u) = o.get(url) {
                    v::url(&format!("options.{url}"), u, false)?;
                }
            }
            if let Some(t) = o.get("type") {
                v::one_of("options.type", t, &["back_channel", "front_channel"])?;
            }
            if let Some(c) = o.get("client_id") {
                v::string("options.client_id", c, 500)?;
            }
        }
        _ => {}
    }
    Ok(value.clone())
}

/// Options that hold secrets: sealed under the master key before they are stored, never
/// shown back, and kept when a PATCH leaves them out.
const SECRET_OPTIONS: &[&[&str]] = &[&["twilio_token"], &["gateway_authentication", "secret"]];

fn at_path<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut v = v;
    for p in path {
        v = v.as_object_mut()?.get_mut(*p)?;
    }
    Some(v)
}

/// Where tokens signed with the SMS gateway secret go, and who they claim to be for.
fn gateway_destination(options: &Value) -> [&Value; 3] {
    let auth = &options["gateway_authentication"];
    [&options["gateway_url"], &auth["audience"], &auth["subject"]]
}

/// Seals the secrets in `c.options`; a secret absent from them keeps its value in `before`,
/// except the SMS gateway secret when the gateway URL, audience or subject changed: whoever
/// may update connections (but never read their secrets) must not be able to send tokens the
/// real gateway accepts to a host of their choosing. Without it, delivery fails (and is
/// logged) instead of sending an unsigned request.
fn seal_secrets(state: &AppState, c: &mut Connection, before: Option<&Connection>) {
    for path in SECRET_OPTIONS {
        let moved = before
            .is_some_and(|b| gateway_destination(&b.options) != gateway_destination(&c.options));
        let kept_here = !(moved && *path == ["gateway_authentication", "secret"]);
        let joined = path.join(".");
        let current = at_path(&mut c.options, path).map(|v| v.clone());
        match current {
            Some(Value::String(plain)) => {
                let sealed = seal_connection_secret(&state.sealer, &c.id, &joined, &plain);
                if let Some(slot) = at_path(&mut c.options, path) {
                    *slot = sealed;
                }
            }
            None => {
                let kept = before
                    .filter(|_| kept_here)
                    .and_then(|b| {
                        let mut o = b.options.clone();
                        at_path(&mut o, path).map(|v| v.clone())
                    })
                    .filter(|v| v.get(SEALED).is_some());
                let (Some(kept), Some((last, parents))) = (kept, path.split_last()) else {
                    continue;
                };
                if let Some(Value::Object(parent)) = at_path(&mut c.options, parents) {
                    parent.insert((*last).to_owned(), kept);
                }
            }
            Some(_) => {}
        }
    }
}

/// The options as shown to callers: sealed secrets left out.
fn public_options(options: &Value) -> Value {
    let mut shown = options.clone();
    for path in SECRET_OPTIONS {
        if let Some((last, parents)) = path.split_last()
            && let Some(Value::Object(parent)) = at_path(&mut shown, parents)
        {
            parent.remove(*last);
        }
    }
    shown
}

/// The options of `email` and `sms` connections, with Auth0's names.
fn passwordless_options(strategy: &str, o: &Map<String, Value>) -> Result<(), MgmtError> {
    let text = |key: &str, max: usize| -> Result<(), MgmtError> {
        match o.get(key).filter(|v| !v.is_null()) {
            Some(val) => v::string(&format!("options.{key}"), val, max).map(|_| ()),
            None => Ok(()),
        }
    };
    for flag in [
        "disable_signup",
        "brute_force_protection",
        "forward_req_info",
    ] {
        if let Some(b) = o.get(flag).filter(|v| !v.is_null()) {
            v::boolean(&format!("options.{flag}"), b)?;
        }
    }
    if let Some(syntax) = o.get("syntax").filter(|v| !v.is_null()) {
        v::one_of("options.syntax", syntax, &["liquid", "md_with_macros"])?;
    }
    text("from", 255)?;
    text("subject", 255)?;
    text("template", 10_000)?;
    if strategy == "email" {
        if let Some(e) = o.get("email").filter(|v| !v.is_null()) {
            let e = v::object("options.email", e)?;
            for (key, max) in [("from", 255), ("subject", 255), ("body", 10_000)] {
                if let Some(val) = e.get(key).filter(|v| !v.is_null()) {
                    v::string(&format!("options.email.{key}"), val, max)?;
                }
            }
            if let Some(syntax) = e.get("syntax").filter(|v| !v.is_null()) {
                v::one_of("options.email.syntax", syntax, &["liquid"])?;
            }
        }
        return Ok(());
    }
    let provider = match o.get("provider").filter(|v| !v.is_null()) {
        Some(p) => v::one_of("options.provider", p, &["twilio", "sms_gateway"])?,
        None => "twilio".to_owned(),
    };
    if let Some(from) = o.get("from").and_then(Value::as_str)
        && from.starts_with('+')
        && !gatehouse_core::passwordless::is_e164(from)
    {
        return Err(bad(
            "options.from",
            "must be an E.164 number or a sender name",
        ));
    }
    text("twilio_sid", 64)?;
    text("twilio_token", 256)?;
    text("messaging_service_sid", 64)?;
    if provider == "sms_gateway" {
        let url = o
            .get("gateway_url")
            .ok_or_else(|| v::missing("options.gateway_url"))?;
        v::url("options.gateway_url", url, false)?;
        if let Some(a) = o.get("gateway_authentication").filter(|v| !v.is_null()) {
            let a = v::object("options.gateway_authentication", a)?;
            v::one_of(
                "options.gateway_authentication.method",
                v::required(a, "method")?,
                &["bearer"],
            )?;
            v::string(
                "options.gateway_authentication.audience",
                v::required(a, "audience")?,
                500,
            )?;
            if let Some(sub) = a.get("subject").filter(|v| !v.is_null()) {
                v::string("options.gateway_authentication.subject", sub, 500)?;
            }
            if let Some(secret) = a.get("secret") {
                v::non_empty("options.gateway_authentication.secret", secret, 1000)?;
            }
            if let Some(b) = a.get("secret_base64_encoded").filter(|v| !v.is_null()) {
                v::boolean("options.gateway_authentication.secret_base64_encoded", b)?;
            }
        }
    }
    Ok(())
}

fn validate_metadata(value: &Value) -> Result<Value, MgmtError> {
    let m = v::object("metadata", value)?;
    if m.len() > 10 {
        return Err(bad("metadata", "at most 10 properties are allowed"));
    }
    for (k, val) in m {
        if k.chars().count() > 255 {
            return Err(bad("metadata", "keys must be at most 255 characters"));
        }
        v::string(&format!("metadata.{k}"), val, 255)?;
    }
    Ok(value.clone())
}

async fn check_clients(state: &AppState, ids: &[String]) -> Result<(), MgmtError> {
    for id in ids {
        if state.stores.clients.client(id).await?.is_none() {
            return Err(bad(
                "enabled_clients",
                format!("client {id} does not exist"),
            ));
        }
    }
    Ok(())
}

/// Applies the mutable properties of `body` to `c`.
fn apply(c: &mut Connection, body: &Map<String, Value>) -> Result<(), MgmtError> {
    for (key, value) in body {
        let key = key.as_str();
        match key {
            "name" | "strategy" => {}
            "options" => c.options = validate_options(&c.strategy, value)?,
            "enabled_clients" => {
                let mut ids = v::strings(key, value, 200)?;
                ids.sort();
                ids.dedup();
                c.enabled_clients = ids;
            }
            _ if value.is_null() => {
                c.extra.remove(key);
            }
            "display_name" => {
                c.extra
                    .insert(key.into(), json!(v::string(key, value, 128)?));
            }
            "is_domain_connection" | "show_as_button" => {
                c.extra.insert(key.into(), json!(v::boolean(key, value)?));
            }
            "realms" => {
                c.extra
                    .insert(key.into(), json!(v::strings(key, value, 255)?));
            }
            "metadata" => {
                c.extra.insert(key.into(), validate_metadata(value)?);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The Auth0 representation.
pub fn connection_json(c: &Connection) -> Value {
    let mut out = json!({
        "id": c.id,
        "name": c.name,
        "strategy": c.strategy,
        "options": public_options(&c.options),
        "enabled_clients": c.enabled_clients,
        "is_domain_connection": false,
        "realms": [c.name],
    });
    if let Some(obj) = out.as_object_mut() {
        for (k, val) in &c.extra {
            obj.insert(k.clone(), val.clone());
        }
    }
    out
}

async fn find(state: &AppState, id: &str) -> Result<Connection, MgmtError> {
    state
        .stores
        .connections
        .connection(id)
        .await?
        .ok_or_else(not_found)
}

/// Query of `GET /connections`; `strategy` may repeat.
#[derive(Debug, Default)]
pub struct ListQuery {
    page: PageQuery,
    strategies: Vec<String>,
    name: Option<String>,
    fields: Option<String>,
    include_fields: Option<String>,
    take: Option<String>,
    from: Option<String>,
}

impl ListQuery {
    fn parse(query: Option<&str>) -> Self {
        let mut q = ListQuery::default();
        for (k, val) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let val = val.into_owned();
            match k.as_ref() {
                "strategy" => q.strategies.extend(val.split(',').map(str::to_owned)),
                "name" => q.name = Some(val),
                "fields" => q.fields = Some(val),
                "include_fields" => q.include_fields = Some(val),
                "take" => q.take = Some(val),
                "from" => q.from = Some(val),
                "page" => q.page.page = Some(val),
                "per_page" => q.page.per_page = Some(val),
                "include_totals" => q.page.include_totals = Some(val),
                _ => {}
            }
        }
        q
    }
}

/// `GET /connections`: offset pages, or checkpoint pages when `take` is sent.
pub async fn list(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Json<Value>, MgmtError> {
    let q = ListQuery::parse(uri.query());
    let filter = ConnectionFilter {
        strategies: q.strategies.into_iter().filter(|s| !s.is_empty()).collect(),
        name: q.name.filter(|n| !n.is_empty()),
    };
    let include = match q.include_fields.as_deref() {
        None => true,
        other => parse_bool("include_fields", other)?,
    };
    let render = |rows: Vec<Connection>| {
        let mut items: Vec<Value> = rows.iter().map(connection_json).collect();
        v::select_fields(&mut items, q.fields.as_deref(), include);
        items
    };
    if let Some(cp) = Checkpoint::parse(q.take.as_deref(), q.from.as_deref())? {
        let rows = state
            .stores
            .connections
            .list_connections(&filter, cp.page())
            .await?;
        return Ok(Json(cp.body("connections", render(rows))));
    }
    let page = q.page.page()?;
    let totals = q.page.include_totals()?;
    let rows = state
        .stores
        .connections
        .list_connections(&filter, page)
        .await?;
    let total = if totals {
        state.stores.connections.count_connections(&filter).await?
    } else {
        0
    };
    Ok(Json(envelope(
        "connections",
        render(rows),
        page,
        total,
        totals,
    )))
}

/// `GET /connections/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(connection_json(&find(&state, &id).await?)))
}

/// `POST /connections`: 201; 409 if the name is taken.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Response, MgmtError> {
    v::only_known(&body, PROPERTIES)?;
    let name = v::string("name", v::required(&body, "name")?, 128)?;
    if !valid_name(&name) {
        return Err(bad(
            "name",
            "String does not match pattern: ^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$",
        ));
    }
    let strategy = v::one_of("strategy", v::required(&body, "strategy")?, STRATEGIES)?;
    let mut c = Connection {
        id: ids::new_connection_id(),
        name,
        strategy,
        options: json!({}),
        enabled_clients: Vec::new(),
        extra: Map::new(),
        created_at: OffsetDateTime::now_utc(),
    };
    apply(&mut c, &body)?;
    seal_secrets(&state, &mut c, None);
    check_clients(&state, &c.enabled_clients).await?;
    match state.stores.connections.insert_connection(&c).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(connection_json(&c))).into_response()),
        Err(StoreError::Conflict(_)) => Err(MgmtError::conflict(
            "A connection with the same name already exists",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `PATCH /connections/{id}`: `name` and `strategy` cannot change.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Json<Value>, MgmtError> {
    v::only_known(&body, PROPERTIES)?;
    let mut c = find(&state, &id).await?;
    for fixed in ["name", "strategy"] {
        if body.contains_key(fixed) {
            return Err(bad(fixed, format!("{fixed} cannot be changed")));
        }
    }
    let before = c.clone();
    apply(&mut c, &body)?;
    seal_secrets(&state, &mut c, Some(&before));
    check_clients(&state, &c.enabled_clients).await?;
    state.stores.connections.update_connection(&c).await?;
    Ok(Json(connection_json(&c)))
}

/// `DELETE /connections/{id}`: 202, as Auth0 answers; its users go with it.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    state
        .stores
        .connections
        .delete_connection(&id)
        .await
        .map_err(|e| MgmtError::or_missing(e, not_found))?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /connections/{id}/clients`: checkpoint pages of `{clients: [{client_id}], next}`.
pub async fn clients(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> Result<Json<Value>, MgmtError> {
    let q = ListQuery::parse(uri.query());
    let c = find(&state, &id).await?;
    let cp = Checkpoint::parse(Some(q.take.as_deref().unwrap_or("50")), q.from.as_deref())?
        .ok_or_else(|| MgmtError::invalid_query("take is required"))?;
    let page = cp.page();
    let items: Vec<Value> = c
        .enabled_clients
        .iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(page.limit as usize)
        .map(|id| json!({"client_id": id}))
        .collect();
    Ok(Json(cp.body("clients", items)))
}

/// `PATCH /connections/{id}/clients`: `[{client_id, status}]`, at most 50; 204.
pub async fn update_clients(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<StatusCode, MgmtError> {
    let items = body
        .as_array()
        .ok_or_else(|| v::wrong_type("body", "array", &body))?;
    if items.len() > 50 {
        return Err(MgmtError::invalid_body("'at most 50 changes per request'"));
    }
    let mut changes = Vec::with_capacity(items.len());
    for item in items {
        let obj = v::object("body[]", item)?;
        v::only_known(obj, &["client_id", "status"])?;
        let client_id = v::non_empty(
            "client_id",
            obj.get("client_id").unwrap_or(&Value::Null),
            200,
        )?;
        let status = v::boolean("status", obj.get("status").unwrap_or(&Value::Null))?;
        changes.push((client_id, status));
    }
    find(&state, &id).await?;
    let enabling: Vec<String> = changes
        .iter()
        .filter(|(_, on)| *on)
        .map(|(c, _)| c.clone())
        .collect();
    check_clients(&state, &enabling).await?;
    state
        .stores
        .connections
        .set_connection_clients(&id, &changes)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
