//! Passwordless message templates (set by admins, filled with attacker-chosen recipients).
#![no_main]

use gatehouse_core::passwordless::{Send, TemplateValues, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, bool)| {
    let (template, recipient, link) = input;
    let values = TemplateValues {
        code: "123456",
        link: if link { "https://id.example/l" } else { "" },
        send: if link { Send::Link } else { Send::Code },
        application_name: "App",
        recipient,
        request_language: "en",
    };
    let out = render(template, &values);
    // Values are filled in one pass: a recipient's own `{{ code }}` is never evaluated.
    if !template.contains('{') && !template.contains("@@") {
        assert_eq!(out, template);
    }
});
