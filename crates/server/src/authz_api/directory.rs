//! What the extension reads of the tenant to show it (its `/users`, `/applications`,
//! `/connections`), and the status of its login hook and of its API: in Auth0 these go
//! through the Management API; here they read the stores.

use axum::Json;
use axum::extract::{Path, State};
use gatehouse_core::id::{ClientId, UserId};
use gatehouse_core::store::{ConnectionFilter, Page};
use gatehouse_core::user_search::{self, UserSort};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AuthzCaller, AuthzError, Params, read};
use crate::AppState;
use crate::mgmt::users::UserView;

/// The user fields the extension asks the Management API for.
const USER_FIELDS: [&str; 9] = [
    "user_id",
    "name",
    "email",
    "identities",
    "picture",
    "last_login",
    "logins_count",
    "multifactor",
    "blocked",
];

/// Every row of a tenant's applications or connections (a few hundred at most; the
/// catalog reads clients the same way).
const EVERY: Page = Page {
    offset: 0,
    limit: u32::MAX,
};

fn user_json(u: &gatehouse_core::user::User) -> Value {
    let all = UserView::new(u).into_json();
    let kept = USER_FIELDS
        .iter()
        .filter_map(|f| all.get(*f).map(|v| ((*f).to_owned(), v.clone())))
        .collect();
    Value::Object(kept)
}

/// Query of `GET /users`, as the extension validates it.
#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    field: String,
    per_page: Option<u32>,
    page: Option<u32>,
}

/// `GET /users`: a page of users, the most recent logins first, matching `q` (in `field`
/// when given), as `{start, limit, length, users, total}`; `page` counts from 1.
pub async fn users(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Params(q): Params<UsersQuery>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:users")?;
    let per_page = q.per_page.unwrap_or(100);
    if !(1..=100).contains(&per_page) || q.q.len() > 1000 || q.field.len() > 1000 {
        return Err(AuthzError::BadRequest(
            "per_page must be 1 to 100; q and field at most 1000 characters".into(),
        ));
    }
    let page = Page::number(q.page.unwrap_or(0).saturating_sub(1), per_page);
    let text = if q.field.is_empty() {
        q.q.clone()
    } else {
        format!("{}:{}", q.field, q.q)
    };
    let query = Some(text.trim())
        .filter(|t| !t.is_empty())
        .map(user_search::parse)
        .transpose()
        .map_err(|e| AuthzError::BadRequest(e.to_string()))?;
    let sort =
        UserSort::parse("last_login:-1").map_err(|e| AuthzError::BadRequest(e.to_string()))?;
    let users = &state.stores.users;
    let rows = users.search_users(query.as_ref(), sort, page).await?;
    let total = users.count_users(query.as_ref()).await?;
    let list: Vec<Value> = rows.iter().map(user_json).collect();
    Ok(Json(json!({
        "start": page.offset, "limit": per_page, "length": list.len(),
        "users": list, "total": total,
    })))
}

/// `GET /users/{id}`: one user, as the Management API shows it.
pub async fn user(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:users")?;
    let user = state
        .stores
        .users
        .user(&UserId::new(id))
        .await?
        .ok_or_else(|| AuthzError::NotFound("The user does not exist.".into()))?;
    Ok(Json(UserView::new(&user).into_json()))
}

/// An application as the extension lists it.
fn application_json(c: &gatehouse_core::client::Client) -> Value {
    json!({"client_id": c.client_id, "name": c.name, "callbacks": c.settings.callbacks,
           "global": false})
}

/// Every application but the system ones and the admin dashboard's (not the tenant's, as in
/// the Management API's list), by name: `{client_id, name, callbacks, global}`.
async fn applications_list(state: &AppState) -> Result<Vec<Value>, AuthzError> {
    let mut all = state.stores.clients.list_clients(EVERY).await?;
    all.retain(|c| !c.is_system && c.client_id != state.dashboard_client_id);
    all.sort_by_key(|c| c.name.to_lowercase());
    Ok(all.iter().map(application_json).collect())
}

/// `GET /applications`.
pub async fn applications(
    State(state): State<AppState>,
    caller: AuthzCaller,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:applications")?;
    Ok(Json(Value::Array(applications_list(&state).await?)))
}

/// `GET /applications/{id}`.
pub async fn application(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:applications")?;
    let c = state
        .catalog
        .client(&ClientId::new(id))
        .await?
        .filter(|c| !c.is_system)
        .ok_or_else(|| AuthzError::NotFound("The application does not exist.".into()))?;
    Ok(Json(application_json(&c)))
}

/// `GET /connections`: `{id, name, strategy}` of each but the administrators', by name.
pub async fn connections(
    State(state): State<AppState>,
    caller: AuthzCaller,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:connections")?;
    let mut all = state
        .stores
        .connections
        .list_connections(&ConnectionFilter::default(), EVERY)
        .await?;
    all.retain(|c| c.name.as_str() != gatehouse_core::admin::ADMIN_CONNECTION);
    all.sort_by_key(|c| c.name.as_str().to_lowercase());
    Ok(Json(Value::Array(
        all.iter()
            .map(|c| json!({"id": c.id, "name": c.name, "strategy": c.strategy.as_str()}))
            .collect(),
    )))
}

/// `GET /configuration/status`: the extension's login rule. gatehouse has no rules: the
/// policy is applied at login by the server itself, so the "rule" exists, and is enabled
/// when a switch asks for the policy at login.
pub async fn status(
    State(state): State<AppState>,
    caller: AuthzCaller,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:configuration")?;
    let data = read(&state).await?;
    Ok(Json(
        json!({"rule": {"exists": true, "enabled": data.applies_to_logins()}}),
    ))
}

/// `GET /configuration/resource-server`: API access is always on (the resource server is
/// seeded at start-up); its token lifetime.
pub async fn resource_server(
    State(state): State<AppState>,
    caller: AuthzCaller,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:configuration")?;
    let api = state
        .stores
        .resource_servers
        .resource_server(gatehouse_core::authz::AUDIENCE)
        .await?
        .ok_or_else(|| AuthzError::NotFound("The extension's API is not set up.".into()))?;
    Ok(Json(
        json!({"apiAccess": true, "token_lifetime": api.token_lifetime}),
    ))
}
