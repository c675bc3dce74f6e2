//! Démarche links ("path", FEATURES §3.2): slug generation and validation.

/// Maximum length of a slug / path.
pub const PATH_MAX_LEN: usize = 50;
/// Minimum length of a path.
pub const PATH_MIN_LEN: usize = 3;

const PATH_ERROR: &str = "Le lien doit contenir entre 3 et 50 caractères : lettres minuscules sans accent, chiffres et tirets.";

/// Folds a lowercase accented Latin letter to ASCII (`é` → `e`, `œ` → `oe`).
/// Returns `None` for characters it does not know.
pub(crate) fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => "a",
        'æ' => "ae",
        'ç' => "c",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'î' | 'ï' | 'í' | 'ì' => "i",
        'ñ' => "n",
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' | 'ø' => "o",
        'œ' => "oe",
        'ù' | 'û' | 'ü' | 'ú' => "u",
        'ÿ' | 'ý' => "y",
        'ß' => "ss",
        _ => return None,
    })
}

/// Builds a URL slug from a libellé: lowercase ASCII, French accents folded,
/// every other character turned into `-`, dashes collapsed and trimmed, at
/// most [`PATH_MAX_LEN`] characters. May return an empty string.
pub fn slugify(libelle: &str) -> String {
    let mut out = String::with_capacity(libelle.len());
    for c in libelle.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if let Some(folded) = fold_accent(c) {
            out.push_str(folded);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    // Everything pushed is ASCII, so byte truncation is safe.
    out.truncate(PATH_MAX_LEN);
    let trimmed = out.trim_end_matches('-');
    trimmed.to_owned()
}

/// Checks a démarche link: 3 to 50 characters among `a-z`, `0-9` and `-`,
/// not starting or ending with `-`.
pub fn validate_path(path: &str) -> Result<(), String> {
    let ok = (PATH_MIN_LEN..=PATH_MAX_LEN).contains(&path.len())
        && path
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !path.starts_with('-')
        && !path.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(PATH_ERROR.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_examples() {
        assert_eq!(slugify("Demande d'aide"), "demande-d-aide");
        assert_eq!(
            slugify("Été à Noël : œuvre, cœur & ÇA"),
            "ete-a-noel-oeuvre-coeur-ca"
        );
        assert_eq!(slugify("  --Bonjour   le   monde--  "), "bonjour-le-monde");
        assert_eq!(slugify("Déclaration 2024 (n°2)"), "declaration-2024-n-2");
        assert_eq!(slugify("ÉLÈVES ÂGÉS"), "eleves-ages");
        assert_eq!(slugify("Straße Æsir"), "strasse-aesir");
        assert_eq!(slugify("日本語"), "");
        assert_eq!(slugify(""), "");
        assert_eq!(slugify("!!!"), "");
        assert_eq!(slugify("a—b"), "a-b");
    }

    #[test]
    fn slugify_truncates_without_trailing_dash() {
        let long = "a".repeat(60);
        assert_eq!(slugify(&long), "a".repeat(50));
        // The 50th character would be a dash: it is dropped.
        let s = format!("{} {}", "a".repeat(49), "b".repeat(10));
        assert_eq!(slugify(&s), "a".repeat(49));
        // Folding that expands (œ → oe) is accounted for.
        let s = "œ".repeat(30);
        assert_eq!(slugify(&s).len(), 50);
    }

    #[test]
    fn slugify_output_is_a_valid_path_when_long_enough() {
        for s in [
            "Demande de subvention pour les associations sportives de la commune",
            "Inscription à la cantine",
            "RSA",
        ] {
            assert_eq!(validate_path(&slugify(s)), Ok(()), "{s}");
        }
    }

    #[test]
    fn validate_path_accepts() {
        for p in ["abc", "aide-2024", "a-b", "123", "a--b", &"a".repeat(50)] {
            assert_eq!(validate_path(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn validate_path_refuses() {
        let err = Err(PATH_ERROR.to_owned());
        for p in [
            "",
            "ab",
            &"a".repeat(51),
            "-abc",
            "abc-",
            "Abc",
            "été",
            "a_b",
            "a b",
            "a/b",
            "a.b",
        ] {
            assert_eq!(validate_path(p), err, "{p}");
        }
        assert_eq!(
            PATH_ERROR,
            "Le lien doit contenir entre 3 et 50 caractères : lettres minuscules sans accent, chiffres et tirets."
        );
    }

    #[test]
    fn fold_accent_table() {
        assert_eq!(fold_accent('é'), Some("e"));
        assert_eq!(fold_accent('ç'), Some("c"));
        assert_eq!(fold_accent('œ'), Some("oe"));
        assert_eq!(fold_accent('x'), None);
        assert_eq!(fold_accent('É'), None);
    }
}
