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
}

impl Passwords {
    /// At most two hashes per core at once.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Passwords {
            permits: Arc::new(Semaphore::new(cores * 2)),
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
