//! Background jobs (`jobs` table), next to the outbox dispatcher: claimed with
//! `FOR UPDATE SKIP LOCKED`, leased for 5 minutes, retried with backoff. Kinds today:
//! `virus_scan` (an attachment's checksum, then the antivirus), `rebase_dossiers` (the
//! brouillons and dossiers en construction of a démarche move to its new published
//! revision, in batches; see `demarches_actors::store::rebase`), `fetch_external_data`
//! (the établissement of a SIRET champ whose upstream did not answer, `external.rs`) and
//! `purge_titres_identite` (the files of a decided dossier's titres d'identité, queued by
//! the decision's commit) and `delete_files` (stored files whose rows a rebase removed with
//! their champ).

use std::time::Duration;

use demarches_actors::domain::external::JOB_FETCH_EXTERNAL_DATA;
use demarches_actors::store::attachment::{JOB_DELETE_FILES, JOB_PURGE_TITRES, JOB_VIRUS_SCAN};
use demarches_actors::store::rebase::{self, JOB_REBASE};
use demarches_actors::{Bus, EventKind};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::external::Fetcher;
use crate::storage::Storage;
use crate::storage::scan::{self, Verdict, VirusScanner};

const BATCH: i64 = 10;
const MAX_ATTEMPTS: i32 = 25;
/// Dossiers moved per transaction by a rebase.
const REBASE_BATCH: i64 = 500;
/// A rebase job stops after this long and leaves a new job for the rest, well within its
/// 5-minute lease.
const REBASE_BUDGET: Duration = Duration::from_secs(60);

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub done: usize,
    pub failed: usize,
}

/// Runs the jobs due now, once each. Without a `fetcher` (a worker without the connector
/// host), look-up jobs fail and back off.
pub async fn run_due(
    db: &PgPool,
    storage: &dyn Storage,
    scanner: &dyn VirusScanner,
    bus: Option<&Bus>,
    fetcher: Option<&Fetcher>,
) -> Result<Pass, sqlx::Error> {
    let claimed: Vec<(i64, String, Value, i32)> = sqlx::query_as(
        "with due as (
           select id from jobs
           where done_at is null and run_at <= now() and attempts < $2
           order by priority desc, run_at
           limit $1
           for update skip locked)
         update jobs j set run_at = now() + interval '5 minutes', attempts = j.attempts + 1
         from due where j.id = due.id
         returning j.id, j.kind, j.payload, j.attempts",
    )
    .bind(BATCH)
    .bind(MAX_ATTEMPTS)
    .fetch_all(db)
    .await?;
    let mut pass = Pass::default();
    for (id, kind, payload, attempts) in claimed {
        let result = match kind.as_str() {
            JOB_VIRUS_SCAN => virus_scan(db, storage, scanner, &payload).await,
            JOB_REBASE => rebase_dossiers(db, bus, &payload).await,
            JOB_PURGE_TITRES => purge_titres(db, storage, &payload).await,
            JOB_DELETE_FILES => delete_files(storage, &payload).await,
            JOB_FETCH_EXTERNAL_DATA => match fetcher {
                Some(f) => f.run_job(&payload).await,
                None => Err(anyhow::anyhow!("this worker has no connector host")),
            },
            other => Err(anyhow::anyhow!("unknown job kind {other}")),
        };
        match result {
            Ok(()) => {
                sqlx::query("update jobs set done_at = now(), last_error = null where id = $1")
                    .bind(id)
                    .execute(db)
                    .await?;
                pass.done += 1;
            }
            Err(err) => {
                tracing::warn!(job = id, kind, error = %err, "job failed");
                let backoff = backoff(attempts);
                sqlx::query(
                    "update jobs set last_error = $2,
                       run_at = now() + make_interval(secs => $3) where id = $1",
                )
                .bind(id)
                .bind(err.to_string())
                .bind(backoff.as_secs_f64())
                .execute(db)
                .await?;
                pass.failed += 1;
            }
        }
    }
    Ok(pass)
}

/// 10 s doubling up to 1 h.
fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    Duration::from_secs(10u64.saturating_mul(2u64.saturating_pow(exp)).min(3600))
}

/// Moves the démarche's brouillons and dossiers en construction to its published revision;
/// after each batch, the nodes forget the moved dossiers' cached state. Interrupted, the
/// retried job goes on with the dossiers not moved yet.
async fn rebase_dossiers(db: &PgPool, bus: Option<&Bus>, payload: &Value) -> anyhow::Result<()> {
    let procedure_id = payload
        .get("procedure_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| anyhow::anyhow!("rebase_dossiers without procedure_id"))?;
    let started = std::time::Instant::now();
    let rebased = rebase::rebase_procedure(db, procedure_id, REBASE_BATCH, REBASE_BUDGET, |ids| {
        if let Some(bus) = bus {
            bus.publish(EventKind::DossiersRebased {
                procedure_id,
                dossier_ids: ids.to_vec(),
            });
        }
    })
    .await?;
    if !rebased.done {
        // The rest in a new job (this one ends now, its lease never runs out mid-way).
        sqlx::query("insert into jobs (kind, payload) values ($1, $2)")
            .bind(JOB_REBASE)
            .bind(payload)
            .execute(db)
            .await?;
    }
    tracing::info!(
        procedure = procedure_id,
        moved = rebased.moved,
        done = rebased.done,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "dossiers rebased"
    );
    Ok(())
}

async fn virus_scan(
    db: &PgPool,
    storage: &dyn Storage,
    scanner: &dyn VirusScanner,
    payload: &Value,
) -> anyhow::Result<()> {
    let id: Uuid = payload
        .get("attachment_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("virus_scan without attachment_id"))?;
    let row: Option<(String, String)> = sqlx::query_as(
        "select storage_key, checksum from attachments where id = $1 and purged_at is null",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    // Deleted (or purged) meanwhile: nothing to scan.
    let Some((key, checksum)) = row else {
        return Ok(());
    };
    let actual = scan::checksum(storage.open(&key).await?).await?;
    let state = if actual != checksum {
        "integrity_error"
    } else {
        match scanner.scan(storage.open(&key).await?).await? {
            Verdict::Safe => "safe",
            Verdict::Infected => "infected",
        }
    };
    sqlx::query("update attachments set virus_scan = $2 where id = $1")
        .bind(id)
        .bind(state)
        .execute(db)
        .await?;
    tracing::info!(attachment = %id, verdict = state, "virus scan");
    Ok(())
}

/// Deletes the files of a decided dossier's titres d'identité, then marks each one purged
/// (its row stays: the champ still reads « présent »). Deleting an absent file is no error,
/// so a job interrupted between the two steps finishes on its retry.
async fn purge_titres(db: &PgPool, storage: &dyn Storage, payload: &Value) -> anyhow::Result<()> {
    let dossier_id = payload
        .get("dossier_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| anyhow::anyhow!("purge_titres_identite without dossier_id"))?;
    let ids: Vec<Uuid> = payload
        .get("attachment_ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(|id| id.as_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    let files: Vec<(Uuid, String)> = sqlx::query_as(
        "select id, storage_key from attachments
         where dossier_id = $1 and id = any($2) and purged_at is null",
    )
    .bind(dossier_id)
    .bind(&ids)
    .fetch_all(db)
    .await?;
    for (id, key) in files {
        storage.delete(&key).await?;
        sqlx::query("update attachments set purged_at = now() where id = $1")
            .bind(id)
            .execute(db)
            .await?;
        tracing::info!(dossier_id, attachment = %id, "titre d'identité purged");
    }
    Ok(())
}

/// Deletes stored files whose rows are already gone (a file missing from the storage is
/// not an error, so a retried job finishes).
async fn delete_files(storage: &dyn Storage, payload: &Value) -> anyhow::Result<()> {
    let keys = payload
        .get("storage_keys")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow::anyhow!("delete_files without storage_keys"))?;
    for key in keys.iter().filter_map(Value::as_str) {
        storage.delete(key).await?;
    }
    tracing::info!(files = keys.len(), "stored files deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(30), Duration::from_secs(3600));
    }
}
