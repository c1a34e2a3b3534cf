//! Joint meetings (联席会议): date, convener, the units present, agenda, minutes, and
//! resolutions that become plan tasks. A county holds at least `joint_meetings_per_year`
//! a year (setting, default 2); when the year runs short the office finds a work item in
//! its inbox (WorkKind::MeetingShortfall), done by itself once the count is reached.

use chrono::{Datelike, NaiveDate};
use weibao_domain::access::{Action, Scope};
use weibao_domain::committee::{meetings_short, DEFAULT_MEETINGS_PER_YEAR};
use weibao_domain::work::{calendar::end_of_day_ms, Deadline, UnitKind, WorkKind};
use weibao_domain::{DivisionCode, Invalid};

use super::date_text;
use super::plan::{insert_task, NewTask};
use crate::audit::{append, AuditEvent};
use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::on;
use crate::work::{add_work, exec, new_id, NewWork, WorkOwner};

/// The setting: joint meetings a county holds at least each year.
pub const MEETINGS_PER_YEAR: &str = "joint_meetings_per_year";

/// A recorded joint meeting.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Meeting {
    pub county_code: String,
    pub id: String,
    pub held_on: String,
    pub convener: String,
    /// JSON list of unit ids; see [`Meeting::units`].
    pub attendees: String,
    pub agenda: String,
    pub minutes: String,
    pub recorded_by: String,
    pub created_at: i64,
}

impl Meeting {
    pub fn units(&self) -> Vec<String> {
        serde_json::from_str(&self.attendees).unwrap_or_default()
    }
}

/// A meeting to record.
#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub held_on: NaiveDate,
    /// Who convened it (主持人 or the convening leader).
    pub convener: String,
    pub unit_ids: Vec<String>,
    pub agenda: String,
    pub minutes: String,
    /// Resolutions, each a task of the plan (its year, number, units and deadline).
    pub resolutions: Vec<NewTask>,
}

fn text_field(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
    what: &str,
) -> Result<String, StoreError> {
    let n = value.chars().count();
    let t = value.trim();
    if (min > 0 && t.is_empty()) || n > max {
        return Err(StoreError::invalid(
            field,
            Invalid::new(
                "text_length",
                if min > 0 {
                    format!("请填写{what}（{max} 字以内）")
                } else {
                    format!("{what}请写在 {max} 字以内")
                },
            ),
        ));
    }
    Ok(t.to_string())
}

impl Store {
    /// Records a joint meeting; its resolutions become tasks of the plan, and a year that
    /// reaches its minimum closes the office's shortfall warning.
    pub async fn record_meeting(
        &self,
        scope: &Scope,
        county: DivisionCode,
        mut new: NewMeeting,
        ip: &str,
    ) -> Result<(Meeting, Vec<String>), StoreError> {
        self.check_committee(scope, Action::ManageCommittee, county)?;
        if new.held_on > self.clock().today() {
            return Err(StoreError::invalid(
                "held_on",
                Invalid::new("date_future", "会议日期不能晚于今天（会后再登记）"),
            ));
        }
        let convener = text_field("convener", &new.convener, 1, 60, "会议召集人")?;
        let agenda = text_field("agenda", &new.agenda, 0, 2000, "会议议程")?;
        let minutes = text_field("minutes", &new.minutes, 1, 10_000, "会议纪要")?;
        if new.unit_ids.is_empty() || new.unit_ids.len() > 60 {
            return Err(StoreError::invalid(
                "unit_ids",
                Invalid::new("attendees_required", "请选择参会单位（最多 60 个）"),
            ));
        }
        let mut units: Vec<String> = Vec::new();
        for u in &new.unit_ids {
            let unit = self.committee_unit(county, u, "unit_ids").await?;
            if !units.contains(&unit.id) {
                units.push(unit.id);
            }
        }
        if new.resolutions.len() > 30 {
            return Err(StoreError::invalid(
                "resolutions",
                Invalid::new("too_many", "一次会议最多 30 项议定事项"),
            ));
        }
        let mut texts = Vec::new();
        for r in new.resolutions.iter_mut() {
            texts.push(self.check_task(county, r).await?);
        }
        let county_code = county.county_code();
        let now = self.now_ms();
        let id = new_id();
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            "INSERT INTO joint_meetings (county_code, id, held_on, convener, attendees, agenda,
                 minutes, recorded_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            vec![
                county_code.clone().into(),
                id.clone().into(),
                date_text(new.held_on).into(),
                convener.into(),
                serde_json::to_string(&units).expect("ids serialise").into(),
                agenda.into(),
                minutes.into(),
                scope.user_id.clone().into(),
                now.into(),
            ],
        )
        .await?;
        let mut tasks = Vec::new();
        for (r, text) in new.resolutions.iter().zip(&texts) {
            tasks.push(
                insert_task(
                    &mut tx,
                    &county_code,
                    r,
                    text,
                    Some(&id),
                    &scope.user_id,
                    now,
                )
                .await?,
            );
        }
        let year = new.held_on.year();
        let held = meetings_in(&mut tx, &county_code, year).await?;
        if held >= self.meetings_minimum(county).await? {
            exec(
                &mut tx,
                "UPDATE work_items SET state = 'done', done_at = $3
                 WHERE county_code = $1 AND subject_id = $2 AND kind = 'meeting_shortfall'
                   AND state = 'open'",
                vec![
                    county_code.clone().into(),
                    shortfall_subject(&county_code, year).into(),
                    now.into(),
                ],
            )
            .await?;
        }
        append(
            &mut tx,
            now,
            &AuditEvent::by(scope, "committee.meeting", &id)
                .in_county(&county_code)
                .from_ip(ip)
                .detail(format!("{} 项议定事项", tasks.len())),
        )
        .await?;
        tx.commit().await?;
        let meeting = self
            .meetings(scope, county, Some(year))
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or(StoreError::NotFound)?;
        Ok((meeting, tasks))
    }

    /// The county's joint meetings (of one year, or all), newest first.
    pub async fn meetings(
        &self,
        scope: &Scope,
        county: DivisionCode,
        year: Option<i32>,
    ) -> Result<Vec<Meeting>, StoreError> {
        self.check_committee(scope, Action::ViewCommittee, county)?;
        let (from, to) = match year {
            Some(y) => (format!("{y}-01-01"), format!("{y}-12-31")),
            None => ("0000".to_string(), "9999".to_string()),
        };
        let mut c = self.read().await?;
        Ok(on!(c.conn(), |c| sqlx::query_as(
            "SELECT county_code, id, held_on, convener, attendees, agenda, minutes, recorded_by,
                    created_at
             FROM joint_meetings WHERE county_code = $1 AND held_on >= $2 AND held_on <= $3
             ORDER BY held_on DESC, created_at DESC LIMIT 500"
        )
        .bind(county.county_code())
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await)?)
    }

    /// The yearly minimum of joint meetings in force in a county.
    pub async fn meetings_minimum(&self, county: DivisionCode) -> Result<u32, StoreError> {
        Ok(self
            .setting_json(MEETINGS_PER_YEAR, Some(county), self.clock.today())
            .await?
            .and_then(|v| v.as_u64())
            .filter(|n| *n <= 12)
            .map(|n| n as u32)
            .unwrap_or(DEFAULT_MEETINGS_PER_YEAR))
    }

    /// For every county with an office, warns the office when the year runs short of its
    /// joint meetings (once a year each: a work item due at the year's end). Returns how
    /// many warnings were added.
    pub async fn check_meetings(&self) -> Result<usize, StoreError> {
        let today = self.clock.today();
        let year = today.year();
        let offices: Vec<(String,)> = {
            let mut c = self.read().await?;
            on!(c.conn(), |c| sqlx::query_as(
                "SELECT DISTINCT county_code FROM units WHERE kind = 'office' AND active
                 ORDER BY county_code LIMIT 5000"
            )
            .fetch_all(&mut *c)
            .await)?
        };
        let mut added = 0;
        for (county_code,) in offices {
            let Ok(county) = DivisionCode::parse(&county_code) else {
                continue;
            };
            let minimum = self.meetings_minimum(county).await?;
            let now = self.now_ms();
            let mut tx = self.begin().await?;
            let held = meetings_in(&mut tx, &county_code, year).await?;
            let Some(missing) = meetings_short(held, minimum, today) else {
                continue;
            };
            let subject = shortfall_subject(&county_code, year);
            let open: Option<(String,)> = on!(tx.conn(), |c| sqlx::query_as(
                "SELECT id FROM work_items WHERE county_code = $1 AND subject_id = $2
                   AND kind = 'meeting_shortfall'"
            )
            .bind(&county_code)
            .bind(&subject)
            .fetch_optional(&mut *c)
            .await)?;
            if open.is_some() {
                continue;
            }
            let office =
                crate::work::units::unit_for(&mut tx, county, UnitKind::Office, now).await?;
            let year_end = NaiveDate::from_ymd_opt(year, 12, 31).expect("31 December");
            add_work(
                &mut tx,
                &NewWork {
                    county: county_code.clone(),
                    kind: WorkKind::MeetingShortfall,
                    subject_kind: "meetings",
                    subject_id: subject,
                    title: format!(
                        "{year} 年已召开联席会议 {held} 次，少于每年 {minimum} 次的要求，还差 {missing} 次"
                    ),
                    owner: WorkOwner::Unit(office.id),
                    urgency: 1,
                    due: Deadline {
                        at_ms: end_of_day_ms(year_end),
                        guessed_years: vec![],
                    },
                    sealed: false,
                },
                now,
            )
            .await?;
            tx.commit().await?;
            added += 1;
        }
        Ok(added)
    }
}

/// The subject of a county's shortfall warning for a year.
fn shortfall_subject(county: &str, year: i32) -> String {
    format!("meetings:{county}:{year}")
}

/// Meetings held in a county in a year.
async fn meetings_in(tx: &mut Tx, county: &str, year: i32) -> Result<u32, StoreError> {
    let (n,): (i64,) = on!(tx.conn(), |c| sqlx::query_as(
        "SELECT COUNT(*) FROM joint_meetings WHERE county_code = $1 AND held_on >= $2
           AND held_on <= $3"
    )
    .bind(county)
    .bind(format!("{year}-01-01"))
    .bind(format!("{year}-12-31"))
    .fetch_one(&mut *c)
    .await)?;
    Ok(n as u32)
}
