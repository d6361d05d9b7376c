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
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default(),
        }
    }
}
