//! The signing keys as an operator sees and rotates them (the admin API).

use crate::store::{SigningKeyRow, Store};

use super::{Kek, KeyError, SigningAlg, list_keys, rotation};

/// What listing and scheduling keys needs: the store, the KEK that seals new keys, and how long
/// a new key is published before it signs.
pub struct KeyAdmin<'a> {
    pub store: &'a Store,
    pub kek: &'a Kek,
    pub publish_secs: i64,
}

impl KeyAdmin<'_> {
    /// Every key (public parts and states).
    pub async fn list(&self) -> Result<Vec<SigningKeyRow>, KeyError> {
        list_keys(self.store).await
    }

    /// Schedules a new key for every default algorithm that has none scheduled yet: published
    /// now, signing after `publish_secs`. Returns each scheduled key's algorithm, `kid` and
    /// signing start.
    pub async fn rotate(&self, now: i64) -> Result<Vec<(SigningAlg, String, i64)>, KeyError> {
        let mut scheduled = Vec::new();
        for alg in SigningAlg::DEFAULTS {
            if let Some((kid, signs_from)) =
                rotation::schedule(self.store, self.kek, alg, now, self.publish_secs).await?
            {
                scheduled.push((alg, kid, signs_from));
            }
        }
        Ok(scheduled)
    }
}
