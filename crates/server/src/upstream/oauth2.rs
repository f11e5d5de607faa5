//! Plain OAuth 2.0 providers: GitHub (`github`) and Auth0's custom social connections
//! (`oauth2`). The code flow with PKCE, then a profile read with the access token: GitHub's
//! API, or the connection's `userinfo_url` through its `fieldsMap` (where Auth0 runs a
//! `fetchUserProfile` script, see ARCHITECTURE.md).

use gatehouse_core::upstream::UpstreamOptions;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::http::{UpstreamError, UpstreamHttp};
use super::provider::{Credentials, Login, ProfileSource, Provider};

/// GitHub, at `web` (`/login/oauth/...`) and `api`.
pub fn github(web: &str, api: &str) -> Provider {
    let web = web.trim_end_matches('/');
    Provider {
        issuer: None,
        authorization_endpoint: format!("{web}/login/oauth/authorize"),
        token_endpoint: format!("{web}/login/oauth/access_token"),
        userinfo_endpoint: None,
        end_session_endpoint: None,
        pkce: true,
        // GitHub documents the secret as a form parameter.
        basic_auth: false,
        jwks: None,
        profile: ProfileSource::GitHub {
            api: api.trim_end_matches('/').to_owned(),
        },
    }
}

/// A custom social connection (`oauth2`): Auth0's `authorizationURL` and `tokenURL`, and
/// gatehouse's `userinfo_url`. The secret goes in the form, as Auth0 sends it.
pub fn custom(http: &UpstreamHttp, options: &UpstreamOptions) -> Result<Provider, UpstreamError> {
    let need = |v: &Option<String>, name: &str| {
        v.clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| UpstreamError::Misconfigured(format!("no {name}")))
    };
    let provider = Provider {
        issuer: None,
        authorization_endpoint: need(&options.authorization_url, "authorizationURL")?,
        token_endpoint: need(&options.token_url, "tokenURL")?,
        userinfo_endpoint: Some(need(&options.userinfo_url, "userinfo_url")?),
        end_session_endpoint: None,
        pkce: options.pkce_enabled != Some(false),
        basic_auth: false,
        jwks: None,
        profile: ProfileSource::Mapped,
    };
    provider.check(http)?;
    Ok(provider)
}

/// The authorization URL of a code-flow login (no nonce: there is no ID token).
pub fn authorization_url(
    provider: &Provider,
    credentials: &Credentials,
    redirect_uri: &str,
    login: Login<'_>,
) -> Result<String, UpstreamError> {
    let mut url = url::Url::parse(&provider.authorization_endpoint).map_err(UpstreamError::url)?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &credentials.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", &login.state);
        if !login.scopes.is_empty() {
            q.append_pair("scope", &login.scopes.join(" "));
        }
        if let Some(v) = login.pkce_verifier {
            q.append_pair("code_challenge", &gatehouse_core::pkce::challenge(v))
                .append_pair("code_challenge_method", "S256");
        }
    }
    Ok(url.to_string())
}

/// GitHub's `/user`, as much as gatehouse reads.
#[derive(Deserialize)]
struct GitHubUser {
    id: i64,
    login: String,
    name: Option<String>,
    avatar_url: Option<String>,
}

/// One of GitHub's `/user/emails`.
#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

/// The subject and profile behind `access_token`: GitHub's user (email: the primary
/// address, verified as GitHub says), or the mapped userinfo document.
pub async fn profile(
    http: &UpstreamHttp,
    provider: &Provider,
    options: &UpstreamOptions,
    access_token: &str,
) -> Result<(String, Map<String, Value>), UpstreamError> {
    match &provider.profile {
        ProfileSource::GitHub { api } => {
            let user: GitHubUser = http
                .get_json_as(&format!("{api}/user"), Some(access_token))
                .await?;
            let emails: Vec<GitHubEmail> = http
                .get_json_as(&format!("{api}/user/emails"), Some(access_token))
                .await?;
            let mut p = Map::new();
            p.insert("nickname".into(), Value::String(user.login.clone()));
            p.insert(
                "name".into(),
                Value::String(user.name.unwrap_or(user.login)),
            );
            if let Some(picture) = user.avatar_url {
                p.insert("picture".into(), Value::String(picture));
            }
            if let Some(primary) = emails.into_iter().find(|e| e.primary) {
                p.insert("email".into(), Value::String(primary.email));
                p.insert("email_verified".into(), Value::Bool(primary.verified));
            }
            Ok((user.id.to_string(), p))
        }
        ProfileSource::Mapped => {
            let url = provider
                .userinfo_endpoint
                .as_deref()
                .ok_or_else(|| UpstreamError::Misconfigured("no userinfo_url".into()))?;
            let userinfo: Value = http.get_json_as(url, Some(access_token)).await?;
            let (subject, mut p) = options
                .map_profile(&userinfo)
                .ok_or_else(|| UpstreamError::Invalid("the profile has no user id".into()))?;
            // A provider may say `"true"`.
            if let Some(Value::String(s)) = p.get("email_verified") {
                let verified = s == "true";
                p.insert("email_verified".into(), Value::Bool(verified));
            }
            Ok((subject, p))
        }
        ProfileSource::IdToken => Err(UpstreamError::Misconfigured(
            "an OpenID Connect provider's profile is its ID token".into(),
        )),
    }
}
