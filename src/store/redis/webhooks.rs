//! Webhook subscriptions and the due queue on Redis. Every key shares the
//! audit log's tag `{P:audit}`, so that an event lands in the log and its
//! deliveries are queued in one script (also on a cluster).
//!
//! | key | holds |
//! |---|---|
//! | `{P:audit}:wh:subs` | hash: subscription id → JSON |
//! | `{P:audit}:wh:on:<event type>` | set of the ids of the subscriptions that want it |
//! | `{P:audit}:wh:jobs` | hash: job id → JSON (pending jobs, recent deliveries) |
//! | `{P:audit}:wh:due` | sorted set: job id by due time (ms); a claim moves it to its lease's end |
//! | `{P:audit}:wh:recent:<sub id>` | sorted set: the subscription's recent delivery ids by creation (ms) |

use async_trait::async_trait;
use redis::{AsyncCommands, Script};
use std::sync::LazyLock;
use time::OffsetDateTime;

use super::RedisStore;
use crate::domain::audit::AuditEvent;
use crate::domain::webhook::{
    self, Delivery, DeliveryStatus, Job, RECENT_DELIVERIES, Subscription,
};
use crate::store::{
    Claimed, StoreError, WebhookStore, audit_key, decode_job, too_many_webhooks, unix_ms,
};

/// Keeps a delivery among its subscription's recent ones and drops the
/// oldest past the bound (unless still queued: it goes when it is over).
const REMEMBER: &str = r"
local function remember(p, sub, id, ms, cap)
  local key = p .. 'recent:' .. sub
  redis.call('ZADD', key, ms, id)
  local n = redis.call('ZCARD', key)
  if n > cap then
    for _, old in ipairs(redis.call('ZRANGE', key, 0, n - cap - 1)) do
      redis.call('ZREM', key, old)
      if not redis.call('ZSCORE', p .. 'due', old) then redis.call('HDEL', p .. 'jobs', old) end
    end
  end
end
";

fn with_remember(body: &str) -> Script {
    Script::new(&format!("{REMEMBER}{body}"))
}

/// Appends an event to the log and, if it is new there, queues a delivery
/// for every subscription that wants its type (ids as
/// [`webhook::delivery_id`]); with an outbox (KEYS[3], a single server
/// only), also removes the event from it, and with ARGV[9] = '1' logs it
/// only if the outbox held it (so it can follow its change in one pipeline:
/// a change that did not happen pushed nothing).
/// KEYS: log, events[, outbox]. ARGV: audit key, event JSON, hook prefix,
/// event type, event id, due ms, the delivery JSON after its id and
/// subscription, recent bound[, '1'].
pub(super) static LOG_EVENT_SRC: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{REMEMBER}{}",
        r#"
local after = ARGV[9] == '1'
if after and redis.call('LREM', KEYS[3], 1, ARGV[2]) == 0 then return 0 end
local new = redis.call('ZADD', KEYS[1], 'NX', 0, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if new == 1 then
  local p = ARGV[3]
  for _, sub in ipairs(redis.call('SMEMBERS', p .. 'on:' .. ARGV[4])) do
    local id = 'msg_' .. ARGV[5] .. '_' .. sub
    local rec = '{"kind":"delivery","id":"' .. id .. '","subscription":"' .. sub .. '",' .. ARGV[7]
    if redis.call('HSETNX', p .. 'jobs', id, rec) == 1 then
      redis.call('ZADD', p .. 'due', ARGV[6], id)
      remember(p, sub, id, ARGV[6], tonumber(ARGV[8]))
    end
  end
end
if after then return 1 end
if #KEYS >= 3 then return redis.call('LREM', KEYS[3], 1, ARGV[2]) end
return 0"#
    )
});
pub(super) static LOG_EVENT: LazyLock<Script> = LazyLock::new(|| Script::new(&LOG_EVENT_SRC));

/// KEYS: jobs, due. ARGV: prefix, recent bound, due ms, then (id, JSON,
/// subscription id or '') per job.
static ENQUEUE: LazyLock<Script> = LazyLock::new(|| {
    with_remember(
        r"
for i = 4, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[i])
    if ARGV[i + 2] ~= '' then remember(ARGV[1], ARGV[i + 2], ARGV[i], ARGV[3], tonumber(ARGV[2])) end
  end
end
return 1",
    )
});

/// KEYS: due, jobs. ARGV: now ms, lease end ms, limit. Returns the jobs.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local rec = redis.call('HGET', KEYS[2], id)
  if rec then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    table.insert(out, rec)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out",
    )
});

/// KEYS: due, jobs. ARGV: id, lease ms, JSON, next ms ('' = done), recent
/// key ('' for none). 0 when the lease was lost.
static FINISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
  if ARGV[5] ~= '' and redis.call('ZSCORE', ARGV[5], ARGV[1]) then
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  else
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
end
return 1",
    )
});

/// KEYS: jobs, due. ARGV: id, the JSON as read, the new JSON, due ms.
static REDELIVER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1",
    )
});

/// KEYS: subs, outbox. ARGV: id, JSON, prefix, most subscriptions, event,
/// then the event types. -1 when full.
static PUT_SUB: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  for _, t in ipairs(cjson.decode(old)['events']) do redis.call('SREM', ARGV[3] .. 'on:' .. t, ARGV[1]) end
elseif redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for i = 6, #ARGV do redis.call('SADD', ARGV[3] .. 'on:' .. ARGV[i], ARGV[1]) end
if ARGV[5] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[5]) end
return 1",
    )
});

/// KEYS: subs, outbox. ARGV: id, prefix, event.
static DELETE_SUB: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
local p = ARGV[2]
for _, t in ipairs(cjson.decode(old)['events']) do redis.call('SREM', p .. 'on:' .. t, ARGV[1]) end
redis.call('HDEL', KEYS[1], ARGV[1])
local recent = p .. 'recent:' .. ARGV[1]
for _, id in ipairs(redis.call('ZRANGE', recent, 0, -1)) do
  if not redis.call('ZSCORE', p .. 'due', id) then redis.call('HDEL', p .. 'jobs', id) end
end
redis.call('DEL', recent)
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[3]) end
return 1",
    )
});

/// The part of a new delivery's JSON after `"subscription":"...",`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Tail<'a> {
    event_type: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
    payload: String,
}

impl RedisStore {
    /// `{P:audit}:wh:`, the prefix of every webhook key.
    pub(super) fn hooks_prefix(&self) -> String {
        format!("{{{}:audit}}:wh:", self.p)
    }
    fn subs_key(&self) -> String {
        format!("{}subs", self.hooks_prefix())
    }
    fn jobs_key(&self) -> String {
        format!("{}jobs", self.hooks_prefix())
    }
    fn due_key(&self) -> String {
        format!("{}due", self.hooks_prefix())
    }
    fn recent_key(&self, sub: &str) -> String {
        format!("{}recent:{sub}", self.hooks_prefix())
    }
    /// Where the events of subscription changes wait (the log's own tag).
    pub(super) fn hooks_outbox(&self) -> String {
        format!("{{{}:audit}}:outbox", self.p)
    }

    /// [`LOG_EVENT`]'s keys and arguments for `event` (`outbox`: the one it
    /// leaves, on a single server).
    fn log_event_parts(
        &self,
        event: &AuditEvent,
        json: &str,
        outbox: Option<&str>,
    ) -> Result<(Vec<String>, [String; 8]), StoreError> {
        let tail = serde_json::to_string(&Tail {
            event_type: event.event_type.as_str(),
            created: event.time,
            payload: webhook::message(event),
        })?;
        let mut keys = vec![self.audit_log_key(), self.audit_ev_key()];
        keys.extend(outbox.map(str::to_owned));
        let tail = tail.strip_prefix('{').unwrap_or(&tail).to_owned();
        let args = [
            audit_key(event),
            json.to_owned(),
            self.hooks_prefix(),
            event.event_type.as_str().to_owned(),
            event.id.clone(),
            unix_ms(event.time).to_string(),
            tail,
            RECENT_DELIVERIES.to_string(),
        ];
        Ok((keys, args))
    }

    /// [`LOG_EVENT`] invoked for `event`.
    pub(super) fn log_event(
        &self,
        event: &AuditEvent,
        json: &str,
        outbox: Option<&str>,
    ) -> Result<redis::ScriptInvocation<'static>, StoreError> {
        let (keys, args) = self.log_event_parts(event, json, outbox)?;
        let mut inv = LOG_EVENT.prepare_invoke();
        for k in keys {
            inv.key(k);
        }
        for a in args {
            inv.arg(a);
        }
        Ok(inv)
    }

    /// [`LOG_EVENT`] as a command for a pipeline (by its text: a pipeline
    /// cannot load a script the server lost); `after_change`: only if the
    /// outbox holds the event.
    pub(super) fn log_event_cmd(
        &self,
        event: &AuditEvent,
        json: &str,
        outbox: Option<&str>,
        after_change: bool,
    ) -> Result<redis::Cmd, StoreError> {
        let (keys, args) = self.log_event_parts(event, json, outbox)?;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(LOG_EVENT_SRC.as_str())
            .arg(keys.len())
            .arg(keys)
            .arg(&args[..]);
        if after_change {
            cmd.arg("1");
        }
        Ok(cmd)
    }

    pub(super) async fn put_subscription(
        &self,
        s: &Subscription,
        event: &str,
    ) -> Result<bool, StoreError> {
        let mut inv = PUT_SUB.key(self.subs_key());
        inv.key(self.hooks_outbox())
            .arg(&s.id)
            .arg(serde_json::to_string(s)?)
            .arg(self.hooks_prefix())
            .arg(webhook::MAX_SUBSCRIPTIONS)
            .arg(event);
        for e in &s.events {
            inv.arg(e);
        }
        let n: i64 = inv.invoke_async(&mut self.c()).await?;
        if n < 0 {
            return Err(too_many_webhooks());
        }
        Ok(true)
    }

    pub(super) async fn delete_subscription(
        &self,
        id: &str,
        event: &str,
    ) -> Result<bool, StoreError> {
        let n: i64 = DELETE_SUB
            .key(self.subs_key())
            .key(self.hooks_outbox())
            .arg(id)
            .arg(self.hooks_prefix())
            .arg(event)
            .invoke_async(&mut self.c())
            .await?;
        Ok(n == 1)
    }
}

#[async_trait]
impl WebhookStore for RedisStore {
    async fn list_webhooks(&self) -> Result<Vec<Subscription>, StoreError> {
        let all: Vec<(String, String)> = self.c().hgetall(self.subs_key()).await?;
        let mut out = all
            .iter()
            .map(|(_, v)| serde_json::from_str::<Subscription>(v))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn get_webhook(&self, id: &str) -> Result<Option<Subscription>, StoreError> {
        let raw: Option<String> = self.c().hget(self.subs_key(), id).await?;
        super::decode(raw)
    }

    async fn enqueue_jobs(&self, jobs: &[Job], due: OffsetDateTime) -> Result<(), StoreError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut inv = ENQUEUE.key(self.jobs_key());
        inv.key(self.due_key())
            .arg(self.hooks_prefix())
            .arg(RECENT_DELIVERIES)
            .arg(unix_ms(due));
        for job in jobs {
            let sub = match job {
                Job::Delivery(d) => d.subscription.as_str(),
                Job::TapCheck(_) => "",
            };
            inv.arg(job.id()).arg(serde_json::to_string(job)?).arg(sub);
        }
        let _: i64 = inv.invoke_async(&mut self.c()).await?;
        Ok(())
    }

    async fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        let lease = unix_ms(lease_until);
        let raw: Vec<String> = CLAIM
            .key(self.due_key())
            .key(self.jobs_key())
            .arg(unix_ms(now))
            .arg(lease)
            .arg(limit)
            .invoke_async(&mut self.c())
            .await?;
        Ok(raw
            .iter()
            .filter_map(|r| decode_job("claimed", r))
            .map(|job| Claimed { job, lease })
            .collect())
    }

    async fn finish_job(
        &self,
        claimed: &Claimed,
        job: &Job,
        next: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let recent = match job {
            Job::Delivery(d) => self.recent_key(&d.subscription),
            Job::TapCheck(_) => String::new(),
        };
        let n: i64 = FINISH
            .key(self.due_key())
            .key(self.jobs_key())
            .arg(job.id())
            .arg(claimed.lease)
            .arg(serde_json::to_string(job)?)
            .arg(next.map(|t| unix_ms(t).to_string()).unwrap_or_default())
            .arg(recent)
            .invoke_async(&mut self.c())
            .await?;
        Ok(n == 1)
    }

    async fn recent_deliveries(
        &self,
        subscription_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut c = self.c();
        let stop = isize::try_from(limit).unwrap_or(isize::MAX) - 1;
        let ids: Vec<String> = c
            .zrevrange(self.recent_key(subscription_id), 0, stop)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.jobs_key())
            .arg(&ids)
            .query_async(&mut c)
            .await?;
        Ok(ids
            .iter()
            .zip(raw)
            .filter_map(|(id, r)| match r.and_then(|r| decode_job(id, &r)) {
                Some(Job::Delivery(d)) => Some(d),
                _ => None,
            })
            .collect())
    }

    async fn redeliver(
        &self,
        subscription_id: &str,
        delivery_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let raw: Option<String> = self.c().hget(self.jobs_key(), delivery_id).await?;
        let Some(raw) = raw else { return Ok(false) };
        let Some(Job::Delivery(mut d)) = decode_job(delivery_id, &raw) else {
            return Ok(false);
        };
        if d.subscription != subscription_id || d.status == DeliveryStatus::Pending {
            return Ok(false);
        }
        d.status = DeliveryStatus::Pending;
        d.attempts = 0;
        let n: i64 = REDELIVER
            .key(self.jobs_key())
            .key(self.due_key())
            .arg(delivery_id)
            .arg(&raw)
            .arg(serde_json::to_string(&Job::Delivery(d))?)
            .arg(unix_ms(now))
            .invoke_async(&mut self.c())
            .await?;
        Ok(n == 1)
    }
}
