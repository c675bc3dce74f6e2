//! Per-IP throttle of sign-in attempts (DS: 25 POST /users/sign_in per 15 s per IP).
//!
//! A fixed window per client address kept in memory. It is registered by
//! `web::accounts::routes`, which actix runs once per HTTP worker: each worker has its own
//! counters, so the effective limit is `limit × workers` per window on one node. That is
//! acceptable for its purpose (slowing down password guessing from one address; the
//! per-account lockout in the database is the real barrier).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counters are pruned once the table holds this many addresses.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct LoginThrottle {
    limit: u32,
    window: Duration,
    counters: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl LoginThrottle {
    pub fn new(limit: u32, window: Duration) -> Self {
        LoginThrottle {
            limit,
            window,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// DS's rule: 25 attempts per 15 seconds.
    pub fn sign_in() -> Self {
        Self::new(25, Duration::from_secs(15))
    }

    /// Counts an attempt from `ip` at `now`; false when it is over the limit.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if counters.len() >= PRUNE_ABOVE {
            let window = self.window;
            counters.retain(|_, (start, _)| now.saturating_duration_since(*start) < window);
        }
        let entry = counters.entry(ip).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_per_address_and_window() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(15));
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let t0 = Instant::now();
        assert!(throttle.allow(a, t0));
        assert!(throttle.allow(a, t0));
        assert!(throttle.allow(a, t0 + Duration::from_secs(1)));
        assert!(!throttle.allow(a, t0 + Duration::from_secs(2)));
        // Another address is counted apart.
        assert!(throttle.allow(b, t0 + Duration::from_secs(2)));
        // A new window starts after 15 s.
        assert!(throttle.allow(a, t0 + Duration::from_secs(15)));
    }

    #[test]
    fn prunes_expired_addresses() {
        let throttle = LoginThrottle::new(1, Duration::from_secs(1));
        let t0 = Instant::now();
        for i in 0..PRUNE_ABOVE as u32 {
            assert!(throttle.allow(IpAddr::from(i.to_be_bytes()), t0));
        }
        let later = t0 + Duration::from_secs(2);
        assert!(throttle.allow([192, 168, 0, 1].into(), later));
        let size = throttle
            .counters
            .lock()
            .map(|c| c.len())
            .unwrap_or_default();
        assert_eq!(size, 1);
    }
}
