//! `/api/v2/jobs`: users imports (`POST /jobs/users-imports`, Auth0's bulk import of a JSON
//! file of users with bcrypt or Argon2 hashes) and reading a job's outcome and errors.
//!
//! Auth0 runs imports in the background; ours are small (500 KB at most, no hashing, since
//! only hashes are imported) and run before the response, so a job is `completed` when it is
//! first seen and no replica can lose one half done.

use crate::ids;
use axum::Json;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::connection::Connection;
use gatehouse_core::job::{ImportProblem, ImportSummary, Job, MAX_IMPORT_BYTES, is_bcrypt_hash};
use gatehouse_core::store::StoreError;
use gatehouse_core::user::User;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use super::auth::Caller;
use super::body::{MgmtJson, typed};
use super::error::MgmtError;
use super::users::{NewUser, new_user};
use crate::AppState;

/// The attributes an imported user may have (Auth0's bulk import schema, less the
/// enrollments and hash algorithms we do not take).
const IMPORT_PROPERTIES: &[&str] = &[
    "email",
    "email_verified",
    "user_id",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "blocked",
    "user_metadata",
    "app_metadata",
    "password_hash",
    "custom_password_hash",
];

/// The most users one file may hold (the file size limit comes first for rich profiles).
const MAX_USERS: usize = 500_000;

/// A users-import job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// `job_...`.
    pub id: String,
    /// `users_import` or `verification_email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `completed` once seen.
    pub status: String,
    /// The connection imported into (imports only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub connection_id: String,
    /// When it ran (RFC 3339).
    pub created_at: String,
    /// Counts of inserted, updated, failed and total users (imports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub summary: Option<Value>,
    /// The caller's reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// An export's file format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// An export's most users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// An export's fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub fields: Option<Vec<Value>>,
    /// An export's one-time download link, while it works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl JobView {
    /// The view of `job`.
    pub fn new(job: &Job) -> Self {
        JobView {
            id: job.id.clone(),
            kind: job.kind.clone(),
            status: job.status.clone(),
            connection_id: job.connection_id.clone(),
            created_at: job.created_at.format(&Rfc3339).unwrap_or_default(),
            summary: (job.kind == IMPORT_KIND).then(|| json!(job.summary)),
            external_id: job.external_id.clone(),
            format: None,
            limit: None,
            fields: None,
            location: None,
        }
    }
}

/// The kind of a users import job.
const IMPORT_KIND: &str = "users_import";
/// The kind of a verification email job.
const VERIFICATION_KIND: &str = "verification_email";

fn bad_form(what: impl std::fmt::Display) -> MgmtError {
    MgmtError::invalid_body(what)
}

/// The fields of the multipart form.
#[derive(Default)]
struct ImportForm {
    users: Option<Vec<u8>>,
    connection_id: Option<String>,
    upsert: bool,
    external_id: Option<String>,
}

async fn read_form(mut multipart: Multipart) -> Result<ImportForm, MgmtError> {
    let mut form = ImportForm::default();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| bad_form(format!("unreadable multipart body: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let mut data = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| bad_form(format!("unreadable multipart body: {e}")))?
        {
            data.extend_from_slice(&chunk);
            if data.len() > MAX_IMPORT_BYTES {
                return Err(MgmtError::TooLarge(format!(
                    "The users file must be at most {} MB",
                    MAX_IMPORT_BYTES / (1024 * 1024)
                )));
            }
        }
        let text = || {
            String::from_utf8(data.clone())
                .map(|s| s.trim().to_owned())
                .map_err(|_| bad_form(format!("'{name}' must be text")))
        };
        match name.as_str() {
            "users" => form.users = Some(data.clone()),
            "connection_id" => form.connection_id = Some(text()?),
            "external_id" => form.external_id = Some(text()?).filter(|s| !s.is_empty()),
            "upsert" => form.upsert = parse_flag("upsert", &text()?)?,
            "send_completion_email" => {
                // No completion email is sent: the import is done when the call returns.
                parse_flag("send_completion_email", &text()?)?;
            }
            other => return Err(bad_form(format!("unknown field '{other}'"))),
        }
    }
    Ok(form)
}

fn parse_flag(name: &str, v: &str) -> Result<bool, MgmtError> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad_form(format!("'{name}' must be true or false"))),
    }
}

/// `POST /jobs/users-imports`: 201 with the finished job. `create:users`; with `upsert`,
/// which rewrites existing users as `PATCH /users/{id}` does, `update:users` as well.
pub async fn import_users(
    State(state): State<AppState>,
    caller: Caller,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, MgmtError> {
    let multipart = multipart.map_err(|_| bad_form("expected a multipart/form-data body"))?;
    let form = read_form(multipart).await?;
    if form.upsert {
        caller.require_any(&["update:users"])?;
    }
    let connection_id = form
        .connection_id
        .ok_or_else(|| super::validate::missing("connection_id"))?;
    let connection = state
        .stores
        .connections
        .connection(&connection_id)
        .await?
        .filter(|c| c.strategy.is_database())
        .ok_or_else(|| bad_form("connection_id must name a database connection"))?;
    // An import could otherwise make an administrator with a password hash it knows.
    super::admins::check_connection(&state, &caller, connection.name.as_str()).await?;
    let file = form
        .users
        .ok_or_else(|| super::validate::missing("users"))?;
    // The whole file must be one JSON array (checked without building it), then users are
    // read one at a time in the background.
    let users = super::import_run::array_elements(&file)
        .map_err(|e| bad_form(format!("the users file must be a JSON array: {e}")))?;
    if users.len() > MAX_USERS {
        return Err(bad_form(format!(
            "the users file may hold at most {MAX_USERS} users"
        )));
    }
    let slot = state.imports.clone().try_acquire_owned().map_err(|_| {
        MgmtError::TooMany(format!(
            "There are {} users imports running already: try again when one has ended",
            super::import_run::MAX_RUNNING
        ))
    })?;
    let job = Job {
        id: ids::new_job_id(),
        kind: IMPORT_KIND.into(),
        status: "pending".into(),
        connection_id,
        external_id: form.external_id,
        created_at: state.clock.now(),
        summary: ImportSummary {
            total: users.len() as u64,
            ..ImportSummary::default()
        },
        errors: vec![],
        export: None,
    };
    state.stores.jobs.save_job(&job, state.clock.now()).await?;
    let view = JobView::new(&job);
    let run = super::import_run::Run {
        slot,
        job,
        connection,
        file,
        users,
        upsert: form.upsert,
    };
    tokio::spawn(super::import_run::run(state, run));
    // Users change as the job runs: the audit middleware logs the call; the catalog holds
    // no users.
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The fields of a rejected entry kept in the job's errors, to tell which user it was. The
/// rest never is: hashes, a plaintext `password`, `mfa_factors` (TOTP secrets), metadata and
/// the values of unknown properties may all be secrets, and the errors are readable with
/// `read:users`.
const ERROR_FIELDS: &[&str] = &[
    "email",
    "email_verified",
    "user_id",
    "username",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
    "blocked",
];

/// An entry as kept in the job's errors: only [`ERROR_FIELDS`] holding a short string or a
/// boolean (anything else in them could be anything); `null` for an entry that is not an
/// object.
pub(super) fn redact(entry: &Value) -> Value {
    let Some(o) = entry.as_object() else {
        return Value::Null;
    };
    let kept = o
        .iter()
        .filter(|(k, v)| {
            ERROR_FIELDS.contains(&k.as_str())
                && (v.is_boolean() || v.as_str().is_some_and(|s| s.chars().count() <= 2000))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

/// What one entry came to.
pub(super) enum Imported {
    /// A new user.
    Inserted,
    /// An existing user, rewritten (`upsert`).
    Updated,
}

fn problem(code: &str, message: impl Into<String>, path: Option<&str>) -> ImportProblem {
    ImportProblem {
        code: code.into(),
        message: message.into(),
        path: path.map(str::to_owned),
    }
}

/// The password hash of an entry: `password_hash` (bcrypt, as Auth0 takes it) or
/// `custom_password_hash`: `bcrypt`, `argon2` (a PHC string) as they are, every other
/// algorithm of Auth0's list checked and normalised by `passwords::legacy`.
fn imported_hash(entry: &Map<String, Value>) -> Result<Option<String>, ImportProblem> {
    if let Some(h) = entry.get("password_hash").filter(|v| !v.is_null()) {
        let h = h.as_str().unwrap_or_default();
        if !is_bcrypt_hash(h) {
            return Err(problem(
                "INVALID_FORMAT",
                "password_hash must be a bcrypt hash ($2a$, $2b$ or $2y$)",
                Some("password_hash"),
            ));
        }
        return Ok(Some(h.to_owned()));
    }
    let Some(custom) = entry.get("custom_password_hash").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let invalid = |m: &str| problem("INVALID_FORMAT", m, Some("custom_password_hash"));
    let algorithm = custom["algorithm"].as_str().unwrap_or_default();
    let value = custom["hash"]["value"]
        .as_str()
        .ok_or_else(|| invalid("hash.value is required"))?;
    match algorithm {
        "bcrypt" if is_bcrypt_hash(value) => Ok(Some(value.to_owned())),
        "argon2" if value.starts_with("$argon2") && affordable_argon2(value) => {
            Ok(Some(value.to_owned()))
        }
        "bcrypt" | "argon2" => Err(invalid("hash.value is not a valid hash of that algorithm")),
        _ => crate::passwords::legacy::parse(custom)
            .map(Some)
            .map_err(|e| invalid(&e)),
    }
}

/// Whether an Argon2id PHC string parses and costs at most 64 MiB, 10 passes and 4 lanes per
/// verification: every login attempt pays what an imported hash asks for.
fn affordable_argon2(value: &str) -> bool {
    let Ok(hash) = argon2::password_hash::phc::PasswordHash::new(value) else {
        return false;
    };
    argon2::Params::try_from(&hash)
        .is_ok_and(|p| p.m_cost() <= 65_536 && p.t_cost() <= 10 && p.p_cost() <= 4)
}

/// Imports one entry of a users file: the user, or why not; `Err` when storage failed.
pub(super) async fn import_one(
    state: &AppState,
    connection: &Connection,
    entry: &Value,
    upsert: bool,
) -> Result<Result<Imported, ImportProblem>, MgmtError> {
    let Some(body) = entry.as_object() else {
        return Ok(Err(problem(
            "INVALID_FORMAT",
            "a user must be an object",
            None,
        )));
    };
    if let Some(k) = body
        .keys()
        .find(|k| !IMPORT_PROPERTIES.contains(&k.as_str()))
    {
        return Ok(Err(problem(
            "INVALID_FORMAT",
            format!("unknown property '{k}'"),
            Some(k),
        )));
    }
    let hash = match imported_hash(body) {
        Ok(h) => h,
        Err(p) => return Ok(Err(p)),
    };
    let attributes = typed::<NewUser>(Value::Object(body.clone()));
    let mut user = match attributes.and_then(|a| new_user(connection, a)) {
        Ok(u) => u,
        Err(e) => return Ok(Err(problem("INVALID_FORMAT", e.to_string(), None))),
    };
    user.identities[0].password_hash = hash;
    match state.stores.users.insert_user(&user).await {
        Ok(()) => Ok(Ok(Imported::Inserted)),
        Err(StoreError::Conflict(_)) if upsert => {
            update_existing(state, connection, user, body).await
        }
        Err(StoreError::Conflict(_)) => Ok(Err(problem(
            "DUPLICATED_USER",
            "The user already exists",
            None,
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `upsert`: the entry's attributes replace the existing user's (metadata as wholes); ids,
/// login counts and the password hash stay.
async fn update_existing(
    state: &AppState,
    connection: &Connection,
    new: User,
    body: &Map<String, Value>,
) -> Result<Result<Imported, ImportProblem>, MgmtError> {
    let login = new.email.clone().or_else(|| new.username.clone());
    let existing = match login {
        Some(l) => {
            state
                .stores
                .users
                .user_by_login(&connection.name, &l)
                .await?
        }
        None => None,
    };
    // Only a user whose own (primary) identity this is: an address that belongs to an
    // identity linked under another user must not rewrite that user.
    let existing = existing.filter(|u| {
        let login = new
            .email
            .as_deref()
            .or(new.username.as_deref())
            .unwrap_or_default();
        u.identity_for_login(&connection.name, login)
            .is_some_and(|i| u.identities.first().is_some_and(|p| p == i))
    });
    let Some(mut user) = existing else {
        // The conflict was on something else (the user id, an email and a username belonging
        // to two users, or an identity linked under another user): nothing clear to update.
        return Ok(Err(problem(
            "DUPLICATED_USER",
            "The user conflicts with more than one existing user",
            None,
        )));
    };
    let given = |k: &str| body.contains_key(k);
    for (k, v) in &new.profile {
        if given(k) {
            user.profile.insert(k.clone(), v.clone());
        }
    }
    if given("email_verified") {
        user.email_verified = new.email_verified;
    }
    if given("blocked") {
        user.blocked = new.blocked;
    }
    if given("user_metadata") {
        user.user_metadata = new.user_metadata;
    }
    if given("app_metadata") {
        user.app_metadata = new.app_metadata;
    }
    if given("username") {
        user.username = new.username;
    }
    // The password hash is never replaced: an import that only needs `create:users` and
    // `update:users` must not become a way to take over an account by setting a password
    // the importer knows (a reset, or PATCH with its own checks, changes passwords).
    user.updated_at = state.clock.now();
    // As with PATCH: a block ends the user's sessions and refresh tokens.
    let ends_access = given("blocked") && user.blocked;
    match state.stores.users.update_user(&user).await {
        Ok(()) => {
            if ends_access {
                crate::user_access::end_user_access(state, &user.user_id, None).await?;
            }
            Ok(Ok(Imported::Updated))
        }
        Err(StoreError::Conflict(_)) => Ok(Err(problem(
            "DUPLICATED_USER",
            "The username is taken by another user",
            Some("username"),
        ))),
        Err(e) => Err(e.into()),
    }
}

fn job_not_found() -> MgmtError {
    MgmtError::not_found("The job does not exist.", "inexistent_job")
}

async fn load(state: &AppState, id: &str) -> Result<Job, MgmtError> {
    state.stores.jobs.job(id).await?.ok_or_else(job_not_found)
}

/// `GET /jobs/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, MgmtError> {
    Ok(Json(super::exports::view(
        &state,
        &load(&state, &id).await?,
    )))
}

/// `GET /jobs/{id}/errors`: the users that failed, each with its problems (204 when none).
pub async fn errors(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, MgmtError> {
    let job = load(&state, &id).await?;
    if job.errors.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(json!(job.errors)).into_response())
}

/// The body of `POST /jobs/verification-email`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationEmailJob {
    /// The user to write to.
    pub user_id: String,
    /// The application the user comes from (checked to exist).
    pub client_id: Option<String>,
    /// Which identity (accepted; the address written to is the user's).
    #[schema(value_type = Option<Object>)]
    pub identity: Option<Value>,
    /// Organizations are not offered: refused when set.
    #[schema(value_type = Option<String>)]
    pub organization_id: Option<Value>,
}

/// `POST /jobs/verification-email`: the verification email again, through the outbox (so
/// the job is `completed` once the mail is queued; delivery is retried there).
pub async fn verification_email(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let body: VerificationEmailJob = typed(body)?;
    if body.organization_id.as_ref().is_some_and(|o| !o.is_null()) {
        return Err(super::validate::bad(
            "organization_id",
            "organizations are not supported",
        ));
    }
    if let Some(id) = body.client_id.as_deref()
        && state
            .catalog
            .client(&gatehouse_core::id::ClientId::from(id))
            .await?
            .is_none()
    {
        return Err(MgmtError::not_found(
            "The client does not exist",
            "inexistent_client",
        ));
    }
    let user = state
        .stores
        .users
        .user(&gatehouse_core::id::UserId::from(body.user_id.as_str()))
        .await?
        .ok_or_else(|| MgmtError::not_found("The user does not exist.", "inexistent_user"))?;
    if user.email.is_none() {
        return Err(super::validate::bad(
            "user_id",
            "the user has no email address",
        ));
    }
    crate::account_mail::verification::send_verification(&state, &user).await;
    let job = Job {
        id: ids::new_job_id(),
        kind: VERIFICATION_KIND.into(),
        status: "completed".into(),
        connection_id: String::new(),
        external_id: None,
        created_at: state.clock.now(),
        summary: Default::default(),
        errors: Vec::new(),
        export: None,
    };
    state.stores.jobs.save_job(&job, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(JobView::new(&job))).into_response())
}
