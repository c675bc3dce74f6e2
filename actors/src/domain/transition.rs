//! Dossier state transitions (FEATURES §2.2) and the usager e-mails they
//! trigger (FEATURES §6.1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ParseError;
use super::etat::Etat;

/// Maximum length of a decision motivation, in characters.
pub const MOTIVATION_MAX_CHARS: usize = 5000;

/// A state-changing event on a dossier. The snake_case names are the DS
/// (AASM) event names, except `Deposer` (DS: `passer_en_construction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Deposer,
    PasserEnInstruction,
    RepasserEnConstruction,
    Accepter,
    Refuser,
    ClasserSansSuite,
    RepasserEnInstruction,
}

impl Transition {
    /// Every transition.
    pub const ALL: [Transition; 7] = [
        Transition::Deposer,
        Transition::PasserEnInstruction,
        Transition::RepasserEnConstruction,
        Transition::Accepter,
        Transition::Refuser,
        Transition::ClasserSansSuite,
        Transition::RepasserEnInstruction,
    ];

    /// Machine name (URLs, forms, operation logs).
    pub const fn as_str(self) -> &'static str {
        match self {
            Transition::Deposer => "deposer",
            Transition::PasserEnInstruction => "passer_en_instruction",
            Transition::RepasserEnConstruction => "repasser_en_construction",
            Transition::Accepter => "accepter",
            Transition::Refuser => "refuser",
            Transition::ClasserSansSuite => "classer_sans_suite",
            Transition::RepasserEnInstruction => "repasser_en_instruction",
        }
    }

    /// French button label.
    pub const fn libelle(self) -> &'static str {
        match self {
            Transition::Deposer => "Déposer le dossier",
            Transition::PasserEnInstruction => "Passer en instruction",
            Transition::RepasserEnConstruction => "Repasser en construction",
            Transition::Accepter => "Accepter",
            Transition::Refuser => "Refuser",
            Transition::ClasserSansSuite => "Classer sans suite",
            Transition::RepasserEnInstruction => "Repasser en instruction",
        }
    }

    /// Past participle used in sentences: « le dossier ne peut pas être … ».
    pub const fn participe(self) -> &'static str {
        match self {
            Transition::Deposer => "déposé",
            Transition::PasserEnInstruction => "passé en instruction",
            Transition::RepasserEnConstruction => "repassé en construction",
            Transition::Accepter => "accepté",
            Transition::Refuser => "refusé",
            Transition::ClasserSansSuite => "classé sans suite",
            Transition::RepasserEnInstruction => "repassé en instruction",
        }
    }

    /// True for the three decisions (accepter, refuser, classer sans suite),
    /// which carry a motivation.
    pub const fn is_decision(self) -> bool {
        matches!(
            self,
            Transition::Accepter | Transition::Refuser | Transition::ClasserSansSuite
        )
    }

    /// True when a non-blank motivation is mandatory (refus, sans suite).
    pub const fn requires_motivation(self) -> bool {
        matches!(self, Transition::Refuser | Transition::ClasserSansSuite)
    }

    /// The state reached when this transition is applied from `from`, or
    /// `None` when the transition is not allowed from that state.
    pub const fn target(self, from: Etat) -> Option<Etat> {
        match (from, self) {
            (Etat::Brouillon, Transition::Deposer) => Some(Etat::EnConstruction),
            (Etat::EnConstruction, Transition::PasserEnInstruction) => Some(Etat::EnInstruction),
            (Etat::EnInstruction, Transition::RepasserEnConstruction) => Some(Etat::EnConstruction),
            (Etat::EnInstruction, Transition::Accepter) => Some(Etat::Accepte),
            (Etat::EnInstruction, Transition::Refuser) => Some(Etat::Refuse),
            (Etat::EnInstruction, Transition::ClasserSansSuite) => Some(Etat::SansSuite),
            (Etat::Accepte | Etat::Refuse | Etat::SansSuite, Transition::RepasserEnInstruction) => {
                Some(Etat::EnInstruction)
            }
            _ => None,
        }
    }

    /// The e-mail sent to the usager after this transition, if any.
    /// `RepasserEnConstruction` sends none (FEATURES §2.2).
    pub const fn emits_usager_mail(&self) -> Option<MailKind> {
        match self {
            Transition::Deposer => Some(MailKind::AccuseReception),
            Transition::PasserEnInstruction => Some(MailKind::PassageEnInstruction),
            Transition::RepasserEnConstruction => None,
            Transition::Accepter => Some(MailKind::Acceptation),
            Transition::Refuser => Some(MailKind::Refus),
            Transition::ClasserSansSuite => Some(MailKind::ClassementSansSuite),
            Transition::RepasserEnInstruction => Some(MailKind::Reinstruction),
        }
    }
}

/// Displays the machine name (same as [`Transition::as_str`]).
impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transition {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Transition::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseError::new("l'action", s))
    }
}

/// Result of a legal transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The new state.
    pub to: Etat,
    /// Trimmed motivation, `None` when blank or when the transition does not
    /// carry one (everything except the three decisions).
    pub motivation: Option<String>,
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error(
        "Ce dossier est « {} » : il ne peut pas être {}.",
        .from.libelle(),
        .transition.participe()
    )]
    Illegal { from: Etat, transition: Transition },
    #[error("La motivation est obligatoire pour refuser ou classer sans suite un dossier.")]
    MotivationRequired,
    #[error("La motivation ne peut pas dépasser 5 000 caractères.")]
    MotivationTooLong,
}

/// Applies `t` to a dossier in state `from`.
///
/// The state check comes first; then, for the decisions only, the
/// motivation is trimmed, checked against [`MOTIVATION_MAX_CHARS`] and
/// required for refus and classement sans suite. Other transitions ignore
/// the motivation.
pub fn apply(
    from: Etat,
    t: Transition,
    motivation: Option<&str>,
) -> Result<Outcome, TransitionError> {
    let to = t.target(from).ok_or(TransitionError::Illegal {
        from,
        transition: t,
    })?;
    if !t.is_decision() {
        return Ok(Outcome {
            to,
            motivation: None,
        });
    }
    let motivation = motivation.map(str::trim).filter(|m| !m.is_empty());
    match motivation {
        None if t.requires_motivation() => Err(TransitionError::MotivationRequired),
        Some(m) if m.chars().count() > MOTIVATION_MAX_CHARS => {
            Err(TransitionError::MotivationTooLong)
        }
        m => Ok(Outcome {
            to,
            motivation: m.map(str::to_owned),
        }),
    }
}

/// The instructeur actions offered on a dossier in state `from`, in the
/// order DS shows them (`Deposer` is a usager action and never listed).
pub fn available(from: Etat) -> Vec<Transition> {
    match from {
        Etat::Brouillon => Vec::new(),
        Etat::EnConstruction => vec![Transition::PasserEnInstruction],
        Etat::EnInstruction => vec![
            Transition::Accepter,
            Transition::ClasserSansSuite,
            Transition::Refuser,
            Transition::RepasserEnConstruction,
        ],
        Etat::Accepte | Etat::Refuse | Etat::SansSuite => {
            vec![Transition::RepasserEnInstruction]
        }
    }
}

/// The usager-facing notification e-mails (DS `Mails::*Mail` templates).
/// The serde names are the DS template names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailKind {
    #[serde(rename = "initiated")]
    AccuseReception,
    #[serde(rename = "received")]
    PassageEnInstruction,
    #[serde(rename = "closed")]
    Acceptation,
    #[serde(rename = "refused")]
    Refus,
    #[serde(rename = "without_continuation")]
    ClassementSansSuite,
    #[serde(rename = "re_instructed")]
    Reinstruction,
}

const SIGNATURE: &str = "Bonne journée,\n\nL'équipe demarches";
const FOOTER: &str = "—\nMerci de ne pas répondre à cet e-mail. Posez vos questions directement \
                      dans la messagerie de votre dossier.";

impl MailKind {
    /// Every mail kind.
    pub const ALL: [MailKind; 6] = [
        MailKind::AccuseReception,
        MailKind::PassageEnInstruction,
        MailKind::Acceptation,
        MailKind::Refus,
        MailKind::ClassementSansSuite,
        MailKind::Reinstruction,
    ];

    /// DS template name (same as the serde name).
    pub const fn as_str(self) -> &'static str {
        match self {
            MailKind::AccuseReception => "initiated",
            MailKind::PassageEnInstruction => "received",
            MailKind::Acceptation => "closed",
            MailKind::Refus => "refused",
            MailKind::ClassementSansSuite => "without_continuation",
            MailKind::Reinstruction => "re_instructed",
        }
    }

    /// French name of the template, as shown to administrateurs.
    pub const fn libelle(self) -> &'static str {
        match self {
            MailKind::AccuseReception => "Accusé de réception",
            MailKind::PassageEnInstruction => "Accusé de passage en instruction",
            MailKind::Acceptation => "Accusé d'acceptation",
            MailKind::Refus => "Accusé de rejet",
            MailKind::ClassementSansSuite => "Accusé de classement sans suite",
            MailKind::Reinstruction => "Accusé de réexamen",
        }
    }

    /// DS default subject.
    pub fn subject(&self, numero: i64, demarche: &str) -> String {
        let what = match self {
            MailKind::AccuseReception => "a bien été déposé",
            MailKind::PassageEnInstruction => "va être examiné",
            MailKind::Acceptation => "a été accepté",
            MailKind::Refus => "a été refusé",
            MailKind::ClassementSansSuite => "a été classé sans suite",
            MailKind::Reinstruction => "est en train d'être réexaminé",
        };
        format!("Votre dossier n° {numero} {what} ({demarche})")
    }

    /// Default plain-text body. The motivation is only used for the three
    /// decisions, and only when it is not blank.
    pub fn body(
        &self,
        numero: i64,
        demarche: &str,
        motivation: Option<&str>,
        dossier_url: &str,
    ) -> String {
        let dossier = format!("votre dossier n° {numero} pour la démarche « {demarche} »");
        let (intro, motivation_title, link_intro) = match self {
            MailKind::AccuseReception => (
                format!("Votre administration vous confirme la bonne réception de {dossier}."),
                None,
                "À tout moment, vous pouvez consulter votre dossier et les éventuels messages \
                 de l'administration à cette adresse :",
            ),
            MailKind::PassageEnInstruction => (
                format!(
                    "Nous vous informons que {dossier} va maintenant être examiné par \
                     l'administration. Il n'est plus possible de le modifier."
                ),
                None,
                "Vous pouvez suivre l'avancement de votre dossier à cette adresse :",
            ),
            MailKind::Acceptation => (
                format!("Nous avons le plaisir de vous informer que {dossier} a été accepté."),
                Some("Motivation de la décision :"),
                "Vous pouvez consulter votre dossier à cette adresse :",
            ),
            MailKind::Refus => (
                format!("Nous sommes au regret de vous informer que {dossier} a été refusé."),
                Some("Motif du refus :"),
                "Pour en savoir plus, vous pouvez consulter votre dossier et les éventuels \
                 messages de l'administration à cette adresse :",
            ),
            MailKind::ClassementSansSuite => (
                format!("Nous vous informons que {dossier} a été classé sans suite."),
                Some("Motif du classement sans suite :"),
                "Pour en savoir plus, vous pouvez consulter votre dossier et les éventuels \
                 messages de l'administration à cette adresse :",
            ),
            MailKind::Reinstruction => (
                format!(
                    "Nous vous informons que {dossier} est en train d'être réexaminé par \
                     l'administration. Vous serez informé(e) par e-mail de la nouvelle décision."
                ),
                None,
                "Vous pouvez suivre l'avancement de votre dossier à cette adresse :",
            ),
        };
        let mut out = format!("Bonjour,\n\n{intro}\n\n");
        let motivation = motivation.map(str::trim).filter(|m| !m.is_empty());
        if let (Some(title), Some(m)) = (motivation_title, motivation) {
            out.push_str(title);
            out.push('\n');
            out.push_str(m);
            out.push_str("\n\n");
        }
        out.push_str(link_intro);
        out.push('\n');
        out.push_str(dossier_url);
        out.push_str("\n\n");
        out.push_str(SIGNATURE);
        out.push_str("\n\n");
        out.push_str(FOOTER);
        out.push('\n');
        out
    }
}

impl fmt::Display for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MailKind {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MailKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ParseError::new("le modèle d'e-mail", s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The complete list of legal (from, transition, to) triples.
    const LEGAL: [(Etat, Transition, Etat); 9] = [
        (Etat::Brouillon, Transition::Deposer, Etat::EnConstruction),
        (
            Etat::EnConstruction,
            Transition::PasserEnInstruction,
            Etat::EnInstruction,
        ),
        (
            Etat::EnInstruction,
            Transition::RepasserEnConstruction,
            Etat::EnConstruction,
        ),
        (Etat::EnInstruction, Transition::Accepter, Etat::Accepte),
        (Etat::EnInstruction, Transition::Refuser, Etat::Refuse),
        (
            Etat::EnInstruction,
            Transition::ClasserSansSuite,
            Etat::SansSuite,
        ),
        (
            Etat::Accepte,
            Transition::RepasserEnInstruction,
            Etat::EnInstruction,
        ),
        (
            Etat::Refuse,
            Transition::RepasserEnInstruction,
            Etat::EnInstruction,
        ),
        (
            Etat::SansSuite,
            Transition::RepasserEnInstruction,
            Etat::EnInstruction,
        ),
    ];

    fn expected(from: Etat, t: Transition) -> Option<Etat> {
        LEGAL
            .iter()
            .find(|(f, tr, _)| *f == from && *tr == t)
            .map(|(_, _, to)| *to)
    }

    #[test]
    fn full_matrix() {
        let mut legal_count = 0;
        for from in Etat::ALL {
            for t in Transition::ALL {
                // A valid motivation so that the state rule alone decides.
                let result = apply(from, t, Some("Motif"));
                match expected(from, t) {
                    Some(to) => {
                        legal_count += 1;
                        let outcome = result.ok();
                        assert_eq!(outcome.map(|o| o.to), Some(to), "{from:?} {t:?}");
                        assert_eq!(t.target(from), Some(to));
                    }
                    None => {
                        assert_eq!(
                            result,
                            Err(TransitionError::Illegal {
                                from,
                                transition: t
                            }),
                            "{from:?} {t:?}"
                        );
                        assert_eq!(t.target(from), None);
                    }
                }
            }
        }
        assert_eq!(legal_count, 9);
    }

    #[test]
    fn illegal_is_checked_before_motivation() {
        assert_eq!(
            apply(Etat::Brouillon, Transition::Refuser, None),
            Err(TransitionError::Illegal {
                from: Etat::Brouillon,
                transition: Transition::Refuser
            })
        );
        let long = "a".repeat(MOTIVATION_MAX_CHARS + 1);
        assert_eq!(
            apply(Etat::Accepte, Transition::Accepter, Some(&long)),
            Err(TransitionError::Illegal {
                from: Etat::Accepte,
                transition: Transition::Accepter
            })
        );
    }

    #[test]
    fn accepter_motivation_is_optional() {
        let ok = |m| apply(Etat::EnInstruction, Transition::Accepter, m);
        assert_eq!(
            ok(None),
            Ok(Outcome {
                to: Etat::Accepte,
                motivation: None
            })
        );
        assert_eq!(ok(Some("   \n\t ")).map(|o| o.motivation), Ok(None));
        assert_eq!(
            ok(Some("  Dossier complet.\n")).map(|o| o.motivation),
            Ok(Some("Dossier complet.".to_owned()))
        );
    }

    #[test]
    fn refus_and_sans_suite_require_motivation() {
        for t in [Transition::Refuser, Transition::ClasserSansSuite] {
            assert!(t.requires_motivation());
            for blank in [None, Some(""), Some("   "), Some("\n\t")] {
                assert_eq!(
                    apply(Etat::EnInstruction, t, blank),
                    Err(TransitionError::MotivationRequired),
                    "{t:?} {blank:?}"
                );
            }
            let outcome = apply(Etat::EnInstruction, t, Some("  Pièce manquante  "));
            assert_eq!(
                outcome.map(|o| o.motivation),
                Ok(Some("Pièce manquante".to_owned()))
            );
        }
        assert!(!Transition::Accepter.requires_motivation());
    }

    #[test]
    fn motivation_length_limit_counts_characters() {
        let at_limit = "é".repeat(MOTIVATION_MAX_CHARS);
        let over = "é".repeat(MOTIVATION_MAX_CHARS + 1);
        for t in [
            Transition::Accepter,
            Transition::Refuser,
            Transition::ClasserSansSuite,
        ] {
            let ok = apply(Etat::EnInstruction, t, Some(&at_limit));
            assert_eq!(ok.map(|o| o.motivation), Ok(Some(at_limit.clone())));
            assert_eq!(
                apply(Etat::EnInstruction, t, Some(&over)),
                Err(TransitionError::MotivationTooLong)
            );
            // Surrounding blanks do not count.
            let padded = format!("  {at_limit}  ");
            assert!(apply(Etat::EnInstruction, t, Some(&padded)).is_ok());
        }
    }

    #[test]
    fn motivation_ignored_for_other_transitions() {
        let long = "x".repeat(MOTIVATION_MAX_CHARS + 10);
        for (from, t, to) in LEGAL {
            if t.is_decision() {
                continue;
            }
            for m in [None, Some("Un motif"), Some(long.as_str())] {
                assert_eq!(
                    apply(from, t, m),
                    Ok(Outcome {
                        to,
                        motivation: None
                    }),
                    "{from:?} {t:?}"
                );
            }
        }
    }

    #[test]
    fn available_per_state() {
        assert_eq!(available(Etat::Brouillon), vec![]);
        assert_eq!(
            available(Etat::EnConstruction),
            vec![Transition::PasserEnInstruction]
        );
        assert_eq!(
            available(Etat::EnInstruction),
            vec![
                Transition::Accepter,
                Transition::ClasserSansSuite,
                Transition::Refuser,
                Transition::RepasserEnConstruction
            ]
        );
        for e in Etat::TERMINE {
            assert_eq!(available(e), vec![Transition::RepasserEnInstruction]);
        }
    }

    #[test]
    fn available_is_consistent_with_apply() {
        for from in Etat::ALL {
            for t in Transition::ALL {
                let listed = available(from).contains(&t);
                let legal = t.target(from).is_some() && t != Transition::Deposer;
                assert_eq!(listed, legal, "{from:?} {t:?}");
            }
        }
    }

    #[test]
    fn names_and_labels() {
        let names: Vec<&str> = Transition::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "deposer",
                "passer_en_instruction",
                "repasser_en_construction",
                "accepter",
                "refuser",
                "classer_sans_suite",
                "repasser_en_instruction"
            ]
        );
        let labels: Vec<&str> = Transition::ALL.iter().map(|t| t.libelle()).collect();
        assert_eq!(
            labels,
            [
                "Déposer le dossier",
                "Passer en instruction",
                "Repasser en construction",
                "Accepter",
                "Refuser",
                "Classer sans suite",
                "Repasser en instruction"
            ]
        );
        for t in Transition::ALL {
            assert_eq!(t.as_str().parse::<Transition>(), Ok(t));
            assert_eq!(t.to_string(), t.as_str());
            let json = serde_json::to_string(&t).ok();
            assert_eq!(json, Some(format!("\"{}\"", t.as_str())));
            let back: Option<Transition> =
                serde_json::from_str(&format!("\"{}\"", t.as_str())).ok();
            assert_eq!(back, Some(t));
        }
        assert_eq!(
            "passer_en_construction".parse::<Transition>(),
            Err(ParseError::new("l'action", "passer_en_construction"))
        );
    }

    #[test]
    fn error_messages() {
        let illegal = |from, transition| TransitionError::Illegal { from, transition }.to_string();
        assert_eq!(
            illegal(Etat::Accepte, Transition::PasserEnInstruction),
            "Ce dossier est « Accepté » : il ne peut pas être passé en instruction."
        );
        assert_eq!(
            illegal(Etat::EnConstruction, Transition::Deposer),
            "Ce dossier est « En construction » : il ne peut pas être déposé."
        );
        assert_eq!(
            illegal(Etat::Brouillon, Transition::Accepter),
            "Ce dossier est « Brouillon » : il ne peut pas être accepté."
        );
        assert_eq!(
            illegal(Etat::EnConstruction, Transition::Refuser),
            "Ce dossier est « En construction » : il ne peut pas être refusé."
        );
        assert_eq!(
            illegal(Etat::SansSuite, Transition::ClasserSansSuite),
            "Ce dossier est « Classé sans suite » : il ne peut pas être classé sans suite."
        );
        assert_eq!(
            illegal(Etat::Refuse, Transition::RepasserEnConstruction),
            "Ce dossier est « Refusé » : il ne peut pas être repassé en construction."
        );
        assert_eq!(
            illegal(Etat::EnInstruction, Transition::RepasserEnInstruction),
            "Ce dossier est « En instruction » : il ne peut pas être repassé en instruction."
        );
        assert_eq!(
            TransitionError::MotivationRequired.to_string(),
            "La motivation est obligatoire pour refuser ou classer sans suite un dossier."
        );
        assert_eq!(
            TransitionError::MotivationTooLong.to_string(),
            "La motivation ne peut pas dépasser 5 000 caractères."
        );
    }

    #[test]
    fn mails_emitted() {
        assert_eq!(
            Transition::Deposer.emits_usager_mail(),
            Some(MailKind::AccuseReception)
        );
        assert_eq!(
            Transition::PasserEnInstruction.emits_usager_mail(),
            Some(MailKind::PassageEnInstruction)
        );
        assert_eq!(Transition::RepasserEnConstruction.emits_usager_mail(), None);
        assert_eq!(
            Transition::Accepter.emits_usager_mail(),
            Some(MailKind::Acceptation)
        );
        assert_eq!(
            Transition::Refuser.emits_usager_mail(),
            Some(MailKind::Refus)
        );
        assert_eq!(
            Transition::ClasserSansSuite.emits_usager_mail(),
            Some(MailKind::ClassementSansSuite)
        );
        assert_eq!(
            Transition::RepasserEnInstruction.emits_usager_mail(),
            Some(MailKind::Reinstruction)
        );
    }

    #[test]
    fn mail_subjects() {
        let s = |k: MailKind| k.subject(42, "Démarche X");
        assert_eq!(
            s(MailKind::AccuseReception),
            "Votre dossier n° 42 a bien été déposé (Démarche X)"
        );
        assert_eq!(
            s(MailKind::PassageEnInstruction),
            "Votre dossier n° 42 va être examiné (Démarche X)"
        );
        assert_eq!(
            s(MailKind::Acceptation),
            "Votre dossier n° 42 a été accepté (Démarche X)"
        );
        assert_eq!(
            s(MailKind::Refus),
            "Votre dossier n° 42 a été refusé (Démarche X)"
        );
        assert_eq!(
            s(MailKind::ClassementSansSuite),
            "Votre dossier n° 42 a été classé sans suite (Démarche X)"
        );
        assert_eq!(
            s(MailKind::Reinstruction),
            "Votre dossier n° 42 est en train d'être réexaminé (Démarche X)"
        );
    }

    #[test]
    fn mail_bodies_common_parts() {
        let url = "https://demarches.example.fr/dossiers/42";
        for k in MailKind::ALL {
            let body = k.body(42, "Aide au vélo", Some("Un motif"), url);
            assert!(body.starts_with("Bonjour,\n\n"), "{k:?}");
            assert!(body.contains("n° 42"), "{k:?}");
            assert!(body.contains("« Aide au vélo »"), "{k:?}");
            assert!(body.contains(url), "{k:?}");
            assert!(
                body.contains("Bonne journée,\n\nL'équipe demarches"),
                "{k:?}"
            );
        }
    }

    #[test]
    fn mail_bodies_motivation() {
        let url = "https://x/d/7";
        for k in [
            MailKind::Acceptation,
            MailKind::Refus,
            MailKind::ClassementSansSuite,
        ] {
            let with = k.body(7, "D", Some("  Pièces conformes.  "), url);
            assert!(with.contains("\nPièces conformes.\n"), "{k:?}: {with}");
            let without = k.body(7, "D", None, url);
            assert!(!without.contains("Motif"), "{k:?}");
            assert!(!without.contains("Motivation"), "{k:?}");
            assert_eq!(k.body(7, "D", Some("   "), url), without);
        }
        for k in [
            MailKind::AccuseReception,
            MailKind::PassageEnInstruction,
            MailKind::Reinstruction,
        ] {
            let body = k.body(7, "D", Some("secret interne"), url);
            assert!(!body.contains("secret interne"), "{k:?}");
        }
        let refus = MailKind::Refus.body(7, "D", Some("Hors délai."), url);
        assert!(refus.contains("a été refusé."));
        assert!(refus.contains("Motif du refus :\nHors délai.\n"));
    }

    #[test]
    fn mail_body_exact_accuse_reception() {
        let body = MailKind::AccuseReception.body(42, "Démarche X", None, "https://x/42");
        assert_eq!(
            body,
            "Bonjour,\n\n\
             Votre administration vous confirme la bonne réception de votre dossier n° 42 \
             pour la démarche « Démarche X ».\n\n\
             À tout moment, vous pouvez consulter votre dossier et les éventuels messages \
             de l'administration à cette adresse :\nhttps://x/42\n\n\
             Bonne journée,\n\nL'équipe demarches\n\n\
             —\nMerci de ne pas répondre à cet e-mail. Posez vos questions directement \
             dans la messagerie de votre dossier.\n"
        );
    }

    #[test]
    fn mail_kind_names() {
        let names: Vec<&str> = MailKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "initiated",
                "received",
                "closed",
                "refused",
                "without_continuation",
                "re_instructed"
            ]
        );
        for k in MailKind::ALL {
            assert_eq!(k.as_str().parse::<MailKind>(), Ok(k));
            let json = serde_json::to_string(&k).ok();
            assert_eq!(json, Some(format!("\"{}\"", k.as_str())));
            assert!(!k.libelle().is_empty());
        }
        assert!("closed_mail".parse::<MailKind>().is_err());
    }
}
