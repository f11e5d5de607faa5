//! `POST /u/login`: the login form's submission.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use gatehouse_core::connection::DEFAULT_DATABASE_CONNECTION;
use gatehouse_core::log::LogEvent;
use gatehouse_core::session::Session;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::AppState;
use crate::crypto::random_secret;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::oauth::authorize::{
    self, CSRF_COOKIE, SESSION_COOKIE, SESSION_LIFETIME, Transaction, cookie, set_cookie,
};
use crate::oauth::password::{LoginFailure, check_password};

/// The form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    tx: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// The handler: on success a session and a code, else the form again with the error.
pub async fn submit(
    State(state): State<AppState>,
    caller: CallerInfo,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let tenant = crate::ui::brand(&state).await;
    let Ok(Form(form)) = form else {
        return Ok(crate::ui::error_page(
            &tenant,
            "The login form was not filled in properly.",
        ));
    };
    let Some(tx) = Transaction::open(&state, &form.tx) else {
        return Ok(crate::ui::error_page(
            &tenant,
            "This login page has expired. Go back to the application and start again.",
        ));
    };
    // The form must come from the browser that opened it (login CSRF).
    let bound = cookie(&headers, CSRF_COOKIE)
        .is_some_and(|c| bool::from(c.as_bytes().ct_eq(tx.csrf.as_bytes())));
    if !bound {
        return Ok(crate::ui::error_page(
            &tenant,
            "This login form was not opened in this browser. Go back to the application and start again.",
        ));
    }
    let Some(client) = state.catalog.client(&tx.client_id).await? else {
        return Ok(crate::ui::error_page(&tenant, "Unknown client."));
    };
    let connection = match &tx.connection {
        Some(c) => c.clone(),
        None => state
            .catalog
            .tenant()
            .await?
            .default_directory
            .clone()
            .unwrap_or_else(|| DEFAULT_DATABASE_CONNECTION.to_owned()),
    };
    let mut event = LogEvent::new("f");
    event.ip = caller.ip.clone();
    event.user_agent = caller.user_agent.clone();
    event.client_id = Some(client.client_id.clone());
    event.client_name = Some(client.name.clone());
    event.connection = Some(connection.clone());
    let outcome = if form.username.is_empty() || form.password.is_empty() {
        Err(LoginFailure::UnknownUser)
    } else {
        check_password(
            &state,
            &connection,
            &form.username,
            &form.password,
            caller.ip.as_deref(),
        )
        .await?
    };
    let user = match outcome {
        Ok(u) => u,
        Err(failure) => {
            let (kind, message) = match &failure {
                LoginFailure::UnknownUser => ("fu", "Wrong email or password."),
                LoginFailure::WrongPassword(_) => ("fp", "Wrong email or password."),
                LoginFailure::Blocked(_) => ("f", "Your account has been blocked."),
                LoginFailure::TooManyAttempts(_) => {
                    ("f", crate::oauth::password::TOO_MANY_ATTEMPTS)
                }
            };
            event.kind = kind.into();
            event.user_id = failure.user_id().map(str::to_owned);
            event.description = Some(message.into());
            state.logs.record(event);
            return authorize::login_page(
                &state,
                &client,
                &tx,
                &form.username,
                Some(message),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let now = OffsetDateTime::now_utc();
    state
        .stores
        .users
        .record_login(&user.user_id, caller.ip.as_deref(), now)
        .await?;
    let cookie_value = random_secret(32);
    let session = Session {
        id_hash: state.hasher.hash(&cookie_value),
        sid: random_secret(16),
        user_id: user.user_id.clone(),
        connection: connection.clone(),
        auth_time: now.unix_timestamp(),
        created_at: now,
        last_interaction_at: now,
        expires_at: now + SESSION_LIFETIME,
        revoked_at: None,
    };
    state.stores.sessions.insert_session(&session).await?;
    event.kind = "s".into();
    event.description = Some("Successful login".into());
    event.user_id = Some(user.user_id.clone());
    state.logs.record(event);
    let mut response = authorize::issue_code(&state, &tx, &session, true).await?;
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(
            &state,
            SESSION_COOKIE,
            &cookie_value,
            SESSION_LIFETIME.whole_seconds(),
        ),
    );
    h.append(header::SET_COOKIE, set_cookie(&state, CSRF_COOKIE, "", 0));
    Ok(response)
}
