//! `/users/{id}/...`: a user's groups and roles as given (member of, role listing the
//! user), as calculated (nesting followed), and the policy for one application.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use gatehouse_core::authz::{self, AuthzData};
use serde::Deserialize;
use serde_json::{Value, json};

use super::records::not_found;
use super::{AuthzCaller, AuthzError, Body, edit, no_content, read};
use crate::AppState;

fn summaries<'a>(groups: impl Iterator<Item = &'a authz::Group>) -> Json<Value> {
    let list: Vec<Value> = groups
        .map(|g| json!({"_id": g.id, "name": g.name, "description": g.description}))
        .collect();
    Json(Value::Array(list))
}

/// `GET /users/{id}/groups`: the groups listing the user.
pub async fn groups(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(user): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:groups")?;
    let data = read(&state).await?;
    Ok(summaries(
        data.groups.iter().filter(|g| g.members.contains(&user)),
    ))
}

/// `GET /users/{id}/groups/calculate`: those and every group they are nested in.
pub async fn calculated_groups(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(user): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:groups")?;
    let data = read(&state).await?;
    Ok(summaries(authz::calculate_groups(&data, &user).into_iter()))
}

/// The indexes of the records `refs` name: by id when the first is a UUID, else by name (as
/// the extension reads these lists).
fn resolve<'a>(
    names: impl Iterator<Item = (&'a str, &'a str)>,
    refs: &[String],
    collection: &str,
) -> Result<Vec<usize>, AuthzError> {
    if refs.is_empty() {
        return Err(AuthzError::BadRequest(
            "\"value\" must contain at least 1 items".into(),
        ));
    }
    let by_id = uuid::Uuid::parse_str(&refs[0]).is_ok();
    let all: Vec<(&str, &str)> = names.collect();
    refs.iter()
        .map(|r| {
            all.iter()
                .position(|(id, name)| if by_id { id == r } else { name == r })
                .ok_or_else(|| not_found(r, collection))
        })
        .collect()
}

/// `PATCH /users/{id}/groups`: makes the user a member of groups (ids or names).
pub async fn add_groups(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(user): Path<String>,
    Body(body): Body<Vec<String>>,
) -> Result<Response, AuthzError> {
    caller.require("update:groups")?;
    edit(&state, |data| {
        let found = resolve(
            data.groups.iter().map(|g| (g.id.as_str(), g.name.as_str())),
            &body,
            "groups",
        )?;
        for i in found {
            let members = &mut data.groups[i].members;
            if !members.contains(&user) {
                members.push(user.clone());
            }
        }
        Ok(())
    })
    .await?;
    Ok(no_content())
}

fn roles_json<'a>(roles: impl Iterator<Item = &'a authz::Role>) -> Json<Value> {
    let list: Vec<Value> = roles
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    Json(Value::Array(list))
}

/// `GET /users/{id}/roles`: the roles given to the user directly.
pub async fn roles(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(user): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:roles")?;
    let data = read(&state).await?;
    Ok(roles_json(
        data.roles.iter().filter(|r| r.users.contains(&user)),
    ))
}

/// `GET /users/{id}/roles/calculate`: every role the user has, in every application.
pub async fn calculated_roles(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(user): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:roles")?;
    let data = read(&state).await?;
    Ok(roles_json(authz::calculate_roles(&data, &user).into_iter()))
}

fn role_indexes(data: &AuthzData, refs: &[String]) -> Result<Vec<usize>, AuthzError> {
    resolve(
        data.roles.iter().map(|r| (r.id.as_str(), r.name.as_str())),
        refs,
        "roles",
    )
}

/// `PATCH /users/{id}/roles`: gives the user roles directly (ids or names).
pub async fn add_roles(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(user): Path<String>,
    Body(body): Body<Vec<String>>,
) -> Result<Response, AuthzError> {
    caller.require("update:roles")?;
    edit(&state, |data| {
        for i in role_indexes(data, &body)? {
            let users = &mut data.roles[i].users;
            if !users.contains(&user) {
                users.push(user.clone());
            }
        }
        Ok(())
    })
    .await?;
    Ok(no_content())
}

/// `DELETE /users/{id}/roles`: takes roles given directly away (by id).
pub async fn remove_roles(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(user): Path<String>,
    Body(body): Body<Vec<String>>,
) -> Result<Response, AuthzError> {
    caller.require("update:roles")?;
    edit(&state, |data| {
        for r in data.roles.iter_mut().filter(|r| body.contains(&r.id)) {
            r.users.retain(|u| *u != user);
        }
        Ok(())
    })
    .await?;
    Ok(no_content())
}

/// Upstream groups as a list, or as one string of names separated by commas or spaces.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Groups {
    /// A list.
    List(Vec<String>),
    /// `"a, b c"`.
    Text(String),
}

/// The body of the policy request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    #[serde(rename = "connectionName")]
    connection_name: String,
    #[serde(default)]
    groups: Option<Groups>,
}

/// `POST /users/{id}/policy/{clientId}`: `{groups, roles, permissions}` (names).
pub async fn policy(
    State(state): State<AppState>,
    _caller: AuthzCaller,
    Path((user, client_id)): Path<(String, String)>,
    Body(body): Body<PolicyBody>,
) -> Result<Json<Value>, AuthzError> {
    super::records::check_text("connectionName", &body.connection_name, 500)?;
    let upstream: Vec<String> = match body.groups {
        Some(Groups::List(l)) => l,
        Some(Groups::Text(t)) => t
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => vec![],
    };
    let data = read(&state).await?;
    let p = authz::policy(&data, &user, &body.connection_name, &upstream, &client_id);
    Ok(Json(
        json!({"groups": p.groups, "roles": p.roles, "permissions": p.permissions}),
    ))
}
