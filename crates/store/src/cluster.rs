//! Past one machine: the schema on a Citus cluster. Large tables are distributed by county
//! (`county_code`) and colocated, so a county's children, versions, visits and audit chain
//! sit in one shard group; lookups by something other than the county (a card's token, a
//! child's id, a 身份证号's blind index, a session) have small tables of their own,
//! distributed by that key; lookup tables are reference tables, copied to every node.

use crate::db::{Db, Store};
use crate::error::StoreError;

/// How one table is placed on the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A full copy on every node (small, read everywhere, joined with anything).
    Reference,
    /// Sharded by this column, colocated with the tables that name the same group.
    Distributed {
        column: &'static str,
        group: &'static str,
    },
}

/// The shard group of everything a county owns.
pub const COUNTY_GROUP: &str = "county";

/// Every table of the schema and its placement, in the order they are distributed
/// (reference tables before the tables whose foreign keys point at them). A table
/// created by a migration must be listed here: a test checks that none is missing.
pub const PLAN: &[(&str, Placement)] = &[
    ("schema_migrations", Placement::Reference),
    ("divisions", Placement::Reference),
    ("users", Placement::Reference),
    ("settings", Placement::Reference),
    ("field_keys", Placement::Reference),
    ("password_history", Placement::Reference),
    ("offline_devices", Placement::Reference),
    ("allowance_standards", Placement::Reference),
    (
        "sessions",
        Placement::Distributed {
            column: "id_hash",
            group: "sessions",
        },
    ),
    (
        "children",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "child_versions",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "child_transfers",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "stations",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "audit_log",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "audit_heads",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "visits",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "visit_versions",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "photos",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "idempotency_keys",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "alerts",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "child_locator",
        Placement::Distributed {
            column: "id",
            group: "child_locator",
        },
    ),
    (
        "child_id_registry",
        Placement::Distributed {
            column: "id_index",
            group: "child_id_registry",
        },
    ),
    (
        "cards",
        Placement::Distributed {
            column: "token",
            group: "cards",
        },
    ),
    // Reports, referrals, cases and the shared machinery (0007).
    ("units", Placement::Reference),
    ("calendar_years", Placement::Reference),
    ("calendar_days", Placement::Reference),
    (
        "locator",
        Placement::Distributed {
            column: "id",
            group: "locator",
        },
    ),
    (
        "report_tracking",
        Placement::Distributed {
            column: "hash",
            group: "report_tracking",
        },
    ),
    (
        "events",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "timeline",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "work_items",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "outbox",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "access_grants",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "reports",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "network_people",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "network_trainings",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "committee_members",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "plan_tasks",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "plan_progress",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "notices",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "joint_meetings",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "assessment_schemes",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "assessment_points",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "plan_task_files",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "activities",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "record_files",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "service_agencies",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "service_contracts",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "service_workers",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "service_records",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "record_list",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "record_checks",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "helpers",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "pairings",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "pairing_contacts",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "dept_lists",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "list_findings",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "child_kin",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "stat_clocks",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "child_counts",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "visit_days",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "work_reports",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "warnings",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    ("warning_marks", Placement::Reference),
    (
        "proposals",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "proposal_steps",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "report_attachments",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "referrals",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "referral_acceptances",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "cases",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "case_measures",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "case_conferences",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "sealed_readers",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "sealed_access",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "allowance_cases",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "allowance_steps",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "allowance_rolls",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "allowance_roll_lines",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "allowance_roll_changes",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "allowance_roll_totals",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "allowance_recipients",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "allowance_budgets",
        Placement::Distributed {
            column: "county_code",
            group: COUNTY_GROUP,
        },
    ),
    (
        "allowance_locator",
        Placement::Distributed {
            column: "id",
            group: "allowance_locator",
        },
    ),
];

/// What `distribute` found or did for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePlacement {
    pub table: &'static str,
    pub placement: Placement,
    /// False when the table was already placed so (distribute is idempotent).
    pub changed: bool,
    pub shards: i64,
}

/// The default number of shards per distributed table (Citus's own default).
pub const DEFAULT_SHARDS: u32 = 32;

impl Store {
    /// True when the database is a Citus coordinator (the extension is installed).
    pub async fn is_citus(&self) -> Result<bool, StoreError> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(false);
        };
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
                .fetch_optional(pool)
                .await?;
        Ok(found.is_some())
    }

    /// True when the schema has been distributed (the children table is sharded).
    pub async fn is_distributed(&self) -> Result<bool, StoreError> {
        if !self.is_citus().await? {
            return Ok(false);
        }
        let Db::Postgres(pool) = &self.db else {
            return Ok(false);
        };
        let found: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass('children')",
        )
        .fetch_optional(pool)
        .await?;
        Ok(found.is_some())
    }

    /// Places every table of [`PLAN`] on the Citus cluster this store is connected to (its
    /// coordinator): reference tables copied to every node, the rest sharded into `shards`
    /// shards (a new group only; existing groups keep theirs). Existing rows move into the
    /// shards. Idempotent: a table already placed is left alone. Refuses on SQLite and on
    /// PostgreSQL without Citus.
    pub async fn distribute(&self, shards: u32) -> Result<Vec<TablePlacement>, StoreError> {
        let pool =
            match &self.db {
                Db::Sqlite { .. } => return Err(StoreError::Config(
                    "SQLite 数据库不能分布式部署：请先把数据迁到 PostgreSQL（Citus 协调节点），\
                     再用 --database 指向协调节点执行本命令"
                        .into(),
                )),
                Db::Postgres(p) => p.clone(),
            };
        if !self.is_citus().await? {
            return Err(StoreError::Config(
                "该 PostgreSQL 数据库未安装 Citus 扩展，不能分布式部署：请连接 Citus 协调节点，\
                 或先在此库执行 CREATE EXTENSION citus 并用 citus_add_node 加入工作节点"
                    .into(),
            ));
        }
        if !(1..=1024).contains(&shards) {
            return Err(StoreError::Config(format!(
                "分片数 {shards} 无效：请给 1 到 1024 之间的整数（默认 {DEFAULT_SHARDS}）"
            )));
        }
        // Its own connection, out of the pool: the settings below must not outlive it.
        let mut conn = pool.acquire().await?.detach();
        // Citus narrates each table it moves; the caller prints what was done.
        sqlx::query("SET client_min_messages = warning")
            .execute(&mut conn)
            .await?;
        // The audit log's append-only trigger only raises an error: safe on shards.
        sqlx::query("SET citus.enable_unsafe_triggers = on")
            .execute(&mut conn)
            .await?;
        sqlx::query(&format!("SET citus.shard_count = {shards}"))
            .execute(&mut conn)
            .await?;
        // Moving existing rows into shards over one connection keeps it one transaction
        // per table.
        sqlx::query("SET citus.multi_shard_modify_mode = 'sequential'")
            .execute(&mut conn)
            .await?;
        let mut done = Vec::new();
        for &(table, placement) in PLAN {
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 WHERE to_regclass($1) IS NOT NULL")
                    .bind(table)
                    .fetch_optional(&mut conn)
                    .await?;
            if exists.is_none() {
                // A later migration's table: placed when that migration runs.
                continue;
            }
            // A table with a foreign key to a reference table becomes a 'citus local'
            // table (method n, replication s) on its own: that is not placed yet.
            let current: Option<(String, Option<String>)> = sqlx::query_as(
                "SELECT partmethod::text, column_to_column_name(logicalrelid, partkey)
                 FROM pg_dist_partition WHERE logicalrelid = to_regclass($1)
                     AND NOT (partmethod = 'n' AND repmodel = 's')",
            )
            .bind(table)
            .fetch_optional(&mut conn)
            .await?;
            let changed = match (placement, current) {
                (Placement::Reference, Some((method, _))) if method == "n" => false,
                (Placement::Distributed { column, .. }, Some((method, Some(col))))
                    if method == "h" && col == column =>
                {
                    false
                }
                (_, Some((method, col))) => {
                    return Err(StoreError::Config(format!(
                        "表 {table} 已按其他方式分布（{method} {}），与本程序的分布方案不符：\
                         请用 undistribute_table 还原后重试",
                        col.unwrap_or_default()
                    )))
                }
                (Placement::Reference, None) => {
                    sqlx::query("SELECT create_reference_table($1)")
                        .bind(table)
                        .execute(&mut conn)
                        .await
                        .map_err(|e| placing_failed(table, e))?;
                    true
                }
                (Placement::Distributed { column, group }, None) => {
                    // A group's first table decides its shards; the others join it.
                    let colocate = colocation_target(&mut conn, group).await?;
                    sqlx::query("SELECT create_distributed_table($1, $2, colocate_with => $3)")
                        .bind(table)
                        .bind(column)
                        .bind(&colocate)
                        .execute(&mut conn)
                        .await
                        .map_err(|e| placing_failed(table, e))?;
                    true
                }
            };
            let shards: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = to_regclass($1)",
            )
            .bind(table)
            .fetch_one(&mut conn)
            .await?;
            done.push(TablePlacement {
                table,
                placement,
                changed,
                shards,
            });
        }
        use sqlx::Connection;
        conn.close().await.ok();
        Ok(done)
    }
}

fn placing_failed(table: &str, e: sqlx::Error) -> StoreError {
    let detail = match &e {
        sqlx::Error::Database(d) => d.message().to_string(),
        other => other.to_string(),
    };
    StoreError::Config(format!("分布表 {table} 失败：{detail}"))
}

/// What a table of `group` is colocated with: a table of the group already distributed
/// (earlier in this run, or before a later migration added the table), else 'none' (it
/// starts the group).
async fn colocation_target(
    conn: &mut sqlx::PgConnection,
    group: &str,
) -> Result<String, StoreError> {
    for &(table, placement) in PLAN {
        if let Placement::Distributed { group: g, .. } = placement {
            if g != group {
                continue;
            }
            let placed: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM pg_dist_partition
                 WHERE logicalrelid = to_regclass($1) AND partmethod = 'h'",
            )
            .bind(table)
            .fetch_optional(&mut *conn)
            .await?;
            if placed.is_some() {
                return Ok(table.to_string());
            }
        }
    }
    Ok("none".to_string())
}

/// Settings a transaction that changes sharded tables (DDL, bulk rows, the audit log's
/// trigger) needs on a distributed database: one connection per worker, and triggers on
/// the shards.
pub(crate) async fn for_sharded_writes(tx: &mut crate::db::Tx) -> Result<(), StoreError> {
    for set in [
        "SET LOCAL citus.multi_shard_modify_mode = 'sequential'",
        "SET LOCAL citus.enable_unsafe_triggers = on",
    ] {
        crate::on!(tx.conn(), |c| sqlx::query(set)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}
