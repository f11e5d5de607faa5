//! Outbound HTTP to identity providers: no redirects followed (SSRF), short timeouts, a cap
//! on response sizes, and https only (loopback excepted, for tests and local providers).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::de::DeserializeOwned;

/// The largest provider response read (discovery documents, JWKS, token responses).
const MAX_RESPONSE: usize = 256 * 1024;

/// Why talking to a provider failed; the message is for logs and the application's
/// `error_description`, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The provider could not be reached or answered badly.
    #[error("the identity provider is unreachable: {0}")]
    Unreachable(String),
    /// The provider said no (the code exchange failed).
    #[error("{0}")]
    Refused(String),
    /// What the provider sent does not hold (bad issuer, bad ID token, ...).
    #[error("{0}")]
    Invalid(String),
    /// The connection is not configured to be used.
    #[error("the connection is misconfigured: {0}")]
    Misconfigured(String),
}

impl UpstreamError {
    /// A URL that does not parse.
    pub fn url(e: impl std::fmt::Display) -> Self {
        UpstreamError::Misconfigured(format!("bad URL: {e}"))
    }
}

/// Whether `url` is https, or http to this machine (a provider under test or beside us).
pub use crate::http::https_or_loopback;

/// The HTTP client for providers.
#[derive(Clone)]
pub struct UpstreamHttp {
    inner: reqwest::Client,
}

type Answer =
    Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, UpstreamError>> + Send>>;

impl UpstreamHttp {
    /// A client with no redirects and 10-second timeouts.
    pub fn new() -> Self {
        let inner = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // GitHub's API refuses requests without one.
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        UpstreamHttp { inner }
    }

    /// `Ok` for an https URL, or http on a loopback host.
    pub fn check_url(&self, url: &str) -> Result<(), UpstreamError> {
        if https_or_loopback(url) {
            Ok(())
        } else {
            Err(UpstreamError::Misconfigured(format!(
                "{url} is not an https URL"
            )))
        }
    }

    /// GETs a JSON document.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, UpstreamError> {
        self.get_json_as(url, None).await
    }

    /// GETs a JSON document with an access token (RFC 6750 bearer).
    #[tracing::instrument(name = "upstream GET", skip_all, fields(otel.kind = "client", server.address = %host(url)))]
    pub async fn get_json_as<T: DeserializeOwned>(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<T, UpstreamError> {
        self.check_url(url)?;
        let mut request = self
            .inner
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(UpstreamError::Unreachable(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        let body = read_capped(response).await?;
        serde_json::from_slice(&body)
            .map_err(|e| UpstreamError::Invalid(format!("{url} is not the expected JSON: {e}")))
    }

    /// GETs a text document (SAML metadata).
    #[tracing::instrument(name = "upstream GET", skip_all, fields(otel.kind = "client", server.address = %host(url)))]
    pub async fn get_text(&self, url: &str) -> Result<String, UpstreamError> {
        self.check_url(url)?;
        let response = self
            .inner
            .get(url)
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(UpstreamError::Unreachable(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        String::from_utf8(read_capped(response).await?)
            .map_err(|_| UpstreamError::Invalid(format!("{url} is not UTF-8 text")))
    }

    /// POSTs a form and reads the JSON answer, whatever its status (token endpoints answer
    /// errors as JSON with 400); `basic` is HTTP Basic client authentication.
    #[tracing::instrument(name = "upstream POST", skip_all, fields(otel.kind = "client", server.address = %host(url)))]
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<serde_json::Value, UpstreamError> {
        self.check_url(url)?;
        let mut request = self
            .inner
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        if let Some((user, password)) = basic {
            // RFC 6749 s2.3.1: both form-urlencoded before Basic encoding.
            let enc = |s: &str| -> String {
                url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
            };
            request = request.basic_auth(enc(user), Some(enc(password)));
        }
        let response = request
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let body = read_capped(response).await?;
        serde_json::from_slice(&body)
            .map_err(|_| UpstreamError::Invalid(format!("{url} answered {status} without JSON")))
    }

    /// The client as `openidconnect` calls it.
    pub fn client(&self) -> impl Fn(openidconnect::HttpRequest) -> Answer + '_ {
        move |request| {
            let inner = self.inner.clone();
            Box::pin(async move { send(&inner, request).await })
        }
    }
}

impl Default for UpstreamHttp {
    fn default() -> Self {
        Self::new()
    }
}

#[tracing::instrument(name = "upstream", skip_all, fields(otel.kind = "client", server.address = %host(&request.uri().to_string())))]
async fn send(
    client: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, UpstreamError> {
    let (parts, body) = request.into_parts();
    let url = parts.uri.to_string();
    let mut builder = client.request(parts.method, &url).body(body);
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let response = builder
        .send()
        .await
        .map_err(|e| UpstreamError::Unreachable(e.without_url().to_string()))?;
    let mut out = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        out = out.header(name, value);
    }
    let body = read_capped(response).await?;
    out.body(body)
        .map_err(|e| UpstreamError::Invalid(e.to_string()))
}

/// The host a URL names, for spans (never the path or query, which may carry codes).
fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, UpstreamError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| UpstreamError::Unreachable(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(UpstreamError::Invalid(
                "the provider's answer is too large".into(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
