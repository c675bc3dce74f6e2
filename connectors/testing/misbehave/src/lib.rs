//! Test guest that misbehaves on purpose. Its connector name and behaviour
//! come from config (granted by the test's policy):
//! - `name`: connector name reported by describe (default "misbehave");
//! - `declared_hosts`: comma-separated requested hosts;
//! - `mode` read at each search: `loop` (spin forever), `memory` (grow memory
//!   until refused), `fetch` (GET `url` and report status), `config` (one
//!   address per comma-separated key of the query: `key=value` or `key=none`),
//!   `cache` (`hit <value>` if the query is cached, else caches it for 60 s and
//!   answers `miss`), `echo` (answer one address labelled with the query).
use connector_sdk::{
    Address, AddressGuest, ConnectorError, ConnectorInfo, MetaGuest, config_or, host,
};

struct Misbehave;

impl MetaGuest for Misbehave {
    fn describe() -> ConnectorInfo {
        let hosts = config_or("declared_hosts", "");
        ConnectorInfo {
            name: config_or("name", "misbehave"),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec!["address".into()],
            requested_hosts: hosts
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(String::from)
                .collect(),
            config_schema: "{}".into(),
        }
    }
}

fn one(label: String) -> Vec<Address> {
    vec![Address {
        label,
        postcode: None,
        citycode: None,
        lon: 0.0,
        lat: 0.0,
        ban_id: None,
    }]
}

impl AddressGuest for Misbehave {
    fn search_address(query: String, _limit: u8) -> Result<Vec<Address>, ConnectorError> {
        match config_or("mode", "echo").as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![1u8; 8 << 20]));
                }
            }
            "fetch" => {
                let url = config_or("url", "");
                match connector_sdk::get(&url) {
                    Ok(r) => Ok(one(format!("status {}", r.status))),
                    Err(e) => Err(connector_sdk::fetch_error(e)),
                }
            }
            "config" => Ok(query
                .split(',')
                .flat_map(|k| {
                    let v = host::config_get(k).unwrap_or_else(|| "none".into());
                    one(format!("{k}={v}"))
                })
                .collect()),
            "cache" => match host::cache_get(&query) {
                Some(v) => Ok(one(format!("hit {}", String::from_utf8_lossy(&v)))),
                None => {
                    host::cache_set(&query, config_or("name", "?").as_bytes(), 60);
                    Ok(one("miss".into()))
                }
            },
            _ => Ok(one(format!("echo {query} at {}", host::now_unix_ms()))),
        }
    }
}

connector_sdk::export_address_provider!(Misbehave);
