//! argon2 within bounds (ARCHITECTURE.md, "Security rules"): anyone can
//! make the server verify a pass, and each verification takes 19 MiB and
//! tens of milliseconds of a core. At most one verification per core runs
//! at a time, a few more may wait, and beyond that a sign-in is refused at
//! once ("busy, try again") instead of queueing without end.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::blocking;
use crate::crypto::hasher;
use crate::crypto::random::SharedRandom;
use crate::domain::DomainError;

/// Waiting verifications allowed per running one.
const QUEUE_PER_WORKER: usize = 4;

pub struct HashLimiter {
    /// One permit per verification that may run now.
    running: Semaphore,
    /// Running plus waiting: a sign-in that gets none of these is refused.
    admitted: Arc<Semaphore>,
    /// Verified when the user or pass does not exist, so unknown names take
    /// as long as known ones.
    dummy_hash: String,
}

/// A place in the queue, taken before any other work for the attempt and
/// held (its permit is released on drop) until the check is done.
pub struct Admission {
    _place: OwnedSemaphorePermit,
}

impl HashLimiter {
    /// `workers` verifications at a time (0: one per core) and `queue`
    /// waiting (0: four per worker).
    pub async fn new(workers: usize, queue: usize, rng: SharedRandom) -> Result<Self, DomainError> {
        let workers = match workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let queue = match queue {
            0 => workers * QUEUE_PER_WORKER,
            n => n,
        };
        let mut secret = [0u8; 16];
        rng.fill(&mut secret)?;
        let dummy_hash = blocking(move || hasher::hash(&secret, &*rng)).await??;
        Ok(Self {
            running: Semaphore::new(workers),
            admitted: Arc::new(Semaphore::new(workers + queue)),
            dummy_hash,
        })
    }

    /// A place for one verification, or `None` when the queue is full.
    pub fn admit(&self) -> Option<Admission> {
        self.admitted
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|place| Admission { _place: place })
    }

    /// Verifies `secret` against `hash` (the dummy hash when `None`) once
    /// a core is free, off the async executor.
    pub async fn verify(
        &self,
        admission: Admission,
        secret: Vec<u8>,
        hash: Option<String>,
    ) -> Result<bool, DomainError> {
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let matches = self.run(move || hasher::verify(&secret, &hash)).await;
        drop(admission);
        matches
    }

    /// Hashes a new secret (issuing a pass). Callers are authenticated, so
    /// this waits for a core instead of refusing.
    pub async fn hash(&self, secret: Vec<u8>, rng: SharedRandom) -> Result<String, DomainError> {
        Ok(self.run(move || hasher::hash(&secret, &*rng)).await??)
    }

    /// Runs `work` on the blocking pool once one of the cores is ours.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, DomainError> {
        let _core = self
            .running
            .acquire()
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        blocking(work).await
    }
}
