//! The tenant's email templates, rendered: Liquid (the `liquid` crate, Shopify's language as
//! Auth0 uses it) with Auth0's variables (`user`, `application`, `connection`, `url`, `code`,
//! `friendly_name`, `support_email`, `support_url`, `tenant`), sent as HTML with a plain-text
//! alternative. Without a template (or with a disabled one) the built-in text mail is sent, or
//! nothing where Auth0 sends nothing.
//!
//! Values a user controls (their profile and metadata) are HTML-escaped before a template sees
//! them: a name such as `<a href=...>` must not put markup into mail the tenant sends.

use std::sync::OnceLock;

use gatehouse_core::email_template::EmailTemplate;
use gatehouse_core::user::User;
use serde_json::{Map, Value, json};

use crate::AppState;

/// A mail ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// The subject.
    pub subject: String,
    /// The plain text.
    pub text: String,
    /// The HTML: the template's, or the built-in text in the tenant's branding.
    pub html: Option<String>,
    /// The sender, when the template names one.
    pub from: Option<String>,
}

impl Composed {
    /// A rendered template's mail: the HTML with its text alternative, the headers on one
    /// line (an empty sender is none).
    fn from_html(html: String, subject: &str, from: Option<&str>) -> Self {
        Composed {
            subject: one_line(subject),
            text: html_to_text(&html),
            html: Some(html),
            from: from.map(one_line).filter(|f| !f.is_empty()),
        }
    }
}

/// What a mail is about: its variables besides the tenant's.
#[derive(Debug, Default)]
pub struct MailVars<'a> {
    /// The user it goes to.
    pub user: Option<&'a User>,
    /// The link it carries.
    pub url: Option<&'a str>,
    /// The code it carries.
    pub code: Option<&'a str>,
    /// The application the user came from (`{name, clientID}`).
    pub application: Option<Value>,
    /// The connection's name.
    pub connection: Option<&'a str>,
}

fn parser() -> &'static liquid::Parser {
    static PARSER: OnceLock<liquid::Parser> = OnceLock::new();
    PARSER.get_or_init(|| {
        liquid::ParserBuilder::with_stdlib()
            .build()
            .unwrap_or_else(|_| liquid::Parser::default())
    })
}

/// Whether `source` is a Liquid template that parses; the parser's message when it is not.
pub fn check(source: &str) -> Result<(), String> {
    parser()
        .parse(source)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Renders `source` with `globals`. A variable or property that is not there renders as
/// nothing (and is falsy), as in Auth0's Liquid, rather than failing the mail.
pub fn render(source: &str, globals: &Map<String, Value>) -> Result<String, String> {
    let template = parser().parse(source).map_err(|e| e.to_string())?;
    let object = liquid::model::to_object(globals).map_err(|e| e.to_string())?;
    template
        .render(&lenient::Lenient::new(object))
        .map_err(|e| e.to_string())
}

/// Objects whose missing keys read as `nil`: the `liquid` crate reports an unknown index as
/// an error, where Auth0's templates expect `{% if user.user_metadata.lang %}` to be false.
mod lenient {
    use std::collections::HashMap;
    use std::fmt;

    use liquid::model::{DisplayCow, KStringCow, ObjectView, State, Value, ValueView};

    static NIL: Value = Value::Nil;

    /// An object, with its nested objects wrapped the same way.
    #[derive(Debug)]
    pub struct Lenient {
        object: liquid::Object,
        children: HashMap<String, Lenient>,
    }

    impl Lenient {
        pub fn new(object: liquid::Object) -> Self {
            let children = object
                .iter()
                .filter_map(|(k, v)| match v {
                    Value::Object(o) => Some((k.to_string(), Lenient::new(o.clone()))),
                    _ => None,
                })
                .collect();
            Lenient { object, children }
        }
    }

    impl ValueView for Lenient {
        fn as_debug(&self) -> &dyn fmt::Debug {
            self
        }
        fn render(&self) -> DisplayCow<'_> {
            self.object.render()
        }
        fn source(&self) -> DisplayCow<'_> {
            self.object.source()
        }
        fn type_name(&self) -> &'static str {
            self.object.type_name()
        }
        fn query_state(&self, state: State) -> bool {
            self.object.query_state(state)
        }
        fn to_kstr(&self) -> KStringCow<'_> {
            self.object.to_kstr()
        }
        fn to_value(&self) -> Value {
            self.object.to_value()
        }
        fn as_object(&self) -> Option<&dyn ObjectView> {
            Some(self)
        }
    }

    impl ObjectView for Lenient {
        fn as_value(&self) -> &dyn ValueView {
            self
        }
        fn size(&self) -> i64 {
            self.object.size()
        }
        fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
            ObjectView::keys(&self.object)
        }
        fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
            ObjectView::values(&self.object)
        }
        fn iter<'k>(
            &'k self,
        ) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
            ObjectView::iter(&self.object)
        }
        fn contains_key(&self, _index: &str) -> bool {
            true
        }
        fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
            if let Some(child) = self.children.get(index) {
                return Some(child);
            }
            Some(ObjectView::get(&self.object, index).unwrap_or(&NIL))
        }
    }
}

/// The tenant's template `name` when it is enabled; `Err(())` when the tenant turned it off.
pub async fn template(state: &AppState, name: &str) -> Result<Option<EmailTemplate>, ()> {
    let tenant = state.catalog.tenant().await.map_err(|_| ())?;
    match tenant.email_templates.get(name) {
        Some(t) if !t.enabled => Err(()),
        found => Ok(found.cloned()),
    }
}

/// The lifetime and after-use options of a link a template's mail carries: the template's
/// `urlLifetimeInSeconds`, `resultUrl` and `includeEmailInRedirect`, else `default` and none.
pub fn link_settings(
    template: Option<&EmailTemplate>,
    default: time::Duration,
) -> (time::Duration, super::TicketOptions) {
    let lifetime = template
        .and_then(|t| t.url_lifetime_in_seconds)
        .filter(|s| *s > 0)
        .map_or(default, time::Duration::seconds);
    let options = super::TicketOptions {
        result_url: template.and_then(|t| t.result_url.clone()),
        include_email: template.is_some_and(|t| t.include_email_in_redirect),
        mark_email_as_verified: false,
    };
    (lifetime, options)
}

/// The mail `name` for `vars`: the tenant's template rendered, else `fallback` (subject,
/// text). `None` when the tenant turned the template off, or it fails to render (logged).
pub async fn compose(
    state: &AppState,
    name: &str,
    vars: &MailVars<'_>,
    fallback: impl FnOnce() -> (String, String),
) -> Option<Composed> {
    let template = match template(state, name).await {
        Err(()) => return None,
        Ok(None) => {
            let (subject, text) = fallback();
            // The built-in text, dressed in the tenant's branding.
            let html = if text.is_empty() {
                None
            } else {
                let brand = crate::pages::brand(state).await;
                let action = vars.url.map(|url| (subject.as_str(), url));
                Some(super::layout::branded(&brand, &text, action))
            };
            return Some(Composed {
                subject,
                text,
                html,
                from: None,
            });
        }
        Ok(Some(t)) => t,
    };
    let mut globals = globals(state, vars).await;
    let html = render(&template.body, &globals);
    // Headers are text, not HTML: the user's own values unescaped (`one_line` keeps them to
    // one line, and lettre encodes them).
    globals.insert("user".into(), vars.user.map_or(json!({}), user_values));
    let rendered = (|| {
        let html = html?;
        let subject = render(&template.subject, &globals)?;
        let from = render(&template.from, &globals)?;
        Ok::<_, String>((html, subject, from))
    })();
    match rendered {
        Ok((html, subject, from)) => Some(Composed::from_html(html, &subject, Some(&from))),
        Err(e) => {
            tracing::warn!(template = name, error = %e, "email template did not render; mail not sent");
            None
        }
    }
}

/// A passwordless connection's email (its `template`, `subject` and `from` are Liquid, as in
/// Auth0) for `v`: HTML with a text alternative. `None` when one of them does not render
/// (logged), and the caller falls back to the plain substitution renderer.
pub fn passwordless_mail(
    template: &str,
    subject: &str,
    from: Option<&str>,
    v: &gatehouse_core::passwordless::TemplateValues<'_>,
) -> Option<Composed> {
    let globals = |escape: fn(&str) -> String| {
        let mut g = Map::new();
        for (k, value) in [
            ("code", v.code),
            ("password", v.code),
            ("link", v.link),
            ("send", v.send.as_str()),
            ("email", v.recipient),
            ("request_language", v.request_language),
        ] {
            g.insert(k.into(), json!(escape(value)));
        }
        g.insert(
            "application".into(),
            json!({"name": escape(v.application_name)}),
        );
        g.insert("user".into(), json!({"email": escape(v.recipient)}));
        g
    };
    let text_globals = globals(str::to_owned);
    let rendered = (|| {
        let html = render(template, &globals(escape_html))?;
        let subject = render(subject, &text_globals)?;
        let from = from.map(|f| render(f, &text_globals)).transpose()?;
        Ok::<_, String>((html, subject, from))
    })();
    match rendered {
        Ok((html, subject, from)) => Some(Composed::from_html(html, &subject, from.as_deref())),
        Err(e) => {
            tracing::warn!(error = %e, "passwordless email template did not render as Liquid");
            None
        }
    }
}

/// Headers are one line: whatever a template renders, newlines do not reach them.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn globals(state: &AppState, vars: &MailVars<'_>) -> Map<String, Value> {
    let tenant = state.catalog.tenant().await.unwrap_or_default();
    let friendly = tenant
        .friendly_name
        .clone()
        .unwrap_or_else(|| state.config.tenant_name.clone());
    let support_url = tenant.extra.get("support_url").cloned();
    let mut g = Map::new();
    g.insert("friendly_name".into(), json!(friendly));
    g.insert("tenant".into(), json!(state.config.tenant_name));
    g.insert("support_email".into(), json!(tenant.support_email));
    g.insert("support_url".into(), support_url.unwrap_or(Value::Null));
    g.insert("url".into(), json!(vars.url));
    g.insert("code".into(), json!(vars.code));
    g.insert(
        "application".into(),
        vars.application.clone().unwrap_or_else(|| json!({})),
    );
    g.insert("connection".into(), json!({"name": vars.connection}));
    // Not Auth0's: the branding, so a template can use the logo and colour the pages use.
    g.insert(
        "branding".into(),
        json!({"logo_url": tenant.logo_url.as_ref().or(tenant.picture_url.as_ref()),
               "primary_color": tenant.primary_color}),
    );
    g.insert(
        "user".into(),
        vars.user.map_or(json!({}), |u| escaped(user_values(u))),
    );
    g
}

/// Auth0's `user` variable (the HTML body gets it escaped, see the module comment).
fn user_values(u: &User) -> Value {
    let mut user = json!({
        "user_id": u.user_id.as_str(),
        "email": u.email,
        "email_verified": u.email_verified,
        "username": u.username,
        "phone_number": u.phone_number,
        "user_metadata": u.user_metadata,
        "app_metadata": u.app_metadata,
        "logins_count": u.logins_count,
    });
    if let Some(o) = user.as_object_mut() {
        for (k, v) in &u.profile {
            o.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    user
}

fn escaped(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(escape_html(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(escaped).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, escaped(v))).collect()),
        other => other,
    }
}

/// `s` safe in HTML text and attribute values.
pub(super) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The plain-text part of an HTML mail: text and line breaks kept, links as `text (url)`,
/// `<style>`/`<script>`/`<head>` dropped, entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    let mut skipping: Option<&str> = None;
    let mut link: Option<String> = None;
    while let Some(open) = rest.find('<') {
        if skipping.is_none() {
            out.push_str(&decode_entities(&rest[..open]));
        }
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let closing = tag.starts_with('/');
        if let Some(s) = skipping {
            if closing && name == s {
                skipping = None;
            }
            continue;
        }
        match (name.as_str(), closing) {
            ("style" | "script" | "head" | "title", false) => {
                skipping = Some(match name.as_str() {
                    "style" => "style",
                    "script" => "script",
                    "head" => "head",
                    _ => "title",
                });
            }
            ("br", _) | ("p" | "div" | "tr" | "h1" | "h2" | "h3" | "li" | "table", true) => {
                out.push('\n');
            }
            ("a", false) => link = attribute(tag, "href"),
            ("a", true) => {
                if let Some(href) = link
                    .take()
                    .filter(|h| !out.trim_end().ends_with(h.as_str()))
                {
                    out.push_str(&format!(" ({href})"));
                }
            }
            _ => {}
        }
    }
    if skipping.is_none() {
        out.push_str(&decode_entities(rest));
    }
    // Indentation and runs of blank lines from the HTML source say nothing in text.
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let mut text = String::new();
    let mut blank = true;
    for l in lines {
        if l.is_empty() {
            if !blank {
                text.push('\n');
            }
            blank = true;
        } else {
            text.push_str(&l);
            text.push('\n');
            blank = false;
        }
    }
    text.trim_end().to_owned() + "\n"
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!("{name}="))? + name.len() + 1;
    let value = &tag[at..];
    let (quote, value) = match value.chars().next()? {
        q @ ('"' | '\'') => (q, &value[1..]),
        _ => (' ', value),
    };
    let end = value.find(quote).unwrap_or(value.len());
    Some(decode_entities(&value[..end]))
}

fn decode_entities(s: &str) -> String {
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liquid_renders_auth0_variables() {
        let mut g = Map::new();
        g.insert(
            "user".into(),
            json!({"name": "Ada", "user_metadata": {"lang": "fr"}}),
        );
        g.insert("url".into(), json!("https://id.example/u/x?ticket=t"));
        g.insert("application".into(), json!({"name": "Shop"}));
        let out = render(
            "{% if user.user_metadata.lang == 'fr' %}Bonjour{% else %}Hello{% endif %} {{ user.name | upcase }}, <a href=\"{{ url }}\">verify</a> for {{ application.name }}",
            &g,
        )
        .expect("renders");
        assert_eq!(
            out,
            "Bonjour ADA, <a href=\"https://id.example/u/x?ticket=t\">verify</a> for Shop"
        );
        let missing = render(
            "[{{ nobody }}{{ user.nickname }}{% if user.user_metadata.plan %}paid{% endif %}{{ user.user_metadata.lang }}]",
            &g,
        )
        .expect("missing values render as nothing");
        assert_eq!(missing, "[fr]");
        assert!(check("{% if %}").is_err());
        assert!(check("{{ user.name ").is_err());
    }

    #[test]
    fn user_values_cannot_inject_markup() {
        let v = escaped(json!({"name": "<a href='x'>win</a>", "n": 3}));
        assert_eq!(
            v,
            json!({"name": "&lt;a href=&#39;x&#39;&gt;win&lt;/a&gt;", "n": 3})
        );
    }

    #[test]
    fn text_alternative_keeps_words_and_links() {
        let html = "<html><head><style>p{color:red}</style></head><body>\n  <h1>Welcome&nbsp;to Acme</h1>\n<p>Click <a href=\"https://x.example/v?a=1&amp;b=2\">here</a> to verify.</p><p>Thanks<br>The team</p><script>alert(1)</script></body></html>";
        assert_eq!(
            html_to_text(html),
            "Welcome to Acme\n\nClick here (https://x.example/v?a=1&b=2) to verify.\nThanks\nThe team\n"
        );
    }
}
