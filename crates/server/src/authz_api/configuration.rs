//! `/configuration`: the switches (what a login's policy puts into tokens and into
//! `app_metadata.authorization`), and the whole data out and in as the extension's own
//! export, so a tenant's configuration moves over as it is.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use gatehouse_core::authz::{AuthzData, Configuration};
use serde_json::{Map, Value};

use super::{AuthzCaller, AuthzError, Body, edit, no_content, read};
use crate::AppState;

/// The switches' names.
const SWITCHES: &[&str] = &[
    "groupsInToken",
    "rolesInToken",
    "permissionsInToken",
    "persistGroups",
    "persistRoles",
    "persistPermissions",
    "groupsPassthrough",
    "rolesPassthrough",
    "permissionsPassthrough",
];

fn shown(c: Configuration) -> Json<Value> {
    let mut c = c;
    c.id = "v1".into();
    Json(serde_json::to_value(c).unwrap_or_default())
}

/// `GET /configuration`.
pub async fn get(
    State(state): State<AppState>,
    caller: AuthzCaller,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:configuration")?;
    Ok(shown(read(&state).await?.configuration()))
}

/// `PATCH /configuration`: any of the switches, as booleans (or the extension's `"yes"` and
/// `"no"`).
pub async fn update(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Body(body): Body<Map<String, Value>>,
) -> Result<Json<Value>, AuthzError> {
    caller.require("update:configuration")?;
    let mut switches = Map::new();
    for (k, v) in body {
        if !SWITCHES.contains(&k.as_str()) {
            return Err(AuthzError::BadRequest(format!("\"{k}\" is not allowed")));
        }
        let on = match v {
            Value::Bool(b) => b,
            Value::String(s) if s == "yes" => true,
            Value::String(s) if s == "no" => false,
            _ => return Err(AuthzError::BadRequest(format!("\"{k}\" must be a boolean"))),
        };
        switches.insert(k, Value::Bool(on));
    }
    let c = edit(&state, |data| {
        let mut current = serde_json::to_value(data.configuration()).unwrap_or_default();
        if let Some(obj) = current.as_object_mut() {
            obj.extend(switches.clone());
            obj.insert("_id".into(), Value::String("v1".into()));
        }
        let c: Configuration =
            serde_json::from_value(current).map_err(|e| AuthzError::Internal(e.into()))?;
        data.configuration = vec![c.clone()];
        Ok(c)
    })
    .await?;
    Ok(shown(c))
}

/// `GET /configuration/export`: everything, in the extension's format.
pub async fn export(
    State(state): State<AppState>,
    caller: AuthzCaller,
) -> Result<Json<Value>, AuthzError> {
    caller.require("read:configuration")?;
    Ok(Json(
        serde_json::to_value(read(&state).await?).unwrap_or_default(),
    ))
}

/// `POST /configuration/import`: replaces everything with an export (the extension's, or
/// ours); 204.
pub async fn import(
    State(state): State<AppState>,
    caller: AuthzCaller,
    Body(body): Body<AuthzData>,
) -> Result<Response, AuthzError> {
    caller.require("update:configuration")?;
    if let Some(k) = body
        .other
        .keys()
        .find(|k| !matches!(k.as_str(), "applications" | "rules"))
    {
        return Err(AuthzError::BadRequest(format!("\"{k}\" is not allowed")));
    }
    edit(&state, |data| {
        *data = body.clone();
        Ok(())
    })
    .await?;
    Ok(no_content())
}
