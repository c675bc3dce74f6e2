//! Where uploaded files live. [`Storage`] puts, opens and deletes a stream under a key;
//! [`LocalStorage`] keeps them under `storage.dir`. Keys are made here from random ids,
//! never from user input.

pub mod scan;
pub mod sniff;
pub mod watermark;

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWriteExt};
use uuid::Uuid;

/// A readable stream of bytes.
pub type Reader = Pin<Box<dyn AsyncRead + Send>>;

pub trait Storage: Send + Sync {
    /// Stores the whole of `body` under `key`; returns the number of bytes written.
    fn put<'a>(&'a self, key: &'a str, body: Reader) -> BoxFuture<'a, io::Result<u64>>;

    /// Stores a local file (a finished upload) under `key`; the file is consumed.
    fn put_file<'a>(&'a self, key: &'a str, path: &'a Path) -> BoxFuture<'a, io::Result<u64>> {
        Box::pin(async move {
            let file = tokio::fs::File::open(path).await?;
            let written = self.put(key, Box::pin(file)).await?;
            tokio::fs::remove_file(path).await?;
            Ok(written)
        })
    }

    /// Opens the file stored under `key`.
    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Reader>>;

    /// Deletes the file under `key` (nothing if absent).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>>;
}

/// A new storage key for a file: two levels of fan-out from a random id.
pub fn new_key(id: Uuid) -> String {
    let hex = id.simple().to_string();
    format!("{}/{}/{hex}", &hex[..2], &hex[2..4])
}

/// Files under one directory: `<dir>/<key>`; temporary uploads in `<dir>/tmp`.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    dir: PathBuf,
}

impl LocalStorage {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Directory for the temporary files of uploads in progress (same file system, so a
    /// finished upload is moved, not copied).
    pub fn tmp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Removes the temporary files older than `max_age` (uploads cut by a crash); returns
    /// how many.
    pub async fn sweep_tmp(&self, max_age: std::time::Duration) -> io::Result<usize> {
        let mut removed = 0;
        let mut entries = match tokio::fs::read_dir(self.tmp_dir()).await {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(err) => return Err(err),
        };
        while let Some(entry) = entries.next_entry().await? {
            let meta = entry.metadata().await?;
            let old = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age >= max_age);
            if meta.is_file() && old {
                tokio::fs::remove_file(entry.path()).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        let valid = !key.is_empty()
            && key
                .split('/')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if !valid {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "invalid key"));
        }
        Ok(self.dir.join(key))
    }

    async fn prepare(&self, key: &str) -> io::Result<PathBuf> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        Ok(path)
    }
}

impl Storage for LocalStorage {
    fn put<'a>(&'a self, key: &'a str, mut body: Reader) -> BoxFuture<'a, io::Result<u64>> {
        Box::pin(async move {
            let path = self.prepare(key).await?;
            tokio::fs::create_dir_all(self.tmp_dir()).await?;
            let tmp = self.tmp_dir().join(Uuid::new_v4().simple().to_string());
            let mut file = tokio::fs::File::create(&tmp).await?;
            let written = match tokio::io::copy(&mut body, &mut file).await {
                Ok(n) => n,
                Err(err) => {
                    drop(file);
                    let _ = tokio::fs::remove_file(&tmp).await;
                    return Err(err);
                }
            };
            file.flush().await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&tmp, &path).await?;
            Ok(written)
        })
    }

    fn put_file<'a>(&'a self, key: &'a str, from: &'a Path) -> BoxFuture<'a, io::Result<u64>> {
        Box::pin(async move {
            let path = self.prepare(key).await?;
            let size = tokio::fs::metadata(from).await?.len();
            match tokio::fs::rename(from, &path).await {
                Ok(()) => Ok(size),
                // Another file system: copy.
                Err(_) => {
                    let file = tokio::fs::File::open(from).await?;
                    let written = self.put(key, Box::pin(file)).await?;
                    tokio::fs::remove_file(from).await?;
                    Ok(written)
                }
            }
        })
    }

    fn open<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Reader>> {
        Box::pin(async move {
            let file = tokio::fs::File::open(self.path(key)?).await?;
            Ok(Box::pin(file) as Reader)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path(key)?).await {
                Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[test]
    fn keys_are_random_hex_with_fan_out() {
        let key = new_key(Uuid::nil());
        assert_eq!(key, "00/00/00000000000000000000000000000000");
        let storage = LocalStorage::new("/tmp/x");
        assert!(storage.path("../etc/passwd").is_err());
        assert!(storage.path("a//b").is_err());
        assert!(storage.path("").is_err());
        assert!(storage.path(&key).is_ok());
    }

    #[tokio::test]
    async fn put_open_delete() {
        let dir = std::env::temp_dir().join(format!("storage-{}", Uuid::new_v4().simple()));
        let storage = LocalStorage::new(&dir);
        let key = new_key(Uuid::new_v4());
        let body: Reader = Box::pin(&b"bonjour"[..]);
        assert_eq!(storage.put(&key, body).await.unwrap(), 7);
        let mut read = String::new();
        storage
            .open(&key)
            .await
            .unwrap()
            .read_to_string(&mut read)
            .await
            .unwrap();
        assert_eq!(read, "bonjour");
        let upload = dir.join("upload");
        tokio::fs::write(&upload, b"abc").await.unwrap();
        let other = new_key(Uuid::new_v4());
        assert_eq!(storage.put_file(&other, &upload).await.unwrap(), 3);
        assert!(!upload.exists());
        storage.delete(&key).await.unwrap();
        storage.delete(&key).await.unwrap();
        tokio::fs::write(storage.tmp_dir().join("upload-x"), b"x")
            .await
            .unwrap();
        let hour = std::time::Duration::from_secs(3600);
        assert_eq!(storage.sweep_tmp(hour).await.unwrap(), 0);
        assert_eq!(
            storage.sweep_tmp(std::time::Duration::ZERO).await.unwrap(),
            1
        );
        assert!(storage.open(&key).await.is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
