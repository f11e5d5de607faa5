//! The relying-party side of an `oidc` (or `google-oauth2`) connection, on the
//! `openidconnect` crate: discovery, or the endpoints the connection names; the JWKS; the
//! authorization URL (state, nonce, PKCE S256); and the ID token's checks (`id_token.rs`).

use gatehouse_core::upstream::UpstreamOptions;
use openidconnect::core::{CoreClient, CoreJsonWebKeySet, CoreResponseType};
use openidconnect::{
    AuthType, AuthUrl, AuthenticationFlow, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, IssuerUrl, JsonWebKeySetUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenUrl,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::http::{UpstreamError, UpstreamHttp};
use super::id_token::{Expected, Refusal};
use super::provider::{Credentials, Login, ProfileSource, Provider};

/// The parts of a discovery document gatehouse reads.
#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: Option<String>,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    end_session_endpoint: Option<String>,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
}

type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

/// Reads the keys at `jwks_uri`.
async fn keys(http: &UpstreamHttp, jwks_uri: &str) -> Result<CoreJsonWebKeySet, UpstreamError> {
    http.check_url(jwks_uri)?;
    let url = JsonWebKeySetUrl::new(jwks_uri.to_owned()).map_err(UpstreamError::url)?;
    CoreJsonWebKeySet::fetch_async(&url, &http.client())
        .await
        .map_err(|e| UpstreamError::Unreachable(e.to_string()))
}

/// The provider a connection describes: its discovery document (when it has one, or only an
/// issuer) under the endpoints it names itself, and the keys.
pub async fn provider(
    http: &UpstreamHttp,
    discovery_url: Option<&str>,
    options: &UpstreamOptions,
) -> Result<Provider, UpstreamError> {
    let provider = match discovery_url {
        Some(url) => discover(http, url).await?,
        None => explicit(http, options).await?,
    };
    provider.overridden(http, options)
}

/// Reads the discovery document at `discovery_url` and the JWKS it names. The document's
/// `issuer` must be the one the URL is the well-known address of (OIDC Discovery s4.3).
async fn discover(http: &UpstreamHttp, discovery_url: &str) -> Result<Provider, UpstreamError> {
    let doc: Discovery = http.get_json(discovery_url).await?;
    let expected = discovery_url
        .strip_suffix("/.well-known/openid-configuration")
        .unwrap_or(discovery_url);
    if doc.issuer.trim_end_matches('/') != expected.trim_end_matches('/') {
        return Err(UpstreamError::Invalid(format!(
            "the discovery document names issuer {}",
            doc.issuer
        )));
    }
    let token_endpoint = doc
        .token_endpoint
        .ok_or_else(|| UpstreamError::Invalid("no token_endpoint".into()))?;
    let methods = &doc.token_endpoint_auth_methods_supported;
    Ok(Provider {
        issuer: Some(doc.issuer),
        authorization_endpoint: doc.authorization_endpoint,
        token_endpoint,
        userinfo_endpoint: doc.userinfo_endpoint,
        end_session_endpoint: doc.end_session_endpoint,
        pkce: doc
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256"),
        // RFC 8414's default is client_secret_basic; post when that is all it offers.
        basic_auth: methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic"),
        jwks: Some(keys(http, &doc.jwks_uri).await?),
        profile: ProfileSource::IdToken,
    })
}

/// A provider from the endpoints the connection names, without discovery: `issuer`,
/// `authorization_endpoint`, `token_endpoint` and `jwks_uri` are needed. With nothing
/// advertised, PKCE is sent (a server that does not know it ignores it, RFC 6749 s3.1).
async fn explicit(
    http: &UpstreamHttp,
    options: &UpstreamOptions,
) -> Result<Provider, UpstreamError> {
    let need = |v: &Option<String>, name: &str| {
        v.clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| UpstreamError::Misconfigured(format!("no discovery_url or {name}")))
    };
    let jwks_uri = need(&options.jwks_uri, "jwks_uri")?;
    Ok(Provider {
        issuer: Some(need(&options.issuer, "issuer")?),
        authorization_endpoint: need(&options.authorization_endpoint, "authorization_endpoint")?,
        token_endpoint: need(&options.token_endpoint, "token_endpoint")?,
        userinfo_endpoint: None,
        end_session_endpoint: None,
        pkce: true,
        basic_auth: true,
        jwks: Some(keys(http, &jwks_uri).await?),
        profile: ProfileSource::IdToken,
    })
}

fn client(
    provider: &Provider,
    issuer: &str,
    jwks: &CoreJsonWebKeySet,
    credentials: &Credentials,
    redirect_uri: &str,
) -> Result<Rp, UpstreamError> {
    let issuer = IssuerUrl::new(issuer.to_owned()).map_err(UpstreamError::url)?;
    let mut client = CoreClient::new(
        ClientId::new(credentials.client_id.clone()),
        issuer,
        jwks.clone(),
    )
    .set_auth_uri(
        AuthUrl::new(provider.authorization_endpoint.clone()).map_err(UpstreamError::url)?,
    )
    .set_token_uri(TokenUrl::new(provider.token_endpoint.clone()).map_err(UpstreamError::url)?)
    .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(UpstreamError::url)?)
    .set_auth_type(if provider.basic_auth {
        AuthType::BasicAuth
    } else {
        AuthType::RequestBody
    });
    if let Some(secret) = &credentials.secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(client)
}

/// The authorization URL of a login: the code flow on the back channel (with the S256
/// challenge of its verifier), `id_token` by form post on the front channel.
pub fn authorization_url(
    provider: &Provider,
    credentials: &Credentials,
    redirect_uri: &str,
    login: Login<'_>,
) -> Result<String, UpstreamError> {
    let (Some(issuer), Some(jwks)) = (&provider.issuer, &provider.jwks) else {
        return Err(UpstreamError::Misconfigured(
            "not an OpenID Connect provider".into(),
        ));
    };
    let Login {
        scopes,
        state,
        nonce,
        pkce_verifier,
        back_channel,
        prompt,
    } = login;
    let client = client(provider, issuer, jwks, credentials, redirect_uri)?;
    let flow = if back_channel {
        AuthenticationFlow::<CoreResponseType>::AuthorizationCode
    } else {
        // `id_token` alone, posted back (OIDC Form Post Response Mode).
        AuthenticationFlow::Implicit(false)
    };
    let mut request = client
        .authorize_url(
            flow,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        )
        // openidconnect adds `openid` itself.
        .add_scopes(
            scopes
                .iter()
                .filter(|s| *s != "openid")
                .map(|s| Scope::new(s.clone())),
        );
    if !back_channel {
        request = request.add_extra_param("response_mode", "form_post");
    }
    if let Some(p) = prompt {
        request = request.add_extra_param("prompt", p);
    }
    if let Some(v) = pkce_verifier {
        let verifier = PkceCodeVerifier::new(v.to_owned());
        request =
            request.set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier));
    }
    Ok(request.url().0.to_string())
}

/// The subject and profile of `jwt` if the provider signed it for us (see
/// `id_token::verify`).
pub fn verify(
    provider: &Provider,
    jwt: &str,
    client_id: &str,
    nonce: &str,
    now: i64,
) -> Result<(String, Map<String, Value>), Refusal> {
    let (Some(issuer), Some(jwks)) = (&provider.issuer, &provider.jwks) else {
        return Err(Refusal::Invalid("not an OpenID Connect provider".into()));
    };
    let expected = Expected {
        issuer,
        client_id,
        nonce,
        now,
    };
    let claims = super::id_token::verify(jwt, jwks, &expected)?;
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok((subject, profile_of(&claims)))
}

/// Auth0's profile attributes from standard claims (an ID token's, or userinfo's).
pub fn profile_of(claims: &Map<String, Value>) -> Map<String, Value> {
    const TEXT: &[&str] = &[
        "email",
        "name",
        "given_name",
        "family_name",
        "nickname",
        "picture",
    ];
    let mut p: Map<String, Value> = TEXT
        .iter()
        .filter_map(|k| {
            let v = claims.get(*k).and_then(Value::as_str)?;
            Some(((*k).to_owned(), Value::String(v.to_owned())))
        })
        .collect();
    // Some providers send the boolean as a string.
    match claims.get("email_verified") {
        Some(Value::Bool(b)) => {
            p.insert("email_verified".into(), Value::Bool(*b));
        }
        Some(Value::String(s)) => {
            p.insert("email_verified".into(), Value::Bool(s == "true"));
        }
        _ => {}
    }
    // Group memberships (Okta, Entra ID, Keycloak send `groups`): the Authorization
    // Extension's mappings match them.
    if let Some(groups @ (Value::Array(_) | Value::String(_))) = claims.get("groups") {
        p.insert("groups".into(), groups.clone());
    }
    p
}
