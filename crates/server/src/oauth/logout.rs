//! Logout: Auth0's `GET /v2/logout` and OIDC RP-initiated logout (`/oidc/logout`). The
//! session ends, its cookie is cleared, and the browser goes only where the application (or
//! the tenant) listed it may go: never an open redirect.
//!
//! Logout CSRF: the session cookie is `SameSite=None` (silent authentication needs it in
//! cross-site frames), so any page could end a session with `<img src=".../v2/logout">`.
//! A live session therefore ends without asking only when the request shows it comes from
//! the user or their application (see [`may_end_without_asking`]); otherwise the browser gets
//! a confirmation page whose form carries the request on and a token bound to the session
//! cookie. Auth0 logs out on any request; we are stricter, at the price of one click for
//! applications on another site that send no ID token hint.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::id::ClientId;
use gatehouse_core::log_type::LogType;
use gatehouse_core::redirect_uri;
use gatehouse_core::session::Session;
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::authn::cookies::{SESSION_COOKIE, cookie, set_session_cookie};
use crate::authn::session::current_session;
use crate::error::OAuthError;
use crate::pages;

#[derive(Template)]
#[template(path = "logged_out.html")]
struct LoggedOut<'a> {
    tenant: &'a crate::pages::Brand,
    t: pages::Texts,
}

#[derive(Template)]
#[template(path = "confirm_logout.html")]
struct ConfirmLogout<'a> {
    tenant: &'a crate::pages::Brand,
    t: pages::Texts,
    /// The endpoint the form posts back to, with the request's own parameters.
    action: &'a str,
    fields: &'a [(&'a str, String)],
    token: &'a str,
}

/// The confirmation token of a logout form: bound to the session cookie, so only a page we
/// served to this browser can submit it (the cookie alone would do from any site once it is
/// `SameSite=None`).
fn confirmation_token(state: &AppState, session_cookie: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        state
            .hasher
            .hash(&format!("logout-confirmation:{session_cookie}")),
    )
}

/// Whether `given` is this session's confirmation token (constant time).
fn confirmed(state: &AppState, session_cookie: &str, given: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(given)
        .is_ok_and(|mac| {
            state
                .hasher
                .verify(&format!("logout-confirmation:{session_cookie}"), &mac)
        })
}

/// Whether the browser says this is a top-level navigation from our own site, or one the
/// user started (address bar, bookmark): Fetch Metadata (`Sec-Fetch-*`), which pages cannot
/// set or forge. An `<img>` is `Sec-Fetch-Dest: image`, a frame `iframe`, a script's `fetch`
/// `empty`, so none of them qualify; neither does a navigation from another site. `same-site`
/// is trusted like `same-origin`: applications on a sibling host (`app.example.com` beside
/// `login.example.com`, or two ports of `localhost`) are the usual deployment, and the
/// session cookie draws no finer line either. A request without these headers (a browser
/// from before Fetch Metadata, or plain HTTP to a host that is not loopback, where browsers
/// do not send them) does not qualify: it gets the confirmation page.
fn same_site_navigation(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    value("sec-fetch-dest") == Some("document")
        && value("sec-fetch-mode") == Some("navigate")
        && matches!(
            value("sec-fetch-site"),
            Some("same-origin" | "same-site" | "none")
        )
}

/// The claims of an `id_token_hint` that decide things here.
struct Hint {
    /// The application it was issued to.
    aud: String,
    sub: String,
    sid: Option<String>,
}

/// Reads an `id_token_hint`: an ID token we signed, for one application (our access tokens
/// carry `scope` and may have several audiences, so they are not hints). It may have expired
/// (OpenID Connect RP-Initiated Logout 1.0 s2 allows it). `None` if it is none of that.
fn parse_hint(state: &AppState, token: &str) -> Option<Hint> {
    let claims = state.keys.verify(token).ok()?;
    if claims["iss"] != state.issuer.as_str() || claims.get("scope").is_some() {
        return None;
    }
    let text = |name: &str| claims[name].as_str().map(str::to_owned);
    Some(Hint {
        aud: text("aud")?,
        sub: text("sub")?,
        sid: claims.get("sid").and_then(Value::as_str).map(str::to_owned),
    })
}

impl Hint {
    /// Whether the hint names the session's user, or the session itself. Only then does the
    /// hint speak for this session (RP-Initiated Logout s2: with a hint for another user the
    /// OP asks).
    fn matches(&self, session: &Session) -> bool {
        self.sub == session.user_id || self.sid.as_deref() == Some(session.sid.as_str())
    }
}

/// What a logout request carries that may vouch for it.
pub(crate) struct Evidence<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// Its headers.
    pub headers: &'a HeaderMap,
    /// The `id_token_hint`, already checked to be one of our ID tokens.
    hint: Option<&'a Hint>,
    /// The confirmation form's token.
    pub confirm: Option<&'a str>,
}

impl<'a> Evidence<'a> {
    /// Evidence without an ID token hint (SAML single logout has none).
    pub(crate) fn without_hint(
        method: &'a Method,
        headers: &'a HeaderMap,
        confirm: Option<&'a str>,
    ) -> Self {
        Self {
            method,
            headers,
            hint: None,
            confirm,
        }
    }
}

/// Whether the session may end without asking. Without a live session there is nothing to
/// protect. Otherwise: the confirmation form posted back with this session's token; or an ID
/// token hint for this session's user or session (an expired one too: an application that
/// holds it was given it by this user); or, without a hint, a top-level navigation from our
/// own site or the address bar (Auth0's SDKs navigate the whole window to the logout URL).
/// A `client_id` proves nothing: it is public. A hint for someone else asks even on a
/// same-site navigation, since the application believes another user is signed in.
pub(crate) fn may_end_without_asking(
    state: &AppState,
    session: Option<&Session>,
    evidence: &Evidence<'_>,
) -> bool {
    let Some(session) = session else {
        return true;
    };
    if *evidence.method == Method::POST
        && let (Some(token), Some(session_cookie)) =
            (evidence.confirm, cookie(evidence.headers, SESSION_COOKIE))
        && confirmed(state, session_cookie, token)
    {
        return true;
    }
    match evidence.hint {
        Some(hint) => hint.matches(session),
        None => same_site_navigation(evidence.headers),
    }
}

/// The confirmation page: a form posting the request's parameters back to `action`, with the
/// token that proves the user saw it. It sets no cookie and changes nothing.
pub(crate) fn ask(
    state: &AppState,
    tenant: &pages::Brand,
    headers: &HeaderMap,
    action: &str,
    fields: &[(&str, Option<&String>)],
) -> Response {
    let token = cookie(headers, SESSION_COOKIE)
        .map(|c| confirmation_token(state, c))
        .unwrap_or_default();
    let fields: Vec<(&str, String)> = fields
        .iter()
        .filter_map(|(name, value)| value.map(|v| (*name, v.clone())))
        .collect();
    pages::render(
        StatusCode::OK,
        &ConfirmLogout {
            tenant,
            t: tenant.texts("logout", "logout"),
            action,
            fields: &fields,
            token: &token,
        },
    )
}

/// Ends the session in the cookie (if any) and says so in the log.
pub(crate) async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    session: Option<Session>,
    client_id: Option<&str>,
) -> Result<(), OAuthError> {
    if let Some(id) = cookie(headers, SESSION_COOKIE) {
        let now = state.clock.now();
        let ended = state
            .stores
            .sessions
            .revoke_session(&state.hasher.hash(id), now)
            .await?;
        crate::backchannel::sessions_ended(state, ended.as_slice()).await;
        if let Some(s) = session {
            let mut event = crate::audit::event(&state.clock, LogType::SuccessLogout);
            event.description = Some("User successfully logged out".into());
            event.user_id = Some(s.user_id.into_string());
            event.client_id = client_id.map(str::to_owned);
            state.logs.record(event);
        }
    }
    Ok(())
}

fn finish(state: &AppState, tenant: &pages::Brand, to: Option<String>) -> Response {
    let mut r = match to {
        Some(url) => {
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&url) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        None => pages::render(
            StatusCode::OK,
            &LoggedOut {
                tenant,
                t: tenant.texts("logout", "logout-complete"),
            },
        ),
    };
    r.headers_mut()
        .append(header::SET_COOKIE, set_session_cookie(state, "", 0));
    r
}

/// Parameters of `/v2/logout` (query, or the confirmation form).
#[derive(Debug, Deserialize)]
pub struct V2Logout {
    #[serde(rename = "returnTo")]
    return_to: Option<String>,
    client_id: Option<String>,
    /// Not Auth0's, but accepted: a matching one ends the session without asking.
    id_token_hint: Option<String>,
    confirm: Option<String>,
    /// Auth0's `federated`: also log out of the upstream identity provider.
    federated: Option<String>,
}

/// `GET /v2/logout`, and `POST` from its confirmation page.
pub async fn v2_logout(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    // `Form` reads the query string on GET and the body on POST.
    form: Result<Form<V2Logout>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let tenant = crate::pages::brand_for(&state, &headers).await;
    let Ok(Form(q)) = form else {
        return Ok(pages::error_page(
            &tenant,
            "The logout request is malformed.",
        ));
    };
    let allowed: Vec<String> = match q.client_id.as_deref() {
        Some(id) => match state.catalog.client(&ClientId::from(id)).await? {
            Some(c) => c.settings.allowed_logout_urls.clone(),
            None => return Ok(pages::error_page(&tenant, "Unknown client.")),
        },
        None => state.catalog.tenant().await?.allowed_logout_urls.clone(),
    };
    // Checked before the session ends (or the user is asked), so a refused request changes
    // nothing.
    let to = match &q.return_to {
        Some(url) if redirect_uri::allowed(&allowed, url, false) => Some(url.clone()),
        Some(_) => {
            return Ok(pages::error_page(
                &tenant,
                "The returnTo URL is not in the Allowed Logout URLs.",
            ));
        }
        None => allowed.first().cloned(),
    };
    // Auth0's `/v2/logout` takes no hint, so one that is not ours (or is for another
    // application) is ignored rather than refused: it only cannot vouch for the request.
    let hint = q
        .id_token_hint
        .as_deref()
        .and_then(|t| parse_hint(&state, t))
        .filter(|h| q.client_id.as_ref().is_none_or(|c| *c == h.aud));
    let session = current_session(&state, &headers).await?;
    let evidence = Evidence {
        method: &method,
        headers: &headers,
        hint: hint.as_ref(),
        confirm: q.confirm.as_deref(),
    };
    if !may_end_without_asking(&state, session.as_ref(), &evidence) {
        return Ok(ask(
            &state,
            &tenant,
            &headers,
            "/v2/logout",
            &[
                ("returnTo", q.return_to.as_ref()),
                ("client_id", q.client_id.as_ref()),
                ("id_token_hint", q.id_token_hint.as_ref()),
                ("federated", q.federated.as_ref()),
            ],
        ));
    }
    let upstream = match (&q.federated, &session) {
        (Some(_), Some(s)) => crate::upstream::end_session_url(&state, s, to.as_deref()).await,
        _ => None,
    };
    end_session(&state, &headers, session, q.client_id.as_deref()).await?;
    Ok(finish(&state, &tenant, upstream.or(to)))
}

/// Parameters of `/oidc/logout` (query or form).
#[derive(Debug, Default, Deserialize)]
pub struct OidcLogout {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    client_id: Option<String>,
    state: Option<String>,
    confirm: Option<String>,
}

/// `GET|POST /oidc/logout` (OpenID Connect RP-Initiated Logout 1.0).
pub async fn oidc_logout(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    // `Form` reads the query string on GET and the body on POST.
    form: Result<Form<OidcLogout>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let tenant = crate::pages::brand_for(&state, &headers).await;
    let Ok(Form(p)) = form else {
        return Ok(pages::error_page(
            &tenant,
            "The logout request is malformed.",
        ));
    };
    let hint = match p.id_token_hint.as_deref() {
        Some(t) => match parse_hint(&state, t) {
            Some(h) => Some(h),
            None => {
                return Ok(pages::error_page(
                    &tenant,
                    "The id_token_hint is not valid.",
                ));
            }
        },
        None => None,
    };
    if let (Some(h), Some(c)) = (&hint, &p.client_id)
        && h.aud != *c
    {
        return Ok(pages::error_page(
            &tenant,
            "client_id does not match the id_token_hint.",
        ));
    }
    let client_id = hint.as_ref().map(|h| h.aud.clone()).or(p.client_id.clone());
    // Checked before the session ends (or the user is asked), so a refused request changes
    // nothing.
    let to = match (&p.post_logout_redirect_uri, &client_id) {
        (Some(uri), Some(id)) => {
            let Some(client) = state.catalog.client(&ClientId::from(id)).await? else {
                return Ok(pages::error_page(&tenant, "Unknown client."));
            };
            if !redirect_uri::allowed(&client.settings.allowed_logout_urls, uri, false) {
                return Ok(pages::error_page(
                    &tenant,
                    "The post_logout_redirect_uri is not in the Allowed Logout URLs.",
                ));
            }
            let mut url = uri.clone();
            if let Some(s) = &p.state {
                let q: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", s)
                    .finish();
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&q);
            }
            Some(url)
        }
        (Some(_), None) => {
            return Ok(pages::error_page(
                &tenant,
                "post_logout_redirect_uri needs id_token_hint or client_id.",
            ));
        }
        (None, _) => None,
    };
    let session = current_session(&state, &headers).await?;
    let evidence = Evidence {
        method: &method,
        headers: &headers,
        hint: hint.as_ref(),
        confirm: p.confirm.as_deref(),
    };
    if !may_end_without_asking(&state, session.as_ref(), &evidence) {
        return Ok(ask(
            &state,
            &tenant,
            &headers,
            "/oidc/logout",
            &[
                ("id_token_hint", p.id_token_hint.as_ref()),
                (
                    "post_logout_redirect_uri",
                    p.post_logout_redirect_uri.as_ref(),
                ),
                ("client_id", p.client_id.as_ref()),
                ("state", p.state.as_ref()),
            ],
        ));
    }
    end_session(&state, &headers, session, client_id.as_deref()).await?;
    Ok(finish(&state, &tenant, to))
}
