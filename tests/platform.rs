//! The platform starts, serves its pages in French, and delivers mail to a real SMTP server.

mod common;

use common::TestApp;
use demarches::mail::{Mail, enqueue};

#[tokio::test]
async fn home_page_is_french_and_sets_csrf_cookie() {
    let app = TestApp::spawn().await;
    let page = app.browser().get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<html lang=\"fr\""));
    assert!(page.contains("Vos démarches administratives, en ligne"));
    let health = app.browser().get("/health").await;
    assert_eq!(health.body, "ok");
}

#[tokio::test]
async fn outbox_mail_reaches_the_smtp_server_once() {
    let app = TestApp::spawn().await;
    let mail = Mail {
        to: "usager@example.fr".to_owned(),
        subject: "Votre dossier n° 1 a bien été déposé (Démarche test)".to_owned(),
        text: "Bonjour,\n\nVotre dossier a bien été déposé.".to_owned(),
    };
    let mut conn = app.db.acquire().await.unwrap();
    enqueue(&mut conn, "test-key-1", &mail).await.unwrap();
    // The same idempotency key twice is delivered once.
    enqueue(&mut conn, "test-key-1", &mail).await.unwrap();
    let received = app
        .mail
        .wait_for("usager@example.fr", "a bien été déposé")
        .await;
    assert!(received.body.contains("Votre dossier a bien été déposé."));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.mail.find("usager@example.fr", "déposé").len(), 1);
}

#[tokio::test]
async fn mail_server_down_is_retried_later() {
    // Nothing listens on this port: delivery fails, the row stays queued with its error.
    let app = TestApp::spawn_with(common::TestOptions {
        worker: false,
        smtp_url: Some("smtp://127.0.0.1:9".to_owned()),
        ..Default::default()
    })
    .await;
    let mut conn = app.db.acquire().await.unwrap();
    let mail = Mail {
        to: "usager@example.fr".to_owned(),
        subject: "Essai".to_owned(),
        text: "Essai".to_owned(),
    };
    enqueue(&mut conn, "retry-key", &mail).await.unwrap();
    let pass = app.deliver_mails().await;
    assert_eq!(pass.failed, 1);
    let (attempts, error, delivered): (i32, Option<String>, Option<time::OffsetDateTime>) =
        sqlx::query_as("select attempts, last_error, delivered_at from outbox where idempotency_key = 'retry-key'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(error.unwrap().contains("SMTP"));
    assert!(delivered.is_none());
    // Not due again before its backoff.
    assert_eq!(app.deliver_mails().await, Default::default());
}

#[tokio::test]
async fn without_smtp_mails_are_files_listed_on_the_development_page() {
    let app = TestApp::spawn_with(common::TestOptions {
        worker: false,
        smtp_url: Some(String::new()),
        ..Default::default()
    })
    .await;
    let mut conn = app.db.acquire().await.unwrap();
    let mail = Mail {
        to: "usager@example.fr".to_owned(),
        subject: "Votre dossier n° 7 a été accepté (Démarche « été »)".to_owned(),
        text: "Bonjour,\n\nVotre dossier a été accepté.".to_owned(),
    };
    enqueue(&mut conn, "file-key", &mail).await.unwrap();
    assert_eq!(app.deliver_mails().await.sent, 1);
    let list = app.browser().get("/dev/mails").await;
    assert!(
        list.contains("Votre dossier n° 7 a été accepté (Démarche « été »)"),
        "{}",
        list.body
    );
    let href = list
        .html()
        .select(&scraper::Selector::parse("a[href^='/dev/mails/']").unwrap())
        .next()
        .and_then(|a| a.value().attr("href").map(str::to_owned))
        .unwrap();
    let shown = app.browser().get(&href).await;
    assert!(shown.contains("Votre dossier a été accepté."));
    assert!(shown.contains("usager@example.fr"));
}
