//! Annotations privées: an administrateur adds them to the démarche, instructeurs fill them
//! on the dossier page (through the dossier actor), usagers never see them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestApp, procedure_id};
use serde_json::{Value, json};

const ADMIN: &str = "admin@example.gouv.fr";
const USAGER: &str = "usager@example.fr";

async fn stable_id(app: &TestApp, libelle: &str) -> i64 {
    sqlx::query_scalar("select stable_id from types_de_champ where libelle = $1 limit 1")
        .bind(libelle)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn instructeurs_fill_annotations_that_usagers_never_see() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let form = admin.get("/admin/procedures/new").await;
    let created = admin
        .submit(
            &form,
            "form#new-procedure",
            &[
                ("libelle", "Subvention aux associations"),
                ("description", "Une démarche pour les tests."),
                ("organisation", "Ministère des tests"),
                ("public", "personnes_morales"),
                ("path", "annotations"),
            ],
        )
        .await;
    let id = procedure_id(&created);
    let builder = admin.get(&format!("/admin/procedures/{id}/champs")).await;
    admin
        .submit(
            &builder,
            "form#add-champ",
            &[("type_champ", "text"), ("libelle", "Nom du projet")],
        )
        .await;

    // The annotations page: an empty list refused, then two annotations.
    let page = admin
        .get(&format!("/admin/procedures/{id}/annotations"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.text("#no-annotation").is_some());
    let refused = admin
        .submit(
            &page,
            "form#add-annotation",
            &[
                ("type_champ", "drop_down_list"),
                ("libelle", "Avis du service"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.contains("Ajoutez au moins une option à la liste."));
    let page = admin
        .submit(
            &refused,
            "form#add-annotation",
            &[("drop_down_options", "Favorable\nDéfavorable")],
        )
        .await;
    assert!(page.contains("L’annotation privée « Avis du service » a bien été ajoutée."));
    let page = admin
        .submit(
            &page,
            "form#add-annotation",
            &[
                ("type_champ", "integer_number"),
                ("libelle", "Note interne"),
            ],
        )
        .await;
    assert_eq!(
        page.texts("#annotations .dm-champ-libelle"),
        vec!["Avis du service", "Note interne"]
    );
    // Not on the usager's form builder list.
    let builder = admin.get(&format!("/admin/procedures/{id}/champs")).await;
    assert!(!builder.contains("Avis du service"));
    let private: Vec<bool> = sqlx::query_scalar(
        "select private from types_de_champ t join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 order by private, position",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(private, vec![false, true, true]);

    let publication = admin
        .get(&format!("/admin/procedures/{id}/publication"))
        .await;
    let published = admin
        .submit(&publication, "form#publish", &[("path", "annotations")])
        .await;
    assert_eq!(published.status, 200, "{}", published.body);

    // The usager deposits; the form has no annotation.
    let usager = app.signed_in(USAGER, &[], "usager").await;
    // A démarche for personnes morales: the SIRET step comes first.
    let (_, form) = common::start_brouillon(&usager, "/commencer/annotations").await;
    assert!(!form.contains("Avis du service") && !form.contains("Note interne"));
    let nom = format!("champ_{}", stable_id(&app, "Nom du projet").await);
    let deposited = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[(&nom, "Jardin partagé")],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    let dossier: i64 = sqlx::query_scalar("select id from dossiers")
        .fetch_one(&app.db)
        .await
        .unwrap();

    // The instructeur fills them: an invalid note is refused with everything kept.
    let instructeur = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "instructeur")
        .await;
    let url = format!("/procedures/{id}/dossiers/{dossier}");
    let page = instructeur.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.text("#annotations-title").is_some());
    let avis = format!("champ_{}", stable_id(&app, "Avis du service").await);
    let note = format!("champ_{}", stable_id(&app, "Note interne").await);
    let refused = instructeur
        .submit(
            &page,
            "form#annotations-form",
            &[(&avis, "Favorable"), (&note, "dix-sept")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.text(&format!("#{note}-error")).as_deref(),
        Some("« Note interne » doit être un nombre entier (sans virgule).")
    );
    assert_eq!(refused.field(&note).as_deref(), Some("dix-sept"));
    let saved = instructeur
        .submit(&refused, "form#annotations-form", &[(&note, "17")])
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.contains("Les annotations privées ont bien été enregistrées."));
    assert_eq!(saved.field(&note).as_deref(), Some("17"));
    let rows: Vec<(i64, bool, Value)> = sqlx::query_as(
        "select stable_id, private, value from champs where dossier_id = $1 order by private, stable_id",
    )
    .bind(dossier)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let values: Vec<(bool, Value)> = rows.into_iter().map(|(_, p, v)| (p, v)).collect();
    assert_eq!(
        values,
        vec![
            (false, json!("Jardin partagé")),
            (true, json!("Favorable")),
            (true, json!(17))
        ]
    );
    let kind: String = sqlx::query_scalar(
        "select kind from dossier_events where dossier_id = $1 order by version desc limit 1",
    )
    .bind(dossier)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(kind, "modifier_annotations");
    // A stale page is refused (the dossier changed since).
    let stale = instructeur
        .submit(&page, "form#annotations-form", &[(&note, "3")])
        .await;
    assert_eq!(stale.status, 409);

    // The usager's pages never show them, even as the dossier is modified.
    for path in [
        format!("/dossiers/{dossier}"),
        format!("/dossiers/{dossier}/modifier"),
        "/dossiers".to_owned(),
    ] {
        let page = usager.get(&path).await;
        for secret in [
            "Avis du service",
            "Note interne",
            "Favorable",
            "annotations",
        ] {
            assert!(!page.contains(secret), "{path} shows {secret}");
        }
    }
    // The usager modifies the dossier: the annotations are kept.
    let modifier = usager.get(&format!("/dossiers/{dossier}/modifier")).await;
    assert_eq!(modifier.status, 200);
    let done = usager
        .submit_with_button(
            &modifier,
            "form#dossier-form",
            &[(&nom, "Jardin partagé et verger")],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let kept: i64 =
        sqlx::query_scalar("select count(*) from champs where dossier_id = $1 and private")
            .bind(dossier)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(kept, 2);
}

#[tokio::test]
async fn a_decision_waits_for_the_mandatory_annotations() {
    let app = TestApp::spawn().await;
    let procedure = common::seed::published_procedure(
        &app.db,
        "Aide au permis",
        "permis-annotations",
        ADMIN,
        &[("text", "Nom", true, json!({}))],
    )
    .await;
    let visa: i64 = sqlx::query_scalar(
        "insert into types_de_champ (revision_id, stable_id, position, private, type_champ, libelle, mandatory)
         values ($1, nextval('types_de_champ_stable_id_seq'), 0, true, 'checkbox', 'Visa du chef de service', true)
         returning stable_id",
    )
    .bind(procedure.revision_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    common::seed::user_id(&app.db, USAGER).await;
    let dossier =
        common::seed::deposited_dossier(&app.db, &procedure, USAGER, &[("Nom", json!("Curie"))])
            .await;
    let instructeur = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "instructeur")
        .await;
    let url = format!("/procedures/{}/dossiers/{dossier}", procedure.id);
    let page = instructeur.get(&url).await;
    assert!(page.contains("Visa du chef de service *"), "{}", page.body);
    let page = instructeur
        .submit(&page, "form#form-passer_en_instruction", &[])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let refused = instructeur
        .submit(&page, "form#form-accepter", &[("motivation", "")])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .contains("Annotation privée : La case « Visa du chef de service » doit être cochée.")
    );
    let page = instructeur
        .submit(
            &refused,
            "form#annotations-form",
            &[(&format!("champ_{visa}"), "on")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let accepted = instructeur
        .submit(&page, "form#form-accepter", &[("motivation", "")])
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let state: String = sqlx::query_scalar("select state::text from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "accepte");
}

#[tokio::test]
async fn annotations_of_the_new_champ_types() {
    let app = TestApp::spawn().await;
    let procedure = common::seed::published_procedure(
        &app.db,
        "Aide au sport",
        "sport-annotations",
        ADMIN,
        &[("text", "Nom", true, json!({}))],
    )
    .await;
    let mut ids = Vec::new();
    for (position, (type_champ, libelle)) in [
        ("yes_no", "Dossier complet"),
        ("decimal_number", "Montant proposé"),
        ("datetime", "Rendez-vous"),
    ]
    .into_iter()
    .enumerate()
    {
        let id: i64 = sqlx::query_scalar(
            "insert into types_de_champ (revision_id, stable_id, position, private, type_champ, libelle)
             values ($1, nextval('types_de_champ_stable_id_seq'), $2, true, $3, $4)
             returning stable_id",
        )
        .bind(procedure.revision_id)
        .bind(i32::try_from(position).unwrap())
        .bind(type_champ)
        .bind(libelle)
        .fetch_one(&app.db)
        .await
        .unwrap();
        ids.push(format!("champ_{id}"));
    }
    common::seed::user_id(&app.db, USAGER).await;
    let dossier =
        common::seed::deposited_dossier(&app.db, &procedure, USAGER, &[("Nom", json!("Curie"))])
            .await;
    let instructeur = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "instructeur")
        .await;
    let url = format!("/procedures/{}/dossiers/{dossier}", procedure.id);
    let page = instructeur.get(&url).await;
    let refused = instructeur
        .submit(
            &page,
            "form#annotations-form",
            &[(&ids[0], "Oui"), (&ids[1], "douze")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let saved = instructeur
        .submit(
            &page,
            "form#annotations-form",
            &[
                (&ids[0], "Oui"),
                (&ids[1], "1 250,5"),
                (&ids[2], "2025-03-01T14:30"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let values: Vec<Value> = sqlx::query_scalar(
        "select value from champs where dossier_id = $1 and private order by stable_id",
    )
    .bind(dossier)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        values,
        vec![json!(true), json!(1250.5), json!("2025-03-01T14:30")]
    );
    // Shown again as the controls expect them.
    assert_eq!(saved.field(&ids[1]).as_deref(), Some("1250,5"));
    assert_eq!(saved.field(&ids[2]).as_deref(), Some("2025-03-01T14:30"));
    assert!(
        saved.contains("<option value=\"Oui\" selected>"),
        "{}",
        saved.body
    );

    // The administrateur's page offers no type the instructeur could not fill.
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let page = admin
        .get(&format!("/admin/procedures/{}/annotations", procedure.id))
        .await;
    let types = page.texts("#type_champ option");
    assert!(types.iter().any(|t| t == "Oui/Non"), "{types:?}");
    assert!(
        !types.iter().any(|t| t == "Pièce justificative"),
        "{types:?}"
    );
    let refused = admin
        .submit(
            &page,
            "form#add-annotation",
            &[
                ("type_champ", "piece_justificative"),
                ("libelle", "Rapport"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.contains("n’est pas proposé pour une annotation privée"));
}
