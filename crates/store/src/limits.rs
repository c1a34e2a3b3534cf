//! The storage's own limits, measured in the same run as the benchmark's HTTP figures
//! (`weibao db limits`, called by scripts/bench): the rows of a visit inserted straight into
//! the database with the same durability as the server's, and the ledger's first page
//! selected straight from it, with no HTTP, session, access check, audit entry or JSON in
//! between. Not used by the server.

use std::time::{Duration, Instant};

use sqlx::QueryBuilder;
use weibao_domain::access::Scope;
use weibao_domain::DivisionCode;

use crate::db::{Db, Store};
use crate::error::StoreError;
use crate::on;

/// Operations a second and their latency.
#[derive(Debug, Clone)]
pub struct Rate {
    pub ops: usize,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Rate {
    fn from(mut latencies: Vec<Duration>, elapsed: Duration) -> Rate {
        latencies.sort();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q) as usize).min(latencies.len().max(1) - 1))
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
        };
        Rate {
            ops: latencies.len(),
            per_sec: latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
        }
    }
}

/// What `weibao db limits` reports.
#[derive(Debug, Clone)]
pub struct StorageLimits {
    /// A visit's row, one durable commit per row, from `clients` writers at once (SQLite
    /// takes them one at a time: it has one writer).
    pub insert_each: Rate,
    /// The same rows, `batch` single-row statements to a durable commit (what a group
    /// commit of one-statement writes can reach through the driver: every statement is a
    /// round trip to the connection's thread).
    pub insert_batched: Rate,
    /// The same rows, `batch` in one statement to a durable commit: SQLite's or
    /// PostgreSQL's own rate, with the driver's round trips out of the way.
    pub insert_multirow: Rate,
    pub batch: usize,
    /// The county ledger's first page (the list's own SQL), from `clients` readers at once.
    pub first_page: Rate,
}

/// A visit's details as the server writes them (seven checks, about 600 bytes).
const DETAILS: &str = r#"{"visited_at":"2026-11-23T10:00:00+08:00","method":"入户","duration_minutes":30,"location":null,"checks":[{"item":"生活","finding":"正常","note":""},{"item":"就学","finding":"正常","note":""},{"item":"健康","finding":"正常","note":""},{"item":"心理","finding":"正常","note":""},{"item":"安全","finding":"正常","note":""},{"item":"监护","finding":"正常","note":""},{"item":"父母每周联系","finding":"正常","note":""}],"risk_after":"低","next_visit":null,"photos":[],"notes":""}"#;

impl Store {
    /// Measures the storage underneath for `secs` seconds per figure. Writes into a scratch
    /// table shaped and indexed like `visits`, dropped at the end; run it while no server
    /// is writing (SQLite's one writer is taken for the whole run).
    pub async fn storage_limits(
        &self,
        division: DivisionCode,
        clients: usize,
        secs: f64,
    ) -> Result<StorageLimits, StoreError> {
        let span = Duration::from_secs_f64(secs);
        let clients = clients.max(1);
        self.scratch_table(true).await?;
        let result = async {
            let insert_each = self.insert_rate(clients, 1, false, span).await?;
            let batch = 64;
            let insert_batched = self.insert_rate(1, batch, false, span).await?;
            let insert_multirow = self.insert_rate(1, batch, true, span).await?;
            let first_page = self.page_rate(division, clients, span).await?;
            Ok(StorageLimits {
                insert_each,
                insert_batched,
                insert_multirow,
                batch,
                first_page,
            })
        }
        .await;
        self.scratch_table(false).await?;
        result
    }

    async fn scratch_table(&self, create: bool) -> Result<(), StoreError> {
        let statements: &[&str] = if create {
            &[
                "DROP TABLE IF EXISTS bench_visits",
                "CREATE TABLE bench_visits (
                    county_code TEXT NOT NULL, id TEXT NOT NULL, child_id TEXT NOT NULL,
                    division_code TEXT NOT NULL, author_id TEXT NOT NULL,
                    author_name TEXT NOT NULL, visited_at BIGINT NOT NULL, method TEXT NOT NULL,
                    danger BOOLEAN NOT NULL, risk_after TEXT NOT NULL, details TEXT NOT NULL,
                    version BIGINT NOT NULL, created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL, PRIMARY KEY (county_code, id))",
                "CREATE INDEX bench_visits_child ON bench_visits (county_code, child_id, visited_at)",
                "CREATE INDEX bench_visits_division ON bench_visits (county_code, division_code, visited_at)",
            ]
        } else {
            &["DROP TABLE IF EXISTS bench_visits"]
        };
        for sql in statements {
            self.write_raw(sql).await?;
        }
        Ok(())
    }

    async fn write_raw(&self, sql: &str) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite { group, .. } => {
                let mut w = group.exclusive().await?;
                sqlx::query(sql).execute(w.conn()).await?;
            }
            Db::Postgres(p) => {
                sqlx::query(sql).execute(p).await?;
            }
        }
        Ok(())
    }

    /// `clients` writers for `span`, each committing `batch` rows at a time.
    async fn insert_rate(
        &self,
        clients: usize,
        batch: usize,
        one_statement: bool,
        span: Duration,
    ) -> Result<Rate, StoreError> {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..clients {
            let store = self.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while started.elapsed() < span {
                    let t = Instant::now();
                    store
                        .insert_rows(client, &mut n, batch, one_statement)
                        .await?;
                    let each = t.elapsed();
                    latencies.extend(std::iter::repeat_n(each, batch));
                }
                Ok::<_, StoreError>(latencies)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.map_err(|e| StoreError::Config(e.to_string()))??);
        }
        Ok(Rate::from(all, started.elapsed()))
    }

    /// One transaction of `batch` rows, committed as durably as the server commits.
    async fn insert_rows(
        &self,
        client: usize,
        n: &mut u64,
        batch: usize,
        one_statement: bool,
    ) -> Result<(), StoreError> {
        const INTO: &str = "INSERT INTO bench_visits (county_code, id, child_id, division_code,
                author_id, author_name, visited_at, method, danger, risk_after, details,
                version, created_at, updated_at) ";
        let now = self.now_ms();
        let tag = if one_statement { "m" } else { "s" };
        let mut ids = Vec::with_capacity(batch);
        for _ in 0..batch {
            *n += 1;
            ids.push((
                format!("{tag}{batch}-{client}-{n}"),
                format!("child-{}", *n % 1000),
            ));
        }
        macro_rules! rows {
            ($c:expr) => {
                let chunks: Vec<&[(String, String)]> = if one_statement {
                    vec![&ids[..]]
                } else {
                    ids.chunks(1).collect()
                };
                for chunk in chunks {
                    let mut qb = QueryBuilder::new(INTO);
                    qb.push_values(chunk, |mut b, (id, child)| {
                        b.push("'510812'")
                            .push_bind(id.clone())
                            .push_bind(child.clone())
                            .push("'510812100201', 'bench', 'bench'")
                            .push_bind(now)
                            .push("'入户', FALSE, '低'")
                            .push_bind(DETAILS)
                            .push("1")
                            .push_bind(now)
                            .push_bind(now);
                    });
                    qb.build().execute(&mut *$c).await?;
                }
            };
        }
        match &self.db {
            Db::Sqlite { group, .. } => {
                // The writer connection straight: BEGIN, the rows, a synced COMMIT.
                let mut w = group.exclusive().await?;
                let c = w.conn();
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *c).await?;
                rows!(c);
                sqlx::query("COMMIT").execute(&mut *c).await?;
            }
            Db::Postgres(p) => {
                let mut tx = p.begin().await?;
                rows!(tx);
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// `clients` readers for `span`, each selecting the county's first page of 50 with the
    /// list's own SQL (the system scope: no per-user filter but sensitivity, as an office).
    async fn page_rate(
        &self,
        division: DivisionCode,
        clients: usize,
        span: Duration,
    ) -> Result<Rate, StoreError> {
        let keys = self.keys()?;
        let today = self.clock.today();
        let params = self.rule_book(Some(division)).await?.on(today).clone();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let store = self.clone();
            let (keys, params) = (keys.clone(), params.clone());
            tasks.push(tokio::spawn(async move {
                let mut scope = Scope::system();
                scope.designated = false;
                let filter = crate::ChildFilter {
                    per_page: 50,
                    page: 1,
                    ..Default::default()
                };
                let mut latencies = Vec::new();
                while started.elapsed() < span {
                    let t = Instant::now();
                    let mut conn = store.read().await?;
                    let rows: Vec<crate::ChildSummary> = on!(conn.conn(), |c| {
                        let mut qb = QueryBuilder::new(crate::children::SUMMARY_SELECT);
                        crate::children::push_filters(
                            &mut qb,
                            &keys,
                            &scope,
                            Some(division),
                            &filter,
                            &params,
                            today,
                        );
                        qb.push(crate::children::DIVISION_ORDER);
                        qb.push(" LIMIT 50");
                        qb.build_query_as().fetch_all(&mut *c).await
                    })?;
                    if rows.is_empty() {
                        return Err(StoreError::NotFound);
                    }
                    latencies.push(t.elapsed());
                }
                Ok::<_, StoreError>(latencies)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.map_err(|e| StoreError::Config(e.to_string()))??);
        }
        Ok(Rate::from(all, started.elapsed()))
    }
}
