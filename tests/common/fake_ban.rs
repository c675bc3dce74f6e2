//! A loopback fake of the BAN API shared by the tests that need address suggestions.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback fake of the BAN API (`GET /search/?q=…`) answering with the fixtures of the
/// plugin host's tests: "ales" → the municipality, anything else → 20 avenue de Ségur.
/// Dropping it closes the port (the upstream is then down).
pub struct FakeBan {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBan {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("plugins/tests/fixtures/ban")
            .join(name),
    )
    .unwrap()
}

impl FakeBan {
    pub async fn start() -> FakeBan {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_lowercase();
                    let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let (status, body) = if !target.starts_with("/search") {
                        ("404 Not Found", b"{}".to_vec())
                    } else if target.contains("ales") {
                        ("200 OK", fixture("search_municipality_ales.json"))
                    } else {
                        ("200 OK", fixture("search_20_avenue_de_segur_paris.json"))
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(&body).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        FakeBan { port, task }
    }
}
