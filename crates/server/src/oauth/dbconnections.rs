//! `POST /dbconnections/signup`: self-service sign-up into a database connection, with
//! Auth0's body and its own error shape (`{name, code, description, statusCode}`), which
//! the SDKs read; `POST /dbconnections/change_password`: a password reset link by mail,
//! answered the same whether or not the address is registered.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gatehouse_core::id::ClientId;
use gatehouse_core::log::LogEvent;
use gatehouse_core::log_type::LogType;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::account_mail::reset;
use crate::authn::accounts::{SignupError, create_user};
use crate::authn::database_connection;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;

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

/// A JSON object's properties.
type Fields = Map<String, Value>;

/// The profile fields and `user_metadata` of a sign-up body, within Auth0's limits.
fn profile_of(body: &Fields) -> Result<(Fields, Fields), SignupError> {
    let mut profile = Map::new();
    for (k, max) in PROFILE {
        if let Some(v) = text(body, k) {
            if v.chars().count() > *max {
                return Err(SignupError::bad(
                    "invalid_signup",
                    format!("{k} is too long"),
                ));
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
            return Err(SignupError::bad(
                "invalid_signup",
                "user_metadata: at most 10 properties, names up to 100 characters, string values up to 500",
            ));
        }
    };
    Ok((profile, user_metadata))
}

/// The handler; logs `ss` or `fs`.
pub async fn signup(
    State(state): State<AppState>,
    caller: CallerInfo,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let mut event = crate::audit::event(&state.clock, LogType::FailedSignup);
    event.ip = caller.ip;
    event.user_agent = caller.user_agent;
    let result = run(&state, &body, &mut event).await?;
    match &result {
        Ok(_) => {
            event.kind = LogType::SuccessSignup;
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
    if state
        .catalog
        .client(&ClientId::from(client_id))
        .await?
        .is_none()
    {
        return Ok(Err(SignupError::bad("invalid_signup", "Unknown client")));
    }
    // A connection the client is not enabled on answers as an unknown one does.
    let Some(conn) = database_connection::named(state, connection, client_id).await? else {
        return Ok(Err(SignupError::bad(
            "invalid_connection",
            "The connection does not exist, is not a database connection, or is not enabled for this application",
        )));
    };
    if conn.options.database().is_some_and(|d| d.signup_disabled()) {
        return Ok(Err(SignupError::bad(
            "operation_not_allowed",
            "Public signup is disabled",
        )));
    }
    let username = text(&body, "username").map(str::to_owned);
    let (profile, user_metadata) = match profile_of(&body) {
        Ok(found) => found,
        Err(e) => return Ok(Err(e)),
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
    event.user_id = Some(user.user_id.clone().into_string());
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

/// Body of `/dbconnections/change_password`.
#[derive(Debug, Deserialize)]
pub struct ChangePassword {
    email: Option<String>,
    connection: Option<String>,
    client_id: Option<String>,
}

/// Auth0's answer, word for word, sent whatever happened.
pub const SENT: &str = "We've just sent you an email to reset your password.";

/// `POST /dbconnections/change_password`: 200 text/plain, always the same sentence.
pub async fn change_password(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let Ok(req) = serde_json::from_slice::<ChangePassword>(&body) else {
        return Err(OAuthError::InvalidRequest(
            "The body must be a JSON object".into(),
        ));
    };
    let email = req
        .email
        .filter(|e| !e.is_empty())
        .ok_or_else(|| OAuthError::InvalidRequest("Missing email".into()))?;
    let connection = req
        .connection
        .filter(|c| !c.is_empty())
        .ok_or_else(|| OAuthError::InvalidRequest("Missing connection".into()))?;
    let sent = || ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], SENT).into_response();
    let client_id = req.client_id.as_deref().filter(|c| !c.is_empty());
    match reset::request(&state, &email, &connection, client_id).await? {
        reset::Requested::Answered => Ok(sent()),
        reset::Requested::NotEnabled => Ok(SignupError::bad(
            "invalid_connection",
            "The connection is not enabled for this application",
        )
        .into_response()),
    }
}
