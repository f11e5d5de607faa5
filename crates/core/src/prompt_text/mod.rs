//! Universal Login's texts: Auth0's prompts and screens in the languages gatehouse ships
//! (English, German, French, Spanish), a tenant's custom texts over them, and the choice of
//! a page's language (`ui_locales`, then `Accept-Language`, within `enabled_locales`).
//!
//! Texts are keyed as Auth0 keys them (prompt, screen, key), so custom texts exported from
//! an Auth0 tenant apply unchanged to the screens gatehouse has.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::Value;

/// The texts of one screen: key to text.
pub type ScreenTexts = BTreeMap<String, String>;
/// A language's texts: prompt to screen to key to text.
type Catalog = BTreeMap<String, BTreeMap<String, ScreenTexts>>;

/// Auth0's prompts, the names `/prompts/{prompt}/custom-text/{language}` accepts.
pub const PROMPTS: &[&str] = &[
    "login",
    "login-id",
    "login-password",
    "login-passwordless",
    "login-email-verification",
    "signup",
    "signup-id",
    "signup-password",
    "phone-identifier-enrollment",
    "phone-identifier-challenge",
    "email-identifier-challenge",
    "reset-password",
    "custom-form",
    "consent",
    "customized-consent",
    "logout",
    "mfa-push",
    "mfa-otp",
    "mfa-voice",
    "mfa-phone",
    "mfa-webauthn",
    "mfa-sms",
    "mfa-email",
    "mfa-recovery-code",
    "mfa",
    "status",
    "device-flow",
    "email-verification",
    "email-otp-challenge",
    "organizations",
    "invitation",
    "common",
    "captcha",
    "passkeys",
    "brute-force-protection",
];

/// The prompts whose partials (`/prompts/{prompt}/partials`) Auth0 offers.
pub const PARTIAL_PROMPTS: &[&str] = &[
    "login",
    "login-id",
    "login-password",
    "login-passwordless",
    "signup",
    "signup-id",
    "signup-password",
    "passkeys",
];

/// Auth0's Universal Login languages: what `enabled_locales` and custom texts accept.
pub const LANGUAGES: &[&str] = &[
    "am", "ar", "ar-EG", "ar-SA", "az", "bg", "bn", "bs", "ca-ES", "cnr", "cs", "cy", "da", "de",
    "el", "en", "en-CA", "es", "es-419", "es-AR", "es-MX", "et", "eu-ES", "fa", "fi", "fr",
    "fr-CA", "fr-FR", "gl-ES", "gu", "he", "hi", "hr", "hu", "hy", "id", "is", "it", "ja", "ka",
    "kk", "kn", "ko", "lt", "lv", "mk", "ml", "mn", "mr", "ms", "my", "nb", "nl", "nn", "no", "pa",
    "pl", "pt", "pt-BR", "pt-PT", "ro", "ru", "sk", "sl", "so", "sq", "sr", "sv", "sw", "ta", "te",
    "th", "tl", "tr", "uk", "ur", "vi", "zgh", "zh-CN", "zh-HK", "zh-TW",
];

/// The languages whose texts ship with gatehouse; others fall back to English (or to a
/// tenant's custom texts in that language).
pub const SHIPPED: &[&str] = &["en", "de", "fr", "es"];

/// The language of pages when the tenant has enabled none.
pub const DEFAULT_LANGUAGE: &str = "en";

fn parse(json: &str) -> Catalog {
    // The catalogs are compiled in and checked by the tests below; a broken one is a build
    // defect, so an empty catalog (English fallback, then keys) is all that can happen here.
    serde_json::from_str(json).unwrap_or_default()
}

static EN: LazyLock<Catalog> = LazyLock::new(|| parse(include_str!("en.json")));
static DE: LazyLock<Catalog> = LazyLock::new(|| parse(include_str!("de.json")));
static FR: LazyLock<Catalog> = LazyLock::new(|| parse(include_str!("fr.json")));
static ES: LazyLock<Catalog> = LazyLock::new(|| parse(include_str!("es.json")));

fn shipped(language: &str) -> Option<&'static Catalog> {
    match language {
        "en" => Some(&EN),
        "de" => Some(&DE),
        "fr" => Some(&FR),
        "es" => Some(&ES),
        _ => None,
    }
}

/// `es-419` -> `es`; `de` -> `de`.
fn base(language: &str) -> &str {
    language.split('-').next().unwrap_or(language)
}

/// The texts of `prompt`'s `screen` in `language`: the tenant's custom texts for that
/// prompt and language (`{screen: {key: text}}`) over the shipped texts of the language,
/// then of its base language, then English.
pub fn screen(language: &str, prompt: &str, screen: &str, custom: Option<&Value>) -> ScreenTexts {
    let mut texts = ScreenTexts::new();
    let layers = [Some(DEFAULT_LANGUAGE), Some(base(language)), Some(language)];
    for layer in layers.into_iter().flatten() {
        if let Some(s) = shipped(layer).and_then(|c| c.get(prompt)?.get(screen)) {
            texts.extend(s.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    if let Some(Value::Object(keys)) = custom.and_then(|c| c.get(screen)) {
        for (k, v) in keys {
            if let Some(v) = v.as_str() {
                texts.insert(k.clone(), v.to_owned());
            }
        }
    }
    texts
}

/// Replaces Auth0's `${name}` variables in `text` with `vars`; others are left as written.
pub fn substitute(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if let Some((_, v)) = vars.iter().find(|(n, _)| *n == &after[..end]) => {
                out.push_str(v);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The language a page is shown in: the first of `ui_locales` (space-separated, from the
/// authorization request) the tenant enabled, else the browser's most preferred enabled
/// one (`Accept-Language`), else the tenant's first enabled language. A tag matches an
/// enabled language exactly or by its base (`de-AT` finds `de`).
pub fn negotiate(
    ui_locales: Option<&str>,
    accept_language: Option<&str>,
    enabled: &[String],
) -> String {
    let fallback = || {
        enabled
            .first()
            .cloned()
            .unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned())
    };
    let find = |tag: &str| -> Option<String> {
        let exact = enabled.iter().find(|e| e.eq_ignore_ascii_case(tag));
        exact
            .or_else(|| enabled.iter().find(|e| e.eq_ignore_ascii_case(base(tag))))
            .cloned()
    };
    if let Some(found) = ui_locales
        .into_iter()
        .flat_map(str::split_whitespace)
        .find_map(find)
    {
        return found;
    }
    let mut wanted: Vec<(f32, usize, &str)> = accept_language
        .into_iter()
        .flat_map(|h| h.split(','))
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!tag.is_empty() && tag != "*" && q > 0.0).then_some((q, i, tag))
        })
        .collect();
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    wanted
        .into_iter()
        .find_map(|(_, _, tag)| find(tag))
        .unwrap_or_else(fallback)
}

/// Why a custom text cannot be stored (Auth0's wording where it has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomTextError {
    /// The prompt is not one of Auth0's.
    Prompt,
    /// The language is not one of Auth0's.
    Language,
    /// The body is not `{screen: {key: text}}` within the limits.
    Body(String),
}

/// The most screens, keys per screen and characters per text a custom text may hold.
const MAX_SCREENS: usize = 100;
const MAX_KEYS: usize = 300;
const MAX_TEXT_CHARS: usize = 4096;

/// Checks a custom text for `prompt` in `language` as Auth0 stores it: an object of
/// screens, each an object of key to text.
pub fn check_custom_text(
    prompt: &str,
    language: &str,
    body: &Value,
) -> Result<(), CustomTextError> {
    if !PROMPTS.contains(&prompt) {
        return Err(CustomTextError::Prompt);
    }
    if !LANGUAGES.contains(&language) {
        return Err(CustomTextError::Language);
    }
    let Value::Object(screens) = body else {
        return Err(CustomTextError::Body("must be an object of screens".into()));
    };
    if screens.len() > MAX_SCREENS {
        return Err(CustomTextError::Body(format!(
            "has more than {MAX_SCREENS} screens"
        )));
    }
    for (name, keys) in screens {
        let Value::Object(keys) = keys else {
            return Err(CustomTextError::Body(format!(
                "{name}: must be an object of texts"
            )));
        };
        if keys.len() > MAX_KEYS {
            return Err(CustomTextError::Body(format!(
                "{name}: has more than {MAX_KEYS} texts"
            )));
        }
        for (key, text) in keys {
            match text.as_str() {
                Some(t) if t.chars().count() <= MAX_TEXT_CHARS => {}
                Some(_) => {
                    return Err(CustomTextError::Body(format!(
                        "{name}.{key}: longer than {MAX_TEXT_CHARS} characters"
                    )));
                }
                None => {
                    return Err(CustomTextError::Body(format!(
                        "{name}.{key}: must be a string"
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key_paths(c: &Catalog) -> Vec<String> {
        c.iter()
            .flat_map(|(p, screens)| {
                screens
                    .iter()
                    .flat_map(move |(s, keys)| keys.keys().map(move |k| format!("{p}.{s}.{k}")))
            })
            .collect()
    }

    fn variables(text: &str) -> Vec<&str> {
        let mut vars: Vec<&str> = text
            .split("${")
            .skip(1)
            .filter_map(|s| s.split('}').next())
            .collect();
        vars.sort_unstable();
        vars
    }

    #[test]
    fn every_shipped_language_has_every_english_text_with_the_same_variables() {
        let en = &*EN;
        assert!(key_paths(en).len() > 50, "the English catalog did not load");
        for lang in SHIPPED {
            let c = shipped(lang).expect("shipped");
            assert_eq!(key_paths(c), key_paths(en), "{lang} has other keys than en");
            for (p, screens) in en {
                for (s, keys) in screens {
                    for (k, text) in keys {
                        let other = &c[p][s][k];
                        assert_eq!(variables(other), variables(text), "{lang}: {p}.{s}.{k}");
                        assert!(
                            lang == &"en" || other != text || text.len() < 12,
                            "{lang}: {p}.{s}.{k} untranslated"
                        );
                    }
                }
            }
            assert_eq!(PROMPTS.len(), 35);
            assert!(
                c.keys().all(|p| PROMPTS.contains(&p.as_str())),
                "{lang}: unknown prompt"
            );
        }
    }

    #[test]
    fn custom_texts_win_then_the_language_then_its_base_then_english() {
        let custom = json!({"login": {"title": "Hallo ${clientName}"}});
        let t = screen("de", "login", "login", Some(&custom));
        assert_eq!(t["title"], "Hallo ${clientName}");
        assert_eq!(t["buttonText"], DE["login"]["login"]["buttonText"]);
        // es-419 ships nothing of its own: Spanish.
        let t = screen("es-419", "login", "login", None);
        assert_eq!(t["buttonText"], ES["login"]["login"]["buttonText"]);
        // Japanese ships nothing: English.
        let t = screen("ja", "signup", "signup", None);
        assert_eq!(t["title"], EN["signup"]["signup"]["title"]);
        // A custom text for another screen does not leak in; a non-string is ignored.
        let custom = json!({"login-id": {"title": "x"}, "login": {"title": 5}});
        assert_eq!(
            screen("en", "login", "login", Some(&custom))["title"],
            EN["login"]["login"]["title"]
        );
    }

    #[test]
    fn variables_are_replaced_and_unknown_ones_kept() {
        let vars = [("clientName", "Shop"), ("companyName", "Acme")];
        assert_eq!(
            substitute("Log in to ${companyName} for ${clientName}.", &vars),
            "Log in to Acme for Shop."
        );
        assert_eq!(
            substitute("${other} and ${clientName", &vars),
            "${other} and ${clientName"
        );
        assert_eq!(substitute("no vars", &vars), "no vars");
        // A value is not scanned again.
        assert_eq!(
            substitute("${clientName}", &[("clientName", "${companyName}")]),
            "${companyName}"
        );
    }

    #[test]
    fn the_language_comes_from_ui_locales_then_the_browser_then_the_tenant() {
        let enabled: Vec<String> = ["fr", "de", "es-419"].map(String::from).into();
        assert_eq!(negotiate(Some("it de"), Some("es"), &enabled), "de");
        assert_eq!(negotiate(Some("de-AT"), None, &enabled), "de");
        assert_eq!(
            negotiate(
                Some("it"),
                Some("en;q=0.9, es-419;q=0.8, de;q=0.1"),
                &enabled
            ),
            "es-419"
        );
        assert_eq!(negotiate(None, Some("de;q=0, it"), &enabled), "fr");
        assert_eq!(negotiate(None, Some("DE-de"), &enabled), "de");
        assert_eq!(negotiate(None, Some("garbage;q=x, *"), &enabled), "fr");
        assert_eq!(negotiate(None, None, &[]), "en");
        // A language the tenant did not enable is never chosen.
        assert_eq!(negotiate(Some("en"), Some("en"), &enabled), "fr");
    }

    #[test]
    fn custom_texts_are_checked_as_auth0_checks_them() {
        let ok = json!({"login": {"title": "Hi", "description": ""}});
        assert_eq!(check_custom_text("login", "de", &ok), Ok(()));
        assert_eq!(
            check_custom_text("log-in", "de", &ok),
            Err(CustomTextError::Prompt)
        );
        assert_eq!(
            check_custom_text("login", "xx", &ok),
            Err(CustomTextError::Language)
        );
        for bad in [
            json!([]),
            json!({"login": "x"}),
            json!({"login": {"title": 1}}),
            json!({"login": {"title": "x".repeat(MAX_TEXT_CHARS + 1)}}),
        ] {
            assert!(
                matches!(
                    check_custom_text("login", "en", &bad),
                    Err(CustomTextError::Body(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(check_custom_text("common", "en", &json!({})), Ok(()));
    }
}
