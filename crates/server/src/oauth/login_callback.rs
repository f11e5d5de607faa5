//! `GET|POST /login/callback`: where upstream identity providers answer. The answer is
//! checked by `upstream` (state bound to this browser, issuer, code, ID token); the user's
//! login then ends as a password login does (`complete_login`).

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_core::log_type::LogType;
use serde::Deserialize;

use crate::AppState;
use crate::authn::request::{AuthorizeQuery, Checked, check_request};
use crate::authn::response::{blocked_to_client, error_to_client};
use crate::authn::transaction::Transaction;
use crate::error::OAuthError;
use crate::http::caller_info::CallerInfo;
use crate::pages;
use crate::upstream::http::UpstreamError;
use crate::upstream::provider::Authenticated;
use crate::upstream::{Answer, Pending, authenticate, is_upstream, provision, saml};
use gatehouse_core::connection::Connection;
use gatehouse_core::saml::SamlOptions;

/// What a provider sends to `/login/callback`.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    id_token: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// RFC 9207: the issuer of the response, when the provider says it.
    iss: Option<String>,
    /// A SAML provider's response (HTTP-POST binding).
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    /// A SAML provider's echo of our state.
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
    /// The connection a SAML provider posts for (from the ACS URL's query).
    #[serde(skip)]
    connection: Option<String>,
}

/// `GET /login/callback`.
pub async fn callback_get(
    State(state): State<AppState>,
    caller: CallerInfo,
    headers: HeaderMap,
    params: Result<Query<CallbackParams>, QueryRejection>,
) -> Result<Response, OAuthError> {
    match params {
        Ok(Query(params)) => callback(&state, &caller, &headers, params).await,
        Err(_) => Ok(not_valid(&state).await),
    }
}

/// The ACS URL's `connection` (SAML providers post there).
#[derive(Debug, Default, Deserialize)]
pub struct AcsQuery {
    connection: Option<String>,
}

/// `POST /login/callback` (providers answering with `response_mode=form_post`, and SAML
/// providers' HTTP-POST binding at `?connection=<name>`).
pub async fn callback_post(
    State(state): State<AppState>,
    caller: CallerInfo,
    headers: HeaderMap,
    query: Result<Query<AcsQuery>, QueryRejection>,
    params: Result<Form<CallbackParams>, FormRejection>,
) -> Result<Response, OAuthError> {
    match (query, params) {
        (Ok(Query(q)), Ok(Form(mut params))) => {
            params.connection = q.connection;
            callback(&state, &caller, &headers, params).await
        }
        _ => Ok(not_valid(&state).await),
    }
}

/// The page for an answer that is not one: no redirect, since nothing says where to.
async fn not_valid(state: &AppState) -> Response {
    let tenant = pages::brand(state).await;
    pages::error_page(
        &tenant,
        "This login is not valid or was already used. Go back to the application and start again.",
    )
}

/// Error codes a provider may send that the application may see as they are.
const PASSED_ON: &[&str] = &[
    "access_denied",
    "login_required",
    "consent_required",
    "interaction_required",
    "temporarily_unavailable",
];

async fn callback(
    state: &AppState,
    caller: &CallerInfo,
    headers: &HeaderMap,
    params: CallbackParams,
) -> Result<Response, OAuthError> {
    // The state must be ours, this browser's and unused; the cookie goes at once.
    let pending = match params.state.as_deref().or(params.relay_state.as_deref()) {
        Some(s) => Pending::open(state, s, headers).await?,
        None => None,
    };
    let Some(pending) = pending else {
        // A SAML provider may start a login itself, where its connection allows it.
        if let (Some(response), Some(name)) = (&params.saml_response, &params.connection) {
            return idp_initiated(state, caller, name, response).await;
        }
        return Ok(not_valid(state).await);
    };
    let mut response = answer(state, caller, &pending, params).await?;
    crate::upstream::set_binding_cookie(state, response.headers_mut(), "", 0);
    Ok(response)
}

/// The application's answer to a provider's answer.
async fn answer(
    state: &AppState,
    caller: &CallerInfo,
    pending: &Pending,
    params: CallbackParams,
) -> Result<Response, OAuthError> {
    let tx = &pending.tx;
    let Some(client) = state.catalog.client(&tx.client_id).await? else {
        return Err(OAuthError::InvalidRequest("unknown client".into()));
    };
    let mut event = crate::authn::login_event(&state.clock, caller, &client, &pending.connection);
    let refuse = |event: &mut gatehouse_core::log::LogEvent, error: &str, description: &str| {
        event.description = Some(description.to_owned());
        state.logs.record(event.clone());
        Ok(error_to_client(state, tx, error, description))
    };
    if let Some(error) = params.error.as_deref() {
        let code = if PASSED_ON.contains(&error) {
            error
        } else {
            "access_denied"
        };
        let description = params
            .error_description
            .unwrap_or_else(|| "The identity provider refused the login".into());
        return refuse(&mut event, code, &description);
    }
    let connection = state
        .stores
        .connections
        .connection_by_name(&pending.connection)
        .await?
        .filter(|c| is_upstream(c) && c.enabled_clients.contains(&client.client_id));
    let Some(connection) = connection else {
        return refuse(
            &mut event,
            "access_denied",
            "The connection is no longer available",
        );
    };
    let answer = match (
        params.code.as_deref(),
        params.id_token.as_deref(),
        params.saml_response.as_deref(),
    ) {
        (Some(code), _, _) => Answer::Code(code),
        (None, Some(jwt), _) => Answer::IdToken(jwt),
        (None, None, Some(response)) => Answer::Saml(response),
        (None, None, None) => {
            return refuse(
                &mut event,
                "access_denied",
                "The identity provider sent no code or ID token",
            );
        }
    };
    let outcome = authenticate(state, &connection, pending, params.iss.as_deref(), answer).await;
    finish(state, caller, tx, &connection, event, outcome).await
}

/// Ends a login at a provider: the user made or refreshed and logged in, or the refusal
/// sent to the application; logged either way.
async fn finish(
    state: &AppState,
    caller: &CallerInfo,
    tx: &Transaction,
    connection: &Connection,
    mut event: gatehouse_core::log::LogEvent,
    outcome: Result<Authenticated, UpstreamError>,
) -> Result<Response, OAuthError> {
    match outcome {
        Ok(authenticated) => {
            let user = provision::user_for(state, connection, &authenticated).await?;
            event.user_id = Some(user.user_id.to_string());
            if user.blocked {
                event.description = Some(crate::user_access::BLOCKED_MESSAGE.into());
                state.logs.record(event);
                return Ok(blocked_to_client(state, tx));
            }
            event.kind = LogType::SuccessLogin;
            event.description = None;
            state.logs.record(event);
            crate::oauth::authorization_response::complete_login(
                state,
                tx,
                &user,
                &connection.name,
                caller,
            )
            .await
        }
        Err(e) => {
            tracing::info!(connection = %connection.name, error = %e, "upstream login refused");
            event.description = Some(e.to_string());
            state.logs.record(event);
            Ok(error_to_client(state, tx, "access_denied", &e.to_string()))
        }
    }
}

/// A login a SAML provider started (no AuthnRequest of ours): only where the connection's
/// `idpinitiated` allows it, for its application, answering the authorization request it
/// configures (`client_authorizequery`), which is checked like any other.
async fn idp_initiated(
    state: &AppState,
    caller: &CallerInfo,
    name: &str,
    response: &str,
) -> Result<Response, OAuthError> {
    let connection = state
        .stores
        .connections
        .connection_by_name(&name.into())
        .await?
        .filter(is_upstream);
    let allowed = connection.and_then(|c| {
        let (client_id, query) = SamlOptions::of(&c)?
            .idp_initiated?
            .allowed()
            .map(|(id, q)| (id.to_owned(), q.to_owned()))?;
        Some((c, client_id, query))
    });
    let Some((connection, client_id, query)) = allowed else {
        return Ok(not_valid(state).await);
    };
    let request = format!(
        "{}&client_id={}",
        query.trim_start_matches('?'),
        url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>()
    );
    let Ok(q) = serde_urlencoded::from_str::<AuthorizeQuery>(&request) else {
        return Ok(not_valid(state).await);
    };
    let (client, tx) = match check_request(state, &q).await? {
        Checked::Valid(client, tx, _, _) => (client, tx),
        Checked::Refused(r) => return Ok(r),
    };
    if !connection.enabled_clients.contains(&client.client_id) {
        return Ok(not_valid(state).await);
    }
    let event = crate::authn::login_event(&state.clock, caller, &client, &connection.name);
    let outcome = saml::authenticate(state, &connection, None, response).await;
    finish(state, caller, &tx, &connection, event, outcome).await
}
