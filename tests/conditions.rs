//! Conditions on champs ("Logique conditionnelle"): an administrateur builds them in the
//! form builder, the usager's form shows a conditional champ only when its condition holds,
//! and a hidden champ is neither mandatory nor kept once the dossier is deposited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Browser, Page, TestApp, draft_stable_id as stable_id, procedure_id};

use serde_json::{Value, json};

const ADMIN: &str = "admin@example.gouv.fr";
const USAGER: &str = "usager@example.fr";
const EARLIER_ONLY: &str = "La condition ne peut porter que sur un champ placé avant celui-ci.";

async fn add_champ(browser: &Browser, id: i64, fields: &[(&str, &str)]) -> Page {
    let builder = browser.get(&format!("/admin/procedures/{id}/champs")).await;
    let page = browser.submit(&builder, "form#add-champ", fields).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

async fn condition(app: &TestApp, id: i64, stable_id: i64) -> Option<Value> {
    sqlx::query_scalar(
        "select t.condition from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 and t.stable_id = $2",
    )
    .bind(id)
    .bind(stable_id)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn champ_value(app: &TestApp, dossier: i64, stable_id: i64) -> Option<Value> {
    sqlx::query_scalar("select value from champs where dossier_id = $1 and stable_id = $2")
        .bind(dossier)
        .bind(stable_id)
        .fetch_optional(&app.db)
        .await
        .unwrap()
        .flatten()
}

/// `hidden` attribute of the wrapper of a champ on the usager's form.
fn is_hidden(page: &Page, stable_id: i64) -> bool {
    let html = page.html();
    let selector = scraper::Selector::parse(&format!("#champ_{stable_id}-champ")).unwrap();
    let wrapper = html
        .select(&selector)
        .next()
        .unwrap_or_else(|| panic!("no champ {stable_id} on {}", page.url));
    wrapper.value().attr("hidden").is_some()
}

/// Builds « Statut » (choice), « Numéro RNA » (mandatory text, shown for an association)
/// and « Nombre de salariés » (integer) through the pages; returns (démarche id, statut, rna,
/// salaries).
async fn build(app: &TestApp, browser: &Browser) -> (i64, i64, i64, i64) {
    let form = browser.get("/admin/procedures/new").await;
    let created = browser
        .submit(
            &form,
            "form#new-procedure",
            &[
                ("libelle", "Subvention aux structures"),
                ("description", "Une démarche pour les tests."),
                ("organisation", "Ministère des tests"),
                ("public", "personnes_morales"),
                ("path", "structures"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = procedure_id(&created);
    add_champ(
        browser,
        id,
        &[
            ("type_champ", "drop_down_list"),
            ("libelle", "Statut"),
            ("drop_down_options", "Association\nEntreprise"),
        ],
    )
    .await;
    add_champ(
        browser,
        id,
        &[
            ("type_champ", "text"),
            ("libelle", "Numéro RNA"),
            ("mandatory", "on"),
        ],
    )
    .await;
    add_champ(
        browser,
        id,
        &[
            ("type_champ", "integer_number"),
            ("libelle", "Nombre de salariés"),
        ],
    )
    .await;
    let statut = stable_id(app, id, "Statut").await;
    let rna = stable_id(app, id, "Numéro RNA").await;
    let salaries = stable_id(app, id, "Nombre de salariés").await;
    (id, statut, rna, salaries)
}

#[tokio::test]
async fn an_administrateur_builds_a_condition_and_the_usager_form_follows_it() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let (id, statut, rna, salaries) = build(&app, &admin).await;

    // The first champ has nothing before it to depend on.
    let first = admin
        .get(&format!("/admin/procedures/{id}/champs/{statut}"))
        .await;
    assert!(first.contains("Logique conditionnelle"));
    assert!(first.text("#logique-aucun").is_some());
    assert!(
        first
            .text("#logique-etat")
            .unwrap()
            .contains("toujours affiché")
    );

    // « Numéro RNA » only for an association.
    let edit = admin
        .get(&format!("/admin/procedures/{id}/champs/{rna}"))
        .await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    let options = edit.texts("#rule-champ option");
    assert_eq!(options, vec!["Statut"], "only earlier champs are offered");
    let added = admin
        .submit(
            &edit,
            "form#add-rule",
            &[
                ("champ", &statut.to_string()),
                ("operator", "eq"),
                ("value", "Association"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.contains("La règle a bien été ajoutée"));
    assert_eq!(
        added.texts("#logique-regles li")[0]
            .split(" Retirer")
            .next(),
        Some("« Statut » est « Association »")
    );
    assert_eq!(
        condition(&app, id, rna).await,
        Some(json!({"term": "and", "operands": [
            {"term": "eq", "left": {"term": "champ_value", "stable_id": statut},
             "right": {"term": "constant", "value": "Association"}}]}))
    );

    // A value that is not an option, an operator that does not fit: refused with their message.
    let refused = admin
        .submit(
            &added,
            "form#add-rule",
            &[
                ("champ", &statut.to_string()),
                ("operator", "eq"),
                ("value", "Particulier"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.text("#rule-error").as_deref(),
        Some("Pour le champ « Statut », choisissez une valeur de la liste.")
    );
    assert_eq!(refused.field("value").as_deref(), Some("Particulier"));
    let refused = admin
        .submit(
            &added,
            "form#add-rule",
            &[
                ("champ", &statut.to_string()),
                ("operator", "greater_than"),
                ("value", "3"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.text("#rule-error").as_deref(),
        Some("L’opérateur « est supérieur à » ne s’applique pas au champ « Statut ».")
    );

    // « Nombre de salariés » for an entreprise, or (« ou ») an association too: two rules.
    for value in ["Entreprise", "Association"] {
        let page = admin
            .get(&format!("/admin/procedures/{id}/champs/{salaries}"))
            .await;
        let added = admin
            .submit(
                &page,
                "form#add-rule",
                &[
                    ("champ", &statut.to_string()),
                    ("operator", "eq"),
                    ("value", value),
                ],
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.body);
    }
    let page = admin
        .get(&format!("/admin/procedures/{id}/champs/{salaries}"))
        .await;
    assert!(
        page.text("#logique-etat")
            .unwrap()
            .contains("toutes ces règles")
    );
    let page = admin
        .submit(&page, "form#logique-combinaison", &[("combinator", "ou")])
        .await;
    assert!(
        page.text("#logique-etat").unwrap().contains("au moins une"),
        "{}",
        page.body
    );
    assert_eq!(
        condition(&app, id, salaries).await.unwrap()["term"],
        json!("or")
    );
    // Remove the second rule (« Association »).
    let page = admin
        .submit(&page, "#logique-regles li:nth-child(2) form", &[])
        .await;
    assert!(page.contains("La règle a bien été retirée"));
    assert_eq!(page.texts("#logique-regles li").len(), 1);

    // Publish, then the usager fills the form.
    let publication = admin
        .get(&format!("/admin/procedures/{id}/publication"))
        .await;
    let published = admin
        .submit(&publication, "form#publish", &[("path", "structures")])
        .await;
    assert_eq!(published.status, 200, "{}", published.body);

    let usager = app.signed_in(USAGER, &[], "usager").await;
    // A démarche for personnes morales: the SIRET step comes first.
    let (_, form) = common::start_brouillon(&usager, "/commencer/structures").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let dossier: i64 = form
        .url
        .split("/dossiers/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Nothing chosen: both conditional champs are hidden, with their condition for the browser.
    assert!(!is_hidden(&form, statut));
    assert!(is_hidden(&form, rna));
    assert!(is_hidden(&form, salaries));
    assert!(form.contains("data-condition=\""));

    // Without JavaScript, saving re-renders the visibility: « Association » shows the RNA.
    let rna_field = format!("champ_{rna}");
    let statut_field = format!("champ_{statut}");
    let salaries_field = format!("champ_{salaries}");
    let saved = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[(&statut_field, "Association"), (&salaries_field, "12")],
            Some(("action", "save")),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(!is_hidden(&saved, rna));
    assert!(is_hidden(&saved, salaries));
    // The brouillon keeps what was typed in the hidden champ.
    assert_eq!(champ_value(&app, dossier, salaries).await, Some(json!(12)));

    // Visible and mandatory: the RNA blocks the deposit.
    let refused = usager
        .submit_with_button(&saved, "form#dossier-form", &[], Some(("action", "submit")))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.contains("Le champ « Numéro RNA » doit être rempli."));

    // An entreprise: the hidden mandatory RNA does not block, the typed RNA is not kept,
    // and the number of employees is.
    let deposited = usager
        .submit_with_button(
            &refused,
            "form#dossier-form",
            &[(&statut_field, "Entreprise"), (&rna_field, "W123456789")],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    let state: String = sqlx::query_scalar("select state::text from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "en_construction");
    assert_eq!(champ_value(&app, dossier, rna).await, None);
    assert_eq!(champ_value(&app, dossier, salaries).await, Some(json!(12)));
    assert_eq!(
        champ_value(&app, dossier, statut).await,
        Some(json!("Entreprise"))
    );
    // The summary leaves the hidden champ out.
    let show = usager.get(&format!("/dossiers/{dossier}")).await;
    assert!(show.contains("Nombre de salariés"));
    assert!(!show.contains("Numéro RNA"), "{}", show.body);
}

#[tokio::test]
async fn conditions_only_read_earlier_champs() {
    let app = TestApp::spawn().await;
    let admin = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "administrateur")
        .await;
    let (id, statut, rna, salaries) = build(&app, &admin).await;

    // A rule on a later champ (a forged form: the page does not offer it) is refused.
    let edit = admin
        .get(&format!("/admin/procedures/{id}/champs/{rna}"))
        .await;
    let refused = admin
        .submit(
            &edit,
            "form#add-rule",
            &[
                ("champ", &salaries.to_string()),
                ("operator", "eq"),
                ("value", "3"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.text("#rule-error").as_deref(), Some(EARLIER_ONLY));
    // On itself too.
    let refused = admin
        .submit(
            &edit,
            "form#add-rule",
            &[
                ("champ", &rna.to_string()),
                ("operator", "eq"),
                ("value", "x"),
            ],
        )
        .await;
    assert_eq!(refused.text("#rule-error").as_deref(), Some(EARLIER_ONLY));
    assert_eq!(condition(&app, id, rna).await, None);

    // « Nombre de salariés » depends on « Statut »: it cannot move above it, nor can
    // « Statut » move below it or be deleted.
    let edit = admin
        .get(&format!("/admin/procedures/{id}/champs/{salaries}"))
        .await;
    admin
        .submit(
            &edit,
            "form#add-rule",
            &[
                ("champ", &statut.to_string()),
                ("operator", "eq"),
                ("value", "Entreprise"),
            ],
        )
        .await;
    let builder = format!("/admin/procedures/{id}/champs");
    // One step up is fine (« Numéro RNA » does not matter).
    let moved = admin
        .post(
            &builder,
            &format!("{builder}/{salaries}/move"),
            &[("direction", "up")],
        )
        .await;
    assert!(moved.contains("a été monté"), "{}", moved.body);
    let refused = admin
        .post(
            &builder,
            &format!("{builder}/{salaries}/move"),
            &[("direction", "up")],
        )
        .await;
    assert_eq!(refused.status, 200);
    assert!(
        refused.contains(
            "Le champ « Nombre de salariés » n’a pas été déplacé. La condition du champ \
             « Nombre de salariés » porte sur le champ « Statut », qui doit rester placé avant lui."
        ),
        "{}",
        refused.body
    );
    let refused = admin
        .post(
            &builder,
            &format!("{builder}/{statut}/move"),
            &[("direction", "down")],
        )
        .await;
    assert!(
        refused.contains("« Statut » n’a pas été déplacé."),
        "{}",
        refused.body
    );
    let refused = admin
        .post(&builder, &format!("{builder}/{statut}/delete"), &[])
        .await;
    assert!(
        refused.contains(
            "Le champ « Statut » n’a pas été supprimé. Ce champ est utilisé dans la condition \
             du champ « Nombre de salariés » : retirez d’abord la règle qui le concerne."
        ),
        "{}",
        refused.body
    );
    // Nothing changed: Statut, Nombre de salariés, Numéro RNA.
    let order: Vec<i64> = sqlx::query_scalar(
        "select t.stable_id from types_de_champ t
         join procedures p on p.draft_revision_id = t.revision_id
         where p.id = $1 order by t.position",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(order, vec![statut, salaries, rna]);

    // Changing « Statut » into a text would break the condition: refused on its form.
    let edit = admin.get(&format!("{builder}/{statut}")).await;
    let refused = admin
        .submit(&edit, "form#edit-champ", &[("type_champ", "text")])
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .text("#type_champ-error")
            .unwrap()
            .starts_with("La condition du champ « Nombre de salariés » ne serait plus valable")
    );
}

/// Adds a rule « `champ` `operator` `value` » to the condition of `target`.
async fn add_rule(
    browser: &Browser,
    id: i64,
    target: i64,
    champ: i64,
    operator: &str,
    value: &str,
) {
    let edit = browser
        .get(&format!("/admin/procedures/{id}/champs/{target}"))
        .await;
    let added = browser
        .submit(
            &edit,
            "form#add-rule",
            &[
                ("champ", &champ.to_string()),
                ("operator", operator),
                ("value", value),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(
        added.contains("La règle a bien été ajoutée"),
        "{}",
        added.body
    );
}

#[tokio::test]
async fn conditions_on_a_yes_no_and_a_multiple_choice() {
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
                ("libelle", "Aide aux clubs"),
                ("description", "Une démarche pour les tests."),
                ("organisation", "Ministère des tests"),
                ("public", "personnes_morales"),
                ("path", "clubs"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = procedure_id(&created);
    for fields in [
        &[("type_champ", "yes_no"), ("libelle", "Employeur")][..],
        &[
            ("type_champ", "integer_number"),
            ("libelle", "Nombre de salariés"),
            ("mandatory", "on"),
        ][..],
        &[
            ("type_champ", "multiple_drop_down_list"),
            ("libelle", "Activités"),
            ("drop_down_options", "Culture\nSport\nSocial"),
        ][..],
        &[
            ("type_champ", "text"),
            ("libelle", "Fédération sportive"),
            ("mandatory", "on"),
        ][..],
    ] {
        add_champ(&admin, id, fields).await;
    }
    let employeur = stable_id(&app, id, "Employeur").await;
    let salaries = stable_id(&app, id, "Nombre de salariés").await;
    let activites = stable_id(&app, id, "Activités").await;
    let federation = stable_id(&app, id, "Fédération sportive").await;
    add_rule(&admin, id, salaries, employeur, "eq", "Oui").await;
    add_rule(&admin, id, federation, activites, "includes", "Sport").await;
    assert_eq!(
        condition(&app, id, salaries).await.unwrap()["operands"][0]["right"],
        json!({"term": "constant", "value": true})
    );
    assert_eq!(
        condition(&app, id, federation).await.unwrap()["operands"][0]["term"],
        json!("includes")
    );
    let publication = admin
        .get(&format!("/admin/procedures/{id}/publication"))
        .await;
    let published = admin
        .submit(&publication, "form#publish", &[("path", "clubs")])
        .await;
    assert_eq!(published.status, 200, "{}", published.body);

    let usager = app.signed_in(USAGER, &[], "usager").await;
    // A démarche for personnes morales: the SIRET step comes first.
    let (_, form) = common::start_brouillon(&usager, "/commencer/clubs").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let dossier: i64 = form
        .url
        .split("/dossiers/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(is_hidden(&form, salaries));
    assert!(is_hidden(&form, federation));

    let employeur_field = format!("champ_{employeur}");
    let salaries_field = format!("champ_{salaries}");
    let activites_field = format!("champ_{activites}");
    let federation_field = format!("champ_{federation}");
    // « Oui » and two activités including « Sport »: both conditional champs are shown, and
    // being mandatory they block the deposit.
    let refused = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                (&employeur_field, "true"),
                (&activites_field, "Culture"),
                (&activites_field, "Sport"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(!is_hidden(&refused, salaries));
    assert!(!is_hidden(&refused, federation));
    assert!(refused.contains("Le champ « Nombre de salariés » doit être rempli."));
    assert!(refused.contains("Le champ « Fédération sportive » doit être rempli."));
    assert_eq!(
        champ_value(&app, dossier, activites).await,
        Some(json!(["Culture", "Sport"]))
    );
    assert_eq!(
        champ_value(&app, dossier, employeur).await,
        Some(json!(true))
    );

    // The stored brouillon (kept on the refused deposit) shows them too.
    let form = usager.get(&format!("/dossiers/{dossier}/brouillon")).await;
    assert!(!is_hidden(&form, federation), "{}", form.body);
    assert!(!is_hidden(&form, salaries));

    // « Non » and « Culture » only: both hidden, the deposit goes through and the values
    // typed in the hidden champs are not kept.
    let deposited = usager
        .submit_with_button(
            &refused,
            "form#dossier-form",
            &[
                (&employeur_field, "false"),
                (&activites_field, "Culture"),
                (&salaries_field, "12"),
                (&federation_field, "FFF"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    let state: String = sqlx::query_scalar("select state::text from dossiers where id = $1")
        .bind(dossier)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "en_construction");
    assert_eq!(
        champ_value(&app, dossier, employeur).await,
        Some(json!(false))
    );
    assert_eq!(
        champ_value(&app, dossier, activites).await,
        Some(json!(["Culture"]))
    );
    assert_eq!(champ_value(&app, dossier, salaries).await, None);
    assert_eq!(champ_value(&app, dossier, federation).await, None);
}

/// The browser evaluator built by `.ci/test` (`.ci/logic-wasm`); `None` when not built.
fn built_wasm() -> Option<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("var/wasm/logic.wasm");
    let bytes = std::fs::read(&path).ok();
    if bytes.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing: .ci/test builds it",
            path.display()
        );
        eprintln!(
            "skipped: {} is missing (see .ci/logic-wasm)",
            path.display()
        );
    }
    bytes
}

#[tokio::test]
async fn the_browser_evaluator_is_served() {
    let app = TestApp::spawn().await;
    let response = reqwest::get(format!("{}/static/logic.wasm", app.base))
        .await
        .unwrap();
    let Some(built) = built_wasm() else {
        assert_eq!(response.status(), 404);
        return;
    };
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/wasm"
    );
    let body = response.bytes().await.unwrap();
    assert!(body.starts_with(b"\0asm"));
    assert_eq!(body.len(), built.len());
}

/// In Chromium, the conditional champ appears and disappears as the usager chooses, with
/// the WebAssembly evaluator, before any save.
#[tokio::test]
async fn the_form_updates_visibility_live_in_chromium() {
    use fantoccini::Locator;

    if built_wasm().is_none() {
        return;
    }
    let app = TestApp::spawn().await;
    let procedure = common::seed::published_procedure(
        &app.db,
        "Subvention aux structures",
        "structures-live",
        ADMIN,
        &[
            (
                "drop_down_list",
                "Statut",
                true,
                json!({"drop_down_options": ["Association", "Entreprise"]}),
            ),
            ("text", "Numéro RNA", true, json!({})),
        ],
    )
    .await;
    let statut = procedure.champ("Statut").stable_id;
    let rna = procedure.champ("Numéro RNA").stable_id;
    sqlx::query("update types_de_champ set condition = $2 where stable_id = $1")
        .bind(rna)
        .bind(
            json!({"term": "eq", "left": {"term": "champ_value", "stable_id": statut},
                     "right": {"term": "constant", "value": "Association"}}),
        )
        .execute(&app.db)
        .await
        .unwrap();

    let usager = app.signed_in(USAGER, &[], "usager").await;
    let chrome = common::chrome::Chrome::start().await;
    chrome.sign_in_as(&app, &usager).await;
    chrome
        .client
        .goto(&format!("{}/commencer/structures-live", app.base))
        .await
        .unwrap();
    chrome
        .wait()
        .for_element(Locator::Css("form#commencer button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    chrome
        .wait()
        .for_element(Locator::Css("#dossier-form[data-logic=wasm]"))
        .await
        .expect("the evaluator is loaded");
    let wrapper = format!("#champ_{rna}-champ");
    let hidden = |chrome: &common::chrome::Chrome| {
        let wrapper = wrapper.clone();
        let client = chrome.client.clone();
        async move {
            client
                .find(Locator::Css(&wrapper))
                .await
                .unwrap()
                .attr("hidden")
                .await
                .unwrap()
                .is_some()
        }
    };
    assert!(hidden(&chrome).await);
    let select = chrome
        .client
        .find(Locator::Css(&format!("#champ_{statut}")))
        .await
        .unwrap();
    select.select_by_value("Association").await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while hidden(&chrome).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the champ never appeared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    select.select_by_value("Entreprise").await.unwrap();
    while !hidden(&chrome).await {
        assert!(std::time::Instant::now() < deadline, "the champ never hid");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
