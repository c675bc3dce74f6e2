//! What every actor of the node shares: the pool, the bus, caches and the routing table.

use sqlx::PgPool;

use crate::bus::Bus;
use crate::router::Routing;
use crate::store::revision::RevisionCache;

pub struct ActorEnv {
    pub db: PgPool,
    pub bus: Bus,
    pub revisions: RevisionCache,
    pub routing: Routing,
    /// Absolute base URL for links in e-mails.
    pub base_url: String,
    /// Geographic referentials of the champs (loaded once at startup).
    pub geo: std::sync::Arc<crate::domain::geo::GeoIndex>,
    /// Wakes the outbox workers after a commit that wrote mails.
    pub outbox: crate::store::outbox::Waker,
}

impl ActorEnv {
    /// A démarche accepts deposits when publiée or dépubliée; a démarche en test accepts
    /// them only for dossiers on its draft revision (test dossiers).
    pub async fn procedure_accepts_deposits(
        &self,
        procedure_id: i64,
        revision_id: i64,
    ) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar(
            "select state in ('publiee', 'depubliee')
                    or (state = 'brouillon' and draft_revision_id = $2)
             from procedures where id = $1",
        )
        .bind(procedure_id)
        .bind(revision_id)
        .fetch_one(&self.db)
        .await
    }
}
