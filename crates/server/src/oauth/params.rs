//! Parameters of Authentication API requests, from a form or a JSON body alike.
//!
//! Auth0's SDKs differ: node-auth0 and spa-js post forms, auth0-python posts JSON with
//! `null` for unset optionals. Both become one map; `null` and `""` count as absent, unknown
//! parameters are kept but never required.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::FromRequest;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use gatehouse_core::scope::Scope;
use serde_json::Value;

use crate::error::OAuthError;

/// The request's parameters.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// A parameter, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The `scope` the caller asked for, if any: capped (RFC 6749 s5.2 `invalid_scope` when
    /// over the caps) because it is parsed before the caller is authenticated.
    pub fn scope(&self) -> Result<Option<Scope>, OAuthError> {
        self.get("scope")
            .map(Scope::parse_requested)
            .transpose()
            .map_err(|e| OAuthError::InvalidScope(e.to_string()))
    }

    /// Parameters made in-process (the admin dashboard redeeming its own code); empty
    /// values count as absent, as in a request.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Params(
            pairs
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// The names of the parameters present.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// A parameter that must be present.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::InvalidRequest(format!("Missing required parameter: {name}"))
        })
    }

    fn from_form(body: &[u8]) -> Result<Self, OAuthError> {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if v.is_empty() {
                continue;
            }
            // RFC 6749 s3.2: parameters must not be included more than once.
            if map.insert(k.to_string(), v.to_string()).is_some() {
                return Err(OAuthError::InvalidRequest(format!(
                    "Parameter {k} was sent more than once"
                )));
            }
        }
        Ok(Params(map))
    }

    fn from_json(body: &[u8]) -> Result<Self, OAuthError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| OAuthError::InvalidRequest("The request body is not valid JSON".into()))?;
        let Value::Object(obj) = value else {
            return Err(OAuthError::InvalidRequest(
                "The request body must be a JSON object".into(),
            ));
        };
        let mut map = HashMap::new();
        for (k, v) in obj {
            let text = match v {
                Value::String(s) if !s.is_empty() => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                // An object (passwordless `authParams`) is kept as its JSON text.
                Value::Object(_) => v.to_string(),
                // null, "" and arrays (which no parameter takes) are absent.
                _ => continue,
            };
            map.insert(k, text);
        }
        Ok(Params(map))
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| OAuthError::InvalidRequest("The request body could not be read".into()))?;
        Self::parse(&content_type, &body)
    }
}

impl Params {
    /// Reads a body of the given media type (lower case, without parameters).
    pub fn parse(content_type: &str, body: &[u8]) -> Result<Self, OAuthError> {
        match content_type {
            "application/x-www-form-urlencoded" => Self::from_form(body),
            "application/json" => Self::from_json(body),
            "" if body.is_empty() => Ok(Params::default()),
            _ => Err(OAuthError::InvalidRequest(
                "Content-Type must be application/x-www-form-urlencoded or application/json".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_drops_empty_and_rejects_repeats() {
        let p = Params::from_form(b"a=1&b=&c=x%20y").expect("parses");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert!(Params::from_form(b"a=1&a=2").is_err());
    }

    #[test]
    fn json_nulls_and_empties_are_absent() {
        let p = Params::from_json(br#"{"a":"1","b":null,"c":"","d":5,"e":{"x":1},"f":[1]}"#)
            .expect("parses");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), None);
        assert_eq!(p.get("d"), Some("5"));
        assert_eq!(p.get("e"), Some(r#"{"x":1}"#), "objects stay as JSON text");
        assert_eq!(p.get("f"), None);
        assert!(Params::from_json(b"[1]").is_err());
        assert!(Params::from_json(b"{").is_err());
    }
}
