//! Annotations privées of the draft revision (FEATURES §5): champs only instructeurs see
//! and fill on the dossier page, stored in `types_de_champ` with `private = true`. Same
//! rules as the form's champs (`form_builder::check`), for the types of [`TYPES`]; added at
//! the end, removed.

use demarches_actors::domain::TypeChamp;
use sqlx::PgConnection;

use super::form_builder::{DraftChamp, NewChamp, check, options_json};
use super::{EditError, lock_procedure};

/// The types an annotation may have: those the instructeur fills with a single control on the
/// dossier page (files and champs of several controls stay on the usager's form).
pub const TYPES: [TypeChamp; 20] = [
    TypeChamp::Text,
    TypeChamp::Textarea,
    TypeChamp::IntegerNumber,
    TypeChamp::DecimalNumber,
    TypeChamp::Date,
    TypeChamp::Datetime,
    TypeChamp::Checkbox,
    TypeChamp::YesNo,
    TypeChamp::DropDownList,
    TypeChamp::Email,
    TypeChamp::Phone,
    TypeChamp::Address,
    TypeChamp::Siret,
    TypeChamp::Rna,
    TypeChamp::Iban,
    TypeChamp::Formatted,
    TypeChamp::DossierLink,
    TypeChamp::Engagement,
    TypeChamp::HeaderSection,
    TypeChamp::Explication,
];

/// The annotations of the draft revision, in order.
pub async fn list_draft(
    conn: &mut PgConnection,
    procedure_id: i64,
) -> Result<Vec<DraftChamp>, sqlx::Error> {
    let rows: Vec<(i64, i32, String, String, String, bool, serde_json::Value)> = sqlx::query_as(
        "select t.stable_id, t.position, t.type_champ, t.libelle, t.description, t.mandatory,
                t.options
         from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and t.private and t.parent_stable_id is null
         order by t.position, t.id",
    )
    .bind(procedure_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(stable_id, position, type_champ, libelle, description, mandatory, options)| {
                Some(DraftChamp {
                    stable_id,
                    parent: None,
                    position,
                    type_champ: type_champ.parse().ok()?,
                    libelle,
                    description,
                    mandatory,
                    options: serde_json::from_value(options).unwrap_or_default(),
                })
            },
        )
        .collect())
}

/// Adds an annotation at the end; returns its stable id.
pub async fn add(
    conn: &mut PgConnection,
    procedure_id: i64,
    champ: NewChamp,
) -> Result<i64, EditError> {
    let mut errors = check(&champ);
    if !TYPES.contains(&champ.type_champ) {
        errors.insert(
            0,
            super::FieldError::new(
                "type_champ",
                format!(
                    "Le type « {} » n’est pas proposé pour une annotation privée.",
                    champ.type_champ.libelle()
                ),
            ),
        );
    }
    if !errors.is_empty() {
        return Err(EditError::Invalid(errors));
    }
    let draft = lock_procedure(conn, procedure_id).await?.draft_revision_id;
    let stable_id: i64 = sqlx::query_scalar(
        "insert into types_de_champ
           (revision_id, stable_id, position, private, type_champ, libelle, description,
            mandatory, options)
         select $1, nextval('types_de_champ_stable_id_seq'),
                coalesce((select max(position) + 1 from types_de_champ
                          where revision_id = $1 and private and parent_stable_id is null), 0),
                true, $2, $3, $4, $5, $6
         returning stable_id",
    )
    .bind(draft)
    .bind(champ.type_champ.as_str())
    .bind(champ.libelle.trim())
    .bind(champ.description.trim())
    .bind(champ.mandatory && champ.type_champ.has_value())
    .bind(options_json(champ.type_champ, &champ.options))
    .fetch_one(&mut *conn)
    .await?;
    Ok(stable_id)
}

/// Removes an annotation from the draft revision.
pub async fn delete(
    conn: &mut PgConnection,
    procedure_id: i64,
    stable_id: i64,
) -> Result<(), EditError> {
    let draft = lock_procedure(conn, procedure_id).await?.draft_revision_id;
    let deleted = sqlx::query(
        "delete from types_de_champ where revision_id = $1 and stable_id = $2 and private",
    )
    .bind(draft)
    .bind(stable_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(EditError::NotFound);
    }
    Ok(())
}
