//! What an untrusted SAML document must not contain before libxmlsec1 reads it. xmlsec
//! dereferences any `Reference URI` (http, file) and runs any transform (XSLT, XPath) named
//! in a signature *before* the signature is known to be good, and libxml2 accepts DOCTYPEs;
//! samael restricts neither. So: no DOCTYPE or processing instruction, references only to
//! an element of the same document (`#id`), only the enveloped-signature and canonicalization
//! transforms, RSA-SHA256 and SHA-256 only, no `RetrievalMethod`, `Manifest` or `Object`, no
//! encrypted assertions (not supported), at most two signatures, and a size cap.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::SamlError;

/// The largest SAML document read (a response with many attributes is tens of KB).
pub const MAX_DOCUMENT: usize = 512 * 1024;

const TRANSFORMS: &[&str] = &[
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
];
const SIGNATURE_METHODS: &[&str] = &["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"];
const DIGEST_METHODS: &[&str] = &["http://www.w3.org/2001/04/xmlenc#sha256"];
/// Elements that make a verifier fetch, or wrap content we would not read.
const FORBIDDEN: &[&str] = &[
    "RetrievalMethod",
    "Manifest",
    "Object",
    "XPath",
    "XSLT",
    "EncryptedAssertion",
];

fn refuse(why: impl Into<String>) -> SamlError {
    SamlError::Refused(why.into())
}

fn attribute(e: &BytesStart<'_>, name: &[u8]) -> Result<Option<String>, SamlError> {
    for a in e.attributes() {
        let a = a.map_err(|_| refuse("a malformed attribute"))?;
        if a.key.local_name().as_ref() == name {
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|_| refuse("a malformed attribute value"))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn algorithm_in(e: &BytesStart<'_>, allowed: &[&str], what: &str) -> Result<(), SamlError> {
    match attribute(e, b"Algorithm")? {
        Some(a) if allowed.contains(&a.as_str()) => Ok(()),
        other => Err(refuse(format!(
            "{what} {} is not accepted",
            other.unwrap_or_default()
        ))),
    }
}

fn check_element(e: &BytesStart<'_>, signatures: &mut usize) -> Result<(), SamlError> {
    let local = e.local_name();
    let name = std::str::from_utf8(local.as_ref()).map_err(|_| refuse("a non-UTF-8 name"))?;
    if FORBIDDEN.contains(&name) {
        return Err(refuse(format!("{name} is not accepted")));
    }
    match name {
        "Signature" => {
            *signatures += 1;
            if *signatures > 2 {
                return Err(refuse("more than two signatures"));
            }
        }
        "Reference" => {
            let uri = attribute(e, b"URI")?.unwrap_or_default();
            let same_document = uri.strip_prefix('#').is_some_and(|id| {
                !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            });
            if !same_document {
                return Err(refuse(format!(
                    "a signature reference to {uri:?} (only #id is accepted)"
                )));
            }
        }
        "Transform" => algorithm_in(e, TRANSFORMS, "the transform")?,
        "CanonicalizationMethod" => algorithm_in(e, &TRANSFORMS[1..], "the canonicalization")?,
        "SignatureMethod" => algorithm_in(e, SIGNATURE_METHODS, "the signature algorithm")?,
        "DigestMethod" => algorithm_in(e, DIGEST_METHODS, "the digest algorithm")?,
        _ => {}
    }
    Ok(())
}

/// `Ok` when `xml` may be handed to xmlsec.
pub fn check(xml: &str) -> Result<(), SamlError> {
    if xml.len() > MAX_DOCUMENT {
        return Err(refuse("the document is too large"));
    }
    let mut reader = Reader::from_str(xml);
    let mut signatures = 0;
    let mut seen_root = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                seen_root = true;
                check_element(&e, &mut signatures)?;
            }
            Ok(Event::DocType(_)) => return Err(refuse("a DOCTYPE")),
            Ok(Event::PI(_)) => return Err(refuse("a processing instruction")),
            Ok(Event::Decl(_)) if seen_root => return Err(refuse("a late XML declaration")),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return Err(refuse("the document is not well-formed XML")),
        }
    }
    if seen_root {
        Ok(())
    } else {
        Err(refuse("an empty document"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(reference: &str, transform: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1">
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
<ds:Reference URI="{reference}"><ds:Transforms><ds:Transform Algorithm="{transform}"/></ds:Transforms>
<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>x</ds:DigestValue></ds:Reference>
</ds:SignedInfo><ds:SignatureValue>x</ds:SignatureValue></ds:Signature></samlp:Response>"#
        )
    }

    const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

    #[test]
    fn a_plain_signed_response_passes() {
        check(&signed("#_r1", ENVELOPED)).expect("accepted");
    }

    #[test]
    fn what_would_make_xmlsec_fetch_or_run_code_is_refused() {
        for (doc, why) in [
            (signed("http://127.0.0.1:9/ref", ENVELOPED), "reference"),
            (signed("file:///etc/passwd", ENVELOPED), "reference"),
            (signed("", ENVELOPED), "reference"),
            (
                signed("#_r1", "http://www.w3.org/TR/1999/REC-xslt-19991116"),
                "transform",
            ),
            (
                signed("#_r1", "http://www.w3.org/TR/1999/REC-xpath-19991116"),
                "transform",
            ),
            (
                signed("#_r1", ENVELOPED).replace(
                    "<ds:SignatureValue>",
                    "<ds:KeyInfo><ds:RetrievalMethod URI=\"http://x/\"/></ds:KeyInfo><ds:SignatureValue>",
                ),
                "RetrievalMethod",
            ),
            (
                signed("#_r1", ENVELOPED).replace("xmldsig-more#rsa-sha256", "xmldsig#rsa-sha1"),
                "signature algorithm",
            ),
            (
                signed("#_r1", ENVELOPED).replace("xmlenc#sha256", "xmldsig#sha1"),
                "digest",
            ),
        ] {
            let e = check(&doc).expect_err(why).to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
    }

    #[test]
    fn doctypes_entities_and_instructions_are_refused() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>"#;
        assert!(check(laughs).is_err());
        let xxe = r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]><r>&x;</r>"#;
        assert!(check(xxe).is_err());
        assert!(check("<?xml-stylesheet href=\"x\"?><r/>").is_err());
        assert!(check("").is_err());
        assert!(check("<r><unclosed></r>").is_err());
        let huge = format!("<r>{}</r>", "a".repeat(MAX_DOCUMENT));
        assert!(check(&huge).is_err());
    }

    #[test]
    fn three_signatures_are_too_many() {
        let one = signed("#_r1", ENVELOPED);
        let inner = &one
            [one.find("<ds:Signature").expect("sig")..one.find("</samlp:Response>").expect("end")];
        let three = one.replace(
            "</samlp:Response>",
            &format!("{inner}{inner}</samlp:Response>"),
        );
        assert!(
            check(&three)
                .expect_err("refused")
                .to_string()
                .contains("two")
        );
    }
}
