//! Permissions given directly to a role or a user (`/roles/{id}/permissions`,
//! `/users/{id}/permissions`): one pair of add and remove handlers, generic over the
//! [`Holder`], and the two listings, which differ (a user's shows where each comes from).

use gatehouse_core::id::{Audience, UserId};
use std::future::Future;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gatehouse_core::role::{Permission, PermissionSource};
use gatehouse_core::store::StoreResult;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{find, user_exists};
use crate::AppState;
use crate::mgmt::body::{MgmtJson, MgmtQuery, typed};
use crate::mgmt::error::MgmtError;
use crate::mgmt::page::{Listing, PageQuery};
use crate::mgmt::validate::{self as v, bad};

/// What permissions are given to directly, by id.
pub trait Holder {
    /// Status of a successful add (Auth0's differ: 201 for both).
    const ADDED: StatusCode;
    /// Status of a successful removal (Auth0's differ: 200 for a role, 204 for a user).
    const REMOVED: StatusCode;
    /// `Err` (Auth0's 404) when there is no holder `id`.
    fn exists(state: &AppState, id: &str) -> impl Future<Output = Result<(), MgmtError>> + Send;
    /// Gives `id` the permissions.
    fn add(
        state: &AppState,
        id: &str,
        perms: &[Permission],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Takes the permissions from `id`.
    fn remove(
        state: &AppState,
        id: &str,
        perms: &[Permission],
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A role's permissions.
pub struct OfRole;

impl Holder for OfRole {
    const ADDED: StatusCode = StatusCode::CREATED;
    const REMOVED: StatusCode = StatusCode::OK;
    async fn exists(state: &AppState, id: &str) -> Result<(), MgmtError> {
        find(state, id).await.map(|_| ())
    }
    async fn add(state: &AppState, id: &str, perms: &[Permission]) -> StoreResult<()> {
        state.stores.roles.add_role_permissions(id, perms).await
    }
    async fn remove(state: &AppState, id: &str, perms: &[Permission]) -> StoreResult<()> {
        state.stores.roles.remove_role_permissions(id, perms).await
    }
}

/// A user's direct permissions.
pub struct OfUser;

impl Holder for OfUser {
    const ADDED: StatusCode = StatusCode::CREATED;
    const REMOVED: StatusCode = StatusCode::NO_CONTENT;
    async fn exists(state: &AppState, id: &str) -> Result<(), MgmtError> {
        user_exists(state, id).await
    }
    async fn add(state: &AppState, id: &str, perms: &[Permission]) -> StoreResult<()> {
        state
            .stores
            .roles
            .add_user_permissions(&UserId::from(id), perms)
            .await
    }
    async fn remove(state: &AppState, id: &str, perms: &[Permission]) -> StoreResult<()> {
        state
            .stores
            .roles
            .remove_user_permissions(&UserId::from(id), perms)
            .await
    }
}

/// `POST /roles/{id}/permissions` and `POST /users/{id}/permissions`: `{permissions}`.
pub async fn add<H: Holder>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<StatusCode, MgmtError> {
    H::exists(&state, &id).await?;
    let perms = permissions_body(&state, body).await?;
    H::add(&state, &id, &perms).await?;
    Ok(H::ADDED)
}

/// `DELETE /roles/{id}/permissions` and `DELETE /users/{id}/permissions` (a JSON body).
pub async fn remove<H: Holder>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<StatusCode, MgmtError> {
    H::exists(&state, &id).await?;
    let perms = permissions_body(&state, body).await?;
    H::remove(&state, &id, &perms).await?;
    Ok(H::REMOVED)
}

/// One permission: a scope of an API.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionRef {
    /// The API's identifier.
    #[schema(min_length = 1, max_length = 600)]
    pub resource_server_identifier: String,
    /// A scope it defines.
    #[schema(min_length = 1, max_length = 280)]
    pub permission_name: String,
}

/// `{permissions: [...]}`, at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionsBody {
    /// The permissions.
    #[schema(min_items = 1)]
    pub permissions: Vec<PermissionRef>,
}

/// A permission as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionView {
    /// The scope.
    pub permission_name: String,
    /// The scope's description.
    pub description: String,
    /// The API's name.
    pub resource_server_name: String,
    /// The API's identifier.
    pub resource_server_identifier: String,
    /// Where a user's permission comes from (`GET /users/{id}/permissions` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<PermissionSourceView>>,
}

/// Where a user's permission comes from.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionSourceView {
    /// The role's id (empty for a direct grant).
    pub source_id: String,
    /// The role's name (empty for a direct grant).
    pub source_name: String,
    /// `DIRECT` or `ROLE`.
    pub source_type: String,
}

/// The permissions of a body; each must be a scope its API defines.
async fn permissions_body(state: &AppState, body: Value) -> Result<Vec<Permission>, MgmtError> {
    let items = typed::<PermissionsBody>(body)?.permissions;
    if items.is_empty() {
        return Err(bad("permissions", "Array is too short (0), minimum 1"));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let rs_id = item.resource_server_identifier;
        v::max_chars("resource_server_identifier", &rs_id, 600)?;
        v::not_blank("resource_server_identifier", &rs_id)?;
        let name = item.permission_name;
        v::max_chars("permission_name", &name, 280)?;
        v::not_blank("permission_name", &name)?;
        let api = state
            .stores
            .resource_servers
            .resource_server_by_identifier(&Audience::from(&rs_id))
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

async fn permission_view(state: &AppState, p: &Permission) -> Result<PermissionView, MgmtError> {
    let api = state
        .stores
        .resource_servers
        .resource_server_by_identifier(&Audience::from(&p.resource_server_identifier))
        .await?;
    let description = api
        .as_ref()
        .and_then(|a| a.scopes.iter().find(|s| s.value == p.permission_name))
        .map(|s| s.description.clone())
        .unwrap_or_default();
    Ok(PermissionView {
        permission_name: p.permission_name.clone(),
        description,
        resource_server_name: api.map(|a| a.name).unwrap_or_default(),
        resource_server_identifier: p.resource_server_identifier.clone(),
        sources: None,
    })
}

/// `GET /roles/{id}/permissions`.
pub async fn permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<PageQuery>,
) -> Result<Json<Value>, MgmtError> {
    find(&state, &id).await?;
    let listing = Listing::offset(&q)?;
    let roles = &state.stores.roles;
    let mut items = Vec::new();
    for p in roles.role_permissions(&id, listing.page()).await? {
        items.push(json!(permission_view(&state, &p).await?));
    }
    listing
        .answer("permissions", items, roles.count_role_permissions(&id))
        .await
}

/// `GET /users/{id}/permissions`: direct and role permissions, with their `sources`.
pub async fn user_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<PageQuery>,
) -> Result<Json<Value>, MgmtError> {
    user_exists(&state, &id).await?;
    let listing = Listing::offset(&q)?;
    let page = listing.page();
    let all = state
        .stores
        .roles
        .user_permissions(&UserId::from(id))
        .await?;
    let total = all.len() as i64;
    let mut items = Vec::new();
    for up in all
        .iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(page.limit as usize)
    {
        let mut p = permission_view(&state, &up.permission).await?;
        p.sources = Some(
            up.sources
                .iter()
                .map(|s| match s {
                    PermissionSource::Direct => PermissionSourceView {
                        source_id: String::new(),
                        source_name: String::new(),
                        source_type: "DIRECT".into(),
                    },
                    PermissionSource::Role { id, name } => PermissionSourceView {
                        source_id: id.clone(),
                        source_name: name.clone(),
                        source_type: "ROLE".into(),
                    },
                })
                .collect(),
        );
        items.push(json!(p));
    }
    listing
        .answer("permissions", items, std::future::ready(Ok(total)))
        .await
}
