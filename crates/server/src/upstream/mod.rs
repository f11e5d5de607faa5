//! Logins through upstream identity providers (`oidc`, `google-oauth2`, `github` and
//! `oauth2` connections), as a service below `oauth`: `start` sends the browser to the
//! provider with a sealed `state` bound to this browser by a cookie; `Pending::open` and
//! `authenticate` check the answer that `oauth::login_callback` receives, and `provision`
//! makes or refreshes the user.

pub mod http;
pub mod id_token;
pub mod oauth2;
pub mod oidc;
pub mod provider;
pub mod provision;
pub mod saml;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::connection::Connection;
use gatehouse_core::id::ConnectionName;
use gatehouse_core::strategy::Strategy;
use gatehouse_core::upstream::UpstreamOptions;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use self::http::{UpstreamError, UpstreamHttp};
use self::id_token::Refusal;
use self::provider::{Authenticated, Credentials, Login, Provider, TokenSet};
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
    /// The OpenID Connect provider behind `discovery_url` (or the connection's own
    /// endpoints), read at most every ten minutes (or again when `fresh` asks, after an ID
    /// token named a key it did not know).
    async fn oidc(
        &self,
        discovery_url: Option<&str>,
        options: &UpstreamOptions,
        fresh: bool,
    ) -> Result<Arc<Provider>, UpstreamError> {
        // Everything the provider is read from, so a changed connection is read anew.
        let key = [
            discovery_url,
            options.issuer.as_deref(),
            options.authorization_endpoint.as_deref(),
            options.token_endpoint.as_deref(),
            options.jwks_uri.as_deref(),
            options.userinfo_endpoint.as_deref(),
            options.token_endpoint_auth_method.as_deref(),
        ]
        .map(|v| v.unwrap_or_default())
        .join("\n");
        if !fresh
            && let Ok(cache) = self.providers.lock()
            && let Some((at, p)) = cache.get(&key)
            && at.elapsed() < PROVIDER_TTL
        {
            return Ok(p.clone());
        }
        let p = Arc::new(oidc::provider(&self.http, discovery_url, options).await?);
        if let Ok(mut cache) = self.providers.lock() {
            cache.retain(|_, (at, _)| at.elapsed() < PROVIDER_TTL);
            cache.insert(key, (Instant::now(), p.clone()));
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

/// The loopback companion of the binding cookie (`cookies::loopback_cross_site`).
const BINDING_COOKIE_LOOPBACK: &str = "gh_upstream_x";

/// Sets (or with `""` and 0, clears) the cookie binding a login at a provider to this
/// browser (`Pending::begin`). A front-channel or SAML provider answers with a cross-site
/// POST, so it is `SameSite=None` where the issuer allows it, with a loopback companion.
pub fn set_binding_cookie(
    state: &AppState,
    headers: &mut axum::http::HeaderMap,
    binding: &str,
    max_age: i64,
) {
    let path = "/login/callback";
    headers.append(
        axum::http::header::SET_COOKIE,
        cookie_header(
            state,
            BINDING_COOKIE,
            binding,
            max_age,
            path,
            SameSite::CrossSite,
        ),
    );
    if let Some(companion) = crate::authn::cookies::loopback_cross_site(
        state,
        BINDING_COOKIE_LOOPBACK,
        binding,
        max_age,
        path,
    ) {
        headers.append(axum::http::header::SET_COOKIE, companion);
    }
}

impl Pending {
    /// A new pending login for `tx` through `connection`, answering `nonce` (an OpenID
    /// nonce, or a SAML AuthnRequest id): the sealed state to send and the binding cookie's
    /// value (`binding_cookie`).
    pub fn begin(
        state: &AppState,
        tx: &Transaction,
        connection: &ConnectionName,
        nonce: &str,
        pkce_verifier: Option<String>,
    ) -> Result<(String, String), OAuthError> {
        let binding = random_secret(32);
        let pending = Pending {
            tx: tx.clone(),
            connection: connection.clone(),
            nonce: nonce.to_owned(),
            pkce_verifier,
            binding: state.hasher.hash(&binding),
        };
        Ok((pending.seal(state)?, binding))
    }

    /// The nonce (OpenID) or AuthnRequest id (SAML) the answer must carry.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    fn seal(&self, state: &AppState) -> Result<String, OAuthError> {
        let json = serde_json::to_vec(self).map_err(|e| OAuthError::Internal(e.into()))?;
        Ok(URL_SAFE_NO_PAD.encode(state.sealer.seal(STATE_CONTEXT, &json)))
    }

    /// The pending login sealed in `sealed` (a provider's `state`), if it is ours, bound
    /// to this browser's cookie, and not answered before (each state is used once, on every
    /// replica: a replayed answer, even with the cookie, is refused).
    pub async fn open(
        state: &AppState,
        sealed: &str,
        headers: &HeaderMap,
    ) -> Result<Option<Self>, OAuthError> {
        let opened = URL_SAFE_NO_PAD
            .decode(sealed)
            .ok()
            .and_then(|raw| state.sealer.open(STATE_CONTEXT, &raw).ok())
            .and_then(|json| serde_json::from_slice::<Self>(&json).ok());
        let Some(pending) = opened else {
            return Ok(None);
        };
        let bound = [BINDING_COOKIE, BINDING_COOKIE_LOOPBACK]
            .iter()
            .any(|name| {
                cookie(headers, name)
                    .is_some_and(|c| bool::from(state.hasher.hash(c).ct_eq(&pending.binding)))
            });
        let now = state.clock.now();
        // An expired login's mark may be forgotten, so it must be refused by its age.
        if !bound || pending.tx.exp <= now.unix_timestamp() {
            return Ok(None);
        }
        let first = state
            .stores
            .sessions
            .use_once(
                &state
                    .hasher
                    .hash(&format!("{STATE_CONTEXT}:{}", pending.nonce)),
                now + time::Duration::seconds(TX_LIFETIME),
                now,
            )
            .await?;
        Ok(first.then_some(pending))
    }
}

/// The connection's options and client credentials (the secret opened).
fn settings(
    state: &AppState,
    connection: &Connection,
) -> Result<(UpstreamOptions, Credentials), UpstreamError> {
    let options = UpstreamOptions::of(connection)
        .ok_or_else(|| UpstreamError::Misconfigured("not an upstream connection".into()))?;
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
    Ok((options, credentials))
}

/// The provider behind `connection` (`fresh`: its keys read again).
async fn provider(
    state: &AppState,
    connection: &Connection,
    options: &UpstreamOptions,
    fresh: bool,
) -> Result<Arc<Provider>, UpstreamError> {
    let upstreams = &state.upstreams;
    match connection.strategy {
        Strategy::GitHub => Ok(Arc::new(oauth2::github(
            &state.config.github_url,
            &state.config.github_api_url,
        ))),
        Strategy::OAuth2 => Ok(Arc::new(oauth2::custom(&upstreams.http, options)?)),
        // Google is Google's discovery document, whatever the options say.
        Strategy::Google => {
            let google = UpstreamOptions {
                strategy: options.strategy.clone(),
                ..UpstreamOptions::default()
            };
            let url = state.config.google_discovery_url.as_str();
            upstreams.oidc(Some(url), &google, fresh).await
        }
        _ => {
            let url = options.discovery_url();
            upstreams.oidc(url.as_deref(), options, fresh).await
        }
    }
}

/// Where `/v2/logout?federated` sends the browser once our session has ended: the
/// provider's `end_session_endpoint` (OIDC RP-Initiated Logout), with our `client_id` there
/// and `post_logout_redirect_uri` when the application gave a `returnTo`; or a SAML
/// provider's `signOutEndpoint` with a LogoutRequest for the session's subject. `None` when
/// the session's connection is not an upstream one or its provider has no such endpoint.
pub async fn end_session_url(
    state: &AppState,
    session: &gatehouse_core::session::Session,
    return_to: Option<&str>,
) -> Option<String> {
    let c = state
        .stores
        .connections
        .connection_by_name(&session.connection)
        .await
        .ok()??;
    if !is_upstream(&c) {
        return None;
    }
    if c.strategy == Strategy::Samlp {
        let user = state.stores.users.user(&session.user_id).await.ok()??;
        let identity = user.identities.iter().find(|i| i.connection == c.name)?;
        let name_id = identity.user_id.strip_prefix(&format!("{}|", c.name))?;
        return saml::logout_url(state, &c, name_id, return_to).ok();
    }
    let (options, credentials) = settings(state, &c).ok()?;
    let provider = provider(state, &c, &options, false).await.ok()?;
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
    if connection.strategy == Strategy::Samlp {
        return saml::start(state, tx, connection).await;
    }
    let started = async {
        let (options, credentials) = settings(state, connection)?;
        let provider = provider(state, connection, &options, false).await?;
        let nonce = random_secret(24);
        // The front channel has no code to bind a verifier to.
        let pkce_verifier = (provider.pkce && options.back_channel()).then(|| random_secret(48));
        let (sealed, binding) =
            Pending::begin(state, tx, &connection.name, &nonce, pkce_verifier.clone())
                .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
        let login = Login {
            scopes: &options.scopes(),
            state: sealed,
            nonce,
            pkce_verifier: pkce_verifier.as_deref(),
            back_channel: options.back_channel(),
            prompt: tx
                .prompt
                .as_deref()
                .filter(|p| ["login", "consent", "select_account"].contains(p)),
        };
        let url = if provider.is_oidc() {
            oidc::authorization_url(&provider, &credentials, &callback_url(state), login)?
        } else {
            oauth2::authorization_url(&provider, &credentials, &callback_url(state), login)?
        };
        Ok::<_, UpstreamError>((url, binding))
    }
    .await;
    match started {
        Ok((url, binding)) => {
            let mut r = Redirect::to(&url).into_response();
            set_binding_cookie(state, r.headers_mut(), &binding, TX_LIFETIME);
            Ok(r)
        }
        Err(e) => {
            tracing::warn!(connection = %connection.name, error = %e, "upstream login not started");
            Ok(error_to_client(state, tx, "server_error", &e.to_string()))
        }
    }
}

/// The dashboard's "try connection": reads the provider as a login would (discovery, keys,
/// endpoints; fresh, not from the cache) without sending anyone there. A SAML connection
/// has nothing to fetch and is not tried here.
pub async fn check(state: &AppState, connection: &Connection) -> Result<String, UpstreamError> {
    let (options, _) = settings(state, connection)?;
    let provider = provider(state, connection, &options, true).await?;
    Ok(if provider.is_oidc() {
        "The provider answered: its discovery document and signing keys are in order.".into()
    } else {
        "The connection is complete: a login would go to the provider's authorization endpoint."
            .into()
    })
}

/// What a provider's answer carries: a code (back channel), an ID token (front channel), or
/// a SAML Response.
pub enum Answer<'a> {
    /// `code`.
    Code(&'a str),
    /// `id_token`.
    IdToken(&'a str),
    /// `SAMLResponse` (base64).
    Saml(&'a str),
}

/// Checks the provider's answer: redeems its code (back channel) or takes its ID token
/// (front channel), whichever the connection is set to; then the ID token (OpenID Connect,
/// completed from userinfo) or the profile read with the access token (OAuth 2.0).
pub async fn authenticate(
    state: &AppState,
    connection: &Connection,
    pending: &Pending,
    iss: Option<&str>,
    answer: Answer<'_>,
) -> Result<Authenticated, UpstreamError> {
    if connection.strategy == Strategy::Samlp {
        return match answer {
            Answer::Saml(response) => {
                saml::authenticate(state, connection, Some(pending.nonce()), response).await
            }
            _ => Err(UpstreamError::Invalid(
                "a SAML connection is answered with a SAMLResponse".into(),
            )),
        };
    }
    let (options, credentials) = settings(state, connection)?;
    let provider = provider(state, connection, &options, false).await?;
    // RFC 9207: an answer that names another issuer came from a mix-up.
    if let (Some(iss), Some(issuer)) = (iss, provider.issuer.as_deref())
        && iss != issuer
    {
        return Err(UpstreamError::Invalid(
            "the answer names another identity provider".into(),
        ));
    }
    let tokens = match (answer, options.back_channel()) {
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
        (Answer::IdToken(jwt), false) => TokenSet {
            id_token: Some(jwt.to_owned()),
            ..TokenSet::default()
        },
        _ => {
            return Err(UpstreamError::Invalid(
                "the answer does not fit the connection's channel".into(),
            ));
        }
    };
    let http = &state.upstreams.http;
    if !provider.is_oidc() {
        let access_token = tokens.access_token.as_deref().ok_or_else(|| {
            UpstreamError::Invalid("no access token in the token response".into())
        })?;
        let (subject, profile) = oauth2::profile(http, &provider, &options, access_token).await?;
        return Ok(Authenticated {
            subject,
            profile,
            tokens,
        });
    }
    let jwt = tokens
        .id_token
        .as_deref()
        .ok_or_else(|| UpstreamError::Invalid("no ID token in the token response".into()))?;
    let now = state.clock.now().unix_timestamp();
    let (subject, mut profile) =
        match oidc::verify(&provider, jwt, &credentials.client_id, &pending.nonce, now) {
            // Signed with a key we have not seen: the provider may have rotated; read its
            // keys again, once.
            Err(Refusal::UnknownKey) => {
                let fresh = self::provider(state, connection, &options, true).await?;
                oidc::verify(&fresh, jwt, &credentials.client_id, &pending.nonce, now)?
            }
            other => other?,
        };
    if let (Some(url), Some(access_token)) = (&provider.userinfo_endpoint, &tokens.access_token) {
        let userinfo: serde_json::Map<String, serde_json::Value> =
            http.get_json_as(url, Some(access_token)).await?;
        // OIDC Core s5.3.2: userinfo about someone else must not be used.
        if userinfo.get("sub").and_then(|s| s.as_str()) != Some(subject.as_str()) {
            return Err(UpstreamError::Invalid(
                "userinfo describes another subject".into(),
            ));
        }
        for (k, v) in oidc::profile_of(&userinfo) {
            profile.entry(k).or_insert(v);
        }
    }
    Ok(Authenticated {
        subject,
        profile,
        tokens,
    })
}
