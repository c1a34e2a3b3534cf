//! Reports of harm, and the referrals and cases they lead to (referrals.rs, cases.rs,
//! sealed.rs, attachments.rs; events.rs consumes what the ledger and visits tell).
//!
//! Who reads a report: the office of its county; the units it was referred to (while the
//! referral is open and for the grace days after); the township's supervisor and the
//! village's director (without who reported); a reporter account its own reports only.
//! The reporter's identity is shown only to the office and the handling units (反家暴法
//! Art. 14). Sealed reports (sexual harm) show their content to named readers and
//! holders of a time-limited grant only; others see that one exists.

mod attachments;
mod cases;
mod events;
mod referrals;
mod sealed;

pub use attachments::{AttachmentFile, ReportAttachment, MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES};
pub use cases::{
    CaseSummary, CaseTaskInput, ConferenceDecision, ConferenceInput, StoredCase, CASE_KIND,
};
pub use referrals::{ReferralTarget, StoredReferral};
pub use sealed::SealedRequest;

use chrono::{DateTime, Datelike};
use serde::{Deserialize, Serialize};
use weibao_domain::access::{Action, Role, Scope};
use weibao_domain::reports::{
    Channel, ChildHint, Report, ReportState, Reporter, Situation, Urgency,
};
use weibao_domain::work::{UnitKind, WorkKind};
use weibao_domain::{DivisionCode, Invalid, Level};

use crate::audit::{append, append_to, AuditEvent};
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::work::units::unit_for;
use crate::work::{
    add_work, add_work_to, clear_notifications, close_work, exec, grant, locate_in, new_id, notify,
    record_step, record_step_to, NewWork, TimelineEntry, WorkOwner,
};

/// The locator's kind of a report.
pub const REPORT_KIND: &str = "report";

/// The sealed part of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDetails {
    pub reporter: Reporter,
    pub child: ChildHint,
    pub description: String,
    pub place: String,
}

/// A report as its reader may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub county_code: String,
    pub id: String,
    pub number: String,
    pub channel: Channel,
    pub situations: Vec<Situation>,
    pub urgency: Urgency,
    pub state: ReportState,
    pub division_code: String,
    pub child_id: Option<String>,
    /// Empty when withheld (sealed); the reporter masked unless `reporter_visible`.
    pub details: ReportDetails,
    pub discovered_at: i64,
    pub reported_at: i64,
    pub filed_by: Option<String>,
    /// The unit of the account that filed it (a reporting institution).
    pub filed_unit_id: Option<String>,
    pub visit_id: Option<String>,
    pub hotline_order: Option<String>,
    pub hotline_due_at: Option<i64>,
    pub sealed: bool,
    pub merged_into: Option<String>,
    pub reply: String,
    pub replied_at: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The reader may see who reported (the office, a handling unit, the reporter).
    pub reporter_visible: bool,
    /// Sealed, and the reader may not read it: only that it exists.
    pub withheld: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReportRow {
    county_code: String,
    id: String,
    number: String,
    channel: String,
    situations: String,
    urgency: String,
    state: String,
    division_code: String,
    child_id: Option<String>,
    details: String,
    discovered_at: i64,
    reported_at: i64,
    filed_by: Option<String>,
    filed_unit_id: Option<String>,
    visit_id: Option<String>,
    hotline_order: Option<String>,
    hotline_due_at: Option<i64>,
    sealed: bool,
    merged_into: Option<String>,
    reply: String,
    replied_at: Option<i64>,
    acknowledged_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

pub(crate) const REPORT_COLUMNS: &str = "county_code, id, number, channel, situations, urgency,
    state, division_code, child_id, details, discovered_at, reported_at, filed_by,
    filed_unit_id, visit_id, hotline_order, hotline_due_at, sealed, merged_into, reply,
    replied_at, acknowledged_at, created_at, updated_at";

/// How far a reader may read a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Everything, who reported included.
    Full,
    /// Everything but who reported.
    Masked,
}

/// A new report, checked by the domain.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub report: Report,
    /// Where it happened or where the child lives (a county at least).
    pub division: DivisionCode,
    /// A child of the ledger, when known.
    pub child_id: Option<String>,
    /// The visit that found the danger (a report opened from a visit).
    pub visit_id: Option<String>,
    /// A 12345 order: its number and the hotline's own deadline.
    pub hotline_order: Option<String>,
    pub hotline_due_at: Option<i64>,
}

/// What a new report was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledReport {
    pub id: String,
    pub number: String,
    pub county_code: String,
    /// The public page's tracking code (shown once to the reporter, kept as a hash).
    pub tracking_code: Option<String>,
}

/// What the public sees by a tracking code: the state and the reply, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicStatus {
    pub number: String,
    pub state: ReportState,
    pub reply: String,
    pub updated_at: i64,
}

/// A report's filters for lists.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub division: Option<DivisionCode>,
    pub state: Option<ReportState>,
    pub urgency: Option<Urgency>,
    pub channel: Option<Channel>,
    /// Open reports only.
    pub open: bool,
    pub page: u32,
    pub per_page: u32,
}

/// A human-readable number: date and six letters (unique per county, retried if taken).
fn report_number(prefix: &str, now: i64) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let bytes: [u8; 6] = crate::crypto::random_bytes();
    let tail: String = bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    let day = DateTime::from_timestamp_millis(now)
        .unwrap_or_default()
        .with_timezone(&weibao_domain::visit::cst());
    format!(
        "{prefix}{:04}{:02}{:02}-{tail}",
        day.year(),
        day.month(),
        day.day()
    )
}

/// A tracking code for the public page: 20 letters and digits (about 100 bits), grouped.
fn tracking_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let bytes: [u8; 20] = crate::crypto::random_bytes();
    let raw: String = bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    format!(
        "{}-{}-{}-{}",
        &raw[0..5],
        &raw[5..10],
        &raw[10..15],
        &raw[15..20]
    )
}

/// A tracking code as typed (spaces, dashes, lower case) to its hash.
pub fn tracking_hash(code: &str) -> String {
    let clean: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    crate::crypto::sm3_hex(format!("weibao-tracking:{clean}").as_bytes())
}

impl ReportRow {
    fn into_report(
        self,
        store: &Store,
        reading: Option<Reading>,
    ) -> Result<StoredReport, StoreError> {
        let details = match reading {
            Some(r) => {
                let plain = store
                    .keys()?
                    .open(&format!("reports.details:{}", self.id), &self.details)?;
                let mut d: ReportDetails = serde_json::from_str(&plain).unwrap_or_default();
                if r == Reading::Masked {
                    d.reporter = d.reporter.masked();
                }
                d
            }
            None => ReportDetails::default(),
        };
        Ok(StoredReport {
            channel: Channel::parse(&self.channel).unwrap_or(Channel::Unit),
            situations: serde_json::from_str::<Vec<String>>(&self.situations)
                .unwrap_or_default()
                .iter()
                .filter_map(|s| Situation::parse(s))
                .collect(),
            urgency: Urgency::parse(&self.urgency).unwrap_or(Urgency::Normal),
            state: ReportState::parse(&self.state).unwrap_or(ReportState::New),
            reporter_visible: reading == Some(Reading::Full),
            withheld: reading.is_none(),
            details,
            county_code: self.county_code,
            id: self.id,
            number: self.number,
            division_code: self.division_code,
            child_id: self.child_id,
            discovered_at: self.discovered_at,
            reported_at: self.reported_at,
            filed_by: self.filed_by,
            filed_unit_id: self.filed_unit_id,
            visit_id: self.visit_id,
            hotline_order: self.hotline_order,
            hotline_due_at: self.hotline_due_at,
            sealed: self.sealed,
            merged_into: self.merged_into,
            reply: self.reply,
            replied_at: self.replied_at,
            acknowledged_at: self.acknowledged_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl Store {
    /// Files a report: the report, its first step on the timeline, the office's triage
    /// (and, when urgent, its acknowledgement and a referral to the police at once), all
    /// in one transaction with the audit entry.
    pub async fn file_report(
        &self,
        scope: &Scope,
        new: NewReport,
        ip: &str,
    ) -> Result<FiledReport, StoreError> {
        scope.check_role(Action::FileReports)?;
        let mut new = new;
        // A ledger child fixes where the report belongs.
        if let Some(child_id) = new.child_id.clone() {
            let child = self
                .child_by_id(&Scope::system(), &child_id, Action::ViewChildren)
                .await
                .map_err(|_| {
                    StoreError::invalid(
                        "child_id",
                        Invalid::new(
                            "child_unknown",
                            "child_id 不是台账中的儿童：不清楚时请不填，在“儿童情况”中写明已知信息",
                        ),
                    )
                })?;
            new.division = child.record.division();
        }
        if new.division.level() < Level::County {
            return Err(StoreError::invalid(
                "division",
                Invalid::new(
                    "division_level",
                    "请选择事发地所在的县（区）、乡镇或村（居）",
                ),
            ));
        }
        if !scope.is_system() && scope.role != Role::Reporter && !scope.reaches(new.division) {
            return Err(StoreError::NotFound);
        }
        if scope.role == Role::Reporter
            && scope
                .home()
                .is_some_and(|h| h.county_code() != new.division.county_code())
        {
            return Err(StoreError::invalid(
                "division",
                Invalid::new(
                    "division_outside",
                    "只能报告本县（区）发生的情况：请联系当地公安机关或拨打 110",
                ),
            ));
        }
        if !self.division_exists(new.division).await? {
            return Err(StoreError::invalid(
                "division",
                Invalid::new(
                    "division_unknown",
                    format!("区划 {} 不在区划库中", new.division.full()),
                ),
            ));
        }
        let public = new.report.channel == Channel::Public;
        let tracking = public.then(tracking_code);
        let filed = self
            .write_report(scope, &new, tracking.as_deref(), ip)
            .await?;
        if let Some(child) = &new.child_id {
            self.child_changed(child);
        }
        Ok(FiledReport {
            tracking_code: tracking,
            ..filed
        })
    }

    /// Writes a report, drawing a new number when the random one is taken (a county's
    /// numbers of a day share one date; at 100k a day a few collide).
    async fn write_report(
        &self,
        scope: &Scope,
        new: &NewReport,
        tracking: Option<&str>,
        ip: &str,
    ) -> Result<FiledReport, StoreError> {
        let mut attempts = 0;
        loop {
            match self.write_report_once(scope, new, tracking, ip).await {
                Err(e) if e.is_unique_violation() && attempts < 4 => attempts += 1,
                other => return other,
            }
        }
    }

    async fn write_report_once(
        &self,
        scope: &Scope,
        new: &NewReport,
        tracking: Option<&str>,
        ip: &str,
    ) -> Result<FiledReport, StoreError> {
        let county = new.division.county_code();
        let now = self.now_ms();
        let r = &new.report;
        let id = new_id();
        let number = report_number("R", now);
        let details = ReportDetails {
            reporter: r.reporter.clone(),
            child: r.child.clone(),
            description: r.description.clone(),
            place: r.place.clone(),
        };
        let sealed_details = self.keys()?.seal(
            &format!("reports.details:{id}"),
            &serde_json::to_string(&details).expect("details serialise"),
        );
        let situations =
            serde_json::to_string(&r.situations.iter().map(|s| s.code()).collect::<Vec<_>>())
                .expect("codes serialise");
        let triage_due = self
            .due(&county, WorkKind::Triage, Some(r.channel.code()), now)
            .await?;
        let ack_due = self
            .due(&county, WorkKind::UrgentAck, Some(r.channel.code()), now)
            .await?;
        // The police have an urgent report as long as the office has to acknowledge it.
        let police_due = self
            .due(&county, WorkKind::UrgentAck, Some(r.channel.code()), now)
            .await?;
        let county_code =
            DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        // Read before the writer is taken: under it, every statement is a round trip that
        // all other writers wait for.
        let actor_unit = match r.channel {
            Channel::Public if scope.is_system() => "群众（网上举报）".to_string(),
            Channel::Visit if scope.is_system() => "走访发现（自动登记）".to_string(),
            _ => self.actor_unit_name(scope).await,
        };
        let mut tx = self.begin().await?;
        let office = unit_for(&mut tx, county_code, UnitKind::Office, now).await?;
        // The report, its triage item, its first step and (when not urgent) the audit
        // entry go to the database as one script: one round trip.
        let mut s = Script::default();
        s.push(
            "INSERT INTO reports (county_code, id, number, channel, situations, urgency, state,
                 division_code, child_id, details, discovered_at, reported_at, filed_by,
                 filed_unit_id, visit_id, hotline_order, hotline_due_at, sealed, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'new', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 $17, $11, $11)",
            vec![
                county.clone().into(),
                id.clone().into(),
                number.clone().into(),
                r.channel.code().into(),
                situations.into(),
                r.urgency.code().into(),
                new.division.full().into(),
                new.child_id.clone().into(),
                sealed_details.into(),
                r.discovered_at.timestamp_millis().into(),
                now.into(),
                (!scope.is_system()).then(|| scope.user_id.clone()).into(),
                scope.unit_id.clone().into(),
                new.visit_id.clone().into(),
                new.hotline_order.clone().into(),
                new.hotline_due_at.into(),
                r.sealed().into(),
            ],
        );
        locate_in(&mut s, &id, &county, REPORT_KIND);
        if let Some(code) = tracking {
            s.push(
                "INSERT INTO report_tracking (hash, county_code, report_id) VALUES ($1, $2, $3)",
                vec![
                    tracking_hash(code).into(),
                    county.clone().into(),
                    id.clone().into(),
                ],
            );
        }
        notify(
            &mut s,
            &county,
            Some(&office.id),
            None,
            &if r.urgency == Urgency::Urgent {
                "您有 1 条紧急报告待处理".to_string()
            } else {
                "您有 1 条新报告待研判".to_string()
            },
            &format!("/reports/{id}"),
            now,
            None,
        );
        add_work_to(
            &mut s,
            &NewWork {
                county: county.clone(),
                kind: WorkKind::Triage,
                subject_kind: REPORT_KIND,
                subject_id: id.clone(),
                title: format!("{}报告待研判", r.channel.label()),
                owner: WorkOwner::Unit(office.id.clone()),
                urgency: r.urgency.rank(),
                due: triage_due,
                sealed: r.sealed(),
            },
            now,
        );
        record_step_to(
            self,
            &mut s,
            &county,
            &id,
            scope,
            &actor_unit,
            "登记报告",
            &format!(
                "来源：{}；紧急程度：{}",
                r.channel.label(),
                r.urgency.label()
            ),
            now,
        )?;
        let audit = AuditEvent::by(scope, "report.file", &id)
            .in_county(&county)
            .from_ip(ip)
            .detail(format!("{} {}", r.channel.code(), number));
        if r.urgency == Urgency::Urgent {
            s.run(tx.conn()).await?;
            self.urgent_path(
                &mut tx,
                scope,
                &county,
                &id,
                new.child_id.as_deref(),
                r.sealed(),
                &office.id,
                ack_due,
                police_due,
                now,
            )
            .await?;
            append(&mut tx, now, &audit).await?;
        } else {
            append_to(&mut tx, &mut s, now, &audit).await?;
            s.run(tx.conn()).await?;
        }
        tx.commit().await?;
        Ok(FiledReport {
            id,
            number,
            county_code: county,
            tracking_code: None,
        })
    }

    /// An urgent report: the office acknowledges within the hour (on top of every office
    /// screen until then), and it goes to the police at once.
    #[allow(clippy::too_many_arguments)]
    async fn urgent_path(
        &self,
        tx: &mut Tx,
        scope: &Scope,
        county: &str,
        report_id: &str,
        child_id: Option<&str>,
        sealed: bool,
        office_id: &str,
        ack_due: weibao_domain::work::Deadline,
        police_due: weibao_domain::work::Deadline,
        now: i64,
    ) -> Result<(), StoreError> {
        add_work(
            tx,
            &NewWork {
                county: county.into(),
                kind: WorkKind::UrgentAck,
                subject_kind: REPORT_KIND,
                subject_id: report_id.into(),
                title: "紧急报告待确认".into(),
                owner: WorkOwner::Unit(office_id.into()),
                urgency: Urgency::Urgent.rank(),
                due: ack_due,
                sealed,
            },
            now,
        )
        .await?;
        let county_code = DivisionCode::parse(county).map_err(|e| StoreError::Config(e.message))?;
        let police = unit_for(tx, county_code, UnitKind::Police, now).await?;
        let already: Option<(String,)> = on!(tx.conn(), |c| {
            sqlx::query_as(
            "SELECT id FROM referrals WHERE county_code = $1 AND report_id = $2 AND to_unit_id = $3
               AND state IN ('pending', 'accepted') LIMIT 1"
        )
        .bind(county)
        .bind(report_id)
        .bind(&police.id)
        .fetch_optional(&mut *c)
        .await
        })?;
        if already.is_none() {
            referrals::insert_referral(
                self,
                tx,
                scope,
                referrals::NewReferral {
                    county: county.into(),
                    report_id: Some(report_id.into()),
                    case_id: None,
                    child_id: child_id.map(String::from),
                    from_unit_id: office_id.into(),
                    to: &police,
                    note: "紧急报告：危险正在发生，请立即出警处置".into(),
                    consent: None,
                    due: police_due,
                    urgency: Urgency::Urgent,
                    sealed,
                },
                now,
            )
            .await?;
            exec(
                tx,
                "UPDATE reports SET state = 'referred' WHERE county_code = $1 AND id = $2 AND state = 'new'",
                vec![county.into(), report_id.into()],
            )
            .await?;
        }
        Ok(())
    }

    /// The name of the unit the caller acts for, for timelines ("朝天区公安局").
    pub(crate) async fn actor_unit_name(&self, scope: &Scope) -> String {
        if let Some(id) = &scope.unit_id {
            if let Ok(Some(u)) = self.unit_by_id(id).await {
                return u.name;
            }
        }
        match scope.role {
            Role::Office => "未保办".into(),
            Role::Supervisor => "儿童督导员".into(),
            Role::Director => "儿童主任".into(),
            _ if scope.is_system() => "系统".into(),
            r => r.label().into(),
        }
    }

    /// How far `scope` may read a report row; None: not at all (404). Sealed rows are
    /// further narrowed by [`Store::sealed_reading`].
    pub(crate) async fn report_reading(
        &self,
        scope: &Scope,
        row: &ReportRow,
    ) -> Result<Option<Reading>, StoreError> {
        if scope.is_system() {
            return Ok(Some(Reading::Full));
        }
        let division = DivisionCode::parse(&row.division_code).map_err(|_| StoreError::NotFound)?;
        let reading = match scope.role {
            // Whoever filed it knows who reported: an institution's account follows its
            // own reports wherever they go; staff only while the report is in their area.
            _ if row.filed_by.as_deref() == Some(&scope.user_id)
                && (scope.role == Role::Reporter || scope.reaches(division)) =>
            {
                Some(Reading::Full)
            }
            Role::Reporter => None,
            Role::Office if scope.reaches(division) => Some(Reading::Full),
            Role::Unit => self
                .unit_has_referral(scope, &row.county_code, &row.id)
                .await?
                .then_some(Reading::Full),
            Role::Supervisor | Role::Director if scope.reaches(division) => Some(Reading::Masked),
            _ => None,
        };
        Ok(reading)
    }

    /// Whether one of the caller's units has (or recently had) a referral of `subject_id`
    /// (a report or case).
    pub(crate) async fn unit_has_referral(
        &self,
        scope: &Scope,
        county: &str,
        subject_id: &str,
    ) -> Result<bool, StoreError> {
        let units = self.units_of(scope).await?;
        if units.is_empty() {
            return Ok(false);
        }
        let grace_from = self.now_ms()
            - self
                .grant_grace_ms(DivisionCode::parse(county).map_err(|_| StoreError::NotFound)?)
                .await?;
        let mut c = self.read().await?;
        for unit in units {
            let row: Option<(i32,)> = on!(c.conn(), |c| sqlx::query_as(
                "SELECT 1 FROM referrals WHERE county_code = $1 AND to_unit_id = $2
                   AND (report_id = $3 OR case_id = $3)
                   AND (state IN ('pending', 'accepted') OR closed_at > $4) LIMIT 1"
            )
            .bind(county)
            .bind(&unit)
            .bind(subject_id)
            .bind(grace_from)
            .fetch_optional(&mut *c)
            .await)?;
            if row.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(crate) async fn report_row(&self, id: &str) -> Result<ReportRow, StoreError> {
        let county = self
            .locate_record(id, REPORT_KIND)
            .await?
            .ok_or(StoreError::NotFound)?;
        let sql =
            format!("SELECT {REPORT_COLUMNS} FROM reports WHERE county_code = $1 AND id = $2");
        let mut c = self.read().await?;
        let row: Option<ReportRow> = on!(c.conn(), |c| sqlx::query_as(&sql)
            .bind(&county)
            .bind(id)
            .fetch_optional(&mut *c)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// A report as the caller may see it (404 when they may not), the read audited.
    pub async fn report(
        &self,
        scope: &Scope,
        id: &str,
        ip: &str,
    ) -> Result<StoredReport, StoreError> {
        let report = self.report_unaudited(scope, id).await?;
        self.audit(
            AuditEvent::by(
                scope,
                if report.withheld {
                    "report.read_withheld"
                } else {
                    "report.read"
                },
                id,
            )
            .in_county(&report.county_code)
            .from_ip(ip),
        )
        .await?;
        Ok(report)
    }

    /// A report just filed, as its filer's answer. The filing's own audit entry
    /// (`report.file`, in the filing's transaction) records what they sent; reading it back
    /// in the same request discloses nothing more, so it writes no second entry (which
    /// would be a second write transaction for every report taken in).
    pub async fn filed_report(
        &self,
        scope: &Scope,
        filed: &FiledReport,
    ) -> Result<StoredReport, StoreError> {
        self.report_unaudited(scope, &filed.id).await
    }

    async fn report_unaudited(&self, scope: &Scope, id: &str) -> Result<StoredReport, StoreError> {
        scope.check_role(Action::ViewReports)?;
        let row = self.report_row(id).await?;
        let reading = self
            .report_reading(scope, &row)
            .await?
            .ok_or(StoreError::NotFound)?;
        let reading = if row.sealed
            && !self
                .may_read_sealed(scope, &row.county_code, &row.id, row.filed_by.as_deref())
                .await?
        {
            None
        } else {
            Some(reading)
        };
        row.into_report(self, reading)
    }

    /// The timeline of a report and its referrals, for a reader who may read the report.
    pub async fn report_timeline(
        &self,
        scope: &Scope,
        report: &StoredReport,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        if report.withheld {
            return Ok(vec![]);
        }
        let mut subjects = vec![report.id.clone()];
        subjects.extend(
            self.referrals_of(scope, &report.county_code, &report.id)
                .await?
                .into_iter()
                .map(|r| r.id),
        );
        let mut entries = self.timeline_of(&report.county_code, &subjects).await?;
        if !report.reporter_visible {
            // The steps may name the reporter: readers without that right see what was
            // done, not the notes.
            for e in &mut entries {
                e.detail = String::new();
            }
        }
        Ok(entries)
    }

    /// Reports the caller may see, newest first; the content of sealed ones withheld.
    pub async fn list_reports(
        &self,
        scope: &Scope,
        filter: &ReportFilter,
    ) -> Result<Vec<StoredReport>, StoreError> {
        scope.check_role(Action::ViewReports)?;
        let per_page = i64::from(filter.per_page.clamp(1, 200));
        let offset = i64::from(filter.page.max(1) - 1) * per_page;
        let mut sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE ");
        let mut binds: Vec<String> = Vec::new();
        let mut push = |cond: &str, v: String, sql: &mut String| {
            binds.push(v);
            sql.push_str(&cond.replace('?', &format!("${}", binds.len())));
        };
        match scope.role {
            Role::Reporter if !scope.is_system() => {
                push("filed_by = ?", scope.user_id.clone(), &mut sql);
            }
            Role::Unit if !scope.is_system() => {
                // The reports referred to the caller's unit.
                let unit = scope.unit_id.clone().unwrap_or_default();
                push(
                    "id IN (SELECT report_id FROM referrals WHERE to_unit_id = ? AND report_id IS NOT NULL)",
                    unit,
                    &mut sql,
                );
            }
            _ => {
                let within = filter.division.or(scope.home());
                match within {
                    Some(w) => {
                        if !scope.reaches(w) {
                            return Err(StoreError::NotFound);
                        }
                        let (lo, hi) = w.subtree_bounds();
                        push("county_code >= ?", lo[..6].to_string(), &mut sql);
                        sql.push_str(" AND ");
                        push("county_code <= ?", hi[..6].to_string(), &mut sql);
                        sql.push_str(" AND ");
                        push("division_code >= ?", lo, &mut sql);
                        sql.push_str(" AND ");
                        push("division_code <= ?", hi, &mut sql);
                    }
                    None => sql.push_str("1 = 1"),
                }
            }
        }
        if let Some(s) = filter.state {
            sql.push_str(" AND ");
            push("state = ?", s.code().into(), &mut sql);
        }
        if filter.open {
            sql.push_str(" AND state NOT IN ('closed', 'merged')");
        }
        if let Some(u) = filter.urgency {
            sql.push_str(" AND ");
            push("urgency = ?", u.code().into(), &mut sql);
        }
        if let Some(c) = filter.channel {
            sql.push_str(" AND ");
            push("channel = ?", c.code().into(), &mut sql);
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC LIMIT {per_page} OFFSET {offset}"
        ));
        let rows: Vec<ReportRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| {
                let mut q = sqlx::query_as(&sql);
                for b in &binds {
                    q = q.bind(b);
                }
                q.fetch_all(&mut *c).await
            })?
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(reading) = self.report_reading(scope, &row).await? else {
                continue;
            };
            let reading = if row.sealed
                && !self
                    .may_read_sealed(scope, &row.county_code, &row.id, row.filed_by.as_deref())
                    .await?
            {
                None
            } else {
                Some(reading)
            };
            out.push(row.into_report(self, reading)?);
        }
        Ok(out)
    }

    /// The reports about a ledger child the caller may see (for the child's page).
    pub async fn child_reports(
        &self,
        scope: &Scope,
        child_id: &str,
    ) -> Result<Vec<StoredReport>, StoreError> {
        scope.check_role(Action::ViewReports)?;
        let child = self
            .child_by_id(scope, child_id, Action::ViewChildren)
            .await?;
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE county_code = $1 AND child_id = $2 ORDER BY created_at DESC"
        );
        let rows: Vec<ReportRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&child.county_code)
                .bind(child_id)
                .fetch_all(&mut *c)
                .await)?
        };
        let mut out = Vec::new();
        for row in rows {
            if let Some(reading) = self.report_reading(scope, &row).await? {
                let reading = if row.sealed
                    && !self
                        .may_read_sealed(scope, &row.county_code, &row.id, row.filed_by.as_deref())
                        .await?
                {
                    None
                } else {
                    Some(reading)
                };
                out.push(row.into_report(self, reading)?);
            }
        }
        Ok(out)
    }

    /// Open reports about the same child (or with the same child 身份证号 given): offered
    /// to the handler to merge or keep apart, except those already kept apart.
    pub async fn possible_duplicates(
        &self,
        scope: &Scope,
        report: &StoredReport,
    ) -> Result<Vec<StoredReport>, StoreError> {
        if report.withheld || scope.role != Role::Office && !scope.is_system() {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE county_code = $1 AND id <> $2
               AND state NOT IN ('closed', 'merged') AND child_id = $3 ORDER BY created_at LIMIT 20"
        );
        let Some(child) = &report.child_id else {
            return Ok(vec![]);
        };
        let rows: Vec<ReportRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(&report.county_code)
                .bind(&report.id)
                .bind(child)
                .fetch_all(&mut *c)
                .await)?
        };
        let kept = self
            .timeline_of(&report.county_code, std::slice::from_ref(&report.id))
            .await?;
        let mut out = Vec::new();
        for row in rows {
            if kept
                .iter()
                .any(|e| e.action == "分开处理" && e.detail.contains(&row.number))
            {
                continue;
            }
            // A sealed duplicate shows only that it exists, unless the caller may read it.
            let reading = self.report_reading(scope, &row).await?;
            out.push(row.into_report(self, reading)?);
        }
        Ok(out)
    }

    /// Loads a report for a change by the office of its county (or the system).
    async fn report_for_office(&self, scope: &Scope, id: &str) -> Result<ReportRow, StoreError> {
        scope.check_role(Action::TriageReports)?;
        let row = self.report_row(id).await?;
        let division = DivisionCode::parse(&row.division_code).map_err(|_| StoreError::NotFound)?;
        scope.check(Action::TriageReports, division)?;
        Ok(row)
    }

    /// Triage: the office sets how urgent a report is. Made urgent, it goes to the police
    /// at once and waits for an acknowledgement.
    pub async fn triage_report(
        &self,
        scope: &Scope,
        id: &str,
        urgency: Urgency,
        note: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        if note.chars().count() > 2000 {
            return Err(StoreError::invalid(
                "note",
                Invalid::new("too_long", "研判意见最多 2000 字"),
            ));
        }
        let row = self.report_for_office(scope, id).await?;
        let state = ReportState::parse(&row.state).unwrap_or(ReportState::New);
        if !state.is_open() {
            return Err(StoreError::Conflict {
                field: "id",
                code: "report_closed",
                message: format!("该报告{}，不能再研判", state.label()),
            });
        }
        let now = self.now_ms();
        let county = row.county_code.clone();
        let was = Urgency::parse(&row.urgency).unwrap_or(Urgency::Normal);
        let ack_due = self
            .due(&county, WorkKind::UrgentAck, Some(&row.channel), now)
            .await?;
        let police_due = self
            .due(&county, WorkKind::UrgentAck, Some(&row.channel), now)
            .await?;
        let county_code =
            DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "UPDATE reports SET urgency = $3, state = CASE WHEN state = 'new' THEN 'triaged' ELSE state END,
                 updated_at = $4 WHERE county_code = $1 AND id = $2",
            vec![county.clone().into(), id.into(), urgency.code().into(), now.into()],
        )
        .await?;
        exec(
            &mut tx,
            "UPDATE work_items SET urgency = $3 WHERE county_code = $1 AND subject_id = $2 AND state = 'open'",
            vec![county.clone().into(), id.into(), i64::from(urgency.rank()).into()],
        )
        .await?;
        close_work(&mut tx, &county, id, &[WorkKind::Triage], now).await?;
        let mut s = Script::default();
        clear_notifications(&mut s, &county, &format!("/reports/{id}"), now);
        s.run(tx.conn()).await?;
        if urgency == Urgency::Urgent && was != Urgency::Urgent {
            let office = unit_for(&mut tx, county_code, UnitKind::Office, now).await?;
            self.urgent_path(
                &mut tx,
                scope,
                &county,
                id,
                row.child_id.as_deref(),
                row.sealed,
                &office.id,
                ack_due,
                police_due,
                now,
            )
            .await?;
        }
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &county,
            id,
            scope,
            &unit,
            "研判",
            &format!("紧急程度：{}。{}", urgency.label(), note.trim()),
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "report.triage", id)
                .in_county(&county)
                .from_ip(ip)
                .detail(urgency.code()),
        )
        .await?;
        tx.commit().await
    }

    /// The office acknowledges an urgent report: it leaves the top of the office screens.
    pub async fn acknowledge_report(
        &self,
        scope: &Scope,
        id: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        let row = self.report_for_office(scope, id).await?;
        if row.acknowledged_at.is_some() {
            return Ok(());
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "UPDATE reports SET acknowledged_at = $3, acknowledged_by = $4, updated_at = $3
             WHERE county_code = $1 AND id = $2",
            vec![
                row.county_code.clone().into(),
                id.into(),
                now.into(),
                scope.username.clone().into(),
            ],
        )
        .await?;
        close_work(&mut tx, &row.county_code, id, &[WorkKind::UrgentAck], now).await?;
        let mut s = Script::default();
        clear_notifications(&mut s, &row.county_code, &format!("/reports/{id}"), now);
        s.run(tx.conn()).await?;
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &row.county_code,
            id,
            scope,
            &unit,
            "确认紧急报告",
            "",
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "report.acknowledge", id)
                .in_county(&row.county_code)
                .from_ip(ip),
        )
        .await?;
        tx.commit().await
    }

    /// Urgent reports within the caller's reach that no one has acknowledged yet (the
    /// banner on every office page).
    pub async fn unacknowledged_urgent(&self, scope: &Scope) -> Result<i64, StoreError> {
        if scope.role != Role::Office {
            return Ok(0);
        }
        let units = self.units_of(scope).await?;
        let mut n = 0;
        let mut c = self.read().await?;
        for unit in units {
            let (count,): (i64,) = on!(c.conn(), |c| {
                sqlx::query_as(
                "SELECT COUNT(*) FROM work_items WHERE owner_unit_id = $1 AND state = 'open' AND kind = 'urgent_ack'"
            )
            .bind(&unit)
            .fetch_one(&mut *c)
            .await
            })?;
            n += count;
        }
        Ok(n)
    }

    /// Links a report to a ledger child (a child first known only by what was said, now
    /// found): units with open referrals on the report may read the child.
    pub async fn link_report_child(
        &self,
        scope: &Scope,
        id: &str,
        child_id: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        let row = self.report_for_office(scope, id).await?;
        // The child is named in the body: unknown (or out of reach), it is a bad value
        // (422), not a missing report (404).
        let child = self
            .child_by_id(scope, child_id, Action::ViewChildren)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => StoreError::invalid(
                    "child_id",
                    Invalid::new(
                        "child_unknown",
                        "child_id 应为本辖区台账中一名儿童的编号（id）",
                    ),
                ),
                other => other,
            })?;
        if child.county_code != row.county_code {
            return Err(StoreError::invalid(
                "child_id",
                Invalid::new(
                    "child_elsewhere",
                    "该儿童不在本报告所属的县（区）：请先办理迁移，或核对儿童",
                ),
            ));
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "UPDATE reports SET child_id = $3, updated_at = $4 WHERE county_code = $1 AND id = $2",
            vec![
                row.county_code.clone().into(),
                id.into(),
                child_id.into(),
                now.into(),
            ],
        )
        .await?;
        let open: Vec<(String, String)> = on!(tx.conn(), |c| sqlx::query_as(
            "SELECT id, to_unit_id FROM referrals WHERE county_code = $1 AND report_id = $2
               AND state IN ('pending', 'accepted')"
        )
        .bind(&row.county_code)
        .bind(id)
        .fetch_all(&mut *c)
        .await)?;
        for (referral, unit) in open {
            grant(&mut tx, &row.county_code, child_id, &unit, &referral).await?;
        }
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &row.county_code,
            id,
            scope,
            &unit,
            "关联台账儿童",
            "",
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "report.link_child", id)
                .in_county(&row.county_code)
                .from_ip(ip)
                .detail(child_id),
        )
        .await?;
        tx.commit().await
    }

    /// Merges a report into another about the same matter (a duplicate), or keeps two
    /// apart; either way the reason is kept.
    pub async fn merge_report(
        &self,
        scope: &Scope,
        id: &str,
        other: &str,
        merge: bool,
        reason: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        let row = self.report_for_office(scope, id).await?;
        // The other report is named in the body: unknown, it is a bad value (422), not a
        // missing path (404).
        let into = self
            .report_for_office(scope, other)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => StoreError::invalid(
                    "other",
                    Invalid::new("report_unknown", "other 应为本县另一份报告的编号（id）"),
                ),
                e => e,
            })?;
        if id == other || row.county_code != into.county_code {
            return Err(StoreError::invalid(
                "other",
                Invalid::new("merge_target", "请选择本县的另一份报告"),
            ));
        }
        if reason.trim().is_empty() || reason.chars().count() > 1000 {
            return Err(StoreError::invalid(
                "reason",
                Invalid::new(
                    "reason_required",
                    "请写明合并或分开处理的理由（1000 字以内）",
                ),
            ));
        }
        let reason = reason.trim();
        if merge && !ReportState::parse(&row.state).is_some_and(|s| s.is_open()) {
            return Err(StoreError::Conflict {
                field: "id",
                code: "report_closed",
                message: "该报告已办结或已合并".into(),
            });
        }
        let now = self.now_ms();
        let county = row.county_code.clone();
        let mut tx = self.begin().await?;
        let unit = self.actor_unit_name(scope).await;
        if merge {
            exec(
                &mut tx,
                "UPDATE reports SET state = 'merged', merged_into = $3, updated_at = $4
                 WHERE county_code = $1 AND id = $2",
                vec![county.clone().into(), id.into(), other.into(), now.into()],
            )
            .await?;
            close_work(&mut tx, &county, id, &WorkKind::ALL, now).await?;
            record_step(
                self,
                &mut tx,
                &county,
                id,
                scope,
                &unit,
                "合并",
                &format!("并入 {}：{reason}", into.number),
                now,
            )
            .await?;
            record_step(
                self,
                &mut tx,
                &county,
                other,
                scope,
                &unit,
                "合并",
                &format!("{} 并入本报告：{reason}", row.number),
                now,
            )
            .await?;
        } else {
            record_step(
                self,
                &mut tx,
                &county,
                id,
                scope,
                &unit,
                "分开处理",
                &format!("与 {} 分开处理：{reason}", into.number),
                now,
            )
            .await?;
            record_step(
                self,
                &mut tx,
                &county,
                other,
                scope,
                &unit,
                "分开处理",
                &format!("与 {} 分开处理：{reason}", row.number),
                now,
            )
            .await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(
                scope,
                if merge {
                    "report.merge"
                } else {
                    "report.keep_apart"
                },
                id,
            )
            .in_county(&county)
            .from_ip(ip)
            .detail(other),
        )
        .await?;
        tx.commit().await
    }

    /// The office's reply to the reporter (the public sees it by tracking code); with
    /// `close`, the report is done.
    pub async fn reply_report(
        &self,
        scope: &Scope,
        id: &str,
        reply: &str,
        close: bool,
        ip: &str,
    ) -> Result<(), StoreError> {
        let row = self.report_for_office(scope, id).await?;
        // Counted as sent: the API document's maxLength says the same.

        let reply_sent = reply.chars().count();

        let reply = reply.trim();
        if reply.is_empty() || reply_sent > 2000 {
            return Err(StoreError::invalid(
                "reply",
                Invalid::new("reply_required", "请填写答复内容（2000 字以内）；答复会让报告人看到，请勿写入儿童和报告人的身份信息"),
            ));
        }
        // A report closed with its case may still be answered (the reporter waits for
        // it); a merged one is answered where it was merged.
        if ReportState::parse(&row.state) == Some(ReportState::Merged) {
            return Err(StoreError::Conflict {
                field: "id",
                code: "report_merged",
                message: "该报告已合并到另一份报告，请在合并后的报告中答复".into(),
            });
        }
        let now = self.now_ms();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "UPDATE reports SET reply = $3, replied_at = $4, updated_at = $4, state = $5
             WHERE county_code = $1 AND id = $2",
            vec![
                row.county_code.clone().into(),
                id.into(),
                reply.into(),
                now.into(),
                match ReportState::parse(&row.state) {
                    _ if close => ReportState::Closed,
                    // A report in a case closes with the case; a closed one stays closed.
                    Some(s @ (ReportState::InCase | ReportState::Closed)) => s,
                    _ => ReportState::Replied,
                }
                .code()
                .into(),
            ],
        )
        .await?;
        if close {
            close_work(
                &mut tx,
                &row.county_code,
                id,
                &[WorkKind::Triage, WorkKind::UrgentAck],
                now,
            )
            .await?;
        }
        let unit = self.actor_unit_name(scope).await;
        record_step(
            self,
            &mut tx,
            &row.county_code,
            id,
            scope,
            &unit,
            if close {
                "办结并答复"
            } else {
                "答复报告人"
            },
            reply,
            now,
        )
        .await?;
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "report.reply", id)
                .in_county(&row.county_code)
                .from_ip(ip)
                .detail(if close { "close" } else { "reply" }),
        )
        .await?;
        tx.commit().await
    }

    /// The 12345 order numbers of a county already filed (a re-import skips them).
    pub async fn existing_hotline_orders(
        &self,
        county: &str,
        numbers: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut found = std::collections::HashSet::new();
        let mut c = self.read().await?;
        for chunk in numbers.chunks(200) {
            let list = (0..chunk.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT hotline_order FROM reports WHERE county_code = $1 AND hotline_order IN ({list})"
            );
            let rows: Vec<(String,)> = on!(c.conn(), |c| {
                let mut q = sqlx::query_as(&sql).bind(county);
                for n in chunk {
                    q = q.bind(n);
                }
                q.fetch_all(&mut *c).await
            })?;
            found.extend(rows.into_iter().map(|(n,)| n));
        }
        Ok(found)
    }

    /// What the public sees by a tracking code: the state and the reply (None for an
    /// unknown code). Looking up is audited by the code's hash.
    pub async fn track_report(
        &self,
        code: &str,
        ip: &str,
    ) -> Result<Option<PublicStatus>, StoreError> {
        let hash = tracking_hash(code);
        let found: Option<(String, String)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT county_code, report_id FROM report_tracking WHERE hash = $1"
            )
            .bind(&hash)
            .fetch_optional(&mut *c)
            .await)?
        };
        let Some((county, id)) = found else {
            return Ok(None);
        };
        let row: Option<(String, String, String, i64)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| {
                sqlx::query_as(
                "SELECT number, state, reply, updated_at FROM reports WHERE county_code = $1 AND id = $2"
            )
            .bind(&county)
            .bind(&id)
            .fetch_optional(&mut *c)
            .await
            })?
        };
        self.audit(AuditEvent {
            county_code: county,
            actor_id: String::new(),
            actor_name: "public".into(),
            action: "report.track".into(),
            target: id,
            outcome: "ok".into(),
            ip: ip.into(),
            detail: String::new(),
        })
        .await?;
        Ok(row.map(|(number, state, reply, updated_at)| PublicStatus {
            number,
            state: ReportState::parse(&state).unwrap_or(ReportState::New),
            reply,
            updated_at,
        }))
    }
}
