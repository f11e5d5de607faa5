//! A user as the Management API shows it.

use gatehouse_core::user::User;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::crypto::Sealer;
use crate::mgmt::view::iso;
use crate::secrets::open_idp_tokens;

/// One identity of a user: the primary first, secondaries with their `profileData`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    /// The connection it belongs to.
    pub connection: String,
    /// The id within the connection.
    pub user_id: String,
    /// The identity provider (`auth0`, `email`, `sms`, ...).
    pub provider: String,
    /// Whether the provider is a social one.
    #[serde(rename = "isSocial")]
    pub is_social: bool,
    /// The linked account's profile (secondary identities only).
    #[serde(rename = "profileData", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub profile_data: Option<Value>,
    /// The identity provider's access token (callers with `read:user_idp_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The identity provider's refresh token (callers with `read:user_idp_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The access token's lifetime as the provider gave it (callers with
    /// `read:user_idp_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

/// The user's identities as Auth0 shows them.
pub fn identities(u: &User) -> Vec<IdentityView> {
    u.identities
        .iter()
        .enumerate()
        .map(|(i, id)| IdentityView {
            connection: id.connection.clone().into_string(),
            user_id: id.user_id.clone(),
            provider: id.provider.clone(),
            is_social: id.is_social,
            profile_data: (i > 0).then(|| id.profile_data.clone()),
            access_token: None,
            refresh_token: None,
            expires_in: None,
        })
        .collect()
}

/// A user in Auth0's representation. Profile attributes beyond the standard names (from
/// federated logins) travel as further properties.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// `<provider>|<id>`.
    pub user_id: String,
    /// Email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email is verified (shown with an email).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Whether the phone is verified (shown with a phone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified: Option<bool>,
    /// Other profile attributes (`name`, `nickname`, `given_name`, `family_name`, `picture`).
    #[serde(flatten)]
    #[schema(ignore)]
    pub profile: Map<String, Value>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
    /// Identities, primary first.
    pub identities: Vec<IdentityView>,
    /// What only the tenant may change.
    #[schema(value_type = Object)]
    pub app_metadata: Map<String, Value>,
    /// What the user may change.
    #[schema(value_type = Object)]
    pub user_metadata: Map<String, Value>,
    /// Successful logins.
    pub logins_count: i64,
    /// The last login (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_login: Option<String>,
    /// Whether the user is blocked.
    pub blocked: bool,
}

impl UserView {
    /// The view of `u`.
    pub fn new(u: &User) -> Self {
        // The view's own properties win over a profile key of the same name.
        let own = [
            "user_id",
            "email",
            "email_verified",
            "username",
            "phone_number",
            "phone_verified",
            "created_at",
            "updated_at",
            "identities",
            "app_metadata",
            "user_metadata",
            "logins_count",
            "last_login",
            "blocked",
        ];
        let mut profile = u.profile.clone();
        profile.retain(|k, _| !own.contains(&k.as_str()));
        UserView {
            user_id: u.user_id.clone().into_string(),
            email: u.email.clone(),
            email_verified: u.email.as_ref().map(|_| u.email_verified),
            username: u.username.clone(),
            phone_number: u.phone_number.clone(),
            phone_verified: u.phone_number.as_ref().map(|_| u.phone_verified),
            profile,
            created_at: iso(u.created_at),
            updated_at: iso(u.updated_at),
            identities: identities(u),
            app_metadata: u.app_metadata.clone(),
            user_metadata: u.user_metadata.clone(),
            logins_count: u.logins_count,
            last_login: u.last_login.map(iso),
            blocked: u.blocked,
        }
    }

    /// The view with each identity's provider tokens opened (for callers with
    /// `read:user_idp_tokens`, as Auth0 shows them).
    pub fn with_idp_tokens(mut self, u: &User, sealer: &Sealer) -> Self {
        for (view, identity) in self.identities.iter_mut().zip(&u.identities) {
            let tokens = identity.idp_tokens.as_deref().and_then(|sealed| {
                open_idp_tokens(sealer, &identity.connection, &identity.user_id, sealed)
            });
            if let Some(t) = tokens {
                view.access_token = t.access_token;
                view.refresh_token = t.refresh_token;
                view.expires_in = t.expires_in;
            }
        }
        self
    }

    /// The view as JSON, for field selection.
    pub fn into_json(self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
