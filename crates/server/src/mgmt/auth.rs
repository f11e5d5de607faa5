//! Who calls the Management API: a bearer access token we issued for `<issuer>api/v2/`,
//! and the scopes it carries, checked per endpoint as Auth0 does.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use gatehouse_core::scope::Scope;
use gatehouse_core::seed::USER_MANAGEMENT_SCOPES;
use serde_json::Value;

use super::error::MgmtError;
use crate::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's subject (`<client_id>@clients` for machine tokens).
    pub sub: String,
    /// The application the token was issued to.
    pub azp: String,
    /// The scopes granted.
    pub scope: Scope,
}

impl Caller {
    /// Passes if the token has any of `scopes` (Auth0: "expected any of").
    pub fn require_any(&self, scopes: &[&'static str]) -> Result<(), MgmtError> {
        if scopes.iter().any(|s| self.scope.contains(s)) {
            Ok(())
        } else {
            Err(MgmtError::InsufficientScope(scopes.to_vec()))
        }
    }

    /// Whether the token has `scope`.
    pub fn has(&self, scope: &str) -> bool {
        self.scope.contains(scope)
    }
}

fn audience_matches(aud: &Value, expected: &str) -> bool {
    match aud {
        Value::String(s) => s == expected,
        Value::Array(items) => items.iter().any(|a| a == expected),
        _ => false,
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = MgmtError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The rate limiter has already verified this request's token when it could: one RSA
        // verification per request, not two.
        if let Some(caller) = parts.extensions.remove::<Caller>() {
            return Ok(caller);
        }
        Caller::from_headers(state, &parts.headers)
    }
}

impl Caller {
    /// Every check of the bearer token: signature, `exp`, `iss` and the exact Management
    /// audience. The rate limiter keys by this too, so only such tokens name a bucket.
    pub fn from_headers(state: &AppState, headers: &HeaderMap) -> Result<Self, MgmtError> {
        if !headers.contains_key(AUTHORIZATION) {
            return Err(MgmtError::Unauthorized("Missing authentication".into()));
        }
        let token = crate::http::bearer_token(headers).ok_or_else(|| {
            MgmtError::Unauthorized("Bad HTTP authentication header format".into())
        })?;
        let invalid = || MgmtError::Unauthorized("Invalid token".into());
        let claims = state.keys.verify(token).map_err(|_| invalid())?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let exp = claims["exp"].as_i64().ok_or_else(invalid)?;
        if exp <= now {
            return Err(MgmtError::Unauthorized(
                "Expired token received for JSON Web Token validation".into(),
            ));
        }
        if claims["iss"] != state.issuer.as_str()
            || !audience_matches(&claims["aud"], &state.management_audience())
        {
            return Err(invalid());
        }
        let mut scope =
            Scope::parse(claims["scope"].as_str().unwrap_or_default()).map_err(|_| invalid())?;
        let sub = claims["sub"].as_str().unwrap_or_default().to_owned();
        if !sub.ends_with("@clients") {
            // A person's token: only the current-user scopes count, whatever it carries.
            scope = Scope::from_tokens(
                scope
                    .tokens()
                    .iter()
                    .filter(|s| USER_MANAGEMENT_SCOPES.contains(&s.as_str()))
                    .cloned(),
            );
        }
        Ok(Caller {
            sub,
            azp: claims["azp"].as_str().unwrap_or_default().to_owned(),
            scope,
        })
    }
}
