//! Reading a service provider's message (AuthnRequest, LogoutRequest) as the HTTP-Redirect
//! binding (deflated, base64, in the query) or the HTTP-POST binding (base64, in a form)
//! carries it. The XML passes `saml::precheck` (no DOCTYPE, entities or foreign references)
//! before samael's parser reads it, and inflating stops at the same size cap. When the
//! add-on holds the provider's `signingCert`, a message must be signed: over the exact query
//! bytes for HTTP-Redirect (SAML Bindings s3.4.4.1), by an enveloped XML signature for
//! HTTP-POST (libxmlsec1, and only what the signature covers is read afterwards).

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::saml::SamlError;
use crate::saml::precheck::{self, MAX_DOCUMENT};

/// How the message came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// In the query, deflated.
    Redirect,
    /// In a form body.
    Post,
}

fn refuse(why: impl Into<String>) -> SamlError {
    SamlError::Refused(why.into())
}

/// The XML of a `SAMLRequest` parameter.
pub fn decode(message: &str, binding: Binding) -> Result<String, SamlError> {
    // Form encoding may have turned line breaks into spaces or kept them: base64 ignores both.
    let compact: String = message.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|_| refuse("the message is not base64"))?;
    let xml = match binding {
        Binding::Post => bytes,
        Binding::Redirect => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(bytes.as_slice())
                .take(MAX_DOCUMENT as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| refuse("the message is not deflated"))?;
            out
        }
    };
    if xml.len() > MAX_DOCUMENT {
        return Err(refuse("the document is too large"));
    }
    String::from_utf8(xml).map_err(|_| refuse("the message is not UTF-8"))
}

const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// The raw (still percent-encoded) value of `name` in `query`.
fn raw_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn percent_decoded(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Checks an HTTP-Redirect message's `Signature` over `SAMLRequest`, `RelayState` (if sent)
/// and `SigAlg`, exactly as they appear in `query`, with the key of `certificate` (DER).
pub fn verify_redirect(query: &str, certificate: &[u8]) -> Result<(), SamlError> {
    let invalid = |why: &str| SamlError::Invalid(why.to_owned());
    let message = raw_param(query, "SAMLRequest").ok_or_else(|| invalid("no SAMLRequest"))?;
    let sig_alg = raw_param(query, "SigAlg").ok_or_else(|| invalid("the request is not signed"))?;
    if percent_decoded(sig_alg).as_deref() != Some(RSA_SHA256) {
        return Err(invalid("only rsa-sha256 signatures are accepted"));
    }
    let signature = raw_param(query, "Signature")
        .and_then(percent_decoded)
        .and_then(|s| {
            let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            STANDARD.decode(compact).ok()
        })
        .ok_or_else(|| invalid("the request is not signed"))?;
    let mut signed = format!("SAMLRequest={message}");
    if let Some(relay) = raw_param(query, "RelayState") {
        signed.push_str("&RelayState=");
        signed.push_str(relay);
    }
    signed.push_str("&SigAlg=");
    signed.push_str(sig_alg);
    let (_, cert) = x509_parser::parse_x509_certificate(certificate)
        .map_err(|_| SamlError::Misconfigured("unreadable signingCert".into()))?;
    let key = cert.public_key().subject_public_key.data.as_ref();
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        key,
    )
    .verify(signed.as_bytes(), &signature)
    .map_err(|_| invalid("the request's signature does not verify"))
}

/// The part of an HTTP-POST message that an enveloped signature by `certificate` covers
/// (libxmlsec1; RSA-SHA256 only). Blocking.
pub fn verify_post(xml: &str, certificate: &[u8]) -> Result<String, SamlError> {
    use samael::crypto::{AllowedSignatureAlgorithm, Crypto, CryptoProvider, ReduceMode};
    precheck::check(xml)?;
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &[certificate.to_vec().into()],
        ReduceMode::default(),
        Some(&[AllowedSignatureAlgorithm::RsaSha256]),
    )
    .map_err(|e| SamlError::Invalid(format!("the request's signature does not verify: {e}")))
}

/// The add-on's `signingCert` (DER): `Ok(None)` when it has none, an error when it has one
/// we cannot read (refusing beats accepting unsigned requests).
pub fn signing_certificate(
    addon: &gatehouse_core::saml_addon::SamlAddon,
) -> Result<Option<Vec<u8>>, SamlError> {
    match addon
        .signing_cert
        .as_deref()
        .filter(|c| !c.trim().is_empty())
    {
        None => Ok(None),
        Some(given) => crate::saml::certificate::der(given)
            .map(Some)
            .ok_or_else(|| SamlError::Misconfigured("unreadable signingCert".into())),
    }
}

/// The XML of a provider's `message`; with a `certificate`, only when signed by it (over
/// `query` for HTTP-Redirect) and, for HTTP-POST, only the signed part.
pub async fn authenticated(
    message: &str,
    binding: Binding,
    query: &str,
    certificate: Option<Vec<u8>>,
) -> Result<String, SamlError> {
    let xml = decode(message, binding)?;
    match (certificate, binding) {
        (None, _) => Ok(xml),
        (Some(cert), Binding::Redirect) => verify_redirect(query, &cert).map(|()| xml),
        // libxmlsec1 works synchronously.
        (Some(cert), Binding::Post) => {
            tokio::task::spawn_blocking(move || verify_post(&xml, &cert))
                .await
                .map_err(|e| SamlError::Invalid(e.to_string()))?
        }
    }
}

/// What gatehouse reads of an AuthnRequest.
#[derive(Debug, Clone)]
pub struct AuthnRequest {
    /// Its `ID` (echoed as `InResponseTo`).
    pub id: String,
    /// The service provider's entity id.
    pub issuer: Option<String>,
    /// Where it wants the response.
    pub acs: Option<String>,
    /// `ForceAuthn`: log in again whatever the session.
    pub force_authn: bool,
    /// `IsPassive`: answer without showing anything.
    pub is_passive: bool,
}

/// Parses an AuthnRequest.
pub fn authn_request(xml: &str) -> Result<AuthnRequest, SamlError> {
    precheck::check(xml)?;
    let r: samael::schema::AuthnRequest = xml
        .parse()
        .map_err(|e| refuse(format!("not an AuthnRequest: {e}")))?;
    if r.version != "2.0" {
        return Err(refuse("only SAML 2.0 requests are answered"));
    }
    Ok(AuthnRequest {
        issuer: r.issuer_value().filter(|i| !i.is_empty()),
        id: r.id,
        acs: r.assertion_consumer_service_url.filter(|a| !a.is_empty()),
        force_authn: r.force_authn.unwrap_or(false),
        is_passive: r.is_passive.unwrap_or(false),
    })
}

/// What gatehouse reads of a LogoutRequest or LogoutResponse.
#[derive(Debug, Clone, Default)]
pub struct LogoutMessage {
    /// Its `ID`.
    pub id: String,
    /// The request a response answers.
    pub in_response_to: Option<String>,
    /// The subject a request logs out.
    pub name_id: Option<String>,
    /// The service provider's entity id.
    pub issuer: Option<String>,
    /// The `SessionIndex` we gave the provider (the session's `sid`).
    pub session_index: Option<String>,
}

/// Parses a LogoutRequest.
pub fn logout_request(xml: &str) -> Result<LogoutMessage, SamlError> {
    logout_message(xml, "LogoutRequest")
}

/// Parses a logout message whose root is `root` (after the precheck; samael has no reader
/// for them, so quick-xml reads the few values).
pub fn logout_message(xml: &str, root_name: &str) -> Result<LogoutMessage, SamlError> {
    use quick_xml::events::Event;
    precheck::check(xml)?;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = LogoutMessage::default();
    let mut inside: Option<&'static str> = None;
    let mut root = true;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let name = e.local_name();
                if root {
                    if name.as_ref() != root_name.as_bytes() {
                        return Err(refuse(format!("not a {root_name}")));
                    }
                    root = false;
                    let attribute = |key: &str| {
                        e.try_get_attribute(key).ok().flatten().and_then(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .ok()
                                .map(|v| v.into_owned())
                        })
                    };
                    out.id = attribute("ID").ok_or_else(|| refuse("a message without an ID"))?;
                    out.in_response_to = attribute("InResponseTo");
                }
                inside = match name.as_ref() {
                    b"Issuer" => Some("issuer"),
                    b"SessionIndex" => Some("session"),
                    b"NameID" => Some("name_id"),
                    _ => None,
                };
            }
            Ok(Event::Text(t)) => {
                let text = t.decode().map(|s| s.trim().to_owned()).unwrap_or_default();
                match inside.take() {
                    Some("issuer") if out.issuer.is_none() => out.issuer = Some(text),
                    Some("session") if out.session_index.is_none() => {
                        out.session_index = Some(text);
                    }
                    Some("name_id") if out.name_id.is_none() => out.name_id = Some(text),
                    _ => {}
                }
            }
            Ok(Event::End(_)) => inside = None,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return Err(refuse("the document is not well-formed XML")),
        }
    }
    if root {
        return Err(refuse("an empty document"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn deflate(xml: &str) -> String {
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(xml.as_bytes()).expect("deflate");
        STANDARD.encode(d.finish().expect("finish"))
    }

    const REQUEST: &str = concat!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
        r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" "#,
        r#"IssueInstant="2026-11-29T10:00:00Z" ForceAuthn="true" "#,
        r#"AssertionConsumerServiceURL="https://sp.example/acs">"#,
        r#"<saml:Issuer>https://sp.example/metadata</saml:Issuer></samlp:AuthnRequest>"#
    );

    #[test]
    fn both_bindings_read_the_same_request() {
        for (message, binding) in [
            (deflate(REQUEST), Binding::Redirect),
            (STANDARD.encode(REQUEST), Binding::Post),
        ] {
            let xml = decode(&message, binding).expect("decoded");
            let r = authn_request(&xml).expect("parsed");
            assert_eq!(r.id, "_r1");
            assert_eq!(r.issuer.as_deref(), Some("https://sp.example/metadata"));
            assert_eq!(r.acs.as_deref(), Some("https://sp.example/acs"));
            assert!(r.force_authn && !r.is_passive);
        }
    }

    #[test]
    fn bombs_entities_and_garbage_are_refused() {
        let bomb = "<a>".to_owned() + &"x".repeat(MAX_DOCUMENT * 2) + "</a>";
        assert!(decode(&deflate(&bomb), Binding::Redirect).is_err());
        assert!(decode("%%%", Binding::Post).is_err());
        assert!(decode(&STANDARD.encode("not deflated"), Binding::Redirect).is_err());
        let xxe = format!(
            r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>{}"#,
            REQUEST.replace("https://sp.example/metadata", "&x;")
        );
        assert!(authn_request(&xxe).is_err());
        assert!(authn_request("<samlp:Response/>").is_err());
    }

    #[test]
    fn logout_requests_are_read() {
        let xml = concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_l1" Version="2.0" "#,
            r#"IssueInstant="2026-11-29T10:00:00Z"><saml:Issuer>sp</saml:Issuer>"#,
            r#"<saml:NameID>auth0|1</saml:NameID><samlp:SessionIndex>abc</samlp:SessionIndex>"#,
            r#"</samlp:LogoutRequest>"#
        );
        let r = logout_request(xml).expect("parsed");
        assert_eq!(r.id, "_l1");
        assert_eq!(r.issuer.as_deref(), Some("sp"));
        assert_eq!(r.session_index.as_deref(), Some("abc"));
        assert!(logout_request(REQUEST).is_err());
    }
}
