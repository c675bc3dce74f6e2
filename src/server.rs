//! Wiring: database pool, actors, bus, HTTP server and the in-process worker.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use demarches_actors::groupe::{Groupes, LiveEvent};
use demarches_actors::router::Routing;
use demarches_actors::store::revision::RevisionCache;
use demarches_actors::{ActorEnv, Bus, EventKind, Registry};
use demarches_fakes::api_entreprise::FakeApiEntreprise;
use demarches_fakes::ban::FakeBan;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::config::Config;
use crate::state::AppState;
use crate::worker::Worker;

pub async fn connect(config: &Config) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(config.database.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(config.database.url.expose())
        .await?;
    Ok(pool)
}

pub async fn migrate(db: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations").run(db).await?;
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Builds the shared state: bus, routing, dossier registry. Call within an actix system.
pub fn build_state(config: Arc<Config>, db: PgPool) -> anyhow::Result<AppState> {
    let bus = if config.redis.url.is_empty() {
        Bus::local()
    } else {
        Bus::redis(config.redis.url.expose())?
    };
    let geo = Arc::new(crate::geo::load(&config.geo));
    let env = Arc::new(ActorEnv {
        db: db.clone(),
        bus: bus.clone(),
        revisions: RevisionCache::default(),
        routing: Routing::start(db.clone()),
        base_url: config.server.base_url.clone(),
        geo: geo.clone(),
        outbox: demarches_actors::store::outbox::Waker::start(db.clone()),
    });
    let registry = Registry::new(
        env,
        cores(),
        Duration::from_secs(config.actors.dossier_idle_seconds),
        config.actors.max_dossier_actors,
    );
    let storage = Arc::new(crate::storage::LocalStorage::new(&config.storage.dir));
    let fake = start_fake_france_connect(&config);
    let (plugins, plugins_watch, fake_upstreams) = start_plugins(&config.plugins, fake.as_ref())?;
    let state = AppState {
        db,
        config,
        registry,
        groupes: Groupes::default(),
        bus,
        geo,
        storage,
        plugins,
        plugins_watch,
        fake_upstreams,
        fake_france_connect: fake.map(Arc::new),
    };
    spawn_bus_pump(&state);
    Ok(state)
}

/// The connector host: grants from `config.grants`, artifacts of `config.dir` loaded now
/// and on every change (hot swap). A missing grants file or directory, or a refused
/// artifact, only logs: the platform runs without (that) connector. With
/// `fake_upstreams`, the loopback fakes of API Entreprise and BAN are started and the
/// `api_entreprise` and `ban` grants point at them (demo). Call within a runtime.
#[allow(clippy::type_complexity)]
fn start_plugins(
    config: &crate::config::PluginsConfig,
    france_connect: Option<&demarches_fakes::france_connect::FakeFranceConnect>,
) -> anyhow::Result<(
    demarches_plugins::Plugins,
    Option<Arc<demarches_plugins::DirWatcher>>,
    Option<Arc<FakeUpstreams>>,
)> {
    demarches_plugins::install_crypto_provider();
    let mut policy = match demarches_plugins::Policy::load(&config.grants) {
        Ok(policy) => policy,
        Err(e) => {
            tracing::warn!(grants = %config.grants.display(), error = %e,
                "connector grants unreadable: no connector can be loaded");
            demarches_plugins::Policy::default()
        }
    };
    if let Some(fake) = france_connect {
        use demarches_fakes::france_connect::{CLIENT_ID, CLIENT_SECRET};
        point_at_fake(
            &mut policy,
            crate::france_connect::CONNECTOR,
            fake.authority(),
            [
                ("base_url", fake.issuer()),
                ("client_id", CLIENT_ID.to_owned()),
                ("client_secret", CLIENT_SECRET.to_owned()),
            ],
        );
    }
    let fake = if config.fake_upstreams {
        let api_entreprise = FakeApiEntreprise::spawn(std::net::TcpListener::bind("127.0.0.1:0")?)?;
        point_at_fake(
            &mut policy,
            "api_entreprise",
            api_entreprise.authority(),
            [
                ("base_url", api_entreprise.base_url()),
                ("token", demarches_fakes::api_entreprise::valid_token()),
            ],
        );
        tracing::info!(base_url = %api_entreprise.base_url(), "API Entreprise is the loopback fake (plugins.fake_upstreams)");
        let ban = FakeBan::start()?;
        point_at_fake(
            &mut policy,
            "ban",
            ban.authority(),
            [("base_url", ban.base_url())],
        );
        tracing::info!(base_url = %ban.base_url(), "BAN is the loopback fake (plugins.fake_upstreams)");
        Some(Arc::new(FakeUpstreams {
            _api_entreprise: api_entreprise,
            _ban: ban,
        }))
    } else {
        None
    };
    let plugins = demarches_plugins::Plugins::new(policy)?;
    if !config.dir.is_dir() {
        tracing::info!(dir = %config.dir.display(), "no plugins directory: running without connectors");
        return Ok((plugins, None, fake));
    }
    // The watcher reconciles the directory once at start, then after each change.
    match plugins.watch(&config.dir) {
        Ok(watch) => Ok((plugins, Some(Arc::new(watch)), fake)),
        Err(e) => {
            tracing::warn!(dir = %config.dir.display(), error = %e,
                "cannot watch the plugins directory: loading it once");
            let p = plugins.clone();
            let dir = config.dir.clone();
            actix_web::rt::spawn(async move { p.reconcile_dir(&dir).await });
            Ok((plugins, None, fake))
        }
    }
}

/// The fakes `plugins.fake_upstreams` starts (development and demo), running while held.
pub struct FakeUpstreams {
    _api_entreprise: FakeApiEntreprise,
    _ban: FakeBan,
}

/// The operator's grant of `connector` (kept whole: the connector may still declare the
/// real hosts) plus a loopback fake: its `authority` granted over plain HTTP, and `config`
/// values pointing the connector at it (development and demo).
fn point_at_fake<const N: usize>(
    policy: &mut demarches_plugins::Policy,
    connector: &str,
    authority: String,
    config: [(&str, String); N],
) {
    let grant = policy.connectors.entry(connector.to_owned()).or_default();
    grant.allowed_hosts.push(authority);
    grant.allow_loopback = true;
    grant.allow_http = true;
    grant
        .config
        .extend(config.into_iter().map(|(k, v)| (k.to_owned(), v)));
}

/// Development and demo (`plugins.fake_france_connect`, refused in production): a fake
/// FranceConnect on that loopback address, with this platform's callback and home page
/// registered (`start_plugins` points the `france_connect` grant at it). A busy port only
/// logs: the platform runs without it.
fn start_fake_france_connect(
    config: &crate::config::Config,
) -> Option<demarches_fakes::france_connect::FakeFranceConnect> {
    use demarches_fakes::france_connect::{Client, FakeFranceConnect};
    let address = config.plugins.fake_france_connect.trim();
    if address.is_empty() || config.is_production() {
        return None;
    }
    let started = address
        .parse::<SocketAddr>()
        .map_err(|e| format!("{e}"))
        .and_then(|addr| {
            FakeFranceConnect::start_at(addr, Client::default()).map_err(|e| format!("{e}"))
        });
    let fake = match started {
        Ok(fake) => fake,
        Err(e) => {
            tracing::warn!(%address, error = %e, "fake FranceConnect not started");
            return None;
        }
    };
    fake.add_redirect_uri(&config.url(crate::web::france_connect::CALLBACK));
    fake.add_post_logout_redirect_uri(&config.url("/"));
    tracing::info!(issuer = %fake.issuer(), "fake FranceConnect started (development)");
    Some(fake)
}

/// Routes bus events to this node's actors: live pages of groupes, stale dossier caches,
/// routing tables.
fn spawn_bus_pump(state: &AppState) {
    let mut events = state.bus.subscribe();
    let state = state.clone();
    actix_web::rt::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "bus pump lagged");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            let foreign = event.node != state.bus.node();
            match event.kind {
                EventKind::DossierChanged {
                    dossier_id,
                    procedure_id,
                    groupe_id,
                    state: etat,
                    change,
                    ..
                } => {
                    if foreign {
                        state.registry.forget(dossier_id).await;
                    }
                    if let Some(groupe_id) = groupe_id {
                        state.groupes.publish(
                            groupe_id,
                            LiveEvent {
                                dossier_id,
                                procedure_id,
                                state: etat,
                                change,
                            },
                        );
                    }
                }
                EventKind::ProcedureChanged { procedure_id } => {
                    state.registry.env().routing.invalidate(procedure_id);
                }
                EventKind::DossiersRebased { dossier_ids, .. } => {
                    for dossier_id in dossier_ids {
                        state.registry.forget(dossier_id).await;
                    }
                }
            }
        }
    });
}

/// Binds the HTTP server; the returned server runs when awaited.
pub fn bind(state: AppState) -> anyhow::Result<(Server, SocketAddr)> {
    let config = state.config.clone();
    let workers = match config.server.workers {
        0 => cores(),
        n => n,
    };
    if !config.assets.dsfr_dir.is_dir() {
        tracing::warn!(
            dir = %config.assets.dsfr_dir.display(),
            "DSFR assets not installed: pages are served unstyled (see README)"
        );
    }
    let data = web::Data::new(state);
    let app_config = config.clone();
    let server = HttpServer::new(move || {
        let config = app_config.clone();
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(crate::web::csrf::FORM_LIMIT))
            .wrap(middleware::from_fn(crate::web::csrf::middleware))
            .wrap(
                middleware::DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("Referrer-Policy", "same-origin")),
            )
            .wrap(middleware::Logger::new("%s %r %Dms").exclude("/health"))
            .configure(|cfg| crate::web::configure(cfg, &config))
    })
    .workers(workers)
    .bind((config.server.host.as_str(), config.server.port))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("server bound to no address"))?;
    Ok((server.run(), addr))
}

/// `demarches serve`: the web server, plus the worker unless `server.run_worker` is false.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let db = connect(&config).await?;
    let state = build_state(config.clone(), db.clone())?;
    let worker = if config.server.run_worker {
        let worker = Worker::new(db, config.clone())?
            .with_bus(state.bus.clone())
            .with_fetcher(crate::external::Fetcher::of_state(&state));
        Some(actix_web::rt::spawn(worker.run()))
    } else {
        None
    };
    let (server, addr) = bind(state)?;
    tracing::info!(%addr, base_url = %config.server.base_url, "demarches is listening");
    let served = server.await;
    // Stop the worker while the runtime still runs (its SMTP pool closes on drop). A mail
    // being sent is leased and will be sent again by the next worker: at least once.
    if let Some(worker) = worker {
        worker.abort();
        let _ = worker.await;
    }
    served?;
    Ok(())
}
