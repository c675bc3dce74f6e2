//! The usager area, end to end: a démarche's public page, the brouillon form, the deposit
//! (with its accusé de réception through the real SMTP sink), "Mes dossiers", the dossier
//! summary and modifications en construction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Page, TestApp, attr, start_brouillon};

use common::seed::{self, SeededProcedure};
use serde_json::{Value, json};

const USAGER: &str = "camille.durand@example.fr";

fn name(procedure: &SeededProcedure, libelle: &str) -> String {
    format!("champ_{}", procedure.champ(libelle).stable_id)
}

/// The value of the selected option of the select `name`.
fn selected(page: &Page, name: &str) -> Option<String> {
    let html = page.html();
    let sel =
        scraper::Selector::parse(&format!("select[name=\"{name}\"] option[selected]")).unwrap();
    html.select(&sel)
        .next()
        .and_then(|o| o.value().attr("value").map(str::to_owned))
}

fn checked(page: &Page, css: &str) -> bool {
    let html = page.html();
    let sel = scraper::Selector::parse(css).unwrap();
    html.select(&sel)
        .next()
        .is_some_and(|e| e.value().attr("checked").is_some())
}

async fn champ_value(app: &TestApp, dossier: i64, stable_id: i64) -> Option<Value> {
    sqlx::query_scalar("select value from champs where dossier_id = $1 and stable_id = $2")
        .bind(dossier)
        .bind(stable_id)
        .fetch_optional(&app.db)
        .await
        .unwrap()
}

async fn dossier_state(app: &TestApp, dossier: i64) -> String {
    sqlx::query_scalar("select state::text from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn lock_version(app: &TestApp, dossier: i64) -> i32 {
    sqlx::query_scalar("select lock_version from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn unknown_demarche_is_not_found() {
    let app = TestApp::spawn().await;
    assert_eq!(app.browser().get("/commencer/inconnue").await.status, 404);
    assert_eq!(
        app.browser().get("/commencer/test/inconnue").await.status,
        404
    );
    let usager = app.signed_in(USAGER, &[], "usager").await;
    assert_eq!(usager.get("/commencer/inconnue").await.status, 404);
}

#[tokio::test]
async fn anonymous_visitor_is_invited_to_sign_in_then_come_back() {
    let app = TestApp::spawn().await;
    seed::simple_procedure(&app.db, "subvention").await;
    let page = app.browser().get("/commencer/subvention").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text("h1").as_deref(), Some("Demande de subvention"));
    assert!(page.contains("Ministère des tests"));
    assert!(page.contains("Description de la démarche."));
    assert!(!page.contains("id=\"commencer\""));
    assert!(page.contains("href=\"/users/sign_in?return_to=/commencer/subvention\""));
    assert!(page.contains("href=\"/users/sign_up?return_to=/commencer/subvention\""));
    assert!(page.contains(">Se connecter</a>"));
    assert!(page.contains(">Créer un compte</a>"));

    // Starting without an account leads to the sign-in page, then back here.
    let response = app
        .browser()
        .client
        .post(format!("{}/commencer/subvention", app.base))
        .form(&[("authenticity_token", "x")])
        .send()
        .await
        .unwrap();
    assert!(response.url().as_str().contains("/users/sign_in"));
}

#[tokio::test]
async fn usager_fills_saves_deposits_and_modifies_a_dossier() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let nom_projet = name(&procedure, "Nom du projet");
    let participants = name(&procedure, "Nombre de participants");
    let structure = name(&procedure, "Type de structure");

    // The public page, then a brouillon with every champ.
    let page = usager.get("/commencer/subvention").await;
    assert!(page.contains("Commencer la démarche"));
    let (id, form) = start_brouillon(&usager, "/commencer/subvention").await;
    let revision: i64 = sqlx::query_scalar("select revision_id from dossiers where id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(revision, procedure.revision_id);
    assert_eq!(dossier_state(&app, id).await, "brouillon");
    for champ in &procedure.champs {
        assert!(form.contains(&champ.libelle), "{}", champ.libelle);
        assert!(
            form.contains(&format!("name=\"champ_{}\"", champ.stable_id)),
            "{}",
            champ.libelle
        );
    }
    assert_eq!(
        attr(&form, &format!("#{participants}"), "type").as_deref(),
        Some("number")
    );
    assert!(form.contains("<option value=\"\" selected>Sélectionnez une option</option>"));
    for field in ["civilite", "nom", "prenom"] {
        assert!(form.contains(&format!("name=\"{field}\"")), "{field}");
    }
    assert!(form.contains("<legend class=\"fr-fieldset__legend--regular fr-fieldset__legend\" id=\"civilite-legend\">Civilité"));
    assert!(form.contains("name=\"action\" value=\"save\">Enregistrer le brouillon</button>"));
    assert!(form.contains("name=\"action\" value=\"submit\">Déposer le dossier</button>"));

    // Saving with an invalid integer keeps everything typed and saves the valid values.
    let saved = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                ("civilite", "Mme"),
                ("nom", "Durand"),
                ("prenom", "Camille"),
                (&nom_projet, "Jardin partagé"),
                (&participants, "douze"),
                (&structure, "Association"),
            ],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(saved.status, 422, "{}", saved.body);
    let message = "« Nombre de participants » doit être un nombre entier (sans virgule).";
    assert!(saved.contains(message), "{}", saved.body);
    assert_eq!(
        saved.text(&format!("#{participants}-error")).as_deref(),
        Some(message)
    );
    assert_eq!(
        attr(&saved, &format!("#{participants}"), "aria-describedby"),
        Some(format!("{participants}-error"))
    );
    assert!(
        saved.contains(&format!("href=\"#{participants}\"")),
        "error summary"
    );
    assert_eq!(saved.field(&participants).as_deref(), Some("douze"));
    assert_eq!(saved.field(&nom_projet).as_deref(), Some("Jardin partagé"));
    assert_eq!(saved.field("nom").as_deref(), Some("Durand"));
    assert_eq!(saved.field("prenom").as_deref(), Some("Camille"));
    assert!(checked(&saved, "#civilite-mme"));
    assert_eq!(selected(&saved, &structure).as_deref(), Some("Association"));
    let text_id = procedure.champ("Nom du projet").stable_id;
    let int_id = procedure.champ("Nombre de participants").stable_id;
    let dd_id = procedure.champ("Type de structure").stable_id;
    assert_eq!(
        champ_value(&app, id, text_id).await,
        Some(json!("Jardin partagé"))
    );
    assert_eq!(
        champ_value(&app, id, dd_id).await,
        Some(json!("Association"))
    );
    assert_eq!(champ_value(&app, id, int_id).await, None);
    let identity: (String, String, String) =
        sqlx::query_as("select civilite, nom, prenom from individuals where dossier_id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(identity, ("Mme".into(), "Durand".into(), "Camille".into()));

    // Corrected, the brouillon is saved.
    let saved = usager
        .submit_with_button(
            &saved,
            "form#dossier-form",
            &[(&participants, "12")],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.url.ends_with(&format!("/dossiers/{id}/brouillon")));
    assert!(saved.contains("Votre brouillon a bien été enregistré."));
    assert_eq!(saved.field(&participants).as_deref(), Some("12"));
    assert_eq!(champ_value(&app, id, int_id).await, Some(json!(12)));

    // A deposit with a mandatory champ left blank is refused; nothing typed is lost.
    let refused = usager
        .submit_with_button(
            &saved,
            "form#dossier-form",
            &[(&nom_projet, ""), (&participants, "15")],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.text(&format!("#{nom_projet}-error")).as_deref(),
        Some("Le champ « Nom du projet » doit être rempli.")
    );
    assert_eq!(refused.field(&participants).as_deref(), Some("15"));
    assert_eq!(
        selected(&refused, &structure).as_deref(),
        Some("Association")
    );
    assert_eq!(refused.field("nom").as_deref(), Some("Durand"));
    assert_eq!(dossier_state(&app, id).await, "brouillon");
    assert_eq!(champ_value(&app, id, int_id).await, Some(json!(15)));

    // Deposit.
    let deposited = usager
        .submit_with_button(
            &refused,
            "form#dossier-form",
            &[(&nom_projet, "Jardin partagé des Lilas")],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    assert!(
        deposited.url.ends_with(&format!("/dossiers/{id}")),
        "{}",
        deposited.url
    );
    assert!(deposited.contains(
        "Votre dossier a bien été déposé. Vous allez recevoir un accusé de réception par e-mail."
    ));
    assert_eq!(deposited.text("#etat").as_deref(), Some("En construction"));
    assert!(
        deposited
            .text("#explication-etat")
            .unwrap()
            .starts_with("Votre dossier est en construction : vous pouvez encore le modifier")
    );
    assert!(deposited.text("#date-depot").is_some());
    assert!(deposited.contains("Jardin partagé des Lilas"));
    assert!(deposited.contains("Durand"));

    assert_eq!(dossier_state(&app, id).await, "en_construction");
    let versions: Vec<i32> = sqlx::query_scalar(
        "select version from dossier_events where dossier_id = $1 order by version",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let last = *versions.last().unwrap();
    assert_eq!(versions, (0..=last).collect::<Vec<_>>());
    assert_eq!(lock_version(&app, id).await, last);
    let kinds: Vec<String> = sqlx::query_scalar(
        "select kind from dossier_events where dossier_id = $1 order by version",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(kinds.first().map(String::as_str), Some("creer"));
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("passer_en_construction")
    );
    let traitements: Vec<String> =
        sqlx::query_scalar("select state::text from traitements where dossier_id = $1")
            .bind(id)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(traitements, vec!["en_construction".to_owned()]);
    let groupe: Option<i64> =
        sqlx::query_scalar("select groupe_instructeur_id from dossiers where id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(groupe, Some(procedure.groupe_id));
    let mail = app
        .mail
        .wait_for(
            USAGER,
            &format!("Votre dossier n° {id} a bien été déposé (Demande de subvention)"),
        )
        .await;
    assert!(mail.body.contains(&format!("/dossiers/{id}")));

    // The brouillon form of a deposited dossier leads to its summary.
    let again = usager.get(&format!("/dossiers/{id}/brouillon")).await;
    assert!(again.url.ends_with(&format!("/dossiers/{id}")));

    // Mes dossiers: under "En cours", not under "Traités".
    let list = usager.get("/dossiers").await;
    assert_eq!(list.status, 200);
    let row = list.text(&format!("#dossier-{id}")).unwrap();
    assert!(row.contains("Demande de subvention"), "{row}");
    assert!(row.contains("En construction"), "{row}");
    assert!(list.contains("En cours (1)"));
    let traites = usager.get("/dossiers?statut=traites").await;
    assert!(traites.text(&format!("#dossier-{id}")).is_none());
    assert!(traites.contains("Vous n’avez aucun dossier traité."));

    // The public page lists it.
    let public = usager.get("/commencer/subvention").await;
    assert!(public.contains(&format!("href=\"/dossiers/{id}\"")));

    // Modifications en construction.
    let summary = usager.get(&format!("/dossiers/{id}")).await;
    assert_eq!(
        attr(&summary, "#modifier", "href"),
        Some(format!("/dossiers/{id}/modifier"))
    );
    let edit = usager.get(&format!("/dossiers/{id}/modifier")).await;
    assert_eq!(edit.status, 200);
    assert_eq!(edit.field(&participants).as_deref(), Some("15"));
    assert!(edit.contains("name=\"action\" value=\"submit\">Déposer les modifications</button>"));
    assert!(!edit.contains("Enregistrer le brouillon</button>"));

    // Invalid: nothing saved, everything re-rendered.
    let before = lock_version(&app, id).await;
    let invalid = usager
        .submit_with_button(
            &edit,
            "form#dossier-form",
            &[(&nom_projet, " "), (&participants, "40")],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(invalid.status, 422);
    assert!(invalid.contains("Le champ « Nom du projet » doit être rempli."));
    assert_eq!(invalid.field(&participants).as_deref(), Some("40"));
    assert_eq!(lock_version(&app, id).await, before);
    assert_eq!(champ_value(&app, id, int_id).await, Some(json!(15)));

    let modified = usager
        .submit_with_button(
            &edit,
            "form#dossier-form",
            &[(&participants, "30")],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(modified.status, 200, "{}", modified.body);
    assert!(modified.url.ends_with(&format!("/dossiers/{id}")));
    assert!(modified.contains("Vos modifications ont bien été déposées."));
    assert_eq!(champ_value(&app, id, int_id).await, Some(json!(30)));
    assert_eq!(dossier_state(&app, id).await, "en_construction");
    let kind: String = sqlx::query_scalar(
        "select kind from dossier_events where dossier_id = $1 order by version desc limit 1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(kind, "modifier");
    assert_eq!(lock_version(&app, id).await, before + 1);

    // Another usager sees nothing of it, and cannot change it.
    let other = app.signed_in("autre@example.fr", &[], "usager").await;
    for path in ["", "/brouillon", "/modifier"] {
        let page = other.get(&format!("/dossiers/{id}{path}")).await;
        assert_eq!(page.status, 404, "{path}");
    }
    let token = other.get("/dossiers").await.csrf().unwrap();
    let post = other
        .post_with_token(
            &token,
            &format!("/dossiers/{id}/modifier"),
            &[(&participants, "99"), ("action", "submit")],
        )
        .await;
    assert_eq!(post.status, 404);
    assert_eq!(champ_value(&app, id, int_id).await, Some(json!(30)));
    assert!(
        other
            .get("/dossiers")
            .await
            .text(&format!("#dossier-{id}"))
            .is_none()
    );
}

#[tokio::test]
async fn closed_demarche_refuses_the_deposit() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (id, form) = start_brouillon(&usager, "/commencer/subvention").await;
    sqlx::query("update procedures set state = 'close', closed_at = now() where id = $1")
        .bind(procedure.id)
        .execute(&app.db)
        .await
        .unwrap();

    let public = usager.get("/commencer/subvention").await;
    assert_eq!(public.status, 200);
    assert_eq!(
        public.text("h1").as_deref(),
        Some("Cette démarche est close")
    );
    assert!(!public.contains("Commencer la démarche"));
    assert!(public.contains(&format!("href=\"/dossiers/{id}/brouillon\"")));
    let line = public.text(&format!("#dossier-{id}")).unwrap();
    assert!(
        line.contains("Brouillon") && line.contains("Continuer"),
        "{line}"
    );

    let refused = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                ("civilite", "M."),
                ("nom", "Martin"),
                ("prenom", "Louis"),
                (&name(&procedure, "Nom du projet"), "Rucher"),
                (&name(&procedure, "Type de structure"), "Entreprise"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.text("#form-alert").as_deref(),
        Some("Cette démarche est close : le dossier ne peut plus être déposé.")
    );
    assert_eq!(
        refused.field(&name(&procedure, "Nom du projet")).as_deref(),
        Some("Rucher")
    );
    assert!(checked(&refused, "#civilite"));
    assert_eq!(dossier_state(&app, id).await, "brouillon");
    assert!(app.mail.find(USAGER, "a bien été déposé").is_empty());
}

#[tokio::test]
async fn demarche_en_test_takes_test_dossiers_on_its_draft_revision() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "essai").await;
    sqlx::query("update procedures set state = 'brouillon', published_at = null where id = $1")
        .bind(procedure.id)
        .execute(&app.db)
        .await
        .unwrap();
    let draft: i64 = sqlx::query_scalar("select draft_revision_id from procedures where id = $1")
        .bind(procedure.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let usager = app.signed_in(USAGER, &[], "usager").await;
    assert_eq!(usager.get("/commencer/essai").await.status, 404);
    let page = usager.get("/commencer/test/essai").await;
    assert_eq!(page.status, 200);
    assert!(page.contains("Démarche en test"));
    let anonymous = app.browser().get("/commencer/test/essai").await;
    assert!(anonymous.contains("href=\"/users/sign_in?return_to=/commencer/test/essai\""));

    let (id, form) = start_brouillon(&usager, "/commencer/test/essai").await;
    assert!(form.contains("Démarche en test"));
    let revision: i64 = sqlx::query_scalar("select revision_id from dossiers where id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(revision, draft);
    let deposited = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                ("civilite", "Mme"),
                ("nom", "Durand"),
                ("prenom", "Camille"),
                (&name(&procedure, "Nom du projet"), "Essai"),
                (&name(&procedure, "Type de structure"), "Collectivité"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    assert_eq!(dossier_state(&app, id).await, "en_construction");

    // Once published, the test link leads to the public page.
    sqlx::query("update procedures set state = 'publiee', published_at = now() where id = $1")
        .bind(procedure.id)
        .execute(&app.db)
        .await
        .unwrap();
    let page = usager.get("/commencer/test/essai").await;
    assert!(page.url.ends_with("/commencer/essai"));
    assert!(!page.contains("Démarche en test"));
}

#[tokio::test]
async fn mes_dossiers_is_paginated_and_shows_decisions() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let mut ids = Vec::new();
    for n in 0..30 {
        let id = seed::deposited_dossier(
            &app.db,
            &procedure,
            USAGER,
            &[("Nom du projet", json!(format!("Projet {n}")))],
        )
        .await;
        ids.push(id);
    }
    // Two decisions, one refused with its motivation.
    let (accepte, refuse) = (ids[0], ids[1]);
    sqlx::query("update dossiers set state = 'accepte', processed_at = now() where id = $1")
        .bind(accepte)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query(
        "update dossiers set state = 'refuse', processed_at = now(), motivation = 'Pièce manquante.' where id = $1",
    )
    .bind(refuse)
    .execute(&app.db)
    .await
    .unwrap();
    seed::deposited_dossier(&app.db, &procedure, "autre@example.fr", &[]).await;

    let usager = app.signed_in(USAGER, &[], "usager").await;
    let first = usager.get("/dossiers").await;
    assert_eq!(first.status, 200);
    assert!(first.contains("En cours (28)"));
    assert!(first.contains("Traités (2)"));
    assert_eq!(first.texts("#dossiers tbody tr").len(), 25);
    assert!(first.contains("class=\"fr-pagination\""));
    assert_eq!(
        attr(&first, "a.fr-pagination__link--next", "href").as_deref(),
        Some("/dossiers?statut=en-cours&page=2")
    );
    let second = usager.get("/dossiers?statut=en-cours&page=2").await;
    assert_eq!(second.texts("#dossiers tbody tr").len(), 3);
    assert!(second.contains("aria-current=\"page\" title=\"Page 2\""));
    // Out-of-range pages fall back to the last one.
    let beyond = usager.get("/dossiers?page=99").await;
    assert_eq!(beyond.texts("#dossiers tbody tr").len(), 3);

    let traites = usager.get("/dossiers?statut=traites").await;
    assert_eq!(traites.texts("#dossiers tbody tr").len(), 2);
    assert!(
        traites
            .text(&format!("#dossier-{refuse}"))
            .unwrap()
            .contains("Refusé")
    );
    assert!(
        traites
            .text(&format!("#dossier-{accepte}"))
            .unwrap()
            .contains("Accepté")
    );
    assert!(!traites.contains("class=\"fr-pagination\""));

    let summary = usager.get(&format!("/dossiers/{refuse}")).await;
    assert_eq!(summary.text("#etat").as_deref(), Some("Refusé"));
    assert_eq!(
        summary.text("#motivation").as_deref(),
        Some("Motif : Pièce manquante.")
    );
    assert!(summary.text("#modifier").is_none());
    let edit = usager.get(&format!("/dossiers/{refuse}/modifier")).await;
    assert!(edit.url.ends_with(&format!("/dossiers/{refuse}")));
    assert!(edit.contains("Ce dossier est « Refusé » : il ne peut plus être modifié."));
}

#[tokio::test]
async fn every_champ_type_has_its_widget_and_round_trips() {
    let app = TestApp::spawn().await;
    let procedure = seed::published_procedure(
        &app.db,
        "Aide aux ruchers",
        "ruchers",
        "admin@example.gouv.fr",
        &[
            ("header_section", "Votre projet", false, json!({})),
            ("explication", "À lire avant de commencer", false, json!({})),
            (
                "textarea",
                "Description du projet",
                true,
                json!({"character_limit": 20}),
            ),
            ("date", "Date de début", true, json!({})),
            ("checkbox", "J’accepte les conditions", true, json!({})),
            ("email", "Courriel de contact", false, json!({})),
            ("phone", "Téléphone", false, json!({})),
            (
                "integer_number",
                "Budget",
                false,
                json!({"min": 0, "max": 1000}),
            ),
        ],
    )
    .await;
    // A démarche for legal entities: no identity block.
    sqlx::query("update procedures set for_individual = false where id = $1")
        .bind(procedure.id)
        .execute(&app.db)
        .await
        .unwrap();
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (id, form) = start_brouillon(&usager, "/commencer/ruchers").await;
    let n = |libelle: &str| name(&procedure, libelle);
    let (description, date, cgu, email, phone, budget) = (
        n("Description du projet"),
        n("Date de début"),
        n("J’accepte les conditions"),
        n("Courriel de contact"),
        n("Téléphone"),
        n("Budget"),
    );

    assert!(!form.contains("name=\"civilite\""));
    assert!(
        form.texts("#dossier-form h2")
            .contains(&"Votre projet".to_owned())
    );
    assert!(form.contains("À lire avant de commencer"));
    assert_eq!(
        attr(&form, &format!("textarea#{description}"), "maxlength").as_deref(),
        Some("20")
    );
    assert_eq!(
        attr(&form, &format!("#{date}"), "type").as_deref(),
        Some("date")
    );
    assert_eq!(
        attr(&form, &format!("#{cgu}"), "type").as_deref(),
        Some("checkbox")
    );
    assert_eq!(
        attr(&form, &format!("#{email}"), "type").as_deref(),
        Some("email")
    );
    assert_eq!(
        attr(&form, &format!("#{phone}"), "type").as_deref(),
        Some("tel")
    );
    assert_eq!(
        attr(&form, &format!("#{budget}"), "min").as_deref(),
        Some("0")
    );
    assert_eq!(
        attr(&form, &format!("#{budget}"), "max").as_deref(),
        Some("1000")
    );
    for champ in &procedure.champs {
        let label = format!("label[for=\"champ_{}\"]", champ.stable_id);
        let has_value = !matches!(champ.type_champ.as_str(), "header_section" | "explication");
        assert_eq!(form.text(&label).is_some(), has_value, "{}", champ.libelle);
    }

    // Every error at once, every value kept.
    let long = "Un texte bien trop long pour la limite";
    let refused = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                (&description, long),
                (&date, "31/02/2026"),
                (&email, "pas-une-adresse"),
                (&phone, "12"),
                (&budget, "2000"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    for message in [
        "Le texte ne doit pas dépasser 20 caractères.",
        "« Date de début » doit être une date valide (JJ/MM/AAAA).",
        "La case « J’accepte les conditions » doit être cochée.",
        "« Courriel de contact » doit être une adresse électronique valide",
        "« Téléphone » doit être un numéro de téléphone valide",
        "« Budget » doit être compris entre 0 et 1000.",
    ] {
        assert!(refused.contains(message), "{message}");
    }
    assert_eq!(
        refused.text(&format!("textarea#{description}")).as_deref(),
        Some(long)
    );
    assert_eq!(refused.field(&date).as_deref(), Some("31/02/2026"));
    assert_eq!(refused.field(&email).as_deref(), Some("pas-une-adresse"));
    assert_eq!(refused.field(&budget).as_deref(), Some("2000"));
    // The summary follows the order of the form.
    let summary = refused.texts("#error-summary li");
    assert_eq!(summary.len(), 6);
    assert_eq!(
        summary[2],
        "La case « J’accepte les conditions » doit être cochée."
    );

    let deposited = usager
        .submit_with_button(
            &refused,
            "form#dossier-form",
            &[
                (&description, "Un rucher\nen ville"),
                (&date, "2026-05-01"),
                (&cgu, "on"),
                (&email, "contact@rucher.fr"),
                (&phone, "06.12.34.56.78"),
                (&budget, "500"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    assert_eq!(dossier_state(&app, id).await, "en_construction");
    let summary = deposited.text("#champs").unwrap();
    for shown in [
        "Votre projet",
        "Un rucher en ville",
        "01/05/2026",
        "J’accepte les conditions Oui",
        "contact@rucher.fr",
        "06 12 34 56 78",
        "500",
    ] {
        assert!(summary.contains(shown), "{shown} in {summary}");
    }
    assert!(!deposited.contains("Identité du demandeur"));
    let stable = |libelle: &str| procedure.champ(libelle).stable_id;
    assert_eq!(
        champ_value(&app, id, stable("Description du projet")).await,
        Some(json!("Un rucher\nen ville"))
    );
    assert_eq!(
        champ_value(&app, id, stable("J’accepte les conditions")).await,
        Some(json!(true))
    );
    assert_eq!(
        champ_value(&app, id, stable("Téléphone")).await,
        Some(json!("0612345678"))
    );

    // The modification form is prefilled with the stored values.
    let edit = usager.get(&format!("/dossiers/{id}/modifier")).await;
    assert_eq!(
        edit.text(&format!("textarea#{description}")).as_deref(),
        Some("Un rucher en ville")
    );
    assert!(edit.body.contains(">\nUn rucher\nen ville</textarea>"));
    assert!(checked(&edit, &format!("#{cgu}")));
    assert_eq!(edit.field(&date).as_deref(), Some("2026-05-01"));
    assert_eq!(edit.field(&phone).as_deref(), Some("06 12 34 56 78"));
    assert_eq!(edit.field(&budget).as_deref(), Some("500"));
}
