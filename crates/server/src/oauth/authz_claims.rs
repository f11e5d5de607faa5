//! The Authorization Extension at token time: when its switches ask for it, the policy of the
//! user for the application (`gatehouse_core::authz::policy`) goes into the tokens as
//! claims namespaced under the issuer (`<issuer>groups`, `roles`, `permissions`: Auth0 drops
//! bare custom claims, and the extension's customers add that namespace in a rule), and into
//! `app_metadata.authorization`.

use gatehouse_core::authz::{self, AuthzData, Configuration, Policy};
use gatehouse_core::user::User;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::OAuthError;

/// The claims for `user` logging in to `client_id` through `connection` (none when the
/// extension's switches are all off), after keeping the policy in the user's
/// `app_metadata.authorization` when they ask for that.
pub async fn for_tokens(
    state: &AppState,
    user: &User,
    connection: &str,
    client_id: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let data = state.catalog.authz().await?;
    if !data.applies_to_logins() {
        return Ok(Map::new());
    }
    let c = data.configuration();
    let policy = effective(&data, &c, user, connection, client_id);
    persist(state, user, &c, &policy).await?;
    let ns = state.issuer.as_str();
    let mut claims = Map::new();
    for (on, name, values) in [
        (c.groups_in_token, "groups", &policy.groups),
        (c.roles_in_token, "roles", &policy.roles),
        (c.permissions_in_token, "permissions", &policy.permissions),
    ] {
        if on {
            claims.insert(format!("{ns}{name}"), json!(values));
        }
    }
    Ok(claims)
}

/// A profile attribute the upstream provider sent, as names: a list, or one string of names
/// separated by commas or spaces (as the extension reads it).
fn upstream(user: &User, key: &str) -> Vec<String> {
    match user.profile.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => vec![],
    }
}

/// The policy, with the provider's own groups, roles or permissions added first where the
/// switches pass them through.
fn effective(
    data: &AuthzData,
    c: &Configuration,
    user: &User,
    connection: &str,
    client_id: &str,
) -> Policy {
    let groups = upstream(user, "groups");
    let mut p = authz::policy(data, user.user_id.as_str(), connection, &groups, client_id);
    let merge = |from: Vec<String>, into: &mut Vec<String>| {
        let mut all = from;
        for v in into.drain(..) {
            if !all.contains(&v) {
                all.push(v);
            }
        }
        *into = all;
    };
    if c.groups_passthrough {
        merge(groups, &mut p.groups);
    }
    if c.roles_passthrough {
        merge(upstream(user, "roles"), &mut p.roles);
    }
    if c.permissions_passthrough {
        merge(upstream(user, "permissions"), &mut p.permissions);
    }
    p
}

/// Replaces `app_metadata.authorization` with the kept parts of `policy`, writing only when
/// it changed.
async fn persist(
    state: &AppState,
    user: &User,
    c: &Configuration,
    policy: &Policy,
) -> Result<(), OAuthError> {
    if !(c.persist_groups || c.persist_roles || c.persist_permissions) {
        return Ok(());
    }
    let mut kept = Map::new();
    for (on, name, values) in [
        (c.persist_groups, "groups", &policy.groups),
        (c.persist_roles, "roles", &policy.roles),
        (c.persist_permissions, "permissions", &policy.permissions),
    ] {
        if on {
            kept.insert(name.to_owned(), json!(values));
        }
    }
    let kept = Value::Object(kept);
    if user.app_metadata.get("authorization") == Some(&kept) {
        return Ok(());
    }
    let mut updated = user.clone();
    updated
        .app_metadata
        .insert("authorization".to_owned(), kept);
    updated.updated_at = state.clock.now();
    state.stores.users.update_user(&updated).await?;
    Ok(())
}
