//! The signing keys every instance uses: loaded from the store, created on
//! first start (first writer wins, so instances sharing a store agree),
//! rotated by compare-and-swap, and re-read periodically so every instance
//! learns of a rotation before the new key signs.

use arc_swap::ArcSwap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

use super::blocking;
use crate::clock::SharedClock;
use crate::crypto::keys::{KeyRing, SigningKey};
use crate::domain::DomainError;
use crate::domain::client::SigningAlg;
use crate::domain::signing_key::KeySetRecord;
use crate::store::Store;

pub struct KeyService {
    ring: ArcSwap<KeyRing>,
    clock: SharedClock,
}

impl KeyService {
    pub async fn load_or_create(
        store: &dyn Store,
        clock: SharedClock,
    ) -> Result<Self, DomainError> {
        let now = clock.now();
        let record = match store.get_keyset().await? {
            Some(record) => record,
            None => {
                // RSA key generation takes tens of milliseconds: keep it off the executor.
                let fresh = blocking(move || KeyRing::generate_record(now)).await??;
                let winner = store.create_keyset(&fresh).await?;
                if winner.keys.first().map(|k| &k.kid) == fresh.keys.first().map(|k| &k.kid) {
                    tracing::info!("generated signing keys (RS256, ES256)");
                } else {
                    tracing::info!(
                        "another instance generated the signing keys first; using those"
                    );
                }
                winner
            }
        };
        let ring = blocking(move || KeyRing::from_record(&record, now)).await??;
        Ok(Self {
            ring: ArcSwap::from_pointee(ring),
            clock,
        })
    }

    /// The current key ring (one atomic load; rebuilt when a key activates
    /// or retires).
    pub fn ring(&self) -> Arc<KeyRing> {
        let ring = self.ring.load_full();
        let now = self.clock.now();
        if !ring.stale_at(now) {
            return ring;
        }
        match KeyRing::build(ring.record(), now, Some(&ring)) {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                self.ring.store(fresh.clone());
                fresh
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot rebuild the key ring; keeping the old one");
                ring
            }
        }
    }

    /// Re-reads the key set from the store; true if it changed.
    pub async fn reload(&self, store: &dyn Store) -> Result<bool, DomainError> {
        let Some(record) = store.get_keyset().await? else {
            return Ok(false);
        };
        let current = self.ring.load_full();
        if record.version == current.version() {
            return Ok(false);
        }
        let now = self.clock.now();
        let ring = blocking(move || KeyRing::build(&record, now, Some(&current))).await??;
        tracing::info!(version = ring.version(), "signing keys changed");
        self.ring.store(Arc::new(ring));
        Ok(true)
    }
}

/// Publishes new RS256 and ES256 keys that sign from `now +
/// activation_delay`; the old ones stay published until their tokens
/// expire. Compare-and-swap: concurrent rotations do not lose keys.
pub async fn rotate(
    store: &dyn Store,
    now: OffsetDateTime,
    activation_delay: Duration,
    max_token_lifetime: Duration,
) -> Result<KeySetRecord, DomainError> {
    for _ in 0..5 {
        let current = store
            .get_keyset()
            .await?
            .ok_or(DomainError::NotFound("key set"))?;
        let fresh = blocking(move || -> Result<Vec<_>, crate::crypto::CryptoError> {
            Ok(vec![
                SigningKey::generate(SigningAlg::RS256, now)?,
                SigningKey::generate(SigningAlg::ES256, now)?,
            ])
        })
        .await??;
        let next = current.rotate(fresh, now, activation_delay, max_token_lifetime);
        if store.replace_keyset(current.version, &next).await? {
            return Ok(next);
        }
    }
    Err(DomainError::Conflict(
        "the key set kept changing; try again".into(),
    ))
}
