//! What a DossierActor accepts and answers.

use std::collections::HashMap;
use std::fmt;

use actix::Message;

use crate::domain::{Etat, Transition, TransitionError};
use uuid::Uuid;

use crate::store::attachment::NewAttachment;
use crate::store::dossier::Author;

/// One command on one dossier, from one author.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<ActOutcome, ActError>")]
pub struct Act {
    pub author: Author,
    /// The version the author saw; `None` applies to the latest version (usager saves).
    pub expected_version: Option<i32>,
    pub command: Command,
}

#[derive(Debug, Clone)]
pub enum Command {
    /// The usager saves the form (`submit` = "Déposer le dossier" or "Déposer les modifications").
    Save(SaveForm),
    /// An instructeur moves the dossier through instruction.
    Instruct {
        transition: Transition,
        motivation: Option<String>,
    },
    /// An instructeur (or administrateur) writes annotations privées: raw values by stable
    /// id, as typed; an annotation left out is unchanged.
    Annotate { champs: HashMap<i64, String> },
    /// The usager attached a file, already stored, to a pièce justificative champ.
    AttachPiece {
        stable_id: i64,
        attachment: NewAttachment,
        /// At most this many files on the champ.
        max_files: usize,
    },
    /// The usager removed a file from a pièce justificative champ.
    DetachPiece { stable_id: i64, attachment_id: Uuid },
    /// The usager gives the SIRET of a personne morale's dossier (its first step).
    SetSiret(SiretInput),
}

/// The SIRET of a personne morale's dossier, as typed, with what the démarche's `siret`
/// connector gave for it (looked up by the caller before sending: see `src/external.rs`).
#[derive(Debug, Clone)]
pub struct SiretInput {
    pub siret: String,
    /// The look-up (`stable_id` = `None`); `None`: no connector to ask.
    pub record: Option<crate::domain::external::ExternalRecord>,
    /// With a pending record: the payload of the `fetch_external_data` job that retries,
    /// inserted with the write.
    pub job: Option<serde_json::Value>,
}

impl Command {
    /// The usager's own commands (the form, its files, the SIRET step): they apply to the
    /// form of the démarche's published revision, so a brouillon or dossier en
    /// construction still on an older one is rebased first
    /// (`store::rebase::rebase_dossier`).
    pub fn follows_published_revision(&self) -> bool {
        matches!(
            self,
            Command::Save(_)
                | Command::AttachPiece { .. }
                | Command::DetachPiece { .. }
                | Command::SetSiret(_)
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct SaveForm {
    pub individual: Option<IndividualInput>,
    /// Raw values by stable id, as typed.
    pub champs: HashMap<i64, String>,
    /// Raw values of the children of blocs répétables by (child stable id, row id), as typed.
    pub rows: HashMap<(i64, Uuid), String>,
    /// Add or remove a row, after the values typed are taken.
    pub row_action: Option<crate::domain::repetition::RowAction>,
    /// Every public champ was on the form: a missing one (an unchecked box) is blank.
    pub full_form: bool,
    pub submit: bool,
    /// A background save while typing (autosave): applies only to a brouillon, so one that
    /// arrives after the deposit never modifies the dossier en construction.
    pub brouillon_only: bool,
}

#[derive(Debug, Clone, Default)]
pub struct IndividualInput {
    pub civilite: String,
    pub nom: String,
    pub prenom: String,
}

/// Record what a look-up gave for a champ (the établissement of a SIRET), if the champ
/// still holds the identifier looked up. Through the actor so that it is serialized with
/// the dossier's other writes; no version: the form is unchanged. Answers whether it was
/// written. `job`: the payload of the retry job to queue with a pending record.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<bool, ActError>")]
pub struct RecordExternal {
    pub record: crate::domain::external::ExternalRecord,
    pub job: Option<serde_json::Value>,
}

/// Forget the cached state (another node changed the dossier).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct Forget;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub id: i64,
    pub procedure_id: i64,
    pub state: Etat,
    pub lock_version: i32,
    pub groupe_instructeur_id: Option<i64>,
}

/// A French message attached to a form field (`champ_<stable id>`, `nom`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct ActOutcome {
    pub snapshot: Snapshot,
    /// What happened ("creer", "modifier_brouillon", "passer_en_construction"…), or
    /// "aucun_changement" when nothing was written.
    pub change: String,
    /// Values that could not be saved in a brouillon, with their messages.
    pub warnings: Vec<FieldError>,
}

#[derive(Debug, Clone)]
pub enum ActError {
    NotFound,
    Forbidden,
    /// The dossier cannot be edited in its state.
    ReadOnly(Etat),
    /// The démarche no longer accepts deposits.
    Closed,
    Invalid {
        errors: Vec<FieldError>,
        snapshot: Snapshot,
    },
    Transition(TransitionError),
    /// Someone else changed the dossier since the author loaded it.
    Conflict(Snapshot),
    Internal(String),
}

pub const CONFLICT_MESSAGE: &str = "Le dossier a été modifié entre-temps. Voici son état actuel : vérifiez-le avant de recommencer.";

impl fmt::Display for ActError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActError::NotFound => f.write_str("Ce dossier n’existe pas."),
            ActError::Forbidden => f.write_str("Vous n’avez pas accès à ce dossier."),
            ActError::ReadOnly(etat) => write!(
                f,
                "Ce dossier est « {} » : il ne peut plus être modifié.",
                etat.libelle()
            ),
            ActError::Closed => {
                f.write_str("Cette démarche est close : le dossier ne peut plus être déposé.")
            }
            ActError::Invalid { errors, .. } => match errors.len() {
                1 => f.write_str("Le dossier contient une erreur à corriger."),
                n => write!(f, "Le dossier contient {n} erreurs à corriger."),
            },
            ActError::Transition(err) => write!(f, "{err}"),
            ActError::Conflict(_) => f.write_str(CONFLICT_MESSAGE),
            ActError::Internal(_) => {
                f.write_str("Une erreur inattendue s’est produite. Réessayez dans un instant.")
            }
        }
    }
}

impl std::error::Error for ActError {}
