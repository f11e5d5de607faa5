//! `/api/v2/resource-servers`: APIs, addressed by id or by identifier.

use crate::ids;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::id::Audience;
use gatehouse_core::resource_server::{DEFAULT_TOKEN_LIFETIME, ResourceServer, ScopeDef};
use gatehouse_core::store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::body::{MgmtJson, MgmtQuery, present, wire_enum};
use super::error::MgmtError;
use super::page::{Listing, PageQuery};
use super::stored;
use super::validate::{self as v, bad};
use crate::AppState;

/// Longest access token lifetime Auth0 allows (30 days).
const MAX_LIFETIME: i64 = 2_592_000;

fn not_found() -> MgmtError {
    MgmtError::not_found(
        "The resource server does not exist",
        "inexistent_resource_server",
    )
}

wire_enum! {
    /// The access-token signing algorithm: the only one our key ring signs with; accepting
    /// others would be a lie.
    pub enum SigningAlg {
        /// RSA SHA-256.
        Rs256 = "RS256",
    }
}

wire_enum! {
    /// The claims layout of access tokens for the API.
    pub enum TokenDialect {
        /// Auth0's default.
        AccessToken = "access_token",
        /// With `permissions`.
        AccessTokenAuthz = "access_token_authz",
        /// RFC 9068.
        Rfc9068Profile = "rfc9068_profile",
        /// RFC 9068 with `permissions`.
        Rfc9068ProfileAuthz = "rfc9068_profile_authz",
    }
}

/// One scope an API defines.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeView {
    /// The scope, without spaces.
    #[schema(min_length = 1, max_length = 280)]
    pub value: String,
    /// What it allows.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// The properties of `POST /resource-servers` (`identifier` required) and
/// `PATCH /resource-servers/{id}` (where `identifier` cannot change).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceServerBody {
    /// The API's audience.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 600)]
    pub identifier: Option<String>,
    /// Display name (the identifier unless given).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Scopes the API defines.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<ScopeView>)]
    pub scopes: Option<Vec<ScopeView>>,
    /// Access-token signing algorithm.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = SigningAlg)]
    pub signing_alg: Option<SigningAlg>,
    /// Refused: HS256 is not offered.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub signing_secret: Option<Value>,
    /// Whether refresh tokens may be issued for it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub allow_offline_access: Option<bool>,
    /// Access-token lifetime in seconds.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = i64, minimum = 1, maximum = 2_592_000)]
    pub token_lifetime: Option<i64>,
    /// Lifetime of tokens issued through the implicit flow.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = i64, minimum = 1, maximum = 2_592_000)]
    pub token_lifetime_for_web: Option<i64>,
    /// Auth0's consent skip for first-party clients.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
    /// Whether RBAC applies.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub enforce_policies: Option<bool>,
    /// Claims layout.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = TokenDialect)]
    pub token_dialect: Option<TokenDialect>,
}

fn scopes(items: Vec<ScopeView>) -> Result<Vec<ScopeDef>, MgmtError> {
    let mut out: Vec<ScopeDef> = Vec::new();
    for item in items {
        let value = item.value;
        v::max_chars("scopes.value", &value, 280)?;
        v::not_blank("scopes.value", &value)?;
        if value.contains(' ') {
            return Err(bad("scopes.value", "scope values may not contain spaces"));
        }
        if out.iter().any(|s| s.value == value) {
            return Err(bad("scopes.value", format!("duplicate scope {value}")));
        }
        let description = item.description.unwrap_or_default();
        v::max_chars("scopes.description", &description, 500)?;
        out.push(ScopeDef { value, description });
    }
    Ok(out)
}

impl ResourceServerBody {
    /// Applies the body to `rs` (not `identifier`: create sets it, update refuses changes).
    fn apply(self, rs: &mut ResourceServer) -> Result<(), MgmtError> {
        if self.signing_secret.is_some() {
            return Err(bad(
                "signing_secret",
                "HS256 signing secrets are not supported; use RS256",
            ));
        }
        if let Some(name) = self.name {
            v::max_chars("name", &name, 200)?;
            v::not_blank("name", &name)?;
            rs.name = name;
        }
        if let Some(s) = self.scopes {
            rs.scopes = scopes(s)?;
        }
        if let Some(a) = self.signing_alg {
            rs.signing_alg = a.as_str().to_owned();
        }
        if let Some(b) = self.allow_offline_access {
            rs.allow_offline_access = b;
        }
        if let Some(n) = self.token_lifetime {
            v::in_range("token_lifetime", n, 1, MAX_LIFETIME)?;
            rs.token_lifetime = n;
        }
        if let Some(n) = self.token_lifetime_for_web {
            v::in_range("token_lifetime_for_web", n, 1, MAX_LIFETIME)?;
            rs.extra.insert("token_lifetime_for_web".into(), json!(n));
        }
        if let Some(b) = self.skip_consent_for_verifiable_first_party_clients {
            rs.extra.insert(
                "skip_consent_for_verifiable_first_party_clients".into(),
                json!(b),
            );
        }
        if let Some(b) = self.enforce_policies {
            rs.enforce_policies = b;
        }
        if let Some(d) = self.token_dialect {
            rs.token_dialect = gatehouse_core::resource_server::TokenDialect::parse(d.as_str())
                .ok_or_else(|| bad("token_dialect", "Invalid token dialect"))?;
        }
        Ok(())
    }
}

/// An API in Auth0's representation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceServerView {
    /// Its id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether it is the tenant's own (the Management API).
    pub is_system: bool,
    /// The audience.
    pub identifier: String,
    /// Scopes it defines.
    pub scopes: Vec<ScopeView>,
    /// Access-token signing algorithm.
    pub signing_alg: String,
    /// Whether refresh tokens may be issued for it.
    pub allow_offline_access: bool,
    /// Auth0's consent skip for first-party clients.
    pub skip_consent_for_verifiable_first_party_clients: bool,
    /// Access-token lifetime in seconds.
    pub token_lifetime: i64,
    /// Lifetime of tokens issued through the implicit flow.
    pub token_lifetime_for_web: i64,
    /// Whether RBAC applies.
    pub enforce_policies: bool,
    /// Claims layout.
    pub token_dialect: String,
    /// Auth0 properties kept but not acted on (`mgmt::stored::RESOURCE_SERVER`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub stored: serde_json::Map<String, Value>,
}

impl ResourceServerView {
    /// The view of `rs`, with Auth0's defaults for what was never set.
    pub fn new(rs: &ResourceServer) -> Self {
        let e = &rs.extra;
        let flag = |k: &str| e.get(k).and_then(Value::as_bool).unwrap_or(false);
        ResourceServerView {
            id: rs.id.clone(),
            name: rs.name.clone(),
            is_system: rs.is_system,
            identifier: rs.identifier.clone().into_string(),
            scopes: rs
                .scopes
                .iter()
                .map(|s| ScopeView {
                    value: s.value.clone(),
                    description: Some(s.description.clone()),
                })
                .collect(),
            signing_alg: rs.signing_alg.clone(),
            allow_offline_access: rs.allow_offline_access,
            skip_consent_for_verifiable_first_party_clients: flag(
                "skip_consent_for_verifiable_first_party_clients",
            ),
            token_lifetime: rs.token_lifetime,
            token_lifetime_for_web: e
                .get("token_lifetime_for_web")
                .and_then(Value::as_i64)
                .unwrap_or(7200),
            enforce_policies: rs.enforce_policies,
            token_dialect: rs.token_dialect.as_str().to_owned(),
            stored: stored::shown(e, &stored::RESOURCE_SERVER),
        }
    }

    fn json(rs: &ResourceServer) -> Value {
        serde_json::to_value(Self::new(rs)).unwrap_or(Value::Null)
    }
}

async fn find(state: &AppState, id: &str) -> Result<ResourceServer, MgmtError> {
    state
        .stores
        .resource_servers
        .resource_server(id)
        .await?
        .ok_or_else(not_found)
}

/// `GET /resource-servers`; `identifiers` (repeatable) picks APIs by identifier.
pub async fn list(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<PageQuery>,
    uri: axum::http::Uri,
) -> Result<Json<Value>, MgmtError> {
    let wanted: Vec<String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .filter(|(k, v)| k == "identifiers" && !v.is_empty())
            .map(|(_, v)| v.into_owned())
            .collect();
    let listing = Listing::offset(&q)?;
    let apis = &state.stores.resource_servers;
    if !wanted.is_empty() {
        let mut found = Vec::new();
        for identifier in &wanted {
            if let Some(rs) = apis
                .resource_server_by_identifier(&Audience::from(identifier))
                .await?
            {
                found.push(ResourceServerView::json(&rs));
            }
        }
        return Ok(listing.answer_all("resource_servers", found));
    }
    let rows = apis.list_resource_servers(listing.page()).await?;
    let items = rows.iter().map(ResourceServerView::json).collect();
    listing
        .answer("resource_servers", items, apis.count_resource_servers())
        .await
}

/// `GET /resource-servers/{id}` (id or identifier).
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ResourceServerView>, MgmtError> {
    Ok(Json(ResourceServerView::new(&find(&state, &id).await?)))
}

/// `POST /resource-servers`: 201; 409 if the identifier is taken.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let (body, kept): (ResourceServerBody, _) = stored::typed(body, &stored::RESOURCE_SERVER)?;
    let identifier = body
        .identifier
        .clone()
        .ok_or_else(|| v::missing("identifier"))?;
    v::max_chars("identifier", &identifier, 600)?;
    v::not_blank("identifier", &identifier)?;
    let mut rs = ResourceServer {
        id: ids::new_resource_server_id(),
        name: identifier.clone(),
        identifier: identifier.into(),
        is_system: false,
        scopes: Vec::new(),
        signing_alg: "RS256".into(),
        token_lifetime: DEFAULT_TOKEN_LIFETIME,
        allow_offline_access: false,
        enforce_policies: false,
        token_dialect: Default::default(),
        extra: Map::new(),
        created_at: state.clock.now(),
    };
    body.apply(&mut rs)?;
    kept.apply(&mut rs.extra);
    match state
        .stores
        .resource_servers
        .insert_resource_server(&rs)
        .await
    {
        Ok(()) => Ok((StatusCode::CREATED, Json(ResourceServerView::new(&rs))).into_response()),
        Err(StoreError::Conflict(_)) => Err(MgmtError::conflict(
            "A resource server with the same identifier already exists",
        )),
        Err(e) => Err(e.into()),
    }
}

fn system_refusal() -> MgmtError {
    MgmtError::Forbidden {
        message: "You cannot modify or delete a system resource server".into(),
        code: "operation_not_supported",
    }
}

/// `PATCH /resource-servers/{id}`: `identifier` is immutable.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Json<ResourceServerView>, MgmtError> {
    let (body, kept): (ResourceServerBody, _) = stored::typed(body, &stored::RESOURCE_SERVER)?;
    let mut rs = find(&state, &id).await?;
    if rs.is_system {
        return Err(system_refusal());
    }
    if body
        .identifier
        .as_ref()
        .is_some_and(|i| *i != rs.identifier)
    {
        return Err(bad("identifier", "identifier cannot be changed"));
    }
    body.apply(&mut rs)?;
    kept.apply(&mut rs.extra);
    state
        .stores
        .resource_servers
        .update_resource_server(&rs)
        .await?;
    Ok(Json(ResourceServerView::new(&rs)))
}

/// `DELETE /resource-servers/{id}`: 204, its client grants with it.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let rs = find(&state, &id).await?;
    if rs.is_system {
        return Err(system_refusal());
    }
    state
        .stores
        .resource_servers
        .delete_resource_server(&rs.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
