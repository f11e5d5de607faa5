//! What every dashboard page shares: the shell (who is signed in, the CSRF token, which
//! section is open), one-line messages, the form reader with its CSRF check, the password
//! check before dangerous actions, and rendering.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use gatehouse_core::admin::ADMIN_CONNECTION;
use gatehouse_core::id::ConnectionName;

use super::api::ApiError;
use super::session::Admin;
use crate::AppState;

/// The dashboard's Content-Security-Policy: its own styles and one script file, no inline
/// code, forms posting only to itself, never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The sections of the navigation, in order: (path below `/admin`, label).
pub const SECTIONS: &[(&str, &str)] = &[
    ("", "Home"),
    ("start", "Getting started"),
    ("apps", "Applications"),
    ("apis", "APIs"),
    ("connections", "Connections"),
    ("users", "Users"),
    ("roles", "Roles"),
    ("logs", "Logs"),
    ("tenant", "Settings"),
    ("keys", "Signing keys"),
    ("admins", "Administrators"),
];

/// A message at the top of a page.
#[derive(Debug, Clone, Default)]
pub struct Flash {
    /// The text.
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
}

impl Flash {
    /// A failure.
    pub fn error(text: impl Into<String>) -> Option<Flash> {
        Some(Flash {
            text: text.into(),
            error: true,
        })
    }

    /// A success.
    pub fn done(text: impl Into<String>) -> Option<Flash> {
        Some(Flash {
            text: text.into(),
            error: false,
        })
    }

    /// What a query string's `done`/`error` says (pages redirect after a POST with them).
    pub fn from_query(q: &HashMap<String, String>) -> Option<Flash> {
        match (q.get("error"), q.get("done")) {
            (Some(e), _) => Flash::error(e.clone()),
            (None, Some(d)) => Flash::done(d.clone()),
            _ => None,
        }
    }
}

/// The frame of every signed-in page.
pub struct Shell {
    /// The administrator's email.
    pub email: String,
    /// The token forms carry.
    pub csrf: String,
    /// The open section (a `SECTIONS` path).
    pub section: &'static str,
    /// The message at the top.
    pub flash: Option<Flash>,
}

impl Shell {
    /// The shell of `section` for `admin`.
    pub fn new(admin: &Admin, section: &'static str, flash: Option<Flash>) -> Self {
        Shell {
            email: admin.session.email.clone(),
            csrf: admin.session.csrf.clone(),
            section,
            flash,
        }
    }

    /// The navigation: (href, label, current).
    pub fn nav(&self) -> Vec<(String, &'static str, bool)> {
        SECTIONS
            .iter()
            .map(|(path, label)| (format!("/admin/{path}"), *label, *path == self.section))
            .collect()
    }
}

/// Renders a dashboard page with its headers.
pub fn render(page: &impl Template) -> Response {
    with_csp(crate::pages::render(StatusCode::OK, page))
}

/// Adds the dashboard's CSP to a response.
pub fn with_csp(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

/// A 500 page; the cause is logged, never shown.
pub fn internal(e: anyhow::Error) -> Response {
    tracing::error!(error = %e, "admin dashboard failed");
    with_csp((StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response())
}

/// The page for a browser without a session (after sign-out or a refused sign-in).
#[derive(Template)]
#[template(path = "admin/signed_out.html")]
pub struct SignedOut {
    /// Why they are here.
    pub flash: Option<Flash>,
}

/// Renders [`SignedOut`].
pub fn signed_out(flash: Option<Flash>) -> Response {
    render(&SignedOut { flash })
}

/// Back to `to` with a message (the answer to every form: POST, redirect, GET).
pub fn back(to: &str, outcome: Result<String, String>) -> Response {
    let (key, text) = match outcome {
        Ok(t) => ("done", t),
        Err(t) => ("error", t),
    };
    let sep = if to.contains('?') { '&' } else { '?' };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(key, &text)
        .finish();
    Redirect::to(&format!("{to}{sep}{query}")).into_response()
}

/// [`back`] with an API outcome.
pub fn back_api(to: &str, done: &str, outcome: Result<serde_json::Value, ApiError>) -> Response {
    back(to, outcome.map(|_| done.to_owned()).map_err(|e| e.message))
}

/// A posted form (`application/x-www-form-urlencoded`), fields in order, repeats kept.
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// The first value of `name`, trimmed; empty counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// Whether the checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The values of a text area or field listing one per line or separated by commas.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .unwrap_or_default()
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// A form posted by a signed-in administrator that carries their session's CSRF token: the
/// extractor of every dashboard POST, so no handler can forget the check. Without a session
/// the browser goes to sign in; with a wrong or missing token the answer is a 403.
pub struct Posted {
    /// Who posted it.
    pub admin: Admin,
    /// The form.
    pub form: Form,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let admin = Admin::from_request_parts(&mut parts, state).await?;
        let form = Form::from_request(Request::from_parts(parts, body), state).await?;
        if !admin.session.csrf_matches(form.get("csrf")) {
            return Err(with_csp(
                (StatusCode::FORBIDDEN, "This form expired; reload the page.").into_response(),
            ));
        }
        Ok(Posted { admin, form })
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Form(
            url::form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

/// Dangerous actions (deleting users, rotating keys, changing the email provider) ask for
/// the administrator's password again: a session left open is not enough. Checked as a
/// login is (brute-force counting, decoy hash), so the field cannot be used to guess.
pub async fn reauthenticate(state: &AppState, admin: &Admin, form: &Form) -> Result<(), String> {
    let wrong = || "Confirm with your password to do this.".to_owned();
    let password = form.get("password").ok_or_else(wrong)?;
    let connection = state
        .stores
        .connections
        .connection_by_name(&ConnectionName::from(ADMIN_CONNECTION))
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(wrong)?;
    let checked = crate::authn::accounts::check_password(
        state,
        &connection,
        &admin.session.email,
        password,
        &admin.caller,
    )
    .await
    .map_err(|e| e.description())?;
    match checked {
        Ok(user) if user.user_id.as_str() == admin.session.user_id => Ok(()),
        _ => Err("The password is not right.".to_owned()),
    }
}
