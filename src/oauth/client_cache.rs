//! Clients as the token endpoint sees them, cached for a few seconds: machine-to-machine
//! traffic authenticates on every request, and a client changes rarely.
//!
//! Clients change through the CLI (another process). On PostgreSQL every change is announced
//! (`NOTIFY`) and the entry goes at once; otherwise, and if the announcement is missed, an
//! entry is trusted for `ttl` seconds and then read again.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::store::{Store, StoreError};

use super::client::Client;
use super::cors::OriginIndex;

const MAX_ENTRIES: usize = 10_000;

pub struct ClientCache {
    ttl: i64,
    entries: RwLock<HashMap<String, (i64, Option<Client>)>>,
    /// Every client's browser origins, for CORS preflights (which name no client).
    origins: OriginIndex,
}

impl ClientCache {
    pub fn new(ttl: i64) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
            origins: OriginIndex::new(ttl),
        }
    }

    /// Forgets one client (it changed).
    pub fn invalidate(&self, id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
        self.origins.invalidate();
    }

    /// Forgets every client (announcements may have been missed).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
        self.origins.invalidate();
    }

    /// Whether any client allows browser requests from `origin`.
    pub async fn origin_allowed(&self, store: &Store, origin: &str, now: i64) -> bool {
        self.origins.allows(store, origin, now).await
    }

    /// The client with this id (unknown ids are cached too, so probing costs no queries).
    pub async fn get(
        &self,
        store: &Store,
        id: &str,
        now: i64,
    ) -> Result<Option<Client>, StoreError> {
        if let Ok(entries) = self.entries.read()
            && let Some((fetched_at, client)) = entries.get(id)
            && now - fetched_at < self.ttl
        {
            return Ok(client.clone());
        }
        let client = Client::find(store, id).await?;
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(id.to_owned(), (now, client.clone()));
        }
        Ok(client)
    }
}
