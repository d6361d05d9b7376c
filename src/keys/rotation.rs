//! Key rotation: a new key is published (state `next`) before it signs anything, then becomes
//! the active key; the old one stays published (`retired`) until every token it signed has
//! expired. Every instance runs `maintain` on a timer, and all of them converge through the
//! database's partial unique indexes.

use crate::store::Store;

use super::{Kek, KeyError, KeyState, SigningAlg, new_key_row};

#[derive(Clone, Debug)]
pub struct RotationPolicy {
    /// How long a new key is in the JWKS before it signs (longer than relying parties cache it).
    pub publish_secs: i64,
    /// How long a retired key stays published: the longest lifetime of anything it signed.
    pub retire_after_secs: i64,
    /// Automatic rotation period of the active key (`None`: only `munjigi keys rotate`).
    pub rotate_every_secs: Option<i64>,
}

/// Schedules a new key for `alg`, active from `now + publish_secs`. `None` when a scheduled
/// key already exists (one `next` key per alg).
pub async fn schedule(
    store: &Store,
    kek: &Kek,
    alg: SigningAlg,
    now: i64,
    publish_secs: i64,
) -> Result<Option<(String, i64)>, KeyError> {
    let row = new_key_row(kek, alg, KeyState::Next, now, now + publish_secs).await?;
    if store.insert_signing_key(&row).await? {
        tracing::info!(kid = %row.kid, alg = alg.as_str(), activates_at = row.activates_at, "scheduled signing key");
        Ok(Some((row.kid, row.activates_at)))
    } else {
        Ok(None)
    }
}

/// One round of upkeep: schedule automatic rotations, promote due keys, drop expired ones.
/// Returns whether the stored key set changed.
pub async fn maintain(
    store: &Store,
    kek: &Kek,
    policy: &RotationPolicy,
    now: i64,
) -> Result<bool, KeyError> {
    let mut changed = false;
    if let Some(every) = policy.rotate_every_secs {
        let rows = store.signing_keys().await?;
        for alg in SigningAlg::DEFAULTS {
            let mine = |state: &'static str| {
                rows.iter()
                    .filter(move |r| r.alg == alg.as_str() && r.state == state)
            };
            let due = mine("active").any(|r| r.activates_at + every <= now);
            if due && mine("next").next().is_none() {
                changed |= schedule(store, kek, alg, now, policy.publish_secs)
                    .await?
                    .is_some();
            }
        }
    }
    for alg in SigningAlg::DEFAULTS {
        if store.promote_signing_key(alg.as_str(), now).await? {
            tracing::info!(alg = alg.as_str(), "rotated signing key");
            changed = true;
        }
    }
    changed |= store
        .delete_retired_signing_keys(now - policy.retire_after_secs)
        .await?
        > 0;
    Ok(changed)
}
