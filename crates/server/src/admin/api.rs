//! The dashboard's Management API client, in-process: every read and write a page makes is
//! a request through the Management API's own router (authentication, rate limit, audit
//! log, scopes, validation), with a one-minute token minted for the signed-in administrator
//! (`gty` `gatehouse-admin`, `azp` the dashboard), so the logs name the administrator as the
//! caller and no rule of the API is written twice.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use gatehouse_core::admin::{DASHBOARD_GTY, TOKEN_SECONDS};
use gatehouse_core::seed::MANAGEMENT_SCOPES;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::session::Admin;
use crate::AppState;

/// The largest answer a page reads (a page of 100 users or logs is far below it).
const ANSWER_LIMIT: usize = 8 * 1024 * 1024;

/// A Management API refusal, shown on the page that asked.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The API's `message` (or a short description of what failed).
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.status.as_u16())
    }
}

/// The Management API, called as `admin`.
pub struct Api<'a> {
    state: &'a AppState,
    admin: &'a Admin,
}

impl<'a> Api<'a> {
    /// The API as the signed-in administrator.
    pub fn new(state: &'a AppState, admin: &'a Admin) -> Self {
        Api { state, admin }
    }

    /// `GET path` (with its query), read as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.typed(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// `DELETE path`, with a JSON body where the API takes one (role members, permissions).
    pub async fn delete(&self, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        self.call(Method::DELETE, path, body).await
    }

    async fn typed<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ApiError> {
        let value = self.call(method, path, body).await?;
        serde_json::from_value(value).map_err(|e| ApiError {
            status: StatusCode::BAD_GATEWAY,
            message: format!("unexpected answer from {path}: {e}"),
        })
    }

    /// One request through the Management API's router; `path` is below `/api/v2`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let internal = |message: String| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message,
        };
        let token = self.token().map_err(|e| internal(e.to_string()))?;
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/api/v2{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(agent) = &self.admin.caller.user_agent {
            request = request.header(header::USER_AGENT, agent);
        }
        let body = match body {
            Some(b) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).map_err(|e| internal(e.to_string()))?;
        // The audit log and the limiter count by the administrator's own address.
        if let Some(ip) = self.admin.client_ip {
            request.extensions_mut().insert(ip);
        }
        // Built per call: a router kept in the state would hold the state (a cycle), and a
        // dashboard makes a few calls a page.
        let router = Router::new()
            .nest("/api/v2", crate::mgmt::routes(self.state.clone()))
            .with_state(self.state.clone());
        let response = router
            .oneshot(request)
            .await
            .map_err(|e| internal(e.to_string()))?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), ANSWER_LIMIT)
            .await
            .map_err(|e| internal(e.to_string()))?;
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            Ok(value)
        } else {
            Err(ApiError {
                status,
                message: value["message"]
                    .as_str()
                    .map_or_else(|| status.to_string(), str::to_owned),
            })
        }
    }

    /// A Management API token for the administrator, for one call.
    fn token(&self) -> anyhow::Result<String> {
        let now = self.state.clock.now().unix_timestamp();
        self.state.keys.sign(&json!({
            "iss": self.state.issuer,
            "sub": self.admin.session.user_id,
            "aud": self.state.management_audience(),
            "azp": self.state.dashboard_client_id.as_str(),
            "iat": now,
            "exp": now + TOKEN_SECONDS,
            "scope": MANAGEMENT_SCOPES.join(" "),
            "gty": DASHBOARD_GTY,
        }))
    }
}
