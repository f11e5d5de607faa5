//! Secrets in connection options (the Twilio token, the SMS gateway's signing secret):
//! sealed (`crate::secrets`) before they are stored, never shown back, and kept when a
//! `PATCH` leaves them out.

use gatehouse_core::connection::{Connection, ConnectionOptions};
use serde_json::Value;

use crate::AppState;
use crate::secrets::{SEALED, seal_connection_secret};

/// Options that hold secrets (sealed under the master key before they are stored, never
/// shown back, and kept when a PATCH leaves them out), each with the options that say where
/// it is sent.
const SECRET_OPTIONS: &[(&[&str], &[&[&str]])] = &[
    (&["twilio_token"], &[]),
    (
        &["gateway_authentication", "secret"],
        &[
            &["gateway_url"],
            &["gateway_authentication", "audience"],
            &["gateway_authentication", "subject"],
        ],
    ),
    (
        &["client_secret"],
        &[
            &["discovery_url"],
            &["issuer"],
            &["token_endpoint"],
            &["tokenURL"],
        ],
    ),
];

fn at_path<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut v = v;
    for p in path {
        v = v.as_object_mut()?.get_mut(*p)?;
    }
    Some(v)
}

/// The values of `paths` in `options` (where a secret is sent, and who it claims to be for).
fn destination(options: &Value, paths: &[&[&str]]) -> Vec<Value> {
    paths
        .iter()
        .map(|path| {
            let mut o = options.clone();
            at_path(&mut o, path).cloned().unwrap_or(Value::Null)
        })
        .collect()
}

/// Seals the secrets in `c.options`; a secret absent from them keeps its value in `before`,
/// except when where it is sent changed (the SMS gateway's URL, audience or subject; an
/// identity provider's discovery URL, issuer or token endpoint): whoever may update
/// connections (but never read their secrets) must not be able to send a secret to a host
/// of their choosing. Without it, delivery or login fails (and is logged) instead.
pub fn seal_secrets(state: &AppState, c: &mut Connection, before: Option<&Connection>) {
    // Only untyped (passwordless) options hold secrets; database options have none.
    let ConnectionOptions::Other(map) = &mut c.options else {
        return;
    };
    let mut options = Value::Object(std::mem::take(map));
    let before_options = before.map(|b| b.options.to_json());
    seal_in(state, &c.id, &mut options, before_options.as_ref());
    if let Value::Object(sealed) = options {
        *map = sealed;
    }
}

fn seal_in(state: &AppState, id: &str, options: &mut Value, before: Option<&Value>) {
    for (path, sent_to) in SECRET_OPTIONS {
        let moved =
            before.is_some_and(|b| destination(b, sent_to) != destination(options, sent_to));
        let joined = path.join(".");
        let current = at_path(options, path).map(|v| v.clone());
        match current {
            Some(Value::String(plain)) => {
                let sealed = seal_connection_secret(&state.sealer, id, &joined, &plain);
                if let Some(slot) = at_path(options, path) {
                    *slot = sealed;
                }
            }
            None => {
                let kept = before
                    .filter(|_| !moved)
                    .and_then(|b| {
                        let mut o = b.clone();
                        at_path(&mut o, path).map(|v| v.clone())
                    })
                    .filter(|v| v.get(SEALED).is_some());
                let (Some(kept), Some((last, parents))) = (kept, path.split_last()) else {
                    continue;
                };
                if let Some(Value::Object(parent)) = at_path(options, parents) {
                    parent.insert((*last).to_owned(), kept);
                }
            }
            Some(_) => {}
        }
    }
}

/// The options as shown to callers: sealed secrets left out.
pub fn public_options(options: &Value) -> Value {
    let mut shown = options.clone();
    for (path, _) in SECRET_OPTIONS {
        if let Some((last, parents)) = path.split_last()
            && let Some(Value::Object(parent)) = at_path(&mut shown, parents)
        {
            parent.remove(*last);
        }
    }
    shown
}
