//! Connector benchmark (release build): `cargo bench -p demarches-plugins --bench connectors`.
//!
//! 1. Call overhead: one connector call (fresh Store + instantiate + the export + host
//!    imports) against the same logic written natively, for the `echo` guest (format a
//!    label with the clock) and for the BAN connector against the loopback fake (HTTP GET
//!    + JSON parse). Target: < 100 µs of overhead per call.
//! 2. Hot swap under load: tasks call the BAN connector in a loop while `ban_v2.wasm` is
//!    dropped into the watched plugins directory; calls/s before, during (from the rename
//!    until v2 answers everywhere) and after, and the failed calls (must be 0).
//!
//! Loopback only; bounded in count and time. Needs the guests built
//! (`cargo build --release --target wasm32-wasip2 --manifest-path connectors/Cargo.toml`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{FakeBan, wasm};
use demarches_plugins::{Plugins, Policy};

const ECHO_CALLS: u32 = 5_000;
const BAN_CALLS: u32 = 1_000;
const LOAD_TASKS: usize = 4;
const PHASE: Duration = Duration::from_secs(2);

fn policy(up: &FakeBan) -> Policy {
    Policy::from_toml(&format!(
        r#"
        [connectors.ban]
        allowed_hosts = ["api-adresse.data.gouv.fr", "{auth}"]
        allow_loopback = true
        allow_http = true
        timeout_ms = 2000
        max_concurrent_calls = 64
        [connectors.ban.config]
        base_url = "{base}"

        [connectors.echo]
        [connectors.echo.config]
        name = "echo"
        mode = "echo"
        "#,
        auth = up.authority(),
        base = up.base_url(),
    ))
    .unwrap()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// The echo guest's logic, natively: read its mode, format the label with the clock.
fn echo_native(config: &std::collections::BTreeMap<&str, &str>, q: &str) -> String {
    match config.get("mode").copied().unwrap_or("echo") {
        "echo" => format!("echo {q} at {}", now_ms()),
        other => other.to_owned(),
    }
}

#[derive(serde::Deserialize)]
struct Collection {
    features: Vec<Feature>,
}
#[derive(serde::Deserialize)]
struct Feature {
    geometry: Geometry,
    properties: serde_json::Value,
}
#[derive(serde::Deserialize)]
struct Geometry {
    coordinates: Vec<f64>,
}

/// The BAN connector's logic, natively: GET /search/, parse, map the features.
async fn ban_native(client: &reqwest::Client, base: &str, q: &str) -> Vec<(String, f64, f64)> {
    let q: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let resp = client
        .get(format!("{base}/search/?q={q}&limit=5"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let body = resp.bytes().await.unwrap();
    let c: Collection = serde_json::from_slice(&body).unwrap();
    c.features
        .into_iter()
        .map(|f| {
            let label = f.properties["label"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (label, f.geometry.coordinates[0], f.geometry.coordinates[1])
        })
        .collect()
}

fn per_call(total: Duration, n: u32) -> f64 {
    total.as_secs_f64() * 1e6 / f64::from(n)
}

async fn overhead(up: &FakeBan) {
    let p = Plugins::new(policy(up)).unwrap();
    let report = p.load_bytes("echo", &wasm("misbehave")).await.unwrap();
    println!(
        "{} host; load misbehave.wasm as echo: compile {:?}",
        if cfg!(debug_assertions) {
            "DEBUG (figures not meaningful: use cargo bench)"
        } else {
            "release"
        },
        report.compile_time
    );
    p.load_bytes("ban", &wasm("ban")).await.unwrap();

    // warm-up
    for i in 0..200 {
        p.search_address("echo", &format!("w{i}"), 1).await.unwrap();
    }
    let t = Instant::now();
    for i in 0..ECHO_CALLS {
        let r = p.search_address("echo", &format!("q{i}"), 1).await.unwrap();
        std::hint::black_box(r);
    }
    let wasm_echo = per_call(t.elapsed(), ECHO_CALLS);
    let config: std::collections::BTreeMap<&str, &str> =
        [("name", "echo"), ("mode", "echo")].into_iter().collect();
    let t = Instant::now();
    for i in 0..ECHO_CALLS {
        std::hint::black_box(echo_native(&config, &format!("q{i}")));
    }
    let native_echo = per_call(t.elapsed(), ECHO_CALLS);
    println!(
        "echo: connector {wasm_echo:.1} µs/call, native {native_echo:.2} µs/call, overhead {:.1} µs (target < 100 µs)",
        wasm_echo - native_echo
    );

    // BAN: distinct queries, so the connector's result cache does not answer.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for i in 0..50 {
        p.search_address("ban", &format!("{i} rue de Paris"), 5)
            .await
            .unwrap();
        ban_native(&client, &up.base_url(), &format!("{i} rue de Paris")).await;
    }
    // Interleaved, one connector call then the same query natively, each timed: the
    // medians and the median of the pairwise differences cancel the drift of a loaded
    // machine and of the fake's own latency.
    let mut connector = Vec::with_capacity(BAN_CALLS as usize);
    let mut native = Vec::with_capacity(BAN_CALLS as usize);
    let mut delta = Vec::with_capacity(BAN_CALLS as usize);
    for i in 0..BAN_CALLS {
        let q = format!("{i} avenue de Ségur Paris");
        let t = Instant::now();
        std::hint::black_box(p.search_address("ban", &q, 5).await.unwrap());
        let c = t.elapsed().as_secs_f64() * 1e6;
        let t = Instant::now();
        std::hint::black_box(ban_native(&client, &up.base_url(), &q).await);
        let n = t.elapsed().as_secs_f64() * 1e6;
        connector.push(c);
        native.push(n);
        delta.push(c - n);
    }
    println!(
        "ban (loopback fake, {BAN_CALLS} interleaved pairs): connector median {:.1} µs/call, native reqwest+serde median {:.1} µs/call, overhead median {:.1} µs (p25 {:.1}, p75 {:.1}; target < 100 µs)",
        quantile(&mut connector, 0.5),
        quantile(&mut native, 0.5),
        quantile(&mut delta, 0.5),
        quantile(&mut delta, 0.25),
        quantile(&mut delta, 0.75),
    );
}

/// The `q` quantile of `values` (sorted in place).
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let i = ((values.len() as f64 - 1.0) * q).round() as usize;
    values.get(i).copied().unwrap_or_default()
}

async fn hot_swap(up: &FakeBan) {
    let dir = std::env::temp_dir().join(format!("demarches-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ban.wasm"), wasm("ban")).unwrap();
    let p = Plugins::new(policy(up)).unwrap();
    let _watch = p.watch(&dir).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.current("ban").is_none() {
        assert!(Instant::now() < deadline, "ban.wasm not loaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let v2 = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let seq = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..LOAD_TASKS {
        let (p, stop, ok, v2, failed, seq) = (
            p.clone(),
            stop.clone(),
            ok.clone(),
            v2.clone(),
            failed.clone(),
            seq.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let i = seq.fetch_add(1, Ordering::Relaxed);
                match p
                    .search_address("ban", &format!("{i} avenue de Ségur Paris"), 5)
                    .await
                {
                    Ok(r) => {
                        if r.first().is_some_and(|a| a.label.starts_with("v2 ")) {
                            v2.fetch_add(1, Ordering::Relaxed);
                        }
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        eprintln!("failed call: {e}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let count = || ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let (c0, t0) = (count(), Instant::now());
    tokio::time::sleep(PHASE).await;
    let before = (count() - c0) as f64 / t0.elapsed().as_secs_f64();

    // the operator's swap: write, then rename into the watched directory
    let (c1, t1) = (count(), Instant::now());
    std::fs::write(dir.join("ban.wasm.tmp"), wasm("ban_v2")).unwrap();
    std::fs::rename(dir.join("ban.wasm.tmp"), dir.join("ban.wasm")).unwrap();
    while v2.load(Ordering::Relaxed) == 0 {
        assert!(t1.elapsed() < Duration::from_secs(30), "v2 never answered");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let swap_time = t1.elapsed();
    let during = (count() - c1) as f64 / swap_time.as_secs_f64();

    let (c2, t2) = (count(), Instant::now());
    tokio::time::sleep(PHASE).await;
    let after = (count() - c2) as f64 / t2.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let version = p.current("ban").map(|l| l.version.clone());
    println!(
        "hot swap ({LOAD_TASKS} tasks, BAN via loopback fake): before {before:.0} calls/s, during {during:.0} calls/s \
         (rename → first v2 answer: {swap_time:?}, debounce {:?} included), after {after:.0} calls/s; \
         calls {}, failed {}; now serving {version:?}",
        demarches_plugins::watch::DEBOUNCE,
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "failed calls during the swap"
    );
    assert_eq!(version.as_deref(), Some("2.0.0"));
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        demarches_plugins::install_crypto_provider();
        let up = FakeBan::start().unwrap();
        overhead(&up).await;
        hot_swap(&up).await;
    });
}
