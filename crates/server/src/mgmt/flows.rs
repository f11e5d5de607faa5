//! `/api/v2/actions/triggers/{triggerId}/bindings`: a trigger's flow, the deployed actions
//! it runs in order (`crate::actions::run_flow`). Setting it replaces it whole, as Auth0's
//! PATCH does; each action must be deployed and written for the trigger.

use axum::Json;
use axum::extract::{Path, State};
use gatehouse_core::actions::{ActionsData, Binding, TRIGGERS};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::actions::{edit, no_action, now, read};
use super::body::{MgmtJson, MgmtQuery};
use super::error::MgmtError;
use super::page::PageQuery;
use crate::AppState;

fn binding_view(b: &Binding, data: &ActionsData) -> Value {
    let action = data.actions.iter().find(|a| a.id == b.action_id);
    json!({
        "id": b.id, "trigger_id": b.trigger_id, "display_name": b.display_name,
        "action": action.map(|a| json!({"id": a.id, "name": a.name,
                                         "supported_triggers": a.supported_triggers})),
        "created_at": b.created_at, "updated_at": b.created_at,
    })
}

fn known_trigger(trigger: &str) -> Result<(), MgmtError> {
    if TRIGGERS.iter().any(|(id, _)| *id == trigger) {
        Ok(())
    } else {
        Err(MgmtError::not_found(
            "Trigger not found",
            "inexistent_trigger",
        ))
    }
}

/// `GET /actions/triggers/{triggerId}/bindings`: the flow, in order.
pub async fn bindings(
    State(state): State<AppState>,
    Path(trigger): Path<String>,
    MgmtQuery(q): MgmtQuery<PageQuery>,
) -> Result<Json<Value>, MgmtError> {
    known_trigger(&trigger)?;
    let data = read(&state).await?;
    let all: Vec<Value> = data
        .bindings
        .get(&trigger)
        .into_iter()
        .flatten()
        .map(|b| binding_view(b, &data))
        .collect();
    Ok(Json(super::actions::numbered_list("bindings", all, &q)?))
}

/// One binding of `PATCH /actions/triggers/{triggerId}/bindings`.
#[derive(Debug, Deserialize)]
pub struct BindingBody {
    #[serde(rename = "ref")]
    reference: BindingRef,
    #[serde(default)]
    display_name: Option<String>,
    /// Integration secrets per binding: taken, not read (no integrations).
    #[serde(default, rename = "secrets")]
    _secrets: Option<IgnoredAny>,
}

/// What a binding names: an action by id or name, or a binding kept.
#[derive(Debug, Deserialize)]
pub struct BindingRef {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

/// The body of `PATCH /actions/triggers/{triggerId}/bindings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingsBody {
    bindings: Vec<BindingBody>,
}

/// `PATCH /actions/triggers/{triggerId}/bindings`: replaces the flow, in the order given;
/// each action must be deployed and written for the trigger.
pub async fn set_bindings(
    State(state): State<AppState>,
    Path(trigger): Path<String>,
    MgmtJson(body): MgmtJson<BindingsBody>,
) -> Result<Json<Value>, MgmtError> {
    known_trigger(&trigger)?;
    let at = now(&state);
    let shown = edit(&state, |data| {
        let old = data.bindings.get(&trigger).cloned().unwrap_or_default();
        let mut new = Vec::with_capacity(body.bindings.len());
        for b in &body.bindings {
            let r = &b.reference;
            let action = match r.kind.as_str() {
                "action_id" => data.actions.iter().find(|a| a.id == r.value),
                "action_name" => data.actions.iter().find(|a| a.name == r.value),
                "binding_id" => old
                    .iter()
                    .find(|x| x.id == r.value)
                    .and_then(|x| data.actions.iter().find(|a| a.id == x.action_id)),
                _ => {
                    return Err(super::validate::bad(
                        "ref.type",
                        "must be action_id, action_name or binding_id",
                    ));
                }
            }
            .ok_or_else(no_action)?;
            if !action.supported_triggers.iter().any(|t| t.id == trigger) {
                return Err(super::validate::bad(
                    "bindings",
                    format!("the action {} is not written for {trigger}", action.name),
                ));
            }
            if action.deployed_number.is_none() {
                return Err(super::validate::bad(
                    "bindings",
                    format!("the action {} is not deployed", action.name),
                ));
            }
            new.push(Binding {
                id: uuid::Uuid::new_v4().to_string(),
                trigger_id: trigger.clone(),
                action_id: action.id.clone(),
                display_name: b
                    .display_name
                    .clone()
                    .unwrap_or_else(|| action.name.clone()),
                created_at: at.clone(),
            });
        }
        data.bindings.insert(trigger.clone(), new.clone());
        Ok(new
            .iter()
            .map(|b| binding_view(b, data))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({ "bindings": shown })))
}
