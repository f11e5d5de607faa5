//! Human passwords: Argon2id with OWASP's parameters (m=19456 KiB, t=2, p=1), computed on
//! hashing threads of their own (`crate::workers`, two per core), so a burst of logins can
//! neither starve other requests nor spread 19 MiB allocations over the hundreds of threads
//! Tokio's blocking pool would grow to (each keeping its own malloc arena).

mod argon;
pub mod legacy;

use gatehouse_core::job::is_bcrypt_hash;

use crate::workers::Workers;

/// Hashes and verifies passwords on a few threads of their own.
pub struct Passwords {
    threads: Workers<argon::Memory>,
    decoy: tokio::sync::OnceCell<String>,
}

fn stopped() -> anyhow::Error {
    anyhow::anyhow!("the password hashing threads are not running")
}

impl Passwords {
    /// Two hashing threads per core.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Passwords {
            threads: Workers::start("argon2", cores * 2, 1024, argon::memory),
            decoy: tokio::sync::OnceCell::new(),
        }
    }

    /// The PHC string of a new Argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        self.threads
            .run(move |memory| {
                let salt: [u8; 16] = rand::random();
                argon::hash(password.as_bytes(), &salt, memory)
                    .map_err(|e| anyhow::anyhow!("argon2: {e}"))
            })
            .await
            .ok_or_else(stopped)?
    }

    /// Whether `password` matches `hash`: an Argon2 PHC string, an imported bcrypt hash
    /// (`$2a$`/`$2b$`/`$2y$`) or another imported one (`legacy`); a malformed hash never
    /// matches.
    pub async fn verify(&self, password: String, hash: String) -> anyhow::Result<bool> {
        self.threads
            .run(move |memory| {
                if let Some(imported) = hash.strip_prefix(legacy::PREFIX) {
                    return legacy::verify(&password, imported);
                }
                if is_bcrypt_hash(&hash) {
                    // bcrypt reads only the first 72 bytes, as the system it came from did; the
                    // upgrade to Argon2id at this login ends that.
                    return bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false);
                }
                argon::verify(password.as_bytes(), &hash, memory)
            })
            .await
            .ok_or_else(stopped)
    }

    /// Whether a hash that just verified should be replaced by a new Argon2id hash: any
    /// other algorithm, or Argon2 with parameters other than today's.
    pub fn needs_upgrade(hash: &str) -> bool {
        !hash.starts_with(CURRENT_PREFIX)
    }
}

/// How every hash made with today's algorithm and parameters begins.
const CURRENT_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

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
        assert!(a.starts_with(CURRENT_PREFIX), "{a}");
        assert!(!Passwords::needs_upgrade(&a));
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

    #[tokio::test]
    async fn imported_bcrypt_hashes_verify_and_ask_for_an_upgrade() {
        let p = Passwords::new();
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let made = bcrypt::hash("hunter22", 4).expect("bcrypt");
            let hash = format!("{prefix}{}", &made[4..]);
            assert!(
                p.verify("hunter22".into(), hash.clone())
                    .await
                    .expect("verify"),
                "{hash}"
            );
            assert!(
                !p.verify("hunter23".into(), hash.clone())
                    .await
                    .expect("verify")
            );
            assert!(Passwords::needs_upgrade(&hash));
        }
        // Argon2 with weaker parameters than today's is upgraded too.
        assert!(Passwords::needs_upgrade(
            "$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
        ));
    }
}
