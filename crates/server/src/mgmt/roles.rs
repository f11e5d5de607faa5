//! `/api/v2/roles` and users' roles and permissions (Auth0's RBAC).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gatehouse_core::ids;
use gatehouse_core::role::{Permission, PermissionSource, Role};
use gatehouse_core::store::{Page, StoreError};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::body::{MgmtJson, MgmtQuery};
use super::error::MgmtError;
use super::page::{Checkpoint, PageQuery, envelope};
use super::validate::{self as v, bad};
use crate::AppState;

fn not_found() -> MgmtError {
    MgmtError::not_found("The role does not exist.", "inexistent_role")
}

fn user_not_found() -> MgmtError {
    MgmtError::not_found("The user does not exist.", "inexistent_user")
}

fn role_json(r: &Role) -> Value {
    json!({"id": r.id, "name": r.name, "description": r.description})
}

async fn find(state: &AppState, id: &str) -> Result<Role, MgmtError> {
    state.stores.roles.role(id).await?.ok_or_else(not_found)
}

async fn user_exists(state: &AppState, id: &str) -> Result<(), MgmtError> {
    state
        .stores
        .users
        .user(id)
        .await?
        .map(|_| ())
        .ok_or_else(user_not_found)
}

/// `{permissions: [{resource_server_identifier, permission_name}]}`; each must be a scope
/// its API defines.
async fn permissions_body(
    state: &AppState,
    body: &Map<String, Value>,
) -> Result<Vec<Permission>, MgmtError> {
    v::only_known(body, &["permissions"])?;
    let items = v::required(body, "permissions")?
        .as_array()
        .ok_or_else(|| bad("permissions", "Expected type array"))?;
    if items.is_empty() {
        return Err(bad("permissions", "Array is too short (0), minimum 1"));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let o = v::object("permissions[]", item)?;
        v::only_known(o, &["resource_server_identifier", "permission_name"])?;
        let rs_id = v::non_empty(
            "resource_server_identifier",
            o.get("resource_server_identifier").unwrap_or(&Value::Null),
            600,
        )?;
        let name = v::non_empty(
            "permission_name",
            o.get("permission_name").unwrap_or(&Value::Null),
            280,
        )?;
        let api = state
            .stores
            .resource_servers
            .resource_server_by_identifier(&rs_id)
            .await?
            .ok_or_else(|| {
                bad(
                    "resource_server_identifier",
                    format!("no resource server {rs_id}"),
                )
            })?;
        if !api.scopes.iter().any(|s| s.value == name) {
            return Err(bad(
                "permission_name",
                format!("{name} is not a permission of {rs_id}"),
            ));
        }
        out.push(Permission {
            resource_server_identifier: rs_id,
            permission_name: name,
        });
    }
    Ok(out)
}

/// `{<key>: [ids]}`, at least one.
fn ids_body(body: &Map<String, Value>, key: &str) -> Result<Vec<String>, MgmtError> {
    v::only_known(body, &[key])?;
    let ids = v::strings(key, v::required(body, key)?, 255)?;
    if ids.is_empty() {
        return Err(bad(key, "Array is too short (0), minimum 1"));
    }
    Ok(ids)
}

/// Query of `GET /roles`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    name_filter: Option<String>,
}

/// `GET /roles`.
pub async fn list(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<ListQuery>,
) -> Result<Json<Value>, MgmtError> {
    let page = q.page.page()?;
    let totals = q.page.include_totals()?;
    let filter = q.name_filter.as_deref().filter(|f| !f.is_empty());
    let items = state
        .stores
        .roles
        .list_roles(filter, page)
        .await?
        .iter()
        .map(role_json)
        .collect();
    let total = if totals {
        state.stores.roles.count_roles(filter).await?
    } else {
        0
    };
    Ok(Json(envelope("roles", items, page, total, totals)))
}

/// `GET /roles/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(role_json(&find(&state, &id).await?)))
}

fn apply(role: &mut Role, body: &Map<String, Value>) -> Result<(), MgmtError> {
    v::only_known(body, &["name", "description"])?;
    if let Some(n) = body.get("name") {
        role.name = v::non_empty("name", n, 50)?;
    }
    if let Some(d) = body.get("description") {
        role.description = if d.is_null() {
            String::new()
        } else {
            v::string("description", d, 140)?
        };
    }
    Ok(())
}

fn role_conflict(e: StoreError) -> MgmtError {
    match e {
        StoreError::Conflict(_) => MgmtError::conflict("A role with this name already exists"),
        other => other.into(),
    }
}

/// `POST /roles`: 200 with the role, as Auth0's specification says.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Json<Value>, MgmtError> {
    v::required(&body, "name")?;
    let mut role = Role {
        id: ids::new_role_id(),
        name: String::new(),
        description: String::new(),
        created_at: OffsetDateTime::now_utc(),
    };
    apply(&mut role, &body)?;
    state
        .stores
        .roles
        .insert_role(&role)
        .await
        .map_err(role_conflict)?;
    Ok(Json(role_json(&role)))
}

/// `PATCH /roles/{id}`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Json<Value>, MgmtError> {
    let mut role = find(&state, &id).await?;
    apply(&mut role, &body)?;
    state
        .stores
        .roles
        .update_role(&role)
        .await
        .map_err(role_conflict)?;
    Ok(Json(role_json(&role)))
}

/// `DELETE /roles/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    state
        .stores
        .roles
        .delete_role(&id)
        .await
        .map_err(|e| MgmtError::or_missing(e, not_found))?;
    Ok(StatusCode::OK)
}

async fn permission_json(state: &AppState, p: &Permission) -> Result<Value, MgmtError> {
    let api = state
        .stores
        .resource_servers
        .resource_server_by_identifier(&p.resource_server_identifier)
        .await?;
    let description = api
        .as_ref()
        .and_then(|a| a.scopes.iter().find(|s| s.value == p.permission_name))
        .map(|s| s.description.clone())
        .unwrap_or_default();
    Ok(json!({
        "permission_name": p.permission_name,
        "description": description,
        "resource_server_name": api.map(|a| a.name).unwrap_or_default(),
        "resource_server_identifier": p.resource_server_identifier,
    }))
}

/// `GET /roles/{id}/permissions`.
pub async fn permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<PageQuery>,
) -> Result<Json<Value>, MgmtError> {
    find(&state, &id).await?;
    let page = q.page()?;
    let totals = q.include_totals()?;
    let mut items = Vec::new();
    for p in state.stores.roles.role_permissions(&id, page).await? {
        items.push(permission_json(&state, &p).await?);
    }
    let total = if totals {
        state.stores.roles.count_role_permissions(&id).await?
    } else {
        0
    };
    Ok(Json(envelope("permissions", items, page, total, totals)))
}

/// `POST /roles/{id}/permissions`: 201.
pub async fn add_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<StatusCode, MgmtError> {
    find(&state, &id).await?;
    let perms = permissions_body(&state, &body).await?;
    state.stores.roles.add_role_permissions(&id, &perms).await?;
    Ok(StatusCode::CREATED)
}

/// `DELETE /roles/{id}/permissions` (with a JSON body).
pub async fn remove_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<StatusCode, MgmtError> {
    find(&state, &id).await?;
    let perms = permissions_body(&state, &body).await?;
    state
        .stores
        .roles
        .remove_role_permissions(&id, &perms)
        .await?;
    Ok(StatusCode::OK)
}

/// Query of `GET /roles/{id}/users`: checkpoint (`take`/`from`) or offset pages.
#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    #[serde(flatten)]
    page: PageQuery,
    take: Option<String>,
    from: Option<String>,
}

/// `GET /roles/{id}/users`: `{users: [{user_id, email, name, picture}], ...}`.
pub async fn users(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<UsersQuery>,
) -> Result<Json<Value>, MgmtError> {
    find(&state, &id).await?;
    let cp = Checkpoint::parse(q.take.as_deref(), q.from.as_deref())?;
    let page = match cp {
        Some(cp) => cp.page(),
        None => q.page.page()?,
    };
    let mut items = Vec::new();
    for user_id in state.stores.roles.role_users(&id, page).await? {
        if let Some(u) = state.stores.users.user(&user_id).await? {
            items.push(json!({
                "user_id": u.user_id,
                "email": u.email,
                "name": u.profile.get("name").cloned().unwrap_or(Value::Null),
                "picture": u.profile.get("picture").cloned().unwrap_or(Value::Null),
            }));
        }
    }
    match cp {
        Some(cp) => Ok(Json(cp.body("users", items))),
        None => {
            let totals = q.page.include_totals()?;
            let total = if totals {
                let all = Page {
                    offset: 0,
                    limit: u32::MAX,
                };
                state.stores.roles.role_users(&id, all).await?.len() as i64
            } else {
                0
            };
            Ok(Json(envelope("users", items, page, total, totals)))
        }
    }
}

/// `POST /roles/{id}/users`: `{users: [ids]}`.
pub async fn add_users(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<StatusCode, MgmtError> {
    find(&state, &id).await?;
    let users = ids_body(&body, "users")?;
    for u in &users {
        user_exists(&state, u).await?;
    }
    state.stores.roles.add_role_users(&id, &users).await?;
    Ok(StatusCode::OK)
}

/// `GET /users/{id}/roles`.
pub async fn user_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<PageQuery>,
) -> Result<Json<Value>, MgmtError> {
    user_exists(&state, &id).await?;
    let page = q.page()?;
    let totals = q.include_totals()?;
    let items = state
        .stores
        .roles
        .user_roles(&id, page)
        .await?
        .iter()
        .map(role_json)
        .collect();
    let total = if totals {
        state.stores.roles.count_user_roles(&id).await?
    } else {
        0
    };
    Ok(Json(envelope("roles", items, page, total, totals)))
}

async fn checked_roles(state: &AppState, ids: &[String]) -> Result<(), MgmtError> {
    for r in ids {
        if state.stores.roles.role(r).await?.is_none() {
            return Err(bad("roles", format!("role {r} does not exist")));
        }
    }
    Ok(())
}

/// `POST /users/{id}/roles`: `{roles: [ids]}`; 204.
pub async fn add_user_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<StatusCode, MgmtError> {
    user_exists(&state, &id).await?;
    let roles = ids_body(&body, "roles")?;
    checked_roles(&state, &roles).await?;
    state.stores.roles.add_user_roles(&id, &roles).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{id}/roles` (with a JSON body); 204.
pub async fn remove_user_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<StatusCode, MgmtError> {
    user_exists(&state, &id).await?;
    let roles = ids_body(&body, "roles")?;
    state.stores.roles.remove_user_roles(&id, &roles).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/{id}/permissions`: direct and role permissions, with their `sources`.
pub async fn user_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<PageQuery>,
) -> Result<Json<Value>, MgmtError> {
    user_exists(&state, &id).await?;
    let page = q.page()?;
    let totals = q.include_totals()?;
    let all = state.stores.roles.user_permissions(&id).await?;
    let total = all.len() as i64;
    let mut items = Vec::new();
    for up in all
        .iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(page.limit as usize)
    {
        let mut p = permission_json(&state, &up.permission).await?;
        p["sources"] = up
            .sources
            .iter()
            .map(|s| match s {
                PermissionSource::Direct => {
                    json!({"source_id": "", "source_name": "", "source_type": "DIRECT"})
                }
                PermissionSource::Role { id, name } => {
                    json!({"source_id": id, "source_name": name, "source_type": "ROLE"})
                }
            })
            .collect();
        items.push(p);
    }
    Ok(Json(envelope("permissions", items, page, total, totals)))
}

/// `POST /users/{id}/permissions`: 201.
pub async fn add_user_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<StatusCode, MgmtError> {
    user_exists(&state, &id).await?;
    let perms = permissions_body(&state, &body).await?;
    state.stores.roles.add_user_permissions(&id, &perms).await?;
    Ok(StatusCode::CREATED)
}

/// `DELETE /users/{id}/permissions` (with a JSON body); 204.
pub async fn remove_user_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<StatusCode, MgmtError> {
    user_exists(&state, &id).await?;
    let perms = permissions_body(&state, &body).await?;
    state
        .stores
        .roles
        .remove_user_permissions(&id, &perms)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
