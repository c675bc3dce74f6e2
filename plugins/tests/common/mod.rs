//! Test support: the guest artifacts and a loopback fake of the BAN API.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Where the guest `.wasm` files are: `$DEMARCHES_CONNECTORS_DIR`, else
/// `connectors/target/wasm32-wasip2/release` (build them with
/// `cargo build --release --target wasm32-wasip2 --manifest-path connectors/Cargo.toml`).
pub fn wasm_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DEMARCHES_CONNECTORS_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../connectors/target/wasm32-wasip2/release")
}

pub fn wasm(name: &str) -> Vec<u8> {
    let path = wasm_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Build the guests first: cargo build --release --target wasm32-wasip2 --manifest-path connectors/Cargo.toml",
            path.display()
        )
    })
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ban")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A loopback HTTP/1.1 server answering like the BAN API (`GET /search/?q=…&limit=…`):
/// - q shorter than 3 chars → 400 "Failed parsing query"; limit outside 1–20 → 400;
/// - q = "panne" → 503; q = "lent" → answers after 5 s;
/// - q containing "zzq" → no feature; "ales" → municipality; otherwise 20 avenue de Ségur.
///
/// Plus `/redirect-ok` (→ /search/?q=segur), `/redirect-metadata` (→ 169.254.169.254),
/// `/redirect-elsewhere` (→ evil.test).
pub struct FakeBan {
    pub port: u16,
    pub hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBan {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeBan {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let h = h.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    h.fetch_add(1, Ordering::SeqCst);
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (status, extra, body) = route(&target).await;
                    let resp = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.write_all(&body).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self { port, hits, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn query_param(target: &str, key: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("20");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b' '));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

async fn route(target: &str) -> (&'static str, String, Vec<u8>) {
    let path = target.split('?').next().unwrap_or("/");
    match path {
        "/search/" | "/search" => {}
        "/redirect-ok" => {
            return (
                "302 Found",
                "location: /search/?q=segur&limit=5\r\n".into(),
                Vec::new(),
            );
        }
        "/redirect-metadata" => {
            return (
                "302 Found",
                "location: http://169.254.169.254/latest/meta-data/\r\n".into(),
                Vec::new(),
            );
        }
        "/redirect-elsewhere" => {
            return (
                "301 Moved Permanently",
                "location: http://evil.test/steal\r\n".into(),
                Vec::new(),
            );
        }
        _ => return ("404 Not Found", String::new(), b"{}".to_vec()),
    }
    let q = query_param(target, "q").unwrap_or_default();
    let limit: i64 = query_param(target, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(5);
    let q = q.trim().to_string();
    if q.chars().count() < 3 || !q.chars().next().is_some_and(char::is_alphanumeric) {
        return (
            "400 Bad Request",
            String::new(),
            fixture("error_400_failed_parsing_query.json"),
        );
    }
    if !(1..=20).contains(&limit) {
        return (
            "400 Bad Request",
            String::new(),
            fixture("error_400_limit_out_of_range.json"),
        );
    }
    match q.as_str() {
        "panne" => (
            "503 Service Unavailable",
            "retry-after: 7\r\n".into(),
            b"<html>down</html>".to_vec(),
        ),
        "lent" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            ("200 OK", String::new(), fixture("search_empty.json"))
        }
        q if q.contains("zzq") => ("200 OK", String::new(), fixture("search_empty.json")),
        q if q.to_lowercase().contains("alès") || q.to_lowercase().contains("ales") => (
            "200 OK",
            String::new(),
            fixture("search_municipality_ales.json"),
        ),
        _ => (
            "200 OK",
            String::new(),
            fixture("search_20_avenue_de_segur_paris.json"),
        ),
    }
}
