//! The body readers: Authentication API forms and JSON (`Params`), Management API JSON.
#![no_main]

use gatehouse_server::mgmt::body::parse_json;
use gatehouse_server::oauth::params::Params;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    for media in ["application/x-www-form-urlencoded", "application/json", ""] {
        if let Ok(p) = Params::parse(media, data) {
            // Absent means absent: no parameter is ever the empty string.
            assert!(p.keys().all(|k| p.get(k).is_some_and(|v| !v.is_empty())));
            let _ = p.scope();
        }
    }
    let _ = parse_json::<Value>(data);
});
