//! The administrateur area: creating a démarche, building its form, naming instructeurs,
//! publishing and closing it — through the pages, like an administrateur would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Browser, Page, TestApp, add_champ, procedure_id};

use serde_json::{Value, json};

const ADMIN: &str = "admin@example.gouv.fr";

async fn admin(app: &TestApp) -> Browser {
    app.signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await
}

/// Creates a démarche through the creation form; returns its page.
async fn create(browser: &Browser, libelle: &str, path: &str) -> Page {
    let form = browser.get("/admin/procedures/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let page = browser
        .submit(
            &form,
            "form#new-procedure",
            &[
                ("libelle", libelle),
                ("description", "Une démarche pour les tests."),
                ("organisation", "Ministère des tests"),
                ("path", path),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

async fn draft_champs(app: &TestApp, id: i64) -> Vec<(i64, i32, String, String, bool, Value)> {
    sqlx::query_as(
        "select t.stable_id, t.position, t.type_champ, t.libelle, t.mandatory, t.options
         from types_de_champ t join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 order by t.position",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

fn libelles(page: &Page) -> Vec<String> {
    page.texts("#champs .dm-champ-libelle")
}

#[tokio::test]
async fn create_a_demarche_through_the_forms() {
    let app = TestApp::spawn().await;
    let browser = admin(&app).await;

    let list = browser.get("/admin/procedures").await;
    assert_eq!(list.status, 200);
    assert!(list.contains("Mes démarches"));
    assert!(list.contains("Nouvelle démarche"));

    // A missing libellé: the error is shown, and what was typed is kept.
    let form = browser.get("/admin/procedures/new").await;
    let invalid = browser
        .submit(
            &form,
            "form#new-procedure",
            &[
                ("libelle", "  "),
                ("description", "Aide aux projets associatifs du quartier."),
                ("organisation", "Mairie de Lyon"),
                ("public", "personnes_morales"),
            ],
        )
        .await;
    assert_eq!(invalid.status, 422);
    assert!(
        invalid
            .text("#error-summary")
            .unwrap()
            .contains("Saisissez le titre de la démarche.")
    );
    assert_eq!(
        invalid.text("#libelle-error").as_deref(),
        Some("Saisissez le titre de la démarche.")
    );
    assert_eq!(
        invalid.text("textarea#description").as_deref(),
        Some("Aide aux projets associatifs du quartier.")
    );
    assert_eq!(
        invalid.field("organisation").as_deref(),
        Some("Mairie de Lyon")
    );
    assert!(invalid.contains(
        r#"id="public-personnes-morales" name="public" value="personnes_morales" checked"#
    ));

    // Corrected: created, and the browser lands on the démarche page.
    let created = browser
        .submit(
            &invalid,
            "form#new-procedure",
            &[("libelle", "Demande d’aide aux projets")],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = procedure_id(&created);
    assert!(created.url.ends_with(&format!("/admin/procedures/{id}")));
    assert!(created.contains("La démarche a bien été créée."));
    assert!(created.contains("En test"));
    assert!(created.contains("/commencer/test/demande-d-aide-aux-projets"));
    assert!(created.contains("Ajouter au moins un champ à remplir au formulaire"));

    let (state, path, for_individual, organisation, draft, groupe): (
        String,
        String,
        bool,
        String,
        Option<i64>,
        Option<i64>,
    ) = sqlx::query_as(
        "select state::text, path, for_individual, organisation, draft_revision_id,
                defaut_groupe_instructeur_id from procedures where id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(state, "brouillon");
    assert_eq!(path, "demande-d-aide-aux-projets");
    assert!(!for_individual);
    assert_eq!(organisation, "Mairie de Lyon");
    let draft = draft.unwrap();
    let revision_published: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select published_at from procedure_revisions where id = $1")
            .bind(draft)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(revision_published.is_none());
    let label: String = sqlx::query_scalar("select label from groupes_instructeurs where id = $1")
        .bind(groupe.unwrap())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(label, "défaut");
    let admin_id = common::seed::user_id(&app.db, ADMIN).await;
    let (is_admin, is_instructeur): (bool, bool) = sqlx::query_as(
        "select exists (select 1 from procedure_administrateurs where procedure_id = $1 and user_id = $2),
                exists (select 1 from assign_tos where groupe_instructeur_id = $3 and instructeur_id = $2)",
    )
    .bind(id)
    .bind(admin_id)
    .bind(groupe.unwrap())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(is_admin && is_instructeur);

    // The same libellé again: the link gets a suffix.
    let second = create(&browser, "Demande d’aide aux projets", "").await;
    let second_path: String = sqlx::query_scalar("select path from procedures where id = $1")
        .bind(procedure_id(&second))
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(second_path, "demande-d-aide-aux-projets-2");

    // A link chosen by hand that is taken is refused, the rest kept.
    let form = browser.get("/admin/procedures/new").await;
    let taken = browser
        .submit(
            &form,
            "form#new-procedure",
            &[
                ("libelle", "Autre démarche"),
                ("description", "Description"),
                ("path", "demande-d-aide-aux-projets"),
            ],
        )
        .await;
    assert_eq!(taken.status, 422);
    assert_eq!(
        taken.text("#path-error").as_deref(),
        Some("Ce lien est déjà utilisé par une autre démarche.")
    );
    assert_eq!(taken.field("libelle").as_deref(), Some("Autre démarche"));

    // Both are listed in "En test".
    let list = browser.get("/admin/procedures").await;
    assert_eq!(list.texts("#procedures tbody tr").len(), 2);
    assert!(list.contains("En test (2)"));
    assert!(list.contains(&format!("href=\"/admin/procedures/{id}\"")));

    // Editing the description.
    let edit = browser.get(&format!("/admin/procedures/{id}/edit")).await;
    let missing = browser
        .submit(&edit, "form#edit-procedure", &[("description", "")])
        .await;
    assert_eq!(missing.status, 422);
    assert!(missing.contains("Saisissez la description de la démarche."));
    assert_eq!(
        missing.field("libelle").as_deref(),
        Some("Demande d’aide aux projets")
    );
    let saved = browser
        .submit(
            &missing,
            "form#edit-procedure",
            &[
                ("libelle", "Aide aux projets"),
                ("description", "Nouvelle description."),
            ],
        )
        .await;
    assert!(saved.contains("La description de la démarche a bien été enregistrée."));
    assert!(saved.contains("Nouvelle description."));
    assert_eq!(saved.text("h1").as_deref(), Some("Aide aux projets"));
}

#[tokio::test]
async fn build_the_form_of_a_demarche() {
    let app = TestApp::spawn().await;
    let browser = admin(&app).await;
    let id = procedure_id(&create(&browser, "Inscription à la cantine", "").await);

    let added = add_champ(
        &browser,
        id,
        &[("type_champ", "text"), ("libelle", "Nom de l’enfant")],
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.contains("Le champ « Nom de l’enfant » a bien été ajouté."));
    add_champ(
        &browser,
        id,
        &[
            ("type_champ", "textarea"),
            ("libelle", "Allergies"),
            ("description", "Précisez les allergies connues."),
            ("character_limit", "500"),
        ],
    )
    .await;
    add_champ(
        &browser,
        id,
        &[
            ("type_champ", "integer_number"),
            ("libelle", "Nombre de repas par semaine"),
            ("min", "1"),
            ("max", "5"),
        ],
    )
    .await;
    // An empty drop-down is refused, with everything typed kept.
    let builder = browser.get(&format!("/admin/procedures/{id}/champs")).await;
    let empty = browser
        .submit(
            &builder,
            "form#add-champ",
            &[
                ("type_champ", "drop_down_list"),
                ("libelle", "Établissement"),
                ("drop_down_options", " \n  \n"),
            ],
        )
        .await;
    assert_eq!(empty.status, 422);
    assert_eq!(
        empty.text("#drop_down_options-error").as_deref(),
        Some("Ajoutez au moins une option à la liste.")
    );
    assert!(empty.contains("aria-describedby=\"drop_down_options-error\""));
    assert_eq!(empty.field("libelle").as_deref(), Some("Établissement"));
    assert!(empty.contains(r#"<option value="drop_down_list" selected>"#));
    let dropdown = browser
        .submit(
            &empty,
            "form#add-champ",
            &[(
                "drop_down_options",
                "École Jean Jaurès\r\n\r\nÉcole Victor Hugo\r\nÉcole Jean Jaurès\r\n",
            )],
        )
        .await;
    assert!(dropdown.contains("Le champ « Établissement » a bien été ajouté."));
    // A section title is never mandatory, even if the box stays checked.
    let section = add_champ(
        &browser,
        id,
        &[("type_champ", "header_section"), ("libelle", "Repas")],
    )
    .await;
    assert_eq!(
        libelles(&section),
        vec![
            "Nom de l’enfant",
            "Allergies",
            "Nombre de repas par semaine",
            "Établissement",
            "Repas"
        ]
    );

    let champs = draft_champs(&app, id).await;
    assert_eq!(champs.len(), 5);
    let (_, _, t, _, _, options) = &champs[3];
    assert_eq!(t, "drop_down_list");
    assert_eq!(
        options,
        &json!({"drop_down_options": ["École Jean Jaurès", "École Victor Hugo"]})
    );
    assert_eq!(champs[1].5, json!({"character_limit": 500}));
    assert_eq!(champs[2].5, json!({"min": 1, "max": 5}));
    assert!(champs[0].4, "mandatory by default");
    assert!(!champs[4].4, "a header section is not mandatory");
    let stable_ids: Vec<i64> = champs.iter().map(|c| c.0).collect();
    let section_id = stable_ids[4];
    let allergies_id = stable_ids[1];

    // Move the section up twice: it now comes before the number of meals.
    let page = browser.get(&format!("/admin/procedures/{id}/champs")).await;
    let moved = browser
        .submit(&page, &format!("#champ-{section_id} form.move-up"), &[])
        .await;
    assert!(moved.contains("Le champ « Repas » a été monté : il est maintenant en position 4."));
    let moved = browser
        .submit(&moved, &format!("#champ-{section_id} form.move-up"), &[])
        .await;
    assert_eq!(
        libelles(&moved),
        vec![
            "Nom de l’enfant",
            "Allergies",
            "Repas",
            "Nombre de repas par semaine",
            "Établissement"
        ]
    );
    // Moving the first champ up changes nothing.
    let first = stable_ids[0];
    browser
        .post(
            &format!("/admin/procedures/{id}/champs"),
            &format!("/admin/procedures/{id}/champs/{first}/move"),
            &[("direction", "up")],
        )
        .await;

    // Delete the allergies.
    let deleted = browser
        .submit(&moved, &format!("#champ-{allergies_id} form.delete"), &[])
        .await;
    assert!(deleted.contains("Le champ « Allergies » a bien été supprimé."));
    let expected = vec![
        "Nom de l’enfant",
        "Repas",
        "Nombre de repas par semaine",
        "Établissement",
    ];
    assert_eq!(libelles(&deleted), expected);
    let champs = draft_champs(&app, id).await;
    let in_db: Vec<(i32, &str)> = champs.iter().map(|c| (c.1, c.3.as_str())).collect();
    assert_eq!(
        in_db,
        expected
            .iter()
            .enumerate()
            .map(|(i, l)| (i as i32, *l))
            .collect::<Vec<_>>()
    );
    // The section shows no "obligatoire".
    let row = deleted.text(&format!("#champ-{section_id}")).unwrap();
    assert!(row.contains("—"), "{row}");

    // Edit a champ: new libellé, no longer mandatory; a bad bound is refused first.
    let number_id = stable_ids[2];
    let edit = browser
        .get(&format!("/admin/procedures/{id}/champs/{number_id}"))
        .await;
    assert_eq!(edit.status, 200);
    assert_eq!(edit.field("min").as_deref(), Some("1"));
    let bad = browser
        .submit(&edit, "form#edit-champ", &[("max", "cinq")])
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.text("#max-error").as_deref(),
        Some("Le maximum doit être un nombre entier.")
    );
    let saved = submit_unchecked(
        &browser,
        &bad,
        "form#edit-champ",
        "mandatory",
        &[("libelle", "Repas par semaine"), ("max", "4")],
    )
    .await;
    assert!(saved.contains("Le champ « Repas par semaine » a bien été modifié."));
    let champs = draft_champs(&app, id).await;
    let number = champs.iter().find(|c| c.0 == number_id).unwrap();
    assert_eq!(number.3, "Repas par semaine");
    assert!(!number.4);
    assert_eq!(number.5, json!({"min": 1, "max": 4}));
    assert_eq!(number.1, 2, "editing keeps the position");
}

/// Submits a form with the checkbox `unchecked` unticked (the browser then omits it).
async fn submit_unchecked(
    browser: &Browser,
    page: &Page,
    form_css: &str,
    unchecked: &str,
    fields: &[(&str, &str)],
) -> Page {
    let checked = format!("name=\"{unchecked}\" value=\"on\" checked");
    assert!(page.contains(&checked), "{unchecked} is not checked");
    let page = Page {
        body: page
            .body
            .replace(&checked, &format!("name=\"{unchecked}\" value=\"on\"")),
        ..page.clone()
    };
    browser.submit(&page, form_css, fields).await
}

#[tokio::test]
async fn name_instructeurs_by_email() {
    let app = TestApp::spawn().await;
    let browser = admin(&app).await;
    let id = procedure_id(&create(&browser, "Permis de végétaliser", "vegetaliser").await);

    let page = browser
        .get(&format!("/admin/procedures/{id}/instructeurs"))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.texts(".dm-instructeur-email"), vec![ADMIN]);

    let invalid = browser
        .submit(
            &page,
            "form#add-instructeur",
            &[("email", "camille.durand@")],
        )
        .await;
    assert_eq!(invalid.status, 422);
    assert!(
        invalid
            .text("#email-error")
            .unwrap()
            .starts_with("Saisissez une adresse électronique valide")
    );
    assert_eq!(invalid.field("email").as_deref(), Some("camille.durand@"));

    let added = browser
        .submit(
            &invalid,
            "form#add-instructeur",
            &[("email", " Camille.Durand@Example.gouv.fr ")],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.contains("a bien été affecté à la démarche"));
    assert_eq!(
        added.texts(".dm-instructeur-email"),
        vec![ADMIN, "camille.durand@example.gouv.fr"]
    );
    assert!(added.contains("En attente d’activation"));
    let mail = app
        .mail
        .wait_for(
            "camille.durand@example.gouv.fr",
            "Activez votre compte instructeur",
        )
        .await;
    assert!(mail.body.contains("Permis de végétaliser"));
    assert!(mail.body.contains("/users/activate?token="));

    // Twice: nothing changes.
    let again = browser
        .submit(
            &added,
            "form#add-instructeur",
            &[("email", "camille.durand@example.gouv.fr")],
        )
        .await;
    assert!(again.contains("est déjà instructeur de cette démarche."));
    assert_eq!(again.texts(".dm-instructeur-email").len(), 2);

    // An existing account is told it was assigned.
    app.account("dominique@example.gouv.fr", &[]).await;
    browser
        .submit(
            &again,
            "form#add-instructeur",
            &[("email", "dominique@example.gouv.fr")],
        )
        .await;
    app.mail
        .wait_for("dominique@example.gouv.fr", "Vous avez été affecté(e)")
        .await;

    // Removing one.
    let instructeur_id = common::seed::user_id(&app.db, "dominique@example.gouv.fr").await;
    let page = browser
        .get(&format!("/admin/procedures/{id}/instructeurs"))
        .await;
    let removed = browser
        .submit(
            &page,
            &format!("#instructeur-{instructeur_id} form.remove"),
            &[],
        )
        .await;
    assert!(
        removed
            .contains("L’instructeur dominique@example.gouv.fr a bien été retiré de la démarche.")
    );
    assert_eq!(removed.texts(".dm-instructeur-email").len(), 2);
}

/// A test dossier on the draft revision (with a champ and its first event).
async fn test_dossier(app: &TestApp, procedure_id: i64, state: &str) -> i64 {
    let usager = common::seed::user_id(&app.db, "testeur@example.fr").await;
    let (draft, groupe): (i64, i64) = sqlx::query_as(
        "select draft_revision_id, defaut_groupe_instructeur_id from procedures where id = $1",
    )
    .bind(procedure_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let id: i64 = sqlx::query_scalar(
        "insert into dossiers (procedure_id, revision_id, user_id, state, groupe_instructeur_id)
         values ($1, $2, $3, $4::dossier_state, $5) returning id",
    )
    .bind(procedure_id)
    .bind(draft)
    .bind(usager)
    .bind(state)
    .bind(groupe)
    .fetch_one(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into champs (dossier_id, stable_id, value)
         select $1, stable_id, '\"essai\"' from types_de_champ where revision_id = $2 limit 1",
    )
    .bind(id)
    .bind(draft)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into dossier_events (dossier_id, version, kind, actor_kind, actor_id)
         values ($1, 0, 'creer', 'usager', $2)",
    )
    .bind(id)
    .bind(usager)
    .execute(&app.db)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn publish_then_close_a_demarche() {
    let app = TestApp::spawn().await;
    let browser = admin(&app).await;
    let id = procedure_id(&create(&browser, "Aide au permis de conduire", "").await);
    let publication = format!("/admin/procedures/{id}/publication");

    // Without any champ to fill, nor instructeur (the creator withdraws): refused, twice.
    add_champ(
        &browser,
        id,
        &[("type_champ", "header_section"), ("libelle", "Identité")],
    )
    .await;
    let admin_id = common::seed::user_id(&app.db, ADMIN).await;
    let page = browser
        .get(&format!("/admin/procedures/{id}/instructeurs"))
        .await;
    browser
        .submit(&page, &format!("#instructeur-{admin_id} form.remove"), &[])
        .await;
    let page = browser.get(&publication).await;
    assert_eq!(page.status, 200);
    assert!(page.contains("/commencer/test/aide-au-permis-de-conduire"));
    let refused = browser
        .submit(&page, "form#publish", &[("path", "permis")])
        .await;
    assert_eq!(refused.status, 422);
    let summary = refused.text("#error-summary").unwrap();
    assert!(summary.contains(
        "Ajoutez au moins un champ à remplir au formulaire avant de publier la démarche."
    ));
    assert!(
        summary.contains("Affectez au moins un instructeur à la démarche avant de la publier.")
    );
    assert_eq!(refused.field("path").as_deref(), Some("permis"));

    // With a champ but still no instructeur.
    add_champ(
        &browser,
        id,
        &[
            ("type_champ", "drop_down_list"),
            ("libelle", "Catégorie de permis"),
            ("drop_down_options", "A\nB\nC"),
        ],
    )
    .await;
    let page = browser.get(&publication).await;
    let refused = browser
        .submit(&page, "form#publish", &[("path", "permis")])
        .await;
    assert_eq!(refused.status, 422);
    let summary = refused.text("#error-summary").unwrap();
    assert!(!summary.contains("Ajoutez au moins un champ"));
    assert!(summary.contains("Affectez au moins un instructeur"));

    // An instructeur, test dossiers, and a link taken by another démarche.
    let page = browser
        .get(&format!("/admin/procedures/{id}/instructeurs"))
        .await;
    browser
        .submit(
            &page,
            "form#add-instructeur",
            &[("email", "instructeur@example.gouv.fr")],
        )
        .await;
    app.mail
        .wait_for(
            "instructeur@example.gouv.fr",
            "Activez votre compte instructeur",
        )
        .await;
    let brouillon = test_dossier(&app, id, "brouillon").await;
    let depose = test_dossier(&app, id, "en_construction").await;
    create(&browser, "Une autre démarche", "permis-b").await;
    let page = browser.get(&publication).await;
    let taken = browser
        .submit(&page, "form#publish", &[("path", "permis-b")])
        .await;
    assert_eq!(taken.status, 422);
    assert_eq!(
        taken.text("#path-error").as_deref(),
        Some("Ce lien est déjà utilisé par une autre démarche.")
    );
    let bad = browser
        .submit(&taken, "form#publish", &[("path", "Permis B!")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.text("#path-error")
            .unwrap()
            .starts_with("Le lien doit contenir")
    );

    let (old_draft,): (i64,) =
        sqlx::query_as("select draft_revision_id from procedures where id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let before = draft_champs(&app, id).await;

    // Published.
    let published = browser
        .submit(&bad, "form#publish", &[("path", "permis-de-conduire")])
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert!(published.contains("La démarche est publiée."));
    let public_url = format!("{}/commencer/permis-de-conduire", app.base);
    assert!(published.contains(&format!(r#"id="public-url" value="{public_url}" readonly"#)));
    let (state, path, published_revision, draft, published_at): (
        String,
        String,
        Option<i64>,
        i64,
        Option<time::OffsetDateTime>,
    ) = sqlx::query_as(
        "select state::text, path, published_revision_id, draft_revision_id, published_at
         from procedures where id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(state, "publiee");
    assert_eq!(path, "permis-de-conduire");
    assert_eq!(published_revision, Some(old_draft));
    assert_ne!(draft, old_draft);
    assert!(published_at.is_some());
    let revision_published: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select published_at from procedure_revisions where id = $1")
            .bind(old_draft)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(revision_published.is_some());
    // The fresh draft copies the published form: same stable ids, positions, options.
    let after = draft_champs(&app, id).await;
    assert_eq!(after, before);
    let published_champs: Vec<(i64, i32, String, String, bool, Value)> = sqlx::query_as(
        "select stable_id, position, type_champ, libelle, mandatory, options
         from types_de_champ where revision_id = $1 order by position",
    )
    .bind(old_draft)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(published_champs, before);
    // Test dossiers are gone.
    let left: i64 = sqlx::query_scalar("select count(*) from dossiers where id = any($1)")
        .bind(vec![brouillon, depose])
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);

    // The démarche page and the list show the public link.
    let show = browser.get(&format!("/admin/procedures/{id}")).await;
    assert!(show.contains(&public_url));
    assert!(show.contains("Publiée"));
    let list = browser.get("/admin/procedures?statut=publiees").await;
    assert!(list.contains("/commencer/permis-de-conduire"));

    // Editing the form now edits the new draft only.
    add_champ(
        &browser,
        id,
        &[("type_champ", "date"), ("libelle", "Date de naissance")],
    )
    .await;
    assert_eq!(draft_champs(&app, id).await.len(), 3);
    let published_count: i64 =
        sqlx::query_scalar("select count(*) from types_de_champ where revision_id = $1")
            .bind(old_draft)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(published_count, 2);

    // The last instructeur of a published démarche stays.
    let instructeur_id = common::seed::user_id(&app.db, "instructeur@example.gouv.fr").await;
    let page = browser
        .get(&format!("/admin/procedures/{id}/instructeurs"))
        .await;
    let kept = browser
        .submit(
            &page,
            &format!("#instructeur-{instructeur_id} form.remove"),
            &[],
        )
        .await;
    assert!(kept.contains("Une démarche publiée doit garder au moins un instructeur."));
    assert_eq!(
        kept.texts(".dm-instructeur-email"),
        vec!["instructeur@example.gouv.fr"]
    );

    // Republishing keeps the dossiers and publishes the new form.
    let deposited = test_dossier(&app, id, "en_construction").await;
    let page = browser.get(&publication).await;
    let republished = browser.submit(&page, "form#publish", &[]).await;
    assert!(republished.contains("La démarche est publiée avec ses modifications."));
    let (published_revision,): (Option<i64>,) =
        sqlx::query_as("select published_revision_id from procedures where id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(published_revision, Some(draft));
    let kept: i64 = sqlx::query_scalar("select count(*) from dossiers where id = $1")
        .bind(deposited)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(kept, 1);

    // Close, after a confirmation page.
    let confirm = browser.get(&format!("/admin/procedures/{id}/close")).await;
    assert!(confirm.contains("Voulez-vous vraiment clore la démarche ?"));
    let closed = browser.submit(&confirm, "form#close", &[]).await;
    assert_eq!(closed.status, 200);
    assert!(closed.contains("La démarche est close"));
    let (state, closed_at): (String, Option<time::OffsetDateTime>) =
        sqlx::query_as("select state::text, closed_at from procedures where id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(state, "close");
    assert!(closed_at.is_some());
    let list = browser.get("/admin/procedures?statut=closes").await;
    assert!(list.contains("Aide au permis de conduire"));
    // Closing twice is refused with a message.
    let again = browser
        .post(
            &format!("/admin/procedures/{id}"),
            &format!("/admin/procedures/{id}/close"),
            &[],
        )
        .await;
    assert!(again.contains("Seule une démarche publiée peut être close."));
}

#[tokio::test]
async fn only_its_administrateurs_see_a_demarche() {
    let app = TestApp::spawn().await;
    let owner = admin(&app).await;
    let id = procedure_id(&create(&owner, "Démarche privée", "").await);
    add_champ(&owner, id, &[("type_champ", "text"), ("libelle", "Nom")]).await;
    let stable_id = draft_champs(&app, id).await[0].0;

    let other = app
        .signed_in(
            "autre.admin@example.gouv.fr",
            &["administrateur", "instructeur"],
            "administrateur",
        )
        .await;
    for path in [
        format!("/admin/procedures/{id}"),
        format!("/admin/procedures/{id}/edit"),
        format!("/admin/procedures/{id}/champs"),
        format!("/admin/procedures/{id}/champs/{stable_id}"),
        format!("/admin/procedures/{id}/instructeurs"),
        format!("/admin/procedures/{id}/publication"),
        format!("/admin/procedures/{id}/close"),
    ] {
        assert_eq!(other.get(&path).await.status, 404, "GET {path}");
    }
    for (path, fields) in [
        (
            format!("/admin/procedures/{id}/champs"),
            vec![("type_champ", "text"), ("libelle", "Intrus")],
        ),
        (
            format!("/admin/procedures/{id}/champs/{stable_id}/delete"),
            vec![],
        ),
        (
            format!("/admin/procedures/{id}/publication"),
            vec![("path", "intrus")],
        ),
        (
            format!("/admin/procedures/{id}/instructeurs"),
            vec![("email", "x@example.fr")],
        ),
    ] {
        let page = other.post("/admin/procedures", &path, &fields).await;
        assert_eq!(page.status, 404, "POST {path}");
    }
    assert!(
        !other
            .get("/admin/procedures")
            .await
            .contains("Démarche privée")
    );
    assert_eq!(draft_champs(&app, id).await.len(), 1);

    // A signed-in usager is refused the whole area.
    let usager = app.signed_in("usager@example.fr", &[], "usager").await;
    assert_eq!(usager.get("/admin/procedures").await.status, 403);
    assert_eq!(
        usager.get(&format!("/admin/procedures/{id}")).await.status,
        403
    );
    assert_eq!(usager.get("/admin/procedures/new").await.status, 403);
    // Nor can it post (with a valid CSRF token from a page it can read).
    let page = usager
        .post("/", &format!("/admin/procedures/{id}/close"), &[])
        .await;
    assert_eq!(page.status, 403);

    // A form without CSRF token is refused.
    let forged = owner
        .client
        .post(format!(
            "{}/admin/procedures/{id}/champs/{stable_id}/delete",
            app.base
        ))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(draft_champs(&app, id).await.len(), 1);
}
