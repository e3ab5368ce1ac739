//! The TAP lockout around each verification: reserve the attempt in its
//! three buckets before the pass is hashed, audit each lock once when it
//! starts and once when it is over, and clear a name on an administrator's
//! request or when a new pass is issued. The rules are `domain::lockout`.

use std::sync::Arc;
use time::OffsetDateTime;

use super::audit::{Entry, user_target};
use super::{Context, RequestMeta};
use crate::domain::DomainError;
use crate::domain::audit::{Actor, ActorKind, AuditEventType, Outcome, Target};
use crate::domain::lockout::{self, Applied, EndedLock, Op, Rules, Verdict};
use crate::domain::user::User;

/// A reserved attempt: what to give back when the pass was right.
#[derive(Debug)]
pub struct Reserved {
    name: String,
    address: String,
    generation: u64,
}

/// The lock state of a user name, for administrators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameLock {
    /// Locked for every address until then.
    pub locked_until: Option<OffsetDateTime>,
    /// Attempts refused during that lock so far.
    pub refused: u32,
}

#[derive(Clone)]
pub struct Lockout {
    ctx: Arc<Context>,
}

/// Which bucket an event is about, for its detail.
#[derive(Clone, Copy)]
enum Scope {
    Address,
    NameFromAddress,
    Name,
}

impl Scope {
    fn describe(self) -> &'static str {
        match self {
            Scope::Address => "sign-in from this address",
            Scope::NameFromAddress => "this user name from this address",
            Scope::Name => "this user name from every address",
        }
    }
}

impl Lockout {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// Reserves one verification for `name` (normalised) from `meta`'s
    /// address, or says until when it is locked. Nothing is consumed for
    /// a name that is locked already.
    pub async fn reserve(
        &self,
        name: &str,
        meta: &RequestMeta,
        user: Option<&User>,
    ) -> Result<Result<Reserved, OffsetDateTime>, DomainError> {
        let now = self.ctx.clock.now();
        let store = &self.ctx.store;
        let address = meta.client_address.clone().unwrap_or_default();
        let name_bucket = store.lockout_bucket(&lockout::name_id(name), now).await?;
        if let Some(until) = name_bucket.locked_until_ms(lockout::ms(now)) {
            // Counted as a refusal of the name's lock, in one step.
            let applied = self
                .apply(&lockout::name_id(name), Op::Reserve(lockout::NAME), now)
                .await?;
            self.report(applied, Scope::Name, name, meta, user, now)
                .await;
            crate::metrics::METRICS.signin("tap", "locked");
            return Ok(Err(lockout::time_of(until)));
        }
        // Address first, then the name from it, then the name from
        // everywhere: whatever a refusal leaves consumed belongs to the
        // requester's own buckets, so a stranger never spends someone
        // else's name budget on attempts that were refused anyway.
        let steps: [(String, Rules, Scope); 3] = [
            (
                lockout::address_id(&address),
                lockout::ADDRESS,
                Scope::Address,
            ),
            (
                lockout::pair_id(name, &address, name_bucket.g),
                lockout::NAME_FROM_ADDRESS,
                Scope::NameFromAddress,
            ),
            (lockout::name_id(name), lockout::NAME, Scope::Name),
        ];
        for (id, rules, scope) in &steps {
            let applied = self.apply(id, Op::Reserve(*rules), now).await?;
            let verdict = applied.verdict;
            self.report(applied, *scope, name, meta, user, now).await;
            if let Verdict::Refused { until_ms, .. } = verdict {
                crate::metrics::METRICS.signin("tap", "locked");
                return Ok(Err(lockout::time_of(until_ms)));
            }
        }
        Ok(Ok(Reserved {
            name: name.to_owned(),
            address,
            generation: name_bucket.g,
        }))
    }

    /// The pass was right: its reservation is given back, so checks of
    /// the right pass never count towards a lock (only someone who knows
    /// the pass can get one back).
    pub async fn succeeded(&self, reserved: Reserved) -> Result<(), DomainError> {
        let now = self.ctx.clock.now();
        for id in [
            lockout::pair_id(&reserved.name, &reserved.address, reserved.generation),
            lockout::name_id(&reserved.name),
            lockout::address_id(&reserved.address),
        ] {
            self.ctx.store.lockout(&id, Op::Release, now).await?;
        }
        Ok(())
    }

    /// Clears every lock of `user`'s name (all addresses) on behalf of
    /// `actor`. Recorded when a lock held, or always when `on_request` (an
    /// administrator asked; a new pass clears in passing).
    pub async fn clear(
        &self,
        user: &User,
        actor: &Actor,
        meta: &RequestMeta,
        why: &str,
        on_request: bool,
    ) -> Result<Option<EndedLock>, DomainError> {
        let now = self.ctx.clock.now();
        let keep_ms = i64::try_from(lockout::GENERATION_KEEP.whole_milliseconds()).unwrap_or(0);
        let applied = self
            .ctx
            .store
            .lockout(
                &lockout::name_id(&user.upn.key()),
                Op::Clear { keep_ms },
                now,
            )
            .await?;
        if applied.ended.is_some() || on_request {
            let detail = match applied.ended {
                Some(ended) => format!(
                    "{why}; the lock for every address had refused {} attempts",
                    ended.refused
                ),
                None => why.to_owned(),
            };
            let entry = Entry {
                event_type: AuditEventType::TapUnlocked,
                actor: actor.clone(),
                target: Some(user_target(&user.id, user.upn.as_str())),
                meta,
                outcome: Outcome::Success,
                detail: Some(detail),
            };
            self.record(entry, now).await;
        }
        Ok(applied.ended)
    }

    /// The name-wide lock of `user`, if one holds now.
    pub async fn state(&self, user: &User) -> Result<NameLock, DomainError> {
        let now = self.ctx.clock.now();
        let bucket = self
            .ctx
            .store
            .lockout_bucket(&lockout::name_id(&user.upn.key()), now)
            .await?;
        let locked_until = bucket
            .locked_until_ms(lockout::ms(now))
            .map(lockout::time_of);
        Ok(NameLock {
            locked_until,
            refused: if locked_until.is_some() { bucket.rf } else { 0 },
        })
    }

    async fn apply(&self, id: &str, op: Op, now: OffsetDateTime) -> Result<Applied, DomainError> {
        Ok(self.ctx.store.lockout(id, op, now).await?)
    }

    /// One event when a lock starts, one when an earlier one turned out
    /// to be over: refused attempts in between only count.
    async fn report(
        &self,
        applied: Applied,
        scope: Scope,
        name: &str,
        meta: &RequestMeta,
        user: Option<&User>,
        now: OffsetDateTime,
    ) {
        if let Some(ended) = applied.ended {
            let detail = format!(
                "the lock of {} ended at {}; {} attempts were refused while it held",
                scope.describe(),
                crate::domain::audit::readable(lockout::time_of(ended.until_ms)),
                ended.refused
            );
            self.record(
                self.entry(AuditEventType::TapUnlocked, name, meta, user, detail),
                now,
            )
            .await;
        }
        if let Verdict::Refused {
            until_ms,
            new_lock: true,
        } = applied.verdict
        {
            let minutes = (until_ms - lockout::ms(now) + 59_999) / 60_000;
            let detail = format!(
                "{} is locked for {minutes} minutes, until {}",
                scope.describe(),
                crate::domain::audit::readable(lockout::time_of(until_ms))
            );
            self.record(
                self.entry(AuditEventType::TapLocked, name, meta, user, detail),
                now,
            )
            .await;
        }
    }

    fn entry<'a>(
        &self,
        event_type: AuditEventType,
        name: &str,
        meta: &'a RequestMeta,
        user: Option<&User>,
        detail: String,
    ) -> Entry<'a> {
        let (actor, target) = attempt_parties(name, user);
        Entry {
            event_type,
            actor,
            target: Some(target),
            meta,
            outcome: Outcome::Failure,
            detail: Some(detail),
        }
    }

    async fn record(&self, entry: Entry<'_>, now: OffsetDateTime) {
        if let Err(e) = self.ctx.audit.record(entry, now).await {
            tracing::warn!(error = %e, "could not record a lockout event");
        }
    }
}

/// Who tried and whom it was about: the user when the name exists (the
/// audit log is for administrators), else the name as typed.
pub(crate) fn attempt_parties(name: &str, user: Option<&User>) -> (Actor, Target) {
    match user {
        Some(u) => (Actor::user(&u.id), user_target(&u.id, u.upn.as_str())),
        None => (
            Actor {
                kind: ActorKind::User,
                id: "(unknown)".into(),
            },
            Target {
                kind: "user".into(),
                id: "(unknown)".into(),
                display: Some(name.chars().take(128).collect()),
            },
        ),
    }
}
