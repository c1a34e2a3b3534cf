//! Schema migrations for both backends, embedded in the binary and applied at start-up.

use crate::crypto::sm3_hex;
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;

/// One migration: the same name in migrations/sqlite and migrations/postgres. Listing
/// both texts side by side makes a missing twin a compile error.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }
    };
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_foundation"),
    migration!(2, "0002_children"),
    migration!(3, "0003_visits"),
    migration!(4, "0004_field_keys"),
    migration!(5, "0005_password_history"),
    migration!(6, "0006_totp"),
    migration!(7, "0007_reports"),
    migration!(8, "0008_allowances"),
    migration!(9, "0009_report_attachments"),
    migration!(10, "0010_network"),
    migration!(11, "0011_committee"),
    migration!(12, "0012_assessment"),
    migration!(13, "0013_task_files"),
    migration!(14, "0014_proposals"),
    migration!(15, "0015_activities"),
    migration!(16, "0016_services"),
    migration!(17, "0017_record_checks"),
    migration!(18, "0018_proposal_documents"),
    migration!(19, "0019_finding"),
    migration!(20, "0020_pairing"),
    migration!(21, "0021_inbox"),
    migration!(22, "0022_warnings"),
    migration!(23, "0023_child_kin"),
    migration!(24, "0024_stats"),
    migration!(25, "0025_work_reports"),
    migration!(26, "0026_offline_devices"),
];

impl Store {
    /// Applies every pending migration in one transaction; refuses to run when an applied
    /// migration's text has changed since (the database would no longer match the code).
    ///
    /// On a distributed (Citus) database the DDL goes through the coordinator to every
    /// shard, and tables a migration creates are then placed by [`crate::cluster::PLAN`].
    /// Then checks the key file against the database (and seals what is not sealed yet).
    pub async fn migrate(&self) -> Result<Vec<&'static str>, StoreError> {
        let done = self.migrate_until(i64::MAX).await?;
        self.bind_keys().await?;
        self.ensure_calendar().await?;
        Ok(done)
    }

    /// Applies the migrations without loading keys: for a database about to receive a
    /// backup or a copy, whose keys come with the data ([`Store::load`] checks them).
    pub async fn migrate_schema(&self) -> Result<Vec<&'static str>, StoreError> {
        self.migrate_until(i64::MAX).await
    }

    /// Applies the pending migrations up to `last` (tests of upgrades).
    #[doc(hidden)]
    pub async fn migrate_until(&self, last: i64) -> Result<Vec<&'static str>, StoreError> {
        let distributed = self.is_distributed().await?;
        let mut tx = self.begin().await?;
        if let Tx::Pg(_) = tx {
            // Two servers starting at once must not both migrate. Notices ("already
            // exists, skipping") are not news.
            for sql in [
                "SELECT pg_advisory_xact_lock(7311202611)",
                "SET LOCAL client_min_messages = warning",
            ] {
                on!(tx.conn(), |c| sqlx::query(sql)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
        }
        if distributed {
            // DDL and data changes to sharded tables in one transaction must share one
            // connection per worker.
            crate::cluster::for_sharded_writes(&mut tx).await?;
        }
        on!(tx.conn(), |c| sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                checksum TEXT NOT NULL,
                applied_at BIGINT NOT NULL)"
        )
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        let applied: Vec<(i64, String)> = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT version, checksum FROM schema_migrations ORDER BY version"
        )
        .fetch_all(&mut *c)
        .await)?;
        let postgres = matches!(tx, Tx::Pg(_));
        let mut done = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| m.version <= last) {
            let sql = if postgres { m.postgres } else { m.sqlite };
            let checksum = sm3_hex(sql.as_bytes());
            if let Some((_, old)) = applied.iter().find(|(v, _)| *v == m.version) {
                if *old != checksum {
                    return Err(StoreError::Config(format!(
                        "迁移 {} 已应用但其内容已被修改：请恢复原文件，改动请写成新的迁移",
                        m.name
                    )));
                }
                continue;
            }
            if distributed {
                // Citus forwards some DDL to the workers as the text it was given: one
                // statement at a time, so it never forwards the whole file.
                for statement in statements(sql) {
                    on!(tx.conn(), |c| sqlx::raw_sql(statement)
                        .execute(&mut *c)
                        .await
                        .map(|r| r.rows_affected()))?;
                }
            } else {
                on!(tx.conn(), |c| sqlx::raw_sql(sql)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
            on!(tx.conn(), |c| sqlx::query(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at)
                 VALUES ($1, $2, $3, $4)"
            )
            .bind(m.version)
            .bind(m.name)
            .bind(&checksum)
            .bind(self.now_ms())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            done.push(m.name);
        }
        if let Some(newer) = applied.iter().map(|(v, _)| *v).max() {
            let known = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
            if newer > known {
                return Err(StoreError::Config(format!(
                    "数据库的结构版本 {newer} 比本程序（{known}）新：请使用更新版本的 weibao"
                )));
            }
        }
        tx.commit().await?;
        if distributed && !done.is_empty() {
            self.distribute(crate::cluster::DEFAULT_SHARDS).await?;
        }
        Ok(done)
    }
}

/// The statements of a migration file: split after a `;` that ends a line outside a
/// `$$` body; comment lines dropped. (Migrations are our own text, written so.)
fn statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut in_body = false;
    let mut offset = 0;
    for line in sql.split_inclusive('\n') {
        let here = offset;
        offset += line.len();
        let text = line.trim();
        if !in_body && (text.is_empty() || text.starts_with("--")) {
            continue;
        }
        start.get_or_insert(here);
        if text.matches("$$").count() % 2 == 1 {
            in_body = !in_body;
        }
        if !in_body && text.ends_with(';') {
            if let Some(s) = start.take() {
                out.push(sql[s..offset].trim());
            }
        }
    }
    if let Some(s) = start {
        let rest = sql[s..].trim();
        if !rest.is_empty() {
            out.push(rest);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{statements, MIGRATIONS};

    #[test]
    fn migrations_split_into_whole_statements() {
        let sql = "-- a comment\nCREATE TABLE a (x INT);\n\nCREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    RAISE EXCEPTION 'no';\nEND;\n$$;\nCREATE INDEX i ON a (x);\n";
        assert_eq!(
            statements(sql),
            vec![
                "CREATE TABLE a (x INT);",
                "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    RAISE EXCEPTION 'no';\nEND;\n$$;",
                "CREATE INDEX i ON a (x);",
            ]
        );
        // Every real migration splits into statements that each end the way SQL does.
        for m in MIGRATIONS {
            let parts = statements(m.postgres);
            assert!(!parts.is_empty(), "{}", m.name);
            assert!(parts.iter().all(|p| p.ends_with(';')), "{}", m.name);
        }
    }

    /// The two migration folders list the same files, and every file is in MIGRATIONS.
    #[test]
    fn migration_folders_match_each_other_and_the_list() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let list = |backend: &str| {
            let mut names: Vec<String> = std::fs::read_dir(format!("{dir}/{backend}"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{}.sql", m.name))
            .collect();
        assert_eq!(list("sqlite"), list("postgres"));
        assert_eq!(list("sqlite"), listed);
        // Increasing versions; a gap is a number kept for a module built on another branch.
        for pair in MIGRATIONS.windows(2) {
            assert!(
                pair[0].version < pair[1].version,
                "versions increase: {} then {}",
                pair[0].name,
                pair[1].name
            );
        }
        for m in MIGRATIONS {
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{} is version {}",
                m.name,
                m.version
            );
        }
    }
}
