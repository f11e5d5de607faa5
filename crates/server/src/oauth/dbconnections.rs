//! `POST /dbconnections/signup`: self-service sign-up into a database connection, with
//! Auth0's body and its own error shape (`{name, code, description, statusCode}`), which
//! the SDKs read.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::ids;
use gatehouse_core::log::LogEvent;
use gatehouse_core::password_policy::PasswordPolicy;
use gatehouse_core::store::StoreError;
use gatehouse_core::user::{Identity, User};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::AppState;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::oauth::database_connection;

/// An error in the `/dbconnections` shape.
pub struct SignupError {
    name: &'static str,
    code: &'static str,
    /// What went wrong, for people.
    pub description: String,
}

impl SignupError {
    /// A `BadRequestError` with Auth0's `code`.
    pub fn bad(code: &'static str, description: impl Into<String>) -> Self {
        SignupError {
            name: "BadRequestError",
            code,
            description: description.into(),
        }
    }
}

impl IntoResponse for SignupError {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "name": self.name,
                "code": self.code,
                "description": self.description,
                "statusCode": 400,
            })),
        )
            .into_response()
    }
}

const PROFILE: &[(&str, usize)] = &[
    ("given_name", 150),
    ("family_name", 150),
    ("name", 300),
    ("nickname", 300),
    ("picture", 2000),
];

fn text<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The handler; logs `ss` or `fs`.
pub async fn signup(
    State(state): State<AppState>,
    caller: CallerInfo,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let mut event = LogEvent::new("fs");
    event.ip = caller.ip;
    event.user_agent = caller.user_agent;
    let result = run(&state, &body, &mut event).await?;
    match &result {
        Ok(_) => {
            event.kind = "ss".into();
            event.description = Some("Successful signup".into());
        }
        Err(e) => event.description = Some(e.description.clone()),
    }
    state.logs.record(event);
    Ok(match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    })
}

async fn run(
    state: &AppState,
    raw: &[u8],
    event: &mut LogEvent,
) -> Result<Result<Response, SignupError>, OAuthError> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(raw) else {
        return Ok(Err(SignupError::bad(
            "invalid_body",
            "The body must be a JSON object",
        )));
    };
    let need = |k: &'static str| {
        text(&body, k).ok_or_else(|| SignupError::bad("invalid_signup", format!("Missing {k}")))
    };
    let (client_id, connection, email, password) = match (
        need("client_id"),
        need("connection"),
        need("email"),
        need("password"),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            return Ok(Err(e));
        }
    };
    event.client_id = Some(client_id.to_owned());
    event.connection = Some(connection.to_owned());
    if state.catalog.client(client_id).await?.is_none() {
        return Ok(Err(SignupError::bad("invalid_signup", "Unknown client")));
    }
    // A connection the client is not enabled on answers as an unknown one does.
    let Some(conn) = database_connection::named(state, connection, client_id).await? else {
        return Ok(Err(SignupError::bad(
            "invalid_connection",
            "The connection does not exist, is not a database connection, or is not enabled for this application",
        )));
    };
    if conn.options.get("disable_signup") == Some(&json!(true)) {
        return Ok(Err(SignupError::bad(
            "operation_not_allowed",
            "Public signup is disabled",
        )));
    }
    let username = text(&body, "username").map(str::to_owned);
    let mut profile = Map::new();
    for (k, max) in PROFILE {
        if let Some(v) = text(&body, k) {
            if v.chars().count() > *max {
                return Ok(Err(SignupError::bad(
                    "invalid_signup",
                    format!("{k} is too long"),
                )));
            }
            profile.insert((*k).to_owned(), json!(v));
        }
    }
    let user_metadata = match body.get("user_metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m))
            if m.len() <= 10
                && m.iter().all(|(k, v)| {
                    k.chars().count() <= 100 && v.as_str().is_some_and(|s| s.chars().count() <= 500)
                }) =>
        {
            m.clone()
        }
        Some(_) => {
            return Ok(Err(SignupError::bad(
                "invalid_signup",
                "user_metadata: at most 10 properties, names up to 100 characters, string values up to 500",
            )));
        }
    };
    let user = match create_user(
        state,
        &conn,
        email,
        password,
        username.clone(),
        profile.clone(),
        user_metadata,
    )
    .await?
    {
        Ok(u) => u,
        Err(e) => return Ok(Err(e)),
    };
    event.user_id = Some(user.user_id.clone());
    let bare = user
        .identities
        .first()
        .map(|i| i.user_id.clone())
        .unwrap_or_default();
    let mut out = json!({"_id": bare, "email_verified": false, "email": user.email});
    if let Some(u) = username {
        out["username"] = json!(u);
    }
    for (k, v) in &user.profile {
        out[k] = v.clone();
    }
    Ok(Ok(Json(out).into_response()))
}

/// Creates a user in database connection `conn` (sign-up through the API or the page):
/// email and username rules, the password policy, the Argon2id hash, Auth0's default
/// names, and a verification email. A taken address is `invalid_signup`, like any refusal.
pub async fn create_user(
    state: &AppState,
    conn: &gatehouse_core::connection::Connection,
    email: &str,
    password: &str,
    username: Option<String>,
    mut profile: Map<String, Value>,
    user_metadata: Map<String, Value>,
) -> Result<Result<User, SignupError>, OAuthError> {
    let email = email.to_lowercase();
    let valid_email = matches!(email.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@'))
        && !email.chars().any(char::is_whitespace)
        && email.len() <= 254;
    if !valid_email {
        return Ok(Err(SignupError::bad(
            "invalid_signup",
            "Invalid email address",
        )));
    }
    if conn.options.get("requires_username") == Some(&json!(true)) && username.is_none() {
        return Ok(Err(SignupError::bad("invalid_signup", "Missing username")));
    }
    let policy = PasswordPolicy::parse(conn.options.get("passwordPolicy").and_then(Value::as_str));
    if let Err(message) = policy.check(password) {
        return Ok(Err(SignupError {
            name: "PasswordStrengthError",
            code: "invalid_password",
            description: message,
        }));
    }
    User::fill_default_names(&mut profile, Some(&email), None, username.as_deref());
    let hash = state
        .passwords
        .hash(password.to_owned())
        .await
        .map_err(OAuthError::Internal)?;
    let now = OffsetDateTime::now_utc();
    let identity = Identity {
        provider: "auth0".into(),
        connection: conn.name.clone(),
        user_id: ids::new_database_user_id(),
        is_social: false,
        profile_data: json!({}),
        password_hash: Some(hash),
    };
    let mut user = User::new(identity, Some(email), username, None, profile, now);
    user.user_metadata = user_metadata;
    match state.stores.users.insert_user(&user).await {
        Ok(()) => {}
        // Same answer as any other refusal: whether an address is registered stays private.
        Err(StoreError::Conflict(_)) => {
            return Ok(Err(SignupError::bad("invalid_signup", "Invalid sign up")));
        }
        Err(e) => return Err(e.into()),
    }
    crate::ui::verify::send_verification(state, &user).await;
    Ok(Ok(user))
}
