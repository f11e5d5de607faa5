//! `/api/v2/grants`: the consents users gave third-party applications (what the consent
//! screen remembers), listed and forgotten. A forgotten consent is asked for again at the
//! next login. A grant's id is its key (user, application, API) in base64url, so no table
//! needs an id of its own.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::id::{Audience, ClientId, UserId};
use gatehouse_core::store::{Consent, ConsentFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::body::MgmtQuery;
use super::error::MgmtError;
use super::page::{Listing, PageQuery};
use super::validate as v;
use crate::AppState;

/// A grant as Auth0 shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    /// Its id.
    pub id: String,
    /// The application (Auth0 spells it `clientID`).
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// The API ("" for none).
    pub audience: String,
    /// The scopes allowed.
    pub scope: Vec<String>,
}

fn id_of(c: &Consent) -> String {
    let key = serde_json::json!([c.user_id, c.client_id, c.audience]);
    format!("gra_{}", URL_SAFE_NO_PAD.encode(key.to_string()))
}

/// The (user, application, API) a grant id names.
fn key_of(id: &str) -> Option<(String, String, String)> {
    let raw = URL_SAFE_NO_PAD.decode(id.strip_prefix("gra_")?).ok()?;
    serde_json::from_slice(&raw).ok()
}

impl GrantView {
    fn json(c: &Consent) -> Value {
        serde_json::to_value(GrantView {
            id: id_of(c),
            client_id: c.client_id.to_string(),
            user_id: c.user_id.to_string(),
            audience: c.audience.to_string(),
            scope: c.scope.clone(),
        })
        .unwrap_or(Value::Null)
    }
}

/// The query of `GET /grants` and `DELETE /grants`.
#[derive(Debug, Deserialize)]
pub struct GrantsQuery {
    #[serde(flatten)]
    page: PageQuery,
    user_id: Option<String>,
    client_id: Option<String>,
    audience: Option<String>,
}

impl GrantsQuery {
    fn filter(&self) -> ConsentFilter {
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        ConsentFilter {
            user_id: given(&self.user_id).map(UserId::from),
            client_id: given(&self.client_id).map(ClientId::from),
            audience: given(&self.audience).map(Audience::from),
        }
    }
}

/// `GET /grants`.
pub async fn list(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<GrantsQuery>,
) -> Result<Json<Value>, MgmtError> {
    let filter = q.filter();
    let listing = Listing::offset(&q.page)?;
    let sessions = &state.stores.sessions;
    let rows = sessions.list_consents(&filter, listing.page()).await?;
    let items = rows.iter().map(GrantView::json).collect();
    listing
        .answer("grants", items, sessions.count_consents(&filter))
        .await
}

/// `DELETE /grants/{id}`: 204, 404 for an unknown grant.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    let not_found = || MgmtError::not_found("The grant does not exist", "inexistent_grant");
    let (user_id, client_id, audience) = key_of(&id).ok_or_else(not_found)?;
    let filter = ConsentFilter {
        user_id: Some(user_id.into()),
        client_id: Some(client_id.into()),
        audience: Some(audience.into()),
    };
    match state.stores.sessions.delete_consents(&filter).await? {
        0 => Err(not_found()),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// `DELETE /grants?user_id=`: forgets every consent of a user; 204.
pub async fn delete_of_user(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<GrantsQuery>,
) -> Result<StatusCode, MgmtError> {
    let filter = q.filter();
    if filter.user_id.is_none() {
        return Err(v::missing("user_id"));
    }
    state.stores.sessions.delete_consents(&filter).await?;
    Ok(StatusCode::NO_CONTENT)
}
