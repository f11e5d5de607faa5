//! `/api/v2/clients`: applications, with Auth0's fields, scopes and secret handling.

use crate::ids;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::client::{AppType, Client, ClientSettings, StoredSecret};
use gatehouse_core::id::ClientId;
use gatehouse_core::store::Page;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::body::{MgmtJson, MgmtQuery};
use super::error::MgmtError;
use super::page::{Listing, PageQuery, parse_bool};
use super::stored;
use super::validate as v;
use crate::AppState;
use crate::crypto::random_secret;

mod body;
mod settings;
mod view;

pub use body::ClientBody;
pub use view::ClientView;

/// Scopes that may see `client_secret`.
const READ_SECRET: &[&str] = &["read:client_keys", "read:client_credentials"];

fn secret_context(client_id: &str) -> String {
    format!("client_secret:{client_id}")
}

fn not_found() -> MgmtError {
    MgmtError::not_found("The client does not exist", "inexistent_client")
}

/// Default grant types per application type. Auth0 also enables `implicit`; we leave it
/// off, as RFC 9700 s2.1.2 advises, and let operators add it.
fn default_grant_types(app_type: AppType) -> Vec<String> {
    let g: &[&str] = match app_type {
        AppType::NonInteractive => &["client_credentials"],
        AppType::RegularWeb => &["authorization_code", "refresh_token", "client_credentials"],
        AppType::Spa | AppType::Native => &["authorization_code", "refresh_token"],
    };
    g.iter().map(|s| (*s).to_owned()).collect()
}

/// The fields a `read:client_summary`-only caller sees.
const SUMMARY_FIELDS: &[&str] = &["client_id", "app_type", "name", "description"];

fn render(state: &AppState, caller: &Caller, c: &Client) -> Result<Value, MgmtError> {
    let secret = if READ_SECRET.iter().any(|s| caller.has(s)) {
        open_secret(state, c)?
    } else {
        None
    };
    let mut out = ClientView::new(c, secret.as_deref()).into_json();
    let full = [
        "read:clients",
        "read:client_keys",
        "read:client_credentials",
    ]
    .iter()
    .any(|s| caller.has(s));
    if !full && let Some(obj) = out.as_object_mut() {
        obj.retain(|k, _| SUMMARY_FIELDS.contains(&k.as_str()));
    }
    Ok(out)
}

fn open_secret(state: &AppState, c: &Client) -> Result<Option<String>, MgmtError> {
    c.secret
        .as_ref()
        .map(|s| {
            state
                .sealer
                .open(&secret_context(&c.client_id), &s.sealed)
                .map_err(|e| MgmtError::Internal(e.into()))
                .and_then(|b| String::from_utf8(b).map_err(|e| MgmtError::Internal(e.into())))
        })
        .transpose()
}

fn new_secret(state: &AppState, client_id: &str) -> (String, StoredSecret) {
    let secret = random_secret(48);
    let stored = stored_secret(state, client_id, &secret);
    (secret, stored)
}

/// `secret` as stored: its HMAC (to check) and sealed (to show again).
fn stored_secret(state: &AppState, client_id: &str, secret: &str) -> StoredSecret {
    StoredSecret {
        hash: state.hasher.hash(secret),
        sealed: state
            .sealer
            .seal(&secret_context(client_id), secret.as_bytes()),
    }
}

/// Query of `GET /clients`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    fields: Option<String>,
    include_fields: Option<String>,
    app_type: Option<String>,
    is_global: Option<String>,
}

/// Auth0's "All Applications" client, the tenant's global client. gatehouse has none: it is
/// shown to `is_global=true` alone, so tools that look it up (auth0-deploy-cli reads the
/// login page from it) find it; nothing can log in with it or change it.
fn global_client(state: &AppState) -> Value {
    let id: String = state
        .hasher
        .hash("global-client")
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    json!({
        "client_id": id,
        "name": "All Applications",
        "global": true,
        "is_first_party": true,
        "oidc_conformant": true,
        "sso_disabled": false,
        "custom_login_page_on": false,
        "callbacks": [],
        "allowed_origins": [],
        "web_origins": [],
        "allowed_logout_urls": [],
        "tenant": state.config.tenant_name,
    })
}

fn wants_fields(
    q_fields: Option<&str>,
    include: Option<&str>,
) -> Result<(Option<String>, bool), MgmtError> {
    let include = match include {
        None => true,
        other => parse_bool("include_fields", other)?,
    };
    Ok((q_fields.map(str::to_owned), include))
}

/// `GET /clients`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    MgmtQuery(q): MgmtQuery<ListQuery>,
) -> Result<Json<Value>, MgmtError> {
    let listing = Listing::offset(&q.page)?;
    let (fields, include) = wants_fields(q.fields.as_deref(), q.include_fields.as_deref())?;
    let app_types: Option<Vec<&str>> = q.app_type.as_deref().map(|t| t.split(',').collect());
    let views = |clients: &[Client]| -> Result<Vec<Value>, MgmtError> {
        let mut items = clients
            .iter()
            .map(|c| render(&state, &caller, c))
            .collect::<Result<Vec<_>, _>>()?;
        v::select_fields(&mut items, fields.as_deref(), include);
        Ok(items)
    };
    if parse_bool("is_global", q.is_global.as_deref())? {
        return Ok(listing.answer_all("clients", vec![global_client(&state)]));
    }
    // Filtered over a full scan (clients are few), so the page and its total are cut here.
    // The admin dashboard's own application is not listed, as Auth0 lists none of its own
    // dashboard's: the tenant's applications, as SDKs and auth0-deploy-cli read them, stay
    // the tenant's (it is still read and changed by id).
    let all = state
        .stores
        .clients
        .list_clients(Page::number(0, 10_000))
        .await?;
    let kept: Vec<Client> = all
        .into_iter()
        .filter(|c| c.client_id != state.dashboard_client_id)
        .filter(|c| {
            app_types
                .as_ref()
                .is_none_or(|t| t.contains(&c.app_type.as_str()))
        })
        .collect();
    Ok(listing.answer_all("clients", views(&kept)?))
}

/// Query of `GET /clients/{id}`.
#[derive(Debug, Deserialize)]
pub struct GetQuery {
    fields: Option<String>,
    include_fields: Option<String>,
}

/// `GET /clients/{id}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<GetQuery>,
) -> Result<Json<Value>, MgmtError> {
    let client = state
        .stores
        .clients
        .client(&ClientId::from(id))
        .await?
        .ok_or_else(not_found)?;
    let (fields, include) = wants_fields(q.fields.as_deref(), q.include_fields.as_deref())?;
    let mut items = vec![render(&state, &caller, &client)?];
    v::select_fields(&mut items, fields.as_deref(), include);
    Ok(Json(items.remove(0)))
}

/// `POST /clients`: 201 with the new secret, shown in full this once.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let (mut body, kept): (ClientBody, _) = stored::typed(body, &stored::CLIENT)?;
    if body.name.is_none() {
        return Err(v::missing("name"));
    }
    // Chosen credentials (an application moving from Auth0 keeps its id and secret) need
    // `create:client_credentials` too.
    let chosen_id = body.take_client_id()?;
    let chosen_secret = body.take_secret()?;
    if chosen_id.is_some() || chosen_secret.is_some() {
        caller.require_any(&["create:client_credentials"])?;
    }
    let default_grants = body.grant_types.is_none();
    let now = state.clock.now();
    let client_id = match chosen_id {
        Some(id) => {
            let taken = state
                .stores
                .clients
                .client(&ClientId::from(id.as_str()))
                .await?;
            if taken.is_some() {
                return Err(MgmtError::conflict(
                    "A client with this client_id already exists",
                ));
            }
            id
        }
        None => ids::new_client_id(),
    };
    let mut client = Client {
        client_id: client_id.clone().into(),
        name: String::new(),
        app_type: AppType::RegularWeb,
        is_system: false,
        secret: None,
        settings: ClientSettings::default(),
        created_at: now,
        updated_at: now,
    };
    // Auth0 makes clients first-party unless told otherwise.
    client.settings.is_first_party = true;
    body.apply(&mut client, false)?;
    kept.apply(&mut client.settings.extra);
    if default_grants {
        client.settings.grant_types = default_grant_types(client.app_type);
    }
    if client.settings.token_endpoint_auth_method.is_none() {
        client.settings.token_endpoint_auth_method = Some(
            match client.app_type {
                AppType::Spa | AppType::Native => "none",
                _ => "client_secret_post",
            }
            .to_owned(),
        );
    }
    let (secret, stored) = match chosen_secret {
        Some(secret) => {
            let stored = stored_secret(&state, &client_id, &secret);
            (secret, stored)
        }
        None => new_secret(&state, &client_id),
    };
    client.secret = Some(stored);
    // Auth0 enables a new application on every connection unless the tenant turned
    // `flags.enable_client_connections` off: clients made for the default connection work.
    let tenant = state.stores.tenant.tenant().await?.unwrap_or_default();
    if tenant.enables_new_clients_everywhere() {
        state
            .stores
            .clients
            .insert_client_on_all_connections(&client)
            .await?;
    } else {
        state.stores.clients.insert_client(&client).await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(ClientView::new(&client, Some(&secret))),
    )
        .into_response())
}

/// `PATCH /clients/{id}`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<Value>, MgmtError> {
    // Only `update:client_keys` sets a secret (as in Auth0).
    if body.get("client_secret").is_some() {
        caller.require_any(&["update:client_keys"])?;
    }
    let (mut body, kept): (ClientBody, _) = stored::typed(body, &stored::CLIENT)?;
    let secret = body.take_secret()?;
    let mut client = state
        .stores
        .clients
        .client(&ClientId::from(id))
        .await?
        .ok_or_else(not_found)?;
    let before = ClientView::new(&client, None).without_credentials();
    body.apply(&mut client, true)?;
    kept.apply(&mut client.settings.extra);
    // `update:client_keys` alone is for credentials: anything else (callbacks, grant types,
    // first-party status, ...) needs `update:clients`.
    if !caller.has("update:clients")
        && ClientView::new(&client, None).without_credentials() != before
    {
        return Err(MgmtError::InsufficientScope(vec!["update:clients"]));
    }
    if let Some(secret) = secret {
        client.secret = Some(stored_secret(&state, &client.client_id, &secret));
    }
    client.updated_at = state.clock.now();
    state.stores.clients.update_client(&client).await?;
    Ok(Json(render(&state, &caller, &client)?))
}

/// `DELETE /clients/{id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    MgmtError::deleted(
        state
            .stores
            .clients
            .delete_client(&ClientId::from(id))
            .await,
        not_found,
        StatusCode::NO_CONTENT,
    )
}

/// `POST /clients/{id}/rotate-secret`: a new secret, returned with the client.
pub async fn rotate_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, MgmtError> {
    let mut client = state
        .stores
        .clients
        .client(&ClientId::from(id))
        .await?
        .ok_or_else(not_found)?;
    let (secret, stored) = new_secret(&state, &client.client_id);
    client.secret = Some(stored);
    client.updated_at = state.clock.now();
    state.stores.clients.update_client(&client).await?;
    Ok(Json(ClientView::new(&client, Some(&secret))))
}
