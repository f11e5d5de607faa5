//! gatehouse as a SAML identity provider, the parts applications read before any login:
//! the signing certificate at `/pem` and `/cer` (the current signing key's, so it follows a
//! rotation) and an application's IdP metadata at `/samlp/metadata/<client_id>`, with
//! Auth0's issuer `urn:<tenant>.auth0.com` (or the `samlp` add-on's `issuer`) so that a
//! service provider configured for Auth0 keeps working after a move. Logins are `sso.rs`,
//! single logout `logout.rs`, reading the providers' messages `request.rs`.

pub mod logout;
pub mod request;
pub mod sso;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::id::ClientId;

use crate::AppState;
use crate::error::OAuthError;

fn with_type(body: impl IntoResponse, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// The current signing key's certificate (DER).
fn certificate(state: &AppState) -> Vec<u8> {
    state.keys.get().current.xml_signing().1.to_vec()
}

/// `GET /pem`: the signing certificate as PEM.
pub async fn pem(State(state): State<AppState>) -> Response {
    let b64 = STANDARD.encode(certificate(&state));
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    with_type(pem, "application/x-pem-file")
}

/// `GET /cer`: the signing certificate as DER.
pub async fn cer(State(state): State<AppState>) -> Response {
    with_type(certificate(&state), "application/pkix-cert")
}

/// `GET /samlp/metadata/{client_id}`.
pub async fn metadata(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
) -> Result<Response, OAuthError> {
    let Some(client) = state
        .catalog
        .client(&ClientId::from(client_id.as_str()))
        .await?
    else {
        return Ok((StatusCode::NOT_FOUND, "Unknown client").into_response());
    };
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let sso = format!("{}samlp/{}", state.issuer, client.client_id);
    let xml = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">"#,
            r#"<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
            r#"<ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#,
            r#"</md:KeyDescriptor>"#,
            r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}/logout"/>"#,
            r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sso}/logout"/>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>"#,
            r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}"/>"#,
            r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sso}"/>"#,
            r#"</md:IDPSSODescriptor></md:EntityDescriptor>"#
        ),
        entity = esc(&crate::authn::saml_reply::issuer_for(&state, &client)),
        cert = STANDARD.encode(certificate(&state)),
        sso = esc(&sso),
    );
    Ok(with_type(xml, "application/samlmetadata+xml"))
}
