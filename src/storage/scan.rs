//! Antivirus hook. Every attachment starts `pending`; the `virus_scan` job (inserted with the
//! attachment, run by the worker) checks its checksum then asks the [`VirusScanner`]:
//! `safe`, `infected`, or `integrity_error` when the stored bytes changed.

use std::io;

use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::Reader;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Safe,
    Infected,
}

pub trait VirusScanner: Send + Sync {
    fn scan<'a>(&'a self, body: Reader) -> BoxFuture<'a, io::Result<Verdict>>;
}

/// The default: no antivirus engine configured, every file is safe once its job ran.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScanner;

impl VirusScanner for NoScanner {
    fn scan<'a>(&'a self, _body: Reader) -> BoxFuture<'a, io::Result<Verdict>> {
        Box::pin(async { Ok(Verdict::Safe) })
    }
}

/// The EICAR antivirus test string (what every antivirus detects, harmless by design).
pub const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// Detects the EICAR test string anywhere in a file (tests and demo).
#[derive(Debug, Clone, Copy, Default)]
pub struct EicarScanner;

impl VirusScanner for EicarScanner {
    fn scan<'a>(&'a self, mut body: Reader) -> BoxFuture<'a, io::Result<Verdict>> {
        Box::pin(async move {
            let mut window: Vec<u8> = Vec::with_capacity(64 * 1024 + EICAR.len());
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = body.read(&mut buf).await?;
                if n == 0 {
                    return Ok(Verdict::Safe);
                }
                window.extend_from_slice(&buf[..n]);
                if window.windows(EICAR.len()).any(|w| w == EICAR) {
                    return Ok(Verdict::Infected);
                }
                // Keep what could start the string in the next chunk.
                let keep = window.len().min(EICAR.len() - 1);
                window.drain(..window.len() - keep);
            }
        })
    }
}

/// The scanner named in `storage.virus_scanner`.
pub fn from_config(name: &str) -> anyhow::Result<Box<dyn VirusScanner>> {
    match name {
        "default" | "" => Ok(Box::new(NoScanner)),
        "eicar" => Ok(Box::new(EicarScanner)),
        other => anyhow::bail!("unknown storage.virus_scanner {other:?}"),
    }
}

/// SHA-256 (hex) of a whole stream.
pub async fn checksum(mut body: Reader) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = body.read(&mut buf).await?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: Vec<u8>) -> Reader {
        Box::pin(std::io::Cursor::new(bytes))
    }

    #[tokio::test]
    async fn eicar_found_anywhere() {
        let scanner = EicarScanner;
        assert_eq!(
            scanner
                .scan(reader(b"%PDF-1.4 rien".to_vec()))
                .await
                .unwrap(),
            Verdict::Safe
        );
        let mut big = vec![b'a'; 64 * 1024 - 10];
        big.extend_from_slice(EICAR);
        big.extend_from_slice(b" fin");
        assert_eq!(scanner.scan(reader(big)).await.unwrap(), Verdict::Infected);
        assert_eq!(
            NoScanner.scan(reader(EICAR.to_vec())).await.unwrap(),
            Verdict::Safe
        );
    }

    #[tokio::test]
    async fn checksum_is_sha256_hex() {
        assert_eq!(
            checksum(reader(b"abc".to_vec())).await.unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
