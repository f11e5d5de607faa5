//! Auth0's password policies for database connections (`options.passwordPolicy`).

/// A policy level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordPolicy {
    /// At least one character.
    None,
    /// At least 6 characters.
    Low,
    /// At least 8, with lower case, upper case and digits.
    Fair,
    /// At least 8, with three of: lower case, upper case, digits, special characters.
    Good,
    /// At least 10, as `Good`, and no character more than twice in a row.
    Excellent,
}

impl PasswordPolicy {
    /// Parses Auth0's name; unknown or absent means Auth0's default, `good`.
    pub fn parse(name: Option<&str>) -> Self {
        match name {
            Some("none") => PasswordPolicy::None,
            Some("low") => PasswordPolicy::Low,
            Some("fair") => PasswordPolicy::Fair,
            Some("excellent") => PasswordPolicy::Excellent,
            _ => PasswordPolicy::Good,
        }
    }

    /// Auth0's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordPolicy::None => "none",
            PasswordPolicy::Low => "low",
            PasswordPolicy::Fair => "fair",
            PasswordPolicy::Good => "good",
            PasswordPolicy::Excellent => "excellent",
        }
    }

    /// The level Auth0 names `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            PasswordPolicy::None,
            PasswordPolicy::Low,
            PasswordPolicy::Fair,
            PasswordPolicy::Good,
            PasswordPolicy::Excellent,
        ]
        .into_iter()
        .find(|p| p.as_str() == name)
    }

    /// Checks `password`; the error says what is missing, in Auth0's words.
    pub fn check(self, password: &str) -> Result<(), String> {
        let len = password.chars().count();
        // Argon2 has no length limit, but a cap stops hashing a megabyte on purpose.
        if len > 128 {
            return Err("Password is too long (at most 128 characters)".into());
        }
        let lower = password.chars().any(|c| c.is_lowercase());
        let upper = password.chars().any(|c| c.is_uppercase());
        let digit = password.chars().any(|c| c.is_ascii_digit());
        let special = password.chars().any(|c| !c.is_alphanumeric());
        let classes = [lower, upper, digit, special]
            .iter()
            .filter(|b| **b)
            .count();
        let min = match self {
            PasswordPolicy::None => 1,
            PasswordPolicy::Low => 6,
            PasswordPolicy::Fair | PasswordPolicy::Good => 8,
            PasswordPolicy::Excellent => 10,
        };
        if len < min {
            return Err(format!(
                "Password is too weak: at least {min} characters are required"
            ));
        }
        match self {
            PasswordPolicy::Fair if !(lower && upper && digit) => Err(
                "Password is too weak: it needs lower case (a-z), upper case (A-Z) and numbers (0-9)"
                    .into(),
            ),
            PasswordPolicy::Good | PasswordPolicy::Excellent if classes < 3 => Err(
                "Password is too weak: it needs 3 of lower case (a-z), upper case (A-Z), numbers (0-9) and special characters (e.g. !@#$%^&*)"
                    .into(),
            ),
            PasswordPolicy::Excellent if has_triple(password) => Err(
                "Password is too weak: no more than 2 identical characters in a row".into(),
            ),
            _ => Ok(()),
        }
    }
}

impl serde::Serialize for PasswordPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for PasswordPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PasswordPolicy::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown password policy {name}")))
    }
}

fn has_triple(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    chars.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert!(PasswordPolicy::None.check("a").is_ok());
        assert!(PasswordPolicy::Low.check("abcde").is_err());
        assert!(PasswordPolicy::Low.check("abcdef").is_ok());
        assert!(PasswordPolicy::Fair.check("abcdefgh").is_err());
        assert!(PasswordPolicy::Fair.check("abcdEF12").is_ok());
        assert!(PasswordPolicy::Good.check("abcdefg1").is_err());
        assert!(PasswordPolicy::Good.check("abcdef1!").is_ok());
        assert!(PasswordPolicy::Excellent.check("aaab1!Cdefg").is_err());
        assert!(PasswordPolicy::Excellent.check("aab1!Cdefgh").is_ok());
        assert!(PasswordPolicy::None.check(&"x".repeat(129)).is_err());
        assert_eq!(PasswordPolicy::parse(None), PasswordPolicy::Good);
    }
}
