//! Users: search with Auth0's query syntax, creation, and one user's page (profile,
//! identities and unlinking, metadata editors, roles, sessions, block and unblock, reset and
//! verification mail, deletion after the password, and the user's logs).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::Api;
use super::apps::urlencoding;
use super::page::{Flash, Posted, Shell, back, back_api, reauthenticate, render};
use super::session::Admin;
use crate::AppState;

const PER_PAGE: u32 = 50;

#[derive(Deserialize)]
struct UserRow {
    user_id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    blocked: Option<bool>,
    #[serde(default)]
    last_login: Option<String>,
    #[serde(default)]
    logins_count: Option<i64>,
}

#[derive(Deserialize)]
struct UserPage {
    users: Vec<UserRow>,
    #[serde(default)]
    total: i64,
}

#[derive(Deserialize)]
struct ConnectionName {
    name: String,
    strategy: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct Users {
    shell: Shell,
    q: String,
    users: Vec<UserRow>,
    total: i64,
    page: u32,
    next: Option<u32>,
    connections: Vec<ConnectionName>,
}

/// `GET /admin/users?q=&page=`.
pub async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    let search = q.get("q").map(|s| s.trim().to_owned()).unwrap_or_default();
    let page: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let query = {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("per_page", &PER_PAGE.to_string())
            .append_pair("page", &page.to_string())
            .append_pair("include_totals", "true")
            .append_pair("search_engine", "v3");
        if !search.is_empty() {
            query.append_pair("q", &search);
        }
        query.finish()
    };
    let mut flash = Flash::from_query(&q);
    let found = match api.get::<UserPage>(&format!("/users?{query}")).await {
        Ok(p) => p,
        Err(e) => {
            flash = Flash::error(e.message);
            UserPage {
                users: Vec::new(),
                total: 0,
            }
        }
    };
    let connections: Vec<ConnectionName> = api
        .get("/connections?fields=name,strategy&per_page=100")
        .await
        .unwrap_or_default();
    let next = (i64::from(page + 1) * i64::from(PER_PAGE) < found.total).then_some(page + 1);
    render(&Users {
        shell: Shell::new(&admin, "users", flash),
        q: search,
        users: found.users,
        total: found.total,
        page,
        next,
        connections: connections
            .into_iter()
            .filter(|c| {
                let s = gatehouse_core::strategy::Strategy::parse(&c.strategy);
                s.is_database() || s.is_passwordless()
            })
            .collect(),
    })
}

/// `POST /admin/users`: a new user of a database or passwordless connection.
pub async fn create(State(state): State<AppState>, Posted { admin, form }: Posted) -> Response {
    let mut body = json!({
        "connection": form.get("connection").unwrap_or_default(),
        "email": form.get("email").unwrap_or_default(),
        "email_verified": form.checked("email_verified"),
    });
    if let Some(p) = form.get("password") {
        body["password"] = json!(p);
    }
    let api = Api::new(&state, &admin);
    match api.post("/users", &body).await {
        Ok(u) => {
            let id = u["user_id"].as_str().unwrap_or_default();
            back(
                &format!("/admin/users/{}", urlencoding(id)),
                Ok("User created.".into()),
            )
        }
        Err(e) => back("/admin/users", Err(e.message)),
    }
}

struct IdentityRow {
    provider: String,
    user_id: String,
    connection: String,
    primary: bool,
}

#[derive(Deserialize)]
struct RoleRow {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct SessionRow {
    id: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    last_interacted_at: Option<String>,
}

/// A log line as the pages show it.
#[derive(Deserialize)]
pub struct LogRow {
    /// Its id.
    #[serde(default)]
    pub log_id: String,
    /// When.
    #[serde(default)]
    pub date: String,
    /// Auth0's type code.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// What happened.
    #[serde(default)]
    pub description: Option<String>,
    /// Who.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Which application.
    #[serde(default)]
    pub client_name: Option<String>,
    /// From where.
    #[serde(default)]
    pub ip: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPageView {
    shell: Shell,
    id: String,
    email: String,
    name: String,
    blocked: bool,
    email_verified: bool,
    database: Option<String>,
    profile: String,
    identities: Vec<IdentityRow>,
    user_metadata: String,
    app_metadata: String,
    roles: Vec<RoleRow>,
    all_roles: Vec<RoleRow>,
    sessions: Vec<SessionRow>,
    logs: Vec<LogRow>,
}

fn path_of(id: &str) -> String {
    format!("/users/{}", urlencoding(id))
}

fn here(id: &str) -> String {
    format!("/admin/users/{}", urlencoding(id))
}

fn pretty(v: &Value) -> String {
    if v.is_null() {
        "{}".to_owned()
    } else {
        serde_json::to_string_pretty(v).unwrap_or_default()
    }
}

/// `GET /admin/users/{id}`.
pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    let user: Value = match api.get(&path_of(&id)).await {
        Ok(u) => u,
        Err(e) => return back("/admin/users", Err(e.message)),
    };
    let roles: Vec<RoleRow> = api
        .get(&format!("{}/roles?per_page=100", path_of(&id)))
        .await
        .unwrap_or_default();
    let all_roles: Vec<RoleRow> = api.get("/roles?per_page=100").await.unwrap_or_default();
    let sessions = api
        .get::<Value>(&format!("{}/sessions", path_of(&id)))
        .await
        .ok()
        .and_then(|v| serde_json::from_value::<Vec<SessionRow>>(v["sessions"].clone()).ok())
        .unwrap_or_default();
    let logs: Vec<LogRow> = api
        .get(&format!("{}/logs?per_page=20&sort=date:-1", path_of(&id)))
        .await
        .unwrap_or_default();
    let identities: Vec<IdentityRow> = user["identities"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, ident)| IdentityRow {
            provider: ident["provider"].as_str().unwrap_or_default().to_owned(),
            user_id: match &ident["user_id"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            connection: ident["connection"].as_str().unwrap_or_default().to_owned(),
            primary: i == 0,
        })
        .collect();
    let database = user["identities"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| {
            gatehouse_core::strategy::Strategy::parse(i["provider"].as_str().unwrap_or_default())
                .is_database()
        })
        .and_then(|i| i["connection"].as_str())
        .map(str::to_owned);
    let mut profile = user.as_object().cloned().unwrap_or_default();
    for k in ["identities", "user_metadata", "app_metadata"] {
        profile.remove(k);
    }
    let assigned: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
    render(&UserPageView {
        shell: Shell::new(&admin, "users", Flash::from_query(&q)),
        email: user["email"].as_str().unwrap_or_default().to_owned(),
        name: user["name"].as_str().unwrap_or_default().to_owned(),
        blocked: user["blocked"].as_bool().unwrap_or(false),
        email_verified: user["email_verified"].as_bool().unwrap_or(false),
        database,
        profile: pretty(&Value::Object(profile)),
        identities,
        user_metadata: pretty(&user["user_metadata"]),
        app_metadata: pretty(&user["app_metadata"]),
        roles,
        all_roles: all_roles
            .into_iter()
            .filter(|r| !assigned.contains(&r.id))
            .collect(),
        sessions,
        logs,
        id,
    })
}

/// `POST /admin/users/{id}/block` and `/unblock`: `blocked` through PATCH.
async fn set_blocked(state: &AppState, admin: &Admin, id: &str, blocked: bool) -> Response {
    let api = Api::new(state, admin);
    let done = if blocked {
        "User blocked."
    } else {
        "User unblocked."
    };
    back_api(
        &here(id),
        done,
        api.patch(&path_of(id), &json!({ "blocked": blocked }))
            .await,
    )
}

/// `POST /admin/users/{id}/block`.
pub async fn block(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, .. }: Posted,
) -> Response {
    set_blocked(&state, &admin, &id, true).await
}

/// `POST /admin/users/{id}/unblock`.
pub async fn unblock(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, .. }: Posted,
) -> Response {
    set_blocked(&state, &admin, &id, false).await
}

/// `POST /admin/users/{id}/metadata`: either editor, merged as PATCH merges it.
pub async fn metadata(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let which = match form.get("which") {
        Some("app_metadata") => "app_metadata",
        _ => "user_metadata",
    };
    let value: Value = match serde_json::from_str(form.get("json").unwrap_or("{}")) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return back(&here(&id), Err("Metadata must be a JSON object.".into())),
        Err(e) => return back(&here(&id), Err(format!("Not valid JSON: {e}"))),
    };
    let api = Api::new(&state, &admin);
    back_api(
        &here(&id),
        "Metadata saved.",
        api.patch(&path_of(&id), &json!({ which: value })).await,
    )
}

/// `POST /admin/users/{id}/roles`: assign (`add`) or remove (`remove`) one role.
pub async fn roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let api = Api::new(&state, &admin);
    let path = format!("{}/roles", path_of(&id));
    let outcome = match (form.get("add"), form.get("remove")) {
        (Some(role), _) => api
            .post(&path, &json!({ "roles": [role] }))
            .await
            .map(|_| "Role assigned."),
        (None, Some(role)) => api
            .delete(&path, Some(&json!({ "roles": [role] })))
            .await
            .map(|_| "Role removed."),
        (None, None) => return back(&here(&id), Err("Choose a role.".into())),
    };
    back(
        &here(&id),
        outcome.map(str::to_owned).map_err(|e| e.message),
    )
}

/// `POST /admin/users/{id}/sessions/{sid}/revoke`.
pub async fn revoke_session(
    State(state): State<AppState>,
    Path((id, sid)): Path<(String, String)>,
    Posted { admin, .. }: Posted,
) -> Response {
    let api = Api::new(&state, &admin);
    let path = format!("/sessions/{}/revoke", urlencoding(&sid));
    back_api(
        &here(&id),
        "Session ended.",
        api.post(&path, &json!({})).await,
    )
}

/// `POST /admin/users/{id}/unlink`: a secondary identity becomes its own user again.
pub async fn unlink(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let (Some(provider), Some(user_id)) = (form.get("provider"), form.get("user_id")) else {
        return back(&here(&id), Err("Choose an identity.".into()));
    };
    let api = Api::new(&state, &admin);
    let path = format!(
        "{}/identities/{}/{}",
        path_of(&id),
        urlencoding(provider),
        urlencoding(user_id)
    );
    back_api(
        &here(&id),
        "Identity unlinked.",
        api.delete(&path, None).await,
    )
}

/// `POST /admin/users/{id}/link`: links another user (by id) into this one.
pub async fn link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let Some(other) = form.get("other") else {
        return back(&here(&id), Err("Give the user id to link.".into()));
    };
    let Some((provider, user_id)) = other.split_once('|') else {
        return back(&here(&id), Err("A user id looks like provider|id.".into()));
    };
    let api = Api::new(&state, &admin);
    let path = format!("{}/identities", path_of(&id));
    back_api(
        &here(&id),
        "Accounts linked.",
        api.post(&path, &json!({ "provider": provider, "user_id": user_id }))
            .await,
    )
}

/// `POST /admin/users/{id}/verification-email`: Auth0's verification-email job.
pub async fn verification_email(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, .. }: Posted,
) -> Response {
    let api = Api::new(&state, &admin);
    back_api(
        &here(&id),
        "Verification email queued.",
        api.post("/jobs/verification-email", &json!({ "user_id": id }))
            .await,
    )
}

/// `POST /admin/users/{id}/reset-email`: the reset mail a user asks for at the login page.
pub async fn reset_email(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { form, .. }: Posted,
) -> Response {
    let (Some(email), Some(connection)) = (form.get("email"), form.get("connection")) else {
        return back(
            &here(&id),
            Err("The user has no email and database connection.".into()),
        );
    };
    match crate::account_mail::reset::request(&state, email, connection, None).await {
        Ok(_) => back(&here(&id), Ok("Reset email queued.".into())),
        Err(e) => super::page::internal(e.into()),
    }
}

/// `POST /admin/users/{id}/delete` (asks for the password).
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    if let Err(e) = reauthenticate(&state, &admin, &form).await {
        return back(&here(&id), Err(e));
    }
    let api = Api::new(&state, &admin);
    match api.delete(&path_of(&id), None).await {
        Ok(_) => back("/admin/users", Ok("User deleted.".into())),
        Err(e) => back(&here(&id), Err(e.message)),
    }
}
