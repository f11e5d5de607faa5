//! Checking a provider's ID token (OIDC Core s3.1.3.7). The signature is checked with the
//! provider's JWKS through `openidconnect`'s key types; the claims are read as plain JSON,
//! because the crate's typed claims refuse what Auth0-shaped providers send (an
//! `updated_at` that is a date string, as gatehouse itself and Auth0 issue it), and a
//! provider gatehouse replaces must still be usable as an upstream.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::http::UpstreamError;

/// Clock skew tolerated on `exp` and `iat` (seconds).
const LEEWAY: i64 = 60;

/// Why an ID token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Signed with a key the JWKS does not have (the caller may refetch it once).
    UnknownKey,
    /// Anything else, said for the log and the application.
    Invalid(String),
}

impl From<Refusal> for UpstreamError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::UnknownKey => UpstreamError::Invalid("the ID token's key is unknown".into()),
            Refusal::Invalid(m) => {
                UpstreamError::Invalid(format!("the ID token is not valid: {m}"))
            }
        }
    }
}

fn invalid(m: &str) -> Refusal {
    Refusal::Invalid(m.to_owned())
}

/// What the ID token must say.
pub struct Expected<'a> {
    /// The provider's issuer.
    pub issuer: &'a str,
    /// Our client id at the provider.
    pub client_id: &'a str,
    /// The nonce sent with the authorization request.
    pub nonce: &'a str,
    /// Now (seconds since the epoch).
    pub now: i64,
}

/// The claims of `jwt` when it is RS256-signed by a key of `jwks` and its claims hold.
pub fn verify(
    jwt: &str,
    jwks: &CoreJsonWebKeySet,
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, Refusal> {
    let mut parts = jwt.split('.');
    let (Some(header_b64), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a signed JWT"));
    };
    let header: Value = decode(header_b64)?;
    // The algorithm is ours to choose (RS256), never the token's.
    if header["alg"] != "RS256" {
        return Err(invalid("not signed with RS256"));
    }
    let kid = header["kid"].as_str();
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| invalid("bad signature encoding"))?;
    let message = format!("{header_b64}.{payload}");
    let candidates: Vec<_> = jwks
        .keys()
        .iter()
        .filter(|k| kid.is_none_or(|kid| k.key_id().is_some_and(|id| id.as_str() == kid)))
        .collect();
    if candidates.is_empty() {
        return Err(Refusal::UnknownKey);
    }
    let signed = candidates.iter().any(|k| {
        k.verify_signature(
            &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            message.as_bytes(),
            &signature,
        )
        .is_ok()
    });
    if !signed {
        return Err(invalid("bad signature"));
    }
    let claims: Map<String, Value> = decode(payload)?;
    check_claims(&claims, expected)?;
    Ok(claims)
}

fn decode<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, Refusal> {
    let raw = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid("bad base64url"))?;
    serde_json::from_slice(&raw).map_err(|_| invalid("bad JSON"))
}

/// `iss`, `aud`, `azp`, `exp`, `iat`, `nonce` and `sub` (OIDC Core s3.1.3.7).
pub fn check_claims(claims: &Map<String, Value>, e: &Expected<'_>) -> Result<(), Refusal> {
    if claims.get("iss").and_then(Value::as_str) != Some(e.issuer) {
        return Err(invalid("wrong issuer"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences.contains(&e.client_id) {
        return Err(invalid("not issued to us"));
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    if (audiences.len() > 1 || azp.is_some()) && azp != Some(e.client_id) {
        return Err(invalid("authorized for another party"));
    }
    let exp = claims.get("exp").and_then(Value::as_i64);
    if exp.is_none_or(|exp| exp + LEEWAY <= e.now) {
        return Err(invalid("expired"));
    }
    if claims
        .get("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat > e.now + LEEWAY)
    {
        return Err(invalid("issued in the future"));
    }
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !bool::from(nonce.as_bytes().ct_eq(e.nonce.as_bytes())) {
        return Err(invalid("wrong nonce"));
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(invalid("no subject"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://idp.example/",
            client_id: "rp",
            nonce: "n-123",
            now: 1_000_000,
        }
    }

    fn good() -> Value {
        json!({"iss": "https://idp.example/", "aud": "rp", "exp": 1_000_300, "iat": 1_000_000,
               "nonce": "n-123", "sub": "u1"})
    }

    #[test]
    fn claims_are_checked() {
        type Case = (&'static str, fn(&mut Value), bool);
        let cases: &[Case] = &[
            ("a good token", |_| {}, true),
            (
                "an audience list with our azp",
                |c| {
                    c["aud"] = json!(["rp", "api"]);
                    c["azp"] = json!("rp");
                },
                true,
            ),
            (
                "a token near expiry within leeway",
                |c| c["exp"] = json!(999_950),
                true,
            ),
            (
                "another issuer",
                |c| c["iss"] = json!("https://evil.example/"),
                false,
            ),
            ("another audience", |c| c["aud"] = json!("other"), false),
            (
                "an audience list without azp",
                |c| c["aud"] = json!(["rp", "api"]),
                false,
            ),
            ("another azp", |c| c["azp"] = json!("other"), false),
            ("an expired token", |c| c["exp"] = json!(999_900), false),
            (
                "no exp",
                |c| {
                    c.as_object_mut().map(|o| o.remove("exp"));
                },
                false,
            ),
            ("a future iat", |c| c["iat"] = json!(1_000_100), false),
            ("another nonce", |c| c["nonce"] = json!("n-999"), false),
            (
                "no nonce",
                |c| {
                    c.as_object_mut().map(|o| o.remove("nonce"));
                },
                false,
            ),
            ("no subject", |c| c["sub"] = json!(""), false),
        ];
        for (name, change, ok) in cases {
            let mut claims = good();
            change(&mut claims);
            let Value::Object(map) = claims else {
                unreachable!("an object")
            };
            assert_eq!(check_claims(&map, &expected()).is_ok(), *ok, "{name}");
        }
    }

    #[test]
    fn malformed_and_unsigned_tokens_are_refused() {
        let jwks: CoreJsonWebKeySet = serde_json::from_value(json!({"keys": []})).expect("jwks");
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(good().to_string())
        );
        assert!(matches!(
            verify(&none, &jwks, &expected()),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            verify("a.b", &jwks, &expected()),
            Err(Refusal::Invalid(_))
        ));
        let unknown = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k9"}"#),
            URL_SAFE_NO_PAD.encode(good().to_string())
        );
        assert_eq!(
            verify(&unknown, &jwks, &expected()),
            Err(Refusal::UnknownKey)
        );
    }
}
