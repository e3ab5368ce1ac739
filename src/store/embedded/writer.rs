//! The one writer of the embedded store: a thread that owns every write
//! transaction and groups concurrent writes.
//!
//! Callers queue jobs and await their answer. The thread takes every job
//! waiting, applies the short-lived ones in one non-durable transaction and
//! the durable ones in one durable transaction (one fsync for all of them),
//! then answers each caller. Jobs waiting together were issued concurrently,
//! so applying them in either order is correct.
//!
//! A job's failure must not affect the others: when one fails, the batch is
//! rolled back and every job of it runs again in a transaction of its own
//! (jobs are re-runnable closures over owned data), so the failing one
//! writes nothing and the others commit as if alone.
//!
//! A non-durable commit becomes durable with the next durable commit; the
//! thread makes one itself when short-lived writes have waited
//! [`FLUSH_AFTER`] without one, and closing the database (when the last
//! handle is dropped) makes them durable too. A crash loses at most the
//! short-lived writes of that last interval.

use redb::{Database, Durability, WriteTransaction};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

use crate::store::StoreError;

/// Longest time a non-durable commit waits to become durable.
const FLUSH_AFTER: Duration = Duration::from_secs(1);
/// Most jobs in one transaction (bounds a batch's latency and its rerun).
const MAX_BATCH: usize = 256;

/// How a write must reach the disk before its caller is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Commit {
    /// fsync'd before the answer.
    Durable,
    /// Visible at once; durable with the next durable commit (at most
    /// [`FLUSH_AFTER`] later, or at close).
    Lazy,
}

/// A queued write: runs in a transaction, remembers its outcome, answers.
trait Job: Send {
    fn commit(&self) -> Commit;
    /// Applies the write in `tx`; false if it failed (the transaction must
    /// then be discarded: the job may have written part of its change).
    fn run(&mut self, tx: &WriteTransaction) -> bool;
    /// Answers the caller: its outcome, or `failed` when the commit failed.
    fn answer(self: Box<Self>, failed: Option<&StoreError>);
}

struct Pending<T, F> {
    f: F,
    commit: Commit,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnMut(&WriteTransaction) -> Result<T, StoreError> + Send,
{
    fn commit(&self) -> Commit {
        self.commit
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
    pub(super) fn start(db: Arc<Database>) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("onramp-store-writer".into())
            .spawn(move || run(&db, &jobs))
            .map_err(|e| StoreError::Backend(format!("cannot start the store writer: {e}")))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Runs `f` in a write transaction, committed only if `f` succeeds.
    /// `f` may run more than once (after another job's failure), each time
    /// in a fresh transaction.
    pub(super) async fn write<T, F>(&self, commit: Commit, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            f,
            commit,
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
fn run(db: &Database, jobs: &Receiver<Box<dyn Job>>) {
    // Since when non-durable commits wait for a durable one.
    let mut lazy_since: Option<Instant> = None;
    loop {
        let next = match lazy_since {
            Some(t) => jobs.recv_timeout(FLUSH_AFTER.saturating_sub(t.elapsed())),
            None => jobs.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let first = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                flush(db);
                lazy_since = None;
                continue;
            }
            // Closing the database makes the pending commits durable.
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH
            && let Ok(job) = jobs.try_recv()
        {
            batch.push(job);
        }
        let (durable, lazy): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|j| j.commit() == Commit::Durable);
        if !lazy.is_empty() {
            apply_batch(db, lazy, Commit::Lazy);
            lazy_since.get_or_insert_with(Instant::now);
        }
        if !durable.is_empty() {
            apply_batch(db, durable, Commit::Durable);
            lazy_since = None;
        }
        if lazy_since.is_some_and(|t| t.elapsed() >= FLUSH_AFTER) {
            flush(db);
            lazy_since = None;
        }
    }
}

/// An empty durable commit: makes the non-durable ones before it durable.
fn flush(db: &Database) {
    let result = db
        .begin_write()
        .map_err(StoreError::from)
        .and_then(|tx| tx.commit().map_err(StoreError::from));
    if let Err(e) = result {
        tracing::warn!(error = %e, "making short-lived records durable failed");
    }
}

/// Applies the jobs in one transaction; if one fails, each alone.
fn apply_batch(db: &Database, mut jobs: Vec<Box<dyn Job>>, commit: Commit) {
    if jobs.len() > 1 {
        match in_one_transaction(db, &mut jobs, commit) {
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
        let failed = in_one_transaction(db, std::slice::from_mut(&mut job), commit).err();
        job.answer(failed.as_ref());
    }
}

/// Runs `jobs` in one transaction and commits if all succeed. Ok(false):
/// one failed and nothing was committed.
fn in_one_transaction(
    db: &Database,
    jobs: &mut [Box<dyn Job>],
    commit: Commit,
) -> Result<bool, StoreError> {
    let mut tx = db.begin_write()?;
    if commit == Commit::Lazy {
        tx.set_durability(Durability::None)?;
    }
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
        let writer = Writer::start(db.clone()).unwrap();
        (db, writer)
    }

    fn read(db: &Database, key: &str) -> Option<u64> {
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(T).ok()?;
        t.get(key).unwrap().map(|v| v.value())
    }

    /// Inserts `key` unless present (then a conflict, written before it is
    /// detected: the rollback must undo it).
    fn insert_new(
        key: &'static str,
        commit: Commit,
        writer: &Writer,
    ) -> impl Future<Output = Result<(), StoreError>> {
        writer.write(commit, move |tx| {
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
        insert_new("taken", Commit::Durable, &writer).await.unwrap();
        let writer = Arc::new(writer);
        let mut tasks = Vec::new();
        for i in 0..64u64 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move {
                let key: &'static str = Box::leak(format!("k{i}").into_boxed_str());
                let commit = if i % 2 == 0 {
                    Commit::Durable
                } else {
                    Commit::Lazy
                };
                // Every eighth job collides with the existing key.
                let key = if i % 8 == 0 { "taken" } else { key };
                (key, insert_new(key, commit, &w).await)
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

    #[tokio::test]
    async fn lazy_writes_survive_closing_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (db, writer) = open(&path);
        insert_new("lazy", Commit::Lazy, &writer).await.unwrap();
        assert_eq!(read(&db, "lazy"), Some(1));
        drop(db);
        // Waits for the thread, which closes the database.
        drop(writer);
        let db = Database::create(&path).unwrap();
        assert_eq!(read(&db, "lazy"), Some(1));
    }
}
