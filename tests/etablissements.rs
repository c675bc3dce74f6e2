//! The SIRET champ enriched by the API Entreprise connector, through the pages: the
//! platform loads `api_entreprise.wasm` (grants pointing at the loopback fake of API
//! Entreprise), the démarche enables it (`procedure_connectors`), and a saved SIRET shows
//! the établissement to the usager and the instructeur. An unknown SIRET gets a French
//! message on the field; an upstream outage never blocks the save nor the deposit: the
//! champ shows « Données en attente » and a job fetches the data once the upstream is back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::seed::{self, SeededProcedure};
use common::{Browser, Page, TestApp, TestOptions, start_brouillon, wasm};
use demarches_fakes::api_entreprise::{FakeApiEntreprise, Fault, valid_token};
use serde_json::json;

const USAGER: &str = "camille.durand@example.fr";
const ADMIN: &str = "admin@example.gouv.fr";
const SGG: &str = "12000101100010";
const NOT_FOUND: &str = "Aucun établissement n’est enregistré avec ce numéro SIRET.";
const PENDING: &str = "Données en attente";

/// The app with `api_entreprise.wasm` loaded against the fake, and a published démarche
/// with a SIRET champ on which the connector is enabled.
struct Setup {
    app: TestApp,
    up: FakeApiEntreprise,
    procedure: SeededProcedure,
    dir: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn setup() -> Setup {
    let up = FakeApiEntreprise::start().await.unwrap();
    let dir = std::env::temp_dir().join(format!(
        "demarches-plugins-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("api_entreprise.wasm"), wasm("api_entreprise")).unwrap();
    let grants = dir.join("connectors.toml");
    std::fs::write(
        &grants,
        format!(
            r#"
            [connectors.api_entreprise]
            allowed_hosts = ["entreprise.api.gouv.fr", "{auth}"]
            allow_loopback = true
            allow_http = true
            timeout_ms = 1000
            [connectors.api_entreprise.config]
            base_url = "{base}"
            token = "{token}"
            "#,
            auth = up.authority(),
            base = up.base_url(),
            token = valid_token(),
        ),
    )
    .unwrap();
    let app = TestApp::spawn_with(TestOptions {
        vars: vec![
            (
                "DEMARCHES__PLUGINS__DIR".to_owned(),
                plugins.display().to_string(),
            ),
            (
                "DEMARCHES__PLUGINS__GRANTS".to_owned(),
                grants.display().to_string(),
            ),
        ],
        ..TestOptions::default()
    })
    .await;
    let procedure = seed::published_procedure(
        &app.db,
        "Aide aux entreprises",
        "aide-entreprises",
        ADMIN,
        &[
            ("text", "Nom du projet", false, json!({})),
            ("siret", "SIRET de l’entreprise", false, json!({})),
        ],
    )
    .await;
    sqlx::query(
        "insert into procedure_connectors
           (procedure_id, connector, interface_major, config, enabled, capabilities)
         values ($1, 'api_entreprise', 1, $2, true, '{siret}')",
    )
    .bind(procedure.id)
    .bind(json!({"recipient": "13002526500013"}))
    .execute(&app.db)
    .await
    .unwrap();
    let s = Setup {
        app,
        up,
        procedure,
        dir,
    };
    wait_loaded(&s).await;
    s
}

/// The watcher loads the artifact asynchronously: wait for the operator page to list it.
async fn wait_loaded(s: &Setup) {
    let admin = s
        .app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = admin.get("/admin/connecteurs").await;
        if page
            .text("#connecteur-api_entreprise")
            .is_some_and(|row| row.starts_with("api_entreprise 1.0.0"))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "connector not loaded: {}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn siret_field(s: &Setup) -> String {
    format!(
        "champ_{}",
        s.procedure.champ("SIRET de l’entreprise").stable_id
    )
}

/// A new brouillon with `siret` saved: the page after the save.
async fn save_siret(s: &Setup, usager: &Browser, siret: &str) -> (i64, Page) {
    let (id, form) = start_brouillon(usager, &format!("/commencer/{}", s.procedure.path)).await;
    let field = siret_field(s);
    let page = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[(&field, siret)],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    (id, page)
}

async fn deposit(usager: &Browser, id: i64) -> Page {
    let form = usager.get(&format!("/dossiers/{id}/brouillon")).await;
    let page = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                ("civilite", "Mme"),
                ("nom", "Durand"),
                ("prenom", "Camille"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert!(
        page.url.ends_with(&format!("/dossiers/{id}")),
        "{}",
        page.url
    );
    page
}

async fn instructeur_page(s: &Setup, id: i64) -> Page {
    let instructeur = s
        .app
        .signed_in(ADMIN, &["instructeur"], "instructeur")
        .await;
    let page = instructeur
        .get(&format!("/procedures/{}/dossiers/{id}", s.procedure.id))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

async fn external_state(s: &Setup, id: i64) -> Option<String> {
    sqlx::query_scalar("select external_state from champs where dossier_id = $1 and stable_id = $2")
        .bind(id)
        .bind(s.procedure.champ("SIRET de l’entreprise").stable_id)
        .fetch_one(&s.app.db)
        .await
        .unwrap()
}

fn assert_sgg(block: &str) {
    assert!(
        block.contains("SECRETARIAT GENERAL DU GOUVERNEMENT"),
        "{block}"
    );
    assert!(
        block.contains("57 RUE DE VARENNE, 75007 PARIS 7, FRANCE"),
        "{block}"
    );
    assert!(
        block.contains("84.11Z – Administration publique générale"),
        "{block}"
    );
    assert!(block.contains("Actif"), "{block}");
}

#[tokio::test]
async fn a_saved_siret_shows_its_etablissement_to_the_usager_and_the_instructeur() {
    let s = setup().await;
    let usager = s.app.signed_in(USAGER, &[], "usager").await;
    let (id, page) = save_siret(&s, &usager, "120 001 011 00010").await;
    assert_sgg(&page.text(".dm-etablissement").expect("établissement block"));
    assert_eq!(
        page.field(&siret_field(&s)).as_deref(),
        Some("120 001 011 00010")
    );

    // Stored with the champ, in DS's etablissement shape.
    let data: serde_json::Value = sqlx::query_scalar(
        "select external_data from champs where dossier_id = $1 and stable_id = $2",
    )
    .bind(id)
    .bind(s.procedure.champ("SIRET de l’entreprise").stable_id)
    .fetch_one(&s.app.db)
    .await
    .unwrap();
    assert_eq!(data["siret"], SGG);
    assert_eq!(data["naf"], "84.11Z");
    assert_eq!(
        data["entreprise_raison_sociale"],
        "SECRETARIAT GENERAL DU GOUVERNEMENT"
    );
    assert_eq!(data["code_postal"], "75007");
    // The démarche's configuration reached the upstream.
    let reqs = s.up.requests();
    assert!(
        reqs.iter()
            .all(|r| r.query["recipient"] == "13002526500013")
    );
    assert!(
        reqs.iter()
            .all(|r| r.query["object"] == format!("procedure_id: {}", s.procedure.id))
    );

    // Saving again without a change does not call the upstream again.
    let hits = s.up.hits();
    let form = usager.get(&format!("/dossiers/{id}/brouillon")).await;
    usager
        .submit_with_button(&form, "form#dossier-form", &[], Some(("action", "save")))
        .await;
    assert_eq!(s.up.hits(), hits);

    deposit(&usager, id).await;
    let page = instructeur_page(&s, id).await;
    assert_sgg(&page.text(".dm-etablissement").expect("établissement block"));
    assert!(page.contains("120 001 011 00010"), "{}", page.body);
}

#[tokio::test]
async fn an_unknown_siret_gets_a_french_message_on_the_field() {
    let s = setup().await;
    let usager = s.app.signed_in(USAGER, &[], "usager").await;
    let (id, page) = save_siret(&s, &usager, "73282932000074").await;
    let field = siret_field(&s);
    assert_eq!(
        page.text(&format!("#{field}-error")).as_deref(),
        Some(NOT_FOUND),
        "{}",
        page.body
    );
    // What was typed is kept.
    assert_eq!(page.field(&field).as_deref(), Some("732 829 320 00074"));
    assert!(page.text(".dm-etablissement").is_none());
    assert_eq!(external_state(&s, id).await.as_deref(), Some("not_found"));

    // A corrected SIRET replaces the message with the établissement.
    let form = usager.get(&format!("/dossiers/{id}/brouillon")).await;
    let page = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[(&field, SGG)],
            Some(("action", "save")),
        )
        .await;
    assert!(!page.contains(NOT_FOUND), "{}", page.body);
    assert_sgg(&page.text(".dm-etablissement").expect("établissement block"));
}

#[tokio::test]
async fn an_outage_leaves_the_data_pending_until_the_job_fetches_it() {
    let s = setup().await;
    s.up.fail(SGG, Fault::ServerError(503));
    let usager = s.app.signed_in(USAGER, &[], "usager").await;
    let (id, page) = save_siret(&s, &usager, SGG).await;
    let pending = page
        .text(".dm-etablissement-pending")
        .expect("pending notice");
    assert!(pending.starts_with(PENDING), "{pending}");
    assert_eq!(
        page.field(&siret_field(&s)).as_deref(),
        Some("120 001 011 00010")
    );
    assert_eq!(external_state(&s, id).await.as_deref(), Some("pending"));

    // The deposit is not blocked; the instructeur sees what is pending.
    deposit(&usager, id).await;
    let page = instructeur_page(&s, id).await;
    let pending = page
        .text(".dm-etablissement-pending")
        .expect("pending notice");
    assert!(
        pending.contains("Données de l’établissement en attente"),
        "{pending}"
    );

    // The job (run at once: its insert wakes the worker) fails and backs off while the
    // upstream is down…
    let job = |db: sqlx::PgPool| async move {
        sqlx::query_as::<_, (i32, Option<String>, bool)>(
            "select attempts, last_error, done_at is not null from jobs
             where kind = 'fetch_external_data' and payload->>'dossier_id' = $1::text",
        )
        .bind(id.to_string())
        .fetch_one(&db)
        .await
        .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while job(s.app.db.clone()).await.0 == 0 {
        assert!(Instant::now() < deadline, "job never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, error, done) = job(s.app.db.clone()).await;
    assert!(!done);
    assert!(error.is_some());
    let backoff: bool = sqlx::query_scalar(
        "select run_at > now() + interval '5 seconds' from jobs where kind = 'fetch_external_data'",
    )
    .fetch_one(&s.app.db)
    .await
    .unwrap();
    assert!(backoff);
    assert_eq!(external_state(&s, id).await.as_deref(), Some("pending"));

    // …and fetches the data once it is back.
    s.up.heal(SGG);
    sqlx::query("update jobs set run_at = now() where kind = 'fetch_external_data'")
        .execute(&s.app.db)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while external_state(&s, id).await.as_deref() != Some("fetched") {
        assert!(Instant::now() < deadline, "never fetched");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(job(s.app.db.clone()).await.2);
    let page = instructeur_page(&s, id).await;
    assert!(page.text(".dm-etablissement-pending").is_none());
    assert_sgg(&page.text(".dm-etablissement").expect("établissement block"));
}

#[tokio::test]
async fn a_slow_upstream_does_not_hold_the_save() {
    let s = setup().await;
    s.up.fail(SGG, Fault::Hang(Duration::from_secs(10)));
    let usager = s.app.signed_in(USAGER, &[], "usager").await;
    let started = Instant::now();
    let (id, page) = save_siret(&s, &usager, SGG).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        page.text(".dm-etablissement-pending").is_some(),
        "{}",
        page.body
    );
    assert_eq!(external_state(&s, id).await.as_deref(), Some("pending"));
}
