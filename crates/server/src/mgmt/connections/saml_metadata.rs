//! `samlp` connections made from the identity provider's metadata, as Auth0 allows:
//! `options.metadataXml`, or `options.metadataUrl` (read once, https or loopback, with the
//! upstream client's limits). The document fills `signInEndpoint`, `signOutEndpoint` and
//! `signingCert` where the options do not set them.

use gatehouse_core::connection::{Connection, ConnectionOptions};
use gatehouse_core::strategy::Strategy;
use serde_json::Value;

use super::options::validate_options;
use crate::AppState;
use crate::mgmt::error::MgmtError;
use crate::mgmt::validate::bad;

/// Fills `c`'s options from its metadata, if it names any.
pub async fn import(state: &AppState, c: &mut Connection) -> Result<(), MgmtError> {
    if c.strategy != Strategy::Samlp {
        return Ok(());
    }
    let ConnectionOptions::Other(options) = &mut c.options else {
        return Ok(());
    };
    let xml = match (options.get("metadataXml"), options.get("metadataUrl")) {
        (Some(Value::String(xml)), _) => xml.clone(),
        (None, Some(Value::String(url))) => state
            .upstreams
            .http
            .get_text(url)
            .await
            .map_err(|e| bad("options.metadataUrl", e.to_string()))?,
        (None, None) => return Ok(()),
        _ => return Err(bad("options.metadataXml", "must be a string")),
    };
    let described =
        crate::saml::metadata::read(&xml).map_err(|e| bad("options.metadataXml", e.to_string()))?;
    let mut fill = |key: &str, value: Option<String>| {
        if let Some(v) = value
            && !options.contains_key(key)
        {
            options.insert(key.to_owned(), Value::String(v));
        }
    };
    fill("signInEndpoint", Some(described.sign_in));
    fill("signOutEndpoint", described.sign_out);
    fill("signingCert", described.certificates.into_iter().next());
    // What the document filled in is held to the same rules as what is sent.
    validate_options(&c.strategy, &c.options.to_json())
}
