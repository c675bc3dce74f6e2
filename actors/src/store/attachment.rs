//! Attachment rows and background jobs written with a dossier command (same transaction).

use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// `attachments.record_kind` of a file attached to a champ (`record_key` = stable id).
pub const RECORD_CHAMP: &str = "champ";
/// `jobs.kind` of an antivirus scan (`payload` = `{"attachment_id": …}`).
pub const JOB_VIRUS_SCAN: &str = "virus_scan";
/// `jobs.kind` of the deletion of a decided dossier's titres d'identité (`payload` =
/// `{"dossier_id": …, "attachment_ids": […]}`).
pub const JOB_PURGE_TITRES: &str = "purge_titres_identite";
/// `jobs.kind` of the deletion of stored files whose rows are gone (`payload` =
/// `{"storage_keys": […]}`), e.g. the files of a champ a new revision removed.
pub const JOB_DELETE_FILES: &str = "delete_files";

/// A file already stored, to record with the command that attaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub id: Uuid,
    pub filename: String,
    /// The sniffed content type.
    pub content_type: String,
    pub byte_size: i64,
    /// SHA-256, hex.
    pub checksum: String,
    pub storage_key: String,
}

/// A background job to insert with a write.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub kind: String,
    pub payload: Value,
}

impl Job {
    pub fn virus_scan(attachment_id: Uuid) -> Self {
        Job {
            kind: JOB_VIRUS_SCAN.to_owned(),
            payload: serde_json::json!({ "attachment_id": attachment_id }),
        }
    }

    /// Deletes the files of these titres d'identité and marks them purged; queued by the
    /// decision that makes them useless.
    pub fn purge_titres(dossier_id: i64, attachment_ids: &[String]) -> Self {
        Job {
            kind: JOB_PURGE_TITRES.to_owned(),
            payload: serde_json::json!({
                "dossier_id": dossier_id,
                "attachment_ids": attachment_ids,
            }),
        }
    }
}

pub(crate) async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    dossier_id: i64,
    stable_id: i64,
    attachment: &NewAttachment,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into attachments (id, dossier_id, record_kind, record_key, filename,
           content_type, byte_size, checksum, storage_key)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(attachment.id)
    .bind(dossier_id)
    .bind(RECORD_CHAMP)
    .bind(stable_id.to_string())
    .bind(&attachment.filename)
    .bind(&attachment.content_type)
    .bind(attachment.byte_size)
    .bind(&attachment.checksum)
    .bind(&attachment.storage_key)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn delete(
    tx: &mut Transaction<'_, Postgres>,
    dossier_id: i64,
    ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from attachments where dossier_id = $1 and id = any($2)")
        .bind(dossier_id)
        .bind(ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(crate) async fn insert_job(
    tx: &mut Transaction<'_, Postgres>,
    job: &Job,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into jobs (kind, payload) values ($1, $2)")
        .bind(&job.kind)
        .bind(&job.payload)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Ids (as text) of this dossier's files that must not count: infected or corrupt.
pub async fn unusable(db: &sqlx::PgPool, dossier_id: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select id::text from attachments
         where dossier_id = $1 and virus_scan in ('infected', 'integrity_error')",
    )
    .bind(dossier_id)
    .fetch_all(db)
    .await
}
