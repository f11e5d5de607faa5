//! `/api/v2/tickets`: one-time links a backend hands to a user itself (Auth0's "send a
//! set-password link" and "resend the verification" done by the application's own mail). A
//! password change ticket opens the reset page for one database identity; an email
//! verification ticket verifies the address the user has now. What happens after
//! (`result_url`, `mark_email_as_verified`, `includeEmailInRedirect`) is sealed into the
//! ticket (`account_mail::TicketOptions`); the ticket itself is stored hashed, like the links
//! gatehouse mails.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::id::{ClientId, UserId};
use gatehouse_core::user::{Identity, User};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::body::{MgmtJson, typed};
use super::error::MgmtError;
use super::validate::{self as v, bad};
use crate::AppState;
use crate::account_mail::{Ticket, TicketOptions, reset, ticket_link_with, verification};

/// Auth0's default ticket lifetime (five days).
const DEFAULT_TTL: i64 = 432_000;
/// The longest lifetime taken (30 days): a link in a mailbox is a credential.
const MAX_TTL: i64 = 2_592_000;

/// The body of `POST /tickets/password-change`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeTicket {
    /// Where the browser goes after the change.
    pub result_url: Option<String>,
    /// The user (or `email` with `connection_id`).
    pub user_id: Option<String>,
    /// The application the user comes from (checked to exist).
    pub client_id: Option<String>,
    /// The database connection (with `email`, or to pick the identity of `user_id`).
    pub connection_id: Option<String>,
    /// The user's email (with `connection_id`).
    pub email: Option<String>,
    /// How long the ticket works, in seconds (0: five days).
    #[schema(minimum = 0, maximum = 2_592_000)]
    pub ttl_sec: Option<i64>,
    /// Mark the email verified when the password is changed.
    pub mark_email_as_verified: Option<bool>,
    /// Add `email=` to the redirect to `result_url`.
    #[serde(rename = "includeEmailInRedirect")]
    pub include_email_in_redirect: Option<bool>,
    /// Organizations are not offered: refused when set.
    #[schema(value_type = Option<String>)]
    pub organization_id: Option<Value>,
}

/// The identity an email verification ticket is for (accepted; the address verified is the
/// user's).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketIdentity {
    /// The identity's user id.
    pub user_id: String,
    /// Its provider.
    pub provider: String,
}

/// The body of `POST /tickets/email-verification`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailVerificationTicket {
    /// Where the browser goes after the verification.
    pub result_url: Option<String>,
    /// The user.
    pub user_id: String,
    /// The application the user comes from (checked to exist).
    pub client_id: Option<String>,
    /// How long the ticket works, in seconds (0: five days).
    #[schema(minimum = 0, maximum = 2_592_000)]
    pub ttl_sec: Option<i64>,
    /// Add `email=` to the redirect to `result_url`.
    #[serde(rename = "includeEmailInRedirect")]
    pub include_email_in_redirect: Option<bool>,
    /// Which identity; only the user's own address is ever verified.
    pub identity: Option<TicketIdentity>,
    /// Organizations are not offered: refused when set.
    #[schema(value_type = Option<String>)]
    pub organization_id: Option<Value>,
}

/// A ticket: the link to hand to the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    /// The one-time link.
    pub ticket: String,
}

fn inexistent_user() -> MgmtError {
    MgmtError::not_found("The user does not exist.", "inexistent_user")
}

/// The lifetime asked for.
fn lifetime(ttl_sec: Option<i64>) -> Result<time::Duration, MgmtError> {
    match ttl_sec.unwrap_or(0) {
        0 => Ok(time::Duration::seconds(DEFAULT_TTL)),
        t if (1..=MAX_TTL).contains(&t) => Ok(time::Duration::seconds(t)),
        _ => Err(bad(
            "ttl_sec",
            format!("must be between 0 and {MAX_TTL} seconds"),
        )),
    }
}

/// What both ticket bodies say about the ticket itself: `ttl_sec`, `result_url`,
/// `client_id`, `organization_id`.
trait Common {
    fn common(&self) -> (Option<i64>, Option<&str>, Option<&str>, Option<&Value>);
}

impl Common for PasswordChangeTicket {
    fn common(&self) -> (Option<i64>, Option<&str>, Option<&str>, Option<&Value>) {
        let (url, client) = (self.result_url.as_deref(), self.client_id.as_deref());
        (self.ttl_sec, url, client, self.organization_id.as_ref())
    }
}

impl Common for EmailVerificationTicket {
    fn common(&self) -> (Option<i64>, Option<&str>, Option<&str>, Option<&Value>) {
        let (url, client) = (self.result_url.as_deref(), self.client_id.as_deref());
        (self.ttl_sec, url, client, self.organization_id.as_ref())
    }
}

/// The ticket's lifetime and `result_url`, after checking them, `client_id` and
/// `organization_id`.
async fn checked(
    state: &AppState,
    body: &impl Common,
) -> Result<(time::Duration, Option<String>), MgmtError> {
    let (ttl_sec, result_url, client_id, organization) = body.common();
    let lifetime = lifetime(ttl_sec)?;
    if organization.is_some_and(|o| !o.is_null()) {
        return Err(bad("organization_id", "organizations are not supported"));
    }
    if let Some(id) = client_id
        && state.catalog.client(&ClientId::from(id)).await?.is_none()
    {
        return Err(MgmtError::not_found(
            "The client does not exist",
            "inexistent_client",
        ));
    }
    let result_url = match result_url {
        Some(url) => match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => Some(url.to_owned()),
            _ => return Err(bad("result_url", "must be an http or https URL")),
        },
        None => None,
    };
    Ok((lifetime, result_url))
}

fn created(link: String) -> Response {
    (StatusCode::CREATED, Json(TicketView { ticket: link })).into_response()
}

/// The database identity a password change ticket is for: the one in `connection` (by
/// name), else the first database identity.
fn database_identity<'a>(user: &'a User, connection: Option<&str>) -> Option<&'a Identity> {
    user.identities.iter().find(|i| {
        i.strategy().is_database() && connection.is_none_or(|c| i.connection.as_str() == c)
    })
}

/// `POST /tickets/password-change`.
pub async fn password_change(
    State(state): State<AppState>,
    caller: super::auth::Caller,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let body: PasswordChangeTicket = typed(body)?;
    let (lifetime, result_url) = checked(&state, &body).await?;
    let connection = match &body.connection_id {
        Some(id) => Some(
            state
                .stores
                .connections
                .connection(id)
                .await?
                .filter(|c| c.strategy.is_database())
                .ok_or_else(|| {
                    MgmtError::not_found("The connection does not exist", "inexistent_connection")
                })?,
        ),
        None => None,
    };
    let connection_name = connection.as_ref().map(|c| c.name.as_str());
    let user = match (&body.user_id, &body.email, connection_name) {
        (Some(id), None, _) => state.stores.users.user(&UserId::from(id.as_str())).await?,
        (None, Some(email), Some(name)) => state
            .stores
            .users
            .users_by_email(email)
            .await?
            .into_iter()
            .find(|u| database_identity(u, Some(name)).is_some()),
        (Some(_), Some(_), _) => {
            return Err(bad("email", "give user_id, or email with connection_id"));
        }
        (None, Some(_), None) => return Err(v::missing("connection_id")),
        (None, None, _) => return Err(v::missing("user_id")),
    };
    let user = user.ok_or_else(inexistent_user)?;
    super::admins::check_user(&state, &caller, &user).await?;
    let identity = database_identity(&user, connection_name).ok_or_else(|| {
        bad(
            "user_id",
            "the user has no identity in a database connection",
        )
    })?;
    let subject = reset::subject(identity);
    let options = TicketOptions {
        result_url,
        mark_email_as_verified: body.mark_email_as_verified.unwrap_or(false),
        include_email: body.include_email_in_redirect.unwrap_or(false),
    };
    let link = ticket_link_with(
        &state,
        &Ticket {
            kind: reset::KIND,
            user_id: &user.user_id,
            lifetime,
            path: "u/reset-password",
            subject: Some(&subject),
            options: Some(&options),
        },
    )
    .await?;
    Ok(created(link))
}

/// `POST /tickets/email-verification`.
pub async fn email_verification(
    State(state): State<AppState>,
    MgmtJson(body): MgmtJson<Value>,
) -> Result<Response, MgmtError> {
    let body: EmailVerificationTicket = typed(body)?;
    let (lifetime, result_url) = checked(&state, &body).await?;
    let user = state
        .stores
        .users
        .user(&UserId::from(body.user_id.as_str()))
        .await?
        .ok_or_else(inexistent_user)?;
    if let Some(identity) = &body.identity {
        let known = user
            .identities
            .iter()
            .any(|i| i.provider == identity.provider && i.user_id == identity.user_id);
        if !known {
            return Err(bad("identity", "is not one of the user's identities"));
        }
    }
    let email = user
        .email
        .as_deref()
        .ok_or_else(|| bad("user_id", "the user has no email address"))?;
    // The link verifies the address it was made for, as a mailed one does.
    let binding = verification::address_binding(&state, email);
    let options = TicketOptions {
        result_url,
        mark_email_as_verified: false,
        include_email: body.include_email_in_redirect.unwrap_or(false),
    };
    let link = ticket_link_with(
        &state,
        &Ticket {
            kind: verification::KIND,
            user_id: &user.user_id,
            lifetime,
            path: "u/email-verification",
            subject: Some(&binding),
            options: Some(&options),
        },
    )
    .await?;
    Ok(created(link))
}
