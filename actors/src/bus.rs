//! Live signals between nodes. Nothing needs the bus for correctness (PostgreSQL and
//! `lock_version` are the truth): it refreshes caches and live pages sooner.
//!
//! [`Bus::local`] is an in-process broadcast (one node). [`Bus::redis`] also publishes to
//! Redis and relays what other nodes publish; if Redis is down, the local half keeps
//! working and the relay reconnects.

use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::redis::AsyncCommands;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

const CHANNEL: &str = "demarches:events";

/// A versioned event; `node` lets each node ignore its own echoes from Redis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusEvent {
    pub v: u8,
    pub node: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A dossier was written (any transition or champ save) and now has `version`.
    DossierChanged {
        dossier_id: i64,
        procedure_id: i64,
        groupe_id: Option<i64>,
        state: String,
        version: i32,
        /// The transition or change that happened ("passer_en_construction", "modifier"…).
        change: String,
    },
    /// Routing or groupes of a démarche changed.
    ProcedureChanged { procedure_id: i64 },
    /// These dossiers moved to the démarche's new published revision (`store::rebase`):
    /// every node forgets their cached state, its own included.
    DossiersRebased {
        procedure_id: i64,
        dossier_ids: Vec<i64>,
    },
}

#[derive(Clone)]
pub struct Bus {
    node: Arc<str>,
    local: broadcast::Sender<BusEvent>,
    redis: Option<deadpool_redis::Pool>,
}

impl Bus {
    /// A bus for a single node.
    pub fn local() -> Self {
        let (local, _) = broadcast::channel(4096);
        Self {
            node: uuid::Uuid::new_v4().to_string().into(),
            local,
            redis: None,
        }
    }

    /// A bus shared through Redis pub/sub. Spawns the relay task (needs a tokio runtime).
    pub fn redis(url: &str) -> anyhow::Result<Self> {
        let pool = deadpool_redis::Config::from_url(url)
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))?;
        let client = deadpool_redis::redis::Client::open(url)?;
        let mut bus = Self::local();
        bus.redis = Some(pool);
        let relay = bus.clone();
        tokio::spawn(async move { relay.relay_from_redis(client).await });
        Ok(bus)
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn is_distributed(&self) -> bool {
        self.redis.is_some()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.local.subscribe()
    }

    /// Delivers locally at once, and to other nodes through Redis in the background.
    pub fn publish(&self, kind: EventKind) {
        let event = BusEvent {
            v: 1,
            node: self.node.to_string(),
            kind,
        };
        let _ = self.local.send(event.clone());
        if let Some(pool) = self.redis.clone() {
            tokio::spawn(async move {
                if let Err(err) = publish_redis(&pool, &event).await {
                    tracing::warn!(error = %err, "redis publish failed; other nodes will catch up on their next version check");
                }
            });
        }
    }

    async fn relay_from_redis(self, client: deadpool_redis::redis::Client) {
        loop {
            match client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(CHANNEL).await {
                    Ok(()) => {
                        tracing::info!("subscribed to redis bus");
                        let mut messages = pubsub.on_message();
                        while let Some(msg) = messages.next().await {
                            let Ok(payload) = msg.get_payload::<String>() else {
                                continue;
                            };
                            match serde_json::from_str::<BusEvent>(&payload) {
                                Ok(event) if event.node != *self.node => {
                                    let _ = self.local.send(event);
                                }
                                Ok(_) => {}
                                Err(err) => tracing::debug!(error = %err, "ignored bus message"),
                            }
                        }
                        tracing::warn!("redis bus subscription ended; reconnecting");
                    }
                    Err(err) => tracing::warn!(error = %err, "redis subscribe failed"),
                },
                Err(err) => tracing::warn!(error = %err, "redis bus unreachable; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

async fn publish_redis(pool: &deadpool_redis::Pool, event: &BusEvent) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    let payload = serde_json::to_string(event)?;
    let _: i64 = conn.publish(CHANNEL, payload).await?;
    Ok(())
}
