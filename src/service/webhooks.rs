//! Webhooks (Standard Webhooks): subscriptions, and the worker that
//! delivers what the store queued. ARCHITECTURE.md, "Webhooks".
//!
//! An audit event that lands in the log queues one delivery per
//! subscription that wants its type, in the same store step. Every
//! instance runs a worker that claims due jobs with a lease (one instance
//! attempts a delivery at a time), POSTs them signed, and writes the
//! outcome back: delivered, due again after an exponential backoff with
//! jitter, or failed after the last attempt. The same queue holds the
//! checks that a pass expired unused (`tap.expired`).

use std::sync::{Arc, Weak};
use std::time::Duration as StdDuration;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::audit::{Entry, user_target};
use super::{Caller, Context, RequestMeta};
use crate::crypto::{random, webhook as signing};
use crate::domain::DomainError;
use crate::domain::audit::{Actor, AuditEventType, Outcome, Target};
use crate::domain::roles::AdminAction;
use crate::domain::tap::Tap;
use crate::domain::webhook::{
    self, Backoff, Delivery, DeliveryStatus, Job, NewSubscription, Subscription, TapCheck,
};
use crate::store::{Change, Claimed, StoreError};

/// A subscription just created, with its secret (shown this once).
pub struct Created {
    pub subscription: Subscription,
}

#[derive(Clone)]
pub struct Webhooks {
    ctx: Arc<Context>,
}

fn target(s: &Subscription) -> Target {
    Target {
        kind: "webhook".into(),
        id: s.id.clone(),
        display: Some(s.url.clone()),
    }
}

impl Webhooks {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    pub async fn create(
        &self,
        caller: &Caller,
        new: NewSubscription,
    ) -> Result<Created, DomainError> {
        caller.authorize(AdminAction::ManageWebhooks, None)?;
        new.validate()?;
        let subscription = Subscription {
            id: random::uuid(&*self.ctx.rng)?,
            url: new.url,
            events: new.events,
            description: new.description,
            include_passcodes: new.include_passcodes,
            secret: signing::new_secret(&*self.ctx.rng)?,
            created: self.ctx.clock.now(),
        };
        let mut detail = format!("{} for {}", subscription.url, subscription.events.join(" "));
        if subscription.include_passcodes {
            detail.push_str("; receives passes in clear (includePasscodes)");
        }
        self.ctx
            .audit
            .apply(
                Change::PutWebhook(&subscription),
                Entry {
                    event_type: AuditEventType::WebhookCreated,
                    actor: caller.actor.clone(),
                    target: Some(target(&subscription)),
                    meta: &caller.meta,
                    outcome: Outcome::Success,
                    detail: Some(detail),
                },
                self.ctx.clock.now(),
            )
            .await?;
        Ok(Created { subscription })
    }

    pub async fn list(&self, caller: &Caller) -> Result<Vec<Subscription>, DomainError> {
        caller.authorize(AdminAction::ManageWebhooks, None)?;
        Ok(self.ctx.store.list_webhooks().await?)
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Subscription, DomainError> {
        caller.authorize(AdminAction::ManageWebhooks, None)?;
        self.ctx
            .store
            .get_webhook(id)
            .await?
            .ok_or(DomainError::NotFound("webhook"))
    }

    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), DomainError> {
        let sub = self.get(caller, id).await?;
        let deleted = self
            .ctx
            .audit
            .apply(
                Change::DeleteWebhook(id),
                Entry {
                    event_type: AuditEventType::WebhookDeleted,
                    actor: caller.actor.clone(),
                    target: Some(target(&sub)),
                    meta: &caller.meta,
                    outcome: Outcome::Success,
                    detail: None,
                },
                self.ctx.clock.now(),
            )
            .await?;
        if deleted {
            Ok(())
        } else {
            Err(DomainError::NotFound("webhook"))
        }
    }

    /// The subscription and its latest deliveries, newest first.
    pub async fn deliveries(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(Subscription, Vec<Delivery>), DomainError> {
        let sub = self.get(caller, id).await?;
        let recent = self
            .ctx
            .store
            .recent_deliveries(id, webhook::RECENT_DELIVERIES)
            .await?;
        Ok((sub, recent))
    }

    /// Sends a delivery that is over again (same `webhook-id`, same body).
    pub async fn redeliver(
        &self,
        caller: &Caller,
        id: &str,
        delivery_id: &str,
    ) -> Result<(), DomainError> {
        self.get(caller, id).await?;
        if self
            .ctx
            .store
            .redeliver(id, delivery_id, self.ctx.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::Conflict(
                "this delivery is unknown or still being attempted".into(),
            ))
        }
    }

    /// Sends a one-off message of `event_type` at once to every subscription
    /// that wants the type and opted in with `includePasscodes`, signed and
    /// tried up to [`SEND_NOW_ATTEMPTS`] times. Never queued: what it carries
    /// (a scheduled pass's passcode) is never stored. Each subscription's
    /// outcome: the receiver's status, or what went wrong.
    pub async fn send_to_passcode_subscribers(
        &self,
        event_type: &str,
        data: &impl Serialize,
    ) -> Result<Vec<(String, Result<u16, String>)>, StoreError> {
        let subs = self.ctx.store.list_webhooks().await?;
        let chosen: Vec<&Subscription> = subs
            .iter()
            .filter(|s| s.include_passcodes && s.wants(event_type))
            .collect();
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.ctx.clock.now();
        let payload = webhook::message_of(event_type, now, data);
        let worker = Worker::new(&self.ctx);
        let mut outcomes = Vec::with_capacity(chosen.len());
        for s in chosen {
            let id = format!(
                "msg_{}",
                random::uuid(&*self.ctx.rng).map_err(|e| StoreError::Backend(e.to_string()))?
            );
            let d = webhook::delivery(id, &s.id, event_type, payload.clone(), now);
            let mut result = Err(String::new());
            for attempt in 0..SEND_NOW_ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(StdDuration::from_secs(1 << attempt)).await;
                }
                match worker.post(s, &d, self.ctx.clock.now()).await {
                    Ok(status) => {
                        result = Ok(status);
                        break;
                    }
                    Err((_, e)) => result = Err(e),
                }
            }
            outcomes.push((s.id.clone(), result));
        }
        Ok(outcomes)
    }
}

/// Attempts of a message sent at once (2 s, then 4 s apart).
pub const SEND_NOW_ATTEMPTS: u32 = 3;

/// Queues the check that `tap` expired unused, at its end. Called before
/// the pass is stored: a check for a pass that never was finds nothing.
pub async fn schedule_tap_check(ctx: &Context, user_id: &str, tap: &Tap) -> Result<(), StoreError> {
    let end = tap.end();
    ctx.store
        .enqueue_jobs(&[Job::TapCheck(TapCheck::new(user_id, &tap.id, end))], end)
        .await
}

/// The delivery worker of this instance.
pub struct Worker {
    http: reqwest::Client,
    backoff: Backoff,
    lease: Duration,
    batch: usize,
}

impl Worker {
    pub fn new(ctx: &Context) -> Self {
        let w = &ctx.settings.webhooks;
        let timeout = StdDuration::from_secs(w.timeout_seconds);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent("Onramp-Webhooks/1")
            .build()
            .unwrap_or_default();
        let secs = |s: u64| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX));
        Self {
            http,
            backoff: Backoff {
                base: secs(w.retry_base_seconds),
                cap: secs(w.retry_cap_seconds),
                max_attempts: w.max_attempts,
            },
            // Past an attempt's time bound (the request's total timeout,
            // then one store write): a lease ends early only when its
            // claimant died or stopped mid-attempt.
            lease: secs(w.timeout_seconds * 2 + 5),
            batch: w.batch,
        }
    }

    /// Claims the jobs due now and runs them; returns how many it ran.
    pub async fn run_once(&self, ctx: &Context) -> Result<usize, StoreError> {
        let now = ctx.clock.now();
        let claimed = ctx
            .store
            .claim_jobs(now, now + self.lease, self.batch)
            .await?;
        let n = claimed.len();
        // One read of the subscriptions for the whole batch.
        let subs = if claimed.iter().any(|c| matches!(c.job, Job::Delivery(_))) {
            ctx.store.list_webhooks().await?
        } else {
            Vec::new()
        };
        futures_util::future::join_all(claimed.into_iter().map(|c| self.run(ctx, &subs, c))).await;
        Ok(n)
    }

    async fn run(&self, ctx: &Context, subs: &[Subscription], claimed: Claimed) {
        let outcome = match &claimed.job {
            Job::Delivery(d) => {
                let sub = subs.iter().find(|s| s.id == d.subscription);
                Ok(self.deliver(ctx, sub, d.clone()).await)
            }
            Job::TapCheck(c) => check_tap(ctx, c).await,
        };
        let result = match outcome {
            Ok((job, next)) => ctx.store.finish_job(&claimed, &job, next).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(true) => {}
            Ok(false) => tracing::info!(
                job = claimed.job.id(),
                "webhook job lease lost; another instance has it"
            ),
            // The lease runs out and the job comes due again.
            Err(e) => {
                tracing::warn!(job = claimed.job.id(), error = %e, "webhook job left for a retry")
            }
        }
    }

    async fn deliver(
        &self,
        ctx: &Context,
        sub: Option<&Subscription>,
        mut d: Delivery,
    ) -> (Job, Option<OffsetDateTime>) {
        let Some(sub) = sub else {
            d.status = DeliveryStatus::Failed;
            d.last_error = Some("the subscription was deleted".into());
            return (Job::Delivery(d), None);
        };
        let now = ctx.clock.now();
        d.attempts += 1;
        d.last_attempt = Some(now);
        match self.post(sub, &d, now).await {
            Ok(status) => {
                d.status = DeliveryStatus::Delivered;
                d.last_status = Some(status);
                d.last_error = None;
                tracing::info!(delivery = %d.id, subscription = %sub.id, attempts = d.attempts, "webhook delivered");
                (Job::Delivery(d), None)
            }
            Err((status, error)) => {
                d.last_status = status;
                d.last_error = Some(error);
                let mut jitter = [0u8; 1];
                // Without randomness, no jitter: the schedule still holds.
                let _ = ctx.rng.fill(&mut jitter);
                let next = self
                    .backoff
                    .next(d.attempts, jitter[0])
                    .map(|wait| now + wait);
                if next.is_none() {
                    d.status = DeliveryStatus::Failed;
                    tracing::warn!(delivery = %d.id, subscription = %sub.id, attempts = d.attempts, "webhook given up");
                }
                (Job::Delivery(d), next)
            }
        }
    }

    /// One signed POST; the answer's status, or what went wrong. The
    /// answer's body is never read.
    async fn post(
        &self,
        sub: &Subscription,
        d: &Delivery,
        now: OffsetDateTime,
    ) -> Result<u16, (Option<u16>, String)> {
        let ts = now.unix_timestamp();
        let signature = signing::sign(&sub.secret, &d.id, ts, d.payload.as_bytes())
            .map_err(|e| (None, e.to_string()))?;
        let res = self
            .http
            .post(&sub.url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(d.payload.clone())
            .send()
            .await
            .map_err(|e| (None, describe(&e)))?;
        let status = res.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else if status.is_redirection() {
            Err((
                Some(status.as_u16()),
                format!("answered {status}; redirects are not followed"),
            ))
        } else {
            Err((Some(status.as_u16()), format!("answered {status}")))
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        let mut text = e.to_string();
        text.truncate(200);
        text
    }
}

/// At a pass's end: records `tap.expired` if the same pass is still there,
/// never used. The event's id and time are the pass's, so a check that
/// runs twice records it once.
async fn check_tap(
    ctx: &Context,
    c: &TapCheck,
) -> Result<(Job, Option<OffsetDateTime>), StoreError> {
    let job = Job::TapCheck(c.clone());
    let tap = ctx.store.get_tap(&c.user_id).await?;
    let Some(tap) = tap.filter(|t| t.id == c.tap_id && t.used_at.is_none()) else {
        return Ok((job, None));
    };
    let end = tap.end();
    if ctx.clock.now() < end {
        // The pass was changed to last longer: check again at its end.
        return Ok((job, Some(end)));
    }
    let Some(user) = ctx.store.get_user(&c.user_id).await? else {
        return Ok((job, None));
    };
    ctx.audit
        .record_once(
            format!("{}-expired", tap.id),
            Entry {
                event_type: AuditEventType::TapExpired,
                actor: Actor::system(),
                target: Some(user_target(&user.id, user.upn.as_str())),
                meta: &RequestMeta::default(),
                outcome: Outcome::Success,
                detail: Some(format!("tap {} ended unused", tap.id)),
            },
            end,
        )
        .await?;
    Ok((job, None))
}

/// Runs the worker every `webhooks.poll_ms` until the application is gone.
pub fn spawn_worker(ctx: &Arc<Context>) {
    let weak: Weak<Context> = Arc::downgrade(ctx);
    let worker = Worker::new(ctx);
    let every = StdDuration::from_millis(ctx.settings.webhooks.poll_ms);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(ctx) = weak.upgrade() else { break };
            loop {
                match worker.run_once(&ctx).await {
                    // A full batch: more may be due.
                    Ok(n) if n == worker.batch => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming webhook jobs failed");
                        break;
                    }
                }
            }
        }
    });
}
