//! Identity of a usager filing as an individual (DS `Individual`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// Maximum length of a nom or prénom, in characters.
pub const NAME_MAX_CHARS: usize = 100;

/// Civilité. Serialized as in DS: `"M."` or `"Mme"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Civilite {
    #[serde(rename = "M.")]
    M,
    #[serde(rename = "Mme")]
    Mme,
}

impl Civilite {
    /// Both values, in form order.
    pub const ALL: [Civilite; 2] = [Civilite::M, Civilite::Mme];

    /// Stored and displayed value: `"M."` or `"Mme"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Civilite::M => "M.",
            Civilite::Mme => "Mme",
        }
    }

    /// Long French label ("Monsieur", "Madame").
    pub const fn libelle(self) -> &'static str {
        match self {
            Civilite::M => "Monsieur",
            Civilite::Mme => "Madame",
        }
    }
}

impl fmt::Display for Civilite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses the form values `"M."` and `"Mme"` (also `"M"`, `"Monsieur"`,
/// `"Madame"`), surrounding blanks ignored.
impl FromStr for Civilite {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "M." | "M" | "Monsieur" => Ok(Civilite::M),
            "Mme" | "Mme." | "Madame" => Ok(Civilite::Mme),
            _ => Err(ParseError::new("la civilité", s)),
        }
    }
}

/// A validated individual identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Individual {
    pub civilite: Civilite,
    pub nom: String,
    pub prenom: String,
}

/// Validates the identity form. Names are trimmed and inner whitespace is
/// collapsed to single spaces. Errors are `(field, French message)` pairs
/// with fields `"civilite"`, `"nom"`, `"prenom"`, in that order.
pub fn validate_individual(
    civilite: &str,
    nom: &str,
    prenom: &str,
) -> Result<Individual, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let civilite = civilite.parse::<Civilite>().ok();
    if civilite.is_none() {
        errors.push(("civilite", "Choisissez votre civilité.".to_owned()));
    }
    let nom = normalize_name(nom);
    if let Err(msg) = check_name(&nom, "Le nom") {
        errors.push(("nom", msg));
    }
    let prenom = normalize_name(prenom);
    if let Err(msg) = check_name(&prenom, "Le prénom") {
        errors.push(("prenom", msg));
    }
    match civilite {
        Some(civilite) if errors.is_empty() => Ok(Individual {
            civilite,
            nom,
            prenom,
        }),
        _ => Err(errors),
    }
}

fn normalize_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_name(name: &str, what: &str) -> Result<(), String> {
    if name.is_empty() {
        Err(format!("{what} doit être rempli."))
    } else if name.chars().count() > NAME_MAX_CHARS {
        Err(format!(
            "{what} ne doit pas dépasser {NAME_MAX_CHARS} caractères."
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civilite_strings() {
        assert_eq!(Civilite::M.as_str(), "M.");
        assert_eq!(Civilite::Mme.as_str(), "Mme");
        assert_eq!(Civilite::M.libelle(), "Monsieur");
        assert_eq!(Civilite::Mme.libelle(), "Madame");
        for c in Civilite::ALL {
            assert_eq!(c.as_str().parse::<Civilite>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
            assert_eq!(
                serde_json::to_string(&c).ok(),
                Some(format!("\"{}\"", c.as_str()))
            );
            let back: Option<Civilite> = serde_json::from_str(&format!("\"{}\"", c.as_str())).ok();
            assert_eq!(back, Some(c));
        }
    }

    #[test]
    fn civilite_parse_variants() {
        assert_eq!(" M. ".parse::<Civilite>(), Ok(Civilite::M));
        assert_eq!("M".parse::<Civilite>(), Ok(Civilite::M));
        assert_eq!("Madame".parse::<Civilite>(), Ok(Civilite::Mme));
        for bad in ["", "m.", "MME", "Mlle", "X"] {
            assert_eq!(
                bad.parse::<Civilite>(),
                Err(ParseError::new("la civilité", bad)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn valid_individual() {
        assert_eq!(
            validate_individual("Mme", "  Curie ", " Marie  Salomea "),
            Ok(Individual {
                civilite: Civilite::Mme,
                nom: "Curie".to_owned(),
                prenom: "Marie Salomea".to_owned(),
            })
        );
        let max = "é".repeat(NAME_MAX_CHARS);
        assert!(validate_individual("M.", &max, &max).is_ok());
    }

    #[test]
    fn all_errors_at_once() {
        assert_eq!(
            validate_individual("", "  ", "\t"),
            Err(vec![
                ("civilite", "Choisissez votre civilité.".to_owned()),
                ("nom", "Le nom doit être rempli.".to_owned()),
                ("prenom", "Le prénom doit être rempli.".to_owned()),
            ])
        );
    }

    #[test]
    fn single_errors() {
        assert_eq!(
            validate_individual("Mlle", "Curie", "Marie"),
            Err(vec![("civilite", "Choisissez votre civilité.".to_owned())])
        );
        assert_eq!(
            validate_individual("M.", "", "Pierre"),
            Err(vec![("nom", "Le nom doit être rempli.".to_owned())])
        );
        assert_eq!(
            validate_individual("M.", "Curie", ""),
            Err(vec![("prenom", "Le prénom doit être rempli.".to_owned())])
        );
    }

    #[test]
    fn too_long() {
        let long = "a".repeat(NAME_MAX_CHARS + 1);
        assert_eq!(
            validate_individual("M.", &long, &long),
            Err(vec![
                (
                    "nom",
                    "Le nom ne doit pas dépasser 100 caractères.".to_owned()
                ),
                (
                    "prenom",
                    "Le prénom ne doit pas dépasser 100 caractères.".to_owned()
                ),
            ])
        );
    }
}
