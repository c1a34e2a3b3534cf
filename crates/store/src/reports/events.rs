//! What reports and cases do with the events of the ledger and visits: a danger found on a
//! visit opens a report linked to the visit (once, whatever happens to the worker); a
//! child moving to another county takes its reports, referrals and cases along, handed to
//! the new county's office.

use weibao_domain::access::Scope;
use weibao_domain::reports::{Channel, ChildHint, Report, Reporter, Situation, Urgency};
use weibao_domain::work::{UnitKind, WorkKind};
use weibao_domain::DivisionCode;

use super::NewReport;
use crate::db::Store;
use crate::error::StoreError;
use crate::on;
use crate::work::units::unit_for;
use crate::work::{
    add_work, exec, Event, NewWork, WorkOwner, EVENT_CHILD_MOVED, EVENT_VISIT_DANGER,
};

/// What a visit tells about a danger it found.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct VisitDanger {
    pub visit_id: String,
    pub child_id: String,
    pub division: String,
    /// "安全：危险（…）；监护：危险"
    pub summary: String,
    pub author_name: String,
    /// A danger on 监护 (guardianship), not only on 安全.
    pub guardianship: bool,
}

impl Store {
    /// Consumes pending events (at most `limit`); returns how many.
    pub async fn consume_events(&self, limit: i64) -> Result<usize, StoreError> {
        let events = self.pending_events(limit).await?;
        let n = events.len();
        for e in events {
            match e.kind.as_str() {
                EVENT_VISIT_DANGER => self.report_from_visit(&e).await?,
                EVENT_CHILD_MOVED => self.follow_child(&e).await?,
                other => tracing::warn!("unknown event kind {other}"),
            }
            let mut tx = self.begin().await?;
            exec(
                &mut tx,
                "UPDATE events SET consumed_at = $3 WHERE county_code = $1 AND id = $2",
                vec![
                    e.county_code.clone().into(),
                    e.id.clone().into(),
                    self.now_ms().into(),
                ],
            )
            .await?;
            tx.commit().await?;
        }
        Ok(n)
    }

    async fn report_from_visit(&self, e: &Event) -> Result<(), StoreError> {
        let danger: VisitDanger = match serde_json::from_str(&e.payload) {
            Ok(d) => d,
            Err(err) => {
                tracing::error!("visit.danger event {} unreadable: {err}", e.id);
                return Ok(());
            }
        };
        let exists: Option<(i32,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT 1 FROM reports WHERE county_code = $1 AND visit_id = $2"
            )
            .bind(&e.county_code)
            .bind(&danger.visit_id)
            .fetch_optional(&mut *c)
            .await)?
        };
        if exists.is_some() {
            return Ok(());
        }
        let Ok(division) = DivisionCode::parse(&danger.division) else {
            return Ok(());
        };
        let now = chrono::DateTime::from_timestamp_millis(e.created_at)
            .unwrap_or_default()
            .with_timezone(&weibao_domain::visit::cst());
        let report = Report {
            channel: Channel::Visit,
            situations: vec![if danger.guardianship {
                Situation::Neglect
            } else {
                Situation::OtherSerious
            }],
            urgency: Urgency::Priority,
            description: format!("儿童主任入户探访发现危险：{}", danger.summary),
            place: String::new(),
            discovered_at: now,
            child: ChildHint::default(),
            reporter: Reporter {
                name: danger.author_name.clone(),
                unit: "儿童主任".into(),
                ..Reporter::default()
            },
        };
        let filed = self
            .write_report(
                &Scope::system(),
                &NewReport {
                    report,
                    division,
                    child_id: Some(danger.child_id.clone()),
                    visit_id: Some(danger.visit_id.clone()),
                    hotline_order: None,
                    hotline_due_at: None,
                },
                None,
                "worker",
            )
            .await;
        match filed {
            Ok(_) => Ok(()),
            // Another worker wrote it first (the visit's unique index).
            Err(StoreError::Db(sqlx::Error::Database(d))) if d.is_unique_violation() => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Moves a moved child's reports, referrals, cases and their rows to the new county:
    /// open referrals to the old county's units are revoked, the cases are led by the new
    /// county's office, and the new office is asked to look at what arrived.
    async fn follow_child(&self, e: &Event) -> Result<(), StoreError> {
        #[derive(serde::Deserialize)]
        struct Moved {
            from: String,
            to: String,
            division: String,
        }
        let Ok(moved) = serde_json::from_str::<Moved>(&e.payload) else {
            return Ok(());
        };
        if moved.from == moved.to {
            return Ok(());
        }
        let child = e.subject_id.clone();
        let (old, new, division) = (moved.from, moved.to, moved.division);
        let now = self.now_ms();
        let reports: Vec<(String,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id FROM reports WHERE county_code = $1 AND child_id = $2"
            )
            .bind(&old)
            .bind(&child)
            .fetch_all(&mut *c)
            .await)?
        };
        let cases: Vec<(String,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT id FROM cases WHERE county_code = $1 AND child_id = $2"
            )
            .bind(&old)
            .bind(&child)
            .fetch_all(&mut *c)
            .await)?
        };
        if reports.is_empty() && cases.is_empty() {
            return Ok(());
        }
        let new_county = DivisionCode::parse(&new).map_err(|e| StoreError::Config(e.message))?;
        let mut tx = self.begin().await?;
        let office = unit_for(&mut tx, new_county, UnitKind::Office, now).await?;
        let subjects: Vec<String> = reports
            .iter()
            .chain(&cases)
            .map(|(id,)| id.clone())
            .collect();
        for subject in &subjects {
            // The referrals of the subject: open ones end here; all move.
            exec(
                &mut tx,
                "UPDATE referrals SET state = 'revoked', closed_at = $3, updated_at = $3
                 WHERE county_code = $1 AND (report_id = $2 OR case_id = $2) AND state IN ('pending', 'accepted')",
                vec![old.clone().into(), subject.clone().into(), now.into()],
            )
            .await?;
            let referral_ids: Vec<(String,)> = on!(tx.conn(), |c| {
                sqlx::query_as(
                "SELECT id FROM referrals WHERE county_code = $1 AND (report_id = $2 OR case_id = $2)"
            )
            .bind(&old)
            .bind(subject)
            .fetch_all(&mut *c)
            .await
            })?;
            for (rid,) in &referral_ids {
                move_rows(&mut tx, "referral", rid, &old, &new).await?;
            }
            move_rows(&mut tx, "subject", subject, &old, &new).await?;
        }
        for (id,) in &reports {
            move_table(&mut tx, "reports", "id", id, &old, &new).await?;
            exec(
                &mut tx,
                "UPDATE reports SET division_code = $3 WHERE county_code = $1 AND id = $2",
                vec![
                    new.clone().into(),
                    id.clone().into(),
                    division.clone().into(),
                ],
            )
            .await?;
        }
        for (id,) in &cases {
            move_table(&mut tx, "cases", "id", id, &old, &new).await?;
            exec(
                &mut tx,
                "UPDATE cases SET lead_unit_id = $3, division_code = $4 WHERE county_code = $1 AND id = $2",
                vec![new.clone().into(), id.clone().into(), office.id.clone().into(), division.clone().into()],
            )
            .await?;
        }
        exec(
            &mut tx,
            "DELETE FROM access_grants WHERE county_code = $1 AND child_id = $2",
            vec![old.clone().into(), child.clone().into()],
        )
        .await?;
        let due = self.due(&new, WorkKind::Triage, None, now).await?;
        for subject in &subjects {
            add_work(
                &mut tx,
                &NewWork {
                    county: new.clone(),
                    kind: WorkKind::Triage,
                    subject_kind: if reports.iter().any(|(r,)| r == subject) {
                        "report"
                    } else {
                        "case"
                    },
                    subject_id: subject.clone(),
                    title: "迁入儿童的报告或个案，待研判".into(),
                    owner: WorkOwner::Unit(office.id.clone()),
                    urgency: 0,
                    due: due.clone(),
                    sealed: false,
                },
                now,
            )
            .await?;
        }
        tx.commit().await
    }
}

/// Moves one table's rows of a record to another county (the row's primary key carries
/// the county).
async fn move_table(
    tx: &mut crate::db::Tx,
    table: &'static str,
    _column: &'static str,
    id: &str,
    old: &str,
    new: &str,
) -> Result<(), StoreError> {
    let (insert, delete): (&'static str, &'static str) = match table {
        "reports" => (
            "INSERT INTO reports (county_code, id, number, channel, situations, urgency, state,
                 division_code, child_id, details, discovered_at, reported_at, filed_by, filed_unit_id,
                 visit_id, hotline_order, hotline_due_at, sealed, merged_into, reply, replied_at,
                 acknowledged_at, acknowledged_by, created_at, updated_at)
             SELECT $2, id, number, channel, situations, urgency, state, division_code, child_id,
                 details, discovered_at, reported_at, filed_by, filed_unit_id, visit_id, hotline_order,
                 hotline_due_at, sealed, merged_into, reply, replied_at, acknowledged_at,
                 acknowledged_by, created_at, updated_at
             FROM reports WHERE county_code = $1 AND id = $3",
            "DELETE FROM reports WHERE county_code = $1 AND id = $3 AND $2 <> ''",
        ),
        _ => (
            "INSERT INTO cases (county_code, id, number, report_id, child_id, visit_id, division_code,
                 state, lead_unit_id, details, assessed_at, replied_at, sealed, opened_by, opened_at,
                 closed_at, updated_at, version)
             SELECT $2, id, number, report_id, child_id, visit_id, division_code, state, lead_unit_id,
                 details, assessed_at, replied_at, sealed, opened_by, opened_at, closed_at, updated_at,
                 version
             FROM cases WHERE county_code = $1 AND id = $3",
            "DELETE FROM cases WHERE county_code = $1 AND id = $3 AND $2 <> ''",
        ),
    };
    exec(tx, insert, vec![old.into(), new.into(), id.into()]).await?;
    exec(tx, delete, vec![old.into(), new.into(), id.into()]).await?;
    crate::work::relocate(tx, id, new).await
}

/// Moves the rows hanging off a record: a referral's row, acceptance, work items and
/// timeline; a report's or case's work items, timeline, measures, conferences and
/// attachments.
async fn move_rows(
    tx: &mut crate::db::Tx,
    what: &str,
    id: &str,
    old: &str,
    new: &str,
) -> Result<(), StoreError> {
    let statements: &[&'static str] = if what == "referral" {
        &[
            "INSERT INTO referrals (county_code, id, report_id, case_id, child_id, from_unit_id,
                 to_unit_id, state, details, due_at, reply_due_at, replied_at, forwarded_to,
                 created_by, created_at, updated_at, closed_at)
             SELECT $2, id, report_id, case_id, child_id, from_unit_id, to_unit_id, state, details,
                 due_at, reply_due_at, replied_at, forwarded_to, created_by, created_at, updated_at,
                 closed_at FROM referrals WHERE county_code = $1 AND id = $3",
            "DELETE FROM referrals WHERE county_code = $1 AND id = $3 AND $2 <> ''",
            "INSERT INTO referral_acceptances (county_code, referral_id, accepted_by, accepted_at)
             SELECT $2, referral_id, accepted_by, accepted_at FROM referral_acceptances
             WHERE county_code = $1 AND referral_id = $3",
            "DELETE FROM referral_acceptances WHERE county_code = $1 AND referral_id = $3 AND $2 <> ''",
        ]
    } else {
        &[
            "INSERT INTO case_measures (county_code, case_id, id, kind, taken_on, unit_id, detail,
                 recorded_by, recorded_at)
             SELECT $2, case_id, id, kind, taken_on, unit_id, detail, recorded_by, recorded_at
             FROM case_measures WHERE county_code = $1 AND case_id = $3",
            "DELETE FROM case_measures WHERE county_code = $1 AND case_id = $3 AND $2 <> ''",
            "INSERT INTO case_conferences (county_code, id, case_id, held_on, convening_unit_id,
                 record, recorded_by, recorded_at)
             SELECT $2, id, case_id, held_on, convening_unit_id, record, recorded_by, recorded_at
             FROM case_conferences WHERE county_code = $1 AND case_id = $3",
            "DELETE FROM case_conferences WHERE county_code = $1 AND case_id = $3 AND $2 <> ''",
            "INSERT INTO report_attachments (county_code, id, report_id, name, digest, content_type,
                 size, uploaded_by, uploaded_at)
             SELECT $2, id, report_id, name, digest, content_type, size, uploaded_by, uploaded_at
             FROM report_attachments WHERE county_code = $1 AND report_id = $3",
            "DELETE FROM report_attachments WHERE county_code = $1 AND report_id = $3 AND $2 <> ''",
        ]
    };
    for sql in statements {
        exec(tx, sql, vec![old.into(), new.into(), id.into()]).await?;
    }
    let work: Vec<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
        "SELECT id FROM work_items WHERE county_code = $1 AND subject_id = $2"
    )
    .bind(old)
    .bind(id)
    .fetch_all(&mut *c)
    .await)?;
    for sql in [
        "INSERT INTO work_items (county_code, id, kind, subject_kind, subject_id, title, owner_unit_id,
             owner_user_id, urgency, due_at, due_guessed, state, supervision, supervision_due_at,
             supervision_note, escalated_at, sealed, created_at, done_at)
         SELECT $2, id, kind, subject_kind, subject_id, title, owner_unit_id, owner_user_id, urgency,
             due_at, due_guessed, CASE WHEN state = 'open' THEN 'cancelled' ELSE state END, supervision,
             supervision_due_at, supervision_note, escalated_at, sealed, created_at, done_at
         FROM work_items WHERE county_code = $1 AND subject_id = $3",
        "DELETE FROM work_items WHERE county_code = $1 AND subject_id = $3 AND $2 <> ''",
        "INSERT INTO timeline (county_code, subject_id, id, at, actor_id, actor_name, actor_unit,
             action, detail)
         SELECT $2, subject_id, id, at, actor_id, actor_name, actor_unit, action, detail
         FROM timeline WHERE county_code = $1 AND subject_id = $3",
        "DELETE FROM timeline WHERE county_code = $1 AND subject_id = $3 AND $2 <> ''",
    ] {
        exec(tx, sql, vec![old.into(), new.into(), id.into()]).await?;
    }
    for (w,) in &work {
        crate::work::relocate(tx, w, new).await?;
    }
    if what == "referral" {
        crate::work::relocate(tx, id, new).await?;
    }
    Ok(())
}
