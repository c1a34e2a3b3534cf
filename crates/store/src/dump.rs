//! A whole installation as a stream: backup, restore and moving between databases.
//!
//! [`Store::snapshot`] reads every table (sessions aside: a restored or moved installation
//! signs everyone in again) and every photo in one consistent snapshot, while the server
//! keeps serving: a read transaction on SQLite's WAL, `REPEATABLE READ` on PostgreSQL.
//! [`Store::load`] writes such a stream into an empty database in one transaction, so a
//! restore or a copy lands whole or not at all, and only after the stream's own trailer
//! (row counts per table, photo count) matched what arrived. The same items travel as
//! JSON lines in a backup file ([`Item::write`], [`Item::read`]), so a backup made on
//! SQLite restores on PostgreSQL and the other way round.
//!
//! Rows travel as JSON objects made by the database (`json_object` on SQLite, `to_jsonb`
//! on PostgreSQL) and are written back by the database (`json_each`,
//! `jsonb_populate_recordset`), which converts between the two backends' types (SQLite's
//! 0/1 and PostgreSQL's booleans, text and dates) by the target column's type.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use sqlx::Connection;
use tokio::sync::mpsc;

use crate::crypto::{hex, unhex};
use crate::db::{Db, Store};
use crate::error::StoreError;
use crate::on;

/// Rows per batch in the stream (and per INSERT when loading).
const BATCH_ROWS: usize = 500;
/// What the first line of a backup says it is.
pub const FORMAT: &str = "weibao-backup";
/// Tables a snapshot leaves out: sign-ins do not survive a restore.
const SKIPPED: &[&str] = &["sessions", "schema_migrations"];
/// Tables whose rows name a file of the blob store by their id (the files follow the rows).
pub(crate) const BLOB_TABLES: &[&str] = &[
    "photos",
    "report_attachments",
    "plan_task_files",
    "record_files",
];

/// One piece of a snapshot, in order: the header, then per table its columns and row
/// batches, then the photos, then the trailer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    Header {
        format: String,
        /// The applied migrations' versions: a snapshot loads only into the same schema
        /// (on either backend: their migration texts differ, their versions do not).
        schema: Vec<i64>,
        backend: String,
        created_at: i64,
    },
    Table {
        name: String,
        columns: Vec<String>,
    },
    /// A JSON array of row objects.
    Rows(Box<serde_json::value::RawValue>),
    Blob {
        key: String,
        /// The bytes, hex.
        hex: String,
    },
    Trailer {
        rows: BTreeMap<String, u64>,
        blobs: u64,
    },
}

impl Item {
    /// One line of a backup file.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        out.write_all(b"\n")
    }

    /// The next item of a backup file; None at its end.
    pub fn read(input: &mut impl BufRead) -> Result<Option<Item>, StoreError> {
        let mut line = String::new();
        let n = input
            .read_line(&mut line)
            .map_err(|e| StoreError::Config(format!("读取备份文件失败：{e}")))?;
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_str(&line).map(Some).map_err(|e| {
            StoreError::Config(format!(
                "备份文件已损坏（{e}）：请换用完整的备份文件，不要手工修改备份"
            ))
        })
    }
}

/// What a snapshot or a load moved.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DumpSummary {
    pub rows: BTreeMap<String, u64>,
    pub blobs: u64,
}

impl DumpSummary {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }
}

fn closed() -> StoreError {
    StoreError::Config("数据流在完成前中断".into())
}

/// Tables in load order: divisions and users first (others refer to them), then the rest
/// by name. Citus shards (name_102008) and skipped tables are left out.
fn table_order(mut names: Vec<String>) -> Vec<String> {
    names.retain(|n| {
        !SKIPPED.contains(&n.as_str())
            && !n.starts_with("sqlite_")
            && !n
                .rsplit('_')
                .next()
                .is_some_and(|s| s.chars().all(|c| c.is_ascii_digit()))
    });
    names.sort_by_key(|n| (!matches!(n.as_str(), "divisions"), n != "users", n.clone()));
    names
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl Store {
    /// The versions of the applied migrations.
    async fn schema_versions(&self) -> Result<Vec<i64>, StoreError> {
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_scalar(
            "SELECT version FROM schema_migrations ORDER BY version"
        )
        .fetch_all(&mut *c)
        .await)?)
    }

    /// Sends a consistent snapshot of the whole installation to `out` (see the module
    /// documentation). Safe while the server runs.
    pub async fn snapshot(&self, out: mpsc::Sender<Item>) -> Result<DumpSummary, StoreError> {
        let send = |item: Item| {
            let out = out.clone();
            async move { out.send(item).await.map_err(|_| closed()) }
        };
        send(Item::Header {
            format: FORMAT.into(),
            schema: self.schema_versions().await?,
            backend: self.backend().as_str().into(),
            created_at: self.now_ms(),
        })
        .await?;
        let mut summary = DumpSummary::default();
        let mut photos: Vec<String> = Vec::new();
        match &self.db {
            Db::Sqlite { read, .. } => {
                let mut conn = read.acquire().await?;
                let mut tx = conn.begin().await?;
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid",
                )
                .fetch_all(&mut *tx)
                .await?;
                for table in table_order(names) {
                    let columns: Vec<String> =
                        sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                            .bind(&table)
                            .fetch_all(&mut *tx)
                            .await?;
                    let object = columns
                        .iter()
                        .map(|c| format!("'{c}', {}", quote(c)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = format!("SELECT json_object({object}) FROM {}", quote(&table));
                    send(Item::Table {
                        name: table.clone(),
                        columns,
                    })
                    .await?;
                    let mut rows = sqlx::query_scalar::<_, String>(&sql).fetch(&mut *tx);
                    let n = stream_rows(&mut rows, &out).await?;
                    drop(rows);
                    summary.rows.insert(table.clone(), n);
                    if BLOB_TABLES.contains(&table.as_str()) {
                        let sql = format!("SELECT id FROM {} ORDER BY id", quote(&table));
                        photos.extend(
                            sqlx::query_scalar::<_, String>(&sql)
                                .fetch_all(&mut *tx)
                                .await?,
                        );
                    }
                }
                tx.rollback().await?;
            }
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
                )
                .fetch_all(&mut *tx)
                .await?;
                for table in table_order(names) {
                    let columns: Vec<String> = sqlx::query_scalar(
                        "SELECT column_name::text FROM information_schema.columns
                         WHERE table_schema = current_schema() AND table_name = $1
                         ORDER BY ordinal_position",
                    )
                    .bind(&table)
                    .fetch_all(&mut *tx)
                    .await?;
                    send(Item::Table {
                        name: table.clone(),
                        columns,
                    })
                    .await?;
                    let sql = format!("SELECT to_jsonb(t)::text FROM {} t", quote(&table));
                    let mut rows = sqlx::query_scalar::<_, String>(&sql).fetch(&mut *tx);
                    let n = stream_rows(&mut rows, &out).await?;
                    drop(rows);
                    summary.rows.insert(table.clone(), n);
                    if BLOB_TABLES.contains(&table.as_str()) {
                        let sql = format!("SELECT id FROM {} ORDER BY id", quote(&table));
                        photos.extend(
                            sqlx::query_scalar::<_, String>(&sql)
                                .fetch_all(&mut *tx)
                                .await?,
                        );
                    }
                }
                tx.rollback().await?;
            }
        }
        // Photo files never change once their row exists, so reading them after the rows
        // still gives the snapshot's photos.
        for key in photos {
            let blobs = self.blobs.clone();
            let k = key.clone();
            let bytes = tokio::task::spawn_blocking(move || blobs.get(&k))
                .await
                .map_err(|e| StoreError::Config(format!("照片读取失败：{e}")))?
                .map_err(|e| StoreError::Config(format!("照片 {key} 的文件缺失或无法读取：{e}")))?;
            send(Item::Blob {
                key,
                hex: hex(&bytes),
            })
            .await?;
            summary.blobs += 1;
        }
        send(Item::Trailer {
            rows: summary.rows.clone(),
            blobs: summary.blobs,
        })
        .await?;
        Ok(summary)
    }

    /// Writes a snapshot stream into this database, which must hold no records yet (a
    /// freshly migrated one), in one transaction: nothing is committed unless the stream
    /// ends with a trailer that matches what arrived.
    pub async fn load(&self, mut input: mpsc::Receiver<Item>) -> Result<DumpSummary, StoreError> {
        let Some(Item::Header { format, schema, .. }) = input.recv().await else {
            return Err(StoreError::Config(
                "不是未保备份（缺少文件头）：请选择 weibao backup 生成的文件".into(),
            ));
        };
        if format != FORMAT {
            return Err(StoreError::Config(format!(
                "不是未保备份（格式为“{format}”）：请选择 weibao backup 生成的文件"
            )));
        }
        let ours = self.schema_versions().await?;
        if schema != ours {
            let v = |s: &[i64]| s.last().copied().unwrap_or(0);
            return Err(StoreError::Config(format!(
                "备份的数据库结构版本（{}）与本程序（{}）不同：请用生成该备份的同一版本 weibao 恢复",
                v(&schema),
                v(&ours)
            )));
        }
        let distributed = self.is_distributed().await?;
        let mut tx = self.begin().await?;
        if distributed {
            crate::cluster::for_sharded_writes(&mut tx).await?;
        }
        let mut summary = DumpSummary::default();
        let mut table: Option<(String, String)> = None; // (name, insert statement)
        let mut blobs_seen = Vec::new();
        let mut keys_checked = false;
        loop {
            let Some(item) = input.recv().await else {
                return Err(StoreError::Config(
                    "备份文件不完整（没有结尾记录）：可能在写入时中断，请换用完整的备份".into(),
                ));
            };
            match item {
                Item::Header { .. } => {
                    return Err(StoreError::Config("备份文件已损坏（文件头重复）".into()))
                }
                Item::Table { name, columns } => {
                    let sqlite = self.backend() == crate::Backend::Sqlite;
                    let sql = if sqlite {
                        "SELECT name FROM pragma_table_info($1) ORDER BY cid"
                    } else {
                        "SELECT column_name::text FROM information_schema.columns
                         WHERE table_schema = current_schema() AND table_name = $1
                         ORDER BY ordinal_position"
                    };
                    let ours: Vec<String> = on!(tx.conn(), |c| sqlx::query_scalar(sql)
                        .bind(&name)
                        .fetch_all(&mut *c)
                        .await)?;
                    if ours.is_empty() || columns.iter().any(|c| !ours.contains(c)) {
                        return Err(StoreError::Config(format!(
                            "备份中的表 {name} 与本数据库的结构不符：请用同一版本的 weibao 恢复"
                        )));
                    }
                    let sql = format!("SELECT 1 FROM {} LIMIT 1", quote(&name));
                    let taken: Option<i32> = if matches!(
                        name.as_str(),
                        "field_keys" | "calendar_years" | "calendar_days"
                    ) {
                        // A target that has started once registered keys of its own and
                        // loaded the shipped calendar years; the data brings the keys it
                        // was sealed with (checked below) and the calendar it counted
                        // its deadlines on (start-up adds shipped years it lacks).
                        let clear = format!("DELETE FROM {}", quote(&name));
                        on!(tx.conn(), |c| sqlx::query(&clear)
                            .execute(&mut *c)
                            .await
                            .map(|r| r.rows_affected()))?;
                        None
                    } else {
                        on!(tx.conn(), |c| sqlx::query_scalar(&sql)
                            .fetch_optional(&mut *c)
                            .await)?
                    };
                    if taken.is_some() {
                        return Err(StoreError::Config(format!(
                            "目标数据库已有数据（表 {name} 不为空）：恢复和迁移只写入新建的空数据库，请换一个新数据库或数据目录"
                        )));
                    }
                    let insert = if sqlite {
                        let cols: Vec<String> = ours.iter().map(|c| quote(c)).collect();
                        let values: Vec<String> = ours
                            .iter()
                            .map(|c| format!("json_extract(value, '$.{c}')"))
                            .collect();
                        format!(
                            "INSERT INTO {} ({}) SELECT {} FROM json_each($1)",
                            quote(&name),
                            cols.join(", "),
                            values.join(", ")
                        )
                    } else {
                        format!(
                            "INSERT INTO {0} SELECT * FROM jsonb_populate_recordset(NULL::{0}, $1::jsonb)",
                            quote(&name)
                        )
                    };
                    summary.rows.insert(name.clone(), 0);
                    table = Some((name, insert));
                }
                Item::Rows(batch) => {
                    let Some((name, insert)) = &table else {
                        return Err(StoreError::Config(
                            "备份文件已损坏（数据行前没有表名）".into(),
                        ));
                    };
                    let n = on!(tx.conn(), |c| sqlx::query(insert)
                        .bind(batch.get())
                        .execute(&mut *c)
                        .await
                        .map(|r| r.rows_affected()))?;
                    *summary.rows.get_mut(name).expect("table entered") += n;
                }
                Item::Blob { key, hex: h } => {
                    if !keys_checked {
                        self.restored_keys_match(&mut tx).await?;
                        keys_checked = true;
                    }
                    let bytes = unhex(&h).ok_or_else(|| {
                        StoreError::Config(format!("备份文件已损坏（照片 {key} 的内容无法解码）"))
                    })?;
                    let blobs = self.blobs.clone();
                    let k = key.clone();
                    tokio::task::spawn_blocking(move || blobs.put(&k, &bytes))
                        .await
                        .map_err(|e| StoreError::Config(format!("照片保存失败：{e}")))?
                        .map_err(|e| StoreError::Config(format!("照片 {key} 保存失败：{e}")))?;
                    blobs_seen.push(key);
                    summary.blobs += 1;
                }
                Item::Trailer { rows, blobs } => {
                    if rows != summary.rows || blobs != summary.blobs {
                        return Err(StoreError::Config(format!(
                            "备份文件不完整：结尾记录写明 {} 行、{blobs} 张照片，实际读到 {} 行、{} 张照片；未写入任何数据",
                            rows.values().sum::<u64>(),
                            summary.total_rows(),
                            summary.blobs
                        )));
                    }
                    break;
                }
            }
        }
        if !keys_checked {
            self.restored_keys_match(&mut tx).await?;
        }
        tx.commit().await?;
        self.bind_keys().await?;
        Ok(summary)
    }

    /// The records arrive sealed with the keys the source registered: this process's key
    /// file must hold them (checked before any photo is written and before the commit).
    async fn restored_keys_match(&self, tx: &mut crate::db::Tx) -> Result<(), StoreError> {
        let registered: Vec<(i64, String)> = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT id, check_value FROM field_keys ORDER BY id"
        )
        .fetch_all(&mut *c)
        .await)?;
        let path = self.key_file.as_path();
        let file = crate::keys::FieldKeys::read(path)?;
        let ours = file.as_ref().map(|k| k.check_values()).unwrap_or_default();
        if let Some((id, _)) = registered.iter().find(|r| !ours.contains(r)) {
            return Err(StoreError::Config(format!(
                "备份中的身份证号等字段是用另一套密钥加密的（密钥编号 {id} 不在密钥文件 {} 中）：\
                 请用 --key-file 指定原服务器的密钥文件；未写入任何数据",
                path.display()
            )));
        }
        Ok(())
    }

    /// Copies this whole installation into `target` (an empty, migrated database).
    pub async fn copy_to(&self, target: &Store) -> Result<DumpSummary, StoreError> {
        let (tx, rx) = mpsc::channel(8);
        let source = self.clone();
        let reader = tokio::spawn(async move { source.snapshot(tx).await });
        let loaded = target.load(rx).await;
        let read = reader
            .await
            .map_err(|e| StoreError::Config(format!("读取源数据库失败：{e}")))?;
        let loaded = loaded?;
        read?;
        Ok(loaded)
    }
}

/// Batches a table's rows (JSON object texts) into [`Item::Rows`]; returns the count.
async fn stream_rows<S>(rows: &mut S, out: &mpsc::Sender<Item>) -> Result<u64, StoreError>
where
    S: futures_util::Stream<Item = Result<String, sqlx::Error>> + Unpin,
{
    let mut n = 0u64;
    let mut batch = String::from("[");
    let mut in_batch = 0usize;
    let flush = |batch: &mut String| -> Result<Item, StoreError> {
        batch.push(']');
        let raw =
            serde_json::value::RawValue::from_string(std::mem::replace(batch, String::from("[")))
                .map_err(|e| StoreError::Config(format!("数据行无法编码：{e}")))?;
        Ok(Item::Rows(raw))
    };
    while let Some(row) = rows.try_next().await? {
        if in_batch > 0 {
            batch.push(',');
        }
        batch.push_str(&row);
        in_batch += 1;
        n += 1;
        if in_batch == BATCH_ROWS {
            out.send(flush(&mut batch)?).await.map_err(|_| closed())?;
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        out.send(flush(&mut batch)?).await.map_err(|_| closed())?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_load_divisions_and_users_first_and_skip_shards_and_sessions() {
        let names = [
            "visits",
            "users",
            "sessions",
            "children_102008",
            "divisions",
            "alerts",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            table_order(names),
            ["divisions", "users", "alerts", "visits"]
        );
    }

    #[test]
    fn hex_round_trips_and_refuses_garbage() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }
}
