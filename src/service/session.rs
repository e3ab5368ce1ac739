//! Sign-in sessions: the cookie holds a random secret, the store holds the
//! record under the secret's SHA-256 (a leaked store reveals no cookies).

use std::sync::Arc;
use time::OffsetDateTime;

use super::Context;
use crate::crypto::{random, sha256};
use crate::domain::DomainError;
use crate::domain::authz::Session;
use crate::store::records::Records;

/// Compare-and-set attempts before an update gives up (each lost attempt
/// means someone else changed the session in between).
const UPDATE_ATTEMPTS: usize = 8;

#[derive(Clone)]
pub struct Sessions {
    ctx: Arc<Context>,
}

fn key(secret: &str) -> String {
    hex::encode(sha256(secret.as_bytes()))
}

impl Sessions {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// Stores `session` under a fresh secret; returns the secret for the cookie.
    pub async fn create(&self, session: &Session) -> Result<String, DomainError> {
        let now = self.ctx.clock.now();
        let secret = random::token::<32>(&*self.ctx.rng)?;
        self.ctx
            .store
            .put_record(&key(&secret), session, session.expires_at, now)
            .await?;
        Ok(secret)
    }

    /// The live session behind a cookie secret.
    pub async fn get(&self, secret: &str) -> Result<Option<Session>, DomainError> {
        if secret.len() > 128 {
            return Ok(None);
        }
        let now = self.ctx.clock.now();
        let Some(session) = self
            .ctx
            .store
            .get_record::<Session>(&key(secret), now)
            .await?
        else {
            return Ok(None);
        };
        if !session.is_live(now) {
            return Ok(None);
        }
        // Disabled accounts and revoked sessions end at once.
        let user = self.ctx.store.get_user(&session.user_id).await?;
        Ok(user
            .is_some_and(|u| u.sign_in_valid(session.auth_time))
            .then_some(session))
    }

    /// Remembers that `client_id` got a code in this session. Returns
    /// false, and writes nothing, when the session has ended (signed out,
    /// expired): the update is a compare-and-set on the stored record, so
    /// it never brings back a session that a concurrent logout deleted.
    pub async fn add_client(&self, secret: &str, client_id: &str) -> Result<bool, DomainError> {
        if secret.len() > 128 {
            return Ok(false);
        }
        let k = key(secret);
        for _ in 0..UPDATE_ATTEMPTS {
            let now = self.ctx.clock.now();
            let Some(prior) = self.ctx.store.get_versioned::<Session>(&k, now).await? else {
                return Ok(false);
            };
            if !prior.value.is_live(now) {
                return Ok(false);
            }
            if prior.value.clients.iter().any(|c| c == client_id) {
                return Ok(true);
            }
            let mut session = prior.value.clone();
            session.clients.push(client_id.to_owned());
            if self
                .ctx
                .store
                .swap_record(&k, &prior, &session, session.expires_at, now)
                .await?
            {
                return Ok(true);
            }
            // Changed meanwhile (another client added, or deleted): read again.
        }
        Err(DomainError::Unavailable(
            "the sign-in session keeps changing; try again".into(),
        ))
    }

    /// Ends the session behind a cookie secret; returns it if it was live
    /// (for back-channel logout). Taken atomically, so a concurrent
    /// [`add_client`](Self::add_client) either lands before (and its
    /// client is in the returned session) or finds nothing.
    pub async fn end(&self, secret: &str) -> Result<Option<Session>, DomainError> {
        if secret.len() > 128 {
            return Ok(None);
        }
        let now = self.ctx.clock.now();
        let session = self
            .ctx
            .store
            .take_record::<Session>(&key(secret), now)
            .await?;
        Ok(session.filter(|s| s.is_live(now)))
    }

    pub fn new_sid(&self) -> Result<String, DomainError> {
        Ok(random::token::<16>(&*self.ctx.rng)?)
    }

    pub fn now(&self) -> OffsetDateTime {
        self.ctx.clock.now()
    }
}
