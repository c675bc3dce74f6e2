//! Publishing a démarche (FEATURES §3.1 `publish`): what is missing first, then, in the
//! caller's transaction, the draft revision becomes the published one and a fresh draft
//! copies it; publishing again starts moving the brouillons and dossiers en construction
//! to the new revision (`rebase_dossiers` job).

use demarches_actors::domain::validate_path;
use sqlx::PgConnection;

use super::paths::{self, PATH_TAKEN};
use super::{EditError, ProcedureState, lock_procedure};

/// Something to do before a démarche can be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingStep {
    /// The form has no champ to fill (only sections and explications, or nothing).
    Champ,
    /// No instructeur will receive the dossiers.
    Instructeur,
}

impl MissingStep {
    /// The form field / page anchor it concerns.
    pub fn field(self) -> &'static str {
        match self {
            MissingStep::Champ => "champs",
            MissingStep::Instructeur => "instructeurs",
        }
    }

    /// Why publication is refused (French).
    pub fn message(self) -> &'static str {
        match self {
            MissingStep::Champ => {
                "Ajoutez au moins un champ à remplir au formulaire avant de publier la démarche."
            }
            MissingStep::Instructeur => {
                "Affectez au moins un instructeur à la démarche avant de la publier."
            }
        }
    }

    /// The checklist line (French).
    pub fn todo(self) -> &'static str {
        match self {
            MissingStep::Champ => "Ajouter au moins un champ à remplir au formulaire",
            MissingStep::Instructeur => "Affecter au moins un instructeur",
        }
    }
}

/// What still prevents publishing the démarche, in checklist order.
pub async fn missing_steps(
    conn: &mut PgConnection,
    procedure_id: i64,
) -> Result<Vec<MissingStep>, sqlx::Error> {
    let (has_champ, has_instructeur): (bool, bool) = sqlx::query_as(
        "select
           exists (select 1 from types_de_champ t
                   where t.revision_id = p.draft_revision_id and t.private = false
                     and t.type_champ not in ('header_section', 'explication')),
           exists (select 1 from assign_tos a
                   join groupes_instructeurs g on g.id = a.groupe_instructeur_id
                   where g.procedure_id = p.id)
         from procedures p where p.id = $1",
    )
    .bind(procedure_id)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or((false, false));
    let mut missing = Vec::new();
    if !has_champ {
        missing.push(MissingStep::Champ);
    }
    if !has_instructeur {
        missing.push(MissingStep::Instructeur);
    }
    Ok(missing)
}

/// Why a démarche was not published. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Steps to do first and/or a refused link; every reason, so the page shows them all.
    #[error("publication refused: {missing:?} {path:?}")]
    Refused {
        missing: Vec<MissingStep>,
        /// Why the link is refused (French), if it is.
        path: Option<String>,
    },
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<EditError> for PublishError {
    fn from(err: EditError) -> Self {
        match err {
            EditError::Database(e) => PublishError::Database(e),
            EditError::NotFound => PublishError::NotFound,
            EditError::Invalid(errors) => PublishError::Refused {
                missing: Vec::new(),
                path: errors.into_iter().next().map(|e| e.message),
            },
            EditError::Refused(message) => PublishError::Refused {
                missing: Vec::new(),
                path: Some(message),
            },
        }
    }
}

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The former draft, now the published revision.
    pub published_revision_id: i64,
    /// The new draft revision, a copy of the published one.
    pub draft_revision_id: i64,
    /// Test dossiers deleted (first publication only): callers drop any cached state.
    pub deleted_test_dossiers: Vec<i64>,
}

/// Publishes the démarche on `/commencer/<path>`. On its first publication its test
/// dossiers (those on the draft revision) are deleted, as DS `reset!`; publishing again
/// (new form version, or reopening a closed démarche) keeps every dossier.
pub async fn publish(
    conn: &mut PgConnection,
    procedure_id: i64,
    path: &str,
) -> Result<Published, PublishError> {
    let path = path.trim().to_lowercase();
    let procedure = lock_procedure(conn, procedure_id).await?;
    let missing = missing_steps(conn, procedure_id).await?;
    let path_error = match validate_path(&path) {
        Err(message) => Some(message),
        Ok(()) => {
            paths::lock_paths(conn).await?;
            paths::is_taken(conn, &path, Some(procedure_id))
                .await?
                .then(|| PATH_TAKEN.to_owned())
        }
    };
    if !missing.is_empty() || path_error.is_some() {
        return Err(PublishError::Refused {
            missing,
            path: path_error,
        });
    }
    let draft = procedure.draft_revision_id;
    let deleted_test_dossiers: Vec<i64> = if procedure.state == ProcedureState::Brouillon {
        sqlx::query_scalar(
            "delete from dossiers where procedure_id = $1 and revision_id = $2 returning id",
        )
        .bind(procedure_id)
        .bind(draft)
        .fetch_all(&mut *conn)
        .await?
    } else {
        Vec::new()
    };
    sqlx::query("update procedure_revisions set published_at = now() where id = $1")
        .bind(draft)
        .execute(&mut *conn)
        .await?;
    let new_draft: i64 = sqlx::query_scalar(
        "insert into procedure_revisions (procedure_id) values ($1) returning id",
    )
    .bind(procedure_id)
    .fetch_one(&mut *conn)
    .await?;
    super::revisions::copy_champs(conn, draft, new_draft).await?;
    sqlx::query(
        "update procedures set published_revision_id = $2, draft_revision_id = $3,
           state = 'publiee', path = $4, published_at = now(), closed_at = null,
           updated_at = now()
         where id = $1",
    )
    .bind(procedure_id)
    .bind(draft)
    .bind(new_draft)
    .bind(&path)
    .execute(&mut *conn)
    .await?;
    if procedure.state != ProcedureState::Brouillon {
        // Brouillons and dossiers en construction move to the new form in the background.
        super::revisions::enqueue_rebase(conn, procedure_id).await?;
    }
    Ok(Published {
        published_revision_id: draft,
        draft_revision_id: new_draft,
        deleted_test_dossiers,
    })
}
