//! Direct SQL seeds for tests that need data the UI of another area would create.
//! They write rows exactly as the application does (same columns, same event versions).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct SeededChamp {
    pub stable_id: i64,
    pub type_champ: String,
    pub libelle: String,
}

#[derive(Debug, Clone)]
pub struct SeededProcedure {
    pub id: i64,
    pub libelle: String,
    pub path: String,
    pub revision_id: i64,
    pub groupe_id: i64,
    pub champs: Vec<SeededChamp>,
}

impl SeededProcedure {
    pub fn champ(&self, libelle: &str) -> &SeededChamp {
        self.champs
            .iter()
            .find(|c| c.libelle == libelle)
            .unwrap_or_else(|| panic!("no champ {libelle}"))
    }
}

pub async fn user_id(db: &PgPool, email: &str) -> i64 {
    if let Some(id) = sqlx::query_scalar("select id from users where lower(email) = lower($1)")
        .bind(email)
        .fetch_optional(db)
        .await
        .unwrap()
    {
        return id;
    }
    sqlx::query_scalar("insert into users (email, confirmed_at) values ($1, now()) returning id")
        .bind(email)
        .fetch_one(db)
        .await
        .unwrap()
}

/// A published démarche "particuliers" with the given champs
/// (`(type_champ, libelle, mandatory, options)`), a default groupe, and its administrateur.
pub async fn published_procedure(
    db: &PgPool,
    libelle: &str,
    path: &str,
    admin_email: &str,
    champs: &[(&str, &str, bool, Value)],
) -> SeededProcedure {
    let admin = user_id(db, admin_email).await;
    sqlx::query("update users set is_administrateur = true, is_instructeur = true where id = $1")
        .bind(admin)
        .execute(db)
        .await
        .unwrap();
    let id: i64 = sqlx::query_scalar(
        "insert into procedures (libelle, description, organisation, path, state, published_at)
         values ($1, 'Description de la démarche.', 'Ministère des tests', $2, 'publiee', now()) returning id",
    )
    .bind(libelle)
    .bind(path)
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query("insert into procedure_administrateurs (procedure_id, user_id) values ($1, $2)")
        .bind(id)
        .bind(admin)
        .execute(db)
        .await
        .unwrap();
    let published: i64 = sqlx::query_scalar(
        "insert into procedure_revisions (procedure_id, published_at) values ($1, now()) returning id",
    )
    .bind(id)
    .fetch_one(db)
    .await
    .unwrap();
    let draft: i64 = sqlx::query_scalar(
        "insert into procedure_revisions (procedure_id) values ($1) returning id",
    )
    .bind(id)
    .fetch_one(db)
    .await
    .unwrap();
    let mut seeded = Vec::new();
    for (position, (type_champ, champ_libelle, mandatory, options)) in champs.iter().enumerate() {
        let stable_id: i64 = sqlx::query_scalar("select nextval('types_de_champ_stable_id_seq')")
            .fetch_one(db)
            .await
            .unwrap();
        for revision in [published, draft] {
            sqlx::query(
                "insert into types_de_champ (revision_id, stable_id, position, type_champ, libelle, mandatory, options)
                 values ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(revision)
            .bind(stable_id)
            .bind(position as i32)
            .bind(type_champ)
            .bind(champ_libelle)
            .bind(mandatory)
            .bind(options)
            .execute(db)
            .await
            .unwrap();
        }
        seeded.push(SeededChamp {
            stable_id,
            type_champ: (*type_champ).to_owned(),
            libelle: (*champ_libelle).to_owned(),
        });
    }
    let groupe_id: i64 = sqlx::query_scalar(
        "insert into groupes_instructeurs (procedure_id, label) values ($1, 'défaut') returning id",
    )
    .bind(id)
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query(
        "update procedures set published_revision_id = $2, draft_revision_id = $3,
           defaut_groupe_instructeur_id = $4 where id = $1",
    )
    .bind(id)
    .bind(published)
    .bind(draft)
    .bind(groupe_id)
    .execute(db)
    .await
    .unwrap();
    assign(db, groupe_id, admin_email).await;
    SeededProcedure {
        id,
        libelle: libelle.to_owned(),
        path: path.to_owned(),
        revision_id: published,
        groupe_id,
        champs: seeded,
    }
}

/// The usual small form: a mandatory text, an optional integer, a mandatory drop-down.
pub async fn simple_procedure(db: &PgPool, path: &str) -> SeededProcedure {
    published_procedure(
        db,
        "Demande de subvention",
        path,
        "admin@example.gouv.fr",
        &[
            ("text", "Nom du projet", true, json!({})),
            ("integer_number", "Nombre de participants", false, json!({})),
            (
                "drop_down_list",
                "Type de structure",
                true,
                json!({"drop_down_options": ["Association", "Entreprise", "Collectivité"]}),
            ),
        ],
    )
    .await
}

/// Names `email` instructeur of `groupe_id` (creating the account if needed).
pub async fn assign(db: &PgPool, groupe_id: i64, email: &str) -> i64 {
    let id = user_id(db, email).await;
    sqlx::query("update users set is_instructeur = true where id = $1")
        .bind(id)
        .execute(db)
        .await
        .unwrap();
    sqlx::query("insert into assign_tos (groupe_instructeur_id, instructeur_id) values ($1, $2) on conflict do nothing")
        .bind(groupe_id)
        .bind(id)
        .execute(db)
        .await
        .unwrap();
    id
}

/// A dossier deposited by `usager_email` (en construction, version 1), with its identity
/// and the given champ values (`(libelle, value)`).
pub async fn deposited_dossier(
    db: &PgPool,
    procedure: &SeededProcedure,
    usager_email: &str,
    values: &[(&str, Value)],
) -> i64 {
    let user = user_id(db, usager_email).await;
    let id: i64 = sqlx::query_scalar(
        "insert into dossiers (procedure_id, revision_id, user_id, state, groupe_instructeur_id,
           lock_version, depose_at, en_construction_at, last_champ_updated_at)
         values ($1, $2, $3, 'en_construction', $4, 1, now(), now(), now()) returning id",
    )
    .bind(procedure.id)
    .bind(procedure.revision_id)
    .bind(user)
    .bind(procedure.groupe_id)
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query("insert into individuals (dossier_id, civilite, nom, prenom) values ($1, 'Mme', 'Durand', 'Camille')")
        .bind(id)
        .execute(db)
        .await
        .unwrap();
    for (libelle, value) in values {
        sqlx::query("insert into champs (dossier_id, stable_id, value) values ($1, $2, $3)")
            .bind(id)
            .bind(procedure.champ(libelle).stable_id)
            .bind(value)
            .execute(db)
            .await
            .unwrap();
    }
    for (version, kind) in [(0, "creer"), (1, "passer_en_construction")] {
        sqlx::query(
            "insert into dossier_events (dossier_id, version, kind, actor_kind, actor_id) values ($1, $2, $3, 'usager', $4)",
        )
        .bind(id)
        .bind(version)
        .bind(kind)
        .bind(user)
        .execute(db)
        .await
        .unwrap();
    }
    sqlx::query("insert into traitements (dossier_id, state) values ($1, 'en_construction')")
        .bind(id)
        .execute(db)
        .await
        .unwrap();
    id
}
