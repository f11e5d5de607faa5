//! `/api/v2/actions/actions`: Auth0 Actions. gatehouse runs no Actions yet, so the list is
//! always empty; it is answered (with Auth0's paging) because auth0-deploy-cli reads it
//! whenever it handles database connections and stops when the read fails.

use axum::Json;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::body::MgmtQuery;
use super::error::MgmtError;
use super::page::PageQuery;

/// Auth0's query of `GET /actions/actions`; the name filters narrow an empty list, so they
/// are taken and not read.
#[derive(Debug, Deserialize)]
pub struct ActionsQuery {
    #[serde(rename = "triggerId")]
    _trigger_id: Option<IgnoredAny>,
    #[serde(rename = "actionName")]
    _action_name: Option<IgnoredAny>,
    deployed: Option<String>,
    installed: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /actions/actions`: `{actions, total, page, per_page}`, as Auth0 always pages it.
pub async fn list(MgmtQuery(q): MgmtQuery<ActionsQuery>) -> Result<Json<Value>, MgmtError> {
    for (name, value) in [("deployed", &q.deployed), ("installed", &q.installed)] {
        super::page::parse_bool(name, value.as_deref())?;
    }
    Ok(Json(super::not_offered::numbered_page("actions", &q.page)?))
}

/// The OpenAPI schema of the list's page.
pub fn page_schema() -> Value {
    json!({
        "type": "object",
        "required": ["actions", "total", "page", "per_page"],
        "properties": {
            "actions": {"type": "array", "maxItems": 0},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    })
}
