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
];

impl Store {
    /// Applies every pending migration in one transaction; refuses to run when an applied
    /// migration's text has changed since (the database would no longer match the code).
    pub async fn migrate(&self) -> Result<Vec<&'static str>, StoreError> {
        let mut tx = self.begin().await?;
        if let Tx::Pg(_) = tx {
            // Two servers starting at once must not both migrate.
            on!(tx.conn(), |c| sqlx::query(
                "SELECT pg_advisory_xact_lock(7311202611)"
            )
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
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
        for m in MIGRATIONS {
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
            on!(tx.conn(), |c| sqlx::raw_sql(sql)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
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
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

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
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                m.version,
                i as i64 + 1,
                "versions are 1, 2, 3, ... in order"
            );
        }
    }
}
