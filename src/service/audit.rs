//! The audit log: every security event is stored and also written as one
//! JSON log line (target `audit`) for log shippers.

use time::OffsetDateTime;

use super::RequestMeta;
use crate::crypto::random::{self, SharedRandom};
use crate::domain::audit::{Actor, AuditEvent, AuditEventType, Outcome, Target};
use crate::store::batch::Put;
use crate::store::{Change, SharedStore, StoreError};

#[derive(Clone)]
pub struct AuditLog {
    store: SharedStore,
    rng: SharedRandom,
}

/// An event before it gets its id and time.
pub struct Entry<'a> {
    pub event_type: AuditEventType,
    pub actor: Actor,
    pub target: Option<Target>,
    pub meta: &'a RequestMeta,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

impl AuditLog {
    pub fn new(store: SharedStore, rng: SharedRandom) -> Self {
        Self { store, rng }
    }

    /// Records an event that goes with no stored change (a failed sign-in,
    /// a token issued).
    pub async fn record(&self, entry: Entry<'_>, now: OffsetDateTime) -> Result<(), StoreError> {
        let event = self.event(entry, now)?;
        emit(&event);
        self.store.append_audit(&event).await
    }

    /// Records an event at most once: its id and time are given, so
    /// recording it again (a job that ran twice) changes nothing.
    pub async fn record_once(
        &self,
        id: String,
        entry: Entry<'_>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut event = self.event(entry, at)?;
        event.id = id;
        emit(&event);
        self.store.append_audit(&event).await
    }

    /// Applies `change` and records `entry` in one atomic step (see
    /// [`crate::store::AuditStore::apply_audited`]). False when a delete
    /// found nothing (and nothing was recorded).
    pub async fn apply(
        &self,
        change: Change<'_>,
        entry: Entry<'_>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let event = self.event(entry, now)?;
        let applied = self.store.apply_audited(change, &event).await?;
        if applied {
            emit(&event);
        }
        Ok(applied)
    }

    /// [`AuditLog::apply`], then, only if the change applied, the records
    /// `puts` and the events of `then` (see
    /// [`crate::store::Store::apply_audited_then`]).
    pub async fn apply_then(
        &self,
        change: Change<'_>,
        entry: Entry<'_>,
        puts: &[Put<'_>],
        then: Vec<Entry<'_>>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let event = self.event(entry, now)?;
        let also = then
            .into_iter()
            .map(|e| self.event(e, now))
            .collect::<Result<Vec<_>, _>>()?;
        let applied = self
            .store
            .apply_audited_then(change, &event, puts, &also, now)
            .await?;
        if applied {
            emit(&event);
            also.iter().for_each(emit);
        }
        Ok(applied)
    }

    /// [`AuditLog::apply`] for an event about further objects (`also`).
    pub async fn apply_also(
        &self,
        change: Change<'_>,
        entry: Entry<'_>,
        also: Vec<Target>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut event = self.event(entry, now)?;
        event.also = also;
        let applied = self.store.apply_audited(change, &event).await?;
        if applied {
            emit(&event);
        }
        Ok(applied)
    }

    fn event(&self, entry: Entry<'_>, now: OffsetDateTime) -> Result<AuditEvent, StoreError> {
        let id = random::uuid(&*self.rng).map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(AuditEvent {
            id,
            time: now,
            event_type: entry.event_type,
            actor: entry.actor,
            target: entry.target,
            client_address: entry.meta.client_address.clone(),
            request_id: entry.meta.request_id.clone(),
            outcome: entry.outcome,
            detail: entry.detail,
            also: Vec::new(),
        })
    }
}

/// The JSON log line and the metrics of an event that was stored.
fn emit(event: &AuditEvent) {
    count(event.event_type);
    if let Ok(line) = serde_json::to_string(event) {
        tracing::info!(target: "audit", event = %line, "{}", event.event_type.as_str());
    }
}

pub fn user_target(id: &str, upn: &str) -> Target {
    Target {
        kind: "user".into(),
        id: id.to_owned(),
        display: Some(upn.to_owned()),
    }
}

/// Sign-in counters for `/metrics`, derived from the events.
fn count(t: crate::domain::audit::AuditEventType) {
    use crate::domain::audit::AuditEventType as T;
    let m = &crate::metrics::METRICS;
    match t {
        T::TapUsed => m.signin("tap", "success"),
        T::TapFailed => {
            m.signin("tap", "failure");
            m.tap_failure();
        }
        // Refused attempts are counted as they happen (one event per lock).
        T::TapLocked => m.tap_lockout(),
        T::PasskeyUsed => m.signin("passkey", "success"),
        T::PasskeyFailed => m.signin("passkey", "failure"),
        _ => {}
    }
}
