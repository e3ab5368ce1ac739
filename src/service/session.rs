//! Sign-in sessions: the cookie holds a random secret, the store holds the
//! record under the secret's SHA-256 (a leaked store reveals no cookies).

use std::sync::Arc;
use time::OffsetDateTime;

use super::Context;
use crate::crypto::{random, sha256};
use crate::domain::DomainError;
use crate::domain::authz::Session;
use crate::domain::user::User;
use crate::store::records::{Records, Versioned};

/// Compare-and-set attempts before an update gives up (each lost attempt
/// means someone else changed the session in between).
const UPDATE_ATTEMPTS: usize = 8;

/// A live session as read, with its user and the record's version (for a
/// later compare-and-set).
pub struct Live {
    prior: Versioned<Session>,
    pub user: User,
}

impl Live {
    pub fn into_session(self) -> Session {
        self.prior.value
    }
}

impl std::ops::Deref for Live {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.prior.value
    }
}

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

    /// A fresh secret for the cookie and the id its session is stored
    /// under, for a caller that stores the session with other writes.
    pub fn new_secret(&self) -> Result<(String, String), DomainError> {
        let secret = random::token::<32>(&*self.ctx.rng)?;
        let id = key(&secret);
        Ok((secret, id))
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

    /// The live session behind a cookie secret, with its user (read to
    /// check the session still holds: disabled accounts and revoked
    /// sessions end at once).
    pub async fn get(&self, secret: &str) -> Result<Option<Live>, DomainError> {
        if secret.len() > 128 {
            return Ok(None);
        }
        let now = self.ctx.clock.now();
        let Some(prior) = self
            .ctx
            .store
            .get_versioned::<Session>(&key(secret), now)
            .await?
        else {
            return Ok(None);
        };
        if !prior.value.is_live(now) {
            return Ok(None);
        }
        let user = self.ctx.store.get_user(&prior.value.user_id).await?;
        Ok(user
            .filter(|u| u.sign_in_valid(prior.value.auth_time))
            .map(|user| Live { prior, user }))
    }

    /// [`add_client`](Self::add_client) from the session as `live` read it:
    /// no second read unless the session changed meanwhile.
    pub async fn add_client_to(
        &self,
        secret: &str,
        live: &Live,
        client_id: &str,
    ) -> Result<bool, DomainError> {
        if live.clients.iter().any(|c| c == client_id) {
            return Ok(true);
        }
        let now = self.ctx.clock.now();
        let mut next = live.prior.value.clone();
        next.clients.push(client_id.to_owned());
        if self
            .ctx
            .store
            .swap_record(&key(secret), &live.prior, &next, next.expires_at, now)
            .await?
        {
            return Ok(true);
        }
        self.add_client(secret, client_id).await
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
