//! `fetch` for Actions, only where the operator allows it: `GATEHOUSE_ACTIONS_FETCH` lists
//! the origins actions may call (`https://api.example.com,http://127.0.0.1:9000`), or is
//! `*` for any https origin; unset, `fetch` rejects with an error saying so. Each call
//! blocks the Actions thread that makes it (never the server's), follows no redirect, and
//! is bounded: a few calls per execution, small bodies, a timeout within the execution's
//! wall-clock budget.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config::FetchPolicy;
use serde_json::{Value, json};

/// Calls one execution may make.
pub const MAX_CALLS: usize = 10;
/// The largest response body read (a larger one fails the call).
pub const MAX_RESPONSE: usize = 1024 * 1024;
/// The largest request body sent.
pub const MAX_REQUEST: usize = 64 * 1024;
/// The longest one call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest an execution that fetches may take in all (Auth0 allows Actions 20 s).
pub const WALL_TIME: Duration = Duration::from_secs(10);

/// What an action's `fetch` asked for (made by the prelude).
#[derive(Debug, Deserialize)]
struct Call {
    url: String,
    #[serde(default = "get")]
    method: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
}

fn get() -> String {
    "GET".into()
}

/// Makes the calls of the executions of one server: its policy, an HTTP client without
/// redirects, and the runtime whose I/O the blocking calls wait on.
#[derive(Clone)]
pub struct Fetcher {
    policy: Arc<FetchPolicy>,
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl Fetcher {
    /// A fetcher for `policy` on the current Tokio runtime (call it inside one).
    pub fn new(policy: FetchPolicy) -> Option<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gatehouse-actions/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CALL_TIMEOUT)
            .build()
            .ok()?;
        Some(Fetcher {
            policy: Arc::new(policy),
            client,
            runtime: tokio::runtime::Handle::try_current().ok()?,
        })
    }

    /// Makes the call `request` (JSON) describes, blocking until `before` at the latest:
    /// `{status, statusText, url, headers, body}` as JSON, or `{error}`. Never call it on a
    /// Tokio worker thread.
    pub fn call(&self, request: &str, before: Instant) -> String {
        match self.call_inner(request, before) {
            Ok(v) => v.to_string(),
            Err(e) => json!({ "error": e }).to_string(),
        }
    }

    fn call_inner(&self, request: &str, before: Instant) -> Result<Value, String> {
        let call: Call = serde_json::from_str(request).map_err(|e| e.to_string())?;
        let url = url::Url::parse(&call.url).map_err(|e| format!("{}: {e}", call.url))?;
        if !self.policy.allows(&url) {
            return Err(format!(
                "{} is not an origin this server lets Actions call (GATEHOUSE_ACTIONS_FETCH)",
                url.origin().ascii_serialization()
            ));
        }
        let method = reqwest::Method::from_bytes(call.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("{} is not an HTTP method", call.method))?;
        if call.body.as_ref().is_some_and(|b| b.len() > MAX_REQUEST) {
            return Err(format!("request bodies are limited to {MAX_REQUEST} bytes"));
        }
        let timeout = before
            .saturating_duration_since(Instant::now())
            .min(CALL_TIMEOUT);
        if timeout.is_zero() {
            return Err("the action has no time left for another call".into());
        }
        let mut req = self.client.request(method, url).timeout(timeout);
        for (name, value) in &call.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        if let Some(body) = call.body {
            req = req.body(body);
        }
        self.runtime.block_on(async move {
            let mut response = req.send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            let headers: serde_json::Map<String, Value> = response
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), json!(v.to_str().ok()?))))
                .collect();
            let final_url = response.url().to_string();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
                if body.len() + chunk.len() > MAX_RESPONSE {
                    return Err(format!("responses are limited to {MAX_RESPONSE} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(json!({
                "status": status.as_u16(),
                "statusText": status.canonical_reason().unwrap_or_default(),
                "url": final_url,
                "headers": headers,
                "body": String::from_utf8_lossy(&body),
            }))
        })
    }
}
