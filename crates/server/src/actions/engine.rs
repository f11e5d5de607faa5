//! Auth0 Actions' code run in QuickJS (rquickjs), one execution per fresh runtime: a memory
//! cap, a stack cap and a deadline (the engine's interrupt handler), and no host function at
//! all. The event goes in as a JSON string; what the action asked of `api` is recorded by a
//! prelude written in JavaScript and comes out as JSON. So the sandbox has nothing to reach:
//! no file system, network, timers or modules (`require` throws). Blocking: callers run it
//! on a blocking thread ([`super::run`]).

use std::time::{Duration, Instant};

use rquickjs::{Context, Ctx, Runtime};
use serde_json::Value;

/// What one execution may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of the JavaScript heap.
    pub memory: usize,
    /// Bytes of the JavaScript stack.
    pub stack: usize,
    /// Wall time, from the start of the execution.
    pub time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 16 * 1024 * 1024,
            stack: 256 * 1024,
            time: Duration::from_millis(100),
        }
    }
}

/// Why an execution gave no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The code does not compile.
    #[error("the action's code does not compile: {0}")]
    Syntax(String),
    /// The code has no handler for the trigger.
    #[error("the action exports no {0} function")]
    NoHandler(String),
    /// The action threw (or its promise was rejected).
    #[error("the action failed: {0}")]
    Threw(String),
    /// It ran past its time.
    #[error("the action ran longer than allowed")]
    Timeout,
    /// It used more memory than allowed.
    #[error("the action used more memory than allowed")]
    OutOfMemory,
    /// It recursed too deep.
    #[error("the action recursed too deep")]
    TooDeep,
    /// Its result could not be read (the engine failed).
    #[error("the action's result could not be read: {0}")]
    Engine(String),
}

/// The `api` the action calls, recording into `__result`; `require` and the features
/// gatehouse lacks say so.
const PRELUDE: &str = r#""use strict";
var __result = { idToken: {}, accessToken: {}, addScopes: [], removeScopes: [], deny: null,
  appMetadata: {}, userMetadata: {}, unsupported: [], logs: [] };
var __name = function (k) {
  if (typeof k !== "string" || k.length === 0) { throw new TypeError("a name must be a non-empty string"); }
  return k;
};
var __value = function (v) { return v === undefined ? null : v; };
var __unsupported = function (what) {
  return function () { __result.unsupported.push(what); return api; };
};
var api = {
  idToken: { setCustomClaim: function (k, v) { __result.idToken[__name(k)] = __value(v); return api; } },
  accessToken: {
    setCustomClaim: function (k, v) { __result.accessToken[__name(k)] = __value(v); return api; },
    addScope: function (s) { __result.addScopes.push(String(s)); return api; },
    removeScope: function (s) { __result.removeScopes.push(String(s)); return api; }
  },
  access: {
    deny: function (a, b) {
      __result.deny = { first: String(a), second: b === undefined ? null : String(b) };
      return api;
    }
  },
  user: {
    setAppMetadata: function (k, v) { __result.appMetadata[__name(k)] = __value(v); return api; },
    setUserMetadata: function (k, v) { __result.userMetadata[__name(k)] = __value(v); return api; }
  },
  multifactor: { enable: __unsupported("api.multifactor.enable") },
  authentication: {
    challengeWith: __unsupported("api.authentication.challengeWith"),
    enrollWith: __unsupported("api.authentication.enrollWith")
  },
  redirect: { sendUserTo: __unsupported("api.redirect.sendUserTo") },
  cache: {
    get: function () { return undefined; },
    set: function () { return { type: "success" }; },
    delete: function () { return { type: "success" }; }
  }
};
var __log = function () {
  var parts = [];
  for (var i = 0; i < arguments.length; i++) {
    var a = arguments[i];
    parts.push(typeof a === "string" ? a : JSON.stringify(a));
  }
  if (__result.logs.length < 100) { __result.logs.push(parts.join(" ").slice(0, 1000)); }
};
var console = { log: __log, info: __log, warn: __log, error: __log, debug: __log };
var exports = {};
var module = { exports: exports };
var require = function (name) {
  throw new Error("require('" + name + "') is not supported: gatehouse runs Actions without npm modules");
};
"#;

/// Calls the handler with the event, and notes when its promise settles.
fn runner(handler: &str) -> String {
    format!(
        r#"var __state = {{ done: false, error: null, handler: true }};
(function () {{
  var m = module.exports || {{}};
  var h = typeof m.{handler} === "function" ? m.{handler} : exports.{handler};
  if (typeof h !== "function") {{ __state.handler = false; __state.done = true; return; }}
  var event = JSON.parse(__event);
  Promise.resolve().then(function () {{ return h(event, api); }}).then(
    function () {{ __state.done = true; }},
    function (e) {{ __state.error = String(e && e.message !== undefined ? e.message : e); __state.done = true; }});
}})();
"#
    )
}

/// The JavaScript exception in `ctx` as an [`ActionError`].
fn exception(ctx: &Ctx<'_>, deadline: Instant) -> ActionError {
    let caught = ctx.catch();
    let message = caught
        .as_exception()
        .and_then(|e| e.message())
        .or_else(|| caught.as_string().and_then(|s| s.to_string().ok()))
        .unwrap_or_else(|| "an exception".to_owned());
    classify(&message, deadline)
}

fn classify(message: &str, deadline: Instant) -> ActionError {
    if message.contains("out of memory") {
        ActionError::OutOfMemory
    } else if message.contains("stack overflow") || message.contains("call stack size exceeded") {
        ActionError::TooDeep
    } else if message.contains("interrupted") || Instant::now() >= deadline {
        ActionError::Timeout
    } else {
        ActionError::Threw(message.chars().take(500).collect())
    }
}

fn engine(e: impl std::fmt::Display) -> ActionError {
    ActionError::Engine(e.to_string())
}

/// A fresh runtime and context under `limits`, and the deadline.
fn sandbox(limits: &Limits) -> Result<(Runtime, Context, Instant), ActionError> {
    let rt = Runtime::new().map_err(engine)?;
    rt.set_memory_limit(limits.memory);
    rt.set_max_stack_size(limits.stack);
    let deadline = Instant::now() + limits.time;
    rt.set_interrupt_handler(Some(Box::new(move || Instant::now() >= deadline)));
    let ctx = Context::full(&rt).map_err(engine)?;
    Ok((rt, ctx, deadline))
}

/// Whether `source` compiles (what deploying an action checks), without running it.
pub fn check(source: &str) -> Result<(), ActionError> {
    let (_rt, ctx, deadline) = sandbox(&Limits::default())?;
    ctx.with(|ctx| {
        // Wrapped in a function that is never called: compiled, not run.
        let wrapped = format!("(function () {{\n{source}\n}});");
        ctx.eval::<(), _>(wrapped.as_str())
            .map_err(|_| match exception(&ctx, deadline) {
                ActionError::Threw(m) => ActionError::Syntax(m),
                other => other,
            })
    })
}

/// Runs `source`'s `handler` (`onExecutePostLogin`, ...) with `event` under `limits`: the
/// recorded `api` calls (`{idToken, accessToken, addScopes, removeScopes, deny, appMetadata,
/// userMetadata, unsupported, logs}`).
pub fn run(
    source: &str,
    handler: &str,
    event: &Value,
    limits: &Limits,
) -> Result<Value, ActionError> {
    let (rt, ctx, deadline) = sandbox(limits)?;
    let event_literal =
        serde_json::to_string(&serde_json::to_string(event).map_err(engine)?).map_err(engine)?;
    ctx.with(|ctx| -> Result<(), ActionError> {
        let setup = format!("{PRELUDE}\nvar __event = {event_literal};\n");
        ctx.eval::<(), _>(setup.as_str())
            .map_err(|_| exception(&ctx, deadline))?;
        ctx.eval::<(), _>(source)
            .map_err(|_| exception(&ctx, deadline))?;
        ctx.eval::<(), _>(runner(handler).as_str())
            .map_err(|_| exception(&ctx, deadline))
    })?;
    // The handler's promise settles through the job queue (async functions, awaits).
    loop {
        if Instant::now() >= deadline {
            return Err(ActionError::Timeout);
        }
        match rt.execute_pending_job() {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => {
                return Err(ctx.with(|ctx| exception(&ctx, deadline)));
            }
        }
    }
    let out: String = ctx.with(|ctx| {
        ctx.eval::<String, _>("JSON.stringify({ state: __state, result: __result })")
            .map_err(|_| exception(&ctx, deadline))
    })?;
    let out: Value = serde_json::from_str(&out).map_err(engine)?;
    let state = &out["state"];
    if state["handler"] == false {
        return Err(ActionError::NoHandler(handler.to_owned()));
    }
    if let Some(e) = state["error"].as_str() {
        return Err(classify(e, deadline));
    }
    if state["done"] != true {
        // Awaiting something that never settles (there are no timers or I/O to settle it).
        return Err(ActionError::Timeout);
    }
    Ok(out["result"].clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn post_login(source: &str) -> Result<Value, ActionError> {
        post_login_within(source, Limits::default())
    }

    fn post_login_within(source: &str, limits: Limits) -> Result<Value, ActionError> {
        let event = json!({"user": {"user_id": "auth0|1", "email": "ada@example.com",
                                     "app_metadata": {"roles": ["admin"]}},
                           "request": {"ip": "203.0.113.7"}, "secrets": {"KEY": "s3cret"}});
        run(source, "onExecutePostLogin", &event, &limits)
    }

    #[test]
    fn auth0s_examples_run_unchanged() {
        // Add roles to the tokens (Auth0's example, as written).
        let out = post_login(
            "exports.onExecutePostLogin = async (event, api) => {
               const namespace = 'https://my-app.example.com';
               if (event.authorization) { return; }
               api.idToken.setCustomClaim(`${namespace}/roles`, event.user.app_metadata.roles);
               api.accessToken.setCustomClaim(`${namespace}/roles`, event.user.app_metadata.roles);
             };",
        )
        .expect("runs");
        assert_eq!(
            out["idToken"]["https://my-app.example.com/roles"],
            json!(["admin"])
        );
        assert_eq!(
            out["accessToken"]["https://my-app.example.com/roles"],
            json!(["admin"])
        );
        // Deny by IP; secrets and awaits work.
        let out = post_login(
            "exports.onExecutePostLogin = async (event, api) => {
               const blocked = await Promise.resolve(['203.0.113.7']);
               if (blocked.includes(event.request.ip)) { api.access.deny('IP ' + event.request.ip + ' is blocked'); }
               api.user.setAppMetadata('key_length', event.secrets.KEY.length);
             };",
        )
        .expect("runs");
        assert_eq!(out["deny"]["first"], "IP 203.0.113.7 is blocked");
        assert_eq!(out["appMetadata"]["key_length"], 6);
    }

    #[test]
    fn hostile_actions_fail_cleanly() {
        // Memory and depth are checked with time to spare (a debug build is slow), so the limit
        // under test is the one that stops them.
        let roomy = Limits {
            time: Duration::from_secs(5),
            ..Limits::default()
        };
        for (source, want) in [
            (
                "exports.onExecutePostLogin = () => { const a = []; while (true) { a.push('x'.repeat(4e6)); } };",
                ActionError::OutOfMemory,
            ),
            (
                "const f = (n) => f(n + 1) + 1; exports.onExecutePostLogin = () => { f(0); };",
                ActionError::TooDeep,
            ),
        ] {
            assert_eq!(post_login_within(source, roomy), Err(want), "{source}");
        }
        for (source, want) in [
            (
                "exports.onExecutePostLogin = async () => { while (true) {} };",
                ActionError::Timeout,
            ),
            (
                "exports.onExecutePostLogin = async () => { throw new Error('nope'); };",
                ActionError::Threw("nope".into()),
            ),
            (
                "exports.onExecutePostLogin = () => { require('axios'); };",
                ActionError::Threw(
                    "require('axios') is not supported: gatehouse runs Actions without npm modules"
                        .into(),
                ),
            ),
            (
                "exports.onExecutePostLogin = () => new Promise(() => {});",
                ActionError::Timeout,
            ),
            (
                "exports.somethingElse = () => {};",
                ActionError::NoHandler("onExecutePostLogin".into()),
            ),
            ("while (true) {}", ActionError::Timeout),
        ] {
            let started = Instant::now();
            assert_eq!(post_login(source), Err(want), "{source}");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{source} took {:?}",
                started.elapsed()
            );
        }
        // Nothing of the host is reachable.
        let out = post_login(
            "exports.onExecutePostLogin = (event, api) => {
               api.idToken.setCustomClaim('x', [typeof process, typeof fetch, typeof setTimeout, typeof std, typeof os].join());
             };",
        )
        .expect("runs");
        assert_eq!(
            out["idToken"]["x"],
            "undefined,undefined,undefined,undefined,undefined"
        );
    }

    #[test]
    fn code_is_checked_without_running_it() {
        assert_eq!(
            check("exports.onExecutePostLogin = async (event, api) => {};"),
            Ok(())
        );
        assert_eq!(check("while (true) {}"), Ok(()), "compiled, not run");
        assert!(matches!(
            check("exports.onExecutePostLogin = async (event, api) => {"),
            Err(ActionError::Syntax(_))
        ));
    }
}
