//! Champ types, their options, validation of submitted values and display
//! (FEATURES §4). Only the basic types for now.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, Month};

use super::{ParseError, format_thousands};

/// Type of a champ, with the DS `type_champ` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeChamp {
    Text,
    Textarea,
    IntegerNumber,
    Date,
    Checkbox,
    DropDownList,
    Email,
    Phone,
    HeaderSection,
    Explication,
    PieceJustificative,
}

impl TypeChamp {
    /// Every supported type, in the order of the editor's type picker.
    pub const ALL: [TypeChamp; 11] = [
        TypeChamp::Text,
        TypeChamp::Textarea,
        TypeChamp::IntegerNumber,
        TypeChamp::Date,
        TypeChamp::Checkbox,
        TypeChamp::DropDownList,
        TypeChamp::Email,
        TypeChamp::Phone,
        TypeChamp::HeaderSection,
        TypeChamp::Explication,
        TypeChamp::PieceJustificative,
    ];

    /// DS `type_champ` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TypeChamp::Text => "text",
            TypeChamp::Textarea => "textarea",
            TypeChamp::IntegerNumber => "integer_number",
            TypeChamp::Date => "date",
            TypeChamp::Checkbox => "checkbox",
            TypeChamp::DropDownList => "drop_down_list",
            TypeChamp::Email => "email",
            TypeChamp::Phone => "phone",
            TypeChamp::HeaderSection => "header_section",
            TypeChamp::Explication => "explication",
            TypeChamp::PieceJustificative => "piece_justificative",
        }
    }

    /// French label of the type (editor).
    pub const fn libelle(self) -> &'static str {
        match self {
            TypeChamp::Text => "Texte court",
            TypeChamp::Textarea => "Zone de texte",
            TypeChamp::IntegerNumber => "Nombre entier",
            TypeChamp::Date => "Date",
            TypeChamp::Checkbox => "Case à cocher",
            TypeChamp::DropDownList => "Choix simple",
            TypeChamp::Email => "Adresse électronique",
            TypeChamp::Phone => "Téléphone",
            TypeChamp::HeaderSection => "Titre de section",
            TypeChamp::Explication => "Explication",
            TypeChamp::PieceJustificative => "Pièce justificative",
        }
    }

    /// False for the layout types (header_section, explication), which hold
    /// no value and are never mandatory.
    pub const fn has_value(self) -> bool {
        !matches!(self, TypeChamp::HeaderSection | TypeChamp::Explication)
    }

    /// True for the file types: their value (a JSON list of attachment ids) is written by
    /// uploads and deletions, never by the dossier form.
    pub const fn is_file(self) -> bool {
        matches!(self, TypeChamp::PieceJustificative)
    }
}

/// Displays the DS name (same as [`TypeChamp::as_str`]).
impl fmt::Display for TypeChamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TypeChamp {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TypeChamp::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseError::new("le type de champ", s))
    }
}

/// Per-type options of a champ definition (DS `options` jsonb).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChampOptions {
    /// Options of a drop-down list.
    #[serde(default)]
    pub drop_down_options: Vec<String>,
    /// Inclusive minimum of an integer.
    #[serde(default)]
    pub min: Option<i64>,
    /// Inclusive maximum of an integer.
    #[serde(default)]
    pub max: Option<i64>,
    /// Maximum number of characters of a textarea.
    #[serde(default)]
    pub character_limit: Option<u32>,
}

impl ChampOptions {
    /// Parses the editor's drop-down text: one option per non-blank line,
    /// trimmed, duplicates removed, order kept.
    pub fn parse_drop_down(text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !out.iter().any(|o| o == line) {
                out.push(line.to_owned());
            }
        }
        out
    }
}

/// What validation needs to know about a champ definition.
#[derive(Debug, Clone, Copy)]
pub struct ChampDef<'a> {
    pub type_champ: TypeChamp,
    pub libelle: &'a str,
    pub mandatory: bool,
    pub options: &'a ChampOptions,
}

/// Validates a submitted form value and returns the value to store.
///
/// The input is trimmed; a blank input gives `Ok(None)` (mandatory champs
/// are checked by [`check_mandatory`]). Stored shapes: text, textarea,
/// drop-down, e-mail → string; integer → number; date → `"YYYY-MM-DD"`;
/// checkbox → bool; phone → digits with an optional leading `+`. Layout
/// types always give `Ok(None)`. Errors are French messages for the usager.
pub fn validate(def: &ChampDef, raw: &str) -> Result<Option<Value>, String> {
    let value = raw.trim();
    if value.is_empty() || !def.type_champ.has_value() {
        return Ok(None);
    }
    let libelle = def.libelle;
    let stored = match def.type_champ {
        TypeChamp::Text => Value::String(value.to_owned()),
        TypeChamp::Textarea => {
            let text = value.replace("\r\n", "\n");
            if let Some(limit) = def.options.character_limit
                && text.chars().count() > limit as usize
            {
                return Err(format!(
                    "Le texte ne doit pas dépasser {} caractères.",
                    format_thousands(u64::from(limit))
                ));
            }
            Value::String(text)
        }
        TypeChamp::IntegerNumber => Value::from(validate_integer(def, value)?),
        TypeChamp::Date => {
            let date = parse_date(value)
                .ok_or_else(|| format!("« {libelle} » doit être une date valide (JJ/MM/AAAA)."))?;
            Value::String(format_iso(date))
        }
        TypeChamp::Checkbox => match value.to_lowercase().as_str() {
            "on" | "true" | "1" | "oui" => Value::Bool(true),
            "off" | "false" | "0" | "non" => Value::Bool(false),
            _ => return Err(format!("« {libelle} » : valeur de case à cocher invalide.")),
        },
        TypeChamp::DropDownList => {
            if !def
                .options
                .drop_down_options
                .iter()
                .any(|o| o.trim() == value)
            {
                return Err(format!(
                    "« {libelle} » : choisissez une valeur de la liste."
                ));
            }
            Value::String(value.to_owned())
        }
        TypeChamp::Email => {
            if !is_valid_email(value) {
                return Err(format!(
                    "« {libelle} » doit être une adresse électronique valide, \
                     par exemple jean.dupont@example.fr."
                ));
            }
            Value::String(value.to_owned())
        }
        TypeChamp::Phone => {
            let phone = normalize_phone(value).ok_or_else(|| {
                format!(
                    "« {libelle} » doit être un numéro de téléphone valide, \
                     par exemple 06 12 34 56 78 ou +33 6 12 34 56 78."
                )
            })?;
            Value::String(phone)
        }
        TypeChamp::HeaderSection | TypeChamp::Explication => return Ok(None),
        // Files are attached by upload, not typed in the form.
        TypeChamp::PieceJustificative => return Ok(None),
    };
    Ok(Some(stored))
}

/// Checks that a mandatory champ has a value (a mandatory checkbox must be
/// checked). Layout types and optional champs always pass.
pub fn check_mandatory(def: &ChampDef, value: Option<&Value>) -> Result<(), String> {
    if !def.mandatory || !def.type_champ.has_value() {
        return Ok(());
    }
    let filled = match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Bool(b)) => *b || def.type_champ != TypeChamp::Checkbox,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Number(_) | Value::Object(_)) => true,
    };
    if filled {
        Ok(())
    } else if def.type_champ == TypeChamp::Checkbox {
        Err(format!("La case « {} » doit être cochée.", def.libelle))
    } else {
        Err(format!("Le champ « {} » doit être rempli.", def.libelle))
    }
}

/// Human-readable French rendering of a stored value.
pub fn display(type_champ: TypeChamp, value: &Value) -> String {
    match (type_champ, value) {
        (_, Value::Null) | (TypeChamp::HeaderSection | TypeChamp::Explication, _) => String::new(),
        (TypeChamp::Checkbox, Value::Bool(b)) => oui_non(*b),
        (TypeChamp::Checkbox, Value::String(s)) => {
            oui_non(matches!(s.as_str(), "true" | "on" | "1"))
        }
        (TypeChamp::Date, Value::String(s)) => match parse_iso(s) {
            Some(d) => format!("{:02}/{:02}/{:04}", d.day(), u8::from(d.month()), d.year()),
            None => s.clone(),
        },
        (TypeChamp::Phone, Value::String(s)) => format_phone(s),
        (TypeChamp::PieceJustificative, Value::Array(files)) => match files.len() {
            0 => String::new(),
            1 => "1 fichier".to_owned(),
            n => format!("{n} fichiers"),
        },
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

fn oui_non(b: bool) -> String {
    if b { "Oui" } else { "Non" }.to_owned()
}

fn validate_integer(def: &ChampDef, value: &str) -> Result<i64, String> {
    let libelle = def.libelle;
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = compact.strip_prefix(['+', '-']).unwrap_or(&compact);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "« {libelle} » doit être un nombre entier (sans virgule)."
        ));
    }
    let n: i64 = compact
        .parse()
        .map_err(|_| format!("« {libelle} » est un nombre trop grand."))?;
    let (min, max) = (def.options.min, def.options.max);
    let below = min.is_some_and(|m| n < m);
    let above = max.is_some_and(|m| n > m);
    match (min, max) {
        (Some(lo), Some(hi)) if below || above => Err(format!(
            "« {libelle} » doit être compris entre {lo} et {hi}."
        )),
        (Some(lo), _) if below => Err(format!("« {libelle} » doit être supérieur ou égal à {lo}.")),
        (_, Some(hi)) if above => Err(format!("« {libelle} » doit être inférieur ou égal à {hi}.")),
        _ => Ok(n),
    }
}

/// Parses `YYYY-MM-DD` or `JJ/MM/AAAA` (day and month may have one digit).
fn parse_date(value: &str) -> Option<Date> {
    parse_iso(value).or_else(|| {
        let mut parts = value.split('/');
        let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !(1..=2).contains(&d.len()) || !(1..=2).contains(&m.len()) {
            return None;
        }
        make_date(y, m, d)
    })
}

fn parse_iso(value: &str) -> Option<Date> {
    let mut parts = value.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() != 2 || d.len() != 2 {
        return None;
    }
    make_date(y, m, d)
}

fn make_date(y: &str, m: &str, d: &str) -> Option<Date> {
    let all_digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if y.len() != 4 || !all_digits(y) || !all_digits(m) || !all_digits(d) {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

fn format_iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A simple but real e-mail check: one `@`, a non-empty local part made of
/// the usual characters, a domain with at least one dot and a TLD of 2+
/// letters, no spaces.
pub fn is_valid_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    if domain.contains('@') || local.is_empty() || local.len() > 64 || value.len() > 254 {
        return false;
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok || !domain.contains('.') {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let labels_ok = labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    labels_ok && tld_ok
}

/// Normalizes a phone number to its digits, keeping a leading `+` for the
/// international form. Accepts French numbers (`0X XX XX XX XX`, with
/// spaces, dots or dashes; `+33 …`, `+33 (0)…`, `0033 …`) and international
/// numbers (`+` then 8 to 15 digits, or `00` then the same).
fn normalize_phone(value: &str) -> Option<String> {
    let compact: String = value
        .replace("(0)", "")
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '.' | '-' | '(' | ')' | '/')))
        .collect();
    // `00` is the international prefix only when the number is longer than
    // a French national number (`00 12 34 56 78` is not a phone number).
    let international = if let Some(rest) = compact.strip_prefix('+') {
        Some(rest)
    } else if compact.len() > 10 {
        compact.strip_prefix("00")
    } else {
        None
    };
    match international {
        Some(digits) => {
            if !digits.chars().all(|c| c.is_ascii_digit()) || digits.starts_with('0') {
                return None;
            }
            if let Some(national) = digits.strip_prefix("33") {
                let national = if national.len() == 10 {
                    national.strip_prefix('0')?
                } else {
                    national
                };
                if national.len() != 9 || national.starts_with('0') {
                    return None;
                }
                return Some(format!("+33{national}"));
            }
            (8..=15)
                .contains(&digits.len())
                .then(|| format!("+{digits}"))
        }
        None => {
            let ok = compact.len() == 10
                && compact.chars().all(|c| c.is_ascii_digit())
                && compact.starts_with('0')
                && !compact[1..].starts_with('0');
            ok.then_some(compact)
        }
    }
}

/// Formats a stored phone number for display: French numbers by pairs.
fn format_phone(stored: &str) -> String {
    let pairs = |digits: &str| -> String {
        digits
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let is_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if stored.len() == 10 && stored.starts_with('0') && is_digits(stored) {
        return pairs(stored);
    }
    if let Some(national) = stored.strip_prefix("+33")
        && national.len() == 9
        && is_digits(national)
    {
        return format!("+33 {} {}", &national[..1], pairs(&national[1..]));
    }
    stored.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts() -> ChampOptions {
        ChampOptions::default()
    }

    fn def<'a>(type_champ: TypeChamp, options: &'a ChampOptions) -> ChampDef<'a> {
        ChampDef {
            type_champ,
            libelle: "Mon champ",
            mandatory: true,
            options,
        }
    }

    fn check(type_champ: TypeChamp, raw: &str) -> Result<Option<Value>, String> {
        let o = opts();
        validate(&def(type_champ, &o), raw)
    }

    // ---- TypeChamp ----

    #[test]
    fn type_names_and_labels() {
        let names: Vec<&str> = TypeChamp::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "text",
                "textarea",
                "integer_number",
                "date",
                "checkbox",
                "drop_down_list",
                "email",
                "phone",
                "header_section",
                "explication",
                "piece_justificative"
            ]
        );
        let labels: Vec<&str> = TypeChamp::ALL.iter().map(|t| t.libelle()).collect();
        assert_eq!(
            labels,
            [
                "Texte court",
                "Zone de texte",
                "Nombre entier",
                "Date",
                "Case à cocher",
                "Choix simple",
                "Adresse électronique",
                "Téléphone",
                "Titre de section",
                "Explication",
                "Pièce justificative"
            ]
        );
        for t in TypeChamp::ALL {
            assert_eq!(t.as_str().parse::<TypeChamp>(), Ok(t));
            assert_eq!(t.to_string(), t.as_str());
            assert_eq!(
                serde_json::to_string(&t).ok(),
                Some(format!("\"{}\"", t.as_str()))
            );
            let back: Option<TypeChamp> = serde_json::from_str(&format!("\"{}\"", t.as_str())).ok();
            assert_eq!(back, Some(t));
        }
        assert_eq!(
            "siret".parse::<TypeChamp>(),
            Err(ParseError::new("le type de champ", "siret"))
        );
    }

    #[test]
    fn has_value() {
        for t in TypeChamp::ALL {
            let layout = matches!(t, TypeChamp::HeaderSection | TypeChamp::Explication);
            assert_eq!(t.has_value(), !layout, "{t:?}");
        }
    }

    // ---- ChampOptions ----

    #[test]
    fn parse_drop_down_lines() {
        assert_eq!(
            ChampOptions::parse_drop_down("  Fromage \n\nDessert\r\n  \nFromage\nCafé\n"),
            vec!["Fromage", "Dessert", "Café"]
        );
        assert!(ChampOptions::parse_drop_down("   \n\n").is_empty());
        assert!(ChampOptions::parse_drop_down("").is_empty());
    }

    #[test]
    fn options_serde_defaults() {
        let o: Option<ChampOptions> = serde_json::from_str("{}").ok();
        assert_eq!(o, Some(ChampOptions::default()));
        let o: Option<ChampOptions> =
            serde_json::from_str(r#"{"min": 1, "drop_down_options": ["a"]}"#).ok();
        assert_eq!(
            o,
            Some(ChampOptions {
                drop_down_options: vec!["a".into()],
                min: Some(1),
                ..ChampOptions::default()
            })
        );
    }

    // ---- blanks and layout ----

    #[test]
    fn blank_is_none_for_every_type() {
        for t in TypeChamp::ALL {
            for raw in ["", "   ", "\n\t"] {
                assert_eq!(check(t, raw), Ok(None), "{t:?} {raw:?}");
            }
        }
    }

    #[test]
    fn layout_types_store_nothing() {
        assert_eq!(check(TypeChamp::HeaderSection, "x"), Ok(None));
        assert_eq!(check(TypeChamp::Explication, "x"), Ok(None));
    }

    // ---- text / textarea ----

    #[test]
    fn text_is_trimmed_string() {
        assert_eq!(
            check(TypeChamp::Text, "  Bonjour  "),
            Ok(Some(json!("Bonjour")))
        );
        let long = "a".repeat(10_000);
        assert_eq!(check(TypeChamp::Text, &long), Ok(Some(json!(long))));
    }

    #[test]
    fn textarea_character_limit() {
        let o = ChampOptions {
            character_limit: Some(10),
            ..opts()
        };
        let d = def(TypeChamp::Textarea, &o);
        assert_eq!(validate(&d, "éééééééééé"), Ok(Some(json!("éééééééééé"))));
        assert_eq!(
            validate(&d, "12345678901"),
            Err("Le texte ne doit pas dépasser 10 caractères.".to_owned())
        );
        // CRLF counts as one newline and is stored as LF.
        assert_eq!(validate(&d, "1234\r\n5678"), Ok(Some(json!("1234\n5678"))));
        let o = ChampOptions {
            character_limit: Some(1000),
            ..opts()
        };
        assert_eq!(
            validate(&def(TypeChamp::Textarea, &o), &"a".repeat(1001)),
            Err("Le texte ne doit pas dépasser 1 000 caractères.".to_owned())
        );
        assert_eq!(
            check(TypeChamp::Textarea, &"a".repeat(20_000)).map(|v| v.is_some()),
            Ok(true)
        );
    }

    // ---- integer ----

    #[test]
    fn integer_accepted() {
        for (raw, n) in [
            ("42", 42),
            (" 0 ", 0),
            ("-17", -17),
            ("+5", 5),
            ("1 000", 1000),
            ("1\u{a0}000\u{202f}000", 1_000_000),
            ("9223372036854775807", i64::MAX),
        ] {
            assert_eq!(
                check(TypeChamp::IntegerNumber, raw),
                Ok(Some(json!(n))),
                "{raw}"
            );
        }
    }

    #[test]
    fn integer_refused() {
        let msg = "« Mon champ » doit être un nombre entier (sans virgule).".to_owned();
        for raw in ["12,5", "12.5", "abc", "1e3", "-", "+", "--1", "0x10", "½"] {
            assert_eq!(
                check(TypeChamp::IntegerNumber, raw),
                Err(msg.clone()),
                "{raw}"
            );
        }
        assert_eq!(
            check(TypeChamp::IntegerNumber, "99999999999999999999"),
            Err("« Mon champ » est un nombre trop grand.".to_owned())
        );
    }

    #[test]
    fn integer_min_max() {
        let both = ChampOptions {
            min: Some(1),
            max: Some(10),
            ..opts()
        };
        let d = def(TypeChamp::IntegerNumber, &both);
        assert_eq!(validate(&d, "1"), Ok(Some(json!(1))));
        assert_eq!(validate(&d, "10"), Ok(Some(json!(10))));
        let between = Err("« Mon champ » doit être compris entre 1 et 10.".to_owned());
        assert_eq!(validate(&d, "0"), between);
        assert_eq!(validate(&d, "11"), between);

        let min = ChampOptions {
            min: Some(0),
            ..opts()
        };
        let d = def(TypeChamp::IntegerNumber, &min);
        assert_eq!(validate(&d, "0"), Ok(Some(json!(0))));
        assert_eq!(
            validate(&d, "-1"),
            Err("« Mon champ » doit être supérieur ou égal à 0.".to_owned())
        );

        let max = ChampOptions {
            max: Some(2024),
            ..opts()
        };
        let d = def(TypeChamp::IntegerNumber, &max);
        assert_eq!(validate(&d, "-50"), Ok(Some(json!(-50))));
        assert_eq!(
            validate(&d, "2025"),
            Err("« Mon champ » doit être inférieur ou égal à 2024.".to_owned())
        );
    }

    // ---- date ----

    #[test]
    fn date_accepted() {
        for (raw, iso) in [
            ("2024-03-01", "2024-03-01"),
            ("01/03/2024", "2024-03-01"),
            ("1/3/2024", "2024-03-01"),
            ("29/02/2024", "2024-02-29"),
            ("2000-02-29", "2000-02-29"),
            ("31/12/1899", "1899-12-31"),
        ] {
            assert_eq!(check(TypeChamp::Date, raw), Ok(Some(json!(iso))), "{raw}");
        }
    }

    #[test]
    fn date_refused() {
        let msg = "« Mon champ » doit être une date valide (JJ/MM/AAAA).".to_owned();
        for raw in [
            "29/02/2023",
            "31/04/2024",
            "00/01/2024",
            "01/13/2024",
            "2024-13-01",
            "2024-1-1",
            "01/01/24",
            "1er janvier 2024",
            "2024/03/01",
            "01-03-2024",
            "01/03/2024/1",
            "+1/03/2024",
            "2024-03-01T10:00",
        ] {
            assert_eq!(check(TypeChamp::Date, raw), Err(msg.clone()), "{raw}");
        }
    }

    // ---- checkbox ----

    #[test]
    fn checkbox_values() {
        for raw in ["on", "true", "1", "ON", "True", "oui"] {
            assert_eq!(
                check(TypeChamp::Checkbox, raw),
                Ok(Some(json!(true))),
                "{raw}"
            );
        }
        for raw in ["off", "false", "0", "non"] {
            assert_eq!(
                check(TypeChamp::Checkbox, raw),
                Ok(Some(json!(false))),
                "{raw}"
            );
        }
        assert_eq!(check(TypeChamp::Checkbox, ""), Ok(None));
        assert_eq!(
            check(TypeChamp::Checkbox, "peut-être"),
            Err("« Mon champ » : valeur de case à cocher invalide.".to_owned())
        );
    }

    // ---- drop-down ----

    #[test]
    fn drop_down_list() {
        let o = ChampOptions {
            drop_down_options: vec!["Fromage".into(), "Dessert".into()],
            ..opts()
        };
        let d = def(TypeChamp::DropDownList, &o);
        assert_eq!(validate(&d, "Fromage"), Ok(Some(json!("Fromage"))));
        assert_eq!(validate(&d, " Dessert "), Ok(Some(json!("Dessert"))));
        let msg = Err("« Mon champ » : choisissez une valeur de la liste.".to_owned());
        assert_eq!(validate(&d, "fromage"), msg);
        assert_eq!(validate(&d, "Café"), msg);
        let empty = opts();
        assert_eq!(validate(&def(TypeChamp::DropDownList, &empty), "x"), msg);
    }

    // ---- email ----

    #[test]
    fn email_accepted() {
        for raw in [
            "jean.dupont@example.fr",
            "  a@b.co ",
            "Jean.Dupont+ds@sub.example.gouv.fr",
            "o'brien@mail-server.ie",
            "x_y-z@a1.io",
        ] {
            assert_eq!(
                check(TypeChamp::Email, raw),
                Ok(Some(json!(raw.trim()))),
                "{raw}"
            );
        }
    }

    #[test]
    fn email_refused() {
        let msg = "« Mon champ » doit être une adresse électronique valide, \
                   par exemple jean.dupont@example.fr."
            .to_owned();
        for raw in [
            "jean.dupont",
            "@example.fr",
            "jean@",
            "jean@example",
            "jean@@example.fr",
            "jean@a@example.fr",
            "jean dupont@example.fr",
            "jean@exa mple.fr",
            "jean@.example.fr",
            "jean@example..fr",
            "jean@example.fr.",
            "jean@-example.fr",
            "jean@example.f",
            "jean@example.12",
            ".jean@example.fr",
            "jean.@example.fr",
            "je..an@example.fr",
            "jéan@example.fr",
            "jean@exémple.fr",
            "jean,dupont@example.fr",
        ] {
            assert_eq!(check(TypeChamp::Email, raw), Err(msg.clone()), "{raw}");
        }
    }

    // ---- phone ----

    #[test]
    fn phone_accepted() {
        for (raw, stored) in [
            ("0612345678", "0612345678"),
            ("06 12 34 56 78", "0612345678"),
            ("06.12.34.56.78", "0612345678"),
            ("06-12-34-56-78", "0612345678"),
            ("01 23 45 67 89", "0123456789"),
            ("0590 12 34 56", "0590123456"),
            ("+33 6 12 34 56 78", "+33612345678"),
            ("+33612345678", "+33612345678"),
            ("+33 (0)6 12 34 56 78", "+33612345678"),
            ("+330612345678", "+33612345678"),
            ("0033 6 12 34 56 78", "+33612345678"),
            ("+1 415 555 2671", "+14155552671"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+49 30 12345678", "+493012345678"),
            ("+262 262 12 34 56", "+262262123456"),
            ("+12345678", "+12345678"),
            ("+123456789012345", "+123456789012345"),
        ] {
            assert_eq!(
                check(TypeChamp::Phone, raw),
                Ok(Some(json!(stored))),
                "{raw}"
            );
        }
    }

    #[test]
    fn phone_refused() {
        let msg = "« Mon champ » doit être un numéro de téléphone valide, \
                   par exemple 06 12 34 56 78 ou +33 6 12 34 56 78."
            .to_owned();
        for raw in [
            "061234567",
            "06123456789",
            "6 12 34 56 78",
            "0012345678",
            "00 12 34 56 78",
            "06 12 34 56 7a",
            "+33 6 12 34 56",
            "+33 6 12 34 56 78 9",
            "+33 0 12 34 56 78",
            "+1234567",
            "+1234567890123456",
            "+0 123 456 789",
            "+",
            "téléphone",
            "06_12_34_56_78",
        ] {
            assert_eq!(check(TypeChamp::Phone, raw), Err(msg.clone()), "{raw}");
        }
    }

    // ---- mandatory ----

    #[test]
    fn mandatory_checks() {
        let o = opts();
        let text = def(TypeChamp::Text, &o);
        let filled = Err("Le champ « Mon champ » doit être rempli.".to_owned());
        assert_eq!(check_mandatory(&text, None), filled);
        assert_eq!(check_mandatory(&text, Some(&Value::Null)), filled);
        assert_eq!(check_mandatory(&text, Some(&json!("  "))), filled);
        assert_eq!(check_mandatory(&text, Some(&json!([]))), filled);
        assert_eq!(check_mandatory(&text, Some(&json!("x"))), Ok(()));

        let int = def(TypeChamp::IntegerNumber, &o);
        assert_eq!(check_mandatory(&int, Some(&json!(0))), Ok(()));
        assert_eq!(check_mandatory(&int, None), filled);

        let cb = def(TypeChamp::Checkbox, &o);
        let coche = Err("La case « Mon champ » doit être cochée.".to_owned());
        assert_eq!(check_mandatory(&cb, None), coche);
        assert_eq!(check_mandatory(&cb, Some(&json!(false))), coche);
        assert_eq!(check_mandatory(&cb, Some(&json!(true))), Ok(()));

        for t in [TypeChamp::HeaderSection, TypeChamp::Explication] {
            assert_eq!(check_mandatory(&def(t, &o), None), Ok(()));
        }

        for t in TypeChamp::ALL {
            let optional = ChampDef {
                mandatory: false,
                ..def(t, &o)
            };
            assert_eq!(check_mandatory(&optional, None), Ok(()), "{t:?}");
            assert_eq!(check_mandatory(&optional, Some(&json!(false))), Ok(()));
        }
    }

    #[test]
    fn validate_then_mandatory() {
        let o = opts();
        let d = def(TypeChamp::Checkbox, &o);
        let v = validate(&d, "").ok().flatten();
        assert!(check_mandatory(&d, v.as_ref()).is_err());
        let v = validate(&d, "on").ok().flatten();
        assert_eq!(check_mandatory(&d, v.as_ref()), Ok(()));
    }

    // ---- display ----

    #[test]
    fn display_values() {
        assert_eq!(display(TypeChamp::Text, &json!("Bonjour")), "Bonjour");
        assert_eq!(display(TypeChamp::Textarea, &json!("a\nb")), "a\nb");
        assert_eq!(
            display(TypeChamp::IntegerNumber, &json!(1234567)),
            "1234567"
        );
        assert_eq!(display(TypeChamp::IntegerNumber, &json!(-3)), "-3");
        assert_eq!(display(TypeChamp::Date, &json!("2024-03-01")), "01/03/2024");
        assert_eq!(display(TypeChamp::Date, &json!("n'importe")), "n'importe");
        assert_eq!(display(TypeChamp::Checkbox, &json!(true)), "Oui");
        assert_eq!(display(TypeChamp::Checkbox, &json!(false)), "Non");
        assert_eq!(display(TypeChamp::Checkbox, &json!("true")), "Oui");
        assert_eq!(display(TypeChamp::Checkbox, &json!("false")), "Non");
        assert_eq!(
            display(TypeChamp::DropDownList, &json!("Fromage")),
            "Fromage"
        );
        assert_eq!(display(TypeChamp::Email, &json!("a@b.fr")), "a@b.fr");
        assert_eq!(
            display(TypeChamp::Phone, &json!("0612345678")),
            "06 12 34 56 78"
        );
        assert_eq!(
            display(TypeChamp::Phone, &json!("+33612345678")),
            "+33 6 12 34 56 78"
        );
        assert_eq!(
            display(TypeChamp::Phone, &json!("+14155552671")),
            "+14155552671"
        );
        for t in TypeChamp::ALL {
            assert_eq!(display(t, &Value::Null), "", "{t:?}");
        }
        assert_eq!(display(TypeChamp::HeaderSection, &json!("x")), "");
        assert_eq!(display(TypeChamp::Explication, &json!("x")), "");
    }

    #[test]
    fn validate_display_round_trip() {
        let o = opts();
        for (t, raw, shown) in [
            (TypeChamp::Date, "5/7/2023", "05/07/2023"),
            (TypeChamp::Phone, "06.12.34.56.78", "06 12 34 56 78"),
            (
                TypeChamp::Phone,
                "+33 (0)1 23 45 67 89",
                "+33 1 23 45 67 89",
            ),
            (TypeChamp::IntegerNumber, " 1 500 ", "1500"),
            (TypeChamp::Checkbox, "on", "Oui"),
        ] {
            let v = validate(&def(t, &o), raw).ok().flatten();
            assert_eq!(v.map(|v| display(t, &v)), Some(shown.to_owned()), "{raw}");
        }
    }
}
