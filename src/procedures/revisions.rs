//! Revisions of a published démarche (FEATURES §4.7): what the draft changes against the
//! published form (« Modifications »), discarding those changes, the impact of publishing
//! them on the dossiers, and the type changes refused because dossiers would lose values.
//! The dossiers move to a new revision in the `rebase_dossiers` job
//! (`demarches_actors::store::rebase`).

use demarches_actors::domain::TypeChamp;
use demarches_actors::domain::revision_change::{self, Change, ValueRule, keeps_value};
use demarches_actors::store::rebase::{self, JOB_REBASE};
use demarches_actors::store::revision::versions;
use serde_json::json;
use sqlx::PgConnection;

use super::{EditError, FieldError, lock_procedure};

/// The published and draft revisions of a démarche (no published one before its first
/// publication).
async fn revisions(
    conn: &mut PgConnection,
    procedure_id: i64,
) -> Result<Option<(Option<i64>, i64)>, sqlx::Error> {
    let row: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
        "select published_revision_id, draft_revision_id from procedures where id = $1",
    )
    .bind(procedure_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.and_then(|(published, draft)| Some((published, draft?))))
}

/// What the draft changes against the published revision (empty before the first
/// publication, and when the draft is the published form).
pub async fn draft_changes(
    conn: &mut PgConnection,
    procedure_id: i64,
) -> Result<Vec<Change>, sqlx::Error> {
    let Some((Some(published), draft)) = revisions(conn, procedure_id).await? else {
        return Ok(Vec::new());
    };
    let before = versions(&mut *conn, published).await?;
    let after = versions(&mut *conn, draft).await?;
    Ok(revision_change::compare(&before, &after))
}

/// Copies every champ definition of revision `from` into the (empty) revision `to`.
pub(crate) async fn copy_champs(
    conn: &mut PgConnection,
    from: i64,
    to: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into types_de_champ (revision_id, stable_id, parent_stable_id, position, private,
           type_champ, libelle, description, mandatory, options, condition)
         select $2, stable_id, parent_stable_id, position, private,
                type_champ, libelle, description, mandatory, options, condition
         from types_de_champ where revision_id = $1
         order by id",
    )
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(())
}

pub const NOTHING_TO_RESET: &str =
    "Le formulaire n’a pas de modification à annuler : il est identique au formulaire publié.";

/// « Annuler les modifications »: the draft becomes a copy of the published form again.
pub async fn reset_draft(conn: &mut PgConnection, procedure_id: i64) -> Result<(), EditError> {
    let draft = lock_procedure(conn, procedure_id).await?.draft_revision_id;
    let Some((Some(published), _)) = revisions(conn, procedure_id).await? else {
        return Err(EditError::Refused(NOTHING_TO_RESET.to_owned()));
    };
    sqlx::query("delete from types_de_champ where revision_id = $1")
        .bind(draft)
        .execute(&mut *conn)
        .await?;
    copy_champs(conn, published, draft).await?;
    Ok(())
}

/// Starts moving the brouillons and dossiers en construction to the published revision
/// (in the caller's transaction: the job exists once the publication commits).
pub(crate) async fn enqueue_rebase(
    conn: &mut PgConnection,
    procedure_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into jobs (kind, payload) values ($1, $2)")
        .bind(JOB_REBASE)
        .bind(json!({ "procedure_id": procedure_id }))
        .execute(conn)
        .await?;
    Ok(())
}

/// A champ whose values some dossiers will lose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    pub libelle: String,
    /// Why (French): removed champ, type change, options removed.
    pub reason: &'static str,
    /// Dossiers (brouillons and en construction) with a value that will be dropped.
    pub dossiers: i64,
}

/// What publishing the draft does to the dossiers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Impact {
    pub brouillons: i64,
    pub en_construction: i64,
    /// En instruction, accepted, refused, classés sans suite: they keep their form.
    pub kept: i64,
    pub losses: Vec<Loss>,
}

impl Impact {
    /// The lines of the impact screen (French).
    pub fn lines(&self) -> Vec<String> {
        let moves = |n: i64| if n > 1 { "passeront" } else { "passera" };
        vec![
            format!(
                "{} {} sur le nouveau formulaire.",
                count_fr(self.brouillons, "brouillon", "brouillons"),
                moves(self.brouillons)
            ),
            format!(
                "{} {} sur le nouveau formulaire.",
                count_fr(
                    self.en_construction,
                    "dossier en construction",
                    "dossiers en construction"
                ),
                moves(self.en_construction)
            ),
            if self.kept > 1 {
                format!(
                    "{} dossiers en instruction ou terminés gardent le formulaire sur lequel ils ont été déposés.",
                    self.kept
                )
            } else {
                format!(
                    "{} dossier en instruction ou terminé garde le formulaire sur lequel il a été déposé.",
                    self.kept
                )
            },
        ]
    }
}

impl Loss {
    /// The line of the impact screen (French).
    pub fn line(&self) -> String {
        format!(
            "« {} » ({}) : les réponses de {} seront supprimées.",
            self.libelle,
            self.reason,
            count_fr(self.dossiers, "dossier", "dossiers")
        )
    }
}

/// "1 dossier", "0 dossier", "12 dossiers" (French: plural from 2).
fn count_fr(n: i64, singular: &str, plural: &str) -> String {
    if n > 1 {
        format!("{n} {plural}")
    } else {
        format!("{n} {singular}")
    }
}

/// Counts, in SQL, the dossiers that will move and the values they will lose (per the
/// rules of the changes from the published revision).
pub async fn impact(
    conn: &mut PgConnection,
    procedure_id: i64,
    changes: &[Change],
) -> Result<Impact, sqlx::Error> {
    let (brouillons, en_construction, kept): (i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where state = 'brouillon'),
                count(*) filter (where state = 'en_construction'),
                count(*) filter (where state not in ('brouillon', 'en_construction'))
         from dossiers where procedure_id = $1",
    )
    .bind(procedure_id)
    .fetch_one(&mut *conn)
    .await?;
    let rules: Vec<(&Change, ValueRule)> = changes
        .iter()
        .map(|c| (c, c.value_rule()))
        .filter(|(_, rule)| rule.loses_values())
        .collect();
    let by_id: Vec<(i64, ValueRule)> = rules
        .iter()
        .map(|(c, r)| (c.stable_id(), r.clone()))
        .collect();
    let counts = rebase::losses(&mut *conn, procedure_id, &by_id).await?;
    let losses = rules
        .iter()
        .map(|(change, rule)| Loss {
            libelle: change.champ().libelle.clone(),
            reason: match (change, rule) {
                (Change::Removed(_), _) => "champ supprimé",
                (_, ValueRule::Drop) => "type incompatible",
                _ => "options retirées de la liste",
            },
            dossiers: counts
                .iter()
                .find(|(id, _)| *id == change.stable_id())
                .map_or(0, |(_, n)| *n),
        })
        .collect();
    Ok(Impact {
        brouillons,
        en_construction,
        kept,
        losses,
    })
}

/// Refuses changing champ `stable_id` to `to` when brouillons or dossiers en construction
/// that will move hold values of a type `to` cannot keep ([`keeps_value`]).
pub async fn check_type_change(
    conn: &mut PgConnection,
    procedure_id: i64,
    draft: i64,
    stable_id: i64,
    to: TypeChamp,
) -> Result<(), EditError> {
    let held: Vec<(String, i64)> = sqlx::query_as(
        "select t.type_champ, count(distinct d.id)
         from champs c
         join dossiers d on d.id = c.dossier_id
         join types_de_champ t on t.revision_id = d.revision_id and t.stable_id = c.stable_id
         where d.procedure_id = $1 and d.revision_id <> $2
           and d.state in ('brouillon', 'en_construction')
           and c.stable_id = $3 and c.value is not null
         group by t.type_champ",
    )
    .bind(procedure_id)
    .bind(draft)
    .bind(stable_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut lost = 0;
    let mut from = None;
    for (type_champ, count) in held {
        if let Ok(t) = type_champ.parse::<TypeChamp>()
            && !keeps_value(t, to)
        {
            lost += count;
            from = Some(t);
        }
    }
    match from {
        None => Ok(()),
        Some(from) => Err(EditError::Invalid(vec![FieldError::new(
            "type_champ",
            incompatible_type_message(from, to, lost),
        )])),
    }
}

/// Why a type change is refused (French).
pub fn incompatible_type_message(from: TypeChamp, to: TypeChamp, dossiers: i64) -> String {
    let dossiers = if dossiers == 1 {
        "1 dossier en cours contient".to_owned()
    } else {
        format!("{dossiers} dossiers en cours contiennent")
    };
    format!(
        "Impossible de changer le type « {} » en « {} » : {dossiers} une réponse à ce champ, qui ne serait pas valide avec le nouveau type. Gardez le type actuel, ou ajoutez un nouveau champ.",
        from.libelle(),
        to.libelle()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_lines_are_french() {
        let impact = Impact {
            brouillons: 1,
            en_construction: 2,
            kept: 0,
            losses: vec![Loss {
                libelle: "Budget".into(),
                reason: "champ supprimé",
                dossiers: 3,
            }],
        };
        assert_eq!(
            impact.lines(),
            vec![
                "1 brouillon passera sur le nouveau formulaire.",
                "2 dossiers en construction passeront sur le nouveau formulaire.",
                "0 dossier en instruction ou terminé garde le formulaire sur lequel il a été déposé.",
            ]
        );
        assert_eq!(
            impact.losses[0].line(),
            "« Budget » (champ supprimé) : les réponses de 3 dossiers seront supprimées."
        );
    }

    #[test]
    fn refusal_message_counts_dossiers() {
        assert_eq!(
            incompatible_type_message(TypeChamp::Text, TypeChamp::IntegerNumber, 1),
            "Impossible de changer le type « Texte court » en « Nombre entier » : 1 dossier en cours contient une réponse à ce champ, qui ne serait pas valide avec le nouveau type. Gardez le type actuel, ou ajoutez un nouveau champ."
        );
        assert!(
            incompatible_type_message(TypeChamp::Text, TypeChamp::Date, 3)
                .contains(": 3 dossiers en cours contiennent une réponse")
        );
    }
}
