//! The usager journey in a real headless Chromium (WebDriver): open the démarche's link,
//! create an account, confirm it from the e-mail, fill the form, deposit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::chrome::Chrome;
use common::{TestApp, link_in, seed};
use fantoccini::Locator;

async fn fill(chrome: &Chrome, css: &str, value: &str) {
    let field = chrome
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no field {css}"));
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

async fn click(chrome: &Chrome, css: &str) {
    chrome
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no element {css}"))
        .click()
        .await
        .expect("click");
}

/// Waits until the page's text contains `needle` (pages load after clicks).
async fn wait_text(chrome: &Chrome, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Ok(body) = chrome.client.find(Locator::Css("body")).await
            && let Ok(text) = body.text().await
            && text.contains(needle)
        {
            return text;
        }
        if std::time::Instant::now() > deadline {
            let source = chrome.client.source().await.unwrap_or_default();
            panic!("page never showed {needle:?}:\n{source}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn usager_signs_up_fills_and_deposits_in_chromium() {
    let app = TestApp::spawn().await;
    let procedure = seed::simple_procedure(&app.db, "subvention-navigateur").await;
    let email = "camille.navigateur@example.fr";
    let chrome = Chrome::start().await;

    // The public link of the démarche, then "Créer un compte".
    chrome
        .client
        .goto(&format!("{}/commencer/{}", app.base, procedure.path))
        .await
        .unwrap();
    wait_text(&chrome, "Demande de subvention").await;
    click(&chrome, "#connexion a.fr-btn--secondary").await;
    fill(&chrome, "#email", email).await;
    fill(&chrome, "#password", common::TEST_PASSWORD).await;
    fill(&chrome, "#password_confirmation", common::TEST_PASSWORD).await;
    click(&chrome, "#sign-up button[type=submit]").await;
    wait_text(&chrome, "Nous vous avons envoyé").await;

    // The confirmation link from the real e-mail brings the usager back to the démarche.
    let mail = app
        .mail
        .wait_for(email, "Confirmez votre adresse électronique")
        .await;
    let link = link_in(&mail.body, &app.base);
    chrome.client.goto(&link).await.unwrap();
    wait_text(&chrome, "Votre compte est activé").await;
    let url = chrome.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/commencer/subvention-navigateur");

    click(&chrome, "#commencer button[type=submit]").await;
    wait_text(&chrome, "Déposer le dossier").await;

    // Identity, then the form.
    click(&chrome, "label[for=civilite-mme]").await;
    fill(&chrome, "#nom", "Navigateur").await;
    fill(&chrome, "#prenom", "Camille").await;
    let projet = procedure.champ("Nom du projet").stable_id;
    let participants = procedure.champ("Nombre de participants").stable_id;
    let structure = procedure.champ("Type de structure").stable_id;
    fill(
        &chrome,
        &format!("#champ_{projet}"),
        "Jardin partagé du quartier",
    )
    .await;
    fill(&chrome, &format!("#champ_{participants}"), "24").await;
    chrome
        .client
        .find(Locator::Css(&format!("#champ_{structure}")))
        .await
        .unwrap()
        .select_by_value("Association")
        .await
        .unwrap();

    // A brouillon first, then the deposit.
    click(&chrome, "button[name=action][value=save]").await;
    wait_text(&chrome, "Votre brouillon a bien été enregistré").await;
    click(&chrome, "button[name=action][value=submit]").await;
    let text = wait_text(&chrome, "Votre dossier a bien été déposé").await;
    assert!(text.contains("Jardin partagé du quartier"), "{text}");

    let (id, state): (i64, String) = sqlx::query_as(
        "select d.id, d.state::text from dossiers d join users u on u.id = d.user_id where u.email = $1",
    )
    .bind(email)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(state, "en_construction");
    let accuse = app
        .mail
        .wait_for(email, &format!("Votre dossier n° {id} a bien été déposé"))
        .await;
    assert!(accuse.body.contains(&format!("/dossiers/{id}")));
}
