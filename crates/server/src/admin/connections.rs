//! Connections: the list, creation (database, passwordless email or SMS), and one
//! connection's page (a database's password policy and sign-up switch, the applications
//! enabled on it, every option as JSON, a test message for passwordless connections and a
//! "try" of an upstream provider).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use gatehouse_core::admin::ADMIN_CONNECTION;
use gatehouse_core::id::ConnectionName;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::api::Api;
use super::apps::urlencoding;
use super::page::{Flash, Posted, Shell, back, back_api, render};
use super::session::Admin;
use crate::AppState;
use crate::outbox::Content;
use gatehouse_core::strategy::Strategy;

/// Auth0's password policy levels.
const POLICIES: &[&str] = &["none", "low", "fair", "good", "excellent"];

#[derive(Deserialize)]
struct ConnectionRow {
    id: String,
    name: String,
    strategy: String,
    #[serde(default)]
    enabled_clients: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/connections.html")]
struct Connections {
    shell: Shell,
    connections: Vec<ConnectionRow>,
}

/// `GET /admin/connections`.
pub async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match Api::new(&state, &admin)
        .get::<Vec<ConnectionRow>>("/connections?per_page=100")
        .await
    {
        Ok(connections) => render(&Connections {
            shell: Shell::new(&admin, "connections", Flash::from_query(&q)),
            connections,
        }),
        Err(e) => back("/admin/", Err(e.message)),
    }
}

/// `POST /admin/connections`: `auth0`, `email` or `sms`.
pub async fn create(State(state): State<AppState>, Posted { admin, form }: Posted) -> Response {
    let strategy = match form.get("strategy") {
        Some(s @ ("auth0" | "email" | "sms")) => s,
        _ => {
            return back(
                "/admin/connections",
                Err("Choose a kind of connection.".into()),
            );
        }
    };
    let body = json!({ "name": form.get("name").unwrap_or_default(), "strategy": strategy });
    match Api::new(&state, &admin).post("/connections", &body).await {
        Ok(c) => {
            let id = c["id"].as_str().unwrap_or_default();
            back(
                &format!("/admin/connections/{}", urlencoding(id)),
                Ok("Connection created.".into()),
            )
        }
        Err(e) => back("/admin/connections", Err(e.message)),
    }
}

#[derive(Template)]
#[template(path = "admin/connection.html")]
struct ConnectionPage {
    shell: Shell,
    id: String,
    name: String,
    strategy: String,
    database: bool,
    passwordless: bool,
    upstream: bool,
    admins: bool,
    policy: String,
    min_length: String,
    disable_signup: bool,
    brute_force: bool,
    policies: &'static [&'static str],
    apps: Vec<(String, String, bool)>,
    options: String,
}

#[derive(Deserialize)]
struct ClientRow {
    client_id: String,
    name: String,
}

fn path_of(id: &str) -> String {
    format!("/connections/{}", urlencoding(id))
}

fn here(id: &str) -> String {
    format!("/admin/connections/{}", urlencoding(id))
}

/// `GET /admin/connections/{id}`.
pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    let c: Value = match api.get(&path_of(&id)).await {
        Ok(c) => c,
        Err(e) => return back("/admin/connections", Err(e.message)),
    };
    let clients: Vec<ClientRow> = api
        .get("/clients?fields=client_id,name&per_page=100")
        .await
        .unwrap_or_default();
    let enabled: Vec<&str> = c["enabled_clients"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let strategy = c["strategy"].as_str().unwrap_or_default().to_owned();
    let kind = Strategy::parse(&strategy);
    let name = c["name"].as_str().unwrap_or_default().to_owned();
    let o = &c["options"];
    render(&ConnectionPage {
        shell: Shell::new(&admin, "connections", Flash::from_query(&q)),
        database: kind.is_database(),
        passwordless: kind.is_passwordless(),
        // SAML has nothing to fetch before a login (`upstream::check`).
        upstream: kind.is_federated() && kind != Strategy::Samlp,
        admins: name == ADMIN_CONNECTION,
        policy: o["passwordPolicy"].as_str().unwrap_or("none").to_owned(),
        min_length: o["password_complexity_options"]["min_length"]
            .as_i64()
            .map(|n| n.to_string())
            .unwrap_or_default(),
        disable_signup: o["disable_signup"].as_bool().unwrap_or(false),
        brute_force: o["brute_force_protection"].as_bool().unwrap_or(true),
        policies: POLICIES,
        apps: clients
            .into_iter()
            .filter(|a| a.client_id != state.dashboard_client_id.as_str())
            .map(|a| {
                let on = enabled.contains(&a.client_id.as_str());
                (a.client_id, a.name, on)
            })
            .collect(),
        options: serde_json::to_string_pretty(o).unwrap_or_default(),
        strategy,
        name,
        id,
    })
}

/// `POST /admin/connections/{id}`: a database's policy, sign-up and brute-force switches.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let api = Api::new(&state, &admin);
    let current: Value = match api.get(&path_of(&id)).await {
        Ok(c) => c,
        Err(e) => return back(&here(&id), Err(e.message)),
    };
    let mut options: Map<String, Value> =
        current["options"].as_object().cloned().unwrap_or_default();
    if let Some(p) = form.get("policy") {
        options.insert("passwordPolicy".into(), json!(p));
    }
    match form.get("min_length").map(str::parse::<u32>) {
        Some(Ok(n)) => {
            options.insert(
                "password_complexity_options".into(),
                json!({ "min_length": n }),
            );
        }
        Some(Err(_)) => return back(&here(&id), Err("The minimum length is a number.".into())),
        None => {}
    }
    options.insert(
        "disable_signup".into(),
        json!(form.checked("disable_signup")),
    );
    options.insert(
        "brute_force_protection".into(),
        json!(form.checked("brute_force")),
    );
    back_api(
        &here(&id),
        "Saved.",
        api.patch(&path_of(&id), &json!({ "options": options }))
            .await,
    )
}

/// `POST /admin/connections/{id}/options`: the options as JSON, replaced whole.
pub async fn options(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let options: Value = match serde_json::from_str(form.get("json").unwrap_or("{}")) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return back(&here(&id), Err("Options are a JSON object.".into())),
        Err(e) => return back(&here(&id), Err(format!("Not valid JSON: {e}"))),
    };
    let api = Api::new(&state, &admin);
    back_api(
        &here(&id),
        "Options saved.",
        api.patch(&path_of(&id), &json!({ "options": options }))
            .await,
    )
}

/// `POST /admin/connections/{id}/apps`: exactly the ticked applications enabled.
pub async fn apps(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let api = Api::new(&state, &admin);
    let body = json!({ "enabled_clients": form.all("client") });
    back_api(
        &here(&id),
        "Applications saved.",
        api.patch(&path_of(&id), &body).await,
    )
}

/// `POST /admin/connections/{id}/test`: a test message through a passwordless connection's
/// channel (the tenant's email provider, or the connection's SMS provider), queued on the
/// outbox like every other message, so a failure shows in the logs as `fn`.
pub async fn test_send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, form }: Posted,
) -> Response {
    let Some(to) = form.get("to") else {
        return back(&here(&id), Err("Give an address or phone number.".into()));
    };
    let api = Api::new(&state, &admin);
    let c: Value = match api.get(&path_of(&id)).await {
        Ok(c) => c,
        Err(e) => return back(&here(&id), Err(e.message)),
    };
    let text = "This is a test message from your gatehouse dashboard.".to_owned();
    let content = match Strategy::parse(c["strategy"].as_str().unwrap_or_default()) {
        Strategy::Email => Content::Email {
            to: to.to_owned(),
            from: c["options"]["email"]["from"].as_str().map(str::to_owned),
            subject: "gatehouse test message".into(),
            body: text,
            html: None,
        },
        Strategy::Sms => Content::Sms {
            connection: c["name"].as_str().unwrap_or_default().to_owned(),
            to: to.to_owned(),
            body: text,
        },
        _ => {
            return back(
                &here(&id),
                Err("Only passwordless connections send test messages.".into()),
            );
        }
    };
    match crate::outbox::enqueue(&state, "test", to, Some(content)).await {
        Ok(()) => back(&here(&id), Ok(format!("Test message queued for {to}."))),
        Err(e) => super::page::internal(e.into()),
    }
}

/// `POST /admin/connections/{id}/try`: reads an upstream provider as a login would.
pub async fn try_connection(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, .. }: Posted,
) -> Response {
    let api = Api::new(&state, &admin);
    let name = match api.get::<Value>(&path_of(&id)).await {
        Ok(c) => c["name"].as_str().unwrap_or_default().to_owned(),
        Err(e) => return back(&here(&id), Err(e.message)),
    };
    let connection = match state
        .stores
        .connections
        .connection_by_name(&ConnectionName::from(name.as_str()))
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return back("/admin/connections", Err("The connection is gone.".into())),
        Err(e) => return super::page::internal(e.into()),
    };
    let outcome = crate::upstream::check(&state, &connection)
        .await
        .map_err(|e| format!("The provider did not answer as it should: {e}"));
    back(&here(&id), outcome)
}

/// `POST /admin/connections/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { admin, .. }: Posted,
) -> Response {
    match Api::new(&state, &admin).delete(&path_of(&id), None).await {
        Ok(_) => back("/admin/connections", Ok("Connection deleted.".into())),
        Err(e) => back(&here(&id), Err(e.message)),
    }
}
