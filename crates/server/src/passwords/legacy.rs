//! Password hashes imported from other systems: Auth0's `custom_password_hash` (users-imports)
//! for `md5`, `sha1`, `sha256`, `sha512` (salted or not), `hmac`, `pbkdf2` (PHC string),
//! `scrypt` and `ldap` (RFC 2307 `{SSHA}` and kin). `parse` checks one at import and stores
//! it normalised as `$gh-legacy$<json>`; `verify` checks a password against it in constant
//! time. Every such hash is upgraded to Argon2id at the user's first login
//! (`Passwords::needs_upgrade`). `bcrypt` and `argon2` are stored as they are.
//!
//! Imported parameters bound what each login attempt costs: PBKDF2 at most 1,000,000
//! iterations, scrypt at most 64 MiB and 4 lanes.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use subtle::ConstantTimeEq;

/// How a stored legacy hash begins.
pub const PREFIX: &str = "$gh-legacy$";

/// A digest Auth0's formats name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Digest {
    /// MD5 (legacy only).
    Md5,
    /// SHA-1 (legacy only).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Digest {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "md5" => Self::Md5,
            "sha1" => Self::Sha1,
            "sha224" => Self::Sha224,
            "sha256" => Self::Sha256,
            "sha384" => Self::Sha384,
            "sha512" => Self::Sha512,
            _ => return None,
        })
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Md5 => md5::Md5::digest(data).to_vec(),
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            // HMAC takes keys of any length.
            match <M as KeyInit>::new_from_slice(key) {
                Ok(mut m) => {
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            Self::Md5 => mac::<hmac::Hmac<md5::Md5>>(key, data),
            Self::Sha1 => mac::<hmac::Hmac<sha1::Sha1>>(key, data),
            Self::Sha224 => mac::<hmac::Hmac<sha2::Sha224>>(key, data),
            Self::Sha256 => mac::<hmac::Hmac<sha2::Sha256>>(key, data),
            Self::Sha384 => mac::<hmac::Hmac<sha2::Sha384>>(key, data),
            Self::Sha512 => mac::<hmac::Hmac<sha2::Sha512>>(key, data),
        }
    }

    fn pbkdf2(self, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
        use pbkdf2::pbkdf2_hmac;
        match self {
            Self::Md5 => pbkdf2_hmac::<md5::Md5>(password, salt, rounds, out),
            Self::Sha1 => pbkdf2_hmac::<sha1::Sha1>(password, salt, rounds, out),
            Self::Sha224 => pbkdf2_hmac::<sha2::Sha224>(password, salt, rounds, out),
            Self::Sha256 => pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, out),
            Self::Sha384 => pbkdf2_hmac::<sha2::Sha384>(password, salt, rounds, out),
            Self::Sha512 => pbkdf2_hmac::<sha2::Sha512>(password, salt, rounds, out),
        }
    }
}

/// How the password's characters become bytes (Auth0's `password.encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PasswordEncoding {
    /// UTF-8 (the default).
    #[default]
    Utf8,
    /// One byte per character (`ascii`, `latin1`, `binary`).
    Latin1,
    /// UTF-16 little-endian (`utf16le`, `ucs2`).
    Utf16le,
}

impl PasswordEncoding {
    fn bytes(self, password: &str) -> Option<Vec<u8>> {
        match self {
            Self::Utf8 => Some(password.as_bytes().to_vec()),
            Self::Latin1 => password
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect(),
            Self::Utf16le => Some(
                password
                    .encode_utf16()
                    .flat_map(|u| u.to_le_bytes())
                    .collect(),
            ),
        }
    }
}

/// An imported hash, normalised; byte strings are hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "alg", rename_all = "lowercase")]
pub enum Legacy {
    /// A plain digest of the salted password.
    Digest {
        /// The digest.
        digest: Digest,
        /// The expected output.
        hash: String,
        /// The salt.
        salt: String,
        /// Whether the salt goes before the password.
        prefix: bool,
        /// The password's encoding.
        password: PasswordEncoding,
    },
    /// An HMAC of the salted password.
    Hmac {
        /// The digest.
        digest: Digest,
        /// The expected output.
        hash: String,
        /// The HMAC key.
        key: String,
        /// The salt.
        salt: String,
        /// Whether the salt goes before the password.
        prefix: bool,
        /// The password's encoding.
        password: PasswordEncoding,
    },
    /// PBKDF2-HMAC.
    Pbkdf2 {
        /// The digest.
        digest: Digest,
        /// Iterations.
        rounds: u32,
        /// The salt.
        salt: String,
        /// The expected output.
        hash: String,
    },
    /// scrypt.
    Scrypt {
        /// The expected output.
        hash: String,
        /// The salt.
        salt: String,
        /// log2 of the cost N.
        log_n: u8,
        /// Block size.
        r: u32,
        /// Parallelization.
        p: u32,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Bytes given as Auth0's `{value, encoding}` (`hex`, `base64` or `utf8`).
fn decoded(value: &str, encoding: &str) -> Result<Vec<u8>, String> {
    match encoding {
        "hex" => unhex(value).ok_or_else(|| "is not hex".to_owned()),
        "base64" => STANDARD
            .decode(value.trim_end_matches('='))
            .or_else(|_| STANDARD_NO_PAD.decode(value.trim_end_matches('=')))
            .or_else(|_| STANDARD.decode(value))
            .map_err(|_| "is not base64".to_owned()),
        "utf8" => Ok(value.as_bytes().to_vec()),
        other => Err(format!("has an unknown encoding '{other}'")),
    }
}

fn text<'a>(v: &'a Value, path: &str) -> Result<&'a str, String> {
    v.pointer(path).and_then(Value::as_str).ok_or_else(|| {
        format!(
            "{} is required",
            path.trim_start_matches('/').replace('/', ".")
        )
    })
}

fn password_encoding(custom: &Value) -> Result<PasswordEncoding, String> {
    match custom.pointer("/password/encoding").and_then(Value::as_str) {
        None | Some("utf8") => Ok(PasswordEncoding::Utf8),
        Some("ascii" | "latin1" | "binary") => Ok(PasswordEncoding::Latin1),
        Some("utf16le" | "ucs2") => Ok(PasswordEncoding::Utf16le),
        Some(other) => Err(format!("password.encoding '{other}' is not supported")),
    }
}

/// `salt` (optional): its bytes and whether it is a prefix (Auth0's default).
fn salt(custom: &Value) -> Result<(Vec<u8>, bool), String> {
    let Some(salt) = custom.get("salt").filter(|s| !s.is_null()) else {
        return Ok((Vec::new(), true));
    };
    let value = text(salt, "/value").map_err(|_| "salt.value is required".to_owned())?;
    let encoding = salt
        .get("encoding")
        .and_then(Value::as_str)
        .unwrap_or("utf8");
    let bytes = decoded(value, encoding).map_err(|e| format!("salt.value {e}"))?;
    let prefix = match salt.get("position").and_then(Value::as_str) {
        None | Some("prefix") => true,
        Some("suffix") => false,
        Some(other) => return Err(format!("salt.position '{other}' is not supported")),
    };
    Ok((bytes, prefix))
}

fn hash_bytes(custom: &Value) -> Result<Vec<u8>, String> {
    let value = text(custom, "/hash/value")?;
    let encoding = custom
        .pointer("/hash/encoding")
        .and_then(Value::as_str)
        .unwrap_or("hex");
    decoded(value, encoding).map_err(|e| format!("hash.value {e}"))
}

/// A `$pbkdf2-<digest>$i=<n>,l=<len>$<salt>$<hash>` PHC string (base64 without padding).
fn pbkdf2_phc(value: &str) -> Result<Legacy, String> {
    let bad = || "hash.value is not a PBKDF2 PHC string".to_owned();
    let parts: Vec<&str> = value.split('$').collect();
    let [_, id, params, salt, hash] = parts.as_slice() else {
        return Err(bad());
    };
    let digest = id
        .strip_prefix("pbkdf2-")
        .and_then(Digest::parse)
        .ok_or_else(|| format!("PBKDF2 digest '{id}' is not supported"))?;
    let mut rounds = None;
    for param in params.split(',') {
        if let Some(i) = param.strip_prefix("i=") {
            rounds = i.parse::<u32>().ok();
        }
    }
    let rounds = rounds
        .filter(|r| (1..=1_000_000).contains(r))
        .ok_or_else(|| "PBKDF2 iterations must be between 1 and 1,000,000".to_owned())?;
    let b64 = |s: &str| {
        STANDARD_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| bad())
    };
    let hash = b64(hash)?;
    if hash.is_empty() || hash.len() > 512 {
        return Err(bad());
    }
    Ok(Legacy::Pbkdf2 {
        digest,
        rounds,
        salt: hex(&b64(salt)?),
        hash: hex(&hash),
    })
}

/// An RFC 2307 value: `{SSHA}base64(digest || salt)` and kin.
fn ldap(value: &str) -> Result<Legacy, String> {
    let (scheme, rest) = value
        .strip_prefix('{')
        .and_then(|v| v.split_once('}'))
        .ok_or_else(|| "hash.value is not an RFC 2307 value ({SCHEME}...)".to_owned())?;
    let (digest, salted) = match scheme.to_ascii_uppercase().as_str() {
        "MD5" => (Digest::Md5, false),
        "SMD5" => (Digest::Md5, true),
        "SHA" | "SHA1" => (Digest::Sha1, false),
        "SSHA" | "SSHA1" => (Digest::Sha1, true),
        "SHA256" => (Digest::Sha256, false),
        "SSHA256" => (Digest::Sha256, true),
        "SHA384" => (Digest::Sha384, false),
        "SSHA384" => (Digest::Sha384, true),
        "SHA512" => (Digest::Sha512, false),
        "SSHA512" => (Digest::Sha512, true),
        other => return Err(format!("LDAP scheme {{{other}}} is not supported")),
    };
    let raw = STANDARD
        .decode(rest.trim())
        .map_err(|_| "hash.value is not base64 after its scheme".to_owned())?;
    let size = digest.hash(b"").len();
    if raw.len() < size || (!salted && raw.len() != size) {
        return Err("hash.value has the wrong length for its scheme".into());
    }
    let (hash, salt) = raw.split_at(size);
    Ok(Legacy::Digest {
        digest,
        hash: hex(hash),
        salt: hex(salt),
        prefix: false,
        password: PasswordEncoding::Utf8,
    })
}

/// Checks an Auth0 `custom_password_hash` of a legacy algorithm and returns what to store.
pub fn parse(custom: &Value) -> Result<String, String> {
    let algorithm = custom
        .get("algorithm")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let legacy = match algorithm {
        "md5" | "sha1" | "sha256" | "sha512" => {
            let digest = Digest::parse(algorithm).ok_or("unknown digest")?;
            let hash = hash_bytes(custom)?;
            if hash.len() != digest.hash(b"").len() {
                return Err("hash.value has the wrong length for the algorithm".into());
            }
            let (salt, prefix) = salt(custom)?;
            Legacy::Digest {
                digest,
                hash: hex(&hash),
                salt: hex(&salt),
                prefix,
                password: password_encoding(custom)?,
            }
        }
        "hmac" => {
            let name = text(custom, "/hash/digest")?;
            let digest = Digest::parse(name)
                .ok_or_else(|| format!("hash.digest '{name}' is not supported"))?;
            let key = custom.pointer("/hash/key").ok_or("hash.key is required")?;
            let key_value = text(key, "/value").map_err(|_| "hash.key.value is required")?;
            let key_encoding = key
                .get("encoding")
                .and_then(Value::as_str)
                .unwrap_or("utf8");
            let key = decoded(key_value, key_encoding).map_err(|e| format!("hash.key {e}"))?;
            let (salt, prefix) = salt(custom)?;
            Legacy::Hmac {
                digest,
                hash: hex(&hash_bytes(custom)?),
                key: hex(&key),
                salt: hex(&salt),
                prefix,
                password: password_encoding(custom)?,
            }
        }
        "pbkdf2" => pbkdf2_phc(text(custom, "/hash/value")?)?,
        "ldap" => ldap(text(custom, "/hash/value")?)?,
        "scrypt" => {
            let hash = hash_bytes(custom)?;
            let (salt, _) = salt(custom)?;
            let number =
                |name: &str, default: u64| custom.get(name).map_or(Some(default), Value::as_u64);
            let (Some(n), Some(r), Some(p), Some(keylen)) = (
                number("cost", 16_384),
                number("blockSize", 8),
                number("parallelization", 1),
                number("keylen", hash.len() as u64),
            ) else {
                return Err("cost, blockSize, parallelization and keylen must be numbers".into());
            };
            let memory = n.saturating_mul(r).saturating_mul(128);
            if !n.is_power_of_two() || n < 2 || memory > 64 << 20 || !(1..=4).contains(&p) {
                return Err(
                    "scrypt cost must be a power of two, using at most 64 MiB and 4 lanes".into(),
                );
            }
            if keylen != hash.len() as u64 || hash.is_empty() {
                return Err("keylen must be the length of hash.value".into());
            }
            let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| "cost is too large")?;
            let (r, p) = (
                u32::try_from(r).map_err(|_| "blockSize is too large")?,
                u32::try_from(p).map_err(|_| "parallelization is too large")?,
            );
            scrypt::Params::new(log_n, r, p).map_err(|e| format!("scrypt parameters: {e}"))?;
            Legacy::Scrypt {
                hash: hex(&hash),
                salt: hex(&salt),
                log_n,
                r,
                p,
            }
        }
        other => return Err(format!("algorithm '{other}' is not supported")),
    };
    let json = serde_json::to_string(&legacy).map_err(|e| e.to_string())?;
    Ok(format!("{PREFIX}{json}"))
}

fn salted(password: &[u8], salt: &[u8], prefix: bool) -> Vec<u8> {
    if prefix {
        [salt, password].concat()
    } else {
        [password, salt].concat()
    }
}

/// Whether `password` matches the stored legacy hash `stored` (without its prefix); a
/// malformed one never matches. Blocking for PBKDF2 and scrypt.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(legacy) = serde_json::from_str::<Legacy>(stored) else {
        return false;
    };
    let (computed, expected) = match legacy {
        Legacy::Digest {
            digest,
            hash,
            salt,
            prefix,
            password: encoding,
        } => {
            let (Some(pw), Some(salt)) = (encoding.bytes(password), unhex(&salt)) else {
                return false;
            };
            (digest.hash(&salted(&pw, &salt, prefix)), hash)
        }
        Legacy::Hmac {
            digest,
            hash,
            key,
            salt,
            prefix,
            password: encoding,
        } => {
            let (Some(pw), Some(salt), Some(key)) =
                (encoding.bytes(password), unhex(&salt), unhex(&key))
            else {
                return false;
            };
            (digest.hmac(&key, &salted(&pw, &salt, prefix)), hash)
        }
        Legacy::Pbkdf2 {
            digest,
            rounds,
            salt,
            hash,
        } => {
            let (Some(salt), Some(len)) = (unhex(&salt), unhex(&hash).map(|h| h.len())) else {
                return false;
            };
            let mut out = vec![0u8; len];
            digest.pbkdf2(password.as_bytes(), &salt, rounds, &mut out);
            (out, hash)
        }
        Legacy::Scrypt {
            hash,
            salt,
            log_n,
            r,
            p,
        } => {
            let (Some(salt), Some(len), Ok(params)) = (
                unhex(&salt),
                unhex(&hash).map(|h| h.len()),
                scrypt::Params::new(log_n, r, p),
            ) else {
                return false;
            };
            let mut out = vec![0u8; len];
            if scrypt::scrypt(password.as_bytes(), &salt, &params, &mut out).is_err() {
                return false;
            }
            (out, hash)
        }
    };
    unhex(&expected).is_some_and(|e| !e.is_empty() && bool::from(e.ct_eq(&computed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(custom: Value, password: &str) {
        let stored = parse(&custom).unwrap_or_else(|e| panic!("{custom}: {e}"));
        let body = stored.strip_prefix(PREFIX).expect("prefix");
        assert!(verify(password, body), "{custom}");
        assert!(!verify("wrong password", body), "{custom}");
    }

    #[test]
    fn plain_and_salted_digests() {
        // md5("password"), and sha256 of "salt" + "password" and "password" + "salt".
        check(
            json!({"algorithm": "md5", "hash": {"value": "5f4dcc3b5aa765d61d8327deb882cf99", "encoding": "hex"}}),
            "password",
        );
        let prefixed = hex(&sha2::Sha256::digest(b"NaClpassword"));
        check(
            json!({"algorithm": "sha256", "hash": {"value": prefixed, "encoding": "hex"},
                   "salt": {"value": "NaCl", "encoding": "utf8", "position": "prefix"}}),
            "password",
        );
        let suffixed = STANDARD.encode(sha2::Sha512::digest(b"passwordNaCl"));
        check(
            json!({"algorithm": "sha512", "hash": {"value": suffixed, "encoding": "base64"},
                   "salt": {"value": "NaCl", "position": "suffix"}}),
            "password",
        );
        // sha1 of the password as UTF-16LE.
        let utf16: Vec<u8> = "pässword"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        check(
            json!({"algorithm": "sha1", "hash": {"value": hex(&sha1::Sha1::digest(&utf16))},
                   "password": {"encoding": "utf16le"}}),
            "pässword",
        );
    }

    #[test]
    fn hmac_pbkdf2_scrypt_and_ldap() {
        let mac = Digest::Sha256.hmac(b"key", b"password");
        check(
            json!({"algorithm": "hmac", "hash": {"value": hex(&mac), "encoding": "hex",
                   "digest": "sha256", "key": {"value": "key", "encoding": "utf8"}}}),
            "password",
        );
        // RFC 6070's PBKDF2-HMAC-SHA1 vector: "password", "salt", 2 iterations.
        let phc = format!(
            "$pbkdf2-sha1$i=2,l=20${}${}",
            STANDARD_NO_PAD.encode(b"salt"),
            STANDARD_NO_PAD.encode(unhex("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957").expect("hex"))
        );
        check(
            json!({"algorithm": "pbkdf2", "hash": {"value": phc}}),
            "password",
        );
        // RFC 7914's scrypt vector: "password", "NaCl", N=1024, r=8, p=16 (p capped at 4
        // here, so its own output is made for p=1).
        let mut out = [0u8; 32];
        scrypt::scrypt(
            b"password",
            b"NaCl",
            &scrypt::Params::new(10, 8, 1).expect("p"),
            &mut out,
        )
        .expect("scrypt");
        check(
            json!({"algorithm": "scrypt", "hash": {"value": STANDARD.encode(out), "encoding": "base64"},
                   "salt": {"value": "NaCl", "encoding": "utf8"}, "keylen": 32, "cost": 1024,
                   "blockSize": 8, "parallelization": 1}),
            "password",
        );
        let ssha = STANDARD.encode(
            [
                sha1::Sha1::digest(b"passwordabcd").to_vec(),
                b"abcd".to_vec(),
            ]
            .concat(),
        );
        check(
            json!({"algorithm": "ldap", "hash": {"value": format!("{{SSHA}}{ssha}")}}),
            "password",
        );
    }

    #[test]
    fn costly_or_malformed_imports_are_refused() {
        for bad in [
            json!({"algorithm": "md4", "hash": {"value": "00"}}),
            json!({"algorithm": "md5", "hash": {"value": "abcd"}}),
            json!({"algorithm": "sha256", "hash": {"value": "zz"}}),
            json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$i=5000000,l=32$c2FsdA$AAAA"}}),
            json!({"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-whirlpool$i=5,l=32$c2FsdA$AAAA"}}),
            json!({"algorithm": "scrypt", "hash": {"value": "AAAA", "encoding": "base64"},
                   "salt": {"value": "s"}, "cost": 1048576, "blockSize": 8, "keylen": 3}),
            json!({"algorithm": "ldap", "hash": {"value": "{CRYPT}abc"}}),
            json!({"algorithm": "hmac", "hash": {"value": "00", "digest": "sha256"}}),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
        assert!(!verify("password", "not json"));
    }
}
