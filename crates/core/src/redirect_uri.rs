//! Redirect URI matching: exact string comparison against the client's `callbacks`, with
//! exactly two exceptions, Auth0's one-label subdomain wildcard (`https://*.example.com/cb`)
//! and, for native apps, any port on a loopback address (RFC 8252 s7.3). Nothing is
//! normalised: a URI that only differs in case, encoding or dot segments does not match.

/// Schemes that execute or embed content instead of navigating.
const DANGEROUS_SCHEMES: &[&str] = &["javascript", "data", "vbscript", "file", "blob"];

fn scheme(uri: &str) -> Option<&str> {
    uri.split_once(':').map(|(s, _)| s)
}

/// Splits `scheme://authority/rest` (rest includes the leading `/`, query included).
fn split(uri: &str) -> Option<(&str, &str, &str)> {
    let (scheme, after) = uri.split_once("://")?;
    let slash = after.find('/').unwrap_or(after.len());
    let (authority, rest) = after.split_at(slash);
    Some((scheme, authority, rest))
}

fn wildcard_match(registered: &str, requested: &str) -> bool {
    let (Some((rs, ra, rr)), Some((qs, qa, qr))) = (split(registered), split(requested)) else {
        return false;
    };
    let Some(suffix) = ra.strip_prefix('*') else {
        return false;
    };
    if rs != qs || rr != qr || !suffix.starts_with('.') {
        return false;
    }
    match qa.strip_suffix(suffix) {
        Some(label) => {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }
        None => false,
    }
}

fn without_loopback_port(uri: &str) -> Option<String> {
    let (scheme, authority, rest) = split(uri)?;
    if scheme != "http" {
        return None;
    }
    let host = if authority.starts_with("[::1]") {
        "[::1]"
    } else {
        let host = authority.split(':').next()?;
        if host != "127.0.0.1" && host != "localhost" {
            return None;
        }
        host
    };
    let port = &authority[host.len()..];
    if !(port.is_empty()
        || (port.starts_with(':') && port[1..].bytes().all(|b| b.is_ascii_digit())))
    {
        return None;
    }
    Some(format!("http://{host}{rest}"))
}

/// Whether `requested` may receive the authorization response of a client whose callbacks
/// are `registered`; `native` allows loopback ports.
pub fn allowed(registered: &[String], requested: &str, native: bool) -> bool {
    if requested.is_empty() || requested.contains('#') || requested.chars().any(char::is_whitespace)
    {
        return false;
    }
    if scheme(requested)
        .is_none_or(|s| DANGEROUS_SCHEMES.contains(&s.to_ascii_lowercase().as_str()))
    {
        return false;
    }
    if let Some((_, authority, _)) = split(requested)
        && authority.contains('@')
    {
        return false;
    }
    // Computed once, not per registered URI: the match stays linear in the callback list.
    let requested_loopback = if native {
        without_loopback_port(requested)
    } else {
        None
    };
    registered.iter().any(|r| {
        r == requested
            || (r.contains("://*.") && wildcard_match(r, requested))
            || requested_loopback
                .as_ref()
                .is_some_and(|q| without_loopback_port(r).as_ref() == Some(q))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn exact_matches_only() {
        let r = reg(&["https://app.example.com/cb"]);
        assert!(allowed(&r, "https://app.example.com/cb", false));
        for bad in [
            "https://app.example.com/cb/",
            "https://APP.example.com/cb",
            "https://app.example.com/CB",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb/../cb",
            "https://app.example.com/%63b",
            "https://app.example.com@evil.com/cb",
            "https://evil.com/https://app.example.com/cb",
            "https://app.example.com/cb ",
            "http://app.example.com/cb",
            "javascript://app.example.com/cb",
            "",
        ] {
            assert!(!allowed(&r, bad, false), "{bad}");
        }
        assert!(!allowed(
            &reg(&["javascript:alert(1)"]),
            "javascript:alert(1)",
            false
        ));
        assert!(!allowed(
            &reg(&["JavaScript:alert(1)"]),
            "JavaScript:alert(1)",
            false
        ));
        assert!(!allowed(
            &reg(&["data:text/html,x"]),
            "data:text/html,x",
            false
        ));
    }

    #[test]
    fn one_label_wildcards() {
        let r = reg(&["https://*.example.com/cb"]);
        assert!(allowed(&r, "https://tenant1.example.com/cb", false));
        for bad in [
            "https://a.b.example.com/cb",
            "https://example.com/cb",
            "https://.example.com/cb",
            "https://evil.com/.example.com/cb",
            "https://evilexample.com/cb",
            "https://x.example.com/cb2",
            "https://user@x.example.com/cb",
            "https://X.example.com/cb",
        ] {
            assert!(!allowed(&r, bad, false), "{bad}");
        }
    }

    #[test]
    fn loopback_ports_for_native_apps_only() {
        let r = reg(&["http://127.0.0.1/callback"]);
        assert!(allowed(&r, "http://127.0.0.1:51234/callback", true));
        assert!(
            !allowed(&r, "http://127.0.0.1:51234/callback", false),
            "not for web apps"
        );
        assert!(!allowed(&r, "http://127.0.0.1:51234/other", true));
        assert!(!allowed(&r, "http://127.0.0.1.evil.com:80/callback", true));
        assert!(!allowed(&r, "http://127.0.0.1:80@evil.com/callback", true));
    }

    proptest::proptest! {
        #[test]
        fn matching_is_never_looser_than_the_rules(
            registered in proptest::collection::vec("(https?|javascript)://([a-z*.]{1,8}|127\\.0\\.0\\.1(:[0-9]{1,5})?)(/[a-z@#.]{0,6})?", 0..4),
            requested in "(https?|javascript|data)://[a-z0-9*.@:\\[\\]]{0,14}(/[a-z@#. ]{0,6})?",
            native in proptest::bool::ANY,
        ) {
            let ok = allowed(&registered, &requested, native);
            if ok {
                proptest::prop_assert!(!requested.contains('#') && !requested.contains(' '));
                proptest::prop_assert!(!requested.starts_with("javascript") && !requested.starts_with("data"));
                proptest::prop_assert!(!split(&requested).is_some_and(|(_, a, _)| a.contains('@')));
                proptest::prop_assert!(!requested.contains('*'), "a wildcard is not a host");
                if !native {
                    // Without loopback ports only an exact or a one-label wildcard match counts.
                    proptest::prop_assert!(registered.iter().any(|r| r == &requested || wildcard_match(r, &requested)));
                }
            }
            // Whatever a web app may use, a native app may use too.
            if allowed(&registered, &requested, false) {
                proptest::prop_assert!(allowed(&registered, &requested, true));
            }
        }
    }
}
