//! Referrals (转介): a report or case sent to a unit's inbox (not to one person). The unit
//! accepts (one acceptance, however many liaisons press the button at once: a primary
//! key, not a check), returns it with a reason, or passes it on; the sender may revoke
//! it; an accepted referral ends with the unit's reply. Each has its own deadline; the
//! unit reads the child while it is open and for the grace days after.

use serde::{Deserialize, Serialize};
use weibao_domain::access::{Action, Scope};
use weibao_domain::reports::referral::{
    step, Consent, Party, ReferralState, ReferralStep, StepRefused,
};
use weibao_domain::reports::Urgency;
use weibao_domain::work::{Deadline, UnitKind, WorkKind};
use weibao_domain::{DivisionCode, Invalid};

use super::{CASE_KIND, REPORT_KIND};
use crate::audit::{append, AuditEvent};
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::script::Script;
use crate::work::units::{unit_for, Unit};
use crate::work::{
    add_work, clear_notifications, close_work, end_grants, exec, grant, locate_in, new_id, notify,
    record_step, NewWork, WorkOwner,
};

/// The locator's kind of a referral.
pub const REFERRAL_KIND: &str = "referral";

/// Where a referral goes: a unit of the registry, or the county's unit of a kind (made
/// when first needed), or a township's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferralTarget {
    Unit(String),
    Kind(UnitKind),
    Township(DivisionCode),
}

/// The sealed part of a referral.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReferralDetails {
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub closed_reason: String,
}

/// A referral as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReferral {
    pub county_code: String,
    pub id: String,
    pub report_id: Option<String>,
    pub case_id: Option<String>,
    pub child_id: Option<String>,
    pub from_unit_id: String,
    pub from_unit_name: String,
    pub to_unit_id: String,
    pub to_unit_name: String,
    pub to_unit_kind: UnitKind,
    pub state: ReferralState,
    pub note: String,
    pub consent: Option<Consent>,
    pub reply: String,
    pub closed_reason: String,
    pub due_at: i64,
    pub reply_due_at: Option<i64>,
    pub replied_at: Option<i64>,
    pub accepted_by: Option<String>,
    pub accepted_at: Option<i64>,
    pub forwarded_to: Option<String>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ReferralRow {
    county_code: String,
    id: String,
    report_id: Option<String>,
    case_id: Option<String>,
    child_id: Option<String>,
    from_unit_id: String,
    to_unit_id: String,
    state: String,
    details: String,
    due_at: i64,
    reply_due_at: Option<i64>,
    replied_at: Option<i64>,
    forwarded_to: Option<String>,
    created_at: i64,
    closed_at: Option<i64>,
    from_name: Option<String>,
    to_name: Option<String>,
    to_kind: Option<String>,
    accepted_by: Option<String>,
    accepted_at: Option<i64>,
}

const REFERRAL_SELECT: &str = "SELECT r.county_code, r.id, r.report_id, r.case_id, r.child_id,
    r.from_unit_id, r.to_unit_id, r.state, r.details, r.due_at, r.reply_due_at, r.replied_at,
    r.forwarded_to, r.created_at, r.closed_at, f.name AS from_name, t.name AS to_name,
    t.kind AS to_kind, a.accepted_by, a.accepted_at
    FROM referrals r
    LEFT JOIN units f ON f.id = r.from_unit_id
    LEFT JOIN units t ON t.id = r.to_unit_id
    LEFT JOIN referral_acceptances a ON a.county_code = r.county_code AND a.referral_id = r.id";

impl ReferralRow {
    fn into_referral(self, store: &Store) -> Result<StoredReferral, StoreError> {
        let plain = store
            .keys()?
            .open(&format!("referrals.details:{}", self.id), &self.details)?;
        let d: ReferralDetails = serde_json::from_str(&plain).unwrap_or_default();
        Ok(StoredReferral {
            state: ReferralState::parse(&self.state).unwrap_or(ReferralState::Pending),
            to_unit_kind: self
                .to_kind
                .as_deref()
                .and_then(UnitKind::parse)
                .unwrap_or(UnitKind::Other),
            from_unit_name: self.from_name.unwrap_or_default(),
            to_unit_name: self.to_name.unwrap_or_default(),
            note: d.note,
            consent: d.consent,
            reply: d.reply,
            closed_reason: d.closed_reason,
            county_code: self.county_code,
            id: self.id,
            report_id: self.report_id,
            case_id: self.case_id,
            child_id: self.child_id,
            from_unit_id: self.from_unit_id,
            to_unit_id: self.to_unit_id,
            due_at: self.due_at,
            reply_due_at: self.reply_due_at,
            replied_at: self.replied_at,
            accepted_by: self.accepted_by,
            accepted_at: self.accepted_at,
            forwarded_to: self.forwarded_to,
            created_at: self.created_at,
            closed_at: self.closed_at,
        })
    }
}

/// A referral to write.
pub(crate) struct NewReferral<'a> {
    pub county: String,
    pub report_id: Option<String>,
    pub case_id: Option<String>,
    pub child_id: Option<String>,
    pub from_unit_id: String,
    pub to: &'a Unit,
    pub note: String,
    pub consent: Option<Consent>,
    pub due: Deadline,
    pub urgency: Urgency,
    pub sealed: bool,
}

/// Writes a referral in `tx`: its row, its response deadline in the unit's inbox, the
/// unit's access to the child, the unit told, the step on the subject's timeline.
pub(crate) async fn insert_referral(
    store: &Store,
    tx: &mut Tx,
    scope: &Scope,
    r: NewReferral<'_>,
    now: i64,
) -> Result<String, StoreError> {
    let id = new_id();
    let details = ReferralDetails {
        note: r.note.clone(),
        consent: r.consent.clone(),
        ..Default::default()
    };
    let sealed = store.keys()?.seal(
        &format!("referrals.details:{id}"),
        &serde_json::to_string(&details).expect("details serialise"),
    );
    let mut s = Script::default();
    s.push(
        "INSERT INTO referrals (county_code, id, report_id, case_id, child_id, from_unit_id,
             to_unit_id, state, details, due_at, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $11)",
        vec![
            r.county.clone().into(),
            id.clone().into(),
            r.report_id.clone().into(),
            r.case_id.clone().into(),
            r.child_id.clone().into(),
            r.from_unit_id.clone().into(),
            r.to.id.clone().into(),
            sealed.into(),
            r.due.at_ms.into(),
            scope.username.clone().into(),
            now.into(),
        ],
    );
    locate_in(&mut s, &id, &r.county, REFERRAL_KIND);
    notify(
        &mut s,
        &r.county,
        Some(&r.to.id),
        None,
        &if r.urgency == Urgency::Urgent {
            "您有 1 条紧急转介待处理，请立即接收".to_string()
        } else {
            "您有 1 条新的转介待接收".to_string()
        },
        &format!("/referrals/{id}"),
        now,
        None,
    );
    s.run(tx.conn()).await?;
    add_work(
        tx,
        &NewWork {
            county: r.county.clone(),
            kind: WorkKind::ReferralResponse,
            subject_kind: REFERRAL_KIND,
            subject_id: id.clone(),
            title: if r.urgency == Urgency::Urgent {
                "紧急转介待接收".into()
            } else {
                "转介待接收".into()
            },
            owner: WorkOwner::Unit(r.to.id.clone()),
            urgency: r.urgency.rank(),
            due: r.due,
            sealed: r.sealed,
        },
        now,
    )
    .await?;
    if let Some(child) = &r.child_id {
        grant(tx, &r.county, child, &r.to.id, &id).await?;
    }
    let unit = store.actor_unit_name(scope).await;
    let subject = r
        .report_id
        .as_deref()
        .or(r.case_id.as_deref())
        .unwrap_or(&id);
    record_step(
        store,
        tx,
        &r.county,
        subject,
        scope,
        &unit,
        "转介",
        &format!("转介至 {}：{}", r.to.name, r.note),
        now,
    )
    .await?;
    Ok(id)
}

impl Store {
    /// The unit a referral goes to, in `county`.
    async fn target_unit(
        &self,
        tx: &mut Tx,
        county: DivisionCode,
        target: &ReferralTarget,
        now: i64,
    ) -> Result<Unit, StoreError> {
        match target {
            ReferralTarget::Unit(id) => {
                let unit = self
                    .unit_by_id(id)
                    .await?
                    .filter(|u| u.active)
                    .ok_or_else(|| {
                        StoreError::invalid(
                            "to_unit",
                            Invalid::new(
                                "unit_unknown",
                                "接收单位不存在或已停用：请从单位列表中选择",
                            ),
                        )
                    })?;
                if unit.county_code != county.county_code() {
                    return Err(StoreError::invalid(
                        "to_unit",
                        Invalid::new("unit_elsewhere", "只能转介给本县（区）的单位"),
                    ));
                }
                Ok(unit)
            }
            ReferralTarget::Kind(kind) if kind.one_per_county() => {
                unit_for(tx, county, *kind, now).await
            }
            ReferralTarget::Kind(kind) => Err(StoreError::invalid(
                "to_unit",
                Invalid::new(
                    "unit_kind_named",
                    format!("{}有多家：请按单位选择（to_unit_id）", kind.label()),
                ),
            )),
            ReferralTarget::Township(t) => {
                if t.county_code() != county.county_code()
                    || t.level() != weibao_domain::Level::Township
                {
                    return Err(StoreError::invalid(
                        "to_unit",
                        Invalid::new("township", "请选择本县（区）的乡镇（街道），9 位代码"),
                    ));
                }
                unit_for(tx, *t, UnitKind::Township, now).await
            }
        }
    }

    /// Refers a report or case to a unit. A non-government agency needs the guardian's or
    /// the child's consent, or the reason to go without.
    #[allow(clippy::too_many_arguments)]
    pub async fn refer(
        &self,
        scope: &Scope,
        subject_id: &str,
        target: ReferralTarget,
        note: &str,
        consent_by: Option<&str>,
        consent_note: &str,
        ip: &str,
    ) -> Result<StoredReferral, StoreError> {
        scope.check_role(Action::TriageReports)?;
        let (county, report_id, case_id, child_id, channel, sealed, urgency, division) =
            if let Some(county) = self.locate_record(subject_id, REPORT_KIND).await? {
                let row = self.report_row(subject_id).await?;
                let state = weibao_domain::reports::ReportState::parse(&row.state);
                if !state.is_some_and(|s| s.is_open()) {
                    return Err(StoreError::Conflict {
                        field: "id",
                        code: "report_closed",
                        message: "该报告已办结或已合并，不能转介".into(),
                    });
                }
                (
                    county,
                    Some(subject_id.to_string()),
                    None,
                    row.child_id.clone(),
                    row.channel.clone(),
                    row.sealed,
                    Urgency::parse(&row.urgency).unwrap_or(Urgency::Normal),
                    row.division_code.clone(),
                )
            } else if let Some(county) = self.locate_record(subject_id, CASE_KIND).await? {
                let case = self.case_row(&county, subject_id).await?;
                (
                    county,
                    None,
                    Some(subject_id.to_string()),
                    case.child_id.clone(),
                    "case".to_string(),
                    case.sealed,
                    Urgency::Normal,
                    case.division_code.clone(),
                )
            } else {
                return Err(StoreError::NotFound);
            };
        let division_code = DivisionCode::parse(&division).map_err(|_| StoreError::NotFound)?;
        scope.check(Action::TriageReports, division_code)?;
        // Counted as sent: the API document's maxLength says the same.

        let note_sent = note.chars().count();

        let note = note.trim();
        if note.is_empty() || note_sent > 2000 {
            return Err(StoreError::invalid(
                "note",
                Invalid::new(
                    "note_required",
                    "请写明转介事由和需要接收单位做什么（2000 字以内）",
                ),
            ));
        }
        let now = self.now_ms();
        let county_code =
            DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        let due = self
            .due(&county, WorkKind::ReferralResponse, Some(&channel), now)
            .await?;
        let mut tx = self.begin().await?;
        let to = self.target_unit(&mut tx, county_code, &target, now).await?;
        let consent = if to.kind.needs_consent() {
            Some(
                Consent::check(consent_by, consent_note)
                    .map_err(|e| StoreError::invalid("consent", e))?,
            )
        } else {
            None
        };
        let office = unit_for(&mut tx, county_code, UnitKind::Office, now).await?;
        if to.id == office.id {
            return Err(StoreError::invalid(
                "to_unit",
                Invalid::new("unit_self", "不能转介给未保办自己"),
            ));
        }
        let id = insert_referral(
            self,
            &mut tx,
            scope,
            NewReferral {
                county: county.clone(),
                report_id: report_id.clone(),
                case_id,
                child_id,
                from_unit_id: office.id.clone(),
                to: &to,
                note: note.into(),
                consent,
                due,
                urgency,
                sealed,
            },
            now,
        )
        .await?;
        if let Some(report) = &report_id {
            exec(
                &mut tx,
                "UPDATE reports SET state = CASE WHEN state IN ('new', 'triaged') THEN 'referred' ELSE state END,
                     updated_at = $3 WHERE county_code = $1 AND id = $2",
                vec![county.clone().into(), report.clone().into(), now.into()],
            )
            .await?;
            close_work(&mut tx, &county, report, &[WorkKind::Triage], now).await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "referral.create", &id)
                .in_county(&county)
                .from_ip(ip)
                .detail(format!("{subject_id} -> {}", to.id)),
        )
        .await?;
        tx.commit().await?;
        self.referral_row(&county, &id).await
    }

    async fn referral_row(&self, county: &str, id: &str) -> Result<StoredReferral, StoreError> {
        let sql = format!("{REFERRAL_SELECT} WHERE r.county_code = $1 AND r.id = $2");
        let row: Option<ReferralRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(county)
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?
        };
        row.ok_or(StoreError::NotFound)?.into_referral(self)
    }

    /// The caller's part in a referral: receiver, sender, or the office of its county
    /// (which may read it and revoke it as the sender does).
    async fn party(&self, scope: &Scope, r: &StoredReferral) -> Result<Option<Party>, StoreError> {
        if scope.is_system() {
            return Ok(Some(Party::Sender));
        }
        let units = self.units_of(scope).await?;
        if units.contains(&r.to_unit_id) {
            return Ok(Some(Party::Receiver));
        }
        if units.contains(&r.from_unit_id) {
            return Ok(Some(Party::Sender));
        }
        let county = DivisionCode::parse(&r.county_code).map_err(|_| StoreError::NotFound)?;
        if scope.role == weibao_domain::access::Role::Office && scope.reaches(county) {
            return Ok(Some(Party::Sender));
        }
        Ok(None)
    }

    /// A referral the caller sent or received (or the office of its county).
    pub async fn referral(&self, scope: &Scope, id: &str) -> Result<StoredReferral, StoreError> {
        scope.check_role(Action::ViewReports)?;
        let county = self
            .locate_record(id, REFERRAL_KIND)
            .await?
            .ok_or(StoreError::NotFound)?;
        let r = self.referral_row(&county, id).await?;
        if self.party(scope, &r).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        Ok(r)
    }

    /// The referrals of a report or case, for a reader of it.
    pub async fn referrals_of(
        &self,
        _scope: &Scope,
        county: &str,
        subject_id: &str,
    ) -> Result<Vec<StoredReferral>, StoreError> {
        let sql = format!(
            "{REFERRAL_SELECT} WHERE r.county_code = $1 AND (r.report_id = $2 OR r.case_id = $2)
             ORDER BY r.created_at"
        );
        let rows: Vec<ReferralRow> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(&sql)
                .bind(county)
                .bind(subject_id)
                .fetch_all(&mut *c)
                .await)?
        };
        rows.into_iter().map(|r| r.into_referral(self)).collect()
    }

    /// The referrals sent to the caller's units, newest first (open ones first).
    pub async fn incoming_referrals(
        &self,
        scope: &Scope,
        open_only: bool,
    ) -> Result<Vec<StoredReferral>, StoreError> {
        scope.check_role(Action::HandleReferrals)?;
        let units = self.units_of(scope).await?;
        let mut out = Vec::new();
        let sql = format!(
            "{REFERRAL_SELECT} WHERE r.to_unit_id = $1 {} ORDER BY r.created_at DESC LIMIT 200",
            if open_only {
                "AND r.state IN ('pending', 'accepted')"
            } else {
                ""
            }
        );
        for unit in units {
            let rows: Vec<ReferralRow> = {
                let mut c = self.read().await?;
                on!(c.conn(), |c| sqlx::query_as(&sql)
                    .bind(&unit)
                    .fetch_all(&mut *c)
                    .await)?
            };
            for r in rows {
                out.push(r.into_referral(self)?);
            }
        }
        out.sort_by(|a, b| {
            b.state
                .is_open()
                .cmp(&a.state.is_open())
                .then(b.created_at.cmp(&a.created_at))
        });
        Ok(out)
    }

    /// A step on a referral: accept, return, pass on (to `forward_to`), revoke, or
    /// complete with the reply.
    pub async fn referral_step(
        &self,
        scope: &Scope,
        id: &str,
        what: ReferralStep,
        text: &str,
        forward_to: Option<ReferralTarget>,
        ip: &str,
    ) -> Result<StoredReferral, StoreError> {
        scope.check_role(Action::HandleReferrals)?;
        let r = self.referral(scope, id).await?;
        let party = self.party(scope, &r).await?.ok_or(StoreError::NotFound)?;
        let next = step(r.state, what, party, text).map_err(|e| match e {
            StepRefused::NotYours(_) => StoreError::Forbidden,
            StepRefused::State(m) => StoreError::Conflict {
                field: "id",
                code: "referral_state",
                message: m,
            },
            StepRefused::Reason(i) => StoreError::invalid("reason", i),
        })?;
        // Counted as sent: the API document's maxLength says the same.

        let text_sent = text.chars().count();

        let text = text.trim();
        if text_sent > 2000 {
            return Err(StoreError::invalid(
                "reason",
                Invalid::new("too_long", "理由或答复最多 2000 字"),
            ));
        }
        if what == ReferralStep::Forward && forward_to.is_none() {
            return Err(StoreError::invalid(
                "to_unit",
                Invalid::new("to_unit_required", "转交请选择接收单位"),
            ));
        }
        let county = r.county_code.clone();
        let county_code =
            DivisionCode::parse(&county).map_err(|e| StoreError::Config(e.message))?;
        let now = self.now_ms();
        let grace = self.grant_grace_ms(county_code).await?;
        let channel = match &r.report_id {
            Some(report) => Some(self.report_row(report).await?),
            None => None,
        };
        let reply_due = match &channel {
            Some(row) if row.channel == "hotline" && row.hotline_due_at.is_some() => Deadline {
                at_ms: row.hotline_due_at.unwrap_or_default(),
                guessed_years: vec![],
            },
            Some(row) => {
                self.due(&county, WorkKind::ReferralReply, Some(&row.channel), now)
                    .await?
            }
            None => {
                self.due(&county, WorkKind::ReferralReply, None, now)
                    .await?
            }
        };
        let forward_due = self
            .due(&county, WorkKind::ReferralResponse, None, now)
            .await?;
        let unit_name = self.actor_unit_name(scope).await;
        let mut tx = self.begin().await?;
        if what == ReferralStep::Accept {
            // The one acceptance: a second liaison's insert meets the primary key.
            let inserted = exec(
                &mut tx,
                "INSERT INTO referral_acceptances (county_code, referral_id, accepted_by, accepted_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (county_code, referral_id) DO NOTHING",
                vec![county.clone().into(), id.into(), scope.username.clone().into(), now.into()],
            )
            .await?;
            if inserted == 0 {
                return Err(StoreError::Conflict {
                    field: "id",
                    code: "referral_accepted",
                    message: "该转介已由本单位其他人接收".into(),
                });
            }
        }
        let mut details = ReferralDetails {
            note: r.note.clone(),
            consent: r.consent.clone(),
            reply: r.reply.clone(),
            closed_reason: r.closed_reason.clone(),
        };
        match what {
            ReferralStep::Complete => details.reply = text.into(),
            ReferralStep::Accept => {}
            _ => details.closed_reason = text.into(),
        }
        let sealed = self.keys()?.seal(
            &format!("referrals.details:{id}"),
            &serde_json::to_string(&details).expect("details serialise"),
        );
        let closes = !next.is_open();
        let changed = exec(
            &mut tx,
            "UPDATE referrals SET state = $3, details = $4, updated_at = $5,
                 closed_at = CASE WHEN $6 THEN $5 ELSE closed_at END,
                 replied_at = CASE WHEN $7 THEN $5 ELSE replied_at END,
                 reply_due_at = CASE WHEN $8 THEN $9 ELSE reply_due_at END
             WHERE county_code = $1 AND id = $2 AND state = $10",
            vec![
                county.clone().into(),
                id.into(),
                next.code().into(),
                sealed.into(),
                now.into(),
                closes.into(),
                (what == ReferralStep::Complete).into(),
                (what == ReferralStep::Accept).into(),
                reply_due.at_ms.into(),
                r.state.code().into(),
            ],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::Conflict {
                field: "id",
                code: "referral_state",
                message: "该转介刚刚已被他人处理，请刷新后再看".into(),
            });
        }
        close_work(&mut tx, &county, id, &[WorkKind::ReferralResponse], now).await?;
        let mut s = Script::default();
        // What was said about it so far is settled by this step.
        clear_notifications(&mut s, &county, &format!("/referrals/{id}"), now);
        match what {
            ReferralStep::Accept => {
                add_work(
                    &mut tx,
                    &NewWork {
                        county: county.clone(),
                        kind: WorkKind::ReferralReply,
                        subject_kind: REFERRAL_KIND,
                        subject_id: id.into(),
                        title: "转介待办理答复".into(),
                        owner: WorkOwner::Unit(r.to_unit_id.clone()),
                        urgency: 0,
                        due: reply_due,
                        sealed: false,
                    },
                    now,
                )
                .await?;
            }
            _ => {
                close_work(&mut tx, &county, id, &[WorkKind::ReferralReply], now).await?;
                end_grants(&mut tx, &county, id, now + grace).await?;
                let (to_tell, text_for) = match what {
                    ReferralStep::Revoke => (r.to_unit_id.clone(), "有 1 条转介已被撤回"),
                    ReferralStep::Complete => (r.from_unit_id.clone(), "有 1 条转介已办结答复"),
                    ReferralStep::Return => {
                        (r.from_unit_id.clone(), "有 1 条转介被退回，请重新研判")
                    }
                    _ => (r.from_unit_id.clone(), "有 1 条转介已被转交其他单位"),
                };
                notify(
                    &mut s,
                    &county,
                    Some(&to_tell),
                    None,
                    text_for,
                    &format!("/referrals/{id}"),
                    now,
                    None,
                );
            }
        }
        s.run(tx.conn()).await?;
        if what == ReferralStep::Return {
            if let Some(report) = &r.report_id {
                // Back to the office: triage again.
                let office = unit_for(&mut tx, county_code, UnitKind::Office, now).await?;
                let due = self.due(&county, WorkKind::Triage, None, now).await?;
                add_work(
                    &mut tx,
                    &NewWork {
                        county: county.clone(),
                        kind: WorkKind::Triage,
                        subject_kind: REPORT_KIND,
                        subject_id: report.clone(),
                        title: "转介被退回，待重新研判".into(),
                        owner: WorkOwner::Unit(office.id),
                        urgency: 0,
                        due,
                        sealed: false,
                    },
                    now,
                )
                .await?;
            }
        }
        let mut forwarded = None;
        if let (ReferralStep::Forward, Some(target)) = (what, forward_to) {
            let to = self.target_unit(&mut tx, county_code, &target, now).await?;
            if to.id == r.to_unit_id {
                return Err(StoreError::invalid(
                    "to_unit",
                    Invalid::new("unit_self", "不能转交给本单位"),
                ));
            }
            let consent = if to.kind.needs_consent() {
                return Err(StoreError::invalid(
                    "to_unit",
                    Invalid::new(
                        "consent_needed",
                        "转交给社会组织需记录同意：请退回未保办，由未保办转介",
                    ),
                ));
            } else {
                None
            };
            let new = insert_referral(
                self,
                &mut tx,
                scope,
                NewReferral {
                    county: county.clone(),
                    report_id: r.report_id.clone(),
                    case_id: r.case_id.clone(),
                    child_id: r.child_id.clone(),
                    from_unit_id: r.to_unit_id.clone(),
                    to: &to,
                    note: format!("{}（由{}转交：{text}）", r.note, r.to_unit_name),
                    consent,
                    due: forward_due,
                    urgency: Urgency::Normal,
                    sealed: false,
                },
                now,
            )
            .await?;
            exec(
                &mut tx,
                "UPDATE referrals SET forwarded_to = $3 WHERE county_code = $1 AND id = $2",
                vec![county.clone().into(), id.into(), new.clone().into()],
            )
            .await?;
            forwarded = Some(new);
        }
        record_step(
            self,
            &mut tx,
            &county,
            id,
            scope,
            &unit_name,
            what.label(),
            text,
            now,
        )
        .await?;
        if let Some(subject) = r.report_id.as_deref().or(r.case_id.as_deref()) {
            record_step(
                self,
                &mut tx,
                &county,
                subject,
                scope,
                &unit_name,
                &format!("转介{}", what.label()),
                &format!("{} → {}：{text}", r.to_unit_name, next.label()),
                now,
            )
            .await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, &format!("referral.{}", what.code()), id)
                .in_county(&county)
                .from_ip(ip)
                .detail(forwarded.unwrap_or_default()),
        )
        .await?;
        tx.commit().await?;
        self.referral_row(&county, id).await
    }
}
