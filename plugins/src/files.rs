//! The plugins directory as the single source of what runs: `<name>.wasm` is the
//! current artifact of connector `name`, `<name>.wasm.previous` the one it replaced.
//!
//! Every node watches the directory, so operations are file operations: a rollback
//! puts the previous artifact back as `<name>.wasm` (and the replaced one as the new
//! previous), and every node's watcher converges on it. Files are written to a
//! temporary name, then renamed, so a watcher never reads a half-written artifact.
use std::path::{Path, PathBuf};

/// `<dir>/<name>.wasm`.
pub fn current_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.wasm"))
}

/// `<dir>/<name>.wasm.previous` (not a `.wasm` file: the watcher ignores it).
pub fn previous_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.wasm.previous"))
}

#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("{0} is not a connector name")]
    BadName(String),
    #[error("no previous artifact is kept for connector {0}")]
    NoPrevious(String),
    #[error("no current artifact for connector {0}")]
    NoCurrent(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Writes `bytes` to `path` through a unique temporary file and a rename.
async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    tokio::fs::write(&tmp, bytes).await?;
    if let Err(e) = tokio::fs::rename(&tmp, path).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    Ok(())
}

/// Keeps `bytes` as the previous artifact of `name`.
pub async fn keep_previous(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically(&previous_path(dir, name), bytes).await
}

/// Installs `bytes` as the current artifact of `name`, keeping the replaced one as
/// previous. Watchers load it within their debounce.
pub async fn install(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), RollbackError> {
    check_name(name)?;
    let current = current_path(dir, name);
    match tokio::fs::read(&current).await {
        Ok(old) => keep_previous(dir, name, &old).await?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    write_atomically(&current, bytes).await?;
    Ok(())
}

/// Swaps `<name>.wasm` and `<name>.wasm.previous`: the previous artifact becomes
/// current (watchers load it), the replaced one becomes previous (a second rollback
/// undoes the first). Returns the digest of the artifact now current.
pub async fn rollback(dir: &Path, name: &str) -> Result<String, RollbackError> {
    check_name(name)?;
    let previous = match tokio::fs::read(previous_path(dir, name)).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RollbackError::NoPrevious(name.into()));
        }
        Err(e) => return Err(e.into()),
    };
    let current = match tokio::fs::read(current_path(dir, name)).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RollbackError::NoCurrent(name.into()));
        }
        Err(e) => return Err(e.into()),
    };
    write_atomically(&current_path(dir, name), &previous).await?;
    keep_previous(dir, name, &current).await?;
    Ok(crate::loader::digest(&previous))
}

fn check_name(name: &str) -> Result<(), RollbackError> {
    crate::connector_name(Path::new(&format!("{name}.wasm")))
        .filter(|n| n == name)
        .map(|_| ())
        .ok_or_else(|| RollbackError::BadName(name.into()))
}
