//! The user an upstream login stands for: found by its identity (`oidc|<connection>|<sub>`,
//! `google-oauth2|<sub>`, `github|<id>`, `oauth2|<connection>|<id>`), its profile refreshed
//! from the provider at each login (Auth0's default; the connection's
//! `set_user_root_attributes` may say only at the first, or never), or made on the first
//! login. The provider's tokens are kept sealed on the identity.

use gatehouse_core::connection::Connection;
use gatehouse_core::store::StoreError;
use gatehouse_core::upstream::{RootSync, UpstreamIdentity, UpstreamOptions};
use gatehouse_core::user::{Identity, User};
use serde_json::{Map, Value};

use super::provider::Authenticated;
use crate::AppState;
use crate::error::OAuthError;
use crate::secrets::{IdpTokens, open_idp_tokens, seal_idp_tokens};

/// Root profile attributes the provider's claims keep up to date.
/// `groups` too: the Authorization Extension's group mappings read it from the profile.
const SYNCED: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "groups",
];

/// The user behind `auth`, made on first sight.
pub async fn user_for(
    state: &AppState,
    connection: &Connection,
    auth: &Authenticated,
) -> Result<User, OAuthError> {
    let root_sync = UpstreamOptions::of(connection).map_or(RootSync::EachLogin, |o| o.root_sync());
    let upstream = UpstreamIdentity::of(&connection.strategy, &connection.name, &auth.subject);
    let identity_id = upstream.user_id.clone();
    let users = &state.stores.users;
    if let Some(mut user) = users
        .user_by_identity(&connection.name, &identity_id)
        .await?
    {
        sync(
            &mut user,
            connection,
            &identity_id,
            &auth.profile,
            root_sync == RootSync::EachLogin,
        );
        if let Some(identity) = user
            .identities
            .iter_mut()
            .find(|i| i.connection == connection.name && i.user_id == identity_id)
        {
            identity.idp_tokens = sealed_tokens(
                state,
                connection,
                &identity_id,
                auth,
                identity.idp_tokens.as_deref(),
            );
        }
        user.updated_at = state.clock.now();
        users.update_user(&user).await?;
        return Ok(user);
    }
    let identity = Identity {
        provider: upstream.provider,
        connection: connection.name.clone(),
        user_id: identity_id.clone(),
        is_social: upstream.is_social,
        profile_data: Value::Object(auth.profile.clone()),
        password_hash: None,
        idp_tokens: sealed_tokens(state, connection, &identity_id, auth, None),
    };
    // With `never_on_login` the claims stay on the identity only.
    let claims = if root_sync == RootSync::Never {
        &Map::new()
    } else {
        &auth.profile
    };
    let email = text(claims, "email");
    let profile: Map<String, Value> = SYNCED
        .iter()
        .filter_map(|k| claims.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    let mut user = User::new(identity, email, None, None, profile, state.clock.now());
    user.email_verified = claims.get("email_verified") == Some(&Value::Bool(true));
    match users.insert_user(&user).await {
        Ok(()) => Ok(user),
        // A concurrent first login made it: use that one.
        Err(StoreError::Conflict(_)) => users
            .user_by_identity(&connection.name, &identity_id)
            .await?
            .ok_or_else(|| OAuthError::Internal(anyhow::anyhow!("user vanished after a conflict"))),
        Err(e) => Err(e.into()),
    }
}

/// The login's provider tokens, sealed; a refresh token from an earlier login is kept when
/// this one brought none (providers send one only at first consent).
fn sealed_tokens(
    state: &AppState,
    connection: &Connection,
    identity_id: &str,
    auth: &Authenticated,
    before: Option<&str>,
) -> Option<String> {
    let t = &auth.tokens;
    let mut tokens = IdpTokens {
        access_token: t.access_token.clone(),
        refresh_token: t.refresh_token.clone(),
        expires_in: t.expires_in,
    };
    if tokens.access_token.is_none() && tokens.refresh_token.is_none() {
        return before.map(str::to_owned);
    }
    if tokens.refresh_token.is_none() {
        tokens.refresh_token = before
            .and_then(|b| open_idp_tokens(&state.sealer, &connection.name, identity_id, b))
            .and_then(|b| b.refresh_token);
    }
    Some(seal_idp_tokens(
        &state.sealer,
        &connection.name,
        identity_id,
        &tokens,
    ))
}

fn text(profile: &Map<String, Value>, key: &str) -> Option<String> {
    profile.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The provider's view on the identity; on the root too when it is the primary identity and
/// `root` (the connection's `set_user_root_attributes`) allows it.
fn sync(
    user: &mut User,
    connection: &Connection,
    identity_id: &str,
    profile: &Map<String, Value>,
    root: bool,
) {
    let primary = user
        .identities
        .first()
        .is_some_and(|i| i.connection == connection.name && i.user_id == identity_id);
    if let Some(identity) = user
        .identities
        .iter_mut()
        .find(|i| i.connection == connection.name && i.user_id == identity_id)
    {
        identity.profile_data = Value::Object(profile.clone());
    }
    if !primary || !root {
        return;
    }
    for key in SYNCED {
        if let Some(v) = profile.get(*key) {
            user.profile.insert((*key).to_owned(), v.clone());
        }
    }
    if let Some(email) = text(profile, "email") {
        user.email = Some(email);
        user.email_verified = profile.get("email_verified") == Some(&Value::Bool(true));
    }
}
