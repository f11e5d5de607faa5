//! OAuth scopes: space-separated sets of scope tokens (RFC 6749 s3.3).
//!
//! Scopes arrive before any authentication (`/authorize`, the token endpoint), so parsing is
//! linear in the input and requests are capped: a few KB of scope is far more than any real
//! request (our Management API has under 100 scopes) and all an attacker gets to make us read.

use std::collections::HashSet;
use std::fmt;

/// Most bytes a requested scope may have.
pub const MAX_REQUEST_BYTES: usize = 4096;
/// Most distinct tokens a requested scope may have.
pub const MAX_REQUEST_TOKENS: usize = 200;

/// A set of scope tokens, kept in first-seen order without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(Vec<String>);

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidScope {
    /// A character RFC 6749 s3.3 does not allow.
    #[error("scope contains a character outside %x21 / %x23-5B / %x5D-7E")]
    Character,
    /// A requested scope over [`MAX_REQUEST_BYTES`] or [`MAX_REQUEST_TOKENS`].
    #[error("scope is longer than {MAX_REQUEST_BYTES} bytes or {MAX_REQUEST_TOKENS} tokens")]
    TooLarge,
}

fn valid_token(token: &str) -> bool {
    token
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

impl Scope {
    /// Parses a space-separated scope string we issued or stored; extra spaces are ignored.
    pub fn parse(text: &str) -> Result<Self, InvalidScope> {
        Self::parse_capped(text, usize::MAX)
    }

    /// Parses a scope a caller asked for, refusing more than the request caps.
    pub fn parse_requested(text: &str) -> Result<Self, InvalidScope> {
        if text.len() > MAX_REQUEST_BYTES {
            return Err(InvalidScope::TooLarge);
        }
        Self::parse_capped(text, MAX_REQUEST_TOKENS)
    }

    fn parse_capped(text: &str, max_tokens: usize) -> Result<Self, InvalidScope> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut tokens: Vec<String> = Vec::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            if !valid_token(token) {
                return Err(InvalidScope::Character);
            }
            if seen.insert(token) {
                if tokens.len() == max_tokens {
                    return Err(InvalidScope::TooLarge);
                }
                tokens.push(token.to_owned());
            }
        }
        Ok(Scope(tokens))
    }

    /// A scope from tokens already known to be valid.
    pub fn from_tokens<I: IntoIterator<Item = S>, S: Into<String>>(tokens: I) -> Self {
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Scope::default();
        for t in tokens {
            let t = t.into();
            if seen.insert(t.clone()) {
                out.0.push(t);
            }
        }
        out
    }

    /// Tokens of `self` that `allowed` also has, in `self`'s order.
    pub fn intersect(&self, allowed: &[String]) -> Scope {
        let allowed: HashSet<&str> = allowed.iter().map(String::as_str).collect();
        Scope(
            self.0
                .iter()
                .filter(|t| allowed.contains(t.as_str()))
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
        assert_eq!(Scope::parse("a\"b"), Err(InvalidScope::Character));
        assert_eq!(Scope::parse("a\\b"), Err(InvalidScope::Character));
        assert_eq!(Scope::parse("a\tb"), Err(InvalidScope::Character));
    }

    #[test]
    fn intersects_in_request_order() {
        let s = Scope::parse("c a z").expect("valid");
        let allowed = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(s.intersect(&allowed).tokens(), ["c", "a"]);
    }

    #[test]
    fn requests_are_capped() {
        let many: Vec<String> = (0..MAX_REQUEST_TOKENS + 1)
            .map(|i| format!("s{i}"))
            .collect();
        assert_eq!(
            Scope::parse_requested(&many.join(" ")),
            Err(InvalidScope::TooLarge)
        );
        let at_cap = many[..MAX_REQUEST_TOKENS].join(" ");
        assert_eq!(
            Scope::parse_requested(&at_cap).map(|s| s.tokens().len()),
            Ok(MAX_REQUEST_TOKENS)
        );
        // Repeats count once: the cap is on distinct tokens.
        assert!(Scope::parse_requested(&"openid ".repeat(500)).is_ok());
        let long = "a".repeat(MAX_REQUEST_BYTES + 1);
        assert_eq!(Scope::parse_requested(&long), Err(InvalidScope::TooLarge));
        // Scopes we issued ourselves are not capped.
        assert_eq!(
            Scope::parse(&many.join(" ")).map(|s| s.tokens().len()),
            Ok(MAX_REQUEST_TOKENS + 1)
        );
    }

    fn reference_parse(text: &str) -> Option<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for t in text.split(' ').filter(|t| !t.is_empty()) {
            if !valid_token(t) {
                return None;
            }
            if !out.iter().any(|o| o == t) {
                out.push(t.to_owned());
            }
        }
        Some(out)
    }

    proptest::proptest! {
        #[test]
        fn parse_matches_the_plain_definition(text in "[ a-c\\\"!~\t]{0,64}") {
            let ours = Scope::parse(&text).ok().map(|s| s.tokens().to_vec());
            proptest::prop_assert_eq!(ours, reference_parse(&text));
        }

        #[test]
        fn requested_scopes_never_panic_and_stay_capped(text in "\\PC{0,300}") {
            if let Ok(s) = Scope::parse_requested(&text) {
                proptest::prop_assert!(s.tokens().len() <= MAX_REQUEST_TOKENS);
                proptest::prop_assert_eq!(Scope::parse(&s.to_string()), Ok(s.clone()));
            }
        }

        #[test]
        fn intersect_keeps_order_and_only_allowed(
            asked in proptest::collection::vec("[a-e]{1,2}", 0..20),
            allowed in proptest::collection::vec("[a-e]{1,2}", 0..20),
        ) {
            let s = Scope::from_tokens(asked.clone());
            let i = s.intersect(&allowed);
            let want: Vec<String> = s.tokens().iter().filter(|t| allowed.contains(t)).cloned().collect();
            proptest::prop_assert_eq!(i.tokens(), want.as_slice());
        }
    }
}
