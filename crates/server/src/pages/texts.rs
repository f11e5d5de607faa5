//! A page's texts: one screen's texts (`gatehouse_core::prompt_text`) in the page's
//! language, with the tenant's custom texts over them and Auth0's `${...}` variables filled.

use gatehouse_core::prompt_text::{self, ScreenTexts};

use super::Brand;

/// The texts a template shows: `t.get("title")`.
#[derive(Debug, Clone)]
pub struct Texts {
    texts: ScreenTexts,
    vars: Vec<(&'static str, String)>,
}

impl Brand {
    /// The texts of `prompt`'s `screen` in this page's language; `${companyName}` and
    /// `${clientName}` are the tenant's name until `var` says otherwise.
    pub fn texts(&self, prompt: &str, screen: &str) -> Texts {
        let custom = self
            .settings
            .custom_text
            .get(prompt)
            .and_then(|by_language| by_language.get(&self.lang));
        Texts {
            texts: prompt_text::screen(&self.lang, prompt, screen, custom),
            vars: vec![
                ("companyName", self.name.clone()),
                ("clientName", self.name.clone()),
            ],
        }
    }

    /// Shows the pages in the language `ui_locales` (from the authorization request) or the
    /// browser's `Accept-Language` pick among the tenant's enabled ones.
    pub fn negotiate(&mut self, ui_locales: Option<&str>, accept_language: Option<&str>) {
        self.lang = prompt_text::negotiate(ui_locales, accept_language, &self.settings.locales());
    }

    /// Shows the pages in `lang` when the tenant still has it enabled (a transaction's
    /// language), else in the tenant's default.
    pub fn speak(&mut self, lang: Option<&str>) {
        self.negotiate(lang, None);
    }
}

impl Texts {
    /// Sets the variable `${name}`.
    pub fn var(mut self, name: &'static str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.vars.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((name, value)),
        }
        self
    }

    /// These texts with `screen`'s over them (a step of a prompt that shares most texts
    /// with the prompt's main screen).
    pub fn then(mut self, more: Texts) -> Self {
        self.texts.extend(more.texts);
        self
    }

    /// The text of `key` (a message that is not a key is shown as it is, so a caller may
    /// pass either).
    pub fn get(&self, key: &str) -> String {
        let text = self.texts.get(key).map_or(key, String::as_str);
        let vars: Vec<(&str, &str)> = self.vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
        prompt_text::substitute(text, &vars)
    }

    /// The text of `key` with one more variable (a text that names each item of a list).
    pub fn with(&self, key: &str, name: &str, value: &str) -> String {
        let text = self.texts.get(key).map_or(key, String::as_str);
        let mut vars: Vec<(&str, &str)> = vec![(name, value)];
        vars.extend(self.vars.iter().map(|(n, v)| (*n, v.as_str())));
        prompt_text::substitute(text, &vars)
    }
}
