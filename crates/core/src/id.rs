//! Newtypes for the ids that travel through the store traits ([`ClientId`], [`UserId`],
//! [`ConnectionName`], [`Audience`]), so that passing an audience where a client id belongs
//! is a compile error. Each serializes as its bare string (Auth0's JSON is unchanged) and
//! derefs to `str` for reading.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id `s`.
            pub fn new(s: impl Into<String>) -> Self {
                $name(s.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                $name(s.clone())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

id_type!(
    /// An application's `client_id`.
    ClientId
);
id_type!(
    /// A user's `user_id` (`auth0|...`, `email|...`): the primary identity's, for life.
    UserId
);
id_type!(
    /// A connection's unique `name` (what identities, logins and `realm` refer to).
    ConnectionName
);
id_type!(
    /// An API's identifier, the `audience` of its tokens and of client grants.
    Audience
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_their_string_in_json_and_compare_with_text() {
        let c = ClientId::new("abc");
        assert_eq!(
            serde_json::to_value(&c).expect("serializes"),
            serde_json::json!("abc")
        );
        let back: ClientId =
            serde_json::from_value(serde_json::json!("abc")).expect("deserializes");
        assert_eq!(back, c);
        assert_eq!(c, "abc");
        assert_eq!(&*c, "abc");
        assert_eq!(c.to_string(), "abc");
    }
}
