//! What the admin portal shows once (a new pass, a new client secret),
//! by post/redirect/get: the POST seals it and keeps the sealed box for a
//! few minutes; the redirect's GET opens and deletes it. A reload finds
//! nothing, so a secret is never shown (or issued) twice by accident. The
//! key travels only to the administrator's browser, so the store never
//! holds the secret readably, and only the administrator who made it can
//! open it.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::Duration;

use super::Context;
use crate::crypto::random;
use crate::crypto::seal::{self, Sealed};
use crate::domain::DomainError;
use crate::store::Ns;
use crate::store::records::{FixedLifetime, Record, Records};

/// A sealed page, and who may open it.
#[derive(Serialize, Deserialize)]
struct ShownOnce {
    owner: String,
    sealed: Sealed,
}

impl Record for ShownOnce {
    const NS: Ns = Ns::ShownOnce;
}

/// Time enough to follow the redirect, not to come back later.
impl FixedLifetime for ShownOnce {
    const TTL: Duration = Duration::minutes(10);
}

/// Where to find a sealed page: its id and the key to open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: String,
    pub key: String,
}

pub struct ShownOnceService {
    ctx: Arc<Context>,
}

fn binding(id: &str, owner: &str) -> Vec<u8> {
    format!("{id}|{owner}").into_bytes()
}

impl ShownOnceService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// Seals `page` for one view by `owner` (an actor id).
    pub async fn keep<T: Serialize>(&self, owner: &str, page: &T) -> Result<Ticket, DomainError> {
        let rng = &*self.ctx.rng;
        let id = random::token::<16>(rng)?;
        let json = serde_json::to_vec(page).map_err(|e| DomainError::Internal(e.to_string()))?;
        let (key, sealed) = seal::seal(rng, &json, &binding(&id, owner))?;
        let record = ShownOnce {
            owner: owner.to_owned(),
            sealed,
        };
        self.ctx
            .store
            .put_fixed(&id, &record, self.ctx.clock.now())
            .await?;
        Ok(Ticket { id, key })
    }

    /// The page, once: `None` when it was shown already, has expired, or
    /// is not `owner`'s (it is deleted either way).
    pub async fn take<T: for<'de> Deserialize<'de>>(
        &self,
        ticket: &Ticket,
        owner: &str,
    ) -> Result<Option<T>, DomainError> {
        if ticket.id.len() > 64 {
            return Ok(None);
        }
        let now = self.ctx.clock.now();
        let Some(record) = self
            .ctx
            .store
            .take_record::<ShownOnce>(&ticket.id, now)
            .await?
        else {
            return Ok(None);
        };
        if record.owner != owner {
            return Ok(None);
        }
        let Ok(json) = seal::open(&ticket.key, &record.sealed, &binding(&ticket.id, owner)) else {
            return Ok(None);
        };
        Ok(serde_json::from_slice(&json).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::Settings;
    use crate::crypto::random::OsRandom;

    #[tokio::test]
    async fn a_page_opens_once_and_only_for_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::default();
        settings.store.url = format!("embedded:{}", dir.path().join("o.redb").display());
        let clock = ManualClock::new(time::macros::datetime!(2026-11-25 12:00 UTC));
        let store = crate::startup::open_store(&settings).await.unwrap();
        let deps = crate::startup::Deps {
            clock: Arc::new(clock.clone()),
            rng: Arc::new(OsRandom),
        };
        let ctx = crate::startup::build_context(settings, store, deps)
            .await
            .unwrap();
        let shown = ShownOnceService::new(ctx);
        let t = shown.keep("admin-1", &"ABCD-1234").await.unwrap();
        // Another administrator gets nothing (and the page is gone).
        assert_eq!(shown.take::<String>(&t, "admin-2").await.unwrap(), None);
        assert_eq!(shown.take::<String>(&t, "admin-1").await.unwrap(), None);
        // The owner, once; a wrong key opens nothing.
        let t = shown.keep("admin-1", &"ABCD-1234").await.unwrap();
        let wrong = Ticket {
            key: shown.keep("admin-1", &"x").await.unwrap().key,
            ..t.clone()
        };
        assert_eq!(shown.take::<String>(&wrong, "admin-1").await.unwrap(), None);
        let t = shown.keep("admin-1", &"ABCD-1234").await.unwrap();
        assert_eq!(
            shown
                .take::<String>(&t, "admin-1")
                .await
                .unwrap()
                .as_deref(),
            Some("ABCD-1234")
        );
        assert_eq!(shown.take::<String>(&t, "admin-1").await.unwrap(), None);
        // Expired after ten minutes.
        let t = shown.keep("admin-1", &"ABCD-1234").await.unwrap();
        clock.advance(time::Duration::minutes(11));
        assert_eq!(shown.take::<String>(&t, "admin-1").await.unwrap(), None);
    }
}
