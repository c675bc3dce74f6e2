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
