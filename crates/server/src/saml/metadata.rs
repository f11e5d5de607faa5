//! Reading an identity provider's SAML metadata (what Auth0 takes as `metadataXml` or
//! `metadataUrl`): its entity id, sign-in and sign-out endpoints (HTTP-Redirect preferred,
//! as gatehouse sends requests that way) and signing certificates.

use samael::metadata::{Endpoint, EntityDescriptor};

use super::{SamlError, precheck};

const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// What the metadata says of the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpDescription {
    /// Its entity id.
    pub entity_id: Option<String>,
    /// Where AuthnRequests go.
    pub sign_in: String,
    /// Where LogoutRequests go, if anywhere.
    pub sign_out: Option<String>,
    /// Its signing certificates, base64 DER.
    pub certificates: Vec<String>,
}

fn pick(endpoints: &[Endpoint]) -> Option<String> {
    endpoints
        .iter()
        .find(|e| e.binding == REDIRECT)
        .or_else(|| endpoints.first())
        .map(|e| e.location.clone())
}

/// The provider described by `xml`.
pub fn read(xml: &str) -> Result<IdpDescription, SamlError> {
    precheck::check(xml)?;
    let entity: EntityDescriptor = xml
        .parse()
        .map_err(|e| SamlError::Refused(format!("not SAML metadata: {e}")))?;
    let idp = entity
        .idp_sso_descriptors
        .as_ref()
        .and_then(|d| d.first())
        .ok_or_else(|| SamlError::Refused("no IDPSSODescriptor".into()))?;
    let sign_in = pick(&idp.single_sign_on_services)
        .ok_or_else(|| SamlError::Refused("no SingleSignOnService".into()))?;
    let certificates: Vec<String> = idp
        .key_descriptors
        .iter()
        .filter(|k| k.key_use.as_deref().is_none_or(|u| u == "signing"))
        .filter_map(|k| k.key_info.x509_data.as_ref())
        .flat_map(|d| d.certificates.iter())
        .map(|c| c.chars().filter(|c| !c.is_whitespace()).collect())
        .collect();
    if certificates.is_empty() {
        return Err(SamlError::Refused("no signing certificate".into()));
    }
    Ok(IdpDescription {
        entity_id: entity.entity_id.clone(),
        sign_in,
        sign_out: pick(&idp.single_logout_services),
        certificates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_okta_style_document() {
        let pkcs8 = crate::signing::generate_private_key().expect("key");
        let der = crate::signing::self_signed_certificate(&pkcs8).expect("certificate");
        let b64 = super::super::certificate::base64(&der);
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exk1"><md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>
{b64}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.okta.com/app/sso/saml"/><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://acme.okta.com/app/sso/saml?redirect"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
        );
        let d = read(&xml).expect("read");
        assert_eq!(d.entity_id.as_deref(), Some("http://www.okta.com/exk1"));
        assert_eq!(d.sign_in, "https://acme.okta.com/app/sso/saml?redirect");
        assert_eq!(d.sign_out, None);
        assert_eq!(d.certificates, vec![b64]);
        assert!(
            read("<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>")
                .is_err()
        );
        assert!(read(&format!("<!DOCTYPE x>{xml}")).is_err());
    }
}
