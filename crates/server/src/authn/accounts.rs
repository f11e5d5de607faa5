//! Database-connection accounts: checking a username and password (decoy hash for unknown
//! users, brute-force counting per user and address, the account back-off) and creating a
//! user on sign-up (email and username rules, the password policy, a verification mail).

use crate::ids;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_core::connection::Connection;
use gatehouse_core::log_type::LogType;
use gatehouse_core::password_policy::PasswordPolicy;
use gatehouse_core::store::StoreError;
use gatehouse_core::user::{Identity, User};
use serde_json::{Map, Value, json};

use super::account_backoff::{self, Gate};
use crate::AppState;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::passwords::Passwords;

/// Why a username and password did not log anyone in.
#[derive(Debug)]
pub enum LoginFailure {
    /// No such user in the connection.
    UnknownUser,
    /// The password is wrong for this user.
    WrongPassword(String),
    /// Right password, blocked user.
    Blocked(String),
    /// Too many consecutive failures of this user from this address.
    TooManyAttempts(String),
    /// Too many consecutive failures of this user from any addresses: wait a moment
    /// (`account_backoff`).
    BackOff(String),
}

/// Auth0's words for a brute-force block.
pub const TOO_MANY_ATTEMPTS: &str =
    "Your account has been blocked after multiple consecutive login attempts.";

/// Our words for the per-account back-off (`account_backoff`), answered like a block.
pub const BACK_OFF: &str =
    "Too many failed login attempts for this account. Wait a moment and try again.";

impl LoginFailure {
    /// The user concerned, when there is one.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            LoginFailure::UnknownUser => None,
            LoginFailure::WrongPassword(id)
            | LoginFailure::Blocked(id)
            | LoginFailure::TooManyAttempts(id)
            | LoginFailure::BackOff(id) => Some(id),
        }
    }
}

/// Replaces an imported (bcrypt) or outdated hash with Argon2id now that the password is
/// known; a failure only means the next login tries again.
async fn upgrade_hash(
    state: &AppState,
    user: &gatehouse_core::user::User,
    identity: &gatehouse_core::user::Identity,
    old: &str,
    password: &str,
) {
    let upgraded = match state.passwords.hash(password.to_owned()).await {
        Ok(new) => state
            .stores
            .users
            .upgrade_password_hash(&identity.connection, &identity.user_id, old, &new)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    if let Err(e) = upgraded {
        tracing::warn!(user_id = %user.user_id, error = %e, "password hash upgrade failed");
    }
}

/// Checks a username (email or username) and password against a database connection. The
/// work is the same whether or not the user exists. With brute-force protection on, a user
/// who failed `threshold` times in a row from the caller's address (key: IPv6 by /64) is
/// refused from there, without a password check, until an administrator unblocks them
/// (`DELETE /api/v2/user-blocks/{id}`); a success clears the count. Failures from any
/// addresses also feed the account's back-off (`account_backoff`).
pub async fn check_password(
    state: &AppState,
    connection: &Connection,
    username: &str,
    password: &str,
    caller: &CallerInfo,
) -> Result<Result<gatehouse_core::user::User, LoginFailure>, OAuthError> {
    let user = state
        .stores
        .users
        .user_by_login(&connection.name, username)
        .await?;
    let ip = caller.ip_key.as_deref().unwrap_or_default();
    // The connection's `brute_force_protection` (on unless set to false) gates the tenant's
    // threshold, as in Auth0.
    let protected = connection
        .options
        .database()
        .is_none_or(|d| d.brute_force_protected());
    let threshold = state.config.brute_force_threshold.filter(|_| protected);
    if let (Some(limit), Some(u)) = (threshold, &user)
        && state.stores.users.login_failures(&u.user_id, ip).await? >= i64::from(limit)
    {
        return Ok(Err(LoginFailure::TooManyAttempts(
            u.user_id.clone().into_string(),
        )));
    }
    let mut backoff_recorded = false;
    if let (Some(limit), Some(u)) = (threshold, &user) {
        match account_backoff::enter(state, &u.user_id, limit).await? {
            Gate::Wait(_) => {
                return Ok(Err(LoginFailure::BackOff(u.user_id.clone().into_string())));
            }
            Gate::Open { recorded } => backoff_recorded = recorded,
        }
    }
    // The identity the username belongs to: a user may have linked two accounts of one
    // connection, each with its own password.
    let identity = user
        .as_ref()
        .and_then(|u| u.identity_for_login(&connection.name, username))
        .cloned();
    let hash = identity.as_ref().and_then(|i| i.password_hash.clone());
    let verified = state
        .passwords
        .verify_or_decoy(password, hash.as_deref())
        .await
        .map_err(OAuthError::Internal)?;
    let now = state.clock.now();
    Ok(match user {
        Some(u) if verified && u.blocked => Err(LoginFailure::Blocked(u.user_id.into_string())),
        Some(u) if verified => {
            if threshold.is_some() {
                state
                    .stores
                    .users
                    .clear_login_failures(&u.user_id, Some(ip))
                    .await?;
                if backoff_recorded {
                    account_backoff::succeeded(state, &u.user_id).await?;
                }
            }
            if let (Some(old), Some(identity)) =
                (hash.filter(|h| Passwords::needs_upgrade(h)), &identity)
            {
                upgrade_hash(state, &u, identity, &old, password).await;
            }
            Ok(u)
        }
        Some(u) => {
            if let Some(limit) = threshold {
                account_backoff::failed(state, &u.user_id, limit).await?;
                let n = state
                    .stores
                    .users
                    .record_login_failure(&u.user_id, ip, now)
                    .await?;
                if n >= i64::from(limit) {
                    blocked(state, caller, &u, n == i64::from(limit));
                    return Ok(Err(LoginFailure::TooManyAttempts(u.user_id.into_string())));
                }
            }
            Err(LoginFailure::WrongPassword(u.user_id.into_string()))
        }
        None => Err(LoginFailure::UnknownUser),
    })
}

/// Logs a login refused for too many failures; the attempt that reaches the limit (`first`)
/// also emails the unblock link, in the background so the answer does not wait on SMTP.
fn blocked(state: &AppState, caller: &CallerInfo, u: &User, first: bool) {
    if first {
        let (state, user) = (state.clone(), u.clone());
        let ip = caller.ip.clone().unwrap_or_default();
        tokio::spawn(async move {
            crate::account_mail::unblock::send_unblock_link(&state, &user, &ip).await;
        });
    }
    let mut event = crate::audit::event(&state.clock, LogType::BlockedAccount);
    event.user_id = Some(u.user_id.to_string());
    event.ip = caller.ip.clone();
    event.description = Some(TOO_MANY_ATTEMPTS.into());
    state.logs.record(event);
}

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

/// The metadata a `pre-user-registration` flow set: (app, user).
type FlowMetadata = (Map<String, Value>, Map<String, Value>);

/// Runs the `pre-user-registration` flow, when one is bound: the metadata it set, or the
/// refusal (`api.access.deny(reason, userMessage)`: the user's message is what they see).
async fn pre_user_registration(
    state: &AppState,
    conn: &gatehouse_core::connection::Connection,
    email: &str,
    username: Option<&str>,
    user_metadata: &Map<String, Value>,
) -> Result<Result<FlowMetadata, SignupError>, OAuthError> {
    if crate::actions::data(state)
        .await?
        .flow("pre-user-registration")
        .is_empty()
    {
        return Ok(Ok(Default::default()));
    }
    let event = json!({
        "user": {"email": email, "username": username, "user_metadata": user_metadata,
                 "app_metadata": {}},
        "connection": {"name": conn.name, "strategy": conn.strategy.as_str()},
        "tenant": {"id": state.config.tenant_name},
        "request": {"hostname": state.issuer.as_str()},
    });
    let refused = |description: String| SignupError {
        name: "BadRequestError",
        code: "extensibility_error",
        description,
    };
    Ok(
        match crate::actions::run_flow(state, "pre-user-registration", &event).await? {
            Ok(o) => Ok((o.app_metadata, o.user_metadata)),
            Err(crate::actions::Stop::Denied(reason, user_message)) => {
                Err(refused(user_message.unwrap_or(reason)))
            }
            Err(crate::actions::Stop::Failed { action, why }) => {
                tracing::warn!(action = %action, error = %why, "pre-user-registration action failed");
                Err(refused("Sign-up failed. Try again later.".into()))
            }
        },
    )
}

/// Writes `changes` into `into` (`null` removes a property).
fn apply_metadata(into: &mut Map<String, Value>, changes: Map<String, Value>) {
    for (k, v) in changes {
        if v.is_null() {
            into.remove(&k);
        } else {
            into.insert(k, v);
        }
    }
}

/// Creates a user in database connection `conn` (sign-up through the API or the page):
/// email and username rules, the password policy, the Argon2id hash, Auth0's default
/// names, the `pre-user-registration` flow, and a verification email. A taken address is `invalid_signup`, like any refusal.
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
    if conn
        .options
        .database()
        .is_some_and(|d| d.username_required())
        && username.is_none()
    {
        return Ok(Err(SignupError::bad("invalid_signup", "Missing username")));
    }
    let policy = conn
        .options
        .database()
        .map_or(PasswordPolicy::Good, |d| d.policy());
    if let Err(message) = policy.check(password) {
        return Ok(Err(SignupError {
            name: "PasswordStrengthError",
            code: "invalid_password",
            description: message,
        }));
    }
    User::fill_default_names(&mut profile, Some(&email), None, username.as_deref());
    let metadata =
        match pre_user_registration(state, conn, &email, username.as_deref(), &user_metadata)
            .await?
        {
            Ok(m) => m,
            Err(refused) => return Ok(Err(refused)),
        };
    let hash = state
        .passwords
        .hash(password.to_owned())
        .await
        .map_err(OAuthError::Internal)?;
    let now = state.clock.now();
    let identity = Identity {
        provider: "auth0".into(),
        connection: conn.name.clone(),
        user_id: ids::new_database_user_id(),
        is_social: false,
        profile_data: json!({}),
        password_hash: Some(hash),
        idp_tokens: None,
    };
    let mut user = User::new(identity, Some(email), username, None, profile, now);
    user.user_metadata = user_metadata;
    let (app_metadata, more_user_metadata) = metadata;
    apply_metadata(&mut user.user_metadata, more_user_metadata);
    apply_metadata(&mut user.app_metadata, app_metadata);
    match state.stores.users.insert_user(&user).await {
        Ok(()) => {}
        // Same answer as any other refusal: whether an address is registered stays private.
        Err(StoreError::Conflict(_)) => {
            return Ok(Err(SignupError::bad("invalid_signup", "Invalid sign up")));
        }
        Err(e) => return Err(e.into()),
    }
    use crate::account_mail::verification as mail;
    if mail::verification_is_off(state).await {
        mail::send_welcome(state, &user).await;
    } else {
        mail::send_verification(state, &user).await;
    }
    Ok(Ok(user))
}
