//! `GET /client/<client_id>.js`: the client configuration Auth0's Lock widget loads with a
//! `<script>` tag (`configurationBaseUrl`), as JavaScript calling `Auth0.setClient({...})`:
//! the connections enabled for the application, grouped by strategy, with what Lock reads of
//! a database connection. It must be JavaScript (browsers block JSON or HTML loaded as a
//! script), and an unknown client must get something that is not, so Lock reports an error
//! instead of waiting.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::connection::{Connection, ConnectionOptions};
use gatehouse_core::id::ClientId;
use gatehouse_core::store::{ConnectionFilter, Page};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::OAuthError;
use crate::pages::script_json;

/// What Lock reads of one connection.
fn describe(c: &Connection) -> Value {
    let mut d = Map::new();
    d.insert("name".into(), json!(c.name));
    if let Some(shown) = c.extra.get("display_name") {
        d.insert("display_name".into(), shown.clone());
    }
    match &c.options {
        ConnectionOptions::Database(o) => {
            d.insert("passwordPolicy".into(), json!(o.policy().as_str()));
            d.insert("showSignup".into(), json!(!o.signup_disabled()));
            d.insert("showForgot".into(), json!(true));
            d.insert("requires_username".into(), json!(o.username_required()));
            for key in ["password_complexity_options", "validation"] {
                if let Some(v) = o.other.get(key) {
                    d.insert(key.into(), v.clone());
                }
            }
        }
        ConnectionOptions::Other(o) => {
            // Home realm discovery in Lock: an enterprise connection's email domains.
            if let Some(aliases) = o.get("domain_aliases") {
                d.insert("domain_aliases".into(), aliases.clone());
                if let Some(first) = aliases.get(0) {
                    d.insert("domain".into(), first.clone());
                }
            }
        }
    }
    Value::Object(d)
}

/// `GET /client/{client_id}.js` (Lock appends `?t<milliseconds>` against caches).
pub async fn client_script(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, OAuthError> {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Unknown client",
        )
            .into_response()
    };
    let Some(id) = file.strip_suffix(".js") else {
        return Ok(not_found());
    };
    let Some(client) = state.catalog.client(&ClientId::from(id)).await? else {
        return Ok(not_found());
    };
    let connections = state
        .stores
        .connections
        .list_connections(
            &ConnectionFilter::default(),
            Page {
                offset: 0,
                limit: u32::MAX,
            },
        )
        .await?;
    let mut strategies: Vec<(String, Vec<Value>)> = Vec::new();
    for c in connections
        .iter()
        .filter(|c| c.enabled_clients.contains(&client.client_id))
    {
        let name = c.strategy.as_str();
        match strategies.iter_mut().find(|(s, _)| s == name) {
            Some((_, list)) => list.push(describe(c)),
            None => strategies.push((name.to_owned(), vec![describe(c)])),
        }
    }
    let tenant = state.catalog.tenant().await?;
    let config = json!({
        "id": client.client_id,
        "tenant": tenant.friendly_name.clone().unwrap_or_else(|| "gatehouse".into()),
        // Not `free` or `dev`: Lock would show a "Protected with Auth0" badge.
        "subscription": "self-hosted",
        "authorize": format!("{}authorize", state.issuer),
        "callback": client.settings.callbacks.first(),
        "hasAllowedOrigins": !client.settings.allowed_origins.is_empty()
            || !client.settings.web_origins.is_empty(),
        "strategies": strategies
            .into_iter()
            .map(|(name, connections)| json!({"name": name, "connections": connections}))
            .collect::<Vec<_>>(),
    });
    let mut r = format!("Auth0.setClient({});", script_json(&config)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    // Lock busts caches itself; a changed connection must show at the next load.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
