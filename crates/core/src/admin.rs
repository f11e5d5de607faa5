//! The admin dashboard's place in the tenant: a first-party application (the dashboard) and
//! a database connection of administrators that only it may use. The dashboard signs its
//! administrators in through Universal Login like any application, then calls the
//! Management API with short tokens it mints for them (marked by [`DASHBOARD_GTY`]), which
//! the Management API alone honours with tenant-wide scopes.

use time::OffsetDateTime;

use crate::client::{AppType, Client, ClientSettings};
use crate::connection::{Connection, ConnectionOptions, DatabaseOptions};
use crate::id::ClientId;
use crate::password_policy::PasswordPolicy;
use crate::strategy::Strategy;

/// The administrators' database connection.
pub const ADMIN_CONNECTION: &str = "gatehouse-admins";

/// The dashboard application's name.
pub const DASHBOARD_NAME: &str = "gatehouse dashboard";

/// The `gty` of the Management API tokens the dashboard mints for a signed-in administrator.
/// `gty` is a reserved claim (no Action can set it) and no grant of the token endpoint uses
/// this value, so a token carrying it came from the dashboard.
pub const DASHBOARD_GTY: &str = "gatehouse-admin";

/// How long an admin session lasts from sign-in, in seconds. Short: a dashboard left open
/// on a shared machine should not stay an administrator's for a day.
pub const SESSION_SECONDS: i64 = 30 * 60;

/// How long each Management API token the dashboard mints lives, in seconds: one page.
pub const TOKEN_SECONDS: i64 = 60;

/// How long the one-time link a new administrator sets their password with works, in seconds.
pub const INVITATION_SECONDS: u64 = 7 * 24 * 3600;

/// The Management API body making administrator `email`: a password nobody knows
/// (`placeholder`, thrown away; they choose their own through the invitation), no mail.
pub fn new_admin(email: &str, placeholder: &str) -> serde_json::Value {
    serde_json::json!({
        "connection": ADMIN_CONNECTION,
        "email": email,
        "password": placeholder,
        "verify_email": false,
    })
}

/// The Management API body of the invitation: a password-change ticket that verifies the
/// address (the link went to it) and ends at the dashboard.
pub fn invitation(user_id: &str, issuer: &str) -> serde_json::Value {
    serde_json::json!({
        "user_id": user_id,
        "result_url": format!("{issuer}admin/"),
        "ttl_sec": INVITATION_SECONDS,
        "mark_email_as_verified": true,
    })
}

/// The dashboard application: a public single-page-style client (PKCE) whose only callback
/// is `<issuer>admin/callback`.
pub fn dashboard_client(client_id: ClientId, issuer: &str, now: OffsetDateTime) -> Client {
    Client {
        client_id,
        name: DASHBOARD_NAME.to_owned(),
        app_type: AppType::Spa,
        is_system: false,
        secret: None,
        settings: ClientSettings {
            description: Some("The admin dashboard served at /admin.".to_owned()),
            callbacks: vec![format!("{issuer}admin/callback")],
            allowed_logout_urls: vec![format!("{issuer}admin/")],
            grant_types: vec!["authorization_code".to_owned()],
            token_endpoint_auth_method: Some("none".to_owned()),
            is_first_party: true,
            oidc_conformant: true,
            ..ClientSettings::default()
        },
        created_at: now,
        updated_at: now,
    }
}

/// The administrators' connection, enabled for the dashboard alone; sign-up is off, since
/// administrators are created by `gatehouse admin create` or invited by another one.
pub fn admin_connection(id: String, dashboard: ClientId, now: OffsetDateTime) -> Connection {
    Connection {
        id,
        name: ADMIN_CONNECTION.into(),
        strategy: Strategy::Database,
        options: ConnectionOptions::Database(DatabaseOptions {
            brute_force_protection: Some(true),
            password_policy: Some(Some(PasswordPolicy::Good)),
            disable_signup: Some(true),
            ..DatabaseOptions::default()
        }),
        enabled_clients: vec![dashboard],
        extra: serde_json::Map::new(),
        created_at: now,
    }
}

/// Whether a change to connection `name` that leaves it enabled for `enabled` keeps the
/// administrators' connection the dashboard's alone. Any other application enabled on it
/// could sign administrators in and, through them, nothing more (the tenant-wide tokens are
/// the dashboard's), but their passwords would be typed into pages of that application.
pub fn enabled_clients_allowed(name: &str, enabled: &[ClientId], dashboard: &ClientId) -> bool {
    name != ADMIN_CONNECTION || enabled.iter().all(|c| c == dashboard)
}

/// Whether a Management API caller (`azp`, whose token is a machine's or an administrator's
/// from the dashboard) may create, change or delete users of the administrators' connection,
/// or mail them tickets. Only the bootstrap client and the dashboard may: any other client
/// with `create:users` could otherwise make itself an administrator, with every scope.
pub fn may_manage_admins(azp: &str, bootstrap: Option<&str>, dashboard: &ClientId) -> bool {
    azp == dashboard.as_str() || bootstrap.is_some_and(|b| b == azp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_dashboard_may_be_enabled_on_the_admin_connection() {
        let dashboard = ClientId::from("dash");
        let other = ClientId::from("other");
        assert!(enabled_clients_allowed(
            ADMIN_CONNECTION,
            std::slice::from_ref(&dashboard),
            &dashboard
        ));
        assert!(enabled_clients_allowed(ADMIN_CONNECTION, &[], &dashboard));
        assert!(!enabled_clients_allowed(
            ADMIN_CONNECTION,
            &[dashboard.clone(), other.clone()],
            &dashboard
        ));
        assert!(enabled_clients_allowed(
            "Username-Password-Authentication",
            &[other],
            &dashboard
        ));
    }

    #[test]
    fn admins_are_managed_by_the_bootstrap_client_and_the_dashboard_only() {
        let dashboard = ClientId::from("dash");
        assert!(may_manage_admins("dash", None, &dashboard));
        assert!(may_manage_admins("boot", Some("boot"), &dashboard));
        assert!(!may_manage_admins("other", Some("boot"), &dashboard));
        assert!(!may_manage_admins("other", None, &dashboard));
    }

    #[test]
    fn the_dashboard_is_a_public_pkce_client_with_one_callback() {
        let c = dashboard_client(
            "dash".into(),
            "https://id.example/",
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(c.settings.callbacks, ["https://id.example/admin/callback"]);
        assert_eq!(
            c.settings.token_endpoint_auth_method.as_deref(),
            Some("none")
        );
        assert!(c.secret.is_none() && c.settings.is_first_party);
        let conn = admin_connection("con_1".into(), "dash".into(), OffsetDateTime::UNIX_EPOCH);
        let ConnectionOptions::Database(o) = conn.options else {
            panic!("a database connection")
        };
        assert_eq!(o.disable_signup, Some(true));
    }
}
