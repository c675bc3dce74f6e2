//! The champ « carte », end to end: an administrateur adds one through the builder, an
//! usager imports a GPX file (and an invalid one, which changes nothing), deposits, and the
//! instructeur reads each geometry with its measure and downloads the GeoJSON. In Chromium
//! (no tiles: the coordinate grid), a point and a polygon are drawn by clicking the map, a
//! GPX is imported through the map without losing them, and a point is placed by keyboard.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::seed;
use common::{Browser, TestApp, add_champ, attr, procedure_id, start_brouillon};
use demarches_actors::domain::carte;
use fantoccini::actions::InputSource;
use serde_json::{Value, json};

const ADMIN: &str = "admin@example.gouv.fr";
const USAGER: &str = "camille.durand@example.fr";
const AUTRE: &str = "dominique.martin@example.fr";
const GPX: &[u8] = include_bytes!("fixtures/carte/trace.gpx");
const KML: &[u8] = include_bytes!("fixtures/carte/parcelles.kml");

/// Posts a file to the import form of a carte (token first), as the form or the map does.
async fn import(
    browser: &Browser,
    action: &str,
    filename: &str,
    bytes: &[u8],
    json: bool,
) -> reqwest::Response {
    let form = browser.file_form(filename, bytes.to_vec()).await;
    let mut request = browser
        .client
        .post(format!("{}{action}", browser.base))
        .multipart(form);
    if json {
        request = request.header("Accept", "application/json");
    }
    request.send().await.unwrap()
}

async fn stored(app: &TestApp, dossier: i64, stable_id: i64) -> Option<Value> {
    sqlx::query_scalar("select value from champs where dossier_id = $1 and stable_id = $2")
        .bind(dossier)
        .bind(stable_id)
        .fetch_optional(&app.db)
        .await
        .unwrap()
}

fn count(value: &Option<Value>) -> usize {
    value
        .as_ref()
        .map(|v| carte::features_of(v).len())
        .unwrap_or(0)
}

#[tokio::test]
async fn carte_from_the_builder_to_the_instructeur_with_a_gpx_import() {
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
                ("libelle", "Déclaration de chantier"),
                ("description", "Situez votre chantier."),
                ("organisation", "Ministère des tests"),
                ("path", ""),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = procedure_id(&created);

    // The builder offers the type and adds it.
    let builder = admin.get(&format!("/admin/procedures/{id}/champs")).await;
    assert!(builder.contains("<option value=\"carte\">Carte</option>"));
    let added = add_champ(
        &admin,
        id,
        &[
            ("type_champ", "carte"),
            ("libelle", "Emprise du chantier"),
            ("mandatory", "on"),
            ("carte_layer_cadastres", "on"),
        ],
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let stable_id = common::draft_stable_id(&app, id, "Emprise du chantier").await;
    let options: Value = sqlx::query_scalar(
        "select options from types_de_champ where stable_id = $1 order by id desc limit 1",
    )
    .bind(stable_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(options, json!({"carte_layers": ["cadastres"]}));
    let publication = admin
        .get(&format!("/admin/procedures/{id}/publication"))
        .await;
    let published = admin
        .submit(&publication, "form#publish", &[("path", "chantier")])
        .await;
    assert!(
        published.contains("La démarche est publiée."),
        "{}",
        published.body
    );

    // The usager's widget: the GeoJSON textarea (usable without JavaScript), the map's
    // placeholder without tiles (none configured), and the import form.
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, form) = start_brouillon(&usager, "/commencer/chantier").await;
    let field = format!("champ_{stable_id}");
    assert!(form.text(&format!("textarea#{field}")).is_some());
    assert_eq!(
        attr(
            &form,
            &format!("[data-carte-for=\"{field}\"]"),
            "data-tiles-url"
        )
        .as_deref(),
        Some("")
    );
    let action = attr(&form, &format!("form#{field}-import"), "action").unwrap();
    assert_eq!(
        action,
        format!("/dossiers/{dossier}/champs/{stable_id}/carte/import")
    );
    assert!(form.contains("<script src=\"/static/carte.js\" defer></script>"));
    let script = usager.get("/static/carte.js").await;
    assert_eq!(script.status, 200);

    // A GeoJSON typed by hand that is not valid: a message on the field, the text kept.
    let typed = r#"{"type":"Point","coordinates":[2.35,95]}"#;
    let identity = [
        ("civilite", "Mme"),
        ("nom", "Durand"),
        ("prenom", "Camille"),
    ];
    let mut fields = vec![(field.as_str(), typed)];
    fields.extend(identity);
    let refused = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &fields,
            Some(("action", "save")),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.text(&format!("#{field}-error")).as_deref(),
        Some("« Emprise du chantier » : la latitude 95,000000 est hors limites (entre -90 et 90).")
    );
    assert_eq!(
        refused.text(&format!("textarea#{field}")).unwrap().trim(),
        typed
    );

    // The GPX import without JavaScript: converted, added and saved.
    let page = Browser::read(import(&usager, &action, "trace.gpx", GPX, false).await).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.url.ends_with("/brouillon"), "{}", page.url);
    assert!(
        page.contains("4 géométries ont été importées depuis « trace.gpx »."),
        "{}",
        page.body
    );
    let value = stored(&app, dossier, stable_id).await;
    assert_eq!(count(&value), 4);
    assert_eq!(
        value.as_ref().unwrap()["features"][0],
        json!({"type": "Feature", "properties": {"name": "Départ"},
               "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}})
    );
    // The form shows what is stored.
    let shown = page.text(&format!("textarea#{field}")).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(shown.trim()).ok(),
        value.clone()
    );

    // The brouillon form links to the stored geometries.
    let geojson_url = format!("/dossiers/{dossier}/champs/{stable_id}/geojson");
    assert_eq!(
        attr(&page, "a.dm-geojson", "href"),
        Some(geojson_url.clone())
    );
    let own: Value = usager
        .client
        .get(format!("{}{geojson_url}", usager.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(Some(own), value);

    // An invalid file: a clear message, and what was there stays.
    let bad =
        Browser::read(import(&usager, &action, "trace.gpx", b"<gpx><trk>", false).await).await;
    assert!(
        bad.contains(
            "Le fichier n’est pas un fichier GPX ou KML valide : son contenu XML est mal formé."
        ),
        "{}",
        bad.body
    );
    let not_gpx =
        Browser::read(import(&usager, &action, "photo.gpx", b"<html></html>", false).await).await;
    assert!(
        not_gpx.contains("Le fichier n’est pas un fichier GPX valide (élément « gpx » attendu).")
    );
    assert_eq!(stored(&app, dossier, stable_id).await, value);

    // What the map does: the file converted, nothing saved.
    let converted = import(&usager, &action, "parcelles.kml", KML, true).await;
    assert_eq!(converted.status(), 200);
    let body: Value = converted.json().await.unwrap();
    assert_eq!(
        body["geojson"]["features"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(
        body["geojson"]["features"][0]["geometry"]["type"],
        "Polygon"
    );
    let refused = import(&usager, &action, "vide.kml", b"<kml></kml>", true).await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["error"],
        "Le fichier KML ne contient aucun point, ligne ni polygone."
    );
    assert_eq!(stored(&app, dossier, stable_id).await, value);

    // Someone else cannot import into this dossier.
    let autre = app.signed_in(AUTRE, &[], "usager").await;
    let theirs = import(&autre, &action, "trace.gpx", GPX, false).await;
    assert_eq!(theirs.status(), 404);

    // Deposit with the geometries as the form shows them.
    let deposited = usager
        .submit_with_button(
            &page,
            "form#dossier-form",
            &identity,
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    assert!(
        deposited.url.ends_with(&format!("/dossiers/{dossier}")),
        "{}",
        deposited.url
    );

    // The usager's summary: each geometry and the download.
    let lines = carte::describe(value.as_ref().unwrap());
    assert_eq!(lines[0], "Point « Départ » : 48,85000° N, 2,35000° E");
    let loop_length = carte::format_length(carte::length_m(&[
        [2.35, 48.85],
        [2.36, 48.85],
        [2.36, 48.86],
    ]));
    assert_eq!(lines[2], format!("Ligne « Boucle du lac » : {loop_length}"));
    let summary = usager.get(&format!("/dossiers/{dossier}")).await;
    let text = summary.text("#champs").unwrap();
    for line in &lines {
        assert!(text.contains(line.as_str()), "{line}: {text}");
    }
    assert_eq!(
        attr(&summary, "#champs a.dm-geojson", "href"),
        Some(geojson_url.clone())
    );

    // The instructeur: the list of geometries, and the GeoJSON download.
    let instructeur = app
        .signed_in(ADMIN, &["administrateur", "instructeur"], "instructeur")
        .await;
    let page = instructeur
        .get(&format!("/procedures/{id}/dossiers/{dossier}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.texts("#demande ul.dm-geometries li"), lines);
    assert_eq!(
        attr(&page, "#demande a.dm-geojson", "href"),
        Some(geojson_url.clone())
    );
    let download = instructeur
        .client
        .get(format!("{}{geojson_url}", instructeur.base))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.headers()["content-type"].to_str().unwrap(),
        "application/geo+json"
    );
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("dossier-{dossier}-champ-{stable_id}.geojson"))
    );
    let geojson: Value = download.json().await.unwrap();
    assert_eq!(Some(geojson), value);

    // Nobody else may download it.
    assert_eq!(autre.get(&geojson_url).await.status, 404);
    let anonymous = Browser::new(&app.base);
    let refused = anonymous.get(&geojson_url).await;
    assert!(refused.url.contains("/users/sign_in"), "{}", refused.url);
    assert!(!refused.contains("FeatureCollection"));
}

#[tokio::test]
async fn a_brouillon_is_not_served_to_instructeurs() {
    let app = TestApp::spawn().await;
    let procedure = seed::published_procedure(
        &app.db,
        "Déclaration de chantier",
        "chantier",
        ADMIN,
        &[("carte", "Emprise", false, json!({}))],
    )
    .await;
    let stable_id = procedure.champs[0].stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, _) = start_brouillon(&usager, "/commencer/chantier").await;
    let action = format!("/dossiers/{dossier}/champs/{stable_id}/carte/import");
    let page = Browser::read(import(&usager, &action, "parcelles.kml", KML, false).await).await;
    assert!(page.contains("4 géométries ont été importées depuis « parcelles.kml »."));
    let url = format!("/dossiers/{dossier}/champs/{stable_id}/geojson");
    assert_eq!(usager.get(&url).await.status, 200);
    let instructeur = app.signed_in(ADMIN, &["instructeur"], "instructeur").await;
    assert_eq!(instructeur.get(&url).await.status, 404);
}

#[tokio::test]
async fn drawing_and_importing_on_the_map_in_chromium() {
    let app = TestApp::spawn().await;
    let procedure = seed::published_procedure(
        &app.db,
        "Déclaration de chantier",
        "chantier",
        ADMIN,
        &[("carte", "Emprise", false, json!({}))],
    )
    .await;
    let stable_id = procedure.champs[0].stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (dossier, _) = start_brouillon(&usager, "/commencer/chantier").await;

    let chrome = common::chrome::Chrome::start().await;
    chrome.sign_in_as(&app, &usager).await;
    chrome
        .client
        .goto(&format!("{}/dossiers/{dossier}/brouillon", app.base))
        .await
        .unwrap();
    chrome.wait_text("Ajouter un point").await;
    // Without tiles the map is a coordinate grid.
    chrome.wait_text("Grille de coordonnées").await;
    chrome.click("button[data-tool=\"Point\"]").await;
    chrome
        .wait_text("Cliquez sur la carte pour placer le point.")
        .await;
    chrome.click("svg.dm-carte__svg").await;
    chrome.wait_text("Point ajouté.").await;
    let item = chrome.text("li.dm-carte__item").await;
    assert!(item.starts_with("Point : "), "{item}");

    // A polygon: three clicks around the centre, then « Terminer le tracé ».
    chrome.click("button[data-tool=\"Polygon\"]").await;
    let svg = chrome
        .client
        .find(fantoccini::Locator::Css("svg.dm-carte__svg"))
        .await
        .unwrap();
    for (dx, dy) in [(-60.0, -40.0), (60.0, -40.0), (0.0, 50.0)] {
        let actions = fantoccini::actions::MouseActions::new("souris".to_owned())
            .then(fantoccini::actions::PointerAction::MoveToElement {
                element: svg.clone(),
                duration: None,
                x: dx,
                y: dy,
            })
            .then(fantoccini::actions::PointerAction::Down {
                button: fantoccini::actions::MOUSE_BUTTON_LEFT,
            })
            .then(fantoccini::actions::PointerAction::Up {
                button: fantoccini::actions::MOUSE_BUTTON_LEFT,
            });
        chrome.client.perform_actions(actions).await.unwrap();
    }
    chrome.wait_text("3 point(s) placé(s).").await;
    chrome.click("button[data-tool=\"finish\"]").await;
    chrome.wait_text("Polygone : 3 sommets").await;

    // A GPX imported through the map: converted by the server, added to what is drawn.
    let gpx = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/carte/trace.gpx"
    );
    chrome
        .client
        .find(fantoccini::Locator::Css(&format!(
            "#champ_{stable_id}-fichier"
        )))
        .await
        .unwrap()
        .send_keys(gpx)
        .await
        .unwrap();
    chrome
        .click(&format!("button[form=\"champ_{stable_id}-import\"]"))
        .await;
    chrome.wait_text("4 géométrie(s) importée(s)").await;
    assert_eq!(
        chrome
            .client
            .find_all(fantoccini::Locator::Css("li.dm-carte__item"))
            .await
            .unwrap()
            .len(),
        6
    );
    // The brouillon autosaves what is drawn and imported.
    wait_for_features(&app, dossier, stable_id, 6).await;

    // The keyboard: Enter places a point at the centre of the map.
    chrome.click("button[data-tool=\"Point\"]").await;
    chrome
        .client
        .find(fantoccini::Locator::Css("svg.dm-carte__svg"))
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();
    chrome.wait_text("Point ajouté.").await;

    chrome
        .click("button[name=\"action\"][value=\"save\"]")
        .await;
    let value = wait_for_features(&app, dossier, stable_id, 7).await;
    let features = carte::features_of(&value);
    assert_eq!(features[2].name.as_deref(), Some("Départ"));
    assert!(matches!(features[6].shape, carte::Shape::Point(_)));
    // The map opens on France: the centre of the map is about 2.4° E, 46.6° N.
    let carte::Shape::Point([lon, lat]) = features[0].shape else {
        panic!("a point first: {value}");
    };
    assert!(
        (lon - 2.4).abs() < 0.5 && (lat - 46.6).abs() < 0.5,
        "{lon} {lat}"
    );
    let carte::Shape::Polygon(rings) = &features[1].shape else {
        panic!("then a polygon: {value}");
    };
    assert_eq!(rings[0].len(), 4);
    assert!(carte::area_m2(rings) > 1_000_000.0);
}

/// Waits until the stored value of the carte holds `count` features (saves are
/// asynchronous: the autosave and the form's own button).
async fn wait_for_features(app: &TestApp, dossier: i64, stable_id: i64, count: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = stored(app, dossier, stable_id).await
            && carte::features_of(&value).len() == count
        {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "the drawing was never saved with {count} features"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
