//! The deposit benchmark runs the real deposit path and leaves nothing behind.

mod common;

#[tokio::test]
async fn bench_deposits_every_dossier_in_a_scratch_database() {
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
    let after: i64 = sqlx::query_scalar(
        "select count(*) from pg_database where datname like 'demarches_bench_%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(before, after, "the scratch database is dropped");
}
