//! `demarches bench form`: the server time of a long form, through the real HTTP handlers
//! (session, CSRF, dossier actor → decide → commit, queries, templates) called in process,
//! without the network: saving the brouillon in the background as `app.js` does while the
//! usager types (the whole form sent, one value changed), rendering the usager's form, and,
//! once deposited, rendering the instructeur's page of the dossier.

use std::time::Instant;

use actix_web::cookie::Cookie;
use actix_web::{App, test, web};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{in_scratch_database, percentile};
use crate::config::Config;
use crate::security::random_token;
use crate::server;
use crate::web::csrf::{CSRF_COOKIE, CSRF_FIELD};
use crate::web::session::{self, Profile, SESSION_COOKIE};

/// What to build and how often to measure.
#[derive(Debug, Clone, Copy)]
pub struct FormBench {
    /// Top-level champs of the form.
    pub champs: usize,
    /// Rows of a bloc répétable added after them (0: no block).
    pub rows: usize,
    /// Children of that block.
    pub children: usize,
    /// Measures of each operation.
    pub iterations: usize,
}

/// Latencies of one operation, in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Timings(pub Vec<f64>);

impl std::fmt::Display for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms ({} mesures)",
            self.p(0.50),
            self.p(0.95),
            self.p(0.99),
            self.0.len()
        )
    }
}

impl Timings {
    pub fn p(&self, p: f64) -> f64 {
        percentile(&self.0, p)
    }
}

#[derive(Debug, Clone)]
pub struct FormReport {
    pub bench: FormBench,
    /// Values sent by each save (champs and children of every row).
    pub values: usize,
    /// The first save, which writes every value.
    pub first_save_ms: f64,
    /// Later saves: the whole form sent, one value changed.
    pub save: Timings,
    /// `GET /dossiers/{id}/brouillon`.
    pub usager_page: Timings,
    pub usager_page_bytes: usize,
    /// `GET /procedures/{p}/dossiers/{id}` once deposited.
    pub instructeur_page: Timings,
    pub instructeur_page_bytes: usize,
}

impl std::fmt::Display for FormReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Formulaire de {} champs{} : {} valeurs par enregistrement",
            self.bench.champs,
            if self.bench.rows > 0 {
                format!(
                    " + un bloc répétable de {} lignes × {} champs",
                    self.bench.rows, self.bench.children
                )
            } else {
                String::new()
            },
            self.values
        )?;
        writeln!(
            f,
            "  premier enregistrement du brouillon (toutes les valeurs écrites) : {:.1} ms",
            self.first_save_ms
        )?;
        writeln!(
            f,
            "  enregistrement du brouillon (formulaire entier, une valeur modifiée) : {}",
            self.save
        )?;
        writeln!(
            f,
            "  page du brouillon (usager, {} Ko) : {}",
            self.usager_page_bytes / 1024,
            self.usager_page
        )?;
        write!(
            f,
            "  page du dossier (instructeur, {} Ko) : {}",
            self.instructeur_page_bytes / 1024,
            self.instructeur_page
        )
    }
}

/// The champ types of the form, in turn, with a value each accepts.
const KINDS: [(&str, &str); 10] = [
    ("text", "Association des jardins partagés"),
    ("integer_number", "120"),
    ("date", "2027-03-01"),
    ("email", "contact@jardins.example.fr"),
    ("drop_down_list", "Association"),
    ("checkbox", "on"),
    (
        "textarea",
        "Un jardin ouvert à tous les habitants du quartier.",
    ),
    ("phone", "01 23 45 67 89"),
    ("decimal_number", "12,5"),
    ("yes_no", "true"),
];

fn options(type_champ: &str) -> Value {
    if type_champ == "drop_down_list" {
        json!({"drop_down_options": ["Association", "Entreprise", "Collectivité"]})
    } else {
        json!({})
    }
}

/// Runs the benchmark in a scratch database.
pub async fn run(config: &Config, bench: FormBench) -> anyhow::Result<FormReport> {
    in_scratch_database(config, 8, |config| run_in(config, bench)).await
}

struct Setup {
    procedure_id: i64,
    revision_id: i64,
    usager_id: i64,
    instructeur_id: i64,
    /// (stable id, type) of the top-level champs and of the block's children.
    champs: Vec<(i64, &'static str)>,
    block: Option<(i64, Vec<(i64, &'static str)>)>,
}

async fn setup(db: &PgPool, bench: FormBench) -> anyhow::Result<Setup> {
    let user = |email: &'static str, instructeur: bool| {
        sqlx::query_scalar::<_, i64>(
            "insert into users (email, confirmed_at, is_instructeur) values ($1, now(), $2)
             returning id",
        )
        .bind(email)
        .bind(instructeur)
        .fetch_one(db)
    };
    let usager_id = user("usager@bench.example.fr", false).await?;
    let instructeur_id = user("instructeur@bench.example.fr", true).await?;
    let procedure_id: i64 = sqlx::query_scalar(
        "insert into procedures (libelle, description, organisation, path, state, published_at,
                                 for_individual)
         values ('Formulaire long', 'Banc d’essai.', 'Banc d’essai', 'formulaire-long',
                 'publiee', now(), false)
         returning id",
    )
    .fetch_one(db)
    .await?;
    let revision_id: i64 = sqlx::query_scalar(
        "insert into procedure_revisions (procedure_id, published_at) values ($1, now())
         returning id",
    )
    .bind(procedure_id)
    .fetch_one(db)
    .await?;
    let insert = |position: usize, parent: Option<i64>, type_champ: &'static str| {
        sqlx::query_scalar::<_, i64>(
            "insert into types_de_champ
               (revision_id, stable_id, parent_stable_id, position, type_champ, libelle,
                mandatory, options)
             values ($1, nextval('types_de_champ_stable_id_seq'), $2, $3, $4, $5, true, $6)
             returning stable_id",
        )
        .bind(revision_id)
        .bind(parent)
        .bind(position as i32)
        .bind(type_champ)
        .bind(format!("Question n° {} ({type_champ})", position + 1))
        .bind(options(type_champ))
        .fetch_one(db)
    };
    let mut champs = Vec::with_capacity(bench.champs);
    for i in 0..bench.champs {
        let (type_champ, _) = KINDS[i % KINDS.len()];
        champs.push((insert(i, None, type_champ).await?, type_champ));
    }
    let block = if bench.rows > 0 {
        let block = insert(bench.champs, None, "repetition").await?;
        let mut children = Vec::with_capacity(bench.children);
        for i in 0..bench.children {
            let (type_champ, _) = KINDS[i % KINDS.len()];
            children.push((insert(i, Some(block), type_champ).await?, type_champ));
        }
        Some((block, children))
    } else {
        None
    };
    let groupe_id: i64 = sqlx::query_scalar(
        "insert into groupes_instructeurs (procedure_id, label) values ($1, 'défaut')
         returning id",
    )
    .bind(procedure_id)
    .fetch_one(db)
    .await?;
    sqlx::query(
        "update procedures set published_revision_id = $2, defaut_groupe_instructeur_id = $3
         where id = $1",
    )
    .bind(procedure_id)
    .bind(revision_id)
    .bind(groupe_id)
    .execute(db)
    .await?;
    sqlx::query("insert into assign_tos (groupe_instructeur_id, instructeur_id) values ($1, $2)")
        .bind(groupe_id)
        .bind(instructeur_id)
        .execute(db)
        .await?;
    Ok(Setup {
        procedure_id,
        revision_id,
        usager_id,
        instructeur_id,
        champs,
        block,
    })
}

fn sample(type_champ: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(t, _)| *t == type_champ)
        .map_or("", |(_, v)| v)
}

/// The form as the browser sends it; the first text champ holds `marker`.
fn form_body(setup: &Setup, rows: &[Uuid], csrf: &str, action: &str, marker: &str) -> String {
    let mut pairs: Vec<(String, String)> = vec![(CSRF_FIELD.to_owned(), csrf.to_owned())];
    let mut marked = false;
    for (id, type_champ) in &setup.champs {
        let value = if !marked && *type_champ == "text" {
            marked = true;
            marker
        } else {
            sample(type_champ)
        };
        pairs.push((format!("champ_{id}"), value.to_owned()));
    }
    if let Some((_, children)) = &setup.block {
        for row in rows {
            for (child, type_champ) in children {
                pairs.push((
                    demarches_actors::domain::repetition::field(*child, *row),
                    sample(type_champ).to_owned(),
                ));
            }
        }
    }
    if !action.is_empty() {
        pairs.push(("action".to_owned(), action.to_owned()));
    }
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

async fn run_in(config: std::sync::Arc<Config>, bench: FormBench) -> anyhow::Result<FormReport> {
    let db = server::connect(&config).await?;
    server::migrate(&db).await?;
    let setup = setup(&db, bench).await?;
    let state = server::build_state(config.clone(), db.clone())?;
    let author = demarches_actors::store::dossier::Author {
        kind: demarches_actors::store::dossier::AuthorKind::Usager,
        user_id: Some(setup.usager_id),
        email: "usager@bench.example.fr".to_owned(),
    };
    let dossier_id = demarches_actors::store::dossier::create(
        &db,
        setup.procedure_id,
        setup.revision_id,
        &author,
    )
    .await?;
    // A démarche for personnes morales: the dossier has passed its SIRET step (not looked up).
    sqlx::query("update dossiers set siret = '12000101100010' where id = $1")
        .bind(dossier_id)
        .execute(&db)
        .await?;
    // The block's rows (their ids are the block's value, as after « Ajouter un élément »).
    let rows: Vec<Uuid> = (0..bench.rows).map(|_| Uuid::new_v4()).collect();
    if let Some((block, _)) = &setup.block {
        sqlx::query(
            "insert into champs (dossier_id, stable_id, row_id, value)
             values ($1, $2, '00000000-0000-0000-0000-000000000000', $3)",
        )
        .bind(dossier_id)
        .bind(block)
        .bind(demarches_actors::domain::repetition::rows_value(&rows))
        .execute(&db)
        .await?;
    }

    let data = web::Data::new(state.clone());
    let app = test::init_service(
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(crate::web::csrf::FORM_LIMIT))
            .wrap(actix_web::middleware::from_fn(crate::web::csrf::middleware))
            .configure(|cfg| crate::web::configure(cfg, &config)),
    )
    .await;
    let usager = session::start(&db, &state, setup.usager_id, Profile::Usager).await?;
    let instructeur =
        session::start(&db, &state, setup.instructeur_id, Profile::Instructeur).await?;
    let csrf = random_token();
    let cookies = |session: &Cookie<'static>| {
        vec![
            Cookie::new(SESSION_COOKIE, session.value().to_owned()),
            Cookie::new(CSRF_COOKIE, csrf.clone()),
        ]
    };
    let request = |method: &str, uri: &str, session: &Cookie<'static>, body: Option<String>| {
        let mut req = match method {
            "POST" => test::TestRequest::post()
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(body.unwrap_or_default()),
            _ => test::TestRequest::get(),
        }
        .uri(uri);
        for cookie in cookies(session) {
            req = req.cookie(cookie);
        }
        req.to_request()
    };

    let autosave = format!("/dossiers/{dossier_id}/brouillon/autosave");
    let send = async |body: String| -> anyhow::Result<f64> {
        let started = Instant::now();
        let res = test::call_service(&app, request("POST", &autosave, &usager, Some(body))).await;
        let status = res.status();
        let bytes = test::read_body(res).await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let clean = answer
            .get("errors")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty);
        if !status.is_success() || !clean {
            anyhow::bail!("autosave refused ({status}): {answer}");
        }
        Ok(elapsed)
    };
    let first_save_ms = send(form_body(&setup, &rows, &csrf, "", "Valeur initiale")).await?;
    let mut save = Vec::with_capacity(bench.iterations);
    for i in 0..bench.iterations {
        save.push(send(form_body(&setup, &rows, &csrf, "", &format!("Valeur {i}"))).await?);
    }

    let get = async |uri: &str, session: &Cookie<'static>| -> anyhow::Result<(f64, usize)> {
        let started = Instant::now();
        let res = test::call_service(&app, request("GET", uri, session, None)).await;
        let status = res.status();
        let bytes = test::read_body(res).await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        if status != actix_web::http::StatusCode::OK {
            anyhow::bail!("GET {uri}: {status}");
        }
        Ok((elapsed, bytes.len()))
    };
    let brouillon = format!("/dossiers/{dossier_id}/brouillon");
    let mut usager_page = Vec::with_capacity(bench.iterations);
    let mut usager_page_bytes = 0;
    for _ in 0..bench.iterations {
        let (ms, bytes) = get(&brouillon, &usager).await?;
        usager_page.push(ms);
        usager_page_bytes = bytes;
    }

    // Deposit through « Déposer le dossier », then the instructeur's page.
    let res = test::call_service(
        &app,
        request(
            "POST",
            &brouillon,
            &usager,
            Some(form_body(&setup, &rows, &csrf, "submit", "Valeur déposée")),
        ),
    )
    .await;
    let state_after: String = sqlx::query_scalar("select state::text from dossiers where id = $1")
        .bind(dossier_id)
        .fetch_one(&db)
        .await?;
    if state_after != "en_construction" {
        anyhow::bail!("deposit refused ({}): {state_after}", res.status());
    }
    let page = format!("/procedures/{}/dossiers/{dossier_id}", setup.procedure_id);
    let mut instructeur_page = Vec::with_capacity(bench.iterations);
    let mut instructeur_page_bytes = 0;
    for _ in 0..bench.iterations {
        let (ms, bytes) = get(&page, &instructeur).await?;
        instructeur_page.push(ms);
        instructeur_page_bytes = bytes;
    }
    db.close().await;
    Ok(FormReport {
        bench,
        values: setup.champs.len() + rows.len() * bench.children,
        first_save_ms,
        save: Timings(save),
        usager_page: Timings(usager_page),
        usager_page_bytes,
        instructeur_page: Timings(instructeur_page),
        instructeur_page_bytes,
    })
}
