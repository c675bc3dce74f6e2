//! One call = one fresh Store from the slot's `InstancePre`, with a memory cap,
//! an epoch deadline (yielding every tick so a spinning guest does not hold a
//! tokio worker) and a tokio timeout that also covers host calls.
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::bindings::address::demarches::connector::types::ConnectorError as WitError;
use crate::engine::TICK;
use crate::host_impl::{ConnectorEnv, HostState};
use crate::loader::{Loaded, WorldPre};
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
    #[error("connector {0} does not provide {1}")]
    Unsupported(String, &'static str),
    #[error(transparent)]
    Guest(#[from] ConnectorError),
}

impl CallError {
    /// Whether trying again later may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Timeout | Self::Unavailable(_) | Self::NotLoaded(_) => true,
            Self::Guest(g) => g.retryable(),
            Self::Trap(_) | Self::MemoryLimit | Self::DeniedHost(_) | Self::Unsupported(..) => {
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
    budget: Duration,
) -> Store<HostState> {
    let mut store = Store::new(engine, HostState::new(env, allow, version, budget));
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

pub(crate) async fn search_address(
    loaded: &Arc<Loaded>,
    query: &str,
    limit: u8,
) -> Result<Vec<Address>, CallError> {
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
        remaining,
    );
    let WorldPre::Address(pre) = loaded.pre.clone() else {
        return Err(CallError::Unsupported(env.name.clone(), "address"));
    };
    let outcome = tokio::time::timeout(remaining + GRACE, async {
        let inst = pre.instantiate_async(&mut store).await?;
        inst.demarches_connector_address()
            .call_search_address(&mut store, query, limit)
            .await
    })
    .await;
    let result: Result<Vec<Address>, CallError> = match outcome {
        Err(_) => Err(CallError::Timeout),
        Ok(Err(e)) => Err(classify(&e, store.data())),
        Ok(Ok(Err(g))) => match store.data().denied.clone() {
            Some(d) => Err(CallError::DeniedHost(d)),
            None if store.data().budget_exhausted => Err(CallError::Timeout),
            None => Err(CallError::Guest(g.into())),
        },
        Ok(Ok(Ok(list))) => Ok(list
            .into_iter()
            .map(|a| Address {
                label: a.label,
                postcode: a.postcode,
                citycode: a.citycode,
                lon: a.lon,
                lat: a.lat,
                ban_id: a.ban_id,
            })
            .collect()),
    };
    let elapsed_us = started.elapsed().as_micros() as u64;
    match &result {
        Ok(v) => {
            tracing::debug!(connector = %env.name, version = %loaded.version, results = v.len(), elapsed_us, "search-address")
        }
        Err(e) => {
            tracing::info!(connector = %env.name, version = %loaded.version, error = %e, retryable = e.retryable(), elapsed_us, "search-address failed")
        }
    }
    result
}
