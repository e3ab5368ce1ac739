//! Webhook subscriptions and the due queue, in redb tables. One process
//! holds the file, so a lease only matters after a crash: a claimed job
//! whose claimant died is due again when its lease ends.

use async_trait::async_trait;
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};
use time::OffsetDateTime;

use super::{EmbeddedStore, Json, get_json};
use crate::domain::audit::AuditEvent;
use crate::domain::webhook::{Delivery, DeliveryStatus, Job, Subscription};
use crate::store::{
    Claimed, StoreError, WebhookStore, decode_job, deliveries_for, recent_key, too_many_webhooks,
    unix_ms,
};

/// Subscription id → JSON.
const SUBS: Json = TableDefinition::new("webhooks");
/// Job id → JSON ([`Job`]): pending ones and the recent deliveries.
const JOBS: Json = TableDefinition::new("webhook_jobs");
/// `due ms (20 digits) NUL job id` → "": the due queue in time order.
const DUE: Json = TableDefinition::new("webhook_due");
/// Job id → its due key, while it is queued.
const DUE_AT: Json = TableDefinition::new("webhook_due_at");
/// `subscription id NUL` [`recent_key`] → "": recent deliveries.
const RECENT: Json = TableDefinition::new("webhook_recent");

pub(super) fn create_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    for t in [SUBS, JOBS, DUE, DUE_AT, RECENT] {
        tx.open_table(t)?;
    }
    Ok(())
}

fn due_key(ms: i64, id: &str) -> String {
    format!("{:020}\u{0}{id}", ms.max(0))
}

fn recent_entry(d: &Delivery) -> String {
    format!("{}\u{0}{}", d.subscription, recent_key(d))
}

fn sub_range(sub: &str) -> (String, String) {
    (format!("{sub}\u{0}"), format!("{sub}\u{1}"))
}

/// Puts `id` in the queue at `ms` (moving it if it is queued).
fn schedule(tx: &WriteTransaction, id: &str, ms: i64) -> Result<(), StoreError> {
    let mut due = tx.open_table(DUE)?;
    let mut at = tx.open_table(DUE_AT)?;
    let old = at.get(id)?.map(|v| v.value().to_owned());
    if let Some(old) = old {
        due.remove(old.as_str())?;
    }
    let key = due_key(ms, id);
    due.insert(key.as_str(), "")?;
    at.insert(id, key.as_str())?;
    Ok(())
}

fn unschedule(tx: &WriteTransaction, id: &str) -> Result<(), StoreError> {
    let old = tx
        .open_table(DUE_AT)?
        .remove(id)?
        .map(|v| v.value().to_owned());
    if let Some(old) = old {
        tx.open_table(DUE)?.remove(old.as_str())?;
    }
    Ok(())
}

/// Keeps a new delivery among its subscription's recent ones, dropping
/// the oldest beyond the bound (a pending one stays until it is over).
fn remember(tx: &WriteTransaction, d: &Delivery) -> Result<(), StoreError> {
    use crate::domain::webhook::RECENT_DELIVERIES;
    let mut recent = tx.open_table(RECENT)?;
    recent.insert(recent_entry(d).as_str(), "")?;
    let (lo, hi) = sub_range(&d.subscription);
    let keys = recent
        .range::<&str>(lo.as_str()..hi.as_str())?
        .map(|e| e.map(|(k, _)| k.value().to_owned()))
        .collect::<Result<Vec<_>, _>>()?;
    let excess = keys.len().saturating_sub(RECENT_DELIVERIES);
    let at = tx.open_table(DUE_AT)?;
    let mut jobs = tx.open_table(JOBS)?;
    for key in &keys[..excess] {
        recent.remove(key.as_str())?;
        let id = key.rsplit('\u{0}').next().unwrap_or_default();
        if at.get(id)?.is_none() {
            jobs.remove(id)?;
        }
    }
    Ok(())
}

/// Queues `job` at `ms` unless its id is known. True if queued.
fn enqueue(tx: &WriteTransaction, job: &Job, ms: i64) -> Result<bool, StoreError> {
    let id = job.id();
    {
        let mut jobs = tx.open_table(JOBS)?;
        if jobs.get(id)?.is_some() {
            return Ok(false);
        }
        jobs.insert(id, serde_json::to_string(job)?.as_str())?;
    }
    schedule(tx, id, ms)?;
    if let Job::Delivery(d) = job {
        remember(tx, d)?;
    }
    Ok(true)
}

/// Appends `event` to the log (`audit` table, key `key`) and, if it is
/// new there, queues its deliveries: one step of the caller's transaction.
pub(super) fn log_event(
    tx: &WriteTransaction,
    key: &str,
    json: &str,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let known = tx.open_table(super::AUDIT)?.insert(key, json)?.is_some();
    if known {
        return Ok(());
    }
    let subs = {
        let t = tx.open_table(SUBS)?;
        t.iter()?
            .map(|e| {
                let (_, v) = e?;
                Ok(serde_json::from_str::<Subscription>(v.value())?)
            })
            .collect::<Result<Vec<_>, StoreError>>()?
    };
    let ms = unix_ms(event.time);
    for d in deliveries_for(event, &subs) {
        enqueue(tx, &Job::Delivery(d), ms)?;
    }
    Ok(())
}

pub(super) fn put_subscription(
    tx: &WriteTransaction,
    s: &Subscription,
) -> Result<bool, StoreError> {
    let mut t = tx.open_table(SUBS)?;
    if t.get(s.id.as_str())?.is_none()
        && t.len()? >= crate::domain::webhook::MAX_SUBSCRIPTIONS as u64
    {
        return Err(too_many_webhooks());
    }
    t.insert(s.id.as_str(), serde_json::to_string(s)?.as_str())?;
    Ok(true)
}

/// Deletes the subscription and its recent deliveries; pending ones are
/// dropped when they come due (their subscription is gone).
pub(super) fn delete_subscription(tx: &WriteTransaction, id: &str) -> Result<bool, StoreError> {
    if tx.open_table(SUBS)?.remove(id)?.is_none() {
        return Ok(false);
    }
    let mut recent = tx.open_table(RECENT)?;
    let (lo, hi) = sub_range(id);
    let keys = recent
        .range::<&str>(lo.as_str()..hi.as_str())?
        .map(|e| e.map(|(k, _)| k.value().to_owned()))
        .collect::<Result<Vec<_>, _>>()?;
    let at = tx.open_table(DUE_AT)?;
    let mut jobs = tx.open_table(JOBS)?;
    for key in &keys {
        recent.remove(key.as_str())?;
        let job = key.rsplit('\u{0}').next().unwrap_or_default();
        if at.get(job)?.is_none() {
            jobs.remove(job)?;
        }
    }
    Ok(true)
}

#[async_trait]
impl WebhookStore for EmbeddedStore {
    async fn list_webhooks(&self) -> Result<Vec<Subscription>, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(SUBS)?;
            t.iter()?
                .map(|e| {
                    let (_, v) = e?;
                    Ok(serde_json::from_str(v.value())?)
                })
                .collect()
        })
        .await
    }

    async fn get_webhook(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        let id = id.to_owned();
        self.read_now(move |tx| get_json(&tx.open_table(SUBS)?, &id))
            .await
    }

    async fn enqueue_jobs(&self, jobs: &[Job], due: OffsetDateTime) -> Result<(), StoreError> {
        let jobs = jobs.to_vec();
        let ms = unix_ms(due);
        self.write(move |tx| {
            for job in &jobs {
                enqueue(tx, job, ms)?;
            }
            Ok(())
        })
        .await
    }

    async fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        let bound = due_key(unix_ms(now) + 1, "");
        let lease = unix_ms(lease_until);
        self.write(move |tx| {
            let due = tx
                .open_table(DUE)?
                .range::<&str>(..bound.as_str())?
                .take(limit)
                .map(|e| e.map(|(k, _)| k.value().to_owned()))
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(due.len());
            for key in due {
                let id = key
                    .split_once('\u{0}')
                    .map(|(_, id)| id)
                    .unwrap_or_default();
                let raw = tx.open_table(JOBS)?.get(id)?.map(|v| v.value().to_owned());
                let Some(raw) = raw else {
                    unschedule(tx, id)?;
                    continue;
                };
                // Leased either way: an unreadable job (written by a newer
                // version, say) must not hold up the ones behind it; it is
                // logged again each time its lease runs out, as on Redis.
                schedule(tx, id, lease)?;
                if let Some(job) = decode_job(id, &raw) {
                    out.push(Claimed { job, lease });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn finish_job(
        &self,
        claimed: &Claimed,
        job: &Job,
        next: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let job = job.clone();
        let held = due_key(claimed.lease, claimed.job.id());
        self.write(move |tx| {
            let id = job.id();
            let current = tx
                .open_table(DUE_AT)?
                .get(id)?
                .map(|v| v.value().to_owned());
            if current.as_deref() != Some(held.as_str()) {
                return Ok(false);
            }
            match next {
                Some(at) => {
                    tx.open_table(JOBS)?
                        .insert(id, serde_json::to_string(&job)?.as_str())?;
                    schedule(tx, id, unix_ms(at))?;
                }
                None => {
                    unschedule(tx, id)?;
                    let kept = match &job {
                        Job::Delivery(d) => tx
                            .open_table(RECENT)?
                            .get(recent_entry(d).as_str())?
                            .is_some(),
                        Job::TapCheck(_) => false,
                    };
                    let mut jobs = tx.open_table(JOBS)?;
                    if kept {
                        jobs.insert(id, serde_json::to_string(&job)?.as_str())?;
                    } else {
                        jobs.remove(id)?;
                    }
                }
            }
            Ok(true)
        })
        .await
    }

    async fn recent_deliveries(
        &self,
        subscription_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let (lo, hi) = sub_range(subscription_id);
        self.read(move |tx| {
            let recent = tx.open_table(RECENT)?;
            let jobs = tx.open_table(JOBS)?;
            let mut out = Vec::new();
            for entry in recent.range::<&str>(lo.as_str()..hi.as_str())?.rev() {
                let (k, _) = entry?;
                let id = k
                    .value()
                    .rsplit('\u{0}')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                if let Some(Job::Delivery(d)) = get_json::<Job>(&jobs, &id)? {
                    out.push(d);
                    if out.len() == limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn redeliver(
        &self,
        subscription_id: &str,
        delivery_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (sub, id) = (subscription_id.to_owned(), delivery_id.to_owned());
        let ms = unix_ms(now);
        self.write(move |tx| {
            let Some(Job::Delivery(mut d)) = get_json::<Job>(&tx.open_table(JOBS)?, &id)? else {
                return Ok(false);
            };
            if d.subscription != sub
                || d.status == DeliveryStatus::Pending
                || tx.open_table(DUE_AT)?.get(id.as_str())?.is_some()
            {
                return Ok(false);
            }
            d.status = DeliveryStatus::Pending;
            d.attempts = 0;
            tx.open_table(JOBS)?.insert(
                id.as_str(),
                serde_json::to_string(&Job::Delivery(d))?.as_str(),
            )?;
            schedule(tx, &id, ms)?;
            Ok(true)
        })
        .await
    }
}
