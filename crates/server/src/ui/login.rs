//! `POST /u/login` and `POST /u/signup`: the forms of the Universal Login page, and the
//! `GET` links that switch between them within one authorization transaction.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_core::client::Client;
use gatehouse_core::connection::Connection;
use gatehouse_core::id::Audience;
use gatehouse_core::log_type::LogType;
use serde::Deserialize;
use serde_json::Map;

use crate::AppState;
use crate::authn::accounts::{LoginFailure, check_password};
use crate::authn::database_connection;
use crate::authn::login_page::signup_page;
use crate::authn::transaction::Transaction;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::oauth::authorization_response::complete_login;
use crate::pages;
use crate::ui::bound_form::{BoundForm, TxForm, bound_transaction};

/// The database connection a transaction logs in to or signs up with (its name, for the
/// logs, and the connection if the client is enabled on it): the one `/authorize` named,
/// else the client's default.
async fn connection_of(
    state: &AppState,
    tx: &Transaction,
    client: &Client,
) -> Result<(String, Option<Connection>), OAuthError> {
    let found = match &tx.connection {
        Some(name) => database_connection::named(state, name, &client.client_id).await?,
        None => database_connection::for_login(state, &client.client_id).await?,
    };
    let name = match (&found, &tx.connection) {
        (Some(c), _) => c.name.clone(),
        (None, Some(name)) => name.clone().into(),
        (None, None) => database_connection::default_name(state).await?.into(),
    };
    Ok((name.into_string(), found))
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

impl TxForm for LoginForm {
    const MALFORMED: &'static str = "The login form was not filled in properly.";
}

/// `POST /u/login`: on success a session and a code, else the form again with the error.
pub async fn submit(
    State(state): State<AppState>,
    caller: CallerInfo,
    BoundForm {
        form,
        mut tx,
        client,
        ..
    }: BoundForm<LoginForm>,
) -> Result<Response, OAuthError> {
    // Home realm discovery: an email of a domain an enterprise connection serves logs in
    // there, whatever was typed as a password.
    if let Some(upstream) =
        crate::authn::login_page::home_realm(&state, &client, form.username.trim()).await?
    {
        tx.connection = Some(upstream.name.to_string());
        return crate::upstream::start(&state, &tx, &upstream).await;
    }
    if form.password.is_empty() {
        // Only an identifier was given: with identifier first, the next step asks for the
        // password; otherwise the password was forgotten. Nothing was tried, nothing logged.
        use crate::authn::login_page::{Step, login_page_at};
        let identifier_first = state.catalog.tenant().await?.identifier_first == Some(true);
        let page = match (identifier_first, form.username.trim().is_empty()) {
            (true, false) => (form.username.trim(), None, StatusCode::OK),
            (true, true) => ("", Some("no-username"), StatusCode::BAD_REQUEST),
            (false, _) => (
                form.username.as_str(),
                Some("no-password"),
                StatusCode::BAD_REQUEST,
            ),
        };
        let step = match page.1 {
            None => Step::Password,
            Some(_) => Step::First,
        };
        return login_page_at(&state, &client, &tx, page, step).await;
    }
    let (connection, database) = connection_of(&state, &tx, &client).await?;
    let mut event = crate::authn::login_event(&state.clock, &caller, &client, &connection);
    let outcome = match database {
        Some(db) if !form.username.is_empty() && !form.password.is_empty() => {
            check_password(&state, &db, &form.username, &form.password, &caller).await?
        }
        _ => Err(LoginFailure::UnknownUser),
    };
    let user = match outcome {
        Ok(u) => u,
        Err(failure) => {
            // The log's description, and the text key (or message) the page shows.
            const WRONG: (&str, &str) = ("Wrong email or password.", "wrong-email-credentials");
            const BLOCKED: (&str, &str) = (crate::user_access::BLOCKED_MESSAGE, "user-blocked");
            let (kind, (message, shown)) = match &failure {
                LoginFailure::UnknownUser => (LogType::FailedLoginUnknownUser, WRONG),
                LoginFailure::WrongPassword(_) => (LogType::FailedLoginWrongPassword, WRONG),
                LoginFailure::Blocked(_) => (LogType::FailedLogin, BLOCKED),
                LoginFailure::TooManyAttempts(_) => (
                    LogType::FailedLogin,
                    (
                        crate::authn::accounts::TOO_MANY_ATTEMPTS,
                        "too-many-attempts",
                    ),
                ),
                LoginFailure::BackOff(_) => (
                    LogType::FailedLogin,
                    (crate::authn::accounts::BACK_OFF, "same-user-login"),
                ),
            };
            event.kind = kind;
            event.user_id = failure.user_id().map(str::to_owned);
            event.description = Some(message.into());
            state.logs.record(event);
            return crate::authn::login_page::login_page(
                &state,
                &client,
                &tx,
                &form.username,
                Some(shown),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    event.kind = LogType::SuccessLogin;
    event.description = Some("Successful login".into());
    event.user_id = Some(user.user_id.clone().into_string());
    state.logs.record(event);
    complete_login(&state, &tx, &user, &connection, &caller).await
}

/// The `tx` of a link between the login and sign-up pages.
#[derive(Debug, Deserialize)]
pub struct TxQuery {
    #[serde(default)]
    /// The sealed transaction.
    pub tx: String,
}

/// `GET /u/login?tx=`: the login form of a transaction (from the sign-up page's link).
pub async fn show_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TxQuery>,
) -> Result<Response, OAuthError> {
    let tenant = pages::brand(&state).await;
    match bound_transaction(&state, &headers, &q.tx, &tenant).await {
        Ok((tx, client)) => {
            crate::authn::login_page::login_page(&state, &client, &tx, "", None, StatusCode::OK)
                .await
        }
        Err(page) => Ok(page),
    }
}

/// `GET /u/signup?tx=`.
pub async fn show_signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TxQuery>,
) -> Result<Response, OAuthError> {
    let tenant = pages::brand(&state).await;
    match bound_transaction(&state, &headers, &q.tx, &tenant).await {
        Ok((tx, client)) => signup_page(&state, &client, &tx, "", None, StatusCode::OK).await,
        Err(page) => Ok(page),
    }
}

/// The sign-up form.
#[derive(Debug, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

impl TxForm for SignupForm {
    const MALFORMED: &'static str = "The sign-up form was not filled in properly.";
}

/// `POST /u/signup`: creates the user (emailing a verification link), logs them in and
/// sends the code to the client; logs `ss` or `fs`.
pub async fn submit_signup(
    State(state): State<AppState>,
    caller: CallerInfo,
    BoundForm {
        form, tx, client, ..
    }: BoundForm<SignupForm>,
) -> Result<Response, OAuthError> {
    let (name, connection) = connection_of(&state, &tx, &client).await?;
    let connection =
        connection.filter(|c| c.options.database().is_none_or(|d| !d.signup_disabled()));
    let mut event = crate::audit::event(&state.clock, LogType::FailedSignup);
    event.ip = caller.ip.clone();
    event.client_id = Some(client.client_id.clone().into_string());
    event.connection = Some(name.clone());
    let Some(connection) = connection else {
        event.description = Some("Sign-up is not available".into());
        state.logs.record(event);
        return signup_page(
            &state,
            &client,
            &tx,
            &form.email,
            Some("signup-disabled"),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let created = crate::authn::accounts::create_user(
        &state,
        &connection,
        &form.email,
        &form.password,
        None,
        Map::new(),
        Map::new(),
    )
    .await?;
    let user = match created {
        Ok(u) => u,
        Err(e) => {
            event.description = Some(e.description.clone());
            state.logs.record(event);
            return signup_page(
                &state,
                &client,
                &tx,
                &form.email,
                Some(&e.description),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    event.kind = LogType::SuccessSignup;
    event.description = Some("Successful signup".into());
    event.user_id = Some(user.user_id.clone().into_string());
    state.logs.record(event);
    complete_login(&state, &tx, &user, &name, &caller).await
}

/// The consent form.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    decision: String,
}

impl TxForm for ConsentForm {
    const MALFORMED: &'static str = "The consent form was not filled in properly.";
}

/// `POST /u/consent`: the user allows (the consent is remembered and the authorization
/// response goes out) or denies (`access_denied` to the client).
pub async fn submit_consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    BoundForm {
        form,
        tx,
        client,
        tenant,
    }: BoundForm<ConsentForm>,
) -> Result<Response, OAuthError> {
    // The session must count for this application: a browser could swap in a session from
    // a connection the application is not enabled on between the login and this form.
    let session = match crate::authn::session::current_session(&state, &headers).await? {
        Some(s)
            if database_connection::session_counts_for(
                &state,
                &s.connection,
                &client.client_id,
            )
            .await? =>
        {
            Some(s)
        }
        _ => None,
    };
    let Some(session) = session else {
        return Ok(pages::error_page(
            &tenant,
            "Your session has ended. Go back to the application and start again.",
        ));
    };
    if crate::user_access::is_blocked(&state, &session.user_id).await? {
        return crate::authn::login_page::login_page(
            &state,
            &client,
            &tx,
            "",
            Some(crate::user_access::BLOCKED_MESSAGE),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    if form.decision != "accept" {
        return Ok(crate::authn::response::error_to_client(
            &state,
            &tx,
            "access_denied",
            "The user denied access",
        ));
    }
    let scopes: Vec<String> = tx
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    state
        .stores
        .sessions
        .save_consent(
            &session.user_id,
            &client.client_id,
            &Audience::from(tx.audience.as_deref().unwrap_or_default()),
            &scopes,
            state.clock.now(),
        )
        .await?;
    crate::oauth::authorization_response::authorization_response(&state, &tx, &session, true).await
}
