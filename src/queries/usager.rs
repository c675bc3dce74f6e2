//! Read queries of the usager area: démarches by path, the usager's dossiers and the
//! values of one dossier. Dates are formatted by PostgreSQL in French time.

use std::collections::HashMap;

use demarches_actors::domain::Etat;
use serde_json::Value;
use sqlx::PgPool;

/// `DD/MM/YYYY à HH:MI` in Paris time, for a timestamptz column.
macro_rules! datetime_fr {
    ($col:literal) => {
        concat!(
            "to_char(",
            $col,
            " at time zone 'Europe/Paris', 'DD/MM/YYYY') || ' à ' || to_char(",
            $col,
            " at time zone 'Europe/Paris', 'HH24:MI')"
        )
    };
}

/// State of a démarche (`procedure_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcedureState {
    Brouillon,
    Publiee,
    Close,
    Depubliee,
}

impl ProcedureState {
    fn parse(value: &str) -> Result<Self, sqlx::Error> {
        match value {
            "brouillon" => Ok(Self::Brouillon),
            "publiee" => Ok(Self::Publiee),
            "close" => Ok(Self::Close),
            "depubliee" => Ok(Self::Depubliee),
            other => Err(decode_error(format!("unknown procedure state {other}"))),
        }
    }
}

fn decode_error(message: String) -> sqlx::Error {
    sqlx::Error::Decode(message.into())
}

fn parse_etat(value: &str) -> Result<Etat, sqlx::Error> {
    value
        .parse::<Etat>()
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// What the public page of a démarche shows.
#[derive(Debug, Clone)]
pub struct Demarche {
    pub id: i64,
    pub libelle: String,
    pub description: String,
    pub organisation: String,
    pub path: String,
    pub state: ProcedureState,
    pub for_individual: bool,
    pub published_revision_id: Option<i64>,
    pub draft_revision_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct DemarcheRow {
    id: i64,
    libelle: String,
    description: String,
    organisation: String,
    path: String,
    state: String,
    for_individual: bool,
    published_revision_id: Option<i64>,
    draft_revision_id: Option<i64>,
}

pub async fn demarche_by_path(db: &PgPool, path: &str) -> Result<Option<Demarche>, sqlx::Error> {
    let row: Option<DemarcheRow> = sqlx::query_as(
        "select id, libelle, description, organisation, path, state::text as state,
                for_individual, published_revision_id, draft_revision_id
         from procedures where path = $1",
    )
    .bind(path)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(Demarche {
            id: r.id,
            libelle: r.libelle,
            description: r.description,
            organisation: r.organisation,
            path: r.path,
            state: ProcedureState::parse(&r.state)?,
            for_individual: r.for_individual,
            published_revision_id: r.published_revision_id,
            draft_revision_id: r.draft_revision_id,
        })
    })
    .transpose()
}

/// One line of a list of the usager's dossiers.
#[derive(Debug, Clone)]
pub struct DossierLine {
    pub id: i64,
    pub procedure_libelle: String,
    pub state: Etat,
    /// Last modification, formatted.
    pub updated: String,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    procedure_libelle: String,
    state: String,
    updated: String,
}

fn lines(rows: Vec<LineRow>) -> Result<Vec<DossierLine>, sqlx::Error> {
    rows.into_iter()
        .map(|r| {
            Ok(DossierLine {
                id: r.id,
                state: parse_etat(&r.state)?,
                procedure_libelle: r.procedure_libelle,
                updated: r.updated,
            })
        })
        .collect()
}

/// The usager's dossiers on one démarche (most recent first, at most 50).
pub async fn dossiers_on_demarche(
    db: &PgPool,
    user_id: i64,
    procedure_id: i64,
) -> Result<Vec<DossierLine>, sqlx::Error> {
    let rows: Vec<LineRow> = sqlx::query_as(concat!(
        "select d.id, p.libelle as procedure_libelle, d.state::text as state, ",
        datetime_fr!("d.updated_at"),
        " as updated
         from dossiers d join procedures p on p.id = d.procedure_id
         where d.user_id = $1 and d.procedure_id = $2 and d.hidden_by_user_at is null
         order by d.updated_at desc, d.id desc
         limit 50"
    ))
    .bind(user_id)
    .bind(procedure_id)
    .fetch_all(db)
    .await?;
    lines(rows)
}

/// The tabs of "Mes dossiers".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    EnCours,
    Traites,
}

impl Tab {
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("traites") => Tab::Traites,
            _ => Tab::EnCours,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tab::EnCours => "en-cours",
            Tab::Traites => "traites",
        }
    }

    pub fn states(self) -> &'static [Etat] {
        match self {
            Tab::EnCours => &[Etat::Brouillon, Etat::EnConstruction, Etat::EnInstruction],
            Tab::Traites => &Etat::TERMINE,
        }
    }

    fn state_names(self) -> Vec<&'static str> {
        self.states().iter().map(|e| e.as_str()).collect()
    }
}

/// Number of dossiers in each tab: (en cours, traités).
pub async fn tab_counts(db: &PgPool, user_id: i64) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "select count(*) filter (where state in ('brouillon', 'en_construction', 'en_instruction')),
                count(*) filter (where state in ('accepte', 'refuse', 'sans_suite'))
         from dossiers where user_id = $1 and hidden_by_user_at is null",
    )
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// One page (1-based) of the usager's dossiers in `tab`, most recently modified first.
pub async fn dossiers_page(
    db: &PgPool,
    user_id: i64,
    tab: Tab,
    page: u32,
    per_page: u32,
) -> Result<Vec<DossierLine>, sqlx::Error> {
    let offset = i64::from(page.saturating_sub(1)) * i64::from(per_page);
    let rows: Vec<LineRow> = sqlx::query_as(concat!(
        "select d.id, p.libelle as procedure_libelle, d.state::text as state, ",
        datetime_fr!("d.updated_at"),
        " as updated
         from dossiers d join procedures p on p.id = d.procedure_id
         where d.user_id = $1 and d.hidden_by_user_at is null and d.state::text = any($2)
         order by d.updated_at desc, d.id desc
         limit $3 offset $4"
    ))
    .bind(user_id)
    .bind(tab.state_names())
    .bind(i64::from(per_page))
    .bind(offset)
    .fetch_all(db)
    .await?;
    lines(rows)
}

/// A dossier as its owner sees it, with its démarche.
#[derive(Debug, Clone)]
pub struct OwnedDossier {
    pub id: i64,
    pub procedure_id: i64,
    pub procedure_libelle: String,
    pub procedure_path: String,
    pub organisation: String,
    pub procedure_state: ProcedureState,
    pub for_individual: bool,
    pub revision_id: i64,
    pub state: Etat,
    /// The démarche accepts the deposit of this dossier (same rule as the actor's).
    pub accepts_deposits: bool,
    /// A test dossier: on the draft revision of a démarche still en test.
    pub is_test: bool,
    /// A brouillon or dossier en construction still on an older revision than its
    /// démarche's published one (the rebase job has not reached it yet); never on a
    /// démarche en test.
    pub behind_published: bool,
    pub depose_at: Option<String>,
    pub processed_at: Option<String>,
    pub updated: String,
    pub motivation: Option<String>,
    /// A personne morale's dossier has passed its SIRET step.
    pub has_siret: bool,
}

#[derive(sqlx::FromRow)]
struct OwnedRow {
    id: i64,
    procedure_id: i64,
    procedure_libelle: String,
    procedure_path: String,
    organisation: String,
    procedure_state: String,
    for_individual: bool,
    revision_id: i64,
    state: String,
    accepts_deposits: bool,
    is_test: bool,
    behind_published: bool,
    depose_at: Option<String>,
    processed_at: Option<String>,
    updated: String,
    motivation: Option<String>,
    has_siret: bool,
}

/// The dossier `id` if `user_id` owns it.
pub async fn owned_dossier(
    db: &PgPool,
    id: i64,
    user_id: i64,
) -> Result<Option<OwnedDossier>, sqlx::Error> {
    let row: Option<OwnedRow> = sqlx::query_as(concat!(
        "select d.id, d.procedure_id, p.libelle as procedure_libelle, p.path as procedure_path,
                p.organisation, p.state::text as procedure_state, p.for_individual,
                d.revision_id, d.state::text as state,
                (p.state in ('publiee', 'depubliee')
                   or (p.state = 'brouillon' and p.draft_revision_id = d.revision_id)) as accepts_deposits,
                (p.state = 'brouillon' and p.draft_revision_id = d.revision_id) as is_test,
                coalesce(d.state in ('brouillon', 'en_construction') and p.state <> 'brouillon'
                           and d.revision_id <> p.published_revision_id, false) as behind_published, ",
        datetime_fr!("d.depose_at"),
        " as depose_at, ",
        datetime_fr!("d.processed_at"),
        " as processed_at, ",
        datetime_fr!("d.updated_at"),
        " as updated, d.motivation, d.siret is not null as has_siret
         from dossiers d join procedures p on p.id = d.procedure_id
         where d.id = $1 and d.user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(OwnedDossier {
            id: r.id,
            procedure_id: r.procedure_id,
            procedure_libelle: r.procedure_libelle,
            procedure_path: r.procedure_path,
            organisation: r.organisation,
            procedure_state: ProcedureState::parse(&r.procedure_state)?,
            for_individual: r.for_individual,
            revision_id: r.revision_id,
            state: parse_etat(&r.state)?,
            accepts_deposits: r.accepts_deposits,
            is_test: r.is_test,
            behind_published: r.behind_published,
            depose_at: r.depose_at,
            processed_at: r.processed_at,
            updated: r.updated,
            motivation: r.motivation,
            has_siret: r.has_siret,
        })
    })
    .transpose()
}

/// Values of the public champs of a dossier, by stable id.
pub async fn champ_values(
    db: &PgPool,
    dossier_id: i64,
) -> Result<HashMap<i64, Value>, sqlx::Error> {
    let rows: Vec<(i64, Value)> = sqlx::query_as(
        "select stable_id, value from champs
         where dossier_id = $1 and not private and value is not null
           and row_id = '00000000-0000-0000-0000-000000000000'",
    )
    .bind(dossier_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Values of the children of the blocs répétables of a dossier, by (child stable id, row id):
/// every row in one query.
pub async fn row_values(
    db: &PgPool,
    dossier_id: i64,
) -> Result<HashMap<(i64, uuid::Uuid), Value>, sqlx::Error> {
    let rows: Vec<(i64, uuid::Uuid, Value)> = sqlx::query_as(
        "select stable_id, row_id, value from champs
         where dossier_id = $1 and not private and value is not null
           and row_id <> '00000000-0000-0000-0000-000000000000'",
    )
    .bind(dossier_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(s, r, v)| ((s, r), v)).collect())
}

/// The identity of a dossier filed by an individual.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IndividualRow {
    pub civilite: String,
    pub nom: String,
    pub prenom: String,
}

pub async fn individual(
    db: &PgPool,
    dossier_id: i64,
) -> Result<Option<IndividualRow>, sqlx::Error> {
    sqlx::query_as("select civilite, nom, prenom from individuals where dossier_id = $1")
        .bind(dossier_id)
        .fetch_optional(db)
        .await
}
