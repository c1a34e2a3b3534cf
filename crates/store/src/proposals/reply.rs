//! A proposal's formal reply (答复函) and its attachments: the lead unit (or the office for
//! it) starts from a draft in the layout of seeds 000 and 002, with the county's figures
//! from the platform (figures.rs), edits and keeps it, and attaches the files the reply
//! sends with it (a scanned, stamped letter, tables, photos). Both can change until the
//! office has passed the reply; every kept version and every file read is audited.

use weibao_domain::access::Scope;
use weibao_domain::proposals::reply_document::{draft, ReplyDocument, ReplySource};
use weibao_domain::proposals::{ProposalKind, ProposalState};
use weibao_domain::{DivisionCode, Invalid};

use super::{conflict, Proposal};
use crate::audit::{append, AuditEvent};
use crate::db::Store;
use crate::error::StoreError;
use crate::files::Owner;
use crate::on;
use crate::RecordFile;

/// Most files on one reply.
pub const MAX_REPLY_FILES: usize = 9;

fn owner(p: &Proposal) -> Owner<'_> {
    Owner {
        county_code: &p.county_code,
        kind: "proposal",
        id: &p.id,
    }
}

/// A reply document as shown: the one kept, or a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyDraft {
    pub document: ReplyDocument,
    /// False: a draft made now from the proposal and the figures, not yet kept.
    pub kept: bool,
    /// The office passed the reply: the document and files no longer change.
    pub closed: bool,
}

fn closed(p: &Proposal) -> bool {
    matches!(p.state(), ProposalState::Passed | ProposalState::Rated)
}

impl Store {
    /// The lead unit (or the office) may still change the reply's document and files.
    async fn check_reply_open(&self, scope: &Scope, p: &Proposal) -> Result<(), StoreError> {
        self.check_lead(scope, p).await?;
        if closed(p) {
            return Err(conflict(
                "reply_closed",
                "答复已审核通过，答复函和附件不能再修改".into(),
            ));
        }
        Ok(())
    }

    /// A proposal's reply document: the one kept, else a draft from the proposal, the
    /// reply so far and the county's figures the caller may see.
    pub async fn reply_document(&self, scope: &Scope, id: &str) -> Result<ReplyDraft, StoreError> {
        let (p, _) = self.proposal(scope, id).await?;
        let kept: String = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_scalar(
                "SELECT reply_document FROM proposals WHERE county_code = $1 AND id = $2"
            )
            .bind(&p.county_code)
            .bind(id)
            .fetch_one(&mut *c)
            .await)?
        };
        if !kept.is_empty() {
            let document = serde_json::from_str(&kept).map_err(|e| {
                StoreError::Config(format!("proposal {id}: unreadable reply document: {e}"))
            })?;
            return Ok(ReplyDraft {
                document,
                kept: true,
                closed: closed(&p),
            });
        }
        let county = DivisionCode::parse(&p.county_code).map_err(|_| StoreError::NotFound)?;
        let figures = self.county_figures(scope, county).await?;
        let lead = self
            .unit_by_id(&p.lead_unit_id)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        let co_signers = p.co_signer_names();
        let document = draft(
            &ReplySource {
                kind: ProposalKind::parse(&p.kind),
                year: p.year as i32,
                session: &p.session,
                number: &p.number,
                title: &p.title,
                proposer: &p.proposer,
                co_signers: &co_signers,
                reply: &p.reply,
                lead_unit: &lead,
            },
            &figures,
            self.clock().today(),
        );
        Ok(ReplyDraft {
            document,
            kept: false,
            closed: closed(&p),
        })
    }

    /// Keeps the reply document as edited.
    pub async fn keep_reply_document(
        &self,
        scope: &Scope,
        id: &str,
        document: &ReplyDocument,
        ip: &str,
    ) -> Result<ReplyDraft, StoreError> {
        let (p, _) = self.proposal(scope, id).await?;
        self.check_reply_open(scope, &p).await?;
        let document = document
            .check()
            .map_err(|(field, invalid)| StoreError::invalid(field, invalid))?;
        let json = serde_json::to_string(&document).expect("a document serialises");
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        on!(tx.conn(), |c| sqlx::query(
            "UPDATE proposals SET reply_document = $3, updated_at = $4
             WHERE county_code = $1 AND id = $2"
        )
        .bind(&p.county_code)
        .bind(id)
        .bind(&json)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "proposal.document", id)
                .in_county(&p.county_code)
                .from_ip(ip)
                .detail(format!("chars={}", document.body.chars().count())),
        )
        .await?;
        tx.commit().await?;
        Ok(ReplyDraft {
            document,
            kept: true,
            closed: false,
        })
    }

    /// Attaches files to the reply (at most nine; the same bytes twice are kept once).
    pub async fn add_reply_files(
        &self,
        scope: &Scope,
        id: &str,
        files: Vec<(String, Vec<u8>)>,
        ip: &str,
    ) -> Result<Vec<RecordFile>, StoreError> {
        let (p, _) = self.proposal(scope, id).await?;
        self.check_reply_open(scope, &p).await?;
        if files.is_empty() {
            return Err(StoreError::invalid(
                "file",
                Invalid::new("file_missing", "请选择要上传的附件（照片或 PDF）"),
            ));
        }
        self.attach_files(
            scope,
            owner(&p),
            files,
            MAX_REPLY_FILES,
            "proposal.files",
            ip,
        )
        .await
    }

    /// The reply's files, oldest first.
    pub async fn reply_files(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<Vec<RecordFile>, StoreError> {
        let (p, _) = self.proposal(scope, id).await?;
        self.files_of(owner(&p)).await
    }

    /// One of the reply's files with its bytes, the read audited.
    pub async fn reply_file(
        &self,
        scope: &Scope,
        id: &str,
        file_id: &str,
        ip: &str,
    ) -> Result<(RecordFile, Vec<u8>), StoreError> {
        let (p, _) = self.proposal(scope, id).await?;
        self.read_file(scope, owner(&p), file_id, "proposal.file_read", ip)
            .await
    }
}
