//! The SIRET step of a dossier for personnes morales, through the pages, against the fake
//! API Entreprise reached by the real `api_entreprise` connector: « Identifier votre
//! établissement » before the form, the établissement shown (found, closed, unknown,
//! invalid), the degraded modes (upstream down → pending then the job fills it; no
//! connector → accepted without data), the deposit refused without a SIRET, the
//! instructeur's page, and the step reserved to the dossier's owner. Plus the chained
//! Chromium journey: FranceConnect sign-in, a SIRET champ and an address champ, deposit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::seed::{self, SeededProcedure};
use common::{Browser, Page, TestApp, TestOptions, wasm};
use demarches_fakes::api_entreprise::{FakeApiEntreprise, Fault, valid_token};
use demarches_fakes::ban::FakeBan;
use serde_json::{Value, json};

const USAGER: &str = "camille.durand@example.fr";
const ADMIN: &str = "admin@example.gouv.fr";
const SGG: &str = "12000101100010";
const CLOSED: &str = "35005144700018";
const UNKNOWN: &str = "73282932000074";
const NOT_FOUND: &str = "Aucun établissement n’est enregistré avec ce numéro SIRET.";
const STEP_TITLE: &str = "Identifier votre établissement";

/// The platform with `api_entreprise.wasm` against the fake (plus, for the chained
/// journey, `france_connect.wasm` and `ban.wasm` against theirs).
struct Setup {
    app: TestApp,
    up: FakeApiEntreprise,
    fc: Option<demarches_fakes::france_connect::FakeFranceConnect>,
    _ban: Option<FakeBan>,
    dir: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn setup() -> Setup {
    setup_with(false).await
}

async fn setup_with(journey: bool) -> Setup {
    use demarches_fakes::france_connect::{CLIENT_ID, CLIENT_SECRET, Client, FakeFranceConnect};
    let up = FakeApiEntreprise::start().await.unwrap();
    let dir = std::env::temp_dir().join(format!(
        "demarches-siret-step-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("api_entreprise.wasm"), wasm("api_entreprise")).unwrap();
    let mut grants = format!(
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
    );
    let (fc, ban) = if journey {
        let fc = FakeFranceConnect::start(Client::default()).unwrap();
        let ban = FakeBan::start().unwrap();
        std::fs::write(plugins.join("france_connect.wasm"), wasm("france_connect")).unwrap();
        std::fs::write(plugins.join("ban.wasm"), wasm("ban")).unwrap();
        grants.push_str(&format!(
            r#"
            [connectors.france_connect]
            allowed_hosts = ["oidc.franceconnect.gouv.fr", "{fc_auth}"]
            allow_loopback = true
            allow_http = true
            timeout_ms = 2000
            [connectors.france_connect.config]
            base_url = "{issuer}"
            client_id = "{CLIENT_ID}"
            client_secret = "{CLIENT_SECRET}"
            [connectors.ban]
            allowed_hosts = ["api-adresse.data.gouv.fr", "127.0.0.1:{port}"]
            allow_loopback = true
            allow_http = true
            timeout_ms = 1000
            [connectors.ban.config]
            base_url = "http://127.0.0.1:{port}"
            "#,
            fc_auth = fc.authority(),
            issuer = fc.issuer(),
            port = ban.port(),
        ));
        (Some(fc), Some(ban))
    } else {
        (None, None)
    };
    let grants_file = dir.join("connectors.toml");
    std::fs::write(&grants_file, grants).unwrap();
    let app = TestApp::spawn_with(TestOptions {
        vars: vec![
            (
                "DEMARCHES__PLUGINS__DIR".to_owned(),
                plugins.display().to_string(),
            ),
            (
                "DEMARCHES__PLUGINS__GRANTS".to_owned(),
                grants_file.display().to_string(),
            ),
        ],
        ..TestOptions::default()
    })
    .await;
    if let Some(fc) = &fc {
        fc.add_redirect_uri(&format!("{}/france_connect/particulier/callback", app.base));
        fc.add_post_logout_redirect_uri(&format!("{}/", app.base));
    }
    let s = Setup {
        app,
        up,
        fc,
        _ban: ban,
        dir,
    };
    let names: &[&str] = if journey {
        &["api_entreprise", "france_connect", "ban"]
    } else {
        &["api_entreprise"]
    };
    wait_loaded(&s.app, names).await;
    s
}

/// The watcher loads the artifacts asynchronously: wait for the operator page to list them.
async fn wait_loaded(app: &TestApp, names: &[&str]) {
    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = admin.get("/admin/connecteurs").await;
        if names.iter().all(|name| {
            page.text(&format!("#connecteur-{name} .dm-version"))
                .is_some_and(|v| !v.is_empty() && !v.contains("non chargé"))
        }) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "connectors not loaded: {}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A published démarche for personnes morales; `siret_connector`: API Entreprise enabled
/// on it (as the administrateur does on its connectors page).
async fn personnes_morales(app: &TestApp, path: &str, siret_connector: bool) -> SeededProcedure {
    let procedure = seed::published_procedure(
        &app.db,
        "Aide à l’embauche",
        path,
        ADMIN,
        &[("text", "Intitulé du poste", true, json!({}))],
    )
    .await;
    sqlx::query("update procedures set for_individual = false where id = $1")
        .bind(procedure.id)
        .execute(&app.db)
        .await
        .unwrap();
    if siret_connector {
        enable(app, procedure.id, "api_entreprise", "siret").await;
    }
    procedure
}

async fn enable(app: &TestApp, procedure_id: i64, connector: &str, capability: &str) {
    sqlx::query(
        "insert into procedure_connectors
           (procedure_id, connector, interface_major, config, enabled, capabilities)
         values ($1, $2, 1, $3, true, array[$4])",
    )
    .bind(procedure_id)
    .bind(connector)
    .bind(json!({}))
    .bind(capability)
    .execute(&app.db)
    .await
    .unwrap();
}

/// Starts a dossier: « Commencer » lands on the SIRET step.
async fn start(usager: &Browser, procedure: &SeededProcedure) -> (i64, Page) {
    let page = usager.get(&format!("/commencer/{}", procedure.path)).await;
    let step = usager.submit(&page, "form#commencer", &[]).await;
    assert_eq!(step.status, 200, "{}", step.body);
    assert!(step.url.ends_with("/siret"), "{}", step.url);
    (common::dossier_id(&step.url), step)
}

async fn give_siret(usager: &Browser, step: &Page, siret: &str) -> Page {
    usager
        .submit(step, "form#siret-form", &[("siret", siret)])
        .await
}

async fn stored(app: &TestApp, id: i64) -> (Option<String>, Option<String>, Option<Value>) {
    sqlx::query_as(
        "select siret, etablissement_state, etablissement_data from dossiers where id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn fill_and_deposit(usager: &Browser, procedure: &SeededProcedure, id: i64) -> Page {
    let form = usager.get(&format!("/dossiers/{id}/brouillon")).await;
    assert!(form.url.ends_with("/brouillon"), "{}", form.url);
    let field = format!("champ_{}", procedure.champ("Intitulé du poste").stable_id);
    usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[(&field, "Chargé de mission")],
            Some(("action", "submit")),
        )
        .await
}

async fn instructeur_page(app: &TestApp, procedure: &SeededProcedure, id: i64) -> Page {
    let instructeur = app.signed_in(ADMIN, &["instructeur"], "instructeur").await;
    let page = instructeur
        .get(&format!("/procedures/{}/dossiers/{id}", procedure.id))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

fn assert_sgg(block: &str) {
    for needle in [
        "SECRETARIAT GENERAL DU GOUVERNEMENT",
        "57 RUE DE VARENNE, 75007 PARIS 7, FRANCE",
        "84.11Z – Administration publique générale",
        "Actif",
    ] {
        assert!(block.contains(needle), "{needle} not in {block}");
    }
}

#[tokio::test]
async fn the_siret_step_shows_the_etablissement_then_leads_to_the_form() {
    let s = setup().await;
    let procedure = personnes_morales(&s.app, "embauche", true).await;
    let usager = s.app.signed_in(USAGER, &[], "usager").await;
    let (id, step) = start(&usager, &procedure).await;
    assert_eq!(step.text("#etape-siret").as_deref(), Some(STEP_TITLE));
    assert!(step.contains("API Entreprise"));
    // The brouillon form is not reachable before the step.
    let form = usager.get(&format!("/dossiers/{id}/brouillon")).await;
    assert!(
        form.url.ends_with(&format!("/dossiers/{id}/siret")),
        "{}",
        form.url
    );

    let shown = give_siret(&usager, &step, "120 001 011 00010").await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(
        shown.url.ends_with(&format!("/dossiers/{id}/siret")),
        "{}",
        shown.url
    );
    assert_sgg(&shown.text("#etablissement").expect("établissement"));
    assert_eq!(
        shown.text("#etablissement-siret").as_deref(),
        Some("120 001 011 00010")
    );
    assert!(shown.text("#etablissement-ferme").is_none());
    assert_eq!(
        shown.text("#continuer").as_deref(),
        Some("Continuer avec ces informations")
    );
    assert_eq!(
        common::attr(&shown, "#continuer", "href"),
        Some(format!("/dossiers/{id}/brouillon"))
    );
    assert_eq!(
        shown.text("#changer-siret").as_deref(),
        Some("Changer de SIRET")
    );

    // Stored on the dossier, in DS's établissement shape; the démarche reached the upstream.
    let (siret, state, data) = stored(&s.app, id).await;
    assert_eq!(siret.as_deref(), Some(SGG));
    assert_eq!(state.as_deref(), Some("fetched"));
    let data = data.unwrap();
    assert_eq!(data["siret"], SGG);
    assert_eq!(
        data["entreprise_raison_sociale"],
        "SECRETARIAT GENERAL DU GOUVERNEMENT"
    );
    assert!(
        s.up.requests()
            .iter()
            .all(|r| r.query["object"] == format!("procedure_id: {}", procedure.id))
    );

    // « Continuer avec ces informations »: the form, with the établissement on top.
    let form = usager.get(&format!("/dossiers/{id}/brouillon")).await;
    assert!(form.url.ends_with("/brouillon"), "{}", form.url);
    assert_sgg(
        &form
            .text("section#siret")
            .expect("établissement on the form"),
    );

    // « Changer de SIRET »: the form again, with the stored number; a closed établissement
    // is accepted with a warning (as DS does).
    let change = usager.get(&format!("/dossiers/{id}/siret?changer=1")).await;
    assert_eq!(change.field("siret").as_deref(), Some(SGG));
    let closed = give_siret(&usager, &change, CLOSED).await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    let warning = closed.text("#etablissement-ferme").expect("closed warning");
    assert!(warning.contains("Cet établissement est fermé"), "{warning}");
    assert!(closed.text("#etablissement").unwrap().contains("Fermé"));
    assert_eq!(stored(&s.app, id).await.0.as_deref(), Some(CLOSED));

    // Back to the SGG, then the deposit.
    let change = usager.get(&format!("/dossiers/{id}/siret?changer=1")).await;
    give_siret(&usager, &change, SGG).await;
    let deposited = fill_and_deposit(&usager, &procedure, id).await;
    assert!(
        deposited.url.ends_with(&format!("/dossiers/{id}")),
        "{}",
        deposited.url
    );
    assert_sgg(&deposited.text("#etablissement").expect("summary block"));

    let page = instructeur_page(&s.app, &procedure, id).await;
    let block = page.text("#etablissement").expect("instructeur block");
    assert_sgg(&block);
    assert!(block.contains("120 001 011 00010"), "{block}");

    // En construction the usager may still change it (from the modification form)…
    let modifier = usager.get(&format!("/dossiers/{id}/modifier")).await;
    assert_eq!(
        common::attr(&modifier, "#changer-siret", "href"),
        Some(format!("/dossiers/{id}/siret?changer=1"))
    );
    let change = usager.get(&format!("/dossiers/{id}/siret?changer=1")).await;
    let changed = give_siret(&usager, &change, CLOSED).await;
    assert_eq!(
        common::attr(&changed, "#continuer", "href"),
        Some(format!("/dossiers/{id}"))
    );
    let page = instructeur_page(&s.app, &procedure, id).await;
    assert!(page.text("#etablissement").unwrap().contains("Fermé"));
    // …not once the instruction has started.
    sqlx::query("update dossiers set state = 'en_instruction' where id = $1")
        .bind(id)
        .execute(&s.app.db)
        .await
        .unwrap();
    let page = usager.get(&format!("/dossiers/{id}/siret?changer=1")).await;
    assert!(
        page.url.ends_with(&format!("/dossiers/{id}")),
        "{}",
        page.url
    );
    assert!(page.text("#siret-form").is_none());
}

#[tokio::test]
async fn an_unknown_siret_is_refused_and_the_number_stays() {
    let s = setup().await;
    let procedure = personnes_morales(&s.app, "embauche", true).await;
    let usager = s.app.signed_in(USAGER, &[], "usager").await;
    let (id, step) = start(&usager, &procedure).await;
    let page = give_siret(&usager, &step, UNKNOWN).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(page.text("#siret-error").as_deref(), Some(NOT_FOUND));
    assert_eq!(page.field("siret").as_deref(), Some(UNKNOWN));
    assert_eq!(stored(&s.app, id).await, (None, None, None));
    // Still no form before a SIRET is accepted.
    let form = usager.get(&format!("/dossiers/{id}/brouillon")).await;
    assert!(form.url.ends_with("/siret"), "{}", form.url);

    // Corrected on the same page.
    let shown = give_siret(&usager, &page, SGG).await;
    assert_sgg(&shown.text("#etablissement").expect("établissement"));
}

#[tokio::test]
async fn an_invalid_siret_gets_the_messages_of_the_siret_champ_and_is_not_looked_up() {
    let s = setup().await;
    let procedure = personnes_morales(&s.app, "embauche", true).await;
    let usager = s.app.signed_in(USAGER, &[], "usager").await;
    let (id, step) = start(&usager, &procedure).await;
    for (typed, message) in [
        ("12000101100011", "Le numéro SIRET n’est pas valide."),
        (
            "1200010110",
            "Le numéro SIRET doit comporter exactement 14 chiffres.",
        ),
        ("", "Le numéro SIRET doit comporter exactement 14 chiffres."),
    ] {
        let page = give_siret(&usager, &step, typed).await;
        assert_eq!(page.status, 422, "{}", page.body);
        assert_eq!(
            page.text("#siret-error").as_deref(),
            Some(message),
            "{typed}"
        );
        assert_eq!(page.field("siret").as_deref(), Some(typed));
        assert_eq!(
            page.text("#error-summary a").as_deref(),
            Some(message),
            "{typed}"
        );
    }
    assert_eq!(s.up.hits(), 0);
    assert_eq!(stored(&s.app, id).await, (None, None, None));
}

#[tokio::test]
async fn an_outage_accepts_the_siret_pending_then_the_job_fills_it() {
    let s = setup().await;
    let procedure = personnes_morales(&s.app, "embauche", true).await;
    s.up.fail(SGG, Fault::ServerError(503));
    let usager = s.app.signed_in(USAGER, &[], "usager").await;
    let (id, step) = start(&usager, &procedure).await;
    let shown = give_siret(&usager, &step, SGG).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let pending = shown
        .text(".dm-etablissement-pending")
        .expect("pending notice");
    assert!(pending.starts_with("Données en attente"), "{pending}");
    assert!(shown.text("#continuer").is_some());
    assert_eq!(stored(&s.app, id).await.1.as_deref(), Some("pending"));

    // Never blocking: the usager deposits; the instructeur sees what is pending.
    let deposited = fill_and_deposit(&usager, &procedure, id).await;
    assert!(
        deposited.url.ends_with(&format!("/dossiers/{id}")),
        "{}",
        deposited.body
    );
    let page = instructeur_page(&s.app, &procedure, id).await;
    let block = page.text("#etablissement").unwrap();
    assert!(
        block.contains("Données de l’établissement en attente"),
        "{block}"
    );

    // The job ran at once (its insert wakes the worker), failed and backs off…
    let job = |db: sqlx::PgPool| async move {
        sqlx::query_as::<_, (i32, bool, bool)>(
            "select attempts, done_at is not null, run_at > now() + interval '5 seconds'
             from jobs where kind = 'fetch_external_data' and payload->>'dossier_id' = $1::text",
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
    let (_, done, backoff) = job(s.app.db.clone()).await;
    assert!(!done && backoff);
    assert_eq!(stored(&s.app, id).await.1.as_deref(), Some("pending"));

    // …and fills the dossier's établissement once the upstream is back.
    s.up.heal(SGG);
    sqlx::query("update jobs set run_at = now() where kind = 'fetch_external_data'")
        .execute(&s.app.db)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while stored(&s.app, id).await.1.as_deref() != Some("fetched") {
        assert!(Instant::now() < deadline, "never fetched");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(job(s.app.db.clone()).await.1);
    let page = instructeur_page(&s.app, &procedure, id).await;
    assert!(page.text(".dm-etablissement-pending").is_none());
    assert_sgg(&page.text("#etablissement").unwrap());
    let summary = usager.get(&format!("/dossiers/{id}")).await;
    assert_sgg(&summary.text("#etablissement").unwrap());
}

#[tokio::test]
async fn without_a_loaded_or_enabled_connector_the_siret_is_accepted() {
    // No connector loaded at all (empty plugins directory), but enabled on the démarche:
    // an outage — pending, with its retry job.
    let app = TestApp::spawn().await;
    let procedure = personnes_morales(&app, "embauche", true).await;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (id, step) = start(&usager, &procedure).await;
    let shown = give_siret(&usager, &step, SGG).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(
        shown.text(".dm-etablissement-pending").is_some(),
        "{}",
        shown.body
    );
    assert_eq!(stored(&app, id).await.1.as_deref(), Some("pending"));
    let jobs: i64 = sqlx::query_scalar(
        "select count(*) from jobs where kind = 'fetch_external_data'
           and payload->>'dossier_id' = $1::text",
    )
    .bind(id.to_string())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(jobs, 1);

    // No connector enabled on the démarche: accepted, the data could not be retrieved (DS).
    let other = personnes_morales(&app, "embauche-sans-api", false).await;
    let (id, step) = start(&usager, &other).await;
    let shown = give_siret(&usager, &step, SGG).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let block = shown.text("#etablissement").unwrap();
    assert!(
        block.contains("Les informations de l’établissement n’ont pas pu être récupérées."),
        "{block}"
    );
    assert_eq!(stored(&app, id).await, (Some(SGG.to_owned()), None, None));
    let deposited = fill_and_deposit(&usager, &other, id).await;
    assert!(
        deposited.url.ends_with(&format!("/dossiers/{id}")),
        "{}",
        deposited.body
    );
    let page = instructeur_page(&app, &other, id).await;
    assert!(
        page.text("#etablissement")
            .unwrap()
            .contains("Les informations de l’établissement n’ont pas été récupérées"),
    );
}

#[tokio::test]
async fn the_deposit_is_refused_without_a_siret() {
    let app = TestApp::spawn().await;
    let procedure = personnes_morales(&app, "embauche", false).await;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (id, step) = start(&usager, &procedure).await;
    let field = format!("champ_{}", procedure.champ("Intitulé du poste").stable_id);
    // Posted straight to the brouillon form, skipping the step.
    let page = usager
        .post_with_token(
            &step.csrf().unwrap(),
            &format!("/dossiers/{id}/brouillon"),
            &[(&field, "Chargé de mission"), ("action", "submit")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.text("#error-summary").unwrap().contains(
            "Renseignez le numéro SIRET de votre établissement avant de déposer le dossier."
        ),
        "{}",
        page.body
    );
    let state: String = sqlx::query_scalar("select state::text from dossiers where id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "brouillon");
    // What was typed is kept in the brouillon.
    let value: Option<Value> =
        sqlx::query_scalar("select value from champs where dossier_id = $1 and stable_id = $2")
            .bind(id)
            .bind(procedure.champ("Intitulé du poste").stable_id)
            .fetch_optional(&app.db)
            .await
            .unwrap();
    assert_eq!(value, Some(json!("Chargé de mission")));
}

#[tokio::test]
async fn another_user_cannot_reach_the_step() {
    let app = TestApp::spawn().await;
    let procedure = personnes_morales(&app, "embauche", false).await;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (id, step) = start(&usager, &procedure).await;
    let other = app.signed_in("autre@example.fr", &[], "usager").await;
    let page = other.get(&format!("/dossiers/{id}/siret")).await;
    assert_eq!(page.status, 404);
    assert!(!page.contains(STEP_TITLE));
    let own = other.get(&format!("/commencer/{}", procedure.path)).await;
    let page = other
        .post_with_token(
            &own.csrf().unwrap(),
            &format!("/dossiers/{id}/siret"),
            &[("siret", SGG)],
        )
        .await;
    assert_eq!(page.status, 404);
    assert_eq!(stored(&app, id).await, (None, None, None));
    // The owner still can.
    let shown = give_siret(&usager, &step, SGG).await;
    assert_eq!(shown.status, 200);
    assert_eq!(stored(&app, id).await.0.as_deref(), Some(SGG));
    // A dossier for individuals has no SIRET step.
    let individuals = seed::simple_procedure(&app.db, "particuliers").await;
    let (pid, _) =
        common::start_brouillon(&usager, &format!("/commencer/{}", individuals.path)).await;
    let page = usager.get(&format!("/dossiers/{pid}/siret")).await;
    assert!(
        page.url.ends_with(&format!("/dossiers/{pid}/brouillon")),
        "{}",
        page.url
    );
}

/// The chained journey the issue asks for, in Chromium: FranceConnect sign-in against
/// the fake, a dossier for individuals (identity from FranceConnect) with a SIRET champ
/// (API Entreprise) and an address champ (BAN), the établissement shown after the save,
/// a suggestion picked, the deposit, and the stored values.
#[tokio::test]
async fn chromium_france_connect_siret_and_address_then_deposit() {
    let s = setup_with(true).await;
    let app = &s.app;
    let procedure = seed::published_procedure(
        &app.db,
        "Déclaration d’activité",
        "declaration-activite",
        ADMIN,
        &[
            ("siret", "SIRET de l’employeur", true, json!({})),
            ("address", "Adresse du chantier", true, json!({})),
        ],
    )
    .await;
    enable(app, procedure.id, "api_entreprise", "siret").await;
    enable(app, procedure.id, "ban", "address").await;
    let siret_id = procedure.champ("SIRET de l’employeur").stable_id;
    let address_id = procedure.champ("Adresse du chantier").stable_id;

    let chrome = common::chrome::Chrome::start().await;
    chrome
        .client
        .goto(&format!("{}/users/sign_in", app.base))
        .await
        .unwrap();
    chrome.wait_text("S’identifier avec").await;
    chrome.click("button.fr-connect").await;
    chrome
        .wait_text("Vous êtes connecté(e) avec FranceConnect.")
        .await;
    chrome
        .client
        .goto(&format!("{}/commencer/declaration-activite", app.base))
        .await
        .unwrap();
    chrome.click("form#commencer button[type=submit]").await;
    chrome
        .wait_text("Identité transmise par FranceConnect")
        .await;

    // The SIRET, saved: the établissement shows under the field.
    chrome
        .fill(&format!("#champ_{siret_id}"), "120 001 011 00010")
        .await;
    chrome.click("button[name=action][value=save]").await;
    let text = chrome
        .wait_text("SECRETARIAT GENERAL DU GOUVERNEMENT")
        .await;
    assert!(
        text.contains("57 RUE DE VARENNE, 75007 PARIS 7, FRANCE"),
        "{text}"
    );

    // The address: typed, a suggestion picked.
    let (input, option) = chrome
        .address_suggestion(address_id, "20 avenue de Ségur")
        .await;
    assert_eq!(
        option.text().await.unwrap(),
        "20 Avenue de Ségur 75007 Paris"
    );
    option.click().await.unwrap();
    assert_eq!(
        input.prop("value").await.unwrap().as_deref(),
        Some("20 Avenue de Ségur 75007 Paris")
    );

    chrome.click("button[name=action][value=submit]").await;
    chrome.wait_text("Votre dossier a bien été déposé.").await;

    // What was stored: the deposit, the identity from FranceConnect, both champs and the
    // établissement of the SIRET champ.
    let (id, state, nom): (i64, String, String) = sqlx::query_as(
        "select d.id, d.state::text, i.nom from dossiers d
         join individuals i on i.dossier_id = d.id where d.procedure_id = $1",
    )
    .bind(procedure.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(state, "en_construction");
    assert_eq!(nom, "DUBOIS");
    let champ = |stable_id: i64| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (Value, Option<String>, Option<Value>)>(
                "select value, external_state, external_data from champs
                 where dossier_id = $1 and stable_id = $2",
            )
            .bind(id)
            .bind(stable_id)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let (value, external_state, data) = champ(siret_id).await;
    assert_eq!(value, json!(SGG));
    assert_eq!(external_state.as_deref(), Some("fetched"));
    assert_eq!(
        data.unwrap()["entreprise_raison_sociale"],
        "SECRETARIAT GENERAL DU GOUVERNEMENT"
    );
    assert_eq!(
        champ(address_id).await.0,
        json!("20 Avenue de Ségur 75007 Paris")
    );
    assert_eq!(s.fc.as_ref().unwrap().authorize_requests().len(), 1);
    let _ = chrome.client.clone().close().await;
}
