//! Operator grants, parsed from `config/connectors.toml`.
//!
//! ```toml
//! [connectors.ban]
//! allowed_hosts = ["api-adresse.data.gouv.fr", "data.geopf.fr"]
//! timeout_ms = 3000
//! memory_mib = 64
//! max_concurrent_calls = 16
//! secrets = ["token"]          # read from DEMARCHES_CONNECTOR_BAN_TOKEN
//! [connectors.ban.config]      # keys the connector may read with config-get
//! base_url = "https://api-adresse.data.gouv.fr"
//! ```
//!
//! A connector without a grant cannot be loaded. What a connector may reach is
//! the intersection of the hosts it declares and `allowed_hosts`.
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// All grants, by connector name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub connectors: BTreeMap<String, Grant>,
}

/// What the operator grants one connector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Grant {
    /// `host`, `*.domain` or `host:port` (a form without port means the
    /// scheme's default port).
    pub allowed_hosts: Vec<String>,
    /// Values the connector may read with `config-get`.
    pub config: BTreeMap<String, String>,
    /// Keys read from `DEMARCHES_CONNECTOR_<NAME>_<KEY>` and readable with `config-get`.
    pub secrets: Vec<String>,
    /// Budget of one call, host calls included.
    pub timeout_ms: u64,
    /// Linear memory cap of one instance.
    pub memory_mib: u64,
    /// Calls running at once for this connector; more wait (within their budget).
    pub max_concurrent_calls: usize,
    /// Largest HTTP body, in or out, in KiB.
    pub max_body_kib: u64,
    /// Let the connector reach loopback addresses (tests, local fakes). Off by default.
    pub allow_loopback: bool,
    /// Let the connector use plain `http://`. Off by default (HTTPS only).
    pub allow_http: bool,
    /// Also deny private networks (10/8, 172.16/12, 192.168/16, fc00::/7).
    pub deny_private: bool,
}

impl Default for Grant {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            config: BTreeMap::new(),
            secrets: Vec::new(),
            timeout_ms: 3000,
            memory_mib: 64,
            max_concurrent_calls: 16,
            max_body_kib: 5 * 1024,
            allow_loopback: false,
            allow_http: false,
            deny_private: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("invalid connectors policy: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("connector {connector}: invalid host pattern {pattern:?}")]
    Pattern { connector: String, pattern: String },
}

impl Policy {
    pub fn from_toml(s: &str) -> Result<Self, PolicyError> {
        let policy: Policy = toml::from_str(s)?;
        for (name, grant) in &policy.connectors {
            for p in &grant.allowed_hosts {
                if HostPattern::parse(p).is_none() {
                    return Err(PolicyError::Pattern {
                        connector: name.clone(),
                        pattern: p.clone(),
                    });
                }
            }
        }
        Ok(policy)
    }

    /// Reads `path`; a missing file means "no grants".
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        match std::fs::read_to_string(path) {
            Ok(s) => Self::from_toml(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(PolicyError::Read(path.display().to_string(), e)),
        }
    }

    pub fn grant(&self, connector: &str) -> Option<&Grant> {
        self.connectors.get(connector)
    }
}

impl Grant {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }

    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
    }

    pub fn max_body_bytes(&self) -> usize {
        usize::try_from(self.max_body_kib.saturating_mul(1024)).unwrap_or(usize::MAX)
    }

    /// `config-get`: configured values, then granted secrets from the environment.
    pub fn config_value(&self, connector: &str, key: &str) -> Option<String> {
        if let Some(v) = self.config.get(key) {
            return Some(v.clone());
        }
        if self.secrets.iter().any(|s| s == key) {
            return std::env::var(secret_env_name(connector, key)).ok();
        }
        None
    }

    /// Whether every declared host is covered by a granted pattern.
    pub fn covers(&self, declared: &str) -> bool {
        let Some(d) = HostPattern::parse(declared) else {
            return false;
        };
        self.allowed_hosts
            .iter()
            .filter_map(|g| HostPattern::parse(g))
            .any(|g| g.covers(&d))
    }

    /// Whether an address may be connected to under this grant.
    pub fn ip_allowed(&self, ip: IpAddr) -> bool {
        ip_allowed(ip, self.allow_loopback, self.deny_private)
    }
}

/// `DEMARCHES_CONNECTOR_<NAME>_<KEY>`, upper case, `-` and `.` as `_`.
pub fn secret_env_name(connector: &str, key: &str) -> String {
    format!("DEMARCHES_CONNECTOR_{connector}_{key}")
        .to_ascii_uppercase()
        .replace(['-', '.'], "_")
}

/// Loopback only with `allow_loopback`; link-local (cloud metadata included),
/// unspecified, multicast and broadcast never; private ranges with `deny_private`.
pub fn ip_allowed(ip: IpAddr, allow_loopback: bool, deny_private: bool) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                return allow_loopback;
            }
            let o = v4.octets();
            let metadata = v4.is_link_local() || o == [100, 100, 100, 200];
            if metadata || v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() {
                return false;
            }
            !(deny_private && (v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64)))
        }
        IpAddr::V6(v6) => {
            if v6.is_loopback() {
                return allow_loopback;
            }
            let seg = v6.segments();
            let link_local = (seg[0] & 0xffc0) == 0xfe80;
            let ec2_metadata = seg[0] == 0xfd00 && seg[1] == 0x0ec2;
            if link_local || ec2_metadata || v6.is_unspecified() || v6.is_multicast() {
                return false;
            }
            !(deny_private && (seg[0] & 0xfe00) == 0xfc00)
        }
    }
}

/// One allow-list entry: `host`, `*.domain`, `host:port`, `*.domain:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Lower case, without the `*.` prefix for wildcards.
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostPattern {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        let (host, port) = match s.rsplit_once(':') {
            // an IPv6 literal has colons: accept it only bracketed
            Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
                (h.to_string(), Some(p.parse().ok()?))
            }
            _ => (s.clone(), None),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest.to_string(), true),
            None => (host, false),
        };
        let ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'));
        ok.then_some(Self {
            host,
            wildcard,
            port,
        })
    }

    /// Whether a request to `host:port` (port already defaulted) matches.
    pub fn matches(&self, host: &str, port: u16, default_port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let host_ok = if self.wildcard {
            host.len() > self.host.len()
                && host.ends_with(&self.host)
                && host[..host.len() - self.host.len()].ends_with('.')
        } else {
            host == self.host
        };
        host_ok && self.port.unwrap_or(default_port) == port
    }

    /// Whether this (granted) pattern covers another (declared) one.
    pub fn covers(&self, other: &HostPattern) -> bool {
        if self.port != other.port {
            return false;
        }
        match (self.wildcard, other.wildcard) {
            (false, false) => self.host == other.host,
            (false, true) => false,
            (true, _) => {
                other.host == self.host && other.wildcard
                    || other.host.ends_with(&format!(".{}", self.host))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let exact =
            HostPattern::parse("API-adresse.data.gouv.fr").unwrap_or_else(|| unreachable!());
        assert!(exact.matches("api-adresse.data.gouv.fr", 443, 443));
        assert!(!exact.matches("api-adresse.data.gouv.fr", 8443, 443));
        let wild = HostPattern::parse("*.gouv.fr").unwrap_or_else(|| unreachable!());
        assert!(wild.matches("data.gouv.fr", 443, 443));
        assert!(!wild.matches("gouv.fr", 443, 443));
        assert!(!wild.matches("evilgouv.fr", 443, 443));
        let port = HostPattern::parse("127.0.0.1:8080").unwrap_or_else(|| unreachable!());
        assert!(port.matches("127.0.0.1", 8080, 80));
        assert!(!port.matches("127.0.0.1", 80, 80));
        assert!(HostPattern::parse("bad host").is_none());
        assert!(HostPattern::parse("host:notaport").is_none());
    }

    #[test]
    fn grant_covers_declared() {
        let g = Grant {
            allowed_hosts: vec!["*.gouv.fr".into(), "127.0.0.1:9000".into()],
            ..Grant::default()
        };
        assert!(g.covers("api-adresse.data.gouv.fr"));
        assert!(g.covers("*.data.gouv.fr"));
        assert!(g.covers("127.0.0.1:9000"));
        assert!(!g.covers("127.0.0.1:9001"));
        assert!(!g.covers("example.com"));
    }

    #[test]
    fn ip_classes() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|_| unreachable!());
        assert!(!ip_allowed(ip("127.0.0.1"), false, false));
        assert!(ip_allowed(ip("127.0.0.1"), true, false));
        assert!(!ip_allowed(ip("169.254.169.254"), true, false));
        assert!(!ip_allowed(ip("::ffff:169.254.169.254"), true, false));
        assert!(!ip_allowed(ip("fe80::1"), true, false));
        assert!(!ip_allowed(ip("::1"), false, false));
        assert!(ip_allowed(ip("10.0.0.1"), false, false));
        assert!(!ip_allowed(ip("10.0.0.1"), false, true));
        assert!(ip_allowed(ip("93.184.216.34"), false, true));
    }

    #[test]
    fn parses_policy() {
        let p = Policy::from_toml(
            r#"
            [connectors.ban]
            allowed_hosts = ["api-adresse.data.gouv.fr"]
            timeout_ms = 1500
            [connectors.ban.config]
            base_url = "https://api-adresse.data.gouv.fr"
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let g = p.grant("ban").unwrap_or_else(|| unreachable!());
        assert_eq!(g.timeout_ms, 1500);
        assert_eq!(g.memory_mib, 64);
        assert_eq!(
            g.config_value("ban", "base_url").as_deref(),
            Some("https://api-adresse.data.gouv.fr")
        );
        assert_eq!(g.config_value("ban", "other"), None);
        assert!(Policy::from_toml("[connectors.x]\nallowed_hosts = [\"a b\"]").is_err());
        assert!(Policy::from_toml("[connectors.x]\nunknown = 1").is_err());
    }
}
