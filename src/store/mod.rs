//! Storage: narrow async traits, one per concern, and two backends.
//!
//! Backends: [`embedded`] (redb, zero setup) and [`redis`] (production,
//! many instances). Both pass the same conformance suite
//! (`tests/it/store_conformance.rs`).

pub mod batch;
pub mod embedded;
pub mod records;
pub mod redis;

use async_trait::async_trait;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::domain::audit::{AuditEvent, AuditFilter};
use crate::domain::client::Client;
use crate::domain::credential::PasskeyCredential;
use crate::domain::group::Group;
use crate::domain::lockout;
use crate::domain::policy::Policy;
use crate::domain::signing_key::KeySetRecord;
use crate::domain::tap::Tap;
use crate::domain::user::User;
use crate::domain::webhook::{Delivery, Job, Subscription};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached now (connection refused, timeout).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was broken (e.g. the UPN is taken).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// The embedded database file is held by another process.
    #[error("the embedded store {0} is in use by another process (is the server running?)")]
    Locked(String),
    /// Stored data could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("store error: {0}")]
    Backend(String),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Kinds of short-lived records. Each is kept with an expiry that the store
/// enforces on read (and, in Redis, with a native TTL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ns {
    AuthorizationRequest,
    Session,
    Ceremony,
    Code,
    RefreshToken,
    /// Replay protection for one-time identifiers (e.g. `jti`).
    Nonce,
    /// Counters: failed attempts, rate limits.
    Counter,
    /// Lockouts after too many failures.
    Lock,
    /// Redeemed authorization codes (reuse detection).
    UsedCode,
    /// Revoked access tokens by `jti`, until they expire.
    RevokedToken,
    /// Rotated-away refresh tokens (reuse detection).
    SpentRefresh,
    /// Revoked refresh token families.
    RevokedFamily,
    /// Secrets sealed for one page view (a new pass, a client secret).
    ShownOnce,
    /// A CSV import between its preview and its commit, and its report.
    CsvImport,
}

impl Ns {
    pub const fn as_str(self) -> &'static str {
        match self {
            Ns::AuthorizationRequest => "authz",
            Ns::Session => "session",
            Ns::Ceremony => "ceremony",
            Ns::Code => "code",
            Ns::RefreshToken => "refresh",
            Ns::Nonce => "nonce",
            Ns::Counter => "counter",
            Ns::Lock => "lock",
            Ns::UsedCode => "usedcode",
            Ns::RevokedToken => "revoked",
            Ns::SpentRefresh => "spentrefresh",
            Ns::RevokedFamily => "revokedfamily",
            Ns::ShownOnce => "shown",
            Ns::CsvImport => "csvimport",
        }
    }
}

/// Result of trying to record the use of a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapUse {
    /// Recorded; the caller may proceed.
    Recorded,
    /// A one-time pass that someone else already used.
    AlreadyUsed,
    /// No pass with that id (deleted or replaced meanwhile).
    Missing,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with [`StoreError::Conflict`] when the UPN (case-insensitive) is taken.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// `upn_key` is the lowercased UPN ([`crate::domain::user::Upn::key`]).
    async fn find_user_by_upn(&self, upn_key: &str) -> Result<Option<User>, StoreError>;
    /// Users ordered by UPN key, starting after the key `after`.
    async fn list_users(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError>;
    /// Replaces the record; re-indexes the UPN if it changed.
    async fn update_user(&self, user: &User) -> Result<(), StoreError>;
    /// Removes the user with their pass, passkeys, index entries and group
    /// memberships. False if absent.
    async fn delete_user(&self, id: &str) -> Result<bool, StoreError>;
    async fn has_users(&self) -> Result<bool, StoreError>;
    /// How many users the directory holds, in O(1).
    async fn count_users(&self) -> Result<u64, StoreError>;
    /// Users whose `mail` has the index key `mail_key`
    /// ([`crate::domain::user::index_key`]; mail is not unique). Costs
    /// O(matches), never a scan: the index is kept with every user write.
    /// Ordered by user id; entries are checked against the records.
    async fn find_users_by_mail(&self, mail_key: &str) -> Result<Vec<User>, StoreError>;
    /// Users whose `employeeId` has the index key `key` (not unique),
    /// ordered by user id.
    async fn find_users_by_employee_id(&self, key: &str) -> Result<Vec<User>, StoreError>;
    /// Builds the mail and employeeId indexes for records written before
    /// they existed. Idempotent and safe to run on many instances at
    /// once; after the first complete run it is one read. Returns how
    /// many users it indexed (0 once done). The server runs it at start-up;
    /// on a shared Redis, upgrade every instance before relying on the
    /// lookups: a record that an instance of an older version writes after
    /// the run is indexed only when it is next written.
    async fn reindex_users(&self) -> Result<usize, StoreError>;
}

/// Groups and their members (users). Every change is atomic with the
/// indexes it touches: the member list of the group and the reverse index
/// user → groups, which makes [`groups_of_user`](Self::groups_of_user)
/// cost O(groups of that user).
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Fails with [`StoreError::Conflict`] if the id exists.
    async fn create_group(&self, group: &Group) -> Result<(), StoreError>;
    async fn get_group(&self, id: &str) -> Result<Option<Group>, StoreError>;
    /// Groups ordered by [`Group::order_key`] (display name, then id),
    /// starting after the order key `after`.
    async fn list_groups(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Group>, StoreError>;
    async fn count_groups(&self) -> Result<u64, StoreError>;
    /// Replaces the group (`NotFound` if absent). With `prior`, only if
    /// the stored group still equals it (else `Conflict`).
    async fn update_group(&self, group: &Group, prior: Option<&Group>) -> Result<(), StoreError>;
    /// Deletes the group and its memberships. False if absent.
    async fn delete_group(&self, id: &str) -> Result<bool, StoreError>;
    /// `NotFound` if the group or the user does not exist; `Conflict` if
    /// the user is a member already (Graph: 400, "One or more added object
    /// references already exist"). Of concurrent adds, one succeeds.
    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<(), StoreError>;
    /// False if the user was not a member.
    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<bool, StoreError>;
    async fn is_member(&self, group_id: &str, user_id: &str) -> Result<bool, StoreError>;
    /// Members ordered by user id, starting after the user id `after`
    /// (empty for an unknown group).
    async fn list_members(
        &self,
        group_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError>;
    /// The ids of the user's groups, sorted; O(groups of that user).
    async fn groups_of_user(&self, user_id: &str) -> Result<Vec<String>, StoreError>;
}

#[async_trait]
pub trait TapStore: Send + Sync {
    /// Stores the user's pass, replacing any earlier one.
    async fn put_tap(&self, user_id: &str, tap: &Tap) -> Result<(), StoreError>;
    async fn get_tap(&self, user_id: &str) -> Result<Option<Tap>, StoreError>;
    /// Deletes the pass if it still has the id `tap_id`.
    async fn delete_tap(&self, user_id: &str, tap_id: &str) -> Result<bool, StoreError>;
    /// Atomically records a use: a one-time pass can be used exactly once.
    async fn record_tap_use(
        &self,
        user_id: &str,
        tap_id: &str,
        at: OffsetDateTime,
    ) -> Result<TapUse, StoreError>;
    /// The id of the pass issued for the user's hire date `hire_date`
    /// ([`Change::IssueScheduledTap`]), if one was. Durable: kept until
    /// the user is deleted, whatever happened to the pass since.
    async fn scheduled_tap(
        &self,
        user_id: &str,
        hire_date: &str,
    ) -> Result<Option<String>, StoreError>;
}

#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Fails with [`StoreError::Conflict`] if the credential id exists.
    async fn add_credential(&self, cred: &PasskeyCredential) -> Result<(), StoreError>;
    async fn list_credentials(&self, user_id: &str) -> Result<Vec<PasskeyCredential>, StoreError>;
    async fn find_credential(&self, cred_id: &str)
    -> Result<Option<PasskeyCredential>, StoreError>;
    /// Replaces an existing credential. False if absent.
    async fn update_credential(&self, cred: &PasskeyCredential) -> Result<bool, StoreError>;
    async fn delete_credential(&self, user_id: &str, cred_id: &str) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn put_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn get_client(&self, id: &str) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn get_keyset(&self) -> Result<Option<KeySetRecord>, StoreError>;
    /// Stores `keys` unless a key set exists; returns the one that won.
    async fn create_keyset(&self, keys: &KeySetRecord) -> Result<KeySetRecord, StoreError>;
    /// Compare-and-swap on `version`: replaces only if the stored set has
    /// `expected_version`. False if someone else changed it first.
    async fn replace_keyset(
        &self,
        expected_version: u64,
        keys: &KeySetRecord,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait PolicyStore: Send + Sync {
    async fn get_policy(&self) -> Result<Option<Policy>, StoreError>;
    async fn put_policy(&self, policy: &Policy) -> Result<(), StoreError>;
}

/// One page of audit events, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass back as `before` to read the next page.
    pub next: Option<String>,
}

/// A change to durable records that the audit log records: applied with
/// [`AuditStore::apply_audited`], so the change and its event are written
/// together or not at all.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    CreateUser(&'a User),
    /// Replaces a user. With `prior`, only if the stored user still equals
    /// it (else `Conflict`): concurrent admin edits never undo each other.
    UpdateUser {
        user: &'a User,
        prior: Option<&'a User>,
    },
    DeleteUser(&'a str),
    PutTap {
        user_id: &'a str,
        tap: &'a Tap,
    },
    DeleteTap {
        user_id: &'a str,
        tap_id: &'a str,
    },
    AddCredential(&'a PasskeyCredential),
    /// Replaces a credential of its user (counter, last use, name); false
    /// if the user has no such credential.
    UpdateCredential {
        cred: &'a PasskeyCredential,
        /// With a prior version: only if the stored one still equals it.
        prior: Option<&'a PasskeyCredential>,
    },
    /// Marks the pass used (see [`TapStore::record_tap_use`]); false if
    /// it is gone, replaced, or a one-time pass already used.
    UseTap {
        user_id: &'a str,
        tap_id: &'a str,
        at: OffsetDateTime,
    },
    DeleteCredential {
        user_id: &'a str,
        cred_id: &'a str,
    },
    PutClient(&'a Client),
    DeleteClient(&'a str),
    /// Replaces the policy. With `prior`, only if the stored policy (the
    /// default when none is stored) still equals it, else `Conflict`: two
    /// administrators editing the TAP and the Fido2 settings at once never
    /// undo each other's change.
    PutPolicy {
        policy: &'a Policy,
        prior: Option<&'a Policy>,
    },
    /// See [`GroupStore::create_group`].
    CreateGroup(&'a Group),
    /// See [`GroupStore::update_group`].
    UpdateGroup {
        group: &'a Group,
        prior: Option<&'a Group>,
    },
    /// Deletes a group with its memberships; false if absent.
    DeleteGroup(&'a str),
    /// See [`GroupStore::add_member`] (always true when it succeeds).
    AddMember {
        group_id: &'a str,
        user_id: &'a str,
    },
    /// False if the user was not a member.
    RemoveMember {
        group_id: &'a str,
        user_id: &'a str,
    },
    /// The pass scheduled for a hire date (onboarding): stores `tap`
    /// (replacing any other pass) together with the durable claim of
    /// `(user, hire_date)`, only if that claim is not taken yet. False,
    /// and nothing written, when it is: of any number of instances and
    /// restarts, one issues the pass.
    IssueScheduledTap {
        user_id: &'a str,
        hire_date: &'a str,
        tap: &'a Tap,
    },
    /// See [`WebhookStore`]; fails with `Conflict` past
    /// [`crate::domain::webhook::MAX_SUBSCRIPTIONS`].
    PutWebhook(&'a Subscription),
    /// Deletes a subscription with its recent deliveries; false if absent.
    DeleteWebhook(&'a str),
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Applies `change` and appends `event` atomically. Returns false, and
    /// writes nothing, when a delete finds nothing to delete; errors (e.g.
    /// a taken UPN) also leave both unwritten.
    async fn apply_audited(
        &self,
        change: Change<'_>,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Deletes up to `limit` events older than `before` (the retention
    /// setting); returns how many.
    async fn prune_audit(&self, before: OffsetDateTime, limit: usize) -> Result<usize, StoreError>;
    /// Moves audit events that a crash left between a change and the log
    /// into the log; returns how many. Only Redis can strand any.
    async fn recover_audit(&self) -> Result<usize, StoreError> {
        Ok(0)
    }
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<&str>,
        limit: usize,
    ) -> Result<AuditPage, StoreError>;
}

/// Short-lived records and counters. `now` comes from the injected clock;
/// a record is gone once `now >= expires_at`, whatever the backend.
#[async_trait]
pub trait EphemeralStore: Send + Sync {
    async fn put(
        &self,
        ns: Ns,
        id: &str,
        value: &[u8],
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Stores only if no live record has that id. True if stored.
    async fn put_new(
        &self,
        ns: Ns,
        id: &str,
        value: &[u8],
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn get(
        &self,
        ns: Ns,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// Atomically reads and deletes: of many concurrent takes, one wins.
    async fn take(
        &self,
        ns: Ns,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    async fn delete(&self, ns: Ns, id: &str) -> Result<(), StoreError>;
    /// Adds one to a counter whose window ends at `window_end` (set when the
    /// counter starts); returns the new count.
    async fn incr(
        &self,
        id: &str,
        window_end: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    async fn count(&self, id: &str, now: OffsetDateTime) -> Result<u64, StoreError>;
    /// Deletes up to `limit` expired records to reclaim space; returns how
    /// many. Correctness never depends on it (reads check expiry); Redis
    /// expires keys by itself, so its implementation does nothing.
    async fn sweep_expired(
        &self,
        _now: OffsetDateTime,
        _limit: usize,
    ) -> Result<usize, StoreError> {
        Ok(0)
    }
    /// Compare-and-set: replaces the record with `value` (expiring at
    /// `expires_at`) only if its live payload is still exactly `expected`,
    /// the bytes a [`get`](Self::get) returned. False, and nothing written,
    /// when the record changed, was deleted or has expired meanwhile (or
    /// when `expires_at` is not after `now`). Of many concurrent swaps from
    /// one `expected` value, one wins. Read-modify-write of a record goes
    /// through this, so that it never undoes a concurrent delete.
    async fn compare_and_swap(
        &self,
        ns: Ns,
        id: &str,
        expected: &[u8],
        value: &[u8],
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// The attempt buckets of the TAP lockout ([`lockout`]). Every operation
/// is one atomic step on one bucket, across all instances.
#[async_trait]
pub trait LockoutStore: Send + Sync {
    /// Applies `op` to the bucket `id` (an absent bucket starts empty).
    async fn lockout(
        &self,
        id: &str,
        op: lockout::Op,
        now: OffsetDateTime,
    ) -> Result<lockout::Applied, StoreError>;
    /// The bucket as stored; empty when absent or no longer kept.
    async fn lockout_bucket(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<lockout::Bucket, StoreError>;
}

/// A job claimed from the due queue, with the lease that lets its
/// claimant (and only it) write the outcome back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub job: Job,
    /// The lease's end in milliseconds: the job's place in the queue
    /// while claimed, and the token [`WebhookStore::finish_job`] checks.
    pub lease: i64,
}

/// Webhook subscriptions and the due queue of their deliveries (and of
/// the checks that passes expired unused). When an audit event lands in
/// the log, a delivery for each subscription that wants its type is
/// enqueued in the same atomic step, once however often the event is
/// appended (ARCHITECTURE.md, "Webhooks"). Subscriptions are written
/// through [`AuditStore::apply_audited`] ([`Change::PutWebhook`]).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Every subscription, ordered by id.
    async fn list_webhooks(&self) -> Result<Vec<Subscription>, StoreError>;
    async fn get_webhook(&self, id: &str) -> Result<Option<Subscription>, StoreError>;
    /// Queues `jobs`, due at `due`; a job whose id is queued or kept
    /// already is left as it is (so enqueueing is idempotent).
    async fn enqueue_jobs(&self, jobs: &[Job], due: OffsetDateTime) -> Result<(), StoreError>;
    /// Claims up to `limit` jobs due at `now`, each until `lease_until`:
    /// until then no other claim returns them; after it (a claimant that
    /// died), they are due again.
    async fn claim_jobs(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// Writes `job` (its outcome so far) back: due again at `next`, or
    /// done (a delivery then stays among its subscription's recent ones
    /// while it is one of the last [`crate::domain::webhook::RECENT_DELIVERIES`]).
    /// False, and nothing written, when the lease was lost meanwhile.
    async fn finish_job(
        &self,
        claimed: &Claimed,
        job: &Job,
        next: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError>;
    /// The subscription's latest deliveries, newest first.
    async fn recent_deliveries(
        &self,
        subscription_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Queues a delivery that is over (delivered or failed) again, due at
    /// `now`, with its id and body and its attempts counted from zero.
    /// False if it is unknown, not the subscription's, or still pending.
    async fn redeliver(
        &self,
        subscription_id: &str,
        delivery_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// Everything a backend provides.
#[async_trait]
pub trait Store:
    UserStore
    + GroupStore
    + TapStore
    + CredentialStore
    + ClientStore
    + KeyStore
    + PolicyStore
    + AuditStore
    + EphemeralStore
    + LockoutStore
    + WebhookStore
{
    /// Cheap reachability check for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Which backend this is, for logs.
    fn kind(&self) -> &'static str;

    /// Runs independent `steps` in order, each result in its step's place:
    /// on a single Redis server, in one round trip.
    async fn batch(
        &self,
        steps: &[batch::Step<'_>],
        now: OffsetDateTime,
    ) -> Result<Vec<batch::Got>, StoreError> {
        batch::one_by_one(self, steps, now).await
    }

    /// [`AuditStore::apply_audited`] and, only if the change applied, the
    /// short-lived records `puts` and the events `also` (which change
    /// nothing durable themselves): one commit on the embedded store; on a
    /// single Redis server, a passkey's update stores them in its own
    /// script, in one round trip. A sign-in's credential update, its
    /// session, its code and their events go together this way. On Redis
    /// (server or cluster) a new passkey's events, `also` included, enter
    /// the user's outbox in the change's own transaction (a first passkey
    /// and its `onboarding.completed`).
    async fn apply_audited_then(
        &self,
        change: Change<'_>,
        event: &AuditEvent,
        puts: &[batch::Put<'_>],
        also: &[AuditEvent],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        batch::apply_then_one_by_one(self, change, event, puts, also, now).await
    }
}

pub type SharedStore = Arc<dyn Store>;

/// Milliseconds since the epoch, for expiry arithmetic.
pub(crate) fn unix_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Encodes a short-lived value as `expires_at (ms, 8 bytes BE) ++ payload`.
pub(crate) fn encode_expiring(value: &[u8], expires_at: OffsetDateTime) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&unix_ms(expires_at).to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// The payload of an encoded value if it is still live at `now`.
pub(crate) fn decode_expiring(raw: &[u8], now: OffsetDateTime) -> Option<&[u8]> {
    let (head, payload) = raw.split_at_checked(8)?;
    let expires = i64::from_be_bytes(head.try_into().ok()?);
    (unix_ms(now) < expires).then_some(payload)
}

/// Graph's message when a user name is taken (the same on both stores).
pub(crate) const UPN_TAKEN: &str =
    "Another object with the same value for property userPrincipalName already exists.";

/// A compare-and-set lost: someone changed the record since it was read.
pub(crate) fn changed_meanwhile() -> StoreError {
    StoreError::Conflict("the user was changed by someone else meanwhile; reload and retry".into())
}

/// A compare-and-set on the policy lost.
pub(crate) fn policy_changed_meanwhile() -> StoreError {
    StoreError::Conflict(
        "the authentication methods policy was changed by someone else meanwhile; reload and retry"
            .into(),
    )
}

/// A compare-and-set on a group lost.
pub(crate) fn group_changed_meanwhile() -> StoreError {
    StoreError::Conflict("the group was changed by someone else meanwhile; reload and retry".into())
}

/// Adding a member who is one already.
pub(crate) fn already_member() -> StoreError {
    StoreError::Conflict(
        "One or more added object references already exist for the following modified properties: 'members'."
            .into(),
    )
}

/// A compare-and-set on a passkey lost (e.g. a rename racing a sign-in).
pub(crate) fn cred_changed_meanwhile() -> StoreError {
    StoreError::Conflict("the passkey was used or changed meanwhile; try again".into())
}

/// A queued job as stored, or `None` (logged) when it does not read: a
/// job one version cannot read must not stop the queue for the others.
pub(crate) fn decode_job(id: &str, raw: &str) -> Option<Job> {
    match serde_json::from_str(raw) {
        Ok(job) => Some(job),
        Err(e) => {
            tracing::error!(error = %e, id, "unreadable webhook job skipped");
            None
        }
    }
}

/// A full set of subscriptions.
pub(crate) fn too_many_webhooks() -> StoreError {
    StoreError::Conflict(format!(
        "this server holds at most {} webhook subscriptions; delete one first",
        crate::domain::webhook::MAX_SUBSCRIPTIONS
    ))
}

/// Order key of a delivery among its subscription's recent ones.
pub(crate) fn recent_key(d: &Delivery) -> String {
    format!("{:020}\u{0}{}", unix_ms(d.created).max(0), d.id)
}

/// The deliveries an event that just landed in the log makes: one per
/// subscription that wants its type, with an id stable across appends.
pub(crate) fn deliveries_for<'a>(
    event: &'a AuditEvent,
    subs: impl IntoIterator<Item = &'a Subscription>,
) -> Vec<Delivery> {
    use crate::domain::webhook;
    let event_type = event.event_type.as_str();
    let mut payload = None;
    subs.into_iter()
        .filter(|s| s.wants(event_type))
        .map(|s| {
            let body = payload
                .get_or_insert_with(|| webhook::message(event))
                .clone();
            webhook::delivery(
                webhook::delivery_id(&event.id, &s.id),
                &s.id,
                event_type,
                body,
                event.time,
            )
        })
        .collect()
}

/// Audit ordering key: zero-padded milliseconds then id, so that byte order
/// is time order.
pub(crate) fn audit_key(event: &AuditEvent) -> String {
    format!("{:020}-{}", unix_ms(event.time).max(0), event.id)
}
