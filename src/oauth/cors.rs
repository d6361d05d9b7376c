//! Which browser origins may call the API endpoints (token, userinfo, revocation,
//! introspection): the rules for registering an origin, and the set of every client's origins
//! that answers preflights, which carry no client id.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use crate::store::Store;

use super::client::Client;

/// A miss is looked up again at most this often: a client registered a moment ago is seen
/// at once, and unknown origins cost at most one query a second.
const MISS_RELOAD_SECS: i64 = 1;

/// The origin (`scheme://host[:port]`) of an http(s) URI; `None` for other schemes (native
/// apps' private-use schemes have no web origin).
pub fn web_origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    matches!(url.scheme(), "https" | "http").then(|| url.origin().ascii_serialization())
}

/// An origin as browsers send it: http(s), host and optional port, nothing else; https, or
/// http only on loopback. No wildcards: every origin is registered by name.
pub fn check_origin(origin: &str) -> Result<(), String> {
    let not_web = || format!("allowed origin {origin:?} is not an http(s) origin");
    let url = url::Url::parse(origin).map_err(|_| not_web())?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(not_web());
    }
    let serialized = url.origin().ascii_serialization();
    if serialized != origin {
        return Err(format!(
            "allowed origin {origin:?} must be exactly scheme://host[:port] (here {serialized:?})"
        ));
    }
    if url.scheme() == "http" && !crate::config::is_loopback(&url) {
        return Err(format!(
            "allowed origin {origin:?} must use https (http only on loopback)"
        ));
    }
    Ok(())
}

/// Every origin any client allows, reloaded when stale or after a client changed.
pub struct OriginIndex {
    ttl: i64,
    loaded: RwLock<(i64, Arc<HashSet<String>>)>,
    reloading: tokio::sync::Mutex<()>,
}

impl OriginIndex {
    pub fn new(ttl: i64) -> Self {
        Self {
            ttl,
            loaded: RwLock::new((i64::MIN, Arc::default())),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Marks the set stale (a client changed).
    pub fn invalidate(&self) {
        if let Ok(mut loaded) = self.loaded.write() {
            loaded.0 = i64::MIN;
        }
    }

    fn snapshot(&self) -> (i64, Arc<HashSet<String>>) {
        self.loaded
            .read()
            .map(|l| (l.0, l.1.clone()))
            .unwrap_or((i64::MIN, Arc::default()))
    }

    /// Whether some client allows `origin`.
    pub async fn allows(&self, store: &Store, origin: &str, now: i64) -> bool {
        let (loaded_at, origins) = self.snapshot();
        let known = origins.contains(origin);
        let max_age = if known { self.ttl } else { MISS_RELOAD_SECS };
        if now.saturating_sub(loaded_at) < max_age {
            return known;
        }
        let _one_at_a_time = self.reloading.lock().await;
        let (loaded_at, origins) = self.snapshot();
        if now.saturating_sub(loaded_at) < MISS_RELOAD_SECS {
            return origins.contains(origin);
        }
        match store.clients().await {
            Ok(records) => {
                let fresh: HashSet<String> = records
                    .into_iter()
                    .filter_map(|r| Client::from_record(r).ok())
                    .flat_map(|c| c.allowed_origins())
                    .collect();
                let allowed = fresh.contains(origin);
                if let Ok(mut loaded) = self.loaded.write() {
                    *loaded = (now, Arc::new(fresh));
                }
                allowed
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot reload the allowed origins");
                known
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{check_origin, web_origin_of};

    #[test]
    fn origins_are_registered_exactly() {
        assert!(check_origin("https://spa.example.com").is_ok());
        assert!(check_origin("https://spa.example.com:8443").is_ok());
        assert!(check_origin("http://127.0.0.1:5173").is_ok());
        assert!(check_origin("http://localhost:3000").is_ok());
        assert!(check_origin("https://spa.example.com/").is_err());
        assert!(check_origin("https://spa.example.com/app").is_err());
        assert!(check_origin("https://SPA.example.com").is_err());
        assert!(check_origin("https://spa.example.com:443").is_err());
        assert!(check_origin("http://spa.example.com").is_err());
        assert!(check_origin("*").is_err());
        assert!(check_origin("null").is_err());
        assert!(check_origin("com.example.app:/cb").is_err());
    }

    #[test]
    fn web_origins_of_redirect_uris() {
        assert_eq!(
            web_origin_of("https://app.example.com/cb?x=1").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            web_origin_of("http://127.0.0.1:9000/cb").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(web_origin_of("com.example.app:/cb"), None);
    }
}
