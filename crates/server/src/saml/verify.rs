//! Accepting an identity provider's SAML Response (the service-provider side). After
//! `precheck`, samael has libxmlsec1 verify every signature against the certificates we
//! hold (never a key the message names), keeps only the signed parts and parses those, and
//! checks destination, recipient, `InResponseTo`, issuer and the time conditions present.
//! Here: a certificate is required (samael skips verification without one), RSA-SHA256 only,
//! and what samael leaves optional is required: an audience restriction naming us, a
//! `NotOnOrAfter`, an issue time not in the future, a non-empty `NameID`. One-time use of
//! the assertion id is the caller's (`SessionStore::use_once` until `expires_at`). When only
//! the assertion is signed, samael never sees the response's own `Destination`; we still
//! refuse one that names another place (SAML Bindings s3.5.5.2 asks it only of signed
//! messages, but a response sent elsewhere is never meant for us).
//! Blocking (xmlsec): call it from `spawn_blocking`.

use samael::crypto::AllowedSignatureAlgorithm;
use samael::metadata::EntityDescriptor;
use samael::schema::Assertion;
use samael::service_provider::ServiceProvider;

use super::{SamlError, certificate, precheck};

/// Clock skew tolerated on the time conditions (seconds).
const SKEW: i64 = 60;

/// What the response must say.
pub struct Expected<'a> {
    /// Our entity id at this identity provider (the audience).
    pub sp_entity_id: &'a str,
    /// Our assertion consumer service URL (destination and recipient).
    pub acs_url: &'a str,
    /// The provider's entity id, when configured; else the issuer the signed assertion
    /// names is taken (the certificate is what is trusted).
    pub idp_entity_id: Option<&'a str>,
    /// The provider's signing certificates (DER).
    pub certificates: &'a [Vec<u8>],
    /// The AuthnRequest ids this response may answer; `None` for an IdP-initiated login.
    pub request_ids: Option<&'a [&'a str]>,
    /// Now (seconds since the epoch).
    pub now: i64,
}

/// What a verified assertion says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The assertion's `ID` (used once).
    pub assertion_id: String,
    /// Its issuer.
    pub issuer: Option<String>,
    /// The subject's `NameID`.
    pub name_id: String,
    /// The `NameID`'s format.
    pub name_id_format: Option<String>,
    /// Attributes by name, with their values.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The `SessionIndex` of the authentication statement (for logout).
    pub session_index: Option<String>,
    /// When the assertion stops being valid (seconds since the epoch).
    pub expires_at: i64,
}

fn invalid(why: impl Into<String>) -> SamlError {
    SamlError::Invalid(why.into())
}

/// The first `Issuer` text of `xml`, unverified: only used as the expected issuer when none
/// is configured, so that samael's comparison holds for what was signed.
fn issuer_named(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Start(e) if e.local_name().as_ref() == b"Issuer" => {
                inside = true;
            }
            quick_xml::events::Event::Text(t) if inside => {
                return t.decode().ok().map(|s| s.trim().to_owned());
            }
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

/// The `Destination` of the document's root element, if it has one.
fn root_destination(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let a = e.try_get_attribute("Destination").ok()??;
                return a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned());
            }
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

/// The provider as samael wants it: its entity id and signing certificates.
fn idp_metadata(entity_id: &str, certificates: &[Vec<u8>]) -> Result<EntityDescriptor, SamlError> {
    let keys: String = certificates
        .iter()
        .map(|der| {
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                certificate::base64(der)
            )
        })
        .collect();
    let xml = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.invalid/"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        quick_xml::escape::escape(entity_id)
    );
    xml.parse()
        .map_err(|e| SamlError::Misconfigured(format!("the provider's description: {e}")))
}

/// The assertion of `xml` if it holds (see the module's documentation).
pub fn response(xml: &str, expected: &Expected<'_>) -> Result<Verified, SamlError> {
    precheck::check(xml)?;
    if root_destination(xml).is_some_and(|d| d != expected.acs_url) {
        return Err(invalid("the response's Destination is not our ACS"));
    }
    if expected.certificates.is_empty() {
        return Err(SamlError::Misconfigured(
            "no signing certificate for the identity provider".into(),
        ));
    }
    let issuer = match expected.idp_entity_id {
        Some(id) => id.to_owned(),
        None => issuer_named(xml).ok_or_else(|| invalid("no Issuer"))?,
    };
    let sp = ServiceProvider {
        entity_id: Some(expected.sp_entity_id.to_owned()),
        acs_url: Some(expected.acs_url.to_owned()),
        idp_metadata: idp_metadata(&issuer, expected.certificates)?,
        allow_idp_initiated: expected.request_ids.is_none(),
        // samael's defaults: assertions at most 90 s old, 180 s of clock skew.
        allowed_signature_algorithms: Some(vec![AllowedSignatureAlgorithm::RsaSha256]),
        ..ServiceProvider::default()
    };
    // Certificates samael did not take from the metadata would mean an unsigned pass.
    match sp.idp_signing_certs() {
        Ok(Some(certs)) if certs.len() == expected.certificates.len() => {}
        _ => {
            return Err(SamlError::Misconfigured(
                "unreadable signing certificate".into(),
            ));
        }
    }
    // samael's error holds a non-Send box: made text at once.
    let assertion = sp
        .parse_xml_response(xml, expected.request_ids)
        .map_err(|e| invalid(e.to_string()))?;
    conditions_hold(&assertion, expected)
}

/// What samael leaves optional, required.
fn conditions_hold(a: &Assertion, expected: &Expected<'_>) -> Result<Verified, SamlError> {
    if a.issue_instant.timestamp() > expected.now + SKEW {
        return Err(invalid("the assertion is issued in the future"));
    }
    let conditions = a
        .conditions
        .as_ref()
        .ok_or_else(|| invalid("the assertion has no conditions"))?;
    let expires_at = conditions
        .not_on_or_after
        .ok_or_else(|| invalid("the assertion has no NotOnOrAfter"))?
        .timestamp();
    let for_us = conditions.audience_restrictions.iter().flatten().any(|r| {
        r.audience
            .iter()
            .any(|audience| audience == expected.sp_entity_id)
    });
    if !for_us {
        return Err(invalid("the assertion is not for this service provider"));
    }
    let name = a
        .subject
        .as_ref()
        .and_then(|s| s.name_id.as_ref())
        .filter(|n| !n.value.trim().is_empty())
        .ok_or_else(|| invalid("the assertion names no subject"))?;
    let attributes = a
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| &s.attributes)
        .filter_map(|attr| {
            let name = attr.name.clone()?;
            let values = attr.values.iter().filter_map(|v| v.value.clone()).collect();
            Some((name, values))
        })
        .collect();
    Ok(Verified {
        assertion_id: a.id.clone(),
        issuer: a.issuer.value.clone(),
        name_id: name.value.trim().to_owned(),
        name_id_format: name.format.clone(),
        attributes,
        session_index: a
            .authn_statements
            .iter()
            .flatten()
            .find_map(|s| s.session_index.clone()),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::issue::{self, Issue};

    const SP: &str = "urn:auth0:gatehouse:corp";
    const ACS: &str = "https://gh.example/login/callback?connection=corp";
    const IDP: &str = "https://idp.example/metadata";

    struct Keys {
        pkcs8: Vec<u8>,
        certificate: Vec<u8>,
    }

    fn keys() -> Keys {
        let pkcs8 = crate::signing::generate_private_key().expect("key");
        let certificate = crate::signing::self_signed_certificate(&pkcs8).expect("certificate");
        Keys { pkcs8, certificate }
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    /// A response about `name_id` for `audience`, its assertion signed by `by`.
    fn signed(by: &Keys, name_id: &str, audience: &str) -> String {
        signed_with(by, name_id, audience, |_| {})
    }

    /// The same, with `change` made to what is issued first.
    fn signed_with(
        by: &Keys,
        name_id: &str,
        audience: &str,
        change: impl FnOnce(&mut Issue<'_>),
    ) -> String {
        let attributes = [(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".to_owned(),
            vec![name_id.to_owned()],
        )];
        let mut issue = Issue {
            issuer: IDP,
            ids: ("_resp1", "_a1"),
            name_id,
            name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            audience,
            recipient: ACS,
            in_response_to: Some("_req1"),
            attributes: &attributes,
            session_index: "_s1",
            now: now(),
            lifetime: 300,
            ..Issue::default()
        };
        change(&mut issue);
        issue::response(&issue, &by.pkcs8, &by.certificate).expect("issue")
    }

    fn expected<'a>(certs: &'a [Vec<u8>], ids: &'a [&'a str]) -> Expected<'a> {
        Expected {
            sp_entity_id: SP,
            acs_url: ACS,
            idp_entity_id: Some(IDP),
            certificates: certs,
            request_ids: Some(ids),
            now: now(),
        }
    }

    fn refusal(xml: &str, e: &Expected<'_>) -> String {
        response(xml, e).expect_err("refused").to_string()
    }

    #[test]
    fn a_signed_assertion_for_us_is_accepted() {
        let idp = keys();
        let certs = [idp.certificate.clone()];
        let xml = signed(&idp, "ada@corp.example", SP);
        let v = response(&xml, &expected(&certs, &["_req1"])).expect("accepted");
        assert_eq!(v.name_id, "ada@corp.example");
        assert_eq!(v.assertion_id, "_a1");
        assert_eq!(v.session_index.as_deref(), Some("_s1"));
        assert_eq!(v.attributes[0].1, vec!["ada@corp.example".to_owned()]);
        // The issuer may be left to the signed assertion when none is configured.
        let mut e = expected(&certs, &["_req1"]);
        e.idp_entity_id = None;
        assert!(response(&xml, &e).is_ok());
    }

    #[test]
    fn another_key_another_audience_or_request_is_refused() {
        let idp = keys();
        let stranger = keys();
        let certs = [idp.certificate.clone()];
        let forged = signed(&stranger, "ada@corp.example", SP);
        let e = refusal(&forged, &expected(&certs, &["_req1"]));
        assert!(e.contains("signed"), "{e}");
        let elsewhere = signed(&idp, "ada@corp.example", "urn:someone-else");
        let e = refusal(&elsewhere, &expected(&certs, &["_req1"]));
        assert!(e.contains("Audience"), "{e}");
        let good = signed(&idp, "ada@corp.example", SP);
        let e = refusal(&good, &expected(&certs, &["_other"]));
        assert!(e.contains("InResponseTo"), "{e}");
        let e = refusal(&good, &expected(&[], &["_req1"]));
        assert!(e.contains("no signing certificate"), "{e}");
        let mut other = expected(&certs, &["_req1"]);
        other.idp_entity_id = Some("https://other.example/");
        let e = refusal(&good, &other);
        assert!(e.contains("Issuer"), "{e}");
    }

    #[test]
    fn unsigned_assertions_are_refused() {
        let idp = keys();
        let certs = [idp.certificate.clone()];
        let good = signed(&idp, "ada@corp.example", SP);
        let start = good.find("<ds:Signature").expect("signature");
        let end = good.find("</ds:Signature>").expect("end") + "</ds:Signature>".len();
        let unsigned = format!("{}{}", &good[..start], &good[end..]);
        let e = refusal(&unsigned, &expected(&certs, &["_req1"]));
        assert!(e.contains("signed"), "{e}");
    }

    #[test]
    fn a_wrapped_unsigned_assertion_is_never_what_we_read() {
        let idp = keys();
        let certs = [idp.certificate.clone()];
        let good = signed(&idp, "ada@corp.example", SP);
        // An attacker adds an unsigned assertion about someone else before the signed one.
        let start = good.find("<saml:Assertion").expect("assertion");
        let end = good.find("</saml:Assertion>").expect("end") + "</saml:Assertion>".len();
        let evil = good[start..end]
            .replace("ada@corp.example", "admin@corp.example")
            .replace("ID=\"_a1\"", "ID=\"_evil\"");
        let sig_start = evil.find("<ds:Signature").expect("signature");
        let sig_end = evil.find("</ds:Signature>").expect("end") + "</ds:Signature>".len();
        let evil = format!("{}{}", &evil[..sig_start], &evil[sig_end..]);
        let wrapped = format!("{}{evil}{}", &good[..start], &good[start..]);
        let read = response(&wrapped, &expected(&certs, &["_req1"])).expect("the signed one");
        assert_eq!(read.name_id, "ada@corp.example");
        // The signed assertion's text changed (a comment inside NameID): refused.
        let commented = good.replace(
            "ada@corp.example</saml:NameID>",
            "ada@corp.example<!---->.evil.test</saml:NameID>",
        );
        let e = refusal(&commented, &expected(&certs, &["_req1"]));
        assert!(e.contains("signed"), "{e}");
        let tampered = good.replace(
            ">ada@corp.example</saml:NameID>",
            ">admin@corp.example</saml:NameID>",
        );
        let e = refusal(&tampered, &expected(&certs, &["_req1"]));
        assert!(e.contains("signed"), "{e}");
    }

    #[test]
    fn doctypes_are_refused_before_xmlsec() {
        let idp = keys();
        let certs = [idp.certificate.clone()];
        let good = signed(&idp, "ada@corp.example", SP);
        let with_doctype =
            format!("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>{good}");
        let e = refusal(&with_doctype, &expected(&certs, &["_req1"]));
        assert!(e.contains("DOCTYPE"), "{e}");
    }

    #[test]
    fn expired_and_future_assertions_are_refused() {
        let idp = keys();
        let certs = [idp.certificate.clone()];
        let expired = signed_with(&idp, "ada@corp.example", SP, |i| i.now = now() - 1000);
        assert!(response(&expired, &expected(&certs, &["_req1"])).is_err());
        let future = signed_with(&idp, "ada@corp.example", SP, |i| i.now = now() + 1000);
        assert!(response(&future, &expected(&certs, &["_req1"])).is_err());
        // Within the skew either way, accepted.
        let skewed = signed_with(&idp, "ada@corp.example", SP, |i| i.now = now() + 20);
        response(&skewed, &expected(&certs, &["_req1"])).expect("small skew");
    }

    #[test]
    fn another_recipient_or_destination_is_refused() {
        let idp = keys();
        let certs = [idp.certificate.clone()];
        let elsewhere = "https://elsewhere.example/acs";
        let recipient = signed_with(&idp, "ada@corp.example", SP, |i| {
            i.recipient = elsewhere;
            i.destination = Some(ACS);
        });
        assert!(response(&recipient, &expected(&certs, &["_req1"])).is_err());
        let destination = signed_with(&idp, "ada@corp.example", SP, |i| {
            i.destination = Some(elsewhere);
        });
        assert!(response(&destination, &expected(&certs, &["_req1"])).is_err());
    }

    #[test]
    fn a_signed_response_with_an_injected_assertion_is_refused() {
        let idp = keys();
        let certs = [idp.certificate.clone()];
        let good = signed_with(&idp, "ada@corp.example", SP, |i| i.sign_response = true);
        let read = response(&good, &expected(&certs, &["_req1"])).expect("signed response");
        assert_eq!(read.name_id, "ada@corp.example");
        // An unsigned assertion about someone else, added inside the signed response.
        let start = good.find("<saml:Assertion").expect("assertion");
        let end = good.find("</saml:Assertion>").expect("end") + "</saml:Assertion>".len();
        let evil = good[start..end]
            .replace("ada@corp.example", "admin@corp.example")
            .replace("ID=\"_a1\"", "ID=\"_evil\"");
        for injected in [
            format!("{}{evil}{}", &good[..start], &good[start..]),
            format!("{}{evil}{}", &good[..end], &good[end..]),
            format!("{}{evil}{}", &good[..start], &good[end..]),
        ] {
            let outcome = response(&injected, &expected(&certs, &["_req1"]));
            assert!(outcome.is_err(), "the signed response changed: {outcome:?}");
        }
    }

    #[test]
    fn issued_text_is_escaped_not_injected() {
        let idp = keys();
        let certs = [idp.certificate.clone()];
        let sneaky = "x</saml:NameID><saml:NameID>admin@corp.example";
        let xml = signed(&idp, sneaky, SP);
        let v = response(&xml, &expected(&certs, &["_req1"])).expect("accepted");
        assert_eq!(v.name_id, sneaky);
    }
}
