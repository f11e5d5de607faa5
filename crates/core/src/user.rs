//! Users and their identities: a user owns identities, primary first (ARCHITECTURE.md, core).

use time::OffsetDateTime;

/// One way to prove one is a user: a provider-side account in one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// `auth0`, `email`, `sms`, `oidc`, ... (Auth0's strategy name; see [`Identity::strategy`]).
    pub provider: String,
    /// The connection name; (`connection`, `user_id`) is unique across the tenant.
    pub connection: crate::id::ConnectionName,
    /// The provider-side id (bare, without `provider|`).
    pub user_id: String,
    /// Whether the provider is a social one.
    pub is_social: bool,
    /// Attributes the provider reported (for secondaries: what it knew of the user).
    pub profile_data: serde_json::Value,
    /// Argon2id PHC string, for database connections.
    pub password_hash: Option<String>,
    /// The identity provider's tokens (access, refresh, expiry), sealed by the server:
    /// opaque here, shown only to callers allowed to read them.
    pub idp_tokens: Option<String>,
}

impl Identity {
    /// The strategy of the connection it belongs to.
    pub fn strategy(&self) -> crate::strategy::Strategy {
        crate::strategy::Strategy::parse(&self.provider)
    }
}

/// A user profile; `identities[0]` is the primary one.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// `<provider>|<primary identity id>`.
    pub user_id: crate::id::UserId,
    /// Email address, if any.
    pub email: Option<String>,
    /// Whether the email address is verified.
    pub email_verified: bool,
    /// Username, if the connection uses them.
    pub username: Option<String>,
    /// E.164 phone number, if any.
    pub phone_number: Option<String>,
    /// Whether the phone number is verified.
    pub phone_verified: bool,
    /// Other root profile attributes (`name`, `nickname`, `picture`, `given_name`, ...).
    pub profile: serde_json::Map<String, serde_json::Value>,
    /// Data the user may edit.
    pub user_metadata: serde_json::Map<String, serde_json::Value>,
    /// Data only the tenant may edit.
    pub app_metadata: serde_json::Map<String, serde_json::Value>,
    /// Whether the user may not log in.
    pub blocked: bool,
    /// Number of successful logins.
    pub logins_count: i64,
    /// Last successful login.
    pub last_login: Option<OffsetDateTime>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// The identities, primary first.
    pub identities: Vec<Identity>,
}

impl User {
    /// Auth0's default `name` (the email, else phone, else username) and `nickname` (the
    /// email's local part, else the username), where the profile has none.
    pub fn fill_default_names(
        profile: &mut serde_json::Map<String, serde_json::Value>,
        email: Option<&str>,
        phone: Option<&str>,
        username: Option<&str>,
    ) {
        let label = email.or(phone).or(username).unwrap_or_default().to_owned();
        let nick = email
            .and_then(|e| e.split('@').next())
            .or(username)
            .map_or_else(|| label.clone(), str::to_owned);
        profile
            .entry("name")
            .or_insert_with(|| serde_json::Value::String(label));
        profile
            .entry("nickname")
            .or_insert_with(|| serde_json::Value::String(nick));
    }

    /// A new user whose only identity is `identity`: unverified, unblocked, without metadata,
    /// with Auth0's default names where `profile` has none.
    pub fn new(
        identity: Identity,
        email: Option<String>,
        username: Option<String>,
        phone_number: Option<String>,
        mut profile: serde_json::Map<String, serde_json::Value>,
        now: OffsetDateTime,
    ) -> User {
        User::fill_default_names(
            &mut profile,
            email.as_deref(),
            phone_number.as_deref(),
            username.as_deref(),
        );
        User {
            user_id: User::id_for(&identity),
            email,
            email_verified: false,
            username,
            phone_number,
            phone_verified: false,
            profile,
            user_metadata: serde_json::Map::new(),
            app_metadata: serde_json::Map::new(),
            blocked: false,
            logins_count: 0,
            last_login: None,
            created_at: now,
            updated_at: now,
            identities: vec![identity],
        }
    }

    /// The identity of `connection` that logs in with `login` (email or username, any case;
    /// or phone number): the primary identity by the user's own attributes, a linked one by
    /// its profile data.
    pub fn identity_for_login(&self, connection: &str, login: &str) -> Option<&Identity> {
        let wanted = login.to_lowercase();
        let same = |v: Option<&str>| v.is_some_and(|v| v.to_lowercase() == wanted);
        self.identities
            .iter()
            .enumerate()
            .filter(|(_, i)| i.connection == connection)
            .find(|(position, i)| {
                let keys = if *position == 0 {
                    [
                        self.email.as_deref(),
                        self.username.as_deref(),
                        self.phone_number.as_deref(),
                    ]
                } else {
                    let text = |k: &str| i.profile_data.get(k).and_then(serde_json::Value::as_str);
                    [text("email"), text("username"), text("phone_number")]
                };
                keys.into_iter().any(same)
            })
            .map(|(_, i)| i)
    }

    /// The `user_id` a user has whose primary identity is `identity`.
    pub fn id_for(identity: &Identity) -> crate::id::UserId {
        crate::id::UserId::new(format!("{}|{}", identity.provider, identity.user_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity(connection: &str, id: &str, profile: serde_json::Value) -> Identity {
        Identity {
            provider: "auth0".into(),
            connection: connection.into(),
            user_id: id.into(),
            is_social: false,
            profile_data: profile,
            password_hash: Some(format!("hash-{id}")),
            idp_tokens: None,
        }
    }

    #[test]
    fn logins_find_the_identity_they_belong_to() {
        let mut u = User::new(
            identity("db", "a", json!({})),
            Some("a@example.com".into()),
            None,
            None,
            serde_json::Map::new(),
            OffsetDateTime::UNIX_EPOCH,
        );
        u.identities
            .push(identity("db", "b", json!({"email": "b@example.com"})));
        u.identities
            .push(identity("sms", "c", json!({"phone_number": "+15550001"})));
        let id_of = |c: &str, l: &str| u.identity_for_login(c, l).map(|i| i.user_id.clone());
        assert_eq!(id_of("db", "A@Example.com").as_deref(), Some("a"));
        assert_eq!(id_of("db", "b@example.com").as_deref(), Some("b"));
        assert_eq!(id_of("sms", "+15550001").as_deref(), Some("c"));
        assert_eq!(
            id_of("sms", "b@example.com"),
            None,
            "another connection's login"
        );
        assert_eq!(id_of("db", "nobody@example.com"), None);
    }
}
