//! Making a signed SAML Response (the identity-provider side): one assertion about a subject
//! for one audience, its text escaped (samael's own builder writes text unescaped, so a
//! user's attribute could inject XML into what we sign), signed with RSA-SHA256 by libxmlsec1.
//! Blocking (xmlsec).

use quick_xml::escape::escape;

use super::{SamlError, sign, signature_template};

/// One assertion to issue.
pub struct Issue<'a> {
    /// Our entity id (the `Issuer`).
    pub issuer: &'a str,
    /// The response's and assertion's ids.
    pub ids: (&'a str, &'a str),
    /// The subject.
    pub name_id: &'a str,
    /// The subject's `NameID` format.
    pub name_id_format: &'a str,
    /// The service provider's entity id (the audience).
    pub audience: &'a str,
    /// Where the response goes (`Destination`, `Recipient`).
    pub recipient: &'a str,
    /// The AuthnRequest answered, if any (none: IdP-initiated).
    pub in_response_to: Option<&'a str>,
    /// Attributes by name.
    pub attributes: &'a [(String, Vec<String>)],
    /// The session's index, for logout.
    pub session_index: &'a str,
    /// Issue time and lifetime (seconds).
    pub now: i64,
    /// How long the assertion is good for (seconds).
    pub lifetime: i64,
}

fn iso(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The Response, its assertion signed by `pkcs8` (RSA, PKCS#8 DER) with `certificate` (DER)
/// in the signature's key info.
pub fn response(issue: &Issue<'_>, pkcs8: &[u8], certificate: &[u8]) -> Result<String, SamlError> {
    let (response_id, assertion_id) = issue.ids;
    let in_response_to = issue
        .in_response_to
        .map(|id| format!(r#" InResponseTo="{}""#, escape(id)))
        .unwrap_or_default();
    let attributes: String = issue
        .attributes
        .iter()
        .map(|(name, values)| {
            let values: String = values
                .iter()
                .map(|v| format!("<saml:AttributeValue>{}</saml:AttributeValue>", escape(v)))
                .collect();
            format!(
                r#"<saml:Attribute Name="{}">{values}</saml:Attribute>"#,
                escape(name)
            )
        })
        .collect();
    let (issued, until) = (iso(issue.now), iso(issue.now + issue.lifetime));
    let assertion = format!(
        concat!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" "#,
            r#"Version="2.0" IssueInstant="{issued}"><saml:Issuer>{issuer}</saml:Issuer>{signature}"#,
            r#"<saml:Subject><saml:NameID Format="{format}">{name_id}</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
            r#"<saml:SubjectConfirmationData{irt} NotOnOrAfter="{until}" Recipient="{recipient}"/>"#,
            r#"</saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{issued}" NotOnOrAfter="{until}"><saml:AudienceRestriction>"#,
            r#"<saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="{issued}" SessionIndex="{session}"><saml:AuthnContext>"#,
            r#"<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"#,
            r#"</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
            r#"<saml:AttributeStatement>{attributes}</saml:AttributeStatement></saml:Assertion>"#
        ),
        id = escape(assertion_id),
        issued = issued,
        issuer = escape(issue.issuer),
        signature = signature_template(assertion_id, certificate),
        format = escape(issue.name_id_format),
        name_id = escape(issue.name_id),
        irt = in_response_to,
        until = until,
        recipient = escape(issue.recipient),
        audience = escape(issue.audience),
        session = escape(issue.session_index),
        attributes = attributes,
    );
    let signed = sign(&assertion, pkcs8)?;
    // xmlsec writes an XML declaration, which may not sit inside the response.
    let signed = match signed.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(rest, |(_, after)| after),
        None => signed.as_str(),
    };
    Ok(format!(
        concat!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{issued}" Destination="{recipient}"{irt}>"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode "#,
            r#"Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}"#,
            r#"</samlp:Response>"#
        ),
        id = escape(response_id),
        issued = issued,
        recipient = escape(issue.recipient),
        irt = in_response_to,
        issuer = escape(issue.issuer),
        assertion = signed.trim(),
    ))
}
