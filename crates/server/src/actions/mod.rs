//! Auth0 Actions: the sandboxed engine that runs their code (`engine`), the threads it runs
//! on (`pool`), and a trigger's flow run for one event (`run_flow`): the deployed versions
//! bound to the trigger, in order, each with its secrets opened. The Management API makes
//! them (see ARCHITECTURE.md).

pub mod engine;
pub mod pool;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::actions::{ActionsData, Secret, claim_allowed, handler};
use serde_json::{Map, Value};

use crate::AppState;

/// The name of the actions' document in the store.
pub const DOCUMENT: &str = "actions";

/// The sealing context of an action's secret.
pub fn secret_context(action_id: &str, name: &str) -> String {
    format!("action_secret:{action_id}:{name}")
}

/// Seals a secret's value for storage.
pub fn seal_secret(state: &AppState, action_id: &str, name: &str, value: &str) -> String {
    STANDARD.encode(
        state
            .sealer
            .seal(&secret_context(action_id, name), value.as_bytes()),
    )
}

fn open_secrets(state: &AppState, action_id: &str, secrets: &[Secret]) -> Map<String, Value> {
    secrets
        .iter()
        .filter_map(|s| {
            let sealed = STANDARD.decode(&s.sealed).ok()?;
            let open = state
                .sealer
                .open(&secret_context(action_id, &s.name), &sealed)
                .ok()?;
            Some((s.name.clone(), Value::String(String::from_utf8(open).ok()?)))
        })
        .collect()
}

/// What a flow asked for, all its actions together.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    /// Claims for the ID token (allowed names only).
    pub id_token: Map<String, Value>,
    /// Claims for the access token (allowed names only).
    pub access_token: Map<String, Value>,
    /// Scopes to add to the access token.
    pub add_scopes: Vec<String>,
    /// Scopes to take from it.
    pub remove_scopes: Vec<String>,
    /// `app_metadata` properties to set (`null` removes).
    pub app_metadata: Map<String, Value>,
    /// `user_metadata` properties to set.
    pub user_metadata: Map<String, Value>,
    /// Claims an action tried to set that Auth0's rules refuse (dropped).
    pub refused_claims: Vec<String>,
}

/// Why a flow stopped the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// An action called `api.access.deny`: its arguments.
    Denied(String, Option<String>),
    /// An action failed (threw, timed out, ...), or asked for what gatehouse lacks (MFA).
    Failed {
        /// The action's name.
        action: String,
        /// What went wrong.
        why: String,
    },
}

/// The document, as the catalog holds it.
pub async fn data(
    state: &AppState,
) -> Result<std::sync::Arc<ActionsData>, crate::error::OAuthError> {
    Ok(state.catalog.actions().await?)
}

/// Runs `trigger`'s flow for `event` (without `secrets`: each action gets its own).
pub async fn run_flow(
    state: &AppState,
    trigger: &str,
    event: &Value,
) -> Result<Result<Outcome, Stop>, crate::error::OAuthError> {
    let data = data(state).await?;
    let flow = data.flow(trigger);
    let mut outcome = Outcome::default();
    let Some(handler) = handler(trigger) else {
        return Ok(Ok(outcome));
    };
    for (binding, version) in flow {
        let mut event = event.clone();
        event["secrets"] = Value::Object(open_secrets(state, &version.action_id, &version.secrets));
        let code = version.code.clone();
        let limits = engine::Limits::default();
        let ran = pool::with_engine(move |e| e.run(&code, handler, &event, &limits)).await;
        let result = match ran {
            Ok(r) => r,
            Err(e) => {
                return Ok(Err(Stop::Failed {
                    action: binding.display_name.clone(),
                    why: e.to_string(),
                }));
            }
        };
        if let Some(unsupported) = result["unsupported"].as_array().and_then(|u| u.first()) {
            return Ok(Err(Stop::Failed {
                action: binding.display_name.clone(),
                why: format!(
                    "{} is not supported by gatehouse",
                    unsupported.as_str().unwrap_or("?")
                ),
            }));
        }
        if let Some(deny) = result["deny"].as_object() {
            let first = deny
                .get("first")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let second = deny
                .get("second")
                .and_then(Value::as_str)
                .map(str::to_owned);
            return Ok(Err(Stop::Denied(first.to_owned(), second)));
        }
        merge(&mut outcome, &result);
    }
    Ok(Ok(outcome))
}

/// Adds one action's result to the flow's.
fn merge(outcome: &mut Outcome, result: &Value) {
    for (key, into) in [
        ("idToken", &mut outcome.id_token),
        ("accessToken", &mut outcome.access_token),
    ] {
        for (name, value) in result[key].as_object().into_iter().flatten() {
            if claim_allowed(name) {
                into.insert(name.clone(), value.clone());
            } else if !outcome.refused_claims.contains(name) {
                outcome.refused_claims.push(name.clone());
            }
        }
    }
    for (key, into) in [
        ("appMetadata", &mut outcome.app_metadata),
        ("userMetadata", &mut outcome.user_metadata),
    ] {
        for (name, value) in result[key].as_object().into_iter().flatten() {
            into.insert(name.clone(), value.clone());
        }
    }
    for (key, into) in [
        ("addScopes", &mut outcome.add_scopes),
        ("removeScopes", &mut outcome.remove_scopes),
    ] {
        for s in result[key].as_array().into_iter().flatten() {
            if let Some(s) = s.as_str() {
                into.push(s.to_owned());
            }
        }
    }
}
