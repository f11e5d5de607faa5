//! Checking an authorization request (`/authorize`, and the request a magic link
//! completes): the I/O around `AuthorizeRequest::parse` (in core), which holds the rules.
//! Until the client and its redirect URI are known good, nothing is sent anywhere; after
//! that, errors go back to the client.

use gatehouse_core::id::{ClientId, ConnectionName};
use std::sync::Arc;

use axum::response::Response;
use gatehouse_core::authorize_request::{AuthorizeError, AuthorizeParams, AuthorizeRequest};
use gatehouse_core::client::Client;
use gatehouse_core::connection::Connection;
use serde::Deserialize;

use super::response::error_to_client;
use super::transaction::{TX_LIFETIME, Transaction};
use crate::AppState;
use crate::crypto::random_secret;
use crate::error::OAuthError;
use crate::pages;

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
    /// `none`, `login` or `consent`.
    pub prompt: Option<String>,
    /// The username or email to prefill.
    pub login_hint: Option<String>,
    /// `signup` opens the sign-up page first.
    pub screen_hint: Option<String>,
    max_age: Option<String>,
    connection: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// A ticket from `/co/authenticate` (Lock, auth0.js) that logs the user in.
    pub login_ticket: Option<String>,
    /// The connection the ticket's login used (auth0.js sends it instead of `connection`).
    pub realm: Option<String>,
    /// The languages the user prefers for the login pages, space-separated (OIDC Core).
    pub ui_locales: Option<String>,
    /// The SAML service provider's request this one stands for (never from the query).
    #[serde(skip)]
    saml: Option<super::transaction::SamlReply>,
    /// The browser's `Accept-Language` (never from the query; set by the handler).
    #[serde(skip)]
    pub accept_language: Option<String>,
}

/// An authorization request after its checks.
pub enum Checked {
    /// Good: the client, the transaction, `max_age`, and the connection it names (read
    /// once here, so `/authorize` need not read it again).
    Valid(
        Arc<Client>,
        Box<Transaction>,
        Option<i64>,
        Option<Connection>,
    ),
    /// Refused: an error page, or an error sent back to the client.
    Refused(Response),
}

impl AuthorizeQuery {
    /// The authorization request a SAML service provider's login makes: a code flow (never
    /// answered with a code) to its assertion consumer service, which must be one of the
    /// application's callback URLs, through `connection` if named.
    pub fn for_saml(
        client_id: &str,
        reply: super::transaction::SamlReply,
        connection: Option<String>,
        prompt: Option<&str>,
    ) -> Self {
        Self {
            response_type: Some("code".into()),
            response_mode: Some("form_post".into()),
            client_id: Some(client_id.to_owned()),
            redirect_uri: Some(reply.acs.clone()),
            scope: Some("openid profile email".into()),
            connection,
            prompt: prompt.map(str::to_owned),
            saml: Some(reply),
            ..Self::default()
        }
    }

    fn params(&self) -> AuthorizeParams<'_> {
        AuthorizeParams {
            response_type: self.response_type.as_deref(),
            response_mode: self.response_mode.as_deref(),
            redirect_uri: self.redirect_uri.as_deref(),
            scope: self.scope.as_deref(),
            nonce: self.nonce.as_deref(),
            code_challenge: self.code_challenge.as_deref(),
            code_challenge_method: self.code_challenge_method.as_deref(),
            connection: self.connection.as_deref(),
            max_age: self.max_age.as_deref(),
        }
    }

    /// A transaction for this request, answered at `redirect_uri` in `response_mode`.
    fn transaction(
        &self,
        client: &Client,
        redirect_uri: String,
        response_mode: &str,
    ) -> Transaction {
        Transaction {
            client_id: client.client_id.clone(),
            redirect_uri,
            response_mode: response_mode.to_owned(),
            response_type: "code".into(),
            scope: String::new(),
            audience: self.audience.clone(),
            state: self.state.clone(),
            nonce: self.nonce.clone(),
            code_challenge: None,
            connection: None,
            prompt: self.prompt.clone(),
            recipient: None,
            saml: self.saml.clone(),
            lang: None,
            csrf: random_secret(24),
            exp: time::OffsetDateTime::now_utc().unix_timestamp() + TX_LIFETIME,
        }
    }
}

/// Runs every check of an authorization request (also used for the request a magic link
/// completes): the client is looked up here, the rules are `AuthorizeRequest::parse`.
pub async fn check_request(state: &AppState, q: &AuthorizeQuery) -> Result<Checked, OAuthError> {
    let refuse_page = |message: &str| {
        let message = message.to_owned();
        async move {
            let tenant = pages::brand(state).await;
            Ok(Checked::Refused(pages::error_page(&tenant, &message)))
        }
    };
    let Some(client_id) = q.client_id.as_deref() else {
        return refuse_page("Missing required parameter: client_id").await;
    };
    let Some(client) = state.catalog.client(&ClientId::from(client_id)).await? else {
        return refuse_page("Unknown client.").await;
    };
    let connection = match q.connection.as_deref().filter(|c| !c.is_empty()) {
        Some(name) => {
            state
                .stores
                .connections
                .connection_by_name(&ConnectionName::from(name))
                .await?
        }
        None => None,
    };
    let request = match AuthorizeRequest::parse(&q.params(), &client, connection.as_ref()) {
        Ok(request) => request,
        Err(AuthorizeError::NotRedirectable(message)) => return refuse_page(message).await,
        Err(AuthorizeError::Redirectable {
            redirect_uri,
            response_mode,
            error,
            description,
        }) => {
            let tx = q.transaction(&client, redirect_uri, response_mode.as_str());
            return Ok(Checked::Refused(error_to_client(
                state,
                &tx,
                error,
                description,
            )));
        }
    };
    let mut tx = q.transaction(
        &client,
        request.redirect_uri,
        request.response_mode.as_str(),
    );
    tx.response_type = request.response_type.as_str().to_owned();
    tx.scope = request.scope;
    tx.code_challenge = request.code_challenge;
    tx.connection = request.connection;
    let mut brand = pages::brand(state).await;
    brand.negotiate(q.ui_locales.as_deref(), q.accept_language.as_deref());
    tx.lang = Some(brand.lang);
    Ok(Checked::Valid(
        client,
        Box::new(tx),
        request.max_age,
        connection,
    ))
}
