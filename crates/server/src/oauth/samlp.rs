//! `GET /samlp/metadata?connection=<name>`: our service-provider metadata for a `samlp`
//! connection, which its identity provider imports: our entity id, the assertion consumer
//! service (`<issuer>login/callback?connection=<name>`, HTTP-POST) and the certificate of
//! the current signing key; and `GET|POST /logout`, the single logout service it lists,
//! where providers answer our LogoutRequests.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::saml::SamlOptions;
use serde::Deserialize;

use crate::AppState;
use crate::error::OAuthError;
use crate::upstream::saml::{acs_url, sp_entity_id};

/// The query.
#[derive(Debug, Deserialize)]
pub struct MetadataQuery {
    #[serde(default)]
    connection: String,
}

/// `GET /samlp/metadata`.
pub async fn metadata(
    State(state): State<AppState>,
    Query(q): Query<MetadataQuery>,
) -> Result<Response, OAuthError> {
    let connection = state
        .stores
        .connections
        .connection_by_name(&q.connection.as_str().into())
        .await?;
    let Some((connection, options)) = connection.and_then(|c| SamlOptions::of(&c).map(|o| (c, o)))
    else {
        return Ok((StatusCode::NOT_FOUND, "No such SAML connection").into_response());
    };
    let keys = state.keys.get();
    let certificate = keys.jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"] == keys.current.kid.as_str())
        .and_then(|k| k["x5c"][0].as_str())
        .unwrap_or_default()
        .to_owned();
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let xml = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">"#,
            r#"<md:SPSSODescriptor AuthnRequestsSigned="{signed}" WantAssertionsSigned="true" "#,
            r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
            r#"<ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#,
            r#"</md:KeyDescriptor>"#,
            r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{slo}"/>"#,
            r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{slo}"/>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" "#,
            r#"Location="{acs}" index="0" isDefault="true"/>"#,
            r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
        ),
        entity = esc(&sp_entity_id(&state, &connection, &options)),
        signed = options.sign_request == Some(true),
        cert = esc(&certificate),
        acs = esc(&acs_url(&state, &connection.name)),
        slo = esc(&format!("{}logout", state.issuer)),
    );
    let mut r = xml.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    Ok(r)
}

/// The parameters of `/logout` (query on GET, form on POST).
#[derive(Debug, Default, Deserialize)]
pub struct SloParams {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `GET|POST /logout`: a provider's LogoutResponse to the LogoutRequest `/v2/logout?federated`
/// sent (our session ended before). The browser goes on to `RelayState` (the `returnTo`
/// checked then) only when the response answers a request whose id vouches for it
/// (`upstream::saml::logout_request_vouches`); otherwise it sees the logged-out page.
pub async fn single_logout(
    State(state): State<AppState>,
    method: axum::http::Method,
    form: Result<axum::Form<SloParams>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    use crate::oauth::saml_idp::request;
    let tenant = crate::pages::brand(&state).await;
    let Ok(axum::Form(p)) = form else {
        return Ok(crate::pages::error_page(
            &tenant,
            "The logout response is malformed.",
        ));
    };
    let binding = crate::oauth::saml_idp::sso::binding_of(&method);
    let answered = p
        .saml_response
        .as_deref()
        .and_then(|m| request::decode(m, binding).ok())
        .and_then(|xml| request::logout_message(&xml, "LogoutResponse").ok());
    let to = match (answered, p.relay_state) {
        (Some(m), Some(to))
            if m.in_response_to.as_deref().is_some_and(|id| {
                crate::upstream::saml::logout_request_vouches(&state, id, &to)
            }) =>
        {
            Some(to)
        }
        _ => None,
    };
    Ok(match to {
        Some(url) => axum::response::Redirect::to(&url).into_response(),
        None => crate::pages::render(
            StatusCode::OK,
            &crate::pages::MessagePage {
                tenant: &tenant,
                heading: "Logged out",
                message: "You have been logged out.",
            },
        ),
    })
}
