//! `/api/v2/users` and `/api/v2/users-by-email`: profiles, identities, search, Auth0's
//! PATCH semantics, blocking and deletion.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::connection::Connection;
use gatehouse_core::ids;
use gatehouse_core::metadata;
use gatehouse_core::password_policy::PasswordPolicy;
use gatehouse_core::passwordless::{is_e164, normalize_email};
use gatehouse_core::store::StoreError;
use gatehouse_core::user::{Identity, User};
use gatehouse_core::user_search::{self, UserSort};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::auth::Caller;
use super::body::{MgmtJson, MgmtQuery};
use super::error::MgmtError;
use super::page::{PageQuery, envelope, parse_bool};
use super::validate::{self as v, bad};
use crate::AppState;

/// Auth0 pages through at most the first 1000 matches.
const MAX_RESULTS: i64 = 1000;

const CREATE_PROPERTIES: &[&str] = &[
    "connection",
    "email",
    "phone_number",
    "user_metadata",
    "blocked",
    "email_verified",
    "phone_verified",
    "app_metadata",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "user_id",
    "password",
    "verify_email",
    "username",
];

const UPDATE_PROPERTIES: &[&str] = &[
    "blocked",
    "email_verified",
    "email",
    "phone_number",
    "phone_verified",
    "user_metadata",
    "app_metadata",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "verify_email",
    "verify_phone_number",
    "password",
    "connection",
    "client_id",
    "username",
];

/// Root profile attributes kept in the `profile` document, with Auth0's length limits.
const PROFILE_FIELDS: &[(&str, usize)] = &[
    ("name", 300),
    ("nickname", 300),
    ("given_name", 150),
    ("family_name", 150),
    ("picture", 2000),
];

fn not_found() -> MgmtError {
    MgmtError::not_found("The user does not exist.", "inexistent_user")
}

fn iso(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The user's identities as Auth0 shows them: primary first, secondaries with their
/// `profileData`.
pub fn identities_json(u: &User) -> Value {
    u.identities
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut o = json!({
                "connection": id.connection,
                "user_id": id.user_id,
                "provider": id.provider,
                "isSocial": id.is_social,
            });
            if i > 0 {
                o["profileData"] = id.profile_data.clone();
            }
            o
        })
        .collect()
}

/// The Auth0 representation.
pub fn user_json(u: &User) -> Value {
    let mut out = Map::new();
    out.insert("user_id".into(), json!(u.user_id));
    if let Some(e) = &u.email {
        out.insert("email".into(), json!(e));
        out.insert("email_verified".into(), json!(u.email_verified));
    }
    if let Some(n) = &u.username {
        out.insert("username".into(), json!(n));
    }
    if let Some(p) = &u.phone_number {
        out.insert("phone_number".into(), json!(p));
        out.insert("phone_verified".into(), json!(u.phone_verified));
    }
    for (k, val) in &u.profile {
        out.insert(k.clone(), val.clone());
    }
    out.insert("created_at".into(), json!(iso(u.created_at)));
    out.insert("updated_at".into(), json!(iso(u.updated_at)));
    out.insert("identities".into(), identities_json(u));
    out.insert("app_metadata".into(), Value::Object(u.app_metadata.clone()));
    out.insert(
        "user_metadata".into(),
        Value::Object(u.user_metadata.clone()),
    );
    out.insert("logins_count".into(), json!(u.logins_count));
    if let Some(t) = u.last_login {
        out.insert("last_login".into(), json!(iso(t)));
    }
    out.insert("blocked".into(), json!(u.blocked));
    Value::Object(out)
}

/// A plausible email address: one `@`, something on each side, no spaces.
fn email(property: &str, value: &Value) -> Result<String, MgmtError> {
    let e = v::string(property, value, 254)?;
    normalize_email(&e)
        .ok_or_else(|| bad(property, "Object didn't pass validation for format email"))
}

fn phone(property: &str, value: &Value) -> Result<String, MgmtError> {
    let p = v::string(property, value, 16)?;
    if !is_e164(&p) {
        return Err(bad(
            property,
            "String does not match pattern: ^\\+[0-9]{1,15}$",
        ));
    }
    Ok(p)
}

fn username(property: &str, value: &Value) -> Result<String, MgmtError> {
    let u = v::non_empty(property, value, 128)?;
    if !u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+-.!#$'^`~@".contains(c))
    {
        return Err(bad(
            property,
            "username contains characters that are not allowed",
        ));
    }
    Ok(u)
}

fn metadata_object(which: &str, value: &Value) -> Result<Map<String, Value>, MgmtError> {
    let m = v::object(which, value)?.clone();
    metadata::check(which, &m).map_err(|e| bad(which, e))?;
    Ok(m)
}

pub(super) async fn connection_named(
    state: &AppState,
    name: &str,
) -> Result<Connection, MgmtError> {
    state
        .stores
        .connections
        .connection_by_name(name)
        .await?
        .ok_or_else(|| {
            MgmtError::invalid_body(format!(
                "'The connection does not exist' on property connection ({name})."
            ))
        })
}

fn password_policy(c: &Connection) -> PasswordPolicy {
    PasswordPolicy::parse(c.options.get("passwordPolicy").and_then(Value::as_str))
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
    state.stores.users.user(id).await?.ok_or_else(not_found)
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
    MgmtQuery(q): MgmtQuery<ListQuery>,
) -> Result<Json<Value>, MgmtError> {
    if let Some(engine) = q.search_engine.as_deref()
        && !matches!(engine, "v2" | "v3")
    {
        return Err(MgmtError::invalid_query("search_engine must be v3"));
    }
    let page = q.page.page()?;
    if page.offset + i64::from(page.limit) > MAX_RESULTS {
        return Err(MgmtError::invalid_query(
            "You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation",
        ));
    }
    let totals = q.page.include_totals()?;
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
    let users = state
        .stores
        .users
        .search_users(query.as_ref(), sort, page)
        .await?;
    let total = if totals {
        state
            .stores
            .users
            .count_users(query.as_ref())
            .await?
            .min(MAX_RESULTS)
    } else {
        0
    };
    let mut items: Vec<Value> = users.iter().map(user_json).collect();
    v::select_fields(&mut items, q.fields.as_deref(), include);
    Ok(Json(envelope("users", items, page, total, totals)))
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
        .map(user_json)
        .collect();
    v::select_fields(&mut items, q.fields.as_deref(), include);
    Ok(Json(Value::Array(items)))
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
    let mut items = vec![user_json(&find(&state, &id).await?)];
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
pub(super) fn new_user(
    connection: &Connection,
    body: &Map<String, Value>,
) -> Result<User, MgmtError> {
    let provider = provider_of(connection)?;
    let get = |k: &str| body.get(k).filter(|v| !v.is_null());
    let email = get("email").map(|e| email("email", e)).transpose()?;
    let phone_number = get("phone_number")
        .map(|p| phone("phone_number", p))
        .transpose()?;
    let uname = get("username")
        .map(|u| username("username", u))
        .transpose()?;
    let requires_username = connection.options.get("requires_username") == Some(&json!(true));
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
    let bare_id = match get("user_id") {
        Some(id) => {
            let id = v::non_empty("user_id", id, 255)?;
            if !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(bad("user_id", "use letters, digits, '_' and '-' only"));
            }
            id
        }
        None => ids::new_database_user_id(),
    };
    let mut profile = Map::new();
    for (field, max) in PROFILE_FIELDS {
        if let Some(val) = get(field) {
            let text = if *field == "picture" {
                v::url(field, val, false)?
            } else {
                v::string(field, val, *max)?
            };
            profile.insert((*field).to_owned(), json!(text));
        }
    }
    let flag = |k: &str| get(k).map(|b| v::boolean(k, b)).transpose();
    let user_metadata = get("user_metadata")
        .map(|m| metadata_object("user_metadata", m))
        .transpose()?
        .unwrap_or_default();
    let app_metadata = get("app_metadata")
        .map(|m| metadata_object("app_metadata", m))
        .transpose()?
        .unwrap_or_default();
    let identity = Identity {
        provider: provider.to_owned(),
        connection: connection.name.clone(),
        user_id: bare_id,
        is_social: false,
        profile_data: json!({}),
        password_hash: None,
    };
    // Auth0's default names come with it. (Auth0 also sets a Gravatar picture; we do not send
    // emails to Gravatar.)
    let mut user = User::new(
        identity,
        email,
        uname,
        phone_number,
        profile,
        OffsetDateTime::now_utc(),
    );
    user.email_verified = flag("email_verified")?.unwrap_or(false);
    user.phone_verified = flag("phone_verified")?.unwrap_or(false);
    user.blocked = flag("blocked")?.unwrap_or(false);
    user.user_metadata = user_metadata;
    user.app_metadata = app_metadata;
    Ok(user)
}

/// `POST /users`: 201; 409 if the email, username or phone is taken in the connection.
pub async fn create(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Response, MgmtError> {
    v::only_known(&body, CREATE_PROPERTIES)?;
    let conn_name = v::non_empty(
        "connection",
        body.get("connection")
            .ok_or_else(|| v::missing("connection"))?,
        128,
    )?;
    let connection = connection_named(&state, &conn_name).await?;
    let mut user = new_user(&connection, &body)?;
    let password = body.get("password").filter(|v| !v.is_null());
    if user.identities[0].provider == "auth0" {
        let password = v::string(
            "password",
            password.ok_or_else(|| v::missing("password"))?,
            1000,
        )?;
        password_policy(&connection)
            .check(&password)
            .map_err(|m| bad("password", m))?;
        user.identities[0].password_hash = Some(
            state
                .passwords
                .hash(password)
                .await
                .map_err(MgmtError::Internal)?,
        );
    } else if password.is_some() {
        return Err(bad("password", "passwordless connections take no password"));
    }
    // Auth0 sends a verification email by default when the address is not verified yet.
    let verify_email = match body.get("verify_email").filter(|v| !v.is_null()) {
        Some(b) => v::boolean("verify_email", b)?,
        None => !user.email_verified,
    };
    state
        .stores
        .users
        .insert_user(&user)
        .await
        .map_err(conflict)?;
    if verify_email && user.email.is_some() && user.identities[0].provider == "auth0" {
        crate::account_mail::verification::send_verification(&state, &user).await;
    }
    Ok((StatusCode::CREATED, Json(user_json(&user))).into_response())
}

/// The current-user scope that allows this `user_metadata` change, if the caller has one:
/// `update:current_user_metadata` for any change, `create:current_user_metadata` for setting
/// keys, `delete:current_user_metadata` for removing them (`null`).
fn own_metadata_scope(caller: &Caller, body: &Map<String, Value>) -> Option<&'static str> {
    if caller.has("update:current_user_metadata") {
        return Some("update:current_user_metadata");
    }
    let changes = body.get("user_metadata")?.as_object()?;
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

/// `PATCH /users/{id}`: root attributes replaced (`null` removes them), metadata merged one
/// level deep (`null` deletes a key), a new password hashed under the connection's policy.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    MgmtJson(body): MgmtJson<Map<String, Value>>,
) -> Result<Json<Value>, MgmtError> {
    v::only_known(&body, UPDATE_PROPERTIES)?;
    let only_app_metadata = body.keys().all(|k| k == "app_metadata");
    let only_user_metadata = body.keys().all(|k| k == "user_metadata");
    if !caller.has("update:users") {
        let app_only = only_app_metadata && caller.has("update:users_app_metadata");
        if only_user_metadata && let Some(own) = own_metadata_scope(&caller, &body) {
            authorize(&caller, &id, &[], own)?;
        } else if !app_only {
            return Err(MgmtError::InsufficientScope(vec![
                "update:users",
                "update:users_app_metadata",
                "update:current_user_metadata",
                "create:current_user_metadata",
                "delete:current_user_metadata",
            ]));
        }
    }
    let mut user = find(&state, &id).await?;
    if let Some(conn) = body.get("connection").filter(|c| !c.is_null()) {
        let name = v::string("connection", conn, 128)?;
        if user.identities.first().map(|i| i.connection.as_str()) != Some(name.as_str()) {
            return Err(bad(
                "connection",
                "only the primary identity's attributes can be changed",
            ));
        }
    }
    let mut email_changed = false;
    let mut password_changed = false;
    for (key, value) in &body {
        let key = key.as_str();
        match key {
            "connection" | "client_id" | "verify_email" | "verify_phone_number" => {
                if !value.is_null() && key.starts_with("verify") {
                    v::boolean(key, value)?;
                }
            }
            "email" => {
                let new = if value.is_null() {
                    None
                } else {
                    Some(email(key, value)?)
                };
                email_changed = new != user.email;
                user.email = new;
            }
            "phone_number" => {
                user.phone_number = if value.is_null() {
                    None
                } else {
                    Some(phone(key, value)?)
                };
            }
            "username" => {
                user.username = if value.is_null() {
                    None
                } else {
                    Some(username(key, value)?)
                };
            }
            "email_verified" => user.email_verified = v::boolean(key, value)?,
            "phone_verified" => user.phone_verified = v::boolean(key, value)?,
            "blocked" => user.blocked = v::boolean(key, value)?,
            "user_metadata" | "app_metadata" => {
                let target = if key == "user_metadata" {
                    &mut user.user_metadata
                } else {
                    &mut user.app_metadata
                };
                if value.is_null() {
                    target.clear();
                } else {
                    let patch = v::object(key, value)?;
                    metadata::merge(target, patch);
                    metadata::check(key, target).map_err(|e| bad(key, e))?;
                }
            }
            "password" => {
                let primary = user
                    .identities
                    .first()
                    .ok_or_else(|| MgmtError::Internal(anyhow::anyhow!("user without identity")))?;
                if primary.provider != "auth0" {
                    return Err(bad(key, "only database users have passwords"));
                }
                let password = v::string(key, value, 1000)?;
                let connection = connection_named(&state, &primary.connection).await?;
                password_policy(&connection)
                    .check(&password)
                    .map_err(|m| bad(key, m))?;
                let hash = state
                    .passwords
                    .hash(password)
                    .await
                    .map_err(MgmtError::Internal)?;
                if let Some(primary) = user.identities.first_mut() {
                    primary.password_hash = Some(hash);
                    password_changed = true;
                }
            }
            field => {
                let max = PROFILE_FIELDS
                    .iter()
                    .find(|(f, _)| *f == field)
                    .map_or(300, |(_, m)| *m);
                if value.is_null() {
                    user.profile.remove(field);
                } else {
                    let text = if field == "picture" {
                        v::url(field, value, false)?
                    } else {
                        v::string(field, value, max)?
                    };
                    user.profile.insert(field.to_owned(), json!(text));
                }
            }
        }
    }
    // A new address is unverified unless the same request says otherwise (Auth0's rule).
    if email_changed && !body.contains_key("email_verified") {
        user.email_verified = false;
    }
    user.updated_at = OffsetDateTime::now_utc();
    state
        .stores
        .users
        .update_user(&user)
        .await
        .map_err(conflict)?;
    // Blocking, or a new password, ends every session and refresh token of the user: a
    // block must stop the SSO session too, and a password reset must lock out whoever
    // logged in with the old one (account pre-hijacking).
    if password_changed || (user.blocked && body.contains_key("blocked")) {
        crate::user_access::end_user_access(&state, &user.user_id, None).await?;
    }
    Ok(Json(user_json(&user)))
}

/// `DELETE /users/{id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    authorize(&caller, &id, &["delete:users"], "delete:current_user")?;
    state
        .stores
        .users
        .delete_user(&id)
        .await
        .map_err(|e| MgmtError::or_missing(e, not_found))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /user-blocks/{id}`: lifts brute-force blocks on a user (every address); 204.
/// (`PATCH blocked: false` does not, as in Auth0: it is a different kind of block.)
pub async fn unblock(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, MgmtError> {
    find(&state, &id).await?;
    state.stores.users.clear_login_failures(&id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
