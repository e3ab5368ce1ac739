//! Redis backend: production and multi-instance deployments.
//!
//! Key layout (`P` = the configured prefix). Braces are Redis Cluster hash
//! tags: every atomic multi-key operation stays inside one tag.
//!
//! | key | holds |
//! |---|---|
//! | `{P:dir}:user:<id>` | user JSON |
//! | `{P:dir}:upn:<upn key>` | user id (unique UPN index) |
//! | `{P:dir}:users` | sorted set of UPN keys (listing; its size is the user count) |
//! | `{P:dir}:mail:<mail key>` | set of user ids with that mail (non-unique index) |
//! | `{P:dir}:empid:<employee id key>` | set of user ids with that employeeId |
//! | `{P:dir}:index` | index version: set once the indexes cover users stored before them |
//! | `{P:dir}:group:<id>` | group JSON |
//! | `{P:dir}:groups` | sorted set of group order keys (`name NUL id`; listing and count) |
//! | `{P:dir}:members:<group id>` | sorted set of member user ids |
//! | `{P:dir}:memberof:<user id>` | set of the user's group ids (reverse index) |
//! | `{P:u:<id>}:tap` | the user's pass JSON |
//! | `{P:u:<id>}:creds` | hash: credential id → passkey JSON |
//! | `{P:u:<id>}:onboarded` | hash: hire date → id of the pass the onboarding scheduler issued for it (the exactly-once claim) |
//! | `{P:cred:<cred id>}` | user id (credential index, checked on read) |
//! | `{P:clients}` | hash: client id → JSON |
//! | `{P:keys}`, `{P:policy}` | singletons |
//! | `{P:audit}:log`, `{P:audit}:ev` | sorted index and event bodies |
//! | `{P:dir}:outbox`, `{P:u:<id>}:outbox`, `{P:clients}:outbox`, `{P:policy}:outbox` | audit events written with a change, on their way to the log |
//! | `{P:audit}:outboxes` | set of outbox keys that may hold events (recovery) |
//! | `{P:audit}:wh:*`, `{P:audit}:outbox` | webhook subscriptions, their due queue and recent deliveries ([`webhooks`]) |
//! | `P:<ns>:<id>` | short-lived records, expiry ms ++ payload, native TTL |
//! | `P:lockout:<id>` | a TAP lockout bucket: hash of [`lockout::Bucket`]'s fields, native expiry |
//!
//! The user directory shares one tag so that user, UPN index, listing, the
//! mail and employeeId indexes, groups and memberships change together in
//! one script (creating, renaming or deleting a user; adding a member,
//! which checks that group and user exist; deleting a user or a group with
//! its memberships). Index entries are also checked against the record on
//! read, so a stale one is never answered. Two sequences cross tags and are ordered
//! to survive a crash between steps: a user's pass and passkeys are deleted
//! after the user (orphans are never reachable: every read goes through the
//! user), and a credential index is written before the credential and
//! verified on every read (a dangling index is ignored and overwritten).
//! An audited change pushes its event onto the outbox of its own tag in the
//! same script or MULTI; the event then moves to `{P:audit}` (idempotently),
//! at once or, after a crash, by [`AuditStore::recover_audit`].
//!
//! The same code runs on one server (`redis://`) and on a Redis Cluster
//! (`redis+cluster://h1:p1,h2:p2`): every command and script names keys of
//! one slot, and nothing enumerates keys (no SCAN or KEYS).

mod batch;
mod webhooks;

use async_trait::async_trait;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};
use redis::{AsyncCommands, Cmd, ErrorKind, Pipeline, RedisFuture, Script, ServerErrorKind, Value};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use time::OffsetDateTime;

use super::{
    AuditPage, AuditStore, Change, ClientStore, CredentialStore, EphemeralStore, GroupStore,
    KeyStore, LockoutStore, Ns, PolicyStore, Store, StoreError, TapStore, TapUse, UserStore,
    already_member, decode_expiring, encode_expiring, group_changed_meanwhile, unix_ms,
};
use crate::domain::audit::{AuditEvent, AuditFilter};
use crate::domain::client::Client;
use crate::domain::credential::PasskeyCredential;
use crate::domain::group::Group;
use crate::domain::lockout;
use crate::domain::policy::Policy;
use crate::domain::signing_key::KeySetRecord;
use crate::domain::tap::Tap;
use crate::domain::user::User;

#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    p: String,
    /// How to open a connection of a worker's own (single server only).
    local: Option<Arc<LocalConnections>>,
}

/// Connections of each actix worker's own. A worker runs a single-threaded
/// runtime; the shared connection is driven by a task of the main runtime,
/// so each of its commands crosses two threads (a wake-up and a context
/// switch each way). A connection opened on the worker's runtime is driven
/// there. Until it is open (or while it cannot be opened) the shared one
/// serves, so an outage behaves as before.
struct LocalConnections {
    /// Tells this store's connections apart from other stores' (tests run
    /// several servers in one process).
    id: u64,
    client: redis::Client,
    config: redis::aio::ConnectionManagerConfig,
}

static NEXT_STORE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// This thread's connection per store; `None` while it is being opened.
    static WORKER_CONNECTIONS: std::cell::RefCell<HashMap<u64, Option<ConnectionManager>>> =
        std::cell::RefCell::new(HashMap::new());
}

impl LocalConnections {
    /// This thread's own connection, if this is a single-threaded runtime
    /// (an actix worker) and it is open; otherwise starts opening it.
    fn get(&self) -> Option<ConnectionManager> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let handle = Handle::try_current().ok()?;
        if handle.runtime_flavor() != RuntimeFlavor::CurrentThread {
            return None;
        }
        WORKER_CONNECTIONS.with(|all| {
            let mut all = all.borrow_mut();
            match all.get(&self.id) {
                Some(open) => open.clone(),
                None => {
                    all.insert(self.id, None);
                    let (id, client, config) = (self.id, self.client.clone(), self.config.clone());
                    // A current-thread runtime runs the task on this thread,
                    // so the connection lands in this thread's map.
                    handle.spawn(async move {
                        let opened = client.get_connection_manager_with_config(config).await;
                        WORKER_CONNECTIONS.with(|all| {
                            let mut all = all.borrow_mut();
                            match opened {
                                Ok(c) => all.insert(id, Some(c)),
                                // Tried again on a later command.
                                Err(_) => all.remove(&id),
                            }
                        });
                    });
                    None
                }
            }
        })
    }
}

/// One server (through a reconnecting manager) or a cluster (which routes
/// each command to the node owning its key's slot and follows redirects).
/// Both speak the same [`ConnectionLike`], so every operation below is
/// written once.
#[derive(Clone)]
enum Conn {
    Server(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        crate::metrics::METRICS.redis_round_trip();
        match self {
            Conn::Server(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        crate::metrics::METRICS.redis_round_trip();
        match self {
            Conn::Server(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Server(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// What a Redis `store.url` names: one server (`redis://`, `rediss://`), or
/// the seed nodes of a cluster (`redis+cluster://[user:pass@]h1:p1,h2:p2/`,
/// `rediss+cluster://` for TLS). The client learns the other nodes and the
/// slot map from the seeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    Server(String),
    /// One `redis://` (or `rediss://`) URL per seed node.
    Cluster(Vec<String>),
}

impl RedisTarget {
    /// True when `url` uses one of the cluster schemes.
    pub fn is_cluster_url(url: &str) -> bool {
        cluster_scheme(url.trim()).is_some()
    }

    /// Parses a store URL. Errors never repeat the URL (it may hold a password).
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let Some((scheme, rest)) = cluster_scheme(url) else {
            return Ok(RedisTarget::Server(url.to_owned()));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        // Credentials, path and options apply to every node.
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(at) => authority.split_at(at + 1),
            None => ("", authority),
        };
        let path = tail.split(['?', '#']).next().unwrap_or("");
        if !matches!(path, "" | "/" | "/0") {
            return Err("a Redis Cluster has only database 0".into());
        }
        if hosts.is_empty() {
            return Err(format!(
                "no nodes: expected {scheme}+cluster://host:port,host:port,..."
            ));
        }
        hosts
            .split(',')
            .map(|host| {
                let host = host.trim();
                if host.is_empty() {
                    return Err("empty entry in the cluster node list".to_owned());
                }
                let node = format!("{scheme}://{userinfo}{host}{tail}");
                check_node_url(&node).map_err(|e| format!("cluster node `{host}`: {e}"))?;
                Ok(node)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(RedisTarget::Cluster)
    }
}

/// `("redis", rest)` for `redis+cluster://rest`, `("rediss", rest)` for TLS.
fn cluster_scheme(url: &str) -> Option<(&'static str, &str)> {
    if let Some(rest) = url.strip_prefix("redis+cluster://") {
        Some(("redis", rest))
    } else {
        url.strip_prefix("rediss+cluster://")
            .map(|rest| ("rediss", rest))
    }
}

fn check_node_url(node: &str) -> Result<(), String> {
    let parsed = url::Url::parse(node).map_err(|e| e.to_string())?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    if parsed.port().is_none() {
        return Err("no port (write host:port)".into());
    }
    redis::IntoConnectionInfo::into_connection_info(node)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// `url` with the password (if any) of a cluster URL replaced by `mask`;
/// `None` if `url` is not a cluster URL or holds no password.
pub fn mask_cluster_password(url: &str, mask: &str) -> Option<String> {
    let (scheme, rest) = cluster_scheme(url.trim())?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..end].rfind('@')?;
    let (user, _password) = rest[..at].split_once(':')?;
    Some(format!("{scheme}+cluster://{user}:{mask}{}", &rest[at..]))
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        // Besides lost connections, a cluster that is re-electing or
        // missing a shard answers CLUSTERDOWN / TRYAGAIN / MASTERDOWN, and a
        // cluster client with no route to a slot says ClusterConnectionNotFound.
        let cluster_away = matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::ClusterDown
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::MasterDown
                )
        );
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_unrecoverable_error()
            || cluster_away
        {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Backend(e.to_string())
        }
    }
}

impl RedisStore {
    /// Connects to one server or a cluster (see [`RedisTarget`]), failing
    /// fast if Redis is down at start-up; afterwards the connection
    /// reconnects on its own and requests fail quickly with
    /// [`StoreError::Unavailable`] while Redis is away.
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Self, StoreError> {
        let mut local = None;
        let conn = match RedisTarget::parse(url).map_err(StoreError::Backend)? {
            RedisTarget::Server(url) => {
                let client =
                    redis::Client::open(url).map_err(|e| StoreError::Backend(e.to_string()))?;
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500));
                let shared = client
                    .get_connection_manager_with_config(config.clone())
                    .await?;
                local = Some(Arc::new(LocalConnections {
                    id: NEXT_STORE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    client,
                    config,
                }));
                Conn::Server(shared)
            }
            RedisTarget::Cluster(nodes) => {
                // The response timeout also bounds a whole request with its
                // redirects and retries, so an outage costs at most `timeout`.
                let client = ClusterClientBuilder::new(nodes)
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(3)
                    .min_retry_wait(50)
                    .max_retry_wait(500)
                    .build()
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                Conn::Cluster(client.get_async_connection().await?)
            }
        };
        Ok(Self {
            conn,
            p: prefix.to_owned(),
            local,
        })
    }

    /// `appendonly` setting, if the server lets us read it. On a cluster,
    /// asks every primary: off on any of them counts as off.
    pub async fn persistence_enabled(&self) -> Option<bool> {
        let mut get = redis::cmd("CONFIG");
        get.arg("GET").arg("appendonly");
        let appendonly = |reply: Vec<String>| reply.get(1).map(|v| v == "yes");
        match self.c() {
            Conn::Server(mut c) => appendonly(get.query_async(&mut c).await.ok()?),
            Conn::Cluster(mut c) => {
                let all = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
                // One (node address, reply) pair per primary.
                let Value::Map(replies) = c.route_command(get, all).await.ok()? else {
                    return None;
                };
                let known: Vec<bool> = replies
                    .into_iter()
                    .filter_map(|(_, v)| appendonly(redis::from_redis_value(v).ok()?))
                    .collect();
                if known.is_empty() {
                    None
                } else {
                    Some(known.into_iter().all(|on| on))
                }
            }
        }
    }

    fn c(&self) -> Conn {
        match self.local.as_ref().and_then(|l| l.get()) {
            Some(own) => Conn::Server(own),
            None => self.conn.clone(),
        }
    }

    fn user_key(&self, id: &str) -> String {
        format!("{{{}:dir}}:user:{id}", self.p)
    }
    fn upn_key(&self, upn_key: &str) -> String {
        format!("{{{}:dir}}:upn:{upn_key}", self.p)
    }
    fn users_key(&self) -> String {
        format!("{{{}:dir}}:users", self.p)
    }
    /// The start of every directory key: scripts name index keys from it
    /// (always in the script's own slot).
    fn dir_prefix(&self) -> String {
        format!("{{{}:dir}}:", self.p)
    }
    fn index_version_key(&self) -> String {
        format!("{{{}:dir}}:index", self.p)
    }
    fn mail_index_key(&self, mail_key: &str) -> String {
        format!("{{{}:dir}}:mail:{mail_key}", self.p)
    }
    fn employee_id_index_key(&self, key: &str) -> String {
        format!("{{{}:dir}}:empid:{key}", self.p)
    }
    fn group_key(&self, id: &str) -> String {
        format!("{{{}:dir}}:group:{id}", self.p)
    }
    fn groups_key(&self) -> String {
        format!("{{{}:dir}}:groups", self.p)
    }
    fn members_key(&self, group_id: &str) -> String {
        format!("{{{}:dir}}:members:{group_id}", self.p)
    }
    fn member_of_key(&self, user_id: &str) -> String {
        format!("{{{}:dir}}:memberof:{user_id}", self.p)
    }
    fn tap_key(&self, user_id: &str) -> String {
        format!("{{{}:u:{user_id}}}:tap", self.p)
    }
    fn onboarded_key(&self, user_id: &str) -> String {
        format!("{{{}:u:{user_id}}}:onboarded", self.p)
    }
    fn creds_key(&self, user_id: &str) -> String {
        format!("{{{}:u:{user_id}}}:creds", self.p)
    }
    fn cred_index_key(&self, cred_id: &str) -> String {
        format!("{{{}:cred:{cred_id}}}", self.p)
    }
    fn clients_key(&self) -> String {
        format!("{{{}:clients}}", self.p)
    }
    fn keys_key(&self) -> String {
        format!("{{{}:keys}}", self.p)
    }
    fn policy_key(&self) -> String {
        format!("{{{}:policy}}", self.p)
    }
    fn audit_log_key(&self) -> String {
        format!("{{{}:audit}}:log", self.p)
    }
    fn audit_ev_key(&self) -> String {
        format!("{{{}:audit}}:ev", self.p)
    }
    /// Audit events waiting to reach the log, one list per hash tag so a
    /// change and its event are one atomic step in any slot.
    fn dir_outbox(&self) -> String {
        format!("{{{}:dir}}:outbox", self.p)
    }
    fn user_outbox(&self, user_id: &str) -> String {
        format!("{{{}:u:{user_id}}}:outbox", self.p)
    }
    fn clients_outbox(&self) -> String {
        format!("{{{}:clients}}:outbox", self.p)
    }
    fn policy_outbox(&self) -> String {
        format!("{{{}:policy}}:outbox", self.p)
    }
    /// The outboxes that may hold events (for recovery after a crash).
    fn outboxes_key(&self) -> String {
        format!("{{{}:audit}}:outboxes", self.p)
    }
    fn eph_key(&self, ns: Ns, id: &str) -> String {
        format!("{}:{}:{id}", self.p, ns.as_str())
    }
    fn lockout_key(&self, id: &str) -> String {
        format!("{}:lockout:{id}", self.p)
    }
}

fn decode<T: serde::de::DeserializeOwned>(raw: Option<String>) -> Result<Option<T>, StoreError> {
    raw.map(|s| serde_json::from_str(&s))
        .transpose()
        .map_err(StoreError::from)
}

fn ttl_ms(expires_at: OffsetDateTime, now: OffsetDateTime) -> i64 {
    unix_ms(expires_at) - unix_ms(now)
}

// Every changing script takes an outbox key and an audit event ('' for
// none) last, and pushes the event only if the change happened.

// The non-unique indexes (mail, employeeId) of the directory: index keys
// are built from the directory prefix, in the script's slot. '' = no value.
const INDEX_FNS: &str = r"
local function index_add(prefix, kind, value, id)
  if value ~= '' then redis.call('SADD', prefix .. kind .. value, id) end
end
local function index_del(prefix, kind, value, id)
  if value ~= '' then redis.call('SREM', prefix .. kind .. value, id) end
end
";

fn with_index_fns(body: &str) -> Script {
    Script::new(&format!("{INDEX_FNS}{body}"))
}

// KEYS: upn index, user, users set, outbox. ARGV: id, json, upn key, event,
// dir prefix, mail key, employeeId key.
static CREATE_USER: LazyLock<Script> = LazyLock::new(|| {
    with_index_fns(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], 0, ARGV[3])
index_add(ARGV[5], 'mail:', ARGV[6], ARGV[1])
index_add(ARGV[5], 'empid:', ARGV[7], ARGV[1])
if ARGV[4] ~= '' then redis.call('RPUSH', KEYS[4], ARGV[4]) end
return 1",
    )
});

// KEYS: user, old upn index, new upn index, users set, outbox.
// ARGV: id, json, old upn key, new upn key, expected current json, event,
// dir prefix, old mail key, new mail key, old employeeId key, new one.
// Returns -1 absent, -2 changed concurrently (retry), 0 conflict, 1 ok.
static UPDATE_USER: LazyLock<Script> = LazyLock::new(|| {
    with_index_fns(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if cur ~= ARGV[5] then return -2 end
if ARGV[3] ~= ARGV[4] then
  if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
  if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
  redis.call('ZREM', KEYS[4], ARGV[3])
  redis.call('SET', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[4], 0, ARGV[4])
end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[8] ~= ARGV[9] then index_del(ARGV[7], 'mail:', ARGV[8], ARGV[1]) end
index_add(ARGV[7], 'mail:', ARGV[9], ARGV[1])
if ARGV[10] ~= ARGV[11] then index_del(ARGV[7], 'empid:', ARGV[10], ARGV[1]) end
index_add(ARGV[7], 'empid:', ARGV[11], ARGV[1])
if ARGV[6] ~= '' then redis.call('RPUSH', KEYS[5], ARGV[6]) end
return 1",
    )
});

// KEYS: user, upn index, users set, outbox, the user's group set.
// ARGV: id, upn key, expected json, event, dir prefix, mail key,
// employeeId key. Also takes the user out of every group.
static DELETE_USER: LazyLock<Script> = LazyLock::new(|| {
    with_index_fns(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if cur ~= ARGV[3] then return -2 end
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
end
index_del(ARGV[5], 'mail:', ARGV[6], ARGV[1])
index_del(ARGV[5], 'empid:', ARGV[7], ARGV[1])
for _, g in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  redis.call('ZREM', ARGV[5] .. 'members:' .. g, ARGV[1])
end
redis.call('DEL', KEYS[5])
if ARGV[4] ~= '' then redis.call('RPUSH', KEYS[4], ARGV[4]) end
return 1",
    )
});

// KEYS: user. ARGV: expected json, dir prefix, id, mail key, employeeId
// key. Indexes a record stored before the indexes, if it is unchanged
// (a changed one was indexed by whoever changed it).
static REINDEX_USER: LazyLock<Script> = LazyLock::new(|| {
    with_index_fns(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
index_add(ARGV[2], 'mail:', ARGV[4], ARGV[3])
index_add(ARGV[2], 'empid:', ARGV[5], ARGV[3])
return 1",
    )
});

// KEYS: an index set. ARGV: user key prefix. The records its ids name.
static USERS_OF_INDEX: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local u = redis.call('GET', ARGV[1] .. id)
  if u then table.insert(out, u) end
end
return out",
    )
});

// KEYS: group, groups set, outbox. ARGV: json, order key, event.
static CREATE_GROUP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[3]) end
return 1",
    )
});

// KEYS: group, groups set, outbox. ARGV: json, old order key, new order
// key, expected current json, event. -1 absent, -2 changed meanwhile.
static UPDATE_GROUP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if cur ~= ARGV[4] then return -2 end
if ARGV[2] ~= ARGV[3] then
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('ZADD', KEYS[2], 0, ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[5] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[5]) end
return 1",
    )
});

// KEYS: group, groups set, members, outbox. ARGV: id, order key, expected
// json, dir prefix, event. Takes every member out of the group.
static DELETE_GROUP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if cur ~= ARGV[3] then return -2 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
for _, u in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  redis.call('SREM', ARGV[4] .. 'memberof:' .. u, ARGV[1])
end
redis.call('DEL', KEYS[3])
if ARGV[5] ~= '' then redis.call('RPUSH', KEYS[4], ARGV[5]) end
return 1",
    )
});

// KEYS: group, user, members, user's groups, outbox. ARGV: group id, user
// id, event. -1 no such group or user, 0 a member already, 1 added.
static ADD_MEMBER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
if redis.call('ZADD', KEYS[3], 'NX', 0, ARGV[2]) == 0 then return 0 end
redis.call('SADD', KEYS[4], ARGV[1])
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[5], ARGV[3]) end
return 1",
    )
});

// KEYS: members, user's groups, outbox. ARGV: group id, user id, event.
static REMOVE_MEMBER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[3]) end
return 1",
    )
});

// KEYS: a sorted set of ids (or of `name NUL id` order keys). ARGV: min lex
// bound, limit, record key prefix, 1 if the members are order keys. The
// records, in order.
static LIST_RECORDS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))) do
  local id = m
  if ARGV[4] == '1' then
    local nul = string.find(m, '\0', 1, true)
    if nul then id = string.sub(m, nul + 1) end
  end
  local r = redis.call('GET', ARGV[3] .. id)
  if r then table.insert(out, r) end
end
return out",
    )
});

// KEYS: users set. ARGV: min lex bound, limit, key prefix for upn index, key prefix for users.
// Same hash tag for every key touched.
static LIST_USERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local upns = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, upn in ipairs(upns) do
  local id = redis.call('GET', ARGV[3] .. upn)
  if id then
    local u = redis.call('GET', ARGV[4] .. id)
    if u then table.insert(out, u) end
  end
end
return {out, upns[#upns] or ''}",
    )
});

// KEYS: tap, outbox. ARGV: tap id, used_at (RFC 3339), event.
static RECORD_TAP_USE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 'missing' end
local t = cjson.decode(cur)
if t['id'] ~= ARGV[1] then return 'missing' end
if t['is_usable_once'] and t['used_at'] ~= nil and t['used_at'] ~= cjson.null then return 'used' end
t['used_at'] = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(t))
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[3]) end
return 'ok'",
    )
});

// KEYS: tap, outbox. ARGV: tap id, event.
static DELETE_TAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cjson.decode(cur)['id'] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[2] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[2]) end
return 1",
    )
});

// KEYS: claims, tap, outbox. ARGV: hire date, tap id, tap, event. The
// claim, the pass and its event in one step, only if the claim is new.
static ISSUE_SCHEDULED_TAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[4]) end
return 1",
    )
});

// KEYS: hash, outbox. ARGV: field, event. Deletes the field; the event
// goes out only if there was one.
static HDEL_AUDITED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[2]) end
return 1",
    )
});

// KEYS: outbox. ARGV: event. Drops the event if it is still first.
static OUTBOX_ACK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then redis.call('LPOP', KEYS[1]) end
return 1",
    )
});

// KEYS: creds hash, outbox, then the records to store. ARGV: cred id, json,
// event, expected raw JSON ('' for any); optionally the number of records,
// (value, ttl ms) per record, then further events for the outbox. Replace
// only if present (and unchanged): 0 absent, -2 changed; the records and
// events only with the change.
const UPDATE_CRED_SRC: &str = r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
if ARGV[4] ~= '' and cur ~= ARGV[4] then return -2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[3]) end
local n = tonumber(ARGV[5] or '0')
for i = 1, n do
  local ttl = tonumber(ARGV[5 + 2 * i])
  if ttl > 0 then
    redis.call('SET', KEYS[2 + i], ARGV[4 + 2 * i], 'PX', ttl)
  else
    redis.call('DEL', KEYS[2 + i])
  end
end
for i = 6 + 2 * n, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
return 1";
static UPDATE_CRED: LazyLock<Script> = LazyLock::new(|| Script::new(UPDATE_CRED_SRC));

// KEYS: keys. ARGV: expected version, json.
static REPLACE_KEYS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if tostring(cjson.decode(cur)['version']) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1",
    )
});

// KEYS: record. ARGV: now ms, encoded value, ttl ms. Stores unless live.
static PUT_NEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if cur and string.len(cur) >= 8 then
  local exp = struct.unpack('>i8', cur)
  if exp > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1",
    )
});

// KEYS: counter. ARGV: now ms, window end ms, ttl ms.
static INCR: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local exp = redis.call('HGET', KEYS[1], 'e')
if exp and tonumber(exp) <= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if n == 1 then
  redis.call('HSET', KEYS[1], 'e', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return n",
    )
});

// KEYS: bucket. ARGV: now ms, op ('r' reserve, 'x' release, 'c' clear),
// then for 'r': limit, window, first lock, max lock, grows (1/0), history;
// for 'c': keep. The same steps as `lockout::Bucket::apply`, which the
// conformance suite holds both stores to. Returns {verdict (0 granted,
// 1 refused, 2 refused and locked now), locked until, ended lock's end
// (0 = none), its refused attempts, generation}. The expiry is relative
// (PEXPIRE), as times come from the injected clock, not Redis's.
static LOCKOUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local k = KEYS[1]
local now = tonumber(ARGV[1])
local op = ARGV[2]
local f = redis.call('HMGET', k, 'n', 'we', 'lu', 'rf', 'lk', 'lku', 'g', 'ku')
local n, we, lu, rf = tonumber(f[1]) or 0, tonumber(f[2]) or 0, tonumber(f[3]) or 0, tonumber(f[4]) or 0
local lk, lku, g, ku = tonumber(f[5]) or 0, tonumber(f[6]) or 0, tonumber(f[7]) or 0, tonumber(f[8]) or 0
if tonumber(f[1]) and math.max(we, lu, lku, ku) <= now then
  n, we, lu, rf, lk, lku, g, ku = 0, 0, 0, 0, 0, 0, 0, 0
end
local eu, er = 0, 0
if lu ~= 0 and lu <= now then
  eu, er = lu, rf
  lu, rf, n, we = 0, 0, 0, 0
end
local v, vu = 0, 0
if op == 'r' then
  local limit, window, first = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  local maxl, grows, hist = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
  if lu > now then
    rf = rf + 1
    v, vu = 1, lu
  else
    if we <= now then n, we = 0, now + window end
    if n < limit then
      n = n + 1
    else
      if lku <= now then lk = 0 end
      lk = lk + 1
      lku = now + hist
      local period = first
      if grows == '1' then
        local d = lk - 1
        if d > 20 then d = 20 end
        period = math.min(first * (2 ^ d), maxl)
      end
      lu = now + period
      rf, n, we = 1, 0, 0
      v, vu = 2, lu
    end
  end
elseif op == 'x' then
  if n > 0 then n = n - 1 end
elseif op == 'c' then
  if lu > now then eu, er = lu, rf end
  g = g + 1
  ku = now + tonumber(ARGV[3])
  n, we, lu, rf, lk, lku = 0, 0, 0, 0, 0, 0
end
local keep = math.max(we, lu, lku, ku)
if keep > now then
  redis.call('HSET', k, 'n', n, 'we', we, 'lu', lu, 'rf', rf, 'lk', lk, 'lku', lku, 'g', g, 'ku', ku)
  redis.call('PEXPIRE', k, keep - now)
else
  redis.call('DEL', k)
end
return {v, vu, eu, er, g}",
    )
});

/// Sets the policy (KEYS[1]) and pushes its event (ARGV[2], '' for none)
/// onto the outbox (KEYS[2]), only if the stored text is still as read:
/// ARGV[3] `absent` (none stored), `equal` (ARGV[4]) or '' (no check).
static PUT_POLICY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local cur = redis.call('GET', KEYS[1])
if ARGV[3] == 'absent' and cur then return -2 end
if ARGV[3] == 'equal' and cur ~= ARGV[4] then return -2 end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[2]) end
return 1",
    )
});

/// Durable changes, each with its audit event (`event` JSON, '' for none)
/// pushed onto the outbox of the same hash tag in the same atomic step.
impl RedisStore {
    async fn apply(&self, change: Change<'_>, event: &str) -> Result<bool, StoreError> {
        match change {
            Change::CreateUser(user) => self.create_user_audited(user, event).await,
            Change::UpdateUser { user, prior } => {
                self.update_user_audited(user, prior, event).await
            }
            Change::DeleteUser(id) => self.delete_user_audited(id, event).await,
            Change::PutTap { user_id, tap } => {
                let json = serde_json::to_string(tap)?;
                let mut pipe = redis::pipe();
                pipe.atomic().set(self.tap_key(user_id), json).ignore();
                if !event.is_empty() {
                    pipe.rpush(self.user_outbox(user_id), event).ignore();
                }
                let _: () = pipe.query_async(&mut self.c()).await?;
                Ok(true)
            }
            Change::DeleteTap { user_id, tap_id } => {
                let n: i64 = DELETE_TAP
                    .key(self.tap_key(user_id))
                    .key(self.user_outbox(user_id))
                    .arg(tap_id)
                    .arg(event)
                    .invoke_async(&mut self.c())
                    .await?;
                Ok(n == 1)
            }
            Change::AddCredential(cred) => {
                let events: &[&str] = if event.is_empty() { &[] } else { &[event] };
                self.add_credential_audited(cred, events).await
            }
            Change::UpdateCredential { cred, prior } => {
                let json = serde_json::to_string(cred)?;
                // With a prior version: compare parsed, then swap on the raw
                // text, so nothing can slip in between.
                let expected = match prior {
                    None => String::new(),
                    Some(p) => {
                        let raw: Option<String> = self
                            .c()
                            .hget(self.creds_key(&cred.user_id), &cred.id)
                            .await?;
                        let Some(raw) = raw else { return Ok(false) };
                        if serde_json::from_str::<PasskeyCredential>(&raw)? != *p {
                            return Err(super::cred_changed_meanwhile());
                        }
                        raw
                    }
                };
                let n: i64 = UPDATE_CRED
                    .key(self.creds_key(&cred.user_id))
                    .key(self.user_outbox(&cred.user_id))
                    .arg(&cred.id)
                    .arg(json)
                    .arg(event)
                    .arg(expected)
                    .invoke_async(&mut self.c())
                    .await?;
                match n {
                    1 => Ok(true),
                    -2 => Err(super::cred_changed_meanwhile()),
                    _ => Ok(false),
                }
            }
            Change::UseTap {
                user_id,
                tap_id,
                at,
            } => Ok(self.use_tap(user_id, tap_id, at, event).await? == TapUse::Recorded),
            Change::DeleteCredential { user_id, cred_id } => {
                let n: i64 = HDEL_AUDITED
                    .key(self.creds_key(user_id))
                    .key(self.user_outbox(user_id))
                    .arg(cred_id)
                    .arg(event)
                    .invoke_async(&mut self.c())
                    .await?;
                let mut c = self.c();
                let index = self.cred_index_key(cred_id);
                let owner: Option<String> = c.get(&index).await?;
                if owner.as_deref() == Some(user_id) {
                    let _: () = c.del(&index).await?;
                }
                Ok(n == 1)
            }
            Change::PutClient(client) => {
                let json = serde_json::to_string(client)?;
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .hset(self.clients_key(), &client.id, json)
                    .ignore();
                if !event.is_empty() {
                    pipe.rpush(self.clients_outbox(), event).ignore();
                }
                let _: () = pipe.query_async(&mut self.c()).await?;
                Ok(true)
            }
            Change::PutWebhook(sub) => self.put_subscription(sub, event).await,
            Change::DeleteWebhook(id) => self.delete_subscription(id, event).await,
            Change::DeleteClient(id) => {
                let n: i64 = HDEL_AUDITED
                    .key(self.clients_key())
                    .key(self.clients_outbox())
                    .arg(id)
                    .arg(event)
                    .invoke_async(&mut self.c())
                    .await?;
                Ok(n == 1)
            }
            Change::PutPolicy { policy, prior } => {
                let json = serde_json::to_string(policy)?;
                // With a prior version: compare parsed, then swap on the raw
                // text (or its absence), so nothing can slip in between.
                let expected = match prior {
                    None => None,
                    Some(p) => {
                        let raw: Option<String> = self.c().get(self.policy_key()).await?;
                        let stored: Policy = match &raw {
                            Some(r) => serde_json::from_str(r)?,
                            None => Policy::default(),
                        };
                        if stored != *p {
                            return Err(super::policy_changed_meanwhile());
                        }
                        Some(raw)
                    }
                };
                let (check, want) = match expected {
                    None => ("", String::new()),
                    Some(None) => ("absent", String::new()),
                    Some(Some(raw)) => ("equal", raw),
                };
                let n: i64 = PUT_POLICY
                    .key(self.policy_key())
                    .key(self.policy_outbox())
                    .arg(json)
                    .arg(event)
                    .arg(check)
                    .arg(want)
                    .invoke_async(&mut self.c())
                    .await?;
                match n {
                    1 => Ok(true),
                    _ => Err(super::policy_changed_meanwhile()),
                }
            }
            Change::CreateGroup(group) => {
                let n: i64 = CREATE_GROUP
                    .key(self.group_key(&group.id))
                    .key(self.groups_key())
                    .key(self.dir_outbox())
                    .arg(serde_json::to_string(group)?)
                    .arg(group.order_key())
                    .arg(event)
                    .invoke_async(&mut self.c())
                    .await?;
                if n == 1 {
                    Ok(true)
                } else {
                    Err(StoreError::Conflict("the group id exists".into()))
                }
            }
            Change::UpdateGroup { group, prior } => {
                self.update_group_audited(group, prior, event).await
            }
            Change::DeleteGroup(id) => self.delete_group_audited(id, event).await,
            Change::AddMember { group_id, user_id } => {
                let n: i64 = ADD_MEMBER
                    .key(self.group_key(group_id))
                    .key(self.user_key(user_id))
                    .key(self.members_key(group_id))
                    .key(self.member_of_key(user_id))
                    .key(self.dir_outbox())
                    .arg(group_id)
                    .arg(user_id)
                    .arg(event)
                    .invoke_async(&mut self.c())
                    .await?;
                match n {
                    1 => Ok(true),
                    0 => Err(already_member()),
                    _ => Err(StoreError::NotFound),
                }
            }
            Change::RemoveMember { group_id, user_id } => {
                let n: i64 = REMOVE_MEMBER
                    .key(self.members_key(group_id))
                    .key(self.member_of_key(user_id))
                    .key(self.dir_outbox())
                    .arg(group_id)
                    .arg(user_id)
                    .arg(event)
                    .invoke_async(&mut self.c())
                    .await?;
                Ok(n == 1)
            }
            Change::IssueScheduledTap {
                user_id,
                hire_date,
                tap,
            } => {
                let n: i64 = ISSUE_SCHEDULED_TAP
                    .key(self.onboarded_key(user_id))
                    .key(self.tap_key(user_id))
                    .key(self.user_outbox(user_id))
                    .arg(hire_date)
                    .arg(&tap.id)
                    .arg(serde_json::to_string(tap)?)
                    .arg(event)
                    .invoke_async(&mut self.c())
                    .await?;
                Ok(n == 1)
            }
        }
    }

    async fn update_group_audited(
        &self,
        group: &Group,
        prior: Option<&Group>,
        event: &str,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(group)?;
        for _ in 0..5 {
            let current: Option<String> = self.c().get(self.group_key(&group.id)).await?;
            let Some(current) = current else {
                return Err(StoreError::NotFound);
            };
            let old: Group = serde_json::from_str(&current)?;
            if prior.is_some_and(|p| *p != old) {
                return Err(group_changed_meanwhile());
            }
            let r: i64 = UPDATE_GROUP
                .key(self.group_key(&group.id))
                .key(self.groups_key())
                .key(self.dir_outbox())
                .arg(&json)
                .arg(old.order_key())
                .arg(group.order_key())
                .arg(&current)
                .arg(event)
                .invoke_async(&mut self.c())
                .await?;
            match r {
                1 => return Ok(true),
                -1 => return Err(StoreError::NotFound),
                _ => continue,
            }
        }
        Err(group_changed_meanwhile())
    }

    async fn delete_group_audited(&self, id: &str, event: &str) -> Result<bool, StoreError> {
        for _ in 0..5 {
            let current: Option<String> = self.c().get(self.group_key(id)).await?;
            let Some(current) = current else {
                return Ok(false);
            };
            let group: Group = serde_json::from_str(&current)?;
            let r: i64 = DELETE_GROUP
                .key(self.group_key(id))
                .key(self.groups_key())
                .key(self.members_key(id))
                .key(self.dir_outbox())
                .arg(id)
                .arg(group.order_key())
                .arg(&current)
                .arg(self.dir_prefix())
                .arg(event)
                .invoke_async(&mut self.c())
                .await?;
            match r {
                1 => return Ok(true),
                -1 => return Ok(false),
                _ => continue,
            }
        }
        Err(group_changed_meanwhile())
    }

    /// The outbox a change's event goes to (the change's hash tag).
    fn outbox_of(&self, change: &Change<'_>) -> String {
        match change {
            Change::CreateUser(_)
            | Change::UpdateUser { .. }
            | Change::DeleteUser(_)
            | Change::CreateGroup(_)
            | Change::UpdateGroup { .. }
            | Change::DeleteGroup(_)
            | Change::AddMember { .. }
            | Change::RemoveMember { .. } => self.dir_outbox(),
            Change::PutTap { user_id, .. }
            | Change::DeleteTap { user_id, .. }
            | Change::UseTap { user_id, .. }
            | Change::DeleteCredential { user_id, .. }
            | Change::IssueScheduledTap { user_id, .. } => self.user_outbox(user_id),
            Change::AddCredential(c) | Change::UpdateCredential { cred: c, .. } => {
                self.user_outbox(&c.user_id)
            }
            Change::PutClient(_) | Change::DeleteClient(_) => self.clients_outbox(),
            Change::PutWebhook(_) | Change::DeleteWebhook(_) => self.hooks_outbox(),
            Change::PutPolicy { .. } => self.policy_outbox(),
        }
    }

    /// Moves an outbox's events into the audit log, oldest first. Appending
    /// is idempotent (same key, same value), so two drainers or a crash
    /// between append and acknowledge never duplicate an event.
    async fn drain_outbox(&self, outbox: &str) -> Result<usize, StoreError> {
        let mut moved = 0;
        let mut c = self.c();
        loop {
            let head: Option<String> = c.lindex(outbox, 0).await?;
            let Some(json) = head else { break };
            match serde_json::from_str::<AuditEvent>(&json) {
                Ok(event) => self.append_audit(&event).await?,
                Err(e) => tracing::error!(error = %e, outbox, "dropping an unreadable audit event"),
            }
            let _: i64 = OUTBOX_ACK
                .key(outbox)
                .arg(&json)
                .invoke_async(&mut c)
                .await?;
            moved += 1;
        }
        Ok(moved)
    }

    async fn use_tap(
        &self,
        user_id: &str,
        tap_id: &str,
        at: OffsetDateTime,
        event: &str,
    ) -> Result<TapUse, StoreError> {
        let at = at
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let r: String = RECORD_TAP_USE
            .key(self.tap_key(user_id))
            .key(self.user_outbox(user_id))
            .arg(tap_id)
            .arg(at)
            .arg(event)
            .invoke_async(&mut self.c())
            .await?;
        Ok(match r.as_str() {
            "ok" => TapUse::Recorded,
            "used" => TapUse::AlreadyUsed,
            _ => TapUse::Missing,
        })
    }

    async fn create_user_audited(&self, user: &User, event: &str) -> Result<bool, StoreError> {
        let json = serde_json::to_string(user)?;
        let upn = user.upn.key();
        let created: i64 = CREATE_USER
            .key(self.upn_key(&upn))
            .key(self.user_key(&user.id))
            .key(self.users_key())
            .key(self.dir_outbox())
            .arg(&user.id)
            .arg(json)
            .arg(&upn)
            .arg(event)
            .arg(self.dir_prefix())
            .arg(user.mail_key().unwrap_or_default())
            .arg(user.employee_id_key().unwrap_or_default())
            .invoke_async(&mut self.c())
            .await?;
        if created == 1 {
            Ok(true)
        } else {
            Err(StoreError::Conflict(super::UPN_TAKEN.into()))
        }
    }

    async fn update_user_audited(
        &self,
        user: &User,
        prior: Option<&User>,
        event: &str,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(user)?;
        let new_upn = user.upn.key();
        // Optimistic: retry if another writer changed the record meanwhile.
        for _ in 0..5 {
            let current: Option<String> = self.c().get(self.user_key(&user.id)).await?;
            let Some(current) = current else {
                return Err(StoreError::NotFound);
            };
            let old: User = serde_json::from_str(&current)?;
            // The script swaps only if the raw record is still `current`.
            if prior.is_some_and(|p| *p != old) {
                return Err(super::changed_meanwhile());
            }
            let old_upn = old.upn.key();
            let r: i64 = UPDATE_USER
                .key(self.user_key(&user.id))
                .key(self.upn_key(&old_upn))
                .key(self.upn_key(&new_upn))
                .key(self.users_key())
                .key(self.dir_outbox())
                .arg(&user.id)
                .arg(&json)
                .arg(&old_upn)
                .arg(&new_upn)
                .arg(&current)
                .arg(event)
                .arg(self.dir_prefix())
                .arg(old.mail_key().unwrap_or_default())
                .arg(user.mail_key().unwrap_or_default())
                .arg(old.employee_id_key().unwrap_or_default())
                .arg(user.employee_id_key().unwrap_or_default())
                .invoke_async(&mut self.c())
                .await?;
            match r {
                1 => return Ok(true),
                0 => {
                    return Err(StoreError::Conflict(super::UPN_TAKEN.into()));
                }
                -1 => return Err(StoreError::NotFound),
                _ => continue,
            }
        }
        Err(StoreError::Conflict(
            "the user changed concurrently; retry".into(),
        ))
    }

    async fn delete_user_audited(&self, id: &str, event: &str) -> Result<bool, StoreError> {
        let mut deleted = false;
        for _ in 0..5 {
            let current: Option<String> = self.c().get(self.user_key(id)).await?;
            let Some(current) = current else { break };
            let user: User = serde_json::from_str(&current)?;
            let upn = user.upn.key();
            let r: i64 = DELETE_USER
                .key(self.user_key(id))
                .key(self.upn_key(&upn))
                .key(self.users_key())
                .key(self.dir_outbox())
                .key(self.member_of_key(id))
                .arg(id)
                .arg(&upn)
                .arg(&current)
                .arg(event)
                .arg(self.dir_prefix())
                .arg(user.mail_key().unwrap_or_default())
                .arg(user.employee_id_key().unwrap_or_default())
                .invoke_async(&mut self.c())
                .await?;
            if r == 1 {
                deleted = true;
                break;
            }
            if r == -1 {
                break;
            }
        }
        // The user is gone: now remove what hung off them (other hash tags).
        let mut c = self.c();
        let cred_ids: Vec<String> = c.hkeys(self.creds_key(id)).await?;
        for cred in cred_ids {
            let _: () = c.del(self.cred_index_key(&cred)).await?;
        }
        let _: () = c
            .del(&[self.tap_key(id), self.creds_key(id), self.onboarded_key(id)])
            .await?;
        Ok(deleted)
    }

    /// Moves events a change just pushed into `outbox` to the log now (one
    /// round trip each on a single server, two on a cluster, where log and
    /// outbox live in different slots); anything older in the outbox is a
    /// crash's leftover and waits for recovery. A failure leaves them safe
    /// in the outbox for recovery.
    async fn move_out(&self, outbox: &str, events: &[(&AuditEvent, &str)]) {
        let moved = async {
            for (event, json) in events {
                match self.c() {
                    mut c @ Conn::Server(_) => {
                        // One script: into the log, out of the outbox,
                        // and its webhook deliveries queued.
                        let _: i64 = self
                            .log_event(event, json, Some(outbox))?
                            .invoke_async(&mut c)
                            .await?;
                    }
                    Conn::Cluster(_) => {
                        self.append_audit(event).await?;
                        let _: i64 = self.c().lrem(outbox, 1, *json).await?;
                    }
                }
            }
            Ok::<_, StoreError>(())
        };
        if let Err(e) = moved.await {
            // Register again: recovery may have dropped the outbox from the
            // set between the change's SADD and its push.
            tracing::warn!(error = %e, "audit event left in its outbox for now");
            let _: Result<(), _> = self.c().sadd(self.outboxes_key(), outbox).await;
        }
    }

    /// A new passkey with its event and the events `also`, all pushed into
    /// the user's outbox in the change's own transaction (the credential
    /// and the outbox share the user's hash tag), so none is lost if this
    /// instance dies after the change; then `puts`.
    async fn add_credential_then(
        &self,
        cred: &PasskeyCredential,
        event: &AuditEvent,
        json: &str,
        puts: &[super::batch::Put<'_>],
        also: &[AuditEvent],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let outbox = self.user_outbox(&cred.user_id);
        let also_json = also
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        let mut events = vec![(event, json)];
        events.extend(also.iter().zip(also_json.iter().map(String::as_str)));
        let jsons: Vec<&str> = events.iter().map(|(_, j)| *j).collect();
        let _: () = self.c().sadd(self.outboxes_key(), &outbox).await?;
        self.add_credential_audited(cred, &jsons).await?;
        self.move_out(&outbox, &events).await;
        self.after_change(puts, &[], now).await?;
        Ok(true)
    }

    async fn add_credential_audited(
        &self,
        cred: &PasskeyCredential,
        events: &[&str],
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(cred)?;
        let index = self.cred_index_key(&cred.id);
        let mut c = self.c();
        // Reserve the index first; a dangling one (no credential behind it) is taken over.
        let reserved: bool = c.set_nx(&index, &cred.user_id).await?;
        if !reserved && self.find_credential(&cred.id).await?.is_some() {
            return Err(StoreError::Conflict(
                "credential id already registered".into(),
            ));
        }
        let _: () = c.set(&index, &cred.user_id).await?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(self.creds_key(&cred.user_id), &cred.id, json)
            .ignore();
        if !events.is_empty() {
            pipe.rpush(self.user_outbox(&cred.user_id), events).ignore();
        }
        let _: () = pipe.query_async(&mut c).await?;
        Ok(true)
    }
}

#[async_trait]
impl UserStore for RedisStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.apply(Change::CreateUser(user), "").await.map(drop)
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let raw: Option<String> = self.c().get(self.user_key(id)).await?;
        decode(raw)
    }

    async fn find_user_by_upn(&self, upn_key: &str) -> Result<Option<User>, StoreError> {
        let id: Option<String> = self.c().get(self.upn_key(upn_key)).await?;
        let Some(id) = id else { return Ok(None) };
        let user = self.get_user(&id).await?;
        Ok(user.filter(|u| u.upn.key() == upn_key))
    }

    async fn list_users(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        let min = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let (raw, _last): (Vec<String>, String) = LIST_USERS
            .key(self.users_key())
            .arg(min)
            .arg(limit)
            .arg(self.upn_key(""))
            .arg(self.user_key(""))
            .invoke_async(&mut self.c())
            .await?;
        raw.iter()
            .map(|s| serde_json::from_str(s).map_err(StoreError::from))
            .collect()
    }

    async fn update_user(&self, user: &User) -> Result<(), StoreError> {
        self.apply(Change::UpdateUser { user, prior: None }, "")
            .await
            .map(drop)
    }

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        self.apply(Change::DeleteUser(id), "").await
    }

    async fn has_users(&self) -> Result<bool, StoreError> {
        let n: u64 = self.c().zcard(self.users_key()).await?;
        Ok(n > 0)
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        Ok(self.c().zcard(self.users_key()).await?)
    }

    async fn find_users_by_mail(&self, mail_key: &str) -> Result<Vec<User>, StoreError> {
        self.users_of_index(self.mail_index_key(mail_key), mail_key, User::mail_key)
            .await
    }

    async fn find_users_by_employee_id(&self, key: &str) -> Result<Vec<User>, StoreError> {
        self.users_of_index(self.employee_id_index_key(key), key, User::employee_id_key)
            .await
    }

    async fn reindex_users(&self) -> Result<usize, StoreError> {
        const VERSION: &str = "1";
        const BATCH: usize = 500;
        let done: Option<String> = self.c().get(self.index_version_key()).await?;
        if done.as_deref() == Some(VERSION) {
            return Ok(0);
        }
        // Every record, a batch at a time; each is indexed only if it is
        // still as read (a changed record was indexed by its writer).
        let mut after: Option<String> = None;
        let mut n = 0;
        loop {
            let min = after
                .as_deref()
                .map_or_else(|| "-".to_owned(), |a| format!("({a}"));
            let (raw, last): (Vec<String>, String) = LIST_USERS
                .key(self.users_key())
                .arg(min)
                .arg(BATCH)
                .arg(self.upn_key(""))
                .arg(self.user_key(""))
                .invoke_async(&mut self.c())
                .await?;
            for json in &raw {
                let user: User = serde_json::from_str(json)?;
                let _: i64 = REINDEX_USER
                    .key(self.user_key(&user.id))
                    .arg(json)
                    .arg(self.dir_prefix())
                    .arg(&user.id)
                    .arg(user.mail_key().unwrap_or_default())
                    .arg(user.employee_id_key().unwrap_or_default())
                    .invoke_async(&mut self.c())
                    .await?;
                n += 1;
            }
            if last.is_empty() {
                break;
            }
            after = Some(last);
        }
        let _: () = self.c().set(self.index_version_key(), VERSION).await?;
        Ok(n)
    }
}

impl RedisStore {
    /// The users an index set names, checked against their records (an
    /// entry that no longer matches is never answered).
    async fn users_of_index(
        &self,
        index: String,
        key: &str,
        field: fn(&User) -> Option<String>,
    ) -> Result<Vec<User>, StoreError> {
        let raw: Vec<String> = USERS_OF_INDEX
            .key(index)
            .arg(self.user_key(""))
            .invoke_async(&mut self.c())
            .await?;
        let mut users = Vec::with_capacity(raw.len());
        for json in raw {
            let user: User = serde_json::from_str(&json)?;
            if field(&user).as_deref() == Some(key) {
                users.push(user);
            }
        }
        users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(users)
    }

    async fn list_records<T: serde::de::DeserializeOwned>(
        &self,
        set: String,
        after: Option<&str>,
        limit: usize,
        record_prefix: String,
        order_keys: bool,
    ) -> Result<Vec<T>, StoreError> {
        let min = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let raw: Vec<String> = LIST_RECORDS
            .key(set)
            .arg(min)
            .arg(limit)
            .arg(record_prefix)
            .arg(if order_keys { "1" } else { "0" })
            .invoke_async(&mut self.c())
            .await?;
        raw.iter()
            .map(|s| serde_json::from_str(s).map_err(StoreError::from))
            .collect()
    }
}

#[async_trait]
impl GroupStore for RedisStore {
    async fn create_group(&self, group: &Group) -> Result<(), StoreError> {
        self.apply(Change::CreateGroup(group), "").await.map(drop)
    }

    async fn get_group(&self, id: &str) -> Result<Option<Group>, StoreError> {
        let raw: Option<String> = self.c().get(self.group_key(id)).await?;
        decode(raw)
    }

    async fn list_groups(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Group>, StoreError> {
        self.list_records(self.groups_key(), after, limit, self.group_key(""), true)
            .await
    }

    async fn count_groups(&self) -> Result<u64, StoreError> {
        Ok(self.c().zcard(self.groups_key()).await?)
    }

    async fn update_group(&self, group: &Group, prior: Option<&Group>) -> Result<(), StoreError> {
        self.apply(Change::UpdateGroup { group, prior }, "")
            .await
            .map(drop)
    }

    async fn delete_group(&self, id: &str) -> Result<bool, StoreError> {
        self.apply(Change::DeleteGroup(id), "").await
    }

    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<(), StoreError> {
        self.apply(Change::AddMember { group_id, user_id }, "")
            .await
            .map(drop)
    }

    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<bool, StoreError> {
        self.apply(Change::RemoveMember { group_id, user_id }, "")
            .await
    }

    async fn is_member(&self, group_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let score: Option<f64> = self.c().zscore(self.members_key(group_id), user_id).await?;
        Ok(score.is_some())
    }

    async fn list_members(
        &self,
        group_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        self.list_records(
            self.members_key(group_id),
            after,
            limit,
            self.user_key(""),
            false,
        )
        .await
    }

    async fn groups_of_user(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = self.c().smembers(self.member_of_key(user_id)).await?;
        ids.sort();
        Ok(ids)
    }
}

#[async_trait]
impl TapStore for RedisStore {
    async fn put_tap(&self, user_id: &str, tap: &Tap) -> Result<(), StoreError> {
        self.apply(Change::PutTap { user_id, tap }, "")
            .await
            .map(drop)
    }

    async fn delete_tap(&self, user_id: &str, tap_id: &str) -> Result<bool, StoreError> {
        self.apply(Change::DeleteTap { user_id, tap_id }, "").await
    }

    async fn get_tap(&self, user_id: &str) -> Result<Option<Tap>, StoreError> {
        let raw: Option<String> = self.c().get(self.tap_key(user_id)).await?;
        decode(raw)
    }

    async fn scheduled_tap(
        &self,
        user_id: &str,
        hire_date: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .c()
            .hget(self.onboarded_key(user_id), hire_date)
            .await?)
    }

    async fn record_tap_use(
        &self,
        user_id: &str,
        tap_id: &str,
        at: OffsetDateTime,
    ) -> Result<TapUse, StoreError> {
        self.use_tap(user_id, tap_id, at, "").await
    }
}

#[async_trait]
impl CredentialStore for RedisStore {
    async fn add_credential(&self, cred: &PasskeyCredential) -> Result<(), StoreError> {
        self.apply(Change::AddCredential(cred), "").await.map(drop)
    }

    async fn list_credentials(&self, user_id: &str) -> Result<Vec<PasskeyCredential>, StoreError> {
        let raw: Vec<String> = self.c().hvals(self.creds_key(user_id)).await?;
        let mut creds = raw
            .iter()
            .map(|s| serde_json::from_str(s).map_err(StoreError::from))
            .collect::<Result<Vec<PasskeyCredential>, _>>()?;
        creds.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(creds)
    }

    async fn find_credential(
        &self,
        cred_id: &str,
    ) -> Result<Option<PasskeyCredential>, StoreError> {
        let mut c = self.c();
        let user: Option<String> = c.get(self.cred_index_key(cred_id)).await?;
        let Some(user) = user else { return Ok(None) };
        let raw: Option<String> = c.hget(self.creds_key(&user), cred_id).await?;
        decode(raw)
    }

    async fn update_credential(&self, cred: &PasskeyCredential) -> Result<bool, StoreError> {
        self.apply(Change::UpdateCredential { cred, prior: None }, "")
            .await
    }

    async fn delete_credential(&self, user_id: &str, cred_id: &str) -> Result<bool, StoreError> {
        self.apply(Change::DeleteCredential { user_id, cred_id }, "")
            .await
    }
}

#[async_trait]
impl ClientStore for RedisStore {
    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.apply(Change::PutClient(client), "").await.map(drop)
    }

    async fn get_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let raw: Option<String> = self.c().hget(self.clients_key(), id).await?;
        decode(raw)
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let raw: Vec<String> = self.c().hvals(self.clients_key()).await?;
        let mut out = raw
            .iter()
            .map(|s| serde_json::from_str(s).map_err(StoreError::from))
            .collect::<Result<Vec<Client>, _>>()?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        self.apply(Change::DeleteClient(id), "").await
    }
}

#[async_trait]
impl KeyStore for RedisStore {
    async fn get_keyset(&self) -> Result<Option<KeySetRecord>, StoreError> {
        let raw: Option<String> = self.c().get(self.keys_key()).await?;
        decode(raw)
    }

    async fn create_keyset(&self, keys: &KeySetRecord) -> Result<KeySetRecord, StoreError> {
        let json = serde_json::to_string(keys)?;
        let _: bool = self.c().set_nx(self.keys_key(), json).await?;
        // Whoever wrote first, this is the set every instance uses.
        self.get_keyset()
            .await?
            .ok_or_else(|| StoreError::Backend("key set vanished after create".into()))
    }

    async fn replace_keyset(
        &self,
        expected_version: u64,
        keys: &KeySetRecord,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(keys)?;
        let n: i64 = REPLACE_KEYS
            .key(self.keys_key())
            .arg(expected_version.to_string())
            .arg(json)
            .invoke_async(&mut self.c())
            .await?;
        Ok(n == 1)
    }
}

#[async_trait]
impl PolicyStore for RedisStore {
    async fn get_policy(&self) -> Result<Option<Policy>, StoreError> {
        let raw: Option<String> = self.c().get(self.policy_key()).await?;
        decode(raw)
    }

    async fn put_policy(&self, policy: &Policy) -> Result<(), StoreError> {
        self.apply(
            Change::PutPolicy {
                policy,
                prior: None,
            },
            "",
        )
        .await
        .map(drop)
    }
}

#[async_trait]
impl AuditStore for RedisStore {
    async fn apply_audited(
        &self,
        change: Change<'_>,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(event)?;
        if let Some(done) = self.apply_pipelined(&change, event, &json, None).await {
            return done;
        }
        let outbox = self.outbox_of(&change);
        // Registered first, so recovery finds the outbox even if this
        // instance dies between the change and the drain below.
        let _: () = self.c().sadd(self.outboxes_key(), &outbox).await?;
        let applied = self.apply(change, &json).await?;
        if applied {
            self.move_out(&outbox, &[(event, &json)]).await;
        }
        Ok(applied)
    }

    async fn recover_audit(&self) -> Result<usize, StoreError> {
        let outboxes: Vec<String> = self.c().smembers(self.outboxes_key()).await?;
        let mut moved = 0;
        for outbox in outboxes {
            moved += self.drain_outbox(&outbox).await?;
            let left: u64 = self.c().llen(&outbox).await?;
            if left == 0 {
                // A writer that registers again after this still drains its
                // own outbox; only a crash right then waits for its next write.
                let _: () = self.c().srem(self.outboxes_key(), &outbox).await?;
            }
        }
        Ok(moved)
    }

    async fn prune_audit(&self, before: OffsetDateTime, limit: usize) -> Result<usize, StoreError> {
        let mut c = self.c();
        let keys: Vec<String> = redis::cmd("ZRANGEBYLEX")
            .arg(self.audit_log_key())
            .arg("-")
            .arg(format!("({:020}", unix_ms(before).max(0)))
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut c)
            .await?;
        if keys.is_empty() {
            return Ok(0);
        }
        // Both keys share the {P:audit} tag: one atomic step.
        let _: () = redis::pipe()
            .atomic()
            .zrem(self.audit_log_key(), &keys)
            .ignore()
            .hdel(self.audit_ev_key(), &keys)
            .ignore()
            .query_async(&mut c)
            .await?;
        Ok(keys.len())
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let json = serde_json::to_string(event)?;
        let _: i64 = self
            .log_event(event, &json, None)?
            .invoke_async(&mut self.c())
            .await?;
        Ok(())
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<&str>,
        limit: usize,
    ) -> Result<AuditPage, StoreError> {
        const BATCH: usize = 200;
        let mut c = self.c();
        // Lex bounds: keys start with zero-padded milliseconds.
        let mut max = match (before, filter.until) {
            (Some(b), _) => format!("({b}"),
            (None, Some(until)) => format!("({:020}", unix_ms(until).max(0)),
            (None, None) => "+".to_owned(),
        };
        let min = filter
            .from
            .map_or_else(|| "-".to_owned(), |f| format!("[{:020}", unix_ms(f).max(0)));
        let mut events = Vec::new();
        loop {
            let keys: Vec<String> = redis::cmd("ZREVRANGEBYLEX")
                .arg(self.audit_log_key())
                .arg(&max)
                .arg(&min)
                .arg("LIMIT")
                .arg(0)
                .arg(BATCH)
                .query_async(&mut c)
                .await?;
            if keys.is_empty() {
                return Ok(AuditPage { events, next: None });
            }
            let bodies: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(self.audit_ev_key())
                .arg(&keys)
                .query_async(&mut c)
                .await?;
            for (key, body) in keys.iter().zip(bodies) {
                let Some(body) = body else { continue };
                let event: AuditEvent = serde_json::from_str(&body)?;
                if filter.matches(&event) {
                    events.push(event);
                    if events.len() == limit {
                        return Ok(AuditPage {
                            events,
                            next: Some(key.clone()),
                        });
                    }
                }
            }
            if keys.len() < BATCH {
                return Ok(AuditPage { events, next: None });
            }
            if let Some(last) = keys.last() {
                max = format!("({last}");
            }
        }
    }
}

#[async_trait]
impl EphemeralStore for RedisStore {
    async fn put(
        &self,
        ns: Ns,
        id: &str,
        value: &[u8],
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let key = self.eph_key(ns, id);
        let ttl = ttl_ms(expires_at, now);
        let mut c = self.c();
        if ttl <= 0 {
            let _: () = c.del(key).await?;
            return Ok(());
        }
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(encode_expiring(value, expires_at))
            .arg("PX")
            .arg(ttl)
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn put_new(
        &self,
        ns: Ns,
        id: &str,
        value: &[u8],
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let ttl = ttl_ms(expires_at, now);
        if ttl <= 0 {
            return Ok(false);
        }
        let n: i64 = PUT_NEW
            .key(self.eph_key(ns, id))
            .arg(unix_ms(now))
            .arg(encode_expiring(value, expires_at))
            .arg(ttl)
            .invoke_async(&mut self.c())
            .await?;
        Ok(n == 1)
    }

    async fn get(
        &self,
        ns: Ns,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let raw: Option<Vec<u8>> = self.c().get(self.eph_key(ns, id)).await?;
        Ok(raw.and_then(|r| decode_expiring(&r, now).map(<[u8]>::to_vec)))
    }

    async fn take(
        &self,
        ns: Ns,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let raw: Option<Vec<u8>> = redis::cmd("GETDEL")
            .arg(self.eph_key(ns, id))
            .query_async(&mut self.c())
            .await?;
        Ok(raw.and_then(|r| decode_expiring(&r, now).map(<[u8]>::to_vec)))
    }

    async fn delete(&self, ns: Ns, id: &str) -> Result<(), StoreError> {
        let _: () = self.c().del(self.eph_key(ns, id)).await?;
        Ok(())
    }

    async fn incr(
        &self,
        id: &str,
        window_end: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let n: u64 = INCR
            .key(self.eph_key(Ns::Counter, id))
            .arg(unix_ms(now))
            .arg(unix_ms(window_end))
            .arg(ttl_ms(window_end, now).max(1))
            .invoke_async(&mut self.c())
            .await?;
        Ok(n)
    }

    async fn count(&self, id: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        let (n, e): (Option<u64>, Option<i64>) = redis::cmd("HMGET")
            .arg(self.eph_key(Ns::Counter, id))
            .arg("n")
            .arg("e")
            .query_async(&mut self.c())
            .await?;
        Ok(match (n, e) {
            (Some(n), Some(e)) if e > unix_ms(now) => n,
            _ => 0,
        })
    }

    async fn compare_and_swap(
        &self,
        ns: Ns,
        id: &str,
        expected: &[u8],
        value: &[u8],
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let ttl = ttl_ms(expires_at, now);
        if ttl <= 0 {
            return Ok(false);
        }
        let n: i64 = COMPARE_AND_SWAP
            .key(self.eph_key(ns, id))
            .arg(unix_ms(now))
            .arg(expected)
            .arg(encode_expiring(value, expires_at))
            .arg(ttl)
            .invoke_async(&mut self.c())
            .await?;
        Ok(n == 1)
    }
}

// KEYS: record. ARGV: now ms, expected payload, encoded value, ttl ms.
// Replaces only a live record whose payload is still the expected one.
static COMPARE_AND_SWAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur or string.len(cur) < 8 then return 0 end
local exp = struct.unpack('>i8', cur)
if exp <= tonumber(ARGV[1]) then return 0 end
if string.sub(cur, 9) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1",
    )
});

#[async_trait]
impl LockoutStore for RedisStore {
    async fn lockout(
        &self,
        id: &str,
        op: lockout::Op,
        now: OffsetDateTime,
    ) -> Result<lockout::Applied, StoreError> {
        let mut call = LOCKOUT.key(self.lockout_key(id));
        call.arg(unix_ms(now));
        match op {
            lockout::Op::Reserve(r) => {
                call.arg("r")
                    .arg(r.limit)
                    .arg(r.window_ms)
                    .arg(r.first_lock_ms)
                    .arg(r.max_lock_ms)
                    .arg(if r.grows { "1" } else { "0" })
                    .arg(r.history_ms);
            }
            lockout::Op::Release => {
                call.arg("x");
            }
            lockout::Op::Clear { keep_ms } => {
                call.arg("c").arg(keep_ms);
            }
        }
        let (v, until_ms, ended_ms, refused, generation): (i64, i64, i64, u32, u64) =
            call.invoke_async(&mut self.c()).await?;
        let verdict = match v {
            0 => lockout::Verdict::Granted,
            _ => lockout::Verdict::Refused {
                until_ms,
                new_lock: v == 2,
            },
        };
        Ok(lockout::Applied {
            verdict,
            ended: (ended_ms != 0).then_some(lockout::EndedLock {
                until_ms: ended_ms,
                refused,
            }),
            generation,
        })
    }

    async fn lockout_bucket(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<lockout::Bucket, StoreError> {
        let f: Vec<Option<i64>> = redis::cmd("HMGET")
            .arg(self.lockout_key(id))
            .arg(&["n", "we", "lu", "rf", "lk", "lku", "g", "ku"])
            .query_async(&mut self.c())
            .await?;
        let at = |i: usize| f.get(i).copied().flatten().unwrap_or(0);
        let small = |i: usize| u32::try_from(at(i)).unwrap_or(u32::MAX);
        let bucket = lockout::Bucket {
            n: small(0),
            we: at(1),
            lu: at(2),
            rf: small(3),
            lk: small(4),
            lku: at(5),
            g: u64::try_from(at(6)).unwrap_or(0),
            ku: at(7),
        };
        // The key expires natively; this guards the gap before it does.
        Ok(if bucket.keep_until_ms() > unix_ms(now) {
            bucket
        } else {
            lockout::Bucket::default()
        })
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING").query_async(&mut self.c()).await?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn batch(
        &self,
        steps: &[super::batch::Step<'_>],
        now: OffsetDateTime,
    ) -> Result<Vec<super::batch::Got>, StoreError> {
        self.batch_steps(steps, now).await
    }

    async fn apply_audited_then(
        &self,
        change: Change<'_>,
        event: &AuditEvent,
        puts: &[super::batch::Put<'_>],
        also: &[AuditEvent],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(event)?;
        if let Change::AddCredential(cred) = change {
            return self
                .add_credential_then(cred, event, &json, puts, also, now)
                .await;
        }
        if let Some(done) = self
            .apply_pipelined(&change, event, &json, Some((puts, also, now)))
            .await
        {
            return done;
        }
        if !self.apply_audited(change, event).await? {
            return Ok(false);
        }
        self.after_change(puts, also, now).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_name_every_seed_node() {
        assert_eq!(
            RedisTarget::parse("redis://127.0.0.1:6379/0"),
            Ok(RedisTarget::Server("redis://127.0.0.1:6379/0".into()))
        );
        assert_eq!(
            RedisTarget::parse("redis+cluster://u:p%40ss@h1:7000,h2:7001, [::1]:7002/"),
            Ok(RedisTarget::Cluster(vec![
                "redis://u:p%40ss@h1:7000/".into(),
                "redis://u:p%40ss@h2:7001/".into(),
                "redis://u:p%40ss@[::1]:7002/".into(),
            ]))
        );
        assert_eq!(
            RedisTarget::parse("rediss+cluster://h1:7000"),
            Ok(RedisTarget::Cluster(vec!["rediss://h1:7000".into()]))
        );
        for bad in [
            "redis+cluster://",
            "redis+cluster://h1:7000,",
            "redis+cluster://h1",
            "redis+cluster://h1:7000/1",
            "redis+cluster://:secret@h1:port",
        ] {
            let e = RedisTarget::parse(bad).unwrap_err();
            assert!(!e.contains("secret"), "{e}");
        }
    }

    #[test]
    fn cluster_passwords_are_masked() {
        assert_eq!(
            mask_cluster_password("redis+cluster://:pw@h1:1,h2:2/0", "***").as_deref(),
            Some("redis+cluster://:***@h1:1,h2:2/0")
        );
        assert_eq!(
            mask_cluster_password("rediss+cluster://me:pw@h1:1", "***").as_deref(),
            Some("rediss+cluster://me:***@h1:1")
        );
        assert_eq!(
            mask_cluster_password("redis+cluster://me@h1:1", "***"),
            None
        );
        assert_eq!(mask_cluster_password("redis://:pw@h1:1", "***"), None);
    }
}
