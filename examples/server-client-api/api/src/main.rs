//! reports-api: a resource server for the "Server Client + API" scenario. It accepts
//! RS256 access tokens that gatehouse issued for its audience and that carry
//! `read:reports`, checking them against gatehouse's JWKS.
//!
//! Settings: `ISSUER` (gatehouse's issuer, with its trailing slash), `AUDIENCE` (this API's
//! identifier), `LISTEN` (default 127.0.0.1:4000).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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
    http: reqwest::Client,
    keys: RwLock<Keys>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: String,
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

    async fn authorize(&self, headers: &HeaderMap, needed: &str) -> Result<Claims, Response> {
        let challenge = |status: StatusCode, error: &str| {
            let mut r = (status, Json(json!({"error": error}))).into_response();
            let value = format!("Bearer error=\"{error}\"");
            if let Ok(v) = HeaderValue::from_str(&value) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            r
        };
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
        v.set_audience(&[&self.audience]);
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &v)
            .map_err(|_| invalid())?
            .claims;
        if !claims.scope.split(' ').any(|s| s == needed) {
            return Err(challenge(StatusCode::FORBIDDEN, "insufficient_scope"));
        }
        Ok(claims)
    }
}

async fn reports(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    match api.authorize(&headers, "read:reports").await {
        Ok(claims) => Json(json!({
            "caller": claims.sub,
            "reports": [{"id": 1, "title": "Weekly signups"}, {"id": 2, "title": "Churn"}],
        }))
        .into_response(),
        Err(refusal) => refusal,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = |k: &str| std::env::var(k).map_err(|_| anyhow::anyhow!("set {k}"));
    let api = Arc::new(Api {
        issuer: env("ISSUER")?,
        audience: env("AUDIENCE")?,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?,
        keys: RwLock::new(Keys {
            by_kid: HashMap::new(),
            fetched: None,
        }),
    });
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:4000".into());
    let app = Router::new()
        .route("/reports", get(reports))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("reports-api listening on {listen}");
    axum::serve(listener, app).await?;
    Ok(())
}
