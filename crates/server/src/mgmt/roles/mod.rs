//! `/api/v2/roles` and users' roles (Auth0's RBAC); permissions given directly are in
//! [`permissions`].

pub mod permissions;

use crate::ids;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gatehouse_core::id::UserId;
use gatehouse_core::role::Role;
use gatehouse_core::store::{Page, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::body::{MgmtJson, MgmtQuery, nullable, present, typed};
use super::error::MgmtError;
use super::page::{Listing, PageQuery};
use super::validate::{self as v, bad};
use crate::AppState;

fn not_found() -> MgmtError {
    MgmtError::not_found("The role does not exist.", "inexistent_role")
}

fn user_not_found() -> MgmtError {
    MgmtError::not_found("The user does not exist.", "inexistent_user")
}

/// A role in Auth0's representation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// Its id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: String,
}

impl RoleView {
    /// The view of `r`.
    pub fn new(r: &Role) -> Self {
        RoleView {
            id: r.id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
        }
    }

    fn json(r: &Role) -> Value {
        serde_json::to_value(Self::new(r)).unwrap_or(Value::Null)
    }
}

/// The body of `POST /roles` (`name` required) and `PATCH /roles/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// Unique name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 50)]
    pub name: Option<String>,
    /// What it is for (`null` empties it).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 140)]
    pub description: Option<Option<String>>,
}

/// `{users: [ids]}`, at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsersBody {
    /// User ids.
    #[schema(min_items = 1)]
    pub users: Vec<String>,
}

/// `{roles: [ids]}`, at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    /// Role ids.
    #[schema(min_items = 1)]
    pub roles: Vec<String>,
}

/// A member of a role.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleUserView {
    /// The user.
    pub user_id: String,
    /// Email address.
    pub email: Option<String>,
    /// Name.
    #[schema(value_type = Option<String>)]
    pub name: Value,
    /// Picture URL.
    #[schema(value_type = Option<String>)]
    pub picture: Value,
}

async fn find(state: &AppState, id: &str) -> Result<Role, MgmtError> {
    state.stores.roles.role(id).await?.ok_or_else(not_found)
}

async fn user_exists(state: &AppState, id: &str) -> Result<(), MgmtError> {
    state
        .stores
        .users
        .user(&UserId::from(id))
        .await?
        .map(|_| ())
        .ok_or_else(user_not_found)
}

/// Ids of a `{users}` or `{roles}` body, at least one.
fn ids_body(key: &str, ids: Vec<String>) -> Result<Vec<String>, MgmtError> {
    for id in &ids {
        v::max_chars(key, id, 255)?;
    }
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
    let listing = Listing::offset(&q.page)?;
    let filter = q.name_filter.as_deref().filter(|f| !f.is_empty());
    let roles = &state.stores.roles;
    let rows = roles.list_roles(filter, listing.page()).await?;
    let items = rows.iter().map(RoleView::json).collect();
    listing
        .answer("roles", items, roles.count_roles(filter))
        .await
}

/// `GET /roles/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(RoleView::json(&find(&state, &id).await?)))
}

impl RoleBody {
    fn apply(self, role: &mut Role) -> Result<(), MgmtError> {
        if let Some(n) = self.name {
            v::max_chars("name", &n, 50)?;
            v::not_blank("name", &n)?;
            role.name = n;
        }
        if let Some(d) = self.description {
            let d = d.unwrap_or_default();
            v::max_chars("description", &d, 140)?;
            role.description = d;
        }
        Ok(())
    }
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
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<Value>, MgmtError> {
    let body: RoleBody = typed(body)?;
    if body.name.is_none() {
        return Err(v::missing("name"));
    }
    let mut role = Role {
        id: ids::new_role_id(),
        name: String::new(),
        description: String::new(),
        created_at: state.clock.now(),
    };
    body.apply(&mut role)?;
    state
        .stores
        .roles
        .insert_role(&role)
        .await
        .map_err(role_conflict)?;
    Ok(Json(RoleView::json(&role)))
}

/// `PATCH /roles/{id}`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<Value>, MgmtError> {
    let body: RoleBody = typed(body)?;
    let mut role = find(&state, &id).await?;
    body.apply(&mut role)?;
    state
        .stores
        .roles
        .update_role(&role)
        .await
        .map_err(role_conflict)?;
    Ok(Json(RoleView::json(&role)))
}

/// `DELETE /roles/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    MgmtError::deleted(
        state.stores.roles.delete_role(&id).await,
        not_found,
        StatusCode::OK,
    )
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
    let listing = Listing::parse(&q.page, q.take.as_deref(), q.from.as_deref())?;
    let roles = &state.stores.roles;
    let mut items = Vec::new();
    for user_id in roles.role_users(&id, listing.page()).await? {
        if let Some(u) = state.stores.users.user(&UserId::from(user_id)).await? {
            items.push(json!(RoleUserView {
                name: u.profile.get("name").cloned().unwrap_or(Value::Null),
                picture: u.profile.get("picture").cloned().unwrap_or(Value::Null),
                user_id: u.user_id.into_string(),
                email: u.email,
            }));
        }
    }
    let all = Page {
        offset: 0,
        limit: u32::MAX,
    };
    let total = async { Ok(roles.role_users(&id, all).await?.len() as i64) };
    listing.answer("users", items, total).await
}

/// `POST /roles/{id}/users`: `{users: [ids]}`.
pub async fn add_users(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<StatusCode, MgmtError> {
    find(&state, &id).await?;
    let users = ids_body("users", typed::<UsersBody>(body)?.users)?;
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
    let listing = Listing::offset(&q)?;
    let roles = &state.stores.roles;
    let rows = roles.user_roles(&UserId::from(&id), listing.page()).await?;
    let items = rows.iter().map(RoleView::json).collect();
    listing
        .answer("roles", items, roles.count_user_roles(&UserId::from(&id)))
        .await
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
    MgmtJson(body): MgmtJson<Value>,
) -> Result<StatusCode, MgmtError> {
    user_exists(&state, &id).await?;
    let roles = ids_body("roles", typed::<RolesBody>(body)?.roles)?;
    checked_roles(&state, &roles).await?;
    state
        .stores
        .roles
        .add_user_roles(&UserId::from(&id), &roles)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{id}/roles` (with a JSON body); 204.
pub async fn remove_user_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<StatusCode, MgmtError> {
    user_exists(&state, &id).await?;
    let roles = ids_body("roles", typed::<RolesBody>(body)?.roles)?;
    state
        .stores
        .roles
        .remove_user_roles(&UserId::from(&id), &roles)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
