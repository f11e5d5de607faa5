//! Human passwords: Argon2id with OWASP's parameters (m=19456 KiB, t=2, p=1), computed off
//! the async runtime and bounded, so a burst of logins cannot starve other requests or
//! exhaust memory (each hash holds 19 MiB).

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

/// Hashes and verifies passwords with a cap on concurrent work.
pub struct Passwords {
    permits: Arc<Semaphore>,
    decoy: tokio::sync::OnceCell<String>,
}

impl Passwords {
    /// At most two hashes per core at once.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Passwords {
            permits: Arc::new(Semaphore::new(cores * 2)),
            decoy: tokio::sync::OnceCell::new(),
        }
    }

    /// The PHC string of a new Argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))
        })
        .await?
    }

    /// Whether `password` matches the PHC string `hash`; a malformed hash never matches.
    pub async fn verify(&self, password: String, hash: String) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        Ok(tokio::task::spawn_blocking(move || {
            Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await?)
    }
}

impl Passwords {
    /// Verifies against `hash`, or, when there is none (no such user), against a decoy hash
    /// made once, so the answer costs the same either way and does not reveal who exists.
    pub async fn verify_or_decoy(
        &self,
        password: &str,
        hash: Option<&str>,
    ) -> anyhow::Result<bool> {
        let target = match hash {
            Some(h) => h.to_owned(),
            None => self
                .decoy
                .get_or_try_init(|| self.hash(crate::crypto::random_secret(16)))
                .await?
                .clone(),
        };
        Ok(self.verify(password.to_owned(), target).await? && hash.is_some())
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let p = Passwords::new();
        let a = p.hash("correct horse".into()).await.expect("hash");
        let b = p.hash("correct horse".into()).await.expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(
            p.verify("correct horse".into(), a.clone())
                .await
                .expect("verify")
        );
        assert!(!p.verify("wrong horse".into(), a).await.expect("verify"));
        assert!(
            !p.verify("x".into(), "not a hash".into())
                .await
                .expect("verify")
        );
    }
}
