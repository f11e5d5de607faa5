//! `/api/v2/connections`: where identities come from, and which clients may use them.

use crate::ids;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_core::connection::{Connection, ConnectionOptions};
use gatehouse_core::id::ClientId;
use gatehouse_core::store::ConnectionFilter;
use gatehouse_core::strategy::Strategy;
use serde_json::{Map, Value, json};

use super::body::{MgmtJson, typed_list};
use super::error::MgmtError;
use super::page::{Checkpoint, Listing, PageQuery, parse_bool};
use super::stored;
use super::validate::{self as v, bad};
use crate::AppState;

pub mod body;
mod options;
mod saml_metadata;
mod secrets;
pub mod view;

use body::ConnectionBody;
use secrets::seal_secrets;
pub use view::{ConnectionView, EnabledClient};

fn not_found() -> MgmtError {
    MgmtError::not_found("The connection does not exist", "inexistent_connection")
}

async fn check_clients(state: &AppState, ids: &[ClientId]) -> Result<(), MgmtError> {
    for id in ids {
        if state.stores.clients.client(id).await?.is_none() {
            return Err(bad(
                "enabled_clients",
                format!("client {id} does not exist"),
            ));
        }
    }
    Ok(())
}

async fn find(state: &AppState, id: &str) -> Result<Connection, MgmtError> {
    state
        .stores
        .connections
        .connection(id)
        .await?
        .ok_or_else(not_found)
}

/// Query of `GET /connections`; `strategy` may repeat.
#[derive(Debug, Default)]
pub struct ListQuery {
    page: PageQuery,
    strategies: Vec<String>,
    name: Option<String>,
    fields: Option<String>,
    include_fields: Option<String>,
    take: Option<String>,
    from: Option<String>,
}

impl ListQuery {
    fn parse(query: Option<&str>) -> Self {
        let mut q = ListQuery::default();
        for (k, val) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let val = val.into_owned();
            match k.as_ref() {
                "strategy" => q.strategies.extend(val.split(',').map(str::to_owned)),
                "name" => q.name = Some(val),
                "fields" => q.fields = Some(val),
                "include_fields" => q.include_fields = Some(val),
                "take" => q.take = Some(val),
                "from" => q.from = Some(val),
                "page" => q.page.page = Some(val),
                "per_page" => q.page.per_page = Some(val),
                "include_totals" => q.page.include_totals = Some(val),
                _ => {}
            }
        }
        q
    }
}

/// `GET /connections`: offset pages, or checkpoint pages when `take` is sent.
pub async fn list(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Json<Value>, MgmtError> {
    let q = ListQuery::parse(uri.query());
    let filter = ConnectionFilter {
        strategies: q.strategies.into_iter().filter(|s| !s.is_empty()).collect(),
        name: q.name.filter(|n| !n.is_empty()),
    };
    let include = match q.include_fields.as_deref() {
        None => true,
        other => parse_bool("include_fields", other)?,
    };
    let listing = Listing::parse(&q.page, q.take.as_deref(), q.from.as_deref())?;
    // A full scan (connections are few) so the administrators' connection can be left out
    // of the list and its totals, as the dashboard's application is (`clients::list`).
    let rows = state
        .stores
        .connections
        .list_connections(&filter, gatehouse_core::store::Page::number(0, 10_000))
        .await?;
    let mut items: Vec<Value> = rows
        .iter()
        .filter(|c| c.name.as_str() != gatehouse_core::admin::ADMIN_CONNECTION)
        .map(|c| ConnectionView::new(c).into_json())
        .collect();
    v::select_fields(&mut items, q.fields.as_deref(), include);
    Ok(listing.answer_all("connections", items))
}

/// `GET /connections/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, MgmtError> {
    Ok(Json(ConnectionView::new(&find(&state, &id).await?)))
}

/// `POST /connections`: 201; 409 if the name is taken.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let (body, kept): (ConnectionBody, _) = stored::typed(body, &stored::CONNECTION)?;
    let (name, strategy) = body.identity()?;
    let mut c = Connection {
        id: ids::new_connection_id(),
        name: name.into(),
        options: ConnectionOptions::empty(&Strategy::parse(strategy.as_str())),
        strategy: Strategy::parse(strategy.as_str()),
        enabled_clients: Vec::new(),
        extra: Map::new(),
        created_at: state.clock.now(),
    };
    body.apply(&mut c)?;
    kept.apply(&mut c.extra);
    saml_metadata::import(&state, &mut c).await?;
    seal_secrets(&state, &mut c, None);
    check_clients(&state, &c.enabled_clients).await?;
    super::admins::check_enabled_clients(&state, &c)?;
    MgmtError::created(
        state.stores.connections.insert_connection(&c).await,
        "A connection with the same name already exists",
        ConnectionView::new(&c),
    )
}

/// `PATCH /connections/{id}`: `name` and `strategy` cannot change.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<ConnectionView>, MgmtError> {
    let (body, kept): (ConnectionBody, _) = stored::typed(body, &stored::CONNECTION)?;
    let mut c = find(&state, &id).await?;
    for (fixed, given) in [
        ("name", body.name.is_some()),
        ("strategy", body.strategy.is_some()),
    ] {
        if given {
            return Err(bad(fixed, format!("{fixed} cannot be changed")));
        }
    }
    let before = c.clone();
    body.apply(&mut c)?;
    kept.apply(&mut c.extra);
    saml_metadata::import(&state, &mut c).await?;
    seal_secrets(&state, &mut c, Some(&before));
    check_clients(&state, &c.enabled_clients).await?;
    super::admins::check_enabled_clients(&state, &c)?;
    state.stores.connections.update_connection(&c).await?;
    Ok(Json(ConnectionView::new(&c)))
}

/// `DELETE /connections/{id}`: 202, as Auth0 answers; its users go with it.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    if let Some(c) = state.stores.connections.connection(&id).await? {
        super::admins::check_deletable(&c)?;
    }
    MgmtError::deleted(
        state.stores.connections.delete_connection(&id).await,
        not_found,
        StatusCode::ACCEPTED,
    )
}

/// `GET /connections/{id}/clients`: checkpoint pages of `{clients: [{client_id}], next}`.
pub async fn clients(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> Result<Json<Value>, MgmtError> {
    let q = ListQuery::parse(uri.query());
    let c = find(&state, &id).await?;
    let cp = Checkpoint::parse(Some(q.take.as_deref().unwrap_or("50")), q.from.as_deref())?
        .ok_or_else(|| MgmtError::invalid_query("take is required"))?;
    let page = cp.page();
    let items: Vec<Value> = c
        .enabled_clients
        .iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(page.limit as usize)
        .map(|id| {
            json!(EnabledClient {
                client_id: id.clone().into_string()
            })
        })
        .collect();
    Ok(Json(cp.body("clients", items)))
}

/// `PATCH /connections/{id}/clients`: `[{client_id, status}]`, at most 50; 204.
pub async fn update_clients(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<StatusCode, MgmtError> {
    let changes = body::changes(typed_list(body)?)?;
    find(&state, &id).await?;
    let enabling: Vec<ClientId> = changes
        .iter()
        .filter(|(_, on)| *on)
        .map(|(c, _)| ClientId::from(c))
        .collect();
    check_clients(&state, &enabling).await?;
    state
        .stores
        .connections
        .set_connection_clients(&id, &changes)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
