//! Short-lived records that may be lost in a crash (sessions, ceremonies,
//! codes, authorization requests, nonces, counters, lockout buckets), held
//! in memory and written behind to the database.
//!
//! Every operation is one step under one lock: atomic, and without the
//! thread switches and the transaction of a database write. The changed
//! keys are remembered, and the writer thread copies them into the
//! database's tables in one durable commit at most a second later and at
//! close ([`Memo::persist`]); opening the store loads them back. A crash
//! loses the changes of that last second; a clean stop loses nothing.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::{COUNTERS, EPHEMERAL, LOCKOUTS};
use crate::store::StoreError;

/// Which database table a record is written behind to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Table {
    /// `ns:id` → expiry ++ payload.
    Ephemeral,
    /// id → count ++ window end.
    Counters,
    /// id → bucket JSON.
    Lockouts,
}

type Key = (Table, String);

#[derive(Default)]
pub(super) struct Records {
    live: HashMap<Key, Vec<u8>>,
    /// Changed since the last [`Memo::persist`]: the value, or None if removed.
    dirty: HashMap<Key, Option<Vec<u8>>>,
    dirty_since: Option<Instant>,
}

impl Records {
    pub(super) fn get(&self, table: Table, key: &str) -> Option<&[u8]> {
        self.live.get(&(table, key.to_owned())).map(Vec::as_slice)
    }

    pub(super) fn insert(&mut self, table: Table, key: &str, value: Vec<u8>) {
        self.mark((table, key.to_owned()), Some(value.clone()));
        self.live.insert((table, key.to_owned()), value);
    }

    pub(super) fn remove(&mut self, table: Table, key: &str) -> Option<Vec<u8>> {
        let old = self.live.remove(&(table, key.to_owned()));
        if old.is_some() {
            self.mark((table, key.to_owned()), None);
        }
        old
    }

    fn mark(&mut self, key: Key, value: Option<Vec<u8>>) {
        self.dirty.insert(key, value);
        self.dirty_since.get_or_insert_with(Instant::now);
    }

    /// Removes up to `limit` records that `dead` says are gone; how many.
    pub(super) fn remove_where(
        &mut self,
        limit: usize,
        dead: impl Fn(Table, &[u8]) -> bool,
    ) -> usize {
        let keys: Vec<Key> = self
            .live
            .iter()
            .filter(|((t, _), v)| dead(*t, v))
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect();
        for (table, key) in &keys {
            self.remove(*table, key);
        }
        keys.len()
    }
}

#[derive(Default)]
pub(super) struct Memo {
    records: Mutex<Records>,
}

/// Changes taken for one commit, put back if it fails.
pub(super) type Changes = HashMap<Key, Option<Vec<u8>>>;

impl Memo {
    /// Loads what the database holds of these records; `kept_here` says
    /// which keys of the ephemeral table are memo records (the others are
    /// durable ones that stay in the database).
    pub(super) fn load(
        tx: &ReadTransaction,
        kept_here: fn(&str) -> bool,
    ) -> Result<Self, StoreError> {
        let mut live = HashMap::new();
        for entry in tx.open_table(EPHEMERAL)?.iter()? {
            let (k, v) = entry?;
            if kept_here(k.value()) {
                live.insert((Table::Ephemeral, k.value().to_owned()), v.value().to_vec());
            }
        }
        for entry in tx.open_table(COUNTERS)?.iter()? {
            let (k, v) = entry?;
            live.insert((Table::Counters, k.value().to_owned()), v.value().to_vec());
        }
        for entry in tx.open_table(LOCKOUTS)?.iter()? {
            let (k, v) = entry?;
            live.insert(
                (Table::Lockouts, k.value().to_owned()),
                v.value().as_bytes().to_vec(),
            );
        }
        let records = Records {
            live,
            ..Records::default()
        };
        Ok(Self {
            records: Mutex::new(records),
        })
    }

    /// One atomic step on the records.
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut Records) -> T) -> T {
        f(&mut self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        // A panic under the lock leaves the map consistent (each step is
        // one insert or remove): keep going.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Since when changes wait to be written.
    pub(super) fn dirty_since(&self) -> Option<Instant> {
        self.lock().dirty_since
    }

    pub(super) fn take_changes(&self) -> Changes {
        let mut r = self.lock();
        r.dirty_since = None;
        std::mem::take(&mut r.dirty)
    }

    /// Puts back changes whose commit failed, under any newer ones.
    pub(super) fn restore(&self, changes: Changes) {
        let mut r = self.lock();
        for (k, v) in changes {
            r.dirty.entry(k).or_insert(v);
        }
        r.dirty_since.get_or_insert_with(Instant::now);
    }

    /// Writes `changes` into the database tables in `tx`.
    pub(super) fn persist(tx: &WriteTransaction, changes: &Changes) -> Result<(), StoreError> {
        let mut eph = tx.open_table(EPHEMERAL)?;
        let mut counters = tx.open_table(COUNTERS)?;
        let mut lockouts = tx.open_table(LOCKOUTS)?;
        for ((table, key), value) in changes {
            let key = key.as_str();
            match (table, value) {
                (Table::Ephemeral, Some(v)) => drop(eph.insert(key, v.as_slice())?),
                (Table::Ephemeral, None) => drop(eph.remove(key)?),
                (Table::Counters, Some(v)) => drop(counters.insert(key, v.as_slice())?),
                (Table::Counters, None) => drop(counters.remove(key)?),
                (Table::Lockouts, Some(v)) => {
                    let json = std::str::from_utf8(v)
                        .map_err(|e| StoreError::Corrupt(format!("lockout bucket: {e}")))?;
                    drop(lockouts.insert(key, json)?);
                }
                (Table::Lockouts, None) => drop(lockouts.remove(key)?),
            }
        }
        Ok(())
    }
}
