//! Sign-in with FranceConnect through the pages, against the fake FranceConnect v2
//! (`demarches-fakes`) reached by the real `france_connect` connector: the button, the
//! round trip (state and nonce kept server-side), the account found or created, the
//! identity prefilled and locked in dossiers for individuals, the logout, and what the
//! usager sees when something fails. Plus the same journey in Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::chrome::Chrome;
use common::{
    Browser, TEST_PASSWORD, TestApp, TestOptions, repo_path, seed, start_brouillon, wasm,
};
use demarches_fakes::france_connect::{
    CLIENT_ID, CLIENT_SECRET, Client, FakeFranceConnect, Fault, Identity,
};

const CALLBACK: &str = "/france_connect/particulier/callback";
const ANGELA_EMAIL: &str = "wossewodda-3728@yopmail.com";
const UNAVAILABLE: &str = "FranceConnect est momentanément indisponible.";

/// The platform with `france_connect.wasm` in its plugins directory and a grant pointing
/// the connector at a fake FranceConnect, which knows the platform's callback.
struct Setup {
    app: TestApp,
    fc: FakeFranceConnect,
    _dir: TempDir,
}

/// The plugins directory and grants of a test, removed at the end.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn setup() -> Setup {
    let fc = FakeFranceConnect::start(Client::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("demarches-fc-{}", uuid::Uuid::new_v4().simple()));
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("france_connect.wasm"), wasm("france_connect")).unwrap();
    let grants = dir.join("connectors.toml");
    std::fs::write(
        &grants,
        format!(
            r#"
            [connectors.france_connect]
            allowed_hosts = ["oidc.franceconnect.gouv.fr", "{auth}"]
            allow_loopback = true
            allow_http = true
            timeout_ms = 2000
            [connectors.france_connect.config]
            base_url = "{issuer}"
            client_id = "{CLIENT_ID}"
            client_secret = "{CLIENT_SECRET}"
            "#,
            auth = fc.authority(),
            issuer = fc.issuer(),
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
    fc.add_redirect_uri(&format!("{}{CALLBACK}", app.base));
    fc.add_post_logout_redirect_uri(&format!("{}/", app.base));
    wait_for_button(&app).await;
    Setup {
        app,
        fc,
        _dir: TempDir(dir),
    }
}

/// Waits until the sign-in page offers FranceConnect (the watcher loads the connector
/// asynchronously).
async fn wait_for_button(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = app.browser().get("/users/sign_in").await;
        if page.contains("fr-connect__brand") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the FranceConnect button never showed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks « S’identifier avec FranceConnect »: the browser goes to FranceConnect, which
/// sends it straight back with a code; returns the page it lands on.
async fn france_connect(browser: &Browser) -> common::Page {
    let sign_in = browser.get("/users/sign_in").await;
    let action = common::attr(&sign_in, ".fr-connect-group form", "action").unwrap();
    browser.get(&action).await
}

async fn fc_accounts(app: &TestApp) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "select u.email, f.family_name, f.france_connect_particulier_id
         from france_connect_informations f join users u on u.id = f.user_id order by f.id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// A browser that does not follow redirects, sharing `browser`'s cookies.
fn manual(browser: &Browser) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(browser.jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_sign_in_page_offers_france_connect_only_with_its_connector() {
    let app = TestApp::spawn().await;
    let page = app.browser().get("/users/sign_in").await;
    assert_eq!(page.status, 200);
    assert!(!page.contains("fr-connect"));
    // the route answers anyway, with a clear message and the password form
    let page = app.browser().get("/france_connect/particulier").await;
    assert!(page.url.ends_with("/users/sign_in"), "{}", page.url);
    assert!(page.contains(UNAVAILABLE), "{}", page.body);
    assert!(page.contains("form id=\"sign-in\""));

    let s = setup().await;
    let page = s.app.browser().get("/users/sign_in").await;
    assert_eq!(
        page.text(".fr-connect").as_deref(),
        Some("S’identifier avec FranceConnect")
    );
    assert!(page.contains("Qu’est-ce que FranceConnect ?"));
}

/// The offline demo (`plugins.fake_france_connect`, as `.ci/serve` runs it): the server
/// starts the fake, and the connector loads under the operator's own grants file, whose
/// production host the connector always declares, then signs Angela DUBOIS in.
#[tokio::test]
async fn the_demo_fake_signs_in_under_the_operators_grants() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("demarches-fc-{}", uuid::Uuid::new_v4().simple()));
    let _dir = TempDir(dir.clone());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("france_connect.wasm"), wasm("france_connect")).unwrap();
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
                "DEMARCHES__PLUGINS__FAKE_FRANCE_CONNECT".to_owned(),
                format!("127.0.0.1:{port}"),
            ),
        ],
        ..TestOptions::default()
    })
    .await;
    wait_for_button(&app).await;
    let landed = france_connect(&app.browser()).await;
    assert!(landed.url.ends_with("/dossiers"), "{}", landed.url);
    assert!(landed.contains("Vous êtes connecté(e) avec FranceConnect."));
    let accounts = fc_accounts(&app).await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].1, "DUBOIS");
}

#[tokio::test]
async fn france_connect_creates_the_account_then_signs_it_in_again() {
    let s = setup().await;
    let browser = s.app.browser();
    let landed = france_connect(&browser).await;
    assert!(landed.url.ends_with("/dossiers"), "{}", landed.url);
    assert!(
        landed.contains("Vous êtes connecté(e) avec FranceConnect."),
        "{}",
        landed.body
    );

    // what FranceConnect was asked
    let asked = s.fc.authorize_requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["acr_values"], "eidas1");
    assert_eq!(
        asked[0]["redirect_uri"],
        format!("{}{CALLBACK}", s.app.base)
    );
    assert!(asked[0]["state"].len() >= 32 && asked[0]["nonce"].len() >= 32);
    assert_ne!(asked[0]["state"], asked[0]["nonce"]);

    let accounts = fc_accounts(&s.app).await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].0, ANGELA_EMAIL);
    assert_eq!(accounts[0].1, "DUBOIS");
    assert_eq!(accounts[0].2, Identity::angela_dubois().sub(CLIENT_ID));

    // another browser, same identity: the same account, no second row
    let other = s.app.browser();
    let landed = france_connect(&other).await;
    assert!(landed.url.ends_with("/dossiers"), "{}", landed.url);
    assert_eq!(fc_accounts(&s.app).await.len(), 1);
    let users: i64 = sqlx::query_scalar("select count(*) from users where lower(email) = $1")
        .bind(ANGELA_EMAIL)
        .fetch_one(&s.app.db)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn a_callback_with_another_state_or_replayed_is_refused() {
    let s = setup().await;
    let browser = s.app.browser();
    let client = manual(&browser);
    // start: the platform answers with FranceConnect's authorize URL and a cookie
    let start = client
        .get(format!("{}/france_connect/particulier", s.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(authorize.starts_with(&s.fc.issuer()), "{authorize}");
    // FranceConnect sends back a code, but an attacker swaps the state
    let back = client.get(&authorize).send().await.unwrap();
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    let forged = callback.replace("state=", "state=X");
    let page = browser.get(&forged).await;
    assert!(page.url.ends_with("/users/sign_in"), "{}", page.url);
    assert!(
        page.contains("La connexion avec FranceConnect n’a pas pu être vérifiée."),
        "{}",
        page.body
    );
    assert!(fc_accounts(&s.app).await.is_empty());
    assert_eq!(
        s.fc.token_requests(),
        0,
        "no code exchange without the right state"
    );

    // the sign-in in progress was used up: the genuine callback now finds none
    let page = browser.get(&callback).await;
    assert!(
        page.contains("Votre connexion avec FranceConnect a expiré"),
        "{}",
        page.body
    );
    // and a callback without any sign-in in progress (another browser) is refused too
    let page = s.app.browser().get(&callback).await;
    assert!(
        page.contains("Votre connexion avec FranceConnect a expiré"),
        "{}",
        page.body
    );
    assert!(fc_accounts(&s.app).await.is_empty());
}

#[tokio::test]
async fn refusals_of_the_connector_keep_the_usager_signed_out_with_a_message() {
    let s = setup().await;
    for (fault, message) in [
        (
            Fault::BadSignature,
            "La connexion avec FranceConnect n’a pas pu être vérifiée.",
        ),
        (
            Fault::WrongNonce,
            "La connexion avec FranceConnect n’a pas pu être vérifiée.",
        ),
        (
            Fault::Expired,
            "La connexion avec FranceConnect n’a pas pu être vérifiée.",
        ),
        (Fault::ServerError, UNAVAILABLE),
        (
            Fault::UserCancels,
            "Vous avez annulé la connexion avec FranceConnect.",
        ),
    ] {
        s.fc.set_fault(fault.clone());
        let browser = s.app.browser();
        let page = france_connect(&browser).await;
        assert!(
            page.url.ends_with("/users/sign_in"),
            "{fault:?}: {}",
            page.url
        );
        assert!(page.contains(message), "{fault:?}: {}", page.body);
        assert!(page.contains("form id=\"sign-in\""));
        let dossiers = browser.get("/dossiers").await;
        assert!(
            dossiers.url.contains("/users/sign_in"),
            "{fault:?}: signed in anyway"
        );
    }
    assert!(fc_accounts(&s.app).await.is_empty());
}

#[tokio::test]
async fn franceconnect_down_leaves_password_sign_in_working() {
    let s = setup().await;
    s.app.account("camille.durand@example.fr", &[]).await;
    let Setup { app, fc, _dir } = s;
    drop(fc); // the upstream is gone
    let browser = app.browser();
    let page = france_connect(&browser).await;
    assert!(page.url.ends_with("/users/sign_in"), "{}", page.url);
    assert!(page.contains(UNAVAILABLE), "{}", page.body);
    let landed = browser
        .sign_in("camille.durand@example.fr", TEST_PASSWORD)
        .await;
    assert_eq!(landed.status, 200);
}

#[tokio::test]
async fn an_existing_account_with_the_same_email_is_linked_only_after_its_password() {
    let s = setup().await;
    s.app.account(ANGELA_EMAIL, &[]).await;
    let browser = s.app.browser();
    let page = france_connect(&browser).await;
    assert!(page.url.contains("/users/sign_in"), "{}", page.url);
    assert!(
        page.contains(&format!(
            "Un compte existe déjà avec l’adresse {ANGELA_EMAIL}."
        )),
        "{}",
        page.body
    );
    assert!(
        fc_accounts(&s.app).await.is_empty(),
        "nothing linked silently"
    );
    // the password, then back to FranceConnect: the identity joins that account
    let landed = browser
        .submit(
            &page,
            "form#sign-in",
            &[("email", ANGELA_EMAIL), ("password", TEST_PASSWORD)],
        )
        .await;
    assert!(landed.url.ends_with("/dossiers"), "{}", landed.url);
    assert!(
        landed.contains("Vous êtes connecté(e) avec FranceConnect."),
        "{}",
        landed.body
    );
    let accounts = fc_accounts(&s.app).await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].0, ANGELA_EMAIL);
}

#[tokio::test]
async fn an_identity_without_email_is_asked_to_create_an_account() {
    let s = setup().await;
    s.fc.set_identity(Identity::without_email());
    let page = france_connect(&s.app.browser()).await;
    assert!(
        page.contains("FranceConnect ne nous a pas transmis d’adresse électronique."),
        "{}",
        page.body
    );
    assert!(fc_accounts(&s.app).await.is_empty());
}

#[tokio::test]
async fn sign_out_also_ends_the_franceconnect_session() {
    let s = setup().await;
    let browser = s.app.browser();
    france_connect(&browser).await;
    let token: Option<String> = sqlx::query_scalar("select france_connect_id_token from sessions")
        .fetch_one(&s.app.db)
        .await
        .unwrap();
    assert!(token.is_some_and(|t| t.split('.').count() == 3));
    let home = browser.post("/dossiers", "/users/sign_out", &[]).await;
    assert_eq!(s.fc.logouts(), 1, "FranceConnect's session/end was visited");
    assert!(
        home.url.starts_with(&format!("{}/?state=", s.app.base)),
        "{}",
        home.url
    );
    assert!(home.contains("Vous êtes déconnecté(e)."), "{}", home.body);
    let dossiers = browser.get("/dossiers").await;
    assert!(dossiers.url.contains("/users/sign_in"));

    // a password session signs out locally only
    s.app.account("camille.durand@example.fr", &[]).await;
    let browser = s.app.browser();
    browser
        .sign_in("camille.durand@example.fr", TEST_PASSWORD)
        .await;
    let home = browser.post("/dossiers", "/users/sign_out", &[]).await;
    assert_eq!(home.url, format!("{}/", s.app.base));
    assert_eq!(s.fc.logouts(), 1);
}

#[tokio::test]
async fn the_identity_of_a_dossier_comes_from_franceconnect_and_cannot_be_edited() {
    let s = setup().await;
    let procedure = seed::simple_procedure(&s.app.db, "subvention-fc").await;
    let browser = s.app.browser();
    france_connect(&browser).await;
    let (id, form) = start_brouillon(&browser, "/commencer/subvention-fc").await;
    assert_eq!(
        form.text("#identite-france-connect h3").as_deref(),
        Some("Identité transmise par FranceConnect")
    );
    let shown = form.text("#identite-france-connect dl").unwrap();
    assert!(shown.contains("Mme"), "{shown}");
    assert!(shown.contains("DUBOIS"), "{shown}");
    assert!(shown.contains("Angela Claire Louise"), "{shown}");
    assert!(form.field("nom").is_none(), "no identity input to edit");

    // a crafted form cannot change it: the identity stays FranceConnect's
    let nom = format!("champ_{}", procedure.champ("Nom du projet").stable_id);
    let structure = format!("champ_{}", procedure.champ("Type de structure").stable_id);
    let deposited = browser
        .submit_with_button(
            &form,
            "form#dossier-form",
            &[
                ("civilite", "M."),
                ("nom", "Pirate"),
                ("prenom", "Jack"),
                (nom.as_str(), "Jardins partagés"),
                (structure.as_str(), "Association"),
            ],
            Some(("action", "submit")),
        )
        .await;
    assert!(
        deposited.url.ends_with(&format!("/dossiers/{id}")),
        "{}",
        deposited.url
    );
    let stored: (String, String, String) =
        sqlx::query_as("select civilite, nom, prenom from individuals where dossier_id = $1")
            .bind(id)
            .fetch_one(&s.app.db)
            .await
            .unwrap();
    assert_eq!(
        stored,
        (
            "Mme".to_owned(),
            "DUBOIS".to_owned(),
            "Angela Claire Louise".to_owned()
        )
    );
    assert_eq!(
        deposited.text("#identite-france-connect").as_deref(),
        Some("Identité transmise par FranceConnect")
    );
    // the instructeur sees where the identity comes from
    let instructeur = s
        .app
        .signed_in("admin@example.gouv.fr", &["instructeur"], "instructeur")
        .await;
    let page = instructeur
        .get(&format!("/procedures/{}/dossiers/{id}", procedure.id))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.text("#identite-france-connect").as_deref(),
        Some("Identité transmise par FranceConnect")
    );
    assert!(page.text("#identite").unwrap().contains("DUBOIS"));
}

#[tokio::test]
async fn chromium_signs_in_with_franceconnect_and_starts_a_prefilled_dossier() {
    let s = setup().await;
    seed::simple_procedure(&s.app.db, "subvention-fc").await;
    let chrome = Chrome::start().await;
    chrome
        .client
        .goto(&format!("{}/users/sign_in", s.app.base))
        .await
        .unwrap();
    chrome.wait_text("S’identifier avec").await;
    chrome.click("button.fr-connect").await;
    chrome
        .wait_text("Vous êtes connecté(e) avec FranceConnect.")
        .await;
    chrome
        .client
        .goto(&format!("{}/commencer/subvention-fc", s.app.base))
        .await
        .unwrap();
    chrome.click("form#commencer button[type=submit]").await;
    let text = chrome
        .wait_text("Identité transmise par FranceConnect")
        .await;
    assert!(text.contains("DUBOIS"), "{text}");
    assert!(text.contains("Angela Claire Louise"), "{text}");
    assert_eq!(s.fc.authorize_requests().len(), 1);
    let _ = chrome.client.clone().close().await;
}
