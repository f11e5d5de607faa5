//! Who calls the Management API: a bearer access token we issued for `<issuer>api/v2/`,
//! verified once per request by [`authenticate`] (the outermost layer of the Management
//! group), and the scopes it carries, checked per operation by [`require_scopes`] from the
//! route table (`spec.rs`) as Auth0 does. Handlers check only what the table cannot say
//! (current-user scopes, fields that depend on a scope).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_core::admin::DASHBOARD_GTY;
use gatehouse_core::scope::Scope;
use gatehouse_core::seed::USER_MANAGEMENT_SCOPES;
use serde_json::Value;

use super::error::MgmtError;
use super::spec::Operation;
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
    /// Passes if the token has any of `scopes` (Auth0: "expected any of"). For checks the
    /// route table cannot express (e.g. a body field that needs one more scope).
    pub fn require_any(&self, scopes: &[&'static str]) -> Result<(), MgmtError> {
        match missing_scopes(&self.scope, scopes, false) {
            None => Ok(()),
            Some(listed) => Err(MgmtError::InsufficientScope(listed)),
        }
    }

    /// Whether the token has `scope`.
    pub fn has(&self, scope: &str) -> bool {
        self.scope.contains(scope)
    }

    /// The key of this caller's Management rate-limit bucket: a person counts for their
    /// `sub`, a machine token for its client.
    pub fn bucket_key(&self) -> String {
        if self.sub.ends_with("@clients") {
            format!("client:{}", self.azp)
        } else {
            format!("user:{}", self.sub)
        }
    }
}

/// The scopes to name in a 403 when `granted` does not satisfy `required`, or `None` when it
/// does. Any one of `required` will do, unless `all_of`: then each is needed, and the first
/// missing one is named.
pub fn missing_scopes(
    granted: &Scope,
    required: &[&'static str],
    all_of: bool,
) -> Option<Vec<&'static str>> {
    if all_of {
        required
            .iter()
            .find(|s| !granted.contains(s))
            .map(|s| vec![*s])
    } else if required.iter().any(|s| granted.contains(s)) {
        None
    } else {
        Some(required.to_vec())
    }
}

/// What the Management group learned from a request's bearer token, kept in the request's
/// extensions by [`authenticate`] so nothing after it verifies the token again.
#[derive(Debug, Clone)]
pub struct Authentication {
    /// The caller, or the 401 message.
    pub caller: Result<Caller, &'static str>,
    /// The claims naming the caller of a token whose signature held, even if it was refused afterwards
    /// (expired, another audience): the audit trail names who tried.
    pub signed_by: Option<Signer>,
}

/// The subject and application named by a token whose signature held.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The `sub` claim as it was.
    pub sub: Value,
    /// The `azp` claim.
    pub azp: Option<String>,
}

impl Authentication {
    /// Every check of the bearer token: signature, `exp`, `iss` and the exact Management
    /// audience. The only place a Management request's signature is verified.
    pub fn of(state: &AppState, headers: &HeaderMap) -> Self {
        let refused = |message| Authentication {
            caller: Err(message),
            signed_by: None,
        };
        if !headers.contains_key(AUTHORIZATION) {
            return refused("Missing authentication");
        }
        let Some(token) = crate::http::bearer_token(headers) else {
            return refused("Bad HTTP authentication header format");
        };
        let Ok(claims) = state.keys.verify(token) else {
            return refused("Invalid token");
        };
        let signed_by = Some(Signer {
            sub: claims["sub"].clone(),
            azp: claims["azp"].as_str().map(str::to_owned),
        });
        Authentication {
            caller: caller_of(state, &claims),
            signed_by,
        }
    }
}

/// The caller of verified `claims`, if they are current and for this Management API.
fn caller_of(state: &AppState, claims: &Value) -> Result<Caller, &'static str> {
    const INVALID: &str = "Invalid token";
    let now = state.clock.now().unix_timestamp();
    let exp = claims["exp"].as_i64().ok_or(INVALID)?;
    if exp <= now {
        return Err("Expired token received for JSON Web Token validation");
    }
    if claims["iss"] != state.issuer.as_str()
        || !audience_matches(&claims["aud"], &state.management_audience())
    {
        return Err(INVALID);
    }
    let mut scope =
        Scope::parse(claims["scope"].as_str().unwrap_or_default()).map_err(|_| INVALID)?;
    let sub = claims["sub"].as_str().unwrap_or_default().to_owned();
    let azp = claims["azp"].as_str().unwrap_or_default();
    let from_dashboard =
        claims["gty"] == DASHBOARD_GTY && azp == state.dashboard_client_id.as_str();
    if !sub.ends_with("@clients") && !from_dashboard {
        // A person's token: only the current-user scopes count, whatever it carries. An
        // administrator's token minted by the dashboard (no grant issues that `gty`) keeps
        // its scopes.
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
        azp: azp.to_owned(),
        scope,
    })
}

fn audience_matches(aud: &Value, expected: &str) -> bool {
    match aud {
        Value::String(s) => s == expected,
        Value::Array(items) => items.iter().any(|a| a == expected),
        _ => false,
    }
}

/// Middleware, outermost in the Management group: verifies the bearer token once and keeps
/// the outcome in the request's extensions for the limiter, the audit, the scope check and
/// the [`Caller`] extractor. A missing or bad token is not refused here: the OpenAPI
/// document is public, and unknown paths answer 404.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let authentication = Authentication::of(&state, request.headers());
    request.extensions_mut().insert(authentication);
    next.run(request).await
}

/// The caller found by [`authenticate`], or the 401 to answer.
fn caller_in(extensions: &axum::http::Extensions) -> Result<&Caller, MgmtError> {
    match extensions.get::<Authentication>() {
        Some(Authentication { caller: Ok(c), .. }) => Ok(c),
        Some(Authentication {
            caller: Err(message),
            ..
        }) => Err(MgmtError::Unauthorized((*message).into())),
        None => Err(MgmtError::Internal(anyhow::anyhow!(
            "Management route outside the authenticate layer"
        ))),
    }
}

/// Route layer of each operation: 401 without a valid token, 403 `insufficient_scope` when
/// the token lacks the operation's scopes (as listed in `spec.rs`), before any extractor.
pub async fn require_scopes(
    State(op): State<&'static Operation>,
    request: Request,
    next: Next,
) -> Response {
    let refusal = match caller_in(request.extensions()) {
        Err(e) => Some(e),
        Ok(caller) => {
            missing_scopes(&caller.scope, op.scopes, op.all_of).map(MgmtError::InsufficientScope)
        }
    };
    match refusal {
        Some(e) => e.into_response(),
        None => next.run(request).await,
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = MgmtError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        caller_in(&parts.extensions).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_any_of_and_all_of() {
        let granted = Scope::parse("read:users update:roles").expect("scope");
        type Case = (&'static [&'static str], bool, Option<Vec<&'static str>>);
        let cases: &[Case] = &[
            (&["read:users"], false, None),
            (&["read:roles", "read:users"], false, None),
            (
                &["read:roles", "read:logs"],
                false,
                Some(vec!["read:roles", "read:logs"]),
            ),
            (&["read:users", "update:roles"], true, None),
            (
                &["read:users", "read:roles"],
                true,
                Some(vec!["read:roles"]),
            ),
            (
                &["create:signing_keys", "update:signing_keys"],
                true,
                Some(vec!["create:signing_keys"]),
            ),
        ];
        for (required, all_of, want) in cases {
            assert_eq!(
                &missing_scopes(&granted, required, *all_of),
                want,
                "{required:?} all_of={all_of}"
            );
        }
    }
}
