//! Sign-in throttling per account and per client IP: after a few failures within a window,
//! further attempts wait, with the wait doubling while failures continue.
//!
//! Counts live in this process's memory: with several instances each throttles on its own,
//! which still bounds guessing to a small multiple of one instance's rate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, RwLock};

const FREE_FAILURES_PER_ACCOUNT: u32 = 5;
const FREE_FAILURES_PER_IP: u32 = 20;
/// Accounts one address may try to create per window.
const FREE_SIGNUPS_PER_IP: u32 = 10;
/// Wrong client secrets one address may send for one client per window.
const FREE_CLIENT_FAILURES: u32 = 10;
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
    signups: Mutex<HashMap<IpAddr, Failures>>,
}

impl LoginThrottle {
    /// Starts a sign-in attempt: `Err(seconds)` while the account or address must wait;
    /// otherwise the attempt is counted as a failure *before* the password is checked, so a
    /// burst of concurrent guesses is throttled as surely as a sequence. `succeeded` takes it
    /// back.
    pub fn begin(&self, login: &str, ip: Option<IpAddr>, now: i64) -> Result<(), i64> {
        let wait = self.wait_secs(login, ip, now);
        if wait > 0 {
            return Err(wait);
        }
        self.record_failure(login, ip, now);
        Ok(())
    }

    /// The attempt `begin` counted was right: the account starts afresh, and the address's
    /// count forgets this attempt (but not its other failures).
    pub fn succeeded(&self, login: &str, ip: Option<IpAddr>) {
        self.record_success(login);
        if let Some(ip) = ip
            && let Some(f) = lock(&self.ips).get_mut(&ip)
        {
            f.count = f.count.saturating_sub(1);
            if f.count < FREE_FAILURES_PER_IP {
                f.locked_until = 0;
            }
        }
    }

    /// Counts an account creation from `ip`: `Err(seconds)` once the address made too many.
    pub fn begin_signup(&self, ip: Option<IpAddr>, now: i64) -> Result<(), i64> {
        let Some(ip) = ip else { return Ok(()) };
        let mut signups = lock(&self.signups);
        let wait = signups.get(&ip).map_or(0, |f| f.locked_until - now);
        if wait > 0 {
            return Err(wait);
        }
        bump(&mut signups, ip, FREE_SIGNUPS_PER_IP, now);
        Ok(())
    }

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

/// Client authentication failures per (client, address): wrong secrets for one client from
/// one address lock that pair out for a while; the client from elsewhere is unaffected, so an
/// attacker cannot lock a real client out. Successes cost one read of a shared map.
#[derive(Default)]
pub struct ClientThrottle {
    failures: RwLock<HashMap<(String, IpAddr), Failures>>,
}

impl ClientThrottle {
    /// Seconds this address must wait before authenticating as this client again.
    pub fn wait_secs(&self, client_id: &str, ip: IpAddr, now: i64) -> i64 {
        let failures = self.failures.read().unwrap_or_else(|p| p.into_inner());
        failures
            .get(&(client_id.to_owned(), ip))
            .map_or(0, |f| (f.locked_until - now).max(0))
    }

    pub fn record_failure(&self, client_id: &str, ip: IpAddr, now: i64) {
        let mut failures = self.failures.write().unwrap_or_else(|p| p.into_inner());
        bump(
            &mut failures,
            (client_id.to_owned(), ip),
            FREE_CLIENT_FAILURES,
            now,
        );
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Failures>, key: K, free: u32, now: i64) {
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, f| f.locked_until > now || now - f.first_at < WINDOW_SECS);
    }
    if map.len() >= MAX_ENTRIES {
        // Flooded with fresh keys: keep the locks, forget the rest, stay bounded.
        map.retain(|_, f| f.locked_until > now);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
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
    fn attempts_count_before_the_check_and_a_success_is_taken_back() {
        let t = LoginThrottle::default();
        let ip: Option<IpAddr> = "192.0.2.9".parse().ok();
        // Five concurrent attempts all begin before any finishes: the sixth must wait.
        for _ in 0..FREE_FAILURES_PER_ACCOUNT {
            assert!(t.begin("carol", ip, 100).is_ok());
        }
        assert!(t.begin("carol", ip, 100).is_err());
        let t = LoginThrottle::default();
        for n in 0..FREE_FAILURES_PER_IP - 1 {
            assert!(t.begin(&format!("u{n}"), ip, 100).is_ok());
        }
        assert!(t.begin("right", ip, 100).is_ok());
        t.succeeded("right", ip);
        assert_eq!(
            t.wait_secs("next", ip, 100),
            0,
            "a success is not a failure"
        );
    }

    #[test]
    fn signups_per_address_are_limited() {
        let t = LoginThrottle::default();
        let ip: Option<IpAddr> = "192.0.2.7".parse().ok();
        for _ in 0..FREE_SIGNUPS_PER_IP - 1 {
            assert!(t.begin_signup(ip, 10).is_ok());
        }
        assert!(t.begin_signup(ip, 10).is_ok());
        assert!(t.begin_signup(ip, 10).is_err());
        assert!(t.begin_signup(None, 10).is_ok());
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
