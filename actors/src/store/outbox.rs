//! The transactional outbox: side effects written in the transaction that causes them.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

pub const MAIL_TOPIC: &str = "mail";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Adds a mail to the outbox. `idempotency_key` identifies the mail for good: enqueuing the
/// same key twice sends it once, and the key becomes the Message-ID so receivers can dedupe.
pub async fn enqueue_mail(
    conn: &mut PgConnection,
    idempotency_key: &str,
    mail: &Mail,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into outbox (topic, idempotency_key, payload) values ($1, $2, $3)
         on conflict (idempotency_key) do nothing",
    )
    .bind(MAIL_TOPIC)
    .bind(idempotency_key)
    .bind(sqlx::types::Json(mail))
    .execute(conn)
    .await?;
    Ok(())
}

/// Wakes the outbox workers of every node (`NOTIFY demarches_worker`) after commits that
/// wrote outbox rows without the trigger. Many wake-ups in a short time make one NOTIFY, sent
/// outside the writers' transactions.
#[derive(Clone)]
pub struct Waker {
    pending: std::sync::Arc<tokio::sync::Notify>,
}

impl Waker {
    /// Starts the notifier task on the current tokio runtime.
    pub fn start(db: sqlx::PgPool) -> Self {
        let pending = std::sync::Arc::new(tokio::sync::Notify::new());
        let waiting = pending.clone();
        tokio::spawn(async move {
            loop {
                waiting.notified().await;
                // Let the commits of the same instant share one notification.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                if let Err(err) = sqlx::query("select pg_notify('demarches_worker', 'outbox')")
                    .execute(&db)
                    .await
                {
                    tracing::warn!(error = %err, "cannot wake the workers; they poll anyway");
                }
            }
        });
        Self { pending }
    }

    /// Asks for a wake-up (never blocks; coalesced with the pending one).
    pub fn wake(&self) {
        self.pending.notify_one();
    }
}
