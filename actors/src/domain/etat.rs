//! Dossier states (FEATURES §2.1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// State of a dossier. The snake_case names are the DS (AASM) state names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Etat {
    Brouillon,
    EnConstruction,
    EnInstruction,
    Accepte,
    Refuse,
    SansSuite,
}

impl Etat {
    /// Every state, in lifecycle order.
    pub const ALL: [Etat; 6] = [
        Etat::Brouillon,
        Etat::EnConstruction,
        Etat::EnInstruction,
        Etat::Accepte,
        Etat::Refuse,
        Etat::SansSuite,
    ];

    /// The final states (`TERMINE` in DS).
    pub const TERMINE: [Etat; 3] = [Etat::Accepte, Etat::Refuse, Etat::SansSuite];

    /// Machine name, as stored in the database and used in URLs and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Etat::Brouillon => "brouillon",
            Etat::EnConstruction => "en_construction",
            Etat::EnInstruction => "en_instruction",
            Etat::Accepte => "accepte",
            Etat::Refuse => "refuse",
            Etat::SansSuite => "sans_suite",
        }
    }

    /// French label shown to users.
    pub const fn libelle(self) -> &'static str {
        match self {
            Etat::Brouillon => "Brouillon",
            Etat::EnConstruction => "En construction",
            Etat::EnInstruction => "En instruction",
            Etat::Accepte => "Accepté",
            Etat::Refuse => "Refusé",
            Etat::SansSuite => "Classé sans suite",
        }
    }

    /// True for the final states: accepté, refusé, classé sans suite.
    pub const fn is_termine(self) -> bool {
        matches!(self, Etat::Accepte | Etat::Refuse | Etat::SansSuite)
    }
}

/// Displays the machine name (same as [`Etat::as_str`]); use
/// [`Etat::libelle`] for the French label.
impl fmt::Display for Etat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Etat {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Etat::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| ParseError::new("l'état", s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_values() {
        let names: Vec<&str> = Etat::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(
            names,
            [
                "brouillon",
                "en_construction",
                "en_instruction",
                "accepte",
                "refuse",
                "sans_suite"
            ]
        );
    }

    #[test]
    fn libelles() {
        let libelles: Vec<&str> = Etat::ALL.iter().map(|e| e.libelle()).collect();
        assert_eq!(
            libelles,
            [
                "Brouillon",
                "En construction",
                "En instruction",
                "Accepté",
                "Refusé",
                "Classé sans suite"
            ]
        );
    }

    #[test]
    fn from_str_round_trips() {
        for e in Etat::ALL {
            assert_eq!(e.as_str().parse::<Etat>(), Ok(e));
            assert_eq!(e.to_string(), e.as_str());
        }
    }

    #[test]
    fn from_str_rejects_unknown() {
        for bad in [
            "",
            "Brouillon",
            "accepté",
            "termine",
            " brouillon",
            "en-construction",
        ] {
            let err = bad.parse::<Etat>().err();
            assert_eq!(err, Some(ParseError::new("l'état", bad)), "{bad:?}");
        }
    }

    #[test]
    fn serde_uses_snake_case_names() {
        for e in Etat::ALL {
            let json = serde_json::to_string(&e).ok();
            assert_eq!(json, Some(format!("\"{}\"", e.as_str())));
            let back: Option<Etat> = serde_json::from_str(&format!("\"{}\"", e.as_str())).ok();
            assert_eq!(back, Some(e));
        }
        assert!(serde_json::from_str::<Etat>("\"EnConstruction\"").is_err());
    }

    #[test]
    fn termine() {
        let termines: Vec<Etat> = Etat::ALL.into_iter().filter(|e| e.is_termine()).collect();
        assert_eq!(termines, Etat::TERMINE);
        assert!(!Etat::Brouillon.is_termine());
        assert!(!Etat::EnConstruction.is_termine());
        assert!(!Etat::EnInstruction.is_termine());
    }
}
