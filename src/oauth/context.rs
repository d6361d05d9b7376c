//! What protocol code needs from the server for one request: passed in, never reached for.

use std::net::IpAddr;

use crate::keys::KeySet;
use crate::store::Store;

use super::client::Client;
use super::client_cache::ClientCache;
use super::grant::TokenSettings;
use super::secret::SecretHasher;

/// Wrong client secrets per (client, address), as the server counts them: client
/// authentication asks before it checks a secret and reports what it judged. The counts are
/// kept by `account::throttle::ClientThrottle` beside the other throttles.
pub trait SecretFailures: Send + Sync {
    /// Seconds this address must wait before authenticating as this client again.
    fn wait_secs(&self, client_id: &str, ip: IpAddr, now: i64) -> i64;
    /// A secret checked and right: the pair's failures are forgotten.
    fn record_success(&self, client_id: &str, ip: IpAddr);
    /// A secret checked and wrong.
    fn record_failure(&self, client_id: &str, ip: IpAddr, now: i64);
}

pub struct OAuthContext<'a> {
    pub store: &'a Store,
    pub keys: &'a KeySet,
    pub issuer: &'a str,
    pub settings: &'a TokenSettings,
    /// Clients as machine-to-machine endpoints see them (cached for a few seconds).
    pub clients: &'a ClientCache,
    pub hasher: &'a SecretHasher,
    /// Wrong client secrets per (client, address).
    pub client_throttle: &'a dyn SecretFailures,
    /// Where security events go (log, metrics, audit table).
    pub audit: &'a crate::audit::Audit,
    pub metrics: &'a crate::metrics::Metrics,
    pub now: i64,
}

impl OAuthContext<'_> {
    /// The client as stored now (uncached: a browser flow sees a deleted client at once).
    pub async fn client(&self, id: &str) -> Result<Option<Client>, crate::store::StoreError> {
        Client::find(self.store, id).await
    }

    /// Whether some client registered `origin` for browser calls (CORS).
    pub async fn origin_registered(&self, origin: &str) -> bool {
        self.clients
            .origin_allowed(self.store, origin, self.now)
            .await
    }
}
