//! Roles: the list, creation, and one role's page (its permissions from the APIs' scopes,
//! its users, deletion).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::api::Api;
use super::apps::urlencoding;
use super::page::{Flash, Posted, Shell, back, back_api, render};
use super::session::Admin;
use crate::AppState;

#[derive(Deserialize)]
struct RoleRow {
    id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
struct Roles {
    shell: Shell,
    roles: Vec<RoleRow>,
}

/// `GET /admin/roles`.
pub async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match Api::new(&state, &admin)
        .get::<Vec<RoleRow>>("/roles?per_page=100")
        .await
    {
        Ok(roles) => render(&Roles {
            shell: Shell::new(&admin, "roles", Flash::from_query(&q)),
            roles,
        }),
        Err(e) => back("/admin/", Err(e.message)),
    }
}

/// `POST /admin/roles`.
pub async fn create(State(state): State<AppState>, Posted { admin, form }: Posted) -> Response {
    let mut body = json!({ "name": form.get("name").unwrap_or_default() });
    if let Some(d) = form.get("description") {
        body["description"] = json!(d);
    }
    match Api::new(&state, &admin).post("/roles", &body).await {
        Ok(r) => {
            let id = r["id"].as_str().unwrap_or_default();
            back(
                &format!("/admin/roles/{}", urlencoding(id)),
                Ok("Role created.".into()),
            )
        }
        Err(e) => back("/admin/roles", Err(e.message)),
    }
}

#[derive(Deserialize)]
struct Permission {
    permission_name: String,
    resource_server_identifier: String,
}

#[derive(Deserialize)]
struct Member {
    user_id: String,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct ApiScopes {
    identifier: String,
    name: String,
    #[serde(default)]
    is_system: bool,
    #[serde(default)]
    scopes: Vec<ScopeValue>,
}

#[derive(Deserialize)]
struct ScopeValue {
    value: String,
}

#[derive(Template)]
#[template(path = "admin/role.html")]
struct RolePage {
    shell: Shell,
    role: RoleRow,
    permissions: Vec<Permission>,
    members: Vec<Member>,
    /// (audience, api name, scope) not yet given to the role.
    available: Vec<(String, String, String)>,
}

fn path_of(id: &str) -> String {
    format!("/roles/{}", urlencoding(id))
}

fn here(id: &str) -> String {
    format!("/admin/roles/{}", urlencoding(id))
}

/// `GET /admin/roles/{id}`.
pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    let role: RoleRow = match api.get(&path_of(&id)).await {
        Ok(r) => r,
        Err(e) => return back("/admin/roles", Err(e.message)),
    };
    let permissions: Vec<Permission> = api
        .get(&format!("{}/permissions?per_page=100", path_of(&id)))
        .await
        .unwrap_or_default();
    let members: Vec<Member> = api
        .get(&format!("{}/users?per_page=100", path_of(&id)))
        .await
        .unwrap_or_default();
    let apis: Vec<ApiScopes> = api
        .get("/resource-servers?per_page=100")
        .await
        .unwrap_or_default();
    let available = apis
        .into_iter()
        .filter(|a| !a.is_system)
        .flat_map(|a| {
            a.scopes
                .into_iter()
                .map(move |s| (a.identifier.clone(), a.name.clone(), s.value))
        })
        .filter(|(aud, _, scope)| {
            !permissions
                .iter()
                .any(|p| &p.resource_server_identifier == aud && &p.permission_name == scope)
        })
        .collect();
    render(&RolePage {
        shell: Shell::new(&admin, "roles", Flash::from_query(&q)),
        role,
        permissions,
        members,
        available,
    })
}

/// `POST /admin/roles/{id}/permissions`: adds (`add` = `<audience> <scope>`) or removes
/// (`remove`, the same shape) one permission.
pub async fn permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let api = Api::new(&state, &admin);
    let path = format!("{}/permissions", path_of(&id));
    let one = |v: &str| {
        v.rsplit_once(' ').map(|(aud, scope)| {
            json!({ "permissions": [{ "resource_server_identifier": aud, "permission_name": scope }] })
        })
    };
    let outcome = match (
        form.get("add").and_then(one),
        form.get("remove").and_then(one),
    ) {
        (Some(body), _) => api.post(&path, &body).await,
        (None, Some(body)) => api.delete(&path, Some(&body)).await,
        (None, None) => return back(&here(&id), Err("Choose a permission.".into())),
    };
    back_api(&here(&id), "Permissions saved.", outcome)
}

/// `POST /admin/roles/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, .. }: Posted,
) -> Response {
    match Api::new(&state, &admin).delete(&path_of(&id), None).await {
        Ok(_) => back("/admin/roles", Ok("Role deleted.".into())),
        Err(e) => back(&here(&id), Err(e.message)),
    }
}
