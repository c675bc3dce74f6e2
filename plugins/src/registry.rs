//! Connector registry: name → slot with the current and previous versions.
//! A call takes an `Arc<Loaded>` of the current version, so a swap never
//! disturbs calls already running: they finish on the version they started on.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use arc_swap::ArcSwapOption;
use serde::Serialize;

use crate::loader::Loaded;

#[derive(Default)]
struct Slot {
    current: ArcSwapOption<Loaded>,
    previous: ArcSwapOption<Loaded>,
    rejection: Mutex<Option<Rejection>>,
    /// Serialises swap / rollback / unload on this slot.
    ops: Mutex<()>,
}

/// The last artifact refused for a slot, and why (shown by `plugins list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub digest: String,
    pub reason: String,
    #[serde(skip)]
    pub at: SystemTime,
}

/// One line of `Plugins::status`.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorStatus {
    pub name: String,
    pub version: Option<String>,
    pub digest: Option<String>,
    pub previous_version: Option<String>,
    pub rejection: Option<Rejection>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("connector {0} is unknown")]
    Unknown(String),
    #[error("connector {0} has no previous version to roll back to")]
    NoPrevious(String),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
pub struct Registry {
    slots: RwLock<BTreeMap<String, Arc<Slot>>>,
}

impl Registry {
    fn slot(&self, name: &str) -> Option<Arc<Slot>> {
        self.slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    fn slot_or_create(&self, name: &str) -> Arc<Slot> {
        if let Some(s) = self.slot(name) {
            return s;
        }
        self.slots
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    /// The version new calls use.
    pub fn current(&self, name: &str) -> Option<Arc<Loaded>> {
        self.slot(name)?.current.load_full()
    }

    /// Makes `loaded` current; the old current becomes previous. Returns it.
    pub fn swap(&self, loaded: Loaded) -> Option<Arc<Loaded>> {
        let slot = self.slot_or_create(&loaded.name);
        let _g = lock(&slot.ops);
        let old = slot.current.swap(Some(Arc::new(loaded)));
        if old.is_some() {
            slot.previous.store(old.clone());
        }
        *lock(&slot.rejection) = None;
        old
    }

    /// Records a refused artifact; the current version keeps serving.
    pub fn reject(&self, name: &str, digest: &str, reason: String) {
        let slot = self.slot_or_create(name);
        *lock(&slot.rejection) = Some(Rejection {
            digest: digest.to_string(),
            reason,
            at: SystemTime::now(),
        });
    }

    pub fn rejection(&self, name: &str) -> Option<Rejection> {
        lock(&self.slot(name)?.rejection).clone()
    }

    /// Swaps current and previous. Returns the version now current.
    pub fn rollback(&self, name: &str) -> Result<Arc<Loaded>, RegistryError> {
        let slot = self
            .slot(name)
            .ok_or_else(|| RegistryError::Unknown(name.into()))?;
        let _g = lock(&slot.ops);
        let prev = slot
            .previous
            .load_full()
            .ok_or_else(|| RegistryError::NoPrevious(name.into()))?;
        let cur = slot.current.swap(Some(prev.clone()));
        slot.previous.store(cur);
        Ok(prev)
    }

    /// Stops serving `name`; the unloaded version stays as previous.
    pub fn unload(&self, name: &str) -> Option<Arc<Loaded>> {
        let slot = self.slot(name)?;
        let _g = lock(&slot.ops);
        let old = slot.current.swap(None);
        if old.is_some() {
            slot.previous.store(old.clone());
        }
        old
    }

    pub fn names(&self) -> Vec<String> {
        self.slots
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    pub fn status(&self) -> Vec<ConnectorStatus> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner()).clone();
        slots
            .into_iter()
            .map(|(name, s)| {
                let cur = s.current.load_full();
                ConnectorStatus {
                    name,
                    version: cur.as_ref().map(|l| l.version.clone()),
                    digest: cur.as_ref().map(|l| l.digest.clone()),
                    previous_version: s.previous.load_full().map(|l| l.version.clone()),
                    rejection: lock(&s.rejection).clone(),
                }
            })
            .collect()
    }
}
