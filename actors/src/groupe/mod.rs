//! One actor per groupe instructeur with instructeurs online on this node: it fans live
//! events out to their open pages (server-sent events). It keeps nothing durable.

use actix::prelude::*;
use serde::Serialize;
use tokio::sync::mpsc;

/// What an instructeur page learns live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveEvent {
    pub dossier_id: i64,
    pub procedure_id: i64,
    pub state: String,
    pub change: String,
}

pub struct GroupeActor {
    groupe_id: i64,
    subscribers: Vec<mpsc::Sender<LiveEvent>>,
}

impl Actor for GroupeActor {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Subscribe(mpsc::Sender<LiveEvent>);

#[derive(Message)]
#[rtype(result = "()")]
struct Publish(LiveEvent);

impl Handler<Subscribe> for GroupeActor {
    type Result = ();
    fn handle(&mut self, Subscribe(tx): Subscribe, _ctx: &mut Self::Context) {
        self.subscribers.retain(|s| !s.is_closed());
        self.subscribers.push(tx);
    }
}

impl Handler<Publish> for GroupeActor {
    type Result = ();
    fn handle(&mut self, Publish(event): Publish, _ctx: &mut Self::Context) {
        // A slow page misses an event rather than slowing the groupe: it reloads on the next.
        self.subscribers.retain(|s| {
            !s.is_closed()
                && !matches!(
                    s.try_send(event.clone()),
                    Err(mpsc::error::TrySendError::Closed(_))
                )
        });
        tracing::trace!(
            groupe = self.groupe_id,
            listeners = self.subscribers.len(),
            "live event"
        );
    }
}

/// The node's groupe actors, spawned when an instructeur opens a live page.
#[derive(Clone)]
pub struct Groupes {
    actors: moka::sync::Cache<i64, Addr<GroupeActor>>,
}

impl Default for Groupes {
    fn default() -> Self {
        Self {
            actors: moka::sync::Cache::builder()
                .time_to_idle(std::time::Duration::from_secs(3600))
                .build(),
        }
    }
}

impl Groupes {
    /// Listens to a groupe's live events (call from within an actix arbiter).
    pub fn subscribe(&self, groupe_id: i64) -> mpsc::Receiver<LiveEvent> {
        let (tx, rx) = mpsc::channel(64);
        let mut addr = self.actors.get_with(groupe_id, || spawn(groupe_id));
        if !addr.connected() {
            addr = spawn(groupe_id);
            self.actors.insert(groupe_id, addr.clone());
        }
        addr.do_send(Subscribe(tx));
        rx
    }

    /// Delivers an event to the groupe's open pages on this node, if any.
    pub fn publish(&self, groupe_id: i64, event: LiveEvent) {
        if let Some(addr) = self.actors.get(&groupe_id) {
            addr.do_send(Publish(event));
        }
    }
}

fn spawn(groupe_id: i64) -> Addr<GroupeActor> {
    GroupeActor {
        groupe_id,
        subscribers: Vec::new(),
    }
    .start()
}
