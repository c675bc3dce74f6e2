//! The background worker: delivers the outbox, woken by `LISTEN demarches_worker`
//! (a trigger notifies on every insert) with a periodic poll as a safety net.
//! Runs inside `serve` or alone as `demarches worker`.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;

use crate::config::Config;
use crate::mail::dispatcher::deliver_due;
use crate::mail::transport::Transport;

const POLL: Duration = Duration::from_secs(5);

pub struct Worker {
    db: sqlx::PgPool,
    config: Arc<Config>,
    transport: Transport,
    wake: Arc<Notify>,
}

impl Worker {
    pub fn new(db: sqlx::PgPool, config: Arc<Config>) -> anyhow::Result<Self> {
        let transport = Transport::from_config(&config.mail)?;
        tracing::info!(transport = transport.describe(), "mail transport ready");
        Ok(Self {
            db,
            config,
            transport,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        let wake = self.wake.clone();
        let db = self.db.clone();
        tokio::spawn(async move { listen(db, wake).await });
        loop {
            match deliver_due(
                &self.db,
                &self.transport,
                &self.config.mail.from,
                self.config.mail.max_attempts,
            )
            .await
            {
                Ok(pass) if pass.sent + pass.failed > 0 => {
                    tracing::debug!(sent = pass.sent, failed = pass.failed, "outbox pass");
                    continue;
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "outbox pass failed"),
            }
            let _ = tokio::time::timeout(POLL, self.wake.notified()).await;
        }
    }
}

async fn listen(db: sqlx::PgPool, wake: Arc<Notify>) {
    loop {
        match PgListener::connect_with(&db).await {
            Ok(mut listener) => {
                if let Err(err) = listener.listen("demarches_worker").await {
                    tracing::warn!(error = %err, "LISTEN failed");
                } else {
                    while listener.recv().await.is_ok() {
                        wake.notify_one();
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "worker listener cannot connect"),
        }
        tokio::time::sleep(POLL).await;
    }
}
