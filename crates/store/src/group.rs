//! Group commit for SQLite: many write transactions, one fsync.
//!
//! SQLite has one writer and, with `synchronous=FULL`, one fsync per commit: a few hundred
//! commits a second on a virtual disk, however fast the statements are. Here every write
//! transaction becomes a savepoint inside a shared transaction on the one writer
//! connection. Writers take turns on the connection (as before); when one is done it
//! releases its savepoint and waits, and a committer task commits everything released so
//! far with one fsync and then answers all of them. A writer that fails or is dropped
//! rolls back to its savepoint, leaving the others' work alone. Nobody hears "done" before
//! the fsync that makes their work durable; if that commit fails, everyone in it hears so.

use std::collections::VecDeque;
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection};
use tokio::sync::{watch, Mutex, Notify, OwnedMutexGuard};

use crate::error::StoreError;

/// The name of a member's savepoint. One name for all: members take turns, so at most
/// one is open, and constant statement texts stay in the connection's statement cache.
const MEMBER: &str = "member";
const MEMBER_SAVEPOINT: &str = "SAVEPOINT member";
const MEMBER_RELEASE: &str = "RELEASE member";

/// The writer connection and the shared transaction's state.
pub(crate) struct Batch {
    conn: Option<PoolConnection<Sqlite>>,
    /// A transaction is open (BEGIN issued, not yet committed).
    open: bool,
    /// Number of the open (or last) transaction.
    epoch: u64,
    /// Savepoints released into the open transaction.
    members: usize,
    /// A member left without committing: its savepoint to roll back before anything else.
    abandoned: bool,
}

/// What the committer tells the waiting writers.
#[derive(Clone, Default)]
struct Outcome {
    /// Every transaction up to this one has been committed or has failed.
    done: u64,
    /// Recent transactions whose commit failed, with the error.
    failed: VecDeque<(u64, String)>,
}

/// A thread of its own for the writers: a single-threaded runtime whose only tasks are
/// write transactions and the committer. Ends when the last [`Group`] goes.
struct WriterThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl WriterThread {
    fn start() -> WriterThread {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("weibao-writer".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the writer's runtime");
                tx.send(rt.handle().clone()).expect("the writer's handle");
                rt.block_on(async {
                    let _ = stopped.await;
                });
            })
            .expect("the writer thread");
        let handle = rx.recv().expect("the writer's handle");
        WriterThread {
            handle,
            stop: Some(stop),
        }
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Clone)]
pub(crate) struct Group {
    writer: Arc<WriterThread>,
    /// Transactions committed, and commits (fsyncs) that carried them.
    pub(crate) stats: Arc<(std::sync::atomic::AtomicU64, std::sync::atomic::AtomicU64)>,
    batch: Arc<Mutex<Batch>>,
    outcome: watch::Sender<Outcome>,
    wake: Arc<Notify>,
}

impl Group {
    /// Takes the writer connection for good and starts the committer.
    pub(crate) fn start(conn: PoolConnection<Sqlite>) -> Group {
        let group = Group {
            writer: Arc::new(WriterThread::start()),
            stats: Arc::default(),
            batch: Arc::new(Mutex::new(Batch {
                conn: Some(conn),
                open: false,
                epoch: 0,
                members: 0,
                abandoned: false,
            })),
            outcome: watch::Sender::new(Outcome::default()),
            wake: Arc::new(Notify::new()),
        };
        let committer = group.clone();
        group.writer.handle.spawn(async move {
            loop {
                committer.wake.notified().await;
                // Writers queued before us join this commit; later ones wait for the next.
                let mut b = committer.batch.lock().await;
                if b.conn.is_none() {
                    break;
                }
                committer.commit_open(&mut b).await;
            }
        });
        group
    }

    /// Runs `work` on the writer's thread and answers what it answers.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.writer
            .handle
            .spawn(work)
            .await
            .map_err(|_| StoreError::Config("数据库已关闭".into()))?
    }

    /// Begins a member transaction: the writer connection, inside the shared transaction,
    /// under a savepoint of its own.
    pub(crate) async fn begin(&self) -> Result<GroupTx, StoreError> {
        let mut tx = self.begin_deferred().await?;
        let opening = tx.take_opening().expect("a new member's savepoint");
        let b = tx.guard.as_mut().expect("an unfinished transaction");
        exec(b, opening).await?;
        Ok(tx)
    }

    /// [`Self::begin`] without sending the savepoint: the caller sends
    /// [`GroupTx::take_opening`] in front of its first statements, in the same round trip.
    pub(crate) async fn begin_deferred(&self) -> Result<GroupTx, StoreError> {
        let mut b = self.batch.clone().lock_owned().await;
        if b.conn.is_none() {
            return Err(StoreError::Config("数据库已关闭".into()));
        }
        undo_abandoned(&mut b).await?;
        if !b.open {
            exec(&mut b, "BEGIN IMMEDIATE").await?;
            b.open = true;
            b.epoch += 1;
            b.members = 0;
        }
        Ok(GroupTx {
            guard: Some(b),
            opening: Some(MEMBER_SAVEPOINT),
            group: self.clone(),
        })
    }

    /// Commits what is open now (for callers that need the connection outside a
    /// transaction) and hands the connection over while the guard is held.
    pub(crate) async fn exclusive(&self) -> Result<OwnedMutexGuard<Batch>, StoreError> {
        let mut b = self.batch.clone().lock_owned().await;
        self.commit_open(&mut b).await;
        if b.conn.is_none() {
            return Err(StoreError::Config("数据库已关闭".into()));
        }
        Ok(b)
    }

    /// Commits what is open and gives the connection back to its pool (shutdown).
    pub(crate) async fn close(&self) {
        let mut b = self.batch.lock().await;
        self.commit_open(&mut b).await;
        b.conn = None;
        self.wake.notify_one();
    }

    async fn commit_open(&self, b: &mut Batch) {
        if b.conn.is_none() || !b.open {
            return;
        }
        let result = match undo_abandoned(b).await {
            Ok(()) => exec(b, "COMMIT").await,
            Err(e) => Err(e),
        };
        let result = match result {
            Ok(()) => Ok(()),
            Err(e) => {
                // Whatever is left of the transaction goes; its members hear the error.
                let _ = exec(b, "ROLLBACK").await;
                Err(e.to_string())
            }
        };
        b.open = false;
        if result.is_ok() && b.members > 0 {
            use std::sync::atomic::Ordering::Relaxed;
            self.stats.0.fetch_add(b.members as u64, Relaxed);
            self.stats.1.fetch_add(1, Relaxed);
        }
        let epoch = b.epoch;
        self.outcome.send_modify(|o| {
            o.done = epoch;
            if let Err(e) = result {
                o.failed.push_back((epoch, e));
                while o.failed.len() > 64 {
                    o.failed.pop_front();
                }
            }
        });
    }
}

impl Batch {
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("open connection")
    }
}

fn exec<'a>(
    b: &'a mut Batch,
    sql: &'a str,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>> {
    // Boxed: the committer task must be Send, which the executor's future alone is not
    // proven to be.
    Box::pin(async move {
        use sqlx::Executor;
        b.conn().execute(sql).await?;
        Ok(())
    })
}

async fn undo_abandoned(b: &mut Batch) -> Result<(), StoreError> {
    if std::mem::take(&mut b.abandoned) {
        exec(b, &format!("ROLLBACK TO {MEMBER}; RELEASE {MEMBER}")).await?;
    }
    Ok(())
}

/// One writer's transaction within the group.
pub(crate) struct GroupTx {
    guard: Option<OwnedMutexGuard<Batch>>,
    /// The savepoint statement not yet sent (deferred begin).
    opening: Option<&'static str>,
    group: Group,
}

impl GroupTx {
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        debug_assert!(
            self.opening.is_none(),
            "the savepoint of a deferred begin is unsent"
        );
        self.guard
            .as_mut()
            .expect("an unfinished transaction")
            .conn()
    }

    /// The savepoint statement of a deferred begin, to send in front of the first
    /// statements (once: later calls answer None). If that round trip fails, dropping the
    /// transaction rolls back to the savepoint as usual.
    pub(crate) fn take_opening(&mut self) -> Option<&'static str> {
        self.opening.take()
    }

    /// The statement that releases this member's savepoint, for a caller that sends it
    /// behind its last statements and then calls [`Self::commit_released`].
    pub(crate) fn closing(&self) -> &'static str {
        MEMBER_RELEASE
    }

    /// Releases the savepoint into the shared transaction and waits until a commit has
    /// made it durable.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let b = self.guard.as_mut().expect("an unfinished transaction");
        // On failure it is dropped unreleased: the next user rolls the savepoint back.
        exec(b, MEMBER_RELEASE).await?;
        self.commit_released().await
    }

    /// Waits until a commit has made this member durable, its savepoint having been
    /// released by the caller's own last round trip ([`Self::closing`]).
    pub(crate) async fn commit_released(mut self) -> Result<(), StoreError> {
        debug_assert!(self.opening.is_none(), "a member that never began");
        let mut b = self.guard.take().expect("an unfinished transaction");
        b.members += 1;
        let epoch = b.epoch;
        drop(b);
        self.group.wake.notify_one();
        let mut rx = self.group.outcome.subscribe();
        let outcome = rx
            .wait_for(|o| o.done >= epoch)
            .await
            .map_err(|_| StoreError::Config("数据库已关闭".into()))?
            .clone();
        match outcome.failed.iter().find(|(e, _)| *e == epoch) {
            Some((_, e)) => Err(StoreError::Db(sqlx::Error::Protocol(format!(
                "group commit failed: {e}"
            )))),
            None => Ok(()),
        }
    }
}

impl Drop for GroupTx {
    fn drop(&mut self) {
        // Not committed: the next user of the connection rolls this savepoint back first
        // (unless it was never sent).
        if let Some(mut b) = self.guard.take().filter(|_| self.opening.is_none()) {
            b.abandoned = true;
            drop(b);
            self.group.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::on;
    use crate::testing::TestDb;

    async fn put(tx: &mut crate::db::Tx, key: &str) -> Result<u64, sqlx::Error> {
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO settings (key, region_code, effective_from, value, updated_at, updated_by)
             VALUES ($1, '', '2020-01-01', '1', 0, 'test')"
        )
        .bind(key)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))
    }

    /// The keys the tests wrote and committed.
    async fn test_keys(s: &crate::Store) -> Vec<String> {
        let mut conn = s.read().await.unwrap();
        let keys: Vec<(String,)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT key FROM settings WHERE updated_by = 'test' ORDER BY key"
        )
        .fetch_all(&mut *c)
        .await)
        .unwrap();
        keys.into_iter().map(|(k,)| k).collect()
    }

    #[tokio::test]
    async fn a_member_dropped_or_failed_midway_leaves_nothing_and_the_others_commit() {
        let db = TestDb::sqlite().await;
        let s = &db.store;
        // Dropped after a write.
        {
            let mut tx = s.begin().await.unwrap();
            put(&mut tx, "dropped").await.unwrap();
        }
        let mut tx = s.begin().await.unwrap();
        put(&mut tx, "kept").await.unwrap();
        tx.commit().await.unwrap();
        // Failed after a write: the second insert hits the primary key.
        let mut tx = s.begin().await.unwrap();
        put(&mut tx, "failed").await.unwrap();
        assert!(put(&mut tx, "kept").await.is_err());
        drop(tx);
        let mut tx = s.begin().await.unwrap();
        put(&mut tx, "last").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(test_keys(s).await, ["kept", "last"]);
    }

    #[tokio::test]
    async fn a_deferred_member_dropped_before_its_first_statement_leaves_the_group_working() {
        let db = TestDb::sqlite().await;
        let s = &db.store;
        // Begun, never sent (its savepoint does not exist), dropped.
        drop(s.begin_deferred().await.unwrap());
        // Begun deferred, its savepoint sent with its first statement, then dropped: undone.
        let mut tx = s.begin_deferred().await.unwrap();
        let opening = tx.take_opening().expect("SQLite defers the savepoint");
        {
            use sqlx::Executor;
            let crate::db::Conn::Sqlite(c) = tx.conn() else {
                unreachable!()
            };
            c.execute(opening).await.unwrap();
        }
        put(&mut tx, "undone").await.unwrap();
        drop(tx);
        let mut tx = s.begin().await.unwrap();
        put(&mut tx, "kept").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(test_keys(s).await, ["kept"]);
    }
}
