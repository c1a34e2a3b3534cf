//! Divisions (行政区划): the NBS code tree every record hangs from.

use sqlx::QueryBuilder;
use weibao_domain::access::{Action, Scope};
use weibao_domain::{DivisionCode, Level};

use crate::audit::{append, AuditEvent};
use crate::db::{Pooled, Store};
use crate::error::StoreError;
use crate::on;

/// A division as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Division {
    pub code: String,
    pub name: String,
    pub level: i32,
    pub parent_code: Option<String>,
}

impl Division {
    pub fn code(&self) -> DivisionCode {
        DivisionCode::parse(&self.code).expect("stored division codes are valid")
    }

    pub fn level(&self) -> Level {
        self.code().level()
    }
}

/// One row to import: a parsed code and its name.
#[derive(Debug, Clone)]
pub struct DivisionImportRow {
    pub code: DivisionCode,
    pub name: String,
}

/// Rows per INSERT statement: 4 binds each, well under SQLite's variable limit.
const IMPORT_BATCH: usize = 1000;

impl Store {
    /// Inserts new codes and renames changed ones, in one transaction; never deletes, so
    /// users and records that refer to a code keep working. Calls `progress` with the
    /// number of rows written so far. Returns how many rows were inserted or renamed.
    pub async fn import_divisions(
        &self,
        scope: &Scope,
        rows: &[DivisionImportRow],
        mut progress: impl FnMut(usize),
    ) -> Result<u64, StoreError> {
        scope.check_role(Action::ImportDivisions)?;
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let mut changed = 0u64;
        // Parents before children, so that a tree is never seen half-linked.
        let mut sorted: Vec<&DivisionImportRow> = rows.iter().collect();
        sorted.sort_by_key(|r| (r.code.level(), r.code));
        // A code listed twice (the NBS files hold a few placeholders) is written once: the
        // last listing wins, as a later file would on a second import.
        sorted.reverse();
        sorted.dedup_by_key(|r| r.code);
        sorted.reverse();
        for (i, batch) in sorted.chunks(IMPORT_BATCH).enumerate() {
            changed += on!(tx.conn(), |c| {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO divisions (code, name, level, parent_code, updated_at) ",
                );
                qb.push_values(batch, |mut b, r| {
                    b.push_bind(r.code.full())
                        .push_bind(r.name.trim().to_string())
                        .push_bind(r.code.level().depth() as i32)
                        .push_bind(r.code.parent().map(|p| p.full()))
                        .push_bind(now);
                });
                qb.push(
                    " ON CONFLICT (code) DO UPDATE SET name = excluded.name,
                      updated_at = excluded.updated_at
                      WHERE divisions.name <> excluded.name",
                );
                qb.build().execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
            progress((i * IMPORT_BATCH + batch.len()).min(sorted.len()));
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "divisions.import", "divisions")
                .detail(format!("rows={}", rows.len())),
        )
        .await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// One division, if the caller reaches it.
    pub async fn division(
        &self,
        scope: &Scope,
        code: DivisionCode,
    ) -> Result<Division, StoreError> {
        scope.check(Action::ViewDivisions, code)?;
        let mut conn = self.read().await?;
        find(&mut conn, code).await?.ok_or(StoreError::NotFound)
    }

    /// The divisions directly under `code`, by code.
    pub async fn division_children(
        &self,
        scope: &Scope,
        code: DivisionCode,
    ) -> Result<Vec<Division>, StoreError> {
        scope.check(Action::ViewDivisions, code)?;
        let mut conn = self.read().await?;
        if find(&mut conn, code).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        Ok(on!(conn.conn(), |c| sqlx::query_as(
            "SELECT code, name, level, parent_code FROM divisions
             WHERE parent_code = $1 ORDER BY code"
        )
        .bind(code.full())
        .fetch_all(&mut *c)
        .await)?)
    }

    /// The path from the province down to `code` (names of ancestors are public facts;
    /// the caller still has to reach `code` itself).
    pub async fn division_path(
        &self,
        scope: &Scope,
        code: DivisionCode,
    ) -> Result<Vec<Division>, StoreError> {
        scope.check(Action::ViewDivisions, code)?;
        let mut conn = self.read().await?;
        let mut path = Vec::new();
        for c in code.ancestors().into_iter().chain([code]) {
            if let Some(d) = find(&mut conn, c).await? {
                path.push(d);
            }
        }
        if path.last().map(|d| d.code.as_str()) != Some(code.full().as_str()) {
            return Err(StoreError::NotFound);
        }
        Ok(path)
    }

    /// Finds a division by exact code without a scope: for start-up and the command line
    /// (checking that a home division exists), never for answering users.
    pub async fn division_exists(&self, code: DivisionCode) -> Result<bool, StoreError> {
        let mut conn = self.read().await?;
        Ok(find(&mut conn, code).await?.is_some())
    }

    /// How many divisions there are, by level (1..=5); an empty database has none.
    pub async fn division_counts(&self) -> Result<[i64; 5], StoreError> {
        let mut conn = self.read().await?;
        let rows: Vec<(i32, i64)> = on!(conn.conn(), |c| sqlx::query_as(
            "SELECT level, COUNT(*) FROM divisions GROUP BY level"
        )
        .fetch_all(&mut *c)
        .await)?;
        let mut counts = [0; 5];
        for (level, n) in rows {
            if (1..=5).contains(&level) {
                counts[level as usize - 1] = n;
            }
        }
        Ok(counts)
    }
}

async fn find(conn: &mut Pooled, code: DivisionCode) -> Result<Option<Division>, StoreError> {
    Ok(on!(conn.conn(), |c| sqlx::query_as(
        "SELECT code, name, level, parent_code FROM divisions WHERE code = $1"
    )
    .bind(code.full())
    .fetch_optional(&mut *c)
    .await)?)
}
