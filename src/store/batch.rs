//! Independent reads and writes sent together: a hot request's whole read
//! in one round trip on Redis (see ARCHITECTURE.md, "Storage"), and a
//! change with the short-lived records that follow it in one commit on the
//! embedded store.

use time::OffsetDateTime;

use super::records::{FixedLifetime, Record, decode};
use super::{Change, Ns, Store, StoreError};
use crate::domain::audit::AuditEvent;
use crate::domain::credential::PasskeyCredential;
use crate::domain::policy::Policy;
use crate::domain::user::User;

/// A short-lived record to store.
#[derive(Debug, Clone)]
pub struct Put<'a> {
    pub ns: Ns,
    pub id: &'a str,
    pub value: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

impl<'a> Put<'a> {
    /// `value` for its kind's fixed lifetime from `now`.
    pub fn fixed<R: FixedLifetime>(
        id: &'a str,
        value: &R,
        now: OffsetDateTime,
    ) -> Result<Self, StoreError> {
        Self::record(id, value, now + R::TTL)
    }

    /// `value` as its record kind stores it.
    pub fn record<R: Record>(
        id: &'a str,
        value: &R,
        expires_at: OffsetDateTime,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            ns: R::NS,
            id,
            value: serde_json::to_vec(value)?,
            expires_at,
        })
    }
}

/// One step of [`Store::batch`]. Steps do not depend on each other's
/// results, so a backend may send them all at once; they run in order.
#[derive(Debug, Clone)]
pub enum Step<'a> {
    Get(Ns, &'a str),
    /// Read and delete, atomically (single use).
    Take(Ns, &'a str),
    Put(Put<'a>),
    User(&'a str),
    /// A credential of one user (none if it belongs to someone else).
    Credential {
        user_id: &'a str,
        cred_id: &'a str,
    },
    Policy,
}

impl Step<'_> {
    /// Reads a record kind's value (for [`Got::record`]).
    pub fn get<R: Record>(id: &str) -> Step<'_> {
        Step::Get(R::NS, id)
    }
    pub fn take<R: Record>(id: &str) -> Step<'_> {
        Step::Take(R::NS, id)
    }
}

/// What a [`Step`] found, in the same position.
#[derive(Debug)]
pub enum Got {
    Bytes(Option<Vec<u8>>),
    /// Boxed: a user is large next to the other answers.
    User(Option<Box<User>>),
    Credential(Option<PasskeyCredential>),
    Policy(Option<Policy>),
    Stored,
}

impl Got {
    /// The record a `Get`/`Take` read; a record that no longer decodes is
    /// absent (see [`super::records`]).
    pub fn record<R: Record>(self, id: &str) -> Option<R> {
        match self {
            Got::Bytes(Some(raw)) => decode(id, &raw),
            _ => None,
        }
    }
    pub fn bytes(self) -> Option<Vec<u8>> {
        match self {
            Got::Bytes(b) => b,
            _ => None,
        }
    }
    pub fn user(self) -> Option<User> {
        match self {
            Got::User(u) => u.map(|u| *u),
            _ => None,
        }
    }
    pub fn credential(self) -> Option<PasskeyCredential> {
        match self {
            Got::Credential(c) => c,
            _ => None,
        }
    }
    /// The stored policy, or the default when none is stored.
    pub fn policy(self) -> Policy {
        match self {
            Got::Policy(p) => p.unwrap_or_default(),
            _ => Policy::default(),
        }
    }
}

/// The steps one after another, through the store's ordinary operations:
/// what a backend without a cheaper way does.
pub async fn one_by_one<S: Store + ?Sized>(
    store: &S,
    steps: &[Step<'_>],
    now: OffsetDateTime,
) -> Result<Vec<Got>, StoreError> {
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        out.push(match step {
            Step::Get(ns, id) => Got::Bytes(store.get(*ns, id, now).await?),
            Step::Take(ns, id) => Got::Bytes(store.take(*ns, id, now).await?),
            Step::Put(p) => {
                store.put(p.ns, p.id, &p.value, p.expires_at, now).await?;
                Got::Stored
            }
            Step::User(id) => Got::User(store.get_user(id).await?.map(Box::new)),
            Step::Credential { user_id, cred_id } => Got::Credential(
                store
                    .find_credential(cred_id)
                    .await?
                    .filter(|c| c.user_id == *user_id),
            ),
            Step::Policy => Got::Policy(store.get_policy().await?),
        });
    }
    Ok(out)
}

/// [`super::AuditStore::apply_audited`], then, only if the change applied,
/// `puts` and the events `also` (which record no change of their own).
pub async fn apply_then_one_by_one<S: Store + ?Sized>(
    store: &S,
    change: Change<'_>,
    event: &AuditEvent,
    puts: &[Put<'_>],
    also: &[AuditEvent],
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    if !store.apply_audited(change, event).await? {
        return Ok(false);
    }
    after_one_by_one(store, puts, also, now).await?;
    Ok(true)
}

/// What follows an applied change (`puts`, then the events `also`), one
/// after another.
pub async fn after_one_by_one<S: Store + ?Sized>(
    store: &S,
    puts: &[Put<'_>],
    also: &[AuditEvent],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for p in puts {
        store.put(p.ns, p.id, &p.value, p.expires_at, now).await?;
    }
    for e in also {
        store.append_audit(e).await?;
    }
    Ok(())
}
