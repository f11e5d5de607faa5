//! Users and their identities (see DESIGN.md, "the identity model").

use time::OffsetDateTime;

/// One way to prove one is a user: a provider-side account in one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// `auth0`, `email`, `sms`, `oidc`, ...
    pub provider: String,
    /// The connection name; (`connection`, `user_id`) is unique across the tenant.
    pub connection: String,
    /// The provider-side id (bare, without `provider|`).
    pub user_id: String,
    /// Whether the provider is a social one.
    pub is_social: bool,
    /// Attributes the provider reported (for secondaries: what it knew of the user).
    pub profile_data: serde_json::Value,
    /// Argon2id PHC string, for database connections.
    pub password_hash: Option<String>,
}

/// A user profile; `identities[0]` is the primary one.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// `<provider>|<primary identity id>`.
    pub user_id: String,
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

    /// The `user_id` a user has whose primary identity is `identity`.
    pub fn id_for(identity: &Identity) -> String {
        format!("{}|{}", identity.provider, identity.user_id)
    }
}
