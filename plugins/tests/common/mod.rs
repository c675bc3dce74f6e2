//! Test support: the guest artifacts, and the loopback fake of the BAN API
//! (`demarches_fakes::ban`).
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

pub use demarches_fakes::ban::{FakeBan, Fault};

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
