//! Passwordless login on the Universal Login pages: ask for the email or phone number, send
//! a code, ask for the code, then a session and the authorization response, as the password
//! form does. Plain forms bound to the transaction and its CSRF cookie; 303 after sending.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::client::Client;
use gatehouse_core::connection::Connection;
use gatehouse_core::log_type::LogType;
use gatehouse_core::passwordless::Send;
use gatehouse_core::strategy::Strategy;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::authn::login_page::{start_page, usable_connection};
use crate::authn::otp::{self, SendRequest};
use crate::authn::transaction::Transaction;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::pages::{self, Brand};
use crate::ui::bound_form::{BoundForm, TxForm, bound_transaction};

#[derive(Template)]
#[template(path = "passwordless_code.html")]
struct CodePage<'a> {
    tenant: &'a Brand,
    t: pages::Texts,
    tx: &'a str,
    error: Option<&'a str>,
}

fn code_page(
    state: &AppState,
    tenant: &Brand,
    tx: &Transaction,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, OAuthError> {
    let sealed = tx.seal(state)?;
    let recipient = tx.recipient.as_deref().unwrap_or_default();
    let t = if recipient.contains('@') {
        tenant.texts("login-passwordless", "login-passwordless-email-code")
    } else {
        tenant.texts("login-passwordless", "login-passwordless-sms-otp")
    };
    Ok(pages::render(
        status,
        &CodePage {
            tenant,
            t: t.var("email", recipient).var("phoneNumber", recipient),
            tx: &sealed,
            error,
        },
    ))
}

/// The passwordless connection of a bound transaction, or the error page.
async fn passwordless_connection(
    state: &AppState,
    tx: &Transaction,
    client: &Client,
    tenant: &Brand,
) -> Result<Result<Connection, Response>, OAuthError> {
    let connection = match tx.connection.as_deref() {
        Some(name) => usable_connection(state, client, name).await?,
        None => None,
    };
    Ok(connection.ok_or_else(|| {
        pages::error_page(
            tenant,
            "This application does not offer passwordless login.",
        )
    }))
}

/// The transaction of a link, and its passwordless connection.
async fn bound(
    state: &AppState,
    headers: &HeaderMap,
    sealed: &str,
    tenant: &Brand,
) -> Result<Result<(Transaction, Arc<Client>, Connection), Response>, OAuthError> {
    let (tx, client) = match bound_transaction(state, headers, sealed, tenant).await {
        Ok(found) => found,
        Err(page) => return Ok(Err(page)),
    };
    Ok(passwordless_connection(state, &tx, &client, tenant)
        .await?
        .map(|c| (tx, client, c)))
}

/// `GET /u/passwordless?tx=&connection=`: the login page's link to a passwordless
/// connection, and the code page's "send a new code".
#[derive(Debug, Deserialize)]
pub struct ChooseQuery {
    #[serde(default)]
    tx: String,
    connection: Option<String>,
}

/// The handler of the link.
pub async fn choose(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ChooseQuery>,
) -> Result<Response, OAuthError> {
    let mut tenant = pages::brand_for(&state, &headers).await;
    let (mut tx, client) = match bound_transaction(&state, &headers, &q.tx, &tenant).await {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    tenant.speak(tx.lang.as_deref());
    if let Some(name) = q.connection {
        tx.connection = Some(name);
    }
    let connection = match tx.connection.as_deref() {
        Some(name) => usable_connection(&state, &client, name).await?,
        None => None,
    };
    let Some(connection) = connection else {
        return Ok(pages::error_page(
            &tenant,
            "This application does not offer that way to log in.",
        ));
    };
    let value = tx.recipient.take().unwrap_or_default();
    start_page(
        &state,
        &client,
        &tx,
        &connection,
        &value,
        None,
        StatusCode::OK,
    )
    .await
}

/// The first form.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    recipient: String,
    /// `link` for a magic link (email only); a code otherwise.
    #[serde(default)]
    send: String,
}

impl TxForm for StartForm {
    const MALFORMED: &'static str = "The form was not filled in properly.";
}

/// `POST /u/passwordless/start`: sends a code, then 303 to the code page.
pub async fn submit_start(
    State(state): State<AppState>,
    caller: CallerInfo,
    BoundForm {
        form,
        mut tx,
        client,
        tenant,
    }: BoundForm<StartForm>,
) -> Result<Response, OAuthError> {
    let connection = match passwordless_connection(&state, &tx, &client, &tenant).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    let typed = form.recipient.trim();
    let again = |message: String| {
        let (state, client, tx, connection) = (&state, &client, &tx, &connection);
        async move {
            start_page(
                state,
                client,
                tx,
                connection,
                typed,
                Some(&message),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    };
    let recipient = match otp::recipient(&connection, Some(typed)) {
        Ok(r) => r,
        Err(_) if connection.strategy == Strategy::Email => {
            return again("Enter a valid email address.".into()).await;
        }
        Err(_) => {
            return again("Enter the number with its country code, like +14155550123.".into())
                .await;
        }
    };
    // A magic link completes an `/authorize` request, which cannot carry a SAML provider's
    // request: those logins get a code instead.
    let link = form.send == "link" && connection.strategy == Strategy::Email && tx.saml.is_none();
    let sent = otp::send(
        &state,
        SendRequest {
            client: &client,
            connection: &connection,
            recipient: &recipient,
            send: if link { Send::Link } else { Send::Code },
            auth_params: if link { tx.as_request() } else { json!({}) },
            caller: &caller,
            language: "",
        },
    )
    .await;
    match sent {
        Ok(()) => {}
        Err(OAuthError::TooManyRequests(m)) => return again(m).await,
        Err(OAuthError::Auth0 { .. }) => {
            return again("We could not send the code. Try again in a moment.".into()).await;
        }
        Err(e) => return Err(e),
    }
    tx.recipient = Some(recipient);
    let page = if link { "sent" } else { "code" };
    let mut r = StatusCode::SEE_OTHER.into_response();
    let location = format!("/u/passwordless/{page}?tx={}", tx.seal(&state)?);
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// The `tx` of the code page.
#[derive(Debug, Deserialize)]
pub struct TxQuery {
    #[serde(default)]
    tx: String,
}

/// `GET /u/passwordless/code?tx=`.
pub async fn show_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TxQuery>,
) -> Result<Response, OAuthError> {
    let mut tenant = pages::brand_for(&state, &headers).await;
    match bound(&state, &headers, &q.tx, &tenant).await? {
        Ok((tx, _, _)) if tx.recipient.is_some() => {
            tenant.speak(tx.lang.as_deref());
            code_page(&state, &tenant, &tx, None, StatusCode::OK)
        }
        Ok(_) => Ok(pages::error_page(&tenant, "Ask for a code first.")),
        Err(page) => Ok(page),
    }
}

/// `GET /u/passwordless/sent?tx=`: after a magic link was emailed.
pub async fn show_sent(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TxQuery>,
) -> Result<Response, OAuthError> {
    let mut tenant = pages::brand_for(&state, &headers).await;
    match bound(&state, &headers, &q.tx, &tenant).await? {
        Ok((tx, client, _)) => {
            tenant.speak(tx.lang.as_deref());
            let t = tenant
                .texts("login-passwordless", "login-passwordless-email-link")
                .var("clientName", client.name.as_str())
                .var("email", tx.recipient.as_deref().unwrap_or_default());
            Ok(pages::render(
                StatusCode::OK,
                &pages::MessagePage {
                    tenant: &tenant,
                    heading: &t.get("sentTitle"),
                    message: &t.get("sentDescription"),
                },
            ))
        }
        Err(page) => Ok(page),
    }
}

/// The code form.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

impl TxForm for CodeForm {
    const MALFORMED: &'static str = "The form was not filled in properly.";
}

/// `POST /u/passwordless/code`: a right code logs in (a session, then the authorization
/// response); a wrong one shows the form again.
pub async fn submit_code(
    State(state): State<AppState>,
    caller: CallerInfo,
    BoundForm {
        form,
        tx,
        client,
        tenant,
    }: BoundForm<CodeForm>,
) -> Result<Response, OAuthError> {
    let connection = match passwordless_connection(&state, &tx, &client, &tenant).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    let Some(recipient) = tx.recipient.clone() else {
        return Ok(pages::error_page(&tenant, "Ask for a code first."));
    };
    let mut event = crate::authn::login_event(&state.clock, &caller, &client, &connection.name);
    let checked = otp::check(&state, &connection, &recipient, &form.code, &caller).await?;
    let blocked = matches!(checked, otp::CodeCheck::TooManyAttempts);
    let found = match checked {
        otp::CodeCheck::Valid(o) if o.send == "code" && o.client_id == client.client_id => {
            otp::user_for(&state, &connection, &recipient).await?
        }
        otp::CodeCheck::Valid(_) => None,
        otp::CodeCheck::Wrong | otp::CodeCheck::TooManyAttempts => None,
    };
    let Some((user, created)) = found.filter(|(u, _)| !u.blocked) else {
        let (message, key) = if blocked {
            let m = crate::authn::accounts::TOO_MANY_ATTEMPTS;
            (m.to_owned(), m)
        } else {
            (otp::wrong_code(&connection).description(), "invalid-code")
        };
        event.description = Some(message);
        state.logs.record(event);
        return code_page(&state, &tenant, &tx, Some(key), StatusCode::BAD_REQUEST);
    };
    if created {
        otp::log_signup(&state, &user, &connection, &client.client_id);
    }
    event.kind = LogType::SuccessLogin;
    event.description = Some("Successful login (passwordless code)".into());
    event.user_id = Some(user.user_id.clone().into_string());
    state.logs.record(event);
    crate::oauth::authorization_response::complete_login(
        &state,
        &tx,
        &user,
        &connection.name,
        &caller,
    )
    .await
}
