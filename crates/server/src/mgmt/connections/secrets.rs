//! Secrets in connection options (the Twilio token, the SMS gateway's signing secret):
//! sealed (`crate::secrets`) before they are stored, never shown back, and kept when a
//! `PATCH` leaves them out.

use gatehouse_core::connection::{Connection, ConnectionOptions};
use serde_json::Value;

use crate::AppState;
use crate::secrets::{SEALED, seal_connection_secret};

/// Options that hold secrets: sealed under the master key before they are stored, never
/// shown back, and kept when a PATCH leaves them out.
const SECRET_OPTIONS: &[&[&str]] = &[
    &["twilio_token"],
    &["gateway_authentication", "secret"],
    &["client_secret"],
];

fn at_path<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut v = v;
    for p in path {
        v = v.as_object_mut()?.get_mut(*p)?;
    }
    Some(v)
}

/// Where tokens signed with the SMS gateway secret go, and who they claim to be for.
fn gateway_destination(options: &Value) -> [&Value; 3] {
    let auth = &options["gateway_authentication"];
    [&options["gateway_url"], &auth["audience"], &auth["subject"]]
}

/// Seals the secrets in `c.options`; a secret absent from them keeps its value in `before`,
/// except the SMS gateway secret when the gateway URL, audience or subject changed: whoever
/// may update connections (but never read their secrets) must not be able to send tokens the
/// real gateway accepts to a host of their choosing. Without it, delivery fails (and is
/// logged) instead of sending an unsigned request.
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
    for path in SECRET_OPTIONS {
        let moved = before.is_some_and(|b| gateway_destination(b) != gateway_destination(options));
        let kept_here = !(moved && *path == ["gateway_authentication", "secret"]);
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
                    .filter(|_| kept_here)
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
    for path in SECRET_OPTIONS {
        if let Some((last, parents)) = path.split_last()
            && let Some(Value::Object(parent)) = at_path(&mut shown, parents)
        {
            parent.remove(*last);
        }
    }
    shown
}
