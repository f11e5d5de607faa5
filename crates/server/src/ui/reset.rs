//! Password reset: `POST /dbconnections/change_password` emails a one-time link; the link
//! opens `/u/reset-password`, where the user picks a new password under the connection's
//! policy. The request always answers the same, whether or not the address is registered.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::log::LogEvent;
use gatehouse_core::password_policy::PasswordPolicy;
use gatehouse_core::user::{Identity, User};
use serde::Deserialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::authn::accounts::SignupError;
use crate::authn::database_connection;
use crate::error::OAuthError;
use crate::outbox;
use crate::pages::{self, MessagePage};

/// How long a reset link works.
const TICKET_LIFETIME: Duration = Duration::hours(1);
const KIND: &str = "password_reset";
/// Reset requests per address and window (whether or not the address is registered).
const MAILS_PER_WINDOW: i64 = 5;
const MAIL_WINDOW: Duration = Duration::hours(1);
/// Auth0's answer, word for word, sent whatever happened.
pub const SENT: &str = "We've just sent you an email to reset your password.";

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage<'a> {
    tenant: &'a crate::pages::Brand,
    ticket: &'a str,
    error: Option<&'a str>,
}

/// Body of `/dbconnections/change_password`.
#[derive(Debug, Deserialize)]
pub struct ChangePassword {
    email: Option<String>,
    connection: Option<String>,
    client_id: Option<String>,
}

/// Whether `email` has had its share of reset mails this hour: counted in the database so the
/// limit holds across replicas, and before anything tells known and unknown addresses apart.
/// Over it, the caller gets the same answer and nothing is queued.
async fn over_reset_limit(
    state: &AppState,
    email: &str,
    client_id: Option<&str>,
    connection: &str,
) -> Result<bool, OAuthError> {
    let since = OffsetDateTime::now_utc() - MAIL_WINDOW;
    let asked = state
        .stores
        .outbox
        .count_messages(KIND, &outbox::recipient_hash(state, email), since)
        .await?;
    if asked < MAILS_PER_WINDOW {
        return Ok(false);
    }
    let mut event = LogEvent::new("fcpr");
    event.description = Some("Too many password reset requests for this address".into());
    event.client_id = client_id.map(str::to_owned);
    event.connection = Some(connection.to_owned());
    state.logs.record(event);
    Ok(true)
}

/// The identity `email` belongs to and the address to write to (a linked identity has its
/// own password and address).
fn reset_target<'a>(
    user: &'a User,
    connection: &str,
    email: &str,
) -> Option<(&'a User, &'a Identity, String)> {
    let position = user
        .identities
        .iter()
        .position(|i| Some(i) == user.identity_for_login(connection, email))?;
    let identity = &user.identities[position];
    let address = if position == 0 {
        user.email.clone()
    } else {
        identity.profile_data["email"].as_str().map(str::to_owned)
    }?;
    Some((user, identity, address))
}

/// `POST /dbconnections/change_password`: 200 text/plain, always the same sentence.
pub async fn change_password(
    State(state): State<AppState>,
    body: axum::body::Bytes,
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
    if over_reset_limit(&state, &email, req.client_id.as_deref(), &connection).await? {
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], SENT).into_response());
    }
    // Only database connections have passwords to reset.
    let db_connection = state
        .stores
        .connections
        .connection_by_name(&connection)
        .await?
        .filter(|c| c.strategy == "auth0");
    // An application may send reset mail only for a connection it is enabled on (an unknown
    // application is enabled on none). Without `client_id`, as Auth0 allows, the mail names
    // no application: it goes to the account's own address with a link to our own page.
    if let (Some(c), Some(client_id)) = (&db_connection, req.client_id.as_deref())
        && !client_id.is_empty()
        && !database_connection::enabled_for(c, client_id)
    {
        return Ok(SignupError::bad(
            "invalid_connection",
            "The connection is not enabled for this application",
        )
        .into_response());
    }
    let database = db_connection.is_some();
    let found = match database {
        true => {
            state
                .stores
                .users
                .user_by_login(&connection, &email)
                .await?
        }
        false => None,
    };
    let target = found
        .as_ref()
        .and_then(|user| reset_target(user, &connection, &email));
    if let Some((user, identity, address)) = target {
        let subject = format!("{}~{}", identity.connection, identity.user_id);
        let link = crate::account_mail::ticket_link_for(
            &state,
            KIND,
            &user.user_id,
            TICKET_LIFETIME,
            "u/reset-password",
            Some(&subject),
        )
        .await?;
        let text = format!(
            "Someone asked to reset the password of your account.\n\nTo choose a new one, open:\n{link}\n\nThe link works for one hour, once. If you did not ask, ignore this email.\n"
        );
        // Queued, not sent: the request takes as long as for an unknown address, and a
        // delivery failure reaches the tenant logs (`fn`) from the outbox.
        let mail = outbox::Content::Email {
            to: address,
            from: None,
            subject: "Reset your password".into(),
            body: text,
        };
        outbox::enqueue(&state, KIND, &email, Some(mail)).await?;
        let mut event = LogEvent::new("scpr");
        event.description = Some("Password reset email queued".into());
        event.user_id = Some(user.user_id.clone());
        event.client_id = req.client_id.clone();
        event.connection = Some(connection.clone());
        state.logs.record(event);
    } else {
        // The same write for an address with nothing to send: a placeholder that counts
        // towards the limit.
        outbox::enqueue(&state, KIND, &email, None).await?;
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], SENT).into_response())
}

/// Query of the reset page.
#[derive(Debug, Deserialize)]
pub struct TicketQuery {
    ticket: Option<String>,
}

async fn expired(state: &AppState) -> Response {
    pages::error_page(
        &pages::brand(state).await,
        "This link has expired or was already used. Ask for a new one.",
    )
}

const USED_LINK: &str = "Expired or used reset link";

/// Logs a failed change of password (`fcp`).
fn failed_event(state: &AppState, user_id: Option<&str>, why: &str) {
    let mut event = LogEvent::new("fcp");
    event.description = Some(why.into());
    event.user_id = user_id.map(str::to_owned);
    state.logs.record(event);
}

/// The expired-link page for a submission, logged as a failed change of password.
async fn failed(state: &AppState, user_id: Option<&str>, why: &str) -> Response {
    failed_event(state, user_id, why);
    expired(state).await
}

/// `GET /u/reset-password?ticket=`.
pub async fn page(
    State(state): State<AppState>,
    Query(q): Query<TicketQuery>,
) -> Result<Response, OAuthError> {
    let Some(ticket) = q.ticket else {
        return Ok(expired(&state).await);
    };
    let now = OffsetDateTime::now_utc();
    if state
        .stores
        .sessions
        .ticket_user(&state.hasher.hash(&ticket), KIND, now)
        .await?
        .is_none()
    {
        return Ok(expired(&state).await);
    }
    let tenant = crate::pages::brand(&state).await;
    Ok(pages::render(
        StatusCode::OK,
        &ResetPage {
            tenant: &tenant,
            ticket: &ticket,
            error: None,
        },
    ))
}

/// The reset form.
#[derive(Debug, Deserialize)]
pub struct ResetForm {
    ticket: String,
    #[serde(default)]
    password: String,
}

/// `POST /u/reset-password`.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<ResetForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let tenant = crate::pages::brand(&state).await;
    let Ok(Form(form)) = form else {
        return Ok(failed(&state, None, USED_LINK).await);
    };
    let hash = state.hasher.hash(&form.ticket);
    let now = OffsetDateTime::now_utc();
    let Some(user_id) = state.stores.sessions.ticket_user(&hash, KIND, now).await? else {
        return Ok(failed(&state, None, USED_LINK).await);
    };
    let Some(mut user) = state.stores.users.user(&user_id).await? else {
        return Ok(failed(&state, None, USED_LINK).await);
    };
    // The identity the link was sent for (links made before identities were named: the
    // primary).
    let position =
        match crate::account_mail::ticket_subject(&form.ticket).and_then(|s| s.split_once('~')) {
            Some((connection, id)) => user
                .identities
                .iter()
                .position(|i| i.connection == connection && i.user_id == id),
            None => (!user.identities.is_empty()).then_some(0),
        };
    let Some(position) = position else {
        return Ok(failed(
            &state,
            Some(&user_id),
            "The identity is no longer this user's",
        )
        .await);
    };
    let target = user.identities[position].clone();
    let policy = state
        .stores
        .connections
        .connection_by_name(&target.connection)
        .await?
        .map(|c| PasswordPolicy::parse(c.options.get("passwordPolicy").and_then(Value::as_str)))
        .unwrap_or(PasswordPolicy::Good);
    if let Err(message) = policy.check(&form.password) {
        failed_event(
            &state,
            Some(&user.user_id),
            "Password does not meet the policy",
        );
        let page = ResetPage {
            tenant: &tenant,
            ticket: &form.ticket,
            error: Some(&message),
        };
        return Ok(pages::render(StatusCode::BAD_REQUEST, &page));
    }
    // The ticket is spent only now, so a too-weak attempt does not waste it; of two
    // concurrent submissions one wins.
    if state
        .stores
        .sessions
        .use_ticket(&hash, KIND, now)
        .await?
        .is_none()
    {
        return Ok(failed(&state, None, USED_LINK).await);
    }
    let new_hash = state
        .passwords
        .hash(form.password)
        .await
        .map_err(OAuthError::Internal)?;
    user.identities[position].password_hash = Some(new_hash);
    user.updated_at = now;
    state.stores.users.update_user(&user).await?;
    // Whoever logged in with the old password (a thief, or an attacker who signed up with
    // this address first) is logged out and loses their refresh tokens; this browser keeps
    // its own session, if it has one.
    let this_browser =
        crate::authn::cookies::cookie(&headers, crate::authn::cookies::SESSION_COOKIE)
            .map(|c| state.hasher.hash(c));
    crate::user_access::end_user_access(&state, &user.user_id, this_browser.as_deref()).await?;
    state
        .stores
        .users
        .clear_login_failures(&user.user_id, None)
        .await?;
    let mut event = LogEvent::new("scp");
    event.description = Some("Password changed".into());
    event.user_id = Some(user.user_id.clone());
    state.logs.record(event);
    Ok(pages::render(
        StatusCode::OK,
        &MessagePage {
            tenant: &tenant,
            heading: "Password changed",
            message: "You can now log in with your new password.",
        },
    ))
}
