//! Creating a démarche and editing its description (FEATURES §3.1 "create").

use serde::Deserialize;
use sqlx::PgConnection;

use super::{EditError, FieldError, lock_procedure, paths};

/// Label of the groupe every démarche starts with (DS).
pub const DEFAUT_GROUPE_LABEL: &str = "défaut";

const LIBELLE_MAX: usize = 200;

/// A démarche to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProcedure {
    pub libelle: String,
    pub description: String,
    /// Name of the organisation or service in charge.
    pub organisation: String,
    /// "Particuliers" (true) or "Personnes morales" (false).
    pub for_individual: bool,
    /// The link; `None` makes one from the libellé.
    pub path: Option<String>,
}

/// The description form as typed (also the creation form, which adds public and link).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProcedureInput {
    pub libelle: String,
    pub description: String,
    pub organisation: String,
    /// "particuliers" or "personnes_morales".
    pub public: String,
    pub path: String,
}

impl ProcedureInput {
    pub fn for_individual(&self) -> bool {
        self.public != "personnes_morales"
    }

    /// Checks the typed values; on success gives the démarche to create.
    pub fn parse(&self) -> Result<NewProcedure, Vec<FieldError>> {
        let mut errors = check_description(&self.libelle, &self.description);
        let path = self.path.trim().to_lowercase();
        if !path.is_empty()
            && let Err(message) = demarches_actors::domain::validate_path(&path)
        {
            errors.push(FieldError::new("path", message));
        }
        if !matches!(
            self.public.as_str(),
            "" | "particuliers" | "personnes_morales"
        ) {
            errors.push(FieldError::new(
                "public",
                "Choisissez à qui s’adresse la démarche.",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewProcedure {
            libelle: self.libelle.trim().to_owned(),
            description: normalize_text(&self.description),
            organisation: self.organisation.trim().to_owned(),
            for_individual: self.for_individual(),
            path: (!path.is_empty()).then_some(path),
        })
    }
}

fn check_description(libelle: &str, description: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let libelle = libelle.trim();
    if libelle.is_empty() {
        errors.push(FieldError::new(
            "libelle",
            "Saisissez le titre de la démarche.",
        ));
    } else if libelle.chars().count() > LIBELLE_MAX {
        errors.push(FieldError::new(
            "libelle",
            format!("Le titre de la démarche ne doit pas dépasser {LIBELLE_MAX} caractères."),
        ));
    }
    if description.trim().is_empty() {
        errors.push(FieldError::new(
            "description",
            "Saisissez la description de la démarche.",
        ));
    }
    errors
}

fn normalize_text(text: &str) -> String {
    text.replace("\r\n", "\n").trim().to_owned()
}

/// Creates a démarche en test: its draft revision, its default groupe "défaut", its
/// creator as administrateur and as instructeur of that groupe (as DS). Returns its id.
pub async fn create_procedure(
    conn: &mut PgConnection,
    admin_user_id: i64,
    new: NewProcedure,
) -> Result<i64, EditError> {
    let errors = check_description(&new.libelle, &new.description);
    if !errors.is_empty() {
        return Err(EditError::Invalid(errors));
    }
    paths::lock_paths(conn).await?;
    let path = match &new.path {
        Some(path) => {
            paths::check_chosen(conn, path, None).await?;
            path.clone()
        }
        None => paths::default_for(conn, &new.libelle).await?,
    };
    let procedure_id: i64 = sqlx::query_scalar(
        "insert into procedures (libelle, description, organisation, for_individual, path)
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(new.libelle.trim())
    .bind(normalize_text(&new.description))
    .bind(new.organisation.trim())
    .bind(new.for_individual)
    .bind(&path)
    .fetch_one(&mut *conn)
    .await?;
    let revision_id: i64 = sqlx::query_scalar(
        "insert into procedure_revisions (procedure_id) values ($1) returning id",
    )
    .bind(procedure_id)
    .fetch_one(&mut *conn)
    .await?;
    let groupe_id: i64 = sqlx::query_scalar(
        "insert into groupes_instructeurs (procedure_id, label) values ($1, $2) returning id",
    )
    .bind(procedure_id)
    .bind(DEFAUT_GROUPE_LABEL)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "update procedures set draft_revision_id = $2, defaut_groupe_instructeur_id = $3
         where id = $1",
    )
    .bind(procedure_id)
    .bind(revision_id)
    .bind(groupe_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("insert into procedure_administrateurs (procedure_id, user_id) values ($1, $2)")
        .bind(procedure_id)
        .bind(admin_user_id)
        .execute(&mut *conn)
        .await?;
    // DS: the creator instructs the démarche's dossiers.
    sqlx::query("update users set is_instructeur = true, updated_at = now() where id = $1")
        .bind(admin_user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into assign_tos (groupe_instructeur_id, instructeur_id) values ($1, $2)
         on conflict do nothing",
    )
    .bind(groupe_id)
    .bind(admin_user_id)
    .execute(&mut *conn)
    .await?;
    Ok(procedure_id)
}

/// Changes the libellé, description and organisation of a démarche.
pub async fn update_description(
    conn: &mut PgConnection,
    procedure_id: i64,
    input: &ProcedureInput,
) -> Result<(), EditError> {
    let errors = check_description(&input.libelle, &input.description);
    if !errors.is_empty() {
        return Err(EditError::Invalid(errors));
    }
    lock_procedure(conn, procedure_id).await?;
    sqlx::query(
        "update procedures set libelle = $2, description = $3, organisation = $4,
           updated_at = now() where id = $1",
    )
    .bind(procedure_id)
    .bind(input.libelle.trim())
    .bind(normalize_text(&input.description))
    .bind(input.organisation.trim())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_requires_libelle_and_description() {
        let input = ProcedureInput {
            description: "Une description".into(),
            ..Default::default()
        };
        let errors = input.parse().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "libelle");
    }

    #[test]
    fn parse_reads_public_and_path() {
        let input = ProcedureInput {
            libelle: " Aide ".into(),
            description: "D".into(),
            public: "personnes_morales".into(),
            path: " Aide-2024 ".into(),
            ..Default::default()
        };
        let new = input.parse().unwrap();
        assert_eq!(new.libelle, "Aide");
        assert!(!new.for_individual);
        assert_eq!(new.path.as_deref(), Some("aide-2024"));
        let bad = ProcedureInput {
            path: "a b".into(),
            ..input
        };
        assert_eq!(bad.parse().unwrap_err()[0].field, "path");
    }
}
