//! Watches the plugins directory: `<name>.wasm` files are connector `name`.
//! Events are debounced (~300 ms) and handled by one task that reconciles the
//! whole directory, so reconciliations never overlap. A rejected artifact
//! leaves the running version in place and records why.
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::Plugins;

pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Keeps the watch alive; dropping it stops watching.
pub struct DirWatcher {
    _watcher: notify::RecommendedWatcher,
    task: JoinHandle<()>,
}

impl Drop for DirWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn is_wasm(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "wasm")
}

/// Reconciles `dir` once now, then after every burst of changes.
pub fn watch(plugins: Plugins, dir: PathBuf) -> notify::Result<DirWatcher> {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher =
        notify::recommended_watcher(move |ev: notify::Result<notify::Event>| match ev {
            Ok(ev) if ev.paths.iter().any(|p| is_wasm(p)) => {
                let _ = tx.send(());
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "plugins watcher error"),
        })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    let task = tokio::spawn(async move {
        plugins.reconcile_dir(&dir).await;
        while rx.recv().await.is_some() {
            loop {
                match tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            plugins.reconcile_dir(&dir).await;
        }
    });
    Ok(DirWatcher {
        _watcher: watcher,
        task,
    })
}
