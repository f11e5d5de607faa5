//! Tokens for a user: the access token, the ID token when `openid` was asked for, and a
//! refresh token when `offline_access` was asked for and allowed. Shared by every grant that
//! ends with a person (authorization code, refresh, password, passwordless) and by the
//! implicit and hybrid responses of `/authorize`.

use std::sync::Arc;

use gatehouse_core::client::{AppType, Client};
use gatehouse_core::log::LogEvent;
use gatehouse_core::refresh_token::{RefreshPolicy, RefreshToken};
use gatehouse_core::resource_server::ResourceServer;
use gatehouse_core::role::Permission;
use gatehouse_core::scope::Scope;
use gatehouse_core::seed::USER_MANAGEMENT_SCOPES;
use gatehouse_core::token::{AccessTokenClaims, OIDC_SCOPES, user_claims};
use gatehouse_core::user::User;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::crypto::random_secret;
use crate::error::OAuthError;
use crate::oauth::token::{TokenRequest, TokenResponse};

/// Access tokens that only open `/userinfo` live as long as Auth0's (24 h).
const USERINFO_TOKEN_LIFETIME: i64 = 86_400;
/// Auth0's default ID token lifetime (10 h).
const ID_TOKEN_LIFETIME: i64 = 36_000;

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
}

/// OIDC Core s3.1.3.6 / s3.3.2.11: the left half of SHA-256 of the ASCII value, base64url.
pub fn half_hash(value: &str) -> String {
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

/// Refresh tokens in a token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshMode {
    /// A new family, if `offline_access` was granted (a login).
    Fresh,
    /// A token in this family (a rotating refresh's successor, or a code's first token).
    Rotate(String),
    /// None: the client keeps the one it has (a non-rotating refresh).
    Keep,
}

/// The granted scope: requested ∩ (the API's scopes ∪ OIDC scopes), and, when the API
/// enforces RBAC, API scopes only those the user holds as permissions.
async fn grant_scope(
    state: &AppState,
    req: &UserTokenRequest<'_>,
    api: Option<&ResourceServer>,
) -> Result<(Scope, Option<Vec<String>>), OAuthError> {
    // A person's token for the Management API acts on that person only: never the
    // tenant-wide scopes (read:users, ...) the API also defines.
    // A third-party application gets none of them: with the person's own token it could
    // otherwise link into that account any account that logged in to it recently.
    let management = api.is_some_and(|a| a.identifier == state.management_audience());
    let first_party = req.client.settings.is_first_party;
    let api_scopes: Vec<String> = api
        .map(|a| {
            a.scopes
                .iter()
                .map(|s| s.value.clone())
                .collect::<Vec<String>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !management || (first_party && USER_MANAGEMENT_SCOPES.contains(&s.as_str())))
        .collect();
    let enforce = api.is_some_and(|a| a.extra.get("enforce_policies") == Some(&json!(true)));
    let permitted: Option<Vec<String>> = match (api, enforce) {
        (Some(a), true) => Some(
            state
                .stores
                .roles
                .user_permissions(&req.user.user_id)
                .await?
                .into_iter()
                .map(|p| p.permission)
                .filter(|p: &Permission| p.resource_server_identifier == a.identifier)
                .map(|p| p.permission_name)
                .collect(),
        ),
        _ => None,
    };
    let allowed_api: Vec<String> = match &permitted {
        Some(p) => api_scopes
            .iter()
            .filter(|s| p.contains(s))
            .cloned()
            .collect(),
        None => api_scopes.clone(),
    };
    let scope = match req.scope {
        None => Scope::from_tokens(allowed_api.iter().cloned()),
        Some(r) => {
            let mut allowed = allowed_api.clone();
            allowed.extend(OIDC_SCOPES.iter().map(|s| (*s).to_owned()));
            r.intersect(&allowed)
        }
    };
    let dialect_authz = api
        .and_then(|a| a.extra.get("token_dialect"))
        .and_then(Value::as_str)
        .is_some_and(|d| d.ends_with("_authz"));
    let permissions = (enforce && dialect_authz).then(|| permitted.unwrap_or_default());
    Ok((scope, permissions))
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
    let api = match req.audience {
        Some(aud) => Some(
            state
                .catalog
                .api(aud)
                .await?
                .ok_or_else(|| OAuthError::AccessDenied(format!("Service not found: {aud}")))?,
        ),
        None => None,
    };
    let (scope, permissions) = grant_scope(state, &req, api.as_deref()).await?;
    let now = OffsetDateTime::now_utc();
    let iat = now.unix_timestamp();
    let userinfo = format!("{}userinfo", state.issuer);
    let mut aud: Vec<String> = api
        .as_ref()
        .map(|a| vec![a.identifier.clone()])
        .unwrap_or_default();
    if scope.contains("openid") || aud.is_empty() {
        aud.push(userinfo);
    }
    let lifetime = api
        .as_ref()
        .map_or(USERINFO_TOKEN_LIFETIME, |a| a.token_lifetime);
    let access = AccessTokenClaims {
        iss: state.issuer.clone(),
        sub: req.user.user_id.clone(),
        aud,
        azp: req.client.client_id.clone(),
        iat,
        exp: iat + lifetime,
        scope: scope.clone(),
        gty: Some(req.gty),
        permissions,
    };
    let access_token = state.keys.sign(&access.to_json())?;
    let mut body = TokenResponse {
        access_token: access_token.clone(),
        token_type: "Bearer",
        expires_in: lifetime,
        scope: scope.to_string(),
        id_token: None,
        refresh_token: None,
    };
    if scope.contains("openid") {
        let lifetime = req
            .client
            .settings
            .extra
            .get("jwt_configuration")
            .and_then(|j| j.get("lifetime_in_seconds"))
            .and_then(Value::as_i64)
            .unwrap_or(ID_TOKEN_LIFETIME);
        let mut claims = user_claims(req.user, &scope);
        claims.insert("iss".into(), json!(state.issuer));
        claims.insert("aud".into(), json!(req.client.client_id));
        claims.insert("iat".into(), json!(iat));
        claims.insert("exp".into(), json!(iat + lifetime));
        claims.insert("auth_time".into(), json!(req.auth_time));
        if let Some(nonce) = req.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(sid) = req.sid {
            claims.insert("sid".into(), json!(sid));
        }
        if req.at_hash {
            claims.insert("at_hash".into(), json!(half_hash(&access_token)));
        }
        if let Some(code) = req.c_hash_of {
            claims.insert("c_hash".into(), json!(half_hash(code)));
        }
        body.id_token = Some(state.keys.sign(&Value::Object(claims))?);
    }
    let offline_ok = api.as_ref().is_none_or(|a| a.allow_offline_access);
    let may_refresh = req
        .client
        .settings
        .grant_types
        .iter()
        .any(|g| g == "refresh_token");
    let family = match &req.refresh {
        RefreshMode::Fresh => Some(uuid::Uuid::new_v4().simple().to_string()),
        RefreshMode::Rotate(f) => Some(f.clone()),
        RefreshMode::Keep => None,
    };
    if let Some(family_id) =
        family.filter(|_| scope.contains("offline_access") && offline_ok && may_refresh)
    {
        let policy = RefreshPolicy::from_settings(
            req.client.settings.extra.get("refresh_token"),
            req.client.app_type == AppType::Spa,
        );
        let secret = format!("v1.{}", random_secret(48));
        let token = RefreshToken {
            token_hash: state.hasher.hash(&secret),
            family_id,
            client_id: req.client.client_id.clone(),
            user_id: req.user.user_id.clone(),
            connection: req.connection.to_owned(),
            audience: req.audience.map(str::to_owned),
            scope: scope.to_string(),
            auth_time: req.auth_time,
            created_at: now,
            expires_at: policy.lifetime.map(|s| now + Duration::seconds(s)),
            idle_expires_at: policy.idle_lifetime.map(|s| now + Duration::seconds(s)),
            rotated_at: None,
            revoked_at: None,
        };
        // Refused when the family was revoked meanwhile (a replay of a rotated token or of
        // the code, a block, a password change): the refresh under way gets nothing.
        if !state
            .stores
            .refresh_tokens
            .insert_refresh_token(&token)
            .await?
        {
            let what = match req.gty {
                "authorization_code" => "Invalid authorization code",
                _ => "Unknown or invalid refresh token.",
            };
            return Err(OAuthError::InvalidGrant(what.into()));
        }
        body.refresh_token = Some(secret);
    }
    Ok(body)
}
