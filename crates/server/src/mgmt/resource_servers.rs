//! `/api/v2/resource-servers`: APIs, addressed by id or by identifier.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::ids;
use gatehouse_core::resource_server::{DEFAULT_TOKEN_LIFETIME, ResourceServer, ScopeDef};
use gatehouse_core::store::StoreError;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::body::{MgmtJson, MgmtQuery};
use super::error::MgmtError;
use super::page::{PageQuery, envelope};
use super::validate::{self as v, bad};
use crate::AppState;

const PROPERTIES: &[&str] = &[
    "name",
    "identifier",
    "scopes",
    "signing_alg",
    "signing_secret",
    "allow_offline_access",
    "token_lifetime",
    "token_lifetime_for_web",
    "skip_consent_for_verifiable_first_party_clients",
    "enforce_policies",
    "token_dialect",
];

/// Longest access token lifetime Auth0 allows (30 days).
const MAX_LIFETIME: i64 = 2_592_000;

fn not_found() -> MgmtError {
    MgmtError::not_found(
        "The resource server does not exist",
        "inexistent_resource_server",
    )
}

fn scopes(value: &Value) -> Result<Vec<ScopeDef>, MgmtError> {
    let items = value
        .as_array()
        .ok_or_else(|| v::wrong_type("scopes", "array", value))?;
    let mut out: Vec<ScopeDef> = Vec::new();
    for item in items {
        let obj = v::object("scopes", item)?;
        v::only_known(obj, &["value", "description"])?;
        let value = v::non_empty(
            "scopes.value",
            obj.get("value").unwrap_or(&Value::Null),
            280,
        )?;
        if value.contains(' ') {
            return Err(bad("scopes.value", "scope values may not contain spaces"));
        }
        if out.iter().any(|s| s.value == value) {
            return Err(bad("scopes.value", format!("duplicate scope {value}")));
        }
        let description = match obj.get("description") {
            None | Some(Value::Null) => String::new(),
            Some(d) => v::string("scopes.description", d, 500)?,
        };
        out.push(ScopeDef { value, description });
    }
    Ok(out)
}

fn apply(rs: &mut ResourceServer, body: &Map<String, Value>) -> Result<(), MgmtError> {
    v::only_known(body, PROPERTIES)?;
    for (key, value) in body {
        let key = key.as_str();
        match key {
            "identifier" => {}
            "name" => rs.name = v::non_empty(key, value, 200)?,
            "scopes" => rs.scopes = scopes(value)?,
            "signing_alg" => {
                // The only algorithm our key ring signs with; accepting others would be a lie.
                rs.signing_alg = v::one_of(key, value, &["RS256"])?;
            }
            "signing_secret" => {
                return Err(bad(
                    key,
                    "HS256 signing secrets are not supported; use RS256",
                ));
            }
            "allow_offline_access" => rs.allow_offline_access = v::boolean(key, value)?,
            "token_lifetime" => rs.token_lifetime = v::integer(key, value, 1, MAX_LIFETIME)?,
            "token_lifetime_for_web" => {
                rs.extra
                    .insert(key.into(), json!(v::integer(key, value, 1, MAX_LIFETIME)?));
            }
            "skip_consent_for_verifiable_first_party_clients" | "enforce_policies" => {
                rs.extra.insert(key.into(), json!(v::boolean(key, value)?));
            }
            "token_dialect" => {
                let d = v::one_of(
                    key,
                    value,
                    &[
                        "access_token",
                        "access_token_authz",
                        "rfc9068_profile",
                        "rfc9068_profile_authz",
                    ],
                )?;
                rs.extra.insert(key.into(), json!(d));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The Auth0 representation.
pub fn resource_server_json(rs: &ResourceServer) -> Value {
    let mut out = json!({
        "id": rs.id,
        "name": rs.name,
        "is_system": rs.is_system,
        "identifier": rs.identifier,
        "scopes": rs.scopes.iter().map(|s| json!({"value": s.value, "description": s.description})).collect::<Vec<_>>(),
        "signing_alg": rs.signing_alg,
        "allow_offline_access": rs.allow_offline_access,
        "skip_consent_for_verifiable_first_party_clients": false,
        "token_lifetime": rs.token_lifetime,
        "token_lifetime_for_web": 7200,
        "enforce_policies": false,
        "token_dialect": "access_token",
    });
    if let Some(obj) = out.as_object_mut() {
        for (k, val) in &rs.extra {
            obj.insert(k.clone(), val.clone());
        }
    }
    out
}

async fn find(state: &AppState, id: &str) -> Result<ResourceServer, MgmtError> {
    state
        .stores
        .resource_servers
        .resource_server(id)
        .await?
        .ok_or_else(not_found)
}

/// `GET /resource-servers`; `identifiers` (repeatable) picks APIs by identifier.
pub async fn list(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<PageQuery>,
    uri: axum::http::Uri,
) -> Result<Json<Value>, MgmtError> {
    let wanted: Vec<String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .filter(|(k, v)| k == "identifiers" && !v.is_empty())
            .map(|(_, v)| v.into_owned())
            .collect();
    if !wanted.is_empty() {
        let page = q.page()?;
        let mut found = Vec::new();
        for identifier in &wanted {
            if let Some(rs) = state
                .stores
                .resource_servers
                .resource_server_by_identifier(identifier)
                .await?
            {
                found.push(resource_server_json(&rs));
            }
        }
        let total = found.len() as i64;
        let items = found
            .into_iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(page.limit as usize)
            .collect();
        return Ok(Json(envelope(
            "resource_servers",
            items,
            page,
            total,
            q.include_totals()?,
        )));
    }
    let page = q.page()?;
    let totals = q.include_totals()?;
    let items = state
        .stores
        .resource_servers
        .list_resource_servers(page)
        .await?
        .iter()
        .map(resource_server_json)
        .collect();
    let total = if totals {
        state
            .stores
            .resource_servers
            .count_resource_servers()
            .await?
    } else {
        0
    };
    Ok(Json(envelope(
        "resource_servers",
        items,
        page,
        total,
        totals,
    )))
}

/// `GET /resource-servers/{id}` (id or identifier).
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(resource_server_json(&find(&state, &id).await?)))
}

/// `POST /resource-servers`: 201; 409 if the identifier is taken.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Response, MgmtError> {
    let identifier = v::non_empty(
        "identifier",
        body.get("identifier")
            .ok_or_else(|| v::missing("identifier"))?,
        600,
    )?;
    let mut rs = ResourceServer {
        id: ids::new_resource_server_id(),
        name: identifier.clone(),
        identifier,
        is_system: false,
        scopes: Vec::new(),
        signing_alg: "RS256".into(),
        token_lifetime: DEFAULT_TOKEN_LIFETIME,
        allow_offline_access: false,
        extra: Map::new(),
        created_at: OffsetDateTime::now_utc(),
    };
    apply(&mut rs, &body)?;
    match state
        .stores
        .resource_servers
        .insert_resource_server(&rs)
        .await
    {
        Ok(()) => Ok((StatusCode::CREATED, Json(resource_server_json(&rs))).into_response()),
        Err(StoreError::Conflict(_)) => Err(MgmtError::conflict(
            "A resource server with the same identifier already exists",
        )),
        Err(e) => Err(e.into()),
    }
}

fn system_refusal() -> MgmtError {
    MgmtError::Forbidden {
        message: "You cannot modify or delete a system resource server".into(),
        code: "operation_not_supported",
    }
}

/// `PATCH /resource-servers/{id}`: `identifier` is immutable.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Json<Value>, MgmtError> {
    let mut rs = find(&state, &id).await?;
    if rs.is_system {
        return Err(system_refusal());
    }
    if body
        .get("identifier")
        .is_some_and(|i| i.as_str() != Some(rs.identifier.as_str()))
    {
        return Err(bad("identifier", "identifier cannot be changed"));
    }
    apply(&mut rs, &body)?;
    state
        .stores
        .resource_servers
        .update_resource_server(&rs)
        .await?;
    Ok(Json(resource_server_json(&rs)))
}

/// `DELETE /resource-servers/{id}`: 204, its client grants with it.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let rs = find(&state, &id).await?;
    if rs.is_system {
        return Err(system_refusal());
    }
    state
        .stores
        .resource_servers
        .delete_resource_server(&rs.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
