//! What every handler receives.

use std::sync::Arc;

use demarches_actors::domain::geo::GeoIndex;
use demarches_actors::groupe::Groupes;
use demarches_actors::{Bus, Registry};
use sqlx::PgPool;

use crate::config::Config;
use crate::storage::Storage;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub registry: Registry,
    pub groupes: Groupes,
    pub bus: Bus,
    /// Geographic referentials of the champs (the same index as the actors').
    pub geo: Arc<GeoIndex>,
    /// Files of the pièces justificatives.
    pub storage: Arc<dyn Storage>,
    /// WASM connectors (address search…), reconciled from `plugins.dir` and watched.
    pub plugins: demarches_plugins::Plugins,
    /// Keeps the plugins directory watched while the state lives (none when the directory
    /// is missing).
    pub plugins_watch: Option<Arc<demarches_plugins::DirWatcher>>,
    /// The loopback fakes of API Entreprise and BAN while `plugins.fake_upstreams` (demo),
    /// kept running as long as the state lives.
    pub fake_upstreams: Option<Arc<crate::server::FakeUpstreams>>,
    /// Development and demo: the fake FranceConnect `serve` started
    /// (`plugins.fake_france_connect`), kept running while the state lives.
    pub fake_france_connect: Option<Arc<demarches_fakes::france_connect::FakeFranceConnect>>,
}
