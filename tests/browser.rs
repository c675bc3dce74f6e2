//! The usager journey in a real headless Chromium (WebDriver): open the démarche's link,
//! create an account, confirm it from the e-mail, fill the form, deposit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::chrome::Chrome;
use common::{TestApp, link_in, seed};
use fantoccini::Locator;

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
    chrome.wait_text("Demande de subvention").await;
    chrome.click("#connexion a.fr-btn--secondary").await;
    chrome.fill("#email", email).await;
    chrome.fill("#password", common::TEST_PASSWORD).await;
    chrome
        .fill("#password_confirmation", common::TEST_PASSWORD)
        .await;
    chrome.click("#sign-up button[type=submit]").await;
    chrome.wait_text("Nous vous avons envoyé").await;

    // The confirmation link from the real e-mail brings the usager back to the démarche.
    let mail = app
        .mail
        .wait_for(email, "Confirmez votre adresse électronique")
        .await;
    let link = link_in(&mail.body, &app.base);
    chrome.client.goto(&link).await.unwrap();
    chrome.wait_text("Votre compte est activé").await;
    let url = chrome.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/commencer/subvention-navigateur");

    chrome.click("#commencer button[type=submit]").await;
    chrome.wait_text("Déposer le dossier").await;

    // Identity, then the form.
    chrome.click("label[for=civilite-mme]").await;
    chrome.fill("#nom", "Navigateur").await;
    chrome.fill("#prenom", "Camille").await;
    let projet = procedure.champ("Nom du projet").stable_id;
    let participants = procedure.champ("Nombre de participants").stable_id;
    let structure = procedure.champ("Type de structure").stable_id;
    chrome
        .fill(&format!("#champ_{projet}"), "Jardin partagé du quartier")
        .await;
    chrome.fill(&format!("#champ_{participants}"), "24").await;
    chrome
        .client
        .find(Locator::Css(&format!("#champ_{structure}")))
        .await
        .unwrap()
        .select_by_value("Association")
        .await
        .unwrap();

    // A brouillon first, then the deposit.
    chrome.click("button[name=action][value=save]").await;
    chrome
        .wait_text("Votre brouillon a bien été enregistré")
        .await;
    chrome.click("button[name=action][value=submit]").await;
    let text = chrome.wait_text("Votre dossier a bien été déposé").await;
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
