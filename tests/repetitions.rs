//! Blocs répétables end to end: an administrateur builds a block with two children, an
//! usager adds, fills and removes rows without JavaScript (every row button saves what was
//! typed first), gets a message naming the row of an invalid value, deposits; the rows are
//! stored with their row ids, in order, and the instructeur sees every row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{
    Browser, Page, TestApp, attr, draft_stable_id as stable_id, procedure_id, start_brouillon,
};
use serde_json::{Value, json};
use uuid::Uuid;

const ADMIN: &str = "admin@example.gouv.fr";
const USAGER: &str = "camille.durand@example.fr";

/// The row ids shown on the form, in order.
fn rows_on(page: &Page) -> Vec<Uuid> {
    let html = page.html();
    let sel = scraper::Selector::parse("fieldset.dm-row").unwrap();
    html.select(&sel)
        .map(|e| {
            e.value().attr("id").unwrap()["row-".len()..]
                .parse()
                .unwrap()
        })
        .collect()
}

/// A démarche "Membres" (bloc répétable, mandatory) with "Nom" (mandatory text) and "Âge"
/// (optional integer), built and published through the builder; returns (id, block, nom, âge).
async fn build(app: &TestApp, admin: &Browser, path: &str) -> (i64, i64, i64, i64) {
    let form = admin.get("/admin/procedures/new").await;
    let created = admin
        .submit(
            &form,
            "form#new-procedure",
            &[
                ("libelle", "Déclaration des membres"),
                ("description", "Une démarche pour les tests."),
                ("organisation", "Ministère des tests"),
                ("path", ""),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = procedure_id(&created);
    let builder = admin.get(&format!("/admin/procedures/{id}/champs")).await;
    let added = admin
        .submit(
            &builder,
            "form#add-champ",
            &[("type_champ", "repetition"), ("libelle", "Membres")],
        )
        .await;
    assert!(
        added.contains("Le champ « Membres » a bien été ajouté."),
        "{}",
        added.body
    );
    let block = stable_id(app, id, "Membres").await;
    let children_form = format!("form[action=\"/admin/procedures/{id}/champs/{block}/children\"]");
    assert!(added.contains("Ce bloc n’a encore aucun champ"));

    // Neither a pièce justificative nor another block inside a block.
    for refused in ["piece_justificative", "repetition"] {
        let page = admin
            .submit(
                &added,
                &children_form,
                &[("type_champ", refused), ("libelle", "Refusé")],
            )
            .await;
        assert!(
            page.contains("ne peut contenir ni un autre bloc répétable ni une pièce justificative"),
            "{}",
            page.body
        );
    }
    let page = admin
        .submit(
            &added,
            &children_form,
            &[
                ("type_champ", "text"),
                ("libelle", "Nom"),
                ("mandatory", "on"),
            ],
        )
        .await;
    assert!(
        page.contains("Le champ « Nom » a bien été ajouté au bloc « Membres »."),
        "{}",
        page.body
    );
    let page = admin
        .submit(
            &page,
            &children_form,
            &[("type_champ", "integer_number"), ("libelle", "Âge")],
        )
        .await;
    assert!(page.contains("« Âge » a bien été ajouté"), "{}", page.body);
    let nom = stable_id(app, id, "Nom").await;
    let age = stable_id(app, id, "Âge").await;
    // Made optional on its own page (the box left unchecked).
    let edit = format!("/admin/procedures/{id}/champs/{age}");
    let edited = admin
        .post(
            &edit,
            &edit,
            &[("type_champ", "integer_number"), ("libelle", "Âge")],
        )
        .await;
    assert!(
        edited.contains("« Âge » a bien été modifié"),
        "{}",
        edited.body
    );
    let page = admin.get(&format!("/admin/procedures/{id}/champs")).await;
    // The children are listed under their block, in order, and move within it.
    assert_eq!(
        page.texts("tr.dm-child .dm-champ-libelle")
            .iter()
            .map(|t| t
                .trim_start_matches("Dans le bloc « Membres » : ↳ ")
                .to_owned())
            .collect::<Vec<_>>(),
        ["Nom", "Âge"]
    );
    let moved = admin
        .submit(&page, &format!("tr#champ-{age} form.move-up"), &[])
        .await;
    assert!(
        moved.contains("il est maintenant en position 1"),
        "{}",
        moved.body
    );
    let moved = admin
        .submit(&moved, &format!("tr#champ-{age} form.move-down"), &[])
        .await;
    assert!(
        moved.contains("il est maintenant en position 2"),
        "{}",
        moved.body
    );
    let parents: Vec<(i64, Option<i64>, i32)> = sqlx::query_as(
        "select t.stable_id, t.parent_stable_id, t.position from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 order by t.parent_stable_id nulls first, t.position",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        parents,
        [
            (block, None, 0),
            (nom, Some(block), 0),
            (age, Some(block), 1)
        ]
    );

    let publication = admin
        .get(&format!("/admin/procedures/{id}/publication"))
        .await;
    let published = admin
        .submit(&publication, "form#publish", &[("path", path)])
        .await;
    assert!(
        published.contains("La démarche est publiée."),
        "{}",
        published.body
    );
    (id, block, nom, age)
}

async fn press(browser: &Browser, page: &Page, fields: &[(&str, &str)], action: &str) -> Page {
    browser
        .submit_with_button(page, "form#dossier-form", fields, Some(("action", action)))
        .await
}

async fn row_values(app: &TestApp, dossier: i64) -> Vec<(i64, Uuid, Value)> {
    sqlx::query_as(
        "select stable_id, row_id, value from champs where dossier_id = $1
         order by stable_id, row_id",
    )
    .bind(dossier)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_bloc_repetable_from_the_builder_to_the_instructeur() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let (id, block, nom, age) = build(&app, &admin, "membres").await;
    let field = |child: i64, row: Uuid| format!("champ_{child}_{row}");

    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = start_brouillon(&usager, "/commencer/membres").await;
    assert!(rows_on(&form).is_empty());
    let add = format!("add_row:{block}");
    let mut page = form;
    for _ in 0..3 {
        page = press(&usager, &page, &[], &add).await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
    let rows = rows_on(&page);
    assert_eq!(rows.len(), 3);
    // Enter in a field saves (the first submit button has no action), never removes a row.
    assert_eq!(
        attr(&page, "form#dossier-form button", "class").as_deref(),
        Some("dm-default-submit")
    );
    assert_eq!(attr(&page, "form#dossier-form button", "name"), None);
    assert_eq!(
        page.texts("fieldset.dm-row > legend"),
        ["Élément n° 1", "Élément n° 2", "Élément n° 3"]
    );

    // Fill the three rows and remove the middle one in the same request: the values are
    // saved first.
    let (n1, n2, n3) = (
        field(nom, rows[0]),
        field(nom, rows[1]),
        field(nom, rows[2]),
    );
    let (a1, a3) = (field(age, rows[0]), field(age, rows[2]));
    let page = press(
        &usager,
        &page,
        &[
            (&n1, "Ada"),
            (&a1, "36"),
            (&n2, "Bob"),
            (&n3, "Cyd"),
            (&a3, "41"),
        ],
        &format!("remove_row:{block}:{}", rows[1]),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(rows_on(&page), [rows[0], rows[2]]);
    assert_eq!(
        attr(&page, &format!("#{n1}"), "value").as_deref(),
        Some("Ada")
    );
    assert_eq!(
        attr(&page, &format!("#{a3}"), "value").as_deref(),
        Some("41")
    );

    // An invalid value in row 2: its message names the row, everything typed is kept.
    let refused = press(
        &usager,
        &page,
        &[(&n3, "Cyd-Charisse"), (&a3, "douze")],
        "save",
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let message = refused.text(&format!("#{a3}-error")).unwrap();
    assert!(message.starts_with("Élément n° 2 – "), "{message}");
    assert!(message.contains("Âge"), "{message}");
    assert_eq!(
        attr(&refused, &format!("#{a3}"), "value").as_deref(),
        Some("douze")
    );
    assert_eq!(
        attr(&refused, &format!("#{n3}"), "value").as_deref(),
        Some("Cyd-Charisse")
    );
    assert_eq!(rows_on(&refused), [rows[0], rows[2]]);
    assert!(
        refused
            .text("#error-summary")
            .unwrap()
            .contains("Élément n° 2")
    );

    // Corrected, deposited.
    let deposited = press(
        &usager,
        &refused,
        &[
            (&a3, "12"),
            ("civilite", "Mme"),
            ("nom", "Durand"),
            ("prenom", "Camille"),
        ],
        "submit",
    )
    .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    assert!(
        deposited.url.ends_with(&format!("/dossiers/{dossier}")),
        "{}",
        deposited.url
    );
    let state: String = sqlx::query_scalar("select state::text from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "en_construction");

    // Stored: the block's value is its rows in order (nil row id), each child with its row.
    let nil = Uuid::nil();
    let mut expected = vec![
        (
            block,
            nil,
            json!([rows[0].to_string(), rows[2].to_string()]),
        ),
        (nom, rows[0], json!("Ada")),
        (nom, rows[2], json!("Cyd-Charisse")),
        (age, rows[0], json!(36)),
        (age, rows[2], json!(12)),
    ];
    expected.sort_by_key(|x| (x.0, x.1));
    assert_eq!(row_values(&app, dossier).await, expected);

    // The usager's summary and the instructeur's page show every row.
    let summary = usager.get(&format!("/dossiers/{dossier}")).await;
    let text = summary.text("#champs").unwrap();
    for needle in ["Membres", "n° 1 Ada 36", "n° 2 Cyd-Charisse 12"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let instructeur = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "instructeur")
        .await;
    let page = instructeur
        .get(&format!("/procedures/{id}/dossiers/{dossier}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let text = page.text("#demande").unwrap();
    for needle in [
        "Membres",
        "Nom",
        "Âge",
        "n° 1 Ada 36",
        "n° 2 Cyd-Charisse 12",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(!text.contains("Bob"));
}

#[tokio::test]
async fn a_mandatory_block_needs_a_row_and_a_hundred_rows_save_in_one_request() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let (_, block, nom, age) = build(&app, &admin, "cent").await;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = start_brouillon(&usager, "/commencer/cent").await;

    let refused = press(&usager, &form, &[], "submit").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.text(&format!("#champ_{block}-error")).as_deref(),
        Some("Le champ « Membres » doit être rempli.")
    );

    let mut page = form;
    for _ in 0..100 {
        page = press(&usager, &page, &[], &format!("add_row:{block}")).await;
        assert_eq!(page.status, 200);
    }
    let rows = rows_on(&page);
    assert_eq!(rows.len(), 100);
    let mut fields: Vec<(String, String)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        fields.push((format!("champ_{nom}_{row}"), format!("Membre {i}")));
        fields.push((format!("champ_{age}_{row}"), format!("{}", 20 + i)));
    }
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let started = Instant::now();
    let saved = press(&usager, &page, &borrowed, "save").await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.contains("Votre brouillon a bien été enregistré."));
    assert_eq!(rows_on(&saved), rows);
    let stored = row_values(&app, dossier).await;
    assert_eq!(stored.len(), 201);
    let version: i32 = sqlx::query_scalar("select lock_version from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap();
    // Creation, 100 rows added, one save.
    assert_eq!(version, 101);
    assert_eq!(
        attr(&saved, &format!("#champ_{age}_{}", rows[99]), "value").as_deref(),
        Some("119")
    );
}
