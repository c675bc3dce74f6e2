//! Champ descriptions: a safe HTML subset (paragraphs, titles, bold, italic, underline,
//! lists, links), sanitized with an explicit allow-list when the administrateur saves it
//! and again when a page renders it. A description without any tag is plain text: its
//! blank lines separate paragraphs and its line breaks are kept.

use std::collections::HashSet;

/// The tags a description may hold.
pub const ALLOWED_TAGS: [&str; 15] = [
    "p", "br", "strong", "b", "em", "i", "u", "h3", "h4", "h5", "h6", "ul", "ol", "li", "a",
];

/// Shown under the description field of the builder.
pub const HINT: &str = "Texte simple, ou HTML limité aux balises <p>, <br>, <strong>, <em>, <u>, <h3> à <h6>, <ul>, <ol>, <li> et <a href=\"https://…\">. Toute autre balise ou attribut est retiré.";

fn cleaner() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(ALLOWED_TAGS.iter().copied().collect::<HashSet<_>>())
        .clean_content_tags(["script", "style"].into_iter().collect::<HashSet<_>>())
        .add_tag_attributes("a", ["href"])
        .url_schemes(
            ["http", "https", "mailto"]
                .into_iter()
                .collect::<HashSet<_>>(),
        )
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true);
    builder
}

/// Whether `text` holds markup (a tag, a closing tag or a comment), rather than plain text.
pub fn is_html(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

/// The description to store: plain text as typed (trimmed), or its HTML sanitized. A
/// sanitized HTML that lost every tag is wrapped in a paragraph, so it is still read as
/// HTML (its entities stay entities).
pub fn sanitize(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    if !is_html(text) {
        return text.to_owned();
    }
    let clean = cleaner().clean(text).to_string();
    let clean = clean.trim();
    if clean.is_empty() || is_html(clean) {
        clean.to_owned()
    } else {
        format!("<p>{clean}</p>")
    }
}

/// The HTML of a stored description, safe to insert in a page.
pub fn to_html(text: &str) -> String {
    if is_html(text) {
        return cleaner().clean(text).to_string();
    }
    text.replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
        .collect()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_event_handlers_and_javascript_urls_are_removed() {
        let typed = r#"<p onclick="steal()">Bonjour <script>alert(1)</script><a href="javascript:alert(2)">ici</a></p><img src=x onerror="alert(3)"><iframe src="https://evil.example"></iframe><style>p{}</style>"#;
        let stored = sanitize(typed);
        for bad in [
            "script",
            "alert",
            "onclick",
            "onerror",
            "javascript",
            "<img",
            "iframe",
            "style",
        ] {
            assert!(!stored.contains(bad), "{bad} kept in {stored}");
        }
        assert!(stored.contains("<p>Bonjour"), "{stored}");
        assert!(stored.contains("ici"), "{stored}");
        // Rendering sanitizes again (a description written before this rule).
        let rendered = to_html(typed);
        assert!(
            !rendered.contains("alert") && !rendered.contains("onclick"),
            "{rendered}"
        );
    }

    #[test]
    fn the_allowed_subset_is_kept() {
        let typed = "<h3>Pièces</h3><p><strong>Gras</strong>, <em>italique</em>, <u>souligné</u>.</p><ul><li>un</li></ul><ol><li>deux</li></ol><p><a href=\"https://www.service-public.fr/aide\" target=\"_top\">aide</a></p>";
        let stored = sanitize(typed);
        for kept in [
            "<h3>Pièces</h3>",
            "<strong>Gras</strong>",
            "<em>italique</em>",
            "<u>souligné</u>",
            "<ul><li>un</li></ul>",
            "<ol><li>deux</li></ol>",
            "href=\"https://www.service-public.fr/aide\"",
            "rel=\"noopener noreferrer\"",
        ] {
            assert!(stored.contains(kept), "{kept} lost in {stored}");
        }
        assert!(!stored.contains("target"), "{stored}");
        assert_eq!(to_html(&stored), stored);
    }

    #[test]
    fn plain_text_keeps_its_paragraphs_and_is_escaped() {
        assert_eq!(sanitize("  Un < deux & trois\r\n "), "Un < deux & trois");
        assert_eq!(
            to_html("Un < deux & trois\nsuite\n\nFin"),
            "<p>Un &lt; deux &amp; trois<br>suite</p><p>Fin</p>"
        );
    }

    #[test]
    fn markup_reduced_to_text_stays_html() {
        let stored = sanitize("<script>x</script>Tom &amp; Jerry");
        assert_eq!(stored, "<p>Tom &amp; Jerry</p>");
        assert_eq!(to_html(&stored), stored);
        assert_eq!(sanitize("<script>x</script>"), "");
    }
}
