//! Routing of deposited dossiers to a groupe instructeur.
//!
//! The table is read on the deposit path without crossing any mailbox (`ArcSwap`); the
//! [`RouterActor`] is its only writer: it loads a démarche's routing on first use and
//! drops it when groupes change (locally or on another node, through the bus).

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use arc_swap::ArcSwap;
use serde_json::Value;
use sqlx::PgPool;

/// Routing of one démarche. Rules per groupe come with the routing capability; until a
/// démarche has rules, every dossier goes to its default groupe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureRouting {
    pub defaut_groupe_id: Option<i64>,
}

impl ProcedureRouting {
    pub fn evaluate(&self, _values: &HashMap<i64, Value>) -> Option<i64> {
        self.defaut_groupe_id
    }
}

type Table = ArcSwap<HashMap<i64, Arc<ProcedureRouting>>>;

#[derive(Clone)]
pub struct Routing {
    table: Arc<Table>,
    router: Addr<RouterActor>,
}

impl Routing {
    /// Starts the router on the current arbiter.
    pub fn start(db: PgPool) -> Self {
        let table: Arc<Table> = Arc::new(ArcSwap::from_pointee(HashMap::new()));
        let router = RouterActor {
            db,
            table: table.clone(),
        }
        .start();
        Self { table, router }
    }

    pub async fn groupe_for(
        &self,
        procedure_id: i64,
        values: &HashMap<i64, Value>,
    ) -> anyhow::Result<Option<i64>> {
        if let Some(routing) = self.table.load().get(&procedure_id) {
            return Ok(routing.evaluate(values));
        }
        let routing = self.router.send(Load(procedure_id)).await??;
        Ok(routing.evaluate(values))
    }

    /// Forget a démarche's routing (its groupes changed).
    pub fn invalidate(&self, procedure_id: i64) {
        self.router.do_send(Invalidate(procedure_id));
    }
}

pub struct RouterActor {
    db: PgPool,
    table: Arc<Table>,
}

impl Actor for RouterActor {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "Result<Arc<ProcedureRouting>, sqlx::Error>")]
struct Load(i64);

#[derive(Message)]
#[rtype(result = "()")]
struct Invalidate(i64);

impl Handler<Load> for RouterActor {
    type Result = AtomicResponse<Self, Result<Arc<ProcedureRouting>, sqlx::Error>>;

    fn handle(&mut self, Load(procedure_id): Load, _ctx: &mut Self::Context) -> Self::Result {
        let db = self.db.clone();
        let table = self.table.clone();
        AtomicResponse::new(Box::pin(
            async move {
                if let Some(found) = table.load().get(&procedure_id) {
                    return Ok(found.clone());
                }
                let defaut_groupe_id: Option<i64> = sqlx::query_scalar(
                    "select defaut_groupe_instructeur_id from procedures where id = $1",
                )
                .bind(procedure_id)
                .fetch_one(&db)
                .await?;
                let routing = Arc::new(ProcedureRouting { defaut_groupe_id });
                table.rcu(|current| {
                    let mut next = HashMap::clone(current);
                    next.insert(procedure_id, routing.clone());
                    next
                });
                Ok(routing)
            }
            .into_actor(self),
        ))
    }
}

impl Handler<Invalidate> for RouterActor {
    type Result = ();
    fn handle(&mut self, Invalidate(procedure_id): Invalidate, _ctx: &mut Self::Context) {
        self.table.rcu(|current| {
            let mut next = HashMap::clone(current);
            next.remove(&procedure_id);
            next
        });
    }
}
