//! The one writer of the embedded store: a thread that owns every write
//! transaction and groups concurrent writes.
//!
//! Callers queue jobs and await their answer. The thread takes every job
//! waiting, applies them in one durable transaction (one fsync for all of
//! them), then answers each caller. Jobs waiting together were issued
//! concurrently, so applying them in queue order is as good as any.
//!
//! A job's failure must not affect the others: when one fails, the batch is
//! rolled back and every job of it runs again in a transaction of its own
//! (jobs are re-runnable closures over owned data), so the failing one
//! writes nothing and the others commit as if alone.
//!
//! When writes come less than [`LINGER`] apart on average, one that comes
//! alone waits up to that long for another.
//!
//! The thread also writes the in-memory records' changes ([`Memo`]) behind,
//! in a durable commit of their own, once they have waited [`FLUSH_AFTER`],
//! and before it stops.

use redb::{Database, WriteTransaction};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

use super::memo::Memo;
use crate::store::StoreError;

/// Longest time a change to the in-memory records waits to be written.
const FLUSH_AFTER: Duration = Duration::from_secs(1);
/// Most jobs in one transaction (bounds a batch's latency and its rerun).
const MAX_BATCH: usize = 256;
/// When writes are queued less than this apart on average, a write that
/// comes alone waits this long for company: two writes, one fsync. Writes
/// further apart (one sign-in at a time) never wait.
const LINGER: Duration = Duration::from_millis(1);

/// A queued write: runs in a transaction, remembers its outcome, answers.
trait Job: Send {
    /// When the caller queued it.
    fn queued(&self) -> Instant;
    /// Applies the write in `tx`; false if it failed (the transaction must
    /// then be discarded: the job may have written part of its change).
    fn run(&mut self, tx: &WriteTransaction) -> bool;
    /// Answers the caller: its outcome, or `failed` when the commit failed.
    fn answer(self: Box<Self>, failed: Option<&StoreError>);
}

struct Pending<T, F> {
    f: F,
    queued: Instant,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnMut(&WriteTransaction) -> Result<T, StoreError> + Send,
{
    fn queued(&self) -> Instant {
        self.queued
    }

    fn run(&mut self, tx: &WriteTransaction) -> bool {
        let outcome = (self.f)(tx);
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(self: Box<Self>, failed: Option<&StoreError>) {
        let outcome = match (failed, self.outcome) {
            // A failed job's own error explains more than the rollback.
            (_, Some(Err(e))) => Err(e),
            (Some(e), _) => Err(StoreError::Backend(e.to_string())),
            (None, Some(ok)) => ok,
            (None, None) => Err(StoreError::Backend("the write did not run".into())),
        };
        // The caller may have gone (request cancelled): nothing to tell.
        let _ = self.reply.send(outcome);
    }
}

/// The handle: queues jobs; dropping it lets the thread finish the queue,
/// and waits for it, so that the database is closed (and made durable)
/// before the drop returns.
pub(super) struct Writer {
    queue: Option<Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(super) fn start(db: Arc<Database>, memo: Arc<Memo>) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("onramp-store-writer".into())
            .spawn(move || run(&db, &jobs, &memo))
            .map_err(|e| StoreError::Backend(format!("cannot start the store writer: {e}")))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Runs `f` in a write transaction, committed only if `f` succeeds.
    /// `f` may run more than once (after another job's failure), each time
    /// in a fresh transaction.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            f,
            queued: Instant::now(),
            outcome: None,
            reply,
        });
        self.queue
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            // A panicked writer has nothing left to flush.
            let _ = thread.join();
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the store writer has stopped".into())
}

/// The writer thread: batches until every handle is gone.
fn run(db: &Database, jobs: &Receiver<Box<dyn Job>>, memo: &Memo) {
    let mut pace = Pace::default();
    loop {
        let wait = memo
            .dirty_since()
            .map_or(FLUSH_AFTER, |t| FLUSH_AFTER.saturating_sub(t.elapsed()));
        match jobs.recv_timeout(wait) {
            Ok(first) => {
                let mut batch = vec![first];
                drain(jobs, &mut batch);
                if batch.len() == 1
                    && pace.busy()
                    && let Ok(job) = jobs.recv_timeout(LINGER)
                {
                    batch.push(job);
                    drain(jobs, &mut batch);
                }
                batch.iter().for_each(|j| pace.arrived(j.queued()));
                apply_batch(db, batch);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                write_behind(db, memo);
                return;
            }
        }
        if memo
            .dirty_since()
            .is_some_and(|t| t.elapsed() >= FLUSH_AFTER)
        {
            write_behind(db, memo);
        }
    }
}

/// The average time between queued writes (a moving average, each gap
/// counted up to a second).
#[derive(Default)]
struct Pace {
    last: Option<Instant>,
    gap: Duration,
}

impl Pace {
    fn arrived(&mut self, at: Instant) {
        let most = Duration::from_secs(1);
        let gap = self
            .last
            .map_or(most, |last| at.saturating_duration_since(last).min(most));
        self.gap = (self.gap * 7 + gap) / 8;
        self.last = Some(at);
    }

    /// Whether another write is likely within [`LINGER`].
    fn busy(&self) -> bool {
        self.last.is_some() && self.gap < LINGER
    }
}

/// Adds the jobs waiting to `batch`.
fn drain(jobs: &Receiver<Box<dyn Job>>, batch: &mut Vec<Box<dyn Job>>) {
    while batch.len() < MAX_BATCH
        && let Ok(job) = jobs.try_recv()
    {
        batch.push(job);
    }
}

/// Writes the in-memory records' changes in one durable commit.
fn write_behind(db: &Database, memo: &Memo) {
    let changes = memo.take_changes();
    if changes.is_empty() {
        return;
    }
    let result = db.begin_write().map_err(StoreError::from).and_then(|tx| {
        Memo::persist(&tx, &changes)?;
        tx.commit().map_err(StoreError::from)
    });
    if let Err(e) = result {
        tracing::warn!(error = %e, "writing short-lived records to the store failed; will retry");
        memo.restore(changes);
    }
}

/// Applies the jobs in one transaction; if one fails, each alone.
fn apply_batch(db: &Database, mut jobs: Vec<Box<dyn Job>>) {
    if jobs.len() > 1 {
        match in_one_transaction(db, &mut jobs) {
            Ok(true) => {
                jobs.into_iter().for_each(|j| j.answer(None));
                return;
            }
            // Someone's failure, rolled back: each job on its own now.
            Ok(false) => {}
            Err(e) => {
                jobs.into_iter().for_each(|j| j.answer(Some(&e)));
                return;
            }
        }
    }
    for mut job in jobs {
        let failed = in_one_transaction(db, std::slice::from_mut(&mut job)).err();
        job.answer(failed.as_ref());
    }
}

/// Runs `jobs` in one transaction and commits if all succeed. Ok(false):
/// one failed and nothing was committed.
fn in_one_transaction(db: &Database, jobs: &mut [Box<dyn Job>]) -> Result<bool, StoreError> {
    let tx = db.begin_write()?;
    if jobs.iter_mut().all(|j| j.run(&tx)) {
        tx.commit()?;
        Ok(true)
    } else {
        tx.abort()?;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};

    const T: TableDefinition<&str, u64> = TableDefinition::new("t");

    fn open(path: &std::path::Path) -> (Arc<Database>, Writer) {
        let db = Arc::new(Database::create(path).unwrap());
        let writer = Writer::start(db.clone(), Arc::default()).unwrap();
        (db, writer)
    }

    fn read(db: &Database, key: &str) -> Option<u64> {
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(T).ok()?;
        t.get(key).unwrap().map(|v| v.value())
    }

    /// Inserts `key` unless present; a conflict is detected after a write
    /// (which the rollback must undo).
    fn insert_new(
        key: &'static str,
        writer: &Writer,
    ) -> impl Future<Output = Result<(), StoreError>> {
        writer.write(move |tx| {
            let mut t = tx.open_table(T)?;
            if t.get(key)?.is_some() {
                t.insert("partial", 1)?;
                return Err(StoreError::Conflict(key.into()));
            }
            t.insert(key, 1)?;
            Ok(())
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writes_commit_each_and_a_failure_affects_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let (db, writer) = open(&dir.path().join("db"));
        insert_new("taken", &writer).await.unwrap();
        let writer = Arc::new(writer);
        let mut tasks = Vec::new();
        for i in 0..64u64 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move {
                // Every eighth job collides with the existing key.
                let key: &'static str = if i % 8 == 0 {
                    "taken"
                } else {
                    Box::leak(format!("k{i}").into_boxed_str())
                };
                (key, insert_new(key, &w).await)
            }));
        }
        for t in tasks {
            let (key, result) = t.await.unwrap();
            if key == "taken" {
                assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
            } else {
                result.unwrap();
                assert_eq!(read(&db, key), Some(1), "{key}");
            }
        }
        assert_eq!(
            read(&db, "partial"),
            None,
            "a failed job's writes are rolled back"
        );
    }

    #[test]
    fn only_writes_close_together_wait_for_company() {
        let start = Instant::now();
        let mut pace = Pace::default();
        assert!(!pace.busy());
        // One sign-in at a time: writes 2 ms apart.
        for i in 0..100 {
            pace.arrived(start + Duration::from_millis(2 * i));
        }
        assert!(!pace.busy());
        // Many at once: 0.2 ms apart.
        for i in 0..100 {
            pace.arrived(start + Duration::from_millis(200) + Duration::from_micros(200 * i));
        }
        assert!(pace.busy());
    }

    #[tokio::test]
    async fn stopping_waits_for_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (db, writer) = open(&path);
        insert_new("k", &writer).await.unwrap();
        drop(db);
        // Waits for the thread, which closes the database.
        drop(writer);
        let db = Database::create(&path).unwrap();
        assert_eq!(read(&db, "k"), Some(1));
    }
}
