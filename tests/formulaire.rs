//! The form builder's finish and the long form: champ descriptions in a safe HTML subset,
//! the administrateur's preview, the brouillon saved in the background while typing, and
//! conditions on the children of blocs répétables.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::seed::{self, published_procedure};
use common::{Page, TestApp, add_champ, draft_stable_id, start_brouillon};
use serde_json::{Value, json};

const ADMIN: &str = "admin@example.gouv.fr";
const USAGER: &str = "usager@example.fr";

async fn champ_value(app: &TestApp, dossier: i64, stable_id: i64) -> Option<Value> {
    sqlx::query_scalar(
        "select value from champs where dossier_id = $1 and stable_id = $2 and not private",
    )
    .bind(dossier)
    .bind(stable_id)
    .fetch_optional(&app.db)
    .await
    .unwrap()
    .flatten()
}

/// The inner HTML of the first element matching `css`.
fn inner_html(page: &Page, css: &str) -> String {
    let html = page.html();
    let sel = scraper::Selector::parse(css).unwrap();
    html.select(&sel)
        .next()
        .unwrap_or_else(|| panic!("no {css} on {}", page.url))
        .inner_html()
}

const MALICIOUS: &str = r#"<h3>Pièces à fournir</h3><p onclick="steal()">Joignez <strong>le RIB</strong>, <em>daté</em> et <u>signé</u>.<script>alert('xss')</script></p><ul><li>un</li></ul><p><a href="javascript:alert(1)">piège</a> <a href="https://www.service-public.fr/">aide</a></p><img src="x" onerror="alert(2)">"#;

#[tokio::test]
async fn a_description_keeps_its_safe_html_and_loses_scripts_on_save_and_on_render() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let procedure = published_procedure(&app.db, "Aide", "aide", ADMIN, &[]).await;
    let added = add_champ(
        &admin,
        procedure.id,
        &[
            ("type_champ", "text"),
            ("libelle", "Coordonnées bancaires"),
            ("description", MALICIOUS),
        ],
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    // Sanitized on save: what is stored holds no script, handler nor javascript: URL.
    let stored: String = sqlx::query_scalar(
        "select t.description from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and t.libelle = 'Coordonnées bancaires'",
    )
    .bind(procedure.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    for bad in [
        "<script",
        "onclick",
        "onerror",
        "javascript:",
        "<img",
        "alert",
    ] {
        assert!(!stored.contains(bad), "{bad} stored: {stored}");
    }
    for kept in [
        "<h3>Pièces à fournir</h3>",
        "<strong>le RIB</strong>",
        "<em>daté</em>",
        "<u>signé</u>",
        "<ul><li>un</li></ul>",
        "href=\"https://www.service-public.fr/\"",
    ] {
        assert!(stored.contains(kept), "{kept} lost: {stored}");
    }
    // The usager's form (here the preview, which uses its templates) renders the markup.
    let stable_id = draft_stable_id(&app, procedure.id, "Coordonnées bancaires").await;
    let preview = admin
        .get(&format!("/admin/procedures/{}/apercu", procedure.id))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let rendered = inner_html(
        &preview,
        &format!("#champ_{stable_id}-champ .dm-description"),
    );
    assert!(rendered.contains("<strong>le RIB</strong>"), "{rendered}");
    assert!(rendered.contains("<h3>Pièces à fournir</h3>"), "{rendered}");

    // Sanitized on render too: a description written to the database by another way (an
    // import, an older version) is cleaned when shown to the usager.
    sqlx::query(
        "update types_de_champ set description = $2
         where revision_id = $1",
    )
    .bind(procedure.revision_id)
    .bind(MALICIOUS)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into types_de_champ (revision_id, stable_id, position, type_champ, libelle, description)
         values ($1, nextval('types_de_champ_stable_id_seq'), 0, 'text', 'Nom', $2)",
    )
    .bind(procedure.revision_id)
    .bind(MALICIOUS)
    .execute(&app.db)
    .await
    .unwrap();
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (_, form) = start_brouillon(&usager, "/commencer/aide").await;
    let description = inner_html(&form, "#dossier-form .dm-description");
    for bad in [
        "<script",
        "onclick",
        "onerror",
        "javascript:",
        "<img",
        "alert",
    ] {
        assert!(!description.contains(bad), "{bad} rendered: {description}");
    }
    assert!(description.contains("<em>daté</em>"), "{description}");
    assert!(
        description.contains("rel=\"noopener noreferrer\""),
        "{description}"
    );

    // (Plain text descriptions: `rich_text` unit tests.)
}

#[tokio::test]
async fn the_administrateur_previews_the_draft_form_as_the_usager_sees_it() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let procedure = published_procedure(
        &app.db,
        "Aide",
        "aide",
        ADMIN,
        &[("text", "Nom du projet", true, json!({}))],
    )
    .await;
    // A change of the draft, not yet published, and a bloc répétable.
    add_champ(
        &admin,
        procedure.id,
        &[
            ("type_champ", "drop_down_list"),
            ("libelle", "Statut"),
            ("drop_down_options", "Association\nEntreprise"),
        ],
    )
    .await;
    let block = add_champ(
        &admin,
        procedure.id,
        &[("type_champ", "repetition"), ("libelle", "Membres")],
    )
    .await;
    let block_id = draft_stable_id(&app, procedure.id, "Membres").await;
    admin
        .submit(
            &block,
            &format!(
                "form[action=\"/admin/procedures/{}/champs/{block_id}/children\"]",
                procedure.id
            ),
            &[("type_champ", "text"), ("libelle", "Nom du membre")],
        )
        .await;

    add_champ(
        &admin,
        procedure.id,
        &[("type_champ", "carte"), ("libelle", "Emprise du projet")],
    )
    .await;

    let champs = admin
        .get(&format!("/admin/procedures/{}/champs", procedure.id))
        .await;
    let link = common::attr(&champs, "a#preview-link", "href").unwrap();
    let preview = admin.get(&link).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(preview.contains("Voici le formulaire tel que l’usager le verra"));
    // The usager's own widgets: labels, the select and its options, the block's row.
    assert_eq!(
        preview
            .text(
                "label[for=\"champ_{}\"]"
                    .replace("{}", &procedure.champs[0].stable_id.to_string())
                    .as_str()
            )
            .as_deref(),
        Some("Nom du projet *")
    );
    let statut = draft_stable_id(&app, procedure.id, "Statut").await;
    assert_eq!(
        preview.texts(&format!("select#champ_{statut} option")),
        ["Sélectionnez une option", "Association", "Entreprise"]
    );
    assert_eq!(
        preview
            .text(&format!("#champ_{block_id} legend.fr-text--md"))
            .as_deref(),
        Some("Élément n° 1")
    );
    assert!(preview.contains("Nom du membre"));
    // The carte: its map and GeoJSON field, no link to a stored tracé (there is no dossier).
    let carte = draft_stable_id(&app, procedure.id, "Emprise du projet").await;
    assert!(
        common::attr(&preview, &format!("textarea#champ_{carte}"), "name").is_some(),
        "{}",
        preview.body
    );
    assert!(preview.contains(&format!("data-carte-for=\"champ_{carte}\"")));
    assert!(preview.text("a.dm-geojson").is_none());
    // Nothing can be saved: no action, every button disabled, no dossier created.
    assert_eq!(common::attr(&preview, "form#dossier-form", "action"), None);
    let html = preview.html();
    let buttons = scraper::Selector::parse("form#dossier-form button").unwrap();
    let buttons: Vec<_> = html.select(&buttons).collect();
    assert!(!buttons.is_empty());
    assert!(buttons.iter().all(|b| b.value().attr("disabled").is_some()));
    let dossiers: i64 = sqlx::query_scalar("select count(*) from dossiers")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(dossiers, 0);

    // Only the démarche's administrateurs see it.
    let other = app
        .signed_in(
            "autre@example.gouv.fr",
            &["administrateur"],
            "administrateur",
        )
        .await;
    assert_eq!(other.get(&link).await.status, 404);
}

/// Posts the brouillon form of `form` in the background as app.js does (no `action`).
async fn autosave(
    browser: &common::Browser,
    form: &Page,
    dossier: i64,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let res = browser
        .client
        .post(format!(
            "{}/dossiers/{dossier}/brouillon/autosave",
            browser.base
        ))
        .form(
            &std::iter::once(("authenticity_token", form.csrf().unwrap().as_str()))
                .chain(fields.iter().copied())
                .collect::<Vec<_>>(),
        )
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn autosave_saves_what_is_valid_reports_the_rest_and_never_touches_a_deposited_dossier() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let nom = procedure.champ("Nom du projet").stable_id;
    let nombre = procedure.champ("Nombre de participants").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = start_brouillon(&usager, "/commencer/subvention").await;
    assert_eq!(
        common::attr(&form, "form#dossier-form", "data-autosave-url").as_deref(),
        Some(format!("/dossiers/{dossier}/brouillon/autosave").as_str())
    );

    let nom_field = format!("champ_{nom}");
    let nombre_field = format!("champ_{nombre}");
    let (status, answer) = autosave(
        &usager,
        &form,
        dossier,
        &[(&nom_field, "Jardin partagé"), (&nombre_field, "douze")],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["saved"], json!(true));
    assert_eq!(
        answer["errors"],
        json!([{"field": nombre_field, "message": "« Nombre de participants » doit être un nombre entier (sans virgule)."}])
    );
    assert_eq!(
        champ_value(&app, dossier, nom).await,
        Some(json!("Jardin partagé"))
    );
    assert_eq!(champ_value(&app, dossier, nombre).await, None);
    // No deposit, even with an « action » sent: the brouillon stays a brouillon.
    let (status, _) = autosave(
        &usager,
        &form,
        dossier,
        &[(&nom_field, "Jardin"), ("action", "submit")],
    )
    .await;
    assert_eq!(status, 200);
    let state: String = sqlx::query_scalar("select state::text from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "brouillon");

    // Once deposited, a late background save changes nothing.
    let form = usager.get(&form.url).await;
    let type_structure = procedure.champ("Type de structure").stable_id;
    let deposed = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                (&format!("champ_{type_structure}"), "Association"),
                ("civilite", "Mme"),
                ("nom", "Durand"),
                ("prenom", "Camille"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert!(
        deposed.contains("Votre dossier a bien été déposé"),
        "{}",
        deposed.body
    );
    let (status, answer) = autosave(&usager, &form, dossier, &[(&nom_field, "Trop tard")]).await;
    assert_eq!(status, 409);
    assert_eq!(
        answer["error"],
        json!("Ce dossier est « En construction » : il ne peut plus être modifié.")
    );
    assert_eq!(champ_value(&app, dossier, nom).await, Some(json!("Jardin")));
    // Someone else's dossier does not exist for this usager.
    let other = app.signed_in("autre@example.fr", &[], "usager").await;
    let page = other.get("/commencer/subvention").await;
    let (status, _) = autosave(&other, &page, dossier, &[(&nom_field, "x")]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn chromium_saves_the_brouillon_while_the_usager_types() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention").await;
    let nom = procedure.champ("Nom du projet").stable_id;
    let nombre = procedure.champ("Nombre de participants").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = start_brouillon(&usager, "/commencer/subvention").await;

    let chrome = common::chrome::Chrome::start().await;
    chrome.sign_in_as(&app, &usager).await;
    chrome.client.goto(&form.url).await.unwrap();
    chrome
        .fill(&format!("#champ_{nom}"), "Jardin des Lilas")
        .await;
    // Saved without clicking « Enregistrer le brouillon ».
    chrome.wait_text("Brouillon enregistré à").await;
    assert_eq!(
        champ_value(&app, dossier, nom).await,
        Some(json!("Jardin des Lilas"))
    );
    let status = chrome.text("#autosave-status").await;
    assert!(
        status.starts_with("Brouillon enregistré à ")
            && status.len() >= "Brouillon enregistré à HH:MM".len(),
        "{status}"
    );
    // A refused value gets its message on its field; what was typed stays.
    chrome.fill(&format!("#champ_{nombre}"), "12.5").await;
    chrome.wait_text("sauf les champs signalés").await;
    let message = chrome.text(&format!("#champ_{nombre}-error")).await;
    assert!(message.contains("nombre entier"), "{message}");
    let typed = chrome
        .client
        .find(fantoccini::Locator::Css(&format!("#champ_{nombre}")))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(typed.as_deref(), Some("12.5"));
    chrome.fill(&format!("#champ_{nombre}"), "12").await;
    chrome
        .wait()
        .for_element(fantoccini::Locator::XPath(
            "//p[@id='autosave-status' and not(contains(., 'sauf'))]",
        ))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while champ_value(&app, dossier, nombre).await != Some(json!(12)) {
        assert!(std::time::Instant::now() < deadline, "12 never saved");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        chrome
            .client
            .find(fantoccini::Locator::Css(&format!("#champ_{nombre}-error")))
            .await
            .is_err()
    );
}

fn rows_on(page: &Page) -> Vec<uuid::Uuid> {
    page.html()
        .select(&scraper::Selector::parse("fieldset.dm-row").unwrap())
        .map(|e| {
            e.value().attr("id").unwrap()["row-".len()..]
                .parse()
                .unwrap()
        })
        .collect()
}

fn row_child_hidden(page: &Page, child: i64, row: uuid::Uuid) -> bool {
    let html = page.html();
    let sel = scraper::Selector::parse(&format!("#champ_{child}_{row}-champ")).unwrap();
    html.select(&sel)
        .next()
        .unwrap_or_else(|| panic!("no child {child} in row {row}:\n{}", page.body))
        .value()
        .attr("hidden")
        .is_some()
}

#[tokio::test]
async fn children_of_a_bloc_repetable_follow_their_condition_row_by_row() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let procedure = published_procedure(
        &app.db,
        "Salariés",
        "salaries",
        ADMIN,
        &[
            ("repetition", "Salariés", false, json!({})),
            ("integer_number", "Effectif", false, json!({})),
        ],
    )
    .await;
    let block = procedure.champ("Salariés").stable_id;
    let effectif = procedure.champ("Effectif").stable_id;
    // Children « Nom », « Salarié » (box) and « Contrat » (mandatory), in both revisions.
    let mut children = Vec::new();
    for (position, (type_champ, libelle, mandatory)) in [
        ("text", "Nom", false),
        ("checkbox", "Salarié", false),
        ("text", "Contrat", true),
    ]
    .into_iter()
    .enumerate()
    {
        let stable_id: i64 = sqlx::query_scalar("select nextval('types_de_champ_stable_id_seq')")
            .fetch_one(&app.db)
            .await
            .unwrap();
        sqlx::query(
            "insert into types_de_champ (revision_id, stable_id, parent_stable_id, position,
               type_champ, libelle, mandatory)
             select r.id, $2, $3, $4, $5, $6, $7 from procedure_revisions r
             where r.procedure_id = $1",
        )
        .bind(procedure.id)
        .bind(stable_id)
        .bind(block)
        .bind(position as i32)
        .bind(type_champ)
        .bind(libelle)
        .bind(mandatory)
        .execute(&app.db)
        .await
        .unwrap();
        children.push(stable_id);
    }
    let (nom, salarie, contrat) = (children[0], children[1], children[2]);

    // The builder: « Contrat » may read its earlier sibling « Salarié »…
    let rules = format!(
        "/admin/procedures/{}/champs/{contrat}/condition/rules",
        procedure.id
    );
    let edit = format!("/admin/procedures/{}/champs/{contrat}", procedure.id);
    let page = admin.get(&edit).await;
    assert_eq!(
        page.texts("#add-rule select[name=champ] option")
            .into_iter()
            .filter(|o| o.contains("Salarié"))
            .count(),
        1,
        "{}",
        page.body
    );
    // …but neither a top-level champ placed after its block nor a later sibling.
    let refused = admin
        .post(
            &edit,
            &rules,
            &[
                ("champ", &effectif.to_string()),
                ("operator", "greater_than"),
                ("value", "3"),
            ],
        )
        .await;
    assert!(
        refused.contains("La condition ne peut porter que sur un champ placé avant celui-ci."),
        "{}",
        refused.body
    );
    let nom_rules = format!(
        "/admin/procedures/{}/champs/{nom}/condition/rules",
        procedure.id
    );
    let refused = admin
        .post(
            &edit,
            &nom_rules,
            &[
                ("champ", &salarie.to_string()),
                ("operator", "eq"),
                ("value", "Oui"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let nom_condition: Option<Value> = sqlx::query_scalar(
        "select t.condition from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and t.stable_id = $2",
    )
    .bind(procedure.id)
    .bind(nom)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(nom_condition, None);
    let added = admin
        .post(
            &edit,
            &rules,
            &[
                ("champ", &salarie.to_string()),
                ("operator", "eq"),
                ("value", "Oui"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let condition: Value = sqlx::query_scalar(
        "select t.condition from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and t.stable_id = $2",
    )
    .bind(procedure.id)
    .bind(contrat)
    .fetch_one(&app.db)
    .await
    .unwrap();
    // Deleting « Salarié » would break it: refused.
    let deleted = admin
        .post(
            &edit,
            &format!("/admin/procedures/{}/champs/{salarie}/delete", procedure.id),
            &[],
        )
        .await;
    assert!(
        deleted.contains("Ce champ est utilisé dans la condition du champ « Contrat »"),
        "{}",
        deleted.body
    );
    // The usager fills the published form with that condition.
    sqlx::query(
        "update types_de_champ set condition = $3 where revision_id = $1 and stable_id = $2",
    )
    .bind(procedure.revision_id)
    .bind(contrat)
    .bind(&condition)
    .execute(&app.db)
    .await
    .unwrap();

    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = start_brouillon(&usager, "/commencer/salaries").await;
    let add = format!("add_row:{block}");
    let page = usager
        .submit_with_button(&form, "form#dossier-form", &[], Some(("action", &add)))
        .await;
    let page = usager
        .submit_with_button(&page, "form#dossier-form", &[], Some(("action", &add)))
        .await;
    let rows = rows_on(&page);
    assert_eq!(rows.len(), 2, "{}", page.body);
    let field = |child: i64, row: uuid::Uuid| format!("champ_{child}_{row}");
    // Unchecked in both rows: « Contrat » hidden in both, with its condition for app.js.
    assert!(row_child_hidden(&page, contrat, rows[0]));
    assert!(row_child_hidden(&page, contrat, rows[1]));
    assert!(!row_child_hidden(&page, nom, rows[0]));
    assert!(
        common::attr(
            &page,
            &format!("#{}-champ", field(contrat, rows[0])),
            "data-condition"
        )
        .is_some()
    );
    // Row 1 salaried, row 2 not (but something typed there before unchecking).
    let identity = [
        ("civilite", "Mme"),
        ("nom", "Durand"),
        ("prenom", "Camille"),
    ];
    let (n1, s1, c1) = (
        field(nom, rows[0]),
        field(salarie, rows[0]),
        field(contrat, rows[0]),
    );
    let (n2, c2) = (field(nom, rows[1]), field(contrat, rows[1]));
    let mut fields = vec![
        (n1.as_str(), "Ada"),
        (s1.as_str(), "on"),
        (n2.as_str(), "Bob"),
        (c2.as_str(), "CDD"),
    ];
    fields.extend(identity);
    let refused = usager
        .submit_with_button(
            &page,
            "form#dossier-form",
            &fields,
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(!row_child_hidden(&refused, contrat, rows[0]));
    assert!(row_child_hidden(&refused, contrat, rows[1]));
    let message = refused.text(&format!("#{c1}-error")).unwrap();
    assert!(message.starts_with("Élément n° 1 – "), "{message}");
    assert!(refused.text(&format!("#{c2}-error")).is_none());

    fields.push((c1.as_str(), "CDI"));
    let deposed = usager
        .submit_with_button(
            &refused,
            "form#dossier-form",
            &fields,
            Some(("action", "submit")),
        )
        .await;
    assert!(
        deposed.contains("Votre dossier a bien été déposé"),
        "{}",
        deposed.body
    );
    let stored: Vec<(i64, uuid::Uuid, Value)> = sqlx::query_as(
        "select stable_id, row_id, value from champs
         where dossier_id = $1 and stable_id = $2",
    )
    .bind(dossier)
    .bind(contrat)
    .fetch_all(&app.db)
    .await
    .unwrap();
    // The hidden « Contrat » of row 2 is not kept.
    assert_eq!(stored, [(contrat, rows[0], json!("CDI"))]);
}

#[tokio::test]
async fn chromium_saves_a_champ_of_the_builder_while_the_administrateur_types() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let procedure = published_procedure(
        &app.db,
        "Aide",
        "aide",
        ADMIN,
        &[("integer_number", "Effectif", true, json!({}))],
    )
    .await;
    let stable_id = procedure.champ("Effectif").stable_id;
    let libelle = || async {
        sqlx::query_scalar::<_, String>(
            "select t.libelle from types_de_champ t
             join procedures p on p.draft_revision_id = t.revision_id
             where p.id = $1 and t.stable_id = $2",
        )
        .bind(procedure.id)
        .bind(stable_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    let chrome = common::chrome::Chrome::start().await;
    chrome.sign_in_as(&app, &admin).await;
    chrome
        .client
        .goto(&format!(
            "{}/admin/procedures/{}/champs/{stable_id}",
            app.base, procedure.id
        ))
        .await
        .unwrap();
    chrome.fill("#libelle", "Effectif salarié").await;
    chrome.wait_text("Modifications enregistrées à").await;
    assert_eq!(libelle().await, "Effectif salarié");
    // An invalid change is not saved and says why; the page keeps what was typed.
    chrome.fill("#min", "beaucoup").await;
    chrome.wait_text("Modifications non enregistrées").await;
    assert!(
        chrome
            .text("#edit-champ-status")
            .await
            .contains("Le minimum")
    );
    assert_eq!(libelle().await, "Effectif salarié");
}
