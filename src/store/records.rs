//! Typed short-lived records. Each kind knows its namespace (and, where it
//! is fixed, its lifetime); services put and take values, never bytes.
//! A record that no longer decodes (written by another version, damaged)
//! is as good as gone: it is logged and read as absent, so it can never
//! grant anything.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::{Duration, OffsetDateTime};

use super::{EphemeralStore, Ns, StoreError};
use crate::domain::authz::{
    AuthorizationRequest, CodeGrant, RedeemedCode, RefreshGrant, Session, SpentRefresh,
};
use crate::domain::csv_import::{ImportPreview, ImportReport};

/// A kind of short-lived record, kept as JSON in its namespace.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    const NS: Ns;
}

/// A record kept for a fixed time from when it is stored.
pub trait FixedLifetime: Record {
    const TTL: Duration;
}

impl Record for AuthorizationRequest {
    const NS: Ns = Ns::AuthorizationRequest;
}
/// Long enough to sign in (and enroll) without hurrying.
impl FixedLifetime for AuthorizationRequest {
    const TTL: Duration = Duration::minutes(10);
}
impl Record for CodeGrant {
    const NS: Ns = Ns::Code;
}
/// RFC 6749 §4.1.2: "a maximum authorization code lifetime of 10 minutes
/// is RECOMMENDED"; a client redeems at once, so one minute.
impl FixedLifetime for CodeGrant {
    const TTL: Duration = Duration::seconds(60);
}
impl Record for RedeemedCode {
    const NS: Ns = Ns::UsedCode;
}
impl Record for Session {
    const NS: Ns = Ns::Session;
}
impl Record for RefreshGrant {
    const NS: Ns = Ns::RefreshToken;
}
impl Record for SpentRefresh {
    const NS: Ns = Ns::SpentRefresh;
}
impl Record for ImportPreview {
    const NS: Ns = Ns::CsvImport;
}
/// Time to read the preview and commit it, not a working day.
impl FixedLifetime for ImportPreview {
    const TTL: Duration = Duration::minutes(30);
}
impl Record for ImportReport {
    const NS: Ns = Ns::CsvImport;
}
/// Long enough to download the report, or again.
impl FixedLifetime for ImportReport {
    const TTL: Duration = Duration::hours(1);
}

/// A record as read, with the bytes a compare-and-swap compares against.
pub struct Versioned<R> {
    pub value: R,
    raw: Vec<u8>,
}

pub(super) fn decode<R: Record>(id: &str, raw: &[u8]) -> Option<R> {
    match serde_json::from_slice(raw) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(ns = R::NS.as_str(), %id, error = %e, "unreadable record read as absent");
            None
        }
    }
}

/// Typed access to any [`EphemeralStore`].
#[async_trait]
pub trait Records {
    async fn put_record<R: Record>(
        &self,
        id: &str,
        value: &R,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Stores only if no live record has that id. True if stored.
    async fn put_new_record<R: Record>(
        &self,
        id: &str,
        value: &R,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Stores a record of a fixed lifetime, from `now`.
    async fn put_fixed<R: FixedLifetime>(
        &self,
        id: &str,
        value: &R,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.put_record(id, value, now + R::TTL, now).await
    }

    async fn get_record<R: Record>(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<R>, StoreError>;

    /// Reads and deletes atomically: of many concurrent takes, one wins.
    async fn take_record<R: Record>(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<R>, StoreError>;

    /// Reads a record for a later [`swap_record`](Self::swap_record).
    async fn get_versioned<R: Record>(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Versioned<R>>, StoreError>;

    /// Replaces `prior` by `next`, only if the record is still `prior`
    /// (not changed, deleted or expired meanwhile). True if replaced.
    async fn swap_record<R: Record>(
        &self,
        id: &str,
        prior: &Versioned<R>,
        next: &R,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
impl<S: EphemeralStore + ?Sized> Records for S {
    async fn put_record<R: Record>(
        &self,
        id: &str,
        value: &R,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_vec(value)?;
        self.put(R::NS, id, &json, expires_at, now).await
    }

    async fn put_new_record<R: Record>(
        &self,
        id: &str,
        value: &R,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_vec(value)?;
        self.put_new(R::NS, id, &json, expires_at, now).await
    }

    async fn get_record<R: Record>(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<R>, StoreError> {
        Ok(self
            .get(R::NS, id, now)
            .await?
            .and_then(|raw| decode(id, &raw)))
    }

    async fn take_record<R: Record>(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<R>, StoreError> {
        Ok(self
            .take(R::NS, id, now)
            .await?
            .and_then(|raw| decode(id, &raw)))
    }

    async fn get_versioned<R: Record>(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Versioned<R>>, StoreError> {
        Ok(self
            .get(R::NS, id, now)
            .await?
            .and_then(|raw| decode(id, &raw).map(|value| Versioned { value, raw })))
    }

    async fn swap_record<R: Record>(
        &self,
        id: &str,
        prior: &Versioned<R>,
        next: &R,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_vec(next)?;
        self.compare_and_swap(R::NS, id, &prior.raw, &json, expires_at, now)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::authz::SpentRefresh;
    use crate::store::embedded::EmbeddedStore;

    fn spent(family: &str) -> SpentRefresh {
        SpentRefresh {
            family: family.into(),
            family_expires_at: OffsetDateTime::UNIX_EPOCH + Duration::days(1),
        }
    }

    #[tokio::test]
    async fn records_round_trip_and_unreadable_ones_read_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("db")).unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        let later = now + Duration::minutes(1);
        store
            .put_record("a", &spent("f1"), later, now)
            .await
            .unwrap();
        let got: SpentRefresh = store.get_record("a", now).await.unwrap().unwrap();
        assert_eq!(got.family, "f1");
        // Another kind's bytes under the same namespace do not decode.
        store
            .put(Ns::SpentRefresh, "b", b"{\"not\":1}", later, now)
            .await
            .unwrap();
        assert!(
            store
                .get_record::<SpentRefresh>("b", now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .take_record::<SpentRefresh>("b", now)
                .await
                .unwrap()
                .is_none()
        );
        // Taken once; expired records are gone.
        assert!(
            store
                .take_record::<SpentRefresh>("a", now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .take_record::<SpentRefresh>("a", now)
                .await
                .unwrap()
                .is_none()
        );
        store
            .put_record("c", &spent("f2"), later, now)
            .await
            .unwrap();
        assert!(
            store
                .get_record::<SpentRefresh>("c", later)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_swap_from_a_stale_read_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("db")).unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        let later = now + Duration::minutes(1);
        store
            .put_record("k", &spent("v1"), later, now)
            .await
            .unwrap();
        let first = store
            .get_versioned::<SpentRefresh>("k", now)
            .await
            .unwrap()
            .unwrap();
        let second = store
            .get_versioned::<SpentRefresh>("k", now)
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .swap_record("k", &first, &spent("v2"), later, now)
                .await
                .unwrap()
        );
        assert!(
            !store
                .swap_record("k", &second, &spent("v3"), later, now)
                .await
                .unwrap()
        );
        let now_stored: SpentRefresh = store.get_record("k", now).await.unwrap().unwrap();
        assert_eq!(now_stored.family, "v2");
        // A put_new does not replace a live record.
        assert!(
            !store
                .put_new_record("k", &spent("v4"), later, now)
                .await
                .unwrap()
        );
    }
}
