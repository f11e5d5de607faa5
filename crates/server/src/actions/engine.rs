//! Auth0 Actions' code run in QuickJS (rquickjs): each execution in a fresh context, with a
//! memory cap, a stack cap and a deadline (the engine's interrupt handler), and one host
//! function only where the operator allows `fetch` ([`super::fetch`]). The event goes in as
//! a JSON string; what the action asked of `api` is recorded by a prelude written in
//! JavaScript and comes out as JSON. So the sandbox has nothing else to reach: no file
//! system, timers or modules (`require` throws).
//!
//! Speed: a context costs ~75 us and compiling the prelude as much again, so an [`Engine`]
//! keeps its runtime between executions (a runtime that hit a limit is thrown away) and
//! loads the prelude from bytecode compiled once per process. Blocking: callers run it on
//! the actions' own threads ([`super::pool`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use rquickjs::{Context, Ctx, Function, Module, Runtime, WriteOptions};

use super::fetch::{self, Fetcher};
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

/// The `api` the action calls, recording into the result; `require` and the features
/// gatehouse lacks say so. A module (compiled once to bytecode), so what it shares with the
/// action's code goes on `globalThis`; `__start` and `__finish` keep their own references
/// to `JSON`, so an action that replaces the globals only spoils its own result.
const PRELUDE: &str = r#"
const stringify = JSON.stringify, parse = JSON.parse;
const result = { idToken: {}, accessToken: {}, addScopes: [], removeScopes: [], deny: null,
  appMetadata: {}, userMetadata: {}, unsupported: [], logs: [] };
const state = { done: false, error: null, handler: true };
const name = function (k) {
  if (typeof k !== "string" || k.length === 0) { throw new TypeError("a name must be a non-empty string"); }
  return k;
};
const value = function (v) { return v === undefined ? null : v; };
const unsupported = function (what) {
  return function () { result.unsupported.push(what); return api; };
};
const api = {
  idToken: { setCustomClaim: function (k, v) { result.idToken[name(k)] = value(v); return api; } },
  accessToken: {
    setCustomClaim: function (k, v) { result.accessToken[name(k)] = value(v); return api; },
    addScope: function (s) { result.addScopes.push(String(s)); return api; },
    removeScope: function (s) { result.removeScopes.push(String(s)); return api; }
  },
  access: {
    deny: function (a, b) {
      result.deny = { first: String(a), second: b === undefined ? null : String(b) };
      return api;
    }
  },
  user: {
    setAppMetadata: function (k, v) { result.appMetadata[name(k)] = value(v); return api; },
    setUserMetadata: function (k, v) { result.userMetadata[name(k)] = value(v); return api; }
  },
  multifactor: { enable: unsupported("api.multifactor.enable") },
  authentication: {
    challengeWith: unsupported("api.authentication.challengeWith"),
    enrollWith: unsupported("api.authentication.enrollWith")
  },
  redirect: { sendUserTo: unsupported("api.redirect.sendUserTo") },
  cache: {
    get: function () { return undefined; },
    set: function () { return { type: "success" }; },
    delete: function () { return { type: "success" }; }
  }
};
const log = function () {
  const parts = [];
  for (let i = 0; i < arguments.length; i++) {
    const a = arguments[i];
    parts.push(typeof a === "string" ? a : stringify(a));
  }
  if (result.logs.length < 100) { result.logs.push(parts.join(" ").slice(0, 1000)); }
};
// fetch: the host's call when this server allows Actions to fetch (`__fetch`, taken off the
// global object here), else a rejection saying why.
const hostFetch = globalThis.__fetch;
delete globalThis.__fetch;
const response = function (r) {
  const lower = {};
  for (const k in r.headers) { lower[k.toLowerCase()] = r.headers[k]; }
  const headers = {
    get: function (n) { const v = lower[String(n).toLowerCase()]; return v === undefined ? null : v; },
    has: function (n) { return lower[String(n).toLowerCase()] !== undefined; },
    forEach: function (f) { for (const k in lower) { f(lower[k], k); } }
  };
  return { ok: r.status >= 200 && r.status < 300, status: r.status, statusText: r.statusText,
    url: r.url, redirected: false, headers: headers,
    text: function () { return Promise.resolve(r.body); },
    json: function () { return Promise.resolve().then(function () { return parse(r.body); }); } };
};
globalThis.fetch = function (input, init) {
  return new Promise(function (resolve) {
    if (typeof hostFetch !== "function") {
      throw new TypeError("fetch is turned off on this server: its operator lists the origins Actions may call in GATEHOUSE_ACTIONS_FETCH");
    }
    const o = init || {};
    const h = o.headers || {};
    const headers = {};
    if (Array.isArray(h)) { h.forEach(function (p) { headers[String(p[0])] = String(p[1]); }); }
    else if (typeof h.forEach === "function") { h.forEach(function (v, k) { headers[String(k)] = String(v); }); }
    else { for (const k in h) { headers[k] = String(h[k]); } }
    const url = typeof input === "string" ? input : (input && input.url !== undefined ? input.url : input);
    const out = parse(hostFetch(stringify({ url: String(url), method: String(o.method || "GET"),
      headers: headers, body: o.body === undefined || o.body === null ? null : String(o.body) })));
    if (out.error !== undefined) { throw new TypeError("fetch failed: " + out.error); }
    resolve(response(out));
  });
};
const exports = {};
globalThis.api = api;
globalThis.console = { log: log, info: log, warn: log, error: log, debug: log };
globalThis.exports = exports;
globalThis.module = { exports: exports };
globalThis.require = function (name) {
  throw new Error("require('" + name + "') is not supported: gatehouse runs Actions without npm modules");
};
// Calls the handler with the event; the promise settles through the job queue.
globalThis.__start = function (handler, event) {
  const m = globalThis.module && globalThis.module.exports || {};
  const h = typeof m[handler] === "function" ? m[handler] : exports[handler];
  if (typeof h !== "function") { state.handler = false; state.done = true; return; }
  const e = parse(event);
  Promise.resolve().then(function () { return h(e, api); }).then(
    function () { state.done = true; },
    function (x) { state.error = String(x && x.message !== undefined ? x.message : x); state.done = true; });
};
globalThis.__finish = function () { return stringify({ state: state, result: result }); };
"#;

/// The prelude as bytecode, compiled once per process (or why it would not compile).
static PRELUDE_BYTECODE: LazyLock<Result<Vec<u8>, String>> = LazyLock::new(|| {
    let rt = Runtime::new().map_err(|e| e.to_string())?;
    let ctx = Context::full(&rt).map_err(|e| e.to_string())?;
    ctx.with(|ctx| {
        Module::declare(ctx.clone(), "prelude", PRELUDE)
            .and_then(|m| m.write(WriteOptions::default()))
            .map_err(|e| e.to_string())
    })
});

/// Runs the prelude in `ctx` from its bytecode.
#[allow(unsafe_code)]
fn load_prelude(ctx: &Ctx<'_>) -> Result<(), ActionError> {
    let bytes = PRELUDE_BYTECODE
        .as_ref()
        .map_err(|e| ActionError::Engine(e.clone()))?;
    // SAFETY: `Module::load` trusts its bytes to be bytecode of this QuickJS. These are:
    // `Module::write` of the same engine in this process made them, from our own source, and
    // they live for the whole process (the reader may keep pointers into them).
    let module = unsafe { Module::load(ctx.clone(), bytes) }.map_err(engine)?;
    let (_, promise) = module.eval().map_err(engine)?;
    promise.finish::<()>().map_err(engine)
}

/// Gives the context `__fetch` (the prelude takes it): at most [`fetch::MAX_CALLS`] calls,
/// all within [`fetch::WALL_TIME`] of the start; the time a call waits moves the deadline
/// back, so only the action's own work counts against it.
fn install_fetch(ctx: &Ctx<'_>, fetcher: Fetcher, deadline: Deadline) -> Result<(), ActionError> {
    let calls = std::cell::Cell::new(0usize);
    let wall_end = Instant::now() + fetch::WALL_TIME;
    let host = Function::new(ctx.clone(), move |request: String| -> String {
        if calls.get() >= fetch::MAX_CALLS {
            let error = format!("an execution makes at most {} calls", fetch::MAX_CALLS);
            return serde_json::json!({ "error": error }).to_string();
        }
        calls.set(calls.get() + 1);
        let started = Instant::now();
        let out = fetcher.call(&request, wall_end);
        deadline.extend(started.elapsed());
        out
    })
    .map_err(engine)?;
    ctx.globals().set("__fetch", host).map_err(engine)
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

/// When the running execution is interrupted, shared with the runtime's interrupt handler
/// (and pushed back by the time `fetch` spends waiting, which is not the action's work).
#[derive(Clone)]
struct Deadline {
    epoch: Instant,
    /// Nanoseconds after `epoch`; `u64::MAX` between executions.
    nanos: Arc<AtomicU64>,
}

impl Deadline {
    fn set(&self, at: Instant) {
        let nanos = at.duration_since(self.epoch).as_nanos();
        self.nanos
            .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn clear(&self) {
        self.nanos.store(u64::MAX, Ordering::Relaxed);
    }

    fn extend(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(by))
            });
    }

    fn at(&self) -> Instant {
        let after = Duration::from_nanos(self.nanos.load(Ordering::Relaxed));
        // Between executions it is "never": far in the future, without overflowing.
        self.epoch
            .checked_add(after)
            .unwrap_or_else(|| self.epoch + Duration::from_secs(86_400 * 365))
    }

    fn passed(&self) -> bool {
        self.epoch.elapsed().as_nanos() >= u128::from(self.nanos.load(Ordering::Relaxed))
    }
}

/// One thread's QuickJS: a runtime kept between executions (each gets a fresh context) and
/// the deadline its interrupt handler reads.
pub struct Engine {
    runtime: Option<Runtime>,
    deadline: Deadline,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            runtime: None,
            deadline: Deadline {
                epoch: Instant::now(),
                nanos: Arc::new(AtomicU64::new(u64::MAX)),
            },
        }
    }
}

impl Engine {
    /// The runtime, made on first use (or after one was thrown away).
    fn runtime(&mut self) -> Result<Runtime, ActionError> {
        if let Some(rt) = &self.runtime {
            return Ok(rt.clone());
        }
        let rt = Runtime::new().map_err(engine)?;
        let deadline = self.deadline.clone();
        rt.set_interrupt_handler(Some(Box::new(move || deadline.passed())));
        self.runtime = Some(rt.clone());
        Ok(rt)
    }

    /// A fresh context under `limits`, and the deadline.
    fn sandbox(&mut self, limits: &Limits) -> Result<(Runtime, Context, Deadline), ActionError> {
        let rt = self.runtime()?;
        rt.set_memory_limit(limits.memory);
        rt.set_max_stack_size(limits.stack);
        self.deadline.set(Instant::now() + limits.time);
        let ctx = Context::full(&rt).map_err(engine)?;
        Ok((rt, ctx, self.deadline.clone()))
    }

    /// After an execution: a runtime that hit a limit or failed inside is not used again
    /// (QuickJS may be left mid-way); otherwise the context's garbage is collected.
    fn settle<T>(&mut self, outcome: &Result<T, ActionError>) {
        self.deadline.clear();
        match outcome {
            Ok(_) | Err(ActionError::Threw(_) | ActionError::NoHandler(_)) => {
                if let Some(rt) = &self.runtime {
                    rt.run_gc();
                }
            }
            Err(_) => self.runtime = None,
        }
    }

    /// Whether `source` compiles (what deploying an action checks), without running it.
    pub fn check(&mut self, source: &str) -> Result<(), ActionError> {
        let outcome = self.check_once(source);
        self.settle(&outcome);
        outcome
    }

    fn check_once(&mut self, source: &str) -> Result<(), ActionError> {
        let (_rt, ctx, deadline) = self.sandbox(&Limits::default())?;
        ctx.with(|ctx| {
            // Wrapped in a function that is never called: compiled, not run.
            let wrapped = format!("(function () {{\n{source}\n}});");
            ctx.eval::<(), _>(wrapped.as_str())
                .map_err(|_| match exception(&ctx, deadline.at()) {
                    ActionError::Threw(m) => ActionError::Syntax(m),
                    other => other,
                })
        })
    }

    /// Runs `source`'s `handler` (`onExecutePostLogin`, ...) with `event` under `limits`:
    /// the recorded `api` calls (`{idToken, accessToken, addScopes, removeScopes, deny,
    /// appMetadata, userMetadata, unsupported, logs}`).
    /// `fetch`, when given, makes the action's calls (see [`super::fetch`]).
    pub fn run(
        &mut self,
        source: &str,
        handler: &str,
        event: &Value,
        limits: &Limits,
        fetch: Option<&Fetcher>,
    ) -> Result<Value, ActionError> {
        let outcome = self.run_once(source, handler, event, limits, fetch);
        self.settle(&outcome);
        outcome
    }

    fn run_once(
        &mut self,
        source: &str,
        handler: &str,
        event: &Value,
        limits: &Limits,
        fetch: Option<&Fetcher>,
    ) -> Result<Value, ActionError> {
        let event = serde_json::to_string(event).map_err(engine)?;
        let (rt, ctx, deadline) = self.sandbox(limits)?;
        ctx.with(|ctx| -> Result<(), ActionError> {
            if let Some(fetcher) = fetch {
                install_fetch(&ctx, fetcher.clone(), deadline.clone())?;
            }
            load_prelude(&ctx)?;
            ctx.eval::<(), _>(source)
                .map_err(|_| exception(&ctx, deadline.at()))?;
            let start: Function = ctx.globals().get("__start").map_err(engine)?;
            start
                .call::<_, ()>((handler, event.as_str()))
                .map_err(|_| exception(&ctx, deadline.at()))
        })?;
        // The handler's promise settles through the job queue (async functions, awaits).
        loop {
            if deadline.passed() {
                return Err(ActionError::Timeout);
            }
            match rt.execute_pending_job() {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => {
                    return Err(ctx.with(|ctx| exception(&ctx, deadline.at())));
                }
            }
        }
        let out: String = ctx.with(|ctx| {
            let finish: Function = ctx.globals().get("__finish").map_err(engine)?;
            finish
                .call::<_, String>(())
                .map_err(|_| exception(&ctx, deadline.at()))
        })?;
        let out: Value = serde_json::from_str(&out).map_err(engine)?;
        let state = &out["state"];
        if state["handler"] == false {
            return Err(ActionError::NoHandler(handler.to_owned()));
        }
        if let Some(e) = state["error"].as_str() {
            return Err(classify(e, deadline.at()));
        }
        if state["done"] != true {
            // Awaiting something that never settles (there are no timers or I/O to settle it).
            return Err(ActionError::Timeout);
        }
        Ok(out["result"].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Whether `source` compiles, in an engine of its own.
    pub fn check(source: &str) -> Result<(), ActionError> {
        Engine::default().check(source)
    }

    /// Runs one execution in an engine of its own (see [`Engine::run`]).
    pub fn run(
        source: &str,
        handler: &str,
        event: &Value,
        limits: &Limits,
    ) -> Result<Value, ActionError> {
        Engine::default().run(source, handler, event, limits, None)
    }

    fn post_login(source: &str) -> Result<Value, ActionError> {
        post_login_within(source, Limits::default())
    }

    fn post_login_within(source: &str, limits: Limits) -> Result<Value, ActionError> {
        let event = json!({"user": {"user_id": "auth0|1", "email": "ada@example.com",
                                     "app_metadata": {"roles": ["admin"]}},
                           "authorization": {"roles": ["admin"]},
                           "request": {"ip": "203.0.113.7"}, "secrets": {"KEY": "s3cret"}});
        run(source, "onExecutePostLogin", &event, &limits)
    }

    #[test]
    fn auth0s_examples_run_unchanged() {
        // Add roles to the tokens (Auth0's example, as written).
        let out = post_login(
            "exports.onExecutePostLogin = async (event, api) => {
               const namespace = 'https://my-app.example.com';
               if (event.authorization) {
                 api.idToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
                 api.accessToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
               }
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
            (
                "exports.onExecutePostLogin = async () => { await fetch('https://api.example.com/'); };",
                ActionError::Threw(
                    "fetch is turned off on this server: its operator lists the origins Actions may call in GATEHOUSE_ACTIONS_FETCH"
                        .into(),
                ),
            ),
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
               api.idToken.setCustomClaim('x', [typeof process, typeof __fetch, typeof setTimeout, typeof std, typeof os].join());
             };",
        )
        .expect("runs");
        assert_eq!(
            out["idToken"]["x"],
            "undefined,undefined,undefined,undefined,undefined"
        );
    }

    #[test]
    fn a_kept_engine_gives_each_execution_a_fresh_context() {
        let mut engine = Engine::default();
        let event = json!({"user": {"user_id": "auth0|1"}});
        let leak = "globalThis.seen = (globalThis.seen || 0) + 1; Object.prototype.poisoned = true;
                    exports.onExecutePostLogin = (event, api) => {
                      api.idToken.setCustomClaim('seen', globalThis.seen);
                    };";
        let limits = Limits::default();
        for _ in 0..3 {
            let out = engine
                .run(leak, "onExecutePostLogin", &event, &limits, None)
                .expect("runs");
            assert_eq!(out["idToken"]["seen"], 1, "nothing carries over");
        }
        // After a run that hit a limit (its runtime is thrown away), and one that threw.
        for hostile in [
            "exports.onExecutePostLogin = () => { while (true) {} };",
            "exports.onExecutePostLogin = () => { throw new Error('x'); };",
            "JSON.stringify = () => 'junk'; exports.onExecutePostLogin = () => {};",
        ] {
            let _ = engine.run(hostile, "onExecutePostLogin", &event, &limits, None);
            let out = engine
                .run(leak, "onExecutePostLogin", &event, &limits, None)
                .expect("runs");
            assert_eq!(out["idToken"]["seen"], 1, "after {hostile}");
        }
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
