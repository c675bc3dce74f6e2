//! End-to-end tests of the plugin host with the real guests (connectors/),
//! against a loopback fake BAN upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{FakeBan, Fault, wasm};
use demarches_plugins::{
    CallError, ConnectorError, DemarcheConfig, FeedbackButton, LoadError, Plugins, Policy,
    RegistryError,
};

/// Grants for the fake upstream: `ban` talks to it; `misbehave` copies under
/// several names with their mode in config.
fn policy(up: &FakeBan, extra: &str) -> Policy {
    let text = format!(
        r#"
        [connectors.ban]
        allowed_hosts = ["api-adresse.data.gouv.fr", "{auth}"]
        allow_loopback = true
        allow_http = true
        timeout_ms = 1000
        [connectors.ban.config]
        base_url = "{base}"

        [connectors.echo]
        timeout_ms = 1000
        [connectors.echo.config]
        name = "echo"
        mode = "echo"

        {extra}
        "#,
        auth = up.authority(),
        base = up.base_url(),
    );
    Policy::from_toml(&text).unwrap()
}

async fn host(up: &FakeBan, extra: &str) -> Plugins {
    let p = Plugins::new(policy(up, extra)).unwrap();
    p.load_bytes("ban", &wasm("ban")).await.unwrap();
    p
}

/// A misbehave copy named `name` with `mode` and extra grant lines.
fn misbehave(name: &str, mode: &str, grant: &str, config: &str) -> String {
    format!(
        "[connectors.{name}]\n{grant}\n[connectors.{name}.config]\nname = \"{name}\"\nmode = \"{mode}\"\n{config}\n"
    )
}

async fn assert_host_healthy(p: &Plugins) {
    let r = p
        .search_address("ban", "20 avenue de Ségur Paris", 5)
        .await
        .unwrap();
    assert_eq!(r.len(), 1);
    assert!(
        r[0].label.ends_with("20 Avenue de Ségur 75007 Paris"),
        "{:?}",
        r[0]
    );
    p.load_bytes("echo", &wasm("misbehave")).await.unwrap();
    let e = p.search_address("echo", "bonjour", 1).await.unwrap();
    assert!(e[0].label.starts_with("echo bonjour at "), "{:?}", e[0]);
}

// ------------------------------------------------------------------ BAN contract

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_search_maps_features() {
    let up = FakeBan::start().unwrap();
    let p = host(&up, "").await;
    let info = &p.current("ban").unwrap().info;
    assert_eq!(info.name, "ban");
    assert_eq!(info.version, "1.0.0");
    assert_eq!(info.capabilities, vec!["address"]);
    assert!(info.requested_hosts.contains(&up.authority()));

    let r = p
        .search_address("ban", "20 avenue de Ségur Paris", 5)
        .await
        .unwrap();
    assert_eq!(r.len(), 1);
    let a = &r[0];
    assert_eq!(a.label, "20 Avenue de Ségur 75007 Paris");
    assert_eq!(a.postcode.as_deref(), Some("75007"));
    assert_eq!(a.citycode.as_deref(), Some("75107"));
    assert_eq!(a.ban_id.as_deref(), Some("75107_8909_00020"));
    assert!((a.lon - 2.308628).abs() < 1e-9 && (a.lat - 48.850699).abs() < 1e-9);

    let r = p.search_address("ban", "Alès", 5).await.unwrap();
    assert_eq!(r[0].label, "Alès");
    assert_eq!(r[0].citycode.as_deref(), Some("30007"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_empty_result() {
    let up = FakeBan::start().unwrap();
    let p = host(&up, "").await;
    let r = p
        .search_address("ban", "zzqxw ygrk 99999", 5)
        .await
        .unwrap();
    assert!(r.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_400_is_invalid_input() {
    let up = FakeBan::start().unwrap();
    let p = host(&up, "").await;
    let e = p.search_address("ban", "ab", 5).await.unwrap_err();
    match &e {
        CallError::Guest(ConnectorError::InvalidInput(m)) => {
            assert!(
                m.starts_with("Failed parsing query: q: must contain"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.retryable());
    let e = p
        .search_address("ban", "20 avenue de Ségur", 0)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CallError::Guest(ConnectorError::InvalidInput(ref m)) if m.contains("limit")),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_5xx_is_unavailable_and_retryable() {
    let up = FakeBan::start().unwrap();
    up.fail("panne", Fault::Unavailable(Some(7)));
    let p = host(&up, "").await;
    let e = p.search_address("ban", "panne", 5).await.unwrap_err();
    assert_eq!(e, CallError::Guest(ConnectorError::Unavailable(Some(7))));
    assert!(e.retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_slow_upstream_times_out_within_budget() {
    let up = FakeBan::start().unwrap();
    up.fail("lent", Fault::Hang(Duration::from_secs(5)));
    let p = host(&up, "").await;
    let t = Instant::now();
    let e = p.search_address("ban", "lent", 5).await.unwrap_err();
    let took = t.elapsed();
    assert_eq!(e, CallError::Timeout);
    assert!(e.retryable());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    assert_host_healthy(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_connector_is_not_loaded() {
    let up = FakeBan::start().unwrap();
    let p = host(&up, "").await;
    let e = p.search_address("nope", "x", 1).await.unwrap_err();
    assert_eq!(e, CallError::NotLoaded("nope".into()));
    let e = p
        .load_bytes("nogrant", &wasm("misbehave"))
        .await
        .unwrap_err();
    assert_eq!(e, LoadError::NoGrant("nogrant".into()));
}

// ------------------------------------------------------------------ sandbox

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_is_stopped_at_its_deadline() {
    let up = FakeBan::start().unwrap();
    let p = host(&up, &misbehave("looper", "loop", "timeout_ms = 200", "")).await;
    p.load_bytes("looper", &wasm("misbehave")).await.unwrap();
    let t = Instant::now();
    let e = p.search_address("looper", "x", 1).await.unwrap_err();
    let took = t.elapsed();
    assert_eq!(e, CallError::Timeout);
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    // a spinning guest yields at every tick: other calls proceed meanwhile
    let (a, b) = tokio::join!(p.search_address("looper", "x", 1), async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        p.search_address("ban", "20 avenue de Ségur Paris", 5).await
    });
    assert_eq!(a.unwrap_err(), CallError::Timeout);
    assert!(b.is_ok());
    assert_host_healthy(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_is_stopped_at_the_cap() {
    let up = FakeBan::start().unwrap();
    let p = host(&up, &misbehave("hog", "memory", "memory_mib = 32", "")).await;
    p.load_bytes("hog", &wasm("misbehave")).await.unwrap();
    let e = p.search_address("hog", "x", 1).await.unwrap_err();
    assert_eq!(e, CallError::MemoryLimit);
    assert!(!e.retryable());
    assert_host_healthy(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_host_is_denied() {
    let up = FakeBan::start().unwrap();
    let grant = format!(
        "allowed_hosts = [\"{}\"]\nallow_loopback = true\nallow_http = true",
        up.authority()
    );
    let config = format!(
        "declared_hosts = \"{}\"\nurl = \"http://evil.test/x\"",
        up.authority()
    );
    let p = host(&up, &misbehave("sneaky", "fetch", &grant, &config)).await;
    p.load_bytes("sneaky", &wasm("misbehave")).await.unwrap();
    let e = p.search_address("sneaky", "x", 1).await.unwrap_err();
    assert_eq!(e, CallError::DeniedHost("evil.test:80".into()));
    assert!(!e.retryable());
    // a declared host the operator did not grant: the artifact is refused
    let config = format!("declared_hosts = \"{},evil.test\"", up.authority());
    let p2 = Plugins::new(policy(&up, &misbehave("greedy", "echo", &grant, &config))).unwrap();
    let e = p2
        .load_bytes("greedy", &wasm("misbehave"))
        .await
        .unwrap_err();
    assert_eq!(e, LoadError::HostNotGranted("evil.test".into()));
    assert_host_healthy(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_and_metadata_are_denied_without_the_grant() {
    let up = FakeBan::start().unwrap();
    let port = up.port();
    // granted host, but loopback not granted: by IP literal and by name
    let grant =
        format!("allowed_hosts = [\"127.0.0.1:{port}\", \"localhost:{port}\"]\nallow_http = true");
    let lit = format!(
        "declared_hosts = \"127.0.0.1:{port}\"\nurl = \"http://127.0.0.1:{port}/search/?q=segur\""
    );
    let name = format!(
        "declared_hosts = \"localhost:{port}\"\nurl = \"http://localhost:{port}/search/?q=segur\""
    );
    // metadata: even with allow_loopback
    let meta_grant =
        "allowed_hosts = [\"169.254.169.254\"]\nallow_http = true\nallow_loopback = true";
    let meta =
        "declared_hosts = \"169.254.169.254\"\nurl = \"http://169.254.169.254/latest/meta-data/\"";
    let extra = [
        misbehave("lit", "fetch", &grant, &lit),
        misbehave("byname", "fetch", &grant, &name),
        misbehave("meta", "fetch", meta_grant, meta),
    ]
    .join("\n");
    let p = host(&up, &extra).await;
    let hits_before = up.hits();
    for n in ["lit", "byname", "meta"] {
        p.load_bytes(n, &wasm("misbehave")).await.unwrap();
        let e = p.search_address(n, "x", 1).await.unwrap_err();
        assert!(matches!(e, CallError::DeniedHost(_)), "{n}: {e:?}");
    }
    assert_eq!(up.hits(), hits_before, "no request reached the upstream");
    assert_host_healthy(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_rechecked_at_each_hop() {
    let up = FakeBan::start().unwrap();
    let auth = up.authority();
    let grant = format!("allowed_hosts = [\"{auth}\"]\nallow_loopback = true\nallow_http = true");
    let cfg = |path: &str| format!("declared_hosts = \"{auth}\"\nurl = \"http://{auth}{path}\"");
    let extra = [
        misbehave("hopok", "fetch", &grant, &cfg("/redirect-ok")),
        misbehave("hopmeta", "fetch", &grant, &cfg("/redirect-metadata")),
        misbehave("hopevil", "fetch", &grant, &cfg("/redirect-elsewhere")),
    ]
    .join("\n");
    let p = host(&up, &extra).await;
    for n in ["hopok", "hopmeta", "hopevil"] {
        p.load_bytes(n, &wasm("misbehave")).await.unwrap();
    }
    let ok = p.search_address("hopok", "x", 1).await.unwrap();
    assert_eq!(ok[0].label, "status 200");
    assert_eq!(
        p.search_address("hopmeta", "x", 1).await.unwrap_err(),
        CallError::DeniedHost("169.254.169.254:80".into())
    );
    assert_eq!(
        p.search_address("hopevil", "x", 1).await.unwrap_err(),
        CallError::DeniedHost("evil.test:80".into())
    );
    assert_host_healthy(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_get_reveals_only_granted_keys() {
    let up = FakeBan::start().unwrap();
    // SAFETY: this test binary's only use of this variable
    unsafe { std::env::set_var("DEMARCHES_CONNECTOR_PROBE_TOKEN", "s3cret") };
    let extra = misbehave(
        "probe",
        "config",
        "secrets = [\"token\"]",
        "colour = \"bleu\"",
    );
    let p = host(&up, &extra).await;
    p.load_bytes("probe", &wasm("misbehave")).await.unwrap();
    let r = p
        .search_address("probe", "colour,token,base_url,path,HOME", 10)
        .await
        .unwrap();
    let labels: Vec<_> = r.iter().map(|a| a.label.as_str()).collect();
    // base_url is granted to ban, not to probe; the process environment is not readable
    assert_eq!(
        labels,
        [
            "colour=bleu",
            "token=s3cret",
            "base_url=none",
            "path=none",
            "HOME=none"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_is_namespaced_per_connector() {
    let up = FakeBan::start().unwrap();
    let extra = [
        misbehave("cachea", "cache", "", ""),
        misbehave("cacheb", "cache", "", ""),
    ]
    .join("\n");
    let p = host(&up, &extra).await;
    for n in ["cachea", "cacheb"] {
        p.load_bytes(n, &wasm("misbehave")).await.unwrap();
    }
    let label = |r: Vec<demarches_plugins::Address>| r[0].label.clone();
    assert_eq!(
        label(p.search_address("cachea", "k", 1).await.unwrap()),
        "miss"
    );
    assert_eq!(
        label(p.search_address("cachea", "k", 1).await.unwrap()),
        "hit cachea"
    );
    assert_eq!(
        label(p.search_address("cacheb", "k", 1).await.unwrap()),
        "miss"
    );
    assert_eq!(
        label(p.search_address("cacheb", "k", 1).await.unwrap()),
        "hit cacheb"
    );
}

// ------------------------------------------------------------------ lifecycle

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_swap_under_load_loses_no_call() {
    let up = FakeBan::start().unwrap();
    let p = host(&up, "").await;
    let v2 = wasm("ban_v2");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (v1n, v2n, failed) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (p, stop, v1n, v2n, failed) = (
            p.clone(),
            stop.clone(),
            v1n.clone(),
            v2n.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match p.search_address("ban", "20 avenue de Ségur Paris", 5).await {
                    Ok(r) if r[0].label.starts_with("v2 ") => v2n.fetch_add(1, Ordering::SeqCst),
                    Ok(_) => v1n.fetch_add(1, Ordering::SeqCst),
                    Err(e) => {
                        eprintln!("failed call: {e}");
                        failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before_swap = v2n.load(Ordering::SeqCst);
    let report = p.load_bytes("ban", &v2).await.unwrap();
    assert_eq!(report.version, "2.0.0");
    assert_eq!(report.previous_version.as_deref(), Some("1.0.0"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    let (a, b, f) = (
        v1n.load(Ordering::SeqCst),
        v2n.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst),
    );
    eprintln!(
        "hot swap: v1={a} v2={b} failed={f} compile={:?}",
        report.compile_time
    );
    assert_eq!(f, 0);
    assert_eq!(before_swap, 0);
    assert!(a > 0 && b > 0, "v1={a} v2={b}");
    let r = p
        .search_address("ban", "20 avenue de Ségur Paris", 5)
        .await
        .unwrap();
    assert_eq!(r[0].label, "v2 20 Avenue de Ségur 75007 Paris");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_artifact_is_rejected_and_current_keeps_serving() {
    let up = FakeBan::start().unwrap();
    let p = host(&up, "").await;
    let e = p.load_bytes("ban", b"\0asm not really").await.unwrap_err();
    assert!(matches!(e, LoadError::Compile(_)), "{e:?}");
    let mut truncated = wasm("ban");
    truncated.truncate(truncated.len() / 2);
    let e = p.load_bytes("ban", &truncated).await.unwrap_err();
    assert!(matches!(e, LoadError::Compile(_)), "{e:?}");
    // a valid component that is another connector
    let e = p.load_bytes("ban", &wasm("misbehave")).await.unwrap_err();
    assert!(matches!(e, LoadError::NameMismatch { .. }), "{e:?}");

    let status = p.status();
    let ban = status.iter().find(|s| s.name == "ban").unwrap();
    assert_eq!(ban.version.as_deref(), Some("1.0.0"));
    let rej = ban.rejection.as_ref().unwrap();
    assert!(rej.reason.contains("describes itself as"), "{}", rej.reason);
    let r = p
        .search_address("ban", "20 avenue de Ségur Paris", 5)
        .await
        .unwrap();
    assert_eq!(r[0].label, "20 Avenue de Ségur 75007 Paris");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_the_previous_version() {
    let up = FakeBan::start().unwrap();
    let p = host(&up, "").await;
    assert_eq!(
        p.rollback("ban").unwrap_err(),
        RegistryError::NoPrevious("ban".into())
    );
    assert_eq!(
        p.rollback("nope").unwrap_err(),
        RegistryError::Unknown("nope".into())
    );
    p.load_bytes("ban", &wasm("ban_v2")).await.unwrap();
    let label = |r: Vec<demarches_plugins::Address>| r[0].label.clone();
    let q = "20 avenue de Ségur Paris";
    assert!(label(p.search_address("ban", q, 5).await.unwrap()).starts_with("v2 "));
    assert_eq!(p.rollback("ban").unwrap(), "1.0.0");
    assert!(!label(p.search_address("ban", q, 5).await.unwrap()).starts_with("v2 "));
    assert_eq!(p.rollback("ban").unwrap(), "2.0.0");
    assert!(label(p.search_address("ban", q, 5).await.unwrap()).starts_with("v2 "));
    assert!(p.unload("ban"));
    assert_eq!(
        p.search_address("ban", q, 5).await.unwrap_err(),
        CallError::NotLoaded("ban".into())
    );
    assert_eq!(p.rollback("ban").unwrap(), "2.0.0");
}

async fn eventually<F: Fn() -> bool>(what: &str, f: F) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_loads_swaps_rejects_and_unloads() {
    let up = FakeBan::start().unwrap();
    let p = Plugins::new(policy(&up, "")).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "demarches-plugins-{}-{}",
        std::process::id(),
        line!()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let put = |bytes: &[u8]| {
        let tmp = dir.join("ban.tmp");
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, dir.join("ban.wasm")).unwrap();
    };
    put(&wasm("ban"));
    let _w = p.watch(&dir).unwrap();
    let version = |p: &Plugins| p.current("ban").map(|l| l.version.clone());
    eventually("v1", || version(&p).as_deref() == Some("1.0.0")).await;

    put(&wasm("ban_v2"));
    eventually("v2", || version(&p).as_deref() == Some("2.0.0")).await;

    put(b"garbage");
    eventually("rejection", || {
        p.status()
            .iter()
            .any(|s| s.name == "ban" && s.rejection.is_some())
    })
    .await;
    assert_eq!(version(&p).as_deref(), Some("2.0.0"));
    let r = p
        .search_address("ban", "20 avenue de Ségur Paris", 5)
        .await
        .unwrap();
    assert!(r[0].label.starts_with("v2 "));

    std::fs::remove_file(dir.join("ban.wasm")).unwrap();
    eventually("unload", || version(&p).is_none()).await;
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------ démarche config

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demarche_config_is_read_after_the_operator_grant() {
    let up = FakeBan::start().unwrap();
    let extra = misbehave("probe", "config", "", "colour = \"bleu\"");
    let p = host(&up, &extra).await;
    p.load_bytes("probe", &wasm("misbehave")).await.unwrap();
    let demarche = DemarcheConfig::from_json(&serde_json::json!({
        "colour": "rouge", "limit": 3, "label": "Mairie", "none": null
    }));
    let labels =
        |r: Vec<demarches_plugins::Address>| r.into_iter().map(|a| a.label).collect::<Vec<_>>();
    let q = "colour,limit,label,none";
    // the operator's value wins; the démarche adds its own keys
    assert_eq!(
        labels(
            p.search_address_for("probe", &demarche, q, 10)
                .await
                .unwrap()
        ),
        ["colour=bleu", "limit=3", "label=Mairie", "none=none"]
    );
    // outside a démarche, only the grant
    assert_eq!(
        labels(p.search_address("probe", q, 10).await.unwrap()),
        ["colour=bleu", "limit=none", "label=none", "none=none"]
    );
}

// ------------------------------------------------------------------ MonAvis

fn monavis_fixture(name: &str) -> String {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/monavis")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn monavis_host() -> Plugins {
    let p = Plugins::new(Policy::from_toml("[connectors.monavis]\n").unwrap()).unwrap();
    let report = p.load_bytes("monavis", &wasm("monavis")).await.unwrap();
    assert_eq!(report.version, "1.0.0");
    let info = p.current("monavis").unwrap().info.clone();
    assert_eq!(info.capabilities, ["feedback"]);
    assert!(info.requested_hosts.is_empty());
    assert!(
        info.config_schema.contains("\"embed\""),
        "{}",
        info.config_schema
    );
    p
}

async fn button(p: &Plugins, embed: &str) -> Result<Option<FeedbackButton>, CallError> {
    let config = DemarcheConfig::from_json(&serde_json::json!({ "embed": embed }));
    p.monavis_button("monavis", &config, "42").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monavis_accepts_the_three_real_snippets_as_structured_buttons() {
    let p = monavis_host().await;
    let b = button(
        &p,
        &monavis_fixture("valid_1_jedonnemonavis_legacy_key_png.html"),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        b,
        FeedbackButton {
            // DS's rendering on the confirmation page: nd_source=site
            href: "https://jedonnemonavis.numerique.gouv.fr/Demarches/123456?&view-mode=formulaire-avis&nd_mode=en-ligne-enti%C3%A8rement&nd_source=site&key=cd4a872d4".into(),
            image_url: "https://jedonnemonavis.numerique.gouv.fr/monavis-static/bouton-bleu.png".into(),
            alt: "Je donne mon avis".into(),
        }
    );
    let b = button(&p, &monavis_fixture("valid_2_voxusagers_svg.html"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        b.image_url,
        "https://voxusagers.numerique.gouv.fr/static/bouton-bleu.svg"
    );
    let b = button(
        &p,
        &monavis_fixture("valid_3_jdma_current_button_param.html"),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        b.href,
        "https://jedonnemonavis.numerique.gouv.fr/Demarches/3639?button=4242"
    );
    // no embed code: no button, no error
    assert_eq!(button(&p, "  ").await.unwrap(), None);
    assert_eq!(
        p.monavis_button("monavis", &DemarcheConfig::default(), "42")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monavis_refuses_bad_snippets_with_french_messages() {
    let p = monavis_host().await;
    let cases = [
        (
            "invalid_1_plain_text.html",
            "Le code MonAvis doit comporter un lien\nLe code MonAvis doit comporter une image",
        ),
        (
            "invalid_2_foreign_http_image_only.html",
            "Le code MonAvis doit comporter un lien\nLe code MonAvis contient une image avec un schéma d’URL non autorisé",
        ),
        (
            "invalid_3_foreign_domain_link.html",
            "Le code MonAvis contient un lien pointant vers un domaine invalide\nLe code MonAvis contient une image pointant vers un domaine invalide",
        ),
        (
            "invalid_4_onerror_attribute.html",
            "Le code MonAvis contient un attribut interdit : onerror\nLe code MonAvis contient une image pointant vers un domaine invalide",
        ),
        (
            "invalid_5_javascript_scheme.html",
            "Le code MonAvis contient un lien avec un schéma d’URL non autorisé",
        ),
        (
            "invalid_6_script_element.html",
            "Le code MonAvis contient une balise interdite : script",
        ),
        // DS accepts this one (unanchored regex); a strict validator must not
        (
            "quirk_accepted_by_ds_foreign_domain.html",
            "Le code MonAvis contient un lien pointant vers un domaine invalide\nLe code MonAvis contient une image pointant vers un domaine invalide",
        ),
    ];
    for (file, expected) in cases {
        let err = button(&p, &monavis_fixture(file)).await.unwrap_err();
        assert_eq!(
            err,
            CallError::Guest(ConnectorError::InvalidInput(expected.into())),
            "{file}"
        );
        assert!(!err.retryable());
    }
    // a monavis connector is not an address connector
    assert!(matches!(
        p.search_address("monavis", "x", 1).await.unwrap_err(),
        CallError::Unsupported { .. }
    ));
}

// ------------------------------------------------------------------ rollback (files)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_rollback_restores_the_previous_artifact_and_watchers_converge() {
    use demarches_plugins::files;
    let up = FakeBan::start().unwrap();
    let dir = std::env::temp_dir().join(format!(
        "demarches-plugins-{}-{}",
        std::process::id(),
        line!()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // two nodes watching the same directory
    let nodes = [
        Plugins::new(policy(&up, "")).unwrap(),
        Plugins::new(policy(&up, "")).unwrap(),
    ];
    assert!(matches!(
        files::rollback(&dir, "ban").await.unwrap_err(),
        files::RollbackError::NoPrevious(_)
    ));
    files::install(&dir, "ban", &wasm("ban")).await.unwrap();
    let _w: Vec<_> = nodes.iter().map(|p| p.watch(&dir).unwrap()).collect();
    let version = |p: &Plugins| p.current("ban").map(|l| l.version.clone());
    let all = |v: &'static str| {
        let nodes = &nodes;
        move || nodes.iter().all(|p| version(p).as_deref() == Some(v))
    };
    eventually("v1 everywhere", all("1.0.0")).await;

    // an operator drops v2 by hand (write + rename): the nodes keep v1 as previous
    let tmp = dir.join("ban.tmp");
    std::fs::write(&tmp, wasm("ban_v2")).unwrap();
    std::fs::rename(&tmp, files::current_path(&dir, "ban")).unwrap();
    eventually("v2 everywhere", all("2.0.0")).await;
    eventually("previous kept", || {
        std::fs::read(files::previous_path(&dir, "ban")).is_ok_and(|b| b == wasm("ban"))
    })
    .await;

    // rollback: v1 is current again on every node, v2 becomes the previous
    files::rollback(&dir, "ban").await.unwrap();
    eventually("v1 back everywhere", all("1.0.0")).await;
    assert_eq!(
        std::fs::read(files::current_path(&dir, "ban")).unwrap(),
        wasm("ban")
    );
    assert_eq!(
        std::fs::read(files::previous_path(&dir, "ban")).unwrap(),
        wasm("ban_v2")
    );
    let r = nodes[1]
        .search_address("ban", "20 avenue de Ségur Paris", 5)
        .await
        .unwrap();
    assert_eq!(r[0].label, "20 Avenue de Ségur 75007 Paris");
    // a second rollback undoes the first
    files::rollback(&dir, "ban").await.unwrap();
    eventually("v2 again", all("2.0.0")).await;
    let _ = std::fs::remove_dir_all(&dir);
}
