//! The Management API's guards around the admin dashboard's administrators: users of the
//! administrators' connection are made, changed, deleted and sent tickets only by the
//! bootstrap client or the dashboard (`gatehouse_core::admin::may_manage_admins`), are never
//! linked, and the connection itself stays enabled for the dashboard alone.

use gatehouse_core::admin::{ADMIN_CONNECTION, enabled_clients_allowed, may_manage_admins};
use gatehouse_core::connection::Connection;
use gatehouse_core::user::User;

use super::auth::Caller;
use super::error::MgmtError;
use crate::AppState;

/// Whether `user` is an administrator (has an identity in the administrators' connection).
pub fn is_admin(user: &User) -> bool {
    user.identities
        .iter()
        .any(|i| i.connection.as_str() == ADMIN_CONNECTION)
}

/// Refuses a write to the users of connection `name` unless `caller` may manage administrators.
pub async fn check_connection(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<(), MgmtError> {
    if name != ADMIN_CONNECTION {
        return Ok(());
    }
    let tenant = state.catalog.tenant().await?;
    if may_manage_admins(
        &caller.azp,
        tenant.bootstrap_client_id.as_deref(),
        &state.dashboard_client_id,
    ) {
        Ok(())
    } else {
        Err(MgmtError::Forbidden {
            message: "Only the bootstrap client and the dashboard may manage administrators."
                .into(),
            code: "insufficient_scope",
        })
    }
}

/// Refuses a write to `user` when it is an administrator and `caller` may not manage them.
pub async fn check_user(state: &AppState, caller: &Caller, user: &User) -> Result<(), MgmtError> {
    if is_admin(user) {
        check_connection(state, caller, ADMIN_CONNECTION).await
    } else {
        Ok(())
    }
}

/// Refuses linking when either account is an administrator's: a linked administrator
/// identity would sign its primary user, someone else, into the dashboard.
pub fn check_link(primary: &User, secondary: &User) -> Result<(), MgmtError> {
    if is_admin(primary) || is_admin(secondary) {
        return Err(MgmtError::BadRequest {
            message: "Administrators' accounts cannot be linked.".into(),
            code: "invalid_body",
        });
    }
    Ok(())
}

/// Refuses deleting the administrators' connection: every administrator would go with it.
pub fn check_deletable(c: &Connection) -> Result<(), MgmtError> {
    if c.name.as_str() == ADMIN_CONNECTION {
        return Err(MgmtError::BadRequest {
            message: format!(
                "{ADMIN_CONNECTION} holds the dashboard's administrators and cannot be deleted."
            ),
            code: "invalid_body",
        });
    }
    Ok(())
}

/// Refuses enabling any application but the dashboard on the administrators' connection.
pub fn check_enabled_clients(state: &AppState, c: &Connection) -> Result<(), MgmtError> {
    if enabled_clients_allowed(
        c.name.as_str(),
        &c.enabled_clients,
        &state.dashboard_client_id,
    ) {
        Ok(())
    } else {
        Err(MgmtError::BadRequest {
            message: format!("Only the dashboard may be enabled on {ADMIN_CONNECTION}."),
            code: "invalid_body",
        })
    }
}
