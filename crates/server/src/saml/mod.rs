//! SAML 2.0. XML signatures are checked and made by libxmlsec1 through the `samael` crate,
//! never by our own canonicalizer; this module wraps it in the guards it lacks
//! (ARCHITECTURE.md, "saml/"): `precheck.rs` refuses, before xmlsec sees a document, what would
//! make it fetch URLs or files, run transforms or expand entities; `verify.rs` accepts a
//! Response only when a certificate we hold signed what we read, and checks what samael
//! leaves optional (audience, expiry, issue time); `certificate.rs` reads certificates in the
//! shapes Auth0 stores them; `issue.rs` makes signed responses (gatehouse as an identity
//! provider, and the tests' stand-in providers).

pub mod certificate;
pub mod issue;
pub mod metadata;
pub mod precheck;
pub mod verify;

use samael::crypto::{Crypto, CryptoProvider};

/// Why a SAML message was refused; the text is for logs and the application's
/// `error_description`.
#[derive(Debug, thiserror::Error)]
pub enum SamlError {
    /// The document is not one we read (size, DOCTYPE, external references, transforms).
    #[error("the SAML message is not acceptable: {0}")]
    Refused(String),
    /// The signature or a condition does not hold.
    #[error("the SAML response is not valid: {0}")]
    Invalid(String),
    /// The connection cannot be used as configured.
    #[error("the SAML connection is misconfigured: {0}")]
    Misconfigured(String),
}

/// An enveloped RSA-SHA256 / SHA-256 signature template for the element whose `ID` is `id`,
/// carrying `certificate` (DER), to put where the signature goes before `sign`.
pub fn signature_template(id: &str, certificate: &[u8]) -> String {
    format!(
        concat!(
            r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>"#,
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
            r##"<ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>"#,
            r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
            r#"<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"#,
            r#"<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data>"#,
            r#"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#,
            r#"</ds:Signature>"#
        ),
        id = quick_xml::escape::escape(id),
        cert = certificate::base64(certificate),
    )
}

/// Fills the first signature template of `xml` with a signature by `pkcs8` (an RSA key as
/// PKCS#8 DER), through libxmlsec1. Blocking.
pub fn sign(xml: &str, pkcs8: &[u8]) -> Result<String, SamlError> {
    Crypto::sign_xml(xml, pkcs8).map_err(|e| SamlError::Misconfigured(format!("signing: {e}")))
}
