//! The benchmarks (deposits, long form) run the real paths and leave nothing behind.

mod common;

#[tokio::test]
async fn benchmarks_of_deposits_and_of_a_long_form_use_a_scratch_database() {
    let app = common::TestApp::spawn().await;
    let before: i64 = sqlx::query_scalar(
        "select count(*) from pg_database where datname like 'demarches_bench_%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    // The bench needs an actix system (dossier actors), like the CLI.
    let config = (*app.config).clone();
    let report = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(demarches::bench::run(&config, 40, 8, false))
    })
    .join()
    .unwrap()
    .unwrap();
    assert_eq!(report.failed, 0, "{report}");
    assert_eq!(report.latencies_ms.len(), 40);
    assert!(report.per_second() > 0.0);
    // `bench form`, in the same test: both drop their scratch database.
    let config = (*app.config).clone();
    let bench = demarches::bench::form::FormBench {
        champs: 40,
        rows: 5,
        children: 4,
        iterations: 3,
    };
    let form = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(demarches::bench::form::run(&config, bench))
    })
    .join()
    .unwrap()
    .unwrap();
    assert_eq!(form.values, 40 + 5 * 4);
    assert_eq!(form.save.0.len(), 3);
    assert_eq!(form.usager_page.0.len(), 3);
    assert_eq!(form.instructeur_page.0.len(), 3);
    // Every champ's libellé is on both pages.
    assert!(form.usager_page_bytes > 40 * 100, "{form}");
    assert!(form.instructeur_page_bytes > 40 * 50, "{form}");
    assert!(form.to_string().contains("p95"));
    let after: i64 = sqlx::query_scalar(
        "select count(*) from pg_database where datname like 'demarches_bench_%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(before, after, "the scratch database is dropped");
}
