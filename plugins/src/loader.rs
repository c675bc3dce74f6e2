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
use crate::bindings::feedback::FeedbackProviderPre;
use crate::bindings::identity::IdentityProviderPre;
use crate::bindings::siret::SiretProviderPre;
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
    pub(crate) worlds: Worlds,
    /// The artifact, kept so a replaced version can be written back as
    /// `<name>.wasm.previous` (see [`crate::files`]).
    pub(crate) bytes: Arc<[u8]>,
    pub(crate) env: Arc<ConnectorEnv>,
    pub(crate) allow: Arc<Vec<HostPattern>>,
    engine: wasmtime::Engine,
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

/// The worlds a component exports, each linked once at load time. A capability is
/// served only when the component both declares it and exports its world.
#[derive(Clone, Default)]
pub(crate) struct Worlds {
    pub(crate) address: Option<AddressProviderPre<HostState>>,
    pub(crate) siret: Option<SiretProviderPre<HostState>>,
    pub(crate) identity: Option<IdentityProviderPre<HostState>>,
    pub(crate) feedback: Option<FeedbackProviderPre<HostState>>,
}

impl Worlds {
    fn link(pre: &wasmtime::component::InstancePre<HostState>) -> Self {
        Self {
            address: AddressProviderPre::new(pre.clone()).ok(),
            siret: SiretProviderPre::new(pre.clone()).ok(),
            identity: IdentityProviderPre::new(pre.clone()).ok(),
            feedback: FeedbackProviderPre::new(pre.clone()).ok(),
        }
    }

    /// Capabilities (as `describe` names them) whose world is exported.
    fn exported(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.address.is_some() {
            out.push("address");
        }
        if self.siret.is_some() {
            out.push("siret");
        }
        if self.identity.is_some() {
            out.push("identity");
        }
        if self.feedback.is_some() {
            out.push("feedback");
        }
        out
    }

    /// `meta.describe` through any exported world (every world exports `meta`).
    async fn describe(
        &self,
        store: &mut wasmtime::Store<HostState>,
    ) -> wasmtime::Result<
        Option<crate::bindings::address::demarches::connector::types::ConnectorInfo>,
    > {
        if let Some(pre) = &self.address {
            let inst = pre.instantiate_async(&mut *store).await?;
            return Ok(Some(
                inst.demarches_connector_meta().call_describe(store).await?,
            ));
        }
        if let Some(pre) = &self.siret {
            let inst = pre.instantiate_async(&mut *store).await?;
            return Ok(Some(
                inst.demarches_connector_meta().call_describe(store).await?,
            ));
        }
        if let Some(pre) = &self.identity {
            let inst = pre.instantiate_async(&mut *store).await?;
            return Ok(Some(
                inst.demarches_connector_meta().call_describe(store).await?,
            ));
        }
        if let Some(pre) = &self.feedback {
            let inst = pre.instantiate_async(&mut *store).await?;
            return Ok(Some(
                inst.demarches_connector_meta().call_describe(store).await?,
            ));
        }
        Ok(None)
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
    #[error("exports no connector world the host knows ({0})")]
    NoKnownWorld(String),
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
        let (component, compile_time) = self.compile(&digest, bytes.clone()).await?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let worlds = Worlds::link(&pre);
        let exported = worlds.exported();
        if exported.is_empty() {
            return Err(LoadError::NoKnownWorld(
                "address-provider, siret-provider, identity-provider, feedback-provider".into(),
            ));
        }

        let mut store = new_store(
            &self.engine,
            env.clone(),
            Arc::new(Vec::new()),
            "?".into(),
            Arc::default(),
            DESCRIBE_BUDGET,
        );
        let outcome = tokio::time::timeout(
            DESCRIBE_BUDGET + Duration::from_millis(50),
            worlds.describe(&mut store),
        )
        .await;
        let info = match outcome {
            Err(_) => return Err(LoadError::Describe(CallError::Timeout)),
            Ok(Err(e)) => return Err(LoadError::Describe(classify(&e, store.data()))),
            Ok(Ok(None)) => return Err(LoadError::NoKnownWorld(exported.join(", "))),
            Ok(Ok(Some(i))) => ConnectorInfo {
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
        // Each exported world must be declared as a capability.
        if let Some(missing) = exported
            .iter()
            .find(|c| !info.capabilities.iter().any(|d| d == *c))
        {
            return Err(LoadError::MissingCapability((*missing).into()));
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
            worlds,
            bytes,
            env,
            allow: Arc::new(allow),
            engine: self.engine.clone(),
        })
    }
}
