//! Attachments of a report: a photo of an injury, a school's scanned form (JPEG, PNG, WebP
//! or PDF). The bytes go to the blob store like visit photos (synced before the row that
//! names them commits); the name as uploaded is sealed, since it may name the child.
//!
//! Who reads them: those who see who reported (the office, the handling units, the filer)
//! and, on a sealed report, only its named readers. A township's supervisor or a village's
//! director, who read a report without its reporter, do not: a scanned form carries the
//! reporting school's letterhead and signature.

use weibao_domain::access::{Action, Scope};
use weibao_domain::reports::ReportState;
use weibao_domain::Invalid;

use super::{Reading, ReportRow};
use crate::audit::{append, AuditEvent};
use crate::crypto::sm3_hex;
use crate::db::Store;
use crate::error::StoreError;
use crate::files::clean_name;
use crate::on;
use crate::work::{exec, new_id, record_step};

/// Largest attachment (the photo limit: a phone's photo or a few scanned pages).
pub const MAX_ATTACHMENT_BYTES: usize = crate::visits::MAX_PHOTO_BYTES;
/// Most attachments on one report.
pub const MAX_ATTACHMENTS: usize = 10;

/// An attachment as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportAttachment {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_at: i64,
}

/// An attachment with its bytes.
#[derive(Debug, Clone)]
pub struct AttachmentFile {
    pub attachment: ReportAttachment,
    pub bytes: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: String,
    name: String,
    content_type: String,
    size: i64,
    uploaded_at: i64,
}

impl Store {
    /// How the caller may read the attachments of `row`: only with the full reading (the
    /// reporter shown), and a sealed report's only as its named readers. 404 otherwise, as
    /// for a report they may not see.
    async fn attachment_reader(&self, scope: &Scope, row: &ReportRow) -> Result<(), StoreError> {
        scope.check_role(Action::ViewReports)?;
        let reading = self.report_reading(scope, row).await?;
        if reading != Some(Reading::Full) {
            return Err(StoreError::NotFound);
        }
        if row.sealed
            && !self
                .may_read_sealed(scope, &row.county_code, &row.id, row.filed_by.as_deref())
                .await?
        {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Whether the caller may add files to a report (a refusal as [`Store::attach_to_report`]
    /// would give it, before any file is read).
    pub async fn check_attachable(&self, scope: &Scope, report_id: &str) -> Result<(), StoreError> {
        self.attachable(scope, report_id).await.map(|_| ())
    }

    async fn attachable(&self, scope: &Scope, report_id: &str) -> Result<ReportRow, StoreError> {
        let row = self.report_row(report_id).await?;
        self.attachment_reader(scope, &row).await?;
        if ReportState::parse(&row.state) == Some(ReportState::Merged) {
            return Err(StoreError::Conflict {
                field: "id",
                code: "report_merged",
                message: "该报告已合并到另一份报告，请把附件添加到合并后的报告".into(),
            });
        }
        Ok(row)
    }

    /// Adds a file to a report; the same bytes twice give the same attachment. Returns it.
    pub async fn attach_to_report(
        &self,
        scope: &Scope,
        report_id: &str,
        name: &str,
        bytes: Vec<u8>,
        ip: &str,
    ) -> Result<ReportAttachment, StoreError> {
        let row = self.attachable(scope, report_id).await?;
        let content_type = crate::files::check_file(&bytes)?;
        let digest = sm3_hex(&bytes);
        if let Some(same) = self.attachment_by_digest(&row, &digest).await? {
            return Ok(same);
        }
        if self.attachments_of(&row).await?.len() >= MAX_ATTACHMENTS {
            return Err(StoreError::invalid(
                "file",
                Invalid::new(
                    "attachments_full",
                    format!("每份报告最多 {MAX_ATTACHMENTS} 个附件；请把多页材料合并为一个 PDF"),
                ),
            ));
        }
        let name = clean_name(name, content_type);
        let id = new_id();
        let size = bytes.len() as i64;
        self.put_blob(&id, bytes, "附件").await?;
        let now = self.now_ms();
        let sealed_name = self
            .keys()?
            .seal(&format!("report_attachments.name:{id}"), &name);
        let unit = self.actor_unit_name(scope).await;
        let mut tx = self.begin().await?;
        let inserted = on!(tx.conn(), |c| sqlx::query(
            "INSERT INTO report_attachments (county_code, id, report_id, name, digest,
                 content_type, size, uploaded_by, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
        )
        .bind(&row.county_code)
        .bind(&id)
        .bind(report_id)
        .bind(&sealed_name)
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
            tx.commit().await?;
            return self
                .attachment_by_digest(&row, &digest)
                .await?
                .ok_or(StoreError::NotFound);
        }
        exec(
            &mut tx,
            "UPDATE reports SET updated_at = $3 WHERE county_code = $1 AND id = $2",
            vec![row.county_code.clone().into(), report_id.into(), now.into()],
        )
        .await?;
        record_step(
            self,
            &mut tx,
            &row.county_code,
            report_id,
            scope,
            &unit,
            "添加附件",
            &name,
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "report.attach", report_id)
                .in_county(&row.county_code)
                .from_ip(ip)
                .detail(format!("attachment={id} size={size}")),
        )
        .await?;
        tx.commit().await?;
        Ok(ReportAttachment {
            id,
            name,
            content_type: content_type.into(),
            size,
            uploaded_at: now,
        })
    }

    /// The attachments of a report the caller reads in full, oldest first; none for a
    /// reader who sees the report without its reporter, or only that it exists.
    pub async fn report_attachments(
        &self,
        scope: &Scope,
        report: &super::StoredReport,
    ) -> Result<Vec<ReportAttachment>, StoreError> {
        if report.withheld || !report.reporter_visible {
            return Ok(vec![]);
        }
        let row = self.report_row(&report.id).await?;
        self.attachment_reader(scope, &row).await?;
        self.attachments_of(&row).await
    }

    /// One attachment with its bytes, the read audited.
    pub async fn report_attachment(
        &self,
        scope: &Scope,
        report_id: &str,
        attachment_id: &str,
        ip: &str,
    ) -> Result<AttachmentFile, StoreError> {
        let row = self.report_row(report_id).await?;
        self.attachment_reader(scope, &row).await?;
        let attachment = self
            .attachments_of(&row)
            .await?
            .into_iter()
            .find(|a| a.id == attachment_id)
            .ok_or(StoreError::NotFound)?;
        let bytes = self.get_blob(&attachment.id, "附件").await?;
        self.audit(
            AuditEvent::by(scope, "report.attachment_read", report_id)
                .in_county(&row.county_code)
                .from_ip(ip)
                .detail(format!("attachment={attachment_id}")),
        )
        .await?;
        Ok(AttachmentFile { attachment, bytes })
    }

    async fn attachments_of(&self, row: &ReportRow) -> Result<Vec<ReportAttachment>, StoreError> {
        let rows: Vec<AttachmentRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id, name, content_type, size, uploaded_at FROM report_attachments
                 WHERE county_code = $1 AND report_id = $2 ORDER BY uploaded_at, id"
            )
            .bind(&row.county_code)
            .bind(&row.id)
            .fetch_all(&mut *c)
            .await)?
        };
        let keys = self.keys()?;
        rows.into_iter()
            .map(|r| {
                Ok(ReportAttachment {
                    name: keys.open(&format!("report_attachments.name:{}", r.id), &r.name)?,
                    id: r.id,
                    content_type: r.content_type,
                    size: r.size,
                    uploaded_at: r.uploaded_at,
                })
            })
            .collect()
    }

    async fn attachment_by_digest(
        &self,
        row: &ReportRow,
        digest: &str,
    ) -> Result<Option<ReportAttachment>, StoreError> {
        let id: Option<(String,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id FROM report_attachments
                 WHERE county_code = $1 AND report_id = $2 AND digest = $3"
            )
            .bind(&row.county_code)
            .bind(&row.id)
            .bind(digest)
            .fetch_optional(&mut *c)
            .await)?
        };
        let Some((id,)) = id else {
            return Ok(None);
        };
        Ok(self
            .attachments_of(row)
            .await?
            .into_iter()
            .find(|a| a.id == id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::sniff;

    #[test]
    fn names_lose_paths_and_control_characters_and_get_a_default() {
        assert_eq!(
            clean_name("C:\\扫描\\报告单.pdf", "application/pdf"),
            "报告单.pdf"
        );
        assert_eq!(
            clean_name("a/b/伤情\n照片.jpg", "image/jpeg"),
            "伤情照片.jpg"
        );
        assert_eq!(clean_name("  ", "application/pdf"), "附件.pdf");
        assert_eq!(
            clean_name(&"长".repeat(200), "image/png").chars().count(),
            80
        );
    }

    #[test]
    fn the_type_comes_from_the_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"<html><script>"), None);
    }
}
