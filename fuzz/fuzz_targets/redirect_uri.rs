//! Redirect-URI matching: never panics, and never allows what the rules forbid.
#![no_main]

use gatehouse_core::redirect_uri::allowed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<String>, String, bool)| {
    let (registered, requested, native) = input;
    if allowed(&registered, &requested, native) {
        assert!(!requested.contains('#'));
        assert!(!requested.chars().any(char::is_whitespace));
        let scheme = requested.split(':').next().unwrap_or_default().to_ascii_lowercase();
        assert!(!["javascript", "data", "vbscript", "file", "blob"].contains(&scheme.as_str()));
        if !native {
            assert!(registered.iter().any(|r| r == &requested || r.contains("://*.")));
        }
    }
});
