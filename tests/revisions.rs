//! Revisions of a published démarche, through the pages: the administrateur edits the
//! draft form, sees the « Modifications » and their effect on the dossiers, an
//! incompatible type change is refused, publishing moves the brouillons and dossiers en
//! construction to the new form (rebase job) with their compatible values, and dossiers en
//! instruction keep theirs. Also the test link of a démarche en test (test dossiers deleted
//! at the first publication).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::seed::{self, SeededProcedure};
use common::{Browser, Page, TestApp, add_champ, draft_stable_id, start_brouillon};
use serde_json::{Value, json};

const ADMIN: &str = "admin@example.gouv.fr";
const USAGER: &str = "camille.durand@example.fr";

fn name(procedure: &SeededProcedure, libelle: &str) -> String {
    format!("champ_{}", procedure.champ(libelle).stable_id)
}

async fn champ_value(app: &TestApp, dossier: i64, stable_id: i64) -> Option<Value> {
    sqlx::query_scalar(
        "select value from champs where dossier_id = $1 and stable_id = $2
           and row_id = '00000000-0000-0000-0000-000000000000'",
    )
    .bind(dossier)
    .bind(stable_id)
    .fetch_optional(&app.db)
    .await
    .unwrap()
}

async fn revision_of(app: &TestApp, dossier: i64) -> i64 {
    sqlx::query_scalar("select revision_id from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn published_revision(app: &TestApp, procedure: i64) -> i64 {
    sqlx::query_scalar("select published_revision_id from procedures where id = $1")
        .bind(procedure)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Waits until the rebase job moved every brouillon and dossier en construction.
async fn wait_for_rebase(app: &TestApp, procedure: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pending: i64 = sqlx::query_scalar(
            "select count(*) from dossiers d join procedures p on p.id = d.procedure_id
             where p.id = $1 and d.state in ('brouillon', 'en_construction')
               and d.revision_id <> p.published_revision_id",
        )
        .bind(procedure)
        .fetch_one(&app.db)
        .await
        .unwrap();
        if pending == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{pending} dossiers not rebased");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The champ's edit page, submitted with `fields`.
async fn edit_champ(
    admin: &Browser,
    procedure: i64,
    stable_id: i64,
    fields: &[(&str, &str)],
) -> Page {
    let page = admin
        .get(&format!("/admin/procedures/{procedure}/champs/{stable_id}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    admin.submit(&page, "form#edit-champ", fields).await
}

async fn delete_champ(admin: &Browser, procedure: i64, stable_id: i64) -> Page {
    let builder = admin
        .get(&format!("/admin/procedures/{procedure}/champs"))
        .await;
    admin
        .submit(&builder, &format!("tr#champ-{stable_id} form.delete"), &[])
        .await
}

/// The `rebase` events of a dossier: (version, payload).
async fn rebase_events(app: &TestApp, dossier: i64) -> Vec<(i32, Value)> {
    sqlx::query_as(
        "select version, payload from dossier_events
         where dossier_id = $1 and kind = 'rebase' order by version",
    )
    .bind(dossier)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn published_changes_move_brouillons_and_dossiers_en_construction() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let old_revision = procedure.revision_id;
    let nom = procedure.champ("Nom du projet").stable_id;
    let participants = procedure.champ("Nombre de participants").stable_id;
    let structure = procedure.champ("Type de structure").stable_id;

    // A brouillon filled by its usager through the form.
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (brouillon, form) = start_brouillon(&usager, "/commencer/subvention").await;
    let saved = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                (&name(&procedure, "Nom du projet"), "Jardin partagé"),
                (&name(&procedure, "Nombre de participants"), "12"),
                (&name(&procedure, "Type de structure"), "Association"),
            ],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(
        champ_value(&app, brouillon, nom).await,
        Some(json!("Jardin partagé"))
    );
    // Two dossiers en construction, one en instruction.
    let en_construction = seed::deposited_dossier(
        &app.db,
        &procedure,
        USAGER,
        &[
            ("Nom du projet", json!("Atelier vélo")),
            ("Nombre de participants", json!(30)),
            ("Type de structure", json!("Entreprise")),
        ],
    )
    .await;
    let other = seed::deposited_dossier(
        &app.db,
        &procedure,
        "autre@example.fr",
        &[
            ("Nom du projet", json!("Fête du quartier")),
            ("Type de structure", json!("Collectivité")),
        ],
    )
    .await;
    let en_instruction = seed::deposited_dossier(
        &app.db,
        &procedure,
        USAGER,
        &[
            ("Nom du projet", json!("Ancien projet")),
            ("Nombre de participants", json!(5)),
            ("Type de structure", json!("Entreprise")),
        ],
    )
    .await;
    sqlx::query(
        "update dossiers set state = 'en_instruction', en_instruction_at = now() where id = $1",
    )
    .bind(en_instruction)
    .execute(&app.db)
    .await
    .unwrap();

    // The administrateur edits the draft form.
    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    let builder = admin
        .get(&format!("/admin/procedures/{}/champs", procedure.id))
        .await;
    assert!(!builder.contains("id=\"modifications\""), "no change yet");

    // A text holding answers cannot become a number.
    let refused = edit_champ(
        &admin,
        procedure.id,
        nom,
        &[("type_champ", "integer_number")],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.text("#type_champ-error").as_deref(),
        Some(
            "Impossible de changer le type « Texte court » en « Nombre entier » : 3 dossiers en cours contiennent une réponse à ce champ, qui ne serait pas valide avec le nouveau type. Gardez le type actuel, ou ajoutez un nouveau champ."
        ),
        "{}",
        refused.body
    );
    // Text into zone de texte keeps the answers; the libellé changes too.
    let edited = edit_champ(
        &admin,
        procedure.id,
        nom,
        &[
            ("type_champ", "textarea"),
            ("libelle", "Présentation du projet"),
        ],
    )
    .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert!(edited.contains("a bien été modifié"), "{}", edited.body);
    // « Entreprise » is no longer an option.
    let edited = edit_champ(
        &admin,
        procedure.id,
        structure,
        &[("drop_down_options", "Association\nCollectivité")],
    )
    .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    let deleted = delete_champ(&admin, procedure.id, participants).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let added = add_champ(
        &admin,
        procedure.id,
        &[("type_champ", "email"), ("libelle", "Courriel de contact")],
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let contact = draft_stable_id(&app, procedure.id, "Courriel de contact").await;

    // « Modifications » on the builder.
    let builder = admin
        .get(&format!("/admin/procedures/{}/champs", procedure.id))
        .await;
    let lines = builder.texts("#modifications-list li");
    assert_eq!(
        lines,
        vec![
            "« Nom du projet » : libellé modifié en « Présentation du projet »",
            "« Présentation du projet » : type modifié de « Texte court » en « Zone de texte »",
            "« Type de structure » : options modifiées (retirées : « Entreprise »)",
            "Champ ajouté : « Courriel de contact » (Adresse électronique, obligatoire)",
            "Champ supprimé : « Nombre de participants »",
        ],
        "{}",
        builder.body
    );

    // The impact screen, counted in SQL.
    let publication = admin
        .get(&format!("/admin/procedures/{}/publication", procedure.id))
        .await;
    assert_eq!(
        publication.texts("#impact-counts li"),
        vec![
            "1 brouillon passera sur le nouveau formulaire.",
            "2 dossiers en construction passeront sur le nouveau formulaire.",
            "1 dossier en instruction ou terminé garde le formulaire sur lequel il a été déposé.",
        ],
        "{}",
        publication.body
    );
    assert_eq!(
        publication.texts("#impact-losses li"),
        vec![
            "« Type de structure » (options retirées de la liste) : les réponses de 1 dossier seront supprimées.",
            "« Nombre de participants » (champ supprimé) : les réponses de 2 dossiers seront supprimées.",
        ]
    );

    // Publish.
    let published = admin
        .submit(&publication, "form#publish", &[("path", "subvention")])
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert!(published.contains("La démarche est publiée avec ses modifications."));
    let new_revision = published_revision(&app, procedure.id).await;
    assert_ne!(new_revision, old_revision);
    wait_for_rebase(&app, procedure.id).await;
    let after = admin
        .get(&format!("/admin/procedures/{}/publication", procedure.id))
        .await;
    assert!(!after.contains("id=\"rebase-progress\""));
    assert!(
        after.contains("Le formulaire n’a aucune modification depuis sa dernière publication.")
    );

    // The brouillon shows the new form with its kept values.
    for dossier in [brouillon, en_construction, other] {
        assert_eq!(revision_of(&app, dossier).await, new_revision, "{dossier}");
        let events = rebase_events(&app, dossier).await;
        assert_eq!(events.len(), 1, "{dossier}");
        assert_eq!(events[0].1["from_revision"], json!(old_revision));
        assert_eq!(events[0].1["to_revision"], json!(new_revision));
        let version: i32 = sqlx::query_scalar("select lock_version from dossiers where id = $1")
            .bind(dossier)
            .fetch_one(&app.db)
            .await
            .unwrap();
        assert_eq!(
            events[0].0, version,
            "the event is the dossier's latest version"
        );
    }
    let form = usager
        .get(&format!("/dossiers/{brouillon}/brouillon"))
        .await;
    assert_eq!(form.status, 200);
    assert!(form.contains("Présentation du projet"));
    assert!(form.contains("Courriel de contact"));
    assert!(!form.contains("Nombre de participants"));
    assert!(
        form.html()
            .select(&scraper::Selector::parse(&format!("textarea[name=champ_{nom}]")).unwrap())
            .next()
            .is_some_and(|t| t.text().collect::<String>().contains("Jardin partagé")),
        "{}",
        form.body
    );
    assert_eq!(
        champ_value(&app, brouillon, structure).await,
        Some(json!("Association"))
    );
    assert_eq!(champ_value(&app, brouillon, participants).await, None);

    // En construction: kept values, the removed option's answer dropped.
    let modifier = usager
        .get(&format!("/dossiers/{en_construction}/modifier"))
        .await;
    assert_eq!(modifier.status, 200, "{}", modifier.body);
    assert!(modifier.contains("Présentation du projet"));
    assert!(modifier.contains("Atelier vélo"));
    assert!(modifier.contains("Courriel de contact"));
    assert!(!modifier.contains("Nombre de participants"));
    assert_eq!(champ_value(&app, en_construction, structure).await, None);
    assert_eq!(champ_value(&app, en_construction, participants).await, None);
    assert_eq!(
        champ_value(&app, other, structure).await,
        Some(json!("Collectivité"))
    );
    assert_eq!(champ_value(&app, en_construction, contact).await, None);

    // En instruction: the old form and every value.
    assert_eq!(revision_of(&app, en_instruction).await, old_revision);
    assert!(rebase_events(&app, en_instruction).await.is_empty());
    let instructeur = app.signed_in(ADMIN, &["instructeur"], "instructeur").await;
    let page = instructeur
        .get(&format!(
            "/procedures/{}/dossiers/{en_instruction}",
            procedure.id
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.contains("Nombre de participants"));
    assert!(page.contains("Entreprise"));
    assert!(!page.contains("Courriel de contact"));

    // The usager keeps working on the moved brouillon: its next save is on the new form.
    let saved = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[(&format!("champ_{contact}"), "camille@example.fr")],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(
        champ_value(&app, brouillon, contact).await,
        Some(json!("camille@example.fr"))
    );
}

#[tokio::test]
async fn a_form_open_during_the_rebase_loses_no_compatible_answer() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let nom = procedure.champ("Nom du projet").stable_id;
    let participants = procedure.champ("Nombre de participants").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (brouillon, form) = start_brouillon(&usager, "/commencer/subvention").await;
    // A first save: the dossier's actor now holds it in its cache.
    let form = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[(&name(&procedure, "Nom du projet"), "Premier jet")],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(form.status, 200, "{}", form.body);

    // Meanwhile the administrateur removes a champ and publishes.
    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    delete_champ(&admin, procedure.id, participants).await;
    let publication = admin
        .get(&format!("/admin/procedures/{}/publication", procedure.id))
        .await;
    let published = admin
        .submit(&publication, "form#publish", &[("path", "subvention")])
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    wait_for_rebase(&app, procedure.id).await;

    // The usager submits the form opened on the old revision.
    let saved = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                (&name(&procedure, "Nom du projet"), "Version finale"),
                (&name(&procedure, "Nombre de participants"), "8"),
                (&name(&procedure, "Type de structure"), "Association"),
            ],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(
        champ_value(&app, brouillon, nom).await,
        Some(json!("Version finale"))
    );
    assert_eq!(
        champ_value(
            &app,
            brouillon,
            procedure.champ("Type de structure").stable_id
        )
        .await,
        Some(json!("Association"))
    );
    assert_eq!(champ_value(&app, brouillon, participants).await, None);
    assert_eq!(
        revision_of(&app, brouillon).await,
        published_revision(&app, procedure.id).await
    );
}

/// Publishes the draft of `procedure` through the publication page (the rebase job is
/// queued; without a worker it waits).
async fn publish(admin: &Browser, procedure: i64) {
    let publication = admin
        .get(&format!("/admin/procedures/{procedure}/publication"))
        .await;
    let published = admin
        .submit(&publication, "form#publish", &[("path", "subvention")])
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert!(
        published.contains("La démarche est publiée avec ses modifications."),
        "{}",
        published.body
    );
}

async fn lock_version(app: &TestApp, dossier: i64) -> i32 {
    sqlx::query_scalar("select lock_version from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Runs the rebase job's function; returns the dossiers it moved.
async fn run_rebase_job(app: &TestApp, procedure: i64) -> Vec<i64> {
    let mut moved = Vec::new();
    let rebased = demarches_actors::store::rebase::rebase_procedure(
        &app.db,
        procedure,
        500,
        Duration::from_secs(60),
        |ids| moved.extend_from_slice(ids),
    )
    .await
    .unwrap();
    assert!(rebased.done);
    moved
}

#[tokio::test]
async fn a_dossier_opened_before_the_job_is_rebased_as_it_loads() {
    // No worker: the rebase job waits, as on a large démarche where it takes minutes.
    let app = TestApp::spawn_with(common::TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let old_revision = procedure.revision_id;
    let nom = procedure.champ("Nom du projet").stable_id;
    let participants = procedure.champ("Nombre de participants").stable_id;
    let structure = procedure.champ("Type de structure").stable_id;

    // A brouillon saved through its actor (which now caches it on the old revision).
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (brouillon, form) = start_brouillon(&usager, "/commencer/subvention").await;
    let saved = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                (&name(&procedure, "Nom du projet"), "Jardin partagé"),
                (&name(&procedure, "Nombre de participants"), "12"),
                (&name(&procedure, "Type de structure"), "Entreprise"),
            ],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let en_construction = seed::deposited_dossier(
        &app.db,
        &procedure,
        USAGER,
        &[
            ("Nom du projet", json!("Atelier vélo")),
            ("Nombre de participants", json!(30)),
            ("Type de structure", json!("Association")),
        ],
    )
    .await;
    let nobody_opens = seed::deposited_dossier(
        &app.db,
        &procedure,
        "autre@example.fr",
        &[
            ("Nom du projet", json!("Fête du quartier")),
            ("Type de structure", json!("Collectivité")),
        ],
    )
    .await;
    let en_instruction = seed::deposited_dossier(
        &app.db,
        &procedure,
        USAGER,
        &[
            ("Nom du projet", json!("Ancien projet")),
            ("Nombre de participants", json!(5)),
            ("Type de structure", json!("Entreprise")),
        ],
    )
    .await;
    sqlx::query(
        "update dossiers set state = 'en_instruction', en_instruction_at = now() where id = $1",
    )
    .bind(en_instruction)
    .execute(&app.db)
    .await
    .unwrap();

    // New revision: a champ removed, an option removed, a champ added; published.
    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    let deleted = delete_champ(&admin, procedure.id, participants).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let edited = edit_champ(
        &admin,
        procedure.id,
        structure,
        &[("drop_down_options", "Association\nCollectivité")],
    )
    .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    let added = add_champ(
        &admin,
        procedure.id,
        &[("type_champ", "email"), ("libelle", "Courriel de contact")],
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let contact = draft_stable_id(&app, procedure.id, "Courriel de contact").await;
    publish(&admin, procedure.id).await;
    let new_revision = published_revision(&app, procedure.id).await;
    assert_ne!(new_revision, old_revision);
    for dossier in [brouillon, en_construction, nobody_opens, en_instruction] {
        assert_eq!(
            revision_of(&app, dossier).await,
            old_revision,
            "job not run"
        );
    }

    // The usager opens the brouillon: the new form, compatible values kept.
    let form = usager
        .get(&format!("/dossiers/{brouillon}/brouillon"))
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.contains("Courriel de contact"), "{}", form.body);
    assert!(!form.contains("Nombre de participants"), "{}", form.body);
    assert_eq!(
        form.field(&format!("champ_{nom}")).as_deref(),
        Some("Jardin partagé")
    );
    assert_eq!(revision_of(&app, brouillon).await, new_revision);
    assert_eq!(
        champ_value(&app, brouillon, nom).await,
        Some(json!("Jardin partagé"))
    );
    assert_eq!(champ_value(&app, brouillon, participants).await, None);
    assert_eq!(
        champ_value(&app, brouillon, structure).await,
        None,
        "« Entreprise » is no longer an option"
    );
    let events = rebase_events(&app, brouillon).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, lock_version(&app, brouillon).await);
    assert_eq!(events[0].1["from_revision"], json!(old_revision));
    assert_eq!(events[0].1["to_revision"], json!(new_revision));
    // Opening it again moves nothing.
    let again = usager
        .get(&format!("/dossiers/{brouillon}/brouillon"))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(rebase_events(&app, brouillon).await.len(), 1);

    // Saving works, on the new form.
    let saved = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                (&format!("champ_{contact}"), "camille@example.fr"),
                (&name(&procedure, "Type de structure"), "Association"),
            ],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.contains(demarches::web::usager::MSG_BROUILLON_SAVED));
    assert_eq!(
        champ_value(&app, brouillon, contact).await,
        Some(json!("camille@example.fr"))
    );
    assert_eq!(
        champ_value(&app, brouillon, structure).await,
        Some(json!("Association"))
    );
    assert_eq!(revision_of(&app, brouillon).await, new_revision);

    // A dossier en construction opened in « modifier »: the same, then deposited again.
    let edit = usager
        .get(&format!("/dossiers/{en_construction}/modifier"))
        .await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(edit.contains("Courriel de contact"), "{}", edit.body);
    assert!(!edit.contains("Nombre de participants"), "{}", edit.body);
    assert_eq!(
        edit.field(&format!("champ_{nom}")).as_deref(),
        Some("Atelier vélo")
    );
    assert_eq!(revision_of(&app, en_construction).await, new_revision);
    assert_eq!(champ_value(&app, en_construction, participants).await, None);
    assert_eq!(rebase_events(&app, en_construction).await.len(), 1);
    let modified = usager
        .submit_with_button(
            &edit,
            "form#dossier-form",
            &[(&format!("champ_{contact}"), "atelier@example.fr")],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(modified.status, 200, "{}", modified.body);
    assert!(
        modified.contains(demarches::web::usager::MSG_MODIFIED),
        "{}",
        modified.body
    );
    assert_eq!(
        champ_value(&app, en_construction, contact).await,
        Some(json!("atelier@example.fr"))
    );
    assert_eq!(
        champ_value(&app, en_construction, structure).await,
        Some(json!("Association"))
    );

    // En instruction: its usager still sees the form it was deposited on.
    let summary = usager.get(&format!("/dossiers/{en_instruction}")).await;
    assert_eq!(summary.status, 200, "{}", summary.body);
    assert!(
        summary.contains("Nombre de participants"),
        "{}",
        summary.body
    );
    assert!(summary.contains("Entreprise"), "{}", summary.body);
    assert!(!summary.contains("Courriel de contact"), "{}", summary.body);

    // The job then moves only the dossier nobody opened.
    assert_eq!(run_rebase_job(&app, procedure.id).await, vec![nobody_opens]);
    for dossier in [brouillon, en_construction, nobody_opens] {
        assert_eq!(revision_of(&app, dossier).await, new_revision, "{dossier}");
        assert_eq!(rebase_events(&app, dossier).await.len(), 1, "{dossier}");
    }
    assert_eq!(
        champ_value(&app, brouillon, contact).await,
        Some(json!("camille@example.fr")),
        "the job leaves the rebased brouillon alone"
    );
    assert_eq!(revision_of(&app, en_instruction).await, old_revision);
    assert!(rebase_events(&app, en_instruction).await.is_empty());
    assert_eq!(
        champ_value(&app, en_instruction, participants).await,
        Some(json!(5))
    );
}

#[tokio::test]
async fn a_form_open_since_before_the_publication_saves_onto_the_new_form() {
    let app = TestApp::spawn_with(common::TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let nom = procedure.champ("Nom du projet").stable_id;
    let participants = procedure.champ("Nombre de participants").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (brouillon, form) = start_brouillon(&usager, "/commencer/subvention").await;
    // A first save: the dossier's actor caches it on the old revision.
    let form = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                (&name(&procedure, "Nom du projet"), "Premier jet"),
                (&name(&procedure, "Nombre de participants"), "4"),
            ],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(form.status, 200, "{}", form.body);

    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    delete_champ(&admin, procedure.id, participants).await;
    publish(&admin, procedure.id).await;

    // The page still shows the old form; the job has not run; the usager saves it.
    let saved = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                (&name(&procedure, "Nom du projet"), "Version finale"),
                (&name(&procedure, "Nombre de participants"), "8"),
            ],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(
        revision_of(&app, brouillon).await,
        published_revision(&app, procedure.id).await,
        "not saved into the old form"
    );
    assert_eq!(
        champ_value(&app, brouillon, nom).await,
        Some(json!("Version finale"))
    );
    assert_eq!(champ_value(&app, brouillon, participants).await, None);
    assert!(!saved.contains("Nombre de participants"), "{}", saved.body);
    let events = rebase_events(&app, brouillon).await;
    assert_eq!(events.len(), 1);
    let (latest, kind): (i32, String) = sqlx::query_as(
        "select version, kind from dossier_events where dossier_id = $1
         order by version desc limit 1",
    )
    .bind(brouillon)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        events[0].0 < latest && kind != "rebase",
        "rebased first, then the save was written on the new form ({kind} at {latest})"
    );
    assert!(run_rebase_job(&app, procedure.id).await.is_empty());
    assert_eq!(rebase_events(&app, brouillon).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_and_loads_racing_rebase_each_dossier_once() {
    let app = TestApp::spawn_with(common::TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let participants = procedure.champ("Nombre de participants").stable_id;
    let usager = seed::user_id(&app.db, USAGER).await;
    let dossiers: Vec<i64> = sqlx::query_scalar(
        "insert into dossiers (procedure_id, revision_id, user_id, state, groupe_instructeur_id,
           lock_version)
         select $1, $2, $3,
                (case when g % 2 = 0 then 'brouillon' else 'en_construction' end)::dossier_state,
                $4, 0
         from generate_series(1, 200) g
         returning id",
    )
    .bind(procedure.id)
    .bind(procedure.revision_id)
    .bind(usager)
    .bind(procedure.groupe_id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into dossier_events (dossier_id, version, kind, actor_kind, actor_id)
         select id, 0, 'creer', 'usager', $2 from dossiers where procedure_id = $1",
    )
    .bind(procedure.id)
    .bind(usager)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into champs (dossier_id, stable_id, value) select id, $2, '7' from dossiers
         where procedure_id = $1",
    )
    .bind(procedure.id)
    .bind(participants)
    .execute(&app.db)
    .await
    .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    demarches::procedures::delete_champ(&mut tx, procedure.id, participants)
        .await
        .unwrap();
    demarches::procedures::publish(&mut tx, procedure.id, "subvention")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // The job (small batches) while every dossier is loaded, in reverse order.
    let job = demarches_actors::store::rebase::rebase_procedure(
        &app.db,
        procedure.id,
        5,
        Duration::from_secs(60),
        |_| {},
    );
    let loads = futures_util::future::join_all(dossiers.iter().rev().map(|id| {
        let db = app.db.clone();
        let id = *id;
        tokio::spawn(async move {
            demarches_actors::store::rebase::rebase_dossier(&db, id)
                .await
                .unwrap()
        })
    }));
    let (job, loads) = tokio::join!(job, loads);
    let by_loads = loads
        .into_iter()
        .filter(|moved| moved.as_ref().unwrap().is_some())
        .count();
    assert_eq!(job.unwrap().moved + by_loads, dossiers.len());

    let new_revision = published_revision(&app, procedure.id).await;
    for dossier in dossiers {
        assert_eq!(revision_of(&app, dossier).await, new_revision);
        let events = rebase_events(&app, dossier).await;
        assert_eq!(events.len(), 1, "dossier {dossier} rebased once");
        assert_eq!(events[0].0, 1);
        assert_eq!(lock_version(&app, dossier).await, 1);
        assert_eq!(champ_value(&app, dossier, participants).await, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_waiting_behind_the_job_does_not_rebase_the_dossier_again() {
    let app = TestApp::spawn_with(common::TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let participants = procedure.champ("Nombre de participants").stable_id;
    let dossier = seed::deposited_dossier(
        &app.db,
        &procedure,
        USAGER,
        &[
            ("Nom du projet", json!("Atelier vélo")),
            ("Nombre de participants", json!(30)),
        ],
    )
    .await;
    let mut tx = app.db.begin().await.unwrap();
    demarches::procedures::delete_champ(&mut tx, procedure.id, participants)
        .await
        .unwrap();
    demarches::procedures::publish(&mut tx, procedure.id, "subvention")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // A write in flight holds the dossier's row: the job reaches it and waits, then the
    // usager opens it (the dossier is still on the old revision) and waits too.
    let mut holder = app.db.begin().await.unwrap();
    sqlx::query("select id from dossiers where id = $1 for update")
        .bind(dossier)
        .execute(&mut *holder)
        .await
        .unwrap();
    let job = tokio::spawn({
        let db = app.db.clone();
        async move {
            demarches_actors::store::rebase::rebase_procedure(
                &db,
                procedure.id,
                500,
                Duration::from_secs(60),
                |_| {},
            )
            .await
            .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let load = tokio::spawn({
        let db = app.db.clone();
        async move {
            demarches_actors::store::rebase::rebase_dossier(&db, dossier)
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!job.is_finished() && !load.is_finished(), "both wait");
    holder.commit().await.unwrap();
    let (job, load) = (job.await.unwrap(), load.await.unwrap());
    assert_eq!(job.moved, 1, "the job came first");
    assert_eq!(load, None, "the load finds it moved");
    assert_eq!(rebase_events(&app, dossier).await.len(), 1);
    assert_eq!(lock_version(&app, dossier).await, 2);
    assert_eq!(
        revision_of(&app, dossier).await,
        published_revision(&app, procedure.id).await
    );
}

#[tokio::test]
async fn draft_changes_can_be_discarded() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    add_champ(
        &admin,
        procedure.id,
        &[("type_champ", "text"), ("libelle", "Champ de trop")],
    )
    .await;
    let nom = procedure.champ("Nom du projet").stable_id;
    edit_champ(&admin, procedure.id, nom, &[("libelle", "Nom de l’action")]).await;
    let builder = admin
        .get(&format!("/admin/procedures/{}/champs", procedure.id))
        .await;
    assert_eq!(
        builder.texts("#modifications-list li"),
        vec![
            "« Nom du projet » : libellé modifié en « Nom de l’action »",
            "Champ ajouté : « Champ de trop » (Texte court, obligatoire)",
        ]
    );
    let reset = admin.submit(&builder, "form#reset-draft", &[]).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert!(reset.contains("Les modifications ont été annulées"));
    assert!(!reset.contains("id=\"modifications\""));
    assert!(!reset.contains("Champ de trop"));
    let publication = admin
        .get(&format!("/admin/procedures/{}/publication", procedure.id))
        .await;
    assert!(
        publication
            .contains("Le formulaire n’a aucune modification depuis sa dernière publication.")
    );
}

#[tokio::test]
async fn repetition_rows_and_multiple_choices_follow_the_new_revision() {
    let app = TestApp::spawn().await;
    let procedure = seed::published_procedure(
        &app.db,
        "Demande de subvention",
        "subvention",
        ADMIN,
        &[
            ("repetition", "Membres", false, json!({})),
            ("text", "Nom du membre", false, json!({})),
            ("integer_number", "Âge du membre", false, json!({})),
            (
                "multiple_drop_down_list",
                "Thèmes",
                false,
                json!({"drop_down_options": ["Sport", "Culture", "Nature"]}),
            ),
        ],
    )
    .await;
    let block = procedure.champ("Membres").stable_id;
    let member = procedure.champ("Nom du membre").stable_id;
    let age = procedure.champ("Âge du membre").stable_id;
    let themes = procedure.champ("Thèmes").stable_id;
    // The two member champs are the block's children, in both revisions.
    sqlx::query(
        "update types_de_champ set parent_stable_id = $1,
           position = case when stable_id = $2 then 0 else 1 end
         where stable_id in ($2, $3)",
    )
    .bind(block)
    .bind(member)
    .bind(age)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("update types_de_champ set position = 1 where stable_id = $1")
        .bind(themes)
        .execute(&app.db)
        .await
        .unwrap();
    let rows = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
    let dossier = seed::deposited_dossier(
        &app.db,
        &procedure,
        USAGER,
        &[
            ("Membres", json!([rows[0], rows[1]])),
            ("Thèmes", json!(["Sport", "Nature"])),
        ],
    )
    .await;
    for (row, nom) in rows.iter().zip(["Alix", "Sacha"]) {
        sqlx::query(
            "insert into champs (dossier_id, stable_id, row_id, value) values ($1, $2, $3, $4), ($1, $5, $3, '40')",
        )
        .bind(dossier)
        .bind(member)
        .bind(row)
        .bind(json!(nom))
        .bind(age)
        .execute(&app.db)
        .await
        .unwrap();
    }

    // Draft: the age leaves the block, « Nature » leaves the themes.
    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    let builder = admin
        .get(&format!("/admin/procedures/{}/champs", procedure.id))
        .await;
    let deleted = admin
        .submit(
            &builder,
            &format!("form[action$=\"/champs/{age}/delete\"]"),
            &[],
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    edit_champ(
        &admin,
        procedure.id,
        themes,
        &[("drop_down_options", "Sport\nCulture")],
    )
    .await;
    let publication = admin
        .get(&format!("/admin/procedures/{}/publication", procedure.id))
        .await;
    assert_eq!(
        publication.texts("#impact-losses li"),
        vec![
            "« Thèmes » (options retirées de la liste) : les réponses de 1 dossier seront supprimées.",
            "« Âge du membre » (champ supprimé) : les réponses de 1 dossier seront supprimées.",
        ],
        "{}",
        publication.body
    );
    admin
        .submit(&publication, "form#publish", &[("path", "subvention")])
        .await;
    wait_for_rebase(&app, procedure.id).await;

    let kept: Vec<(i64, uuid::Uuid, Value)> = sqlx::query_as(
        "select stable_id, row_id, value from champs where dossier_id = $1
           and row_id <> '00000000-0000-0000-0000-000000000000' order by value::text",
    )
    .bind(dossier)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        kept,
        vec![
            (member, rows[0], json!("Alix")),
            (member, rows[1], json!("Sacha")),
        ]
    );
    assert_eq!(
        champ_value(&app, dossier, block).await,
        Some(json!([rows[0], rows[1]]))
    );
    assert_eq!(
        champ_value(&app, dossier, themes).await,
        Some(json!(["Sport"]))
    );
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let page = usager.get(&format!("/dossiers/{dossier}/modifier")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.contains("Alix") && page.contains("Sacha"));
    assert!(!page.contains("Âge du membre"));
}

#[tokio::test]
async fn test_link_dossiers_are_deleted_at_first_publication() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "essai").await;
    // Back to « en test »: never published, the draft is the only form.
    sqlx::query(
        "update procedures set state = 'brouillon', published_at = null,
           published_revision_id = null where id = $1",
    )
    .bind(procedure.id)
    .execute(&app.db)
    .await
    .unwrap();
    let usager = app.signed_in(USAGER, &[], "usager").await;
    assert_eq!(usager.get("/commencer/essai").await.status, 404);
    let (test_dossier, form) = start_brouillon(&usager, "/commencer/test/essai").await;
    let deposited = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                ("civilite", "Mme"),
                ("nom", "Durand"),
                ("prenom", "Camille"),
                (&name(&procedure, "Nom du projet"), "Essai"),
                (&name(&procedure, "Type de structure"), "Association"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    assert_eq!(
        usager
            .get(&format!("/dossiers/{test_dossier}"))
            .await
            .status,
        200
    );

    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    let publication = admin
        .get(&format!("/admin/procedures/{}/publication", procedure.id))
        .await;
    assert!(publication.contains("/commencer/test/essai"));
    let published = admin
        .submit(&publication, "form#publish", &[("path", "essai")])
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert!(published.contains("La démarche est publiée."));
    assert_eq!(
        usager
            .get(&format!("/dossiers/{test_dossier}"))
            .await
            .status,
        404
    );
    let left: i64 = sqlx::query_scalar("select count(*) from dossiers where procedure_id = $1")
        .bind(procedure.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    // The public link now takes real dossiers.
    let (real, _) = start_brouillon(&usager, "/commencer/essai").await;
    assert_eq!(
        revision_of(&app, real).await,
        published_revision(&app, procedure.id).await
    );
}

#[tokio::test]
async fn the_publication_page_shows_the_rebase_progress() {
    // No worker: the job waits, as on a busy platform.
    let app = TestApp::spawn_with(common::TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    for usager in [USAGER, "autre@example.fr"] {
        seed::deposited_dossier(
            &app.db,
            &procedure,
            usager,
            &[("Nom du projet", json!("Projet"))],
        )
        .await;
    }
    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    add_champ(
        &admin,
        procedure.id,
        &[("type_champ", "text"), ("libelle", "Nouveau champ")],
    )
    .await;
    let publication = admin
        .get(&format!("/admin/procedures/{}/publication", procedure.id))
        .await;
    assert_eq!(
        publication.text("#impact-no-loss").as_deref(),
        Some("Les réponses déjà saisies sont toutes conservées.")
    );
    let published = admin
        .submit(&publication, "form#publish", &[("path", "subvention")])
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let progress = published.text("#rebase-progress p").unwrap_or_default();
    assert_eq!(
        progress,
        "2 dossiers restent à passer sur le formulaire publié. Rechargez la page pour suivre l’avancement."
    );
    let jobs: i64 = sqlx::query_scalar(
        "select count(*) from jobs where kind = 'rebase_dossiers' and done_at is null",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(jobs, 1);
    // A spent budget moves nothing and says so (the job then leaves a new job).
    let spent = demarches_actors::store::rebase::rebase_procedure(
        &app.db,
        procedure.id,
        500,
        Duration::ZERO,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((spent.moved, spent.done), (0, false));
    let rebased = demarches_actors::store::rebase::rebase_procedure(
        &app.db,
        procedure.id,
        500,
        Duration::from_secs(60),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((rebased.moved, rebased.done), (2, true));
    let after = admin
        .get(&format!("/admin/procedures/{}/publication", procedure.id))
        .await;
    assert!(!after.contains("id=\"rebase-progress\""));
}

/// The rebase at scale: `DEMARCHES_REBASE_DOSSIERS` dossiers (default 20 000, half
/// brouillons, half en construction, three values each), one champ removed and one option
/// removed, moved by the job's function; prints the time.
#[tokio::test]
#[ignore = "measurement: cargo nextest run --test revisions --run-ignored only"]
async fn rebase_of_many_dossiers() {
    let app = TestApp::spawn_with(common::TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let count: i64 = std::env::var("DEMARCHES_REBASE_DOSSIERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let usager = seed::user_id(&app.db, USAGER).await;
    sqlx::query(
        "insert into dossiers (procedure_id, revision_id, user_id, state, groupe_instructeur_id,
           lock_version)
         select $1, $2, $3,
                (case when g % 2 = 0 then 'brouillon' else 'en_construction' end)::dossier_state,
                $4, 0
         from generate_series(1, $5) g",
    )
    .bind(procedure.id)
    .bind(procedure.revision_id)
    .bind(usager)
    .bind(procedure.groupe_id)
    .bind(count)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into dossier_events (dossier_id, version, kind, actor_kind, actor_id)
         select id, 0, 'creer', 'usager', $2 from dossiers where procedure_id = $1",
    )
    .bind(procedure.id)
    .bind(usager)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into champs (dossier_id, stable_id, value)
         select d.id, t.stable_id,
                case t.type_champ when 'text' then '\"Projet\"'::jsonb
                                  when 'integer_number' then '12'::jsonb
                                  else (case when d.id % 3 = 0 then '\"Entreprise\"'
                                             else '\"Association\"' end)::jsonb end
         from dossiers d cross join types_de_champ t
         where d.procedure_id = $1 and t.revision_id = $2",
    )
    .bind(procedure.id)
    .bind(procedure.revision_id)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("analyze").execute(&app.db).await.unwrap();

    let mut tx = app.db.begin().await.unwrap();
    demarches::procedures::delete_champ(
        &mut tx,
        procedure.id,
        procedure.champ("Nombre de participants").stable_id,
    )
    .await
    .unwrap();
    sqlx::query(
        "update types_de_champ t set options = '{\"drop_down_options\": [\"Association\", \"Collectivité\"]}'
         from procedures p where p.id = $1 and t.revision_id = p.draft_revision_id
           and t.stable_id = $2",
    )
    .bind(procedure.id)
    .bind(procedure.champ("Type de structure").stable_id)
    .execute(&mut *tx)
    .await
    .unwrap();
    demarches::procedures::publish(&mut tx, procedure.id, "subvention")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let started = Instant::now();
    let mut batches = 0;
    let rebased = demarches_actors::store::rebase::rebase_procedure(
        &app.db,
        procedure.id,
        500,
        Duration::from_secs(3600),
        |_| batches += 1,
    )
    .await
    .unwrap();
    assert!(rebased.done);
    let moved = rebased.moved;
    let elapsed = started.elapsed();
    println!(
        "rebase: {moved} dossiers in {batches} batches, {:.1} s ({:.0} dossiers/s)",
        elapsed.as_secs_f64(),
        moved as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(moved as i64, count);
    let left: (i64, i64) = sqlx::query_as(
        "select count(*) filter (where stable_id = $2), count(*) filter (where value = '\"Entreprise\"')
         from champs c join dossiers d on d.id = c.dossier_id where d.procedure_id = $1",
    )
    .bind(procedure.id)
    .bind(procedure.champ("Nombre de participants").stable_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(left, (0, 0));
}
