//! `demarches demo` gives a new user a working démarche and accounts for every role.

mod common;

use common::TestApp;
use demarches::demo;

#[tokio::test]
async fn demo_seeds_a_published_demarche_and_accounts_idempotently() {
    let app = TestApp::spawn().await;
    let first = demo::seed(&app.db, &app.config).await.unwrap();
    assert!(first.created);
    let again = demo::seed(&app.db, &app.config).await.unwrap();
    assert!(!again.created);
    assert_eq!(first.procedure_id, again.procedure_id);
    assert_eq!(
        first.entreprises_procedure_id,
        again.entreprises_procedure_id
    );
    // The second démarche is for personnes morales, with API Entreprise enabled.
    let (for_individual, connectors): (bool, i64) = sqlx::query_as(
        "select p.for_individual,
                (select count(*) from procedure_connectors c
                 where c.procedure_id = p.id and c.enabled and 'siret' = any(c.capabilities))
         from procedures p where p.path = $1",
    )
    .bind(demo::DEMO_ENTREPRISES_PATH)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(!for_individual);
    assert_eq!(connectors, 1);

    // The public link works for anyone.
    let page = app
        .browser()
        .get(&format!("/commencer/{}", demo::DEMO_PATH))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.contains("Demande de subvention pour les associations"));

    // Each printed account signs in with the printed password and reaches its area.
    let admin = app.browser();
    admin.sign_in(demo::ADMIN, demo::DEMO_PASSWORD).await;
    assert!(
        admin
            .get("/admin/procedures")
            .await
            .contains("Demande de subvention pour les associations")
    );
    let instructeur = app.browser();
    instructeur
        .sign_in(demo::INSTRUCTEUR, demo::DEMO_PASSWORD)
        .await;
    assert!(
        instructeur
            .get("/procedures")
            .await
            .contains("Demande de subvention pour les associations")
    );
    let usager = app.browser();
    usager.sign_in(demo::USAGER, demo::DEMO_PASSWORD).await;
    assert_eq!(usager.get("/dossiers").await.status, 200);
    // The demo form has an address champ fed by the address suggestions.
    let start = usager.get(&format!("/commencer/{}", demo::DEMO_PATH)).await;
    let brouillon = usager.submit(&start, "form#commencer", &[]).await;
    assert!(brouillon.contains("Adresse"), "{}", brouillon.url);
    assert!(brouillon.contains("data-autocomplete=\"/api/adresses\""));
    // A dossier on the démarche for personnes morales starts with the SIRET step.
    let start = usager
        .get(&format!("/commencer/{}", demo::DEMO_ENTREPRISES_PATH))
        .await;
    let step = usager.submit(&start, "form#commencer", &[]).await;
    assert!(step.url.ends_with("/siret"), "{}", step.url);
    assert!(step.contains("Identifier votre établissement"));

    let summary = demo::summary(&app.config, &again);
    assert!(summary.contains(&format!("/commencer/{}", demo::DEMO_PATH)));
    assert!(summary.contains(demo::DEMO_PASSWORD));
    assert!(summary.contains(&format!("/commencer/{}", demo::DEMO_ENTREPRISES_PATH)));
    for address in demarches_fakes::ban::DEMO_ADDRESSES {
        assert!(summary.contains(&format!("« {address} »")), "{summary}");
    }
}
