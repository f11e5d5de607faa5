//! The authorization request of `/authorize` (RFC 6749 s4.1.1, OIDC Core s3.1.2.1 and
//! s3.3.2.1, PKCE, OAuth 2.0 Form Post and Multiple Response Type Encoding Practices),
//! checked against the client that sent it. Until the client's redirect URI is known good,
//! an error must not be sent anywhere; after that, errors go back to the client.

use crate::client::{AppType, Client};
use crate::connection::Connection;
use crate::pkce;
use crate::redirect_uri;
use crate::scope::Scope;

/// The parameters of an authorization request as sent (absent ones are `None`).
#[derive(Debug, Default, Clone, Copy)]
pub struct AuthorizeParams<'a> {
    /// `response_type`.
    pub response_type: Option<&'a str>,
    /// `response_mode`.
    pub response_mode: Option<&'a str>,
    /// `redirect_uri`.
    pub redirect_uri: Option<&'a str>,
    /// `scope`.
    pub scope: Option<&'a str>,
    /// `nonce`.
    pub nonce: Option<&'a str>,
    /// `code_challenge`.
    pub code_challenge: Option<&'a str>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<&'a str>,
    /// `connection` (Auth0's).
    pub connection: Option<&'a str>,
    /// `max_age`.
    pub max_age: Option<&'a str>,
}

/// What `/authorize` returns: a combination of `code`, `id_token` and `token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseType {
    /// An authorization code.
    pub code: bool,
    /// An ID token.
    pub id_token: bool,
    /// An access token.
    pub token: bool,
}

impl ResponseType {
    /// Parses the space-separated parts in any order; each part at most once.
    pub fn parse(text: &str) -> Option<Self> {
        let mut rt = ResponseType {
            code: false,
            id_token: false,
            token: false,
        };
        for part in text.split(' ').filter(|p| !p.is_empty()) {
            let flag = match part {
                "code" => &mut rt.code,
                "id_token" => &mut rt.id_token,
                "token" => &mut rt.token,
                _ => return None,
            };
            if std::mem::replace(flag, true) {
                return None;
            }
        }
        (rt.code || rt.id_token || rt.token).then_some(rt)
    }

    /// The one spelling used from here on: parts in the order `code id_token token`.
    pub fn as_str(self) -> &'static str {
        match (self.code, self.id_token, self.token) {
            (true, false, false) => "code",
            (false, true, false) => "id_token",
            (false, false, true) => "token",
            (false, true, true) => "id_token token",
            (true, true, false) => "code id_token",
            (true, false, true) => "code token",
            (true, true, true) => "code id_token token",
            (false, false, false) => "",
        }
    }

    /// Anything but `code` alone: the implicit or a hybrid flow (tokens from `/authorize`).
    pub fn is_implicit(self) -> bool {
        self.id_token || self.token
    }
}

/// How the response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query.
    Query,
    /// Parameters in the redirect URI's fragment.
    Fragment,
    /// An auto-submitting form posting to the redirect URI.
    FormPost,
    /// A page posting a message to the application's window (Auth0's silent
    /// authentication and popups).
    WebMessage,
}

impl ResponseMode {
    /// The mode named `text`, if we support it.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "query" => Some(ResponseMode::Query),
            "fragment" => Some(ResponseMode::Fragment),
            "form_post" => Some(ResponseMode::FormPost),
            "web_message" => Some(ResponseMode::WebMessage),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
            ResponseMode::WebMessage => "web_message",
        }
    }
}

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// Where the response goes (one of the client's callbacks).
    pub redirect_uri: String,
    /// What to return.
    pub response_type: ResponseType,
    /// How to return it.
    pub response_mode: ResponseMode,
    /// The requested scopes, normalized (`openid` when none were asked for).
    pub scope: String,
    /// The PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// The connection the login must use.
    pub connection: Option<String>,
    /// OIDC `max_age` in seconds.
    pub max_age: Option<i64>,
}

/// Why an authorization request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The redirect URI cannot be trusted: the error is shown, never sent to it.
    NotRedirectable(&'static str),
    /// The error goes back to the client's redirect URI in `response_mode`.
    Redirectable {
        /// The (registered) redirect URI.
        redirect_uri: String,
        /// The mode to answer in (`query` or `fragment` when the requested one is unusable).
        response_mode: ResponseMode,
        /// The OAuth error code.
        error: &'static str,
        /// The `error_description`.
        description: &'static str,
    },
}

impl AuthorizeError {
    /// Whether the error may be sent to the client's redirect URI.
    pub fn may_redirect(&self) -> bool {
        matches!(self, AuthorizeError::Redirectable { .. })
    }
}

/// The origin (`scheme://host[:port]`) of a URL, as browsers send it.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains('@')).then(|| format!("{scheme}://{authority}"))
}

impl AuthorizeRequest {
    /// Checks `params` for `client`. `connection` is the connection named by
    /// `params.connection` (when it is not empty), if it exists.
    pub fn parse(
        params: &AuthorizeParams<'_>,
        client: &Client,
        connection: Option<&Connection>,
    ) -> Result<Self, AuthorizeError> {
        let native = client.app_type == AppType::Native;
        let Some(redirect) = params.redirect_uri else {
            return Err(AuthorizeError::NotRedirectable(
                "Missing required parameter: redirect_uri",
            ));
        };
        if !redirect_uri::allowed(&client.settings.callbacks, redirect, native) {
            return Err(AuthorizeError::NotRedirectable(
                "The redirect_uri is not in the application's Allowed Callback URLs.",
            ));
        }
        let response_type = params.response_type.map(ResponseType::parse);
        // Anything but a plain `code`, even an unknown type, defaults to the fragment, so
        // that no token could ever land in a query string.
        let code_only = ResponseType {
            code: true,
            id_token: false,
            token: false,
        };
        let implicit = response_type.is_some_and(|rt| rt != Some(code_only));
        let requested_mode = params.response_mode.map(ResponseMode::parse);
        let response_mode = match requested_mode {
            Some(Some(m)) if m != ResponseMode::Query => m,
            _ if implicit => ResponseMode::Fragment,
            _ => ResponseMode::Query,
        };
        if requested_mode == Some(Some(ResponseMode::WebMessage)) {
            // The page posts to the redirect URI's origin, which must be an Allowed Web Origin.
            let origin = origin_of(redirect);
            let allowed = client
                .settings
                .web_origins
                .iter()
                .filter_map(|w| origin_of(w))
                .any(|w| Some(w) == origin);
            if !allowed {
                return Err(AuthorizeError::NotRedirectable(
                    "The redirect_uri's origin is not in the application's Allowed Web Origins.",
                ));
            }
        }
        let refuse = |error: &'static str, description: &'static str| {
            Err(AuthorizeError::Redirectable {
                redirect_uri: redirect.to_owned(),
                response_mode,
                error,
                description,
            })
        };
        if requested_mode == Some(None) {
            return refuse("invalid_request", "Unsupported response_mode");
        }
        let rt = match response_type {
            None => {
                return refuse(
                    "invalid_request",
                    "Missing required parameter: response_type",
                );
            }
            Some(None) => return refuse("unsupported_response_type", "Unsupported response type"),
            Some(Some(rt)) => rt,
        };
        let allowed = |g: &str| client.settings.grant_types.iter().any(|x| x == g);
        if rt.code && !allowed("authorization_code") {
            return refuse(
                "unauthorized_client",
                "Grant type 'authorization_code' not allowed for the client.",
            );
        }
        if rt.is_implicit() {
            // Implicit and hybrid flows are off unless the client enabled `implicit` (RFC 9700
            // s2.1.2 advises against them), their tokens never go in a query string, and an
            // ID token from this endpoint needs a nonce (OIDC Core s3.2.2.1).
            if !allowed("implicit") {
                return refuse(
                    "unauthorized_client",
                    "Grant type 'implicit' not allowed for the client.",
                );
            }
            if requested_mode == Some(Some(ResponseMode::Query)) {
                return refuse("invalid_request", "response_mode=query cannot carry tokens");
            }
            if rt.id_token && params.nonce.is_none_or(str::is_empty) {
                return refuse(
                    "invalid_request",
                    "nonce is required when an ID token is returned from /authorize",
                );
            }
        }
        let public = client.settings.token_endpoint_auth_method.as_deref() == Some("none");
        let code_challenge = match (params.code_challenge, params.code_challenge_method) {
            (Some(c), Some("S256")) if pkce::well_formed(c) => Some(c.to_owned()),
            (Some(_), _) => {
                return refuse(
                    "invalid_request",
                    "code_challenge must be S256 and well formed",
                );
            }
            (None, _) if public && rt.code => {
                return refuse(
                    "invalid_request",
                    "Public clients must use PKCE (code_challenge)",
                );
            }
            (None, _) => None,
        };
        let scope = match params.scope.map(Scope::parse_requested).transpose() {
            Ok(s) => s.map_or_else(|| "openid".to_owned(), |s| s.to_string()),
            Err(_) => return refuse("invalid_scope", "The scope is malformed or too long"),
        };
        let named = params.connection.filter(|c| !c.is_empty());
        if named.is_some() {
            let usable = connection.is_some_and(|c| {
                // Strategies a login may be sent to with `connection=`.
                (c.strategy.is_database()
                    || c.strategy.is_passwordless()
                    || c.strategy.is_federated())
                    && c.enabled_clients.contains(&client.client_id)
            });
            if !usable {
                return refuse("invalid_request", "Unknown or unsupported connection");
            }
        }
        let max_age = match params.max_age.map(str::parse::<i64>) {
            None => None,
            Some(Ok(n)) if n >= 0 => Some(n),
            Some(_) => {
                return refuse(
                    "invalid_request",
                    "max_age must be a whole number of seconds",
                );
            }
        };
        Ok(AuthorizeRequest {
            redirect_uri: redirect.to_owned(),
            response_type: rt,
            response_mode,
            scope,
            code_challenge,
            connection: named.map(str::to_owned),
            max_age,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://app.example.com/cb?x=1").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            origin_of("http://localhost:3000").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(origin_of("https://u@evil.com/cb"), None);
        assert_eq!(origin_of("nonsense"), None);
    }
    use crate::client::ClientSettings;
    use time::OffsetDateTime;

    const CB: &str = "https://app.example.com/callback";

    fn client(public: bool, grants: &[&str]) -> Client {
        Client {
            client_id: "c1".into(),
            name: "App".into(),
            app_type: AppType::Spa,
            is_system: false,
            secret: None,
            settings: ClientSettings {
                callbacks: vec![CB.into()],
                web_origins: vec!["https://app.example.com".into()],
                grant_types: grants.iter().map(|g| (*g).to_owned()).collect(),
                token_endpoint_auth_method: public.then(|| "none".to_owned()),
                ..ClientSettings::default()
            },
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn connection(strategy: &str, enabled: &[&str]) -> Connection {
        Connection {
            id: "con_1".into(),
            name: "db".into(),
            strategy: crate::strategy::Strategy::parse(strategy),
            options: crate::connection::ConnectionOptions::empty(
                &crate::strategy::Strategy::parse(strategy),
            ),
            enabled_clients: enabled.iter().map(|c| (*c).into()).collect(),
            extra: serde_json::Map::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn params(response_type: &'static str) -> AuthorizeParams<'static> {
        AuthorizeParams {
            response_type: Some(response_type),
            redirect_uri: Some(CB),
            ..AuthorizeParams::default()
        }
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn response_types_parse_in_any_order_once_each() {
        let cases: &[(&str, Option<&str>)] = &[
            ("code", Some("code")),
            (" code ", Some("code")),
            ("token id_token", Some("id_token token")),
            ("id_token code", Some("code id_token")),
            ("token code id_token", Some("code id_token token")),
            ("code code", None),
            ("code foo", None),
            ("", None),
            ("CODE", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                ResponseType::parse(text).map(ResponseType::as_str),
                *want,
                "{text:?}"
            );
        }
    }

    #[test]
    fn response_modes_parse_by_name() {
        for mode in ["query", "fragment", "form_post", "web_message"] {
            assert_eq!(
                ResponseMode::parse(mode).map(ResponseMode::as_str),
                Some(mode)
            );
        }
        assert_eq!(ResponseMode::parse("jwt"), None);
        assert_eq!(ResponseMode::parse(""), None);
    }

    #[test]
    fn origins_are_scheme_and_authority() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "https://a.example.com/cb?x=1",
                Some("https://a.example.com"),
            ),
            ("http://localhost:3000", Some("http://localhost:3000")),
            ("https://user@evil.example/", None),
            ("no-scheme", None),
            ("https:///path", None),
        ];
        for (url, want) in cases {
            assert_eq!(origin_of(url).as_deref(), *want, "{url}");
        }
    }

    /// (what the request changes, the error code, whether it may be redirected, the mode
    /// the error is sent in)
    type Case = (
        &'static str,
        fn(&mut AuthorizeParams<'static>),
        Option<(&'static str, bool)>,
    );

    #[test]
    fn requests_are_checked_in_order() {
        let both = ["authorization_code", "implicit"];
        let cases: &[Case] = &[
            ("a plain code request", |_| {}, None),
            (
                "no redirect_uri",
                |p| p.redirect_uri = None,
                Some(("Missing required parameter: redirect_uri", false)),
            ),
            (
                "an unregistered redirect_uri",
                |p| p.redirect_uri = Some("https://evil.example/cb"),
                Some((
                    "The redirect_uri is not in the application's Allowed Callback URLs.",
                    false,
                )),
            ),
            (
                "an unknown response_mode",
                |p| p.response_mode = Some("jwt"),
                Some(("invalid_request", true)),
            ),
            (
                "no response_type",
                |p| p.response_type = None,
                Some(("invalid_request", true)),
            ),
            (
                "an unknown response_type",
                |p| p.response_type = Some("code foo"),
                Some(("unsupported_response_type", true)),
            ),
            (
                "a token in the query",
                |p| {
                    p.response_type = Some("token");
                    p.response_mode = Some("query");
                },
                Some(("invalid_request", true)),
            ),
            (
                "an ID token without a nonce",
                |p| p.response_type = Some("id_token"),
                Some(("invalid_request", true)),
            ),
            (
                "an ID token with a nonce",
                |p| {
                    p.response_type = Some("id_token");
                    p.nonce = Some("n");
                },
                None,
            ),
            (
                "a plain challenge",
                |p| {
                    p.code_challenge = Some(CHALLENGE);
                    p.code_challenge_method = Some("plain");
                },
                Some(("invalid_request", true)),
            ),
            (
                "a malformed scope",
                |p| p.scope = Some("a\u{7f}b"),
                Some(("invalid_scope", true)),
            ),
            (
                "a negative max_age",
                |p| p.max_age = Some("-1"),
                Some(("invalid_request", true)),
            ),
            (
                "an unknown connection",
                |p| p.connection = Some("nope"),
                Some(("invalid_request", true)),
            ),
            ("an empty connection", |p| p.connection = Some(""), None),
        ];
        let confidential = client(false, &both);
        for (what, change, want) in cases {
            let mut p = params("code");
            change(&mut p);
            let got = AuthorizeRequest::parse(&p, &confidential, None);
            match (want, &got) {
                (None, Ok(_)) => {}
                (Some((m, false)), Err(AuthorizeError::NotRedirectable(got))) => {
                    assert_eq!(got, m, "{what}");
                }
                (Some((code, true)), Err(AuthorizeError::Redirectable { error, .. })) => {
                    assert_eq!(error, code, "{what}");
                }
                _ => panic!("{what}: {got:?}"),
            }
        }
    }

    #[test]
    fn web_message_needs_an_allowed_origin() {
        let mut c = client(false, &["authorization_code"]);
        let mut p = params("code");
        p.response_mode = Some("web_message");
        assert!(AuthorizeRequest::parse(&p, &c, None).is_ok());
        c.settings.web_origins = vec!["https://other.example.com".into()];
        let err = AuthorizeRequest::parse(&p, &c, None).expect_err("refused");
        assert!(!err.may_redirect());
        // Before any error that would be sent to that origin.
        p.response_type = None;
        let err = AuthorizeRequest::parse(&p, &c, None).expect_err("refused");
        assert!(!err.may_redirect());
    }

    #[test]
    fn grants_the_client_lacks_are_refused() {
        let code_only = client(false, &["authorization_code"]);
        let mut p = params("id_token token");
        p.nonce = Some("n");
        let err = AuthorizeRequest::parse(&p, &code_only, None).expect_err("refused");
        assert!(
            matches!(
                err,
                AuthorizeError::Redirectable {
                    error: "unauthorized_client",
                    ..
                }
            ),
            "{err:?}"
        );
        let implicit_only = client(false, &["implicit"]);
        let err =
            AuthorizeRequest::parse(&params("code"), &implicit_only, None).expect_err("refused");
        assert!(
            matches!(
                err,
                AuthorizeError::Redirectable {
                    error: "unauthorized_client",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn errors_go_back_in_a_mode_that_cannot_leak_tokens() {
        let both = client(false, &["authorization_code", "implicit"]);
        let cases: &[(&str, Option<&str>, ResponseMode)] = &[
            ("code", Some("jwt"), ResponseMode::Query),
            ("token", Some("jwt"), ResponseMode::Fragment),
            ("code foo", None, ResponseMode::Fragment),
            ("token", Some("query"), ResponseMode::Fragment),
            ("code foo", Some("form_post"), ResponseMode::FormPost),
        ];
        for (rt, mode, want) in cases {
            let mut p = params(rt);
            p.response_mode = *mode;
            match AuthorizeRequest::parse(&p, &both, None) {
                Err(AuthorizeError::Redirectable { response_mode, .. }) => {
                    assert_eq!(response_mode, *want, "{rt} {mode:?}");
                }
                other => panic!("{rt} {mode:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn public_clients_need_pkce_for_codes() {
        let public = client(true, &["authorization_code", "implicit"]);
        let err = AuthorizeRequest::parse(&params("code"), &public, None).expect_err("refused");
        assert!(err.may_redirect());
        let mut p = params("code");
        p.code_challenge = Some(CHALLENGE);
        p.code_challenge_method = Some("S256");
        let ok = AuthorizeRequest::parse(&p, &public, None).expect("valid");
        assert_eq!(ok.code_challenge.as_deref(), Some(CHALLENGE));
        let mut p = params("id_token");
        p.nonce = Some("n");
        assert!(AuthorizeRequest::parse(&p, &public, None).is_ok());
    }

    #[test]
    fn connections_must_be_login_strategies_enabled_for_the_client() {
        let c = client(false, &["authorization_code"]);
        let mut p = params("code");
        p.connection = Some("db");
        let cases = [
            (connection("auth0", &["c1"]), true),
            (connection("email", &["c1"]), true),
            (connection("sms", &["c1"]), true),
            (connection("auth0", &["other"]), false),
            (connection("google-oauth2", &["c1"]), true),
            (connection("samlp", &["c1"]), true),
            (connection("waad", &["c1"]), false),
            (connection("oidc", &["c1"]), true),
            (connection("oidc", &["other"]), false),
        ];
        for (conn, ok) in cases {
            let got = AuthorizeRequest::parse(&p, &c, Some(&conn));
            assert_eq!(
                got.is_ok(),
                ok,
                "{} {:?}",
                conn.strategy,
                conn.enabled_clients
            );
            if let Ok(req) = got {
                assert_eq!(req.connection.as_deref(), Some("db"));
            }
        }
    }

    #[test]
    fn a_valid_request_is_normalized() {
        let c = client(false, &["authorization_code", "implicit"]);
        let got = AuthorizeRequest::parse(&params("code"), &c, None).expect("valid");
        assert_eq!(got.scope, "openid");
        assert_eq!(got.response_mode, ResponseMode::Query);
        assert_eq!(got.max_age, None);
        let mut p = params("token id_token");
        p.nonce = Some("n");
        p.scope = Some("openid  profile");
        p.max_age = Some("0");
        let got = AuthorizeRequest::parse(&p, &c, None).expect("valid");
        assert_eq!(got.response_type.as_str(), "id_token token");
        assert_eq!(got.response_mode, ResponseMode::Fragment);
        assert_eq!(got.max_age, Some(0));
    }
}
