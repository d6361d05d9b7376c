//! Throttling. Sign-ins per account and per client address: after a few failures within a
//! window further attempts wait, the wait doubling while failures continue; those counts live
//! in the database, so every instance enforces the same lock-out. Signups per address and
//! wrong client secrets are counted in this process's memory (cheap, and bounded per
//! instance).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, RwLock};

use crate::oauth::context::SecretFailures;
use crate::store::{LockPolicy, Store, StoreError};

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

/// Sign-in failures per account and per address, in the database (see `store`).
pub const SIGN_IN_ACCOUNT: LockPolicy = LockPolicy {
    free: FREE_FAILURES_PER_ACCOUNT as i64,
    window: WINDOW_SECS,
    base_lock: BASE_LOCK_SECS,
    max_lock: MAX_LOCK_SECS,
};
pub const SIGN_IN_ADDRESS: LockPolicy = LockPolicy {
    free: FREE_FAILURES_PER_IP as i64,
    ..SIGN_IN_ACCOUNT
};

fn account_subject(login: &str) -> String {
    // Control characters (a NUL the database would refuse) count as one placeholder.
    let login: String = login
        .trim()
        .to_lowercase()
        .chars()
        .take(320)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("account:{login}")
}

fn address_subject(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

/// Starts a sign-in attempt: `Ok(Err(seconds))` while the account or address must wait;
/// otherwise the attempt is counted as a failure *before* the password is checked, so a burst
/// of concurrent guesses is throttled as surely as a sequence. `sign_in_succeeded` takes it
/// back.
pub async fn begin_sign_in(
    store: &Store,
    login: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Result<(), i64>, StoreError> {
    let account = account_subject(login);
    let address = ip.map(address_subject);
    let mut subjects = vec![account.as_str()];
    subjects.extend(address.as_deref());
    let wait = store.login_wait(&subjects, now).await?;
    if wait > 0 {
        return Ok(Err(wait));
    }
    store
        .count_login_failure(&account, &SIGN_IN_ACCOUNT, now)
        .await?;
    if let Some(address) = &address {
        store
            .count_login_failure(address, &SIGN_IN_ADDRESS, now)
            .await?;
    }
    Ok(Ok(()))
}

/// The attempt was right: the account starts afresh, and the address's count forgets this
/// attempt (but not its other failures: one right password must not reset a spray).
pub async fn sign_in_succeeded(
    store: &Store,
    login: &str,
    ip: Option<IpAddr>,
) -> Result<(), StoreError> {
    store.forget_login_failures(&account_subject(login)).await?;
    if let Some(ip) = ip {
        store
            .take_back_login_failure(&address_subject(ip), SIGN_IN_ADDRESS.free)
            .await?;
    }
    Ok(())
}

/// Signups per address (in memory).
#[derive(Default)]
pub struct LoginThrottle {
    signups: Mutex<HashMap<IpAddr, Failures>>,
}

impl LoginThrottle {
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
}

/// Client authentication failures per (client, address): wrong secrets for one client from
/// one address lock that pair out for a while; the client from elsewhere is unaffected, so an
/// attacker cannot lock a real client out. Successes cost one read of a shared map.
#[derive(Default)]
pub struct ClientThrottle {
    failures: RwLock<HashMap<(String, IpAddr), Failures>>,
}

impl SecretFailures for ClientThrottle {
    fn wait_secs(&self, client_id: &str, ip: IpAddr, now: i64) -> i64 {
        let failures = self.failures.read().unwrap_or_else(|p| p.into_inner());
        failures
            .get(&(client_id.to_owned(), ip))
            .map_or(0, |f| (f.locked_until - now).max(0))
    }

    /// A success forgets the pair's failures (a lock in force stays: `wait_secs` is asked
    /// first). Costs a write only when there is something to forget.
    fn record_success(&self, client_id: &str, ip: IpAddr) {
        let key = (client_id.to_owned(), ip);
        let known = {
            let failures = self.failures.read().unwrap_or_else(|p| p.into_inner());
            failures.contains_key(&key)
        };
        if known {
            let mut failures = self.failures.write().unwrap_or_else(|p| p.into_inner());
            failures.remove(&key);
        }
    }

    fn record_failure(&self, client_id: &str, ip: IpAddr, now: i64) {
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
    fn a_client_success_forgets_the_failures_before_it() {
        let t = ClientThrottle::default();
        let Ok(ip) = "192.0.2.9".parse::<IpAddr>() else {
            panic!("an address")
        };
        for round in 0..3 {
            for _ in 0..FREE_CLIENT_FAILURES - 1 {
                t.record_failure("app", ip, 10);
            }
            assert_eq!(t.wait_secs("app", ip, 10), 0, "round {round}");
            t.record_success("app", ip);
        }
        for _ in 0..FREE_CLIENT_FAILURES {
            t.record_failure("app", ip, 10);
        }
        assert!(t.wait_secs("app", ip, 10) > 0, "ten in a row lock");
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
}
