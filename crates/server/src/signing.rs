//! Token signing keys: generation, the in-memory key ring, the JWKS and RS256 signatures.
//!
//! Parsed key pairs stay in memory: parsing and validating an RSA key costs more than the
//! signature itself. That is why signing is hand-written rather than `jsonwebtoken`'s, which
//! parses the key on every call: with the parsed aws-lc-rs key, signing measured ~2.5x faster
//! here (see ARCHITECTURE.md, "Invariants").

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gatehouse_core::signing_key::{KeyState, SigningKey};
use serde_json::{Value, json};

use crate::crypto::Sealer;

/// The algorithm of every key we make; tokens never choose it.
pub const ALG: &str = "RS256";

fn seal_context(kid: &str) -> String {
    format!("signing_key:{kid}")
}

/// Makes a new RSA-2048 key in `state`, its private half sealed under the master key.
pub fn generate(sealer: &Sealer, state: KeyState) -> anyhow::Result<SigningKey> {
    from_private_key(sealer, &generate_private_key()?, state)
}

/// A new RSA-2048 private key as PKCS#8 DER (~50 ms of CPU).
pub fn generate_private_key() -> anyhow::Result<Vec<u8>> {
    let pair = KeyPair::generate(KeySize::Rsa2048).context("generate RSA key")?;
    Ok(pair.as_der().context("encode RSA key")?.as_ref().to_vec())
}

/// The signing key for an existing PKCS#8 RSA private key, in `state`, its private half
/// sealed under the master key. Tests use it to share keys generated once per process.
pub fn from_private_key(
    sealer: &Sealer,
    pkcs8: &[u8],
    state: KeyState,
) -> anyhow::Result<SigningKey> {
    let pair = KeyPair::from_pkcs8(pkcs8).context("parse RSA key")?;
    let public = pair.public_key();
    let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
    let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
    // RFC 7638: the thumbprint hashes the required members in lexicographic order.
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ));
    let cert = self_signed_certificate(pkcs8)?;
    let x5t = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        &cert,
    ));
    Ok(SigningKey {
        sealed_private_key: sealer.seal(&seal_context(&kid), pkcs8),
        public_jwk: json!({
            "kty": "RSA",
            "n": n,
            "e": e,
            "x5c": [STANDARD.encode(&cert)],
            "x5t": x5t,
        }),
        kid,
        alg: ALG.to_owned(),
        state,
        created_at: time::OffsetDateTime::now_utc(),
    })
}

/// A self-signed certificate for the key, published as `x5c` as Auth0 does: some
/// verifiers (older .NET and Java stacks) read the key only from a certificate. It is made
/// once with the key, so it costs nothing per request.
pub fn self_signed_certificate(pkcs8: &[u8]) -> anyhow::Result<Vec<u8>> {
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8),
        &rcgen::PKCS_RSA_SHA256,
    )
    .context("load key for its certificate")?;
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "gatehouse token signing key");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    let cert = params
        .self_signed(&key)
        .context("self-sign the key's certificate")?;
    Ok(cert.der().to_vec())
}

/// The key that signs, parsed once.
pub struct ActiveKey {
    /// Its key id, put in every JWS header.
    pub kid: String,
    pair: KeyPair,
    /// The key as PKCS#8 DER, for libxmlsec1 (SAML XML signatures), and its certificate.
    pkcs8: Vec<u8>,
    certificate: Vec<u8>,
}

/// The keys of one moment: the one that signs and the JWKS document verifiers fetch.
pub struct KeySet {
    /// The current key.
    pub current: ActiveKey,
    /// Public keys of every published key, by kid, to verify our own tokens.
    verifiers: Vec<(String, RsaPublicKeyComponents<Vec<u8>>)>,
    /// `{"keys": [...]}` with current, next and previous, rendered once.
    pub jwks: Value,
    /// The kids in the set with their states, to notice when storage has moved on.
    pub fingerprint: Vec<(String, KeyState)>,
}

impl KeySet {
    /// Builds the set from stored keys, opening the current one.
    pub fn from_stored(keys: &[SigningKey], sealer: &Sealer) -> anyhow::Result<Self> {
        let current = keys
            .iter()
            .find(|k| k.state == KeyState::Current)
            .context("no current signing key in the database")?;
        let pkcs8 = sealer
            .open(&seal_context(&current.kid), &current.sealed_private_key)
            .context("the current signing key does not open with this master key")?;
        let pair = KeyPair::from_pkcs8(&pkcs8)
            .map_err(|e| anyhow::anyhow!("stored signing key is not a valid RSA key: {e}"))?;
        // Current first: some clients take the first key when a token carries no kid.
        let order = [KeyState::Current, KeyState::Next, KeyState::Previous];
        let mut published: Vec<&SigningKey> =
            keys.iter().filter(|k| k.state.is_published()).collect();
        published.sort_by_key(|k| order.iter().position(|s| *s == k.state));
        let jwks = json!({
            "keys": published.iter().map(|k| public_jwk(k)).collect::<Vec<_>>()
        });
        let verifiers = published
            .iter()
            .filter_map(|k| {
                let part = |name: &str| {
                    k.public_jwk[name]
                        .as_str()
                        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
                };
                Some((
                    k.kid.clone(),
                    RsaPublicKeyComponents {
                        n: part("n")?,
                        e: part("e")?,
                    },
                ))
            })
            .collect();
        Ok(KeySet {
            verifiers,
            current: ActiveKey {
                kid: current.kid.clone(),
                pair,
                certificate: current.public_jwk["x5c"][0]
                    .as_str()
                    .and_then(|c| STANDARD.decode(c).ok())
                    .unwrap_or_default(),
                pkcs8: pkcs8.to_vec(),
            },
            jwks,
            fingerprint: fingerprint(keys),
        })
    }
}

/// What identifies a set of keys: which kid is in which state.
pub fn fingerprint(keys: &[SigningKey]) -> Vec<(String, KeyState)> {
    let mut f: Vec<_> = keys
        .iter()
        .filter(|k| k.state.is_published())
        .map(|k| (k.kid.clone(), k.state))
        .collect();
    f.sort();
    f
}

fn public_jwk(k: &SigningKey) -> Value {
    let mut jwk = k.public_jwk.clone();
    if let Some(obj) = jwk.as_object_mut() {
        obj.insert("kid".into(), json!(k.kid));
        obj.insert("alg".into(), json!(k.alg));
        obj.insert("use".into(), json!("sig"));
    }
    jwk
}

/// The key ring the server signs with; replaced whole when keys rotate.
pub struct KeyRing {
    inner: RwLock<Arc<KeySet>>,
    /// RSA signature checks made so far: tests hold each request to the checks it needs.
    verifications: AtomicU64,
}

impl KeyRing {
    /// A ring holding `set`.
    pub fn new(set: KeySet) -> Self {
        KeyRing {
            inner: RwLock::new(Arc::new(set)),
            verifications: AtomicU64::new(0),
        }
    }

    /// The keys now.
    pub fn get(&self) -> Arc<KeySet> {
        // A poisoned lock still holds a complete Arc: writers only swap it.
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// How many RSA signatures [`KeyRing::verify`] has checked.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Replaces the keys.
    pub fn replace(&self, set: KeySet) {
        *self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(set);
    }

    /// Signs `claims` as a compact JWS with the current key.
    pub fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        self.sign_typed(claims, "JWT")
    }

    /// [`KeyRing::sign`] with the header's `typ` set to `typ` (e.g. `logout+jwt`, which
    /// OpenID Connect Back-Channel Logout asks for so a logout token is never taken for an ID
    /// token).
    pub fn sign_typed(&self, claims: &Value, typ: &str) -> anyhow::Result<String> {
        let set = self.get();
        let header = json!({"alg": ALG, "typ": typ, "kid": set.current.kid});
        let mut jws = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
        );
        let sig = set.current.sign(jws.as_bytes())?;
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(sig));
        Ok(jws)
    }
}

impl ActiveKey {
    /// The key as PKCS#8 DER and its self-signed certificate (DER), for XML signatures.
    pub fn xml_signing(&self) -> (&[u8], &[u8]) {
        (&self.pkcs8, &self.certificate)
    }

    /// An RSASSA-PKCS1-v1_5 SHA-256 signature of `message` (JWS RS256, SAML's rsa-sha256).
    pub fn sign(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
            .map_err(|_| anyhow::anyhow!("RSA signature failed"))?;
        Ok(sig)
    }
}

/// Why one of our own tokens was not accepted; deliberately vague towards callers.
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct VerifyError(&'static str);

impl KeyRing {
    /// Checks the signature of a compact JWS we issued and returns its claims. The algorithm
    /// is ours (RS256), never the header's; the header's `kid` only picks among our keys.
    /// Time, issuer and audience are for the caller to check.
    pub fn verify(&self, token: &str) -> Result<Value, VerifyError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError("not a compact JWS"));
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| VerifyError("bad base64"))
        };
        let header: Value =
            serde_json::from_slice(&decode(h)?).map_err(|_| VerifyError("bad header"))?;
        if header["alg"] != ALG || header.get("crit").is_some() {
            return Err(VerifyError("unexpected algorithm"));
        }
        let kid = header["kid"].as_str().ok_or(VerifyError("no kid"))?;
        let set = self.get();
        let key = set
            .verifiers
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, key)| key)
            .ok_or(VerifyError("unknown kid"))?;
        let signed_len = h.len() + 1 + p.len();
        self.verifications.fetch_add(1, Ordering::Relaxed);
        key.verify(
            &RSA_PKCS1_2048_8192_SHA256,
            &token.as_bytes()[..signed_len],
            &decode(s)?,
        )
        .map_err(|_| VerifyError("bad signature"))?;
        serde_json::from_slice(&decode(p)?).map_err(|_| VerifyError("bad claims"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;

    #[test]
    fn signed_tokens_verify_against_the_published_jwk() {
        let sealer = Sealer::new(&MasterKey::generate());
        let keys = vec![
            generate(&sealer, KeyState::Current).expect("key"),
            generate(&sealer, KeyState::Next).expect("key"),
        ];
        let set = KeySet::from_stored(&keys, &sealer).expect("set");
        let jwks = set.jwks.clone();
        let ring = KeyRing::new(set);
        let token = ring
            .sign(&json!({"sub": "x", "exp": 4_000_000_000u64, "aud": "a"}))
            .expect("sign");

        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        let kid = header.kid.expect("kid");
        assert_eq!(kid, keys[0].kid);
        let jwk_json = jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("published")
            .clone();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk_json).expect("jwk");
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&["a"]);
        let data = jsonwebtoken::decode::<Value>(&token, &key, &v).expect("verifies");
        assert_eq!(data.claims["sub"], "x");

        // The next key must not verify it: the kid really selects the key.
        let next = jwks["keys"][1].clone();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(next).expect("jwk");
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
        assert!(jsonwebtoken::decode::<Value>(&token, &key, &v).is_err());
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        let sealer = Sealer::new(&MasterKey::generate());
        let k = generate(&sealer, KeyState::Current).expect("key");
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(k.public_jwk.clone()).expect("jwk");
        let thumb = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .expect("thumbprint");
        assert_eq!(thumb, k.kid);
    }

    #[test]
    fn certificate_carries_the_same_public_key() {
        let sealer = Sealer::new(&MasterKey::generate());
        let k = generate(&sealer, KeyState::Current).expect("key");
        let der = STANDARD
            .decode(k.public_jwk["x5c"][0].as_str().expect("x5c"))
            .expect("base64");
        let thumb = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            &der,
        ));
        assert_eq!(k.public_jwk["x5t"], thumb.as_str());
        // The certificate holds the JWK's modulus, and the JWK with x5c still verifies.
        let set = KeySet::from_stored(std::slice::from_ref(&k), &sealer).expect("set");
        let token = KeyRing::new(set)
            .sign(&json!({"sub": "x", "exp": 4_000_000_000u64}))
            .expect("sign");
        let n = URL_SAFE_NO_PAD
            .decode(k.public_jwk["n"].as_str().expect("n"))
            .expect("b64");
        assert!(
            der.windows(n.len()).any(|w| w == n.as_slice()),
            "modulus in cert"
        );
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(k.public_jwk.clone()).expect("jwk with x5c parses");
        let dk = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
        let v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        assert!(jsonwebtoken::decode::<Value>(&token, &dk, &v).is_ok());
    }

    #[test]
    fn verify_accepts_ours_and_rejects_forgeries() {
        let sealer = Sealer::new(&MasterKey::generate());
        let keys = vec![generate(&sealer, KeyState::Current).expect("key")];
        let ring = KeyRing::new(KeySet::from_stored(&keys, &sealer).expect("set"));
        let token = ring.sign(&json!({"sub": "a"})).expect("sign");
        assert_eq!(ring.verify(&token).expect("valid")["sub"], "a");

        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
        let tampered = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert!(ring.verify(&tampered).is_err(), "claims changed");
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"x"}"#);
        assert!(
            ring.verify(&format!("{none_header}.{}.", parts[1]))
                .is_err(),
            "alg none"
        );
        let hs = URL_SAFE_NO_PAD
            .encode(format!(r#"{{"alg":"HS256","kid":"{}"}}"#, keys[0].kid).as_bytes());
        assert!(
            ring.verify(&format!("{hs}.{}.{}", parts[1], parts[2]))
                .is_err(),
            "alg swap"
        );
        assert!(ring.verify("a.b").is_err());
        assert!(ring.verify(&format!("{token}.x")).is_err());

        // A token from a key we do not hold, even with a kid we know, fails.
        let other = Sealer::new(&MasterKey::generate());
        let stranger = generate(&other, KeyState::Current).expect("key");
        let mut set = KeySet::from_stored(&[stranger], &other).expect("set");
        set.current.kid = keys[0].kid.clone();
        let foreign = KeyRing::new(set);
        let token = foreign.sign(&json!({"sub": "a"})).expect("sign");
        assert!(ring.verify(&token).is_err());
    }

    #[test]
    fn wrong_master_key_is_reported() {
        let sealer = Sealer::new(&MasterKey::generate());
        let keys = vec![generate(&sealer, KeyState::Current).expect("key")];
        let other = Sealer::new(&MasterKey::generate());
        let err = KeySet::from_stored(&keys, &other).err().expect("fails");
        assert!(err.to_string().contains("master key"), "{err}");
    }
}
