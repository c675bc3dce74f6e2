//! Delivers the outbox: claims due rows with `FOR UPDATE SKIP LOCKED` (safe on any number
//! of workers), sends them, and reschedules failures with exponential backoff. A claimed
//! row is leased for a few minutes, so a crashed worker's mails are sent by another.

use std::time::Duration;

use sqlx::PgPool;

use super::transport::Transport;
use super::{Mail, TOPIC};

const BATCH: i64 = 50;
const LEASE_SECONDS: i32 = 300;

#[derive(sqlx::FromRow)]
struct Claimed {
    id: i64,
    idempotency_key: String,
    payload: sqlx::types::Json<Mail>,
    attempts: i32,
}

/// Outcome of one pass, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub failed: usize,
}

/// Backoff before retry number `attempts` (1-based): 10 s, 20 s, 40 s … capped at 1 h.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    Duration::from_secs((10u64 << exp.min(9)).min(3600))
}

pub async fn deliver_due(
    db: &PgPool,
    transport: &Transport,
    from: &str,
    max_attempts: i32,
) -> Result<Pass, sqlx::Error> {
    let claimed: Vec<Claimed> = sqlx::query_as(
        "with due as (
           select id from outbox
           where delivered_at is null and topic = $1 and available_at <= now() and attempts < $2
           order by available_at limit $3 for update skip locked)
         update outbox o set attempts = o.attempts + 1,
                             available_at = now() + make_interval(secs => $4::int)
         from due where o.id = due.id
         returning o.id, o.idempotency_key, o.payload, o.attempts",
    )
    .bind(TOPIC)
    .bind(max_attempts)
    .bind(BATCH)
    .bind(LEASE_SECONDS)
    .fetch_all(db)
    .await?;
    let mut pass = Pass::default();
    for row in claimed {
        match transport
            .send(from, &row.idempotency_key, &row.payload)
            .await
        {
            Ok(()) => {
                sqlx::query(
                    "update outbox set delivered_at = now(), last_error = null where id = $1",
                )
                .bind(row.id)
                .execute(db)
                .await?;
                pass.sent += 1;
            }
            Err(err) => {
                let wait = backoff(row.attempts);
                tracing::warn!(outbox_id = row.id, attempts = row.attempts, error = %err, "mail delivery failed; will retry");
                sqlx::query(
                    "update outbox set last_error = $2,
                       available_at = now() + make_interval(secs => $3::int) where id = $1",
                )
                .bind(row.id)
                .bind(format!("{err:#}"))
                .bind(wait.as_secs() as i32)
                .execute(db)
                .await?;
                pass.failed += 1;
            }
        }
    }
    Ok(pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(4), Duration::from_secs(80));
        assert_eq!(backoff(30), Duration::from_secs(3600));
    }
}
