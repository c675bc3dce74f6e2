//! Where dossier actors live: spawned on demand, spread over a pool of arbiters, kept in a
//! moka cache and dropped when idle (an actor stops once no address refers to it).

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use crate::dossier::{Act, ActError, ActOutcome, DossierActor, Forget, RecordExternal};
use crate::env::ActorEnv;

#[derive(Clone)]
pub struct Registry {
    env: Arc<ActorEnv>,
    arbiters: Arc<Vec<ArbiterHandle>>,
    actors: moka::future::Cache<i64, Addr<DossierActor>>,
}

impl Registry {
    /// Creates the registry and its arbiters (call from within an actix system).
    pub fn new(env: Arc<ActorEnv>, arbiters: usize, idle: Duration, capacity: u64) -> Self {
        let arbiters = (0..arbiters.max(1))
            .map(|_| Arbiter::new().handle())
            .collect();
        Self {
            env,
            arbiters: Arc::new(arbiters),
            actors: moka::future::Cache::builder()
                .time_to_idle(idle)
                .max_capacity(capacity)
                .build(),
        }
    }

    pub fn env(&self) -> &Arc<ActorEnv> {
        &self.env
    }

    async fn addr(&self, id: i64) -> Addr<DossierActor> {
        let addr = self.actors.get_with(id, async { self.spawn(id) }).await;
        if addr.connected() {
            return addr;
        }
        let fresh = self.spawn(id);
        self.actors.insert(id, fresh.clone()).await;
        fresh
    }

    fn spawn(&self, id: i64) -> Addr<DossierActor> {
        let index = (id.unsigned_abs() % self.arbiters.len() as u64) as usize;
        let env = self.env.clone();
        match self.arbiters.get(index) {
            Some(arbiter) => {
                DossierActor::start_in_arbiter(arbiter, move |_| DossierActor::new(id, env))
            }
            None => DossierActor::new(id, env).start(),
        }
    }

    /// Sends a command to the dossier's actor and waits for its answer.
    pub async fn send(&self, id: i64, act: Act) -> Result<ActOutcome, ActError> {
        for _ in 0..2 {
            let addr = self.addr(id).await;
            match addr.send(act.clone()).await {
                Ok(result) => return result,
                Err(MailboxError::Closed) => self.actors.invalidate(&id).await,
                Err(MailboxError::Timeout) => break,
            }
        }
        Err(ActError::Internal("dossier actor unavailable".to_owned()))
    }

    /// Records looked-up data on a champ through the dossier's actor.
    pub async fn record_external(&self, id: i64, msg: RecordExternal) -> Result<bool, ActError> {
        for _ in 0..2 {
            let addr = self.addr(id).await;
            match addr.send(msg.clone()).await {
                Ok(result) => return result,
                Err(MailboxError::Closed) => self.actors.invalidate(&id).await,
                Err(MailboxError::Timeout) => break,
            }
        }
        Err(ActError::Internal("dossier actor unavailable".to_owned()))
    }

    /// Drops the cached state of a dossier changed on another node.
    pub async fn forget(&self, id: i64) {
        if let Some(addr) = self.actors.get(&id).await {
            addr.do_send(Forget);
        }
    }

    /// Number of dossier actors currently cached (for the operator page and tests).
    pub fn live_actors(&self) -> u64 {
        self.actors.entry_count()
    }
}
