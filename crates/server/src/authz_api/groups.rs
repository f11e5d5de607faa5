//! `/groups`: groups, their members, the groups nested in them, their roles and their
//! mappings from upstream group names. Lists of a group change by PATCH (add) and DELETE
//! (remove) with a bare JSON array, answered 204, as in the extension.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use gatehouse_core::authz::{self, AuthzData, Group, Mapping};
use gatehouse_core::id::UserId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::records::{check_text, find_role, not_found};
use super::{AuthzCaller, AuthzError, Body, Params, edit, no_content, read};
use crate::AppState;

/// The body of `POST /groups` and `PUT /groups/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    name: String,
    description: String,
}

impl GroupBody {
    fn check(&self) -> Result<(), AuthzError> {
        check_text("name", &self.name, 50)?;
        check_text("description", &self.description, 500)
    }
}

/// The group `id`, or the extension's 404.
pub fn find_group<'a>(data: &'a mut AuthzData, id: &str) -> Result<&'a mut Group, AuthzError> {
    data.groups
        .iter_mut()
        .find(|g| g.id == id)
        .ok_or_else(|| not_found(id, "groups"))
}

fn unique_name(data: &AuthzData, name: &str, except: &str) -> Result<(), AuthzError> {
    if data
        .groups
        .iter()
        .any(|g| g.id != except && g.name.eq_ignore_ascii_case(name))
    {
        return Err(AuthzError::BadRequest(format!(
            "A group with the same name already exists: {name}"
        )));
    }
    Ok(())
}

fn summary(g: &Group) -> Value {
    json!({"_id": g.id, "name": g.name, "description": g.description})
}

/// Query of `GET /groups`: an optional filter on one field.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    field: Option<String>,
}

impl ListQuery {
    /// The text looked for and the field it is looked for in.
    pub fn parts(&self) -> (Option<&str>, Option<&str>) {
        (self.q.as_deref(), self.field.as_deref())
    }
}

/// The items of `items` whose `field` contains `q` (case-insensitively), as the extension
/// filters its lists.
pub fn filtered(items: Vec<Value>, q: Option<&str>, field: Option<&str>) -> Vec<Value> {
    let (Some(q), Some(field)) = (q.filter(|q| !q.is_empty()), field.filter(|f| !f.is_empty()))
    else {
        return items;
    };
    let q = q.to_lowercase();
    items
        .into_iter()
        .filter(|i| {
            i[field]
                .as_str()
                .is_some_and(|v| v.to_lowercase().contains(&q))
        })
        .collect()
}

/// `GET /groups`: `{groups, total}`.
pub async fn list(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Params(q): Params<ListQuery>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:groups")?;
    let data = read(&state).await?;
    let total = data.groups.len();
    let all = data
        .groups
        .iter()
        .map(|g| serde_json::to_value(g).unwrap_or_default())
        .collect();
    let (text, field) = q.parts();
    let groups = filtered(all, text, field);
    Ok(Json(json!({"groups": groups, "total": total})))
}

/// `POST /groups`.
pub async fn create(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Body(body): Body<GroupBody>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("create:groups")?;
    body.check()?;
    let id = uuid::Uuid::new_v4().to_string();
    edit(&state, |data| {
        unique_name(data, &body.name, "")?;
        data.groups.push(Group {
            id: id.clone(),
            name: body.name.clone(),
            description: Some(body.description.clone()),
            ..Group::default()
        });
        Ok(())
    })
    .await?;
    Ok(Json(
        json!({"_id": id, "name": body.name, "description": body.description}),
    ))
}

/// `GET /groups/{id}`: `{_id, name, description}`.
pub async fn get(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:groups")?;
    let mut data = read(&state).await?;
    Ok(Json(summary(find_group(&mut data, &id)?)))
}

/// `PUT /groups/{id}`: a new name and description; its lists are kept.
pub async fn update(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
    Body(body): Body<GroupBody>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("update:groups")?;
    body.check()?;
    let group = edit(&state, |data| {
        unique_name(data, &body.name, &id)?;
        let g = find_group(data, &id)?;
        g.name.clone_from(&body.name);
        g.description = Some(body.description.clone());
        Ok(g.clone())
    })
    .await?;
    Ok(Json(serde_json::to_value(group).unwrap_or_default()))
}

/// `DELETE /groups/{id}`: refused while another group nests it.
pub async fn delete(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Response, AuthzError> {
    caller.require("delete:groups")?;
    edit(&state, |data| {
        find_group(data, &id)?;
        let nesting: Vec<&str> = data
            .groups
            .iter()
            .filter(|g| g.nested.contains(&id))
            .map(|g| g.name.as_str())
            .collect();
        if !nesting.is_empty() {
            return Err(AuthzError::BadRequest(format!(
                "Unable to touch nested while used in groups: {}",
                nesting.join(", ")
            )));
        }
        data.groups.retain(|g| g.id != id);
        Ok(())
    })
    .await?;
    Ok(no_content())
}

/// A non-empty array of ids; `guid` ones must be UUIDs.
fn ids(body: Vec<String>, guid: bool) -> Result<Vec<String>, AuthzError> {
    if body.is_empty() {
        return Err(AuthzError::BadRequest(
            "\"value\" must contain at least 1 items".into(),
        ));
    }
    for id in &body {
        if id.is_empty() || id.len() > 500 || (guid && uuid::Uuid::parse_str(id).is_err()) {
            return Err(AuthzError::BadRequest(format!(
                "\"{id}\" must be a valid GUID"
            )));
        }
    }
    Ok(body)
}

/// Adds `more` to `list`, each once.
fn add(list: &mut Vec<String>, more: &[String]) {
    for m in more {
        if !list.contains(m) {
            list.push(m.clone());
        }
    }
}

/// Query of the members pages.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    per_page: Option<usize>,
    page: Option<usize>,
}

impl PageQuery {
    fn window(&self) -> Result<(usize, usize), AuthzError> {
        let per_page = self.per_page.unwrap_or(25);
        if !(1..=25).contains(&per_page) {
            return Err(AuthzError::BadRequest(
                "\"per_page\" must be between 1 and 25".into(),
            ));
        }
        // As the extension: pages 0 and 1 are both the first.
        Ok((
            self.page.unwrap_or(0).saturating_sub(1) * per_page,
            per_page,
        ))
    }
}

async fn users_json(state: &AppState, ids: &[String]) -> Result<Vec<Value>, AuthzError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let user = state.stores.users.user(&UserId::from(id.as_str())).await?;
        out.push(match user {
            Some(u) => serde_json::to_value(crate::mgmt::users::view::UserView::new(&u))
                .unwrap_or_default(),
            // A member the tenant no longer has is still listed, as the extension does.
            None => {
                json!({"user_id": id, "email": id, "name": format!("<Error: user {id} not found>")})
            }
        });
    }
    Ok(out)
}

/// `GET /groups/{id}/members`: `{total, users}`, sorted by user id.
pub async fn members(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:groups")?;
    let (skip, take) = q.window()?;
    let mut data = read(&state).await?;
    let mut members = find_group(&mut data, &id)?.members.clone();
    members.sort();
    let total = members.len();
    let page: Vec<String> = members.into_iter().skip(skip).take(take).collect();
    let users = users_json(&state, &page).await?;
    Ok(Json(json!({"total": total, "users": users})))
}

/// `GET /groups/{id}/members/nested`: the members of the group and of every group nested
/// in it (downward), each once, with the first group holding them.
pub async fn nested_members(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:groups")?;
    let (skip, take) = q.window()?;
    let mut data = read(&state).await?;
    find_group(&mut data, &id)?;
    let mut below: HashSet<String> = HashSet::new();
    let mut todo = vec![id];
    while let Some(g) = todo.pop() {
        if below.insert(g.clone())
            && let Some(group) = data.groups.iter().find(|x| x.id == g)
        {
            todo.extend(group.nested.iter().filter(|n| !below.contains(*n)).cloned());
        }
    }
    let mut seen = HashSet::new();
    let mut found: Vec<(String, &Group)> = Vec::new();
    for g in data.groups.iter().filter(|g| below.contains(&g.id)) {
        for m in &g.members {
            if seen.insert(m.clone()) {
                found.push((m.clone(), g));
            }
        }
    }
    let total = found.len();
    let mut nested = Vec::new();
    for (user, group) in found.into_iter().skip(skip).take(take) {
        let u = users_json(&state, std::slice::from_ref(&user))
            .await?
            .remove(0);
        nested.push(json!({
            "user": {"user_id": u["user_id"], "name": u["name"], "nickname": u["nickname"],
                     "email": u["email"]},
            "group": summary(group),
        }));
    }
    Ok(Json(json!({"total": total, "nested": nested})))
}

/// `GET /groups/{id}/nested`: the groups nested in it, by name.
pub async fn nested(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:groups")?;
    let mut data = read(&state).await?;
    let nested = find_group(&mut data, &id)?.nested.clone();
    let mut groups: Vec<&Group> = data
        .groups
        .iter()
        .filter(|g| nested.contains(&g.id))
        .collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(serde_json::to_value(groups).unwrap_or_default()))
}

/// `GET /groups/{id}/roles`: the group's roles, whole.
pub async fn roles(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:groups")?;
    let mut data = read(&state).await?;
    let ids = find_group(&mut data, &id)?.roles.clone();
    let roles: Vec<_> = data.roles.iter().filter(|r| ids.contains(&r.id)).collect();
    Ok(Json(serde_json::to_value(roles).unwrap_or_default()))
}

/// `GET /groups/{id}/roles/nested`: the roles the group's members get, from it and from
/// every group it is nested in, each as `{role, group}` (the group giving it).
pub async fn nested_roles(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:groups")?;
    let mut data = read(&state).await?;
    find_group(&mut data, &id)?;
    let list: Vec<Value> = authz::nested_roles(&data, &id)
        .into_iter()
        .map(|(role, group)| json!({"role": role, "group": group}))
        .collect();
    Ok(Json(Value::Array(list)))
}

/// `GET /groups/{id}/mappings`.
pub async fn mappings(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:groups")?;
    let mut data = read(&state).await?;
    let mappings = find_group(&mut data, &id)?.mappings.clone();
    Ok(Json(serde_json::to_value(mappings).unwrap_or_default()))
}

/// One mapping to add.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingBody {
    #[serde(rename = "groupName")]
    group_name: String,
    #[serde(rename = "connectionName")]
    connection_name: String,
}

/// `PATCH /groups/{id}/mappings`: `[{groupName, connectionName}]`, each given an id.
pub async fn add_mappings(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
    Body(body): Body<Vec<MappingBody>>,
) -> Result<Response, AuthzError> {
    caller.require("update:groups")?;
    if body.is_empty() {
        return Err(AuthzError::BadRequest(
            "\"value\" must contain at least 1 items".into(),
        ));
    }
    for m in &body {
        check_text("groupName", &m.group_name, 50)?;
        check_text("connectionName", &m.connection_name, 50)?;
    }
    let new: Vec<Mapping> = body
        .into_iter()
        .map(|m| Mapping {
            id: uuid::Uuid::new_v4().to_string(),
            group_name: m.group_name,
            connection_name: m.connection_name,
        })
        .collect();
    edit(&state, |data| {
        find_group(data, &id)?.mappings.extend(new.iter().cloned());
        Ok(())
    })
    .await?;
    Ok(no_content())
}

/// `DELETE /groups/{id}/mappings`: by mapping id.
pub async fn remove_mappings(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
    Body(body): Body<Vec<String>>,
) -> Result<Response, AuthzError> {
    caller.require("update:groups")?;
    let gone = ids(body, false)?;
    edit(&state, |data| {
        find_group(data, &id)?
            .mappings
            .retain(|m| !gone.contains(&m.id));
        Ok(())
    })
    .await?;
    Ok(no_content())
}

/// A list of a group that requests change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    /// User ids.
    Members,
    /// Ids of groups nested in it.
    Nested,
    /// Role ids.
    Roles,
}

/// Adds the ids in `body` to the group's `list` (each once), or removes them; 204.
async fn change_list(
    state: &AppState,
    caller: &AuthzCaller,
    (id, list, adding): (&str, List, bool),
    body: Vec<String>,
) -> Result<Response, AuthzError> {
    caller.require("update:groups")?;
    let given = ids(body, list != List::Members)?;
    // A group is never nested in itself.
    let given: Vec<String> = given
        .into_iter()
        .filter(|g| list != List::Nested || g != id)
        .collect();
    edit(state, |data| {
        if adding {
            for x in &given {
                match list {
                    List::Nested => drop(find_group(data, x)?),
                    List::Roles => drop(find_role(data, x)?),
                    List::Members => {}
                }
            }
        }
        let g = find_group(data, id)?;
        let target = match list {
            List::Members => &mut g.members,
            List::Nested => &mut g.nested,
            List::Roles => &mut g.roles,
        };
        if adding {
            add(target, &given);
        } else {
            target.retain(|x| !given.contains(x));
        }
        Ok(())
    })
    .await?;
    Ok(no_content())
}

macro_rules! list_changes {
    ($($handler:ident => $list:ident, $adding:literal, $what:literal;)*) => {$(
        #[doc = $what]
        pub async fn $handler(
            State(state): State<AppState>,
            caller: AuthzCaller,
            Path(id): Path<String>,
            Body(body): Body<Vec<String>>,
        ) -> Result<Response, AuthzError> {
            change_list(&state, &caller, (&id, List::$list, $adding), body).await
        }
    )*};
}

list_changes! {
    add_members => Members, true, "`PATCH /groups/{id}/members`: adds user ids.";
    remove_members => Members, false, "`DELETE /groups/{id}/members`: removes user ids.";
    add_nested => Nested, true, "`PATCH /groups/{id}/nested`: nests groups in it (a cycle is harmless to the policy, which stops where a group repeats).";
    remove_nested => Nested, false, "`DELETE /groups/{id}/nested`.";
    add_roles => Roles, true, "`PATCH /groups/{id}/roles`: gives the group roles.";
    remove_roles => Roles, false, "`DELETE /groups/{id}/roles`.";
}
