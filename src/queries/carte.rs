//! Read model of the champ « carte »: its stored geometries with who may see the dossier.

use serde_json::Value;
use sqlx::PgPool;

/// A carte champ's stored value and what deciding who may download it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CarteValue {
    pub revision_id: i64,
    pub owner_id: i64,
    pub state: String,
    /// The reader is an instructeur of the dossier's groupe.
    pub instructeur: bool,
    /// The public champ's value (none when not filled).
    pub value: Option<Value>,
}

pub async fn value(
    db: &PgPool,
    dossier_id: i64,
    stable_id: i64,
    reader_id: i64,
) -> Result<Option<CarteValue>, sqlx::Error> {
    sqlx::query_as(
        "select d.revision_id, d.user_id as owner_id, d.state::text as state,
                exists (select 1 from assign_tos t
                        where t.groupe_instructeur_id = d.groupe_instructeur_id
                          and t.instructeur_id = $3) as instructeur,
                (select c.value from champs c
                 where c.dossier_id = d.id and c.stable_id = $2 and not c.private
                   and c.row_id = '00000000-0000-0000-0000-000000000000') as value
         from dossiers d
         where d.id = $1",
    )
    .bind(dossier_id)
    .bind(stable_id)
    .bind(reader_id)
    .fetch_optional(db)
    .await
}
