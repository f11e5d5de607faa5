//! Sending an authorization response (success or error) to the client through the
//! transaction's response mode: `query` or `fragment` (a redirect), `form_post` (an
//! auto-submitting form) or `web_message` (a page posting to the application's window).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::transaction::Transaction;
use crate::AppState;
use crate::pages::{self, FormPost};

/// Sends an authorization response (success or error) to the client.
pub fn respond(
    state: &AppState,
    tx: &Transaction,
    params: Vec<(&str, String)>,
    after_post: bool,
) -> Response {
    // A SAML service provider's login only ever hears failures here (success is a signed
    // assertion, `saml_reply::success`).
    if let Some(reply) = &tx.saml {
        let field = |name: &str| {
            params
                .iter()
                .find(|(k, _)| *k == name)
                .map_or("", |(_, v)| v.as_str())
        };
        return super::saml_reply::failure(
            state,
            reply,
            field("error"),
            field("error_description"),
        );
    }
    let mut fields: Vec<(&str, String)> = params;
    if let Some(s) = &tx.state {
        fields.push(("state", s.clone()));
    }
    fields.push(("iss", state.issuer.clone()));
    if tx.response_mode == "web_message" {
        let origin =
            gatehouse_core::authorize_request::origin_of(&tx.redirect_uri).unwrap_or_default();
        let response: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::json!(v)))
            .collect();
        let page = crate::pages::WebMessage {
            response: pages::script_json(&serde_json::Value::Object(response)),
            origin: pages::script_json(&serde_json::json!(origin)),
        };
        let mut r = pages::render(StatusCode::OK, &page);
        // Only the application's own origin may frame this page (silent authentication).
        if let Ok(v) = HeaderValue::from_str(&format!("frame-ancestors {origin}")) {
            r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
        return r;
    }
    if tx.response_mode == "form_post" {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        return pages::render(
            StatusCode::OK,
            &FormPost {
                action: &tx.redirect_uri,
                fields: pairs,
            },
        );
    }
    let mut url = tx.redirect_uri.clone();
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    if tx.response_mode == "fragment" {
        url.push('#');
    } else {
        url.push(if url.contains('?') { '&' } else { '?' });
    }
    url.push_str(&encoded);
    // 303 after a form POST, so the browser does not resend the credentials (RFC 9700 s4.11).
    let status = if after_post {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// An error sent back to the client through the transaction's response mode.
pub fn error_to_client(
    state: &AppState,
    tx: &Transaction,
    error: &str,
    description: &str,
) -> Response {
    respond(
        state,
        tx,
        vec![
            ("error", error.to_owned()),
            ("error_description", description.to_owned()),
        ],
        false,
    )
}

/// A blocked user's refusal, sent to the client.
pub fn blocked_to_client(state: &AppState, tx: &Transaction) -> Response {
    error_to_client(
        state,
        tx,
        "unauthorized",
        crate::user_access::BLOCKED_DESCRIPTION,
    )
}
