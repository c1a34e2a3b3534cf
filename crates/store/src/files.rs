//! Files kept on the later modules' records (an activity's photos, the signed consent of a
//! record check), one table for all of them (record_files) and kept like a report's
//! attachments: the bytes in the blob store under the file's id and durable before the row
//! naming them commits, the type read from the bytes (photos and PDF scans only), the name
//! as uploaded sealed, the same bytes once per record.
//!
//! Who may add or read a record's files is its module's decision: these helpers check
//! nothing but the file itself, and the module audits the read.

use weibao_domain::access::Scope;
use weibao_domain::Invalid;

use crate::audit::{append, AuditEvent};
use crate::crypto::sm3_hex;
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::visits::sniff_image;
use crate::work::new_id;
use crate::MAX_ATTACHMENT_BYTES;

/// Longest name kept (characters); longer names are cut.
const MAX_NAME_CHARS: usize = 80;

/// The type from the bytes themselves (the declared type is not trusted).
pub(crate) fn sniff(bytes: &[u8]) -> Option<&'static str> {
    sniff_image(bytes).or_else(|| bytes.starts_with(b"%PDF-").then_some("application/pdf"))
}

/// The file name as uploaded, without any path and without control characters.
pub(crate) fn clean_name(name: &str, content_type: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let kept: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let kept = kept.trim().to_string();
    if !kept.is_empty() {
        return kept;
    }
    match content_type {
        "application/pdf" => "附件.pdf",
        "image/png" => "附件.png",
        "image/webp" => "附件.webp",
        _ => "附件.jpg",
    }
    .to_string()
}

/// A file on a record, as listed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RecordFile {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_at: i64,
}

#[derive(sqlx::FromRow)]
struct FileRow {
    id: String,
    name: String,
    content_type: String,
    size: i64,
    uploaded_at: i64,
    digest: String,
}

/// A file's bytes stored, its row not yet written.
#[derive(Debug, Clone)]
pub(crate) struct StagedFile {
    id: String,
    name: String,
    digest: String,
    content_type: &'static str,
    size: i64,
}

/// The record a file belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner<'a> {
    pub county_code: &'a str,
    /// activity, record_check
    pub kind: &'static str,
    pub id: &'a str,
}

/// Checks an attachment's bytes (size and type) before anything is stored, for every
/// module that keeps files; the content type.
pub(crate) fn check_file(bytes: &[u8]) -> Result<&'static str, StoreError> {
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(StoreError::invalid(
            "file",
            Invalid::new(
                "attachment_too_large",
                format!(
                    "附件不能超过 {} MB，请压缩照片或分页扫描后再上传",
                    MAX_ATTACHMENT_BYTES / 1024 / 1024
                ),
            ),
        ));
    }
    sniff(bytes).ok_or_else(|| {
        StoreError::invalid(
            "file",
            Invalid::new(
                "attachment_type",
                "附件只能是照片（JPEG、PNG、WebP）或 PDF 扫描件，请另存为这些格式后上传",
            ),
        )
    })
}

impl Store {
    /// Checks a file and stores its bytes, before the transaction that names it: the bytes
    /// are durable before any row does. Bytes a record already has are stored again and
    /// then not named (a few orphaned bytes, never a row without its bytes).
    pub(crate) async fn stage_file(
        &self,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<StagedFile, StoreError> {
        let content_type = check_file(&bytes)?;
        let staged = StagedFile {
            id: new_id(),
            name: clean_name(name, content_type),
            digest: sm3_hex(&bytes),
            content_type,
            size: bytes.len() as i64,
        };
        self.put_blob(&staged.id, bytes, "附件").await?;
        Ok(staged)
    }

    /// Names a staged file on a record in `tx` (the caller's transaction, with the record
    /// and its audit entry); the same bytes already on the record give that file. At most
    /// `max` files per record.
    pub(crate) async fn keep_file(
        &self,
        tx: &mut Tx,
        owner: Owner<'_>,
        file: StagedFile,
        by_user: &str,
        max: usize,
    ) -> Result<RecordFile, StoreError> {
        let existing: Vec<FileRow> = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT id, name, content_type, size, uploaded_at, digest FROM record_files
             WHERE county_code = $1 AND owner = $2 AND owner_id = $3"
        )
        .bind(owner.county_code)
        .bind(owner.kind)
        .bind(owner.id)
        .fetch_all(&mut *c)
        .await)?;
        if let Some(same) = existing.iter().find(|r| r.digest == file.digest) {
            return self
                .opened_files(vec![plain(same)])
                .map(|mut v| v.remove(0));
        }
        if existing.len() >= max {
            return Err(StoreError::invalid(
                "file",
                Invalid::new(
                    "attachments_full",
                    format!("每条记录最多 {max} 个附件；请把多页材料合并为一个 PDF"),
                ),
            ));
        }
        let now = self.now_ms();
        let sealed = self
            .keys()?
            .seal(&format!("record_files.name:{}", file.id), &file.name);
        on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO record_files (county_code, id, owner, owner_id, name, digest,
                 content_type, size, uploaded_by, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        .bind(owner.county_code)
        .bind(&file.id)
        .bind(owner.kind)
        .bind(owner.id)
        .bind(&sealed)
        .bind(&file.digest)
        .bind(file.content_type)
        .bind(file.size)
        .bind(by_user)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(RecordFile {
            id: file.id,
            name: file.name,
            content_type: file.content_type.into(),
            size: file.size,
            uploaded_at: now,
        })
    }

    /// Checks and stores files and names them on a record, with the audit entry `action`
    /// (detail: how many), in one transaction; at most `max` files on the record.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn attach_files(
        &self,
        scope: &Scope,
        owner: Owner<'_>,
        files: Vec<(String, Vec<u8>)>,
        max: usize,
        action: &'static str,
        ip: &str,
    ) -> Result<Vec<RecordFile>, StoreError> {
        let mut staged = Vec::new();
        for (name, bytes) in files {
            staged.push(self.stage_file(&name, bytes).await?);
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        let mut kept = Vec::new();
        for file in staged {
            kept.push(
                self.keep_file(&mut tx, owner, file, &scope.user_id, max)
                    .await?,
            );
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, action, owner.id)
                .in_county(owner.county_code)
                .from_ip(ip)
                .detail(format!("files={}", kept.len())),
        )
        .await?;
        tx.commit().await?;
        Ok(kept)
    }

    /// One of a record's files with its bytes, the read audited as `action`.
    pub(crate) async fn read_file(
        &self,
        scope: &Scope,
        owner: Owner<'_>,
        file_id: &str,
        action: &'static str,
        ip: &str,
    ) -> Result<(RecordFile, Vec<u8>), StoreError> {
        let found = self.file_of(owner, file_id).await?;
        self.audit(
            AuditEvent::by(scope, action, owner.id)
                .in_county(owner.county_code)
                .from_ip(ip)
                .detail(format!("file={file_id}")),
        )
        .await?;
        Ok(found)
    }

    /// A record's files, oldest first, names unsealed.
    pub(crate) async fn files_of(&self, owner: Owner<'_>) -> Result<Vec<RecordFile>, StoreError> {
        let rows: Vec<FileRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, name, content_type, size, uploaded_at, digest FROM record_files
                 WHERE county_code = $1 AND owner = $2 AND owner_id = $3
                 ORDER BY uploaded_at, id"
            )
            .bind(owner.county_code)
            .bind(owner.kind)
            .bind(owner.id)
            .fetch_all(&mut *c)
            .await)?
        };
        self.opened_files(rows.iter().map(plain).collect())
    }

    /// One of a record's files with its bytes (the caller audits the read).
    pub(crate) async fn file_of(
        &self,
        owner: Owner<'_>,
        file_id: &str,
    ) -> Result<(RecordFile, Vec<u8>), StoreError> {
        let file = self
            .files_of(owner)
            .await?
            .into_iter()
            .find(|f| f.id == file_id)
            .ok_or(StoreError::NotFound)?;
        let bytes = self.get_blob(&file.id, "附件").await?;
        Ok((file, bytes))
    }

    fn opened_files(&self, rows: Vec<RecordFile>) -> Result<Vec<RecordFile>, StoreError> {
        let keys = self.keys()?;
        rows.into_iter()
            .map(|f| {
                Ok(RecordFile {
                    name: keys.open(&format!("record_files.name:{}", f.id), &f.name)?,
                    ..f
                })
            })
            .collect()
    }
}

fn plain(r: &FileRow) -> RecordFile {
    RecordFile {
        id: r.id.clone(),
        name: r.name.clone(),
        content_type: r.content_type.clone(),
        size: r.size,
        uploaded_at: r.uploaded_at,
    }
}
