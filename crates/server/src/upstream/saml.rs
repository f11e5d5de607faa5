//! SAML identity providers (`samlp` connections) as upstreams. `start` sends the browser to
//! the provider's `signInEndpoint` with an AuthnRequest (HTTP-Redirect binding) whose `ID` is
//! the pending login's nonce, and the sealed pending login as `RelayState`; the provider
//! posts its Response to `<issuer>login/callback?connection=<name>`, where `authenticate`
//! verifies it (`crate::saml::verify`, off the async threads), uses the assertion id once,
//! and maps its attributes (`fieldsMap`, Auth0's defaults).

use std::io::Write;

use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::connection::Connection;
use gatehouse_core::saml::{HTTP_POST, SamlOptions};

use super::http::UpstreamError;
use super::provider::{Authenticated, TokenSet};
use super::{Pending, set_binding_cookie};

use crate::AppState;
use crate::authn::response::error_to_client;
use crate::authn::transaction::Transaction;
use crate::error::OAuthError;
use crate::saml::{certificate, precheck, verify};

/// Where providers post responses for `connection` (Auth0's ACS URL).
pub fn acs_url(state: &AppState, connection: &str) -> String {
    let name: String = url::form_urlencoded::byte_serialize(connection.as_bytes()).collect();
    format!("{}login/callback?connection={name}", state.issuer)
}

/// Our entity id at the provider of `connection`.
pub fn sp_entity_id(state: &AppState, connection: &Connection, options: &SamlOptions) -> String {
    options.sp_entity_id(&state.config.tenant_name, &connection.name)
}

fn options(connection: &Connection) -> Result<SamlOptions, UpstreamError> {
    SamlOptions::of(connection)
        .ok_or_else(|| UpstreamError::Misconfigured("not a SAML connection".into()))
}

/// Now, to the second, as SAML's `IssueInstant`.
fn issue_instant(state: &AppState) -> Result<String, UpstreamError> {
    let now = state.clock.now();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| UpstreamError::Invalid(e.to_string()))
}

/// The connection's options and its `signOutEndpoint`, checked like every upstream URL; an
/// error when it has none.
fn sign_out(
    state: &AppState,
    connection: &Connection,
) -> Result<(SamlOptions, String), UpstreamError> {
    let options = options(connection)?;
    let destination = options
        .sign_out_endpoint
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| UpstreamError::Misconfigured("no signOutEndpoint".into()))?;
    state.upstreams.http.check_url(&destination)?;
    Ok((options, destination))
}

/// The AuthnRequest `request_id` for `connection`; `force_authn` (the application asked for
/// `prompt=login`) makes the provider log the user in again rather than answer from its
/// session, as `prompt=login` does at an OpenID provider.
fn authn_request(
    state: &AppState,
    connection: &Connection,
    options: &SamlOptions,
    destination: &str,
    request_id: &str,
    force_authn: bool,
) -> Result<String, UpstreamError> {
    let issued = issue_instant(state)?;
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let xml = format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{issued}" Destination="{destination}"{force} "#,
            r#"ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" "#,
            r#"AssertionConsumerServiceURL="{acs}"><saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:NameIDPolicy AllowCreate="true" "#,
            r#"Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"/>"#,
            r#"</samlp:AuthnRequest>"#
        ),
        id = esc(request_id),
        issued = issued,
        destination = esc(destination),
        force = if force_authn {
            r#" ForceAuthn="true""#
        } else {
            ""
        },
        acs = esc(&acs_url(state, &connection.name)),
        issuer = esc(&sp_entity_id(state, connection, options)),
    );
    Ok(xml)
}

/// A protocol message as the HTTP-Redirect binding carries it: deflated, base64.
fn deflated(xml: &str) -> Result<String, UpstreamError> {
    let mut deflater =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflater
        .write_all(xml.as_bytes())
        .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    let deflated = deflater
        .finish()
        .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    Ok(STANDARD.encode(deflated))
}

/// The provider's `signOutEndpoint` with a LogoutRequest (HTTP-Redirect; signed with
/// `signSAMLRequest`) for `name_id`, and `returnTo` as `RelayState`; an error when the
/// connection has no sign-out endpoint.
pub fn logout_url(
    state: &AppState,
    connection: &Connection,
    name_id: &str,
    return_to: Option<&str>,
) -> Result<String, UpstreamError> {
    let (options, destination) = sign_out(state, connection)?;
    let issued = issue_instant(state)?;
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let xml = format!(
        concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{issued}" Destination="{destination}"><saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<saml:NameID>{name_id}</saml:NameID></samlp:LogoutRequest>"#
        ),
        id = logout_request_id(state, return_to.unwrap_or_default()),
        issued = issued,
        destination = esc(&destination),
        issuer = esc(&sp_entity_id(state, connection, &options)),
        name_id = esc(name_id),
    );
    let message = deflated(&xml)?;
    redirect_url(
        state,
        &destination,
        ("SAMLRequest", &message),
        return_to.unwrap_or_default(),
        &options,
    )
}

/// The provider's `signOutEndpoint` with our LogoutResponse (success, HTTP-Redirect; signed
/// with `signSAMLRequest`) to its LogoutRequest `request_id`, and its `relay_state` back.
pub fn logout_response_url(
    state: &AppState,
    connection: &Connection,
    request_id: &str,
    relay_state: Option<&str>,
) -> Result<String, UpstreamError> {
    let (options, destination) = sign_out(state, connection)?;
    let issued = issue_instant(state)?;
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let xml = format!(
        concat!(
            r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{id}" Version="2.0" "#,
            r#"IssueInstant="{issued}" Destination="{destination}" InResponseTo="{irt}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode "#,
            r#"Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>"#,
            r#"</samlp:LogoutResponse>"#
        ),
        id = crate::ids::random_hex(20),
        issued = issued,
        destination = esc(&destination),
        irt = esc(request_id),
        issuer = esc(&sp_entity_id(state, connection, &options)),
    );
    redirect_url(
        state,
        &destination,
        ("SAMLResponse", &deflated(&xml)?),
        relay_state.unwrap_or_default(),
        &options,
    )
}

/// What a logout request id's keyed hash covers.
fn logout_binding(nonce: &str, return_to: &str) -> String {
    format!("saml-logout:{nonce}:{return_to}")
}

/// The keyed hash (hex) binding a logout nonce to its `return_to`.
fn logout_mac(state: &AppState, nonce: &str, return_to: &str) -> String {
    state
        .hasher
        .hash(&logout_binding(nonce, return_to))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The id of a LogoutRequest after which the browser goes on to `return_to`: a nonce and a
/// keyed hash of both, so that a LogoutResponse answering it (`InResponseTo`) shows we
/// checked that `return_to` when we sent the request, and `/logout` is no open redirect.
pub fn logout_request_id(state: &AppState, return_to: &str) -> String {
    let nonce = crate::ids::random_hex(10);
    format!("_{nonce}{}", logout_mac(state, &nonce, return_to))
}

/// Whether `id` is one [`logout_request_id`] made for `return_to` (constant time).
pub fn logout_request_vouches(state: &AppState, id: &str, return_to: &str) -> bool {
    let Some(rest) = id
        .strip_prefix('_')
        .filter(|r| r.len() == 20 + 64 && r.is_ascii())
    else {
        return false;
    };
    let (nonce, mac) = rest.split_at(20);
    let bytes: Option<Vec<u8>> = (0..mac.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&mac[i..i + 2], 16).ok())
        .collect();
    bytes.is_some_and(|b| state.hasher.verify(&logout_binding(nonce, return_to), &b))
}

/// The HTTP-Redirect binding's URL: `SAMLRequest` and `RelayState`, and with
/// `signSAMLRequest` the `SigAlg` and the `Signature` over exactly those encoded parameters
/// (SAML Bindings s3.4.4.1), by the tenant's current signing key (its certificate is in our
/// metadata).
fn redirect_url(
    state: &AppState,
    destination: &str,
    (kind, message): (&str, &str),
    relay_state: &str,
    options: &SamlOptions,
) -> Result<String, UpstreamError> {
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let mut query = format!("{kind}={}", enc(message));
    if !relay_state.is_empty() {
        query.push_str("&RelayState=");
        query.push_str(&enc(relay_state));
    }
    if options.sign_request == Some(true) {
        query.push_str("&SigAlg=");
        query.push_str(&enc("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"));
        let signature = state
            .keys
            .get()
            .current
            .sign(query.as_bytes())
            .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
        query.push_str("&Signature=");
        query.push_str(&enc(&STANDARD.encode(signature)));
    }
    let separator = if destination.contains('?') { '&' } else { '?' };
    Ok(format!("{destination}{separator}{query}"))
}

/// How an AuthnRequest goes to the provider.
enum Sent {
    /// HTTP-Redirect: the URL.
    Redirect(String),
    /// HTTP-POST: the endpoint, the base64 message, the relay state.
    Post(String, String, String),
}

/// An AuthnRequest as the HTTP-POST binding carries it: base64 of the XML, with an
/// enveloped signature by the tenant's current key after its `Issuer` when
/// `signSAMLRequest` (libxmlsec1).
async fn post_message(
    state: &AppState,
    request: String,
    request_id: String,
    options: &SamlOptions,
) -> Result<String, UpstreamError> {
    if options.sign_request != Some(true) {
        return Ok(STANDARD.encode(request));
    }
    let keys = state.keys.get();
    // libxmlsec1 works synchronously.
    let signed = tokio::task::spawn_blocking(move || {
        let (pkcs8, certificate) = keys.current.xml_signing();
        let template = crate::saml::signature_template(&request_id, certificate);
        let with_template =
            request.replacen("</saml:Issuer>", &format!("</saml:Issuer>{template}"), 1);
        crate::saml::sign(&with_template, pkcs8)
    })
    .await
    .map_err(|e| UpstreamError::Invalid(e.to_string()))?
    .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    Ok(STANDARD.encode(signed))
}

/// Sends the browser to the provider with an AuthnRequest (303), with the binding cookie; a
/// provider that cannot be used is reported to the application.
pub async fn start(
    state: &AppState,
    tx: &Transaction,
    connection: &Connection,
) -> Result<Response, OAuthError> {
    let started = async {
        let options = options(connection)?;
        let destination = options
            .sign_in_endpoint
            .clone()
            .ok_or_else(|| UpstreamError::Misconfigured("no signInEndpoint".into()))?;
        state.upstreams.http.check_url(&destination)?;
        let request_id = format!("_{}", crate::ids::random_hex(20));
        let (relay_state, binding) = Pending::begin(state, tx, &connection.name, &request_id, None)
            .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
        let force_authn = tx.prompt.as_deref() == Some("login");
        let request = authn_request(
            state,
            connection,
            &options,
            &destination,
            &request_id,
            force_authn,
        )?;
        let sent = if options.protocol_binding.as_deref() == Some(HTTP_POST) {
            let message = post_message(state, request, request_id, &options).await?;
            Sent::Post(destination, message, relay_state)
        } else {
            let url = redirect_url(
                state,
                &destination,
                ("SAMLRequest", &deflated(&request)?),
                &relay_state,
                &options,
            )?;
            Sent::Redirect(url)
        };
        Ok::<_, UpstreamError>((sent, binding))
    }
    .await;
    match started {
        Ok((sent, binding)) => {
            let mut r = match sent {
                Sent::Redirect(url) => Redirect::to(&url).into_response(),
                // HTTP-POST binding: an auto-submitting form (escaped by the template).
                Sent::Post(action, message, relay_state) => crate::pages::render(
                    axum::http::StatusCode::OK,
                    &crate::pages::FormPost {
                        action: &action,
                        fields: vec![("SAMLRequest", &message), ("RelayState", &relay_state)],
                    },
                ),
            };
            set_binding_cookie(
                state,
                r.headers_mut(),
                &binding,
                crate::authn::transaction::TX_LIFETIME,
            );
            Ok(r)
        }
        Err(e) => {
            tracing::warn!(connection = %connection.name, error = %e, "SAML login not started");
            Ok(error_to_client(state, tx, "server_error", &e.to_string()))
        }
    }
}

/// Verifies the provider's `SAMLResponse` (base64): the answer to our AuthnRequest
/// `request_id`, or (`None`) a login the provider started, which the connection must allow.
pub async fn authenticate(
    state: &AppState,
    connection: &Connection,
    request_id: Option<&str>,
    saml_response: &str,
) -> Result<Authenticated, UpstreamError> {
    let options = options(connection)?;
    let certificate = options
        .signing_cert
        .as_deref()
        .and_then(certificate::der)
        .ok_or_else(|| UpstreamError::Misconfigured("no usable signingCert".into()))?;
    let compact: String = saml_response
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if compact.len() > precheck::MAX_DOCUMENT * 4 / 3 + 4 {
        return Err(UpstreamError::Invalid(
            "the SAML response is too large".into(),
        ));
    }
    let xml = STANDARD
        .decode(compact)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| UpstreamError::Invalid("the SAML response is not base64 XML".into()))?;
    let sp_entity_id = sp_entity_id(state, connection, &options);
    let acs = acs_url(state, &connection.name);
    let request_id = request_id.map(str::to_owned);
    let now = state.clock.now().unix_timestamp();
    // libxmlsec1 works synchronously.
    let verified = tokio::task::spawn_blocking(move || {
        let ids: Vec<&str> = request_id.iter().map(String::as_str).collect();
        let certificates = [certificate];
        verify::response(
            &xml,
            &verify::Expected {
                sp_entity_id: &sp_entity_id,
                acs_url: &acs,
                idp_entity_id: None,
                certificates: &certificates,
                request_ids: request_id.as_ref().map(|_| ids.as_slice()),
                now,
            },
        )
    })
    .await
    .map_err(|e| UpstreamError::Invalid(e.to_string()))?
    .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    // Each assertion is accepted once, on every replica, until it expires anyway.
    let first = state
        .stores
        .sessions
        .use_once(
            &state.hasher.hash(&format!(
                "saml_assertion:{}:{}",
                verified.issuer.as_deref().unwrap_or_default(),
                verified.assertion_id
            )),
            time::OffsetDateTime::from_unix_timestamp(verified.expires_at)
                .unwrap_or_else(|_| state.clock.now()),
            state.clock.now(),
        )
        .await
        .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    if !first {
        return Err(UpstreamError::Invalid(
            "the assertion was already used".into(),
        ));
    }
    Ok(Authenticated {
        profile: options.profile(&verified.name_id, &verified.attributes),
        subject: verified.name_id,
        tokens: TokenSet::default(),
    })
}
