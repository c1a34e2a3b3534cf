//! Fresh databases for tests (this crate's and the web/binary suites): a temporary SQLite
//! file, and a new database on the PostgreSQL server named by `WEIBAO_TEST_PG_URL`.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::db::Store;

/// A store on a fresh, migrated database; the database is dropped with it.
pub struct TestDb {
    pub store: Store,
    /// The URL the store was opened with (for a second process, e.g. the CLI).
    pub url: String,
    pub label: &'static str,
    dir: Option<PathBuf>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn require_all() -> bool {
    std::env::var("WEIBAO_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// The PostgreSQL server for tests; None (test skipped with a note) unless required.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("WEIBAO_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                !require_all(),
                "WEIBAO_TEST_PG_URL is not set but WEIBAO_TEST_REQUIRE_ALL=1: run scripts/test"
            );
            eprintln!("note: WEIBAO_TEST_PG_URL not set, PostgreSQL half of this test skipped");
            None
        }
    }
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("weibao-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("weibao.db");
        let url = format!("sqlite://{}", path.display());
        let store = Store::open(Some(&url), &dir).await.expect("open sqlite");
        store.migrate().await.expect("migrate sqlite");
        TestDb {
            store,
            url,
            label: "sqlite",
            dir: Some(dir),
        }
    }

    /// A new database on the test server, or None when there is none.
    pub async fn postgres() -> Option<TestDb> {
        let admin = pg_admin_url()?;
        let name = format!("weibao_t_{}", uuid::Uuid::new_v4().simple());
        let opts = PgConnectOptions::from_str(&admin).expect("WEIBAO_TEST_PG_URL parses");
        let mut conn = opts
            .connect()
            .await
            .expect("connect to the test PostgreSQL server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let url = opts.database(&name).to_url_lossy().to_string();
        let dir = std::env::temp_dir().join(format!("weibao-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let store = Store::open(Some(&url), &dir).await.expect("open postgres");
        store.migrate().await.expect("migrate postgres");
        Some(TestDb {
            store,
            url,
            label: "postgres",
            dir: Some(dir),
        })
    }

    /// SQLite always, PostgreSQL when a test server is configured.
    pub async fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite().await];
        if let Some(pg) = TestDb::postgres().await {
            dbs.push(pg);
        }
        dbs
    }

    /// Runs raw SQL on the test database outside the store: for tests that play an
    /// attacker with database access (tampering with the audit log).
    pub async fn raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            let mut c = sqlx::SqliteConnection::connect_with(
                &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
            )
            .await?;
            let r = sqlx::raw_sql(sql).execute(&mut c).await?;
            c.close().await.ok();
            Ok(r.rows_affected())
        } else {
            let mut c = sqlx::PgConnection::connect(&self.url).await?;
            let r = sqlx::raw_sql(sql).execute(&mut c).await?;
            c.close().await.ok();
            Ok(r.rows_affected())
        }
    }
}

/// Runs raw SQL on a SQLite file directly (tests that tamper with what the CLI wrote).
pub async fn sqlite_exec(path: &std::path::Path, sql: &str) -> Result<u64, sqlx::Error> {
    let mut c = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
    )
    .await?;
    let r = sqlx::raw_sql(sql).execute(&mut c).await?;
    c.close().await.ok();
    Ok(r.rows_affected())
}
