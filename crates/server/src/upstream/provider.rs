//! What gatehouse knows of one identity provider, whatever its protocol: its endpoints, how
//! it takes our client credentials, and where a login's profile comes from. OpenID Connect
//! providers (`oidc.rs`) add an issuer and keys; plain OAuth 2.0 ones (`oauth2.rs`) a
//! profile read with the access token.

use gatehouse_core::upstream::UpstreamOptions;
use openidconnect::core::CoreJsonWebKeySet;
use serde_json::{Map, Value};

use super::http::{UpstreamError, UpstreamHttp};

/// Where a login's subject and profile come from.
#[derive(Debug, Clone)]
pub enum ProfileSource {
    /// The ID token (OpenID Connect), completed from userinfo when the provider has it.
    IdToken,
    /// GitHub's API: `GET /user` and `GET /user/emails`, under this base URL.
    GitHub {
        /// The API's base URL.
        api: String,
    },
    /// The `userinfo_endpoint`, read through the connection's `fieldsMap` (`oauth2`).
    Mapped,
}

/// One provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The provider's issuer (what its ID tokens carry in `iss`); `None` for plain OAuth 2.0.
    pub issuer: Option<String>,
    /// Where the browser is sent.
    pub authorization_endpoint: String,
    /// Where codes are redeemed.
    pub token_endpoint: String,
    /// Where profiles are read with an access token.
    pub userinfo_endpoint: Option<String>,
    /// Where `/v2/logout?federated` sends the browser, if the provider has one.
    pub end_session_endpoint: Option<String>,
    /// Whether to send a PKCE S256 challenge.
    pub pkce: bool,
    /// HTTP Basic client authentication at the token endpoint (else the form's body).
    pub basic_auth: bool,
    /// The provider's signing keys (OpenID Connect).
    pub jwks: Option<CoreJsonWebKeySet>,
    /// Where the profile comes from.
    pub profile: ProfileSource,
}

/// What a token endpoint answered.
#[derive(Debug, Clone, Default)]
pub struct TokenSet {
    /// The ID token (OpenID Connect).
    pub id_token: Option<String>,
    /// The access token, for userinfo and the provider's API.
    pub access_token: Option<String>,
    /// A refresh token, when the provider gave one.
    pub refresh_token: Option<String>,
    /// The access token's lifetime in seconds.
    pub expires_in: Option<i64>,
}

/// Our client at a provider: the connection's `client_id` and (opened) secret.
pub struct Credentials {
    /// The client id.
    pub client_id: String,
    /// The secret, if the connection has one.
    pub secret: Option<String>,
}

/// One login's values for the authorization request.
pub struct Login<'a> {
    /// Scopes to ask for.
    pub scopes: &'a [String],
    /// The sealed `state`.
    pub state: String,
    /// The nonce the ID token must carry (OpenID Connect).
    pub nonce: String,
    /// The PKCE verifier, when the flow has a code and the provider takes S256.
    pub pkce_verifier: Option<&'a str>,
    /// The code flow (or the front channel's `id_token` by form post).
    pub back_channel: bool,
    /// The application's `prompt`, passed on to an OpenID provider (`login`, `consent`,
    /// `select_account`): a fresh login asked of us is a fresh login there.
    pub prompt: Option<&'a str>,
}

/// What a login at the provider proved, ready to become an identity.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The provider's subject (`sub`, GitHub's numeric id, the mapped `user_id`).
    pub subject: String,
    /// Profile attributes in Auth0's names (`email`, `email_verified`, `name`, ...).
    pub profile: Map<String, Value>,
    /// The provider's tokens, kept sealed on the identity.
    pub tokens: TokenSet,
}

impl Provider {
    /// Whether it is an OpenID Connect provider.
    pub fn is_oidc(&self) -> bool {
        self.issuer.is_some()
    }

    /// The connection's own endpoints over what discovery said (Auth0 lets each be set),
    /// and its `token_endpoint_auth_method`.
    pub fn overridden(
        mut self,
        http: &UpstreamHttp,
        options: &UpstreamOptions,
    ) -> Result<Self, UpstreamError> {
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        if let Some(url) = given(&options.authorization_endpoint) {
            self.authorization_endpoint = url;
        }
        if let Some(url) = given(&options.token_endpoint) {
            self.token_endpoint = url;
        }
        if let Some(url) = given(&options.userinfo_endpoint) {
            self.userinfo_endpoint = Some(url);
        }
        match options.token_endpoint_auth_method.as_deref() {
            Some("client_secret_post") => self.basic_auth = false,
            Some("client_secret_basic") => self.basic_auth = true,
            _ => {}
        }
        self.check(http)?;
        Ok(self)
    }

    /// Every endpoint is https (or loopback).
    pub fn check(&self, http: &UpstreamHttp) -> Result<(), UpstreamError> {
        for url in [&self.authorization_endpoint, &self.token_endpoint] {
            http.check_url(url)?;
        }
        for url in [&self.userinfo_endpoint, &self.end_session_endpoint]
            .into_iter()
            .flatten()
        {
            http.check_url(url)?;
        }
        Ok(())
    }

    /// Redeems `code` at the token endpoint (client authentication as the provider takes
    /// it). A plain form POST rather than `openidconnect`'s, whose typed token response
    /// refuses Auth0-shaped ID tokens and GitHub's answers.
    pub async fn redeem(
        &self,
        http: &UpstreamHttp,
        credentials: &Credentials,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: Option<&str>,
    ) -> Result<TokenSet, UpstreamError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(v) = pkce_verifier {
            form.push(("code_verifier", v));
        }
        let secret = credentials.secret.as_deref();
        if !self.basic_auth || secret.is_none() {
            form.push(("client_id", &credentials.client_id));
            if let Some(s) = secret {
                form.push(("client_secret", s));
            }
        }
        let body: Value = http
            .post_form(
                &self.token_endpoint,
                &form,
                secret
                    .filter(|_| self.basic_auth)
                    .map(|s| (credentials.client_id.as_str(), s)),
            )
            .await?;
        // GitHub answers errors with 200 and an `error` member.
        if let Some(error) = body.get("error").and_then(Value::as_str) {
            return Err(UpstreamError::Refused(format!(
                "the code exchange failed: {error}"
            )));
        }
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(TokenSet {
            id_token: text("id_token"),
            access_token: text("access_token"),
            refresh_token: text("refresh_token"),
            expires_in: body.get("expires_in").and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            }),
        })
    }
}
