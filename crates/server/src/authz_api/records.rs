//! `/roles` and `/permissions`: both belong to one application (`applicationType` `client`
//! or `resource_server`, `applicationId`), with names unique within it; a role's
//! permissions must be of its own application.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use gatehouse_core::authz::{AuthzData, Permission, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::groups::{ListQuery, filtered};
use super::{AuthzCaller, AuthzError, Body, Params, edit, no_content, read};
use crate::AppState;

/// The extension's 404 for a record `id` missing from `collection`.
pub fn not_found(id: &str, collection: &str) -> AuthzError {
    AuthzError::NotFound(format!("The record {id} in {collection} does not exist."))
}

/// `value` is 1 to `max` characters, as the extension's schemas say.
pub fn check_text(name: &str, value: &str, max: usize) -> Result<(), AuthzError> {
    let n = value.chars().count();
    if n == 0 {
        return Err(AuthzError::BadRequest(format!(
            "\"{name}\" is not allowed to be empty"
        )));
    }
    if n > max {
        return Err(AuthzError::BadRequest(format!(
            "\"{name}\" length must be less than or equal to {max} characters long"
        )));
    }
    Ok(())
}

/// The role `id`, or the extension's 404.
pub fn find_role<'a>(data: &'a mut AuthzData, id: &str) -> Result<&'a mut Role, AuthzError> {
    data.roles
        .iter_mut()
        .find(|r| r.id == id)
        .ok_or_else(|| not_found(id, "roles"))
}

fn find_permission<'a>(
    data: &'a mut AuthzData,
    id: &str,
) -> Result<&'a mut Permission, AuthzError> {
    data.permissions
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(|| not_found(id, "permissions"))
}

/// What a role and a permission have in common.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    name: String,
    description: String,
    #[serde(rename = "applicationType")]
    application_type: String,
    #[serde(rename = "applicationId")]
    application_id: String,
    /// Roles only.
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

impl RecordBody {
    fn check(&self, name_max: usize) -> Result<(), AuthzError> {
        check_text("name", &self.name, name_max)?;
        check_text("description", &self.description, 500)?;
        check_text("applicationId", &self.application_id, 500)?;
        if !matches!(self.application_type.as_str(), "client" | "resource_server") {
            return Err(AuthzError::BadRequest(
                "\"applicationType\" must be one of [client, resource_server]".into(),
            ));
        }
        Ok(())
    }
}

fn taken(name: &str, kind: &str) -> AuthzError {
    AuthzError::BadRequest(format!(
        "A {kind} with the same name already exists for this application: {name}"
    ))
}

/// The role's permissions exist and are of its application.
fn check_permissions(data: &AuthzData, app: &str, ids: &[String]) -> Result<(), AuthzError> {
    for id in ids {
        match data.permissions.iter().find(|p| &p.id == id) {
            None => return Err(not_found(id, "permissions")),
            Some(p) if p.application_id != app => {
                return Err(AuthzError::BadRequest(format!(
                    "The permission '{}' is linked to a different application.",
                    p.name
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn listed<T: serde::Serialize>(key: &str, items: &[T], q: &ListQuery) -> Json<Value> {
    let all = items
        .iter()
        .map(|i| serde_json::to_value(i).unwrap_or_default())
        .collect();
    let (q_text, field) = q.parts();
    let found = filtered(all, q_text, field);
    let mut body = json!({"total": items.len()});
    body[key] = Value::Array(found);
    Json(body)
}

/// `GET /roles`: `{roles, total}`.
pub async fn list_roles(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Params(q): Params<ListQuery>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:roles")?;
    Ok(listed("roles", &read(&state).await?.roles, &q))
}

/// `POST /roles`.
pub async fn create_role(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Body(body): Body<RecordBody>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("create:roles")?;
    body.check(50)?;
    let role = Role {
        id: uuid::Uuid::new_v4().to_string(),
        name: body.name.clone(),
        description: Some(body.description.clone()),
        application_type: body.application_type.clone(),
        application_id: body.application_id.clone(),
        permissions: body.permissions.clone().unwrap_or_default(),
        users: vec![],
    };
    edit(&state, |data| {
        if data.roles.iter().any(|r| {
            r.application_id == role.application_id && r.name.eq_ignore_ascii_case(&role.name)
        }) {
            return Err(taken(&role.name, "role"));
        }
        check_permissions(data, &role.application_id, &role.permissions)?;
        data.roles.push(role.clone());
        Ok(())
    })
    .await?;
    Ok(Json(serde_json::to_value(role).unwrap_or_default()))
}

/// `GET /roles/{id}`: `{_id, name, description}`.
pub async fn get_role(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:roles")?;
    let mut data = read(&state).await?;
    let r = find_role(&mut data, &id)?;
    Ok(Json(
        json!({"_id": r.id, "name": r.name, "description": r.description}),
    ))
}

/// `PUT /roles/{id}`: the application cannot change.
pub async fn update_role(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
    Body(body): Body<RecordBody>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("update:roles")?;
    body.check(50)?;
    let role = edit(&state, |data| {
        if data.roles.iter().any(|r| {
            r.id != id
                && r.application_id == body.application_id
                && r.name.eq_ignore_ascii_case(&body.name)
        }) {
            return Err(taken(&body.name, "role"));
        }
        let permissions = body.permissions.clone();
        if let Some(p) = &permissions {
            check_permissions(data, &body.application_id, p)?;
        }
        let r = find_role(data, &id)?;
        if r.application_id != body.application_id {
            return Err(AuthzError::BadRequest(
                "The application of a role cannot change.".into(),
            ));
        }
        r.name.clone_from(&body.name);
        r.description = Some(body.description.clone());
        r.application_type.clone_from(&body.application_type);
        if let Some(p) = permissions {
            r.permissions = p;
        }
        Ok(r.clone())
    })
    .await?;
    Ok(Json(serde_json::to_value(role).unwrap_or_default()))
}

/// `DELETE /roles/{id}`: refused while a group has it.
pub async fn delete_role(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Response, AuthzError> {
    caller.require("delete:roles")?;
    edit(&state, |data| {
        find_role(data, &id)?;
        let using: Vec<&str> = data
            .groups
            .iter()
            .filter(|g| g.roles.contains(&id))
            .map(|g| g.name.as_str())
            .collect();
        if !using.is_empty() {
            return Err(AuthzError::BadRequest(format!(
                "Unable to touch roles while used in groups: {}",
                using.join(", ")
            )));
        }
        data.roles.retain(|r| r.id != id);
        Ok(())
    })
    .await?;
    Ok(no_content())
}

/// `GET /permissions`: `{permissions, total}`.
pub async fn list_permissions(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Params(q): Params<ListQuery>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:permissions")?;
    Ok(listed("permissions", &read(&state).await?.permissions, &q))
}

fn permission_body(body: &RecordBody) -> Result<(), AuthzError> {
    body.check(100)?;
    if body.permissions.is_some() {
        return Err(AuthzError::BadRequest(
            "\"permissions\" is not allowed".into(),
        ));
    }
    Ok(())
}

fn permission_name_taken(data: &AuthzData, body: &RecordBody, except: &str) -> bool {
    data.permissions.iter().any(|p| {
        p.id != except
            && p.application_id == body.application_id
            && p.name.eq_ignore_ascii_case(&body.name)
    })
}

/// `POST /permissions`.
pub async fn create_permission(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Body(body): Body<RecordBody>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("create:permissions")?;
    permission_body(&body)?;
    let p = Permission {
        id: uuid::Uuid::new_v4().to_string(),
        name: body.name.clone(),
        description: Some(body.description.clone()),
        application_type: body.application_type.clone(),
        application_id: body.application_id.clone(),
    };
    edit(&state, |data| {
        if permission_name_taken(data, &body, "") {
            return Err(taken(&body.name, "permission"));
        }
        data.permissions.push(p.clone());
        Ok(())
    })
    .await?;
    Ok(Json(serde_json::to_value(p).unwrap_or_default()))
}

/// `GET /permissions/{id}`.
pub async fn get_permission(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:permissions")?;
    let mut data = read(&state).await?;
    let p = find_permission(&mut data, &id)?;
    Ok(Json(
        json!({"_id": p.id, "name": p.name, "description": p.description}),
    ))
}

/// The roles that hold permission `id`, by name, when any does.
fn roles_using(data: &AuthzData, id: &str) -> Option<String> {
    let using: Vec<&str> = data
        .roles
        .iter()
        .filter(|r| r.permissions.iter().any(|p| p == id))
        .map(|r| r.name.as_str())
        .collect();
    (!using.is_empty()).then(|| using.join(", "))
}

/// `PUT /permissions/{id}`: refused while a role holds it (as the extension).
pub async fn update_permission(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
    Body(body): Body<RecordBody>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("update:permissions")?;
    permission_body(&body)?;
    let p = edit(&state, |data| {
        find_permission(data, &id)?;
        if let Some(using) = roles_using(data, &id) {
            return Err(AuthzError::BadRequest(format!(
                "Unable to touch permissions while used in roles: {using}"
            )));
        }
        if permission_name_taken(data, &body, &id) {
            return Err(taken(&body.name, "permission"));
        }
        let p = find_permission(data, &id)?;
        p.name.clone_from(&body.name);
        p.description = Some(body.description.clone());
        p.application_type.clone_from(&body.application_type);
        p.application_id.clone_from(&body.application_id);
        Ok(p.clone())
    })
    .await?;
    Ok(Json(serde_json::to_value(p).unwrap_or_default()))
}

/// `DELETE /permissions/{id}`: refused while a role holds it.
pub async fn delete_permission(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Response, AuthzError> {
    caller.require("delete:permissions")?;
    edit(&state, |data| {
        find_permission(data, &id)?;
        if let Some(using) = roles_using(data, &id) {
            return Err(AuthzError::BadRequest(format!(
                "Unable to touch permissions while used in roles: {using}"
            )));
        }
        data.permissions.retain(|p| p.id != id);
        Ok(())
    })
    .await?;
    Ok(no_content())
}
