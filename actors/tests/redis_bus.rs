//! Two nodes sharing a real Redis see each other's events exactly once; a node's own
//! events reach it once (locally), never echoed back from Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use demarches_actors::{Bus, EventKind};
use tokio::time::timeout;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn changed(dossier_id: i64) -> EventKind {
    EventKind::DossierChanged {
        dossier_id,
        procedure_id: 1,
        groupe_id: Some(3),
        state: "en_construction".to_owned(),
        version: 1,
        change: "passer_en_construction".to_owned(),
    }
}

#[tokio::test]
async fn events_cross_nodes_through_redis_once() {
    let a = Bus::redis(&redis_url()).unwrap();
    let b = Bus::redis(&redis_url()).unwrap();
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();
    // Give both relays time to subscribe, then publish until B hears (subscription race).
    let id = rand_id();
    let mut received = None;
    for _ in 0..50 {
        a.publish(changed(id));
        if let Ok(Ok(event)) = timeout(Duration::from_millis(100), on_b.recv()).await {
            received = Some(event);
            break;
        }
    }
    let event = received.expect("node B received node A's event through Redis");
    assert_eq!(event.node, a.node());
    assert_eq!(event.kind, changed(id));
    // Node A got its own events locally, once each, and no echo from Redis.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut own = 0;
    while let Ok(event) = on_a.try_recv() {
        assert_eq!(event.node, a.node());
        own += 1;
    }
    let mut b_count = 1;
    while on_b.try_recv().is_ok() {
        b_count += 1;
    }
    assert!(own >= 1);
    assert!(
        b_count <= own,
        "B cannot receive more events than A published"
    );
}

#[tokio::test]
async fn local_bus_works_without_redis() {
    let bus = Bus::local();
    let mut rx = bus.subscribe();
    bus.publish(changed(5));
    let event = timeout(Duration::from_secs(1), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.kind, changed(5));
    assert!(!bus.is_distributed());
}

#[tokio::test]
async fn unreachable_redis_degrades_to_local_delivery() {
    // Nothing listens on port 1: publishing still delivers locally and never blocks.
    let bus = Bus::redis("redis://127.0.0.1:1").unwrap();
    let mut rx = bus.subscribe();
    bus.publish(changed(6));
    let event = timeout(Duration::from_secs(1), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.kind, changed(6));
}

fn rand_id() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(1)
}
