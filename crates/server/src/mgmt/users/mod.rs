//! `/api/v2/users` and `/api/v2/users-by-email`: profiles, identities, search, Auth0's
//! PATCH semantics, blocking and deletion.

use crate::ids;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::connection::Connection;
use gatehouse_core::id::{ConnectionName, UserId};
use gatehouse_core::password_policy::PasswordPolicy;
use gatehouse_core::store::StoreError;
use gatehouse_core::user::{Identity, User};
use gatehouse_core::user_search::{self, UserSort};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::auth::Caller;
use super::body::{MgmtJson, MgmtQuery, typed};
use super::error::MgmtError;
use super::page::{Listing, PageQuery, parse_bool};
use super::validate::{self as v, bad};
use crate::AppState;

pub mod body;
pub mod view;

pub use body::{NewUser, UserCreate, UserPatch};
use body::{bare_user_id, email, phone, username};
pub use view::{IdentityView, UserView};

/// Auth0 pages through at most the first 1000 matches.
const MAX_RESULTS: i64 = 1000;

fn not_found() -> MgmtError {
    MgmtError::not_found("The user does not exist.", "inexistent_user")
}

/// The user's identities as Auth0 shows them: primary first, secondaries with their
/// `profileData`.
pub fn identities_json(u: &User) -> Vec<IdentityView> {
    view::identities(u)
}

pub(super) async fn connection_named(
    state: &AppState,
    name: &str,
) -> Result<Connection, MgmtError> {
    state
        .stores
        .connections
        .connection_by_name(&ConnectionName::from(name))
        .await?
        .ok_or_else(|| {
            MgmtError::invalid_body(format!(
                "'The connection does not exist' on property connection ({name})."
            ))
        })
}

fn password_policy(c: &Connection) -> PasswordPolicy {
    c.options
        .database()
        .map_or(PasswordPolicy::Good, |d| d.policy())
}

pub(super) fn conflict(e: StoreError) -> MgmtError {
    match e {
        StoreError::Conflict(_) => MgmtError::Conflict {
            message: "The user already exists.".into(),
            code: "auth0_idp_error",
        },
        other => other.into(),
    }
}

/// The current-user scopes apply only to the user the token is about.
pub(super) fn authorize(
    caller: &Caller,
    id: &str,
    any: &[&'static str],
    own: &'static str,
) -> Result<(), MgmtError> {
    if any.iter().any(|s| caller.has(s)) {
        return Ok(());
    }
    if caller.has(own) {
        if caller.sub == id {
            return Ok(());
        }
        return Err(MgmtError::Forbidden {
            message: "User to be acted on does not match subject in bearer token.".into(),
            code: "insufficient_scope",
        });
    }
    let mut all = any.to_vec();
    all.push(own);
    Err(MgmtError::InsufficientScope(all))
}

pub(super) async fn find(state: &AppState, id: &str) -> Result<User, MgmtError> {
    state
        .stores
        .users
        .user(&UserId::from(id))
        .await?
        .ok_or_else(not_found)
}

/// Query of `GET /users`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    q: Option<String>,
    sort: Option<String>,
    fields: Option<String>,
    include_fields: Option<String>,
    search_engine: Option<String>,
}

fn field_choice(include: Option<&str>) -> Result<bool, MgmtError> {
    match include {
        None => Ok(true),
        other => parse_bool("include_fields", other),
    }
}

/// `GET /users`: all users, or those matching `q`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    MgmtQuery(q): MgmtQuery<ListQuery>,
) -> Result<Json<Value>, MgmtError> {
    if let Some(engine) = q.search_engine.as_deref()
        && !matches!(engine, "v2" | "v3")
    {
        return Err(MgmtError::invalid_query("search_engine must be v3"));
    }
    let listing = Listing::offset(&q.page)?;
    let page = listing.page();
    if page.offset + i64::from(page.limit) > MAX_RESULTS {
        return Err(MgmtError::invalid_query(
            "You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation",
        ));
    }
    let query =
        q.q.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(user_search::parse)
            .transpose()
            .map_err(MgmtError::invalid_query)?;
    let sort = q
        .sort
        .as_deref()
        .map(UserSort::parse)
        .transpose()
        .map_err(MgmtError::invalid_query)?
        .unwrap_or_default();
    let include = field_choice(q.include_fields.as_deref())?;
    let users = &state.stores.users;
    let rows = users.search_users(query.as_ref(), sort, page).await?;
    let mut items: Vec<Value> = rows.iter().map(|u| shown_to(&caller, &state, u)).collect();
    v::select_fields(&mut items, q.fields.as_deref(), include);
    let total = async { Ok(users.count_users(query.as_ref()).await?.min(MAX_RESULTS)) };
    listing.answer("users", items, total).await
}

/// Query of `GET /users-by-email` and `GET /users/{id}`.
#[derive(Debug, Deserialize)]
pub struct FieldsQuery {
    email: Option<String>,
    fields: Option<String>,
    include_fields: Option<String>,
}

/// `GET /users-by-email?email=`: a bare array.
pub async fn by_email(
    State(state): State<AppState>,
    MgmtQuery(q): MgmtQuery<FieldsQuery>,
) -> Result<Json<Value>, MgmtError> {
    let email = q
        .email
        .as_deref()
        .filter(|e| !e.is_empty())
        .ok_or_else(|| MgmtError::invalid_query("Missing required property: email"))?;
    let include = field_choice(q.include_fields.as_deref())?;
    let mut items: Vec<Value> = state
        .stores
        .users
        .users_by_email(email)
        .await?
        .iter()
        .map(|u| UserView::new(u).into_json())
        .collect();
    v::select_fields(&mut items, q.fields.as_deref(), include);
    Ok(Json(Value::Array(items)))
}

/// A user as `caller` may see it: with the identity providers' tokens for holders of
/// `read:user_idp_tokens`, as Auth0 shows them.
fn shown_to(caller: &Caller, state: &AppState, user: &User) -> Value {
    let view = UserView::new(user);
    if caller.has("read:user_idp_tokens") {
        view.with_idp_tokens(user, &state.sealer).into_json()
    } else {
        view.into_json()
    }
}

/// `GET /users/{id}` (the id raw or percent-encoded).
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MgmtQuery(q): MgmtQuery<FieldsQuery>,
) -> Result<Json<Value>, MgmtError> {
    authorize(&caller, &id, &["read:users"], "read:current_user")?;
    let include = field_choice(q.include_fields.as_deref())?;
    let user = find(&state, &id).await?;
    let mut items = vec![shown_to(&caller, &state, &user)];
    v::select_fields(&mut items, q.fields.as_deref(), include);
    Ok(Json(items.remove(0)))
}

/// The provider of users made in `connection` (`auth0`, `email` or `sms`).
fn provider_of(connection: &Connection) -> Result<&'static str, MgmtError> {
    match connection.strategy.as_str() {
        "auth0" => Ok("auth0"),
        "email" => Ok("email"),
        "sms" => Ok("sms"),
        other => Err(bad(
            "connection",
            format!("users cannot be created in a connection of strategy {other}"),
        )),
    }
}

/// A new user of `connection` from an Auth0 user body (`POST /users`, or one entry of a
/// users import), without credentials; every attribute validated.
pub(super) fn new_user(connection: &Connection, body: NewUser) -> Result<User, MgmtError> {
    let provider = provider_of(connection)?;
    let email = body
        .email
        .as_deref()
        .map(|e| email("email", e))
        .transpose()?;
    let phone_number = body
        .phone_number
        .as_deref()
        .map(|p| phone("phone_number", p))
        .transpose()?;
    let uname = body
        .username
        .as_deref()
        .map(|u| username("username", u))
        .transpose()?;
    let requires_username = connection
        .options
        .database()
        .is_some_and(|d| d.username_required());
    match provider {
        "auth0" => {
            if email.is_none() && !(requires_username && uname.is_some()) {
                return Err(v::missing("email"));
            }
            if requires_username && uname.is_none() {
                return Err(v::missing("username"));
            }
        }
        "email" if email.is_none() => return Err(v::missing("email")),
        "sms" if phone_number.is_none() => return Err(v::missing("phone_number")),
        _ => {}
    }
    let bare_id = match body.user_id.as_deref() {
        Some(id) => bare_user_id(id)?,
        None => ids::new_database_user_id(),
    };
    let profile = body.profile()?;
    body.check_metadata()?;
    let identity = Identity {
        provider: provider.to_owned(),
        connection: connection.name.clone(),
        user_id: bare_id,
        is_social: false,
        profile_data: json!({}),
        password_hash: None,
        idp_tokens: None,
    };
    // Auth0's default names come with it. (Auth0 also sets a Gravatar picture; we do not send
    // emails to Gravatar.)
    let mut user = User::new(
        identity,
        email,
        uname,
        phone_number,
        profile,
        time::OffsetDateTime::now_utc(),
    );
    user.email_verified = body.email_verified.unwrap_or(false);
    user.phone_verified = body.phone_verified.unwrap_or(false);
    user.blocked = body.blocked.unwrap_or(false);
    user.user_metadata = body.user_metadata.unwrap_or_default();
    user.app_metadata = body.app_metadata.unwrap_or_default();
    Ok(user)
}

/// `POST /users`: 201; 409 if the email, username or phone is taken in the connection.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let body: UserCreate = typed(body)?;
    v::max_chars("connection", &body.connection, 128)?;
    v::not_blank("connection", &body.connection)?;
    super::admins::check_connection(&state, &caller, &body.connection).await?;
    let connection = connection_named(&state, &body.connection).await?;
    let password = body.password.clone();
    let verify_email = body.verify_email;
    let mut user = new_user(&connection, body.attributes())?;
    if user.identities[0].strategy().is_database() {
        let password = password.ok_or_else(|| v::missing("password"))?;
        v::max_chars("password", &password, 1000)?;
        user.identities[0].password_hash = Some(hashed(&state, &connection, password).await?);
    } else if password.is_some() {
        return Err(bad("password", "passwordless connections take no password"));
    }
    // Auth0 sends a verification email by default when the address is not verified yet.
    let verify_email = verify_email.unwrap_or(!user.email_verified);
    state
        .stores
        .users
        .insert_user(&user)
        .await
        .map_err(conflict)?;
    if verify_email && user.email.is_some() && user.identities[0].strategy().is_database() {
        crate::account_mail::verification::send_verification(&state, &user).await;
    }
    Ok((StatusCode::CREATED, Json(UserView::new(&user))).into_response())
}

/// `password` hashed, if it passes `connection`'s policy.
async fn hashed(
    state: &AppState,
    connection: &Connection,
    password: String,
) -> Result<String, MgmtError> {
    password_policy(connection)
        .check(&password)
        .map_err(|m| bad("password", m))?;
    state
        .passwords
        .hash(password)
        .await
        .map_err(MgmtError::Internal)
}

/// The current-user scope that allows this `user_metadata` change, if the caller has one:
/// `update:current_user_metadata` for any change, `create:current_user_metadata` for setting
/// keys, `delete:current_user_metadata` for removing them (`null`).
fn own_metadata_scope(caller: &Caller, patch: &UserPatch) -> Option<&'static str> {
    if caller.has("update:current_user_metadata") {
        return Some("update:current_user_metadata");
    }
    let changes = patch.user_metadata.as_ref()?.as_ref()?;
    let sets = changes.values().any(|v| !v.is_null());
    let removes = changes.values().any(Value::is_null);
    match (sets, removes) {
        (true, false) if caller.has("create:current_user_metadata") => {
            Some("create:current_user_metadata")
        }
        (false, true) if caller.has("delete:current_user_metadata") => {
            Some("delete:current_user_metadata")
        }
        _ => None,
    }
}

/// Who may make this change: `update:users` any; `update:users_app_metadata` one that only
/// touches `app_metadata`; a current-user metadata scope one that only touches the caller's
/// own `user_metadata`.
fn authorize_patch(
    caller: &Caller,
    id: &str,
    keys: &[String],
    patch: &UserPatch,
) -> Result<(), MgmtError> {
    if caller.has("update:users") {
        return Ok(());
    }
    let only = |name: &str| keys.iter().all(|k| k == name);
    if only("app_metadata") && caller.has("update:users_app_metadata") {
        return Ok(());
    }
    if only("user_metadata")
        && let Some(own) = own_metadata_scope(caller, patch)
    {
        return authorize(caller, id, &[], own);
    }
    Err(MgmtError::InsufficientScope(vec![
        "update:users",
        "update:users_app_metadata",
        "update:current_user_metadata",
        "create:current_user_metadata",
        "delete:current_user_metadata",
    ]))
}

/// Sets the primary identity's password, under its connection's policy.
async fn set_password(
    state: &AppState,
    user: &mut User,
    password: String,
) -> Result<(), MgmtError> {
    v::max_chars("password", &password, 1000)?;
    let primary = user
        .identities
        .first_mut()
        .ok_or_else(|| MgmtError::Internal(anyhow::anyhow!("user without identity")))?;
    if !primary.strategy().is_database() {
        return Err(bad("password", "only database users have passwords"));
    }
    let connection = connection_named(state, &primary.connection).await?;
    primary.password_hash = Some(hashed(state, &connection, password).await?);
    Ok(())
}

/// `PATCH /users/{id}`: root attributes replaced (`null` removes them), metadata merged one
/// level deep (`null` deletes a key), a new password hashed under the connection's policy.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Json<UserView>, MgmtError> {
    let keys: Vec<String> = body.keys().cloned().collect();
    let mut patch: UserPatch = typed(Value::Object(body))?;
    authorize_patch(&caller, &id, &keys, &patch)?;
    let mut user = find(&state, &id).await?;
    super::admins::check_user(&state, &caller, &user).await?;
    let password = patch.password.take();
    let blocks = patch.blocked == Some(true);
    patch.apply(&mut user)?;
    let password_changed = password.is_some();
    if let Some(password) = password {
        set_password(&state, &mut user, password).await?;
    }
    user.updated_at = state.clock.now();
    state
        .stores
        .users
        .update_user(&user)
        .await
        .map_err(conflict)?;
    // Blocking, or a new password, ends every session and refresh token of the user: a
    // block must stop the SSO session too, and a password reset must lock out whoever
    // logged in with the old one (account pre-hijacking).
    if password_changed || blocks {
        crate::user_access::end_user_access(&state, &user.user_id, None).await?;
    }
    Ok(Json(UserView::new(&user)))
}

/// `DELETE /users/{id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    authorize(&caller, &id, &["delete:users"], "delete:current_user")?;
    if let Some(user) = state.stores.users.user(&UserId::from(id.as_str())).await? {
        super::admins::check_user(&state, &caller, &user).await?;
    }
    MgmtError::deleted(
        state.stores.users.delete_user(&UserId::from(id)).await,
        not_found,
        StatusCode::NO_CONTENT,
    )
}

/// `DELETE /user-blocks/{id}`: lifts brute-force blocks on a user (every address); 204.
/// (`PATCH blocked: false` does not, as in Auth0: it is a different kind of block.)
pub async fn unblock(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    find(&state, &id).await?;
    state
        .stores
        .users
        .clear_login_failures(&UserId::from(id), None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
