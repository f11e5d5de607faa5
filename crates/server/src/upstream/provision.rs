//! The user an upstream login stands for: found by its identity (`oidc|<connection>|<sub>`,
//! `google-oauth2|<sub>`), its profile refreshed from the provider at each login (Auth0's
//! default; the connection's `set_user_root_attributes` may say only at the first, or
//! never), or made on the first login.

use gatehouse_core::connection::Connection;
use gatehouse_core::store::StoreError;
use gatehouse_core::upstream::{OidcOptions, RootSync, UpstreamIdentity};
use gatehouse_core::user::{Identity, User};
use serde_json::{Map, Value};

use super::oidc::Authenticated;
use crate::AppState;
use crate::error::OAuthError;

/// Root profile attributes the provider's claims keep up to date.
const SYNCED: &[&str] = &["name", "given_name", "family_name", "nickname", "picture"];

/// The user behind `auth`, made on first sight.
pub async fn user_for(
    state: &AppState,
    connection: &Connection,
    auth: &Authenticated,
) -> Result<User, OAuthError> {
    let root_sync = OidcOptions::of(connection).map_or(RootSync::EachLogin, |o| o.root_sync());
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
