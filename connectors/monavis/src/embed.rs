//! The MonAvis embed code, validated like DS's `MonAvisEmbedValidator` but with the
//! anchored checks DS meant (shared/connectors §4.2): only `<a>` and `<img>`, only the
//! attributes `href src alt title target rel`, exactly one link to
//! `https://{jedonnemonavis,monavis,voxusagers}.numerique.gouv.fr/Demarches/<digits>`
//! with `key=<alnum>` or `button=<digits>`, exactly one image on the same hosts under
//! `/static/` or `/monavis-static/` ending in `.png` or `.svg`.

const PREFIX: &str = "Le code MonAvis";
const HOSTS: [&str; 3] = [
    "jedonnemonavis.numerique.gouv.fr",
    "monavis.numerique.gouv.fr",
    "voxusagers.numerique.gouv.fr",
];
const ATTRIBUTES: [&str; 6] = ["href", "src", "alt", "title", "target", "rel"];
const DEFAULT_ALT: &str = "Je donne mon avis";

/// What the button needs, taken from a valid embed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embed {
    pub href: String,
    pub image_url: String,
    pub alt: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The start tags of an HTML fragment (end tags, comments and text are skipped).
fn elements(html: &str) -> Vec<Element> {
    let chars: Vec<char> = html.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '<' {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        if next == '!' {
            // comment or doctype: up to "-->" or ">"
            let rest: String = chars[i..].iter().collect();
            let skip = if rest.starts_with("<!--") {
                rest.find("-->").map_or(rest.len(), |p| p + 3)
            } else {
                rest.find('>').map_or(rest.len(), |p| p + 1)
            };
            i += rest[..skip].chars().count();
            continue;
        }
        if next == '/' {
            while i < chars.len() && chars[i] != '>' {
                i += 1;
            }
            continue;
        }
        if !next.is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        i += 1;
        let mut name = String::new();
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '>' && chars[i] != '/' {
            name.push(chars[i].to_ascii_lowercase());
            i += 1;
        }
        let mut attributes = Vec::new();
        loop {
            while i < chars.len() && (chars[i].is_whitespace() || chars[i] == '/') {
                i += 1;
            }
            if i >= chars.len() || chars[i] == '>' {
                i += 1;
                break;
            }
            let mut attr = String::new();
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !matches!(chars[i], '=' | '>' | '/')
            {
                attr.push(chars[i].to_ascii_lowercase());
                i += 1;
            }
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            let mut value = String::new();
            if chars.get(i) == Some(&'=') {
                i += 1;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                match chars.get(i) {
                    Some(&q) if q == '"' || q == '\'' => {
                        i += 1;
                        while i < chars.len() && chars[i] != q {
                            value.push(chars[i]);
                            i += 1;
                        }
                        i += 1;
                    }
                    _ => {
                        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '>' {
                            value.push(chars[i]);
                            i += 1;
                        }
                    }
                }
            }
            if attr.is_empty() {
                // a stray character: skip it
                i += 1;
                continue;
            }
            attributes.push((attr, decode_entities(&value)));
        }
        out.push(Element { name, attributes });
    }
    out
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `https://host/path?query` → (host, path, query); None for anything else.
fn split_https(url: &str) -> Option<(&str, &str, &str)> {
    let rest = url.trim().strip_prefix("https://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(end);
    let tail = tail.split('#').next().unwrap_or("");
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    Some((host, path, query))
}

fn known_host(host: &str) -> bool {
    HOSTS.iter().any(|h| host.eq_ignore_ascii_case(h))
}

fn link_ok(href: &str) -> bool {
    let Some((host, path, query)) = split_https(href) else {
        return false;
    };
    let id_ok = path
        .strip_prefix("/Demarches/")
        .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()));
    let param_ok = query.split('&').any(|kv| match kv.split_once('=') {
        Some(("key", v)) => !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric()),
        Some(("button", v)) => !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()),
        _ => false,
    });
    known_host(host) && id_ok && param_ok
}

fn image_ok(src: &str) -> bool {
    let Some((host, path, _)) = split_https(src) else {
        return false;
    };
    let dir_ok = path.starts_with("/static/") || path.starts_with("/monavis-static/");
    let file = path.rsplit('/').next().unwrap_or("");
    let ext_ok = file.len() > 4 && (file.ends_with(".png") || file.ends_with(".svg"));
    known_host(host) && dir_ok && ext_ok && !path.contains("..")
}

fn https(url: &str) -> bool {
    url.trim().starts_with("https://")
}

/// The button of a valid embed code, or every French message of what is wrong.
pub fn validate(code: &str) -> Result<Embed, Vec<String>> {
    let elements = elements(code);
    let mut errors = Vec::new();
    let mut add = |e: String| {
        let m = format!("{PREFIX} {e}");
        if !errors.contains(&m) {
            errors.push(m);
        }
    };
    for e in &elements {
        if e.name != "a" && e.name != "img" {
            add(format!("contient une balise interdite : {}", e.name));
        }
        for (attr, _) in &e.attributes {
            if !ATTRIBUTES.contains(&attr.as_str()) {
                add(format!("contient un attribut interdit : {attr}"));
            }
        }
    }
    let links: Vec<&Element> = elements.iter().filter(|e| e.name == "a").collect();
    let images: Vec<&Element> = elements.iter().filter(|e| e.name == "img").collect();
    let href = match links.as_slice() {
        [a] => a.attribute("href").unwrap_or(""),
        _ => {
            add("doit comporter un lien".into());
            ""
        }
    };
    let src = match images.as_slice() {
        [img] => img.attribute("src").unwrap_or(""),
        _ => {
            add("doit comporter une image".into());
            ""
        }
    };
    if links.len() == 1 {
        if !https(href) {
            add("contient un lien avec un schéma d’URL non autorisé".into());
        } else if !link_ok(href) {
            add("contient un lien pointant vers un domaine invalide".into());
        }
    }
    if images.len() == 1 {
        if !https(src) {
            add("contient une image avec un schéma d’URL non autorisé".into());
        } else if !image_ok(src) {
            add("contient une image pointant vers un domaine invalide".into());
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let alt = images
        .first()
        .and_then(|i| i.attribute("alt"))
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or(DEFAULT_ALT);
    Ok(Embed {
        href: href.trim().to_string(),
        image_url: src.trim().to_string(),
        alt: alt.to_string(),
    })
}

/// The link as shown on our pages: DS's `nd_source=site` instead of `button`.
pub fn for_site(href: &str) -> String {
    href.replace("nd_source=button", "nd_source=site")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_jdma_snippet() {
        let code = r#"<a href="https://jedonnemonavis.numerique.gouv.fr/Demarches/3639?button=4242" target='_blank' rel="noopener noreferrer"
title="Je donne mon avis - nouvelle fenêtre">
<img src="https://jedonnemonavis.numerique.gouv.fr/static/bouton-bleu-clair.svg" alt="Je donne mon avis" />
</a>"#;
        let e = validate(code).unwrap_or_else(|m| panic!("{m:?}"));
        assert_eq!(
            e.href,
            "https://jedonnemonavis.numerique.gouv.fr/Demarches/3639?button=4242"
        );
        assert_eq!(e.alt, "Je donne mon avis");
    }

    #[test]
    fn refusals() {
        assert_eq!(
            validate("plop").unwrap_err(),
            vec![
                "Le code MonAvis doit comporter un lien",
                "Le code MonAvis doit comporter une image"
            ]
        );
        let e = validate(r#"<a href="https://evil.example/phish?monavis"><img src="https://evil.example/tracker.svg" alt="x" /></a>"#).unwrap_err();
        assert_eq!(
            e,
            vec![
                "Le code MonAvis contient un lien pointant vers un domaine invalide",
                "Le code MonAvis contient une image pointant vers un domaine invalide"
            ]
        );
        let e = validate(r#"<a href="javascript:alert('monavis')"><img src="https://jedonnemonavis.numerique.gouv.fr/static/bouton-bleu.svg" alt="x" /></a>"#).unwrap_err();
        assert_eq!(
            e,
            vec!["Le code MonAvis contient un lien avec un schéma d’URL non autorisé"]
        );
        let e = validate(r#"<a href="https://monavis.numerique.gouv.fr/Demarches/1?key=a"></a><img src="https://monavis.numerique.gouv.fr/monavis-static/bouton-bleu.png" alt="x" onerror=import('https://hks.ec/x.js') />"#).unwrap_err();
        assert_eq!(
            e,
            vec!["Le code MonAvis contient un attribut interdit : onerror"]
        );
    }

    #[test]
    fn site_source() {
        assert_eq!(
            for_site("https://x/Demarches/1?&nd_source=button&key=a"),
            "https://x/Demarches/1?&nd_source=site&key=a"
        );
    }
}
