//! Making a signed SAML Response (the identity-provider side): one assertion about a subject
//! for one audience, its text escaped (samael's own builder writes text unescaped, so a
//! user's attribute could inject XML into what we sign), signed with RSA-SHA256 by libxmlsec1.
//! Blocking (xmlsec).

use quick_xml::escape::escape;

use super::{SamlError, sign, signature_template};

/// One assertion to issue.
#[derive(Default)]
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
    /// The response's `Destination` when not the recipient.
    pub destination: Option<&'a str>,
    /// The `AuthnContextClassRef` (empty: password-protected transport).
    pub authn_context: &'a str,
    /// Sign the response instead of the assertion (Auth0's `signResponse`).
    pub sign_response: bool,
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

/// The Response, its assertion (or, with `sign_response`, the response itself) signed by
/// `pkcs8` (RSA, PKCS#8 DER) with `certificate` (DER) in the signature's key info.
pub fn response(issue: &Issue<'_>, pkcs8: &[u8], certificate: &[u8]) -> Result<String, SamlError> {
    let (response_id, assertion_id) = issue.ids;
    let in_response_to = in_response_to(issue.in_response_to);
    let attributes: String = issue
        .attributes
        .iter()
        .map(|(name, values)| {
            let values: String = values
                .iter()
                .map(|v| format!("<saml:AttributeValue>{}</saml:AttributeValue>", escape(v)))
                .collect();
            format!(
                r#"<saml:Attribute Name="{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">{values}</saml:Attribute>"#,
                escape(name)
            )
        })
        .collect();
    let attributes = if attributes.is_empty() {
        attributes
    } else {
        format!("<saml:AttributeStatement>{attributes}</saml:AttributeStatement>")
    };
    let authn_context = if issue.authn_context.is_empty() {
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    } else {
        issue.authn_context
    };
    let (issued, until) = (iso(issue.now), iso(issue.now + issue.lifetime));
    let assertion_signature = if issue.sign_response {
        String::new()
    } else {
        signature_template(assertion_id, certificate)
    };
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
            r#"<saml:AuthnContextClassRef>{context}</saml:AuthnContextClassRef></saml:AuthnContext>"#,
            r#"</saml:AuthnStatement>{attributes}</saml:Assertion>"#
        ),
        id = escape(assertion_id),
        issued = issued,
        issuer = escape(issue.issuer),
        signature = assertion_signature,
        format = escape(issue.name_id_format),
        name_id = escape(issue.name_id),
        irt = in_response_to,
        until = until,
        recipient = escape(issue.recipient),
        audience = escape(issue.audience),
        session = escape(issue.session_index),
        context = escape(authn_context),
        attributes = attributes,
    );
    let assertion = if issue.sign_response {
        assertion
    } else {
        without_declaration(&sign(&assertion, pkcs8)?)
    };
    let response_signature = if issue.sign_response {
        signature_template(response_id, certificate)
    } else {
        String::new()
    };
    let response = format!(
        concat!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{issued}" Destination="{destination}"{irt}>"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>{signature}<samlp:Status><samlp:StatusCode "#,
            r#"Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}"#,
            r#"</samlp:Response>"#
        ),
        id = escape(response_id),
        issued = issued,
        destination = escape(issue.destination.unwrap_or(issue.recipient)),
        irt = in_response_to,
        issuer = escape(issue.issuer),
        signature = response_signature,
        assertion = assertion,
    );
    if issue.sign_response {
        Ok(without_declaration(&sign(&response, pkcs8)?))
    } else {
        Ok(response)
    }
}

fn in_response_to(id: Option<&str>) -> String {
    id.map(|id| format!(r#" InResponseTo="{}""#, escape(id)))
        .unwrap_or_default()
}

/// xmlsec writes an XML declaration, which may not sit inside another element.
fn without_declaration(signed: &str) -> String {
    let body = match signed.trim_start().strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(rest, |(_, after)| after),
        None => signed,
    };
    body.trim().to_owned()
}

/// A protocol message without an assertion (a failed Response, a LogoutResponse).
pub struct Status<'a> {
    /// `Response` or `LogoutResponse`.
    pub element: &'a str,
    /// Our entity id.
    pub issuer: &'a str,
    /// The message's id.
    pub id: &'a str,
    /// Where it goes.
    pub destination: &'a str,
    /// The request answered.
    pub in_response_to: Option<&'a str>,
    /// The top-level status (`Success`, `Responder`, `Requester`).
    pub status: &'a str,
    /// A second-level status (`AuthnFailed`, `NoPassive`, ...).
    pub detail: Option<&'a str>,
    /// A human-readable message.
    pub message: Option<&'a str>,
    /// Issue time.
    pub now: i64,
}

/// The message, signed by `pkcs8` (an SP may insist on signed LogoutResponses) with
/// `certificate` in the key info.
pub fn status(s: &Status<'_>, pkcs8: &[u8], certificate: &[u8]) -> Result<String, SamlError> {
    const STATUS: &str = "urn:oasis:names:tc:SAML:2.0:status:";
    let code = match s.detail {
        Some(d) => format!(
            r#"<samlp:StatusCode Value="{STATUS}{}"><samlp:StatusCode Value="{STATUS}{}"/></samlp:StatusCode>"#,
            escape(s.status),
            escape(d)
        ),
        None => format!(
            r#"<samlp:StatusCode Value="{STATUS}{}"/>"#,
            escape(s.status)
        ),
    };
    let message = s
        .message
        .map(|m| format!("<samlp:StatusMessage>{}</samlp:StatusMessage>", escape(m)))
        .unwrap_or_default();
    let xml = format!(
        concat!(
            r#"<samlp:{element} xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{issued}" Destination="{destination}"{irt}>"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>{signature}<samlp:Status>{code}{message}</samlp:Status>"#,
            r#"</samlp:{element}>"#
        ),
        element = s.element,
        id = escape(s.id),
        issued = iso(s.now),
        destination = escape(s.destination),
        irt = in_response_to(s.in_response_to),
        issuer = escape(s.issuer),
        signature = signature_template(s.id, certificate),
        code = code,
        message = message,
    );
    Ok(without_declaration(&sign(&xml, pkcs8)?))
}
