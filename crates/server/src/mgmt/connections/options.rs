//! Per-strategy rules for connection `options`, with Auth0's names and messages. (The
//! options stay a JSON document here; their typed form per strategy belongs to core.)

use gatehouse_core::strategy::Strategy;
use serde_json::{Map, Value};

use crate::mgmt::error::MgmtError;
use crate::mgmt::validate::{self as v, bad};

/// Checks `value` as the options of a `strategy` connection.
pub fn validate_options(strategy: &Strategy, value: &Value) -> Result<(), MgmtError> {
    let o = v::object("options", value)?;
    match strategy {
        Strategy::Database => {
            if let Some(p) = o.get("passwordPolicy").filter(|p| !p.is_null()) {
                v::one_of(
                    "options.passwordPolicy",
                    p,
                    &["none", "low", "fair", "good", "excellent"],
                )?;
            }
            for flag in [
                "requires_username",
                "brute_force_protection",
                "disable_signup",
                "import_mode",
            ] {
                if let Some(b) = o.get(flag) {
                    v::boolean(&format!("options.{flag}"), b)?;
                }
            }
        }
        Strategy::Email | Strategy::Sms => {
            passwordless_options(strategy, o)?;
            if let Some(t) = o.get("totp") {
                let t = v::object("options.totp", t)?;
                if let Some(n) = t.get("length") {
                    v::integer("options.totp.length", n, 4, 10)?;
                }
                if let Some(n) = t.get("time_step") {
                    v::integer("options.totp.time_step", n, 30, 86_400)?;
                }
            }
        }
        Strategy::Oidc | Strategy::Google | Strategy::GitHub | Strategy::OAuth2 => {
            upstream_options(o)?;
        }
        Strategy::Samlp => saml_options(o)?,
        _ => {}
    }
    Ok(())
}

/// The options of upstream connections (`oidc`, `google-oauth2`, `github`, `oauth2`),
/// with Auth0's names (`userinfo_url` is gatehouse's, see ARCHITECTURE.md).
fn upstream_options(o: &Map<String, Value>) -> Result<(), MgmtError> {
    for url in [
        "discovery_url",
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "end_session_endpoint",
        "authorizationURL",
        "tokenURL",
        "userinfo_url",
    ] {
        if let Some(u) = o.get(url) {
            let property = format!("options.{url}");
            let u = v::url(&property, u, false)?;
            // Secrets and logins travel there: https, or a provider on this machine.
            if !crate::upstream::http::https_or_loopback(&u) {
                return Err(bad(&property, format!("{u} must use https")));
            }
        }
    }
    if let Some(t) = o.get("type") {
        v::one_of("options.type", t, &["back_channel", "front_channel"])?;
    }
    if let Some(c) = o.get("client_id") {
        v::string("options.client_id", c, 500)?;
    }
    if let Some(s) = o.get("set_user_root_attributes") {
        v::one_of(
            "options.set_user_root_attributes",
            s,
            &["on_each_login", "on_first_login", "never_on_login"],
        )?;
    }
    if let Some(m) = o.get("token_endpoint_auth_method").filter(|m| !m.is_null()) {
        v::one_of(
            "options.token_endpoint_auth_method",
            m,
            &["client_secret_post", "client_secret_basic"],
        )?;
    }
    if let Some(b) = o.get("pkce_enabled") {
        v::boolean("options.pkce_enabled", b)?;
    }
    if let Some(map) = o.get("fieldsMap") {
        for (attribute, from) in v::object("options.fieldsMap", map)? {
            let property = format!("options.fieldsMap.{attribute}");
            // One attribute, or (SAML) the first present of several.
            match from {
                Value::Array(_) => v::strings(&property, from, 128).map(|_| ())?,
                _ => v::string(&property, from, 128).map(|_| ())?,
            }
        }
    }
    if let Some(aliases) = o.get("domain_aliases") {
        let Value::Array(list) = aliases else {
            return Err(bad("options.domain_aliases", "must be an array of domains"));
        };
        for d in list {
            let d = v::string("options.domain_aliases", d, 255)?;
            if d.is_empty() || d.contains(['@', '/', ' ']) {
                return Err(bad(
                    "options.domain_aliases",
                    format!("{d} is not a domain"),
                ));
            }
        }
    }
    Ok(())
}

/// A `samlp` connection's options, with Auth0's names.
fn saml_options(o: &Map<String, Value>) -> Result<(), MgmtError> {
    for url in ["signInEndpoint", "signOutEndpoint"] {
        if let Some(u) = o.get(url) {
            let property = format!("options.{url}");
            let u = v::url(&property, u, false)?;
            if !crate::upstream::http::https_or_loopback(&u) {
                return Err(bad(&property, format!("{u} must use https")));
            }
        }
    }
    if let Some(cert) = o.get("signingCert") {
        let text = v::string("options.signingCert", cert, 20_000)?;
        if crate::saml::certificate::der(&text).is_none() {
            return Err(bad(
                "options.signingCert",
                "must be an X.509 certificate: base64 DER, PEM, or base64 of PEM",
            ));
        }
    }
    if let Some(b) = o.get("signSAMLRequest") {
        v::boolean("options.signSAMLRequest", b)?;
    }
    if let Some(initiated) = o.get("idpinitiated") {
        let i = v::object("options.idpinitiated", initiated)?;
        if let Some(b) = i.get("enabled") {
            v::boolean("options.idpinitiated.enabled", b)?;
        }
        if let Some(id) = i.get("client_id") {
            v::string("options.idpinitiated.client_id", id, 200)?;
        }
        if let Some(p) = i.get("client_protocol") {
            v::one_of(
                "options.idpinitiated.client_protocol",
                p,
                &["oauth2", "samlp", "wsfed"],
            )?;
        }
        if let Some(q) = i.get("client_authorizequery") {
            v::string("options.idpinitiated.client_authorizequery", q, 2000)?;
        }
    }
    if let Some(binding) = o.get("protocolBinding") {
        v::one_of(
            "options.protocolBinding",
            binding,
            &[
                gatehouse_core::saml::HTTP_REDIRECT,
                gatehouse_core::saml::HTTP_POST,
            ],
        )?;
    }
    upstream_options(o)
}

/// The options of `email` and `sms` connections, with Auth0's names.
fn passwordless_options(strategy: &Strategy, o: &Map<String, Value>) -> Result<(), MgmtError> {
    let text = |key: &str, max: usize| -> Result<(), MgmtError> {
        match o.get(key).filter(|v| !v.is_null()) {
            Some(val) => v::string(&format!("options.{key}"), val, max).map(|_| ()),
            None => Ok(()),
        }
    };
    for flag in [
        "disable_signup",
        "brute_force_protection",
        "forward_req_info",
    ] {
        if let Some(b) = o.get(flag).filter(|v| !v.is_null()) {
            v::boolean(&format!("options.{flag}"), b)?;
        }
    }
    if let Some(syntax) = o.get("syntax").filter(|v| !v.is_null()) {
        v::one_of("options.syntax", syntax, &["liquid", "md_with_macros"])?;
    }
    text("from", 255)?;
    text("subject", 255)?;
    text("template", 10_000)?;
    if *strategy == Strategy::Email {
        if let Some(e) = o.get("email").filter(|v| !v.is_null()) {
            let e = v::object("options.email", e)?;
            for (key, max) in [("from", 255), ("subject", 255), ("body", 10_000)] {
                if let Some(val) = e.get(key).filter(|v| !v.is_null()) {
                    v::string(&format!("options.email.{key}"), val, max)?;
                }
            }
            if let Some(syntax) = e.get("syntax").filter(|v| !v.is_null()) {
                v::one_of("options.email.syntax", syntax, &["liquid"])?;
            }
        }
        return Ok(());
    }
    let provider = match o.get("provider").filter(|v| !v.is_null()) {
        Some(p) => v::one_of("options.provider", p, &["twilio", "sms_gateway"])?,
        None => "twilio".to_owned(),
    };
    if let Some(from) = o.get("from").and_then(Value::as_str)
        && from.starts_with('+')
        && !gatehouse_core::passwordless::is_e164(from)
    {
        return Err(bad(
            "options.from",
            "must be an E.164 number or a sender name",
        ));
    }
    text("twilio_sid", 64)?;
    text("twilio_token", 256)?;
    text("messaging_service_sid", 64)?;
    if provider == "sms_gateway" {
        let url = o
            .get("gateway_url")
            .ok_or_else(|| v::missing("options.gateway_url"))?;
        v::url("options.gateway_url", url, false)?;
        if let Some(a) = o.get("gateway_authentication").filter(|v| !v.is_null()) {
            let a = v::object("options.gateway_authentication", a)?;
            v::one_of(
                "options.gateway_authentication.method",
                v::required(a, "method")?,
                &["bearer"],
            )?;
            v::string(
                "options.gateway_authentication.audience",
                v::required(a, "audience")?,
                500,
            )?;
            if let Some(sub) = a.get("subject").filter(|v| !v.is_null()) {
                v::string("options.gateway_authentication.subject", sub, 500)?;
            }
            if let Some(secret) = a.get("secret") {
                v::non_empty("options.gateway_authentication.secret", secret, 1000)?;
            }
            if let Some(b) = a.get("secret_base64_encoded").filter(|v| !v.is_null()) {
                v::boolean("options.gateway_authentication.secret_base64_encoded", b)?;
            }
        }
    }
    Ok(())
}
