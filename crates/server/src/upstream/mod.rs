//! Logins through upstream identity providers (`oidc` and `google-oauth2` connections), as
//! a service below `oauth`: `start` sends the browser to the provider with a sealed `state`
//! bound to this browser by a cookie; `Pending::open` and `authenticate` check the answer
//! that `oauth::login_callback` receives, and `provision` makes or refreshes the user.

pub mod http;
pub mod id_token;
pub mod oidc;
pub mod provision;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::connection::Connection;
use gatehouse_core::id::ConnectionName;
use gatehouse_core::strategy::Strategy;
use gatehouse_core::upstream::OidcOptions;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use self::http::{UpstreamError, UpstreamHttp};
use self::id_token::Refusal;
use self::oidc::{Credentials, Provider};
use crate::AppState;
use crate::authn::cookies::{SameSite, cookie, cookie_header};
use crate::authn::response::error_to_client;
use crate::authn::transaction::{TX_LIFETIME, Transaction};
use crate::crypto::random_secret;
use crate::error::OAuthError;

/// The cookie that binds a login at a provider to the browser that started it.
pub const BINDING_COOKIE: &str = "gh_upstream";
/// The sealing context of the `state` sent to providers.
const STATE_CONTEXT: &str = "upstream_state";
/// How long a provider's discovery document and keys are trusted before they are read again.
const PROVIDER_TTL: Duration = Duration::from_secs(600);

/// The HTTP client for providers and what it learnt of them.
#[derive(Default)]
pub struct Upstreams {
    /// The client.
    pub http: UpstreamHttp,
    providers: Mutex<HashMap<String, (Instant, Arc<Provider>)>>,
}

impl Upstreams {
    /// The provider behind `discovery_url`, read at most every ten minutes (or again when
    /// `fresh` asks, after an ID token named a key it did not know).
    async fn provider(
        &self,
        discovery_url: &str,
        fresh: bool,
    ) -> Result<Arc<Provider>, UpstreamError> {
        if !fresh
            && let Ok(cache) = self.providers.lock()
            && let Some((at, p)) = cache.get(discovery_url)
            && at.elapsed() < PROVIDER_TTL
        {
            return Ok(p.clone());
        }
        let p = Arc::new(Provider::discover(&self.http, discovery_url).await?);
        if let Ok(mut cache) = self.providers.lock() {
            cache.insert(discovery_url.to_owned(), (Instant::now(), p.clone()));
        }
        Ok(p)
    }
}

/// Whether logins through `c` go to an upstream provider.
pub fn is_upstream(c: &Connection) -> bool {
    c.strategy.is_federated()
}

/// What `state` carries to the provider and back, sealed.
#[derive(Serialize, Deserialize)]
pub struct Pending {
    /// The application's login transaction.
    pub tx: Transaction,
    /// The connection logged in through.
    pub connection: ConnectionName,
    nonce: String,
    pkce_verifier: Option<String>,
    /// SHA-256 of the binding cookie's value.
    binding: Vec<u8>,
}

impl Pending {
    fn seal(&self, state: &AppState) -> Result<String, OAuthError> {
        let json = serde_json::to_vec(self).map_err(|e| OAuthError::Internal(e.into()))?;
        Ok(URL_SAFE_NO_PAD.encode(state.sealer.seal(STATE_CONTEXT, &json)))
    }

    /// The pending login sealed in `sealed` (a provider's `state`), if it is ours and bound
    /// to this browser's cookie.
    pub fn open(state: &AppState, sealed: &str, headers: &HeaderMap) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let json = state.sealer.open(STATE_CONTEXT, &raw).ok()?;
        let pending: Self = serde_json::from_slice(&json).ok()?;
        let bound = cookie(headers, BINDING_COOKIE)
            .is_some_and(|c| bool::from(state.hasher.hash(c).ct_eq(&pending.binding)));
        bound.then_some(pending)
    }
}

/// The connection's options, client credentials (the secret opened) and discovery URL.
fn settings(
    state: &AppState,
    connection: &Connection,
) -> Result<(OidcOptions, Credentials, String), UpstreamError> {
    let options = OidcOptions::of(connection)
        .ok_or_else(|| UpstreamError::Misconfigured("not an OpenID Connect connection".into()))?;
    let discovery = match connection.strategy {
        Strategy::Google => Some(state.config.google_discovery_url.clone()),
        _ => options.discovery_url(),
    }
    .ok_or_else(|| UpstreamError::Misconfigured("no discovery_url or issuer".into()))?;
    let client_id = options
        .client_id
        .clone()
        .ok_or_else(|| UpstreamError::Misconfigured("no client_id".into()))?;
    let secret = connection
        .options
        .to_json()
        .get("client_secret")
        .and_then(|s| {
            crate::secrets::open_connection_secret(
                &state.sealer,
                &connection.id,
                "client_secret",
                s,
            )
        });
    let credentials = Credentials { client_id, secret };
    Ok((options, credentials, discovery))
}

/// Where `/v2/logout?federated` sends the browser once our session has ended: the
/// provider's `end_session_endpoint` (OIDC RP-Initiated Logout), with our `client_id` there
/// and `post_logout_redirect_uri` when the application gave a `returnTo`. `None` when the
/// session's connection is not an upstream one or its provider has no such endpoint.
pub async fn end_session_url(
    state: &AppState,
    connection: &ConnectionName,
    return_to: Option<&str>,
) -> Option<String> {
    let c = state
        .stores
        .connections
        .connection_by_name(connection)
        .await
        .ok()??;
    if !is_upstream(&c) {
        return None;
    }
    let (_, credentials, discovery) = settings(state, &c).ok()?;
    let provider = state.upstreams.provider(&discovery, false).await.ok()?;
    let mut url = url::Url::parse(provider.end_session_endpoint.as_deref()?).ok()?;
    url.query_pairs_mut()
        .append_pair("client_id", &credentials.client_id);
    if let Some(to) = return_to {
        url.query_pairs_mut()
            .append_pair("post_logout_redirect_uri", to);
    }
    Some(url.to_string())
}

/// Our redirect URI at every provider.
fn callback_url(state: &AppState) -> String {
    format!("{}login/callback", state.issuer)
}

/// Sends the browser to `connection`'s provider to log in for `tx` (302), with the binding
/// cookie; a provider that cannot be used is reported to the application.
pub async fn start(
    state: &AppState,
    tx: &Transaction,
    connection: &Connection,
) -> Result<Response, OAuthError> {
    let started = async {
        let (options, credentials, discovery) = settings(state, connection)?;
        let provider = state.upstreams.provider(&discovery, false).await?;
        let binding = random_secret(32);
        let nonce = random_secret(24);
        // The front channel has no code to bind a verifier to.
        let pkce_verifier = (provider.pkce() && options.back_channel()).then(|| random_secret(48));
        let pending = Pending {
            tx: tx.clone(),
            connection: connection.name.clone(),
            nonce: nonce.clone(),
            pkce_verifier: pkce_verifier.clone(),
            binding: state.hasher.hash(&binding),
        };
        let sealed = pending
            .seal(state)
            .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
        let url = provider.authorization_url(
            &credentials,
            &callback_url(state),
            oidc::Login {
                scopes: &options.scopes(),
                state: sealed,
                nonce,
                pkce_verifier: pkce_verifier.as_deref(),
                back_channel: options.back_channel(),
            },
        )?;
        Ok::<_, UpstreamError>((url, binding))
    }
    .await;
    match started {
        Ok((url, binding)) => {
            let mut r = Redirect::to(&url).into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                cookie_header(
                    state,
                    BINDING_COOKIE,
                    &binding,
                    TX_LIFETIME,
                    "/login/callback",
                    // A front-channel provider answers with a cross-site POST.
                    SameSite::CrossSite,
                ),
            );
            Ok(r)
        }
        Err(e) => {
            tracing::warn!(connection = %connection.name, error = %e, "upstream login not started");
            Ok(error_to_client(state, tx, "server_error", &e.to_string()))
        }
    }
}

/// What a provider's answer carries: a code (back channel) or an ID token (front channel).
pub enum Answer<'a> {
    /// `code`.
    Code(&'a str),
    /// `id_token`.
    IdToken(&'a str),
}

/// Checks the provider's answer: redeems its code (back channel) or takes its ID token
/// (front channel), whichever the connection is set to, and checks the ID token.
pub async fn authenticate(
    state: &AppState,
    connection: &Connection,
    pending: &Pending,
    iss: Option<&str>,
    answer: Answer<'_>,
) -> Result<oidc::Authenticated, UpstreamError> {
    let (options, credentials, discovery) = settings(state, connection)?;
    let provider = state.upstreams.provider(&discovery, false).await?;
    // RFC 9207: an answer that names another issuer came from a mix-up.
    if iss.is_some_and(|i| i != provider.issuer) {
        return Err(UpstreamError::Invalid(
            "the answer names another identity provider".into(),
        ));
    }
    let jwt = match (answer, options.back_channel()) {
        (Answer::Code(code), true) => {
            provider
                .redeem(
                    &state.upstreams.http,
                    &credentials,
                    &callback_url(state),
                    code,
                    pending.pkce_verifier.as_deref(),
                )
                .await?
        }
        (Answer::IdToken(jwt), false) => jwt.to_owned(),
        _ => {
            return Err(UpstreamError::Invalid(
                "the answer does not fit the connection's channel".into(),
            ));
        }
    };
    let now = state.clock.now().unix_timestamp();
    match provider.verify(&jwt, &credentials.client_id, &pending.nonce, now) {
        // Signed with a key we have not seen: the provider may have rotated; read its keys
        // again, once.
        Err(Refusal::UnknownKey) => {
            let fresh = state.upstreams.provider(&discovery, true).await?;
            Ok(fresh.verify(&jwt, &credentials.client_id, &pending.nonce, now)?)
        }
        other => Ok(other?),
    }
}
