//! Short-lived records and lockout buckets of the embedded store.
//!
//! Refresh tokens and revocations are security state that must outlive a
//! crash (a lost revocation would bring a token back): they are database
//! records, written durably. The rest lives minutes (sessions, ceremonies,
//! codes, authorization requests, nonces, counters, lockouts) and is kept
//! in memory, written behind ([`super::memo`]). Each operation's rule is
//! written once, over [`Slots`], for both homes.

use async_trait::async_trait;
use redb::{ReadableTable, Table as DbTable};
use time::OffsetDateTime;

use super::memo::{Records, Table};
use super::{EPHEMERAL, EmbeddedStore};
use crate::domain::lockout;
use crate::store::{
    EphemeralStore, LockoutStore, Ns, StoreError, decode_expiring, encode_expiring, unix_ms,
};

pub(super) fn eph_key(ns: Ns, id: &str) -> String {
    format!("{}:{id}", ns.as_str())
}

/// Whether records of `ns` live in memory (lost in a crash's last second).
fn in_memory(ns: Ns) -> bool {
    match ns {
        Ns::RefreshToken | Ns::SpentRefresh | Ns::RevokedToken | Ns::RevokedFamily => false,
        Ns::AuthorizationRequest
        | Ns::Session
        | Ns::Ceremony
        | Ns::Code
        | Ns::Nonce
        | Ns::Counter
        | Ns::Lock
        | Ns::UsedCode
        | Ns::ShownOnce
        | Ns::CsvImport => true,
    }
}

const MEMORY_NS: [Ns; 10] = [
    Ns::AuthorizationRequest,
    Ns::Session,
    Ns::Ceremony,
    Ns::Code,
    Ns::Nonce,
    Ns::ShownOnce,
    Ns::Counter,
    Ns::Lock,
    Ns::UsedCode,
    Ns::CsvImport,
];

/// Whether a key of the ephemeral table ([`eph_key`]) is a memory record.
pub(super) fn is_memory_key(key: &str) -> bool {
    key.split_once(':')
        .is_some_and(|(ns, _)| MEMORY_NS.iter().any(|m| m.as_str() == ns))
}

/// A table of raw records, in memory or in the database.
trait Slots {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn write(&mut self, key: &str, raw: Vec<u8>) -> Result<(), StoreError>;
    fn remove(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

impl Slots for DbTable<'_, &'static str, &'static [u8]> {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get(key)?.map(|v| v.value().to_vec()))
    }
    fn write(&mut self, key: &str, raw: Vec<u8>) -> Result<(), StoreError> {
        self.insert(key, raw.as_slice())?;
        Ok(())
    }
    fn remove(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(DbTable::remove(self, key)?.map(|v| v.value().to_vec()))
    }
}

/// One memory table.
struct Memory<'a>(&'a mut Records, Table);

impl Slots for Memory<'_> {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.get(self.1, key).map(<[u8]>::to_vec))
    }
    fn write(&mut self, key: &str, raw: Vec<u8>) -> Result<(), StoreError> {
        self.0.insert(self.1, key, raw);
        Ok(())
    }
    fn remove(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.remove(self.1, key))
    }
}

impl EmbeddedStore {
    /// Runs one step on the ephemeral records of `ns`, wherever they live.
    async fn step<T, F>(&self, ns: Ns, mut f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut dyn Slots) -> Result<T, StoreError> + Send + 'static,
    {
        if in_memory(ns) {
            self.in_memory(Table::Ephemeral, f)
        } else {
            self.write(move |tx| f(&mut tx.open_table(EPHEMERAL)?))
                .await
        }
    }

    fn in_memory<T>(
        &self,
        table: Table,
        f: impl FnOnce(&mut dyn Slots) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.inner.memo.with(|r| f(&mut Memory(r, table)))
    }
}

fn live(raw: Option<Vec<u8>>, now: OffsetDateTime) -> Option<Vec<u8>> {
    raw.and_then(|v| decode_expiring(&v, now).map(<[u8]>::to_vec))
}

#[async_trait]
impl EphemeralStore for EmbeddedStore {
    async fn put(
        &self,
        ns: Ns,
        id: &str,
        value: &[u8],
        expires_at: OffsetDateTime,
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let key = eph_key(ns, id);
        let raw = encode_expiring(value, expires_at);
        self.step(ns, move |t| t.write(&key, raw.clone())).await
    }

    async fn put_new(
        &self,
        ns: Ns,
        id: &str,
        value: &[u8],
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let key = eph_key(ns, id);
        let raw = encode_expiring(value, expires_at);
        self.step(ns, move |t| {
            if live(t.read(&key)?, now).is_some() || expires_at <= now {
                return Ok(false);
            }
            t.write(&key, raw.clone())?;
            Ok(true)
        })
        .await
    }

    async fn get(
        &self,
        ns: Ns,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = eph_key(ns, id);
        if in_memory(ns) {
            return self.in_memory(Table::Ephemeral, |t| Ok(live(t.read(&key)?, now)));
        }
        self.read_now(move |tx| {
            let raw = tx.open_table(EPHEMERAL)?.get(key.as_str())?;
            Ok(raw.and_then(|v| decode_expiring(v.value(), now).map(<[u8]>::to_vec)))
        })
        .await
    }

    async fn take(
        &self,
        ns: Ns,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = eph_key(ns, id);
        self.step(ns, move |t| Ok(live(t.remove(&key)?, now))).await
    }

    async fn delete(&self, ns: Ns, id: &str) -> Result<(), StoreError> {
        // Counters live in their own table, keyed by bare id.
        if ns == Ns::Counter {
            return self.in_memory(Table::Counters, |t| t.remove(id).map(drop));
        }
        let key = eph_key(ns, id);
        self.step(ns, move |t| t.remove(&key).map(drop)).await
    }

    async fn incr(
        &self,
        id: &str,
        window_end: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.in_memory(Table::Counters, |t| {
            let current = t.read(id)?.and_then(|v| counter_value(&v, now));
            let (n, end) = match current {
                Some((n, end)) => (n + 1, end),
                None => (1, unix_ms(window_end)),
            };
            let mut raw = Vec::with_capacity(16);
            raw.extend_from_slice(&n.to_be_bytes());
            raw.extend_from_slice(&end.to_be_bytes());
            t.write(id, raw)?;
            Ok(n)
        })
    }

    async fn sweep_expired(&self, now: OffsetDateTime, limit: usize) -> Result<usize, StoreError> {
        let removed = self.inner.memo.with(|r| {
            r.remove_where(limit, |table, raw| match table {
                Table::Ephemeral => decode_expiring(raw, now).is_none(),
                Table::Counters => counter_value(raw, now).is_none(),
                Table::Lockouts => std::str::from_utf8(raw)
                    .ok()
                    .and_then(|s| live_bucket(s, now))
                    .is_none(),
            })
        });
        let limit = limit.saturating_sub(removed);
        if limit == 0 {
            return Ok(removed);
        }
        // The durable records; the memory ones' rows follow the memory.
        let swept = self
            .write(move |tx| {
                let mut eph = tx.open_table(EPHEMERAL)?;
                let dead: Vec<String> = eph
                    .iter()?
                    .filter_map(|e| e.ok())
                    .filter(|(k, v)| {
                        !is_memory_key(k.value()) && decode_expiring(v.value(), now).is_none()
                    })
                    .take(limit)
                    .map(|(k, _)| k.value().to_owned())
                    .collect();
                for k in &dead {
                    eph.remove(k.as_str())?;
                }
                Ok(dead.len())
            })
            .await?;
        Ok(removed + swept)
    }

    async fn count(&self, id: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.in_memory(Table::Counters, |t| {
            Ok(t.read(id)?
                .and_then(|v| counter_value(&v, now))
                .map_or(0, |(n, _)| n))
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
        let key = eph_key(ns, id);
        let expected = expected.to_vec();
        let raw = encode_expiring(value, expires_at);
        self.step(ns, move |t| {
            let unchanged = live(t.read(&key)?, now).as_deref() == Some(expected.as_slice());
            if !unchanged || expires_at <= now {
                return Ok(false);
            }
            t.write(&key, raw.clone())?;
            Ok(true)
        })
        .await
    }
}

/// A live counter's (count, window end ms).
fn counter_value(raw: &[u8], now: OffsetDateTime) -> Option<(u64, i64)> {
    let n = u64::from_be_bytes(raw.get(..8)?.try_into().ok()?);
    let end = i64::from_be_bytes(raw.get(8..16)?.try_into().ok()?);
    (end > unix_ms(now)).then_some((n, end))
}

/// A stored bucket that is still kept at `now`.
fn live_bucket(raw: &str, now: OffsetDateTime) -> Option<lockout::Bucket> {
    serde_json::from_str::<lockout::Bucket>(raw)
        .ok()
        .filter(|b| b.keep_until_ms() > unix_ms(now))
}

fn read_bucket(
    t: &dyn Slots,
    id: &str,
    now: OffsetDateTime,
) -> Result<lockout::Bucket, StoreError> {
    Ok(t.read(id)?
        .and_then(|v| live_bucket(std::str::from_utf8(&v).ok()?, now))
        .unwrap_or_default())
}

#[async_trait]
impl LockoutStore for EmbeddedStore {
    async fn lockout(
        &self,
        id: &str,
        op: lockout::Op,
        now: OffsetDateTime,
    ) -> Result<lockout::Applied, StoreError> {
        self.in_memory(Table::Lockouts, |t| {
            let mut bucket = read_bucket(t, id, now)?;
            let applied = bucket.apply(op, unix_ms(now));
            if bucket.keep_until_ms() > unix_ms(now) {
                t.write(id, serde_json::to_vec(&bucket)?)?;
            } else {
                t.remove(id)?;
            }
            Ok(applied)
        })
    }

    async fn lockout_bucket(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<lockout::Bucket, StoreError> {
        self.in_memory(Table::Lockouts, |t| read_bucket(t, id, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn t0() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
    }

    #[tokio::test]
    async fn memory_records_survive_a_clean_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (now, later) = (t0(), t0() + Duration::minutes(5));
        let store = EmbeddedStore::open(&path).unwrap();
        store
            .put(Ns::Session, "s", b"kept", later, now)
            .await
            .unwrap();
        store
            .put(Ns::Code, "c", b"taken", later, now)
            .await
            .unwrap();
        assert!(store.take(Ns::Code, "c", now).await.unwrap().is_some());
        store
            .put(Ns::RevokedToken, "j", b"1", later, now)
            .await
            .unwrap();
        assert_eq!(store.incr("n", later, now).await.unwrap(), 1);
        assert_eq!(store.incr("n", later, now).await.unwrap(), 2);
        drop(store);

        let store = EmbeddedStore::open(&path).unwrap();
        let get = |ns, id: &'static str| store.get(ns, id, now);
        assert_eq!(
            get(Ns::Session, "s").await.unwrap().as_deref(),
            Some(&b"kept"[..])
        );
        assert_eq!(
            get(Ns::Code, "c").await.unwrap(),
            None,
            "the take was kept too"
        );
        assert!(get(Ns::RevokedToken, "j").await.unwrap().is_some());
        assert_eq!(store.count("n", now).await.unwrap(), 2);
    }

    #[test]
    fn memory_keys_are_told_from_durable_ones() {
        assert!(is_memory_key(&eph_key(Ns::Session, "a:b")));
        assert!(is_memory_key(&eph_key(Ns::UsedCode, "x")));
        assert!(!is_memory_key(&eph_key(Ns::RefreshToken, "x")));
        assert!(!is_memory_key(&eph_key(Ns::RevokedFamily, "session:x")));
        for ns in MEMORY_NS {
            assert!(in_memory(ns));
        }
    }
}
