//! Files on a plan task: what a unit sends with its progress (a scanned 工作方案, photos of
//! an activity, a PDF report), kept like a report's attachments: the bytes in the blob
//! store, the name as uploaded sealed, the type read from the bytes, the same bytes once.
//!
//! Who: the units on the task and the office add them while the task is open; whoever may
//! read the task reads its files, and each read is audited.

use weibao_domain::access::Scope;
use weibao_domain::Invalid;

use super::PlanTask;
use crate::audit::{append, AuditEvent};
use crate::crypto::sm3_hex;
use crate::db::Store;
use crate::error::StoreError;
use crate::files::clean_name;
use crate::on;
use crate::work::new_id;

/// Most files on one task.
pub const MAX_TASK_FILES: usize = 30;

/// A file on a task, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFile {
    pub id: String,
    /// The unit that sent it.
    pub unit_id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_at: i64,
}

#[derive(sqlx::FromRow)]
struct FileRow {
    id: String,
    unit_id: String,
    name: String,
    content_type: String,
    size: i64,
    uploaded_at: i64,
    digest: String,
}

impl Store {
    /// Adds a file to an open task for the caller's unit on it; the same bytes twice give
    /// the same file.
    pub async fn attach_to_task(
        &self,
        scope: &Scope,
        task_id: &str,
        name: &str,
        bytes: Vec<u8>,
        ip: &str,
    ) -> Result<TaskFile, StoreError> {
        let task = self.attachable_task(scope, task_id).await?;
        let unit_id = self.unit_on_task(scope, &task).await?;
        let content_type = crate::files::check_file(&bytes)?;
        let digest = sm3_hex(&bytes);
        let existing = self.file_rows(&task).await?;
        if let Some(same) = existing.iter().find(|r| r.digest == digest) {
            return self.opened(vec![same_row(same)]).map(|mut v| v.remove(0));
        }
        if existing.len() >= MAX_TASK_FILES {
            return Err(StoreError::invalid(
                "file",
                Invalid::new(
                    "attachments_full",
                    format!("每项任务最多 {MAX_TASK_FILES} 个附件；请把多页材料合并为一个 PDF"),
                ),
            ));
        }
        let name = clean_name(name, content_type);
        let id = new_id();
        let size = bytes.len() as i64;
        // The bytes are durable before the row that names them commits.
        self.put_blob(&id, bytes, "附件").await?;
        let now = self.now_ms();
        let sealed = self
            .keys()?
            .seal(&format!("plan_task_files.name:{id}"), &name);
        let mut tx = self.begin().await?;
        let inserted = on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO plan_task_files (county_code, id, task_id, unit_id, name, digest,
                 content_type, size, uploaded_by, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
        )
        .bind(&task.county_code)
        .bind(&id)
        .bind(task_id)
        .bind(&unit_id)
        .bind(&sealed)
        .bind(&digest)
        .bind(content_type)
        .bind(size)
        .bind(&scope.user_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if inserted == 0 {
            // The same bytes arrived at the same moment: theirs stands.
            drop(tx);
            let rows = self.file_rows(&task).await?;
            let same = rows
                .iter()
                .find(|r| r.digest == digest)
                .ok_or(StoreError::NotFound)?;
            return self.opened(vec![same_row(same)]).map(|mut v| v.remove(0));
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "committee.attach", task_id)
                .in_county(&task.county_code)
                .from_ip(ip)
                .detail(format!("file={id} size={size}")),
        )
        .await?;
        tx.commit().await?;
        Ok(TaskFile {
            id,
            unit_id,
            name,
            content_type: content_type.into(),
            size,
            uploaded_at: now,
        })
    }

    /// Whether the caller may add files to a task (the refusal [`Store::attach_to_task`]
    /// would give, before any file is read).
    pub async fn check_task_attachable(
        &self,
        scope: &Scope,
        task_id: &str,
    ) -> Result<(), StoreError> {
        let task = self.attachable_task(scope, task_id).await?;
        self.unit_on_task(scope, &task).await.map(|_| ())
    }

    async fn attachable_task(&self, scope: &Scope, task_id: &str) -> Result<PlanTask, StoreError> {
        let (task, _) = self.plan_task(scope, task_id).await?;
        if task.state != "open" {
            return Err(StoreError::Conflict {
                field: "id",
                code: "task_done",
                message: "该任务已办结；如需补充材料，请联系未保办".into(),
            });
        }
        Ok(task)
    }

    /// The files on a task the caller reads, oldest first.
    pub async fn task_files(
        &self,
        scope: &Scope,
        task_id: &str,
    ) -> Result<Vec<TaskFile>, StoreError> {
        let (task, _) = self.plan_task(scope, task_id).await?;
        let rows = self.file_rows(&task).await?;
        self.opened(rows.iter().map(same_row).collect())
    }

    /// One file with its bytes, the read audited.
    pub async fn task_file(
        &self,
        scope: &Scope,
        task_id: &str,
        file_id: &str,
        ip: &str,
    ) -> Result<(TaskFile, Vec<u8>), StoreError> {
        let (task, _) = self.plan_task(scope, task_id).await?;
        let rows = self.file_rows(&task).await?;
        let row = rows
            .iter()
            .find(|r| r.id == file_id)
            .ok_or(StoreError::NotFound)?;
        let file = self.opened(vec![same_row(row)])?.remove(0);
        let bytes = self.get_blob(&file.id, "附件").await?;
        self.audit(
            AuditEvent::by(scope, "committee.file_read", task_id)
                .in_county(&task.county_code)
                .from_ip(ip)
                .detail(format!("file={file_id}")),
        )
        .await?;
        Ok((file, bytes))
    }

    async fn file_rows(&self, task: &PlanTask) -> Result<Vec<FileRow>, StoreError> {
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT id, unit_id, name, content_type, size, uploaded_at, digest
             FROM plan_task_files WHERE county_code = $1 AND task_id = $2
             ORDER BY uploaded_at, id"
        )
        .bind(&task.county_code)
        .bind(&task.id)
        .fetch_all(&mut *c)
        .await)?)
    }

    /// Rows with their names unsealed.
    fn opened(&self, rows: Vec<TaskFile>) -> Result<Vec<TaskFile>, StoreError> {
        let keys = self.keys()?;
        rows.into_iter()
            .map(|f| {
                Ok(TaskFile {
                    name: keys.open(&format!("plan_task_files.name:{}", f.id), &f.name)?,
                    ..f
                })
            })
            .collect()
    }
}

fn same_row(r: &FileRow) -> TaskFile {
    TaskFile {
        id: r.id.clone(),
        unit_id: r.unit_id.clone(),
        name: r.name.clone(),
        content_type: r.content_type.clone(),
        size: r.size,
        uploaded_at: r.uploaded_at,
    }
}
