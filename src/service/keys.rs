//! The signing keys every instance uses: loaded from the store, created on
//! first start (first writer wins, so instances sharing a store agree).

use arc_swap::ArcSwap;
use std::sync::Arc;
use time::OffsetDateTime;

use super::blocking;
use crate::crypto::keys::KeyRing;
use crate::domain::DomainError;
use crate::store::Store;

pub struct KeyService {
    ring: ArcSwap<KeyRing>,
}

impl KeyService {
    pub async fn load_or_create(
        store: &dyn Store,
        now: OffsetDateTime,
    ) -> Result<Self, DomainError> {
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
        let ring = blocking(move || KeyRing::from_record(&record)).await??;
        Ok(Self {
            ring: ArcSwap::from_pointee(ring),
        })
    }

    /// The current key ring (cheap: one atomic load).
    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.load_full()
    }
}
