//! Read model of the files attached to a dossier's champs.

use std::collections::HashMap;

use demarches_actors::store::attachment::RECORD_CHAMP;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: Uuid,
    pub record_key: String,
    pub filename: String,
    pub byte_size: i64,
    pub virus_scan: String,
    /// A titre d'identité's file deleted after the decision (`purged_at` set).
    pub purged: bool,
}

/// The files of a dossier's champs, by stable id, oldest first.
pub async fn by_champ(
    db: &PgPool,
    dossier_id: i64,
) -> Result<HashMap<i64, Vec<AttachmentRow>>, sqlx::Error> {
    let rows: Vec<AttachmentRow> = sqlx::query_as(
        "select id, record_key, filename, byte_size, virus_scan,
                purged_at is not null as purged
         from attachments
         where dossier_id = $1 and record_kind = $2
         order by created_at, id",
    )
    .bind(dossier_id)
    .bind(RECORD_CHAMP)
    .fetch_all(db)
    .await?;
    let mut out: HashMap<i64, Vec<AttachmentRow>> = HashMap::new();
    for row in rows {
        if let Ok(stable_id) = row.record_key.parse::<i64>() {
            out.entry(stable_id).or_default().push(row);
        }
    }
    Ok(out)
}

/// What serving a file needs, with who may see its dossier.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Download {
    pub filename: String,
    pub content_type: String,
    pub storage_key: String,
    pub virus_scan: String,
    /// Deleted from storage after the decision (titre d'identité).
    pub purged: bool,
    pub owner_id: i64,
    pub state: String,
    /// The reader is an instructeur of the dossier's groupe.
    pub instructeur: bool,
}

pub async fn download(
    db: &PgPool,
    id: Uuid,
    reader_id: i64,
) -> Result<Option<Download>, sqlx::Error> {
    sqlx::query_as(
        "select a.filename, a.content_type, a.storage_key, a.virus_scan,
                a.purged_at is not null as purged, d.user_id as owner_id, d.state::text as state,
                exists (select 1 from assign_tos t
                        where t.groupe_instructeur_id = d.groupe_instructeur_id
                          and t.instructeur_id = $2) as instructeur
         from attachments a join dossiers d on d.id = a.dossier_id
         where a.id = $1",
    )
    .bind(id)
    .bind(reader_id)
    .fetch_optional(db)
    .await
}

/// Storage key and champ of a dossier's file.
pub async fn of_dossier(
    db: &PgPool,
    dossier_id: i64,
    id: Uuid,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select storage_key, record_key from attachments where id = $1 and dossier_id = $2",
    )
    .bind(id)
    .bind(dossier_id)
    .fetch_optional(db)
    .await
}
