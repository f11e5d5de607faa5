//! Secrets at rest: the master key, sealing (AES-256-GCM) and keyed hashes of
//! high-entropy secrets (HMAC-SHA-256), all on aws-lc-rs.

use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Format byte in front of every sealed value, so the scheme can change later.
const SEAL_VERSION: u8 = 1;

/// The 32-byte key every other secret-protecting key is derived from.
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// Parses 32 bytes given as base64 (standard or URL-safe, padded or not) or 64 hex digits.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| "not hex".to_owned())?
        } else {
            let unpadded = text.trim_end_matches('=');
            URL_SAFE_NO_PAD
                .decode(unpadded)
                .or_else(|_| STANDARD.decode(text))
                .map_err(|_| "must be 32 random bytes in base64 or hex".to_owned())?
        };
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must decode to exactly 32 bytes".to_owned())?;
        Ok(MasterKey(key))
    }

    /// A new random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        fill_random(&mut key);
        MasterKey(key)
    }

    /// Reads the key file at `path`, or creates it (mode 0600) with a new key. Creation is
    /// exclusive, so two processes starting together end up with the same key.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let key = Self::generate();
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut file) => {
                writeln!(file, "{}", key.encode())?;
                file.sync_all()?;
                tracing::info!(path = %path.display(), "generated a new master key file");
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path)?;
                Self::parse(&text)
                    .map_err(|m| anyhow::anyhow!("master key file {}: {m}", path.display()))
            }
            Err(e) => Err(anyhow::anyhow!(
                "cannot create master key file {}: {e}",
                path.display()
            )),
        }
    }

    /// The key as URL-safe base64, the form the key file holds.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// A key for one purpose, so no two uses share key material.
    fn derive(&self, purpose: &str) -> [u8; 32] {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &self.0),
            purpose.as_bytes(),
        );
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill_random(buf: &mut [u8]) {
    // The OS RNG failing is not recoverable; aws-lc aborts in that case anyway.
    #[expect(
        clippy::expect_used,
        reason = "no secure fallback exists without an RNG"
    )]
    SystemRandom::new()
        .fill(buf)
        .expect("operating system random number generator");
}

/// A random secret: `bytes` random bytes as URL-safe base64.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Seals and opens values stored in the database.
pub struct Sealer {
    key: LessSafeKey,
}

/// A sealed value that did not open: wrong master key, tampering, or a value moved to
/// another row (the associated data binds each value to its place).
#[derive(Debug, thiserror::Error)]
#[error("sealed value does not open with this master key")]
pub struct OpenError;

impl Sealer {
    /// The sealer for `master`.
    pub fn new(master: &MasterKey) -> Self {
        #[expect(
            clippy::expect_used,
            reason = "a 32-byte key is always valid for AES-256"
        )]
        let unbound = UnboundKey::new(&AES_256_GCM, &master.derive("gatehouse/seal/v1"))
            .expect("32-byte AES-256 key");
        Sealer {
            key: LessSafeKey::new(unbound),
        }
    }

    /// `version || nonce || ciphertext+tag`; `context` names what and whose the value is.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let mut body = plaintext.to_vec();
        #[expect(clippy::expect_used, reason = "sealing fails only past 64 GiB")]
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut body,
            )
            .expect("AES-GCM seal");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + body.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        out
    }

    /// Opens what [`Sealer::seal`] made with the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let (&version, rest) = sealed.split_first().ok_or(OpenError)?;
        if version != SEAL_VERSION || rest.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| OpenError)?;
        Ok(plain.to_vec())
    }
}

/// A password nobody will know, for an account whose owner sets their own through a link:
/// random, with letters, digits and a symbol, so any password policy's rules hold.
pub fn placeholder_password() -> String {
    format!("{}-Aa1!", random_secret(32))
}

/// Keyed hashes of high-entropy secrets (client secrets, codes, tokens): fast to check,
/// useless to whoever steals the database without the master key.
pub struct SecretHasher {
    key: hmac::Key,
}

impl SecretHasher {
    /// The hasher for `master`.
    pub fn new(master: &MasterKey) -> Self {
        SecretHasher {
            key: hmac::Key::new(
                hmac::HMAC_SHA256,
                &master.derive("gatehouse/secret-hash/v1"),
            ),
        }
    }

    /// HMAC-SHA-256 of `secret`.
    pub fn hash(&self, secret: &str) -> Vec<u8> {
        hmac::sign(&self.key, secret.as_bytes()).as_ref().to_vec()
    }

    /// Whether `secret` hashes to `expected`, compared in constant time.
    pub fn verify(&self, secret: &str, expected: &[u8]) -> bool {
        hmac::verify(&self.key, secret.as_bytes(), expected).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_key_formats() {
        let k = MasterKey::generate();
        let encoded = k.encode();
        assert_eq!(MasterKey::parse(&encoded).expect("b64url").0, k.0);
        assert_eq!(MasterKey::parse(&STANDARD.encode(k.0)).expect("b64").0, k.0);
        let hex: String = k.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(MasterKey::parse(&hex).expect("hex").0, k.0);
        assert!(MasterKey::parse("c2hvcnQ").is_err());
        assert!(MasterKey::parse("!!!").is_err());
    }

    #[test]
    fn seal_round_trips_and_binds_context() {
        let k = MasterKey::generate();
        let s = Sealer::new(&k);
        let sealed = s.seal("client:abc", b"top secret");
        assert!(!sealed.windows(10).any(|w| w == b"top secret"));
        assert_eq!(s.open("client:abc", &sealed).expect("opens"), b"top secret");
        assert!(s.open("client:xyz", &sealed).is_err(), "other row");
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(s.open("client:abc", &tampered).is_err(), "tampered");
        let other = Sealer::new(&MasterKey::generate());
        assert!(
            other.open("client:abc", &sealed).is_err(),
            "other master key"
        );
        assert!(s.open("client:abc", &[]).is_err());
        assert_ne!(
            s.seal("c", b"x"),
            s.seal("c", b"x"),
            "fresh nonce each time"
        );
    }

    #[test]
    fn secret_hashes_verify() {
        let k = MasterKey::generate();
        let h = SecretHasher::new(&k);
        let hash = h.hash("s3cret");
        assert!(h.verify("s3cret", &hash));
        assert!(!h.verify("s3creT", &hash));
        assert!(!SecretHasher::new(&MasterKey::generate()).verify("s3cret", &hash));
    }

    #[test]
    fn key_file_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gatehouse.db.key");
        let a = MasterKey::load_or_create(&path).expect("create");
        let b = MasterKey::load_or_create(&path).expect("load");
        assert_eq!(a.0, b.0);
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
