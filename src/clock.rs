//! Time as a parameter: handlers read the clock once and pass `now` (unix seconds) down, so
//! domain code can be tested at any instant.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Default)]
pub struct Clock {
    fixed: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock that stands still at `now` until moved (tests).
    pub fn fixed(now: i64) -> Self {
        Self {
            fixed: Some(Arc::new(AtomicI64::new(now))),
        }
    }

    /// Moves a fixed clock forward; no effect on the system clock.
    pub fn advance(&self, seconds: i64) {
        if let Some(t) = &self.fixed {
            t.fetch_add(seconds, Ordering::SeqCst);
        }
    }

    pub fn now(&self) -> i64 {
        match &self.fixed {
            Some(t) => t.load(Ordering::SeqCst),
            None => wall_clock(),
        }
    }
}

/// Unix seconds now. Clippy refuses `SystemTime::now` everywhere else (clippy.toml).
#[allow(
    clippy::disallowed_methods,
    reason = "the one place that reads the wall clock"
)]
fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// State kept between two requests (in the session, or sealed in the browser) that is good
/// for a limited time after it was made: a pending link, a round trip to a provider, a
/// sign-in awaiting its second factor, a passkey prompt, an authenticator being set up. Each
/// kind says its own lifetime beside its definition; `is_fresh` is the one check of it.
pub trait Expires {
    /// How long it stays good, in seconds.
    const TTL: i64;
    /// When it was made (unix seconds).
    fn made_at(&self) -> i64;

    fn is_fresh(&self, now: i64) -> bool {
        now - self.made_at() <= Self::TTL
    }
}

/// `kept`, unless it is too old to use.
pub fn fresh<T: Expires>(kept: Option<T>, now: i64) -> Option<T> {
    kept.filter(|k| k.is_fresh(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Prompt(i64);

    impl Expires for Prompt {
        const TTL: i64 = 300;
        fn made_at(&self) -> i64 {
            self.0
        }
    }

    #[test]
    fn fresh_until_its_lifetime_is_over() {
        assert!(fresh(Some(Prompt(1_000)), 1_300).is_some());
        assert!(fresh(Some(Prompt(1_000)), 1_301).is_none());
        assert!(fresh::<Prompt>(None, 1_000).is_none());
    }
}
