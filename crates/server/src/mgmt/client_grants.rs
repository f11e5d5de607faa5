//! `/api/v2/client-grants`: which client may get tokens for which API, with which scopes.

use crate::ids;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_core::client_grant::ClientGrant;
use gatehouse_core::id::{Audience, ClientId};
use gatehouse_core::resource_server::ResourceServer;
use gatehouse_core::store::ClientGrantFilter;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::body::{MgmtJson, MgmtQuery, present};
use super::error::MgmtError;
use super::page::{Listing, PageQuery};
use super::stored;
use super::validate::{self as v, bad};
use crate::AppState;

fn not_found() -> MgmtError {
    MgmtError::not_found("The client grant does not exist", "inexistent_client_grant")
}

/// A client grant in Auth0's representation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientGrantView {
    /// Its id.
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The API.
    pub audience: String,
    /// Scopes granted.
    pub scope: Vec<String>,
    /// Auth0 properties kept but not acted on (`mgmt::stored::CLIENT_GRANT`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub stored: serde_json::Map<String, Value>,
}

impl ClientGrantView {
    /// The view of `g`.
    pub fn new(g: &ClientGrant) -> Self {
        ClientGrantView {
            id: g.id.clone(),
            client_id: g.client_id.clone().into_string(),
            audience: g.audience.clone().into_string(),
            scope: g.scope.clone(),
            stored: stored::shown(&g.extra, &stored::CLIENT_GRANT),
        }
    }

    fn json(g: &ClientGrant) -> Value {
        serde_json::to_value(Self::new(g)).unwrap_or(Value::Null)
    }
}

/// The body of `POST /client-grants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientGrantCreate {
    /// The client.
    #[schema(min_length = 1, max_length = 200)]
    pub client_id: String,
    /// The API's identifier.
    #[schema(min_length = 1, max_length = 600)]
    pub audience: String,
    /// Scopes the API defines.
    pub scope: Vec<String>,
}

/// The body of `PATCH /client-grants/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientGrantPatch {
    /// Scopes the API defines (replacing the grant's).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<String>)]
    pub scope: Option<Vec<String>>,
}

/// Scopes must be ones the API defines (Auth0 answers 400 otherwise).
fn checked_scopes(scopes: Vec<String>, api: &ResourceServer) -> Result<Vec<String>, MgmtError> {
    for s in &scopes {
        v::max_chars("scope", s, 280)?;
    }
    if let Some(unknown) = scopes
        .iter()
        .find(|s| !api.scopes.iter().any(|d| &d.value == *s))
    {
        return Err(bad(
            "scope",
            format!(
                "The scope {unknown} is not defined by the resource server {}",
                api.identifier
            ),
        ));
    }
    let mut unique: Vec<String> = Vec::new();
    for s in scopes {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    Ok(unique)
}

/// Query of `GET /client-grants`: offset paging, or checkpoint paging with `take`/`from`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    audience: Option<String>,
    client_id: Option<String>,
    from: Option<String>,
    take: Option<String>,
}

/// `GET /client-grants`.
pub async fn list(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<ListQuery>,
) -> Result<Json<Value>, MgmtError> {
    let filter = ClientGrantFilter {
        client_id: q.client_id.filter(|s| !s.is_empty()),
        audience: q.audience.filter(|s| !s.is_empty()),
    };
    let listing = Listing::parse(&q.page, q.take.as_deref(), q.from.as_deref())?;
    let grants = &state.stores.client_grants;
    let rows = grants.list_client_grants(&filter, listing.page()).await?;
    let items = rows.iter().map(ClientGrantView::json).collect();
    listing
        .answer("client_grants", items, grants.count_client_grants(&filter))
        .await
}

/// `POST /client-grants`: 201; 409 if the client already has a grant for the audience.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let (body, kept): (ClientGrantCreate, _) = stored::typed(body, &stored::CLIENT_GRANT)?;
    let client_id = body.client_id;
    v::max_chars("client_id", &client_id, 200)?;
    v::not_blank("client_id", &client_id)?;
    let audience = body.audience;
    v::max_chars("audience", &audience, 600)?;
    v::not_blank("audience", &audience)?;
    let api = state
        .stores
        .resource_servers
        .resource_server_by_identifier(&Audience::from(&audience))
        .await?
        .ok_or_else(|| {
            MgmtError::not_found(
                &format!("No resource server found by specified audience: {audience}"),
                "inexistent_resource_server",
            )
        })?;
    if state
        .stores
        .clients
        .client(&ClientId::from(&client_id))
        .await?
        .is_none()
    {
        return Err(MgmtError::not_found(
            "The client does not exist",
            "inexistent_client",
        ));
    }
    let scope = checked_scopes(body.scope, &api)?;
    let mut grant = ClientGrant {
        id: ids::new_client_grant_id(),
        client_id: client_id.into(),
        audience: audience.into(),
        scope,
        created_at: state.clock.now(),
        extra: Default::default(),
    };
    kept.apply(&mut grant.extra);
    MgmtError::created(
        state.stores.client_grants.insert_client_grant(&grant).await,
        "A client grant for this client and audience already exists",
        ClientGrantView::new(&grant),
    )
}

/// `GET /client-grants/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClientGrantView>, MgmtError> {
    let grant = state
        .stores
        .client_grants
        .client_grant_by_id(&id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(ClientGrantView::new(&grant)))
}

/// `PATCH /client-grants/{id}`: replaces `scope`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<ClientGrantView>, MgmtError> {
    let (body, kept): (ClientGrantPatch, _) = stored::typed(body, &stored::CLIENT_GRANT)?;
    let mut grant = state
        .stores
        .client_grants
        .client_grant_by_id(&id)
        .await?
        .ok_or_else(not_found)?;
    if let Some(scope) = body.scope {
        let api = state
            .stores
            .resource_servers
            .resource_server_by_identifier(&grant.audience)
            .await?
            .ok_or_else(not_found)?;
        grant.scope = checked_scopes(scope, &api)?;
    }
    kept.apply(&mut grant.extra);
    state
        .stores
        .client_grants
        .update_client_grant(&grant)
        .await?;
    Ok(Json(ClientGrantView::new(&grant)))
}

/// `DELETE /client-grants/{id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    MgmtError::deleted(
        state.stores.client_grants.delete_client_grant(&id).await,
        not_found,
        StatusCode::NO_CONTENT,
    )
}
