//! The end of a login: a session for the user, the consent screen a third-party
//! application needs, then the authorization code (and, for implicit and hybrid response
//! types, tokens) sent to the client in the transaction's response mode.

use axum::http::{StatusCode, header};
use axum::response::Response;
use gatehouse_core::client::Client;
use gatehouse_core::id::Audience;
use gatehouse_core::session::{AuthorizationCode, Session};
use gatehouse_core::user::User;
use time::Duration;

use crate::AppState;
use crate::authn::cookies::{CSRF_COOKIE, set_cookie};
use crate::authn::response::{blocked_to_client, error_to_client, respond};
use crate::authn::transaction::{TX_LIFETIME, Transaction};
use crate::crypto::random_secret;
use crate::error::OAuthError;
use crate::pages;

/// How long a code may wait to be redeemed.
const CODE_LIFETIME: Duration = Duration::seconds(60);

/// Starts a session for `user` and sends the code to the client (303), with the cookies.
pub async fn complete_login(
    state: &AppState,
    tx: &Transaction,
    user: &User,
    connection: &str,
    caller: &crate::http::caller_info::CallerInfo,
) -> Result<Response, OAuthError> {
    let ip = caller.ip.as_deref();
    let now = state.clock.now();
    state
        .stores
        .users
        .record_login(&user.user_id, ip, now)
        .await?;
    let lifetime = state.catalog.tenant().await?.session_lifetime();
    let cookie_value = random_secret(32);
    let session = Session {
        id_hash: state.hasher.hash(&cookie_value),
        sid: random_secret(16),
        user_id: user.user_id.clone(),
        connection: connection.to_owned().into(),
        auth_time: now.unix_timestamp(),
        created_at: now,
        last_interaction_at: now,
        expires_at: now + lifetime,
        revoked_at: None,
        clients: vec![tx.client_id.as_str().to_owned()],
        initial_ip: ip.map(str::to_owned),
        initial_user_agent: caller.user_agent.clone(),
    };
    state.stores.sessions.insert_session(&session).await?;
    let mut response =
        crate::oauth::authorization_response::issue_code(state, tx, &session, true).await?;
    response.headers_mut().append(
        header::SET_COOKIE,
        crate::authn::cookies::set_session_cookie(state, &cookie_value, lifetime.whole_seconds()),
    );
    // The transaction is done once the response goes to the client; a consent screen still
    // needs the cookie its form is bound to.
    if response.status().is_redirection() {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(state, CSRF_COOKIE, "", 0));
    }
    Ok(response)
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
            .consent(
                &session.user_id,
                &client.client_id,
                &Audience::from(audience),
            )
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
    let tenant = crate::pages::brand_in(state, tx.lang.as_deref()).await;
    let api = match tx.audience.as_deref() {
        Some(a) => state.catalog.api(&Audience::from(a)).await?,
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
    let mut r = pages::render(
        StatusCode::OK,
        &crate::pages::ConsentPage {
            t: tenant
                .texts("consent", "consent")
                .var("clientName", client.name.as_str()),
            tenant: &tenant,
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
    // The applications a session answered are those back-channel logout tells when it ends.
    if !session.clients.iter().any(|c| c == tx.client_id.as_str()) {
        state
            .stores
            .sessions
            .add_session_client(&session.id_hash, tx.client_id.as_str())
            .await?;
    }
    if let Some(reply) = &tx.saml {
        let client = state
            .catalog
            .client(&tx.client_id)
            .await?
            .ok_or(OAuthError::NotFound)?;
        return crate::authn::saml_reply::success(state, reply, &client, session, &user).await;
    }
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
                ip: None,
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
                now: state.clock.now(),
            },
        )
        .await?;
        if with_token {
            fields.push(("access_token", minted.access_token));
            fields.push(("token_type", minted.token_type.to_owned()));
            fields.push(("expires_in", minted.expires_in.to_string()));
            fields.push(("scope", minted.scope));
        }
        if parts.contains(&"id_token")
            && let Some(id) = minted.id_token
        {
            fields.push(("id_token", id));
        }
    }
    if let Some(c) = code {
        fields.insert(0, ("code", c));
    }
    Ok(respond(state, tx, fields, after_post))
}

/// Stores a new authorization code for the session and returns it.
async fn store_code(
    state: &AppState,
    tx: &Transaction,
    session: &Session,
) -> Result<String, OAuthError> {
    let code = random_secret(32);
    let now = state.clock.now();
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
            audience: tx.audience.clone().map(Into::into),
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
