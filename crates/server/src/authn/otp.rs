//! The heart of passwordless login, shared by the API, the magic link and the pages:
//! sending a code (limits, hashing, template, delivery), checking one (three attempts,
//! single use), and finding or creating the user it proves.

use gatehouse_core::id::ConnectionName;
use std::sync::Arc;

use crate::ids;
use gatehouse_core::client::Client;
use gatehouse_core::connection::Connection;
use gatehouse_core::log_type::LogType;
use gatehouse_core::passwordless::{
    FAILURE_WINDOW_SECONDS, MAX_ATTEMPTS, MAX_RECIPIENT_FAILURES, Otp, PasswordlessOptions, Send,
    TemplateValues, is_e164, normalize_email, render,
};
use gatehouse_core::store::StoreError;
use gatehouse_core::strategy::Strategy;
use gatehouse_core::user::{Identity, User};
use serde_json::{Map, Value, json};
use time::Duration;

use crate::AppState;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::outbox;

/// The outbox kind of passwordless codes and links.
const OUTBOX_KIND: &str = "passwordless";

/// The passwordless connection named `name` that `client` may use, else Auth0's
/// `bad.connection`.
pub async fn connection_for(
    state: &AppState,
    client: &Client,
    name: &str,
) -> Result<Connection, OAuthError> {
    let bad = |d: &str| OAuthError::Auth0 {
        code: "bad.connection",
        description: d.into(),
    };
    let c = state
        .stores
        .connections
        .connection_by_name(&ConnectionName::from(name))
        .await?
        .ok_or_else(|| bad("Connection does not exist"))?;
    if !matches!(c.strategy.as_str(), "email" | "sms") {
        return Err(bad(
            "Invalid connection strategy. It must either be a passwordless connection",
        ));
    }
    if !c.enabled_clients.contains(&client.client_id) {
        return Err(bad("Connection is disabled"));
    }
    Ok(c)
}

/// The recipient for `connection` from what the caller typed: a lower-cased email, or an
/// E.164 phone number; else Auth0's `bad.email` / `bad.phone_number`.
pub fn recipient(connection: &Connection, given: Option<&str>) -> Result<String, OAuthError> {
    if connection.strategy == Strategy::Email {
        let e = given.ok_or_else(|| OAuthError::Auth0 {
            code: "bad.email",
            description: "Missing required property: email".into(),
        })?;
        normalize_email(e).ok_or_else(|| OAuthError::Auth0 {
            code: "bad.email",
            description: "Object didn't pass validation for format email".into(),
        })
    } else {
        let p = given.ok_or_else(|| OAuthError::Auth0 {
            code: "bad.phone_number",
            description: "Missing required property: phone_number".into(),
        })?;
        if is_e164(p) {
            Ok(p.to_owned())
        } else {
            Err(OAuthError::Auth0 {
                code: "bad.phone_number",
                description: "String does not match pattern: ^\\+[0-9]{1,15}$".into(),
            })
        }
    }
}

/// What to send and how.
pub struct SendRequest<'a> {
    /// The application asking.
    pub client: &'a Arc<Client>,
    /// The passwordless connection.
    pub connection: &'a Connection,
    /// From [`recipient`].
    pub recipient: &'a str,
    /// A code or a link.
    pub send: Send,
    /// For a link: the authorization parameters it completes.
    pub auth_params: Value,
    /// The caller: its address key for the limit, its address for the log.
    pub caller: &'a CallerInfo,
    /// `x-request-language` / `accept-language`, for templates.
    pub language: &'a str,
}

/// The limits on sending: per caller address and per recipient of a connection.
async fn check_send_limits(state: &AppState, req: &SendRequest<'_>) -> Result<(), OAuthError> {
    let limits = &state.passwordless_limits;
    if let (Some(l), Some(ip)) = (&limits.per_ip, req.caller.ip_key.as_deref())
        && !l.check(ip).await.allowed
    {
        return Err(OAuthError::TooManyRequests(
            "Too many passwordless requests from this address".into(),
        ));
    }
    let key = format!("{}\u{0}{}", req.connection.name, req.recipient);
    if let Some(l) = &limits.per_recipient
        && !l.check(&key).await.allowed
    {
        return Err(OAuthError::TooManyRequests(
            "Too many codes were sent to this recipient; wait a few minutes".into(),
        ));
    }
    Ok(())
}

/// Sends a code or link, and logs `cs` or `cls`. The answer is the same when nothing is
/// sent because the person may not log in (blocked, or unknown with sign-up disabled), so
/// it reveals no one's account. The message is queued (`crate::outbox`): a delivery failure
/// is logged for the administrator, and the caller is told of success either way.
pub async fn send(state: &AppState, req: SendRequest<'_>) -> Result<(), OAuthError> {
    check_send_limits(state, &req).await?;
    let options = PasswordlessOptions::of(req.connection);
    let existing = state
        .stores
        .users
        .user_by_login(&req.connection.name, req.recipient)
        .await?;
    let mut event = crate::audit::event(
        &state.clock,
        match req.send {
            Send::Code => LogType::CodeSent,
            Send::Link => LogType::CodeLinkSent,
        },
    );
    event.client_id = Some(req.client.client_id.clone().into_string());
    event.client_name = Some(req.client.name.clone());
    event.connection = Some(req.connection.name.clone().into_string());
    event.ip = req.caller.ip.clone();
    event.user_id = (existing.as_ref().map(|u| u.user_id.clone())).map(Into::into);
    event.details = json!({"strategy": req.connection.strategy, "recipient": req.recipient});
    let may_log_in = match &existing {
        Some(u) => !u.blocked,
        None => !options.disable_signup,
    };
    if !may_log_in {
        event.description = Some("Nothing sent: the user is blocked or may not sign up".into());
        state.logs.record(event);
        // The write a send makes, so the time taken does not tell this case apart.
        outbox::enqueue(state, OUTBOX_KIND, req.recipient, None).await?;
        return Ok(());
    }
    // Links are opened, not typed: they carry a long secret instead of a short code.
    let code = match req.send {
        Send::Code => crate::ids::new_code(options.length),
        Send::Link => crate::crypto::random_secret(32),
    };
    let now = state.clock.now();
    let otp = Otp {
        id: ids::random_alphanumeric(24),
        connection: req.connection.name.clone(),
        recipient: req.recipient.to_owned(),
        code_hash: state
            .hasher
            .hash(&otp_secret(&req.connection.name, req.recipient, &code)),
        client_id: req.client.client_id.clone(),
        send: req.send.as_str().into(),
        auth_params: req.auth_params.clone(),
        attempts: 0,
        created_at: now,
        expires_at: now + Duration::seconds(options.time_step),
    };
    state.stores.otps.put_otp(&otp).await?;
    let link = match req.send {
        Send::Link => verify_link(state, &req, &code),
        Send::Code => String::new(),
    };
    let values = TemplateValues {
        code: &code,
        link: &link,
        send: req.send,
        application_name: &req.client.name,
        recipient: req.recipient,
        request_language: req.language,
    };
    // Queued, not sent: the answer does not wait on (or reveal anything through) the
    // provider. A delivery failure is logged (`fn`) by the outbox, not told to the caller.
    let content = message(&req, &options, &values);
    outbox::enqueue(state, OUTBOX_KIND, req.recipient, Some(content)).await?;
    event.description = Some(match req.send {
        Send::Code => "Passwordless login code has been sent".into(),
        Send::Link => "Passwordless login code/link has been sent".into(),
    });
    state.logs.record(event);
    Ok(())
}

/// The message carrying the code or link: an email from the connection's Liquid template
/// (the plain substitution when it does not render), or an SMS.
fn message(
    req: &SendRequest<'_>,
    options: &PasswordlessOptions,
    values: &TemplateValues<'_>,
) -> outbox::Content {
    if req.connection.strategy == Strategy::Email {
        let liquid = crate::account_mail::template::passwordless_mail(
            &options.template,
            &options.subject,
            options.from.as_deref(),
            values,
        );
        match liquid {
            Some(mail) => outbox::Content::Email {
                to: req.recipient.to_owned(),
                from: mail.from,
                subject: mail.subject,
                body: mail.text,
                html: mail.html,
            },
            None => outbox::Content::Email {
                to: req.recipient.to_owned(),
                from: options.from.as_deref().map(|f| render(f, values)),
                subject: render(&options.subject, values),
                body: render(&options.template, values),
                html: None,
            },
        }
    } else {
        outbox::Content::Sms {
            connection: req.connection.name.clone().into_string(),
            to: req.recipient.to_owned(),
            body: render(&options.template, values),
        }
    }
}

/// What is hashed for a code: bound to its connection and recipient, so a hash is useless
/// for any other.
pub fn otp_secret(connection: &str, recipient: &str, code: &str) -> String {
    format!("otp\u{0}{connection}\u{0}{recipient}\u{0}{code}")
}

fn verify_link(state: &AppState, req: &SendRequest<'_>, code: &str) -> String {
    let field = if req.connection.strategy == Strategy::Email {
        "email"
    } else {
        "phone_number"
    };
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &req.client.client_id)
        .append_pair("connection", &req.connection.name)
        .append_pair(field, req.recipient)
        .append_pair("verification_code", code)
        .finish();
    format!("{}passwordless/verify_redirect?{query}", state.issuer)
}

/// What checking a code found.
pub enum CodeCheck {
    /// The right code, now used up.
    Valid(Box<Otp>),
    /// Wrong, expired, used, superseded or out of attempts alike.
    Wrong,
    /// Brute-force protection blocks this user from this address.
    TooManyAttempts,
}

/// Checks a code for (`connection`, `recipient`): one of its three attempts is spent first,
/// so concurrent guesses cannot exceed them; a right code is used up. With the connection's
/// `brute_force_protection` on (the default), an existing user's failures from one address
/// also count towards the tenant's brute-force threshold, as password failures do.
pub async fn check(
    state: &AppState,
    connection: &Connection,
    recipient: &str,
    code: &str,
    caller: &CallerInfo,
) -> Result<CodeCheck, OAuthError> {
    let options = PasswordlessOptions::of(connection);
    let threshold = state
        .config
        .brute_force_threshold
        .filter(|_| options.brute_force_protection);
    // Failures count per address key (IPv6: the /64); the log names the address.
    let ip = caller.ip_key.as_deref().unwrap_or_default();
    let users = &state.stores.users;
    let user = match threshold {
        Some(_) => users.user_by_login(&connection.name, recipient).await?,
        None => None,
    };
    if let (Some(limit), Some(u)) = (threshold, &user)
        && users.login_failures(&u.user_id, ip).await? >= i64::from(limit)
    {
        return Ok(CodeCheck::TooManyAttempts);
    }
    let now = state.clock.now();
    // Guessing across codes is capped per recipient in the database, whichever replica
    // answers and from however many addresses.
    let window_start = now - Duration::seconds(FAILURE_WINDOW_SECONDS);
    let otps = &state.stores.otps;
    if otps
        .otp_failures(&connection.name, recipient, window_start)
        .await?
        >= MAX_RECIPIENT_FAILURES
    {
        return Ok(CodeCheck::TooManyAttempts);
    }
    let claimed = otps
        .claim_otp_attempt(&connection.name, recipient, MAX_ATTEMPTS, now)
        .await?;
    let secret = otp_secret(&connection.name, recipient, code.trim());
    let valid = match claimed {
        Some(otp) if state.hasher.verify(&secret, &otp.code_hash) => {
            otps.consume_otp(&otp.id).await?.then(|| Box::new(otp))
        }
        Some(otp) => {
            otps.record_otp_failure(&otp.id, now, window_start).await?;
            None
        }
        None => None,
    };
    match (valid, threshold, &user) {
        (Some(otp), Some(_), Some(u)) => {
            users.clear_login_failures(&u.user_id, Some(ip)).await?;
            Ok(CodeCheck::Valid(otp))
        }
        (Some(otp), _, _) => Ok(CodeCheck::Valid(otp)),
        (None, Some(limit), Some(u)) => {
            let n = users.record_login_failure(&u.user_id, ip, now).await?;
            if n >= i64::from(limit) {
                let mut event = crate::audit::event(&state.clock, LogType::BlockedAccount);
                event.user_id = Some(u.user_id.clone().into_string());
                event.ip = caller.ip.clone();
                event.connection = Some(connection.name.clone().into_string());
                event.description = Some(crate::authn::accounts::TOO_MANY_ATTEMPTS.into());
                state.logs.record(event);
                return Ok(CodeCheck::TooManyAttempts);
            }
            Ok(CodeCheck::Wrong)
        }
        (None, _, _) => Ok(CodeCheck::Wrong),
    }
}

/// Auth0's words for a wrong code, by strategy.
pub fn wrong_code(connection: &Connection) -> OAuthError {
    OAuthError::InvalidGrant(if connection.strategy == Strategy::Email {
        "Wrong email or verification code.".into()
    } else {
        "Wrong phone number or verification code.".into()
    })
}

/// The user a checked code proves: found by the recipient (through any identity of the
/// connection, so a linked identity yields its primary user), else created unless sign-up
/// is disabled. The address is marked verified. `Ok(None)` when no user may log in.
pub async fn user_for(
    state: &AppState,
    connection: &Connection,
    recipient: &str,
) -> Result<Option<(User, bool)>, OAuthError> {
    let users = &state.stores.users;
    if let Some(mut user) = users.user_by_login(&connection.name, recipient).await? {
        let primary_matches = user
            .identities
            .first()
            .is_some_and(|i| i.connection == connection.name);
        let unverified = if connection.strategy == Strategy::Email {
            !user.email_verified
        } else {
            !user.phone_verified
        };
        if primary_matches && unverified {
            if connection.strategy == Strategy::Email {
                user.email_verified = true;
            } else {
                user.phone_verified = true;
            }
            user.updated_at = state.clock.now();
            users.update_user(&user).await?;
        }
        return Ok(Some((user, false)));
    }
    let options = PasswordlessOptions::of(connection);
    if options.disable_signup {
        return Ok(None);
    }
    let identity = Identity {
        provider: connection.strategy.to_string(),
        connection: connection.name.clone(),
        user_id: ids::new_database_user_id(),
        is_social: false,
        profile_data: json!({}),
        password_hash: None,
        idp_tokens: None,
    };
    let (email, phone) = if connection.strategy == Strategy::Email {
        (Some(recipient.to_owned()), None)
    } else {
        (None, Some(recipient.to_owned()))
    };
    let mut user = User::new(identity, email, None, phone, Map::new(), state.clock.now());
    user.email_verified = user.email.is_some();
    user.phone_verified = user.phone_number.is_some();
    match users.insert_user(&user).await {
        Ok(()) => Ok(Some((user, true))),
        // Two first logins at once: the other one made the user.
        Err(StoreError::Conflict(_)) => Ok(users
            .user_by_login(&connection.name, recipient)
            .await?
            .map(|u| (u, false))),
        Err(e) => Err(e.into()),
    }
}

/// Logs `ss` for a user made by a first passwordless login.
pub fn log_signup(state: &AppState, user: &User, connection: &Connection, client_id: &str) {
    let mut e = crate::audit::event(&state.clock, LogType::SuccessSignup);
    e.description = Some("Successful signup (first passwordless login)".into());
    e.user_id = Some(user.user_id.clone().into_string());
    e.connection = Some(connection.name.clone().into_string());
    e.client_id = Some(client_id.to_owned());
    state.logs.record(e);
}
