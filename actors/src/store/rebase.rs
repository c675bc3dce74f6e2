//! Moving the brouillons and dossiers en construction of a démarche to its published
//! revision (DS `DossierRebase`), set-based, in batches.
//!
//! Each batch is one transaction: the dossiers are locked (`FOR UPDATE`, so a concurrent
//! actor commit finishes first or waits), moved to the target revision with
//! `lock_version + 1` and a `rebase` event at that version (a concurrent actor write based
//! on the old version then fails its version check, reloads and retries on the new
//! form), then the values the changes do not keep are dropped by stable id (every row of
//! a bloc répétable, by its stable row id). Dossiers en instruction or terminés keep their
//! revision. Running it twice, or on two workers at once, is harmless: a moved dossier no
//! longer matches.
//!
//! A dossier loaded for its usager before the job reached it is moved first, alone, by
//! [`rebase_dossier`] (the same statements, see [`move_dossiers`]).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{PgPool, Postgres, Transaction};

use super::revision::versions;
use crate::domain::revision_change::{ValueRule, compare, value_rules};

/// The `jobs.kind` of a rebase; payload `{"procedure_id": …}`.
pub const JOB_REBASE: &str = "rebase_dossiers";

/// The dossier states that follow the published revision.
macro_rules! moving {
    () => {
        "('brouillon', 'en_construction')"
    };
}

/// What moving dossiers from `from` to `to` does to their values.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub from: i64,
    pub to: i64,
    /// The champs that lose values, with their rule.
    pub rules: Vec<(i64, ValueRule)>,
}

impl Plan {
    /// Compares the two revisions.
    pub async fn between(db: &PgPool, from: i64, to: i64) -> Result<Plan, sqlx::Error> {
        let before = versions(db, from).await?;
        let after = versions(db, to).await?;
        Ok(Plan {
            from,
            to,
            rules: value_rules(&compare(&before, &after)),
        })
    }
}

/// Rules as the arrays bound by the SQL: stable ids, modes, values.
fn rule_arrays(rules: &[(i64, ValueRule)]) -> (Vec<i64>, Vec<&'static str>, Vec<Value>) {
    let mut ids = Vec::with_capacity(rules.len());
    let mut modes = Vec::with_capacity(rules.len());
    let mut values = Vec::with_capacity(rules.len());
    for (id, rule) in rules {
        let (mode, list) = match rule {
            ValueRule::Keep => continue,
            ValueRule::Drop => ("drop", Vec::new()),
            ValueRule::KeepOnly(v) => ("keep_only", v.clone()),
            ValueRule::DropValues(v) => ("drop_values", v.clone()),
            ValueRule::FilterArray(v) => ("filter_array", v.clone()),
        };
        ids.push(*id);
        modes.push(mode);
        values.push(Value::Array(list));
    }
    (ids, modes, values)
}

/// A list value (`c.value`) that has an element the rule (`r.vals`) does not keep.
macro_rules! loses_element {
    () => {
        "(jsonb_typeof(c.value) = 'array'
   and exists (select 1 from jsonb_array_elements(c.value) e
               where not r.vals @> jsonb_build_array(e)))"
    };
}

/// The champs rows (`c`) a rule (`r(s, mode, vals)`) drops entirely.
macro_rules! doomed {
    () => {
        "(r.mode = 'drop'
   or (r.mode = 'keep_only'
       and not exists (select 1 from jsonb_array_elements(r.vals) a where a = c.value))
   or (r.mode = 'drop_values'
       and exists (select 1 from jsonb_array_elements(r.vals) a where a = c.value))
   or (r.mode = 'filter_array' and (jsonb_typeof(c.value) <> 'array'
       or not exists (select 1 from jsonb_array_elements(c.value) e where r.vals @> jsonb_build_array(e)))))"
    };
}

/// The rebase statement: the dossiers `picked` (locked, still on `$2` and following the
/// published revision) move to `$3` with `lock_version + 1` and a `rebase` event (payload
/// `$5`) at that version; returns their ids.
macro_rules! move_picked {
    ($picked:expr) => {
        concat!(
            "with picked as (",
            $picked,
            "),
         moved as (
           update dossiers d set revision_id = $3, lock_version = d.lock_version + 1,
             updated_at = now()
           from picked where d.id = picked.id
           returning d.id, d.lock_version
         ),
         event as (
           insert into dossier_events (dossier_id, version, kind, actor_kind, actor_id, payload)
           select id, lock_version, 'rebase', 'systeme', null, $5 from moved
         )
         select id from moved order by id"
        )
    };
}

/// A batch of the job: at most `$4` dossiers of démarche `$1` on revision `$2`.
const MOVE_BATCH: &str = move_picked!(concat!(
    "select id from dossiers
           where procedure_id = $1 and revision_id = $2 and state in ",
    moving!(),
    "
           order by id limit $4
           for update"
));

/// One dossier (`$1`), if it is still on revision `$2` and follows the published revision.
const MOVE_ONE: &str = move_picked!(concat!(
    "select id from dossiers
           where id = $1 and revision_id = $2 and state in ",
    moving!(),
    "
           for update"
));

/// Which dossiers one move takes.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// The job's batch: the next `limit` dossiers of the démarche on the plan's old revision.
    Batch { procedure_id: i64, limit: i64 },
    /// One dossier, rebased as it is loaded for its usager.
    Dossier(i64),
}

/// Moves the dossiers `pick` takes from `plan.from` to `plan.to` inside `tx`: the one
/// place where a rebase is written, for the job's batches and for one dossier loaded by
/// its usager. The dossiers are locked (`FOR UPDATE`) and taken only while still on
/// `plan.from` in a following state, so a dossier rebased meanwhile (by the job, or by a
/// load on another node) is skipped, never moved twice; each moved dossier gets
/// `lock_version + 1` and a `rebase` event, then the values the changes do not keep are
/// dropped by stable id. Returns the ids moved.
async fn move_dossiers(
    tx: &mut Transaction<'_, Postgres>,
    plan: &Plan,
    pick: Pick,
) -> Result<Vec<i64>, sqlx::Error> {
    let payload = json!({
        "from_revision": plan.from,
        "to_revision": plan.to,
        "dropped": plan.rules.iter().filter(|(_, r)| *r == ValueRule::Drop)
            .map(|(id, _)| *id).collect::<Vec<_>>(),
        "restricted": plan.rules.iter().filter(|(_, r)| *r != ValueRule::Drop)
            .map(|(id, _)| *id).collect::<Vec<_>>(),
    });
    let (sql, key, limit) = match pick {
        Pick::Batch {
            procedure_id,
            limit,
        } => (MOVE_BATCH, procedure_id, limit),
        Pick::Dossier(id) => (MOVE_ONE, id, 1),
    };
    let moved: Vec<i64> = sqlx::query_scalar(sql)
        .bind(key)
        .bind(plan.from)
        .bind(plan.to)
        .bind(limit)
        .bind(&payload)
        .fetch_all(&mut **tx)
        .await?;
    let (ids, modes, values) = rule_arrays(&plan.rules);
    if !moved.is_empty() && !ids.is_empty() {
        sqlx::query(concat!(
            "delete from champs c
             using unnest($2::bigint[], $3::text[], $4::jsonb[]) as r(s, mode, vals)
             where c.dossier_id = any($1) and c.stable_id = r.s and ",
            doomed!()
        ))
        .bind(&moved)
        .bind(&ids)
        .bind(&modes)
        .bind(&values)
        .execute(&mut **tx)
        .await?;
        // A multiple choice keeps its remaining options, in order.
        sqlx::query(concat!(
            "update champs c set updated_at = now(), value = (
               select jsonb_agg(e order by n) from jsonb_array_elements(c.value)
                 with ordinality as x(e, n) where r.vals @> jsonb_build_array(e))
             from unnest($2::bigint[], $3::text[], $4::jsonb[]) as r(s, mode, vals)
             where c.dossier_id = any($1) and c.stable_id = r.s and r.mode = 'filter_array'
               and ",
            loses_element!()
        ))
        .bind(&moved)
        .bind(&ids)
        .bind(&modes)
        .bind(&values)
        .execute(&mut **tx)
        .await?;
        drop_files(tx, &moved, plan).await?;
    }
    Ok(moved)
}

/// The files of the champs whose values are dropped (a pièce justificative or a titre
/// d'identité removed from the form) go with them: their rows now, their stored files by
/// a `delete_files` job written in the same transaction.
async fn drop_files(
    tx: &mut Transaction<'_, Postgres>,
    moved: &[i64],
    plan: &Plan,
) -> Result<(), sqlx::Error> {
    let dropped: Vec<String> = plan
        .rules
        .iter()
        .filter(|(_, rule)| *rule == ValueRule::Drop)
        .map(|(id, _)| id.to_string())
        .collect();
    if dropped.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "with gone as (
           delete from attachments a
           where a.dossier_id = any($1) and a.record_kind = $2 and a.record_key = any($3)
           returning a.storage_key)
         insert into jobs (kind, payload)
         select $4, jsonb_build_object('storage_keys', jsonb_agg(storage_key))
         from gone having count(*) > 0",
    )
    .bind(moved)
    .bind(super::attachment::RECORD_CHAMP)
    .bind(&dropped)
    .bind(super::attachment::JOB_DELETE_FILES)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves at most `limit` dossiers of `procedure_id` on revision `plan.from` to `plan.to`,
/// in one transaction; returns their ids (empty when none is left).
pub async fn rebase_batch(
    db: &PgPool,
    procedure_id: i64,
    plan: &Plan,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let moved = move_dossiers(
        &mut tx,
        plan,
        Pick::Batch {
            procedure_id,
            limit,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(moved)
}

/// A dossier [`rebase_dossier`] moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DossierRebased {
    pub procedure_id: i64,
    pub from: i64,
    pub to: i64,
}

/// Moves one dossier to its démarche's published revision when it is a brouillon or en
/// construction still on an older one (rebase on load: its usager opens it before the job
/// came by). Same writes and guarantees as a batch of the job ([`move_dossiers`], one
/// transaction); the job then finds nothing left to do for it. `None` when the dossier
/// already follows the published revision, keeps its own (en instruction, terminé; the
/// test dossiers of a démarche en test), or was moved concurrently by someone else.
pub async fn rebase_dossier(
    db: &PgPool,
    dossier_id: i64,
) -> Result<Option<DossierRebased>, sqlx::Error> {
    let behind: Option<(i64, i64, i64)> = sqlx::query_as(concat!(
        "select d.procedure_id, d.revision_id, p.published_revision_id
         from dossiers d join procedures p on p.id = d.procedure_id
         where d.id = $1 and p.state <> 'brouillon' and d.revision_id <> p.published_revision_id
           and d.state in ",
        moving!()
    ))
    .bind(dossier_id)
    .fetch_optional(db)
    .await?;
    let Some((procedure_id, from, to)) = behind else {
        return Ok(None);
    };
    let plan = Plan::between(db, from, to).await?;
    let mut tx = db.begin().await?;
    let moved = move_dossiers(&mut tx, &plan, Pick::Dossier(dossier_id)).await?;
    tx.commit().await?;
    Ok((!moved.is_empty()).then_some(DossierRebased {
        procedure_id,
        from,
        to,
    }))
}

/// For each rule, how many brouillons and dossiers en construction of `procedure_id` hold
/// a value it drops or shortens: `(stable id, dossiers)`, rules without such a dossier
/// left out.
pub async fn losses<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    procedure_id: i64,
    rules: &[(i64, ValueRule)],
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let (ids, modes, values) = rule_arrays(rules);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(concat!(
        "select r.s, count(distinct c.dossier_id)
         from dossiers d
         cross join unnest($2::bigint[], $3::text[], $4::jsonb[]) as r(s, mode, vals)
         join champs c on c.dossier_id = d.id and c.stable_id = r.s
         where d.procedure_id = $1 and c.value is not null and d.state in ",
        moving!(),
        " and (",
        doomed!(),
        " or (r.mode = 'filter_array' and ",
        loses_element!(),
        "))
         group by r.s"
    ))
    .bind(procedure_id)
    .bind(&ids)
    .bind(&modes)
    .bind(&values)
    .fetch_all(executor)
    .await
}

/// The dossiers of `procedure_id` that still have to move to its published revision.
pub async fn pending(db: &PgPool, procedure_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "select count(*) from dossiers d join procedures p on p.id = d.procedure_id
         where d.procedure_id = $1 and d.revision_id <> p.published_revision_id
           and d.state in ",
        moving!()
    ))
    .bind(procedure_id)
    .fetch_one(db)
    .await
}

/// What [`rebase_procedure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebased {
    pub moved: usize,
    /// False when the time budget ran out with dossiers left to move.
    pub done: bool,
}

/// Moves the brouillons and dossiers en construction of `procedure_id` to its published
/// revision, `batch` at a time, until none is left or `budget` is spent (checked between
/// batches); `moved` is called with the ids of each committed batch.
pub async fn rebase_procedure(
    db: &PgPool,
    procedure_id: i64,
    batch: i64,
    budget: Duration,
    mut moved: impl FnMut(&[i64]),
) -> Result<Rebased, sqlx::Error> {
    let started = Instant::now();
    let mut total = 0;
    loop {
        let published: Option<i64> =
            sqlx::query_scalar("select published_revision_id from procedures where id = $1")
                .bind(procedure_id)
                .fetch_optional(db)
                .await?
                .flatten();
        let Some(target) = published else {
            return Ok(Rebased {
                moved: total,
                done: true,
            });
        };
        let sources: Vec<i64> = sqlx::query_scalar(concat!(
            "select distinct revision_id from dossiers
             where procedure_id = $1 and revision_id <> $2 and state in ",
            moving!()
        ))
        .bind(procedure_id)
        .bind(target)
        .fetch_all(db)
        .await?;
        if sources.is_empty() {
            return Ok(Rebased {
                moved: total,
                done: true,
            });
        }
        for from in sources {
            let plan = Plan::between(db, from, target).await?;
            loop {
                if started.elapsed() >= budget {
                    return Ok(Rebased {
                        moved: total,
                        done: false,
                    });
                }
                let ids = rebase_batch(db, procedure_id, &plan, batch).await?;
                if ids.is_empty() {
                    break;
                }
                total += ids.len();
                moved(&ids);
                if (ids.len() as i64) < batch {
                    break;
                }
            }
        }
    }
}
