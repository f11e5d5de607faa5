//! Tokens for a user: the access token, the ID token when `openid` was asked for, and a
//! refresh token when `offline_access` was asked for and allowed. Shared by every grant that
//! ends with a person (authorization code, refresh, password, passwordless) and by the
//! implicit and hybrid responses of `/authorize`. What the tokens say is decided in
//! `gatehouse_core::grants::user`; here are the look-ups, the signing and the storage.

use gatehouse_core::id::Audience;
use std::sync::Arc;

use gatehouse_core::client::Client;
use gatehouse_core::grants::user::{self, IdTokenClaims, UserGrant};
use gatehouse_core::log::LogEvent;
use gatehouse_core::refresh_token::{RefreshPolicy, RefreshToken};
use gatehouse_core::resource_server::ResourceServer;
use gatehouse_core::scope::Scope;
use gatehouse_core::store::Rotation;
use gatehouse_core::token::half_hash;
use gatehouse_core::user::User;
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::crypto::random_secret;
use crate::error::OAuthError;
use crate::oauth::token::{TokenRequest, TokenResponse};

/// What a user token request asks for.
pub struct UserTokenRequest<'a> {
    /// The client, authenticated.
    pub client: &'a Arc<Client>,
    /// The user, authenticated.
    pub user: &'a User,
    /// The connection they authenticated with.
    pub connection: &'a str,
    /// The API, if an audience was named.
    pub audience: Option<&'a str>,
    /// The scopes requested (None: what the API defines, as Auth0's password grant does).
    pub scope: Option<&'a Scope>,
    /// The `gty` claim.
    pub gty: &'static str,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Whether and how to hand out a refresh token.
    pub refresh: RefreshMode,
    /// The authorization request's `nonce`, for the ID token.
    pub nonce: Option<&'a str>,
    /// The session's id, for the ID token's `sid`.
    pub sid: Option<&'a str>,
    /// Put `at_hash` in the ID token (it travels with the access token from `/authorize`).
    pub at_hash: bool,
    /// The code issued alongside, for `c_hash` (hybrid responses).
    pub c_hash_of: Option<&'a str>,
    /// Now.
    pub now: OffsetDateTime,
    /// The caller's address (`event.request.ip` for Actions), when known.
    pub ip: Option<&'a str>,
}

/// Refresh tokens in a token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshMode {
    /// A new family, if `offline_access` was granted (a login).
    Fresh,
    /// A token in this family (a code's first token).
    Rotate(String),
    /// A rotating refresh's successor: `retiring` (its hash) is retired in the same
    /// transaction that stores the successor; `allow_retired` within the reuse interval.
    Successor {
        /// The family.
        family: String,
        /// The hash of the token being spent.
        retiring: Vec<u8>,
        /// Whether a token another redemption retired may still have a successor.
        allow_retired: bool,
    },
    /// None: the client keeps the one it has (a non-rotating refresh).
    Keep,
}

/// A person who just proved who they are at the token endpoint (the password and
/// passwordless grants).
pub struct DirectLogin<'a> {
    /// The user.
    pub user: &'a User,
    /// The connection they proved it with.
    pub connection: &'a str,
    /// The `gty` claim.
    pub gty: &'static str,
    /// The `scope` asked for (None: what the API defines).
    pub scope: Option<&'a Scope>,
}

/// Tokens for a direct login: counts the login, takes `audience` (or the tenant's default)
/// from the request, notes the audience in the grant's log event.
pub async fn issue_direct_login(
    state: &AppState,
    req: &TokenRequest,
    login: DirectLogin<'_>,
    event: &mut LogEvent,
) -> Result<TokenResponse, OAuthError> {
    state
        .stores
        .users
        .record_login(&login.user.user_id, req.caller.ip.as_deref(), req.now)
        .await?;
    let audience = req.audience(state).await?;
    event.audience = audience.clone();
    mint(
        state,
        UserTokenRequest {
            ip: req.caller.ip.as_deref(),
            client: &req.client,
            user: login.user,
            connection: login.connection,
            audience: audience.as_deref(),
            scope: login.scope,
            gty: login.gty,
            auth_time: req.now.unix_timestamp(),
            refresh: RefreshMode::Fresh,
            nonce: None,
            sid: None,
            at_hash: false,
            c_hash_of: None,
            now: req.now,
        },
    )
    .await
}

/// Makes the tokens for a person: for the grants, and for the implicit and hybrid responses
/// of `/authorize`.
pub async fn mint(
    state: &AppState,
    req: UserTokenRequest<'_>,
) -> Result<TokenResponse, OAuthError> {
    // As the extension's rule: its API is for machines, never a person's token.
    if req.audience == Some(gatehouse_core::authz::AUDIENCE) {
        return Err(OAuthError::AccessDenied(
            "no_end_users: the Authorization Extension's API is for applications only".into(),
        ));
    }
    let api = match req.audience {
        Some(aud) => Some(
            state
                .catalog
                .api(&Audience::from(aud))
                .await?
                .ok_or_else(|| OAuthError::AccessDenied(format!("Service not found: {aud}")))?,
        ),
        None => None,
    };
    let permissions = match api.as_deref() {
        Some(a) if user::enforces_policies(a) => Some(permissions(state, req.user, a).await?),
        _ => None,
    };
    let access = user::decide(&UserGrant {
        issuer: &state.issuer,
        management_audience: &state.management_audience(),
        client: req.client,
        user_id: &req.user.user_id,
        api: api.as_deref(),
        requested: req.scope,
        permissions: permissions.as_deref(),
        gty: req.gty,
        now: req.now.unix_timestamp(),
    });
    let mut extra = crate::oauth::authz_claims::for_tokens(
        state,
        req.user,
        req.connection,
        req.client.client_id.as_str(),
    )
    .await?;
    let mut access_extra = extra.clone();
    let mut claims = access.claims.clone();
    if let Some(flow) = post_login(state, &req, &claims.scope).await? {
        access_extra.extend(flow.access_token);
        extra.extend(flow.id_token);
        claims.scope = adjusted_scope(&claims.scope, &flow.add_scopes, &flow.remove_scopes);
    }
    let scope = &claims.scope;
    let access_token = state
        .keys
        .sign(&with_claims(claims.to_json(), &access_extra))?;
    let id_token = if scope.contains("openid") {
        Some(id_token(state, &req, scope, &access_token, &extra)?)
    } else {
        None
    };
    let family = match &req.refresh {
        RefreshMode::Fresh => Some(uuid::Uuid::new_v4().simple().to_string()),
        RefreshMode::Rotate(f) | RefreshMode::Successor { family: f, .. } => Some(f.clone()),
        RefreshMode::Keep => None,
    };
    let refresh_token = match family.filter(|_| access.may_refresh) {
        Some(family_id) => Some(store_refresh_token(state, &req, family_id, scope).await?),
        None => None,
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: access.lifetime(),
        scope: scope.to_string(),
        id_token,
        refresh_token,
    })
}

/// The signed ID token that goes with `access_token`.
fn id_token(
    state: &AppState,
    req: &UserTokenRequest<'_>,
    scope: &Scope,
    access_token: &str,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, OAuthError> {
    let mut claims = IdTokenClaims::new(
        &state.issuer,
        req.client,
        req.user,
        scope,
        req.auth_time,
        req.now.unix_timestamp(),
    );
    claims.nonce = req.nonce.map(str::to_owned);
    claims.sid = req.sid.map(str::to_owned);
    claims.at_hash = req.at_hash.then(|| half_hash(access_token));
    claims.c_hash = req.c_hash_of.map(half_hash);
    Ok(state.keys.sign(&with_claims(claims.to_json(), extra))?)
}

/// Runs the `post-login` flow, when one is bound: its claims and scopes, after writing the
/// metadata it set; a denial or a failed action refuses the tokens.
async fn post_login(
    state: &AppState,
    req: &UserTokenRequest<'_>,
    scope: &Scope,
) -> Result<Option<crate::actions::Outcome>, OAuthError> {
    if crate::actions::data(state)
        .await?
        .flow("post-login")
        .is_empty()
    {
        return Ok(None);
    }
    // Auth0's `event.authorization.roles`: the user's RBAC role names (its role example reads
    // them); Auth0 caps a user's roles far below this page.
    let roles: Vec<String> = state
        .stores
        .roles
        .user_roles(
            &req.user.user_id,
            gatehouse_core::store::Page::number(0, 1000),
        )
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let event = serde_json::json!({
        "user": serde_json::to_value(crate::mgmt::users::view::UserView::new(req.user))
            .unwrap_or_default(),
        "authorization": {"roles": roles},
        "session": req.sid.map(|id| serde_json::json!({"id": id})),
        "client": {"client_id": req.client.client_id, "name": req.client.name,
                   "metadata": req.client.settings.extra.get("client_metadata")},
        "connection": {"name": req.connection},
        "request": {"ip": req.ip, "hostname": state.issuer.as_str()},
        "transaction": {"protocol": req.gty, "requested_scopes": scope.tokens()},
        "resource_server": {"identifier": req.audience},
        "stats": {"logins_count": req.user.logins_count},
        "tenant": {"id": state.config.tenant_name},
        "authentication": {"methods": [{"name": "pwd", "timestamp": req.auth_time}]},
    });
    let outcome = match crate::actions::run_flow(state, "post-login", &event).await? {
        Ok(o) => o,
        Err(crate::actions::Stop::Denied(reason, _)) => {
            return Err(OAuthError::AccessDenied(reason));
        }
        Err(crate::actions::Stop::Failed { action, why }) => {
            tracing::warn!(action = %action, error = %why, "post-login action failed");
            return Err(OAuthError::AccessDenied(format!(
                "The action {action} failed: {why}"
            )));
        }
    };
    if !outcome.app_metadata.is_empty() || !outcome.user_metadata.is_empty() {
        let mut user = req.user.clone();
        for (into, from) in [
            (&mut user.app_metadata, &outcome.app_metadata),
            (&mut user.user_metadata, &outcome.user_metadata),
        ] {
            for (k, v) in from {
                if v.is_null() {
                    into.remove(k);
                } else {
                    into.insert(k.clone(), v.clone());
                }
            }
        }
        user.updated_at = state.clock.now();
        state.stores.users.update_user(&user).await?;
    }
    Ok(Some(outcome))
}

/// `scope` with `add` added and `remove` taken away (`openid` stays).
fn adjusted_scope(scope: &Scope, add: &[String], remove: &[String]) -> Scope {
    let mut tokens: Vec<String> = scope.tokens().to_vec();
    for s in add {
        if !tokens.contains(s) && Scope::parse(s).is_ok() && !s.contains(' ') {
            tokens.push(s.clone());
        }
    }
    tokens.retain(|t| t == "openid" || !remove.contains(t));
    Scope::from_tokens(tokens)
}

/// `claims` with `extra` added (namespaced custom claims never replace a standard one).
fn with_claims(
    mut claims: serde_json::Value,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    if let Some(obj) = claims.as_object_mut() {
        for (k, v) in extra {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    claims
}

/// The user's permission names on `api` (RBAC: direct and through roles).
async fn permissions(
    state: &AppState,
    user: &User,
    api: &ResourceServer,
) -> Result<Vec<String>, OAuthError> {
    Ok(state
        .stores
        .roles
        .user_permissions(&user.user_id)
        .await?
        .into_iter()
        .map(|p| p.permission)
        .filter(|p| p.resource_server_identifier == api.identifier)
        .map(|p| p.permission_name)
        .collect())
}

/// Stores a new refresh token in `family_id` and returns its secret.
async fn store_refresh_token(
    state: &AppState,
    req: &UserTokenRequest<'_>,
    family_id: String,
    scope: &Scope,
) -> Result<String, OAuthError> {
    let policy = RefreshPolicy::of(req.client);
    let now = req.now;
    let secret = format!("v1.{}", random_secret(48));
    let token = RefreshToken {
        token_hash: state.hasher.hash(&secret),
        family_id,
        client_id: req.client.client_id.clone(),
        user_id: req.user.user_id.clone(),
        connection: req.connection.to_owned().into(),
        audience: req.audience.map(str::to_owned).map(Into::into),
        scope: scope.to_string(),
        auth_time: req.auth_time,
        created_at: now,
        expires_at: policy.lifetime.map(|s| now + Duration::seconds(s)),
        idle_expires_at: policy.idle_lifetime.map(|s| now + Duration::seconds(s)),
        rotated_at: None,
        revoked_at: None,
        session_id: req.sid.map(str::to_owned),
    };
    // Refused when the family was revoked meanwhile (a replay of a rotated token or of
    // the code, a block, a password change): the refresh under way gets nothing.
    let rotation = match &req.refresh {
        RefreshMode::Successor {
            retiring,
            allow_retired,
            ..
        } => {
            state
                .stores
                .refresh_tokens
                .rotate_refresh_token(retiring, &token, now, *allow_retired)
                .await?
        }
        _ => match state
            .stores
            .refresh_tokens
            .insert_refresh_token(&token)
            .await?
        {
            true => Rotation::Rotated,
            false => Rotation::FamilyRevoked,
        },
    };
    if rotation == Rotation::AlreadyRetired {
        return Err(OAuthError::RefreshTokenReplayed);
    }
    if rotation == Rotation::FamilyRevoked {
        let what = match req.gty {
            "authorization_code" => "Invalid authorization code",
            _ => "Unknown or invalid refresh token.",
        };
        return Err(OAuthError::InvalidGrant(what.into()));
    }
    Ok(secret)
}
