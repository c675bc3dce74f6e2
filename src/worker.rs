//! The background worker: delivers the outbox and runs the jobs (`jobs.rs`), woken by `LISTEN demarches_worker`
//! (a trigger notifies on every insert) with a periodic poll as a safety net.
//! Runs inside `serve` or alone as `demarches worker`.

use std::sync::Arc;
use std::time::Duration;

use demarches_actors::Bus;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;

use crate::config::Config;
use crate::mail::dispatcher::deliver_due;
use crate::mail::transport::Transport;
use crate::storage::scan::{self, VirusScanner};
use crate::storage::{LocalStorage, Storage};

const POLL: Duration = Duration::from_secs(5);
/// Temporary uploads older than this were cut by a crash.
const TMP_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

pub struct Worker {
    db: sqlx::PgPool,
    config: Arc<Config>,
    transport: Transport,
    storage: Arc<dyn Storage>,
    local: LocalStorage,
    scanner: Box<dyn VirusScanner>,
    /// Runs the look-up jobs (`fetch_external_data`); set with [`Worker::with_fetcher`].
    fetcher: Option<crate::external::Fetcher>,
    wake: Arc<Notify>,
    /// Tells the nodes' dossier actors what the jobs changed (rebased dossiers).
    bus: Option<Bus>,
}

impl Worker {
    pub fn new(db: sqlx::PgPool, config: Arc<Config>) -> anyhow::Result<Self> {
        let transport = Transport::from_config(&config.mail)?;
        tracing::info!(transport = transport.describe(), "mail transport ready");
        let local = LocalStorage::new(&config.storage.dir);
        let storage: Arc<dyn Storage> = Arc::new(local.clone());
        let scanner = scan::from_config(&config.storage.virus_scanner)?;
        Ok(Self {
            db,
            config,
            transport,
            storage,
            local,
            scanner,
            fetcher: None,
            wake: Arc::new(Notify::new()),
            bus: None,
        })
    }

    /// Publishes what the jobs change on `bus` (inside `serve`, the server's own bus).
    pub fn with_bus(mut self, bus: Bus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Lets the worker run the look-up jobs through this connector host and actors.
    pub fn with_fetcher(mut self, fetcher: crate::external::Fetcher) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        let wake = self.wake.clone();
        let db = self.db.clone();
        tokio::spawn(async move { listen(db, wake).await });
        let mut last_sweep: Option<std::time::Instant> = None;
        loop {
            if last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
                last_sweep = Some(std::time::Instant::now());
                match self.local.sweep_tmp(TMP_MAX_AGE).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "stale temporary uploads removed"),
                    Err(err) => tracing::warn!(error = %err, "temporary uploads sweep failed"),
                }
            }
            let jobs = match crate::jobs::run_due(
                &self.db,
                &*self.storage,
                &*self.scanner,
                self.bus.as_ref(),
                self.fetcher.as_ref(),
            )
            .await
            {
                Ok(pass) => pass.done + pass.failed,
                Err(err) => {
                    tracing::warn!(error = %err, "jobs pass failed");
                    0
                }
            };
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
                Ok(_) if jobs > 0 => continue,
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
