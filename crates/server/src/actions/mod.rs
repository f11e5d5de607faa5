//! Auth0 Actions: the sandboxed engine that runs their code (`engine`), the threads it runs
//! on (`pool`), and a trigger's flow run for one event (`run_flow`): the deployed versions
//! bound to the trigger, in order, each with its secrets opened. The Management API makes
//! them (see ARCHITECTURE.md).

pub mod engine;
pub mod fetch;
pub mod pool;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::actions::{ActionsData, Secret, claim_allowed, handler};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::clock::iso;

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

/// How long an execution record is kept (Auth0 keeps them ten days).
const EXECUTION_TTL: time::Duration = time::Duration::days(10);

tokio::task_local! {
    /// The executions run while serving one request, for its log event.
    static EXECUTIONS: std::cell::RefCell<Vec<String>>;
}

/// Runs `fut`, noting the ids of the Actions executions it causes (Auth0 lists them in the
/// request's log event as `details.actions.executions`).
pub async fn noting_executions<F: std::future::Future>(fut: F) -> (F::Output, Vec<String>) {
    EXECUTIONS
        .scope(std::cell::RefCell::new(Vec::new()), async {
            let out = fut.await;
            (out, EXECUTIONS.with(|ids| ids.take()))
        })
        .await
}

/// Auth0's id for what stopped an action (`results[].error.id` of an execution).
fn error_id(e: &engine::ActionError) -> &'static str {
    use engine::ActionError as E;
    match e {
        E::Syntax(_) => "syntax_error",
        E::NoHandler(_) => "no_handler",
        E::Threw(_) => "exception",
        E::Timeout => "timeout",
        E::OutOfMemory => "out_of_memory",
        E::TooDeep => "stack_overflow",
        E::Engine(_) => "internal_error",
    }
}

/// One action's run: its outcome for the flow, and its entry in the execution record.
async fn run_one(
    state: &AppState,
    handler: &'static str,
    event: &Value,
    name: &str,
    version: &gatehouse_core::actions::ActionVersion,
) -> (Result<Value, Stop>, Value) {
    let mut event = event.clone();
    event["secrets"] = Value::Object(open_secrets(state, &version.action_id, &version.secrets));
    let code = version.code.clone();
    let limits = engine::Limits::default();
    let started_at = iso(state.clock.now());
    let fetcher = state.actions_fetch.clone();
    let ran =
        pool::with_engine(move |e| e.run(&code, handler, &event, &limits, fetcher.as_ref())).await;
    let failed = |id: &str, why: String| {
        (
            Err(Stop::Failed {
                action: name.to_owned(),
                why: why.clone(),
            }),
            json!({"id": id, "msg": why}),
        )
    };
    let (outcome, error) = match ran {
        Err(e) => failed(error_id(&e), e.to_string()),
        Ok(result) => match result["unsupported"].as_array().and_then(|u| u.first()) {
            Some(what) => failed(
                "unsupported",
                format!(
                    "{} is not supported by gatehouse",
                    what.as_str().unwrap_or("?")
                ),
            ),
            None => (Ok(result), Value::Null),
        },
    };
    let entry = json!({"action_name": name, "error": error, "started_at": started_at,
                       "ended_at": iso(state.clock.now())});
    (outcome, entry)
}

/// Runs `trigger`'s flow for `event` (without `secrets`: each action gets its own), and
/// records the execution (`GET /actions/executions/{id}`; the id is noted for the
/// request's log event, see [`noting_executions`]).
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
    if flow.is_empty() {
        return Ok(Ok(outcome));
    }
    let created_at = state.clock.now();
    let mut results = Vec::new();
    let mut stop = None;
    for &(binding, version) in &flow {
        let (ran, entry) = run_one(state, handler, event, &binding.display_name, version).await;
        results.push(entry);
        match ran {
            Err(s) => stop = Some(s),
            Ok(result) => match result["deny"].as_object() {
                Some(deny) => {
                    let first = deny
                        .get("first")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let second = deny.get("second").and_then(Value::as_str);
                    stop = Some(Stop::Denied(first.to_owned(), second.map(str::to_owned)));
                }
                None => merge(&mut outcome, &result),
            },
        }
        if stop.is_some() {
            break;
        }
    }
    // `partial`: an action failed and those after it did not run.
    let status = match (&stop, results.len() < flow.len()) {
        (Some(Stop::Failed { .. }), true) => "partial",
        _ => "final",
    };
    let id = uuid::Uuid::new_v4().to_string();
    let updated_at = state.clock.now();
    state.logs.record_execution(
        id.clone(),
        json!({"id": id, "trigger_id": trigger, "status": status, "results": results,
               "created_at": iso(created_at),
               "updated_at": iso(updated_at)}),
        updated_at + EXECUTION_TTL,
    );
    let _ = EXECUTIONS.try_with(|ids| ids.borrow_mut().push(id));
    Ok(match stop {
        Some(stop) => Err(stop),
        None => Ok(outcome),
    })
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
