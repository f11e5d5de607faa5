//! Password reset: the link `POST /dbconnections/change_password` emails opens
//! `/u/reset-password`, where the user picks a new password under the connection's policy.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_core::id::UserId;
use gatehouse_core::log_type::LogType;
use gatehouse_core::password_policy::PasswordPolicy;
use serde::Deserialize;

use crate::AppState;
use crate::account_mail::reset::{KIND, ticket_identity};
use crate::error::OAuthError;
use crate::pages::{self, Brand, MessagePage};

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage<'a> {
    tenant: &'a crate::pages::Brand,
    t: pages::Texts,
    ticket: &'a str,
    error: Option<&'a str>,
}

/// Query of the reset page.
#[derive(Debug, Deserialize)]
pub struct TicketQuery {
    ticket: Option<String>,
}

fn expired(tenant: &Brand) -> Response {
    let t = tenant.texts("reset-password", "reset-password-error");
    pages::error_page(tenant, &t.get("description"))
}

const USED_LINK: &str = "Expired or used reset link";

/// Logs a failed change of password (`fcp`).
fn failed_event(state: &AppState, user_id: Option<&str>, why: &str) {
    let mut event = crate::audit::event(&state.clock, LogType::FailedChangePassword);
    event.description = Some(why.into());
    event.user_id = user_id.map(str::to_owned);
    state.logs.record(event);
}

/// The expired-link page for a submission, logged as a failed change of password.
fn failed(state: &AppState, tenant: &Brand, user_id: Option<&str>, why: &str) -> Response {
    failed_event(state, user_id, why);
    expired(tenant)
}

/// `GET /u/reset-password?ticket=`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TicketQuery>,
) -> Result<Response, OAuthError> {
    let tenant = pages::brand_for(&state, &headers).await;
    let Some(ticket) = q.ticket else {
        return Ok(expired(&tenant));
    };
    let now = state.clock.now();
    if state
        .stores
        .sessions
        .ticket_user(&state.hasher.hash(&ticket), KIND, now)
        .await?
        .is_none()
    {
        return Ok(expired(&tenant));
    }
    Ok(pages::render(
        StatusCode::OK,
        &ResetPage {
            t: tenant.texts("reset-password", "reset-password"),
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
    let tenant = pages::brand_for(&state, &headers).await;
    let Ok(Form(form)) = form else {
        return Ok(failed(&state, &tenant, None, USED_LINK));
    };
    let hash = state.hasher.hash(&form.ticket);
    let now = state.clock.now();
    let Some(user_id) = state.stores.sessions.ticket_user(&hash, KIND, now).await? else {
        return Ok(failed(&state, &tenant, None, USED_LINK));
    };
    let Some(mut user) = state.stores.users.user(&UserId::from(&user_id)).await? else {
        return Ok(failed(&state, &tenant, None, USED_LINK));
    };
    // The identity the link was sent for (links made before identities were named: the
    // primary).
    let position = match ticket_identity(&form.ticket) {
        Some((connection, id)) => user
            .identities
            .iter()
            .position(|i| i.connection == connection && i.user_id == id),
        None => (!user.identities.is_empty()).then_some(0),
    };
    let Some(position) = position else {
        return Ok(failed(
            &state,
            &tenant,
            Some(&user_id),
            "The identity is no longer this user's",
        ));
    };
    let target = user.identities[position].clone();
    let policy = state
        .stores
        .connections
        .connection_by_name(&target.connection)
        .await?
        .and_then(|c| c.options.database().map(|d| d.policy()))
        .unwrap_or(PasswordPolicy::Good);
    if let Err(message) = policy.check(&form.password) {
        failed_event(
            &state,
            Some(&user.user_id),
            "Password does not meet the policy",
        );
        let page = ResetPage {
            t: tenant.texts("reset-password", "reset-password"),
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
        return Ok(failed(&state, &tenant, None, USED_LINK));
    }
    let new_hash = state
        .passwords
        .hash(form.password)
        .await
        .map_err(OAuthError::Internal)?;
    user.identities[position].password_hash = Some(new_hash);
    // A ticket from the Management API may say the mailbox is proven too.
    let options = crate::account_mail::ticket_options(&form.ticket);
    if options.mark_email_as_verified && position == 0 {
        user.email_verified = true;
    }
    user.updated_at = now;
    state.stores.users.update_user(&user).await?;
    changed(&state, &headers, &user, &options, &tenant).await
}

/// After a password change: whoever logged in with the old password is logged out, the
/// failure count is cleared, the change is logged, and the browser goes to the ticket's
/// `result_url` or sees the confirmation.
async fn changed(
    state: &AppState,
    headers: &HeaderMap,
    user: &gatehouse_core::user::User,
    options: &crate::account_mail::TicketOptions,
    tenant: &Brand,
) -> Result<Response, OAuthError> {
    // Whoever logged in with the old password (a thief, or an attacker who signed up with
    // this address first) is logged out and loses their refresh tokens; this browser keeps
    // its own session, if it has one.
    let this_browser =
        crate::authn::cookies::cookie(headers, crate::authn::cookies::SESSION_COOKIE)
            .map(|c| state.hasher.hash(c));
    crate::user_access::end_user_access(state, &user.user_id, this_browser.as_deref()).await?;
    state
        .stores
        .users
        .clear_login_failures(&user.user_id, None)
        .await?;
    let mut event = crate::audit::event(&state.clock, LogType::SuccessChangePassword);
    event.description = Some("Password changed".into());
    event.user_id = Some(user.user_id.clone().into_string());
    state.logs.record(event);
    let message = "You can now login to the application with the new password.";
    if let Some(to) = crate::account_mail::result_redirect(options, message, user.email.as_deref())
    {
        return Ok(axum::response::IntoResponse::into_response(
            axum::response::Redirect::to(&to),
        ));
    }
    let t = tenant.texts("reset-password", "reset-password-success");
    Ok(pages::render(
        StatusCode::OK,
        &MessagePage {
            tenant,
            heading: &t.get("eventTitle"),
            message: &t.get("description"),
        },
    ))
}
