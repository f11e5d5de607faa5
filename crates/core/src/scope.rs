//! OAuth scopes: space-separated sets of scope tokens (RFC 6749 s3.3).

use std::fmt;

/// A set of scope tokens, kept in first-seen order without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(Vec<String>);

/// A scope string with a character RFC 6749 s3.3 does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope contains a character outside %x21 / %x23-5B / %x5D-7E")]
pub struct InvalidScope;

impl Scope {
    /// Parses a space-separated scope string; extra spaces are ignored.
    pub fn parse(text: &str) -> Result<Self, InvalidScope> {
        let mut tokens: Vec<String> = Vec::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            if !token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
            {
                return Err(InvalidScope);
            }
            if !tokens.iter().any(|t| t == token) {
                tokens.push(token.to_owned());
            }
        }
        Ok(Scope(tokens))
    }

    /// A scope from tokens already known to be valid.
    pub fn from_tokens<I: IntoIterator<Item = S>, S: Into<String>>(tokens: I) -> Self {
        let mut out = Scope::default();
        for t in tokens {
            let t = t.into();
            if !out.0.contains(&t) {
                out.0.push(t);
            }
        }
        out
    }

    /// Tokens of `self` that `allowed` also has, in `self`'s order.
    pub fn intersect(&self, allowed: &[String]) -> Scope {
        Scope(
            self.0
                .iter()
                .filter(|t| allowed.contains(t))
                .cloned()
                .collect(),
        )
    }

    /// Whether it holds `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.0.iter().any(|t| t == token)
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens.
    pub fn tokens(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_dedupes() {
        let s = Scope::parse("  read:a write:b read:a ").expect("valid");
        assert_eq!(s.tokens(), ["read:a", "write:b"]);
        assert_eq!(s.to_string(), "read:a write:b");
        assert!(Scope::parse("").expect("empty is valid").is_empty());
        assert_eq!(Scope::parse("a\"b"), Err(InvalidScope));
        assert_eq!(Scope::parse("a\\b"), Err(InvalidScope));
        assert_eq!(Scope::parse("a\tb"), Err(InvalidScope));
    }

    #[test]
    fn intersects_in_request_order() {
        let s = Scope::parse("c a z").expect("valid");
        let allowed = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(s.intersect(&allowed).tokens(), ["c", "a"]);
    }
}
