//! Connectors enabled at runtime, end to end: the platform loads `ban.wasm` from its plugins
//! directory (grants pointing the BAN connector at a loopback fake of the BAN API), answers
//! `/api/adresses`, degrades to free text when the upstream is down, swaps a new version
//! dropped into the directory without restart, and lists the connectors for administrateurs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::seed;
use common::{Browser, TestApp, TestOptions, repo_path, wasm};
use demarches_fakes::ban::FakeBan;
use serde_json::{Value, json};

const USAGER: &str = "camille.durand@example.fr";
const UNAVAILABLE: &str = "La recherche d’adresses est momentanément indisponible.";

/// A plugins directory holding `ban.wasm`, grants for the fake upstream, and the app.
struct Setup {
    app: TestApp,
    dir: PathBuf,
    up: Option<FakeBan>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn setup() -> Setup {
    setup_with(&[], "").await
}

/// `setup` plus more artifacts (`(file name, built artifact)`) and grant lines.
async fn setup_with(artifacts: &[(&str, &str)], grants_extra: &str) -> Setup {
    let up = FakeBan::start().unwrap();
    // These tests type addresses the fake's table lacks ("rue de Rivoli"…), and the
    // connector tester probes with "8 bd du Port": they get the Ségur record.
    up.answer_unmatched_with(Some("20 Avenue de Ségur 75007 Paris"));
    let dir = std::env::temp_dir().join(format!(
        "demarches-plugins-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("ban.wasm"), wasm("ban")).unwrap();
    for (name, artifact) in artifacts {
        std::fs::write(plugins.join(format!("{name}.wasm")), wasm(artifact)).unwrap();
    }
    let grants = dir.join("connectors.toml");
    std::fs::write(
        &grants,
        format!(
            r#"
            [connectors.ban]
            allowed_hosts = ["api-adresse.data.gouv.fr", "127.0.0.1:{port}"]
            allow_loopback = true
            allow_http = true
            timeout_ms = 1000
            [connectors.ban.config]
            base_url = "http://127.0.0.1:{port}"
            {grants_extra}
            "#,
            port = up.port()
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
    Setup {
        app,
        dir,
        up: Some(up),
    }
}

/// The demo set-up: `plugins.fake_upstreams` starts the BAN fake and points the operator's
/// `ban` grant (`config/connectors.toml`, the real host) at it, so address suggestions
/// work offline.
#[tokio::test]
async fn fake_upstreams_serve_address_suggestions_offline() {
    let dir = std::env::temp_dir().join(format!(
        "demarches-plugins-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ban.wasm"), wasm("ban")).unwrap();
    let app = TestApp::spawn_with(TestOptions {
        vars: vec![
            (
                "DEMARCHES__PLUGINS__DIR".to_owned(),
                dir.display().to_string(),
            ),
            (
                "DEMARCHES__PLUGINS__GRANTS".to_owned(),
                repo_path("config/connectors.toml").display().to_string(),
            ),
            (
                "DEMARCHES__PLUGINS__FAKE_UPSTREAMS".to_owned(),
                "true".to_owned(),
            ),
        ],
        ..TestOptions::default()
    })
    .await;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        // The watcher loads ban.wasm asynchronously.
        let (status, body) = suggestions(&usager, "20 avenue de seg").await;
        if status == 200 && body.as_array().is_some_and(|a| !a.is_empty()) {
            break body;
        }
        assert!(Instant::now() < deadline, "no suggestion: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(body[0]["label"], "20 Avenue de Ségur 75007 Paris");
    assert_eq!(body[0]["citycode"], "75107");
    let (status, body) = suggestions(&usager, "78 rue du Gres Vergeze").await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["label"], "78 Rue du Grés 30310 Vergèze");
    // An address the fake does not know: no suggestion, not an outage.
    assert_eq!(
        suggestions(&usager, "12 rue Inconnue").await,
        (200, json!([]))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn suggestions(browser: &Browser, q: &str) -> (u16, Value) {
    let url = format!("/api/adresses?q={}", urlencode(q));
    let page = browser.get(&url).await;
    let body = serde_json::from_str(&page.body)
        .unwrap_or_else(|e| panic!("{url}: {e}: {} {}", page.status, page.body));
    (page.status, body)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits until `q` answers 200 with a first label accepted by `ok` (the watcher loads
/// artifacts asynchronously); returns that answer. Each try uses a new query (the
/// connectors' result cache is per connector, not per version).
async fn wait_for_label(browser: &Browser, q: &str, ok: impl Fn(&str) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut i = 0;
    loop {
        let (status, body) = suggestions(browser, &format!("{i} {q}")).await;
        if status == 200 && body[0]["label"].as_str().is_some_and(&ok) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "no matching answer: {status} {body}"
        );
        i += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn address_suggestions_come_from_the_ban_connector_and_swap_without_restart() {
    let s = setup().await;
    let app = &s.app;

    // Anonymous visitors are sent to sign in.
    let anonymous = app.browser().get("/api/adresses?q=segur").await;
    assert!(
        anonymous.url.contains("/users/sign_in"),
        "{}",
        anonymous.url
    );

    let usager = app.signed_in(USAGER, &[], "usager").await;
    wait_for_label(&usager, "avenue de Ségur Paris", |_| true).await;
    let (status, body) = suggestions(&usager, "20 avenue de Ségur Paris").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{
            "label": "20 Avenue de Ségur 75007 Paris",
            "postcode": "75007",
            "citycode": "75107",
            "lon": 2.308628,
            "lat": 48.850699
        }])
    );
    let (status, body) = suggestions(&usager, "Ales").await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["label"], "Alès");
    assert_eq!(body[0]["citycode"], "30007");
    // Too short: no search.
    assert_eq!(suggestions(&usager, "ab").await, (200, json!([])));

    // The operator view, for administrateurs only.
    assert_eq!(usager.get("/admin/connecteurs").await.status, 403);
    let admin = app
        .signed_in(
            "admin@example.gouv.fr",
            &["administrateur"],
            "administrateur",
        )
        .await;
    let page = admin.get("/admin/connecteurs").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let row = page.text("#connecteur-ban").expect("ban row");
    assert!(row.starts_with("ban 1.0.0 "), "{row}");
    assert!(row.contains("address"), "{row}");
    assert!(
        row.contains(&format!("127.0.0.1:{}", s.up.as_ref().unwrap().port())),
        "{row}"
    );
    assert_eq!(
        page.text("#connecteur-ban .dm-rejection").as_deref(),
        Some("—")
    );

    // A new version dropped into the directory (write, then rename) serves the next calls.
    let plugins = s.dir.join("plugins");
    std::fs::write(plugins.join("ban.wasm.tmp"), wasm("ban_v2")).unwrap();
    std::fs::rename(plugins.join("ban.wasm.tmp"), plugins.join("ban.wasm")).unwrap();
    let body = wait_for_label(&usager, "rue de Rivoli", |l| l.starts_with("v2 ")).await;
    assert_eq!(body[0]["label"], "v2 20 Avenue de Ségur 75007 Paris");
    let (_, body) = suggestions(&usager, "Ales").await;
    let page = admin.get("/admin/connecteurs").await;
    let row = page.text("#connecteur-ban").expect("ban row");
    assert!(
        row.starts_with("ban 2.0.0 (précédente : 1.0.0)"),
        "{row} / {body}"
    );

    // An artifact the host refuses keeps v2 serving and shows why.
    std::fs::write(plugins.join("ban.wasm.tmp"), b"not wasm").unwrap();
    std::fs::rename(plugins.join("ban.wasm.tmp"), plugins.join("ban.wasm")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = admin.get("/admin/connecteurs").await;
        let rejection = page.text("#connecteur-ban .dm-rejection").unwrap();
        if rejection != "—" {
            assert!(
                page.text("#connecteur-ban")
                    .unwrap()
                    .starts_with("ban 2.0.0")
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the refused artifact is not shown"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_label(&usager, "rue Oberkampf", |l| l.starts_with("v2 ")).await;
}

#[tokio::test]
async fn upstream_down_answers_503_and_the_typed_address_is_deposited() {
    let mut s = setup().await;
    let app = &s.app;
    let procedure = seed::published_procedure(
        &app.db,
        "Déclaration de travaux",
        "travaux",
        "admin@example.gouv.fr",
        &[("address", "Adresse des travaux", true, json!({}))],
    )
    .await;
    let champ = format!("champ_{}", procedure.champ("Adresse des travaux").stable_id);
    let usager = app.signed_in(USAGER, &[], "usager").await;
    wait_for_label(&usager, "avenue de Ségur Paris", |_| true).await;

    // The upstream goes down: a 503 with a French message, never a 500.
    drop(s.up.take());
    let (status, body) = suggestions(&usager, "3 chemin des Oiseaux").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().starts_with(UNAVAILABLE),
        "{body}"
    );

    // The form still takes the address as typed.
    let page = usager.get("/commencer/travaux").await;
    let form = usager.submit(&page, "form#commencer", &[]).await;
    assert!(form.url.ends_with("/brouillon"), "{}", form.url);
    assert!(
        form.contains("data-autocomplete=\"/api/adresses\""),
        "{}",
        form.body
    );
    let typed = "3 chemin des Oiseaux, 12345 Nulle-Part";
    let deposited = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                ("civilite", "Mme"),
                ("nom", "Durand"),
                ("prenom", "Camille"),
                (&champ, typed),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert_eq!(deposited.status, 200, "{}", deposited.body);
    assert!(
        deposited.contains("Votre dossier a bien été déposé."),
        "{}",
        deposited.body
    );
    let (state, value): (String, Value) = sqlx::query_as(
        "select d.state::text, c.value from dossiers d join champs c on c.dossier_id = d.id
         where d.procedure_id = $1 and c.stable_id = $2",
    )
    .bind(procedure.id)
    .bind(procedure.champ("Adresse des travaux").stable_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(state, "en_construction");
    assert_eq!(value, json!(typed));
}

#[tokio::test]
async fn without_plugins_directory_the_platform_runs_without_connectors() {
    let app = TestApp::spawn().await;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let (status, body) = suggestions(&usager, "20 avenue de Ségur").await;
    assert_eq!(status, 503);
    assert!(body["error"].as_str().unwrap().starts_with(UNAVAILABLE));
    let admin = app
        .signed_in(
            "admin@example.gouv.fr",
            &["administrateur"],
            "administrateur",
        )
        .await;
    let page = admin.get("/admin/connecteurs").await;
    assert_eq!(page.status, 200);
    assert!(page.text("#aucun-connecteur").is_some(), "{}", page.body);
}

#[tokio::test]
async fn chromium_shows_address_suggestions_and_fills_the_choice() {
    use fantoccini::Locator;
    let s = setup().await;
    let app = &s.app;
    let procedure = seed::published_procedure(
        &app.db,
        "Déclaration de travaux",
        "travaux-navigateur",
        "admin@example.gouv.fr",
        &[("address", "Adresse des travaux", true, json!({}))],
    )
    .await;
    let stable_id = procedure.champ("Adresse des travaux").stable_id;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    wait_for_label(&usager, "avenue de Ségur Paris", |_| true).await;
    let page = usager.get("/commencer/travaux-navigateur").await;
    let form = usager.submit(&page, "form#commencer", &[]).await;
    assert!(form.url.ends_with("/brouillon"), "{}", form.url);

    let chrome = common::chrome::Chrome::start().await;
    chrome.sign_in_as(app, &usager).await;
    chrome.client.goto(&form.url).await.unwrap();
    let (input, option) = chrome
        .address_suggestion(stable_id, "20 avenue de Ségur")
        .await;
    assert_eq!(
        option.text().await.unwrap(),
        "20 Avenue de Ségur 75007 Paris"
    );
    assert_eq!(
        input.attr("aria-expanded").await.unwrap().as_deref(),
        Some("true")
    );
    option.click().await.unwrap();
    assert_eq!(
        input.prop("value").await.unwrap().as_deref(),
        Some("20 Avenue de Ségur 75007 Paris")
    );
    assert_eq!(
        input.attr("aria-expanded").await.unwrap().as_deref(),
        Some("false")
    );
    chrome
        .client
        .find(Locator::Css("button[name=action][value=save]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value: Option<Value> = sqlx::query_scalar(
            "select c.value from champs c join dossiers d on d.id = c.dossier_id
             where d.procedure_id = $1 and c.stable_id = $2",
        )
        .bind(procedure.id)
        .bind(stable_id)
        .fetch_optional(&app.db)
        .await
        .unwrap();
        if value == Some(json!("20 Avenue de Ségur 75007 Paris")) {
            break;
        }
        assert!(Instant::now() < deadline, "saved value: {value:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ------------------------------------------------------------------ per démarche

const ADMIN: &str = "admin@example.gouv.fr";

fn monavis_fixture(name: &str) -> String {
    std::fs::read_to_string(repo_path("plugins/tests/fixtures/monavis").join(name)).unwrap()
}

/// Grants of the MonAvis connector and of `echo` (the misbehave guest answering each
/// address search with "echo <query> at <ms>").
const MORE_GRANTS: &str = r#"
[connectors.monavis]
[connectors.echo]
timeout_ms = 1000
[connectors.echo.config]
name = "echo"
mode = "echo"
"#;

/// Waits until the démarche's connectors page lists every connector of `names` as loaded.
async fn connectors_page(admin: &Browser, procedure: i64, names: &[&str]) -> common::Page {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = admin
            .get(&format!("/admin/procedures/{procedure}/connecteurs"))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        if names.iter().all(|n| {
            page.text(&format!("#connecteur-{n} .dm-version"))
                .is_some_and(|v| !v.contains("non chargé"))
        }) {
            return page;
        }
        assert!(Instant::now() < deadline, "not loaded: {}", page.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn administrateur_enables_connectors_per_demarche_and_tests_them() {
    let mut s = setup_with(
        &[("monavis", "monavis"), ("echo", "misbehave")],
        MORE_GRANTS,
    )
    .await;
    let app = &s.app;
    let procedure = seed::published_procedure(
        &app.db,
        "Déclaration de travaux",
        "travaux",
        ADMIN,
        &[("address", "Adresse des travaux", true, json!({}))],
    )
    .await;
    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    let dashboard = admin
        .get(&format!("/admin/procedures/{}", procedure.id))
        .await;
    let url = format!("/admin/procedures/{}/connecteurs", procedure.id);
    assert_eq!(
        common::attr(&dashboard, "#lien-connecteurs", "href").as_deref(),
        Some(url.as_str())
    );
    let page = connectors_page(&admin, procedure.id, &["ban", "monavis", "echo"]).await;
    assert_eq!(
        page.text("#connecteur-monavis .dm-capabilities").as_deref(),
        Some("feedback")
    );
    assert_eq!(
        page.text("#connecteur-monavis .dm-hosts").as_deref(),
        Some("aucun")
    );
    assert_eq!(
        page.text("#connecteur-monavis .dm-state").as_deref(),
        Some("Désactivé")
    );
    assert_eq!(
        page.text("#connecteur-ban .dm-version").as_deref(),
        Some("1.0.0")
    );
    let port = s.up.as_ref().unwrap().port();
    assert!(
        page.text("#connecteur-ban .dm-hosts")
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{}",
        page.body
    );

    // The schema the connector publishes: a French message per field, the text kept.
    let refused = admin
        .submit(
            &page,
            "#connecteur-monavis form.dm-enable",
            &[("config.embed", "plop")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.text("#monavis-embed-error").as_deref(),
        Some("« Code du bouton MonAvis » doit comporter au moins 20 caractères.")
    );
    assert_eq!(refused.text("#monavis-embed").as_deref(), Some("plop"));
    assert!(refused.text("#error-summary").is_some());

    // The connector's own check: a link to another domain is refused, with its message.
    let foreign = monavis_fixture("invalid_3_foreign_domain_link.html");
    let refused = admin
        .submit(
            &page,
            "#connecteur-monavis form.dm-enable",
            &[("config.embed", &foreign)],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let message = refused.text("#monavis-embed-error").unwrap();
    assert_eq!(
        message,
        "Le code MonAvis contient un lien pointant vers un domaine invalide \
         Le code MonAvis contient une image pointant vers un domaine invalide"
    );
    assert!(
        refused
            .body
            .contains("kthxbye.fr/?key=6af80846f64fb213abcabaeea7a3ea8c")
    );
    let stored: i64 = sqlx::query_scalar("select count(*) from procedure_connectors")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0);

    // A valid embed code: enabled, and "Tester" shows the button it will render.
    let valid = monavis_fixture("valid_1_jedonnemonavis_legacy_key_png.html");
    let enabled = admin
        .submit(
            &refused,
            "#connecteur-monavis form.dm-enable",
            &[("config.embed", &valid)],
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert!(enabled.contains("Le connecteur « monavis » est activé pour cette démarche."));
    assert_eq!(
        enabled.text("#connecteur-monavis .dm-state").as_deref(),
        Some("Activé")
    );
    let tested = admin
        .submit(&enabled, "#connecteur-monavis form.dm-test", &[])
        .await;
    assert_eq!(
        tested
            .text("#connecteur-monavis .dm-test-result")
            .as_deref(),
        Some(
            "monavis 1.0.0 répond (capacités : feedback). Bouton « Je donne mon avis » vers \
             https://jedonnemonavis.numerique.gouv.fr/Demarches/123456?&view-mode=formulaire-avis&nd_mode=en-ligne-enti%C3%A8rement&nd_source=site&key=cd4a872d4."
        )
    );

    // An address connector for this démarche: "Tester" searches the sample address,
    // and the démarche's autocomplete uses it while other requests keep the platform's.
    let page = admin.get(&url).await;
    let enabled = admin
        .submit(&page, "#connecteur-echo form.dm-enable", &[])
        .await;
    assert!(enabled.contains("Le connecteur « echo » est activé pour cette démarche."));
    let tested = admin
        .submit(&enabled, "#connecteur-echo form.dm-test", &[])
        .await;
    let result = tested.text("#connecteur-echo .dm-test-result").unwrap();
    assert!(
        result.starts_with(
            "echo 0.1.0 répond (capacités : address). Recherche « 8 bd du Port » : 1 résultat, le premier : echo 8 bd du Port at"
        ),
        "{result}"
    );
    let usager = app.signed_in(USAGER, &[], "usager").await;
    let scoped = usager
        .get(&format!(
            "/api/adresses?q=rue%20de%20la%20Paix&procedure={}",
            procedure.id
        ))
        .await;
    let body: Value = serde_json::from_str(&scoped.body).unwrap();
    assert!(
        body[0]["label"]
            .as_str()
            .unwrap()
            .starts_with("echo rue de la Paix at "),
        "{body}"
    );
    let (_, body) = suggestions(&usager, "rue de la Paix").await;
    assert_eq!(body[0]["label"], "20 Avenue de Ségur 75007 Paris");

    // One connector per capability: BAN is refused while echo serves addresses.
    let page = admin.get(&url).await;
    let refused = admin
        .submit(&page, "#connecteur-ban form.dm-enable", &[])
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.text("#connecteur-ban .dm-error").as_deref(),
        Some(
            "Le connecteur « echo » fournit déjà la capacité « address » à cette démarche : désactivez-le d’abord."
        )
    );
    let disabled = admin
        .submit(&page, "#connecteur-echo form.dm-disable", &[])
        .await;
    assert!(disabled.contains("Le connecteur « echo » est désactivé pour cette démarche."));
    assert_eq!(
        disabled.text("#connecteur-echo .dm-state").as_deref(),
        Some("Désactivé")
    );
    let enabled = admin
        .submit(&disabled, "#connecteur-ban form.dm-enable", &[])
        .await;
    let tested = admin
        .submit(&enabled, "#connecteur-ban form.dm-test", &[])
        .await;
    assert_eq!(
        tested.text("#connecteur-ban .dm-test-result").as_deref(),
        Some(
            "ban 1.0.0 répond (capacités : address). Recherche « 8 bd du Port » : 1 résultat, le premier : 20 Avenue de Ségur 75007 Paris."
        )
    );

    // Tester when the upstream is down: the French error, nothing else breaks.
    drop(s.up.take());
    let page = admin.get(&url).await;
    let tested = admin
        .submit(&page, "#connecteur-ban form.dm-test", &[])
        .await;
    assert_eq!(tested.status, 200);
    assert_eq!(
        tested.text("#connecteur-ban .dm-test-result").as_deref(),
        Some("Le service distant est momentanément indisponible.")
    );

    // After deposit, the usager sees the "Je donne mon avis" button our template renders.
    let champ = format!("champ_{}", procedure.champ("Adresse des travaux").stable_id);
    let start = usager.get("/commencer/travaux").await;
    let form = usager.submit(&start, "form#commencer", &[]).await;
    assert!(form.text("#monavis").is_none(), "no button before deposit");
    let deposited = usager
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                ("civilite", "Mme"),
                ("nom", "Durand"),
                ("prenom", "Camille"),
                (&champ, "3 chemin des Oiseaux, 12345 Nulle-Part"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert!(
        deposited.contains("Votre dossier a bien été déposé."),
        "{}",
        deposited.body
    );
    assert_eq!(
        common::attr(&deposited, "#monavis a", "href").as_deref(),
        Some(
            "https://jedonnemonavis.numerique.gouv.fr/Demarches/123456?&view-mode=formulaire-avis&nd_mode=en-ligne-enti%C3%A8rement&nd_source=site&key=cd4a872d4"
        )
    );
    assert_eq!(
        common::attr(&deposited, "#monavis a img", "src").as_deref(),
        Some("https://jedonnemonavis.numerique.gouv.fr/monavis-static/bouton-bleu.png")
    );
    assert_eq!(
        common::attr(&deposited, "#monavis a img", "alt").as_deref(),
        Some("Je donne mon avis")
    );
    // the pasted HTML itself is never in the page
    assert!(
        !deposited
            .body
            .contains("title=\"Je donne mon avis sur cette démarche\"")
    );
    // the dossier page, later, shows it too
    let again = usager.get(&deposited.url).await;
    assert!(again.text("#monavis").is_some());
}

#[tokio::test]
async fn rollback_from_the_operator_page_and_the_cli_reaches_the_running_server() {
    let s = setup().await;
    let app = &s.app;
    let usager = app.signed_in(USAGER, &[], "usager").await;
    wait_for_label(&usager, "avenue de Ségur Paris", |l| !l.starts_with("v2 ")).await;
    let plugins = s.dir.join("plugins");
    let admin = app
        .signed_in(ADMIN, &["administrateur"], "administrateur")
        .await;
    let page = admin.get("/admin/connecteurs").await;
    assert!(page.text("#connecteur-ban form.dm-rollback").is_none());

    // v2 dropped by hand: the server keeps v1 as ban.wasm.previous
    std::fs::write(plugins.join("ban.wasm.tmp"), wasm("ban_v2")).unwrap();
    std::fs::rename(plugins.join("ban.wasm.tmp"), plugins.join("ban.wasm")).unwrap();
    wait_for_label(&usager, "rue de Rivoli", |l| l.starts_with("v2 ")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read(plugins.join("ban.wasm.previous")).ok() != Some(wasm("ban")) {
        assert!(Instant::now() < deadline, "no previous artifact kept");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The operator's button puts v1 back.
    let page = admin.get("/admin/connecteurs").await;
    let rolled = admin
        .submit(&page, "#connecteur-ban form.dm-rollback", &[])
        .await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    assert!(
        rolled.contains("La version précédente de « ban » est remise en service : 1.0.0."),
        "{}",
        rolled.body
    );
    assert!(
        rolled
            .text("#connecteur-ban")
            .unwrap()
            .starts_with("ban 1.0.0 (précédente : 2.0.0)")
    );
    wait_for_label(&usager, "rue Oberkampf", |l| !l.starts_with("v2 ")).await;

    // The CLI, run as a separate process on the same directory, brings v2 back.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_demarches"))
        .arg("--config-dir")
        .arg(&s.dir)
        .args(["plugins", "rollback", "ban", "--dir"])
        .arg(&plugins)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ban rolled back to 2.0.0"), "{stdout}");
    wait_for_label(&usager, "rue de la Roquette", |l| l.starts_with("v2 ")).await;

    // Nothing to roll back to for an unknown connector: a French message.
    let page = admin.get("/admin/connecteurs").await;
    let refused = admin
        .post_with_token(
            &page.csrf().unwrap(),
            "/admin/connecteurs/inconnu/rollback",
            &[],
        )
        .await;
    assert!(
        refused.contains("Aucune version précédente de « inconnu » n’est conservée dans le dossier des connecteurs."),
        "{}",
        refused.body
    );
}
