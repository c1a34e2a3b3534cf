//! The database handle: SQLite or PostgreSQL chosen by URL, connections and transactions.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::clock::Clock;
use crate::error::StoreError;

/// Which database is underneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone)]
pub(crate) enum Db {
    /// SQLite allows one writer at a time: all writes go through the one writer
    /// connection, so that transactions queue in the application instead of failing with
    /// SQLITE_BUSY, and commit in groups (one fsync for many; see group.rs).
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        group: crate::group::Group,
    },
    Postgres(PgPool),
}

/// The store: a database and a clock. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
    pub(crate) clock: Clock,
    /// Photo bytes (a directory under the data dir by default).
    pub(crate) blobs: std::sync::Arc<dyn crate::blobs::BlobStore>,
    /// The key file, and its keys once [`Store::migrate`] has checked them against the
    /// database (see keys.rs).
    pub(crate) key_file: std::sync::Arc<std::path::PathBuf>,
    pub(crate) keys:
        std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<crate::keys::FieldKeys>>>>,
    /// The working-day calendar, read at most once a minute (work/calendar.rs).
    pub(crate) calendar: std::sync::Arc<crate::work::calendar::CalendarCache>,
    /// Children changed lately, for the modules built on the ledger (changes.rs).
    pub(crate) changed: std::sync::Arc<crate::changes::ChangedChildren>,
}

/// A borrowed connection of either backend; queries are written once and run on both
/// through [`on!`](crate::on).
pub(crate) enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

impl Conn<'_> {
    /// How a multi-row INSERT inside a larger transaction begins. On SQLite `OR FAIL`:
    /// with the default ABORT a statement that writes many rows keeps a statement journal
    /// to undo itself alone, and opening and releasing it costs in proportion to the size
    /// of the database (a tenth of a million-row list's matching); a failure here fails
    /// the whole transaction anyway, which is then rolled back.
    pub(crate) fn bulk_insert(&self) -> &'static str {
        match self {
            Conn::Sqlite(_) => "INSERT OR FAIL INTO",
            Conn::Pg(_) => "INSERT INTO",
        }
    }

    /// The same connection, borrowed again for one more statement.
    pub(crate) fn re(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Pg(c) => Conn::Pg(c),
        }
    }
}

/// Runs the same query text on whichever backend a [`Conn`] holds. The body is expanded
/// once per backend, so binds and row types are checked for both.
#[macro_export]
#[doc(hidden)]
macro_rules! on {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Pg($c) => $body,
        }
    };
}

/// A write transaction. Dropping it without [`Tx::commit`] rolls back.
pub(crate) enum Tx {
    Sqlite(crate::group::GroupTx),
    Pg(Transaction<'static, Postgres>),
}

impl Tx {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => Conn::Sqlite(t.conn()),
            Tx::Pg(t) => Conn::Pg(t),
        }
    }

    /// Commits; on return the transaction is durable.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Pg(t) => t.commit().await?,
        }
        Ok(())
    }

    /// After [`Store::begin_deferred`] on SQLite: the statement that opens this
    /// transaction, which the caller sends in front of its first statements (None on
    /// PostgreSQL, and once sent).
    pub(crate) fn take_opening(&mut self) -> Option<&'static str> {
        match self {
            Tx::Sqlite(t) => t.take_opening(),
            Tx::Pg(_) => None,
        }
    }

    /// SQLite: the statement that releases this transaction's savepoint, for
    /// [`Self::commit_released`] (None on PostgreSQL).
    pub(crate) fn closing(&self) -> Option<&'static str> {
        match self {
            Tx::Sqlite(t) => Some(t.closing()),
            Tx::Pg(_) => None,
        }
    }

    /// Commits, the caller having sent [`Self::closing`] behind its last statements:
    /// SQLite then only waits for the group commit.
    pub(crate) async fn commit_released(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit_released().await,
            Tx::Pg(t) => Ok(t.commit().await?),
        }
    }
}

/// A pooled connection for reads outside a transaction.
pub(crate) enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Pg(PoolConnection<Postgres>),
}

impl Pooled {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(c) => Conn::Sqlite(c),
            Pooled::Pg(c) => Conn::Pg(c),
        }
    }
}

impl Store {
    /// Opens `database`: a `postgres://` / `postgresql://` URL, a `sqlite://` URL, or empty
    /// for `<data_dir>/weibao.db`. Creates the SQLite file and data dir when missing. The
    /// field keys come from `WEIBAO_KEY_FILE` or `<data_dir>/weibao.keys`.
    pub async fn open(database: Option<&str>, data_dir: &Path) -> Result<Store, StoreError> {
        let env = std::env::var_os("WEIBAO_KEY_FILE").filter(|v| !v.is_empty());
        Store::open_with_keys(database, data_dir, env.as_deref().map(Path::new)).await
    }

    /// [`Store::open`] with the key file given (None: `<data_dir>/weibao.keys`).
    pub async fn open_with_keys(
        database: Option<&str>,
        data_dir: &Path,
        key_file: Option<&Path>,
    ) -> Result<Store, StoreError> {
        let url = match database {
            Some(u) if !u.trim().is_empty() => u.trim().to_string(),
            _ => {
                std::fs::create_dir_all(data_dir).map_err(|e| {
                    StoreError::Config(format!("无法创建数据目录 {}：{e}", data_dir.display()))
                })?;
                format!("sqlite://{}", data_dir.join("weibao.db").display())
            }
        };
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(&url)
                .map_err(|e| StoreError::Config(format!("PostgreSQL 地址无效：{e}")))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(|e| StoreError::Config(format!("无法连接 PostgreSQL：{e}")))?;
            Db::Postgres(pool)
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            open_sqlite(Path::new(path)).await?
        } else {
            return Err(StoreError::Config(format!(
                "无法识别的数据库地址“{url}”：请使用 postgres://… 或 sqlite://…，或省略以使用数据目录中的 weibao.db"
            )));
        };
        Ok(Store {
            db,
            clock: Clock::default(),
            blobs: std::sync::Arc::new(crate::blobs::LocalDir::new(data_dir.join("photos"))),
            key_file: std::sync::Arc::new(crate::keys::key_path(key_file, data_dir)),
            keys: Default::default(),
            calendar: Default::default(),
            changed: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The clock this store stamps records with; tests move it forward.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match &self.db {
            Db::Sqlite { group, .. } => Tx::Sqlite(group.begin().await?),
            Db::Postgres(p) => Tx::Pg(p.begin().await?),
        })
    }

    /// [`Self::begin`] whose SQLite savepoint travels with the caller's first statements
    /// ([`Tx::take_opening`]): one round trip fewer on the one writer connection.
    pub(crate) async fn begin_deferred(&self) -> Result<Tx, StoreError> {
        Ok(match &self.db {
            Db::Sqlite { group, .. } => Tx::Sqlite(group.begin_deferred().await?),
            Db::Postgres(p) => Tx::Pg(p.begin().await?),
        })
    }

    /// Runs `work` (a write transaction) where writes run best: on SQLite, the writer's
    /// own thread (group.rs), so that the writers taking turns on the one connection hand
    /// it on at once instead of each waiting its turn among the requests being served;
    /// on PostgreSQL, here.
    pub(crate) async fn on_writer<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        match &self.db {
            Db::Sqlite { group, .. } => group.run(work).await,
            Db::Postgres(_) => work.await,
        }
    }

    pub(crate) async fn read(&self) -> Result<Pooled, StoreError> {
        Ok(match &self.db {
            Db::Sqlite { read, .. } => Pooled::Sqlite(read.acquire().await?),
            Db::Postgres(p) => Pooled::Pg(p.acquire().await?),
        })
    }

    /// Checks that the database answers (for /healthz).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.read().await?;
        on!(c.conn(), |c| sqlx::query("SELECT 1")
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Refreshes the query planner's statistics where they are stale (SQLite's
    /// `PRAGMA optimize`; PostgreSQL's autovacuum does this by itself). Without them SQLite
    /// sorts a county's whole ledger for each page instead of walking the list index.
    pub async fn optimize(&self) -> Result<(), StoreError> {
        if let Db::Sqlite { group, .. } = &self.db {
            let mut writer = group.exclusive().await?;
            sqlx::query("PRAGMA optimize=0x10002")
                .execute(writer.conn())
                .await?;
        }
        Ok(())
    }

    /// SQLite: how many write transactions have committed, in how many commits (fsyncs).
    #[doc(hidden)]
    pub fn group_commit_stats(&self) -> Option<(u64, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        match &self.db {
            Db::Sqlite { group, .. } => {
                Some((group.stats.0.load(Relaxed), group.stats.1.load(Relaxed)))
            }
            Db::Postgres(_) => None,
        }
    }

    /// Closes every pooled connection (SQLite then checkpoints its WAL).
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write, group } => {
                group.close().await;
                read.close().await;
                write.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

async fn open_sqlite(path: &Path) -> Result<Db, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Config(format!("无法创建目录 {}：{e}", dir.display())))?;
    }
    // FULL makes each commit durable on power loss, not just on process crash.
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30))
        // 16 MiB of page cache per connection (9 connections).
        .pragma("cache_size", "-16384")
        // PRAGMA optimize samples instead of reading whole tables: seconds at 1M rows
        // become milliseconds, and the plans it leads to are the same.
        .pragma("analysis_limit", "1000")
        .pragma("temp_store", "memory");
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(Duration::from_secs(60))
        // The one writer keeps more pages: a bulk import then spills less of its open
        // transaction to the WAL and reads less of it back.
        .connect_with(opts.clone().pragma("cache_size", "-131072"))
        .await
        .map_err(|e| {
            StoreError::Config(format!("无法打开 SQLite 数据库 {}：{e}", path.display()))
        })?;
    let read = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        // No ping before each use: the connection is in this process and cannot go stale,
        // and each ping is a round trip to its thread (a second one for every read).
        .test_before_acquire(false)
        .connect_with(opts)
        .await
        .map_err(|e| {
            StoreError::Config(format!("无法打开 SQLite 数据库 {}：{e}", path.display()))
        })?;
    let writer = write.acquire().await?;
    let group = crate::group::Group::start(writer);
    Ok(Db::Sqlite { read, write, group })
}
