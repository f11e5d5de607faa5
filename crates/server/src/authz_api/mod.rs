//! The Authorization Extension's API under `<issuer>authz/api/`, for client-credentials
//! tokens of the audience `urn:auth0-authz-api` (a resource server seeded with the
//! extension's scopes): groups, roles, permissions, users' memberships, the policy, and the
//! switches, with the extension's paths, bodies and answers (`{statusCode, error,
//! message}` errors). The data is one document (`gatehouse_core::authz`), changed by
//! read-modify-write with compare-and-set ([`edit`]).

mod configuration;
mod directory;
mod groups;
mod records;
mod users;

use axum::Json;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_core::authz::{AUDIENCE, AuthzData};
use gatehouse_core::scope::Scope;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::AppState;

/// An error of the extension's API.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// 400: the request is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: the token lacks the scope.
    #[error("Insufficient scope, expected: {0}")]
    Forbidden(&'static str),
    /// 404: no such record.
    #[error("{0}")]
    NotFound(String),
    /// 409: other writers kept changing the data.
    #[error("The data changed while it was being written: try again")]
    Busy,
    /// 500: logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<gatehouse_core::store::StoreError> for AuthzError {
    fn from(e: gatehouse_core::store::StoreError) -> Self {
        AuthzError::Internal(e.into())
    }
}

impl IntoResponse for AuthzError {
    fn into_response(self) -> Response {
        let status = match &self {
            AuthzError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AuthzError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AuthzError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthzError::NotFound(_) => StatusCode::NOT_FOUND,
            AuthzError::Busy => StatusCode::CONFLICT,
            AuthzError::Internal(cause) => {
                tracing::error!(error = ?cause, "authorization extension API");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match &self {
            AuthzError::Internal(_) => "An internal server error occurred".to_owned(),
            other => other.to_string(),
        };
        let body = json!({
            "statusCode": status.as_u16(),
            "error": status.canonical_reason().unwrap_or("Error"),
            "message": message,
        });
        (status, Json(body)).into_response()
    }
}

/// The caller: a client-credentials token of the extension's audience.
#[derive(Debug, Clone)]
pub struct AuthzCaller {
    scope: Scope,
}

impl AuthzCaller {
    /// Passes if the token carries `scope`.
    pub fn require(&self, scope: &'static str) -> Result<(), AuthzError> {
        if self.scope.contains(scope) {
            Ok(())
        } else {
            Err(AuthzError::Forbidden(scope))
        }
    }
}

impl FromRequestParts<AppState> for AuthzCaller {
    type Rejection = AuthzError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AuthzError> {
        const INVALID: AuthzError = AuthzError::Unauthorized("Invalid token");
        let token = crate::http::bearer_token(&parts.headers)
            .ok_or(AuthzError::Unauthorized("Missing authentication"))?;
        let claims = state.keys.verify(token).map_err(|_| INVALID)?;
        let now = state.clock.now().unix_timestamp();
        let aud_ok = match &claims["aud"] {
            Value::String(a) => a == AUDIENCE,
            Value::Array(a) => a.iter().any(|a| a == AUDIENCE),
            _ => false,
        };
        // As the extension: machine tokens only (a person's token never calls this API).
        let machine = claims["sub"]
            .as_str()
            .is_some_and(|s| s.ends_with("@clients"));
        if claims["exp"].as_i64().is_none_or(|e| e <= now)
            || claims["iss"] != state.issuer.as_str()
            || !aud_ok
            || !machine
        {
            return Err(INVALID);
        }
        let scope =
            Scope::parse(claims["scope"].as_str().unwrap_or_default()).map_err(|_| INVALID)?;
        Ok(AuthzCaller { scope })
    }
}

/// A JSON body read into `T`; anything else is a 400 naming what is wrong.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> axum::extract::FromRequest<AppState> for Body<T> {
    type Rejection = AuthzError;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, AuthzError> {
        let Json(value): Json<Value> = Json::from_request(req, state)
            .await
            .map_err(|e: JsonRejection| AuthzError::BadRequest(e.body_text()))?;
        serde_json::from_value(value)
            .map(Body)
            .map_err(|e| AuthzError::BadRequest(e.to_string()))
    }
}

/// The name of the extension's document in the store.
pub const DOCUMENT: &str = "authz";

/// A query string read into `T`; a bad one is a 400 in the extension's shape.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for Params<T> {
    type Rejection = AuthzError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, AuthzError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Params)
            .map_err(|e| AuthzError::BadRequest(e.to_string()))
    }
}

/// Changes the document with `change` and writes it (again from a fresh read when another
/// writer, on any replica, came first); the caches drop their copy.
pub async fn edit<T>(
    state: &AppState,
    change: impl FnMut(&mut AuthzData) -> Result<T, AuthzError>,
) -> Result<T, AuthzError> {
    use crate::documents::EditError;
    match crate::documents::edit(state, DOCUMENT, change).await {
        Ok(out) => Ok(out),
        Err(EditError::Refused(e)) => Err(e),
        Err(EditError::Busy) => Err(AuthzError::Busy),
        Err(EditError::Store(e)) => Err(e.into()),
    }
}

/// The document as it is now.
pub async fn read(state: &AppState) -> Result<AuthzData, AuthzError> {
    Ok(crate::documents::load(&state.stores, DOCUMENT).await?.0)
}

/// 204, as the extension answers changes of a record's lists.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The routes, under `/authz/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/groups", get(groups::list).post(groups::create))
        .route(
            "/groups/{id}",
            get(groups::get).put(groups::update).delete(groups::delete),
        )
        .route(
            "/groups/{id}/members",
            get(groups::members)
                .patch(groups::add_members)
                .delete(groups::remove_members),
        )
        .route("/groups/{id}/members/nested", get(groups::nested_members))
        .route(
            "/groups/{id}/nested",
            get(groups::nested)
                .patch(groups::add_nested)
                .delete(groups::remove_nested),
        )
        .route(
            "/groups/{id}/roles",
            get(groups::roles)
                .patch(groups::add_roles)
                .delete(groups::remove_roles),
        )
        .route("/groups/{id}/roles/nested", get(groups::nested_roles))
        .route(
            "/groups/{id}/mappings",
            get(groups::mappings)
                .patch(groups::add_mappings)
                .delete(groups::remove_mappings),
        )
        .route(
            "/roles",
            get(records::list_roles).post(records::create_role),
        )
        .route(
            "/roles/{id}",
            get(records::get_role)
                .put(records::update_role)
                .delete(records::delete_role),
        )
        .route(
            "/permissions",
            get(records::list_permissions).post(records::create_permission),
        )
        .route(
            "/permissions/{id}",
            get(records::get_permission)
                .put(records::update_permission)
                .delete(records::delete_permission),
        )
        .route(
            "/users/{id}/groups",
            get(users::groups).patch(users::add_groups),
        )
        .route(
            "/users/{id}/groups/calculate",
            get(users::calculated_groups),
        )
        .route(
            "/users/{id}/roles",
            get(users::roles)
                .patch(users::add_roles)
                .delete(users::remove_roles),
        )
        .route("/users/{id}/roles/calculate", get(users::calculated_roles))
        .route("/users/{id}/policy/{client_id}", post(users::policy))
        .route(
            "/configuration",
            get(configuration::get).patch(configuration::update),
        )
        .route("/configuration/export", get(configuration::export))
        .route("/configuration/status", get(directory::status))
        .route(
            "/configuration/resource-server",
            get(directory::resource_server),
        )
        .route("/users", get(directory::users))
        .route("/users/{id}", get(directory::user))
        .route("/applications", get(directory::applications))
        .route("/applications/{id}", get(directory::application))
        .route("/connections", get(directory::connections))
        .route("/configuration/import", post(configuration::import))
}
