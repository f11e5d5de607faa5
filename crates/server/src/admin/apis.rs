//! APIs (resource servers): the list, creation, and one API's page (scopes, RBAC and its
//! token dialect, token settings, and which machine-to-machine applications may call it
//! with which scopes, as client grants).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::Api;
use super::apps::urlencoding;
use super::page::{Flash, Posted, Shell, back, back_api, render};
use super::session::Admin;
use crate::AppState;

#[derive(Deserialize)]
struct ApiRow {
    id: String,
    name: String,
    identifier: String,
    #[serde(default)]
    is_system: bool,
}

#[derive(Template)]
#[template(path = "admin/apis.html")]
struct Apis {
    shell: Shell,
    apis: Vec<ApiRow>,
}

/// `GET /admin/apis`.
pub async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    match api
        .get::<Vec<ApiRow>>("/resource-servers?per_page=100")
        .await
    {
        Ok(apis) => render(&Apis {
            shell: Shell::new(&admin, "apis", Flash::from_query(&q)),
            apis,
        }),
        Err(e) => back("/admin/", Err(e.message)),
    }
}

/// `POST /admin/apis`.
pub async fn create(State(state): State<AppState>, Posted { admin, form }: Posted) -> Response {
    let body = json!({
        "name": form.get("name").unwrap_or_default(),
        "identifier": form.get("identifier").unwrap_or_default(),
    });
    match Api::new(&state, &admin)
        .post("/resource-servers", &body)
        .await
    {
        Ok(a) => {
            let id = a["id"].as_str().unwrap_or_default();
            back(
                &format!("/admin/apis/{}", urlencoding(id)),
                Ok("API created.".into()),
            )
        }
        Err(e) => back("/admin/apis", Err(e.message)),
    }
}

#[derive(Deserialize)]
struct ScopeRow {
    value: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct ApiDetail {
    id: String,
    name: String,
    identifier: String,
    #[serde(default)]
    is_system: bool,
    #[serde(default)]
    scopes: Vec<ScopeRow>,
    #[serde(default)]
    enforce_policies: bool,
    #[serde(default)]
    token_dialect: Option<String>,
    #[serde(default)]
    token_lifetime: i64,
    #[serde(default)]
    allow_offline_access: bool,
}

#[derive(Deserialize)]
struct GrantRow {
    id: String,
    client_id: String,
    #[serde(default)]
    scope: Vec<String>,
}

#[derive(Deserialize)]
struct ClientRow {
    client_id: String,
    name: String,
    #[serde(default)]
    app_type: Option<String>,
}

/// A machine-to-machine application and its access to this API.
struct Access {
    client_id: String,
    name: String,
    grant: Option<String>,
    scopes: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "admin/api.html")]
struct ApiPage {
    shell: Shell,
    api: ApiDetail,
    access: Vec<Access>,
    dialects: &'static [&'static str],
}

fn path_of(id: &str) -> String {
    format!("/resource-servers/{}", urlencoding(id))
}

fn here(id: &str) -> String {
    format!("/admin/apis/{}", urlencoding(id))
}

/// `GET /admin/apis/{id}`.
pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    let detail: ApiDetail = match api.get(&path_of(&id)).await {
        Ok(a) => a,
        Err(e) => return back("/admin/apis", Err(e.message)),
    };
    let audience = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("audience", &detail.identifier)
        .append_pair("per_page", "100")
        .finish();
    let grants: Vec<GrantRow> = api
        .get(&format!("/client-grants?{audience}"))
        .await
        .unwrap_or_default();
    let clients: Vec<ClientRow> = api
        .get("/clients?fields=client_id,name,app_type&per_page=100")
        .await
        .unwrap_or_default();
    let access = clients
        .into_iter()
        .filter(|c| c.app_type.as_deref() == Some("non_interactive"))
        .map(|c| {
            let grant = grants.iter().find(|g| g.client_id == c.client_id);
            Access {
                scopes: detail
                    .scopes
                    .iter()
                    .map(|s| {
                        let on = grant.is_some_and(|g| g.scope.contains(&s.value));
                        (s.value.clone(), on)
                    })
                    .collect(),
                grant: grant.map(|g| g.id.clone()),
                client_id: c.client_id,
                name: c.name,
            }
        })
        .collect();
    render(&ApiPage {
        shell: Shell::new(&admin, "apis", Flash::from_query(&q)),
        api: detail,
        access,
        dialects: &["access_token", "access_token_authz"],
    })
}

/// `POST /admin/apis/{id}`: name, RBAC, dialect and token settings.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let mut body = json!({
        "name": form.get("name").unwrap_or_default(),
        "enforce_policies": form.checked("enforce_policies"),
        "allow_offline_access": form.checked("allow_offline_access"),
    });
    if let Some(d) = form.get("token_dialect") {
        body["token_dialect"] = json!(d);
    }
    if let Some(t) = form.get("token_lifetime") {
        match t.parse::<i64>() {
            Ok(n) => body["token_lifetime"] = json!(n),
            Err(_) => {
                return back(
                    &here(&id),
                    Err("The token lifetime is a number of seconds.".into()),
                );
            }
        }
    }
    back_api(
        &here(&id),
        "Saved.",
        Api::new(&state, &admin).patch(&path_of(&id), &body).await,
    )
}

/// `POST /admin/apis/{id}/scopes`: adds one scope (`value`, `description`) or removes one
/// (`remove`); the API's whole list is written, as Auth0's PATCH takes it.
pub async fn scopes(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let api = Api::new(&state, &admin);
    let detail: ApiDetail = match api.get(&path_of(&id)).await {
        Ok(a) => a,
        Err(e) => return back(&here(&id), Err(e.message)),
    };
    let mut scopes: Vec<Value> = detail
        .scopes
        .iter()
        .filter(|s| form.get("remove") != Some(s.value.as_str()))
        .map(
            |s| json!({"value": s.value, "description": s.description.clone().unwrap_or_default()}),
        )
        .collect();
    if let Some(value) = form.get("value") {
        scopes.push(
            json!({"value": value, "description": form.get("description").unwrap_or_default()}),
        );
    }
    back_api(
        &here(&id),
        "Scopes saved.",
        api.patch(&path_of(&id), &json!({ "scopes": scopes })).await,
    )
}

/// `POST /admin/apis/{id}/access`: one application's client grant for this API (made,
/// changed, or deleted when no scope is ticked and `authorized` is off).
pub async fn access(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let api = Api::new(&state, &admin);
    let scopes = form.all("scope");
    let outcome = match (form.get("grant"), form.checked("authorized")) {
        (Some(grant), false) => {
            api.delete(&format!("/client-grants/{}", urlencoding(grant)), None)
                .await
        }
        (Some(grant), true) => {
            api.patch(
                &format!("/client-grants/{}", urlencoding(grant)),
                &json!({ "scope": scopes }),
            )
            .await
        }
        (None, true) => {
            let detail: ApiDetail = match api.get(&path_of(&id)).await {
                Ok(a) => a,
                Err(e) => return back(&here(&id), Err(e.message)),
            };
            api.post(
                "/client-grants",
                &json!({
                    "client_id": form.get("client_id").unwrap_or_default(),
                    "audience": detail.identifier,
                    "scope": scopes,
                }),
            )
            .await
        }
        (None, false) => return back(&here(&id), Ok("Nothing changed.".into())),
    };
    back_api(&here(&id), "Access saved.", outcome)
}

/// `POST /admin/apis/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, .. }: Posted,
) -> Response {
    match Api::new(&state, &admin).delete(&path_of(&id), None).await {
        Ok(_) => back("/admin/apis", Ok("API deleted.".into())),
        Err(e) => back(&here(&id), Err(e.message)),
    }
}
