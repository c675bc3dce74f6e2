//! Host for sandboxed WASM connectors (`demarches:connector@1.0.0`, see
//! `wit/connector.wit`). The only crate of the workspace that depends on wasmtime.
//!
//! - [`engine`]: one Engine, epoch ticker thread;
//! - [`bindings`]: `bindgen!` per world;
//! - [`host_impl`]: the `host` imports (http-fetch behind the allow-list, log, clock, config, cache);
//! - [`loader`]: bytes → validated [`Loaded`];
//! - [`registry`]: name → current / previous version, swap and rollback;
//! - [`call`]: one fresh Store per call, limits, error taxonomy;
//! - [`identity`]: the `identity` calls (FranceConnect);
//! - [`watch`]: plugins directory watcher;
//! - [`files`]: the plugins directory's files (previous version kept, rollback);
//! - [`policy`]: operator grants (`config/connectors.toml`).
pub mod bindings;
pub mod call;
pub mod engine;
pub mod files;
pub mod host_impl;
pub mod identity;
pub mod loader;
pub mod policy;
pub mod registry;
pub mod watch;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

pub use call::{Address, CallError, ConnectorError, Etablissement, FeedbackButton};
pub use host_impl::DemarcheConfig;
pub use identity::{AuthorizeRequest, CallbackRequest, Person};
pub use loader::{ConnectorInfo, LoadError, Loaded};
pub use policy::{Grant, Policy};
pub use registry::{ConnectorStatus, RegistryError, Rejection};
pub use watch::DirWatcher;

use engine::PluginEngine;
use host_impl::{ConnectorEnv, ResultCache};
use loader::Loader;
use registry::Registry;

/// Major version of the WIT package the host implements (`demarches:connector@1.x`),
/// recorded with each démarche's enabled connector.
pub const INTERFACE_MAJOR: i32 = 1;

/// Cap of the connectors' result cache (all connectors together).
const RESULT_CACHE_BYTES: u64 = 64 << 20;

/// Installs the process-wide rustls provider (ring) once; reqwest is built
/// with `rustls-no-provider`.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The plugin host. Cheap to clone.
#[derive(Clone)]
pub struct Plugins {
    inner: Arc<Inner>,
}

struct Inner {
    loader: Loader,
    registry: Registry,
    policy: Policy,
    cache: ResultCache,
    envs: Mutex<HashMap<String, Arc<ConnectorEnv>>>,
    reconcile: tokio::sync::Mutex<()>,
    // last: the ticker stops after everything else is dropped
    _engine: PluginEngine,
}

/// Outcome of loading one artifact.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub name: String,
    pub version: String,
    pub digest: String,
    pub previous_version: Option<String>,
    pub compile_time: std::time::Duration,
}

impl Plugins {
    pub fn new(policy: Policy) -> anyhow::Result<Self> {
        let engine = PluginEngine::new()?;
        let loader = Loader::new(engine.engine().clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                loader,
                registry: Registry::default(),
                policy,
                cache: ResultCache::new(RESULT_CACHE_BYTES),
                envs: Mutex::new(HashMap::new()),
                reconcile: tokio::sync::Mutex::new(()),
                _engine: engine,
            }),
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    fn env(&self, name: &str) -> Result<Arc<ConnectorEnv>, LoadError> {
        let mut envs = self.inner.envs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = envs.get(name) {
            return Ok(e.clone());
        }
        let grant = self
            .inner
            .policy
            .grant(name)
            .ok_or_else(|| LoadError::NoGrant(name.into()))?
            .clone();
        let env = ConnectorEnv::new(name, grant, self.inner.cache.clone())
            .map_err(|e| LoadError::Io(format!("http client: {e:#}")))?;
        let env = Arc::new(env);
        envs.insert(name.into(), env.clone());
        Ok(env)
    }

    /// Validates an artifact as connector `name` without installing it.
    pub async fn check(&self, name: &str, bytes: &[u8]) -> Result<ConnectorInfo, LoadError> {
        let env = self.env(name)?;
        let loaded = self.inner.loader.load(name, env, bytes.into()).await?;
        Ok(loaded.info)
    }

    /// Validates and installs an artifact as the current version of `name`.
    /// On failure the running version (if any) keeps serving and the reason is
    /// recorded in the slot (see [`Plugins::status`]).
    pub async fn load_bytes(&self, name: &str, bytes: &[u8]) -> Result<LoadReport, LoadError> {
        let result = match self.env(name) {
            Ok(env) => self.inner.loader.load(name, env, bytes.into()).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(loaded) => {
                let report = LoadReport {
                    name: loaded.name.clone(),
                    version: loaded.version.clone(),
                    digest: loaded.digest.clone(),
                    previous_version: None,
                    compile_time: loaded.compile_time,
                };
                let old = self.inner.registry.swap(loaded);
                let report = LoadReport {
                    previous_version: old.map(|o| o.version.clone()),
                    ..report
                };
                tracing::info!(connector = %report.name, version = %report.version, digest = %report.digest,
                    previous = ?report.previous_version, compile_ms = report.compile_time.as_millis() as u64, "connector loaded");
                Ok(report)
            }
            Err(e) => {
                let digest = loader::digest(bytes);
                tracing::warn!(connector = %name, %digest, reason = %e, "connector artifact rejected");
                self.inner.registry.reject(name, &digest, e.to_string());
                Err(e)
            }
        }
    }

    /// Loads `<dir>/<name>.wasm` as connector `name`.
    pub async fn load_file(&self, path: &Path) -> Result<LoadReport, LoadError> {
        let name = connector_name(path)
            .ok_or_else(|| LoadError::Io(format!("{}: not a <name>.wasm file", path.display())))?;
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| LoadError::Io(format!("{}: {e}", path.display())))?;
        self.load_bytes(&name, &bytes).await
    }

    /// Brings the registry in line with `dir`: new or changed `<name>.wasm`
    /// files are loaded (a rejected one keeps the running version), vanished
    /// ones are unloaded. Serialised: one reconciliation at a time.
    pub async fn reconcile_dir(&self, dir: &Path) {
        let _g = self.inner.reconcile.lock().await;
        let mut seen = Vec::new();
        let mut entries = match tokio::fs::read_dir(dir).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot read plugins dir");
                return;
            }
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let path = entry.path();
            let Some(name) = connector_name(&path) else {
                continue;
            };
            seen.push(name.clone());
            let Ok(bytes) = tokio::fs::read(&path).await else {
                continue;
            };
            let digest = loader::digest(&bytes);
            let current = self.inner.registry.current(&name);
            if current.as_ref().is_some_and(|c| c.digest == digest)
                || self
                    .inner
                    .registry
                    .rejection(&name)
                    .is_some_and(|r| r.digest == digest)
            {
                continue;
            }
            if self.load_bytes(&name, &bytes).await.is_ok()
                && let Some(old) = current
            {
                // Every node writes the same bytes: the directory converges.
                if let Err(e) = files::keep_previous(dir, &name, &old.bytes).await {
                    tracing::warn!(connector = %name, error = %e, "cannot keep the previous artifact");
                }
            }
        }
        for name in self.inner.registry.names() {
            if !seen.contains(&name) && self.inner.registry.unload(&name).is_some() {
                tracing::info!(connector = %name, "connector unloaded (file removed)");
            }
        }
    }

    /// Watches `dir` (see [`watch`]); drop the handle to stop.
    pub fn watch(&self, dir: &Path) -> notify::Result<DirWatcher> {
        watch::watch(self.clone(), dir.to_path_buf())
    }

    pub fn rollback(&self, name: &str) -> Result<String, RegistryError> {
        let now = self.inner.registry.rollback(name)?;
        tracing::info!(connector = %name, version = %now.version, "connector rolled back");
        Ok(now.version.clone())
    }

    pub fn unload(&self, name: &str) -> bool {
        self.inner.registry.unload(name).is_some()
    }

    pub fn status(&self) -> Vec<ConnectorStatus> {
        self.inner.registry.status()
    }

    /// The version new calls of `name` use.
    pub fn current(&self, name: &str) -> Option<Arc<Loaded>> {
        self.inner.registry.current(name)
    }

    fn loaded(&self, connector: &str) -> Result<Arc<Loaded>, CallError> {
        self.inner
            .registry
            .current(connector)
            .ok_or_else(|| CallError::NotLoaded(connector.into()))
    }

    /// `address.search-address` on connector `connector`, outside any démarche.
    pub async fn search_address(
        &self,
        connector: &str,
        query: &str,
        limit: u8,
    ) -> Result<Vec<Address>, CallError> {
        self.search_address_for(connector, &DemarcheConfig::default(), query, limit)
            .await
    }

    /// `address.search-address` with a démarche's configuration of the connector.
    pub async fn search_address_for(
        &self,
        connector: &str,
        demarche: &DemarcheConfig,
        query: &str,
        limit: u8,
    ) -> Result<Vec<Address>, CallError> {
        let loaded = self.loaded(connector)?;
        call::search_address(&loaded, Arc::new(demarche.clone()), query, limit).await
    }

    /// `feedback.monavis-button` with a démarche's configuration (its MonAvis embed code).
    pub async fn monavis_button(
        &self,
        connector: &str,
        demarche: &DemarcheConfig,
        procedure_ref: &str,
    ) -> Result<Option<FeedbackButton>, CallError> {
        let loaded = self.loaded(connector)?;
        call::monavis_button(&loaded, Arc::new(demarche.clone()), procedure_ref).await
    }

    /// `siret.lookup-siret` with a démarche's configuration of the connector.
    pub async fn lookup_siret(
        &self,
        connector: &str,
        demarche: &DemarcheConfig,
        siret: &str,
    ) -> Result<Etablissement, CallError> {
        let loaded = self.loaded(connector)?;
        call::lookup_siret(&loaded, Arc::new(demarche.clone()), siret).await
    }

    /// `identity.authorize-url` on connector `connector`.
    pub async fn authorize_url(
        &self,
        connector: &str,
        req: AuthorizeRequest,
    ) -> Result<String, CallError> {
        identity::authorize_url(&self.loaded(connector)?, req).await
    }

    /// `identity.exchange-code`: token, id_token validation and userinfo.
    pub async fn exchange_code(
        &self,
        connector: &str,
        req: CallbackRequest,
    ) -> Result<Person, CallError> {
        identity::exchange_code(&self.loaded(connector)?, req).await
    }

    /// `identity.logout-url` on connector `connector`.
    pub async fn logout_url(
        &self,
        connector: &str,
        id_token_hint: &str,
        post_logout_redirect_uri: &str,
        state: &str,
    ) -> Result<String, CallError> {
        identity::logout_url(
            &self.loaded(connector)?,
            id_token_hint,
            post_logout_redirect_uri,
            state,
        )
        .await
    }
}

/// `…/ban.wasm` → `ban`.
pub fn connector_name(path: &Path) -> Option<String> {
    if path.extension()? != "wasm" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    let ok = !stem.is_empty()
        && stem
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    ok.then(|| stem.to_string())
}
