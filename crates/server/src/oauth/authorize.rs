//! `GET /authorize`: the start of the authorization code flow (RFC 6749 s4.1, OIDC Core
//! s3.1.2, PKCE). A request whose client or redirect URI cannot be trusted gets an error
//! page and never a redirect; every later error goes back to the client with `state` and
//! `iss` (RFC 9207).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::client::{AppType, Client};
use gatehouse_core::scope::Scope;
use gatehouse_core::session::{AuthorizationCode, Session};
use gatehouse_core::{pkce, redirect_uri};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::crypto::random_secret;
use crate::error::OAuthError;
use crate::oauth::database_connection;
use crate::ui::{self, FormPost, LoginPage};

/// How long a code may wait to be redeemed.
const CODE_LIFETIME: Duration = Duration::seconds(60);
/// How long the login page may stay open.
const TX_LIFETIME: i64 = 600;
/// Session cookie name.
pub const SESSION_COOKIE: &str = "gh_session";
/// The cookie a login form's transaction is bound to (login CSRF).
pub const CSRF_COOKIE: &str = "gh_csrf";

/// The query of `/authorize` (everything optional here; validation says what is missing).
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeQuery {
    response_type: Option<String>,
    response_mode: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    audience: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    prompt: Option<String>,
    login_hint: Option<String>,
    screen_hint: Option<String>,
    max_age: Option<String>,
    connection: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// A validated authorization request, carried through the login page sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transaction {
    /// The client.
    pub client_id: String,
    /// Where the response goes.
    pub redirect_uri: String,
    /// `query`, `fragment` or `form_post`.
    pub response_mode: String,
    /// `code`, or an implicit or hybrid combination of `code`, `token` and `id_token`.
    #[serde(default = "code")]
    pub response_type: String,
    /// Requested scopes.
    pub scope: String,
    /// Requested API.
    pub audience: Option<String>,
    /// Echoed back.
    pub state: Option<String>,
    /// Put in the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// The `prompt` parameter (`none`, `login`, `consent`).
    #[serde(default)]
    pub prompt: Option<String>,
    /// The database connection to log in with (None: the tenant's default directory).
    #[serde(default)]
    pub connection: Option<String>,
    /// The email or phone number a passwordless code was sent to.
    #[serde(default)]
    pub recipient: Option<String>,
    /// Must equal the CSRF cookie.
    pub csrf: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
}

const TX_CONTEXT: &str = "login_transaction";

fn code() -> String {
    "code".into()
}

/// The response types Auth0 accepts, with their parts sorted.
const RESPONSE_TYPES: &[&str] = &[
    "code",
    "token",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
];

impl Transaction {
    /// Seals it for a hidden form field.
    pub fn seal(&self, state: &AppState) -> Result<String, OAuthError> {
        let json = serde_json::to_vec(self).map_err(|e| OAuthError::Internal(e.into()))?;
        Ok(URL_SAFE_NO_PAD.encode(state.sealer.seal(TX_CONTEXT, &json)))
    }

    /// The authorization request this transaction came from, as `/authorize` parameters (what
    /// a magic link sent from the login page completes).
    pub fn as_request(&self) -> serde_json::Value {
        let mut q = serde_json::json!({
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": self.response_type,
            "response_mode": self.response_mode,
            "scope": self.scope,
        });
        let optional = [
            ("audience", &self.audience),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("connection", &self.connection),
            ("code_challenge", &self.code_challenge),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                q[key] = serde_json::json!(v);
            }
        }
        if self.code_challenge.is_some() {
            q["code_challenge_method"] = serde_json::json!("S256");
        }
        q
    }

    /// Opens a sealed transaction that has not expired.
    pub fn open(state: &AppState, sealed: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let json = state.sealer.open(TX_CONTEXT, &bytes).ok()?;
        let tx: Transaction = serde_json::from_slice(&json).ok()?;
        (tx.exp > OffsetDateTime::now_utc().unix_timestamp()).then_some(tx)
    }
}

/// A cookie value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` for our cookies: HttpOnly, SameSite=Lax, Secure on an https issuer.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    cookie_header(state, name, value, max_age, "/", SameSite::Lax)
}

/// `Set-Cookie` for the SSO session. On an https issuer it is `SameSite=None; Secure`, as
/// Auth0's is, so that silent authentication works in an iframe of an application on another
/// site; every state-changing POST that relies on it carries its own token as well (the
/// login form its transaction, the logout confirmation one bound to this cookie). Browsers
/// refuse `SameSite=None` without `Secure`, so an http issuer keeps `Lax`.
pub fn set_session_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    cookie_header(
        state,
        SESSION_COOKIE,
        value,
        max_age,
        "/",
        SameSite::CrossSite,
    )
}

/// How far a cookie travels with requests from other sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Never.
    Strict,
    /// With top-level navigations.
    Lax,
    /// Always (`SameSite=None`), where the issuer is https; `Lax` otherwise, since browsers
    /// refuse `None` without `Secure`.
    CrossSite,
}

/// `Set-Cookie` for one of our cookies: HttpOnly, `Secure` on an https issuer.
pub fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    max_age: i64,
    path: &str,
    same_site: SameSite,
) -> HeaderValue {
    let https = state.issuer.starts_with("https://");
    let attributes = match (same_site, https) {
        (SameSite::Strict, true) => "SameSite=Strict; Secure",
        (SameSite::Strict, false) => "SameSite=Strict",
        (SameSite::CrossSite, true) => "SameSite=None; Secure",
        (SameSite::Lax, true) => "SameSite=Lax; Secure",
        (_, false) => "SameSite=Lax",
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; {attributes}; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The live session named by the request's cookie, if any.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, OAuthError> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle = state.catalog.tenant().await?.idle_session_lifetime();
    Ok(state
        .stores
        .sessions
        .live_session(&state.hasher.hash(id), now, now - idle)
        .await?)
}

/// Sends an authorization response (success or error) to the client.
pub fn respond(
    state: &AppState,
    tx: &Transaction,
    params: Vec<(&str, String)>,
    after_post: bool,
) -> Response {
    let mut fields: Vec<(&str, String)> = params;
    if let Some(s) = &tx.state {
        fields.push(("state", s.clone()));
    }
    fields.push(("iss", state.issuer.clone()));
    if tx.response_mode == "web_message" {
        let origin = crate::http::cors::origin_of(&tx.redirect_uri).unwrap_or_default();
        let response: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::json!(v)))
            .collect();
        let page = crate::ui::WebMessage {
            response: ui::script_json(&serde_json::Value::Object(response)),
            origin: ui::script_json(&serde_json::json!(origin)),
        };
        let mut r = ui::render(StatusCode::OK, &page);
        // Only the application's own origin may frame this page (silent authentication).
        if let Ok(v) = HeaderValue::from_str(&format!("frame-ancestors {origin}")) {
            r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
        return r;
    }
    if tx.response_mode == "form_post" {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        return ui::render(
            StatusCode::OK,
            &FormPost {
                action: &tx.redirect_uri,
                fields: pairs,
            },
        );
    }
    let mut url = tx.redirect_uri.clone();
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    if tx.response_mode == "fragment" {
        url.push('#');
    } else {
        url.push(if url.contains('?') { '&' } else { '?' });
    }
    url.push_str(&encoded);
    // 303 after a form POST, so the browser does not resend the credentials (RFC 9700 s4.11).
    let status = if after_post {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// An error sent back to the client through the transaction's response mode.
pub fn error_to_client(
    state: &AppState,
    tx: &Transaction,
    error: &str,
    description: &str,
) -> Response {
    respond(
        state,
        tx,
        vec![
            ("error", error.to_owned()),
            ("error_description", description.to_owned()),
        ],
        false,
    )
}

/// Issues a code for `session` and sends it to the client.
pub async fn issue_code(
    state: &AppState,
    tx: &Transaction,
    session: &Session,
    after_post: bool,
) -> Result<Response, OAuthError> {
    let client = state
        .catalog
        .client(&tx.client_id)
        .await?
        .ok_or(OAuthError::NotFound)?;
    if !client.settings.is_first_party {
        // A third-party application needs the user's consent to the scopes it asks for.
        let requested = gatehouse_core::scope::Scope::parse(&tx.scope)
            .map_err(|e| OAuthError::InvalidRequest(e.to_string()))?;
        let audience = tx.audience.clone().unwrap_or_default();
        let granted = state
            .stores
            .sessions
            .consent(&session.user_id, &client.client_id, &audience)
            .await?;
        let covered = granted.is_some_and(|g| requested.tokens().iter().all(|s| g.contains(s)));
        match tx.prompt.as_deref() {
            Some("none") if !covered => {
                return Ok(error_to_client(
                    state,
                    tx,
                    "consent_required",
                    "Consent required",
                ));
            }
            Some("consent") => return consent_page(state, &client, tx, &requested).await,
            _ if !covered => return consent_page(state, &client, tx, &requested).await,
            _ => {}
        }
    }
    authorization_response(state, tx, session, after_post).await
}

/// The consent screen for `tx`, bound to this browser like the login form.
async fn consent_page(
    state: &AppState,
    client: &Client,
    tx: &Transaction,
    requested: &gatehouse_core::scope::Scope,
) -> Result<Response, OAuthError> {
    let sealed = tx.seal(state)?;
    let tenant = crate::ui::brand(state).await;
    let api = match tx.audience.as_deref() {
        Some(a) => state.catalog.api(a).await?,
        None => None,
    };
    let scopes = requested
        .tokens()
        .iter()
        .map(|scope| {
            let described = gatehouse_core::token::oidc_scope_description(scope)
                .map(str::to_owned)
                .or_else(|| {
                    api.as_ref()?
                        .scopes
                        .iter()
                        .find(|d| &d.value == scope && !d.description.is_empty())
                        .map(|d| d.description.clone())
                });
            (scope.clone(), described.unwrap_or_else(|| scope.clone()))
        })
        .collect();
    let mut r = ui::render(
        StatusCode::OK,
        &crate::ui::ConsentPage {
            tenant: &tenant,
            client_name: &client.name,
            tx: &sealed,
            api_name: api.as_ref().map(|a| a.name.clone()),
            scopes,
        },
    );
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, CSRF_COOKIE, &tx.csrf, TX_LIFETIME),
    );
    Ok(r)
}

/// The authorization response for a session that may have it: code and/or tokens.
pub async fn authorization_response(
    state: &AppState,
    tx: &Transaction,
    session: &Session,
    after_post: bool,
) -> Result<Response, OAuthError> {
    // Every path that ends in a code or tokens passes here: a blocked user gets none, with
    // Auth0's `unauthorized` / "user is blocked".
    let user = state.stores.users.user(&session.user_id).await?;
    let Some(user) = user.filter(|u| !u.blocked) else {
        return Ok(blocked_to_client(state, tx));
    };
    let parts: Vec<&str> = tx.response_type.split(' ').collect();
    let mut fields: Vec<(&str, String)> = Vec::new();
    let code = if parts.contains(&"code") {
        Some(store_code(state, tx, session).await?)
    } else {
        None
    };
    if parts.contains(&"token") || parts.contains(&"id_token") {
        // Implicit and hybrid: tokens straight from the authorization endpoint.
        let client = state
            .catalog
            .client(&tx.client_id)
            .await?
            .ok_or(OAuthError::NotFound)?;
        let scope = gatehouse_core::scope::Scope::parse(&tx.scope)
            .map_err(|e| OAuthError::InvalidRequest(e.to_string()))?;
        let with_token = parts.contains(&"token");
        let minted = crate::oauth::user_tokens::mint(
            state,
            crate::oauth::user_tokens::UserTokenRequest {
                client: &client,
                user: &user,
                connection: &session.connection,
                audience: tx.audience.as_deref(),
                scope: Some(&scope),
                gty: "implicit",
                auth_time: session.auth_time,
                refresh: crate::oauth::user_tokens::RefreshMode::Keep,
                nonce: tx.nonce.as_deref(),
                sid: Some(&session.sid),
                at_hash: with_token,
                c_hash_of: code.as_deref(),
            },
        )
        .await?;
        if with_token {
            for k in ["access_token", "token_type", "expires_in", "scope"] {
                if let Some(v) = minted.get(k) {
                    fields.push((k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)));
                }
            }
        }
        if parts.contains(&"id_token")
            && let Some(id) = minted["id_token"].as_str()
        {
            fields.push(("id_token", id.to_owned()));
        }
    }
    if let Some(c) = code {
        fields.insert(0, ("code", c));
    }
    Ok(respond(state, tx, fields, after_post))
}

/// A blocked user's refusal, sent to the client.
pub fn blocked_to_client(state: &AppState, tx: &Transaction) -> Response {
    error_to_client(
        state,
        tx,
        "unauthorized",
        crate::user_access::BLOCKED_DESCRIPTION,
    )
}

/// A blocked user's session found on `/authorize`: it ends (blocking ends sessions; this
/// catches any left from before), and the user sees the login page saying they are blocked,
/// or, under `prompt=none`, the client gets the refusal.
async fn refuse_blocked(
    state: &AppState,
    client: &Arc<Client>,
    tx: &Transaction,
    session: &Session,
    silent: bool,
) -> Result<Response, OAuthError> {
    state
        .stores
        .sessions
        .revoke_session(&session.id_hash, OffsetDateTime::now_utc())
        .await?;
    if silent {
        return Ok(blocked_to_client(state, tx));
    }
    login_page(
        state,
        client,
        tx,
        "",
        Some(crate::user_access::BLOCKED_MESSAGE),
        StatusCode::OK,
    )
    .await
}

/// Stores a new authorization code for the session and returns it.
async fn store_code(
    state: &AppState,
    tx: &Transaction,
    session: &Session,
) -> Result<String, OAuthError> {
    let code = random_secret(32);
    let now = OffsetDateTime::now_utc();
    state
        .stores
        .sessions
        .insert_code(&AuthorizationCode {
            code_hash: state.hasher.hash(&code),
            client_id: tx.client_id.clone(),
            user_id: session.user_id.clone(),
            connection: session.connection.clone(),
            redirect_uri: tx.redirect_uri.clone(),
            scope: tx.scope.clone(),
            audience: tx.audience.clone(),
            nonce: tx.nonce.clone(),
            code_challenge: tx.code_challenge.clone(),
            sid: session.sid.clone(),
            auth_time: session.auth_time,
            created_at: now,
            expires_at: now + CODE_LIFETIME,
            consumed_at: None,
        })
        .await?;
    Ok(code)
}

/// An authorization request after its checks.
pub enum Checked {
    /// Good: the client, the transaction, and `max_age`.
    Valid(Arc<Client>, Box<Transaction>, Option<i64>),
    /// Refused: an error page, or an error sent back to the client.
    Refused(Response),
}

/// The handler.
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AuthorizeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, OAuthError> {
    let Ok(Query(q)) = query else {
        let tenant = crate::ui::brand(&state).await;
        return Ok(ui::error_page(
            &tenant,
            "The authorization request is malformed.",
        ));
    };
    let (client, tx, max_age) = match check_request(&state, &q).await? {
        Checked::Valid(client, tx, max_age) => (client, tx, max_age),
        Checked::Refused(r) => return Ok(r),
    };
    let prompt = q.prompt.as_deref().unwrap_or_default();
    // OIDC Core s3.1.2.1: an authentication older than max_age does not count.
    let now_ts = state.clock.now().unix_timestamp();
    let session = current_session(&state, &headers)
        .await?
        .filter(|s| max_age.is_none_or(|m| now_ts - s.auth_time <= m))
        .filter(|s| tx.connection.as_ref().is_none_or(|c| *c == s.connection));
    // A session made through a connection this application is not enabled on does not log
    // in to it (a staff session must not hand the shop a code): log in again instead.
    let session = match session {
        Some(s)
            if !database_connection::session_counts_for(
                &state,
                &s.connection,
                &client.client_id,
            )
            .await? =>
        {
            None
        }
        other => other,
    };
    match (session, prompt) {
        (Some(s), p) if p != "login" => {
            if crate::user_access::is_blocked(&state, &s.user_id).await? {
                return refuse_blocked(&state, &client, &tx, &s, p == "none").await;
            }
            state
                .stores
                .sessions
                .touch_session(&s.id_hash, OffsetDateTime::now_utc())
                .await?;
            issue_code(&state, &tx, &s, false).await
        }
        (_, "none") => Ok(error_to_client(
            &state,
            &tx,
            "login_required",
            "Login required",
        )),
        _ if q.screen_hint.as_deref() == Some("signup") => {
            let hint = q.login_hint.as_deref().unwrap_or_default();
            let mut r =
                crate::ui::login::signup_page(&state, &client, &tx, hint, None, StatusCode::OK)
                    .await?;
            r.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state, CSRF_COOKIE, &tx.csrf, TX_LIFETIME),
            );
            Ok(r)
        }
        _ => {
            login_page(
                &state,
                &client,
                &tx,
                q.login_hint.as_deref().unwrap_or_default(),
                None,
                StatusCode::OK,
            )
            .await
        }
    }
}

/// Runs every check of an authorization request (also used for the request a magic link
/// completes). Until the client and its redirect URI are known good, nothing is sent
/// anywhere; after that, errors go back to the client.
pub async fn check_request(state: &AppState, q: &AuthorizeQuery) -> Result<Checked, OAuthError> {
    let tenant = crate::ui::brand(state).await;
    let refuse = |r: Response| Ok(Checked::Refused(r));
    let Some(client_id) = q.client_id.as_deref() else {
        return refuse(ui::error_page(
            &tenant,
            "Missing required parameter: client_id",
        ));
    };
    let Some(client) = state.catalog.client(client_id).await? else {
        return refuse(ui::error_page(&tenant, "Unknown client."));
    };
    let native = client.app_type == AppType::Native;
    let Some(redirect) = q.redirect_uri.clone() else {
        return refuse(ui::error_page(
            &tenant,
            "Missing required parameter: redirect_uri",
        ));
    };
    if !redirect_uri::allowed(&client.settings.callbacks, &redirect, native) {
        return refuse(ui::error_page(
            &tenant,
            "The redirect_uri is not in the application's Allowed Callback URLs.",
        ));
    }
    // Parts in any order; stored sorted so one spelling reaches the rest of the code.
    let response_type = q.response_type.as_deref().map(|rt| {
        let mut parts: Vec<&str> = rt.split(' ').filter(|p| !p.is_empty()).collect();
        parts.sort_by_key(|p| match *p {
            "code" => 0,
            "id_token" => 1,
            _ => 2,
        });
        parts.join(" ")
    });
    let implicit = response_type.as_deref().is_some_and(|rt| rt != "code");
    let response_mode = q.response_mode.clone().unwrap_or_else(|| {
        if implicit {
            "fragment".into()
        } else {
            "query".into()
        }
    });
    let mut tx = Transaction {
        client_id: client.client_id.clone(),
        redirect_uri: redirect,
        response_mode: match response_mode.as_str() {
            "form_post" | "fragment" | "web_message" => response_mode.clone(),
            _ if implicit => "fragment".into(),
            _ => "query".into(),
        },
        response_type: response_type.clone().unwrap_or_else(code),
        scope: String::new(),
        audience: q.audience.clone(),
        state: q.state.clone(),
        nonce: q.nonce.clone(),
        code_challenge: None,
        connection: None,
        prompt: q.prompt.clone(),
        recipient: None,
        csrf: random_secret(24),
        exp: OffsetDateTime::now_utc().unix_timestamp() + TX_LIFETIME,
    };
    if response_mode == "web_message" {
        // The page posts to the redirect URI's origin, which must be an Allowed Web Origin.
        let origin = crate::http::cors::origin_of(&tx.redirect_uri);
        let allowed = client
            .settings
            .web_origins
            .iter()
            .filter_map(|w| crate::http::cors::origin_of(w))
            .any(|w| Some(w) == origin);
        if !allowed {
            return refuse(ui::error_page(
                &tenant,
                "The redirect_uri's origin is not in the application's Allowed Web Origins.",
            ));
        }
    }
    if !matches!(
        response_mode.as_str(),
        "query" | "form_post" | "fragment" | "web_message"
    ) {
        return refuse(error_to_client(
            state,
            &tx,
            "invalid_request",
            "Unsupported response_mode",
        ));
    }
    let Some(rt) = response_type.as_deref() else {
        return refuse(error_to_client(
            state,
            &tx,
            "invalid_request",
            "Missing required parameter: response_type",
        ));
    };
    if !RESPONSE_TYPES.contains(&rt) {
        return refuse(error_to_client(
            state,
            &tx,
            "unsupported_response_type",
            "Unsupported response type",
        ));
    }
    let parts: Vec<&str> = rt.split(' ').collect();
    let allowed = |g: &str| client.settings.grant_types.iter().any(|x| x == g);
    if parts.contains(&"code") && !allowed("authorization_code") {
        return refuse(error_to_client(
            state,
            &tx,
            "unauthorized_client",
            "Grant type 'authorization_code' not allowed for the client.",
        ));
    }
    if implicit {
        // Implicit and hybrid flows are off unless the client enabled `implicit` (RFC 9700
        // s2.1.2 advises against them), their tokens never go in a query string, and an ID
        // token from this endpoint needs a nonce (OIDC Core s3.2.2.1).
        if (parts.contains(&"token") || parts.contains(&"id_token")) && !allowed("implicit") {
            return refuse(error_to_client(
                state,
                &tx,
                "unauthorized_client",
                "Grant type 'implicit' not allowed for the client.",
            ));
        }
        if response_mode == "query" {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "response_mode=query cannot carry tokens",
            ));
        }
        if parts.contains(&"id_token") && q.nonce.as_deref().is_none_or(str::is_empty) {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "nonce is required when an ID token is returned from /authorize",
            ));
        }
    }
    match (
        q.code_challenge.as_deref(),
        q.code_challenge_method.as_deref(),
    ) {
        (Some(c), Some("S256")) if pkce::well_formed(c) => tx.code_challenge = Some(c.to_owned()),
        (Some(_), _) => {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "code_challenge must be S256 and well formed",
            ));
        }
        (None, _) if is_public(&client) && parts.contains(&"code") => {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "Public clients must use PKCE (code_challenge)",
            ));
        }
        (None, _) => {}
    }
    match q.scope.as_deref().map(Scope::parse_requested).transpose() {
        Ok(s) => tx.scope = s.map(|s| s.to_string()).unwrap_or_else(|| "openid".into()),
        Err(_) => {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_scope",
                "The scope is malformed or too long",
            ));
        }
    }
    if let Some(name) = q.connection.as_deref().filter(|c| !c.is_empty()) {
        let ok = state
            .stores
            .connections
            .connection_by_name(name)
            .await?
            .is_some_and(|c| {
                matches!(c.strategy.as_str(), "auth0" | "email" | "sms")
                    && database_connection::enabled_for(&c, &client.client_id)
            });
        if !ok {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "Unknown or unsupported connection",
            ));
        }
        tx.connection = Some(name.to_owned());
    }
    let max_age = match q.max_age.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) if n >= 0 => Some(n),
        Some(_) => {
            return refuse(error_to_client(
                state,
                &tx,
                "invalid_request",
                "max_age must be a whole number of seconds",
            ));
        }
    };
    Ok(Checked::Valid(client, Box::new(tx), max_age))
}

fn is_public(client: &Client) -> bool {
    client.settings.token_endpoint_auth_method.as_deref() == Some("none")
}

/// The login page for `tx`, setting the CSRF cookie it is bound to.
pub async fn login_page(
    state: &AppState,
    client: &Arc<Client>,
    tx: &Transaction,
    login_hint: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, OAuthError> {
    // A passwordless connection asked for: its page instead of the password form.
    let passwordless = match tx.connection.as_deref() {
        Some(name) => ui::passwordless::usable_connection(state, client, name).await?,
        None => None,
    };
    let mut r = if let Some(connection) = passwordless {
        ui::passwordless::start_page(state, client, tx, &connection, login_hint, error, status)
            .await?
    } else {
        let sealed = tx.seal(state)?;
        let tenant = crate::ui::brand(state).await;
        // A named connection was checked by `check_request`; else the password form shows
        // only if some database connection is enabled for the application.
        let database = tx.connection.is_some()
            || database_connection::for_login(state, &client.client_id)
                .await?
                .is_some();
        ui::render(
            status,
            &LoginPage {
                tenant: &tenant,
                client_name: &client.name,
                tx: &sealed,
                login_hint,
                error,
                passwordless: ui::passwordless::offered(state, client).await?,
                database,
            },
        )
    };
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, CSRF_COOKIE, &tx.csrf, TX_LIFETIME),
    );
    Ok(r)
}
