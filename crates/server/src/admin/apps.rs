//! Applications: the list, creation by type, and one application's page (basic settings,
//! URLs, grant types, the secret and its rotation, the connections enabled for it, and
//! every other Application Setting as JSON).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::api::Api;
use super::page::{Flash, Posted, Shell, back, back_api, reauthenticate, render};
use super::session::Admin;
use crate::AppState;

/// The application types Auth0 offers: (value, label).
pub const APP_TYPES: &[(&str, &str)] = &[
    ("spa", "Single-page application"),
    ("regular_web", "Regular web application"),
    ("native", "Native application"),
    ("non_interactive", "Machine to machine"),
];

/// The grant types an application may be given: (value, label).
pub const GRANT_TYPES: &[(&str, &str)] = &[
    ("authorization_code", "Authorization code"),
    ("implicit", "Implicit"),
    ("refresh_token", "Refresh token"),
    ("client_credentials", "Client credentials"),
    ("password", "Password"),
    (
        "http://auth0.com/oauth/grant-type/password-realm",
        "Password (realm)",
    ),
    (
        "http://auth0.com/oauth/grant-type/passwordless/otp",
        "Passwordless one-time code",
    ),
    (
        "urn:ietf:params:oauth:grant-type:device_code",
        "Device code",
    ),
];

/// Properties the JSON editor leaves out: read-only, or edited by their own controls.
const NOT_IN_EDITOR: &[&str] = &[
    "client_id",
    "client_secret",
    "tenant",
    "global",
    "signing_keys",
];

#[derive(Deserialize)]
struct AppRow {
    client_id: String,
    name: String,
    #[serde(default)]
    app_type: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/apps.html")]
struct Apps {
    shell: Shell,
    apps: Vec<AppRow>,
    types: &'static [(&'static str, &'static str)],
}

/// `GET /admin/apps`.
pub async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    match api
        .get::<Vec<AppRow>>("/clients?fields=client_id,name,app_type,description&per_page=100")
        .await
    {
        Ok(apps) => render(&Apps {
            shell: Shell::new(&admin, "apps", Flash::from_query(&q)),
            apps,
            types: APP_TYPES,
        }),
        Err(e) => back("/admin/", Err(e.message)),
    }
}

/// `POST /admin/apps`: a new application of a type.
pub async fn create(State(state): State<AppState>, Posted { admin, form }: Posted) -> Response {
    let api = Api::new(&state, &admin);
    let body = json!({
        "name": form.get("name").unwrap_or_default(),
        "app_type": form.get("app_type").unwrap_or("spa"),
    });
    match api.post("/clients", &body).await {
        Ok(c) => {
            let id = c["client_id"].as_str().unwrap_or_default();
            back(
                &format!("/admin/apps/{id}"),
                Ok("Application created.".into()),
            )
        }
        Err(e) => back("/admin/apps", Err(e.message)),
    }
}

/// A connection and whether the application may use it.
struct Enabled {
    id: String,
    name: String,
    strategy: String,
    on: bool,
}

#[derive(Deserialize)]
struct ConnectionRow {
    id: String,
    name: String,
    strategy: String,
    #[serde(default)]
    enabled_clients: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/app.html")]
struct AppPage {
    shell: Shell,
    id: String,
    name: String,
    description: String,
    app_type: String,
    logo_uri: String,
    callbacks: String,
    logout_urls: String,
    web_origins: String,
    allowed_origins: String,
    grants: Vec<(&'static str, &'static str, bool)>,
    auth_method: String,
    secret: Option<String>,
    connections: Vec<Enabled>,
    advanced: String,
    types: &'static [(&'static str, &'static str)],
}

fn lines(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn path_of(id: &str) -> String {
    format!("/clients/{}", urlencoding(id))
}

/// What a path segment keeps as it is: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path segment, percent-encoded (`auth0|1` -> `auth0%7C1`; `rol_x` stays as it is).
pub fn urlencoding(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// `GET /admin/apps/{id}`.
pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    let client: Value = match api.get(&path_of(&id)).await {
        Ok(c) => c,
        Err(e) => return back("/admin/apps", Err(e.message)),
    };
    let connections: Vec<ConnectionRow> = api
        .get("/connections?fields=id,name,strategy,enabled_clients&per_page=100")
        .await
        .unwrap_or_default();
    let granted: Vec<&str> = client["grant_types"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut advanced = client.as_object().cloned().unwrap_or_default();
    for k in NOT_IN_EDITOR {
        advanced.remove(*k);
    }
    render(&AppPage {
        shell: Shell::new(&admin, "apps", Flash::from_query(&q)),
        name: text(&client["name"]),
        description: text(&client["description"]),
        app_type: text(&client["app_type"]),
        logo_uri: text(&client["logo_uri"]),
        callbacks: lines(&client["callbacks"]),
        logout_urls: lines(&client["allowed_logout_urls"]),
        web_origins: lines(&client["web_origins"]),
        allowed_origins: lines(&client["allowed_origins"]),
        grants: GRANT_TYPES
            .iter()
            .map(|(v, l)| (*v, *l, granted.contains(v)))
            .collect(),
        auth_method: text(&client["token_endpoint_auth_method"]),
        secret: client["client_secret"].as_str().map(str::to_owned),
        connections: connections
            .into_iter()
            .filter(|c| c.name != gatehouse_core::admin::ADMIN_CONNECTION)
            .map(|c| Enabled {
                on: c.enabled_clients.contains(&id),
                id: c.id,
                name: c.name,
                strategy: c.strategy,
            })
            .collect(),
        advanced: serde_json::to_string_pretty(&Value::Object(advanced)).unwrap_or_default(),
        id,
        types: APP_TYPES,
    })
}

/// `POST /admin/apps/{id}`: the settings form.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let here = format!("/admin/apps/{}", urlencoding(&id));
    let mut body = Map::new();
    body.insert("name".into(), json!(form.get("name").unwrap_or_default()));
    // An emptied field unsets the property (an empty string is not a valid URL).
    for key in ["description", "logo_uri"] {
        body.insert(key.into(), form.get(key).map_or(Value::Null, |v| json!(v)));
    }
    if let Some(t) = form.get("app_type") {
        body.insert("app_type".into(), json!(t));
    }
    for (field, key) in [
        ("callbacks", "callbacks"),
        ("logout_urls", "allowed_logout_urls"),
        ("web_origins", "web_origins"),
        ("allowed_origins", "allowed_origins"),
    ] {
        body.insert(key.into(), json!(form.list(field)));
    }
    body.insert("grant_types".into(), json!(form.all("grant_types")));
    if let Some(m) = form.get("token_endpoint_auth_method") {
        body.insert("token_endpoint_auth_method".into(), json!(m));
    }
    let api = Api::new(&state, &admin);
    back_api(
        &here,
        "Saved.",
        api.patch(&path_of(&id), &Value::Object(body)).await,
    )
}

/// `POST /admin/apps/{id}/advanced`: the JSON editor; only properties that changed are sent.
pub async fn advanced(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let here = format!("/admin/apps/{}", urlencoding(&id));
    let api = Api::new(&state, &admin);
    let edited: Map<String, Value> = match serde_json::from_str(form.get("json").unwrap_or("{}")) {
        Ok(m) => m,
        Err(e) => return back(&here, Err(format!("Not valid JSON: {e}"))),
    };
    let current: Value = match api.get(&path_of(&id)).await {
        Ok(c) => c,
        Err(e) => return back(&here, Err(e.message)),
    };
    let changes = changed(&current, edited);
    if changes.is_empty() {
        return back(&here, Ok("Nothing changed.".into()));
    }
    back_api(
        &here,
        "Saved.",
        api.patch(&path_of(&id), &Value::Object(changes)).await,
    )
}

/// The top-level properties of `edited` that differ from `current` (read-only ones never).
pub fn changed(current: &Value, edited: Map<String, Value>) -> Map<String, Value> {
    edited
        .into_iter()
        .filter(|(k, v)| !NOT_IN_EDITOR.contains(&k.as_str()) && current.get(k) != Some(v))
        .collect()
}

/// `POST /admin/apps/{id}/connections`: enables exactly the ticked connections.
pub async fn connections(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let here = format!("/admin/apps/{}", urlencoding(&id));
    let api = Api::new(&state, &admin);
    let all: Vec<ConnectionRow> = match api
        .get("/connections?fields=id,name,strategy,enabled_clients&per_page=100")
        .await
    {
        Ok(c) => c,
        Err(e) => return back(&here, Err(e.message)),
    };
    let wanted = form.all("connection");
    for c in all {
        if c.name == gatehouse_core::admin::ADMIN_CONNECTION {
            continue;
        }
        let on = c.enabled_clients.contains(&id);
        let want = wanted.contains(&c.id);
        if on == want {
            continue;
        }
        let mut enabled: Vec<String> = c.enabled_clients.into_iter().filter(|e| e != &id).collect();
        if want {
            enabled.push(id.clone());
        }
        let path = format!("/connections/{}", urlencoding(&c.id));
        if let Err(e) = api
            .patch(&path, &json!({ "enabled_clients": enabled }))
            .await
        {
            return back(&here, Err(format!("{}: {}", c.name, e.message)));
        }
    }
    back(&here, Ok("Connections saved.".into()))
}

/// `POST /admin/apps/{id}/rotate-secret`.
pub async fn rotate_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, .. }: Posted,
) -> Response {
    let here = format!("/admin/apps/{}", urlencoding(&id));
    let api = Api::new(&state, &admin);
    let path = format!("{}/rotate-secret", path_of(&id));
    back_api(
        &here,
        "A new secret is in place; the old one no longer works.",
        api.post(&path, &json!({})).await,
    )
}

/// `POST /admin/apps/{id}/delete` (asks for the password).
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let here = format!("/admin/apps/{}", urlencoding(&id));
    if let Err(e) = reauthenticate(&state, &admin, &form).await {
        return back(&here, Err(e));
    }
    let api = Api::new(&state, &admin);
    match api.delete(&path_of(&id), None).await {
        Ok(_) => back("/admin/apps", Ok("Application deleted.".into())),
        Err(e) => back(&here, Err(e.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_keep_unreserved_characters() {
        assert_eq!(urlencoding("rol_a-b.c~d"), "rol_a-b.c~d");
        assert_eq!(urlencoding("auth0|1/2 x"), "auth0%7C1%2F2%20x");
    }

    #[test]
    fn the_editor_sends_only_what_changed_and_never_read_only_properties() {
        let current = json!({"name": "a", "callbacks": ["x"], "client_id": "c"});
        let edited = json!({"name": "a", "callbacks": ["y"], "client_id": "other", "new": 1});
        let Value::Object(edited) = edited else {
            unreachable!()
        };
        let out = changed(&current, edited);
        assert_eq!(Value::Object(out), json!({"callbacks": ["y"], "new": 1}));
    }
}
