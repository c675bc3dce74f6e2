//! Démarches as administrateurs build them (FEATURES §3): creation, the form builder on
//! the draft revision, the instructeurs of the default groupe, publication and closing.
//!
//! Every function that writes takes a connection — usually a transaction — so the web
//! handlers and the `demo` command share the same rules. Messages meant for the
//! administrateur are French; field names match the HTML form fields.

pub mod annotations;
pub mod closing;
pub mod conditions;
pub mod config_schema;
pub mod connectors;
pub mod creation;
pub mod form_builder;
pub mod instructeurs;
pub mod paths;
pub mod publication;
pub mod revisions;
pub mod store;

pub use closing::close;
pub use creation::{NewProcedure, ProcedureInput, create_procedure, update_description};
pub use form_builder::{
    ChampInput, Direction, NewChamp, add_champ, delete_champ, move_champ, update_champ,
};
pub use instructeurs::{invite_instructeur, remove_instructeur};
pub use publication::{MissingStep, PublishError, Published, missing_steps, publish};
pub use store::{Procedure, ProcedureState};

/// What is wrong with one field of an administrateur form (French message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Why an edit of a démarche was not made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// Some fields are invalid; nothing was written.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<FieldError>),
    /// A rule of the démarche refuses the change (French message for the administrateur).
    #[error("refused: {0}")]
    Refused(String),
    /// The démarche, champ or instructeur does not exist (or not in this démarche).
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl EditError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        EditError::Invalid(vec![FieldError::new(field, message)])
    }
}

/// Locks the démarche row for the rest of the transaction (edits of one démarche are
/// serialized) and returns its draft revision.
pub(crate) async fn lock_procedure(
    conn: &mut sqlx::PgConnection,
    procedure_id: i64,
) -> Result<LockedProcedure, EditError> {
    let row: Option<(Option<i64>, String, String, Option<i64>)> = sqlx::query_as(
        "select draft_revision_id, state::text, libelle, defaut_groupe_instructeur_id
         from procedures where id = $1 for update",
    )
    .bind(procedure_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (draft, state, libelle, groupe) = row.ok_or(EditError::NotFound)?;
    Ok(LockedProcedure {
        draft_revision_id: draft.ok_or(EditError::NotFound)?,
        state: ProcedureState::parse(&state),
        libelle,
        defaut_groupe_id: groupe,
    })
}

pub(crate) struct LockedProcedure {
    pub draft_revision_id: i64,
    pub state: ProcedureState,
    pub libelle: String,
    pub defaut_groupe_id: Option<i64>,
}
