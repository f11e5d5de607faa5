//! The bodies of `POST /users` and `PATCH /users/{id}` (and of one users-import entry),
//! typed, with the rules their types cannot say: formats, lengths, metadata limits.

use gatehouse_core::metadata;
use gatehouse_core::passwordless::{is_e164, normalize_email};
use gatehouse_core::user::User;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::mgmt::body::{nullable, present};
use crate::mgmt::error::MgmtError;
use crate::mgmt::validate::{self as v, bad};

/// Root profile attributes kept in the `profile` document, with Auth0's length limits.
pub const PROFILE_FIELDS: &[(&str, usize)] = &[
    ("name", 300),
    ("nickname", 300),
    ("given_name", 150),
    ("family_name", 150),
    ("picture", 2000),
];

/// A patchable property: absent leaves it, `null` unsets it.
type Patch<T> = Option<Option<T>>;

/// A plausible email address: one `@`, something on each side, no spaces.
pub fn email(property: &str, e: &str) -> Result<String, MgmtError> {
    v::max_chars(property, e, 254)?;
    normalize_email(e)
        .ok_or_else(|| bad(property, "Object didn't pass validation for format email"))
}

/// An E.164 phone number.
pub fn phone(property: &str, p: &str) -> Result<String, MgmtError> {
    v::max_chars(property, p, 16)?;
    if !is_e164(p) {
        return Err(bad(
            property,
            "String does not match pattern: ^\\+[0-9]{1,15}$",
        ));
    }
    Ok(p.to_owned())
}

/// A username of Auth0's characters.
pub fn username(property: &str, u: &str) -> Result<String, MgmtError> {
    v::max_chars(property, u, 128)?;
    v::not_blank(property, u)?;
    if !u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+-.!#$'^`~@".contains(c))
    {
        return Err(bad(
            property,
            "username contains characters that are not allowed",
        ));
    }
    Ok(u.to_owned())
}

/// The bare id of a new identity: letters, digits, `_` and `-`.
pub fn bare_user_id(id: &str) -> Result<String, MgmtError> {
    v::max_chars("user_id", id, 255)?;
    v::not_blank("user_id", id)?;
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(bad("user_id", "use letters, digits, '_' and '-' only"));
    }
    Ok(id.to_owned())
}

/// A profile attribute within its limit (`picture` must be an http(s) URL).
fn profile_text(field: &str, text: &str) -> Result<Value, MgmtError> {
    let max = PROFILE_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(300, |(_, m)| *m);
    if field == "picture" {
        v::check_url(field, text, false)?;
    } else {
        v::max_chars(field, text, max)?;
    }
    Ok(json!(text))
}

fn metadata_object(which: &str, m: &Map<String, Value>) -> Result<(), MgmtError> {
    metadata::check(which, m).map_err(|e| bad(which, e))
}

/// A new user's attributes: `POST /users` less its connection and credentials, and one entry
/// of a users import. `null` means absent.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewUser {
    /// Email address.
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Phone number (E.164).
    #[schema(pattern = "^\\+[0-9]{1,15}$")]
    pub phone_number: Option<String>,
    /// Username.
    #[schema(max_length = 128)]
    pub username: Option<String>,
    /// The identity's id within the connection (generated when absent).
    #[schema(max_length = 255)]
    pub user_id: Option<String>,
    /// Given name.
    #[schema(max_length = 150)]
    pub given_name: Option<String>,
    /// Family name.
    #[schema(max_length = 150)]
    pub family_name: Option<String>,
    /// Full name.
    #[schema(max_length = 300)]
    pub name: Option<String>,
    /// Nickname.
    #[schema(max_length = 300)]
    pub nickname: Option<String>,
    /// Picture URL.
    #[schema(format = "uri")]
    pub picture: Option<String>,
    /// Whether the email is verified.
    pub email_verified: Option<bool>,
    /// Whether the phone is verified.
    pub phone_verified: Option<bool>,
    /// Whether the user is blocked.
    pub blocked: Option<bool>,
    /// What the user may change.
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub user_metadata: Option<Map<String, Value>>,
    /// What only the tenant may change.
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub app_metadata: Option<Map<String, Value>>,
}

impl NewUser {
    /// The profile attributes given, checked.
    pub fn profile(&self) -> Result<Map<String, Value>, MgmtError> {
        let mut profile = Map::new();
        for (field, value) in [
            ("name", &self.name),
            ("nickname", &self.nickname),
            ("given_name", &self.given_name),
            ("family_name", &self.family_name),
            ("picture", &self.picture),
        ] {
            if let Some(text) = value {
                profile.insert(field.to_owned(), profile_text(field, text)?);
            }
        }
        Ok(profile)
    }

    /// The metadata given, checked against Auth0's limits.
    pub fn check_metadata(&self) -> Result<(), MgmtError> {
        for (which, m) in [
            ("user_metadata", &self.user_metadata),
            ("app_metadata", &self.app_metadata),
        ] {
            if let Some(m) = m {
                metadata_object(which, m)?;
            }
        }
        Ok(())
    }
}

/// The body of `POST /users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    /// The connection the user is made in.
    #[schema(min_length = 1, max_length = 128)]
    pub connection: String,
    /// Password (database connections only), under the connection's policy.
    pub password: Option<String>,
    /// Whether to send a verification email (default: when the email is not verified).
    pub verify_email: Option<bool>,
    /// Email address.
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Phone number (E.164).
    #[schema(pattern = "^\\+[0-9]{1,15}$")]
    pub phone_number: Option<String>,
    /// Username.
    #[schema(max_length = 128)]
    pub username: Option<String>,
    /// The identity's id within the connection (generated when absent).
    #[schema(max_length = 255)]
    pub user_id: Option<String>,
    /// Given name.
    #[schema(max_length = 150)]
    pub given_name: Option<String>,
    /// Family name.
    #[schema(max_length = 150)]
    pub family_name: Option<String>,
    /// Full name.
    #[schema(max_length = 300)]
    pub name: Option<String>,
    /// Nickname.
    #[schema(max_length = 300)]
    pub nickname: Option<String>,
    /// Picture URL.
    #[schema(format = "uri")]
    pub picture: Option<String>,
    /// Whether the email is verified.
    pub email_verified: Option<bool>,
    /// Whether the phone is verified.
    pub phone_verified: Option<bool>,
    /// Whether the user is blocked.
    pub blocked: Option<bool>,
    /// What the user may change.
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub user_metadata: Option<Map<String, Value>>,
    /// What only the tenant may change.
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub app_metadata: Option<Map<String, Value>>,
}

impl UserCreate {
    /// The user's attributes, apart from where and how they sign in.
    pub fn attributes(self) -> NewUser {
        NewUser {
            email: self.email,
            phone_number: self.phone_number,
            username: self.username,
            user_id: self.user_id,
            given_name: self.given_name,
            family_name: self.family_name,
            name: self.name,
            nickname: self.nickname,
            picture: self.picture,
            email_verified: self.email_verified,
            phone_verified: self.phone_verified,
            blocked: self.blocked,
            user_metadata: self.user_metadata,
            app_metadata: self.app_metadata,
        }
    }
}

/// The body of `PATCH /users/{id}`: root attributes replaced (`null` removes them), metadata
/// merged one level deep (`null` deletes a key).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Whether the user is blocked.
    #[serde(default, deserialize_with = "present")]
    pub blocked: Option<bool>,
    /// Whether the email is verified.
    #[serde(default, deserialize_with = "present")]
    pub email_verified: Option<bool>,
    /// Whether the phone is verified.
    #[serde(default, deserialize_with = "present")]
    pub phone_verified: Option<bool>,
    /// Email address.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 254)]
    pub email: Patch<String>,
    /// Phone number (E.164).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^\\+[0-9]{1,15}$")]
    pub phone_number: Patch<String>,
    /// Username.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 128)]
    pub username: Patch<String>,
    /// Keys to set (`null` deletes one); `null` clears it all.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub user_metadata: Patch<Map<String, Value>>,
    /// Keys to set (`null` deletes one); `null` clears it all.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<HashMap<String, Value>>)]
    pub app_metadata: Patch<Map<String, Value>>,
    /// Given name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 150)]
    pub given_name: Patch<String>,
    /// Family name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 150)]
    pub family_name: Patch<String>,
    /// Full name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub name: Patch<String>,
    /// Nickname.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub nickname: Patch<String>,
    /// Picture URL.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub picture: Patch<String>,
    /// A new password (database users), under the connection's policy.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub password: Option<String>,
    /// The primary identity's connection (the only one whose attributes change).
    pub connection: Option<String>,
    /// Accepted, as in Auth0, and unused.
    #[schema(value_type = Option<Value>)]
    pub client_id: Option<Value>,
    /// Accepted and unused: no verification email is sent on update.
    pub verify_email: Option<bool>,
    /// Accepted and unused.
    pub verify_phone_number: Option<bool>,
}

fn merge_metadata(
    which: &str,
    target: &mut Map<String, Value>,
    patch: Patch<Map<String, Value>>,
) -> Result<(), MgmtError> {
    match patch {
        None => Ok(()),
        Some(None) => {
            target.clear();
            Ok(())
        }
        Some(Some(p)) => {
            metadata::merge(target, &p);
            metadata_object(which, target)
        }
    }
}

impl UserPatch {
    /// Applies every attribute but the password to `user`; whether the email changed.
    pub fn apply(self, user: &mut User) -> Result<bool, MgmtError> {
        if let Some(c) = &self.connection {
            v::max_chars("connection", c, 128)?;
            if user.identities.first().map(|i| i.connection.as_str()) != Some(c.as_str()) {
                return Err(bad(
                    "connection",
                    "only the primary identity's attributes can be changed",
                ));
            }
        }
        let mut email_changed = false;
        if let Some(e) = self.email {
            let new = e.map(|e| email("email", &e)).transpose()?;
            email_changed = new != user.email;
            user.email = new;
        }
        if let Some(p) = self.phone_number {
            user.phone_number = p.map(|p| phone("phone_number", &p)).transpose()?;
        }
        if let Some(u) = self.username {
            user.username = u.map(|u| username("username", &u)).transpose()?;
        }
        if let Some(b) = self.email_verified {
            user.email_verified = b;
        } else if email_changed {
            // A new address is unverified unless the same request says otherwise (Auth0).
            user.email_verified = false;
        }
        if let Some(b) = self.phone_verified {
            user.phone_verified = b;
        }
        if let Some(b) = self.blocked {
            user.blocked = b;
        }
        merge_metadata("user_metadata", &mut user.user_metadata, self.user_metadata)?;
        merge_metadata("app_metadata", &mut user.app_metadata, self.app_metadata)?;
        for (field, value) in [
            ("name", self.name),
            ("nickname", self.nickname),
            ("given_name", self.given_name),
            ("family_name", self.family_name),
            ("picture", self.picture),
        ] {
            match value {
                None => {}
                Some(None) => {
                    user.profile.remove(field);
                }
                Some(Some(text)) => {
                    user.profile
                        .insert(field.to_owned(), profile_text(field, &text)?);
                }
            }
        }
        Ok(email_changed)
    }
}
