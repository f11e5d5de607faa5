//! The built-in mails' HTML: the plain text of a mail the tenant has no template for, laid
//! out with the tenant's branding (logo, primary colour for links and the button), so every
//! mail looks like the tenant's pages. Everything in it is escaped; links are the mail's own.

use crate::pages::Brand;

use super::template::escape_html as escape;

/// One line of the text: its `https://` and `http://` words become links.
fn line_html(line: &str, color: &str) -> String {
    line.split(' ')
        .map(|word| {
            if word.starts_with("https://") || word.starts_with("http://") {
                let href = escape(word);
                format!("<a href=\"{href}\" style=\"color:{color}\">{href}</a>")
            } else {
                escape(word)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` (paragraphs separated by blank lines) as a branded HTML mail; `action` is the
/// mail's link and its label, shown as a button in the primary colour.
pub fn branded(brand: &Brand, text: &str, action: Option<(&str, &str)>) -> String {
    // `Brand` holds only a validated `#rrggbb` colour and an https logo URL set by an
    // administrator; both are still escaped as attribute values.
    let color = escape(&brand.color);
    let mut body = String::new();
    if let Some(logo) = &brand.logo {
        body.push_str(&format!(
            "<p><img src=\"{}\" alt=\"{}\" height=\"48\"></p>\n",
            escape(logo),
            escape(&brand.name)
        ));
    }
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let lines: Vec<String> = paragraph
            .lines()
            .map(|l| line_html(l.trim_end(), &color))
            .collect();
        body.push_str(&format!("<p>{}</p>\n", lines.join("<br>\n")));
    }
    if let Some((label, url)) = action {
        body.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;padding:12px 20px;border-radius:4px;\
             background:{color};color:#ffffff;text-decoration:none;font-weight:600\">{}</a></p>\n",
            escape(url),
            escape(label)
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"></head>\n\
         <body style=\"margin:0;padding:24px;background:#f4f5f7;font-family:system-ui,sans-serif\">\n\
         <div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px;\
         border-top:4px solid {color}\">\n{body}</div>\n</body></html>\n",
        escape(&brand.lang)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_escaped_paragraphs_with_links_in_the_brand_colour() {
        let mut brand = Brand::plain();
        brand.color = "#aa3300".into();
        brand.logo = Some("https://cdn.example/logo.png".into());
        brand.name = "Acme & Co".into();
        let html = branded(
            &brand,
            "Hello <b>Ada</b>,\n\nOpen https://id.example/u/x?a=1&b=2 to go on.\nThanks",
            Some(("Go <on>", "https://id.example/u/x?a=1&b=2")),
        );
        assert!(
            html.contains("<img src=\"https://cdn.example/logo.png\" alt=\"Acme &amp; Co\""),
            "{html}"
        );
        assert!(
            html.contains("<p>Hello &lt;b&gt;Ada&lt;/b&gt;,</p>"),
            "{html}"
        );
        assert!(
            html.contains(
                "<a href=\"https://id.example/u/x?a=1&amp;b=2\" style=\"color:#aa3300\">"
            ),
            "{html}"
        );
        assert!(html.contains("to go on.<br>\nThanks</p>"), "{html}");
        assert!(html.contains("background:#aa3300;color:#ffffff"), "{html}");
        assert!(
            html.contains("font-weight:600\">Go &lt;on&gt;</a>"),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
    }
}
