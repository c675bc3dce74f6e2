//! bytes → sha256 → compile (spawn_blocking, cached by digest) → link against
//! the strict linker (our `host` interface + WASI p2 without preopens, env or
//! network; any other import fails) → `describe()` under a 1 s deadline →
//! declared hosts ⊆ grant → `Loaded`.
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};

use crate::bindings::address::{AddressProvider, AddressProviderPre};
use crate::bindings::identity::IdentityProviderPre;
use crate::call::{CallError, classify, new_store};
use crate::host_impl::{ConnectorEnv, HostState};
use crate::policy::HostPattern;

const DESCRIBE_BUDGET: Duration = Duration::from_secs(1);

/// What a connector says about itself (`meta.describe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorInfo {
    pub name: String,
    pub version: String,
    pub capabilities: Vec<String>,
    pub requested_hosts: Vec<String>,
    pub config_schema: String,
}

/// A validated, linked connector version, ready to instantiate per call.
pub struct Loaded {
    pub name: String,
    pub version: String,
    /// sha256 of the artifact, hex.
    pub digest: String,
    pub info: ConnectorInfo,
    pub loaded_at: SystemTime,
    /// Compile time, zero when the digest was already compiled.
    pub compile_time: Duration,
    pub(crate) pre: WorldPre,
    pub(crate) env: Arc<ConnectorEnv>,
    pub(crate) allow: Arc<Vec<HostPattern>>,
    engine: wasmtime::Engine,
}

/// The world a connector exports, linked and ready to instantiate.
#[derive(Clone)]
pub(crate) enum WorldPre {
    Address(AddressProviderPre<HostState>),
    Identity(IdentityProviderPre<HostState>),
}

impl WorldPre {
    /// Types `pre` by the world its exports match: address, then identity.
    fn new(pre: wasmtime::component::InstancePre<HostState>) -> Result<Self, LoadError> {
        let address = match AddressProviderPre::new(pre.clone()) {
            Ok(p) => return Ok(Self::Address(p)),
            Err(e) => e,
        };
        let identity = match IdentityProviderPre::new(pre) {
            Ok(p) => return Ok(Self::Identity(p)),
            Err(e) => e,
        };
        Err(LoadError::Link(format!(
            "exports no known world (address-provider: {address:#}; identity-provider: {identity:#})"
        )))
    }

    /// The capability `describe()` must declare for this world.
    fn capability(&self) -> &'static str {
        match self {
            Self::Address(_) => "address",
            Self::Identity(_) => "identity",
        }
    }

    async fn describe(
        &self,
        store: &mut wasmtime::Store<HostState>,
    ) -> wasmtime::Result<crate::bindings::address::demarches::connector::types::ConnectorInfo>
    {
        match self {
            Self::Address(pre) => {
                let inst = pre.instantiate_async(&mut *store).await?;
                inst.demarches_connector_meta().call_describe(store).await
            }
            Self::Identity(pre) => {
                let inst = pre.instantiate_async(&mut *store).await?;
                inst.demarches_connector_meta().call_describe(store).await
            }
        }
    }
}

impl Loaded {
    pub(crate) fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// Why an artifact was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("no grant for connector {0} in the connectors policy")]
    NoGrant(String),
    #[error("not a valid component: {0}")]
    Compile(String),
    #[error(
        "does not link (only the demarches:connector host interface and WASI p2 are available): {0}"
    )]
    Link(String),
    #[error("describe() failed: {0}")]
    Describe(CallError),
    #[error("describes itself as {got:?}, expected {expected:?}")]
    NameMismatch { expected: String, got: String },
    #[error("does not declare the {0:?} capability")]
    MissingCapability(String),
    #[error("requests host {0:?}, which the operator did not grant")]
    HostNotGranted(String),
    #[error("cannot read artifact: {0}")]
    Io(String),
}

pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) struct Loader {
    engine: wasmtime::Engine,
    linker: Linker<HostState>,
    compiled: moka::sync::Cache<String, Component>,
}

impl Loader {
    pub(crate) fn new(engine: wasmtime::Engine) -> anyhow::Result<Self> {
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        // the `host` imports, shared by every world (see bindings.rs)
        AddressProvider::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        Ok(Self {
            engine,
            linker,
            compiled: moka::sync::Cache::new(32),
        })
    }

    async fn compile(
        &self,
        digest: &str,
        bytes: Arc<[u8]>,
    ) -> Result<(Component, Duration), LoadError> {
        if let Some(c) = self.compiled.get(digest) {
            return Ok((c, Duration::ZERO));
        }
        let engine = self.engine.clone();
        let started = Instant::now();
        let component = tokio::task::spawn_blocking(move || Component::new(&engine, &bytes))
            .await
            .map_err(|e| LoadError::Compile(format!("compile task failed: {e}")))?
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let took = started.elapsed();
        self.compiled.insert(digest.to_string(), component.clone());
        Ok((component, took))
    }

    /// Validates `bytes` as version of connector `name`; nothing is swapped.
    pub(crate) async fn load(
        &self,
        name: &str,
        env: Arc<ConnectorEnv>,
        bytes: Arc<[u8]>,
    ) -> Result<Loaded, LoadError> {
        let digest = digest(&bytes);
        let (component, compile_time) = self.compile(&digest, bytes).await?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let pre = WorldPre::new(pre)?;

        let mut store = new_store(
            &self.engine,
            env.clone(),
            Arc::new(Vec::new()),
            "?".into(),
            DESCRIBE_BUDGET,
        );
        let outcome = tokio::time::timeout(
            DESCRIBE_BUDGET + Duration::from_millis(50),
            pre.describe(&mut store),
        )
        .await;
        let info = match outcome {
            Err(_) => return Err(LoadError::Describe(CallError::Timeout)),
            Ok(Err(e)) => return Err(LoadError::Describe(classify(&e, store.data()))),
            Ok(Ok(i)) => ConnectorInfo {
                name: i.name,
                version: i.version,
                capabilities: i.capabilities,
                requested_hosts: i.requested_hosts,
                config_schema: i.config_schema,
            },
        };
        if info.name != name {
            return Err(LoadError::NameMismatch {
                expected: name.into(),
                got: info.name,
            });
        }
        let capability = pre.capability();
        if !info.capabilities.iter().any(|c| c == capability) {
            return Err(LoadError::MissingCapability(capability.into()));
        }
        let mut allow = Vec::new();
        for h in &info.requested_hosts {
            match HostPattern::parse(h) {
                Some(p) if env.grant.covers(h) => allow.push(p),
                _ => return Err(LoadError::HostNotGranted(h.clone())),
            }
        }
        Ok(Loaded {
            name: name.into(),
            version: info.version.clone(),
            digest,
            info,
            loaded_at: SystemTime::now(),
            compile_time,
            pre,
            env,
            allow: Arc::new(allow),
            engine: self.engine.clone(),
        })
    }
}
