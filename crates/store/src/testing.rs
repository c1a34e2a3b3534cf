//! Fresh databases for tests (this crate's and the web/binary suites): a temporary SQLite
//! file, a new database on the PostgreSQL server named by `WEIBAO_TEST_PG_URL`, and a new
//! distributed database on the Citus cluster whose coordinator `WEIBAO_TEST_CITUS_URL`
//! names (scripts/citus).

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
    /// Citus: the database's name and every node's admin URL, to drop it afterwards (each
    /// database keeps a maintenance worker alive on every node). Grows with add_citus_node.
    cluster: Option<(String, std::sync::Mutex<Vec<String>>)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((name, nodes)) = self.cluster.take() {
            let nodes = nodes.into_inner().unwrap_or_else(|e| e.into_inner());
            // Drop may run inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    for node in nodes {
                        if let Ok(mut c) = sqlx::PgConnection::connect(&node).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .execute(&mut c)
                            .await;
                            c.close().await.ok();
                        }
                    }
                });
            })
            .join();
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

/// The key file every test store and every process a test starts share (a fixed test
/// key, so concurrent writers write the same bytes): the CLI and servers a test runs see
/// it through `WEIBAO_KEY_FILE`.
pub fn test_key_file() -> PathBuf {
    const TEXT: &str = "index 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\
                        sm4 1 f0e1d2c3b4a5968778695a4b3c2d1e0f\n";
    let path = std::env::temp_dir().join("weibao-test-field.keys");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(TEXT) {
        let tmp = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
        std::fs::write(&tmp, TEXT).expect("write the test key file");
        std::fs::rename(&tmp, &path).expect("place the test key file");
    }
    path
}

/// Opens a store as the tests do (with [`test_key_file`]).
pub async fn open(url: Option<&str>, dir: &std::path::Path) -> Result<Store, crate::StoreError> {
    Store::open_with_keys(url, dir, Some(&test_key_file())).await
}

impl TestDb {
    /// The data directory the store keeps its photos under (for a second process).
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_deref()
    }

    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("weibao-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("weibao.db");
        let url = format!("sqlite://{}", path.display());
        let store = open(Some(&url), &dir).await.expect("open sqlite");
        store.migrate().await.expect("migrate sqlite");
        TestDb {
            store,
            url,
            label: "sqlite",
            dir: Some(dir),
            cluster: None,
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
        let store = open(Some(&url), &dir).await.expect("open postgres");
        store.migrate().await.expect("migrate postgres");
        Some(TestDb {
            store,
            url,
            label: "postgres",
            dir: Some(dir),
            cluster: None,
        })
    }

    /// A new database on the test Citus cluster, its schema distributed (4 shards per
    /// table, so every worker holds some of each), or None when there is no cluster.
    pub async fn citus() -> Option<TestDb> {
        let db = TestDb::citus_bare().await?;
        db.store.migrate().await.expect("migrate citus");
        db.store.distribute(4).await.expect("distribute");
        Some(db)
    }

    /// A new database on the test Citus cluster with the extension and the workers, and
    /// nothing else (not migrated, not distributed).
    pub async fn citus_bare() -> Option<TestDb> {
        let coordinator = match std::env::var("WEIBAO_TEST_CITUS_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                assert!(
                    !require_all(),
                    "WEIBAO_TEST_CITUS_URL is not set but WEIBAO_TEST_REQUIRE_ALL=1: run scripts/test"
                );
                return None;
            }
        };
        let name = format!("weibao_c_{}", uuid::Uuid::new_v4().simple());
        let base = PgConnectOptions::from_str(&coordinator).expect("WEIBAO_TEST_CITUS_URL parses");
        let mut conn = base
            .connect()
            .await
            .expect("connect to the Citus coordinator");
        let workers: Vec<(String, i32)> = sqlx::query_as(
            "SELECT nodename::text, nodeport FROM pg_dist_node
             WHERE groupid <> 0 AND noderole = 'primary' ORDER BY nodeid",
        )
        .fetch_all(&mut conn)
        .await
        .expect("the cluster's workers");
        conn.close().await.ok();
        assert!(!workers.is_empty(), "the Citus test cluster has no workers");
        let coord_host = base.get_host().to_string();
        let coord_port = base.get_port();
        let mut nodes = vec![base.clone()];
        for (host, port) in &workers {
            nodes.push(base.clone().host(host).port(*port as u16));
        }
        for node in &nodes {
            prepare_citus_node(node, &name).await;
        }
        let opts = base.clone().database(&name);
        let mut c = opts.connect().await.expect("new coordinator database");
        sqlx::query("SELECT citus_set_coordinator_host($1, $2)")
            .bind(&coord_host)
            .bind(i32::from(coord_port))
            .execute(&mut c)
            .await
            .expect("coordinator host");
        for (host, port) in &workers {
            // Registering a node opens connections to every node; with other suites'
            // databases busy on the same cluster that can fail once ("failure on
            // connection marked as essential"): the call is transactional, so try again.
            let mut attempt = 0;
            loop {
                match sqlx::query("SELECT citus_add_node($1, $2)")
                    .bind(host)
                    .bind(port)
                    .execute(&mut c)
                    .await
                {
                    Ok(_) => break,
                    Err(e) if attempt < 4 => {
                        eprintln!("citus_add_node {host}:{port} failed, retrying: {e}");
                        attempt += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(500 << attempt)).await;
                    }
                    Err(e) => panic!("add worker: {e:?}"),
                }
            }
        }
        c.close().await.ok();
        let url = opts.to_url_lossy().to_string();
        let dir = std::env::temp_dir().join(format!("weibao-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let store = open(Some(&url), &dir).await.expect("open citus");
        let admin_urls = nodes
            .iter()
            .map(|n| n.clone().database("postgres").to_url_lossy().to_string())
            .collect();
        Some(TestDb {
            store,
            url,
            label: "citus",
            dir: Some(dir),
            cluster: Some((name, std::sync::Mutex::new(admin_urls))),
        })
    }

    /// Citus only: one more worker for this database (the server at host:port, already
    /// running with Citus loaded): the database and the extension there, the node
    /// registered with the coordinator. The database there is dropped with this one.
    pub async fn add_citus_node(&self, host: &str, port: u16) {
        let (name, nodes) = self.cluster.as_ref().expect("a Citus test database");
        let node = PgConnectOptions::from_str(&self.url)
            .expect("url")
            .host(host)
            .port(port);
        prepare_citus_node(&node, name).await;
        nodes
            .lock()
            .unwrap()
            .push(node.database("postgres").to_url_lossy().to_string());
        let mut c = sqlx::PgConnection::connect(&self.url)
            .await
            .expect("coordinator");
        sqlx::query("SELECT citus_add_node($1, $2)")
            .bind(host)
            .bind(i32::from(port))
            .execute(&mut c)
            .await
            .expect("add worker");
        c.close().await.ok();
    }

    /// SQLite always; PostgreSQL and Citus when their test servers are configured.
    pub async fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite().await];
        if let Some(pg) = TestDb::postgres().await {
            dbs.push(pg);
        }
        if let Some(citus) = TestDb::citus().await {
            dbs.push(citus);
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
            // On Citus an attacker with database access may also change triggers.
            let mut opts = PgConnectOptions::from_str(&self.url)?;
            if self.label == "citus" {
                opts = opts.options([("citus.enable_unsafe_triggers", "on")]);
            }
            let mut c = opts.connect().await?;
            let r = sqlx::raw_sql(sql).execute(&mut c).await?;
            c.close().await.ok();
            Ok(r.rows_affected())
        }
    }
}

impl TestDb {
    /// The first column of every row of `sql` (a text column), read straight from the
    /// database on either backend: what someone holding the database file or a dump sees.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        let mut c = self.store.read().await.expect("connection");
        let rows: Vec<Option<String>> = crate::on!(c.conn(), |c| sqlx::query_scalar(sql)
            .fetch_all(&mut *c)
            .await)
        .expect("query");
        rows.into_iter().map(Option::unwrap_or_default).collect()
    }

    /// PostgreSQL/Citus only: the first column of every row of `sql`, as text.
    pub async fn pg_column(&self, sql: &str) -> Vec<String> {
        let mut c = sqlx::PgConnection::connect(&self.url)
            .await
            .expect("connect to the test database");
        let rows: Vec<(Option<String>,)> =
            sqlx::query_as(&format!("SELECT x::text FROM ({sql}) AS q(x)"))
                .fetch_all(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        c.close().await.ok();
        rows.into_iter().map(|(v,)| v.unwrap_or_default()).collect()
    }

    /// PostgreSQL/Citus only: another store on this database whose every connection
    /// carries these server settings (e.g. one that refuses multi-shard queries).
    pub async fn store_with(&self, settings: &[(&str, &str)]) -> Store {
        let mut url = self.url.clone();
        for (i, (k, v)) in settings.iter().enumerate() {
            url.push(if i == 0 && !url.contains('?') {
                '?'
            } else {
                '&'
            });
            url.push_str(&format!("options[{k}]={v}"));
        }
        let dir = self.dir.clone().expect("test dir").join("second");
        let store = open(Some(&url), &dir).await.expect("open");
        // Already migrated: this loads and checks the keys.
        store.migrate().await.expect("keys");
        store
    }
}

/// Creates database `name` on the server `node` names, with the citus extension.
async fn prepare_citus_node(node: &PgConnectOptions, name: &str) {
    let mut c = node
        .clone()
        .database("postgres")
        .connect()
        .await
        .expect("node");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .expect("create test database on a node");
    c.close().await.ok();
    let mut c = node.clone().database(name).connect().await.expect("node");
    sqlx::query("CREATE EXTENSION citus")
        .execute(&mut c)
        .await
        .expect("citus extension");
    c.close().await.ok();
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
