//! `/passwordless/verify_redirect`: the magic link. Opening it (GET) shows a button; the
//! button (POST) uses the link once, logs the person in and completes the authorization
//! request stored with the link when it was sent. The extra click is deliberate: mail
//! scanners open links, and a link opened by a scanner must not be spent (nor log the
//! scanner in). The POST must come from the page the GET served to this browser (a
//! `SameSite=Strict` cookie and the same value in the form): otherwise a site could post
//! someone's own link from a victim's browser and log the victim in as that someone.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use gatehouse_core::id::ClientId;
use gatehouse_core::log_type::LogType;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::authn::cookies::{SameSite, cookie, cookie_header};
use crate::authn::otp;
use crate::authn::request::{AuthorizeQuery, Checked, check_request};
use crate::authn::response::error_to_client;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::pages;

/// The link's query (and the button's form).
#[derive(Debug, Default, Deserialize)]
pub struct LinkParams {
    client_id: Option<String>,
    connection: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
    verification_code: Option<String>,
    /// The button's proof that this browser opened the link (POST only).
    nonce: Option<String>,
}

/// The cookie binding the button to the browser that opened the link.
const LINK_COOKIE: &str = "gh_link";

#[derive(Template)]
#[template(path = "passwordless_link.html")]
struct LinkPage<'a> {
    tenant: &'a pages::Brand,
    t: pages::Texts,
    fields: Vec<(&'a str, &'a str)>,
}

fn link_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    cookie_header(
        state,
        LINK_COOKIE,
        value,
        max_age,
        "/passwordless",
        SameSite::Strict,
    )
}

fn used(tenant: &pages::Brand) -> Response {
    pages::error_page(
        tenant,
        "This link has expired or was already used. Ask for a new one.",
    )
}

/// `GET /passwordless/verify_redirect`: the confirmation page (nothing is used up).
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    // `Form` reads the query string on GET.
    form: Result<Form<LinkParams>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let tenant = pages::brand_for(&state, &headers).await;
    let Ok(Form(p)) = form else {
        return Ok(used(&tenant));
    };
    let (Some(client_id), Some(connection), Some(code)) =
        (&p.client_id, &p.connection, &p.verification_code)
    else {
        return Ok(used(&tenant));
    };
    let Some(client) = state.catalog.client(&ClientId::from(client_id)).await? else {
        return Ok(used(&tenant));
    };
    let recipient_field = if p.email.is_some() {
        "email"
    } else {
        "phone_number"
    };
    let recipient = p
        .email
        .as_deref()
        .or(p.phone_number.as_deref())
        .unwrap_or_default();
    let nonce = crate::crypto::random_secret(24);
    let mut r = pages::render(
        StatusCode::OK,
        &LinkPage {
            t: tenant
                .texts("login-passwordless", "login-passwordless-email-link")
                .var("clientName", client.name.as_str())
                .var("email", recipient),
            tenant: &tenant,
            fields: vec![
                ("client_id", client_id),
                ("connection", connection),
                (recipient_field, recipient),
                ("verification_code", code),
                ("nonce", &nonce),
            ],
        },
    );
    r.headers_mut()
        .append(header::SET_COOKIE, link_cookie(&state, &nonce, 600));
    Ok(r)
}

/// `POST /passwordless/verify_redirect`: uses the link and answers as `/authorize` would.
pub async fn verify(
    State(state): State<AppState>,
    caller: CallerInfo,
    headers: HeaderMap,
    form: Result<Form<LinkParams>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let tenant = pages::brand_for(&state, &headers).await;
    let Ok(Form(p)) = form else {
        return Ok(used(&tenant));
    };
    // Nothing is spent unless the button is the one served to this browser.
    let from_our_page = match (cookie(&headers, LINK_COOKIE), p.nonce.as_deref()) {
        (Some(c), Some(n)) => !n.is_empty() && bool::from(c.as_bytes().ct_eq(n.as_bytes())),
        _ => false,
    };
    if !from_our_page {
        return Ok(pages::error_page(
            &tenant,
            "Open the link from your email in this browser, then use its button.",
        ));
    }
    let (Some(client_id), Some(name), Some(code)) =
        (&p.client_id, &p.connection, &p.verification_code)
    else {
        return Ok(used(&tenant));
    };
    let Some(client) = state.catalog.client(&ClientId::from(client_id)).await? else {
        return Ok(used(&tenant));
    };
    let Ok(connection) = otp::connection_for(&state, &client, name).await else {
        return Ok(used(&tenant));
    };
    let given = p.email.as_deref().or(p.phone_number.as_deref());
    let Ok(recipient) = otp::recipient(&connection, given) else {
        return Ok(used(&tenant));
    };
    let mut event = crate::authn::login_event(&state.clock, &caller, &client, &connection.name);
    let checked = otp::check(&state, &connection, &recipient, code, &caller).await?;
    let otp = match checked {
        otp::CodeCheck::Valid(o) => Some(o),
        otp::CodeCheck::Wrong | otp::CodeCheck::TooManyAttempts => None,
    }
    .filter(|o| o.send == "link" && o.client_id == client.client_id);
    let Some(otp) = otp else {
        event.description = Some("Expired, used or wrong magic link".into());
        state.logs.record(event);
        return Ok(used(&tenant));
    };
    // The request the link completes is the one checked when it was sent, checked again
    // (the application's settings may have changed since).
    let query: AuthorizeQuery = serde_json::from_value(otp.auth_params.clone())
        .map_err(|e| OAuthError::Internal(e.into()))?;
    let tx = match check_request(&state, &query).await? {
        Checked::Valid(_, tx, _, _) => tx,
        Checked::Refused(page) => return Ok(page),
    };
    let found = otp::user_for(&state, &connection, &recipient).await?;
    let Some((user, created)) = found else {
        event.description = Some("Sign-ups are disabled for this connection".into());
        state.logs.record(event);
        return Ok(error_to_client(
            &state,
            &tx,
            "access_denied",
            "Sign-ups are disabled for this connection",
        ));
    };
    event.user_id = Some(user.user_id.clone().into_string());
    if user.blocked {
        event.description = Some("user is blocked".into());
        state.logs.record(event);
        return Ok(error_to_client(
            &state,
            &tx,
            "unauthorized",
            "user is blocked",
        ));
    }
    if created {
        otp::log_signup(&state, &user, &connection, &client.client_id);
    }
    event.kind = LogType::SuccessLogin;
    event.description = Some("Successful login (magic link)".into());
    state.logs.record(event);
    let mut r = crate::oauth::authorization_response::complete_login(
        &state,
        &tx,
        &user,
        &connection.name,
        &caller,
    )
    .await?;
    r.headers_mut()
        .append(header::SET_COOKIE, link_cookie(&state, "", 0));
    Ok(r)
}
