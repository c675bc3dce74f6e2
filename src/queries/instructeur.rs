//! What the instructeur pages read. Authorization lives in the SQL itself: an instructeur
//! reaches a dossier only through `assign_tos` (its groupes), and never a brouillon.
//!
//! Indexes used: `assign_tos_instructeur_idx` and the primary key of `assign_tos`,
//! `dossiers_groupe_state_idx` (groupe, state, depose_at) for the lists and counts,
//! `follows_dossier_idx` and the primary key of `follows` for the tabs.

use demarches_actors::domain::Etat;
use serde_json::Value;
use sqlx::PgPool;

/// Number of dossiers per page of the table (DS `ITEMS_PER_PAGE`).
pub const PER_PAGE: i64 = 100;

// SQL fragments, on `dossiers d`; `$1` is always the instructeur id.

/// Visible to the administration: deposited, and not an en_construction dossier the
/// usager deleted.
macro_rules! visible {
    () => {
        "d.state <> 'brouillon' and (d.hidden_by_user_at is null or d.state <> 'en_construction')"
    };
}

/// Shown in the tabs (archived dossiers have their own tab in DS).
macro_rules! listed {
    () => {
        concat!(visible!(), " and not d.archived")
    };
}

/// « à suivre »: en cours and followed by nobody.
macro_rules! a_suivre {
    () => {
        "d.state in ('en_construction', 'en_instruction') and not exists (select 1 from follows f where f.dossier_id = d.id and f.unfollowed_at is null)"
    };
}

/// « suivis »: en cours and followed by this instructeur.
macro_rules! suivis {
    () => {
        "d.state in ('en_construction', 'en_instruction') and exists (select 1 from follows f where f.instructeur_id = $1 and f.dossier_id = d.id and f.unfollowed_at is null)"
    };
}

/// « traités »: accepté, refusé or classé sans suite.
macro_rules! traites {
    () => {
        "d.state in ('accepte', 'refuse', 'sans_suite')"
    };
}

/// Columns of a table row.
macro_rules! row_columns {
    () => {
        "d.id, d.state::text as state,
         to_char(d.depose_at at time zone 'Europe/Paris', 'DD/MM/YYYY') as depose_le,
         u.email, i.nom, i.prenom"
    };
}

/// A tab of the dossiers table (`statut` in the URL, as DS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statut {
    ASuivre,
    Suivis,
    Traites,
    Tous,
}

impl Statut {
    pub const ALL: [Statut; 4] = [
        Statut::ASuivre,
        Statut::Suivis,
        Statut::Traites,
        Statut::Tous,
    ];

    pub fn parse(value: &str) -> Option<Statut> {
        Statut::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Statut::ASuivre => "a-suivre",
            Statut::Suivis => "suivis",
            Statut::Traites => "traites",
            Statut::Tous => "tous",
        }
    }

    pub fn libelle(self) -> &'static str {
        match self {
            Statut::ASuivre => "À suivre",
            Statut::Suivis => "Suivis par moi",
            Statut::Traites => "Traités",
            Statut::Tous => "Tous les dossiers",
        }
    }

    /// The sentence shown when the tab is empty.
    pub fn empty(self) -> &'static str {
        match self {
            Statut::ASuivre => "Aucun dossier à suivre pour le moment.",
            Statut::Suivis => "Vous ne suivez aucun dossier en cours.",
            Statut::Traites => "Aucun dossier traité.",
            Statut::Tous => "Aucun dossier déposé pour le moment.",
        }
    }
}

/// A démarche the instructeur is assigned to, with the size of each tab.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProcedureCounts {
    pub id: i64,
    pub libelle: String,
    pub state: String,
    pub a_suivre: i64,
    pub suivis: i64,
    pub traites: i64,
    pub total: i64,
}

impl ProcedureCounts {
    pub fn count(&self, statut: Statut) -> i64 {
        match statut {
            Statut::ASuivre => self.a_suivre,
            Statut::Suivis => self.suivis,
            Statut::Traites => self.traites,
            Statut::Tous => self.total,
        }
    }

    /// French label of the démarche's state.
    pub fn state_libelle(&self) -> &'static str {
        match self.state.as_str() {
            "publiee" => "Publiée",
            "close" => "Close",
            "depubliee" => "Dépubliée",
            _ => "En test",
        }
    }
}

macro_rules! counts_sql {
    ($filter:literal) => {
        concat!(
            "select p.id, p.libelle, p.state::text as state,
               count(d.id) filter (where ",
            a_suivre!(),
            ") as a_suivre,
               count(d.id) filter (where ",
            suivis!(),
            ") as suivis,
               count(d.id) filter (where ",
            traites!(),
            ") as traites,
               count(d.id) as total
             from assign_tos a
             join groupes_instructeurs g on g.id = a.groupe_instructeur_id
             join procedures p on p.id = g.procedure_id
             left join dossiers d on d.groupe_instructeur_id = g.id and ",
            listed!(),
            " where a.instructeur_id = $1 ",
            $filter,
            " group by p.id order by p.libelle, p.id"
        )
    };
}

/// The démarches the instructeur is assigned to (through at least one groupe).
pub async fn procedures(
    db: &PgPool,
    instructeur_id: i64,
) -> Result<Vec<ProcedureCounts>, sqlx::Error> {
    sqlx::query_as(counts_sql!(""))
        .bind(instructeur_id)
        .fetch_all(db)
        .await
}

/// One démarche of the instructeur, or `None` when not assigned to it.
pub async fn procedure(
    db: &PgPool,
    instructeur_id: i64,
    procedure_id: i64,
) -> Result<Option<ProcedureCounts>, sqlx::Error> {
    sqlx::query_as(counts_sql!("and p.id = $2"))
        .bind(instructeur_id)
        .bind(procedure_id)
        .fetch_optional(db)
        .await
}

/// The instructeur's groupes in a démarche (empty when not assigned).
pub async fn groupes(
    db: &PgPool,
    instructeur_id: i64,
    procedure_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select g.id from assign_tos a
         join groupes_instructeurs g on g.id = a.groupe_instructeur_id
         where a.instructeur_id = $1 and g.procedure_id = $2
         order by g.id",
    )
    .bind(instructeur_id)
    .bind(procedure_id)
    .fetch_all(db)
    .await
}

/// A line of the dossiers table.
#[derive(Debug, Clone)]
pub struct DossierRow {
    pub id: i64,
    pub state: Etat,
    pub depose_le: String,
    /// « Nom Prénom » for a particulier, otherwise the usager's e-mail.
    pub demandeur: String,
}

#[derive(sqlx::FromRow)]
struct RawRow {
    id: i64,
    state: String,
    depose_le: Option<String>,
    email: String,
    nom: Option<String>,
    prenom: Option<String>,
}

fn parse_etat(value: &str) -> Result<Etat, sqlx::Error> {
    value
        .parse::<Etat>()
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

impl TryFrom<RawRow> for DossierRow {
    type Error = sqlx::Error;
    fn try_from(raw: RawRow) -> Result<Self, sqlx::Error> {
        let demandeur = match (raw.nom, raw.prenom) {
            (Some(nom), Some(prenom)) => format!("{nom} {prenom}"),
            _ => raw.email,
        };
        Ok(DossierRow {
            id: raw.id,
            state: parse_etat(&raw.state)?,
            depose_le: raw.depose_le.unwrap_or_default(),
            demandeur,
        })
    }
}

/// Every listed dossier.
macro_rules! tous {
    () => {
        "true"
    };
}

macro_rules! list_sql {
    ($tab:ident) => {
        concat!(
            "select ",
            row_columns!(),
            " from dossiers d
             join assign_tos a on a.groupe_instructeur_id = d.groupe_instructeur_id and a.instructeur_id = $1
             join users u on u.id = d.user_id
             left join individuals i on i.dossier_id = d.id
             where d.procedure_id = $2 and ",
            listed!(),
            " and (",
            $tab!(),
            ") order by d.depose_at desc nulls last, d.id desc limit $3 offset $4"
        )
    };
}

/// One page (from 1) of a tab, most recently deposited first.
pub async fn dossiers(
    db: &PgPool,
    instructeur_id: i64,
    procedure_id: i64,
    statut: Statut,
    page: i64,
) -> Result<Vec<DossierRow>, sqlx::Error> {
    let sql = match statut {
        Statut::ASuivre => list_sql!(a_suivre),
        Statut::Suivis => list_sql!(suivis),
        Statut::Traites => list_sql!(traites),
        Statut::Tous => list_sql!(tous),
    };
    let rows: Vec<RawRow> = sqlx::query_as(sql)
        .bind(instructeur_id)
        .bind(procedure_id)
        .bind(PER_PAGE)
        .bind((page.max(1) - 1) * PER_PAGE)
        .fetch_all(db)
        .await?;
    rows.into_iter().map(DossierRow::try_from).collect()
}

/// One line of the table, with the tabs it belongs to.
#[derive(Debug, Clone)]
pub struct RowWithTabs {
    pub row: DossierRow,
    pub tabs: Vec<Statut>,
}

#[derive(sqlx::FromRow)]
struct RawRowWithTabs {
    #[sqlx(flatten)]
    row: RawRow,
    listed: bool,
    a_suivre: bool,
    suivis: bool,
    traites: bool,
}

/// The table line of a dossier the instructeur can see, or `None`.
pub async fn row(
    db: &PgPool,
    instructeur_id: i64,
    procedure_id: i64,
    dossier_id: i64,
) -> Result<Option<RowWithTabs>, sqlx::Error> {
    let raw: Option<RawRowWithTabs> = sqlx::query_as(concat!(
        "select ",
        row_columns!(),
        ", (not d.archived) as listed, (",
        a_suivre!(),
        ") as a_suivre, (",
        suivis!(),
        ") as suivis, (",
        traites!(),
        ") as traites
         from dossiers d
         join assign_tos a on a.groupe_instructeur_id = d.groupe_instructeur_id and a.instructeur_id = $1
         join users u on u.id = d.user_id
         left join individuals i on i.dossier_id = d.id
         where d.id = $3 and d.procedure_id = $2 and ",
        visible!()
    ))
    .bind(instructeur_id)
    .bind(procedure_id)
    .bind(dossier_id)
    .fetch_optional(db)
    .await?;
    let Some(raw) = raw else {
        return Ok(None);
    };
    let mut tabs = Vec::new();
    if raw.listed {
        for (member, statut) in [
            (raw.a_suivre, Statut::ASuivre),
            (raw.suivis, Statut::Suivis),
            (raw.traites, Statut::Traites),
            (true, Statut::Tous),
        ] {
            if member {
                tabs.push(statut);
            }
        }
    }
    Ok(Some(RowWithTabs {
        row: DossierRow::try_from(raw.row)?,
        tabs,
    }))
}

/// What the dossier page shows above the champs.
#[derive(Debug, Clone)]
pub struct DossierHead {
    pub id: i64,
    pub procedure_id: i64,
    pub procedure_libelle: String,
    pub revision_id: i64,
    pub state: Etat,
    pub lock_version: i32,
    pub depose_le: String,
    pub en_instruction_le: Option<String>,
    pub traite_le: Option<String>,
    pub motivation: Option<String>,
    pub email: String,
    pub civilite: Option<String>,
    pub nom: Option<String>,
    pub prenom: Option<String>,
    /// The identity was transmitted by FranceConnect (a dossier for individuals whose
    /// usager signed in with FranceConnect).
    pub france_connect: bool,
    /// Followed by this instructeur.
    pub followed: bool,
}

#[derive(sqlx::FromRow)]
struct RawHead {
    id: i64,
    procedure_id: i64,
    procedure_libelle: String,
    revision_id: i64,
    state: String,
    lock_version: i32,
    depose_le: Option<String>,
    en_instruction_le: Option<String>,
    traite_le: Option<String>,
    motivation: Option<String>,
    email: String,
    civilite: Option<String>,
    nom: Option<String>,
    prenom: Option<String>,
    france_connect: bool,
    followed: bool,
}

/// The dossier if the instructeur may see it: one of its groupes, not a brouillon.
pub async fn dossier(
    db: &PgPool,
    instructeur_id: i64,
    procedure_id: i64,
    dossier_id: i64,
) -> Result<Option<DossierHead>, sqlx::Error> {
    let raw: Option<RawHead> = sqlx::query_as(concat!(
        "select d.id, d.procedure_id, p.libelle as procedure_libelle, d.revision_id,
                d.state::text as state, d.lock_version,
                to_char(d.depose_at at time zone 'Europe/Paris', 'DD/MM/YYYY \"à\" HH24\"h\"MI') as depose_le,
                to_char(d.en_instruction_at at time zone 'Europe/Paris', 'DD/MM/YYYY \"à\" HH24\"h\"MI') as en_instruction_le,
                to_char(d.processed_at at time zone 'Europe/Paris', 'DD/MM/YYYY \"à\" HH24\"h\"MI') as traite_le,
                d.motivation, u.email, i.civilite, i.nom, i.prenom,
                (p.for_individual and exists (select 1 from france_connect_informations fci
                   where fci.user_id = d.user_id)) as france_connect,
                exists (select 1 from follows f where f.instructeur_id = $1 and f.dossier_id = d.id
                          and f.unfollowed_at is null) as followed
         from dossiers d
         join assign_tos a on a.groupe_instructeur_id = d.groupe_instructeur_id and a.instructeur_id = $1
         join procedures p on p.id = d.procedure_id
         join users u on u.id = d.user_id
         left join individuals i on i.dossier_id = d.id
         where d.id = $3 and d.procedure_id = $2 and ",
        visible!()
    ))
    .bind(instructeur_id)
    .bind(procedure_id)
    .bind(dossier_id)
    .fetch_optional(db)
    .await?;
    let Some(raw) = raw else {
        return Ok(None);
    };
    Ok(Some(DossierHead {
        id: raw.id,
        procedure_id: raw.procedure_id,
        procedure_libelle: raw.procedure_libelle,
        revision_id: raw.revision_id,
        state: parse_etat(&raw.state)?,
        lock_version: raw.lock_version,
        depose_le: raw.depose_le.unwrap_or_default(),
        en_instruction_le: raw.en_instruction_le,
        traite_le: raw.traite_le,
        motivation: raw.motivation,
        email: raw.email,
        civilite: raw.civilite,
        nom: raw.nom,
        prenom: raw.prenom,
        france_connect: raw.france_connect,
        followed: raw.followed,
    }))
}

/// Values of the public champs (outside repetitions), by stable id.
pub async fn champ_values(db: &PgPool, dossier_id: i64) -> Result<Vec<(i64, Value)>, sqlx::Error> {
    sqlx::query_as(
        "select stable_id, value from champs
         where dossier_id = $1 and not private and value is not null
           and row_id = '00000000-0000-0000-0000-000000000000'",
    )
    .bind(dossier_id)
    .fetch_all(db)
    .await
}

/// The annotations privées of a dossier (instructeurs only), by stable id.
pub async fn annotation_values(
    db: &PgPool,
    dossier_id: i64,
) -> Result<Vec<(i64, Value)>, sqlx::Error> {
    sqlx::query_as(
        "select stable_id, value from champs
         where dossier_id = $1 and private and value is not null
           and row_id = '00000000-0000-0000-0000-000000000000'",
    )
    .bind(dossier_id)
    .fetch_all(db)
    .await
}

/// A line of the dossier's history.
#[derive(Debug, Clone)]
pub struct Traitement {
    pub state: Etat,
    pub le: String,
    pub instructeur_email: Option<String>,
    pub motivation: Option<String>,
}

/// The state changes of a dossier, oldest first.
pub async fn traitements(db: &PgPool, dossier_id: i64) -> Result<Vec<Traitement>, sqlx::Error> {
    let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "select state::text,
                to_char(processed_at at time zone 'Europe/Paris', 'DD/MM/YYYY \"à\" HH24\"h\"MI'),
                instructeur_email, motivation
         from traitements where dossier_id = $1 order by processed_at, id",
    )
    .bind(dossier_id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(state, le, instructeur_email, motivation)| {
            Ok(Traitement {
                state: parse_etat(&state)?,
                le,
                instructeur_email,
                motivation,
            })
        })
        .collect()
}

/// Follows a dossier (« Suivre le dossier »). Following is the instructeur's own list,
/// not a change of the dossier: it takes no version and no event (as DS).
pub async fn follow(db: &PgPool, instructeur_id: i64, dossier_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into follows (instructeur_id, dossier_id) values ($1, $2)
         on conflict (instructeur_id, dossier_id) do update set unfollowed_at = null",
    )
    .bind(instructeur_id)
    .bind(dossier_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Stops following a dossier (the row is kept: DS lists previous followers).
pub async fn unfollow(
    db: &PgPool,
    instructeur_id: i64,
    dossier_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update follows set unfollowed_at = now()
         where instructeur_id = $1 and dossier_id = $2 and unfollowed_at is null",
    )
    .bind(instructeur_id)
    .bind(dossier_id)
    .execute(db)
    .await?;
    Ok(())
}
