//! `/api/v2/actions`: Auth0 Actions. An action is code for triggers (`post-login`,
//! `credentials-exchange`, `pre-user-registration`) with sealed secrets; deploying it makes
//! a version (its code compiled first; npm dependencies refused: gatehouse runs Actions
//! without them), and a trigger's bindings, in order, are the flow that runs
//! (`crate::actions`). All of it is one document, changed by compare-and-set.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::actions::{
    Action, ActionVersion, ActionsData, Dependency, Secret, TRIGGERS, TriggerRef,
};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::body::{MgmtJson, MgmtQuery};
use super::error::MgmtError;
use super::page::PageQuery;
use crate::AppState;
use crate::actions::{DOCUMENT, seal_secret};
use crate::documents::EditError;

/// The largest action code.
const MAX_CODE: usize = 100 * 1024;

pub(super) fn now(state: &AppState) -> String {
    super::view::iso(state.clock.now())
}

/// Changes the document with `change` (retried on a lost compare-and-set); caches drop it.
pub(super) async fn edit<T>(
    state: &AppState,
    change: impl FnMut(&mut ActionsData) -> Result<T, MgmtError>,
) -> Result<T, MgmtError> {
    match crate::documents::edit(state, DOCUMENT, change).await {
        Ok(out) => Ok(out),
        Err(EditError::Refused(e)) => Err(e),
        Err(EditError::Busy) => Err(MgmtError::conflict(
            "The actions changed meanwhile: try again",
        )),
        Err(EditError::Store(e)) => Err(e.into()),
    }
}

pub(super) async fn read(state: &AppState) -> Result<ActionsData, MgmtError> {
    Ok(crate::documents::load(&state.stores, DOCUMENT).await?.0)
}

pub(super) fn no_action() -> MgmtError {
    MgmtError::not_found("The action does not exist.", "action_not_found")
}

fn find<'a>(data: &'a mut ActionsData, id: &str) -> Result<&'a mut Action, MgmtError> {
    data.actions
        .iter_mut()
        .find(|a| a.id == id)
        .ok_or_else(no_action)
}

/// An action as Auth0 shows it: secrets by name only.
fn view(a: &Action, data: &ActionsData) -> Value {
    let deployed = data
        .versions
        .iter()
        .find(|v| v.action_id == a.id && v.deployed)
        .map(|v| version_view(v, a));
    let mut out = json!({
        "id": a.id, "name": a.name, "supported_triggers": a.supported_triggers,
        "code": a.code, "dependencies": a.dependencies, "runtime": a.runtime,
        "secrets": a.secrets.iter().map(|s| json!({"name": s.name, "updated_at": s.updated_at})).collect::<Vec<_>>(),
        "status": "built", "all_changes_deployed": a.all_changes_deployed,
        "created_at": a.created_at, "updated_at": a.updated_at,
    });
    if let Some(d) = deployed {
        out["deployed_version"] = d;
    }
    out
}

fn version_view(v: &ActionVersion, a: &Action) -> Value {
    json!({
        "id": v.id, "action_id": v.action_id, "number": v.number, "code": v.code,
        "runtime": v.runtime, "supported_triggers": v.supported_triggers,
        "secrets": v.secrets.iter().map(|s| json!({"name": s.name, "updated_at": s.updated_at})).collect::<Vec<_>>(),
        "dependencies": [], "deployed": v.deployed, "status": "built",
        "created_at": v.created_at, "updated_at": v.created_at,
        "action": {"id": a.id, "name": a.name, "supported_triggers": a.supported_triggers,
                   "all_changes_deployed": a.all_changes_deployed,
                   "created_at": a.created_at, "updated_at": a.updated_at},
    })
}

/// A secret as given: `value` is write-only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretBody {
    name: String,
    #[serde(default)]
    value: Option<String>,
}

/// The body of `POST /actions/actions` (`name` and `supported_triggers` required) and
/// `PATCH`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    supported_triggers: Option<Vec<TriggerRef>>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    dependencies: Option<Vec<Dependency>>,
    #[serde(default)]
    runtime: Option<String>,
    #[serde(default)]
    secrets: Option<Vec<SecretBody>>,
    /// Deploys it at once (create only).
    #[serde(default)]
    deploy: Option<bool>,
    /// Marketplace integrations are not offered: taken, not read.
    #[serde(default, rename = "installed_integration_id")]
    _installed_integration_id: Option<IgnoredAny>,
}

impl ActionBody {
    fn check(&self) -> Result<(), MgmtError> {
        if let Some(n) = &self.name {
            super::validate::not_blank("name", n)?;
            super::validate::max_chars("name", n, 100)?;
        }
        if let Some(t) = &self.supported_triggers {
            if t.is_empty() {
                return Err(super::validate::bad(
                    "supported_triggers",
                    "must name a trigger",
                ));
            }
            for r in t {
                if !TRIGGERS.iter().any(|(id, _)| *id == r.id) {
                    return Err(super::validate::bad(
                        "supported_triggers",
                        format!("{} is not a trigger gatehouse runs", r.id),
                    ));
                }
            }
        }
        if let Some(c) = &self.code
            && c.len() > MAX_CODE
        {
            return Err(super::validate::bad("code", "is longer than 100 KB"));
        }
        for s in self.secrets.iter().flatten() {
            super::validate::not_blank("secrets.name", &s.name)?;
            super::validate::max_chars("secrets.name", &s.name, 100)?;
        }
        Ok(())
    }

    /// Applies the body to `a`; secrets with a value are sealed, those without keep theirs.
    fn apply(self, state: &AppState, a: &mut Action) {
        let at = now(state);
        if let Some(n) = self.name {
            a.name = n;
        }
        if let Some(t) = self.supported_triggers {
            a.supported_triggers = t
                .into_iter()
                .map(|mut r| {
                    if r.version.is_empty() {
                        r.version = TRIGGERS
                            .iter()
                            .find(|(id, _)| *id == r.id)
                            .map_or_else(String::new, |(_, v)| (*v).to_owned());
                    }
                    r
                })
                .collect();
        }
        if let Some(c) = self.code {
            a.code = c;
        }
        if let Some(d) = self.dependencies {
            a.dependencies = d;
        }
        if let Some(r) = self.runtime {
            a.runtime = r;
        }
        if let Some(secrets) = self.secrets {
            let old = std::mem::take(&mut a.secrets);
            a.secrets = secrets
                .into_iter()
                .filter_map(|s| match s.value {
                    Some(v) => Some(Secret {
                        sealed: seal_secret(state, &a.id, &s.name, &v),
                        name: s.name,
                        updated_at: at.clone(),
                    }),
                    None => old.iter().find(|o| o.name == s.name).cloned(),
                })
                .collect();
        }
        a.all_changes_deployed = false;
        a.updated_at = at;
    }
}

/// Deploys `a`: a new version that runs from now on; its code must compile and it may not
/// ask for npm modules.
fn deploy(state: &AppState, data: &mut ActionsData, id: &str) -> Result<Value, MgmtError> {
    let a = find(data, id)?.clone();
    if let Some(d) = a.dependencies.first() {
        return Err(super::validate::bad(
            "dependencies",
            format!(
                "{} cannot be installed: gatehouse runs Actions without npm modules",
                d.name
            ),
        ));
    }
    if let Some(m) = gatehouse_core::actions::required_modules(&a.code).first() {
        return Err(super::validate::bad(
            "code",
            format!(
                "require('{m}') is not supported: gatehouse runs Actions without npm or Node's modules"
            ),
        ));
    }
    // Compiling only (nothing runs), so on this thread: deploys are rare.
    crate::actions::engine::Engine::default()
        .check(&a.code)
        .map_err(|e| MgmtError::invalid_body(e.to_string()))?;
    let number = data
        .versions
        .iter()
        .filter(|v| v.action_id == id)
        .map(|v| v.number)
        .max()
        .unwrap_or(0)
        + 1;
    for v in data.versions.iter_mut().filter(|v| v.action_id == id) {
        v.deployed = false;
    }
    let version = ActionVersion {
        id: uuid::Uuid::new_v4().to_string(),
        action_id: id.to_owned(),
        number,
        code: a.code.clone(),
        runtime: a.runtime.clone(),
        supported_triggers: a.supported_triggers.clone(),
        secrets: a.secrets.clone(),
        deployed: true,
        created_at: now(state),
    };
    data.versions.push(version.clone());
    let a = find(data, id)?;
    a.deployed_number = Some(number);
    a.all_changes_deployed = true;
    let a = a.clone();
    Ok(version_view(&version, &a))
}

/// The page of `all` asked for, in Auth0's `{key, total, page, per_page}`.
pub(super) fn numbered_list(key: &str, all: Vec<Value>, q: &PageQuery) -> Result<Value, MgmtError> {
    let page = q.page()?;
    let mut body = super::not_offered::numbered_page(key, q)?;
    body["total"] = json!(all.len());
    body[key] = json!(
        all.into_iter()
            .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
            .take(page.limit as usize)
            .collect::<Vec<_>>()
    );
    Ok(body)
}

/// Query of `GET /actions/actions`.
#[derive(Debug, Deserialize)]
pub struct ActionsQuery {
    #[serde(rename = "triggerId")]
    trigger_id: Option<String>,
    #[serde(rename = "actionName")]
    action_name: Option<String>,
    deployed: Option<String>,
    installed: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /actions/actions`: `{actions, total, page, per_page}`.
pub async fn list(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<ActionsQuery>,
) -> Result<Json<Value>, MgmtError> {
    let deployed = super::page::parse_bool("deployed", q.deployed.as_deref())?;
    super::page::parse_bool("installed", q.installed.as_deref())?;
    let data = read(&state).await?;
    let found: Vec<Value> = data
        .actions
        .iter()
        .filter(|a| q.action_name.as_ref().is_none_or(|n| &a.name == n))
        .filter(|a| {
            q.trigger_id
                .as_ref()
                .is_none_or(|t| a.supported_triggers.iter().any(|r| &r.id == t))
        })
        .filter(|a| !deployed || a.deployed_number.is_some())
        .map(|a| view(a, &data))
        .collect();
    Ok(Json(numbered_list("actions", found, &q.page)?))
}

/// `POST /actions/actions`: 201.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<ActionBody>,
) -> Result<Response, MgmtError> {
    body.check()?;
    let (Some(name), Some(_)) = (body.name.clone(), body.supported_triggers.as_ref()) else {
        return Err(super::validate::missing(if body.name.is_none() {
            "name"
        } else {
            "supported_triggers"
        }));
    };
    let deploy_now = body.deploy == Some(true);
    let id = uuid::Uuid::new_v4().to_string();
    let at = now(&state);
    let mut action = Action {
        id: id.clone(),
        name: name.clone(),
        supported_triggers: vec![],
        code: String::new(),
        dependencies: vec![],
        runtime: "node22".into(),
        secrets: vec![],
        deployed_number: None,
        all_changes_deployed: false,
        created_at: at.clone(),
        updated_at: at,
    };
    body.apply(&state, &mut action);
    let shown = edit(&state, |data| {
        if data.actions.iter().any(|a| a.name == name) {
            return Err(MgmtError::conflict(
                "An action with the same name already exists",
            ));
        }
        data.actions.push(action.clone());
        if deploy_now {
            deploy(&state, data, &id)?;
        }
        let a = find(data, &id)?.clone();
        Ok(view(&a, data))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}

/// `GET /actions/actions/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    let mut data = read(&state).await?;
    let a = find(&mut data, &id)?.clone();
    Ok(Json(view(&a, &data)))
}

/// `PATCH /actions/actions/{id}`: changes the draft (deploy to run it).
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<ActionBody>,
) -> Result<Json<Value>, MgmtError> {
    body.check()?;
    if body.deploy.is_some() {
        return Err(super::validate::bad(
            "deploy",
            "is for creating only: use /deploy",
        ));
    }
    let mut body = Some(body);
    let shown = edit(&state, |data| {
        let a = find(data, &id)?;
        if let Some(b) = body.take() {
            b.apply(&state, a);
        }
        let a = a.clone();
        Ok(view(&a, data))
    })
    .await?;
    Ok(Json(shown))
}

/// Query of `DELETE /actions/actions/{id}`.
#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    force: Option<String>,
}

/// `DELETE /actions/actions/{id}`: refused while bound, unless `force=true` (which unbinds).
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<DeleteQuery>,
) -> Result<Response, MgmtError> {
    let force = super::page::parse_bool("force", q.force.as_deref())?;
    edit(&state, |data| {
        find(data, &id)?;
        let bound = data.bindings.values().flatten().any(|b| b.action_id == id);
        if bound && !force {
            return Err(super::validate::bad(
                "force",
                "the action is bound to a trigger: unbind it, or delete with force=true",
            ));
        }
        for list in data.bindings.values_mut() {
            list.retain(|b| b.action_id != id);
        }
        data.actions.retain(|a| a.id != id);
        data.versions.retain(|v| v.action_id != id);
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /actions/actions/{id}/deploy`: the new version.
pub async fn deploy_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    Ok(Json(edit(&state, |data| deploy(&state, data, &id)).await?))
}

/// `GET /actions/actions/{id}/versions`: newest first.
pub async fn versions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<PageQuery>,
) -> Result<Json<Value>, MgmtError> {
    let mut data = read(&state).await?;
    let a = find(&mut data, &id)?.clone();
    let mut list: Vec<&ActionVersion> =
        data.versions.iter().filter(|v| v.action_id == id).collect();
    list.sort_by_key(|v| std::cmp::Reverse(v.number));
    let all: Vec<Value> = list.into_iter().map(|v| version_view(v, &a)).collect();
    Ok(Json(numbered_list("versions", all, &q)?))
}

/// The body of `POST /actions/actions/{id}/test`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    payload: Value,
}

/// `POST /actions/actions/{id}/test`: runs the draft with `payload` as the event (for its
/// first trigger): `{payload: <what it asked of api>}`, or its error.
pub async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<TestBody>,
) -> Result<Json<Value>, MgmtError> {
    let mut data = read(&state).await?;
    let a = find(&mut data, &id)?.clone();
    let handler = a
        .supported_triggers
        .first()
        .and_then(|t| gatehouse_core::actions::handler(&t.id))
        .ok_or_else(|| {
            super::validate::bad("supported_triggers", "names no trigger gatehouse runs")
        })?;
    let limits = crate::actions::engine::Limits::default();
    let code = a.code.clone();
    let event = body.payload;
    let ran = {
        let fetcher = state.actions_fetch.clone();
        crate::actions::pool::with_engine(move |e| {
            e.run(&code, handler, &event, &limits, fetcher.as_ref())
        })
        .await
    };
    Ok(Json(match ran {
        Ok(result) => json!({ "payload": result }),
        Err(e) => json!({ "payload": {"error": {"message": e.to_string()}} }),
    }))
}

/// `GET /actions/executions/{id}`: what one run of a flow did (kept ten days; the ids are in
/// the log events of the requests that ran them).
pub async fn execution(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, MgmtError> {
    // Records are written in batches with the log events: read what this server wrote.
    state.logs.flush().await;
    state
        .stores
        .logs
        .execution(&id)
        .await?
        .map(Json)
        .ok_or_else(|| MgmtError::not_found("The execution does not exist.", "execution_not_found"))
}

/// The OpenAPI schemas of this module's operations (`(None, None)` for others).
pub fn schemas(method: &str, path: &str) -> (Option<Value>, Option<Value>) {
    let object = || json!({"type": "object"});
    let page = |key: &str| {
        json!({"type": "object", "required": [key, "total", "page", "per_page"], "properties": {
            key: {"type": "array", "items": {"type": "object"}}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}}})
    };
    match (method, path) {
        ("get", "/actions/actions") => (None, Some(page("actions"))),
        ("post", "/actions/actions") | ("patch", "/actions/actions/{id}") => {
            (Some(object()), Some(object()))
        }
        ("get", "/actions/actions/{id}")
        | ("post", "/actions/actions/{id}/deploy")
        | ("get", "/actions/executions/{id}") => (None, Some(object())),
        ("get", "/actions/actions/{id}/versions") => (None, Some(page("versions"))),
        ("get", "/actions/triggers/{triggerId}/bindings") => (None, Some(page("bindings"))),
        ("patch", "/actions/triggers/{triggerId}/bindings")
        | ("post", "/actions/actions/{id}/test") => (Some(object()), Some(object())),
        _ => (None, None),
    }
}
