//! Requested scopes: never panic, stay within the caps, and survive a round trip.
#![no_main]

use gatehouse_core::scope::{MAX_REQUEST_TOKENS, Scope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let ours = Scope::parse(text);
    if let Ok(asked) = Scope::parse_requested(text) {
        assert!(asked.tokens().len() <= MAX_REQUEST_TOKENS);
        assert_eq!(ours.as_ref().ok(), Some(&asked), "the cap only refuses");
        assert_eq!(Scope::parse(&asked.to_string()).ok(), Some(asked.clone()));
        let allowed: Vec<String> = asked.tokens().iter().step_by(2).cloned().collect();
        let narrowed = asked.intersect(&allowed);
        assert!(narrowed.tokens().iter().all(|t| allowed.contains(t)));
    }
});
