//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0), also served as
//! `/.well-known/oauth-authorization-server` (RFC 8414), as Auth0 does.
//!
//! Only what is implemented is advertised; each issue that adds an endpoint adds it here.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;

use crate::AppState;

/// The discovery document, field names as in the specification.
#[derive(Debug, Serialize)]
pub struct ProviderMetadata {
    issuer: String,
    jwks_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    userinfo_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_session_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    claims_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    grant_types_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    response_types_supported: Vec<&'static str>,
    response_modes_supported: Vec<&'static str>,
    code_challenge_methods_supported: Vec<&'static str>,
    subject_types_supported: Vec<&'static str>,
    id_token_signing_alg_values_supported: Vec<&'static str>,
    request_parameter_supported: bool,
    authorization_response_iss_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    backchannel_logout_supported: bool,
    backchannel_logout_session_supported: bool,
}

impl ProviderMetadata {
    /// The document for a tenant at `issuer` (with its trailing slash).
    pub fn for_issuer(issuer: &str) -> Self {
        ProviderMetadata {
            issuer: issuer.to_owned(),
            jwks_uri: format!("{issuer}.well-known/jwks.json"),
            authorization_endpoint: Some(format!("{issuer}authorize")),
            token_endpoint: Some(format!("{issuer}oauth/token")),
            userinfo_endpoint: Some(format!("{issuer}userinfo")),
            revocation_endpoint: Some(format!("{issuer}oauth/revoke")),
            end_session_endpoint: Some(format!("{issuer}oidc/logout")),
            scopes_supported: gatehouse_core::token::OIDC_SCOPES.to_vec(),
            claims_supported: vec![
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "name",
                "nickname",
                "given_name",
                "family_name",
                "picture",
                "preferred_username",
                "updated_at",
                "email",
                "email_verified",
                "phone_number",
                "phone_number_verified",
            ],
            grant_types_supported: crate::oauth::grants::names(),
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
            ],
            response_types_supported: vec![
                "code",
                "token",
                "id_token",
                "id_token token",
                "code id_token",
                "code token",
                "code id_token token",
            ],
            // Auth0 does not list web_message here either; auth0-spa-js asks for it anyway.
            response_modes_supported: vec!["query", "fragment", "form_post"],
            code_challenge_methods_supported: vec!["S256"],
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: vec![crate::signing::ALG],
            request_parameter_supported: false,
            // RFC 9207: every authorization response carries `iss` (mix-up defence).
            authorization_response_iss_parameter_supported: true,
            request_uri_parameter_supported: false,
            // OpenID Connect Back-Channel Logout, with `sid` in every logout token.
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
        }
    }
}

/// The handler.
pub async fn openid_configuration(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(ProviderMetadata::for_issuer(&state.issuer)),
    )
}
