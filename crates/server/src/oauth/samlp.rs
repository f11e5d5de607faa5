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
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `GET|POST /logout`: the single logout service of our SAML service providers. A
/// provider's LogoutResponse to the LogoutRequest `/v2/logout?federated` sent (our session
/// ended before) sends the browser on to `RelayState` (the `returnTo` checked then) only
/// when it answers a request whose id vouches for it
/// (`upstream::saml::logout_request_vouches`); otherwise it sees the logged-out page. A
/// provider's own LogoutRequest is `provider_logout`.
pub async fn single_logout(
    State(state): State<AppState>,
    method: axum::http::Method,
    headers: axum::http::HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
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
    if let Some(message) = p.saml_request.as_deref() {
        let query = query.unwrap_or_default();
        let relay = p.relay_state.as_deref();
        return provider_logout(&state, &headers, (message, binding, &query), relay, &tenant).await;
    }
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
        None => logged_out(&tenant),
    })
}

fn logged_out(tenant: &crate::pages::Brand) -> Response {
    crate::pages::render(
        StatusCode::OK,
        &crate::pages::MessagePage {
            tenant,
            heading: "Logged out",
            message: "You have been logged out.",
        },
    )
}

/// A provider's LogoutRequest (it started the logout): it ends this browser's session when
/// the session came from that provider, the request is signed by its `signingCert` (a
/// request from anywhere else would be logout CSRF) and names the session's user; the
/// provider gets our LogoutResponse at its `signOutEndpoint`.
async fn provider_logout(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    (message, binding, query): (&str, crate::oauth::saml_idp::request::Binding, &str),
    relay_state: Option<&str>,
    tenant: &crate::pages::Brand,
) -> Result<Response, OAuthError> {
    use crate::oauth::saml_idp::request;
    let session = crate::authn::session::current_session(state, headers).await?;
    let connection = match &session {
        Some(s) => {
            state
                .stores
                .connections
                .connection_by_name(&s.connection)
                .await?
        }
        None => None,
    };
    let found = session.zip(connection.and_then(|c| SamlOptions::of(&c).map(|o| (c, o))));
    let Some((session, (connection, options))) = found else {
        // Nothing of that provider's to end here.
        return Ok(logged_out(tenant));
    };
    let Some(certificate) = options
        .signing_cert
        .as_deref()
        .and_then(crate::saml::certificate::der)
    else {
        return Ok(crate::pages::error_page(
            tenant,
            "The connection has no signing certificate to check the logout request with.",
        ));
    };
    let read = async {
        let xml = request::authenticated(message, binding, query, Some(certificate)).await?;
        request::logout_request(&xml)
    };
    let logout = match read.await {
        Ok(r) => r,
        Err(e) => return Ok(crate::pages::error_page(tenant, &e.to_string())),
    };
    let user = state.stores.users.user(&session.user_id).await?;
    let expected = format!("{}|{}", connection.name, logout.name_id.unwrap_or_default());
    let named = user.is_some_and(|u| {
        u.identities
            .iter()
            .any(|i| i.connection == connection.name && i.user_id == expected)
    });
    if !named {
        return Ok(crate::pages::error_page(
            tenant,
            "The logout request names another user.",
        ));
    }
    crate::oauth::logout::end_session(state, headers, Some(session), None).await?;
    let mut r = match crate::upstream::saml::logout_response_url(
        state,
        &connection,
        &logout.id,
        relay_state,
    ) {
        Ok(url) => axum::response::Redirect::to(&url).into_response(),
        Err(_) => logged_out(tenant),
    };
    r.headers_mut().append(
        header::SET_COOKIE,
        crate::authn::cookies::set_session_cookie(state, "", 0),
    );
    Ok(r)
}
