//! `GET|POST /samlp/{client_id}`: a service provider's login through gatehouse. The
//! AuthnRequest (HTTP-Redirect on GET, HTTP-POST on POST; none for a login the IdP starts)
//! becomes an ordinary authorization request for the application, so Universal Login, SSO,
//! upstream providers and every `/authorize` rule apply; the transaction carries the SAML
//! reply, and the login ends in a signed Response (`authn::saml_reply`). The response goes
//! only to one of the application's callback URLs: the request's
//! `AssertionConsumerServiceURL` must be one, and without it the first one is used.

use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use gatehouse_core::id::ClientId;
use gatehouse_core::saml_addon::SamlAddon;
use serde::Deserialize;

use super::request::{self, Binding};
use crate::AppState;
use crate::authn::request::{AuthorizeQuery, Checked, check_request};
use crate::authn::saml_reply::issuer_for;
use crate::authn::transaction::SamlReply;
use crate::error::OAuthError;
use crate::pages;

/// The parameters (query on GET, form on POST).
#[derive(Debug, Default, Deserialize)]
pub struct SsoParams {
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
    /// Auth0's: log in through this connection.
    connection: Option<String>,
}

/// The binding a message came with, by the request's method.
pub fn binding_of(method: &Method) -> Binding {
    if *method == Method::POST {
        Binding::Post
    } else {
        Binding::Redirect
    }
}

/// The handler.
pub async fn sso(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    RawQuery(query): RawQuery,
    // `Form` reads the query string on GET and the body on POST.
    form: Result<Form<SsoParams>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let refuse = |message: String| {
        let state = state.clone();
        async move {
            let tenant = pages::brand(&state).await;
            Ok(pages::error_page(&tenant, &message))
        }
    };
    let Ok(Form(p)) = form else {
        return refuse("The SAML request is malformed.".into()).await;
    };
    let Some(client) = state
        .catalog
        .client(&ClientId::from(client_id.as_str()))
        .await?
    else {
        return refuse("Unknown client.".into()).await;
    };
    let Some(addon) = SamlAddon::of(&client.settings.extra) else {
        return refuse("The application does not have the SAML2 Web App add-on enabled.".into())
            .await;
    };
    let request = match p.saml_request.as_deref() {
        Some(message) => {
            let read = async {
                let certificate = request::signing_certificate(&addon)?;
                let query = query.as_deref().unwrap_or_default();
                let xml = request::authenticated(message, binding_of(&method), query, certificate)
                    .await?;
                request::authn_request(&xml)
            };
            match read.await {
                Ok(r) => Some(r),
                Err(e) => return refuse(e.to_string()).await,
            }
        }
        None => None,
    };
    let acs = request
        .as_ref()
        .and_then(|r| r.acs.clone())
        .or_else(|| client.settings.callbacks.first().cloned());
    let Some(acs) = acs else {
        return refuse("The application has no callback URL to send the SAML response to.".into())
            .await;
    };
    let prompt = match &request {
        Some(r) if r.is_passive => Some("none"),
        Some(r) if r.force_authn => Some("login"),
        _ => None,
    };
    let reply = SamlReply {
        acs,
        in_response_to: request.as_ref().map(|r| r.id.clone()),
        relay_state: p.relay_state.filter(|r| !r.is_empty()),
        sp_entity_id: request.and_then(|r| r.issuer),
        issuer: issuer_for(&state, &client),
    };
    let connection = p.connection.filter(|c| !c.is_empty());
    let mut q = AuthorizeQuery::for_saml(&client_id, reply, connection, prompt);
    q.accept_language = crate::oauth::authorize::accept_language(&headers);
    match check_request(&state, &q).await? {
        Checked::Valid(client, tx, max_age, connection) => {
            crate::oauth::authorize::proceed(&state, &headers, &q, client, &tx, max_age, connection)
                .await
        }
        Checked::Refused(r) => Ok(r),
    }
}
