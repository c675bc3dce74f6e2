//! One call = one fresh Store from the slot's `InstancePre`, with a memory cap,
//! an epoch deadline (yielding every tick so a spinning guest does not hold a
//! tokio worker) and a tokio timeout that also covers host calls.
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::bindings::address::demarches::connector::types::ConnectorError as WitError;
use crate::engine::TICK;
use crate::host_impl::{ConnectorEnv, DemarcheConfig, HostState};
use crate::loader::Loaded;
use crate::policy::HostPattern;

/// Error a connector reports about its own work (WIT `connector-error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ConnectorError {
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("not found")]
    NotFound,
    #[error("unauthorized")]
    Unauthorized,
    #[error("rate limited (retry after {0:?} s)")]
    RateLimited(Option<u32>),
    #[error("upstream unavailable (retry after {0:?} s)")]
    Unavailable(Option<u32>),
    #[error("connector internal error: {0}")]
    Internal(String),
}

impl ConnectorError {
    pub fn retryable(&self) -> bool {
        matches!(self, Self::RateLimited(_) | Self::Unavailable(_))
    }
}

impl From<WitError> for ConnectorError {
    fn from(e: WitError) -> Self {
        match e {
            WitError::InvalidInput(s) => Self::InvalidInput(s),
            WitError::NotFound => Self::NotFound,
            WitError::Unauthorized => Self::Unauthorized,
            WitError::RateLimited(s) => Self::RateLimited(s),
            WitError::Unavailable(s) => Self::Unavailable(s),
            WitError::Internal(s) => Self::Internal(s),
        }
    }
}

/// Why a call failed, host side or guest side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("connector {0} is not loaded")]
    NotLoaded(String),
    #[error("connector call exceeded its time budget")]
    Timeout,
    #[error("connector trapped: {0}")]
    Trap(String),
    #[error("connector exceeded its memory limit")]
    MemoryLimit,
    #[error("connector tried to reach a host it may not: {0}")]
    DeniedHost(String),
    #[error("connector unavailable: {0}")]
    Unavailable(String),
    #[error("connector {connector} does not provide {capability}")]
    Unsupported {
        connector: String,
        capability: String,
    },
    #[error(transparent)]
    Guest(#[from] ConnectorError),
}

impl CallError {
    /// Whether trying again later may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Timeout | Self::Unavailable(_) | Self::NotLoaded(_) => true,
            Self::Guest(g) => g.retryable(),
            Self::Trap(_) | Self::MemoryLimit | Self::DeniedHost(_) | Self::Unsupported { .. } => {
                false
            }
        }
    }
}

/// An address returned by an `address` connector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Address {
    pub label: String,
    pub postcode: Option<String>,
    pub citycode: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub ban_id: Option<String>,
}

pub(crate) fn new_store(
    engine: &wasmtime::Engine,
    env: Arc<ConnectorEnv>,
    allow: Arc<Vec<HostPattern>>,
    version: String,
    demarche: Arc<DemarcheConfig>,
    budget: Duration,
) -> Store<HostState> {
    let mut store = Store::new(
        engine,
        HostState::new(env, allow, version, demarche, budget),
    );
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|ctx| {
        if Instant::now() >= ctx.data().deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store
}

/// Maps a wasmtime error onto the taxonomy, using what the Store recorded.
pub(crate) fn classify(err: &wasmtime::Error, state: &HostState) -> CallError {
    if state.limiter.hit {
        return CallError::MemoryLimit;
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::Timeout,
        Some(t) => CallError::Trap(t.to_string()),
        None => CallError::Trap(format!("{:#}", err.root_cause())),
    }
}

/// Grace on top of the budget for the tokio timeout: the epoch deadline fires first.
const GRACE: Duration = Duration::from_millis(50);

/// Runs one export call `op` on a fresh Store of `loaded`: the per-connector call
/// permit, the time budget (epoch deadline, then a tokio timeout covering host calls),
/// the memory cap, and the mapping of every failure onto [`CallError`]. `call`
/// instantiates the world it needs from the Store it is given and calls the export.
pub(crate) async fn invoke<T>(
    loaded: &Arc<Loaded>,
    demarche: Arc<DemarcheConfig>,
    op: &'static str,
    call: impl AsyncFnOnce(&mut Store<HostState>) -> wasmtime::Result<Result<T, WitError>>,
) -> Result<T, CallError> {
    let env = loaded.env.clone();
    let budget = env.grant.timeout();
    let started = Instant::now();
    let _permit = tokio::time::timeout(budget, env.call_permits.clone().acquire_owned())
        .await
        .map_err(|_| CallError::Unavailable("too many concurrent calls".into()))?
        .map_err(|_| CallError::Unavailable("closed".into()))?;
    let remaining = budget.saturating_sub(started.elapsed()).max(TICK);
    let mut store = new_store(
        loaded.engine(),
        env.clone(),
        loaded.allow.clone(),
        loaded.version.clone(),
        demarche,
        remaining,
    );
    let outcome = tokio::time::timeout(remaining + GRACE, call(&mut store)).await;
    let result: Result<T, CallError> = match outcome {
        Err(_) => Err(CallError::Timeout),
        Ok(Err(e)) => Err(classify(&e, store.data())),
        Ok(Ok(Err(g))) => match store.data().denied.clone() {
            Some(d) => Err(CallError::DeniedHost(d)),
            None if store.data().budget_exhausted => Err(CallError::Timeout),
            None => Err(CallError::Guest(g.into())),
        },
        Ok(Ok(Ok(v))) => Ok(v),
    };
    let elapsed_us = started.elapsed().as_micros() as u64;
    match &result {
        Ok(_) => {
            tracing::debug!(connector = %env.name, version = %loaded.version, op, elapsed_us, "connector call")
        }
        Err(e) => {
            tracing::info!(connector = %env.name, version = %loaded.version, op, error = %e, retryable = e.retryable(), elapsed_us, "connector call failed")
        }
    }
    result
}

/// The connector is loaded but does not export the world of `capability`.
pub(crate) fn unsupported(loaded: &Loaded, capability: &str) -> CallError {
    CallError::Unsupported {
        connector: loaded.name.clone(),
        capability: capability.into(),
    }
}

pub(crate) async fn search_address(
    loaded: &Arc<Loaded>,
    demarche: Arc<DemarcheConfig>,
    query: &str,
    limit: u8,
) -> Result<Vec<Address>, CallError> {
    let pre = loaded
        .worlds
        .address
        .clone()
        .ok_or_else(|| unsupported(loaded, "address"))?;
    let list = invoke(loaded, demarche, "search-address", async |store| {
        let inst = pre.instantiate_async(&mut *store).await?;
        inst.demarches_connector_address()
            .call_search_address(&mut *store, query, limit)
            .await
    })
    .await?;
    Ok(list
        .into_iter()
        .map(|a| Address {
            label: a.label,
            postcode: a.postcode,
            citycode: a.citycode,
            lon: a.lon,
            lat: a.lat,
            ban_id: a.ban_id,
        })
        .collect())
}

/// The "Je donne mon avis" button of a MonAvis connector (`feedback.monavis-button`):
/// structured data our templates render; never HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedbackButton {
    pub href: String,
    pub image_url: String,
    pub alt: String,
}

pub(crate) async fn monavis_button(
    loaded: &Arc<Loaded>,
    demarche: Arc<DemarcheConfig>,
    procedure_ref: &str,
) -> Result<Option<FeedbackButton>, CallError> {
    let pre = loaded
        .worlds
        .feedback
        .clone()
        .ok_or_else(|| unsupported(loaded, "feedback"))?;
    let button = invoke(loaded, demarche, "monavis-button", async |store| {
        let inst = pre.instantiate_async(&mut *store).await?;
        inst.demarches_connector_feedback()
            .call_monavis_button(&mut *store, procedure_ref)
            .await
    })
    .await?;
    Ok(button.map(|b| FeedbackButton {
        href: b.href,
        image_url: b.image_url,
        alt: b.alt,
    }))
}

/// An établissement returned by a `siret` connector.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Etablissement {
    pub siret: String,
    pub siren: String,
    pub raison_sociale: String,
    pub naf: Option<String>,
    pub adresse: Option<String>,
    pub actif: bool,
    /// The connector's full JSON (shape chosen by the connector).
    pub raw_json: String,
}

pub(crate) async fn lookup_siret(
    loaded: &Arc<Loaded>,
    demarche: Arc<DemarcheConfig>,
    siret: &str,
) -> Result<Etablissement, CallError> {
    let pre = loaded
        .worlds
        .siret
        .clone()
        .ok_or_else(|| unsupported(loaded, "siret"))?;
    let e = invoke(loaded, demarche, "lookup-siret", async |store| {
        let inst = pre.instantiate_async(&mut *store).await?;
        inst.demarches_connector_siret()
            .call_lookup_siret(&mut *store, siret)
            .await
    })
    .await?;
    Ok(Etablissement {
        siret: e.siret,
        siren: e.siren,
        raison_sociale: e.raison_sociale,
        naf: e.naf,
        adresse: e.adresse,
        actif: e.actif,
        raw_json: e.raw_json,
    })
}
