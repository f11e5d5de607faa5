//! Account linking: `POST /users/{id}/identities` and
//! `DELETE /users/{id}/identities/{provider}/{user_id}`.
//!
//! Beyond Auth0: nothing links by itself (only these calls do); `link_with` needs an ID token
//! from a login at most `link_max_age` seconds old, issued to the same application as the
//! caller's access token, so a link always follows a fresh proof that the person controls the
//! second account; every link and unlink is logged with both users and the caller.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::id::{ClientId, UserId};
use gatehouse_core::store::StoreError;
use gatehouse_core::user::{Identity, User};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::auth::Caller;
use super::body::{MgmtJson, nullable, present, typed};
use super::error::MgmtError;
use super::logs::AuditDetails;
use super::users::{authorize, find, identities_json};
use super::validate::{self as v, bad};
use crate::AppState;

/// Root attributes a secondary identity keeps in `profileData`, and gives back on unlink.
const PROFILE_KEYS: &[&str] = &["name", "nickname", "given_name", "family_name", "picture"];

fn gone() -> MgmtError {
    bad(
        "user_id",
        "the user to link does not exist (or is already linked to another user)",
    )
}

/// Why a link with a blocked user on either side is refused.
const BLOCKED_LINK: &str = "A blocked user cannot be linked, nor have other users linked to it.";

/// The user an ID token in `link_with` proves, after every check.
fn linked_by_token(state: &AppState, caller: &Caller, token: &str) -> Result<String, MgmtError> {
    let invalid = |why: &str| bad("link_with", why);
    let claims = state
        .keys
        .verify(token)
        .map_err(|_| invalid("must be an RS256 ID token signed by this tenant"))?;
    let now = state.clock.now().unix_timestamp();
    if claims["iss"] != state.issuer.as_str() {
        return Err(invalid("was not issued by this tenant"));
    }
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now) {
        return Err(invalid("has expired"));
    }
    // An ID token's audience is the application; it must be the caller's own application.
    if claims["aud"].as_str() != Some(caller.azp.as_str()) || caller.azp.is_empty() {
        return Err(invalid(
            "audience must be the client the access token was issued to (its azp)",
        ));
    }
    let age = claims["auth_time"].as_i64().map(|t| now - t);
    if age.is_none_or(|a| a > state.config.link_max_age) {
        return Err(invalid(&format!(
            "the login it proves is older than {} seconds; log in to the second account again",
            state.config.link_max_age
        )));
    }
    claims["sub"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| invalid("has no subject"))
}

/// The user whose primary identity is (`provider`, `user_id`), in the connection
/// `connection_id` when given.
async fn linked_by_identity(state: &AppState, body: LinkBody) -> Result<String, MgmtError> {
    let provider = body.provider.ok_or_else(|| v::missing("provider"))?;
    v::max_chars("provider", &provider, 100)?;
    v::not_blank("provider", &provider)?;
    let user_id = match body.user_id.ok_or_else(|| v::missing("user_id"))? {
        Value::Number(n) => n.to_string(),
        other => v::non_empty("user_id", &other, 255)?,
    };
    let connection = match body.connection_id.flatten() {
        Some(id) => {
            v::max_chars("connection_id", &id, 64)?;
            let found = state.stores.connections.connection(&id).await?;
            Some(
                found
                    .ok_or_else(|| bad("connection_id", "no such connection"))?
                    .name,
            )
        }
        None => None,
    };
    let candidate = format!("{provider}|{user_id}");
    let user = state
        .stores
        .users
        .user(&UserId::from(&candidate))
        .await?
        .ok_or_else(gone)?;
    let primary = user.identities.first().ok_or_else(gone)?;
    if primary.provider != provider
        || primary.user_id != user_id
        || connection.is_some_and(|c| c != primary.connection)
    {
        return Err(gone());
    }
    Ok(candidate)
}

/// What the primary keeps of the secondary's profile.
fn profile_data(u: &User) -> Value {
    let mut p = Map::new();
    if let Some(e) = &u.email {
        p.insert("email".into(), json!(e));
        p.insert("email_verified".into(), json!(u.email_verified));
    }
    if let Some(n) = &u.username {
        p.insert("username".into(), json!(n));
    }
    if let Some(ph) = &u.phone_number {
        p.insert("phone_number".into(), json!(ph));
        p.insert("phone_verified".into(), json!(u.phone_verified));
    }
    for k in PROFILE_KEYS {
        if let Some(val) = u.profile.get(*k) {
            p.insert((*k).into(), val.clone());
        }
    }
    Value::Object(p)
}

/// The body of `POST /users/{id}/identities`: an ID token (`link_with`), or the identity
/// (`provider`, `user_id`, optionally `connection_id`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// An ID token of the account to link, from the caller's own first-party application.
    #[schema(max_length = 10000)]
    pub link_with: Option<String>,
    /// The provider of the account to link.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub provider: Option<String>,
    /// Its id within the provider (a string or a number).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Value>)]
    pub user_id: Option<Value>,
    /// Its connection.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub connection_id: Option<Option<String>>,
}

/// `POST /users/{id}/identities`: 201 with the primary's identities.
pub async fn link(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let body: LinkBody = typed(body)?;
    let secondary_id = match body.link_with.clone() {
        Some(token) => {
            if body.provider.is_some() || body.user_id.is_some() || body.connection_id.is_some() {
                return Err(bad(
                    "link_with",
                    "cannot be combined with provider, user_id or connection_id",
                ));
            }
            authorize(
                &caller,
                &id,
                &["update:users"],
                "update:current_user_identities",
            )?;
            v::max_chars("link_with", &token, 10_000)?;
            v::not_blank("link_with", &token)?;
            // Only a first-party application may link accounts with a person's logins.
            let first_party = state
                .catalog
                .client(&ClientId::from(&caller.azp))
                .await?
                .is_some_and(|c| c.settings.is_first_party);
            if !first_party {
                return Err(MgmtError::Forbidden {
                    message: "Only first-party applications may link accounts.".into(),
                    code: "insufficient_scope",
                });
            }
            linked_by_token(&state, &caller, &token)?
        }
        None => {
            caller.require_any(&["update:users"])?;
            linked_by_identity(&state, body).await?
        }
    };
    let primary = find(&state, &id).await?;
    if secondary_id == primary.user_id {
        return Err(bad(
            "user_id",
            "Main identity and the new one are the same.",
        ));
    }
    let secondary = state
        .stores
        .users
        .user(&UserId::from(secondary_id))
        .await?
        .ok_or_else(gone)?;
    // A blocked account links to nothing, on either side: unlinking recreates the secondary
    // unblocked, so linking would launder the block. (The store checks again under its lock.)
    if primary.blocked || secondary.blocked {
        return Err(MgmtError::BadRequest {
            message: BLOCKED_LINK.into(),
            code: "invalid_body",
        });
    }
    super::admins::check_link(&primary, &secondary)?;
    if secondary.identities.len() != 1 {
        return Err(bad(
            "user_id",
            "the user to link has linked identities of its own; unlink them first",
        ));
    }
    match state
        .stores
        .users
        .link_identity(
            &primary.user_id,
            &secondary.user_id,
            &profile_data(&secondary),
        )
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(gone()),
        Err(StoreError::Conflict(m)) => return Err(MgmtError::conflict(&m)),
        Err(e) => return Err(e.into()),
    }
    let linked = find(&state, &primary.user_id).await?;
    let mut r = (StatusCode::CREATED, Json(identities_json(&linked))).into_response();
    r.extensions_mut().insert(AuditDetails(json!({
        "action": "link",
        "primary_user_id": primary.user_id,
        "secondary_user_id": secondary.user_id,
        "caller": caller.sub,
    })));
    Ok(r)
}

/// `DELETE /users/{id}/identities/{provider}/{user_id}`: 200 with the identities left; the
/// identity becomes `{provider}|{user_id}` again, a user without metadata.
pub async fn unlink(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, provider, identity_id)): Path<(String, String, String)>,
) -> Result<Response, MgmtError> {
    authorize(
        &caller,
        &id,
        &["update:users"],
        "update:current_user_identities",
    )?;
    let primary = find(&state, &id).await?;
    let position = primary
        .identities
        .iter()
        .position(|i| i.provider == provider && i.user_id == identity_id)
        .ok_or_else(|| {
            MgmtError::not_found("The identity does not exist.", "inexistent_identity")
        })?;
    if position == 0 {
        return Err(bad("user_id", "Main identity cannot be removed"));
    }
    let identity = &primary.identities[position];
    let p = &identity.profile_data;
    let text = |k: &str| p[k].as_str().map(str::to_owned);
    let mut profile = Map::new();
    for k in PROFILE_KEYS {
        if let Some(val) = p.get(*k).filter(|v| !v.is_null()) {
            profile.insert((*k).into(), val.clone());
        }
    }
    let standalone_identity = Identity {
        profile_data: json!({}),
        ..identity.clone()
    };
    let mut standalone = User::new(
        standalone_identity,
        text("email"),
        text("username"),
        text("phone_number"),
        profile,
        state.clock.now(),
    );
    standalone.email_verified = p["email_verified"].as_bool().unwrap_or(false);
    standalone.phone_verified = p["phone_verified"].as_bool().unwrap_or(false);
    match state
        .stores
        .users
        .unlink_identity(&primary.user_id, &standalone)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => {
            return Err(MgmtError::not_found(
                "The identity does not exist.",
                "inexistent_identity",
            ));
        }
        Err(StoreError::Conflict(_)) => {
            return Err(MgmtError::conflict(&format!(
                "a user {} already exists",
                standalone.user_id
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let left = find(&state, &primary.user_id).await?;
    let mut r = Json(identities_json(&left)).into_response();
    r.extensions_mut().insert(AuditDetails(json!({
        "action": "unlink",
        "primary_user_id": primary.user_id,
        "secondary_user_id": standalone.user_id,
        "caller": caller.sub,
    })));
    Ok(r)
}
