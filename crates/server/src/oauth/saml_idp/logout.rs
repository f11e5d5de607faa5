//! `GET|POST /samlp/{client_id}/logout`: SAML single logout started by a service provider.
//! Its LogoutRequest ends the browser's session and is answered by a signed LogoutResponse
//! posted to the add-on's `logout.callback`. As with `/v2/logout` (see `oauth/logout.rs` on
//! logout CSRF), a request does not end a live session just because it arrived: it must carry
//! the `SessionIndex` we gave the provider for this session (its `sid`, which only
//! applications it logged in to hold), or be signed by the provider (`signingCert`), or be a
//! same-site navigation, or come back from the confirmation page.

use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::id::ClientId;
use gatehouse_core::saml_addon::SamlAddon;
use serde::Deserialize;

use super::request::{self, Binding};
use crate::AppState;
use crate::authn::cookies::set_session_cookie;
use crate::authn::saml_reply::issuer_for;
use crate::authn::session::current_session;
use crate::error::OAuthError;
use crate::oauth::logout::{Evidence, ask, end_session, may_end_without_asking};
use crate::pages::{self, FormPost};
use crate::saml::issue::{self, Status};

/// The parameters (query on GET, form on POST).
#[derive(Debug, Default, Deserialize)]
pub struct LogoutParams {
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
    /// Set by our confirmation page, which carries a redirect-bound request in a form.
    binding: Option<String>,
    confirm: Option<String>,
}

/// The handler.
pub async fn logout(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    RawQuery(query): RawQuery,
    form: Result<Form<LogoutParams>, axum::extract::rejection::FormRejection>,
) -> Result<Response, OAuthError> {
    let tenant = pages::brand(&state).await;
    let Ok(Form(p)) = form else {
        return Ok(pages::error_page(
            &tenant,
            "The logout request is malformed.",
        ));
    };
    let client = state
        .catalog
        .client(&ClientId::from(client_id.as_str()))
        .await?;
    let Some((client, addon)) =
        client.and_then(|c| SamlAddon::of(&c.settings.extra).map(|a| (c, a)))
    else {
        return Ok(pages::error_page(
            &tenant,
            "The application does not have the SAML2 Web App add-on enabled.",
        ));
    };
    let binding = match p.binding.as_deref() {
        Some("redirect") => Binding::Redirect,
        _ => super::sso::binding_of(&method),
    };
    let request = match read_request(&addon, p.saml_request.as_deref(), binding, query).await {
        Ok(r) => r,
        Err(e) => return Ok(pages::error_page(&tenant, &e.to_string())),
    };
    let session = current_session(&state, &headers).await?;
    // A request we read under a `signingCert` was signed by the provider.
    let signed = request.is_some() && matches!(request::signing_certificate(&addon), Ok(Some(_)));
    let vouched = signed
        || match (&session, &request) {
            (Some(s), Some(r)) => r.session_index.as_deref() == Some(s.sid.as_str()),
            _ => false,
        };
    let evidence = Evidence::without_hint(&method, &headers, p.confirm.as_deref());
    if !vouched && !may_end_without_asking(&state, session.as_ref(), &evidence) {
        let binding = (binding == Binding::Redirect).then(|| "redirect".to_owned());
        return Ok(ask(
            &state,
            &tenant,
            &headers,
            &format!("/samlp/{client_id}/logout"),
            &[
                ("SAMLRequest", p.saml_request.as_ref()),
                ("RelayState", p.relay_state.as_ref()),
                ("binding", binding.as_ref()),
            ],
        ));
    }
    end_session(&state, &headers, session, Some(&client_id)).await?;
    let answer = match (&request, addon.logout_callback()) {
        (Some(r), Some(callback)) => {
            let xml =
                logout_response(&state, &issuer_for(&state, &client), callback, &r.id).await?;
            post(callback, &xml, p.relay_state.as_deref())
        }
        _ => pages::render(
            StatusCode::OK,
            &pages::MessagePage {
                tenant: &tenant,
                heading: "Logged out",
                message: "You have been logged out.",
            },
        ),
    };
    let mut answer = answer;
    answer
        .headers_mut()
        .append(header::SET_COOKIE, set_session_cookie(&state, "", 0));
    Ok(answer)
}

/// The LogoutRequest in `message`, if any; under a `signingCert` only a signed one.
async fn read_request(
    addon: &SamlAddon,
    message: Option<&str>,
    binding: Binding,
    query: Option<String>,
) -> Result<Option<request::LogoutMessage>, crate::saml::SamlError> {
    let Some(message) = message else {
        return Ok(None);
    };
    let certificate = request::signing_certificate(addon)?;
    let query = query.unwrap_or_default();
    let xml = request::authenticated(message, binding, &query, certificate).await?;
    request::logout_request(&xml).map(Some)
}

/// The auto-posting form carrying `xml` to `action`.
fn post(action: &str, xml: &str, relay_state: Option<&str>) -> Response {
    let encoded = STANDARD.encode(xml);
    let mut fields = vec![("SAMLResponse", encoded.as_str())];
    if let Some(relay) = relay_state {
        fields.push(("RelayState", relay));
    }
    pages::render(StatusCode::OK, &FormPost { action, fields })
}

/// A signed LogoutResponse (success) to `request_id`, for `destination`.
async fn logout_response(
    state: &AppState,
    issuer: &str,
    destination: &str,
    request_id: &str,
) -> Result<String, OAuthError> {
    let keys = state.keys.get();
    let (issuer, destination, request_id) = (
        issuer.to_owned(),
        destination.to_owned(),
        request_id.to_owned(),
    );
    let now = state.clock.now().unix_timestamp();
    // libxmlsec1 works synchronously.
    tokio::task::spawn_blocking(move || {
        let (pkcs8, certificate) = keys.current.xml_signing();
        issue::status(
            &Status {
                element: "LogoutResponse",
                issuer: &issuer,
                id: &format!("_{}", crate::ids::random_hex(20)),
                destination: &destination,
                in_response_to: Some(&request_id),
                status: "Success",
                detail: None,
                message: None,
                now,
            },
            pkcs8,
            certificate,
        )
    })
    .await
    .map_err(|e| OAuthError::Internal(e.into()))?
    .map_err(|e| OAuthError::Internal(e.into()))
}
