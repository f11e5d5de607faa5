//! An identity provider's signing certificate as Auth0 takes it in `signingCert`: base64 of
//! the DER bytes, a PEM block, or base64 of a PEM file.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

fn base64_der(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

/// The DER bytes of the certificate in `given`, if it is one of Auth0's shapes. Only the
/// first certificate of a PEM file counts.
pub fn der(given: &str) -> Option<Vec<u8>> {
    let given = given.trim();
    if let Some(start) = given.find(BEGIN) {
        let body = &given[start + BEGIN.len()..];
        let end = body.find(END)?;
        return base64_der(&body[..end]).filter(|d| looks_like_der(d));
    }
    let bytes = base64_der(given)?;
    if looks_like_der(&bytes) {
        return Some(bytes);
    }
    // Base64 of a PEM file, as Auth0 stores a certificate uploaded as a file.
    let text = String::from_utf8(bytes).ok()?;
    text.contains(BEGIN).then(|| der(&text)).flatten()
}

/// A DER certificate starts a SEQUENCE.
fn looks_like_der(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x30) && bytes.len() > 64
}

/// The certificate as the base64 text XML signatures and metadata carry.
pub fn base64(der: &[u8]) -> String {
    STANDARD.encode(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let pkcs8 = crate::signing::generate_private_key().expect("key");
        crate::signing::self_signed_certificate(&pkcs8).expect("certificate")
    }

    #[test]
    fn reads_every_shape_auth0_stores() {
        let der_bytes = sample();
        let b64 = base64(&der_bytes);
        let pem = format!("{BEGIN}\n{}\n{END}\n", b64);
        for given in [
            b64.clone(),
            pem.clone(),
            STANDARD.encode(pem.as_bytes()),
            format!("  {b64}\n"),
        ] {
            assert_eq!(
                der(&given).as_deref(),
                Some(der_bytes.as_slice()),
                "{given}"
            );
        }
        assert_eq!(der("not a certificate"), None);
        assert_eq!(der(&STANDARD.encode(b"hello")), None);
    }
}
