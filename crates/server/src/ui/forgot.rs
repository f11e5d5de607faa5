//! "Forgot your password?": the login page's link to a form that asks for an email address
//! and mails a reset link (the same request as `/dbconnections/change_password`, through the
//! outbox), then says so whether or not the address has an account.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::bound_form::{BoundForm, TxForm, bound_transaction};
use super::login::TxQuery;
use crate::AppState;
use crate::account_mail::reset::{self, Requested};
use crate::error::OAuthError;
use crate::pages::{self, Brand, MessagePage};

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage<'a> {
    tenant: &'a Brand,
    t: pages::Texts,
    tx: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

/// The form.
#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    email: String,
}

impl TxForm for ForgotForm {
    const MALFORMED: &'static str = "The form was not filled in properly.";
}

/// `GET /u/reset-password/request?tx=`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TxQuery>,
) -> Result<Response, OAuthError> {
    let mut tenant = pages::brand_for(&state, &headers).await;
    Ok(
        match bound_transaction(&state, &headers, &q.tx, &tenant).await {
            Ok((tx, client)) => {
                tenant.speak(tx.lang.as_deref());
                form(&tenant, &client.name, &q.tx, "", None, StatusCode::OK)
            }
            Err(page) => page,
        },
    )
}

fn form(
    tenant: &Brand,
    client_name: &str,
    tx: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    pages::render(
        status,
        &ForgotPage {
            tenant,
            t: tenant
                .texts("reset-password", "reset-password-request")
                .var("clientName", client_name),
            tx,
            email,
            error,
        },
    )
}

/// `POST /u/reset-password/request`: the reset mail for the application's database
/// connection, and the same page whatever the address.
pub async fn submit(
    State(state): State<AppState>,
    BoundForm {
        form: ForgotForm { email },
        tx,
        client,
        tenant,
    }: BoundForm<ForgotForm>,
) -> Result<Response, OAuthError> {
    let email = email.trim();
    let sealed = tx.seal(&state)?;
    if email.is_empty() || !email.contains('@') || email.chars().count() > 320 {
        return Ok(form(
            &tenant,
            &client.name,
            &sealed,
            email,
            Some("no-email"),
            StatusCode::BAD_REQUEST,
        ));
    }
    let connection =
        crate::authn::database_connection::for_login(&state, client.client_id.as_str()).await?;
    if let Some(c) = connection {
        let asked = reset::request(
            &state,
            email,
            c.name.as_str(),
            Some(client.client_id.as_str()),
        )
        .await?;
        // `for_login` only returns connections the application is enabled on.
        debug_assert_eq!(asked, Requested::Answered);
    }
    let t = tenant
        .texts("reset-password", "reset-password-email")
        .var("clientName", client.name.as_str())
        .var("email", email);
    Ok(pages::render(
        StatusCode::OK,
        &MessagePage {
            tenant: &tenant,
            heading: &t.get("title"),
            message: &t.get("emailDescription"),
        },
    ))
}
