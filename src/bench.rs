//! `demarches bench`: deposits per second through the real path (dossier actor → pure
//! decision → one PostgreSQL transaction with event, traitement and outbox rows), in a
//! scratch database created next to the configured one and dropped afterwards.
//! `demarches bench form` (module `form`): the server time of saving and rendering a long
//! form.

pub mod form;

use std::sync::Arc;
use std::time::{Duration, Instant};

use demarches_actors::domain::TypeChamp;
use demarches_actors::dossier::{Act, Command, IndividualInput, SaveForm};
use demarches_actors::store::dossier::{self as dossier_store, Author, AuthorKind};
use futures_util::StreamExt;
use sqlx::PgPool;

use crate::config::{Config, Secret};
use crate::{demo, server};

#[derive(Debug, Clone)]
pub struct Report {
    pub warm: bool,
    pub dossiers: usize,
    pub concurrency: usize,
    pub elapsed: Duration,
    pub failed: usize,
    pub latencies_ms: Vec<f64>,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        (self.dossiers - self.failed) as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> f64 {
        percentile(&self.latencies_ms, p)
    }
}

/// The `p` quantile (0 to 1) of `samples`, nearest rank; 0 without samples.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(0.0)
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} dépôts ({}), concurrence {}, {:.2} s : {:.0} dépôts/s ; latence p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms ; échecs {}",
            self.dossiers,
            if self.warm {
                "acteurs chargés"
            } else {
                "acteurs froids"
            },
            self.concurrency,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.percentile(0.50),
            self.percentile(0.95),
            self.percentile(0.99),
            self.failed
        )
    }
}

/// A raw value the validation of `type_champ` accepts.
fn sample(type_champ: TypeChamp, options: &[String]) -> String {
    match type_champ {
        TypeChamp::Text => "Association des jardins partagés".to_owned(),
        TypeChamp::Textarea => "Un jardin ouvert à tous les habitants du quartier.".to_owned(),
        TypeChamp::IntegerNumber => "120".to_owned(),
        TypeChamp::Date => "2027-03-01".to_owned(),
        TypeChamp::Checkbox => "on".to_owned(),
        TypeChamp::DropDownList => options.first().cloned().unwrap_or_default(),
        TypeChamp::Email => "contact@jardins.example.fr".to_owned(),
        TypeChamp::Phone => "01 23 45 67 89".to_owned(),
        TypeChamp::DecimalNumber => "12,5".to_owned(),
        TypeChamp::Datetime => "2027-03-01T14:30".to_owned(),
        TypeChamp::Engagement => "on".to_owned(),
        TypeChamp::YesNo => "true".to_owned(),
        TypeChamp::Civilite => "Mme".to_owned(),
        TypeChamp::MultipleDropDownList => options.first().cloned().unwrap_or_default(),
        TypeChamp::LinkedDropDownList => {
            let primary = options
                .first()
                .and_then(|l| demarches_actors::domain::champ::linked_primary(l))
                .unwrap_or_default();
            let secondary = options
                .get(1)
                .filter(|l| demarches_actors::domain::champ::linked_primary(l).is_none())
                .cloned()
                .unwrap_or_default();
            format!("{primary}\n{secondary}")
        }
        TypeChamp::Address => "20 avenue de Ségur, 75007 Paris".to_owned(),
        TypeChamp::Siret => "73282932000074".to_owned(),
        TypeChamp::Rna => "W751234567".to_owned(),
        TypeChamp::Iban => "FR7630006000011234567890189".to_owned(),
        TypeChamp::Carte => r#"{"type":"Point","coordinates":[2.35,48.85]}"#.to_owned(),
        TypeChamp::Formatted
        | TypeChamp::DossierLink
        | TypeChamp::Pays
        | TypeChamp::Regions
        | TypeChamp::Departements
        | TypeChamp::Communes
        | TypeChamp::Epci => String::new(),
        TypeChamp::HeaderSection
        | TypeChamp::Explication
        | TypeChamp::PieceJustificative
        | TypeChamp::TitreIdentite
        | TypeChamp::Repetition => String::new(),
    }
}

/// Runs the benchmark against a scratch copy of the schema.
/// `warm`: the dossier actors are loaded before the clock starts (a deposit right after
/// the usager's saves); otherwise every deposit also loads its dossier.
pub async fn run(
    config: &Config,
    dossiers: usize,
    concurrency: usize,
    warm: bool,
) -> anyhow::Result<Report> {
    in_scratch_database(config, (concurrency as u32 + 4).max(8), |config| {
        run_in(config, dossiers, concurrency, warm)
    })
    .await
}

/// Runs `bench` with a configuration pointing at a new database (created next to the
/// configured one, dropped afterwards, whatever the outcome).
pub(crate) async fn in_scratch_database<T, F, Fut>(
    config: &Config,
    max_connections: u32,
    bench: F,
) -> anyhow::Result<T>
where
    F: FnOnce(Arc<Config>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let admin = server::connect(config).await?;
    let name = format!("demarches_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&admin)
        .await?;
    let mut scratch = config.clone();
    let url = scratch.database.url.expose().to_owned();
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    scratch.database.url = Secret::new(format!("{base}/{name}"));
    scratch.database.max_connections = max_connections;
    let result = bench(Arc::new(scratch)).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&admin)
    .await?;
    result
}

async fn run_in(
    config: Arc<Config>,
    dossiers: usize,
    concurrency: usize,
    warm: bool,
) -> anyhow::Result<Report> {
    let db = server::connect(&config).await?;
    server::migrate(&db).await?;
    let seeded = demo::seed(&db, &config).await?;
    let state = server::build_state(config.clone(), db.clone())?;

    let (revision_id, usager_id) = setup_ids(&db, seeded.procedure_id).await?;
    let defs = demarches_actors::store::revision::load(&db, revision_id).await?;
    let champs: std::collections::HashMap<i64, String> = defs
        .public()
        .filter(|d| d.type_champ.has_value())
        .map(|d| {
            (
                d.stable_id,
                sample(d.type_champ, &d.options.drop_down_options),
            )
        })
        .collect();
    let author = Author {
        kind: AuthorKind::Usager,
        user_id: Some(usager_id),
        email: demo::USAGER.to_owned(),
    };
    let mut ids = Vec::with_capacity(dossiers);
    for _ in 0..dossiers {
        ids.push(dossier_store::create(&db, seeded.procedure_id, revision_id, &author).await?);
    }

    if warm {
        // Load every actor first, as after the usager's brouillon saves (the usual deposit).
        for id in &ids {
            state
                .registry
                .send(
                    *id,
                    Act {
                        author: author.clone(),
                        expected_version: None,
                        command: Command::Save(SaveForm::default()),
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("warm-up of dossier {id}: {e}"))?;
        }
    }
    let started = Instant::now();
    let results: Vec<Result<f64, String>> = futures_util::stream::iter(ids)
        .map(|id| {
            let registry = state.registry.clone();
            let act = Act {
                author: author.clone(),
                expected_version: None,
                command: Command::Save(SaveForm {
                    individual: Some(IndividualInput {
                        civilite: "Mme".to_owned(),
                        nom: "Durand".to_owned(),
                        prenom: "Camille".to_owned(),
                    }),
                    champs: champs.clone(),
                    full_form: true,
                    submit: true,
                    ..SaveForm::default()
                }),
            };
            async move {
                let t = Instant::now();
                match registry.send(id, act).await {
                    Ok(outcome) if outcome.change == "passer_en_construction" => {
                        Ok(t.elapsed().as_secs_f64() * 1000.0)
                    }
                    Ok(outcome) => Err(format!("unexpected change {}", outcome.change)),
                    Err(err) => Err(format!("{err:?}")),
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if let Some(Err(first)) = results.iter().find(|r| r.is_err()) {
        tracing::warn!(error = %first, failed, "some deposits failed");
    }
    db.close().await;
    Ok(Report {
        warm,
        dossiers,
        concurrency,
        elapsed,
        failed,
        latencies_ms: results.into_iter().filter_map(Result::ok).collect(),
    })
}

async fn setup_ids(db: &PgPool, procedure_id: i64) -> anyhow::Result<(i64, i64)> {
    let revision_id: i64 =
        sqlx::query_scalar("select published_revision_id from procedures where id = $1")
            .bind(procedure_id)
            .fetch_one(db)
            .await?;
    let usager_id: i64 = sqlx::query_scalar("select id from users where email = $1")
        .bind(demo::USAGER)
        .fetch_one(db)
        .await?;
    Ok((revision_id, usager_id))
}
