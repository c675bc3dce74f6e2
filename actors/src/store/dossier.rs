//! Loading a dossier aggregate and committing a write to it.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};

use uuid::Uuid;

use super::attachment::{self, Job, NewAttachment};
use super::outbox::Mail;
use super::revision::{RevisionCache, RevisionDefs};
use crate::domain::{Civilite, Etat, Individual};

/// Who acts on a dossier; recorded in `dossier_events` and `traitements`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub kind: AuthorKind,
    pub user_id: Option<i64>,
    pub email: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    Usager,
    Instructeur,
    Administrateur,
    Systeme,
}

impl AuthorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorKind::Usager => "usager",
            AuthorKind::Instructeur => "instructeur",
            AuthorKind::Administrateur => "administrateur",
            AuthorKind::Systeme => "systeme",
        }
    }
}

/// The dossier as its actor keeps it in memory.
#[derive(Debug, Clone)]
pub struct DossierState {
    pub id: i64,
    pub procedure_id: i64,
    pub procedure_libelle: String,
    pub for_individual: bool,
    pub revision_id: i64,
    pub user_id: i64,
    pub user_email: String,
    pub state: Etat,
    pub groupe_instructeur_id: Option<i64>,
    pub lock_version: i32,
    pub defs: Arc<RevisionDefs>,
    /// Values of the public champs, by stable id.
    pub values: HashMap<i64, Value>,
    /// Values of the annotations privées (instructeurs only), by stable id.
    pub annotations: HashMap<i64, Value>,
    /// Values of the children of blocs répétables, by (child stable id, row id); the order
    /// of a block's rows is its own value (see `domain::repetition`).
    pub rows: HashMap<(i64, Uuid), Value>,
    pub individual: Option<Individual>,
    /// The SIRET of a personne morale's dossier, given at its first step (`dossiers.siret`).
    pub siret: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Head {
    id: i64,
    procedure_id: i64,
    procedure_libelle: String,
    for_individual: bool,
    revision_id: i64,
    user_id: i64,
    user_email: String,
    state: String,
    groupe_instructeur_id: Option<i64>,
    lock_version: i32,
    /// `[[stable_id, value], …]` of the public champs.
    champs: sqlx::types::Json<Vec<(i64, Value)>>,
    /// `[[stable_id, value], …]` of the annotations privées.
    annotations: sqlx::types::Json<Vec<(i64, Value)>>,
    /// `[[stable_id, row_id, value], …]` of the children of blocs répétables.
    rows: sqlx::types::Json<Vec<(i64, Uuid, Value)>>,
    /// `[civilite, nom, prenom]` when the identity was given.
    individual: Option<sqlx::types::Json<(String, String, String)>>,
    siret: Option<String>,
}

/// Loads the aggregate in one round trip (plus the revision, cached once published).
pub async fn load(
    db: &PgPool,
    revisions: &RevisionCache,
    id: i64,
) -> Result<Option<DossierState>, sqlx::Error> {
    let head: Option<Head> = sqlx::query_as(
        "select d.id, d.procedure_id, p.libelle as procedure_libelle, p.for_individual,
                d.revision_id, d.user_id, u.email as user_email, d.state::text as state,
                d.groupe_instructeur_id, d.lock_version, d.siret,
                coalesce((select json_agg(json_build_array(c.stable_id, c.value))
                          from champs c
                          where c.dossier_id = d.id and not c.private and c.value is not null
                            and c.row_id = '00000000-0000-0000-0000-000000000000'), '[]') as champs,
                coalesce((select json_agg(json_build_array(c.stable_id, c.value))
                          from champs c
                          where c.dossier_id = d.id and c.private and c.value is not null
                            and c.row_id = '00000000-0000-0000-0000-000000000000'), '[]') as annotations,
                coalesce((select json_agg(json_build_array(c.stable_id, c.row_id, c.value))
                          from champs c
                          where c.dossier_id = d.id and not c.private and c.value is not null
                            and c.row_id <> '00000000-0000-0000-0000-000000000000'), '[]') as rows,
                (select json_build_array(i.civilite, i.nom, i.prenom)
                 from individuals i where i.dossier_id = d.id) as individual
         from dossiers d
         join procedures p on p.id = d.procedure_id
         join users u on u.id = d.user_id
         where d.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    let Some(head) = head else {
        return Ok(None);
    };
    let defs = revisions.get(db, head.revision_id).await?;
    let state = head
        .state
        .parse::<Etat>()
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Some(DossierState {
        id: head.id,
        procedure_id: head.procedure_id,
        procedure_libelle: head.procedure_libelle,
        for_individual: head.for_individual,
        revision_id: head.revision_id,
        user_id: head.user_id,
        user_email: head.user_email,
        state,
        groupe_instructeur_id: head.groupe_instructeur_id,
        lock_version: head.lock_version,
        defs,
        values: head.champs.0.into_iter().collect(),
        annotations: head.annotations.0.into_iter().collect(),
        rows: head
            .rows
            .0
            .into_iter()
            .map(|(id, row, value)| ((id, row), value))
            .collect(),
        individual: head
            .individual
            .and_then(|sqlx::types::Json((civilite, nom, prenom))| {
                Some(Individual {
                    civilite: civilite.parse::<Civilite>().ok()?,
                    nom,
                    prenom,
                })
            }),
        siret: head.siret,
    }))
}

/// Creates a brouillon on `revision_id` for `user_id`; its first event has version 0.
pub async fn create(
    db: &PgPool,
    procedure_id: i64,
    revision_id: i64,
    author: &Author,
) -> Result<i64, sqlx::Error> {
    let user_id = author.user_id.ok_or(sqlx::Error::RowNotFound)?;
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into dossiers (procedure_id, revision_id, user_id) values ($1, $2, $3) returning id",
    )
    .bind(procedure_id)
    .bind(revision_id)
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    insert_event(
        &mut tx,
        id,
        0,
        "creer",
        author,
        &Value::Object(Default::default()),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A state change to persist with a write.
#[derive(Debug, Clone)]
pub struct StateChange {
    pub to: Etat,
    pub motivation: Option<String>,
    pub groupe_id: Option<i64>,
}

/// Everything one command writes, committed atomically by [`commit`].
#[derive(Debug, Clone)]
pub struct Write {
    pub dossier_id: i64,
    pub expected_version: i32,
    pub kind: String,
    pub author: Author,
    pub payload: Value,
    pub state_change: Option<StateChange>,
    pub champs_upsert: Vec<(i64, Value)>,
    pub champs_delete: Vec<i64>,
    /// Values of children of blocs répétables: (child stable id, row id, value).
    pub row_champs_upsert: Vec<(i64, Uuid, Value)>,
    /// Values of children of blocs répétables removed: (child stable id, row id).
    pub row_champs_delete: Vec<(i64, Uuid)>,
    /// The champs written are annotations privées (`champs.private`).
    pub private_champs: bool,
    pub individual: Option<Individual>,
    pub mails: Vec<(String, Mail)>,
    pub follow: Option<i64>,
    /// Commit only while the démarche accepts deposits (checked in the same statement).
    pub require_open: bool,
    /// A usager's write: commit only while the dossier, if brouillon or en construction,
    /// is on its démarche's published revision (checked in the same statement; a démarche
    /// en test has none to follow). A state
    /// cached before a publication then fails like a concurrent write: the actor reloads,
    /// which rebases the dossier, and retries on the new form.
    pub require_published_revision: bool,
    /// A file attached to a champ (`stable_id`, row), recorded with this write.
    pub attachment_insert: Option<(i64, NewAttachment)>,
    /// Files removed from the dossier.
    pub attachments_delete: Vec<Uuid>,
    /// Background jobs started by this write.
    pub jobs: Vec<Job>,
    /// A new SIRET for the dossier (personnes morales), with what its look-up gave.
    pub etablissement: Option<EtablissementWrite>,
}

/// The dossier's SIRET and its looked-up data, replacing the previous ones.
#[derive(Debug, Clone, PartialEq)]
pub struct EtablissementWrite {
    pub siret: String,
    /// `domain::external::ExternalState` as text; `None`: not looked up (no connector).
    pub state: Option<String>,
    pub data: Option<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Nothing was written: the dossier moved past `expected_version`, or (with
    /// `require_open`) the démarche no longer accepts deposits, or (with
    /// `require_published_revision`) the dossier must move to the published revision first.
    #[error("the dossier was modified concurrently or its démarche closed")]
    Conflict,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Commits `write` if the dossier is still at `expected_version`; returns the new version.
///
/// One statement (data-modifying CTEs, atomic on its own): the conditional update, the
/// event, the traitement, the champs (public ones or, with `private_champs`, the
/// annotations privées), the identity or the établissement, the outbox rows and the follow. Every
/// insert reads the updated row, so nothing is written when the version check fails.
pub async fn commit(db: &PgPool, write: &Write) -> Result<i32, CommitError> {
    let files = write.attachment_insert.is_some()
        || !write.attachments_delete.is_empty()
        || !write.jobs.is_empty();
    if !files {
        return commit_statement(db, write).await;
    }
    // Attaching or removing a file also writes `attachments` and `jobs`: one transaction.
    let mut tx = db.begin().await?;
    let version = commit_statement(&mut *tx, write).await?;
    if let Some((stable_id, attachment)) = &write.attachment_insert {
        attachment::insert(&mut tx, write.dossier_id, *stable_id, attachment).await?;
    }
    if !write.attachments_delete.is_empty() {
        attachment::delete(&mut tx, write.dossier_id, &write.attachments_delete).await?;
    }
    for job in &write.jobs {
        attachment::insert_job(&mut tx, job).await?;
    }
    tx.commit().await?;
    Ok(version)
}

async fn commit_statement<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    write: &Write,
) -> Result<i32, CommitError> {
    let change = write.state_change.as_ref();
    // Annotations privées are not the usager's champs: they leave last_champ_updated_at alone.
    let touches_champs = !write.private_champs
        && (!write.champs_upsert.is_empty()
            || !write.champs_delete.is_empty()
            || !write.row_champs_upsert.is_empty()
            || !write.row_champs_delete.is_empty());
    let (upsert_ids, upsert_values): (Vec<i64>, Vec<Value>) =
        write.champs_upsert.iter().cloned().unzip();
    let mut row_ids = Vec::with_capacity(write.row_champs_upsert.len());
    let mut row_rows = Vec::with_capacity(write.row_champs_upsert.len());
    let mut row_values = Vec::with_capacity(write.row_champs_upsert.len());
    for (id, row, value) in &write.row_champs_upsert {
        row_ids.push(*id);
        row_rows.push(*row);
        row_values.push(value.clone());
    }
    let (delete_row_ids, delete_rows): (Vec<i64>, Vec<Uuid>) =
        write.row_champs_delete.iter().copied().unzip();
    let mut mail_keys = Vec::with_capacity(write.mails.len());
    let mut mail_payloads = Vec::with_capacity(write.mails.len());
    for (key, mail) in &write.mails {
        mail_keys.push(key.clone());
        mail_payloads
            .push(serde_json::to_value(mail).map_err(|e| sqlx::Error::Encode(Box::new(e)))?);
    }
    let etablissement = write.etablissement.as_ref();
    let instructeur_email =
        (write.author.kind != AuthorKind::Usager).then(|| write.author.email.clone());
    let version: Option<i32> = sqlx::query_scalar(COMMIT_SQL)
        .bind(write.dossier_id)
        .bind(write.expected_version)
        .bind(change.map(|c| c.to.as_str()))
        .bind(change.and_then(|c| c.groupe_id))
        .bind(change.and_then(|c| c.motivation.clone()))
        .bind(touches_champs)
        .bind(&write.kind)
        .bind(write.author.kind.as_str())
        .bind(write.author.user_id)
        .bind(&write.payload)
        .bind(instructeur_email)
        .bind(upsert_ids)
        .bind(upsert_values)
        .bind(&write.champs_delete)
        .bind(write.individual.as_ref().map(|i| i.civilite.as_str()))
        .bind(write.individual.as_ref().map(|i| i.nom.clone()))
        .bind(write.individual.as_ref().map(|i| i.prenom.clone()))
        .bind(mail_keys)
        .bind(mail_payloads)
        .bind(write.follow)
        .bind(write.require_open)
        .bind(super::outbox::MAIL_TOPIC)
        .bind(write.private_champs)
        .bind(row_ids)
        .bind(row_rows)
        .bind(row_values)
        .bind(delete_row_ids)
        .bind(delete_rows)
        .bind(etablissement.map(|e| e.siret.clone()))
        .bind(etablissement.and_then(|e| e.state.clone()))
        .bind(etablissement.and_then(|e| e.data.clone()))
        .bind(write.require_published_revision)
        .fetch_optional(executor)
        .await?;
    version.ok_or(CommitError::Conflict)
}

const COMMIT_SQL: &str = "
with upd as (
  update dossiers set
    state = coalesce($3::text::dossier_state, state),
    lock_version = lock_version + 1,
    updated_at = now(),
    groupe_instructeur_id = coalesce($4, groupe_instructeur_id),
    depose_at = case when $3::text = 'en_construction' and depose_at is null then now() else depose_at end,
    en_construction_at = case when $3::text = 'en_construction' then now() else en_construction_at end,
    en_instruction_at = case when $3::text = 'en_instruction' then now() else en_instruction_at end,
    processed_at = case when $3::text in ('accepte', 'refuse', 'sans_suite') then now()
                        when $3::text is not null then null else processed_at end,
    motivation = case when $3::text in ('accepte', 'refuse', 'sans_suite') then $5
                      when $3::text is not null then null else motivation end,
    last_champ_updated_at = case when $6 then now() else last_champ_updated_at end,
    siret = coalesce($29::text, siret),
    etablissement_state = case when $29::text is not null then $30::text else etablissement_state end,
    etablissement_data = case when $29::text is not null then $31::jsonb else etablissement_data end
  where id = $1 and lock_version = $2
    and (not $21 or exists (
      select 1 from procedures p where p.id = dossiers.procedure_id
        and (p.state in ('publiee', 'depubliee')
             or (p.state = 'brouillon' and p.draft_revision_id = dossiers.revision_id))))
    and (not $32 or dossiers.state not in ('brouillon', 'en_construction') or exists (
      select 1 from procedures p where p.id = dossiers.procedure_id
        and (p.state = 'brouillon'
             or coalesce(p.published_revision_id, dossiers.revision_id) = dossiers.revision_id)))
  returning id, lock_version
),
event as (
  insert into dossier_events (dossier_id, version, kind, actor_kind, actor_id, payload)
  select id, lock_version, $7, $8, $9, $10 from upd
),
traitement as (
  insert into traitements (dossier_id, state, instructeur_email, motivation)
  select id, $3::text::dossier_state, $11, $5 from upd where $3::text is not null
),
upserted as (
  insert into champs (dossier_id, stable_id, private, value, updated_at)
  select upd.id, t.s, $23::boolean, t.v, now() from upd, unnest($12::bigint[], $13::jsonb[]) as t(s, v)
  on conflict (dossier_id, stable_id, row_id)
  do update set value = excluded.value, updated_at = now(),
    external_state = case when champs.value is distinct from excluded.value then null
                          else champs.external_state end,
    external_data = case when champs.value is distinct from excluded.value then null
                         else champs.external_data end
),
deleted as (
  delete from champs c using upd
  where c.dossier_id = upd.id and c.stable_id = any($14::bigint[]) and c.private = $23
    and c.row_id = '00000000-0000-0000-0000-000000000000'
),
rows_upserted as (
  insert into champs (dossier_id, stable_id, row_id, private, value, updated_at)
  select upd.id, t.s, t.r, false, t.v, now()
  from upd, unnest($24::bigint[], $25::uuid[], $26::jsonb[]) as t(s, r, v)
  on conflict (dossier_id, stable_id, row_id)
  do update set value = excluded.value, updated_at = now()
),
rows_deleted as (
  delete from champs c using upd, unnest($27::bigint[], $28::uuid[]) as t(s, r)
  where c.dossier_id = upd.id and c.stable_id = t.s and c.row_id = t.r and not c.private
),
identity as (
  insert into individuals (dossier_id, civilite, nom, prenom)
  select id, $15, $16, $17 from upd where $15::text is not null
  on conflict (dossier_id) do update
  set civilite = excluded.civilite, nom = excluded.nom, prenom = excluded.prenom, updated_at = now()
),
mails as (
  insert into outbox (topic, idempotency_key, payload, wake)
  select $22, t.k, t.p, false from upd, unnest($18::text[], $19::jsonb[]) as t(k, p)
  on conflict (idempotency_key) do nothing
),
followed as (
  insert into follows (instructeur_id, dossier_id)
  select $20, id from upd where $20::bigint is not null
  on conflict (instructeur_id, dossier_id) do update set unfollowed_at = null
)
select lock_version from upd";

async fn insert_event(
    tx: &mut Transaction<'_, Postgres>,
    dossier_id: i64,
    version: i32,
    kind: &str,
    author: &Author,
    payload: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into dossier_events (dossier_id, version, kind, actor_kind, actor_id, payload)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(dossier_id)
    .bind(version)
    .bind(kind)
    .bind(author.kind.as_str())
    .bind(author.user_id)
    .bind(payload)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
