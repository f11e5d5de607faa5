//! reports-api: the example API. It accepts RS256 access tokens that gatehouse issued for its
//! audience, checking them against gatehouse's JWKS, and serves two scenarios:
//!
//! - "Server Client + API": `GET /reports` for a machine client holding `read:reports`;
//! - "SPA + API" (Auth0's timesheets): `/timesheets` for people logged in to a single-page
//!   app, whose permissions (`read:timesheets`, `create:timesheets`, `approve:timesheets`)
//!   decide what they read and write.
//!
//! Settings: `ISSUER` (gatehouse's issuer, with its trailing slash), `AUDIENCE` (this API's
//! identifier), `TIMESHEETS_AUDIENCE` (the identifier `/timesheets` accepts; default
//! `AUDIENCE`), `CORS_ORIGIN` (the one browser origin allowed to call the API, e.g.
//! `http://localhost:3000`; default none), `LISTEN` (default 127.0.0.1:4000).

mod cors;
mod timesheets;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::RwLock;

/// How soon an unknown `kid` may trigger another JWKS download (a flood of tokens with
/// made-up kids must not turn into a flood of requests to gatehouse).
const REFETCH_AFTER: Duration = Duration::from_secs(10);

struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
}

struct Api {
    issuer: String,
    audience: String,
    timesheets_audience: String,
    http: reqwest::Client,
    keys: RwLock<Keys>,
    timesheets: Mutex<timesheets::Store>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: String,
    /// With RBAC and the `access_token_authz` dialect, the user's permissions on the API
    /// (Auth0 also narrows `scope` to those, but only to the ones the app asked for).
    #[serde(default)]
    permissions: Vec<String>,
}

impl Claims {
    fn may(&self, permission: &str) -> bool {
        self.scope.split(' ').any(|s| s == permission)
            || self.permissions.iter().any(|p| p == permission)
    }
}

/// A refusal with the challenge RFC 6750 asks for.
fn challenge(status: StatusCode, error: &str) -> Response {
    let mut r = (status, Json(json!({"error": error}))).into_response();
    let value = format!("Bearer error=\"{error}\"");
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn insufficient_scope() -> Response {
    challenge(StatusCode::FORBIDDEN, "insufficient_scope")
}

impl Api {
    /// The key for `kid`, downloading the JWKS again when the kid is new (key rotation).
    async fn key(&self, kid: &str) -> anyhow::Result<Option<DecodingKey>> {
        if let Some(k) = self.keys.read().await.by_kid.get(kid) {
            return Ok(Some(k.clone()));
        }
        let mut keys = self.keys.write().await;
        if keys.fetched.is_some_and(|t| t.elapsed() < REFETCH_AFTER) {
            return Ok(keys.by_kid.get(kid).cloned());
        }
        let url = format!("{}.well-known/jwks.json", self.issuer);
        let set: JwkSet = self
            .http
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        keys.by_kid = set
            .keys
            .iter()
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
            .collect();
        keys.fetched = Some(Instant::now());
        Ok(keys.by_kid.get(kid).cloned())
    }

    /// The claims of the request's bearer token, if gatehouse signed it for `audience`.
    async fn authenticate(&self, headers: &HeaderMap, audience: &str) -> Result<Claims, Response> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| challenge(StatusCode::UNAUTHORIZED, "invalid_request"))?;
        let invalid = || challenge(StatusCode::UNAUTHORIZED, "invalid_token");
        let kid = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .ok_or_else(invalid)?;
        let key = self
            .key(&kid)
            .await
            .map_err(|_| invalid())?
            .ok_or_else(invalid)?;
        // The algorithm is ours to choose, never the token's.
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[audience]);
        Ok(jsonwebtoken::decode::<Claims>(token, &key, &v)
            .map_err(|_| invalid())?
            .claims)
    }
}

async fn reports(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let claims = match api.authenticate(&headers, &api.audience).await {
        Ok(claims) => claims,
        Err(refusal) => return refusal,
    };
    if !claims.may("read:reports") {
        return insufficient_scope();
    }
    Json(json!({
        "caller": claims.sub,
        "reports": [{"id": 1, "title": "Weekly signups"}, {"id": 2, "title": "Churn"}],
    }))
    .into_response()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = |k: &str| std::env::var(k).map_err(|_| anyhow::anyhow!("set {k}"));
    let audience = env("AUDIENCE")?;
    let cors_origin = match std::env::var("CORS_ORIGIN") {
        Ok(o) if !o.is_empty() => Some(HeaderValue::from_str(o.trim_end_matches('/'))?),
        _ => None,
    };
    let api = Arc::new(Api {
        issuer: env("ISSUER")?,
        timesheets_audience: std::env::var("TIMESHEETS_AUDIENCE")
            .unwrap_or_else(|_| audience.clone()),
        audience,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?,
        keys: RwLock::new(Keys {
            by_kid: HashMap::new(),
            fetched: None,
        }),
        timesheets: Mutex::new(timesheets::Store::default()),
    });
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:4000".into());
    let app = Router::new()
        .route("/reports", get(reports))
        .route(
            "/timesheets",
            get(timesheets::list).post(timesheets::create),
        )
        .route("/timesheets/{id}/approve", post(timesheets::approve))
        .with_state(api)
        .layer(middleware::from_fn_with_state(cors_origin, cors::cors));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("reports-api listening on {listen}");
    axum::serve(listener, app).await?;
    Ok(())
}
