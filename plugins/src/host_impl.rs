//! The `host` interface as seen by a connector: http-fetch behind the
//! allow-list and IP checks, log, clock, config-get and a namespaced cache.
use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, StatusCode, Url};
use tokio::sync::Semaphore;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::address::demarches::connector::{host, types};
use crate::policy::{Grant, HostPattern, ip_allowed};
use host::FetchError;
use types::{Header, HttpRequest, HttpResponse, LogLevel};

const MAX_REDIRECTS: usize = 5;
const MAX_CACHE_TTL: u64 = 24 * 3600;
const MAX_CACHE_VALUE: usize = 1 << 20;

/// Per-connector state shared by every version and every call.
pub struct ConnectorEnv {
    pub name: String,
    pub grant: Grant,
    client: reqwest::Client,
    http_permits: Semaphore,
    pub(crate) call_permits: Arc<Semaphore>,
    cache: ResultCache,
}

impl ConnectorEnv {
    pub fn new(name: &str, grant: Grant, cache: ResultCache) -> anyhow::Result<Self> {
        crate::install_crypto_provider();
        let resolver = FilteringResolver {
            allow_loopback: grant.allow_loopback,
            deny_private: grant.deny_private,
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(resolver))
            .user_agent(concat!("demarches/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let permits = grant.max_concurrent_calls.max(1);
        Ok(Self {
            name: name.to_string(),
            client,
            http_permits: Semaphore::new(permits),
            call_permits: Arc::new(Semaphore::new(permits)),
            cache,
            grant,
        })
    }
}

/// The per-démarche configuration of one call (`procedure_connectors.config`), read by
/// `config-get` after the operator's grant: an administrateur can neither override
/// the operator's values nor read the granted secrets of another key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemarcheConfig(std::collections::BTreeMap<String, String>);

impl DemarcheConfig {
    /// From the stored JSON object: strings as they are, other values as JSON text,
    /// nulls left out. Anything but an object is an empty configuration.
    pub fn from_json(value: &serde_json::Value) -> Self {
        let map = value
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| {
                        let text = match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (k.clone(), text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// State of one Store (one call).
pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) env: Arc<ConnectorEnv>,
    /// Declared ∩ granted. Empty while `describe` runs.
    pub(crate) allow: Arc<Vec<HostPattern>>,
    pub(crate) version: String,
    /// The démarche's configuration of this call (empty outside a démarche).
    pub(crate) demarche: Arc<DemarcheConfig>,
    pub(crate) deadline: Instant,
    /// Set when http-fetch refused a host or an address.
    pub(crate) denied: Option<String>,
    /// Set when an http-fetch ran out of the call's budget.
    pub(crate) budget_exhausted: bool,
}

impl HostState {
    pub(crate) fn new(
        env: Arc<ConnectorEnv>,
        allow: Arc<Vec<HostPattern>>,
        version: String,
        demarche: Arc<DemarcheConfig>,
        budget: Duration,
    ) -> Self {
        let limiter = Limiter {
            inner: wasmtime::StoreLimitsBuilder::new()
                .memory_size(env.grant.memory_bytes())
                .instances(16)
                .tables(64)
                .memories(16)
                .trap_on_grow_failure(true)
                .build(),
            hit: false,
        };
        Self {
            // no preopens, no env, no args, no network (sockets deny by default)
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limiter,
            env,
            allow,
            version,
            demarche,
            deadline: Instant::now() + budget,
            denied: None,
            budget_exhausted: false,
        }
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn deny(&mut self, what: String) -> FetchError {
        tracing::warn!(connector = %self.env.name, version = %self.version, denied = %what, "connector fetch denied");
        self.denied = Some(what.clone());
        FetchError::DeniedHost(what)
    }

    /// Scheme, allow-list and literal-IP checks for one hop.
    fn check_url(&mut self, url: &Url) -> Result<(), FetchError> {
        let scheme_ok = match url.scheme() {
            "https" => true,
            "http" => self.env.grant.allow_http,
            _ => false,
        };
        let host = url.host_str().unwrap_or_default().to_string();
        if !scheme_ok {
            return Err(self.deny(format!("{}://{host}", url.scheme())));
        }
        let default_port = if url.scheme() == "https" { 443 } else { 80 };
        let port = url.port_or_known_default().unwrap_or(default_port);
        if !self
            .allow
            .iter()
            .any(|p| p.matches(&host, port, default_port))
        {
            return Err(self.deny(format!("{host}:{port}")));
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>()
            && !self.env.grant.ip_allowed(ip)
        {
            return Err(self.deny(format!("{host}:{port} (address not allowed)")));
        }
        Ok(())
    }

    async fn fetch(&mut self, req: HttpRequest) -> Result<HttpResponse, FetchError> {
        let max_body = self.env.grant.max_body_bytes();
        if req.body.as_ref().is_some_and(|b| b.len() > max_body) {
            return Err(FetchError::TooLarge);
        }
        let mut method = Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| FetchError::Network(format!("bad method {}", req.method)))?;
        let mut url =
            Url::parse(&req.url).map_err(|e| FetchError::Network(format!("bad url: {e}")))?;
        let mut body = req.body;
        let env = self.env.clone();
        let _permit = tokio::time::timeout(self.remaining(), env.http_permits.acquire())
            .await
            .map_err(|_| FetchError::Timeout)?
            .map_err(|_| FetchError::Network("closed".into()))?;
        for _hop in 0..=MAX_REDIRECTS {
            self.check_url(&url)?;
            let remaining = self.remaining();
            let mut timeout = remaining;
            if let Some(ms) = req.timeout_ms {
                timeout = timeout.min(Duration::from_millis(u64::from(ms)));
            }
            if timeout.is_zero() {
                self.budget_exhausted = true;
                return Err(FetchError::Timeout);
            }
            let mut rb = env
                .client
                .request(method.clone(), url.clone())
                .timeout(timeout);
            for h in &req.headers {
                if !h.name.eq_ignore_ascii_case("host") {
                    rb = rb.header(h.name.as_str(), h.value.as_str());
                }
            }
            if let Some(b) = &body {
                rb = rb.body(b.clone());
            }
            let started = Instant::now();
            let resp = match rb.send().await {
                Ok(r) => r,
                Err(e) => return Err(self.classify(e)),
            };
            let status = resp.status();
            if status.is_redirection()
                && let Some(loc) = resp.headers().get(reqwest::header::LOCATION)
            {
                let loc = loc.to_str().unwrap_or_default().to_string();
                url = url
                    .join(&loc)
                    .map_err(|e| FetchError::Network(format!("bad redirect: {e}")))?;
                if status == StatusCode::SEE_OTHER
                    || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                        && method == Method::POST)
                {
                    method = Method::GET;
                    body = None;
                }
                continue;
            }
            let headers = resp
                .headers()
                .iter()
                .filter_map(|(k, v)| {
                    Some(Header {
                        name: k.as_str().to_string(),
                        value: v.to_str().ok()?.to_string(),
                    })
                })
                .collect();
            let mut resp = resp;
            let mut out = Vec::new();
            loop {
                match resp.chunk().await {
                    Ok(Some(c)) => {
                        if out.len() + c.len() > max_body {
                            return Err(FetchError::TooLarge);
                        }
                        out.extend_from_slice(&c);
                    }
                    Ok(None) => break,
                    Err(e) => return Err(self.classify(e)),
                }
            }
            tracing::debug!(connector = %self.env.name, version = %self.version, %url, status = status.as_u16(),
                elapsed_ms = started.elapsed().as_millis() as u64, "connector fetch");
            return Ok(HttpResponse {
                status: status.as_u16(),
                headers,
                body: out,
            });
        }
        Err(FetchError::Network("too many redirects".into()))
    }

    fn classify(&mut self, e: reqwest::Error) -> FetchError {
        let mut src: Option<&(dyn StdError + 'static)> = Some(&e);
        while let Some(s) = src {
            if let Some(d) = s.downcast_ref::<DeniedAddress>() {
                let what = d.0.clone();
                return self.deny(what);
            }
            src = s.source();
        }
        if e.is_timeout() {
            if self.remaining() < Duration::from_millis(20) {
                self.budget_exhausted = true;
            }
            FetchError::Timeout
        } else {
            FetchError::Network(format!("{e}"))
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl host::Host for HostState {
    async fn http_fetch(&mut self, req: HttpRequest) -> Result<HttpResponse, FetchError> {
        self.fetch(req).await
    }

    async fn log(&mut self, level: LogLevel, message: String) {
        let (c, v) = (&self.env.name, &self.version);
        let message: String = message.chars().take(4096).collect();
        match level {
            LogLevel::Trace => tracing::trace!(connector = %c, version = %v, "{message}"),
            LogLevel::Debug => tracing::debug!(connector = %c, version = %v, "{message}"),
            LogLevel::Info => tracing::info!(connector = %c, version = %v, "{message}"),
            LogLevel::Warn => tracing::warn!(connector = %c, version = %v, "{message}"),
            LogLevel::Error => tracing::error!(connector = %c, version = %v, "{message}"),
        }
    }

    async fn now_unix_ms(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default()
    }

    async fn config_get(&mut self, key: String) -> Option<String> {
        self.env
            .grant
            .config_value(&self.env.name, &key)
            .or_else(|| self.demarche.get(&key).map(str::to_owned))
    }

    async fn cache_get(&mut self, key: String) -> Option<Vec<u8>> {
        self.env.cache.get(&self.env.name, &key)
    }

    async fn cache_set(&mut self, key: String, value: Vec<u8>, ttl_seconds: u32) {
        self.env.cache.set(&self.env.name, &key, value, ttl_seconds);
    }
}

/// `StoreLimits` that remembers whether it refused a memory growth.
pub struct Limiter {
    inner: wasmtime::StoreLimits,
    pub(crate) hit: bool,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.inner.memory_growing(current, desired, maximum);
        if !matches!(r, Ok(true)) {
            self.hit = true;
        }
        r
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Resolution error carrying the refused name, recognised by `classify`.
#[derive(Debug)]
struct DeniedAddress(String);

impl std::fmt::Display for DeniedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} resolves only to addresses that are not allowed",
            self.0
        )
    }
}

impl StdError for DeniedAddress {}

/// DNS resolver that drops loopback (unless granted), link-local / metadata
/// and, optionally, private addresses after resolution.
struct FilteringResolver {
    allow_loopback: bool,
    deny_private: bool,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (allow_loopback, deny_private) = (self.allow_loopback, self.deny_private);
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| ip_allowed(a.ip(), allow_loopback, deny_private))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(DeniedAddress(name)) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Bounded in-memory result cache, namespaced `cx:{connector}:{key}`, per-entry TTL.
#[derive(Clone)]
pub struct ResultCache {
    inner: moka::sync::Cache<String, CacheEntry>,
}

#[derive(Clone)]
struct CacheEntry {
    value: Arc<[u8]>,
    ttl: Duration,
}

struct TtlExpiry;

impl Expiry<String, CacheEntry> for TtlExpiry {
    fn expire_after_create(
        &self,
        _: &String,
        v: &CacheEntry,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(v.ttl)
    }
}

impl ResultCache {
    pub fn new(max_bytes: u64) -> Self {
        Self {
            inner: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &String, v: &CacheEntry| {
                    u32::try_from(k.len() + v.value.len()).unwrap_or(u32::MAX)
                })
                .expire_after(TtlExpiry)
                .build(),
        }
    }

    fn key(connector: &str, key: &str) -> String {
        format!("cx:{connector}:{key}")
    }

    pub fn get(&self, connector: &str, key: &str) -> Option<Vec<u8>> {
        self.inner
            .get(&Self::key(connector, key))
            .map(|e| e.value.to_vec())
    }

    pub fn set(&self, connector: &str, key: &str, value: Vec<u8>, ttl_seconds: u32) {
        if ttl_seconds == 0 || value.len() > MAX_CACHE_VALUE {
            return;
        }
        let ttl = Duration::from_secs(u64::from(ttl_seconds).min(MAX_CACHE_TTL));
        self.inner.insert(
            Self::key(connector, key),
            CacheEntry {
                value: value.into(),
                ttl,
            },
        );
    }
}
