//! Reading démarches for the administrateur pages. Access is always checked against
//! `procedure_administrateurs`: a démarche of another administrateur is "not found".

use sqlx::PgConnection;
use time::OffsetDateTime;

/// State of a démarche (`procedure_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcedureState {
    Brouillon,
    Publiee,
    Close,
    Depubliee,
}

impl ProcedureState {
    /// Parses the database value; an unknown value is read as closed (accepts nothing).
    pub fn parse(value: &str) -> Self {
        match value {
            "brouillon" => ProcedureState::Brouillon,
            "publiee" => ProcedureState::Publiee,
            "depubliee" => ProcedureState::Depubliee,
            _ => ProcedureState::Close,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProcedureState::Brouillon => "brouillon",
            ProcedureState::Publiee => "publiee",
            ProcedureState::Close => "close",
            ProcedureState::Depubliee => "depubliee",
        }
    }

    /// The French label of the administrateur pages (DS calls a brouillon "En test").
    pub fn libelle(self) -> &'static str {
        match self {
            ProcedureState::Brouillon => "En test",
            ProcedureState::Publiee => "Publiée",
            ProcedureState::Close => "Close",
            ProcedureState::Depubliee => "Dépubliée",
        }
    }

    /// DSFR badge modifier.
    pub fn badge(self) -> &'static str {
        match self {
            ProcedureState::Brouillon => "new",
            ProcedureState::Publiee => "success",
            ProcedureState::Close | ProcedureState::Depubliee => "info",
        }
    }

    pub fn is_brouillon(self) -> bool {
        self == ProcedureState::Brouillon
    }

    pub fn is_publiee(self) -> bool {
        self == ProcedureState::Publiee
    }

    /// Published at least once (its public link exists).
    pub fn has_public_link(self) -> bool {
        !self.is_brouillon()
    }
}

/// A démarche as its administrateurs see it.
#[derive(Debug, Clone)]
pub struct Procedure {
    pub id: i64,
    pub libelle: String,
    pub description: String,
    pub organisation: String,
    pub for_individual: bool,
    pub state: ProcedureState,
    pub path: String,
    pub draft_revision_id: Option<i64>,
    pub published_revision_id: Option<i64>,
    pub defaut_groupe_id: Option<i64>,
    pub published_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl Procedure {
    /// "Particuliers" or "Personnes morales".
    pub fn public_libelle(&self) -> &'static str {
        if self.for_individual {
            "Particuliers"
        } else {
            "Personnes morales"
        }
    }
}

#[derive(sqlx::FromRow)]
struct ProcedureRow {
    id: i64,
    libelle: String,
    description: String,
    organisation: String,
    for_individual: bool,
    state: String,
    path: String,
    draft_revision_id: Option<i64>,
    published_revision_id: Option<i64>,
    defaut_groupe_instructeur_id: Option<i64>,
    published_at: Option<OffsetDateTime>,
    closed_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

impl From<ProcedureRow> for Procedure {
    fn from(r: ProcedureRow) -> Self {
        Procedure {
            id: r.id,
            libelle: r.libelle,
            description: r.description,
            organisation: r.organisation,
            for_individual: r.for_individual,
            state: ProcedureState::parse(&r.state),
            path: r.path,
            draft_revision_id: r.draft_revision_id,
            published_revision_id: r.published_revision_id,
            defaut_groupe_id: r.defaut_groupe_instructeur_id,
            published_at: r.published_at,
            closed_at: r.closed_at,
            created_at: r.created_at,
        }
    }
}

/// The démarche `procedure_id` if `admin_user_id` is one of its administrateurs.
pub async fn find_for_admin(
    conn: &mut PgConnection,
    admin_user_id: i64,
    procedure_id: i64,
) -> Result<Option<Procedure>, sqlx::Error> {
    let row: Option<ProcedureRow> = sqlx::query_as(
        "select p.id, p.libelle, p.description, p.organisation, p.for_individual,
                p.state::text as state, p.path, p.draft_revision_id, p.published_revision_id,
                p.defaut_groupe_instructeur_id, p.published_at, p.closed_at, p.created_at
         from procedures p
         join procedure_administrateurs pa on pa.procedure_id = p.id and pa.user_id = $1
         where p.id = $2",
    )
    .bind(admin_user_id)
    .bind(procedure_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Procedure::from))
}

/// The tabs of "Mes démarches" (DS: "En test", "Publiées", "Closes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    EnTest,
    Publiees,
    Closes,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Publiees, Tab::EnTest, Tab::Closes];

    pub fn parse(value: &str) -> Option<Tab> {
        match value {
            "en-test" => Some(Tab::EnTest),
            "publiees" => Some(Tab::Publiees),
            "closes" => Some(Tab::Closes),
            _ => None,
        }
    }

    /// The query-string value.
    pub fn slug(self) -> &'static str {
        match self {
            Tab::EnTest => "en-test",
            Tab::Publiees => "publiees",
            Tab::Closes => "closes",
        }
    }

    pub fn libelle(self) -> &'static str {
        match self {
            Tab::EnTest => "En test",
            Tab::Publiees => "Publiées",
            Tab::Closes => "Closes",
        }
    }

    /// The `procedure_state` values listed in this tab.
    fn states(self) -> &'static [&'static str] {
        match self {
            Tab::EnTest => &["brouillon"],
            Tab::Publiees => &["publiee"],
            Tab::Closes => &["close", "depubliee"],
        }
    }
}

/// Number of démarches of an administrateur in each tab.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TabCounts {
    pub en_test: i64,
    pub publiees: i64,
    pub closes: i64,
}

impl TabCounts {
    pub fn get(&self, tab: Tab) -> i64 {
        match tab {
            Tab::EnTest => self.en_test,
            Tab::Publiees => self.publiees,
            Tab::Closes => self.closes,
        }
    }
}

pub async fn count_by_tab(
    conn: &mut PgConnection,
    admin_user_id: i64,
) -> Result<TabCounts, sqlx::Error> {
    let (en_test, publiees, closes): (i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where p.state = 'brouillon'),
                count(*) filter (where p.state = 'publiee'),
                count(*) filter (where p.state in ('close', 'depubliee'))
         from procedures p
         join procedure_administrateurs pa on pa.procedure_id = p.id
         where pa.user_id = $1",
    )
    .bind(admin_user_id)
    .fetch_one(conn)
    .await?;
    Ok(TabCounts {
        en_test,
        publiees,
        closes,
    })
}

/// One line of "Mes démarches".
#[derive(Debug, Clone)]
pub struct ProcedureListItem {
    pub id: i64,
    pub libelle: String,
    pub state: ProcedureState,
    pub path: String,
    /// Dossiers deposited (brouillons excluded).
    pub dossiers: i64,
}

/// One page of an administrateur's démarches in a tab, most recent first.
pub async fn list_for_admin(
    conn: &mut PgConnection,
    admin_user_id: i64,
    tab: Tab,
    offset: i64,
    limit: i64,
) -> Result<Vec<ProcedureListItem>, sqlx::Error> {
    let states: Vec<String> = tab.states().iter().map(|s| (*s).to_owned()).collect();
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "select p.id, p.libelle, p.state::text, p.path,
                (select count(*) from dossiers d
                 where d.procedure_id = p.id and d.state <> 'brouillon') as dossiers
         from procedures p
         join procedure_administrateurs pa on pa.procedure_id = p.id
         where pa.user_id = $1 and p.state::text = any($2)
         order by p.created_at desc, p.id desc
         offset $3 limit $4",
    )
    .bind(admin_user_id)
    .bind(states)
    .bind(offset)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, libelle, state, path, dossiers)| ProcedureListItem {
            id,
            libelle,
            state: ProcedureState::parse(&state),
            path,
            dossiers,
        })
        .collect())
}

/// Number of dossiers of a démarche by kind, for its page.
#[derive(Debug, Clone, Copy, Default)]
pub struct DossierCounts {
    /// Deposited dossiers (brouillons excluded).
    pub deposes: i64,
    /// Dossiers on the draft revision: test dossiers while the démarche is en test.
    pub test: i64,
}

pub async fn dossier_counts(
    conn: &mut PgConnection,
    procedure: &Procedure,
) -> Result<DossierCounts, sqlx::Error> {
    let (deposes, test): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where state <> 'brouillon'),
                count(*) filter (where revision_id = $2)
         from dossiers where procedure_id = $1",
    )
    .bind(procedure.id)
    .bind(procedure.draft_revision_id)
    .fetch_one(conn)
    .await?;
    Ok(DossierCounts { deposes, test })
}
