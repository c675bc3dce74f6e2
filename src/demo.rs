//! `demarches demo`: two published demo démarches — one for individuals (associations'
//! members), one for personnes morales, which starts with the SIRET step — and three demo
//! accounts, so a new user can try every role at once. Idempotent: run again, it resets the demo passwords and prints
//! the same accounts and link.

use demarches_actors::domain::{ChampOptions, TypeChamp};
use sqlx::{PgConnection, PgPool};

use crate::accounts::store::{Role, ensure_user, grant};
use crate::config::Config;
use crate::procedures::{self, NewChamp, NewProcedure};
use crate::security::hash_password;

pub const DEMO_PATH: &str = "demo-subvention-associations";
/// The démarche for personnes morales (SIRET step, API Entreprise enabled).
pub const DEMO_ENTREPRISES_PATH: &str = "demo-aide-embauche-entreprises";
pub const DEMO_PASSWORD: &str = "Demo-Marianne-Formulaire-42!";
pub const ADMIN: &str = "admin@demo.gouv.fr";
pub const INSTRUCTEUR: &str = "instructeur@demo.gouv.fr";
pub const USAGER: &str = "usager@demo.fr";
/// A SIRET the fake API Entreprise knows (Secrétariat général du Gouvernement).
pub const DEMO_SIRET: &str = "12000101100010";

pub struct Demo {
    pub procedure_id: i64,
    pub created: bool,
    /// The démarche for personnes morales.
    pub entreprises_procedure_id: i64,
}

/// Creates (or finds) the demo démarche and accounts.
pub async fn seed(db: &PgPool, config: &Config) -> anyhow::Result<Demo> {
    let mut tx = db.begin().await?;
    let admin = demo_account(&mut tx, ADMIN, &[Role::Administrateur, Role::Instructeur]).await?;
    demo_account(&mut tx, INSTRUCTEUR, &[Role::Instructeur]).await?;
    demo_account(&mut tx, USAGER, &[]).await?;

    let existing: Option<i64> = sqlx::query_scalar("select id from procedures where path = $1")
        .bind(DEMO_PATH)
        .fetch_optional(&mut *tx)
        .await?;
    let (procedure_id, created) = match existing {
        Some(id) => (id, false),
        None => (create_associations(&mut tx, config, admin).await?, true),
    };
    enable_api_entreprise(&mut tx, procedure_id).await?;
    let entreprises_procedure_id = entreprises(&mut tx, config, admin).await?;
    enable_api_entreprise(&mut tx, entreprises_procedure_id).await?;
    tx.commit().await?;
    Ok(Demo {
        procedure_id,
        created,
        entreprises_procedure_id,
    })
}

async fn create_associations(
    tx: &mut PgConnection,
    config: &Config,
    admin: i64,
) -> anyhow::Result<i64> {
    let procedure_id = procedures::create_procedure(
        &mut *tx,
        admin,
        NewProcedure {
            libelle: "Demande de subvention pour les associations".to_owned(),
            description: "Cette démarche permet aux associations de demander une subvention de \
                          fonctionnement pour un projet d’intérêt local. Munissez-vous de la \
                          description de votre projet et de son budget."
                .to_owned(),
            organisation: "Ministère de la démonstration".to_owned(),
            for_individual: true,
            path: Some(DEMO_PATH.to_owned()),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo démarche: {e}"))?;
    fill_and_publish(tx, config, procedure_id, demo_champs(), DEMO_PATH).await?;
    Ok(procedure_id)
}

/// The démarche for personnes morales (found, or created and published).
async fn entreprises(tx: &mut PgConnection, config: &Config, admin: i64) -> anyhow::Result<i64> {
    let existing: Option<i64> = sqlx::query_scalar("select id from procedures where path = $1")
        .bind(DEMO_ENTREPRISES_PATH)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let procedure_id = procedures::create_procedure(
        &mut *tx,
        admin,
        NewProcedure {
            libelle: "Aide à l’embauche pour les entreprises".to_owned(),
            description: "Cette démarche permet aux entreprises de demander une aide pour un \
                          recrutement. Le dossier commence par le numéro SIRET de votre \
                          établissement : ses informations sont récupérées automatiquement."
                .to_owned(),
            organisation: "Ministère de la démonstration".to_owned(),
            for_individual: false,
            path: Some(DEMO_ENTREPRISES_PATH.to_owned()),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo démarche: {e}"))?;
    let champs = vec![
        champ(TypeChamp::HeaderSection, "Le recrutement", "", false),
        champ(TypeChamp::Text, "Intitulé du poste", "", true),
        champ(TypeChamp::Date, "Date d’embauche prévue", "", true),
        champ(
            TypeChamp::Checkbox,
            "J’atteste sur l’honneur l’exactitude des informations fournies",
            "",
            true,
        ),
    ];
    fill_and_publish(tx, config, procedure_id, champs, DEMO_ENTREPRISES_PATH).await?;
    Ok(procedure_id)
}

async fn fill_and_publish(
    tx: &mut PgConnection,
    config: &Config,
    procedure_id: i64,
    champs: Vec<NewChamp>,
    path: &str,
) -> anyhow::Result<()> {
    for champ in champs {
        procedures::add_champ(&mut *tx, procedure_id, champ, None)
            .await
            .map_err(|e| anyhow::anyhow!("demo champ: {e}"))?;
    }
    procedures::invite_instructeur(&mut *tx, config, procedure_id, INSTRUCTEUR)
        .await
        .map_err(|e| anyhow::anyhow!("demo instructeur: {e}"))?;
    procedures::publish(&mut *tx, procedure_id, path)
        .await
        .map_err(|e| anyhow::anyhow!("demo publication: {e}"))?;
    Ok(())
}

/// The API Entreprise connector enabled on the demo démarche: its SIRET champ shows the
/// établissement (offline with `plugins.fake_upstreams`, as `.ci/serve` runs it).
async fn enable_api_entreprise(conn: &mut PgConnection, procedure_id: i64) -> anyhow::Result<()> {
    sqlx::query(
        "insert into procedure_connectors
           (procedure_id, connector, interface_major, config, enabled, capabilities)
         values ($1, 'api_entreprise', 1, '{}', true, '{siret}')
         on conflict (procedure_id, connector) do nothing",
    )
    .bind(procedure_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A confirmed account with the demo password and `roles`.
async fn demo_account(conn: &mut PgConnection, email: &str, roles: &[Role]) -> anyhow::Result<i64> {
    let (id, _) = ensure_user(conn, email).await?;
    sqlx::query(
        "update users set password_hash = $2, confirmed_at = coalesce(confirmed_at, now()),
           failed_attempts = 0, locked_until = null where id = $1",
    )
    .bind(id)
    .bind(hash_password(DEMO_PASSWORD)?)
    .execute(&mut *conn)
    .await?;
    for role in roles {
        grant(conn, id, *role).await?;
    }
    Ok(id)
}

fn champ(type_champ: TypeChamp, libelle: &str, description: &str, mandatory: bool) -> NewChamp {
    NewChamp {
        type_champ,
        libelle: libelle.to_owned(),
        description: description.to_owned(),
        mandatory,
        options: ChampOptions::default(),
    }
}

fn demo_champs() -> Vec<NewChamp> {
    vec![
        champ(TypeChamp::HeaderSection, "Votre association", "", false),
        champ(TypeChamp::Text, "Nom de l’association", "", true),
        champ(
            TypeChamp::Siret,
            "Numéro SIRET de l’association",
            "Les informations de l’établissement sont récupérées auprès de l’INSEE.",
            false,
        ),
        champ(
            TypeChamp::Email,
            "Adresse électronique de l’association",
            "",
            true,
        ),
        champ(TypeChamp::Phone, "Téléphone", "", false),
        champ(
            TypeChamp::Address,
            "Adresse",
            "Commencez à saisir l’adresse puis choisissez-la dans la liste.",
            false,
        ),
        NewChamp {
            options: ChampOptions {
                drop_down_options: vec![
                    "Culture".to_owned(),
                    "Sport".to_owned(),
                    "Solidarité".to_owned(),
                    "Environnement".to_owned(),
                ],
                ..ChampOptions::default()
            },
            ..champ(TypeChamp::DropDownList, "Domaine d’activité", "", true)
        },
        champ(TypeChamp::HeaderSection, "Votre projet", "", false),
        champ(
            TypeChamp::Explication,
            "À propos du projet",
            "Décrivez le projet en quelques lignes : son public, son calendrier et son budget.",
            false,
        ),
        NewChamp {
            options: ChampOptions {
                character_limit: Some(2000),
                ..ChampOptions::default()
            },
            ..champ(TypeChamp::Textarea, "Description du projet", "", true)
        },
        champ(TypeChamp::Date, "Date de début du projet", "", true),
        NewChamp {
            options: ChampOptions {
                min: Some(1),
                ..ChampOptions::default()
            },
            ..champ(
                TypeChamp::IntegerNumber,
                "Nombre de bénéficiaires",
                "",
                false,
            )
        },
        champ(
            TypeChamp::PieceJustificative,
            "Budget prévisionnel",
            "Joignez le budget du projet (PDF, tableur…).",
            false,
        ),
        champ(
            TypeChamp::Checkbox,
            "J’atteste sur l’honneur l’exactitude des informations fournies",
            "",
            true,
        ),
    ]
}

/// What `demarches demo` prints.
pub fn summary(config: &Config, demo: &Demo) -> String {
    format!(
        "Démarche de démonstration {state} (n° {id}) :\n  {link}\n\
         Démarche pour les personnes morales (étape SIRET, n° {entreprises_id}) :\n  \
         {entreprises_link}\n\n\
         Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :\n  \
         administrateur  {ADMIN}\n  instructeur     {INSTRUCTEUR}\n  usager          {USAGER}\n\n\
         Connexion : {sign_in}\n\
         SIRET de démonstration (API Entreprise simulée avec plugins.fake_upstreams) : \
         {DEMO_SIRET}\n\
         Adresses de démonstration (BAN simulée avec plugins.fake_upstreams, champ « Adresse ») : \
         {addresses}\n{france_connect}{mails}",
        addresses = demarches_fakes::ban::DEMO_ADDRESSES
            .iter()
            .map(|a| format!("« {a} »"))
            .collect::<Vec<_>>()
            .join(", "),
        france_connect = if config.plugins.fake_france_connect.is_empty() {
            String::new()
        } else {
            format!(
                "FranceConnect (fournisseur d’identité factice sur {}, avec {}) :\n  « S’identifier avec FranceConnect » connecte Angela DUBOIS\n",
                config.plugins.fake_france_connect, "var/plugins/france_connect.wasm"
            )
        },
        state = if demo.created {
            "créée"
        } else {
            "déjà en place"
        },
        id = demo.procedure_id,
        link = config.url(&format!("/commencer/{DEMO_PATH}")),
        entreprises_id = demo.entreprises_procedure_id,
        entreprises_link = config.url(&format!("/commencer/{DEMO_ENTREPRISES_PATH}")),
        sign_in = config.url("/users/sign_in"),
        mails = if config.mail.smtp_url.is_empty() && config.dev_pages() {
            format!("E-mails envoyés : {}\n", config.url("/dev/mails"))
        } else {
            String::new()
        },
    )
}
