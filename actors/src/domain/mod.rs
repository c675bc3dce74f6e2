//! Pure domain rules of démarches-simplifiées: no I/O, no async.
//!
//! Actors and HTTP handlers load state, call these functions and persist the
//! result. Everything here is deterministic and unit-tested.

pub mod carte;
pub mod champ;
pub mod etat;
pub mod external;
pub mod geo;
pub mod identity;
pub mod logic;
pub mod password;
pub mod repetition;
pub mod revision_change;
pub mod slug;
pub mod transition;

pub use champ::{
    ChampDef, ChampOptions, Lookups, TypeChamp, check_mandatory, display, validate, validate_siret,
    validate_with,
};
pub use etat::Etat;
pub use identity::{Civilite, Individual, validate_individual};
pub use password::check_strength;
pub use slug::{slugify, validate_path};
pub use transition::{
    MOTIVATION_MAX_CHARS, MailKind, Outcome, Transition, TransitionError, apply, available,
};

/// Error returned by the `FromStr` implementations of the domain enums.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Valeur inconnue pour {kind} : « {value} ».")]
pub struct ParseError {
    /// What was being parsed, in French with its article (e.g. "l'état").
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
}

impl ParseError {
    pub(crate) fn new(kind: &'static str, value: &str) -> Self {
        Self {
            kind,
            value: value.to_owned(),
        }
    }
}

/// Formats an integer the French way, with a space between thousands
/// groups: `5000` → `"5 000"`.
pub(crate) fn format_thousands(n: u64) -> String {
    let digits = n.to_string();
    let len = digits.len();
    let mut out = String::with_capacity(len + len / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_message_is_french() {
        let err = ParseError::new("l'état", "foo");
        assert_eq!(err.to_string(), "Valeur inconnue pour l'état : « foo ».");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(format_thousands(0), "0");
        assert_eq!(format_thousands(999), "999");
        assert_eq!(format_thousands(1000), "1 000");
        assert_eq!(format_thousands(5000), "5 000");
        assert_eq!(format_thousands(123_456), "123 456");
        assert_eq!(format_thousands(1_234_567), "1 234 567");
    }

    #[test]
    fn reexports_are_usable() {
        assert_eq!(Etat::ALL.len(), 6);
        assert!(apply(Etat::Brouillon, Transition::Deposer, None).is_ok());
        assert_eq!(slugify("Été"), "ete");
        assert!(validate_path("ete-2024").is_ok());
        assert!(check_strength("court", "a@b.fr").is_err());
        assert!(validate_individual("Mme", "Curie", "Marie").is_ok());
        // Every type is offered once and reads back from its DS name.
        for t in TypeChamp::ALL {
            assert_eq!(t.as_str().parse::<TypeChamp>(), Ok(t));
        }
    }
}
