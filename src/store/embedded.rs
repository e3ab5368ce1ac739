//! Embedded backend (redb): the zero-setup default for one instance.
//!
//! Durable records (directory, passes, passkeys, clients, keys, policy,
//! audit, and the refresh-token and revocation records) are written by one
//! writer thread ([`writer`]), which groups the writes waiting into one
//! transaction: one fsync for all of them, before each caller is answered.
//! The other short-lived records (sessions, ceremonies, codes,
//! authorization requests, nonces, counters, lockouts) are kept in memory
//! ([`memo`]) and written behind within a second: a crash may lose that
//! last second of them (people sign in again, sign-ins in progress start
//! over); a clean stop loses nothing. Expiry is stored with each
//! short-lived record and checked on read, so nothing depends on a
//! sweeper. Point reads run on the caller's thread; scans on the blocking
//! thread pool (redb is blocking).
//!
//! Directory tables besides users and the UPN index: `mail_index` and
//! `employee_id_index` (`key NUL user id` → "", non-unique lookups by
//! prefix range), `groups` (id → JSON), `group_order` (order key → id, the
//! listing), `group_members` (`group id NUL user id`) and `member_of`
//! (`user id NUL group id`, the reverse index). A user write updates its
//! index entries, and a user or group deletion its memberships, in the
//! same transaction.

use async_trait::async_trait;
use redb::{
    Database, DatabaseError, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition, WriteTransaction,
};
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;

mod ephemeral;
mod memo;
mod webhooks;
mod writer;
use memo::Memo;
use writer::Writer;

use super::{
    AuditPage, AuditStore, Change, ClientStore, CredentialStore, EphemeralStore, GroupStore,
    KeyStore, PolicyStore, Store, StoreError, TapStore, TapUse, UserStore, already_member,
    audit_key, batch, changed_meanwhile, cred_changed_meanwhile, group_changed_meanwhile, unix_ms,
};
use crate::domain::audit::{AuditEvent, AuditFilter};
use crate::domain::client::Client;
use crate::domain::credential::PasskeyCredential;
use crate::domain::group::Group;
use crate::domain::policy::Policy;
use crate::domain::signing_key::KeySetRecord;
use crate::domain::tap::Tap;
use crate::domain::user::User;

type Json = TableDefinition<'static, &'static str, &'static str>;
type Bytes = TableDefinition<'static, &'static str, &'static [u8]>;

const USERS: Json = TableDefinition::new("users");
const UPNS: Json = TableDefinition::new("upn_index");
const TAPS: Json = TableDefinition::new("taps");
const CREDS: Json = TableDefinition::new("credentials");
/// `user id/credential id` → "" : a user's credentials, by prefix range.
const USER_CREDS: Json = TableDefinition::new("user_credentials");
const CLIENTS: Json = TableDefinition::new("clients");
const META: Json = TableDefinition::new("meta");
const AUDIT: Json = TableDefinition::new("audit");
const EPHEMERAL: Bytes = TableDefinition::new("ephemeral");
const COUNTERS: Bytes = TableDefinition::new("counters");
/// TAP lockout buckets (JSON), dropped once no longer kept.
const LOCKOUTS: Json = TableDefinition::new("lockouts");
/// `mail key NUL user id` → "": users by mail (not unique).
const MAILS: Json = TableDefinition::new("mail_index");
/// `employee id key NUL user id` → "".
const EMPLOYEE_IDS: Json = TableDefinition::new("employee_id_index");
const GROUPS: Json = TableDefinition::new("groups");
/// [`Group::order_key`] → group id: the listing.
const GROUP_ORDER: Json = TableDefinition::new("group_order");
/// `group id NUL user id` → "".
const MEMBERS: Json = TableDefinition::new("group_members");
/// `user id NUL group id` → "": the reverse index.
const MEMBER_OF: Json = TableDefinition::new("member_of");
/// `user id NUL hire date` → id of the pass the onboarding scheduler issued
/// for it: the exactly-once claim, durable (never in the memory tier).
const ONBOARDED: Json = TableDefinition::new("onboarded");

const KEYSET: &str = "keyset";
const POLICY: &str = "policy";
/// Set once the mail and employeeId indexes cover every user.
const DIR_INDEX: &str = "directory_index";
const DIR_INDEX_VERSION: &str = "1";

#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

/// Dropped in this order: the readers' handles, then the writer, whose
/// thread holds the last ones, writes the memory records behind and closes
/// the database on its way out.
struct Inner {
    db: Arc<Database>,
    memo: Arc<Memo>,
    writer: Writer,
}

macro_rules! backend_error {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Backend(e.to_string())
            }
        }
    )*};
}
backend_error!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(format!("store task failed: {e}"))
}

fn user_creds_prefix(user_id: &str) -> (String, String) {
    // '0' is the byte after '/', so the range covers exactly "user_id/...".
    (format!("{user_id}/"), format!("{user_id}0"))
}

/// The range of `key NUL ...` entries (keys never hold NUL: ids are
/// generated, and index keys come from validated text).
fn pair_prefix(key: &str) -> (String, String) {
    (format!("{key}\u{0}"), format!("{key}\u{1}"))
}

fn pair(a: &str, b: &str) -> String {
    format!("{a}\u{0}{b}")
}

/// The second halves of the `key NUL x` entries of `table`, in order.
fn pairs_of(
    table: &impl ReadableTable<&'static str, &'static str>,
    key: &str,
) -> Result<Vec<String>, StoreError> {
    let (lo, hi) = pair_prefix(key);
    table
        .range(lo.as_str()..hi.as_str())?
        .map(|e| {
            e.map(|(k, _)| k.value()[lo.len()..].to_owned())
                .map_err(StoreError::from)
        })
        .collect()
}

/// Keeps one non-unique index in step with a user write.
fn reindex(
    table: &mut redb::Table<&'static str, &'static str>,
    id: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<(), StoreError> {
    if let Some(old) = old
        && Some(old) != new
    {
        table.remove(pair(old, id).as_str())?;
    }
    if let Some(new) = new {
        table.insert(pair(new, id).as_str(), "")?;
    }
    Ok(())
}

/// The users that `key` names in `index`, checked against their records.
fn users_by_index(
    tx: &ReadTransaction,
    index: Json,
    key: &str,
    field: fn(&User) -> Option<String>,
) -> Result<Vec<User>, StoreError> {
    let ids = pairs_of(&tx.open_table(index)?, key)?;
    let users = tx.open_table(USERS)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(u) = get_json::<User>(&users, &id)?
            && field(&u).as_deref() == Some(key)
        {
            out.push(u);
        }
    }
    Ok(out)
}

impl EmbeddedStore {
    /// Opens (or creates) the database file, creating parent folders.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Backend(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let db = Database::create(path).map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(path.display().to_string()),
            other => StoreError::Backend(format!("{}: {other}", path.display())),
        })?;
        let tx = db.begin_write()?;
        {
            for t in [
                USERS,
                UPNS,
                TAPS,
                CREDS,
                USER_CREDS,
                CLIENTS,
                META,
                AUDIT,
                MAILS,
                EMPLOYEE_IDS,
                GROUPS,
                GROUP_ORDER,
                MEMBERS,
                MEMBER_OF,
                ONBOARDED,
            ] {
                tx.open_table(t)?;
            }
            tx.open_table(EPHEMERAL)?;
            tx.open_table(COUNTERS)?;
            tx.open_table(LOCKOUTS)?;
            webhooks::create_tables(&tx)?;
        }
        tx.commit()?;
        let memo = Arc::new(Memo::load(&db.begin_read()?, ephemeral::is_memory_key)?);
        let db = Arc::new(db);
        let writer = Writer::start(db.clone(), memo.clone())?;
        Ok(Self {
            inner: Arc::new(Inner { db, memo, writer }),
        })
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || {
            let tx = db.begin_read()?;
            f(&tx)
        })
        .await
        .map_err(join_error)?
    }

    /// A point read (a few pages, nearly always cached) runs on the
    /// caller's thread: handing it to the blocking pool and back costs two
    /// thread switches, more than the read. Scans use [`Self::read`].
    async fn read_now<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&ReadTransaction) -> Result<T, StoreError> + Send,
    {
        let tx = self.inner.db.begin_read()?;
        f(&tx)
    }

    /// Runs `f` in a write transaction, committed only if `f` succeeds
    /// (see [`Writer::write`]: `f` may run again after another's failure).
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        self.inner.writer.write(f).await
    }
}

impl EmbeddedStore {
    /// Every durable change goes through here: one write transaction for
    /// the change and, when given, its audit event.
    async fn apply(
        &self,
        change: Change<'_>,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        self.apply_with(change, event.into_iter()).await
    }

    /// [`apply`](Self::apply) with more events logged in the same commit,
    /// if the change applied.
    async fn apply_with<'e>(
        &self,
        change: Change<'_>,
        events: impl Iterator<Item = &'e AuditEvent>,
    ) -> Result<bool, StoreError> {
        let op = Op::of(change)?;
        let audit = events
            .map(|e| Ok((audit_key(e), serde_json::to_string(e)?, e.clone())))
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.write(move |tx| {
            let applied = op.apply(tx)?;
            if applied {
                for (key, json, event) in &audit {
                    webhooks::log_event(tx, key, json, event)?;
                }
            }
            Ok(applied)
        })
        .await
    }
}

/// A [`Change`] with owned, serialised data, to move onto the blocking pool.
enum Op {
    CreateUser {
        id: String,
        upn: String,
        shown: String,
        json: String,
        mail: Option<String>,
        employee_id: Option<String>,
    },
    UpdateUser {
        id: String,
        upn: String,
        shown: String,
        json: String,
        mail: Option<String>,
        employee_id: Option<String>,
        prior: Option<Box<User>>,
    },
    DeleteUser {
        id: String,
    },
    PutTap {
        user_id: String,
        json: String,
    },
    DeleteTap {
        user_id: String,
        tap_id: String,
    },
    AddCredential {
        id: String,
        user_id: String,
        json: String,
    },
    UpdateCredential {
        id: String,
        user_id: String,
        json: String,
        prior: Option<Box<PasskeyCredential>>,
    },
    UseTap {
        user_id: String,
        tap_id: String,
        at: OffsetDateTime,
    },
    DeleteCredential {
        user_id: String,
        id: String,
    },
    PutClient {
        id: String,
        json: String,
    },
    DeleteClient {
        id: String,
    },
    PutWebhook(crate::domain::webhook::Subscription),
    DeleteWebhook(String),
    PutPolicy {
        json: String,
        prior: Option<Policy>,
    },
    CreateGroup {
        id: String,
        order: String,
        json: String,
    },
    UpdateGroup {
        id: String,
        order: String,
        json: String,
        prior: Option<Box<Group>>,
    },
    DeleteGroup {
        id: String,
    },
    AddMember {
        group_id: String,
        user_id: String,
    },
    RemoveMember {
        group_id: String,
        user_id: String,
    },
    IssueScheduledTap {
        user_id: String,
        hire_date: String,
        tap_id: String,
        json: String,
    },
}

impl Op {
    fn of(change: Change<'_>) -> Result<Self, StoreError> {
        Ok(match change {
            Change::CreateUser(u) => Op::CreateUser {
                id: u.id.clone(),
                upn: u.upn.key(),
                shown: u.upn.to_string(),
                json: serde_json::to_string(u)?,
                mail: u.mail_key(),
                employee_id: u.employee_id_key(),
            },
            Change::UpdateUser { user: u, prior } => Op::UpdateUser {
                id: u.id.clone(),
                upn: u.upn.key(),
                shown: u.upn.to_string(),
                json: serde_json::to_string(u)?,
                mail: u.mail_key(),
                employee_id: u.employee_id_key(),
                prior: prior.map(|p| Box::new(p.clone())),
            },
            Change::DeleteUser(id) => Op::DeleteUser { id: id.to_owned() },
            Change::PutTap { user_id, tap } => Op::PutTap {
                user_id: user_id.to_owned(),
                json: serde_json::to_string(tap)?,
            },
            Change::DeleteTap { user_id, tap_id } => Op::DeleteTap {
                user_id: user_id.to_owned(),
                tap_id: tap_id.to_owned(),
            },
            Change::AddCredential(c) => Op::AddCredential {
                id: c.id.clone(),
                user_id: c.user_id.clone(),
                json: serde_json::to_string(c)?,
            },
            Change::UpdateCredential { cred: c, prior } => Op::UpdateCredential {
                id: c.id.clone(),
                user_id: c.user_id.clone(),
                json: serde_json::to_string(c)?,
                prior: prior.map(|p| Box::new(p.clone())),
            },
            Change::UseTap {
                user_id,
                tap_id,
                at,
            } => Op::UseTap {
                user_id: user_id.to_owned(),
                tap_id: tap_id.to_owned(),
                at,
            },
            Change::DeleteCredential { user_id, cred_id } => Op::DeleteCredential {
                user_id: user_id.to_owned(),
                id: cred_id.to_owned(),
            },
            Change::PutClient(c) => Op::PutClient {
                id: c.id.clone(),
                json: serde_json::to_string(c)?,
            },
            Change::DeleteClient(id) => Op::DeleteClient { id: id.to_owned() },
            Change::PutWebhook(s) => Op::PutWebhook(s.clone()),
            Change::DeleteWebhook(id) => Op::DeleteWebhook(id.to_owned()),
            Change::PutPolicy { policy, prior } => Op::PutPolicy {
                json: serde_json::to_string(policy)?,
                prior: prior.cloned(),
            },
            Change::CreateGroup(g) => Op::CreateGroup {
                id: g.id.clone(),
                order: g.order_key(),
                json: serde_json::to_string(g)?,
            },
            Change::UpdateGroup { group: g, prior } => Op::UpdateGroup {
                id: g.id.clone(),
                order: g.order_key(),
                json: serde_json::to_string(g)?,
                prior: prior.map(|p| Box::new(p.clone())),
            },
            Change::DeleteGroup(id) => Op::DeleteGroup { id: id.to_owned() },
            Change::AddMember { group_id, user_id } => Op::AddMember {
                group_id: group_id.to_owned(),
                user_id: user_id.to_owned(),
            },
            Change::IssueScheduledTap {
                user_id,
                hire_date,
                tap,
            } => Op::IssueScheduledTap {
                user_id: user_id.to_owned(),
                hire_date: hire_date.to_owned(),
                tap_id: tap.id.clone(),
                json: serde_json::to_string(tap)?,
            },
            Change::RemoveMember { group_id, user_id } => Op::RemoveMember {
                group_id: group_id.to_owned(),
                user_id: user_id.to_owned(),
            },
        })
    }

    /// Applies the change in `tx`; false when a delete found nothing.
    fn apply(&self, tx: &WriteTransaction) -> Result<bool, StoreError> {
        let taken = |_: &str| StoreError::Conflict(super::UPN_TAKEN.into());
        match self {
            Op::CreateUser {
                id,
                upn,
                shown,
                json,
                mail,
                employee_id,
            } => {
                let mut upns = tx.open_table(UPNS)?;
                if upns.get(upn.as_str())?.is_some() {
                    return Err(taken(shown));
                }
                upns.insert(upn.as_str(), id.as_str())?;
                tx.open_table(USERS)?.insert(id.as_str(), json.as_str())?;
                reindex(&mut tx.open_table(MAILS)?, id, None, mail.as_deref())?;
                reindex(
                    &mut tx.open_table(EMPLOYEE_IDS)?,
                    id,
                    None,
                    employee_id.as_deref(),
                )?;
                Ok(true)
            }
            Op::UpdateUser {
                id,
                upn,
                shown,
                json,
                mail,
                employee_id,
                prior,
            } => {
                let mut users = tx.open_table(USERS)?;
                let old: User = get_json(&users, id)?.ok_or(StoreError::NotFound)?;
                if prior.as_deref().is_some_and(|p| *p != old) {
                    return Err(changed_meanwhile());
                }
                let old_upn = old.upn.key();
                if old_upn != *upn {
                    let mut upns = tx.open_table(UPNS)?;
                    if upns.get(upn.as_str())?.is_some() {
                        return Err(taken(shown));
                    }
                    upns.remove(old_upn.as_str())?;
                    upns.insert(upn.as_str(), id.as_str())?;
                }
                users.insert(id.as_str(), json.as_str())?;
                reindex(
                    &mut tx.open_table(MAILS)?,
                    id,
                    old.mail_key().as_deref(),
                    mail.as_deref(),
                )?;
                reindex(
                    &mut tx.open_table(EMPLOYEE_IDS)?,
                    id,
                    old.employee_id_key().as_deref(),
                    employee_id.as_deref(),
                )?;
                Ok(true)
            }
            Op::DeleteUser { id } => {
                let mut users = tx.open_table(USERS)?;
                let Some(user) = get_json::<User>(&users, id)? else {
                    return Ok(false);
                };
                users.remove(id.as_str())?;
                tx.open_table(UPNS)?.remove(user.upn.key().as_str())?;
                reindex(
                    &mut tx.open_table(MAILS)?,
                    id,
                    user.mail_key().as_deref(),
                    None,
                )?;
                reindex(
                    &mut tx.open_table(EMPLOYEE_IDS)?,
                    id,
                    user.employee_id_key().as_deref(),
                    None,
                )?;
                // Out of every group (the reverse index names them).
                let mut member_of = tx.open_table(MEMBER_OF)?;
                let mut members = tx.open_table(MEMBERS)?;
                for group_id in pairs_of(&member_of, id)? {
                    members.remove(pair(&group_id, id).as_str())?;
                    member_of.remove(pair(id, &group_id).as_str())?;
                }
                tx.open_table(TAPS)?.remove(id.as_str())?;
                let mut claims = tx.open_table(ONBOARDED)?;
                for hire_date in pairs_of(&claims, id)? {
                    claims.remove(pair(id, &hire_date).as_str())?;
                }
                drop(claims);
                let (lo, hi) = user_creds_prefix(id);
                let mut links = tx.open_table(USER_CREDS)?;
                let keys = links
                    .range(lo.as_str()..hi.as_str())?
                    .map(|e| e.map(|(k, _)| k.value().to_owned()))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut creds = tx.open_table(CREDS)?;
                for key in keys {
                    links.remove(key.as_str())?;
                    if let Some(cred_id) = key.strip_prefix(lo.as_str()) {
                        creds.remove(cred_id)?;
                    }
                }
                Ok(true)
            }
            Op::PutTap { user_id, json } => {
                tx.open_table(TAPS)?
                    .insert(user_id.as_str(), json.as_str())?;
                Ok(true)
            }
            Op::DeleteTap { user_id, tap_id } => {
                let mut taps = tx.open_table(TAPS)?;
                match get_json::<Tap>(&taps, user_id)? {
                    Some(t) if t.id == *tap_id => {
                        taps.remove(user_id.as_str())?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            }
            Op::AddCredential { id, user_id, json } => {
                let mut creds = tx.open_table(CREDS)?;
                if creds.get(id.as_str())?.is_some() {
                    return Err(StoreError::Conflict(
                        "credential id already registered".into(),
                    ));
                }
                creds.insert(id.as_str(), json.as_str())?;
                tx.open_table(USER_CREDS)?
                    .insert(format!("{user_id}/{id}").as_str(), "")?;
                Ok(true)
            }
            Op::UpdateCredential {
                id,
                user_id,
                json,
                prior,
            } => {
                let mut creds = tx.open_table(CREDS)?;
                match get_json::<PasskeyCredential>(&creds, id)? {
                    Some(existing) if prior.as_deref().is_some_and(|p| *p != existing) => {
                        Err(cred_changed_meanwhile())
                    }
                    Some(existing) if existing.user_id == *user_id => {
                        creds.insert(id.as_str(), json.as_str())?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            }
            Op::UseTap {
                user_id,
                tap_id,
                at,
            } => Ok(use_tap(tx, user_id, tap_id, *at)? == TapUse::Recorded),
            Op::DeleteCredential { user_id, id } => {
                let mut creds = tx.open_table(CREDS)?;
                match get_json::<PasskeyCredential>(&creds, id)? {
                    Some(existing) if existing.user_id == *user_id => {
                        creds.remove(id.as_str())?;
                        tx.open_table(USER_CREDS)?
                            .remove(format!("{user_id}/{id}").as_str())?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            }
            Op::PutClient { id, json } => {
                tx.open_table(CLIENTS)?.insert(id.as_str(), json.as_str())?;
                Ok(true)
            }
            Op::DeleteClient { id } => Ok(tx.open_table(CLIENTS)?.remove(id.as_str())?.is_some()),
            Op::PutWebhook(s) => webhooks::put_subscription(tx, s),
            Op::DeleteWebhook(id) => webhooks::delete_subscription(tx, id),
            Op::PutPolicy { json, prior } => {
                let mut meta = tx.open_table(META)?;
                if let Some(prior) = prior {
                    let stored: Policy = get_json(&meta, POLICY)?.unwrap_or_default();
                    if stored != *prior {
                        return Err(super::policy_changed_meanwhile());
                    }
                }
                meta.insert(POLICY, json.as_str())?;
                Ok(true)
            }
            Op::CreateGroup { id, order, json } => {
                let mut groups = tx.open_table(GROUPS)?;
                if groups.get(id.as_str())?.is_some() {
                    return Err(StoreError::Conflict("the group id exists".into()));
                }
                groups.insert(id.as_str(), json.as_str())?;
                tx.open_table(GROUP_ORDER)?
                    .insert(order.as_str(), id.as_str())?;
                Ok(true)
            }
            Op::UpdateGroup {
                id,
                order,
                json,
                prior,
            } => {
                let mut groups = tx.open_table(GROUPS)?;
                let old: Group = get_json(&groups, id)?.ok_or(StoreError::NotFound)?;
                if prior.as_deref().is_some_and(|p| *p != old) {
                    return Err(group_changed_meanwhile());
                }
                let old_order = old.order_key();
                if old_order != *order {
                    let mut listing = tx.open_table(GROUP_ORDER)?;
                    listing.remove(old_order.as_str())?;
                    listing.insert(order.as_str(), id.as_str())?;
                }
                groups.insert(id.as_str(), json.as_str())?;
                Ok(true)
            }
            Op::DeleteGroup { id } => {
                let mut groups = tx.open_table(GROUPS)?;
                let Some(group) = get_json::<Group>(&groups, id)? else {
                    return Ok(false);
                };
                groups.remove(id.as_str())?;
                tx.open_table(GROUP_ORDER)?
                    .remove(group.order_key().as_str())?;
                let mut members = tx.open_table(MEMBERS)?;
                let mut member_of = tx.open_table(MEMBER_OF)?;
                for user_id in pairs_of(&members, id)? {
                    member_of.remove(pair(&user_id, id).as_str())?;
                    members.remove(pair(id, &user_id).as_str())?;
                }
                Ok(true)
            }
            Op::AddMember { group_id, user_id } => {
                if tx.open_table(GROUPS)?.get(group_id.as_str())?.is_none()
                    || tx.open_table(USERS)?.get(user_id.as_str())?.is_none()
                {
                    return Err(StoreError::NotFound);
                }
                let mut members = tx.open_table(MEMBERS)?;
                let key = pair(group_id, user_id);
                if members.get(key.as_str())?.is_some() {
                    return Err(already_member());
                }
                members.insert(key.as_str(), "")?;
                tx.open_table(MEMBER_OF)?
                    .insert(pair(user_id, group_id).as_str(), "")?;
                Ok(true)
            }
            Op::RemoveMember { group_id, user_id } => {
                let removed = tx
                    .open_table(MEMBERS)?
                    .remove(pair(group_id, user_id).as_str())?
                    .is_some();
                tx.open_table(MEMBER_OF)?
                    .remove(pair(user_id, group_id).as_str())?;
                Ok(removed)
            }
            Op::IssueScheduledTap {
                user_id,
                hire_date,
                tap_id,
                json,
            } => {
                let mut claims = tx.open_table(ONBOARDED)?;
                let key = pair(user_id, hire_date);
                if claims.get(key.as_str())?.is_some() {
                    return Ok(false);
                }
                claims.insert(key.as_str(), tap_id.as_str())?;
                tx.open_table(TAPS)?
                    .insert(user_id.as_str(), json.as_str())?;
                Ok(true)
            }
        }
    }
}

/// Marks a pass used, once for a one-time pass.
fn use_tap(
    tx: &WriteTransaction,
    user_id: &str,
    tap_id: &str,
    at: OffsetDateTime,
) -> Result<TapUse, StoreError> {
    let mut taps = tx.open_table(TAPS)?;
    let Some(mut tap) = get_json::<Tap>(&taps, user_id)?.filter(|t| t.id == tap_id) else {
        return Ok(TapUse::Missing);
    };
    if tap.is_usable_once && tap.used_at.is_some() {
        return Ok(TapUse::AlreadyUsed);
    }
    tap.used_at = Some(at);
    let json = serde_json::to_string(&tap)?;
    taps.insert(user_id, json.as_str())?;
    Ok(TapUse::Recorded)
}

fn get_json<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static str>,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match table.get(key)? {
        Some(v) => Ok(Some(serde_json::from_str(v.value())?)),
        None => Ok(None),
    }
}

#[async_trait]
impl UserStore for EmbeddedStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.apply(Change::CreateUser(user), None).await.map(drop)
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let id = id.to_owned();
        self.read_now(move |tx| get_json(&tx.open_table(USERS)?, &id))
            .await
    }

    async fn find_user_by_upn(&self, upn_key: &str) -> Result<Option<User>, StoreError> {
        let upn = upn_key.to_owned();
        self.read_now(move |tx| {
            let id = tx
                .open_table(UPNS)?
                .get(upn.as_str())?
                .map(|v| v.value().to_owned());
            match id {
                Some(id) => get_json(&tx.open_table(USERS)?, &id),
                None => Ok(None),
            }
        })
        .await
    }

    async fn list_users(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        let after = after.map(str::to_owned);
        self.read(move |tx| {
            let upns = tx.open_table(UPNS)?;
            let users = tx.open_table(USERS)?;
            let mut out = Vec::with_capacity(limit.min(1000));
            let iter = match &after {
                Some(a) => upns.range::<&str>((
                    std::ops::Bound::Excluded(a.as_str()),
                    std::ops::Bound::Unbounded,
                ))?,
                None => upns.range::<&str>(..)?,
            };
            for entry in iter {
                let (_, id) = entry?;
                if let Some(user) = get_json(&users, id.value())? {
                    out.push(user);
                    if out.len() == limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn update_user(&self, user: &User) -> Result<(), StoreError> {
        self.apply(Change::UpdateUser { user, prior: None }, None)
            .await
            .map(drop)
    }

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        self.apply(Change::DeleteUser(id), None).await
    }

    async fn has_users(&self) -> Result<bool, StoreError> {
        self.read_now(|tx| Ok(!ReadableTableMetadata::is_empty(&tx.open_table(USERS)?)?))
            .await
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        // redb keeps each table's length in its header: O(1).
        self.read_now(|tx| Ok(ReadableTableMetadata::len(&tx.open_table(USERS)?)?))
            .await
    }

    async fn find_users_by_mail(&self, mail_key: &str) -> Result<Vec<User>, StoreError> {
        let key = mail_key.to_owned();
        self.read(move |tx| users_by_index(tx, MAILS, &key, User::mail_key))
            .await
    }

    async fn find_users_by_employee_id(&self, key: &str) -> Result<Vec<User>, StoreError> {
        let key = key.to_owned();
        self.read(move |tx| users_by_index(tx, EMPLOYEE_IDS, &key, User::employee_id_key))
            .await
    }

    async fn reindex_users(&self) -> Result<usize, StoreError> {
        let done = self
            .read(|tx| Ok(tx.open_table(META)?.get(DIR_INDEX)?.is_some()))
            .await?;
        if done {
            return Ok(0);
        }
        // One write transaction: no user write can slip in between.
        self.write(|tx| {
            let mut meta = tx.open_table(META)?;
            if meta.get(DIR_INDEX)?.is_some() {
                return Ok(0);
            }
            let users = tx.open_table(USERS)?;
            let mut mails = tx.open_table(MAILS)?;
            let mut employee_ids = tx.open_table(EMPLOYEE_IDS)?;
            let mut n = 0;
            for entry in users.iter()? {
                let (_, v) = entry?;
                let user: User = serde_json::from_str(v.value())?;
                reindex(&mut mails, &user.id, None, user.mail_key().as_deref())?;
                reindex(
                    &mut employee_ids,
                    &user.id,
                    None,
                    user.employee_id_key().as_deref(),
                )?;
                n += 1;
            }
            meta.insert(DIR_INDEX, DIR_INDEX_VERSION)?;
            Ok(n)
        })
        .await
    }
}

#[async_trait]
impl GroupStore for EmbeddedStore {
    async fn create_group(&self, group: &Group) -> Result<(), StoreError> {
        self.apply(Change::CreateGroup(group), None).await.map(drop)
    }

    async fn get_group(&self, id: &str) -> Result<Option<Group>, StoreError> {
        let id = id.to_owned();
        self.read_now(move |tx| get_json(&tx.open_table(GROUPS)?, &id))
            .await
    }

    async fn list_groups(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Group>, StoreError> {
        use std::ops::Bound;
        let after = after.map(str::to_owned);
        self.read(move |tx| {
            let order = tx.open_table(GROUP_ORDER)?;
            let groups = tx.open_table(GROUPS)?;
            let lower = after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
            let mut out = Vec::with_capacity(limit.min(1000));
            for entry in order.range::<&str>((lower, Bound::Unbounded))? {
                if out.len() == limit {
                    break;
                }
                let (_, id) = entry?;
                if let Some(g) = get_json(&groups, id.value())? {
                    out.push(g);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn count_groups(&self) -> Result<u64, StoreError> {
        self.read_now(|tx| Ok(ReadableTableMetadata::len(&tx.open_table(GROUPS)?)?))
            .await
    }

    async fn update_group(&self, group: &Group, prior: Option<&Group>) -> Result<(), StoreError> {
        self.apply(Change::UpdateGroup { group, prior }, None)
            .await
            .map(drop)
    }

    async fn delete_group(&self, id: &str) -> Result<bool, StoreError> {
        self.apply(Change::DeleteGroup(id), None).await
    }

    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<(), StoreError> {
        self.apply(Change::AddMember { group_id, user_id }, None)
            .await
            .map(drop)
    }

    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<bool, StoreError> {
        self.apply(Change::RemoveMember { group_id, user_id }, None)
            .await
    }

    async fn is_member(&self, group_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let key = pair(group_id, user_id);
        self.read_now(move |tx| Ok(tx.open_table(MEMBERS)?.get(key.as_str())?.is_some()))
            .await
    }

    async fn list_members(
        &self,
        group_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        use std::ops::Bound;
        let (lo, hi) = pair_prefix(group_id);
        let start = after.map(|a| pair(group_id, a));
        self.read(move |tx| {
            let members = tx.open_table(MEMBERS)?;
            let users = tx.open_table(USERS)?;
            let lower = match &start {
                Some(s) => Bound::Excluded(s.as_str()),
                None => Bound::Included(lo.as_str()),
            };
            let mut out = Vec::with_capacity(limit.min(1000));
            for entry in members.range::<&str>((lower, Bound::Excluded(hi.as_str())))? {
                if out.len() == limit {
                    break;
                }
                let (key, _) = entry?;
                if let Some(u) = get_json(&users, &key.value()[lo.len()..])? {
                    out.push(u);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn groups_of_user(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let id = user_id.to_owned();
        self.read_now(move |tx| pairs_of(&tx.open_table(MEMBER_OF)?, &id))
            .await
    }
}

#[async_trait]
impl TapStore for EmbeddedStore {
    async fn put_tap(&self, user_id: &str, tap: &Tap) -> Result<(), StoreError> {
        self.apply(Change::PutTap { user_id, tap }, None)
            .await
            .map(drop)
    }

    async fn get_tap(&self, user_id: &str) -> Result<Option<Tap>, StoreError> {
        let id = user_id.to_owned();
        self.read_now(move |tx| get_json(&tx.open_table(TAPS)?, &id))
            .await
    }

    async fn scheduled_tap(
        &self,
        user_id: &str,
        hire_date: &str,
    ) -> Result<Option<String>, StoreError> {
        let key = pair(user_id, hire_date);
        self.read_now(move |tx| {
            Ok(tx
                .open_table(ONBOARDED)?
                .get(key.as_str())?
                .map(|v| v.value().to_owned()))
        })
        .await
    }

    async fn delete_tap(&self, user_id: &str, tap_id: &str) -> Result<bool, StoreError> {
        self.apply(Change::DeleteTap { user_id, tap_id }, None)
            .await
    }

    async fn record_tap_use(
        &self,
        user_id: &str,
        tap_id: &str,
        at: OffsetDateTime,
    ) -> Result<TapUse, StoreError> {
        let (uid, tid) = (user_id.to_owned(), tap_id.to_owned());
        self.write(move |tx| use_tap(tx, &uid, &tid, at)).await
    }
}

#[async_trait]
impl CredentialStore for EmbeddedStore {
    async fn add_credential(&self, cred: &PasskeyCredential) -> Result<(), StoreError> {
        self.apply(Change::AddCredential(cred), None)
            .await
            .map(drop)
    }

    async fn list_credentials(&self, user_id: &str) -> Result<Vec<PasskeyCredential>, StoreError> {
        let (lo, hi) = user_creds_prefix(user_id);
        self.read_now(move |tx| {
            let links = tx.open_table(USER_CREDS)?;
            let creds = tx.open_table(CREDS)?;
            let mut out: Vec<PasskeyCredential> = Vec::new();
            for entry in links.range(lo.as_str()..hi.as_str())? {
                let (key, _) = entry?;
                if let Some(cred_id) = key.value().strip_prefix(lo.as_str())
                    && let Some(c) = get_json(&creds, cred_id)?
                {
                    out.push(c);
                }
            }
            out.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
            Ok(out)
        })
        .await
    }

    async fn find_credential(
        &self,
        cred_id: &str,
    ) -> Result<Option<PasskeyCredential>, StoreError> {
        let id = cred_id.to_owned();
        self.read_now(move |tx| get_json(&tx.open_table(CREDS)?, &id))
            .await
    }

    async fn update_credential(&self, cred: &PasskeyCredential) -> Result<bool, StoreError> {
        self.apply(Change::UpdateCredential { cred, prior: None }, None)
            .await
    }

    async fn delete_credential(&self, user_id: &str, cred_id: &str) -> Result<bool, StoreError> {
        self.apply(Change::DeleteCredential { user_id, cred_id }, None)
            .await
    }
}

#[async_trait]
impl ClientStore for EmbeddedStore {
    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.apply(Change::PutClient(client), None).await.map(drop)
    }

    async fn get_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let id = id.to_owned();
        self.read_now(move |tx| get_json(&tx.open_table(CLIENTS)?, &id))
            .await
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        self.read(|tx| {
            let t = tx.open_table(CLIENTS)?;
            let mut out = Vec::new();
            for entry in t.iter()? {
                let (_, v) = entry?;
                out.push(serde_json::from_str(v.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        self.apply(Change::DeleteClient(id), None).await
    }
}

#[async_trait]
impl KeyStore for EmbeddedStore {
    async fn get_keyset(&self) -> Result<Option<KeySetRecord>, StoreError> {
        self.read_now(|tx| get_json(&tx.open_table(META)?, KEYSET))
            .await
    }

    async fn create_keyset(&self, keys: &KeySetRecord) -> Result<KeySetRecord, StoreError> {
        let json = serde_json::to_string(keys)?;
        let mine = keys.clone();
        self.write(move |tx| {
            let mut meta = tx.open_table(META)?;
            if let Some(existing) = get_json(&meta, KEYSET)? {
                return Ok(existing);
            }
            meta.insert(KEYSET, json.as_str())?;
            Ok(mine.clone())
        })
        .await
    }

    async fn replace_keyset(
        &self,
        expected_version: u64,
        keys: &KeySetRecord,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(keys)?;
        self.write(move |tx| {
            let mut meta = tx.open_table(META)?;
            match get_json::<KeySetRecord>(&meta, KEYSET)? {
                Some(cur) if cur.version == expected_version => {
                    meta.insert(KEYSET, json.as_str())?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }
}

#[async_trait]
impl PolicyStore for EmbeddedStore {
    async fn get_policy(&self) -> Result<Option<Policy>, StoreError> {
        self.read_now(|tx| get_json(&tx.open_table(META)?, POLICY))
            .await
    }

    async fn put_policy(&self, policy: &Policy) -> Result<(), StoreError> {
        self.apply(
            Change::PutPolicy {
                policy,
                prior: None,
            },
            None,
        )
        .await
        .map(drop)
    }
}

#[async_trait]
impl AuditStore for EmbeddedStore {
    async fn apply_audited(
        &self,
        change: Change<'_>,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.apply(change, Some(event)).await
    }

    async fn prune_audit(&self, before: OffsetDateTime, limit: usize) -> Result<usize, StoreError> {
        // Keys start with zero-padded milliseconds: byte order is time order.
        let bound = format!("{:020}", unix_ms(before).max(0));
        self.write(move |tx| {
            let mut audit = tx.open_table(AUDIT)?;
            let old = audit
                .range::<&str>(..bound.as_str())?
                .take(limit)
                .map(|e| e.map(|(k, _)| k.value().to_owned()))
                .collect::<Result<Vec<_>, _>>()?;
            for key in &old {
                audit.remove(key.as_str())?;
            }
            Ok(old.len())
        })
        .await
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let json = serde_json::to_string(event)?;
        let key = audit_key(event);
        let event = event.clone();
        self.write(move |tx| webhooks::log_event(tx, &key, &json, &event))
            .await
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<&str>,
        limit: usize,
    ) -> Result<AuditPage, StoreError> {
        use std::ops::Bound;
        let filter = filter.clone();
        let before = before.map(str::to_owned);
        self.read(move |tx| {
            let t = tx.open_table(AUDIT)?;
            let until = filter.until.map(|u| format!("{:020}", unix_ms(u).max(0)));
            let upper = match (&before, &until) {
                (Some(b), _) => Bound::Excluded(b.as_str()),
                (None, Some(u)) => Bound::Excluded(u.as_str()),
                (None, None) => Bound::Unbounded,
            };
            let from = filter.from.map(|f| format!("{:020}", unix_ms(f).max(0)));
            let lower = from.as_deref().map_or(Bound::Unbounded, Bound::Included);
            let mut events = Vec::new();
            for entry in t.range::<&str>((lower, upper))?.rev() {
                let (key, body) = entry?;
                let event: AuditEvent = serde_json::from_str(body.value())?;
                if filter.matches(&event) {
                    events.push(event);
                    if events.len() == limit {
                        return Ok(AuditPage {
                            events,
                            next: Some(key.value().to_owned()),
                        });
                    }
                }
            }
            Ok(AuditPage { events, next: None })
        })
        .await
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.read_now(|_| Ok(())).await
    }

    fn kind(&self) -> &'static str {
        "embedded"
    }

    /// The change and every event in one commit (one fsync); the records
    /// after it, in memory where their kind lives there.
    async fn apply_audited_then(
        &self,
        change: Change<'_>,
        event: &AuditEvent,
        puts: &[batch::Put<'_>],
        also: &[AuditEvent],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        if !self
            .apply_with(change, std::iter::once(event).chain(also))
            .await?
        {
            return Ok(false);
        }
        for p in puts {
            self.put(p.ns, p.id, &p.value, p.expires_at, now).await?;
        }
        Ok(true)
    }
}
