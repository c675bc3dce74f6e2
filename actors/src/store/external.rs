//! `champs.external_state` / `champs.external_data`: what a look-up gave for a champ,
//! written only while the champ still holds the identifier looked up (a save that changes
//! the value clears them, see `COMMIT_SQL`); a pending record also queues its retry job,
//! in the same statement. `dossiers.etablissement_state` / `etablissement_data` likewise
//! for the dossier's own SIRET (personnes morales), while `dossiers.siret` holds it.

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::domain::external::{ExternalRecord, ExternalState, JOB_FETCH_EXTERNAL_DATA};

/// Records `record` on the public champ `record.stable_id` (outside repetitions) of
/// dossier `dossier_id`, if that champ still holds `record.external_id` — or, without
/// stable id, on the dossier itself if its SIRET is still `record.external_id`. `job`
/// (pending records only): the payload of the retry job to queue. Returns whether it was
/// written.
pub async fn record(
    db: &PgPool,
    dossier_id: i64,
    record: &ExternalRecord,
    job: Option<&Value>,
) -> Result<bool, sqlx::Error> {
    let data = match (&record.data, &record.message) {
        (Some(data), _) => Some(data.clone()),
        (None, Some(message)) => Some(json!({ "message": message })),
        (None, None) => None,
    };
    let sql = match record.stable_id {
        Some(_) => RECORD_CHAMP_SQL,
        None => RECORD_DOSSIER_SQL,
    };
    let written: i64 = sqlx::query_scalar(sql)
        .bind(dossier_id)
        .bind(record.stable_id)
        .bind(record.state.as_str())
        .bind(data)
        .bind(&record.external_id)
        .bind(JOB_FETCH_EXTERNAL_DATA)
        .bind(job.filter(|_| record.state == ExternalState::Pending))
        .fetch_one(db)
        .await?;
    Ok(written > 0)
}

const RECORD_CHAMP_SQL: &str = "
with rec as (
  update champs set external_state = $3, external_data = $4
  where dossier_id = $1 and stable_id = $2 and not private
    and row_id = '00000000-0000-0000-0000-000000000000'
    and value = to_jsonb($5::text)
  returning 1),
job as (
  insert into jobs (kind, payload)
  select $6, $7 where $7::jsonb is not null and exists (select 1 from rec)
  returning 1)
select count(*) from rec";

/// `$2` (no stable id) is null here and unused.
const RECORD_DOSSIER_SQL: &str = "
with rec as (
  update dossiers set etablissement_state = $3, etablissement_data = $4
  where id = $1 and $2::bigint is null and siret = $5::text
  returning 1),
job as (
  insert into jobs (kind, payload)
  select $6, $7 where $7::jsonb is not null and exists (select 1 from rec)
  returning 1)
select count(*) from rec";
