//! Sign-in throttling per account and per client IP: after a few failures within a window,
//! further attempts wait, with the wait doubling while failures continue.
//!
//! Counts live in this process's memory: with several instances each throttles on its own,
//! which still bounds guessing to a small multiple of one instance's rate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

const FREE_FAILURES_PER_ACCOUNT: u32 = 5;
const FREE_FAILURES_PER_IP: u32 = 20;
const WINDOW_SECS: i64 = 15 * 60;
const BASE_LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 15 * 60;
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone, Copy, Debug, Default)]
struct Failures {
    count: u32,
    first_at: i64,
    locked_until: i64,
}

#[derive(Default)]
pub struct LoginThrottle {
    accounts: Mutex<HashMap<String, Failures>>,
    ips: Mutex<HashMap<IpAddr, Failures>>,
}

impl LoginThrottle {
    /// Seconds to wait before this account or this address may try again (0: go ahead).
    pub fn wait_secs(&self, login: &str, ip: Option<IpAddr>, now: i64) -> i64 {
        let key = login.trim().to_lowercase();
        let account = lock(&self.accounts)
            .get(&key)
            .map_or(0, |f| f.locked_until - now);
        let address = ip.and_then(|ip| lock(&self.ips).get(&ip).map(|f| f.locked_until - now));
        account.max(address.unwrap_or(0)).max(0)
    }

    pub fn record_failure(&self, login: &str, ip: Option<IpAddr>, now: i64) {
        let key = login.trim().to_lowercase();
        bump(
            &mut lock(&self.accounts),
            key,
            FREE_FAILURES_PER_ACCOUNT,
            now,
        );
        if let Some(ip) = ip {
            bump(&mut lock(&self.ips), ip, FREE_FAILURES_PER_IP, now);
        }
    }

    /// A successful sign-in clears the account's count (not the address's: one right
    /// password must not reset a spray against many accounts).
    pub fn record_success(&self, login: &str) {
        lock(&self.accounts).remove(&login.trim().to_lowercase());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Failures>, key: K, free: u32, now: i64) {
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, f| f.locked_until > now || now - f.first_at < WINDOW_SECS);
    }
    let entry = map.entry(key).or_default();
    if now - entry.first_at >= WINDOW_SECS && entry.locked_until <= now {
        *entry = Failures {
            count: 0,
            first_at: now,
            locked_until: 0,
        };
    }
    entry.count += 1;
    if entry.count >= free {
        let doublings = (entry.count - free).min(10);
        entry.locked_until = now + (BASE_LOCK_SECS << doublings).min(MAX_LOCK_SECS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_repeated_failures_and_backs_off() {
        let t = LoginThrottle::default();
        let ip: Option<IpAddr> = "127.0.0.1".parse().ok();
        for _ in 0..FREE_FAILURES_PER_ACCOUNT - 1 {
            t.record_failure("Alice", ip, 1000);
        }
        assert_eq!(t.wait_secs("alice", ip, 1000), 0);
        t.record_failure("alice", ip, 1000);
        assert_eq!(t.wait_secs("ALICE", None, 1000), BASE_LOCK_SECS);
        assert_eq!(t.wait_secs("alice", None, 1000 + BASE_LOCK_SECS), 0);
        t.record_failure("alice", ip, 1000 + BASE_LOCK_SECS);
        assert_eq!(
            t.wait_secs("alice", None, 1000 + BASE_LOCK_SECS),
            2 * BASE_LOCK_SECS
        );
        assert_eq!(
            t.wait_secs("bob", None, 1000),
            0,
            "other accounts unaffected"
        );
        t.record_success("alice");
        assert_eq!(t.wait_secs("alice", None, 1000 + BASE_LOCK_SECS), 0);
    }

    #[test]
    fn locks_an_address_spraying_many_accounts() {
        let t = LoginThrottle::default();
        let ip: Option<IpAddr> = "192.0.2.1".parse().ok();
        for n in 0..FREE_FAILURES_PER_IP {
            t.record_failure(&format!("user{n}"), ip, 50);
        }
        assert!(t.wait_secs("someone-new", ip, 50) > 0);
        assert_eq!(t.wait_secs("someone-new", None, 50), 0);
    }
}
