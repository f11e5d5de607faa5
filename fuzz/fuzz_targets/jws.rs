//! JWS verification of tokens from callers (`link_with`, ID-token hints, Management tokens):
//! never panics, and only what we signed verifies.
#![no_main]

use std::sync::OnceLock;

use gatehouse_core::signing_key::KeyState;
use gatehouse_server::crypto::{MasterKey, Sealer};
use gatehouse_server::signing::{KeyRing, KeySet, generate};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn ring() -> &'static (KeyRing, String) {
    static RING: OnceLock<(KeyRing, String)> = OnceLock::new();
    RING.get_or_init(|| {
        let sealer = Sealer::new(&MasterKey::generate());
        let key = generate(&sealer, KeyState::Current).expect("key");
        let ring = KeyRing::new(KeySet::from_stored(&[key], &sealer).expect("set"));
        let token = ring.sign(&claims()).expect("signed");
        (ring, token)
    })
}

fn claims() -> Value {
    json!({"sub": "auth0|fuzz", "aud": "a", "exp": 4_000_000_000u64})
}

fuzz_target!(|data: &[u8]| {
    let (ring, token) = ring();
    // Raw input, and the input spliced into our own valid token.
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(c) = ring.verify(text)
    {
        assert_eq!(c, claims(), "only what we signed verifies");
    }
    let mut spliced = token.clone().into_bytes();
    for (i, b) in data.iter().enumerate().take(spliced.len()) {
        let at = (usize::from(*b) * 7 + i * 13) % spliced.len();
        spliced[at] = *b;
    }
    if let Ok(text) = String::from_utf8(spliced)
        && let Ok(c) = ring.verify(&text)
    {
        assert_eq!(c, claims(), "a changed token verifies only if its claims are unchanged");
    }
});
