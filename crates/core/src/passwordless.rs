//! Passwordless connections (`email`, `sms`): their options, recipients, one-time codes and
//! message templates. Delivery and storage live elsewhere; this is the rules.

use serde_json::Value;

use crate::connection::Connection;
use crate::strategy::Strategy;

/// How long a code lives when the connection does not say (Auth0: three minutes).
pub const DEFAULT_TIME_STEP: i64 = 180;
/// Digits in a code when the connection does not say.
pub const DEFAULT_LENGTH: usize = 6;
/// Wrong codes allowed before a code stops working (Auth0: three).
pub const MAX_ATTEMPTS: i64 = 3;
/// Wrong codes for one recipient, across codes and replicas, before codes stop working for
/// the rest of [`FAILURE_WINDOW_SECONDS`].
pub const MAX_RECIPIENT_FAILURES: i64 = 10;
/// The window of [`MAX_RECIPIENT_FAILURES`].
pub const FAILURE_WINDOW_SECONDS: i64 = 3600;

/// Auth0's default email text when the connection has no template.
pub const DEFAULT_EMAIL_BODY: &str = "{% if send == 'code' %}Your verification code for {{ application.name }} is: {{ code }}\n\nIt expires in a few minutes.{% else %}Log in to {{ application.name }} by opening this link:\n{{ link }}\n\nIt works once and expires in a few minutes.{% endif %}\n";
/// Auth0's default email subject.
pub const DEFAULT_EMAIL_SUBJECT: &str = "Welcome to {{ application.name }}";
/// Auth0's default SMS text.
pub const DEFAULT_SMS_TEMPLATE: &str = "Your verification code is: @@password@@";

/// A one-time code (or magic link) waiting to be used; only its keyed hash is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Otp {
    /// Random id.
    pub id: String,
    /// The passwordless connection's name.
    pub connection: crate::id::ConnectionName,
    /// Normalised email or E.164 phone number.
    pub recipient: String,
    /// Keyed hash of the code.
    pub code_hash: Vec<u8>,
    /// The application that asked for it.
    pub client_id: crate::id::ClientId,
    /// `code` or `link`.
    pub send: String,
    /// For links: the authorization parameters the link completes.
    pub auth_params: Value,
    /// Verification attempts so far.
    pub attempts: i64,
    /// When it was sent.
    pub created_at: time::OffsetDateTime,
    /// When it stops working.
    pub expires_at: time::OffsetDateTime,
}

/// What `/passwordless/start` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Send {
    /// A code to type in.
    Code,
    /// A link that logs in when opened (email only).
    Link,
}

impl Send {
    /// Auth0's spelling (`code`, `link`).
    pub fn as_str(self) -> &'static str {
        match self {
            Send::Code => "code",
            Send::Link => "link",
        }
    }
}

/// The options of a passwordless connection that the login path needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordlessOptions {
    /// Seconds a code stays valid.
    pub time_step: i64,
    /// Digits in a code.
    pub length: usize,
    /// Only existing users may log in.
    pub disable_signup: bool,
    /// Whether failed logins count towards a brute-force block.
    pub brute_force_protection: bool,
    /// The message template (email body or SMS text).
    pub template: String,
    /// The email subject (email only).
    pub subject: String,
    /// The sender: an email From, or an SMS `from` number.
    pub from: Option<String>,
}

impl PasswordlessOptions {
    /// Reads a connection's `options`. Email options may be Auth0's nested `email {from,
    /// subject, body}` or the flat `from`/`subject`/`template` other tools write.
    pub fn of(connection: &Connection) -> Self {
        Self::from_options(&connection.strategy, &connection.options.to_json())
    }

    /// Reads `options` JSON of a connection of `strategy` (see [`PasswordlessOptions::of`]).
    pub fn from_options(strategy: &Strategy, o: &Value) -> Self {
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let email = &o["email"];
        let (template, subject, from) = if *strategy == Strategy::Email {
            (
                text(&email["body"])
                    .or_else(|| text(&o["template"]))
                    .unwrap_or_else(|| DEFAULT_EMAIL_BODY.to_owned()),
                text(&email["subject"])
                    .or_else(|| text(&o["subject"]))
                    .unwrap_or_else(|| DEFAULT_EMAIL_SUBJECT.to_owned()),
                text(&email["from"]).or_else(|| text(&o["from"])),
            )
        } else {
            (
                text(&o["template"]).unwrap_or_else(|| DEFAULT_SMS_TEMPLATE.to_owned()),
                String::new(),
                text(&o["from"]),
            )
        };
        PasswordlessOptions {
            time_step: o["totp"]["time_step"]
                .as_i64()
                .filter(|t| (30..=86_400).contains(t))
                .unwrap_or(DEFAULT_TIME_STEP),
            length: o["totp"]["length"]
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| (4..=10).contains(n))
                .unwrap_or(DEFAULT_LENGTH),
            disable_signup: o["disable_signup"].as_bool().unwrap_or(false),
            brute_force_protection: o["brute_force_protection"].as_bool().unwrap_or(true),
            template,
            subject,
            from,
        }
    }
}

/// An email address as Auth0 stores it (lower case), if it looks like one.
pub fn normalize_email(e: &str) -> Option<String> {
    let valid = e.len() <= 254
        && matches!(e.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
        && !e.chars().any(char::is_whitespace);
    valid.then(|| e.to_lowercase())
}

/// Whether `p` is an E.164 phone number (`+` and 1 to 15 digits, Auth0's pattern).
pub fn is_e164(p: &str) -> bool {
    p.strip_prefix('+')
        .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The values a message template may use.
pub struct TemplateValues<'a> {
    /// The one-time code.
    pub code: &'a str,
    /// The magic link (empty when a code is sent).
    pub link: &'a str,
    /// `code` or `link`.
    pub send: Send,
    /// The application's name.
    pub application_name: &'a str,
    /// The recipient's email or phone number.
    pub recipient: &'a str,
    /// The language asked for, if any.
    pub request_language: &'a str,
}

/// Renders a template: Auth0's SMS macro `@@password@@`, the Liquid variables `code`,
/// `password`, `link`, `send`, `application.name`, `email`, `user.email`, `phone_number` and
/// `request_language`, and Liquid's `{% if send == '...' %}...{% else %}...{% endif %}` on
/// `send` (the one branch Auth0's default templates use). Nothing else is evaluated: the
/// output is plain text, so values need no escaping.
pub fn render(template: &str, v: &TemplateValues<'_>) -> String {
    let branched = choose_send_branches(template, v.send);
    let mut out = String::with_capacity(branched.len() + 32);
    let mut rest = branched.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = rest[start + 2..start + end].trim();
        out.push_str(match name {
            "code" | "password" => v.code,
            "link" => v.link,
            "send" => v.send.as_str(),
            "application.name" => v.application_name,
            "email" | "user.email" | "phone_number" => v.recipient,
            "request_language" => v.request_language,
            _ => "",
        });
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out.replace("@@password@@", v.code)
}

/// Keeps the branch of each `{% if send == 'x' %}A{% else %}B{% endif %}` that applies.
fn choose_send_branches(template: &str, send: Send) -> String {
    let mut out = String::new();
    let mut rest = template;
    // Once no `{% endif %}` is left, later `if` tags cannot have one either: remembering that
    // keeps a template of many unclosed `if` tags linear instead of quadratic.
    let mut endif_left = true;
    while let Some(start) = rest.find("{%") {
        out.push_str(&rest[..start]);
        // The close is searched after the open: in `{%}` they share the `%`.
        let Some(tag_end) = rest[start + 2..].find("%}").map(|e| e + 2) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let tag = rest[start + 2..start + tag_end].trim();
        let after = &rest[start + tag_end + 2..];
        let wanted = tag
            .strip_prefix("if send ==")
            .map(|w| w.trim().trim_matches(|c| c == '\'' || c == '"'));
        let endif = match wanted {
            Some(_) if endif_left => after.find("{% endif %}"),
            _ => None,
        };
        endif_left &= wanted.is_none() || endif.is_some();
        let (Some(wanted), Some(endif)) = (wanted, endif) else {
            // Not a tag we evaluate: drop it, keep the text.
            rest = after;
            continue;
        };
        let body = &after[..endif];
        let (then, otherwise) = body.split_once("{% else %}").unwrap_or((body, ""));
        let matches = wanted == send.as_str() || (send == Send::Link && wanted.starts_with("link"));
        out.push_str(if matches { then } else { otherwise });
        rest = &after[endif + "{% endif %}".len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(send: Send) -> TemplateValues<'static> {
        TemplateValues {
            code: "123456",
            link: "https://id.example/passwordless/verify_redirect?x=1",
            send,
            application_name: "Acme",
            recipient: "a@example.com",
            request_language: "en",
        }
    }

    #[test]
    fn options_default_to_auth0s_and_read_both_spellings() {
        let d = PasswordlessOptions::from_options(&Strategy::Email, &json!({}));
        assert_eq!((d.time_step, d.length, d.disable_signup), (180, 6, false));
        assert_eq!(d.subject, DEFAULT_EMAIL_SUBJECT);
        let nested = PasswordlessOptions::from_options(
            &Strategy::Email,
            &json!({"email": {"from": "id@acme.test", "subject": "Hi", "body": "{{ code }}"},
                    "totp": {"time_step": 300, "length": 8}, "disable_signup": true}),
        );
        assert_eq!(nested.from.as_deref(), Some("id@acme.test"));
        assert_eq!((nested.time_step, nested.length), (300, 8));
        assert!(nested.disable_signup);
        let flat = PasswordlessOptions::from_options(
            &Strategy::Email,
            &json!({"from": "x@acme.test", "template": "T", "totp": {"length": 99}}),
        );
        assert_eq!((flat.template.as_str(), flat.length), ("T", 6));
        let sms = PasswordlessOptions::from_options(&Strategy::Sms, &json!({"from": "+15550001"}));
        assert_eq!(sms.template, DEFAULT_SMS_TEMPLATE);
    }

    #[test]
    fn recipients_are_checked() {
        assert_eq!(
            normalize_email("A@Example.COM").as_deref(),
            Some("a@example.com")
        );
        for bad in ["", "a", "@b", "a@", "a b@c", "a@b@c"] {
            assert!(normalize_email(bad).is_none(), "{bad}");
        }
        assert!(is_e164("+14155550123"));
        for bad in ["14155550123", "+", "+1 415", "+1234567890123456", "+12a"] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn templates_fill_variables_and_choose_the_send_branch() {
        assert_eq!(
            render(
                "Code for {{application.name}}: {{ code }} @@password@@",
                &values(Send::Code)
            ),
            "Code for Acme: 123456 123456"
        );
        let t = "Hi {{ email }}. {% if send == 'code' %}Code {{ code }}{% else %}Open {{ link }}{% endif %}!";
        assert_eq!(
            render(t, &values(Send::Code)),
            "Hi a@example.com. Code 123456!"
        );
        assert_eq!(
            render(t, &values(Send::Link)),
            "Hi a@example.com. Open https://id.example/passwordless/verify_redirect?x=1!"
        );
        assert!(render(DEFAULT_EMAIL_BODY, &values(Send::Code)).contains("is: 123456"));
        assert!(!render(DEFAULT_EMAIL_BODY, &values(Send::Code)).contains("{%"));
        assert_eq!(
            render("{{ unknown }}{{ code", &values(Send::Code)),
            "{{ code"
        );
    }

    #[test]
    fn an_open_and_close_sharing_a_percent_sign_is_text() {
        // `{%}` once sliced the template backwards and panicked.
        assert_eq!(render("a{%}}b", &values(Send::Code)), "a{%}}b");
    }

    #[test]
    fn many_unclosed_if_tags_render_in_linear_time() {
        // Quadratic before: every unclosed `if` searched the rest of the template for `endif`.
        let t = "{% if send == 'code' %}x".repeat(20_000);
        let out = render(&t, &values(Send::Code));
        assert_eq!(out, "x".repeat(20_000));
    }

    /// Deep nesting of `{%`, `{{` and macro fragments, as an attacker-chosen template would.
    fn template_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        proptest::collection::vec(
            prop_oneof![
                Just("{{".to_owned()),
                Just("}}".to_owned()),
                Just("{%".to_owned()),
                Just("%}".to_owned()),
                Just("{% if send == 'code' %}".to_owned()),
                Just("{% else %}".to_owned()),
                Just("{% endif %}".to_owned()),
                Just(" code ".to_owned()),
                Just("@@password@@".to_owned()),
                "\\PC{0,4}",
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest::proptest! {
        #[test]
        fn rendering_never_panics_and_leaks_no_other_branch(t in template_text()) {
            let out = render(&t, &values(Send::Code));
            // Values are inserted, never evaluated again: the link never appears in a code
            // message unless the template asked for `{{ link }}`, which these never do.
            proptest::prop_assert!(!out.contains("verify_redirect"));
        }
    }
}
