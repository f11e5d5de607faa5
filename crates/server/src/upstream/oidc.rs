//! The relying-party side of an `oidc` connection, on the `openidconnect` crate: discovery
//! (cached), the JWKS, the authorization URL (state, nonce, PKCE S256), the code exchange,
//! and the ID token's checks (`id_token.rs`).

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

/// The provider facts gatehouse needs, from its discovery document and JWKS.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The provider's issuer (what its ID tokens carry in `iss`).
    pub issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    /// Where `/v2/logout?federated` sends the browser, if the provider has one.
    pub end_session_endpoint: Option<String>,
    pkce: bool,
    basic_auth: bool,
    jwks: CoreJsonWebKeySet,
}

/// The parts of a discovery document gatehouse reads.
#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: Option<String>,
    jwks_uri: String,
    end_session_endpoint: Option<String>,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
}

/// One login's values for the authorization request.
pub struct Login<'a> {
    /// Scopes to ask for.
    pub scopes: &'a [String],
    /// The sealed `state`.
    pub state: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier, when the provider takes S256 and the flow has a code.
    pub pkce_verifier: Option<&'a str>,
    /// The code flow (or the front channel's `id_token` by form post).
    pub back_channel: bool,
}

/// Our client at a provider: the connection's `client_id` and (opened) secret.
pub struct Credentials {
    /// The client id.
    pub client_id: String,
    /// The secret, if the connection has one.
    pub secret: Option<String>,
}

/// What a login at the provider proved, ready to become an identity.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The provider's `sub`.
    pub subject: String,
    /// Profile attributes in Auth0's names (`email`, `email_verified`, `name`, ...).
    pub profile: Map<String, Value>,
}

type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

impl Provider {
    /// Reads the discovery document at `discovery_url` and the JWKS it names. The document's
    /// `issuer` must be the one the URL is the well-known address of (OIDC Discovery s4.3).
    pub async fn discover(http: &UpstreamHttp, discovery_url: &str) -> Result<Self, UpstreamError> {
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
        for url in [&doc.authorization_endpoint, &doc.jwks_uri] {
            http.check_url(url)?;
        }
        let token_endpoint = doc
            .token_endpoint
            .ok_or_else(|| UpstreamError::Invalid("no token_endpoint".into()))?;
        http.check_url(&token_endpoint)?;
        let jwks_url = JsonWebKeySetUrl::new(doc.jwks_uri).map_err(UpstreamError::url)?;
        let jwks = CoreJsonWebKeySet::fetch_async(&jwks_url, &http.client())
            .await
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        let methods = &doc.token_endpoint_auth_methods_supported;
        Ok(Provider {
            issuer: doc.issuer,
            authorization_endpoint: doc.authorization_endpoint,
            token_endpoint,
            end_session_endpoint: doc.end_session_endpoint,
            pkce: doc
                .code_challenge_methods_supported
                .iter()
                .any(|m| m == "S256"),
            // RFC 8414's default is client_secret_basic; post when that is all it offers.
            basic_auth: methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic"),
            jwks,
        })
    }

    fn client(&self, credentials: &Credentials, redirect_uri: &str) -> Result<Rp, UpstreamError> {
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(UpstreamError::url)?;
        let mut client = CoreClient::new(
            ClientId::new(credentials.client_id.clone()),
            issuer,
            self.jwks.clone(),
        )
        .set_auth_uri(
            AuthUrl::new(self.authorization_endpoint.clone()).map_err(UpstreamError::url)?,
        )
        .set_token_uri(TokenUrl::new(self.token_endpoint.clone()).map_err(UpstreamError::url)?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(UpstreamError::url)?)
        .set_auth_type(if self.basic_auth {
            AuthType::BasicAuth
        } else {
            AuthType::RequestBody
        });
        if let Some(secret) = &credentials.secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(client)
    }

    /// Whether the provider takes PKCE S256 challenges.
    pub fn pkce(&self) -> bool {
        self.pkce
    }

    /// The authorization URL of a login: the code flow on the back channel (with the S256
    /// challenge of its verifier), `id_token` by form post on the front channel.
    pub fn authorization_url(
        &self,
        credentials: &Credentials,
        redirect_uri: &str,
        login: Login<'_>,
    ) -> Result<String, UpstreamError> {
        let Login {
            scopes,
            state,
            nonce,
            pkce_verifier,
            back_channel,
        } = login;
        let client = self.client(credentials, redirect_uri)?;
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
        if let Some(v) = pkce_verifier {
            let verifier = PkceCodeVerifier::new(v.to_owned());
            request =
                request.set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier));
        }
        Ok(request.url().0.to_string())
    }

    /// Redeems `code` at the token endpoint (client authentication as the provider
    /// advertises it) and returns the raw ID token. The exchange is a plain form POST rather
    /// than `openidconnect`'s, whose typed token response refuses Auth0-shaped ID tokens.
    pub async fn redeem(
        &self,
        http: &UpstreamHttp,
        credentials: &Credentials,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: Option<&str>,
    ) -> Result<String, UpstreamError> {
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
        if let Some(error) = body.get("error").and_then(Value::as_str) {
            return Err(UpstreamError::Refused(format!(
                "the code exchange failed: {error}"
            )));
        }
        body.get("id_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| UpstreamError::Invalid("no ID token in the token response".into()))
    }

    /// The claims of `jwt` if this provider signed it for us (see `id_token::verify`).
    pub fn verify(
        &self,
        jwt: &str,
        client_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<Authenticated, Refusal> {
        let expected = Expected {
            issuer: &self.issuer,
            client_id,
            nonce,
            now,
        };
        let claims = super::id_token::verify(jwt, &self.jwks, &expected)?;
        Ok(Authenticated {
            subject: claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            profile: profile_of(&claims),
        })
    }
}

/// Auth0's profile attributes from the ID token's standard claims.
fn profile_of(claims: &Map<String, Value>) -> Map<String, Value> {
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
    p
}
